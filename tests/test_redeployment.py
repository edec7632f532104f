"""Tests of sim.mechanisms.redeployment (縣管校聘): hand-built counties, conservation (Hypothesis), the greedy
rule against a brute-force reference, hires dropping by the redeployed count in the cohort engine, and common
random numbers (a lever from after the horizon is off, bit-identical, in both engines)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import agents as A
from sim.cohort import prepare
from sim.ensemble import run_draws
from sim.mechanisms.redeployment import (
    acts,
    fill_largest_shortfall_first,
    redeploy_by_need,
    surplus_and_shortfall,
)
from sim.scenario import as_mapping, load_scenario, scenario_from_mapping

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL_COUNTIES = ["653131", "653227", "650522"]  # as tests/test_agents.py: small, fast
PRIMARY, JUNIOR = 0, 1


def _one(values):
    return np.asarray([values], dtype=np.float64)


# ------------------------------------------------------------------------------------------------------------
# hand-built counties (expected values derived by hand in the comments)


def test_surplus_and_shortfall_count_whole_teachers_and_posts():
    # establishment 10.4: 13 teachers → surplus floor(2.6) = 2; 9 counted → ceil(10.4) − 9 = 2 posts short
    surplus, shortfall = surplus_and_shortfall(_one([13, 9, 10]), _one([13, 9, 12]), _one([10.4, 10.4, 10.4]))
    assert surplus.tolist() == [[2, 0, 0]]
    assert shortfall.tolist() == [[0, 2, 0]]  # the third: 12 counted against the shortfall fill 11 posts


def test_surplus_goes_to_the_largest_shortfall_first():
    # one county, primary: A has 4 surplus, B is 3 short, C is 1 short
    regular = _one([14, 7, 9])
    quota = _one([10, 10, 10])
    county, level = np.zeros(3, int), np.zeros(3, int)
    full = redeploy_by_need(regular, regular, quota, county, level, 1, 1.0)
    assert full.outflow.tolist() == [[4, 0, 0]] and full.inflow.tolist() == [[0, 3, 1]]
    # half of the surplus: 2 teachers; the first to B (3 > 1), the second to B again (2 > 1)
    half = redeploy_by_need(regular, regular, quota, county, level, 1, 0.5)
    assert half.outflow.tolist() == [[2, 0, 0]] and half.inflow.tolist() == [[0, 2, 0]]
    # proportional: 2 × (3/4, 1/4) = (1.5, 0.5) → floors (1, 0), the left-over to the earlier tie → (2, 0)
    prop = redeploy_by_need(regular, regular, quota, county, level, 1, 0.5, "proportional")
    assert prop.inflow.tolist() == [[0, 2, 0]]
    # 0.3 × 4 = 1.2 → 1 teacher
    assert redeploy_by_need(regular, regular, quota, county, level, 1, 0.3).inflow.tolist() == [[0, 1, 0]]


def test_ties_go_to_the_earlier_section_and_the_pool_is_capped_by_the_shortfall():
    # A 6 surplus; B and C 2 short each; 3 released: B, C, B (equal shortfalls: the earlier first)
    regular = _one([16, 8, 8])
    quota = _one([10, 10, 10])
    zeros = np.zeros(3, int)
    flows = redeploy_by_need(regular, regular, quota, zeros, zeros, 1, 0.5)
    assert flows.inflow.tolist() == [[0, 2, 1]] and flows.outflow.tolist() == [[3, 0, 0]]
    # all 6 released, only 4 posts: 4 move, 2 stay surplus where they are
    flows = redeploy_by_need(regular, regular, quota, zeros, zeros, 1, 1.0)
    assert flows.inflow.tolist() == [[0, 2, 2]] and flows.outflow.tolist() == [[4, 0, 0]]


def test_no_move_across_counties_or_levels():
    # county 0: a primary surplus of 5 and a junior shortfall of 5; county 1: a primary shortfall of 5
    regular = _one([15, 5, 5])
    quota = _one([10, 10, 10])
    county = np.array([0, 0, 1])
    level = np.array([PRIMARY, JUNIOR, PRIMARY])
    flows = redeploy_by_need(regular, regular, quota, county, level, 2, 1.0)
    assert not flows.outflow.any() and not flows.inflow.any()


def test_surplus_splits_between_releasing_sections_by_their_surplus():
    # A 3 surplus, B 1 surplus, C 2 short: 2 leave, in proportion 3 : 1 → (1.5, 0.5) → (2, 0)
    regular = _one([13, 11, 8])
    quota = _one([10, 10, 10])
    zeros = np.zeros(3, int)
    flows = redeploy_by_need(regular, regular, quota, zeros, zeros, 1, 1.0)
    assert flows.outflow.tolist() == [[2, 0, 0]] and flows.inflow.tolist() == [[0, 0, 2]]


def test_teachers_counted_apart_from_the_regular_reduce_the_shortfall_not_the_surplus():
    """The mechanism's ``staffing`` argument, apart from ``regular``: the engines pass the holders of the posts for
    both (dispatched teachers hold none, ``sim.steps.vacant_posts``), other callers may count more."""
    regular = _one([14, 7])
    counted = _one([14, 9])  # two more teachers counted in B
    quota = _one([10, 10])
    zeros = np.zeros(2, int)
    flows = redeploy_by_need(regular, counted, quota, zeros, zeros, 1, 1.0)
    assert flows.inflow.tolist() == [[0, 1]]


def test_bad_share_and_placement_are_refused():
    one = _one([1.0])
    with pytest.raises(ValueError, match="release_share"):
        redeploy_by_need(one, one, one, [0], [0], 1, 1.5)
    with pytest.raises(ValueError, match="placement"):
        redeploy_by_need(one, one, one, [0], [0], 1, 0.5, "random")
    with pytest.raises(ValueError, match="more teachers"):
        fill_largest_shortfall_first(np.array([[3]]), np.array([[1, 1]]), np.array([0, 0]), 1)


def test_acts_only_when_enabled_and_from_its_year():
    assert acts(True, 2025, 2025) and not acts(True, 2025, 2024) and not acts(False, 2025, 2030)


# ------------------------------------------------------------------------------------------------------------
# properties


def _greedy(total: int, shortfall: list[int]) -> list[int]:
    """Reference: give teachers one at a time to the largest remaining shortfall (earliest section on ties)."""
    left = list(shortfall)
    out = [0] * len(left)
    for _ in range(total):
        i = max(range(len(left)), key=lambda j: (left[j], -j))
        out[i] += 1
        left[i] -= 1
    return out


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(1, 8))
def test_water_filling_equals_the_one_at_a_time_greedy_rule(data, n_sections):
    shortfall = data.draw(st.lists(st.integers(0, 12), min_size=n_sections, max_size=n_sections))
    group = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=n_sections, max_size=n_sections)))
    capacity = [int(np.asarray(shortfall)[group == k].sum()) for k in range(3)]
    totals = [data.draw(st.integers(0, capacity[k])) for k in range(3)]
    got = fill_largest_shortfall_first(np.array([totals]), np.array([shortfall]), group, 3)[0]
    for k in range(3):
        idx = np.flatnonzero(group == k)
        expected = _greedy(totals[k], [shortfall[i] for i in idx])
        assert got[idx].tolist() == expected


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(1, 10), st.integers(1, 3), st.floats(0.0, 1.0),
       st.sampled_from(["largest_shortfall", "proportional"]))
def test_redeployment_conserves_teachers_per_county_and_level(data, n_sections, n_draws, share, placement):
    ints = st.integers(0, 40)
    regular = np.array([data.draw(st.lists(ints, min_size=n_sections, max_size=n_sections)) for _ in range(n_draws)])
    extra = np.array([data.draw(st.lists(st.integers(0, 3), min_size=n_sections, max_size=n_sections))
                      for _ in range(n_draws)])
    quota = np.array([data.draw(st.lists(st.floats(0.0, 40.0), min_size=n_sections, max_size=n_sections))
                      for _ in range(n_draws)])
    county = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=n_sections, max_size=n_sections)))
    level = np.asarray(data.draw(st.lists(st.integers(0, 1), min_size=n_sections, max_size=n_sections)))
    flows = redeploy_by_need(regular, regular + extra, quota, county, level, 3, share, placement)
    surplus, shortfall = surplus_and_shortfall(regular, regular + extra, quota)
    assert (flows.outflow >= 0).all() and (flows.inflow >= 0).all()
    assert (flows.outflow <= surplus).all() and (flows.inflow <= shortfall).all()
    after = regular - flows.outflow + flows.inflow
    assert (after >= 0).all()
    group = county * 2 + level
    for g in range(6):
        cols = group == g
        np.testing.assert_array_equal(after[:, cols].sum(axis=1), regular[:, cols].sum(axis=1))  # conserved
        moved = flows.inflow[:, cols].sum(axis=1)
        pool = np.floor(share * surplus[:, cols].sum(axis=1) + 1e-9)
        np.testing.assert_array_equal(moved, np.minimum(pool, shortfall[:, cols].sum(axis=1)))
    # what recruitment then sees: each redeployed teacher fills one vacancy
    _, left = surplus_and_shortfall(after, after + extra, quota)
    np.testing.assert_array_equal(left, shortfall - flows.inflow)


# ------------------------------------------------------------------------------------------------------------
# the engines


def _scenario(redeployment: dict, **levers: dict) -> dict:
    """The baseline on three small counties to 2027 with the redeployment lever (and other lever groups) set."""
    data = as_mapping(load_scenario(SCENARIOS / "baseline.yaml"))
    data.update(draws=4, chunk_size=64, horizon=2027)
    data["baseline"]["counties"] = SMALL_COUNTIES
    data["levers"]["redeployment"] = redeployment
    for group, values in levers.items():
        data["levers"][group].update(values)
    return data


def test_hires_drop_by_the_redeployed_count_in_the_cohort_engine():
    """In 2025, the first year the lever acts, both runs share their state up to the redeployment step (the quota
    step's own redeployment is set to 0 so that the run without 縣管校聘 does not move anyone either); with every
    vacancy filled (fill rate 1, no remote penalty, no special-post, targeted or retraining channel) each
    redeployed teacher is one hire fewer, county by county and draw by draw."""
    runs = {}
    for key, enabled in (("on", True), ("off", False)):
        data = _scenario({"enabled": enabled, "from_year": 2025},
                         quota={"redeploy_surplus_share": 0.0},
                         recruitment={"special_post_per_year": 0, "targeted_graduates_per_year": 0,
                                      "junior_retraining_per_year": 0})
        data["uncertainties"] = {"recruitment.fill_rate": {"dist": "fixed", "value": 1.0},
                                 "recruitment.remote_fill_penalty": {"dist": "fixed", "value": 0.0},
                                 "redeployment.surplus_release_share": {"dist": "fixed", "value": 1.0}}
        runs[key] = run_draws(prepare(scenario_from_mapping(data, base_dir=SCENARIOS)), 0, 64)
    y = 2025 - 2020
    on, off = runs["on"], runs["off"]
    assert on["redeployed"][:, y].sum() > 0  # the lever does something in these counties
    assert not off["redeployed"].any()
    np.testing.assert_array_equal(off["hires"][:, y] - on["hires"][:, y], on["redeployed"][:, y])
    np.testing.assert_array_equal(off["teachers"][:, :y], on["teachers"][:, :y])
    np.testing.assert_array_equal(on["teachers"][:, y] + on["redeployed"][:, y], off["teachers"][:, y])


def test_redeployment_acts_in_both_engines_and_from_after_the_horizon_is_off_bit_identical():
    """Common random numbers: enabled from 2030 (after the 2027 horizon) equals enabled: false, bit for bit, in
    both engines; from 2025 it moves teachers in both."""
    runs = {}
    for key, lever in (("off", {"enabled": False}), ("late", {"enabled": True, "from_year": 2030}),
                       ("on", {"enabled": True, "from_year": 2025})):
        model = prepare(scenario_from_mapping(_scenario(lever), base_dir=SCENARIOS))
        runs[key] = (A.run_draws_agents(model, 0, 4), run_draws(model, 0, 64))
    for engine in (0, 1):
        for name in runs["off"][engine]:
            np.testing.assert_array_equal(runs["off"][engine][name], runs["late"][engine][name])
        assert runs["on"][engine]["redeployed"].sum() > 0
        assert not runs["off"][engine]["redeployed"].any()
    # the agent engine moves agents: its teacher stock is conserved by the move (accounting holds)
    stock, hires, exits = (runs["on"][0][k] for k in ("teachers", "hires", "exits"))
    np.testing.assert_array_equal(stock[:, 1:], stock[:, :-1] + hires[:, 1:] - exits[:, 1:])
