"""Fuzz: generated graph files and corrupted checkpoints.

Graphs: hypothesis writes edge lists (spaces or commas, optional header, q or mtbf/mttr columns, any
values) and GraphML files (any attribute names and values) and runs ``nines reliability`` with every
method. Checkpoints: a real checkpoint of an ``estimate`` run is corrupted (a field replaced, a byte
flipped, the file cut short, a key dropped) and the same command run again: it must refuse the file
(exit 2, naming it) or resume to exactly the answer of the clean run, never another answer. The
checkpoint attacks of issue 16 (a module named in the file, edited totals) are tested directly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest
from fuzzing import check, run
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).parent / "data"
EXAMPLES = int(os.environ.get("NINES_FUZZ_EXAMPLES", "220"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "0",
            "0.1",
            "0.5",
            "1",
            "1.0",
            "1e-300",
            "-0.1",
            "1.0000000000000002",
            "nan",
            "inf",
            "-inf",
            "1e309",
            "abc",
            "",
            "0x10",
            "1" + "0" * 400,
            "4",
            "100",
        ]
    ),
    st.floats(allow_nan=True).map(repr),
    st.text(max_size=5),
)
NAMES = st.one_of(*[st.sampled_from(["s", "t", "a", "b", "c"])] * 8, st.text(min_size=1, max_size=4))
GOOD = {
    "q": st.sampled_from(["0.1", "0.01", "0.2", "0.5"]),
    "mtbf": st.sampled_from(["100", "1000"]),
    "mttr": st.sampled_from(["4", "0.5"]),
}


def value(draw, column: str = "q") -> str:
    """Mostly a sensible value for the column, one in eight anything."""
    return draw(VALUES) if draw(st.integers(0, 7)) == 7 else draw(GOOD.get(column, GOOD["q"]))


@st.composite
def edge_lists(draw) -> str:
    cols = draw(st.sampled_from([["q"], ["q"], ["q"], [], ["mtbf", "mttr"], ["q", "mtbf", "mttr"], ["qq"]]))
    sep = draw(st.sampled_from([" ", ","]))
    lines = []
    if cols and draw(st.booleans()):
        lines.append(sep.join(["u", "v", *cols]))
    pairs = [("s", "a"), ("a", "t"), ("s", "t")] if draw(st.integers(0, 3)) else []
    for _ in range(draw(st.integers(0, 2))):
        pairs.append((draw(NAMES), draw(NAMES)))
    for u, v in pairs:
        n_vals = len(cols) if draw(st.integers(0, 7)) else draw(st.integers(0, len(cols) + 1))
        vals = [
            value(draw, (cols or ["q"])[min(j, len(cols or ["q"]) - 1)])
            for j in range(n_vals if cols else draw(st.integers(0, 1)))
        ]
        lines.append(sep.join([u, v, *vals]) + draw(st.sampled_from(["", " # c", "\t"])))
    return "\n".join(lines) + "\n"


@st.composite
def graphml(draw) -> str:
    attrs = (
        [
            "q",
            *draw(
                st.lists(
                    st.sampled_from(["q", "qq", "Q", "mtbf", "mttr", "weight", "prob"]),
                    max_size=2,
                    unique=True,
                )
            ),
        ]
        if draw(st.integers(0, 3))
        else []
    )
    attrs = list(dict.fromkeys(attrs))
    keys = "".join(
        f'<key id="k{i}" for="{draw(st.sampled_from(["edge", "node", "all"]))}" attr.name="{a}" '
        f'attr.type="{draw(st.sampled_from(["double", "double", "string", "int"]))}"/>'
        for i, a in enumerate(attrs)
    )
    nodes = ["s", "t", "m"]
    body = "".join(f'<node id="{n}"/>' for n in nodes)
    pairs = [("s", "m"), ("m", "t")] if draw(st.integers(0, 3)) else []
    pairs += [
        (draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))) for _ in range(draw(st.integers(0, 1)))
    ]
    for u, v in pairs:
        data = "".join(
            f'<data key="k{i}">{value(draw, attrs[i])}</data>'
            for i in range(len(attrs))
            if draw(st.integers(0, 3))
        )
        body += f'<edge source="{u}" target="{v}">{data}</edge>'
    kind = draw(st.sampled_from(["undirected", "directed"]))
    return (
        f'<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">{keys}'
        f'<graph edgedefault="{kind}">{body}</graph></graphml>\n'
    )


def _graph_case(tmp_path_factory, text: str, suffix: str, method: str, source: str, target: str) -> None:
    path = tmp_path_factory.mktemp("graph") / f"g{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    res = run(
        f"graph:{suffix.lstrip('.')}",
        [
            "reliability",
            path,
            "--source",
            source,
            "--target",
            target,
            "--method",
            method,
            "--samples",
            "500",
            "--years",
            "2",
            "--json",
        ],
        [path],
        expect_json=True,
    )
    check(res)


@pytest.mark.slow
@SETTINGS
@given(
    text=edge_lists(),
    method=st.sampled_from(["auto", "exact", "mc", "rare", "simulate"]),
    source=st.sampled_from(["s", "s", "a"]),
    target=st.sampled_from(["t", "t", "b", "s"]),
)
def test_fuzz_edge_lists(tmp_path_factory, text, method, source, target):
    _graph_case(tmp_path_factory, text, ".txt", method, source, target)


@pytest.mark.slow
@SETTINGS
@given(
    text=graphml(),
    method=st.sampled_from(["auto", "exact", "mc", "rare", "simulate"]),
    target=st.sampled_from(["t", "t", "m", "x"]),
)
def test_fuzz_graphml(tmp_path_factory, text, method, target):
    _graph_case(tmp_path_factory, text, ".graphml", method, "s", target)


# ----------------------------------------------------------------------------- checkpoints
ESTIMATE = ["estimate", str(DATA / "tiny.toml"), "--samples", "300000", "--workers", "1", "--quiet", "--json"]


def _answer(res) -> tuple:
    u = res.data["unreachable_probability"]
    return u["estimate"], u["ci_low"], u["ci_high"], u["samples"]


@pytest.fixture(scope="module")
def clean_checkpoint(tmp_path_factory) -> tuple[bytes, tuple]:
    ck = tmp_path_factory.mktemp("ckpt") / "run.ckpt"
    res = run("checkpoint", [*ESTIMATE, "--checkpoint", ck], [ck], expect_json=True)
    check(res)
    assert res.code == 0 and ck.exists()
    return ck.read_bytes(), _answer(res)


def _paths(doc, prefix=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list) and len(doc) < 20:
        for i, v in enumerate(doc):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


@st.composite
def corruptions(draw, raw: bytes) -> bytes:
    how = draw(st.sampled_from(["field", "field", "drop", "byte", "truncate"]))
    if how == "byte":
        i = draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1 :]
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    doc = json.loads(raw)
    path = draw(st.sampled_from(sorted(_paths(doc), key=repr)))
    node = doc
    for p in path[:-1]:
        node = node[p]
    if how == "drop" and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = draw(
            st.one_of(
                st.sampled_from(
                    [0, -1, 1, 10**12, 1.5, "", "os:system", None, [], {}, "nines-checkpoint-1", float("nan")]
                ),
                st.integers(),
                st.text(max_size=4),
            )
        )
    return json.dumps(doc, allow_nan=True).encode()


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzz_corrupt_checkpoint_is_refused_or_gives_the_clean_answer(
    tmp_path_factory, clean_checkpoint, data
):
    raw, answer = clean_checkpoint
    bad = data.draw(corruptions(raw))
    ck = tmp_path_factory.mktemp("bad") / "run.ckpt"
    ck.write_bytes(bad)
    res = run("checkpoint", [*ESTIMATE, "--checkpoint", ck], [ck], expect_json=True)
    check(res)
    if res.code == 0:
        assert _answer(res) == answer, "a corrupted checkpoint changed the answer"
    else:
        assert "checkpoint" in res.err and str(ck) in res.err


@pytest.mark.parametrize("digest", ["\u00a9d\"", "", "0" * 63, "G" * 64, 7])
def test_a_digest_that_is_not_64_hex_digits_is_refused(tmp_path, clean_checkpoint, digest):
    # found by the fuzz suite: a non-ASCII digest made hmac.compare_digest raise TypeError (a traceback)
    raw, _ = clean_checkpoint
    doc = json.loads(raw)
    doc["digest"] = digest
    ck = tmp_path / "run.ckpt"
    ck.write_text(json.dumps(doc))
    res = run("checkpoint", [*ESTIMATE, "--checkpoint", ck], [ck], expect_json=True)
    check(res)
    assert res.code == 2 and "digest" in res.err and str(ck) in res.err


def test_checkpoint_naming_a_module_imports_nothing(tmp_path, monkeypatch, clean_checkpoint):
    """The old loader imported the module a checkpoint named: a module file in the current directory ran."""
    raw, _ = clean_checkpoint
    marker = tmp_path / "executed"
    (tmp_path / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('pwned')\n"
        "class Tally:\n    @staticmethod\n    def from_dict(d): return 0\n"
    )
    doc = json.loads(raw)
    doc["tally"]["type"] = "evil:Tally"
    ck = tmp_path / "run.ckpt"
    ck.write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    res = run("checkpoint", [*ESTIMATE, "--checkpoint", ck], [ck])
    check(res)
    assert res.code == 2 and "checkpoint" in res.err
    assert not marker.exists(), "a module named in a checkpoint was executed"


def test_edited_totals_are_refused_even_with_a_recomputed_digest(tmp_path, clean_checkpoint):
    """Doubling the trials in the file (the 5 M -> 9.8 M attack) is caught by the digest; an attacker who also
    recomputes the digest is caught by the counts, which must match the chunks done."""
    raw, _ = clean_checkpoint
    doc = json.loads(raw)
    doc["tally"]["data"]["trials"] *= 2
    ck = tmp_path / "run.ckpt"
    ck.write_text(json.dumps(doc))
    res = run("checkpoint", [*ESTIMATE, "--checkpoint", ck], [ck])
    check(res)
    assert res.code == 2 and "does not match its digest" in res.err
    ident = {k: doc[k] for k in ("chunk_fn", "seed", "plan", "task", "options")}
    body = json.dumps(
        {k: v for k, v in doc.items() if k != "digest"}, sort_keys=True, separators=(",", ":")
    ).encode()
    doc["digest"] = hmac.new(
        json.dumps(ident, sort_keys=True, separators=(",", ":")).encode(), body, hashlib.sha256
    ).hexdigest()
    ck.write_text(json.dumps(doc))
    res = run("checkpoint", [*ESTIMATE, "--checkpoint", ck], [ck])
    check(res)
    assert res.code == 2 and "its tally does not match" in res.err and "trials" in res.err, res.err
