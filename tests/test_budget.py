"""The recurrent budget rule (sim/mechanisms/budget.py, levers.funding.recurrent_cny): hand-derived plans on a
constructed planning base, the scenario key's errors, and both engines under a budget of 0 and of exactly the
requested spend."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import InputErrors
from sim.mechanisms.budget import BUDGETED, PlanningBase, budget_scale, plan_budget
from sim.model import lever_at
from sim.scenario import load_scenario, replace
from sim.unitcosts import planning_prices

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
YEARS = np.arange(2024, 2028)

# Planning prices by hand from calibration/data/unit_costs.csv (midpoint of each uniform range):
DISPATCH = (24_000 + 60_000) / 2 + (3_000 + 8_000) / 2 + (6_000 + 18_000) / 2  # stipend + travel + housing = 59,500
ROTATION = (2_400 + 12_000) / 2  # 7,200 per rotated teacher-year
SPECIAL_POST = (18_960 + 60_000) / 2  # 39,480 per teacher-year of contract
TARGETED = (32_000 + 60_000) / 2  # 46,000 per graduate
GIGABIT = (50_000 + 300_000) / 2  # 175,000 per school connected

# Everything off but dispatch (100 a year, 1-year terms) and gigabit (10 schools a year), from 2025 (the plan)
ONLY_TWO = {"start_year": 2024, "levers.rotation.share": 0.0, "levers.retention.rural_subsidy_cny_month": 0.0,
            "levers.recruitment.special_post_per_year": 0, "levers.recruitment.targeted_graduates_per_year": 0,
            "levers.recruitment.junior_retraining_per_year": 0, "levers.development.qualification_upgrade_share": 0.0,
            "levers.development.backbone_cultivation_share": 0.0, "levers.pairing.coverage_by_year": {2020: 0.0},
            "levers.counselling.rooms_per_year": 0, "levers.special_education.schools_per_year": 0,
            "levers.special_education.resource_rooms_per_year": 0, "levers.dispatch.per_year": 100,
            "levers.dispatch.from_year": 2020, "levers.recruitment.from_year": 2020,
            "levers.rotation.from_year": 2020, "levers.retention.from_year": 2020,
            "levers.digital.gigabit_schools_per_year": 10}
BASE = PlanningBase(teachers=1_000.0, rural_teachers=400.0, rural_sections=20.0)
REQUESTED = 100 * DISPATCH + 10 * GIGABIT  # 5,950,000 + 1,750,000 = 7,700,000 CNY a year


def _plan(changes: dict, base: PlanningBase = BASE):
    scenario = replace(load_scenario(SCENARIOS / "baseline.yaml"), {**ONLY_TWO, **changes})
    return plan_budget(YEARS, lambda group, year: lever_at(scenario, group, year), base, planning_prices())


def test_planning_prices_are_the_midpoints_of_the_table() -> None:
    prices = planning_prices()
    assert sum(v for (p, _), v in prices.items() if p == "dispatch") == DISPATCH == 59_500.0
    assert prices[("rotation", "subsidy")] == ROTATION
    assert prices[("special_post", "central wage subsidy")] == SPECIAL_POST
    assert prices[("gigabit", "connection")] == GIGABIT


def test_no_recurrent_budget_no_plan() -> None:
    assert _plan({}) is None


def test_a_budget_equal_to_the_request_changes_nothing() -> None:
    plan = _plan({"levers.funding.recurrent_cny": REQUESTED})
    assert plan is not None
    assert plan.requested_cny.tolist() == [REQUESTED] * 4
    assert plan.scale.tolist() == [1.0] * 4 and plan.allowed_cny.tolist() == [REQUESTED] * 4
    assert plan.levers == ({}, {}, {}, {})  # the scenario's own levers: the engines run bit-identical
    assert np.isnan(plan.budget_cny[0])  # 2024: before funding.from_year (2025) no limit


def test_a_budget_of_half_halves_the_new_quantities() -> None:
    # no commitments (1-year terms, nothing paired): scale = (7.7 M / 2) / 7.7 M = 0.5; dispatch floor(100 × 0.5) = 50
    # teachers, gigabit floor(10 × 0.5) = 5 schools → 50 × 59,500 + 5 × 175,000 = 2,975,000 + 875,000 = 3,850,000
    plan = _plan({"levers.funding.recurrent_cny": REQUESTED / 2})
    assert plan is not None
    assert plan.scale.tolist() == [1.0, 0.5, 0.5, 0.5]
    assert plan.allowed_cny[1:].tolist() == [3_850_000.0] * 3
    lever = plan.lever("dispatch", 2026, None)
    assert lever.per_year == 50 and lever.term_years == 1 and lever.south_share == 0.6  # only the quantity scales
    assert plan.lever("digital", 2026, None).gigabit_schools_per_year == 5
    assert plan.lever("dispatch", 2024, "unchanged") == "unchanged"


def test_counts_are_rounded_down_and_the_rest_lapses() -> None:
    # a third: scale 1/3; floor(33.3) = 33 teachers, floor(3.3) = 3 schools: 33 × 59,500 + 3 × 175,000 = 2,488,500
    plan = _plan({"levers.funding.recurrent_cny": REQUESTED / 3})
    assert plan is not None
    assert plan.lever("dispatch", 2025, None).per_year == 33
    assert plan.allowed_cny[1] == pytest.approx(2_488_500.0, abs=1e-6) and plan.allowed_cny[1] <= REQUESTED / 3


def test_a_budget_of_zero_delivers_no_new_quantity() -> None:
    plan = _plan({"levers.funding.recurrent_cny": 0, "levers.rotation.share": 0.1,
                  "levers.retention.rural_subsidy_cny_month": 500.0,
                  "levers.development.qualification_upgrade_share": 0.05,
                  "levers.pairing.coverage_by_year": {2024: 0.5}})
    assert plan is not None
    assert plan.scale[1:].tolist() == [0.0] * 3
    assert plan.lever("dispatch", 2025, None).per_year == 0
    assert plan.lever("rotation", 2025, None).share == 0.0
    assert plan.lever("retention", 2025, None).rural_subsidy_cny_month == 0.0
    assert plan.lever("development", 2025, None).qualification_upgrade_share == 0.0
    assert plan.lever("digital", 2025, None).gigabit_schools_per_year == 0
    # the pairs made in 2024 (0.5 × 20 rural sections = 10) stay paired and are paid (commitments), no new ones
    assert plan.lever("pairing", 2026, None).coverage_in(2026) == 0.5
    assert plan.committed_cny[1] == 10 * (10_000 + 50_000) / 2
    assert plan.allowed_cny[1] == plan.committed_cny[1]


def test_commitments_are_paid_first_and_only_new_quantities_scale() -> None:
    # special-post teachers only: 100 a year from 2024 on 3-year contracts at 39,480 a teacher-year (3,948,000 for
    # 100). 2025: 2024's 100 are committed (3,948,000); the new 100 request 3,948,000; a budget of 5,922,000 leaves
    # 1,974,000 for them → scale 0.5, 50 hired. 2026: 2024's 100 and 2025's 50 are committed (5,922,000); a budget of
    # 7,896,000 leaves 1,974,000 → scale 0.5 again. 2027: 2025's 50 and 2026's 50 committed (3,948,000), the new 100
    # (3,948,000) fit the 7,896,000 of 2026 (step function) → scale 1.
    changes = {"levers.dispatch.per_year": 0, "levers.digital.gigabit_schools_per_year": 0,
               "levers.recruitment.special_post_per_year": 100,
               "levers.funding.recurrent_cny": {2025: 5_922_000, 2026: 7_896_000}}
    plan = _plan(changes)
    assert plan is not None
    assert plan.committed_cny.tolist() == [0.0, 3_948_000.0, 5_922_000.0, 3_948_000.0]
    assert plan.scale.tolist() == [1.0, 0.5, 0.5, 1.0]
    assert plan.lever("recruitment", 2025, None).special_post_per_year == 50
    assert plan.lever("recruitment", 2026, None).special_post_per_year == 50


def test_the_request_adds_up_over_programmes_and_years() -> None:
    # each lever alone, then all together: the requested spend of the year is the sum of each alone
    off = {"levers.dispatch.per_year": 0, "levers.digital.gigabit_schools_per_year": 0}
    alone = {"dispatch": {**off, "levers.dispatch.per_year": 100},
             "gigabit": {**off, "levers.digital.gigabit_schools_per_year": 10},
             "targeted": {**off, "levers.recruitment.targeted_graduates_per_year": 20}}
    plans = {k: _plan({**v, "levers.funding.recurrent_cny": 1e12}) for k, v in alone.items()}
    together = _plan({"levers.recruitment.targeted_graduates_per_year": 20, "levers.funding.recurrent_cny": 1e12})
    assert plans["dispatch"].requested_cny[1] == 100 * DISPATCH
    assert plans["gigabit"].requested_cny[1] == 10 * GIGABIT
    assert plans["targeted"].requested_cny[1] == 20 * TARGETED
    total = sum(p.requested_cny for p in plans.values())
    assert together.requested_cny == pytest.approx(total, rel=1e-12)
    assert together.requested_cny.sum() == pytest.approx(4 * (REQUESTED + 20 * TARGETED), rel=1e-12)


def test_rotation_terms_are_committed_over_their_years() -> None:
    # 10% of 1,000 teachers rotate from 2024 for 2-year terms: 100 × 7,200 = 720,000 new a year, and from 2025 the
    # previous year's 720,000 committed
    plan = _plan({"levers.dispatch.per_year": 0, "levers.digital.gigabit_schools_per_year": 0,
                  "levers.rotation.share": 0.1, "levers.rotation.term_years": 2, "levers.funding.recurrent_cny": 1e12})
    assert plan.committed_cny.tolist() == pytest.approx([0.0, 720_000.0, 720_000.0, 720_000.0])
    assert plan.requested_cny.tolist() == pytest.approx([720_000.0, 1_440_000.0, 1_440_000.0, 1_440_000.0])


def test_a_selection_gets_its_pupil_share_of_the_budget() -> None:
    # 40% of the pupils: dispatch 100 × 0.4 = 40 teachers, gigabit (schools share 1) 10 → 40 × 59,500 + 1,750,000
    base = PlanningBase(teachers=1_000.0, rural_teachers=400.0, rural_sections=20.0, pupils_share=0.4)
    plan = _plan({"levers.funding.recurrent_cny": 1e7}, base)
    assert plan.budget_cny[1] == 4e6 and plan.requested_cny[1] == 40 * DISPATCH + 10 * GIGABIT


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 2e7), st.floats(0, 1e7), st.floats(0, 1e7))
def test_the_rule_never_spends_more_than_the_budget(budget: float, committed: float, new: float) -> None:
    scale = budget_scale(budget, committed, new)
    assert 0.0 <= scale <= 1.0
    assert committed + scale * new <= max(budget, committed) * (1 + 1e-12) + 1e-9
    if budget >= committed + new:
        assert scale == 1.0


@pytest.mark.parametrize("share", [0.0, 0.1, 0.37, 0.5, 0.99])
def test_plan_allowed_never_exceeds_the_budget(share: float) -> None:
    plan = _plan({"levers.funding.recurrent_cny": REQUESTED * share, "levers.rotation.share": 0.07,
                  "levers.retention.rural_subsidy_cny_month": 300.0})
    assert plan is not None
    assert (plan.allowed_cny[1:] <= plan.budget_cny[1:] * (1 + 1e-12)).all()
    assert (plan.allowed_cny <= plan.requested_cny).all()


def test_budgeted_programmes_are_costed_programmes() -> None:
    from sim.costs import PROGRAMMES

    assert set(BUDGETED) <= set(PROGRAMMES) and "capital" not in BUDGETED and "classrooms" not in BUDGETED


# --- the scenario key ----------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_negative_budget_names_file_line_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nlevers:\n  funding:\n    recurrent_cny:\n      2025: 1.0e9\n      2027: -5\n")
    with pytest.raises(InputErrors) as info:
        load_scenario(path)
    (e,) = info.value.errors
    assert (e.line, e.key) == (6, "levers.funding.recurrent_cny.2027")
    assert "must be a finite amount in [0" in e.message and str(path) in str(e)


def test_unknown_funding_key_suggests_the_budget(tmp_path: Path) -> None:
    with pytest.raises(InputErrors) as info:
        load_scenario(_write(tmp_path, "name: x\nlevers:\n  funding: {recurent_cny: 1.0e9}\n"))
    (e,) = info.value.errors
    assert e.line == 3 and "recurent_cny" in e.key and "recurrent_cny" in str(e)


def test_budget_wrong_shape(tmp_path: Path) -> None:
    with pytest.raises(InputErrors) as info:
        load_scenario(_write(tmp_path, "name: x\nlevers:\n  funding: {recurrent_cny: lots}\n"))
    (e,) = info.value.errors
    assert e.key == "levers.funding.recurrent_cny" and "mapping year → CNY per year" in e.message


def test_budget_mapping_is_a_step_function_without_limit_before_its_first_year(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nlevers:\n  funding: {recurrent_cny: {2027: 2.0e9, 2030: 1.0e9}}\n")
    funding = load_scenario(path).levers.funding
    assert [funding.recurrent_cny_in(y) for y in (2026, 2027, 2029, 2030, 2035)] == [None, 2e9, 2e9, 1e9, 1e9]


# --- both engines -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["cohort", "agents"])
def test_engines_zero_budget_delivers_nothing_and_exact_budget_is_bit_identical(engine: str) -> None:
    from sim import agents
    from sim.cohort import prepare
    from sim.costs import cost_dataset
    from sim.ensemble import run_draws, to_dataset

    base = replace(load_scenario(SCENARIOS / "baseline.yaml"), {
        "draws": 4, "chunk_size": 64, "horizon": 2026, "baseline.counties": ["653131", "650522"]})
    run = agents.run_draws_agents if engine == "agents" else run_draws
    free = run(prepare(base), 0, 4)
    probe = prepare(replace(base, {"levers.funding.recurrent_cny": 1e12}))
    requested = {}
    for y, v in zip(probe.budget.years, probe.budget.requested_cny, strict=True):
        if y >= 2025:  # the region-wide amount whose pupil share is the request (to the last bit: nextafter)
            amount = float(v) / probe.scale.pupils
            while amount * probe.scale.pupils < v:
                amount = float(np.nextafter(amount, np.inf))
            requested[int(y)] = amount
    exact_model = prepare(replace(base, {"levers.funding.recurrent_cny": requested}))
    assert exact_model.budget.scale.tolist() == [1.0] * len(exact_model.years)
    exact = run(exact_model, 0, 4)
    for name in free:
        np.testing.assert_array_equal(exact[name], free[name], err_msg=name)
    zero_model = prepare(replace(base, {"levers.funding.recurrent_cny": 0}))
    zero = run(zero_model, 0, 4)
    plan_years = slice(5, None)  # 2025, 2026 (dispatch terms of 1 year: none left in post)
    for name in ("dispatched_in_post", "targeted_hires", "retrained", "qualification_upgrades", "backbone_cultivated",
                 "rotated"):
        assert not np.asarray(zero[name])[:, plan_years].any(), name
        assert np.asarray(free[name])[:, plan_years].any(), name  # the test can fail: the levers deliver without it
    costs = cost_dataset(zero_model, to_dataset(zero_model, zero))
    assert costs["budget_scale"].sel(year=[2025, 2026]).values.tolist() == [0.0, 0.0]
    assert costs["budget_allowed"].attrs["units"] == "CNY"
    budgeted = costs["cost"].sel(programme=list(BUDGETED)).sum("programme")
    np.testing.assert_allclose(costs["cost_budgeted"].values, budgeted.values)


def test_development_is_planned_on_the_teachers_each_share_applies_to() -> None:
    # 200 unqualified × 0.1 × 12,500 (midpoint of 5,000–20,000) + 500 qualified non-backbone × 0.04 × 6,000
    # (midpoint of 2,000–10,000) = 250,000 + 120,000 = 370,000 CNY a year
    base = PlanningBase(teachers=1_000.0, rural_teachers=400.0, rural_sections=20.0, unqualified=200.0,
                        qualified_non_backbone=500.0)
    plan = _plan({"levers.dispatch.per_year": 0, "levers.digital.gigabit_schools_per_year": 0,
                  "levers.development.qualification_upgrade_share": 0.1,
                  "levers.development.backbone_cultivation_share": 0.04, "levers.funding.recurrent_cny": 185_000.0},
                 base)
    assert plan.requested_cny[0] == pytest.approx(370_000.0)
    assert plan.scale[1] == pytest.approx(0.5)
    lever = plan.lever("development", 2025, None)
    assert lever.qualification_upgrade_share == pytest.approx(0.05)
    assert lever.backbone_cultivation_share == pytest.approx(0.02)


def test_an_unset_budget_cannot_be_swept_but_a_set_one_can() -> None:
    from sim.errors import InputError
    from sim.levers import lever_info

    scenario = load_scenario(SCENARIOS / "baseline.yaml")
    with pytest.raises(InputError, match="unset in this scenario"):
        lever_info(scenario, "levers.funding.recurrent_cny")
    info = lever_info(replace(scenario, {"levers.funding.recurrent_cny": 5e8}), "levers.funding.recurrent_cny")
    assert info.value == 5e8 and not info.integer
