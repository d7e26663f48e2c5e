"""Open-PSA MEF export and import, cross-checked against Debian's SCRAM (an independent PRA engine).

SCRAM prints 6 significant digits (see ``tests/scram.py``), so its figures are compared at that
precision; nines' own two exact engines (frontier BDD on the network, gate BDD on the exported
tree) are compared with each other to 1e-12 relative.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scram import agrees, require_scram, run_scram

from model.exchange import MEFError, read_open_psa, to_open_psa, write_open_psa
from model.exchange.openpsa_write import mef_names
from model.network.callnetwork import build_network
from model.network.compiled import CompiledNetwork, compile_graph, csr_from_lists
from model.network.graphs import complete, dodecahedron, grid, parallel, series
from model.static.cutsets import minimal_cut_sets
from model.static.exact import exact_unreachability
from model.static.faulttree import FaultTree, network_fault_tree
from model.static.gatebdd import fault_tree_probability, solve_fault_tree
from model.static.importance import importance_measures

EVIL = '<b>"&\'x</b> ]]> --'


@cache
def uk999() -> CompiledNetwork:
    return build_network("uk999").compiled


def graphs() -> dict[str, CompiledNetwork]:
    sp = series([parallel([grid(3, 0.05), grid(3, 0.1)]), complete(4, 0.02)])
    return {
        "grid3": compile_graph(*grid(3, 1e-2)),
        "grid4": compile_graph(*grid(4, 1e-3)),
        "series-parallel": compile_graph(*sp),
    }


def one_demand(net: CompiledNetwork, d: int) -> CompiledNetwork:
    """``net`` with only demand ``d`` (weight 1)."""
    kw = {f: getattr(net, f) for f in net.__dataclass_fields__}
    pptr, pind = csr_from_lists([net.prereq(d).tolist()])
    tptr, tind = csr_from_lists([net.targets(d).tolist()])
    kw.update(demand_names=(net.demand_names[d],), demand_source=net.demand_source[d:d + 1],
              demand_prereq_ptr=pptr, demand_prereq=pind, demand_target_ptr=tptr, demand_targets=tind,
              demand_weight=np.ones(1))
    return CompiledNetwork(**kw)


def sample_demands(net: CompiledNetwork, k: int = 6) -> list[int]:
    """The heaviest demands plus demands whose routes run through a common-cause group."""
    heavy = np.argsort(-net.demand_weight, kind="stable")[: k // 2].tolist()
    ccf = {int(m) for g in range(net.n_ccf) for m in net.ccf_member_list(g)}
    tree = network_fault_tree(net)
    through = [int(name.split("-")[1]) - 1 for name, t in zip(tree.top_names, tree.tops, strict=True)
               if ccf & _basic_under(tree, t)]
    return sorted(set(heavy) | set(through[:: max(1, len(through) // (k - k // 2))][: k - k // 2]))


def _basic_under(tree: FaultTree, code: int) -> set[int]:
    out, stack = set(), [code]
    while stack:
        c = stack.pop()
        if c < tree.n_basic:
            out.add(c)
        else:
            stack.extend(tree.gates[c - tree.n_basic].inputs)
    return out


def event_names(net: CompiledNetwork, xml_path: Path | None = None) -> list[str]:
    """MEF name of every nines basic event (components, then common-cause events) as the writer gives them.

    With the written file: a common-cause group written as a MEF beta-factor group goes by the name SCRAM
    gives its common event, ``ccf:GROUP:m1+m2``."""
    names = mef_names([f"c{i + 1}" for i in range(net.n_components)] + list(net.ccf_names))
    if xml_path is not None:
        for grp in ET.parse(xml_path).getroot().iter("define-CCF-group"):
            members = sorted(b.get("name", "") for b in grp.find("members"))
            names[names.index(grp.get("name", ""))] = f"ccf:{grp.get('name')}:{'+'.join(members)}"
    return names


# ------------------------------------------------------------------ export
def test_export_is_valid_against_scrams_schema_and_escapes_every_name(tmp_path):
    exe = require_scram()
    import subprocess

    g = nx.Graph()
    g.add_edge("s", EVIL, q=0.1)
    g.add_edge(EVIL, "t", q=0.2)
    g.add_edge("s", "t", q=0.3)
    p = write_open_psa(compile_graph(g, "s", "t"), tmp_path / "evil.xml", name=EVIL)
    text = p.read_text()
    assert EVIL not in text and "&lt;b&gt;\"&amp;'x&lt;/b&gt; ]]&gt; --" in text
    for path in (p, write_open_psa(uk999(), tmp_path / "uk999.xml")):
        r = subprocess.run([exe, "--validate", str(path)], capture_output=True, text=True, timeout=300,
                           check=False)
        assert r.returncode == 0, r.stderr[-2000:]
    back = read_open_psa(p)
    assert sorted(back.basic_labels) == sorted(["s-" + EVIL, EVIL + "-t", "s-t"])


def test_uk999_scram_matches_nines_for_every_demand_and_the_demand_weighted_figure(tmp_path):
    net = uk999()
    path = write_open_psa(net, tmp_path / "uk999.xml")
    # --ccf: SCRAM ignores MEF common-cause groups (uk999's sites are beta-factor groups) without it
    rep = run_scram(path, "--probability", "1", "--ccf", "1", "--limit-order", "8")
    exact = exact_unreachability(net)
    per = exact.details["per_demand"]
    tree = read_open_psa(path)
    assert len(rep.probability) == len(tree.tops) == net.n_demands
    bad = [(n, per[int(n.split("-")[1]) - 1], p) for n, p in rep.probability.items()
           if not agrees(per[int(n.split("-")[1]) - 1], p)]
    assert not bad, bad[:5]
    weighted = sum(w * rep.probability[n] for n, w in zip(tree.top_names, tree.weights, strict=True))
    weighted /= tree.total_weight
    # SCRAM's per-demand figures carry 6 digits each (up to 5e-6 relative); demands that share a value
    # are rounded alike, so the errors of their weighted mean add rather than average out
    assert weighted == pytest.approx(exact.value, rel=5e-6)
    # and nines' gate BDD on the exported file agrees with its frontier BDD on the network
    assert fault_tree_probability(tree).value == pytest.approx(exact.value, rel=1e-12)


@pytest.mark.parametrize("name", ["grid3", "grid4", "series-parallel"])
def test_graphs_scram_probability_importance_and_cut_sets_match_nines(tmp_path, name):
    net = graphs()[name]
    path = write_open_psa(net, tmp_path / f"{name}.xml")
    rep = run_scram(path, "--probability", "1", "--importance", "1")
    (top,) = rep.probability
    exact = exact_unreachability(net).value
    assert agrees(exact, rep.probability[top]), (exact, rep.probability[top])
    _check_importance(net, rep.importance[top], event_names(net))
    _check_cut_sets(net, 0, rep.products[top], event_names(net))


def test_dodecahedron_scram_probability_and_importance_match_nines(tmp_path):
    net = compile_graph(*dodecahedron(1e-3))
    tree = network_fault_tree(net)
    assert len(tree.gates) == 2598  # the decision-diagram form: 780 routes are more than auto_paths
    rep = run_scram(write_open_psa(tree, tmp_path / "dodecahedron.xml"), "--probability", "1",
                    "--importance", "1")
    assert agrees(exact_unreachability(net).value, rep.probability["unreachable-1"])
    _check_importance(net, rep.importance["unreachable-1"], event_names(net))
    # SCRAM lists all 7,376 minimal cut sets; nines' enumeration of all takes minutes, so compare those
    # of order <= 4 (the two order-3 sets around the terminals, and the order-4 ones)
    ours = {frozenset(event_names(net)[i] for i in c) for c in minimal_cut_sets(net, max_order=4)}
    assert len(rep.products["unreachable-1"]) == 7376
    assert ours == {c for c in rep.products["unreachable-1"] if len(c) <= 4} and len(ours) > 2


def _check_importance(net: CompiledNetwork, scram_rows: dict[str, dict[str, float]],
                      names: list[str]) -> None:
    tab = importance_measures(net)
    checked = 0
    for r in tab.rows:
        s = scram_rows.get(names[r.index])
        if s is None:  # an event SCRAM dropped because no top uses it: nines agrees it is irrelevant
            assert r.birnbaum == 0.0, r
            continue
        checked += 1
        # SCRAM forms MIF = P(S|e) - P(S|not e) in doubles, so where MIF is far below P(S|e) it carries the
        # cancellation error of that subtraction (nines' exact engine works in rationals and has none)
        slack = 64 * np.finfo(float).eps * r.p_fail_given_down
        for ours, theirs, scale in (("birnbaum", "MIF", 1.0), ("criticality", "CIF", r.q / tab.system),
                                    ("fussell_vesely", "DIF", None), ("raw", "RAW", None)):
            v = getattr(r, ours)
            ok = agrees(v, s[theirs]) or (scale is not None and abs(v - s[theirs]) <= slack * scale)
            assert ok, (r.name, ours, v, s[theirs], r.p_fail_given_down)
        if r.p_fail_given_up == 0.0:
            # P(S | event never occurs) = 0: nines reports RRW as infinite; SCRAM 0.16.2 writes 0 there
            assert math.isinf(r.rrw) and s["RRW"] == 0.0, (r.name, r.rrw, s["RRW"])
        else:
            assert agrees(r.rrw, s["RRW"]), (r.name, r.rrw, s["RRW"])
    assert checked > 0


def _check_cut_sets(net: CompiledNetwork, d: int, products: set[frozenset[str]], names: list[str]) -> None:
    ours = minimal_cut_sets(net, demand=d, max_order=net.n_components + net.n_ccf)
    assert {frozenset(names[i] for i in c) for c in ours} == products


def test_infinite_rrw_is_reported_as_infinite(tmp_path):
    g = nx.Graph()
    g.add_edge("s", "t", q=0.1)
    g.add_edge("s", "m", q=0.2)
    g.add_edge("m", "t", q=0.0)
    net = compile_graph(g, "s", "t")
    rep = run_scram(write_open_psa(net, tmp_path / "par.xml"), "--probability", "1", "--importance", "1")
    _check_importance(net, rep.importance["unreachable-1"], event_names(net))
    rows = {r.name: r for r in importance_measures(net).rows}
    assert math.isinf(rows["s-t"].rrw) and math.isinf(rows["s-m"].rrw)
    assert importance_measures(net).to_records()[0]["rrw"] is None  # JSON has no inf: null, never 0


def test_uk999_sample_of_demands_importance_and_cut_sets_match_scram(tmp_path):
    net = uk999()
    ds = sample_demands(net)
    assert len(ds) >= 4
    tree = network_fault_tree(net, demands=ds)
    assert any(net.ccf_names)
    path = write_open_psa(tree, tmp_path / "uk999-sample.xml")
    rep = run_scram(path, "--probability", "1", "--ccf", "1", "--importance", "1")
    names = event_names(net, path)
    for d in ds:
        top = f"unreachable-{d + 1}"
        sub = one_demand(net, d)
        assert agrees(exact_unreachability(sub).value, rep.probability[top])
        _check_importance(sub, rep.importance[top], names)
        _check_cut_sets(sub, 0, rep.products[top], names)


def test_beta_factor_group_is_written_as_a_mef_ccf_group_and_scram_agrees(tmp_path):
    g = nx.DiGraph()
    for a, b in (("s", "p1"), ("p1", "t"), ("s", "p2"), ("p2", "t"), ("s", "p3"), ("p3", "t")):
        g.add_edge(a, b, q=1e-3)
    base = compile_graph(g, "s", "t")
    members = [base.component_index(n) for n in ("s-p1", "s-p2", "s-p3")]
    mptr, mind = csr_from_lists([members])
    kw = {f: getattr(base, f) for f in base.__dataclass_fields__}
    kw.update(ccf_names=("pumps",), ccf_q=np.array([2e-5]), ccf_member_ptr=mptr, ccf_members=mind)
    net = CompiledNetwork(**kw)
    text = to_open_psa(net)
    assert '<define-CCF-group name="pumps" model="beta-factor">' in text
    path = tmp_path / "ccf.xml"
    path.write_text(text)
    rep = run_scram(path, "--probability", "1", "--ccf", "1", "--importance", "1")
    exact = exact_unreachability(net).value
    assert agrees(exact, rep.probability["unreachable-1"])
    tree = read_open_psa(path)
    assert tree.ccf_names == ("pumps",) and tree.ccf_q[0] == pytest.approx(2e-5, rel=1e-12)
    assert fault_tree_probability(tree).value == pytest.approx(exact, rel=1e-12)
    # SCRAM names the common event by its group and members, the independent parts by the member
    names = [f"c{i + 1}" for i in range(net.n_components)]
    names.append("ccf:pumps:" + "+".join(sorted(names[m] for m in members)))
    _check_importance(net, rep.importance["unreachable-1"], names)
    with pytest.raises(ValueError, match="cannot be a MEF beta-factor group"):
        to_open_psa(uk999(), ccf="groups")


# ------------------------------------------------------------------ round trip and engines
@pytest.mark.parametrize("name", ["grid3", "series-parallel"])
def test_round_trip_export_import_solve_gives_the_same_number(tmp_path, name):
    net = graphs()[name]
    exact = exact_unreachability(net).value
    for form in ("diagram", "auto"):
        tree = read_open_psa(write_open_psa(net, tmp_path / f"{form}.xml", form=form))
        assert solve_fault_tree(tree, "exact")[0].value == pytest.approx(exact, rel=1e-12)
    # crude MC runs on the gates (shared gates once), so the diagram form is fine for it
    est, used, _ = solve_fault_tree(tree, "mc", samples=400_000, seed=7)
    assert used == "mc" and est.method == "crude-mc-gates" and abs(est.value - exact) < 4 * est.std_error
    assert solve_fault_tree(tree, "mc", samples=400_000, seed=7)[0].value == est.value  # same seed, same run
    # the rare-event engine runs on the success network, which copies shared gates: the path-set form
    tree = read_open_psa(write_open_psa(net, tmp_path / "m.xml", form="paths"))
    assert solve_fault_tree(tree, "exact")[0].value == pytest.approx(exact, rel=1e-12)
    for method, n in (("mc", 400_000), ("rare", 3_000)):
        est, used, _ = solve_fault_tree(tree, method, samples=n, seed=7)
        assert used == method and est.samples == n
        assert abs(est.value - exact) < 4 * est.std_error, (method, est.value, est.std_error, exact)


def test_atleast_and_nested_formulas_solve_by_every_engine(tmp_path):
    xml = """<?xml version="1.0"?>
<opsa-mef>
  <define-fault-tree name="ft">
    <define-gate name="top"><or>
      <atleast min="2"><basic-event name="a"/><basic-event name="b"/><event name="c"/></atleast>
      <and><basic-event name="d"/><gate name="g"/></and></or></define-gate>
    <define-gate name="g"><or><basic-event name="a"/><basic-event name="e"/></or></define-gate>
    <define-basic-event name="a"><float value="0.1"/></define-basic-event>
  </define-fault-tree>
  <model-data>
    <define-basic-event name="b"><float value="0.2"/></define-basic-event>
    <define-basic-event name="c"><float value="0.3"/></define-basic-event>
    <define-basic-event name="d"><float value="0.4"/></define-basic-event>
    <define-basic-event name="e"><float value="0.05"/></define-basic-event>
  </model-data>
</opsa-mef>
"""
    path = tmp_path / "t.xml"
    path.write_text(xml)
    tree = read_open_psa(path)
    q = dict(a=0.1, b=0.2, c=0.3, d=0.4, e=0.05)
    brute = 0.0
    import itertools

    for bits in itertools.product([0, 1], repeat=5):
        s = dict(zip("abcde", bits, strict=True))
        top = (s["a"] + s["b"] + s["c"] >= 2) or (s["d"] and (s["a"] or s["e"]))
        brute += top * math.prod(q[k] if s[k] else 1 - q[k] for k in "abcde")
    assert fault_tree_probability(tree).value == pytest.approx(brute, rel=1e-12)
    rep = run_scram(path, "--probability", "1")
    assert agrees(brute, rep.probability["top"])
    est, _, _ = solve_fault_tree(tree, "mc", samples=200_000, seed=3)
    assert abs(est.value - brute) < 4 * est.std_error


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("body", "line", "words"), [
    ('<define-fault-tree name="f">\n<define-gate name="t"><not><basic-event name="a"/></not></define-gate>'
     "</define-fault-tree>", 3, "<not> is not supported"),
    ('<define-fault-tree name="f">\n<define-gate name="t"><or><basic-event name="a"/>\n'
     '<basic-event name="zz"/></or></define-gate></define-fault-tree>', 4, "refers to 'zz'"),
    ('<model-data>\n<define-basic-event name="a"><exponential/></define-basic-event></model-data>', 3,
     "needs exactly one <float"),
    ('<define-CCF-group name="g" model="MGL"/>', 2, "model 'MGL' is not supported"),
    ('<define-house-event name="h"/>', 2, "<define-house-event> is not supported"),
    ('<model-data>\n<define-basic-event name="a"><float value="1.5"/></define-basic-event></model-data>', 3,
     "must lie in [0, 1]"),
])
def test_anything_outside_the_subset_gets_one_clear_error(tmp_path, run_cli, body, line, words):
    path = tmp_path / "bad.xml"
    data = ('<model-data><define-basic-event name="a"><float value="0.1"/></define-basic-event></model-data>'
            if 'define-basic-event name="a"' not in body else "")
    path.write_text('<?xml version="1.0"?>\n<opsa-mef>' + body + data + "</opsa-mef>")
    with pytest.raises(MEFError) as err:
        read_open_psa(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line}: ") and words in msg and "nines reads" in msg, msg
    code, out, errout = run_cli("reliability", path, "--method", "exact")
    assert code == 2 and out == "" and errout.count("\n") == 1 and "Traceback" not in errout


def test_doctype_entities_and_oversize_files_are_refused(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE opsa-mef [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<opsa-mef><label>&b;</label></opsa-mef>')
    with pytest.raises(MEFError, match=r"bomb\.xml:2: DOCTYPE and ENTITY"):
        read_open_psa(bomb)
    big = tmp_path / "big.xml"
    big.write_text("<opsa-mef>" + " " * 2000 + "</opsa-mef>")
    with pytest.raises(MEFError, match="larger than the limit"):
        read_open_psa(big, max_bytes=1000)
    with pytest.raises(MEFError, match="not well-formed"):
        (tmp_path / "broken.xml").write_text("<opsa-mef><define-gate></opsa-mef>")
        read_open_psa(tmp_path / "broken.xml")


def test_several_unweighted_tops_need_a_choice(tmp_path, run_cli):
    path = tmp_path / "two.xml"
    ab = '<basic-event name="a"/><basic-event name="b"/>'
    path.write_text(f'<opsa-mef><define-fault-tree name="f"><define-gate name="x"><or>{ab}</or></define-gate>'
                    f'<define-gate name="y"><and>{ab}</and></define-gate></define-fault-tree><model-data>'
                    '<define-basic-event name="a"><float value="0.5"/></define-basic-event>'
                    '<define-basic-event name="b"><float value="0.5"/></define-basic-event>'
                    '</model-data></opsa-mef>')
    with pytest.raises(MEFError, match="choose one with --top NAME"):
        read_open_psa(path)
    code, out, _ = run_cli("reliability", path, "--top", "y", "--method", "exact", "--json")
    assert code == 0 and '"estimate": 0.25' in out


# ------------------------------------------------------------------ CLI
def test_cli_export_then_reliability_of_the_file(tmp_path, run_cli, tiny_path):
    out_file = tmp_path / "tiny.xml"
    code, out, err = run_cli("export", tiny_path, "--format", "open-psa", "-o", out_file)
    assert code == 0, err
    assert "wrote" in out and out_file.exists() and not list(tmp_path.glob(".*.tmp"))
    code, out, err = run_cli("reliability", out_file, "--method", "exact", "--json")
    assert code == 0, err
    import json

    value = json.loads(out)["estimate"]
    net = build_network(tiny_path).compiled
    assert value == pytest.approx(exact_unreachability(net).value, rel=1e-12)
    g = tmp_path / "g.edges"
    g.write_text("s a 0.1\na t 0.2\ns t 0.3\n")
    code, out, err = run_cli("export", g, "--source", "s", "--target", "t", "-o", tmp_path / "g.xml")
    assert code == 0, err
    code, out, err = run_cli("reliability", tmp_path / "g.xml", "--method", "exact", "--json")
    assert json.loads(out)["estimate"] == pytest.approx(0.3 * (1 - 0.9 * 0.8), rel=1e-12)
    code, _, err = run_cli("export", g, "--source", "s", "-o", tmp_path / "x.xml")
    assert code == 2 and "both --source and --target" in err
    code, _, err = run_cli("reliability", tmp_path / "g.xml", "--method", "simulate")
    assert code == 2 and "simulate" in err
