"""Importance measures of components and common-cause events.

The system event ``S`` is "a call is unreachable", measured by the demand-weighted
unreachability ``U = P(S)``; a basic event ``e`` is an independent component
failure or a common-cause event, with probability ``q_e``. Following SCRAM (see
``reliability-methods.md``):

* Birnbaum ``MIF = P(S|e) - P(S|ē)``
* criticality ``CIF = q_e / P(S) · MIF``
* Fussell–Vesely (diagnosis) ``DIF = P(e|S) = q_e · P(S|e) / P(S)``
* risk achievement worth ``RAW = P(S|e) / P(S)``
* risk reduction worth ``RRW = P(S) / P(S|ē)``

The exact path conditions the exact engine (:mod:`model.static.exact`) on each event
(``q_e = 1`` and ``q_e = 0``) in rational arithmetic, so ``MIF`` has no
cancellation error however small it is. When the network is too large for the
exact engine, a Monte Carlo path estimates ``P(S|e)`` and ``P(S|ē)`` with common
random numbers: one failure sample (from :mod:`model.static.sampling`), in which the event
is forced on and off, evaluated by the bit-parallel kernel of
:mod:`model.network.reachability`; the Birnbaum standard error comes from the paired
per-trial differences.

Examples
--------
>>> import networkx as nx
>>> from model.network.compiled import compile_graph
>>> g = nx.Graph()
>>> g.add_edge("s", "m", q=0.1)                                # series element
>>> g.add_edge("m", "t", q=0.2); g.add_edge("m", "x", q=0.2)   # two parallel routes m -> t
>>> g.add_edge("x", "t", q=0.0)
>>> tab = importance_measures(compile_graph(g, "s", "t"))
>>> [r.name for r in tab.ranked("birnbaum")][:2]
['s-m', 'm-t']
>>> r = tab.row("s-m")
>>> round(r.birnbaum, 6), round(r.raw, 4)
(0.96, 7.3529)
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from model.network.compiled import CompiledNetwork
from model.static.exact import ExactTooLarge, make_engine

__all__ = ["MEASURES", "ImportanceRow", "ImportanceTable", "importance_measures"]

#: Measure names, as attributes of :class:`ImportanceRow` and keys of :meth:`ImportanceTable.to_arrays`.
MEASURES = ("birnbaum", "criticality", "fussell_vesely", "raw", "rrw")


@dataclass(frozen=True)
class ImportanceRow:
    """Importance of one basic event (component failure or common-cause event)."""

    index: int  # component index c, or C + g for common-cause event g
    name: str
    kind: str  # component kind ("node", "link", ...) or "common-cause"
    q: float
    p_fail_given_down: float  # P(S | e)
    p_fail_given_up: float  # P(S | not e)
    birnbaum: float
    criticality: float
    fussell_vesely: float
    raw: float
    rrw: float
    se_given_down: float = 0.0
    se_given_up: float = 0.0
    se_birnbaum: float = 0.0


@dataclass(frozen=True)
class ImportanceTable:
    """Importance of every basic event, rankable.

    Attributes
    ----------
    system : float
        ``P(S)``, the demand-weighted unreachability.
    system_se : float
        Its standard error (0 when exact).
    method : str
        ``exact-bdd``, ``exact-factoring`` or ``crude-mc-crn``.
    rows : tuple of ImportanceRow
        One per component, then one per common-cause event.
    samples, seed, seconds
        Trials, root seed (Monte Carlo only) and run time.
    """

    system: float
    system_se: float
    method: str
    rows: tuple[ImportanceRow, ...]
    samples: int = 0
    seed: int | None = None
    seconds: float = 0.0

    def row(self, name: str) -> ImportanceRow:
        """The row of the event called ``name``."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no component or common-cause event named {name!r}")

    def ranked(self, by: str = "birnbaum", top: int | None = None) -> list[ImportanceRow]:
        """Rows sorted by a measure, largest first (NaN last; ties by name)."""
        if by not in MEASURES:
            raise ValueError(f"unknown measure {by!r}; allowed: {', '.join(MEASURES)}")

        def key(r: ImportanceRow) -> tuple[bool, float, str]:
            v = getattr(r, by)
            return (math.isnan(v), -v if not math.isnan(v) else 0.0, r.name)

        out = sorted(self.rows, key=key)
        return out if top is None else out[:top]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Column arrays: ``name``, ``kind``, ``index``, ``q``, the conditionals and every measure."""
        cols: dict[str, np.ndarray] = {}
        for f in dataclasses.fields(ImportanceRow):
            vals = [getattr(r, f.name) for r in self.rows]
            cols[f.name] = np.array(vals, dtype=object if f.name in ("name", "kind") else None)
        return cols

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready list of dicts (non-finite numbers become None)."""

        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return [{k: clean(v) for k, v in dataclasses.asdict(r).items()} for r in self.rows]


def _measures(u: float | Fraction, ud: float | Fraction, uu: float | Fraction,
              q: float | Fraction) -> tuple[float, float, float, float, float]:
    """(MIF, CIF, DIF, RAW, RRW) from P(S), P(S|e), P(S|ē), q; exact when given Fractions."""
    mif = ud - uu
    nan = math.nan
    if u > 0:
        cif, dif, raw = q * mif / u, q * ud / u, ud / u
    else:
        cif = dif = raw = nan
    rrw = u / uu if uu > 0 else (math.inf if u > 0 else nan)
    return float(mif), float(cif), float(dif), float(raw), float(rrw)


def _event_meta(net: CompiledNetwork) -> list[tuple[int, str, str, float]]:
    C = net.n_components
    out = [(c, net.component_names[c], net.component_kind[c], float(net.q[c])) for c in range(C)]
    out += [(C + g, net.ccf_names[g], "common-cause", float(net.ccf_q[g])) for g in range(net.n_ccf)]
    return out


def _exact_table(net: CompiledNetwork, method: str, limits: dict[str, Any]) -> ImportanceTable:
    t0 = time.perf_counter()
    eng = make_engine(net, method, **limits)
    C = net.n_components
    qf = [Fraction(float(x)) for x in net.q.tolist()]
    cf = [Fraction(float(x)) for x in net.ccf_q.tolist()]
    base = eng.demand_values(qf, cf)
    U = eng.combine(base)
    rows = []
    for idx, name, kind, qe in _event_meta(net):
        aff = [d for d in range(net.n_demands) if idx in eng.demand_events[d]]
        cond: list[Fraction] = []
        for val in (Fraction(1), Fraction(0)):
            q2, c2 = list(qf), list(cf)
            if idx < C:
                q2[idx] = val
            else:
                c2[idx - C] = val
            vals = dict(base)
            if aff:
                vals.update(eng.demand_values(q2, c2, demands=aff))
            cond.append(eng.combine(vals))
        ud, uu = cond
        m = _measures(U, ud, uu, Fraction(qe))
        rows.append(ImportanceRow(idx, name, kind, qe, float(ud), float(uu), *m))
    return ImportanceTable(float(U), 0.0, f"exact-{eng.method}", tuple(rows),
                           seconds=time.perf_counter() - t0)


def _mc_table(net: CompiledNetwork, samples: int, seed: int | None, chunk_size: int) -> ImportanceTable:
    from model.network.bits import unpack_bits
    from model.network.reachability import unreachable_bits
    from model.run.seeds import chunk_plan, chunk_rng
    from model.static.sampling import sample_network_failures

    t0 = time.perf_counter()
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    C, G = net.n_components, net.n_ccf
    E = C + G
    w = np.asarray(net.demand_weight, dtype=np.float64)
    wsum = float(w.sum())
    if wsum <= 0:
        raise ValueError("importance measures need demands with positive weight")
    wn = w / wsum
    owner = np.repeat(np.arange(G, dtype=np.int64), np.diff(net.ccf_member_ptr))
    members = np.asarray(net.ccf_members, dtype=np.int64)
    # running sums per event: [down, down^2, up, up^2, diff, diff^2]; base: [sum, sum^2]
    acc = np.zeros((E, 6))
    base = np.zeros(2)
    n_total = 0
    for i, n in enumerate(chunk_plan(samples, chunk_size)):
        sample = sample_network_failures(net, n, chunk_rng(seed, i))
        # independent failures and event occurrences, before common-cause expansion
        raw = dataclasses.replace(
            sample, ccf_ptr=np.zeros(G + 1, dtype=np.int64), ccf_members=np.zeros(0, dtype=np.int64)
        ).packed(include_events=True).copy()
        W = raw.shape[1]
        full = np.full(W, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
        if n % 64:
            full[-1] = np.uint64((1 << (n % 64)) - 1)

        def share(rows: np.ndarray, n: int = n) -> np.ndarray:
            down = rows[:C].copy()
            if G:
                np.bitwise_or.at(down, members, rows[C + owner])
            bits = unreachable_bits(net, down)
            return wn @ unpack_bits(bits, n).astype(np.float64)

        s0 = share(raw)
        base += [s0.sum(), (s0 * s0).sum()]
        for e in range(E):
            keep = raw[e].copy()
            raw[e] = full
            sd = share(raw)
            raw[e] = 0
            su = share(raw)
            raw[e] = keep
            diff = sd - su
            acc[e] += [sd.sum(), (sd * sd).sum(), su.sum(), (su * su).sum(), diff.sum(), (diff * diff).sum()]
        n_total += n

    def mean_se(s: float, s2: float) -> tuple[float, float]:
        m = s / n_total
        var = max(s2 / n_total - m * m, 0.0) * n_total / max(n_total - 1, 1)
        return m, math.sqrt(var / n_total)

    U, U_se = mean_se(*base)
    rows = []
    for idx, name, kind, qe in _event_meta(net):
        ud, sd = mean_se(acc[idx, 0], acc[idx, 1])
        uu, su = mean_se(acc[idx, 2], acc[idx, 3])
        mif, smif = mean_se(acc[idx, 4], acc[idx, 5])
        _m, cif, dif, raw_w, rrw = _measures(U, ud, uu, qe)
        rows.append(ImportanceRow(idx, name, kind, qe, ud, uu, mif, cif, dif, raw_w, rrw, sd, su, smif))
    return ImportanceTable(U, U_se, "crude-mc-crn", tuple(rows), n_total, seed, time.perf_counter() - t0)


def importance_measures(
    net: CompiledNetwork,
    method: str = "auto",
    *,
    samples: int = 100_000,
    seed: int | None = None,
    chunk_size: int = 1 << 14,
    **limits: Any,
) -> ImportanceTable:
    """Birnbaum, criticality, Fussell–Vesely, RAW and RRW of every basic event.

    Parameters
    ----------
    net : CompiledNetwork
    method : {"auto", "exact", "bdd", "factoring", "mc"}
        ``exact`` (= ``bdd`` with factoring as fallback), a specific exact method,
        ``mc`` (common random numbers), or ``auto``: exact, else Monte Carlo when
        the network is too large.
    samples, seed, chunk_size
        Monte Carlo only: trials, root seed and trials per chunk.
    **limits
        Limits of the exact engine (``max_width``, ``max_nodes``, ...).

    Returns
    -------
    ImportanceTable

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.Graph(); g.add_edge(0, 1, q=0.1); g.add_edge(1, 2, q=0.2)
    >>> tab = importance_measures(compile_graph(g, 0, 2))
    >>> [(r.name, round(r.birnbaum, 3), round(r.rrw, 3)) for r in tab.rows]
    [('0-1', 0.8, 1.4), ('1-2', 0.9, 2.8)]
    """
    if method == "mc":
        return _mc_table(net, samples, seed, chunk_size)
    if method not in ("auto", "exact", "bdd", "factoring"):
        raise ValueError(f"unknown method {method!r}; allowed: auto, exact, bdd, factoring, mc")
    exact = {"exact": "auto", "auto": "auto"}.get(method, method)
    try:
        return _exact_table(net, exact, limits)
    except ExactTooLarge:
        if method != "auto":
            raise
    return _mc_table(net, samples, seed, chunk_size)
