"""Plumbing shared by the study scripts: arguments, provenance, atomic outputs.

Every study takes ``--out DIR`` (default ``reports/``), ``--quick`` (a fast run for
tests), ``--seed`` and ``--scenario``; writes ``<name>.html`` and ``<name>.json``
atomically; and records provenance (version, git commit, seed, scenario hash,
runtime). Bad input exits with code 2 and one message, never a traceback.

Examples
--------
>>> args = study_parser("demo", "A demo study").parse_args(["--quick", "--out", "/tmp/x"])
>>> args.quick, str(args.out)
(True, '/tmp/x')
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model.report import write_atomic
from model.results.estimate import jsonable, provenance

__all__ = [
    "LAYER_NAMES",
    "Study",
    "assumption_rows",
    "check_out_dir",
    "network_diagram",
    "run_study",
    "running_mean_figure",
    "study_parser",
    "verify_outputs",
]

LAYER_NAMES = ["Caller groups", "Originating networks", "Call-handling platforms", "Call-handling centres",
               "Control rooms"]


def study_parser(name: str, description: str) -> argparse.ArgumentParser:
    """Argument parser with the options every study takes."""
    p = argparse.ArgumentParser(prog=f"studies/{name}.py", description=description)
    p.add_argument("--out", type=Path, default=Path("reports"), help="output directory (default: reports/)")
    p.add_argument("--quick", action="store_true", help="a fast, smaller run (for tests)")
    p.add_argument("--seed", type=int, default=20230625, help="root seed of the run (default 20230625)")
    p.add_argument("--scenario", default="uk999", help="scenario path or bundled name (default uk999)")
    return p


class Study:
    """One run of a study: timing, provenance and writing its two outputs as one unit.

    The output directory is checked for writing when the study starts (a bad ``--out`` is
    reported before any computation; nothing is created until :meth:`write`). :meth:`write`
    gives both files the same run id (``run_id`` in the JSON, ``<meta name="nines-run-id">``
    in the HTML), then writes ``<name>.manifest.json`` naming the run id and the SHA-256 of
    both; :func:`verify_outputs` accepts the pair only when all three agree, so a run killed
    between the two writes never passes off one run's report with another run's data.
    """

    def __init__(self, name: str, args: argparse.Namespace):
        self.name = name
        self.args = args
        self.started = time.perf_counter()
        self.run_id = uuid.uuid4().hex
        check_out_dir(Path(args.out))
        self.scenario = None  # the study's base scenario, once provenance names it (for the sources)

    def provenance(self, scenario=None, **extra: Any) -> dict[str, Any]:
        info: dict[str, Any] = {"study": self.name, "seed": self.args.seed, "quick": bool(self.args.quick)}
        if scenario is not None:
            self.scenario = scenario
            info.update(scenario=scenario.name, scenario_files=list(scenario.files),
                        scenario_sha256=scenario.digest)
        info.update(extra)
        info["runtime_seconds"] = round(time.perf_counter() - self.started, 3)
        return provenance(**info)

    def compliance(self, report, scenario, strategies=None) -> dict[str, Any]:
        """Add the compliance section (:func:`model.report.compliance_section`) to ``report``.

        Runs :func:`model.metrics.compliance.check_compliance` on ``scenario`` (500 simulated
        years with ``--quick``, 20,000 otherwise, the study's seed) and returns its JSON form
        for the study's results. With ``strategies`` (sets of strategies to apply to
        ``scenario``) it adds the table of which rules each set changes
        (:func:`model.report.compliance_changes_section`) and their reports under ``"strategies"``.
        """
        from model.metrics.compliance import check_compliance, compliance_by_strategy, rules_changed
        from model.report import compliance_changes_section, compliance_section

        years = 500 if self.args.quick else 20_000
        if strategies is None:
            check = check_compliance(scenario, years=years, seed=self.args.seed)
            compliance_section(report, check)
            return check.to_dict()
        check, others = compliance_by_strategy(scenario, strategies, years=years, seed=self.args.seed)
        compliance_section(report, check)
        compliance_changes_section(report, check, others)
        return {**check.to_dict(), "strategies": [{**o.to_dict(), "changed": rules_changed(check, o)}
                                                  for o in others]}

    def recovery(self, report, scenario, strategies) -> list[dict[str, Any]]:
        """Add recovery curves and expected-unserved metrics of the status quo and each set of
        strategies (:func:`model.report.recovery_section`; national-scale outages, 10 % of demand or
        more; 300 simulated years with ``--quick``, 10,000 otherwise) and return them for the JSON."""
        from model.metrics.recovery import outages_by_strategy
        from model.report import recovery_section

        rows = outages_by_strategy(scenario, strategies, years=300 if self.args.quick else 10_000,
                                   seed=self.args.seed, min_share=0.1)
        recovery_section(report, rows)
        return [{"strategy": label, **r,
                 "unreachable_calls_per_year": r["unreachable_calls_per_year"].to_dict()}
                for label, r in rows]

    def write(self, report, results: dict[str, Any]) -> tuple[Path, Path]:
        out = Path(self.args.out)
        check_out_dir(out, create=True)
        self.dress(report)
        json_text = json.dumps(jsonable({"run_id": self.run_id, **results}), indent=2, allow_nan=False) + "\n"
        html_text = report.to_html(files_stem=self.name).replace(
            _GENERATOR, f'{_GENERATOR}<meta name="nines-run-id" content="{self.run_id}">\n', 1)
        tables = report.csv_files(self.name)
        for fname, body in tables.items():  # first, so the report's links resolve
            write_atomic(out / fname, body)
        json_path = write_atomic(out / f"{self.name}.json", json_text)
        html_path = write_atomic(out / f"{self.name}.html", html_text)
        texts = {**tables, json_path.name: json_text, html_path.name: html_text}
        manifest = {"run_id": self.run_id, "study": self.name,
                    "files": {fname: hashlib.sha256(t.encode()).hexdigest() for fname, t in texts.items()}}
        write_atomic(out / f"{self.name}.manifest.json", json.dumps(manifest, indent=2) + "\n")
        return html_path, json_path

    def dress(self, report) -> None:
        """What every study report carries: a quick-run banner, the JSON link, the sources section."""
        from model.report.sources import bibliography

        if self.args.quick:
            report.banner("Quick run: a fast, smaller run for tests and previews. Its numbers are less "
                          "precise than a full run's and should not be quoted; run without --quick for the "
                          "report.")
        report.link_json(f"{self.name}.json")
        if self.scenario is not None and self.scenario.spec.sources:
            from model.scenario.uncertainty import uncertainty_groups

            ranges = [g.to_dict() for g in uncertainty_groups(self.scenario).values()]
            report.bibliography(bibliography(self.scenario.spec.sources, report.source_texts, ranges=ranges))


_GENERATOR = '<meta name="generator" content="nines">\n'


def check_out_dir(out: Path, *, create: bool = False) -> None:
    """Exit 2 with one message unless ``out`` is (or can be made) a writable folder; nothing is created
    unless ``create`` (so a study refused for bad input leaves no folder behind)."""
    try:
        if create:
            out.mkdir(parents=True, exist_ok=True)
        existing = out.absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, f"no permission to write in {existing}")
    except OSError as exc:
        raise SystemExit(_fail(f"--out {out}: cannot write there ({exc.strerror or exc})")) from None


def verify_outputs(out: str | Path, name: str) -> str:
    """The run id of ``<name>.html`` and ``<name>.json`` in ``out`` when their manifest vouches for both.

    Raises
    ------
    ValueError
        A file or the manifest is missing, or the files are not the pair the manifest names
        (e.g. a run was killed between writing them).
    """
    out = Path(out)
    try:
        manifest = json.loads((out / f"{name}.manifest.json").read_text(encoding="utf-8"))
        files = {f: (out / f).read_bytes() for f in (f"{name}.html", f"{name}.json")}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{out}: outputs of {name} are incomplete ({exc})") from None
    for fname, data in files.items():
        if manifest.get("files", {}).get(fname) != hashlib.sha256(data).hexdigest():
            raise ValueError(f"{out / fname}: not the file of run {manifest.get('run_id')} named by "
                             f"{name}.manifest.json (from another run, or edited)")
    return str(manifest["run_id"])


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run_study(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a study's main, turning bad input into exit code 2 with one message."""
    from model.scenario.schema import ScenarioError

    try:
        return main(argv)
    except ScenarioError as exc:
        return _fail(str(exc))
    except (ValueError, OSError) as exc:
        return _fail(str(exc))


def assumption_rows(net, limit: int | None = None) -> list[tuple[str, str, str]]:
    """(parameter, value, source) rows for the assumptions table of a report."""
    s = net.scenario.spec
    rows: list[tuple[str, str, str]] = [
        ("Calls a year", f"{s.traffic.annual_calls:,.0f}", s.traffic.source),
        ("Genuine share of calls", f"{s.traffic.genuine_share:.0%}", s.traffic.source),
    ]
    rows += [(f"Share of calls: {sv.label}", f"{sv.share:.1%}", sv.source) for sv in s.services.values()]
    rows += [(f"Access share: {k}", f"{a.share:.1%}", a.source) for k, a in s.access.items()]
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for name, comp in net.components.items():
        if comp.kind in ("access_link", "interconnect", "link"):
            continue
        f = comp.failure
        detail = f"q = {comp.q:.3g}"
        if f is not None and f.failures_per_year is not None:
            detail += f"; {f.failures_per_year:g} outages/yr"
        if f is not None and f.repair is not None:
            detail += f"; repair mean {f.repair.mean():.3g} h ({f.repair.distribution})"
        src = (f.source if f is not None and f.source else "") or _entity_source(s, name)
        grouped.setdefault((comp.kind, detail, src or "not stated"), []).append(comp.label)
    for (kind, detail, src), labels in grouped.items():
        what = labels[0] if len(labels) == 1 else f"{len(labels)} {kind.replace('_', ' ')}s (each)"
        rows.append((what, detail, src))
    for g, grp in s.redundancy_groups.items():
        val = f"{grp.policy}; switch fails with p = {grp.switch_failure_probability}"
        rows.append((f"Failover group {g}", val, grp.source or "not stated"))
    for g, grp in s.common_cause_groups.items():
        val = f"beta = {grp.beta}" if grp.beta is not None else "explicit shared cause"
        rows.append((f"Common cause {g}", val, grp.source or "not stated"))
    return rows[:limit] if limit else rows


def _entity_source(s, name: str) -> str:
    for section in ("originating_networks", "call_handling_platforms", "call_handling_centres",
                    "control_rooms"):
        ent = getattr(s, section).get(name)
        if ent is not None:
            return ent.source
    return ""


def network_diagram(net, first=None, title: str | None = None):
    """Interactive diagram of a call network that shows where the risk is.

    Columns: callers by access type → originating networks → shared causes (common-cause and failover
    events, drawn as their own nodes and linked to what they take down) → call-handling platforms →
    call-handling centres → control rooms grouped by service (with their count). Colour: the expected genuine
    calls a year cut off by that element's own outages (steady-state unavailability × calls with no working
    path while it is down, from N-1; computed when ``first`` is not given), summed over the elements a
    grouped node stands for; grey: never fails.
    """
    from collections import defaultdict

    from model.report import layered_network_figure
    from model.static.contingency import component_table, n_minus_1

    first = first if first is not None else n_minus_1(net)
    q = {r["name"]: r["q"] for r in component_table(net)}
    risk = {r.failed[0]: q.get(r.failed[0], 0.0) * r.calls_per_year_cut for r in first if len(r.failed) == 1}
    s = net.scenario.spec
    g = net.graph
    node_of: dict[str, str] = {}
    label: dict[str, str] = {}
    layer: dict[str, int] = {}
    value: dict[str, float | None] = defaultdict(lambda: None)
    hover: dict[str, str] = {}
    members: dict[str, list[str]] = defaultdict(list)

    def add(node: str, lab: str, lay: int) -> str:
        label.setdefault(node, lab)
        layer.setdefault(node, lay)
        return node

    def charge(node: str, comp: str | None) -> None:
        if comp and comp in risk:
            value[node] = (value[node] or 0.0) + risk[comp]

    for n, d in g.nodes(data=True):
        kind = d["kind"]
        if kind == "caller_group":
            node_of[n] = add(f"callers:{d['access']}", f"{d['access']} callers", 0)
        elif kind == "control_room":
            sv = s.control_rooms[n].service
            room_label = f"{s.services[sv].label} control rooms" if sv in s.services else sv
            node_of[n] = add(f"rooms:{sv}", room_label, 5)
            members[node_of[n]].append(d["label"])
        else:
            lay = {"originating_network": 1, "call_handling_platform": 3,
                   "call_handling_centre": 4}.get(kind, 2)
            node_of[n] = add(n, d["label"], lay)
        charge(node_of[n], d.get("component"))
    link_risk: dict[str, float] = defaultdict(float)
    for u, _v, d in g.edges(data=True):  # links are not drawn: their risk shows where they start
        link_risk[node_of[u]] += risk.get(d.get("component") or "", 0.0)
    edges = {(node_of[u], node_of[v]) for u, v in g.edges if node_of[u] != node_of[v]}
    for e in net.common_cause_events:
        node = add(e.name, e.label or e.name, 2)
        charge(node, e.name)
        for m in e.members:
            if m in node_of:
                edges.add((node, node_of[m]))
        hover[node] = f"takes down {e.members_label or len(e.members)} at once"
    for node, rooms in members.items():
        hover[node] = f"{len(rooms)} rooms (each with its buddies); per-room figures in the tables"
    for node in label:
        if node.startswith("callers:"):
            calls = sum(d["annual_calls"] for n, d in g.nodes(data=True) if node_of.get(n) == node)
            hover[node] = f"{calls:,.0f} calls a year"
    for node, r in link_risk.items():
        if r > 0:
            extra = f"links from here: {r:,.1f} expected calls cut a year"
            hover[node] = f"{hover[node]}; {extra}" if node in hover else extra
    nodes = list(label)
    return layered_network_figure(
        nodes, sorted(edges), layer, dict(value), label,
        layer_names=["Callers", "Originating networks", "Shared causes", "Call-handling platforms",
                     "Call-handling centres", "Control rooms"],
        value_label="expected genuine calls cut a year", value_format=",.1f", hover_of=hover,
        title=title or f"{net.scenario.label}: where outages cut calls off (risk a year)")


def running_mean_figure(values, *, x_title: str, y_title: str, points: int = 40):
    """Convergence figure: the running mean of i.i.d. per-sample values with a 95% interval."""
    import numpy as np

    from model.report import convergence_figure

    x = np.asarray(values, dtype=float)
    n = np.arange(1, x.size + 1)
    mean = np.cumsum(x) / n
    sq = np.cumsum(x * x) / n
    se = np.sqrt(np.maximum(sq - mean**2, 0) / np.maximum(n - 1, 1))
    pts = np.unique(np.geomspace(min(2, x.size), x.size, points).astype(int)) - 1
    return convergence_figure(n[pts], mean[pts], mean[pts] - 1.96 * se[pts], mean[pts] + 1.96 * se[pts],
                              x_title=x_title, y_title=y_title)
