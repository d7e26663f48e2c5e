"""nines: probabilistic resilience modelling of emergency call networks."""

from model.version import __version__

__all__ = ["__version__"]
