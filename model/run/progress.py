"""Progress bars for long runs: ETA and the running estimate ± CI.

A thin layer over :mod:`tqdm`. Whether a bar is shown is decided once, when the
bar is made: explicitly (``progress=True`` / ``False``), or, with ``progress=None``,
only when the output stream is a terminal; ``quiet=True`` always wins. A hidden
bar costs nothing and prints nothing, so engines can report progress
unconditionally.

Examples
--------
>>> import io
>>> from model.results.estimate import Estimate
>>> buf = io.StringIO()
>>> bar = ProgressBar(1000, progress=None, file=buf)  # a StringIO is not a terminal
>>> bar.enabled
False
>>> bar.advance(500, Estimate(0.01, 0.008, 0.012, 0.001, 500, "crude-mc"))
>>> bar.close()
>>> buf.getvalue()
''
>>> format_estimate(Estimate(0.01, 0.008, 0.012, 0.001, 500, "crude-mc"))
'0.01 ± 0.002 (rse 10%)'
"""

from __future__ import annotations

import math
import sys
from typing import IO, Any

from tqdm import tqdm

from model.results.estimate import Estimate

__all__ = ["ProgressBar", "format_estimate", "show_progress"]


def show_progress(progress: bool | None, quiet: bool = False, file: IO[str] | None = None) -> bool:
    """Whether to draw a bar: never when ``quiet``; when ``progress`` is None, only on a terminal.

    Examples
    --------
    >>> import io
    >>> show_progress(True), show_progress(True, quiet=True), show_progress(None, file=io.StringIO())
    (True, False, False)
    """
    if quiet:
        return False
    if progress is not None:
        return bool(progress)
    stream = sys.stderr if file is None else file
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def format_estimate(est: Estimate) -> str:
    """``value ± half-width (rse x%)`` in a few significant digits, for a bar's postfix.

    A one-sided bound (nothing observed yet) shows as ``< upper``.

    Examples
    --------
    >>> from model.results.estimate import binomial_estimate
    >>> format_estimate(binomial_estimate(0, 1000, method="crude-mc"))
    '< 0.002991'
    """
    if est.interval.endswith("-upper"):
        return f"< {est.ci_high:.4g}"
    half = (est.ci_high - est.ci_low) / 2
    rse = est.relative_error
    rse_txt = f"{100 * rse:.2g}%" if math.isfinite(rse) else "inf"
    return f"{est.value:.4g} ± {half:.2g} (rse {rse_txt})"


class ProgressBar:
    """A tqdm bar over a number of units (trials, simulated years), hidden when not wanted.

    Parameters
    ----------
    total : int
        Units in the whole run.
    initial : int
        Units already done (e.g. restored from a checkpoint).
    unit : str
        Name of a unit, shown in the rate.
    desc : str
        Label in front of the bar.
    progress, quiet : bool or None, bool
        See :func:`show_progress`.
    file : text stream, optional
        Where to draw (standard error by default).
    """

    def __init__(self, total: int, *, initial: int = 0, unit: str = "trials", desc: str = "nines",
                 progress: bool | None = None, quiet: bool = False, file: IO[str] | None = None) -> None:
        self.enabled = show_progress(progress, quiet, file)
        self._bar: Any = None
        if self.enabled:
            self._bar = tqdm(total=int(total), initial=int(initial), unit=unit, unit_scale=True, desc=desc,
                             file=sys.stderr if file is None else file, dynamic_ncols=True, leave=True)

    def advance(self, units: int, estimate: Estimate | None = None) -> None:
        """Count ``units`` more done and show the running estimate, if given."""
        if self._bar is None:
            return
        if estimate is not None:
            self._bar.set_postfix_str(format_estimate(estimate), refresh=False)
        self._bar.update(int(units))

    def note(self, text: str) -> None:
        """Show a short status text after the bar (e.g. "stopped: rse reached")."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
