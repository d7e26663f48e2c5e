"""What a reviewer meets at the command line: names to use, honest what-ifs, paired comparisons, full help."""

from __future__ import annotations

import argparse
import json

import pytest

from model.cli.main import build_parser


def test_components_lists_every_name_whatif_accepts(run_cli, tiny_path):
    code, out, _ = run_cli("components", tiny_path, "--json")
    rows = json.loads(out)
    names = {r["name"] for r in rows}
    assert code == 0 and {"net_a", "net_b", "primary", "dr", "c1", "c2"} <= names
    assert all(r["label"] and r["kind"] and 0.0 <= r["q"] <= 1.0 for r in rows)
    for name in sorted(names)[:5]:  # every listed name is accepted by whatif
        assert run_cli("whatif", tiny_path, name)[0] == 0
    code, out, _ = run_cli("components", tiny_path, "--kind", "platform")
    assert code == 0 and "call-handling platform" in out and "net_a" not in out


def test_whatif_suggests_close_names_and_says_it_is_structural(run_cli, tiny_path):
    code, _, err = run_cli("whatif", tiny_path, "primry")
    assert code == 2 and "did you mean 'primary'" in err and "nines components" in err
    code, out, _ = run_cli("whatif", tiny_path, "net_a")
    assert code == 0 and "structural check only" in out
    assert " 1 areas" not in out


def test_every_option_has_help_and_shows_its_default():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {a.dest}" for name, p in sub.choices.items() for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert not missing, missing
    text = sub.choices["simulate"].format_help()
    assert "(default: 1000)" in text and "(default: 0)" in text


def test_validate_warns_when_an_overlay_keeps_a_stale_source(run_cli, tmp_path, tiny_path):
    f = tmp_path / "mine.toml"
    f.write_text(f'extends = "{tiny_path}"\nname = "mine"\n[traffic]\nannual_calls = 2000.0\n')
    code, out, err = run_cli("validate", f)
    assert code == 0 and "OK mine" in out
    assert "traffic.annual_calls = 2000.0 replaces 1000.0" in err and "give a new source" in err
    f.write_text(f'extends = "{tiny_path}"\nname = "mine"\n[traffic]\nannual_calls = 2000.0\n'
                 'source = "assumption: doubled for a test"\n')
    code, _, err = run_cli("validate", f)
    assert code == 0 and "warning" not in err


def test_bundled_strategies_cite_a_source_for_every_value_they_change():
    from model.scenario.loader import load_scenario
    from model.scenario.strategies import STRATEGY_DIR

    stale = [w for p in sorted(STRATEGY_DIR.glob("*.toml")) for w in load_scenario(p).warnings]
    assert not stale, stale


@pytest.mark.slow
def test_compare_pairs_a_users_own_overlay_with_the_base(run_cli, tmp_path, tiny_path):
    f = tmp_path / "no_net_b.toml"  # a what-if without a [strategy] table
    f.write_text(f'extends = "{tiny_path}"\nname = "safer_b"\ntitle = "Network B twice as reliable"\n'
                 '[originating_networks.net_b]\n'
                 'failure = { unavailability = 0.01, source = "assumption: what-if" }\n')
    code, out, err = run_cli("compare", tiny_path, f, "--years", "200", "--json")
    assert code == 0, err
    d = json.loads(out)
    (row,) = d["strategies"]
    a = row["failed_calls_avoided_per_year"]
    assert row["label"] == "Network B twice as reliable" and a["years"] == 200
    assert a["ci_low"] <= a["mean"] <= a["ci_high"]
    assert a["ci_high"] - a["ci_low"] <= a["independent_ci_high"] - a["independent_ci_low"]
    code, out, _ = run_cli("compare", tiny_path, f, "--years", "200")
    assert code == 0 and "paired 95% CI" in out and "Network B twice as reliable" in out


def test_simulate_text_shows_what_the_readme_promises(run_cli, tiny_path):
    code, out, _ = run_cli("simulate", tiny_path, "--years", "200", "--quiet")
    assert code == 0
    for phrase in ("unreachable-call rate", "failed genuine calls a year", "callers never connected",
                   "time to connect", "largest incidents"):
        assert phrase in out, phrase
