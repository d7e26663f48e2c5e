"""nines: probabilistic resilience modelling of emergency call networks."""

__version__ = "0.1.0"
