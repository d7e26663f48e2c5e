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

    The output directory is created and checked for writing when the study starts (a bad
    ``--out`` is reported before any computation). :meth:`write` gives both files the same run
    id (``run_id`` in the JSON, ``<meta name="nines-run-id">`` in the HTML) and then writes
    ``<name>.manifest.json`` naming the run id and the SHA-256 of both; :func:`verify_outputs`
    accepts the pair only when all three agree, so a run killed between the two writes can
    never pass off one run's report with another run's data.
    """

    def __init__(self, name: str, args: argparse.Namespace):
        self.name = name
        self.args = args
        self.started = time.perf_counter()
        self.run_id = uuid.uuid4().hex
        check_out_dir(Path(args.out))

    def provenance(self, scenario=None, **extra: Any) -> dict[str, Any]:
        info: dict[str, Any] = {"study": self.name, "seed": self.args.seed, "quick": bool(self.args.quick)}
        if scenario is not None:
            info.update(scenario=scenario.name, scenario_files=list(scenario.files),
                        scenario_sha256=scenario.digest)
        info.update(extra)
        info["runtime_seconds"] = round(time.perf_counter() - self.started, 3)
        return provenance(**info)

    def compliance(self, report, scenario) -> dict[str, Any]:
        """Add the compliance section (:func:`model.report.compliance_section`) to ``report``.

        Runs :func:`model.metrics.compliance.check_compliance` on ``scenario`` (2,000 simulated
        years with ``--quick``, 20,000 otherwise, the study's seed) and returns its JSON form
        for the study's results.
        """
        from model.metrics.compliance import check_compliance
        from model.report import compliance_section

        check = check_compliance(scenario, years=2_000 if self.args.quick else 20_000, seed=self.args.seed)
        compliance_section(report, check)
        return check.to_dict()

    def write(self, report, results: dict[str, Any]) -> tuple[Path, Path]:
        out = Path(self.args.out)
        check_out_dir(out, create=True)
        json_text = json.dumps(jsonable({"run_id": self.run_id, **results}), indent=2, allow_nan=False) + "\n"
        html_text = report.to_html().replace(
            _GENERATOR, f'{_GENERATOR}<meta name="nines-run-id" content="{self.run_id}">\n', 1)
        json_path = write_atomic(out / f"{self.name}.json", json_text)
        html_path = write_atomic(out / f"{self.name}.html", html_text)
        manifest = {"run_id": self.run_id, "study": self.name,
                    "files": {p.name: hashlib.sha256(t.encode()).hexdigest()
                              for p, t in ((html_path, html_text), (json_path, json_text))}}
        write_atomic(out / f"{self.name}.manifest.json", json.dumps(manifest, indent=2) + "\n")
        return html_path, json_path


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
    """Interactive layered diagram of a call network, nodes coloured by the share of
    national demand their own outage cuts (N-1; computed when ``first`` is not given)."""
    from model.network.callnetwork import LAYERS
    from model.report import layered_network_figure
    from model.static.contingency import n_minus_1

    first = first if first is not None else n_minus_1(net)
    share = {r.failed[0]: r.share_cut for r in first}
    g = net.graph
    value = {n: share.get(g.nodes[n].get("component") or "", None) for n in g.nodes}
    hover = {}
    for n, data in g.nodes(data=True):
        extra = f"<br>{data['annual_calls']:,.0f} calls/yr" if data["kind"] == "caller_group" else ""
        hover[n] = f"{data['label']} ({data['kind'].replace('_', ' ')}){extra}"
    return layered_network_figure(
        list(g.nodes), list(g.edges), {n: LAYERS[d["kind"]] for n, d in g.nodes(data=True)}, value,
        {n: d["label"] for n, d in g.nodes(data=True)}, layer_names=LAYER_NAMES,
        value_label="share of demand cut by its outage", value_format=".2%", hover_of=hover,
        title=title or f"{net.scenario.label}: where a single outage cuts calls off")


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
