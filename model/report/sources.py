"""Sources readers can follow: a bibliography built from a scenario's ``[sources]`` and the texts citing them.

Data files cite sources by key (``"OFCOM_FINE (H) timeline; A_SWITCH"``); the scenario's ``[sources]`` table
maps each key to its reference, with URLs and a confidence grade (H, M or L). :func:`bibliography` lists the
keys a report's texts actually cite, with how often, the reference text, its links and its grade, so a reader
can follow every number to where it came from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["bibliography", "cited_keys", "confidence_of", "range_text", "urls_of"]

_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_URL_RE = re.compile(r"https?://[^\s<>\"';)]+[^\s<>\"';).,]")
_GRADE_RE = re.compile(r"\((?:[^()]*?[\s,:])?([HML])\b[^()]*\)\s*$")


def cited_keys(texts: Iterable[str], keys: Iterable[str]) -> Counter[str]:
    """How often each of ``keys`` is cited in ``texts`` (whole-word matches).

    Examples
    --------
    >>> texts = ["OFCOM_FINE (H) timeline; A_SWITCH", "A_SWITCH again"]
    >>> dict(cited_keys(texts, ["OFCOM_FINE", "A_SWITCH", "K1"]))
    {'OFCOM_FINE': 1, 'A_SWITCH': 2}
    """
    known = set(keys)
    out: Counter[str] = Counter()
    for text in texts:
        for tok in _KEY_RE.findall(str(text)):
            if tok in known:
                out[tok] += 1
    return out


def confidence_of(reference: str) -> str:
    """The grade H, M or L a reference ends with (``"... (H)"``, ``"(M, BT)"``), or ``""``.

    Examples
    --------
    >>> confidence_of("Ofcom statement https://x.example (H)"), confidence_of("BT page (H, BT)")
    ('H', 'H')
    >>> confidence_of("assumption: no public figure")
    ''
    """
    m = _GRADE_RE.search(str(reference))
    return m.group(1) if m else ""


def urls_of(reference: str) -> list[str]:
    """The http(s) links in a reference text.

    Examples
    --------
    >>> urls_of("two pages https://a.example/x ; http://b.example/y (M)")
    ['https://a.example/x', 'http://b.example/y']
    """
    return _URL_RE.findall(str(reference))


def bibliography(sources: Mapping[str, str], texts: Iterable[str], *, include_uncited: bool = False,
                 ranges: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Bibliography entries for :meth:`model.report.html.Report.bibliography`.

    Parameters
    ----------
    sources : mapping
        Key -> reference text (a scenario's ``[sources]`` table).
    texts : iterable of str
        Every source string the report shows (assumption rows, captions, notes).
    include_uncited : bool
        Also list keys no text cites.
    ranges : iterable of dict
        The scenario's assumption groups (:meth:`model.scenario.uncertainty.UncertaintyGroup.to_dict`):
        each key named in a group's ``assumption`` gets the group's range as ``range`` (text).

    Returns
    -------
    list of dict
        ``key``, ``text``, ``confidence`` (H/M/L or ""), ``urls``, ``cited`` (count) and ``range``
        (the ranges the uncertainty analysis gives the key, "" when none), cited keys first (most cited
        first), then the rest alphabetically.

    Examples
    --------
    >>> rows = bibliography({"K1": "gov.uk https://www.gov.uk/x (H)", "A_X": "assumption: none"}, ["K1 (H)"])
    >>> [(r["key"], r["confidence"], r["cited"]) for r in rows]
    [('K1', 'H', 1)]
    >>> g = {"label": "Link failures", "mode": "scale", "low": 0.2, "high": 5.0, "distribution": "loguniform",
    ...      "assumption": "A_X", "why": "a guess"}
    >>> bibliography({"A_X": "assumption: none"}, ["A_X"], ranges=[g])[0]["range"]
    'Link failures: factor 0.2 to 5 of the nominal values (log-uniform); a guess'
    """
    counts = cited_keys(texts, sources)
    keys = sorted(counts, key=lambda k: (-counts[k], k))
    if include_uncited:
        keys += sorted(k for k in sources if k not in counts)
    by_key: dict[str, list[str]] = {}
    for g in ranges:
        for k in cited_keys([str(g.get("assumption", ""))], sources):
            by_key.setdefault(k, []).append(range_text(g))
    return [{"key": k, "text": str(sources[k]), "confidence": confidence_of(sources[k]),
             "urls": urls_of(sources[k]), "cited": int(counts.get(k, 0)),
             "range": "; ".join(by_key.get(k, []))} for k in keys]


def range_text(group: Mapping[str, Any]) -> str:
    """One assumption group's range in words.

    Examples
    --------
    >>> range_text({"label": "Switch fails", "mode": "set", "low": 0.1, "high": 0.7,
    ...             "distribution": "uniform", "why": "no data"})
    'Switch fails: 0.1 to 0.7 (uniform); no data'
    """
    what = "factor " if group.get("mode") == "scale" else ""
    tail = " of the nominal values" if what else ""
    dist = "log-uniform" if group.get("distribution") == "loguniform" else "uniform"
    why = f"; {group['why']}" if group.get("why") else ""
    return f"{group.get('label', '')}: {what}{group['low']:g} to {group['high']:g}{tail} ({dist}){why}"
