"""Write a static model as Open-PSA MEF XML, valid against the schema SCRAM ships.

What is written
---------------
* one ``define-fault-tree`` holding every gate; the top of demand ``d`` is the gate
  ``unreachable-d`` ("this demand is unreachable", built from its minimal path sets, or from
  nines' decision diagram where a demand has many routes, by
  :func:`model.static.faulttree.network_fault_tree`), labelled with the demand's name and
  carrying its weight (calls a year) as the attribute ``weight``; the model carries
  ``total-weight`` (weights of all demands, including those that can never fail), so the
  demand-weighted figure is ``Σ weight · P(top) / total-weight``;
* ``model-data`` with one basic event per component (``c1, c2, ...``, labelled with the
  component's name) and its probability, the steady-state unavailability the static engines use;
* common-cause groups: a ``define-CCF-group`` of model ``beta-factor`` when the group's members
  share one probability ``q`` and belong to no other group (total ``Q = q + q_ccf``, factor
  ``β = q_ccf / Q``, so SCRAM's independent part ``(1 - β) Q`` is ``q`` and its common event
  ``β Q`` is ``q_ccf``); otherwise (members in two groups, as uk999's platforms are, or unequal
  probabilities, neither expressible as one MEF group) the explicit form: the common-cause event
  is a basic event and each member is referenced through a gate ``OR(member, common events)``.
  Both forms give the same probability as nines' model; the explicit one keeps every nines
  basic event as one MEF basic event.

MEF names must match ``[^-.]+(-[^-.]+)*`` as NCNames; nines' own names go to ``label`` elements,
and every text is escaped by :mod:`xml.etree.ElementTree`.

Examples
--------
>>> import networkx as nx
>>> from model.network.compiled import compile_graph
>>> g = nx.Graph(); g.add_edge("s", "a<&>", q=0.1); g.add_edge("a<&>", "t", q=0.1)
>>> xml = to_open_psa(compile_graph(g, "s", "t"))
>>> '<label>s-a&lt;&amp;&gt;</label>' in xml, xml.count("<define-basic-event ")
(True, 2)
"""

from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from model.network.compiled import CompiledNetwork
from model.static.faulttree import FaultTree, network_fault_tree
from model.version import __version__

__all__ = ["mef_names", "to_open_psa", "write_open_psa"]


def _mef_name(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]", "_", text)
    s = re.sub(r"-{2,}", "-", s).strip("-") or "_"
    return s if re.match(r"[A-Za-z_]", s) else f"_{s}"


def mef_names(names: list[str], taken: set[str] | None = None) -> list[str]:
    """Valid, distinct MEF identifiers for ``names`` (kept when already valid and free).

    Examples
    --------
    >>> mef_names(["a b", "a_b", "1x", "ok-name", "--"])
    ['a_b', 'a_b_2', '_1x', 'ok-name', '_']
    """
    taken = set() if taken is None else taken
    out = []
    for n in names:
        base = _mef_name(n)
        cand, i = base, 2
        while cand in taken:
            cand, i = f"{base}_{i}", i + 1
        taken.add(cand)
        out.append(cand)
    return out


def _label(el: ET.Element, text: str) -> None:
    text = " ".join(str(text).split())  # a normalizedString: no line breaks or tabs
    if text:
        ET.SubElement(el, "label").text = text


def _attributes(el: ET.Element, **values: str) -> None:
    attrs = ET.SubElement(el, "attributes")
    for k, v in values.items():
        ET.SubElement(attrs, "attribute", name=k, value=v)


def _float(el: ET.Element, x: float) -> None:
    ET.SubElement(el, "float", value=repr(float(x)))


def _ccf_forms(tree: FaultTree, ccf: str) -> list[bool]:
    """True for each common-cause group written as a MEF beta-factor group."""
    count: dict[int, int] = {}
    for members in tree.ccf_members:
        for m in members:
            count[m] = count.get(m, 0) + 1
    out = []
    for g, members in enumerate(tree.ccf_members):
        qs = {float(tree.q[m]) for m in members}
        ok = (len(members) >= 2 and all(count[m] == 1 for m in members) and len(qs) == 1
              and float(tree.q[members[0]]) + float(tree.ccf_q[g]) > 0)
        if ccf == "groups" and not ok:
            raise ValueError(f"common-cause group {tree.ccf_names[g]!r} cannot be a MEF beta-factor group "
                             "(its members must share one probability and belong to no other group); "
                             "use ccf='explicit' or 'auto'")
        out.append(ok and ccf != "explicit")
    return out


def to_open_psa(model: CompiledNetwork | FaultTree, *, name: str = "nines", ccf: str = "auto",
                form: str = "auto", max_paths: int = 200_000) -> str:
    """The MEF XML text of a compiled network (every demand) or a fault tree.

    Parameters
    ----------
    model : CompiledNetwork or FaultTree
    name : str
        Model name (sanitised to a MEF identifier; the original goes to the label).
    ccf : {"auto", "groups", "explicit"}
        How common-cause groups are written (see the module notes).
    form : {"auto", "paths", "diagram"}
        Fault tree of each demand: minimal path sets, the decision-diagram form, or path sets
        where a demand has few routes (see :func:`~model.static.faulttree.network_fault_tree`).
    max_paths : int
        Passed to :func:`~model.static.faulttree.network_fault_tree`.

    Returns
    -------
    str
    """
    if ccf not in ("auto", "groups", "explicit"):
        raise ValueError(f"ccf must be 'auto', 'groups' or 'explicit', got {ccf!r}")
    tree = (network_fault_tree(model, max_paths=max_paths, form=form) if isinstance(model, CompiledNetwork)
            else model)
    B = tree.n_basic
    taken: set[str] = set()
    basic = mef_names(list(tree.basic_names), taken)
    ccf_names = mef_names(list(tree.ccf_names), taken)
    gate_names = mef_names([g.name for g in tree.gates], taken)
    as_group = _ccf_forms(tree, ccf)
    explicit_of: dict[int, list[int]] = {}
    for g, members in enumerate(tree.ccf_members):
        if not as_group[g]:
            for m in members:
                explicit_of.setdefault(m, []).append(g)
    down = dict(zip(sorted(explicit_of), mef_names([f"{basic[m]}-down" for m in sorted(explicit_of)], taken),
                    strict=True))

    root = ET.Element("opsa-mef", name=mef_names([name])[0])
    _label(root, f"{name}: written by nines {__version__}; top events are demands, unreachable")
    _attributes(root, **{"total-weight": repr(float(tree.total_weight))})
    ft = ET.SubElement(root, "define-fault-tree", name="unreachable")

    def ref(parent: ET.Element, code: int) -> None:
        if code < B:
            if code in down:
                ET.SubElement(parent, "gate", name=down[code])
            else:
                ET.SubElement(parent, "basic-event", name=basic[code])
        else:
            ET.SubElement(parent, "gate", name=gate_names[code - B])

    top_weight = {t: w for t, w in zip(tree.tops, tree.weights.tolist(), strict=True)}
    top_label = dict(zip(tree.tops, tree.top_labels or tree.top_names, strict=True))
    for j, gt in enumerate(tree.gates):
        el = ET.SubElement(ft, "define-gate", name=gate_names[j])
        if B + j in top_label:
            _label(el, top_label[B + j])
            _attributes(el, weight=repr(float(top_weight[B + j])))
        elif gt.label:
            _label(el, gt.label)
        if len(gt.inputs) == 1 and gt.kind in ("and", "or"):
            ref(el, gt.inputs[0])
            continue
        f = ET.SubElement(el, gt.kind, **({"min": str(gt.k)} if gt.kind == "atleast" else {}))
        for c in gt.inputs:
            ref(f, c)
    for m, gs in explicit_of.items():
        el = ET.SubElement(ft, "define-gate", name=down[m])
        _label(el, f"{tree.basic_labels[m] if tree.basic_labels else tree.basic_names[m]} down: "
                   "its own failure or a common-cause event")
        f = ET.SubElement(el, "or")
        ET.SubElement(f, "basic-event", name=basic[m])
        for g in gs:
            ET.SubElement(f, "basic-event", name=ccf_names[g])
    if any(t < B for t in tree.tops):
        raise ValueError("every top event must be a gate")

    in_group = {m for g, ms in enumerate(tree.ccf_members) if as_group[g] for m in ms}
    data = ET.SubElement(root, "model-data")
    labels = tree.basic_labels or tree.basic_names
    for i in range(B):
        if i in in_group:
            continue
        el = ET.SubElement(data, "define-basic-event", name=basic[i])
        _label(el, labels[i])
        _float(el, float(tree.q[i]))
    for g, members in enumerate(tree.ccf_members):
        if as_group[g]:
            continue
        el = ET.SubElement(data, "define-basic-event", name=ccf_names[g])
        _label(el, f"common-cause event {tree.ccf_names[g]} (holds down "
                   f"{', '.join(labels[m] for m in members)})")
        _float(el, float(tree.ccf_q[g]))
    for g, members in enumerate(tree.ccf_members):
        if not as_group[g]:
            continue
        q, qc = float(tree.q[members[0]]), float(tree.ccf_q[g])
        el = ET.SubElement(root, "define-CCF-group", name=ccf_names[g], model="beta-factor")
        _label(el, tree.ccf_names[g])
        mem = ET.SubElement(el, "members")
        for m in members:
            ET.SubElement(mem, "basic-event", name=basic[m])
        _float(ET.SubElement(el, "distribution"), q + qc)
        _float(ET.SubElement(el, "factor", level=str(len(members))), qc / (q + qc))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_open_psa(model: CompiledNetwork | FaultTree, path: str | Path, **options: object) -> Path:
    """Write :func:`to_open_psa` of ``model`` to ``path`` (temporary file, then renamed: never half-written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from model.network.compiled import compile_graph
    >>> from model.network.graphs import grid
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_open_psa(compile_graph(*grid(2, 0.1)), pathlib.Path(d) / "grid.xml")
    ...     p.read_text().count("<define-gate ")
    3
    """
    path = Path(path)
    text = to_open_psa(model, **options)  # type: ignore[arg-type]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


