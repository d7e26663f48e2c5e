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
from model.static.contingency import component_table, n_minus_1, n_minus_2

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
    names = {c["name"]: c for c in component_table(net)}

    def label(r) -> str:
        return " + ".join(names[n]["label"] if n in names else n for n in r.failed)

    def risk(r) -> float:
        """Expected genuine calls cut a year: unavailability (frequency x duration) x calls a year cut."""
        return names[r.failed[0]]["q"] * r.calls_per_year_cut if len(r.failed) == 1 else 0.0

    by_risk = sorted(spof, key=lambda r: (-risk(r), r.failed))
    worst = first[0]
    riskiest = by_risk[0] if by_risk else worst

    fig = network_diagram(net, first)
    top = by_risk[:20]
    bar = ranked_bar([label(r) for r in top], [risk(r) for r in top],
                     title="Single points of failure by risk: expected genuine calls cut off a year",
                     x_title="expected genuine calls cut off a year (unavailability × calls while down)",
                     value_format=",.1f", sort=False)
    share_bar = ranked_bar([label(r) for r in first[:20]], [r.share_cut for r in first[:20]],
                           title="Impact while down: share of national genuine call demand cut",
                           value_format=".1%")
    vary_services = len({r.services for r in spof}) > 1

    def row(r):
        comp = net.components.get(r.failed[0])
        kind = names[r.failed[0]]["kind"] if len(r.failed) == 1 and r.failed[0] in names else "pair"
        out = {"outage": label(r), "kind": kind,
               "expected_calls_cut_per_year": risk(r) if comp is not None or len(r.failed) == 1 else None,
               "share_cut": r.share_cut, "calls_per_year_rate": r.calls_per_year_cut,
               "areas": len(r.areas)}
        if vary_services:
            out["services"] = ", ".join(r.services)
        return out

    if args.quick:  # exact importance takes ~30 s on uk999; the quick run is for tests
        imp_rows, imp_method = [], "not computed in --quick runs"
    else:
        imp_rows, imp_method = importance_rows(net, top=25)

    rep = Report(f"Single points of failure — {net.scenario.label}",
                 subtitle="N-1 and N-2 contingency screening of the call path (structural: is there any "
                          "working path?)")
    rep.key_number("spof_count", "Single points of failure", len(spof),
                   note="components or common causes whose outage alone cuts some demand")
    rep.key_number("worst_risk", f"Largest risk: {label(riskiest)}", risk(riskiest), unit="calls a year",
                   note="expected genuine calls cut off a year by this single outage (structural)")
    rep.key_number("worst_share", f"Largest impact while down: {label(worst)}", worst.share_cut,
                   fmt=format_percent, note="share of national genuine call demand cut while it lasts")
    rep.key_number("n2_pairs", "Pairs that hide a dependency", len(second),
                   note="joint outage cuts more than the two alone")
    rep.key_number("components", "Components screened", len(first))
    rep.section("The network", "Callers → originating networks → shared causes → BT platforms → "
                "centres → control rooms (grouped by service). Colour: risk, the expected genuine calls a "
                "year cut off by that element's own outages; grey: never fails or cuts nothing alone.")
    rep.figure(fig, height=720,
               caption="Hover for names; drag to zoom. Buddy control rooms are alternatives of each room.")
    rep.section("N-1: every single outage, ranked by risk")
    rep.figure(bar, caption="Top 20 single points of failure by expected genuine calls cut off a year: "
               "the share of the year the element is down (its steady-state unavailability) times the "
               "genuine calls a year that have no working path while it is down.")
    rep.figure(share_bar, caption="The largest outages by their impact while they last (share of national "
               "genuine call demand cut): a rare outage can cut much and still be a small risk.")
    labels = {"share_cut": "impact while down (share of demand cut)",
              "calls_per_year_rate": "genuine calls a year at the rate while down",
              "expected_calls_cut_per_year": "risk: expected genuine calls cut a year"}
    formats = {"share_cut": ".3%", "calls_per_year_rate": ",.0f", "expected_calls_cut_per_year": ",.2f"}
    rep.table([row(r) for r in by_risk[:60]], labels=labels, formats=formats,
              caption=f"{len(spof)} single points of failure ranked by risk (top 60 shown; all in the JSON).")
    rooms = [r for r in first if len(r.failed) == 1 and r.failed[0] in net.scenario.spec.control_rooms]
    by_service: dict[str, list] = {}
    for r in rooms:
        by_service.setdefault(net.scenario.spec.control_rooms[r.failed[0]].service, []).append(r)
    for service, rs in sorted(by_service.items()):
        sv = net.scenario.spec.services.get(service)
        rs.sort(key=lambda r: (-risk(r), r.failed))
        rep.table([{"control room": label(r), "risk": risk(r), "share_cut": r.share_cut,
                    "calls_per_year_rate": r.calls_per_year_cut, "areas": len(r.areas)} for r in rs],
                  labels={"risk": "risk: expected genuine calls cut a year", **labels},
                  formats={"risk": ",.2f", "share_cut": ".3%", "calls_per_year_rate": ",.0f"},
                  collapsed=f"{sv.label if sv else service} control rooms: {len(rs)} rooms, "
                            f"{sum(risk(r) for r in rs):,.1f} expected calls cut a year in all "
                            "(open for each room)",
                  caption=f"{sv.label if sv else service} control rooms ranked by risk (a room's own outage; "
                          "its buddies take its calls where it has them).")
    rep.section("N-2: pairs whose joint outage cuts more than the two alone")
    rep.table([{k: v for k, v in row(r).items() if k != "expected_calls_cut_per_year"} for r in second[:40]],
              labels=labels, formats={k: v for k, v in formats.items() if k != "expected_calls_cut_per_year"},
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
        "n_minus_1": [r.to_dict() | {"label": label(r), "expected_calls_cut_per_year": risk(r)}
                      for r in first],
        "n_minus_2": [r.to_dict() for r in second],
        "single_points_of_failure": len(spof),
        "importance": imp_rows,
        "importance_method": imp_method,
        "provenance": prov,
    }
    results["compliance"] = study.compliance(rep, net)
    html_path, json_path = study.write(rep, results)
    print(f"wrote {html_path} and {json_path}")
    print(f"{len(spof)} single points of failure; largest risk: {label(riskiest)} "
          f"({risk(riskiest):,.1f} genuine calls cut a year); largest impact while down: {label(worst)} "
          f"({100 * worst.share_cut:.2f}% of demand); {len(second)} N-2 pairs hide a dependency")
    return 0


if __name__ == "__main__":
    sys.exit(run_study(main))
