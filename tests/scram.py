"""Run Debian's SCRAM (``/usr/bin/scram``) on an Open-PSA file and read its XML report.

``.ci/install-browser.sh`` installs ``scram`` next to chromium. Under ``CI=true`` a missing scram
FAILS the tests that need it (the cross-check must run on every change); elsewhere they skip with
a message saying how to install it. Override the binary with ``NINES_SCRAM``.

SCRAM 0.16.2 writes every figure with 6 significant digits (the C++ stream default; no option
changes it), so :func:`agrees` compares a nines value with a SCRAM figure at that precision: the
nines value must round to SCRAM's printed digits (within one unit of the 6th digit).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["ScramReport", "agrees", "require_scram", "run_scram"]

DIGITS = 6


def scram_path() -> str | None:
    exe = os.environ.get("NINES_SCRAM") or "/usr/bin/scram"
    return exe if Path(exe).exists() else shutil.which("scram")


def require_scram() -> str:
    exe = scram_path()
    if exe is None:
        msg = "SCRAM is missing: install it with `bash .ci/install-browser.sh` (apt-get install scram)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


@dataclass
class ScramReport:
    probability: dict[str, float]  # top gate -> P
    products: dict[str, set[frozenset[str]]]  # top gate -> minimal cut sets (event names)
    importance: dict[str, dict[str, dict[str, float]]]  # top gate -> event -> measure -> value
    seconds: float


def _event_key(el: ET.Element) -> str:
    """A basic event's name, or ``ccf:GROUP:m1+m2`` for a CCF event (order-1 ones are the member's name)."""
    if el.tag == "basic-event":
        return el.get("name", "")
    members = [b.get("name", "") for b in el.findall("basic-event")]
    return members[0] if len(members) == 1 else f"ccf:{el.get('ccf-group')}:{'+'.join(sorted(members))}"


def run_scram(xml_path: Path, *flags: str, timeout: float = 600) -> ScramReport:
    """Run SCRAM with ``flags`` (e.g. ``--probability 1 --importance 1``) and parse the report."""
    exe = require_scram()
    out = Path(xml_path).with_suffix(".scram-report.xml")
    r = subprocess.run([exe, str(xml_path), *flags, "-o", str(out)], capture_output=True, text=True,
                       timeout=timeout, check=False)
    assert r.returncode == 0, f"scram failed ({r.returncode}): {r.stderr[-3000:]}"
    root = ET.parse(out).getroot()
    prob: dict[str, float] = {}
    products: dict[str, set[frozenset[str]]] = {}
    importance: dict[str, dict[str, dict[str, float]]] = {}
    for sop in root.iter("sum-of-products"):
        name = sop.get("name", "")
        if sop.get("probability") is not None:
            prob[name] = float(sop.get("probability", "nan"))
        products[name] = {frozenset(_event_key(e) for e in p) for p in sop.findall("product")}
    for imp in root.iter("importance"):
        rows = {}
        for e in imp:
            rows[_event_key(e)] = {k: float(e.get(k, "nan")) for k in ("MIF", "CIF", "DIF", "RAW", "RRW")}
        importance[imp.get("name", "")] = rows
    secs = sum(float(x.text or 0) for x in root.iter("probability") if x.text)
    return ScramReport(prob, products, importance, secs)


def agrees(nines: float, scram: float) -> bool:
    """``nines`` equals SCRAM's 6-significant-digit figure within one unit of its last digit."""
    if math.isinf(nines) or math.isinf(scram):
        return math.isinf(nines) and math.isinf(scram)
    if scram == 0:
        return abs(nines) < 1e-300
    unit = 10 ** (math.floor(math.log10(abs(scram))) - (DIGITS - 1))
    return abs(nines - scram) <= unit * (1 + 1e-9)
