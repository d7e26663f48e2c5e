"""Single points of failure: N-1 and N-2 screening of the UK reference network.

Which single outage (a component or a common cause) cuts off the most 999 demand,
and which pairs hide a dependency that N-1 cannot see? Writes
``single_points_of_failure.html`` (interactive layered network diagram coloured by
the share of demand each outage cuts, ranked tables) and
``single_points_of_failure.json``.

Run: ``python studies/single_points_of_failure.py [--out DIR] [--quick]``
"""

from __future__ import annotations

import sys

from model.cli.study import Study, assumption_rows, network_diagram, run_study, study_parser
from model.network.callnetwork import build_network
from model.report import Report, format_percent, ranked_bar
from model.static.contingency import n_minus_1, n_minus_2

NAME = "single_points_of_failure"

def importance_rows(net, top: int) -> tuple[list[dict], str]:
    """Exact importance measures per component and common-cause event (Birnbaum first)."""
    from model.static.importance import importance_measures

    table = importance_measures(net.compiled, "auto")
    keep = ("name", "kind", "q", "birnbaum", "criticality", "fussell_vesely", "raw", "rrw")
    rows = [{k: getattr(r, k) for k in keep} for r in table.ranked("birnbaum", top=top)]
    how = table.method + (f", {table.samples:,} trials, seed {table.seed}" if table.samples else "")
    return rows, how


def main(argv: list[str] | None = None) -> int:
    args = study_parser(NAME, __doc__.splitlines()[0]).parse_args(argv)
    study = Study(NAME, args)
    net = build_network(args.scenario)
    first = n_minus_1(net)
    second = n_minus_2(net, candidates=16 if args.quick else 40, first=first)
    spof = [r for r in first if r.share_cut > 0]
    worst = first[0]

    fig = network_diagram(net, first)
    top = first[:20]
    bar = ranked_bar([" + ".join(r.failed) for r in top], [r.share_cut for r in top],
                     title="Largest single outages (share of national genuine call demand cut)",
                     value_format=".2%")

    def row(r):
        comp = net.components.get(r.failed[0])
        return {"outage": " + ".join(r.failed),
                "kind": comp.kind.replace("_", " ") if comp and len(r.failed) == 1 else "common cause / pair",
                "share_cut": r.share_cut, "calls_per_year_rate": r.calls_per_year_cut,
                "services": ", ".join(r.services), "areas": len(r.areas)}

    if args.quick:  # exact importance takes ~30 s on uk999; the quick run is for tests
        imp_rows, imp_method = [], "not computed in --quick runs"
    else:
        imp_rows, imp_method = importance_rows(net, top=25)

    rep = Report(f"Single points of failure — {net.scenario.label}",
                 subtitle="N-1 and N-2 contingency screening of the call path (structural: is there any "
                          "working path?)")
    rep.key_number("spof_count", "Single points of failure", len(spof),
                   note="components or common causes whose outage alone cuts some demand")
    rep.key_number("worst_share", f"Largest single outage: {' + '.join(worst.failed)}", worst.share_cut,
                   fmt=format_percent, note="share of national genuine call demand cut while it lasts")
    rep.key_number("n2_pairs", "Pairs that hide a dependency", len(second),
                   note="joint outage cuts more than the two alone")
    rep.key_number("components", "Components screened", len(first))
    rep.section("The network", "Callers → originating networks → BT platforms → centres → control rooms. "
                "Colour: share of national demand cut off while that element is down; grey: never fails.")
    rep.figure(fig, height=720,
               caption="Hover for names; drag to zoom. Buddy control rooms are alternatives of each room.")
    rep.section("N-1: every single outage, ranked")
    rep.figure(bar, caption="Top 20 single outages by share of demand cut.")
    rep.table([row(r) for r in spof[:60]],
              labels={"share_cut": "share of demand cut", "calls_per_year_rate": "genuine calls/yr affected"},
              formats={"share_cut": ".3%", "calls_per_year_rate": ",.0f"},
              caption=f"{len(spof)} single points of failure (top 60 shown; all in the JSON).")
    rep.section("N-2: pairs whose joint outage cuts more than the two alone")
    rep.table([row(r) for r in second[:40]],
              labels={"share_cut": "share of demand cut", "calls_per_year_rate": "genuine calls/yr affected"},
              formats={"share_cut": ".3%", "calls_per_year_rate": ",.0f"},
              caption="Candidates: the most critical elements and members of redundancy and common-cause "
                      "groups.")
    if imp_rows:
        rep.section("Importance measures", f"Per component, for demand-weighted unreachability "
                    f"({imp_method}): Birnbaum, criticality, Fussell–Vesely, RAW, RRW.")
        rep.table(imp_rows, formats={k: ".3g" for k in ("q", "birnbaum", "criticality", "fussell_vesely",
                                                        "raw", "rrw")},
                  caption="Top 25 by Birnbaum importance.")
    rep.paragraph("Limits: this screening is structural. It ignores capacity (a backup that cannot carry the "
                  "load), failover delays and caller behaviour; the time-and-traffic studies cover those. "
                  "Shares are of genuine call demand, split by population, access type, network and service "
                  "as the scenario states.", note=True)
    rep.assumptions(assumption_rows(net))
    prov = study.provenance(net.scenario, method="structural N-1/N-2 (breadth-first search per failed set)")
    rep.provenance(prov)
    results = {
        "scenario": net.scenario.name,
        "n_minus_1": [r.to_dict() for r in first],
        "n_minus_2": [r.to_dict() for r in second],
        "single_points_of_failure": len(spof),
        "importance": imp_rows,
        "importance_method": imp_method,
        "provenance": prov,
    }
    results["compliance"] = study.compliance(rep, net)
    html_path, json_path = study.write(rep, results)
    print(f"wrote {html_path} and {json_path}")
    print(f"{len(spof)} single points of failure; worst: {' + '.join(worst.failed)} cuts "
          f"{100 * worst.share_cut:.2f}% of demand; {len(second)} N-2 pairs hide a dependency")
    return 0


if __name__ == "__main__":
    sys.exit(run_study(main))
