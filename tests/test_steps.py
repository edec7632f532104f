"""The yearly steps (sim/steps.py) at the step level: each changes exactly the stocks it should and conserves the
rest; the random streams are used, differ across blocks, and do not depend on a draw's chunk; the assessment's
pupil-weighted statistics use the weights; the step table is the order both engines follow."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim import agents
from sim.cohort import run_chunk
from sim.hindcast import as_mapping_levers
from sim.mechanisms import assessment
from sim.model import (
    State,
    county_sum,
    initial_state,
    lever_at,
    prepare,
    sample_parameters,
    section_total,
)
from sim.rng import BLOCK_SIZE, Streams
from sim.scenario import load_scenario, replace
from sim.steps import (
    STEPS,
    Random,
    _in_contract,
    assess,
    counted_teachers,
    special_post_outside_establishment,
    step_table,
    steps_for,
    verification_year,
)
from sim.vocabulary import ENGINES

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden.yaml"
STEPS_SOURCE = ROOT / "sim" / "steps.py"
YEAR = 2027  # every lever acts, quota verification year of the golden scenario (every 2 from 2025)

# what each step may change (written from DESIGN §3 and the step's contract, not from the code) and, of those,
# what it must change in the golden scenario's year 2027; every other field of the state must be left untouched
TEACHER_STOCK = {"teachers", "qualified", "backbone", "pe_art"}
ALLOWED = {
    # the cohorts' shares of their entrants and the year's completers and cohorts: T7 measured from the flows
    "students": {"students", "student_entries", "junior_entries", "student_exits", "cohort_survival",
                 "consolidation_completers", "consolidation_cohort"},
    # a closing section's pupils, teachers (categories, contracts, dispatched, loans), posts, classes and a share of
    # its equipment move; under 先建后撤 rooms are started at receivers that wait
    "network": {"students", "classes", "section_quota", "closed", "special_post", "dispatched", "dispatched_backbone",
                "dispatched_pe_art", "loan_host", "loan_host_backbone", "loan_home", "loan_home_backbone",
                "equipment_value_cny", "multimedia_rooms", "classroom_pipeline", "receiver_rooms_started"}
    | TEACHER_STOCK,
    "classes": {"classes", "classrooms", "classroom_pipeline", "classrooms_started", "largest_class",
                "classes_short_of_rooms"},
    # special-post teachers who stay at the end of their contract are taken into the establishment, which grows
    # where they find no free post (levers.recruitment.special_post_post outside, the default)
    "teacher_exits": TEACHER_STOCK | {"special_post", "female_share", "exits", "section_quota"},
    "dispatch_departures": {"dispatched", "dispatched_backbone", "dispatched_pe_art"},
    "quota": TEACHER_STOCK | {"section_quota"},
    "redeployment": TEACHER_STOCK | {"redeployed"},
    "recruitment": TEACHER_STOCK | {"special_post", "hires", "targeted_hires", "retrained"},  # the last two: costs
    "rotation": TEACHER_STOCK | {"rotated", "rotation_share", "backbone_share_of_rotated", "loan_host",
                                 "loan_host_backbone", "loan_home", "loan_home_backbone"},
    "dispatch_arrivals": {"dispatched", "dispatched_backbone", "dispatched_pe_art"},
    "development": {"qualified", "backbone", "pe_art", "qualification_upgrades", "backbone_cultivated"},
    "facilities": {"floor_area_m2", "sports_area_m2", "equipment_value_cny", "multimedia_rooms", "pipeline_cny",
                   "gigabit", "counselling_room", "paired", "special_schools", "resource_rooms", "programme_planned",
                   "programme_pipeline"},
    "assessment": {"certified", "ready_years"},
}
REQUIRED = {
    "students": {"students", "student_entries", "junior_entries", "student_exits", "cohort_survival",
                 "consolidation_completers", "consolidation_cohort"},
    "network": set(),  # the golden scenario closes nothing (size rule 0, the default)
    "classes": set(),  # the fixture's classes were formed from these pupils already (tests/test_classes.py)
    "teacher_exits": {"teachers", "special_post", "female_share", "exits"},
    "dispatch_departures": {"dispatched"},
    # the quota step's own redeployment does not act while 縣管校聘 redeployment does (from 2025 by default)
    "quota": {"section_quota"},
    "redeployment": {"teachers", "redeployed"},
    "recruitment": {"teachers", "qualified", "special_post", "hires"},
    "rotation": {"teachers", "rotated", "rotation_share"},
    "dispatch_arrivals": {"dispatched", "dispatched_backbone"},
    "development": {"qualified", "backbone", "qualification_upgrades", "backbone_cultivated"},
    "facilities": {"floor_area_m2", "equipment_value_cny", "pipeline_cny", "gigabit", "programme_planned"},
    "assessment": set(),
}


@pytest.fixture(scope="module")
def golden():
    scenario = load_scenario(GOLDEN)
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    params = sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    st = initial_state(model, BLOCK_SIZE, params["teachers.female_share"])
    for year in range(scenario.start_year, YEAR):
        for step in steps_for("cohort"):
            if step.acts(scenario, year):
                step.function(model, st, params, Random(streams, 0, BLOCK_SIZE, year), year)
    return model, streams, params, st


def snapshot(st: State) -> dict[str, np.ndarray]:
    return {f.name: np.array(getattr(st, f.name), copy=True) for f in dataclasses.fields(st)}


def changed(before: dict[str, np.ndarray], st: State) -> set[str]:
    return {name for name, old in before.items() if not np.array_equal(old, getattr(st, name), equal_nan=True)}


def test_the_table_names_every_step_once_in_the_design_order():
    names = [step.name for step in STEPS]
    assert names == ["students", "network", "classes", "teacher_exits", "dispatch_departures", "quota", "redeployment",
                     "recruitment", "rotation", "dispatch_arrivals", "development", "facilities", "assessment"]
    assert set(ALLOWED) == set(names)
    assert [s.name for s in STEPS if s.records] == ["assessment"]
    for engine in ENGINES:
        assert [s.name for s in steps_for(engine)] == names
    assert agents.PHASES == tuple(names)
    with pytest.raises(ValueError, match="engine"):
        steps_for("spreadsheet")


def test_start_year_runs_the_stock_steps_only():
    scenario = load_scenario(GOLDEN)
    first = scenario.start_year
    assert [s.name for s in STEPS if s.acts(scenario, first)] == ["classes", "quota", "recruitment", "rotation",
                                                                       "assessment"]
    assert all(s.acts(scenario, first + 1) for s in STEPS if s.name not in ("quota", "redeployment"))
    redeployment = next(s for s in STEPS if s.name == "redeployment")  # from its lever's from_year (2025) on
    assert redeployment.years(scenario) == list(range(2025, scenario.horizon + 1))


def test_quota_acts_in_the_start_year_and_the_verification_years():
    scenario = load_scenario(GOLDEN)  # every 2 years from 2025: odd years, before 2025 too (the start year 2020)
    quota = next(s for s in STEPS if s.name == "quota")
    assert quota.years(scenario) == [2020, 2021, 2023, 2025, 2027, 2029, 2031, 2033, 2035]
    assert verification_year(scenario, 2020) and not verification_year(scenario, 2024)


@pytest.mark.parametrize("name", list(ALLOWED))
def test_each_step_changes_exactly_its_stocks(golden, name):
    model, streams, params, st0 = golden
    st = State(**snapshot(st0))
    step = next(s for s in STEPS if s.name == name)
    before = snapshot(st)
    step.function(model, st, params, Random(streams, 0, BLOCK_SIZE, YEAR), YEAR)
    moved = changed(before, st)
    assert moved <= ALLOWED[name], f"{name} changed {sorted(moved - ALLOWED[name])}"
    assert REQUIRED[name] <= moved, f"{name} left {sorted(REQUIRED[name] - moved)} in place"


def test_moves_within_a_county_conserve_its_teachers_and_categories(golden):
    model, streams, params, st0 = golden
    s = model.sections
    for name in ("redeployment", "rotation"):
        st = State(**snapshot(st0))
        step = next(x for x in STEPS if x.name == name)
        old = {k: county_sum(section_total(st.teachers) if k == "teachers" else getattr(st, k), s)
               for k in ("teachers", "qualified", "pe_art")}
        step.function(model, st, params, Random(streams, 0, BLOCK_SIZE, YEAR), YEAR)
        for k, value in old.items():
            new = county_sum(section_total(st.teachers) if k == "teachers" else getattr(st, k), s)
            np.testing.assert_array_equal(new, value, err_msg=f"{name}: {k}")


def test_flows_balance_the_stocks(golden):
    model, streams, params, st0 = golden
    s = model.sections
    r = Random(streams, 0, BLOCK_SIZE, YEAR)

    def run(name: str) -> tuple[State, State]:
        st = State(**snapshot(st0))
        before = State(**snapshot(st0))
        next(x for x in STEPS if x.name == name).function(model, st, params, r, YEAR)
        return before, st

    before, after = run("students")
    np.testing.assert_array_equal(county_sum(section_total(after.students), s),
                                  county_sum(section_total(before.students), s) + after.student_entries
                                  - after.student_exits)
    before, after = run("teacher_exits")
    np.testing.assert_array_equal(county_sum(section_total(after.teachers), s),
                                  county_sum(section_total(before.teachers), s) - after.exits)
    before, after = run("recruitment")
    np.testing.assert_array_equal(county_sum(section_total(after.teachers), s),
                                  county_sum(section_total(before.teachers), s) + after.hires)
    before, after = run("dispatch_departures")
    assert after.dispatched.sum() == before.dispatched[..., 1:].sum() > 0
    before, after = run("dispatch_arrivals")
    arrived = after.dispatched.sum() - before.dispatched.sum()
    per_year = model.scale.count(lever_at(model.scenario, "dispatch", YEAR).per_year, "pupils")
    assert 0 < arrived <= per_year * BLOCK_SIZE


def test_assessment_weights_by_pupils(golden):
    """County indicator values are pupil-weighted means over the assessed sections, and the T4 coverage counts
    pupils: both computed here independently, on sections whose pupils differ."""
    model, streams, params, st0 = golden
    st = State(**snapshot(st0))
    s = model.sections
    record = assess(model, st, params, Random(streams, 0, BLOCK_SIZE, YEAR), YEAR)
    pupils = section_total(st.students).astype(float)
    assert np.unique(pupils[0]).size > 10  # unequal weights
    counts = model.scenario.levers.assessment.dispatched_count_toward
    extra_backbone = section_total(st.dispatched_backbone) if "backbone" in counts else 0
    extra_qualification = section_total(st.dispatched) if "qualification" in counts else 0
    extra_pe_art = section_total(st.dispatched_pe_art) if "pe_art" in counts else 0
    indicators = assessment.section_indicators(
        pupils, st.qualified + extra_qualification, st.backbone + extra_backbone, st.pe_art + extra_pe_art,
        st.floor_area_m2, st.sports_area_m2, st.equipment_value_cny, st.multimedia_rooms)
    small = s.teaching_point[None, :] & (pupils < model.scenario.levers.assessment.small_site_exclusion_pupils)
    assessed = (pupils > 0) & ~small
    reading = model.scenario.levers.assessment.quality_school
    quality = assessment.is_quality_school(indicators, model.thresholds, reading)
    for d in (0, 7):
        for c in range(s.n_counties):
            rows = (s.county == c) & assessed[d]
            w = pupils[d, rows]
            expected = (np.nan_to_num(indicators[d, rows]) * w[:, None]).sum(axis=0) / w.sum()
            np.testing.assert_allclose(record["indicator_value"][d, c], expected, rtol=1e-12)
            # coverage: pupils of schools all of whose assessed sections are quality sections
            covered = total = 0.0
            for school in np.unique(s.school[rows]):
                mine = rows & (s.school == school)
                total += pupils[d, mine].sum()
                covered += pupils[d, mine].sum() if quality[d, mine].all() else 0.0
            assert record["coverage_total"][d, c] == pytest.approx(total)
            assert record["coverage_count"][d, c] == pytest.approx(covered)


class RecordingStreams(Streams):
    """Streams that note every component asked for."""

    used: set[str]

    def chunk_generators(self, component: str, start: int, stop: int) -> Any:
        self.used.add(component.split("/")[0])
        return super().chunk_generators(component, start, stop)

    def uniforms(self, component: str, start: int, stop: int, shape: tuple[int, ...] = ()) -> np.ndarray:
        self.used.add(component.split("/")[0])
        return super().uniforms(component, start, stop, shape)


def declared_streams() -> set[str]:
    """Stream names written as string literals in sim/steps.py (``r.apply("…"``, moves, ``uniforms(f"…/``)."""
    text = STEPS_SOURCE.read_text(encoding="utf-8")
    names = set(re.findall(r'r\.apply\(\s*f?"([a-z_.]+)', text))
    names |= set(re.findall(r'\br, "([a-z_.]+)"', text))
    names |= set(re.findall(r'uniforms\(f"([a-z_.]+)/', text))
    return names


def test_streams_are_used_differ_across_blocks_and_ignore_the_chunk():
    scenario = load_scenario(GOLDEN)
    model = prepare(scenario)
    streams = RecordingStreams(scenario.seed)
    object.__setattr__(streams, "used", set())
    whole = run_chunk(model, streams, 0, 2 * BLOCK_SIZE)
    declared = declared_streams()
    assert len(declared) > 20
    # on this horizon every declared stream is drawn from (else the chunk test below would be vacuous for it)
    unused = {name for name in declared if not any(u == name or u.startswith(name + ".") for u in streams.used)}
    assert unused == set()
    second = run_chunk(model, Streams(scenario.seed), BLOCK_SIZE, 2 * BLOCK_SIZE)
    for name, value in second.items():
        np.testing.assert_array_equal(value, whole[name][BLOCK_SIZE:], err_msg=name)
    # the two blocks are not copies of each other, nor are two draws of a block
    moving = ["teachers", "students", "hires", "exits", "rotated"]
    for name in moving:
        assert not np.array_equal(whole[name][:BLOCK_SIZE], whole[name][BLOCK_SIZE:]), name
        assert not np.array_equal(whole[name][0], whole[name][1]), name


def test_step_table_is_printed_with_years_and_levers():
    text = step_table(load_scenario(GOLDEN))
    lines = text.splitlines()
    assert len(lines) == 2 + len(STEPS)
    assert "| 6 | quota | `sim.steps.step_quota` | yes | 2020–2021, 2023, 2025, 2027, 2029, 2031, 2033, 2035 |" in text
    assert "retention (from 2026)" in text and "| 1 | students |" in lines[2]
    assert "2021–2035" in lines[2]
    assert ("| 2 | network | `sim.steps.step_network` | no | 2021–2035 | cohort, agents (per teacher) | network |"
            in lines[3])
    assert "| 3 | classes | `sim.steps.step_classes` | yes | 2020–2035 | cohort, agents | classes |" in lines[4]


def test_counted_teachers_add_the_dispatched_where_the_option_says(golden):
    model, _, _, st = golden
    counts = set(model.scenario.levers.assessment.dispatched_count_toward)
    assert counts == {"staffing", "backbone"}  # the golden scenario: one counted group and others not
    counted = counted_teachers(model, st, tuple(counts))
    regular, dispatched = st.teachers.sum(axis=2), st.dispatched.sum(axis=2)
    assert dispatched.sum() > 0
    np.testing.assert_array_equal(counted["staffing"], regular + dispatched)
    np.testing.assert_array_equal(counted["backbone"], st.backbone + st.dispatched_backbone.sum(axis=2))
    np.testing.assert_array_equal(counted["qualification"], st.qualified)
    np.testing.assert_array_equal(counted["pe_art"], st.pe_art)
    np.testing.assert_array_equal(counted["regular"], regular)
    np.testing.assert_array_equal(counted["dispatched"], dispatched)
    every = counted_teachers(model, st, ("staffing", "qualification", "backbone", "pe_art"))
    np.testing.assert_array_equal(every["qualification"], st.qualified + dispatched)
    np.testing.assert_array_equal(every["pe_art"], st.pe_art + st.dispatched_pe_art.sum(axis=2))


def _sticky_run(adjustment: float, until: int, sticky: bool = True) -> tuple[Any, dict[int, np.ndarray],
                                                                             dict[int, np.ndarray], State]:
    """The golden scenario's cohort steps from the start year to ``until`` with ``quota.establishment_adjustment``
    fixed; returns the model, the section establishment before and after each year's quota step (absent in the
    years it does not act; in the start year "before" is what it anchors on: the teachers holding posts, i.e. in
    post minus the special-post teachers in their contract when these stand outside the establishment), and the
    final state."""
    scenario = load_scenario(GOLDEN)
    if not sticky:
        levers = as_mapping_levers(scenario.levers)
        levers["quota"]["sticky_establishment"] = False
        scenario = replace(scenario, {"levers": levers})
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    params = sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    params["quota.establishment_adjustment"] = np.full(BLOCK_SIZE, adjustment)
    st = initial_state(model, BLOCK_SIZE, params["teachers.female_share"])
    before: dict[int, np.ndarray] = {}
    after: dict[int, np.ndarray] = {}
    for year in range(scenario.start_year, until + 1):
        for step in steps_for("cohort"):
            if step.acts(scenario, year):
                if step.name == "quota":
                    before[year] = st.section_quota.copy()
                    outside = special_post_outside_establishment(model, year)
                    holding = section_total(st.teachers) - (_in_contract(st) if outside else 0)
                step.function(model, st, params, Random(streams, 0, BLOCK_SIZE, year), year)
                if step.name == "quota":
                    after[year] = st.section_quota.copy()
                    if year == scenario.start_year:
                        before[year] = holding  # what the start year anchors on
    return model, before, after, st


def _norm_target(model: Any, st: State, params_mult: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Hand-written target: pupils / the level's norm × the level's multiplier, per draw and section."""
    s = model.sections
    pupils = section_total(st.students).astype(np.float64)
    norm = np.where(s.level == 0, 19.0, 13.5)  # national norms 1:19 primary, 1:13.5 junior (sim/data, DESIGN §3)
    mult = np.where(s.level[None, :] == 0, params_mult[0][:, None], params_mult[1][:, None])
    return pupils / norm[None, :] * mult


def test_sticky_establishment_is_anchored_at_the_teachers_in_post_and_moves_only_at_verifications():
    # golden scenario: verified in 2020 (start), 2021, 2023, 2025 (every 2 years from 2025, the rhythm running
    # back); adjustment 0 keeps the start year's establishment, the teachers in post, through every verification
    # with special-post teachers outside the establishment (the default), the anchor leaves out those in their
    # contract, and a contract's end can only add posts between verifications (establishment_after_conversion)
    model, before, after, _ = _sticky_run(0.0, 2025)
    start = model.scenario.start_year
    np.testing.assert_array_equal(after[start], before[start])
    assert sorted(after) == [2020, 2021, 2023, 2025]  # nothing acts in 2022 and 2024
    for last, year in itertools.pairwise((2020, 2021, 2023, 2025)):
        np.testing.assert_array_equal(after[year], before[year])  # adjustment 0: a verification moves nothing
        assert (before[year] >= after[last] - 1e-9).all()  # in between: contracts' ends only add posts


@pytest.mark.parametrize("adjustment", [1.0, 0.5])
def test_a_verification_closes_the_given_share_of_the_gap_to_the_norm_times_the_multiplier(adjustment):
    model, before, after, st = _sticky_run(adjustment, 2025)
    streams = Streams(model.scenario.seed)
    params = sample_parameters(model.scenario, streams, 0, BLOCK_SIZE)
    mult = (params["quota.establishment_multiplier_primary"], params["quota.establishment_multiplier_junior"])
    target = _norm_target(model, st, mult)  # 2025's pupils: the quota step follows the students step
    gap_before = target - before[2025]
    gap_after = target - after[2025]
    assert np.abs(gap_before).max() > 1  # the test can see a move
    np.testing.assert_allclose(gap_after, (1 - adjustment) * gap_before, atol=1e-9)
    # the years between verifications keep the last one's establishment, plus posts for special-post teachers
    # taken into it at their contract's end (the default: outside the establishment during the contract)
    assert (before[2025] >= after[2023] - 1e-9).all()


def test_without_the_sticky_switch_every_verification_sets_the_norm_times_the_multiplier():
    model, _, after, st = _sticky_run(0.0, 2020, sticky=False)
    streams = Streams(model.scenario.seed)
    params = sample_parameters(model.scenario, streams, 0, BLOCK_SIZE)
    mult = (params["quota.establishment_multiplier_primary"], params["quota.establishment_multiplier_junior"])
    np.testing.assert_allclose(after[2020], _norm_target(model, st, mult), rtol=1e-12)
