"""sim.fast.assess equals sim.cohort.assess (the reference) on real engine states and on hand-made edge cases.

Both functions run in the same process on the same state, so their results are compared exactly: every key, dtype
and shape, every value (NaN where the reference has NaN), and the certification state they leave in ``State``.
The fast version adds floating-point values in the reference's order (its module docstring), so no tolerance is
needed; a difference of one unit in the last place fails.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim import cohort
from sim.cohort import Model, State, _Random
from sim.fast.assess import assess as fast_assess
from sim.fast.assess import assessment_layout, build_layout
from sim.mechanisms import facilities
from sim.rng import BLOCK_SIZE, Streams
from sim.scenario import Scenario, as_mapping, load_scenario, scenario_from_mapping

Params = dict[str, np.ndarray]
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL_COUNTIES = ["653131", "653227", "650522"]  # Taxkorgan and Minfeng (south), Yiwu (north): small, fast


def baseline(**changes: Any) -> Scenario:
    """``scenarios/baseline.yaml`` with ``changes`` (dotted key paths) set, validated; one block of draws."""
    data = as_mapping(load_scenario(SCENARIOS / "baseline.yaml"))
    for key, value in {"draws": BLOCK_SIZE, "chunk_size": BLOCK_SIZE, **changes}.items():
        *path, last = key.split(".")
        node = data
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return scenario_from_mapping(data, base_dir=SCENARIOS)


def small(**changes: Any) -> Scenario:
    """The baseline on three small counties."""
    return baseline(**{"baseline.counties": SMALL_COUNTIES, **changes})


def engine_states(scenario: Scenario, last_year: int) -> Iterator[tuple[Model, State, Params, _Random, int]]:
    """The baseline engine on one block of draws, stopped before step 9 of every year up to ``last_year``.

    The steps run in :func:`sim.cohort.run_chunk`'s order. After each yield the reference's :func:`assess` is
    applied to the state (as in a run), whatever the caller did with a copy of it.
    """
    model = cohort.prepare(scenario)
    streams = Streams(scenario.seed)
    params = cohort.sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    st = cohort.initial_state(model, BLOCK_SIZE, params["teachers.female_share"])
    for year in (int(y) for y in model.years if y <= last_year):
        r = _Random(streams, 0, BLOCK_SIZE, year)
        if year > scenario.start_year:
            cohort.step_students(model, st, params, r, year)
            cohort.step_teacher_exits(model, st, params, r, year)
        cohort.step_quota_and_recruitment(model, st, params, r, year)
        weakness = facilities.weakness_score(cohort._section_total(st.students), st.floor_area_m2,
                                             st.sports_area_m2, st.equipment_value_cny, st.multimedia_rooms,
                                             model.facility_thresholds)
        cohort.step_rotation(model, st, params, r, year, weakness)
        if year > scenario.start_year:
            cohort.step_dispatch(model, st, params, r, year)
            cohort.step_development(model, st, params, r, year)
            cohort.step_facilities(model, st, params, year, weakness)
        yield model, st, params, r, year
        cohort.assess(model, st, params, r, year)


def assert_same_records(reference: dict[str, np.ndarray], fast: dict[str, np.ndarray], where: str) -> None:
    assert list(fast) == list(reference), where
    for key, ref in reference.items():
        got = np.asarray(fast[key])
        ref = np.asarray(ref)
        assert got.dtype == ref.dtype, f"{where}: {key} dtype {got.dtype} != {ref.dtype}"
        assert got.shape == ref.shape, f"{where}: {key} shape {got.shape} != {ref.shape}"
        same = np.array_equal(got, ref, equal_nan=ref.dtype.kind == "f")
        assert same, f"{where}: {key} differs at {np.argwhere(got != ref)[:5].tolist()}"


def compare(m: Model, st: State, p: Params, r: _Random, year: int, where: str = "") -> dict[str, np.ndarray]:
    """Run both on copies of ``st``; check the records and the certification state they leave are the same."""
    st_fast, st_ref = copy.copy(st), copy.copy(st)
    fast = fast_assess(m, st_fast, p, r, year)
    reference = cohort.assess(m, st_ref, p, r, year)
    where = where or f"year {year}"
    assert_same_records(reference, fast, where)
    assert np.array_equal(st_fast.certified, st_ref.certified), where
    assert np.array_equal(st_fast.ready_years, st_ref.ready_years), where
    return reference


def compare_years(scenario: Scenario, last_year: int) -> list[dict[str, np.ndarray]]:
    return [compare(*state) for state in engine_states(scenario, last_year)]


# ------------------------------------------------------------------------------------------------------------
# real states


def test_equal_on_three_counties_every_year_to_the_horizon():
    scenario = small(horizon=2030)
    records = compare_years(scenario, 2030)
    assert len(records) == 11
    # the comparison is not vacuous: sections fail the standard, CVs exceed their limits, quality schools exist
    assert all(rec["failing_sections"].sum() > 0 for rec in records)
    assert all(rec["cv_over_limit"].any() for rec in records)
    assert all(rec["quality_school_count"].sum() > 0 for rec in records)


def test_equal_on_all_counties_from_the_start_year_to_2026():
    """Every county of the baseline (one block of 64 draws), 2020 (the registry as observed) to 2026 (levers of the
    plan active from 2025: dispatch, rotation, funding)."""
    scenario = baseline(horizon=2027)  # the pairing schedule reaches 2027
    records = compare_years(scenario, 2026)
    assert len(records) == 7
    assert records[-1]["dispatched_in_post"].sum() > 0  # dispatch is on in 2026


@pytest.mark.parametrize("changes", [
    # dispatched teachers count toward every indicator group (default: staffing only), at the region's full
    # quantities on three counties (many dispatched teachers); quality schools by the 6-of-7 rule
    {"levers.assessment.dispatched_count_toward": ["staffing", "qualification", "backbone", "pe_art"],
     "levers.assessment.quality_school": "standard", "baseline.scale_region_levers": False},
    # dispatched teachers count toward nothing; every site assessed (no small-site exclusion)
    {"levers.assessment.dispatched_count_toward": [], "levers.assessment.small_site_exclusion_pupils": 0},
    # dispatch and rotation from the start
    {"levers.dispatch.from_year": 2021, "levers.rotation.from_year": 2021, "baseline.scale_region_levers": False},
], ids=["dispatched-count-everywhere", "dispatched-count-nowhere", "dispatch-from-2021"])
def test_equal_under_assessment_and_dispatch_levers(changes: dict[str, Any]):
    scenario = small(horizon=2027, **changes)
    records = compare_years(scenario, 2027)
    assert records[-1]["dispatched_in_post"].sum() > 0


# ------------------------------------------------------------------------------------------------------------
# hand-made edge cases


@pytest.fixture(scope="module")
def state_2022() -> tuple[Model, State, Params, _Random, int]:
    """Three counties in 2022, just before step 9 (a copy each time it is used)."""
    for state in engine_states(small(), 2022):
        if state[-1] == 2022:
            return state  # before the reference's step 9 of 2022
    raise AssertionError("2022 not reached")


def _fresh(state: tuple[Model, State, Params, _Random, int]) -> tuple[Model, State, Params, _Random, int]:
    m, st, p, r, year = state
    arrays = {f.name: np.array(getattr(st, f.name)) for f in dataclasses.fields(st)}  # deep copies
    return m, State(**arrays), {k: v.copy() for k, v in p.items()}, r, year


def test_a_section_without_pupils_is_left_out(state_2022):
    m, st, p, r, year = _fresh(state_2022)
    st.students[:5, 3, :] = 0  # one section empty in five draws
    st.students[7, :4, :] = 0  # four sections empty in one draw
    rec = compare(m, st, p, r, year)
    emptied = m.sections.county[3]
    assert (rec["students"][:5, emptied] < rec["students"][5:, emptied].max()).all()


def test_a_teaching_point_below_the_small_site_exclusion_is_not_assessed(state_2022):
    m, st, p, r, year = _fresh(state_2022)
    points = np.flatnonzero(m.sections.teaching_point)
    assert points.size, "the three counties have teaching points"
    st.students[:, points, :] = 0
    st.students[:32, points, 0] = 10  # below the exclusion (50 pupils) in half the draws
    st.students[32:, points, 0] = 60  # above it in the others
    compare(m, st, p, r, year)


def test_a_county_with_every_section_excluded_has_nan_indicators(state_2022):
    m, st, p, r, year = _fresh(state_2022)
    in_county = m.sections.county == 0
    st.students[0, in_county, :] = 0  # draw 0: no pupils at all in county 0
    # draw 1: every section of county 0 a small teaching point (pupils, but all excluded)
    m = dataclasses.replace(m, sections=dataclasses.replace(m.sections, teaching_point=in_county.copy()))
    st.students[1, in_county, :] = 0
    st.students[1, in_county, 0] = 5
    rec = compare(m, st, p, r, year)
    assert np.isnan(rec["indicator_value"][:2, 0]).all()
    assert np.isnan(rec["indicator_cv"][:2, 0]).all()
    assert not rec["resource_ready"][:2, 0].any()
    assert rec["students"][1, 0] == 5 * in_county.sum()


def test_a_non_finite_stock_leaves_its_section_out(state_2022):
    m, st, p, r, year = _fresh(state_2022)
    st.floor_area_m2[2, 5] = np.nan
    st.equipment_value_cny[3, 6] = np.inf
    compare(m, st, p, r, year)


def _make_ready(m: Model, st: State, county: int) -> None:
    """Stocks of every section of ``county`` well above the standard, the same per pupil everywhere (CV 0),
    classes of 30 pupils, rotation at the policy's share: the county is ready in every draw."""
    in_county = m.sections.county == county
    pupils = 30 * np.maximum(m.sections.classes[in_county], 1)
    st.students[:, in_county, :] = 0
    st.students[:, in_county, 0] = pupils
    for name, per_pupil in (("qualified", 1), ("backbone", 1), ("pe_art", 1)):
        getattr(st, name)[:, in_county] = pupils * per_pupil
    for name, per_pupil in (("floor_area_m2", 100.0), ("sports_area_m2", 100.0), ("equipment_value_cny", 1e5),
                            ("multimedia_rooms", 1.0)):
        getattr(st, name)[:, in_county] = pupils * per_pupil
    st.rotation_share[:, county] = 0.5
    st.backbone_share_of_rotated[:, county] = 0.5


def test_certification_lags_that_differ_between_draws(state_2022):
    """Lags of 0, 1, 2 and 3 years in different draws (the reference certifies lag by lag), a county ready in
    every draw and ready for 0–3 years before, some counties already certified."""
    m, st, p, r, year = _fresh(state_2022)
    _make_ready(m, st, county=2)
    rng = np.random.default_rng(7)
    p["assessment.certification_lag_years"] = rng.choice([0.0, 1.0, 2.2, 2.9], size=BLOCK_SIZE)
    p["assessment.other_items_pass_probability"] = np.full(BLOCK_SIZE, 0.9)
    st.ready_years = rng.integers(0, 4, size=st.ready_years.shape)
    st.certified = rng.random(st.certified.shape) < 0.2
    was_certified = st.certified[:, 2].copy()
    rec = compare(m, st, p, r, year)
    assert np.unique(np.rint(p["assessment.certification_lag_years"])).size == 4  # lags 0, 1, 2, 3
    assert rec["resource_ready"][:, 2].all() and rec["guarantee_met"][:, 2].all()
    newly = rec["quality_balanced"][:, 2].astype(bool) & ~was_certified
    waiting = ~rec["quality_balanced"][:, 2].astype(bool)
    assert newly.any() and waiting.any()  # some draws' lags have run out, others' not yet


def test_the_layout_is_built_once_per_model(state_2022):
    m = state_2022[0]
    assert assessment_layout(m) is assessment_layout(m)
    other = dataclasses.replace(m)
    assert assessment_layout(other) is not assessment_layout(m)
    assert np.array_equal(build_layout(other).sections.threshold_row, assessment_layout(m).sections.threshold_row)


def test_sections_of_one_school_in_two_counties_are_refused(state_2022):
    m = state_2022[0]
    county = m.sections.county.copy()
    school = m.sections.school.copy()
    school[np.flatnonzero(county == 1)[0]] = school[np.flatnonzero(county == 0)[0]]
    broken = dataclasses.replace(m, sections=dataclasses.replace(m.sections, school=school))
    with pytest.raises(ValueError, match="same county"):
        build_layout(broken)


def test_equal_on_a_chunk_that_is_not_a_whole_block(state_2022):
    """Draws 5–7 only (a chunk that starts inside a block: other uniforms, three rows)."""
    m, st, p, r, year = _fresh(state_2022)
    rows = slice(5, 8)
    part = State(**{f.name: np.ascontiguousarray(getattr(st, f.name)[rows]) for f in dataclasses.fields(st)})
    rec = compare(m, part, {k: v[rows] for k, v in p.items()}, _Random(r.streams, 5, 8, year), year)
    assert rec["students"].shape == (3, m.sections.n_counties)
