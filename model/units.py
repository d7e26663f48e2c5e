"""Units shared by every layer: one definition of a year in hours.

Simulated time is in hours. A *simulated year* is the mean year of 365.25 days, so rates quoted "per year"
(failures a year, calls a year) convert with one constant everywhere. Call-arrival profiles repeat on a
*calendar* of whole days (365 days, leap days ignored) so that hours of the day and days of the week stay
aligned; :data:`CALENDAR_YEAR_HOURS` is that calendar's length and is used only to place profile surges.

Examples
--------
>>> HOURS_PER_YEAR, CALENDAR_YEAR_HOURS
(8766.0, 8760)
"""

__all__ = ["CALENDAR_YEAR_HOURS", "HOURS_PER_YEAR", "SECONDS_PER_HOUR"]

#: Hours in a simulated year (365.25 days): converts every "per year" rate.
HOURS_PER_YEAR = 8766.0

#: Hours in the call profile's calendar year (365 whole days, leap days ignored).
CALENDAR_YEAR_HOURS = 8760

SECONDS_PER_HOUR = 3600.0
