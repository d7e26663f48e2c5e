"""Model exchange with other tools: the Open-PSA Model Exchange Format (MEF) of the PRA community."""

from model.exchange.openpsa_read import MEFError, read_open_psa
from model.exchange.openpsa_write import to_open_psa, write_open_psa

__all__ = ["MEFError", "read_open_psa", "to_open_psa", "write_open_psa"]
