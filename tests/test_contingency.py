"""N-1 and N-2 on the hand-built network equal the values worked out by hand.

tiny.toml: north has 60 % of calls and south 40 %; network A carries 70 % and B 30 %;
police asks for 75 % of calls and fire 25 %. Police rooms buddy each other; the fire
room has no buddy. So, by hand:
  net_a down          -> 0.70 of demand        net_b down -> 0.30
  north's access to A -> 0.6 * 0.7 = 0.42      fire room  -> 0.25
  one police room     -> 0 (its buddy answers) both      -> 0.75
  one platform        -> 0 (the other serves)  both      -> 1.00
"""

from __future__ import annotations

import pytest

from model.network.callnetwork import build_network
from model.static.contingency import n_minus_1, n_minus_2, single_points_of_failure, what_if


@pytest.fixture
def tiny(tiny_path):
    return build_network(tiny_path)


@pytest.mark.parametrize(
    ("failed", "share"),
    [
        (["net_a"], 0.70),
        (["net_b"], 0.30),
        (["access:north:mobile:net_a"], 0.42),
        (["access:south:mobile:net_b"], 0.4 * 0.3),
        (["fire_all"], 0.25),
        (["police_north"], 0.0),
        (["police_north", "police_south"], 0.75),
        (["primary"], 0.0),
        (["primary", "dr"], 1.0),
        (["c1", "c2"], 1.0),
        (["net_a", "fire_all"], 0.7 + 0.25 * 0.3),
        (["failover:platforms"], 1.0),
    ],
)
def test_what_if_matches_hand_values(tiny, failed, share):
    assert what_if(tiny, failed).share_cut == pytest.approx(share, abs=1e-12)


def test_n_minus_1_is_ranked_and_complete(tiny):
    rows = n_minus_1(tiny)
    assert len(rows) == len(tiny.components) + len(tiny.common_cause_events)
    shares = [r.share_cut for r in rows]
    assert shares == sorted(shares, reverse=True)
    by_name = {r.failed[0]: r for r in rows}
    assert by_name["net_a"].calls_per_year_cut == pytest.approx(0.7 * 500)
    assert by_name["fire_all"].services == ("fire",)
    assert by_name["c1"].share_cut == 0.0


def test_single_points_of_failure(tiny):
    names = [r["component"] for r in single_points_of_failure(tiny)]
    assert names[0] == "failover:platforms"
    assert "c1" not in names and "police_north" not in names
    assert set(names) >= {"net_a", "net_b", "fire_all"}


def test_n_minus_2_finds_hidden_dependencies(tiny):
    pairs = {r.failed: r.share_cut for r in n_minus_2(tiny)}
    key = next(k for k in pairs if set(k) == {"primary", "dr"})
    assert pairs[key] == pytest.approx(1.0)
    key = next(k for k in pairs if set(k) == {"police_north", "police_south"})
    assert pairs[key] == pytest.approx(0.75)
    # pairs whose joint loss is just the sum of single losses are not listed
    assert not any(set(k) == {"net_a", "fire_all"} for k in pairs)


def test_unknown_component_is_named(tiny):
    with pytest.raises(KeyError, match="nope"):
        what_if(tiny, ["nope"])
