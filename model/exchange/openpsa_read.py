"""Read the Open-PSA MEF subset nines solves: static fault trees with beta-factor common causes.

Supported (and written by :mod:`model.exchange.openpsa_write`):

* ``opsa-mef`` with ``define-fault-tree``, ``model-data`` and ``define-CCF-group`` (labels and
  attributes anywhere they are allowed);
* ``define-gate`` whose formula is ``and``, ``or``, ``atleast min="k"`` (nested freely) or a bare
  reference ``event``, ``gate``, ``basic-event``;
* ``define-basic-event`` with a ``float`` probability in [0, 1];
* ``define-CCF-group model="beta-factor"`` with ``members``, a ``float`` ``distribution`` (total
  probability ``Q`` of each member) and one ``factor`` ``β``: each member fails on its own with
  ``(1 - β) Q`` and all together with ``β Q``.

The top events are the gates no other gate uses; their ``weight`` attributes (nines' exports carry
calls a year) weight the figure, over the model's ``total-weight`` attribute when present.

Anything else (``not``, ``xor``, house events, parameters, other distributions, other CCF models,
event trees, qualified names ...) is refused with one message naming the file, line, element and
what is supported. The file is parsed safely: at most ``max_bytes``, no DTD, no entities, nothing
fetched or executed.

Examples
--------
>>> import tempfile, pathlib
>>> xml = '''<opsa-mef><define-fault-tree name="ft">
...   <define-gate name="top"><atleast min="2">
...     <basic-event name="a"/><basic-event name="b"/><basic-event name="c"/></atleast></define-gate>
... </define-fault-tree><model-data>
...   <define-basic-event name="a"><float value="0.1"/></define-basic-event>
...   <define-basic-event name="b"><float value="0.2"/></define-basic-event>
...   <define-basic-event name="c"><float value="0.3"/></define-basic-event>
... </model-data></opsa-mef>'''
>>> with tempfile.TemporaryDirectory() as d:
...     p = pathlib.Path(d) / "two-of-three.xml"; _ = p.write_text(xml)
...     tree = read_open_psa(p)
>>> tree.top_names, tree.gates[0].kind, tree.gates[0].k
(('top',), 'atleast', 2)
"""

from __future__ import annotations

import math
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.static.faulttree import FaultTree, Gate

__all__ = ["MEFError", "is_open_psa", "read_open_psa"]

SUPPORTED = ("nines reads the Open-PSA MEF subset of static fault trees: define-fault-tree, model-data, "
             "define-gate with and/or/atleast formulas over event/gate/basic-event references, "
             "define-basic-event with a float probability, define-CCF-group model=\"beta-factor\"")


class MEFError(ValueError):
    """An Open-PSA file nines cannot read; the message names file, line, element and the supported subset."""


@dataclass
class _El:
    tag: str
    attrib: dict[str, str]
    line: int
    children: list[_El] = field(default_factory=list)
    text: str = ""


def _parse(path: Path, max_bytes: int) -> _El:
    size = path.stat().st_size
    if size > max_bytes:
        raise MEFError(f"{path}: {size:,} bytes is larger than the limit of {max_bytes:,} bytes")
    data = path.read_bytes()
    p = xml.parsers.expat.ParserCreate()
    p.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_El] = []
    root: list[_El] = []

    def refuse(*_args: object) -> None:
        raise MEFError(f"{path}:{p.CurrentLineNumber}: DOCTYPE and ENTITY declarations are not allowed "
                       "(nines does not expand entities from files)")

    def start(tag: str, attrib: dict[str, str]) -> None:
        el = _El(tag, attrib, p.CurrentLineNumber)
        (stack[-1].children if stack else root).append(el)
        stack.append(el)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text += text

    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.UnparsedEntityDeclHandler = refuse
    p.ExternalEntityRefHandler = refuse
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    try:
        p.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        why = xml.parsers.expat.errors.messages[exc.code]
        raise MEFError(f"{path}:{exc.lineno}: not well-formed XML ({why})") from None
    return root[0]


def is_open_psa(path: str | Path) -> bool:
    """True when ``path`` looks like an Open-PSA MEF file (an ``opsa-mef`` root in its first 64 kB)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return b"<opsa-mef" in head


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.basic: dict[str, tuple[float, int, str]] = {}  # name -> (q, line, label)
        self.gates: dict[str, tuple[_El, str, dict[str, str]]] = {}  # name -> (formula, label, attributes)
        self.gate_line: dict[str, int] = {}
        self.ccf: list[tuple[str, list[tuple[str, int]], float, float, int]] = []
        self.model_attrs: dict[str, str] = {}

    def fail(self, el: _El, what: str) -> MEFError:
        return MEFError(f"{self.path}:{el.line}: <{el.tag}> {what}; {SUPPORTED}")

    def unsupported(self, el: _El) -> MEFError:
        return self.fail(el, "is not supported")

    def name(self, el: _El) -> str:
        n = el.attrib.get("name")
        if not n:
            raise self.fail(el, "needs a name attribute")
        if "." in n:
            raise self.fail(el, f"uses the qualified name {n!r}; qualified names are not supported")
        return n

    def number(self, el: _El, lo: float = 0.0, hi: float = 1.0) -> float:
        exprs = [c for c in el.children if c.tag not in ("label", "attributes")]
        if len(exprs) != 1 or exprs[0].tag != "float":
            bad = exprs[0] if exprs else el
            raise self.fail(bad, "needs exactly one <float value=...> (other expressions are not supported)")
        raw = exprs[0].attrib.get("value", "")
        try:
            v = float(raw)
        except ValueError:
            raise self.fail(exprs[0], f"value {raw!r} is not a number") from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise self.fail(exprs[0], f"value {raw!r} must lie in [{lo:g}, {hi:g}]")
        return v

    @staticmethod
    def meta(el: _El) -> tuple[str, dict[str, str]]:
        label = next((" ".join(c.text.split()) for c in el.children if c.tag == "label"), "")
        attrs = {a.attrib.get("name", ""): a.attrib.get("value", "")
                 for c in el.children if c.tag == "attributes" for a in c.children}
        return label, attrs

    def definitions(self, el: _El) -> None:
        for c in el.children:
            if c.tag in ("label", "attributes"):
                continue
            if c.tag == "define-gate":
                n = self.name(c)
                if n in self.gates or n in self.basic:
                    raise self.fail(c, f"defines {n!r} twice")
                formulas = [f for f in c.children if f.tag not in ("label", "attributes")]
                if len(formulas) != 1:
                    raise self.fail(c, "needs exactly one formula")
                label, attrs = self.meta(c)
                self.gates[n] = (formulas[0], label, attrs)
                self.gate_line[n] = c.line
            elif c.tag == "define-basic-event":
                n = self.name(c)
                if n in self.gates or n in self.basic:
                    raise self.fail(c, f"defines {n!r} twice")
                self.basic[n] = (self.number(c), c.line, self.meta(c)[0])
            elif c.tag == "define-CCF-group":
                self.ccf_group(c)
            elif c.tag == "model-data" and el.tag == "opsa-mef":
                self.definitions(c)
            elif c.tag == "define-fault-tree" and el.tag == "opsa-mef":
                self.definitions(c)
            else:
                raise self.unsupported(c)

    def ccf_group(self, el: _El) -> None:
        n = self.name(el)
        if el.attrib.get("model") != "beta-factor":
            raise self.fail(el, f"model {el.attrib.get('model')!r} is not supported (only beta-factor)")
        members: list[tuple[str, int]] = []
        Q = beta = None
        for c in el.children:
            if c.tag in ("label", "attributes"):
                continue
            if c.tag == "members":
                for m in c.children:
                    if m.tag != "basic-event":
                        raise self.unsupported(m)
                    members.append((self.name(m), m.line))
            elif c.tag == "distribution":
                Q = self.number(c)
            elif c.tag in ("factor", "factors"):
                fs = [c] if c.tag == "factor" else c.children
                if len(fs) != 1 or fs[0].tag != "factor":
                    raise self.fail(c, "needs exactly one beta factor")
                beta = self.number(fs[0])
            else:
                raise self.unsupported(c)
        if len(members) < 2 or Q is None or beta is None:
            raise self.fail(el, "needs at least two members, a distribution and a factor")
        self.ccf.append((n, members, Q, beta, el.line))

    def tree(self, top: str | None) -> FaultTree:
        in_group: dict[str, tuple[int, float]] = {}
        for g, (n, members, Q, beta, _line) in enumerate(self.ccf):
            for m, mline in members:
                if m in in_group or m in self.basic or m in self.gates:
                    raise MEFError(f"{self.path}:{mline}: basic event {m!r} of CCF group {n!r} is defined "
                                   f"elsewhere or in another group; {SUPPORTED}")
                in_group[m] = (g, (1.0 - beta) * Q)
        names = list(self.basic) + [m for m in in_group]
        index = {n: i for i, n in enumerate(names)}
        q = [self.basic[n][0] for n in self.basic] + [in_group[m][1] for m in in_group]
        labels = [self.basic[n][2] or n for n in self.basic] + list(in_group)
        B = len(names)
        gate_index = {n: B + j for j, n in enumerate(self.gates)}
        gates: list[Gate] = []
        extra: list[Gate] = []
        used: set[int] = set()

        def formula(f: _El, owner: str) -> tuple[str, tuple[int, ...], int]:
            if f.tag in ("and", "or", "atleast"):
                k = 0
                if f.tag == "atleast":
                    try:
                        k = int(f.attrib.get("min", ""))
                    except ValueError:
                        raise self.fail(f, "needs an integer min attribute") from None
                    if k < 1:
                        raise self.fail(f, "needs min >= 1")
                if not f.children:
                    raise self.fail(f, "has no inputs")
                return f.tag, tuple(operand(c, owner) for c in f.children), k
            return "or", (operand(f, owner),), 0

        def operand(c: _El, owner: str) -> int:
            if c.tag in ("event", "gate", "basic-event"):
                n = self.name(c)
                if c.tag != "basic-event" and n in gate_index:
                    code = gate_index[n]
                elif c.tag != "gate" and n in index:
                    code = index[n]
                else:
                    raise self.fail(c, f"refers to {n!r}, which is not defined as a "
                                       f"{'gate' if c.tag == 'gate' else 'basic event with a probability'}")
                used.add(code)
                return code
            if c.tag in ("and", "or", "atleast"):  # a nested formula becomes an anonymous gate
                kind, ins, k = formula(c, owner)
                code = B + len(self.gates) + len(extra)
                extra.append(Gate(f"{owner}~{len(extra) + 1}", kind, ins, k))
                used.add(code)
                return code
            raise self.unsupported(c)

        for n, (f, label, _attrs) in self.gates.items():
            kind, ins, k = formula(f, n)
            gates.append(Gate(n, kind, ins, k, label))
        if not gates:
            raise MEFError(f"{self.path}: defines no gate, so no top event; {SUPPORTED}")
        tops = [n for n in self.gates if gate_index[n] not in used]
        if top is not None:
            if top not in self.gates:
                some = ", ".join(list(self.gates)[:10])
                raise MEFError(f"{self.path}: --top {top!r} is not a gate (gates: {some})")
            tops = [top]
        weights = []
        for n in tops:
            w = self.gates[n][2].get("weight")
            if w is None:
                if len(tops) > 1:
                    raise MEFError(f"{self.path}: {len(tops)} top events ({', '.join(tops[:10])}) and not "
                                   "all carry a weight attribute; choose one with --top NAME")
                w = "1"
            try:
                weights.append(float(w))
            except ValueError:
                raise MEFError(f"{self.path}:{self.gate_line[n]}: weight {w!r} of gate {n!r} is not a number"
                               ) from None
        total = -1.0
        if top is None and "total-weight" in self.model_attrs:
            try:
                total = float(self.model_attrs["total-weight"])
            except ValueError:
                bad = self.model_attrs["total-weight"]
                raise MEFError(f"{self.path}: total-weight {bad!r} is not a number") from None
        return FaultTree(
            basic_names=tuple(names),
            q=np.array(q, dtype=np.float64),
            gates=tuple(gates + extra),
            tops=tuple(gate_index[n] for n in tops),
            top_names=tuple(tops),
            weights=np.array(weights, dtype=np.float64),
            ccf_names=tuple(c[0] for c in self.ccf),
            ccf_q=np.array([c[2] * c[3] for c in self.ccf], dtype=np.float64),
            ccf_members=tuple(tuple(index[m] for m, _l in c[1]) for c in self.ccf),
            basic_labels=tuple(labels),
            top_labels=tuple(self.gates[n][1] or n for n in tops),
            total_weight=max(total, float(sum(weights))) if total >= 0 else -1.0,
        )


def read_open_psa(path: str | Path, *, top: str | None = None, max_bytes: int = 64 * 2**20) -> FaultTree:
    """Read an Open-PSA MEF file into a :class:`~model.static.faulttree.FaultTree`.

    Parameters
    ----------
    path : str or Path
    top : str, optional
        Solve only this gate as the top event (default: every gate no other gate uses).
    max_bytes : int
        Refuse larger files.

    Raises
    ------
    MEFError
        For anything outside the supported subset, with file, line and element.
    """
    path = Path(path)
    root = _parse(path, max_bytes)
    r = _Reader(path)
    if root.tag != "opsa-mef":
        raise MEFError(f"{path}:{root.line}: the root element is <{root.tag}>, not <opsa-mef>; {SUPPORTED}")
    r.model_attrs = r.meta(root)[1]
    r.definitions(root)
    return r.tree(top)
