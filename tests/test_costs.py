"""Costs of the levers (sim/costs.py): hand-derived cases on a constructed results Dataset, the unit-cost table,
and common random numbers for the uncertain unit costs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from sim.costs import (
    NOT_COMPUTED,
    PROGRAMMES,
    UnitCost,
    cost_dataset,
    draw_unit_costs,
    load_unit_costs,
    rural_teacher_share,
)
from sim.model import LeverScale
from sim.scenario import load_scenario, replace

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
YEARS = [2024, 2025, 2026]


def _fixed(programme: str, value: float, item: str = "item") -> UnitCost:
    return UnitCost(programme, item, "CNY", value, None, None, lever=False, computed=True)


FIXED = [_fixed("dispatch", 10_000.0), _fixed("dispatch", 2_000.0, "travel"), _fixed("rotation", 5_000.0),
         _fixed("gigabit", 100_000.0), _fixed("counselling", 80_000.0), _fixed("pairing", 20_000.0),
         _fixed("special_education", 10_000_000.0), _fixed("resource_rooms", 200_000.0),
         _fixed("special_post", 18_960.0), _fixed("targeted_graduates", 40_000.0), _fixed("junior_retraining", 6_000.0),
         _fixed("development", 5_000.0, "qualification upgrade"),
         _fixed("development", 2_000.0, "backbone cultivation"),
         _fixed("classrooms", 100.0, "floor area"), _fixed("classrooms", 3_000.0, "floor cost")]
TEACHER_PROGRAMMES = {"special_post": "special_post_in_post", "targeted_graduates": "targeted_hires",
                      "junior_retraining": "retrained"}


def _model(changes: dict | None = None, pupil_share: float = 1.0) -> SimpleNamespace:
    """A stand-in for sim.model.Model with what cost_dataset reads: two counties, county 0 half rural."""
    scenario = replace(load_scenario(SCENARIOS / "baseline.yaml"), {"start_year": 2024, **(changes or {})})
    sections = SimpleNamespace(n_counties=2, county=np.array([0, 0, 1]),
                               teachers_by_age=np.array([[10] + [0] * 5, [10] + [0] * 5, [40] + [0] * 5]))
    return SimpleNamespace(scenario=scenario, sections=sections, rural=np.array([True, False, False]),
                           scale=LeverScale(pupils=pupil_share))


def _results(dispatched: float = 50.0, rotated: float = 0.0, special: tuple[float, ...] = (1, 1, 1),
             rooms: tuple[float, ...] = (0, 0, 0), teacher_programmes: float = 0.0,
             classrooms_started: tuple[float, ...] = (0, 0, 0)) -> xr.Dataset:
    """Two draws, three years, two counties; every count the same in both draws."""
    shape = (2, len(YEARS), 2)

    def const(v: float) -> xr.DataArray:
        return xr.DataArray(np.full(shape, v), dims=("draw", "year", "county"))

    def by_year(values: tuple[float, ...]) -> np.ndarray:
        return np.broadcast_to(np.array(values, float)[None, :, None], shape)

    gigabit = np.zeros(shape)
    gigabit[:, :, 0] = [3, 5, 4]  # +2 in 2025, −1 in 2026 (a school closed: no cost)
    return xr.Dataset({
        "dispatched_in_post": const(dispatched), "rotated": const(rotated), "teachers": const(100.0),
        "gigabit_count": (("draw", "year", "county"), gigabit), "counselling_count": const(0.0),
        "pairing_count": const(0.0),
        "special_schools": (("draw", "year", "county"), by_year(special)),
        "resource_rooms": (("draw", "year", "county"), by_year(rooms)),
        "classrooms_started": (("draw", "year", "county"), by_year(classrooms_started)),
        **{name: const(teacher_programmes) for name in (*TEACHER_PROGRAMMES.values(), "qualification_upgrades",
                                                         "backbone_cultivated")},
    }, coords={"draw": [0, 1], "year": YEARS, "county": [1, 2]})


def test_hundred_dispatched_teachers_cost_a_hundred_times_the_unit_cost() -> None:
    # 2 counties × 50 = 100 teachers in post; 10,000 + 2,000 CNY per teacher-year → 1,200,000 CNY a year
    costs = cost_dataset(_model({"levers.funding.capital_cny": 0.0}), _results(), FIXED)
    dispatch = costs["cost"].sel(programme="dispatch")
    assert np.array_equal(dispatch.values, np.full((2, 3), 1_200_000.0))


def test_gigabit_costs_only_new_connections() -> None:
    costs = cost_dataset(_model({"levers.funding.capital_cny": 0.0}), _results(), FIXED)
    # first year: no increase counted; 2025: 2 schools × 100,000; 2026: a decrease costs nothing
    assert costs["cost"].sel(programme="gigabit", draw=0).values.tolist() == [0.0, 200_000.0, 0.0]


def test_a_lever_at_zero_costs_nothing() -> None:
    model = _model({"levers.funding.capital_cny": 0.0, "levers.retention.rural_subsidy_cny_month": 0.0})
    costs = cost_dataset(model, _results(dispatched=0.0, rotated=0.0), FIXED)
    for programme in ("dispatch", "rotation", "retention", "capital", "counselling", "pairing", "special_education",
                      "resource_rooms", "special_post", "targeted_graduates", "junior_retraining", "development",
                      "classrooms"):
        assert float(np.abs(costs["cost"].sel(programme=programme)).sum()) == 0.0, programme


def test_teacher_programmes_cost_their_recorded_quantity_times_the_unit_cost_by_hand() -> None:
    # 2 counties × 30 = 60 teachers a year in each programme: special post 60 × 18,960 = 1,137,600 CNY (the
    # central subsidy); targeted 60 × 40,000 = 2,400,000; retraining 60 × 6,000 = 360,000; development 60 upgrades
    # × 5,000 + 60 newly recognised backbone × 2,000 = 420,000 CNY a year
    costs = cost_dataset(_model({"levers.funding.capital_cny": 0.0}), _results(teacher_programmes=30.0), FIXED)
    expected = {"special_post": 1_137_600.0, "targeted_graduates": 2_400_000.0, "junior_retraining": 360_000.0,
                "development": 420_000.0}
    for programme, per_year in expected.items():
        np.testing.assert_allclose(costs["cost"].sel(programme=programme).values, per_year, rtol=1e-12)


def test_teacher_programme_costs_scale_with_their_quantity() -> None:
    model = _model({"levers.funding.capital_cny": 0.0})
    one = cost_dataset(model, _results(teacher_programmes=7.0), FIXED)["cost"]
    three = cost_dataset(model, _results(teacher_programmes=21.0), FIXED)["cost"]
    for programme in (*TEACHER_PROGRAMMES, "development"):
        assert float(one.sel(programme=programme).sum()) > 0
        np.testing.assert_allclose(three.sel(programme=programme).values, 3 * one.sel(programme=programme).values,
                                   rtol=1e-12)


def test_development_items_are_priced_on_their_own_quantity() -> None:
    ds = _results()
    ds["qualification_upgrades"][:] = 10.0  # 2 counties × 10 upgrades × 5,000; no newly recognised backbone
    costs = cost_dataset(_model({"levers.funding.capital_cny": 0.0}), ds, FIXED)
    np.testing.assert_allclose(costs["cost"].sel(programme="development").values, 100_000.0, rtol=1e-12)


def test_special_schools_and_resource_rooms_cost_what_opens_each_year() -> None:
    # both counties: 1 school in 2024, 2 in 2025, 2 in 2026 → one school opened in 2025 in each county: 2 × 10 M;
    # rooms 0, 1.5, 4 in each county (rooms spread by pupils are fractional) → 3 and 5 rooms × 200,000 CNY
    ds = _results(special=(1, 2, 2), rooms=(0, 1.5, 4))
    costs = cost_dataset(_model({"levers.funding.capital_cny": 0.0}), ds, FIXED)
    assert costs["cost"].sel(programme="special_education", draw=0).values.tolist() == [0.0, 2.0e7, 0.0]
    assert costs["cost"].sel(programme="resource_rooms", draw=1).values.tolist() == [0.0, 600_000.0, 1_000_000.0]


def test_retention_is_rural_teachers_times_subsidy_times_twelve() -> None:
    # county 0: 10 of 20 registry teachers rural → share 0.5; county 1: none. Recorded teachers 100 per county
    # → 50 rural teachers; 300 CNY a month from 2025 (before it the historical default, 0)
    model = _model({"levers.retention.rural_subsidy_cny_month": 300.0, "levers.retention.from_year": 2025})
    assert rural_teacher_share(model).tolist() == [0.5, 0.0]
    costs = cost_dataset(model, _results(), FIXED)
    assert costs["cost"].sel(programme="retention", draw=1).values.tolist() == [0.0, 50 * 300.0 * 12, 50 * 300.0 * 12]


def test_capital_is_the_appropriation_scaled_to_the_selection_and_nothing_in_the_start_year() -> None:
    model = _model({"levers.funding.capital_cny": 1.0e9}, pupil_share=0.25)
    costs = cost_dataset(model, _results(), FIXED)
    assert costs["cost"].sel(programme="capital", draw=0).values.tolist() == [0.0, 2.5e8, 2.5e8]


def test_costs_add_up_across_programmes_and_years() -> None:
    model = _model({"levers.retention.rural_subsidy_cny_month": 300.0})
    costs = cost_dataset(model, _results(rotated=7.0, special=(1, 2, 3), rooms=(0, 2, 5)), FIXED)
    assert list(costs["programme"].values) == list(PROGRAMMES)
    assert all(float(costs["cost"].sel(programme=p).sum()) > 0 for p in ("special_education", "resource_rooms"))
    by_year = np.zeros((2, 3))
    for programme in PROGRAMMES:
        by_year += costs["cost"].sel(programme=programme).values
    assert np.allclose(costs["cost_total"].values, by_year, rtol=1e-12)
    # the plan total counts 2025 and 2026, not 2024
    assert np.allclose(costs["cost_plan_total"].values, by_year[:, 1] + by_year[:, 2], rtol=1e-12)
    assert costs["cost"].attrs["units"] == "CNY"
    for name in NOT_COMPUTED:
        assert name in costs["cost"].attrs["not_computed"]


def test_uncertain_unit_costs_are_uniform_in_their_range_and_keyed_by_draw() -> None:
    units = [UnitCost("dispatch", "stipend", "CNY", None, 100.0, 200.0, lever=False, computed=True)]
    all_draws = draw_unit_costs(7, 0, 200, units)["dispatch"]
    assert all_draws.min() >= 100.0 and all_draws.max() < 200.0
    assert abs(all_draws.mean() - 150.0) < 10.0  # 200 uniforms: sd of the mean ≈ 100/√12/√200 ≈ 2
    # draw 130's price does not depend on which draws are run (common random numbers)
    assert draw_unit_costs(7, 128, 10, units)["dispatch"][2] == all_draws[130]
    assert not np.array_equal(draw_unit_costs(8, 0, 200, units)["dispatch"], all_draws)


def test_the_unit_cost_table_reads_and_names_every_programme() -> None:
    units = load_unit_costs()
    computed = {u.programme for u in units if u.computed}
    assert computed == set(PROGRAMMES)
    assert {u.programme for u in units if not u.computed} == set(NOT_COMPUTED)
    for u in units:
        assert u.lever or u.value is not None or (u.low is not None and u.high is not None) or not u.computed


def test_a_range_with_low_above_high_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "unit_costs.csv"
    path.write_text("programme,item,unit,value,low,high,computed\ndispatch,x,CNY,,5,1,yes\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unit_costs\.csv:2: dispatch\.x"):
        load_unit_costs(path)


def test_the_run_table_gives_the_total_cost_and_its_90_percent_interval() -> None:
    from sim.output import cost_line

    # 101 draws costing 0, 1, …, 100 bn CNY: the 5%, 50% and 95% quantiles are 5, 50 and 95 bn
    ds = xr.Dataset({"cost_plan_total": ("draw", np.arange(101) * 1e9),
                     "cost": (("draw",), np.zeros(101), {"not_computed": "development"})})
    line = cost_line(ds)
    assert "median 50.000 bn CNY [90% interval 5.000–95.000]" in line and "not computed: development" in line
    assert cost_line(xr.Dataset()) == ""


_OFF = {"levers.recruitment.special_post_per_year": 0, "levers.recruitment.targeted_graduates_per_year": 0,
        "levers.recruitment.junior_retraining_per_year": 0, "levers.recruitment.from_year": 2021,
        "levers.development.qualification_upgrade_share": 0.0, "levers.development.backbone_cultivation_share": 0.0}
_QUANTITIES = ("special_post_in_post", "targeted_hires", "retrained", "qualification_upgrades", "backbone_cultivated")


@pytest.mark.parametrize("engine", ["cohort", "agents"])
def test_teacher_programme_quantities_are_zero_when_their_levers_are_off(engine: str) -> None:
    from sim import agents
    from sim.cohort import prepare
    from sim.ensemble import run_draws

    base = replace(load_scenario(SCENARIOS / "baseline.yaml"), {
        "draws": 8, "chunk_size": 64, "horizon": 2026, "baseline.counties": ["653131", "653227", "650522"]})
    run = agents.run_draws_agents if engine == "agents" else run_draws
    off = run(prepare(replace(base, _OFF)), 0, 8)
    for name in _QUANTITIES[1:]:
        assert not off[name][:, 1:].any(), name
    # the registry's special-post teachers leave their 3-year contracts by the third year and none are hired
    in_post = off["special_post_in_post"].sum(axis=-1)
    assert (np.diff(in_post, axis=1) <= 0).all()
    assert not in_post[:, 4:].any()  # 2024 onwards: the start year plus 3 contract years, plus a margin
    on = run(prepare(replace(base, {"levers.recruitment.from_year": 2021,
                                    "levers.development.qualification_upgrade_share": 0.2,
                                    "levers.development.backbone_cultivation_share": 0.2})), 0, 8)
    for name in ("special_post_in_post", "qualification_upgrades", "backbone_cultivated"):
        assert on[name][:, 1:].sum() > 0, name


def test_rotation_is_priced_per_teacher_year_on_rotation() -> None:
    # 7 teachers start a rotation in each of the 2 counties every year: 14 starts a year. The unit cost is
    # "CNY per rotated teacher-year" (unit_costs.csv), 5,000 here. Term 3 from 2025 (before it the lever's
    # default, 1): 2024's starts are on rotation in 2024 only, 2025's in 2025–2027, 2026's in 2026–2028 →
    # 14, 14, 28 teacher-years → 70,000, 70,000, 140,000 CNY. With term 1 every year: 14 a year.
    changes = {"levers.funding.capital_cny": 0.0, "levers.rotation.term_years": 3, "levers.rotation.from_year": 2025}
    costs = cost_dataset(_model(changes), _results(rotated=7.0), FIXED)
    assert costs["cost"].sel(programme="rotation", draw=0).values.tolist() == [70_000.0, 70_000.0, 140_000.0]
    costs = cost_dataset(_model({**changes, "levers.rotation.term_years": 1}), _results(rotated=7.0), FIXED)
    assert costs["cost"].sel(programme="rotation", draw=1).values.tolist() == [70_000.0] * 3
    # a permanent transfer (term 0) is costed for its first year only
    costs = cost_dataset(_model({**changes, "levers.rotation.term_years": 0}), _results(rotated=7.0), FIXED)
    assert costs["cost"].sel(programme="rotation", draw=1).values.tolist() == [70_000.0] * 3


def test_classrooms_started_cost_their_floor_area_times_the_floor_cost_by_hand() -> None:
    # 2 counties × (0, 3, 1) rooms started = 0, 6, 2 rooms a year; 100 m² × 3,000 CNY/m² = 300,000 CNY a room
    # (the two items multiply) → 0, 1,800,000 and 600,000 CNY; nothing built costs nothing
    costs = cost_dataset(_model({"levers.funding.capital_cny": 0.0}), _results(classrooms_started=(0, 3, 1)), FIXED)
    assert costs["cost"].sel(programme="classrooms", draw=0).values.tolist() == [0.0, 1_800_000.0, 600_000.0]
    none = cost_dataset(_model({"levers.funding.capital_cny": 0.0}), _results(), FIXED)
    assert float(none["cost"].sel(programme="classrooms").sum()) == 0.0


def test_the_classroom_unit_cost_is_area_times_cost_within_the_table_ranges() -> None:
    units = load_unit_costs()
    rows = {u.item: u for u in units if u.programme == "classrooms"}
    area, cost = rows["floor area"], rows["floor cost"]
    assert (area.low, area.high, cost.low, cost.high) == (100.0, 398.0, 2500.0, 5000.0)
    per_room = draw_unit_costs(20250126, 0, 500, units)["classrooms"]
    assert per_room.min() >= 100 * 2500 and per_room.max() <= 398 * 5000
    # the product of two independent uniforms: mean = mean(area) × mean(cost) = 249 × 3,750 = 933,750
    assert abs(per_room.mean() / 933_750 - 1) < 0.06
