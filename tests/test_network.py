"""School network (issue 15 item 2): the rules of :mod:`sim.mechanisms.network` and the cohort engine's step
``network`` (:func:`sim.steps.step_network`): conservation per county, closed sections that receive nothing
afterwards, and common random numbers (a size rule that closes nothing leaves the results bit-identical)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cohort import run_chunk
from sim.mechanisms import network as nw
from sim.model import State, initial_state, prepare, sample_parameters, section_total
from sim.rng import BLOCK_SIZE, Streams
from sim.scenario import load_scenario, replace
from sim.steps import Random, step_network, steps_for

GOLDEN = Path(__file__).resolve().parent / "data" / "golden.yaml"


def test_small_sections_close_into_the_largest_of_their_county_and_level():
    # county 0: primary sections of 30, 400, 50 pupils and a teaching point of 20; junior of 40 (alone in its
    # group: it receives nobody and cannot close); county 1: a primary section of 10 (alone: stays open)
    pupils = np.array([[30, 400, 50, 20, 40, 10]])
    county = np.array([0, 0, 0, 0, 0, 1])
    level = np.array([0, 0, 0, 0, 1, 0])
    point = np.array([False, False, False, True, False, False])
    plan = nw.closures(pupils, 60, county, level, point)
    assert plan.closing.tolist() == [[True, False, True, False, False, False]]
    assert plan.receiver.tolist() == [[1, -1, 1, -1, -1, -1]]
    # teaching points not kept: the 20-pupil point closes too
    plan = nw.closures(pupils, 60, county, level, point, keep_teaching_points=False)
    assert plan.closing.tolist() == [[True, False, True, True, False, False]]


def test_a_size_rule_of_zero_closes_nothing():
    plan = nw.closures(np.array([[1, 2, 3]]), 0, np.zeros(3, int), np.zeros(3, int), np.zeros(3, bool))
    assert not plan.closing.any() and (plan.receiver == -1).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 2), st.integers(0, 1), st.booleans()),
                min_size=1, max_size=12), st.integers(0, 200), st.booleans())
def test_merging_conserves_pupils_per_county_and_level_and_empties_the_closed(rows, rule, keep):
    pupils = np.array([[r[0] for r in rows]])
    county, level = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    point = np.array([r[3] for r in rows])
    grades = np.stack([pupils, 2 * pupils], axis=-1)  # (1, S, 2)
    plan = nw.closures(pupils, rule, county, level, point, keep_teaching_points=keep)
    after = nw.merge(grades, plan)
    group = county * 2 + level
    for g in np.unique(group):
        np.testing.assert_array_equal(after[0, group == g].sum(axis=0), grades[0, group == g].sum(axis=0))
    assert (after[plan.closing] == 0).all()
    # closing sections were open and below the rule; receivers are open, of the same group, and do not close
    assert (pupils[plan.closing] < rule).all() and (pupils[plan.closing] > 0).all()
    receivers = plan.receiver[plan.closing]
    assert (~plan.closing[0, receivers]).all() and (pupils[0, receivers] > 0).all()
    assert (group[receivers] == group[np.flatnonzero(plan.closing[0])]).all()
    if keep:
        assert not (plan.closing[0] & point).any()


# ------------------------------------------------------------------------------------------------------------
# the step in the cohort engine (golden scenario: three counties, one with 76 primary sections, many below 100)

MERGED = ("students", "teachers", "qualified", "backbone", "pe_art", "special_post", "dispatched",
          "dispatched_backbone", "dispatched_pe_art", "loan_host", "loan_host_backbone", "loan_home",
          "loan_home_backbone", "classes")
"""What a closing section hands to its receiver (module notes, rule 2): every count of pupils and teachers."""
EMPTY_AFTER = ("students", "teachers", "qualified", "backbone", "pe_art", "special_post", "dispatched",
               "loan_host", "loan_home", "section_quota")
"""What a closed section must never hold again: no pupils, teachers, contracts, dispatched, loans or posts."""


def _golden(rule: int, *, horizon: int | None = None):
    changes: dict[str, object] = {"levers.network.size_rule_pupils": rule}
    if horizon is not None:
        changes["horizon"] = horizon
    return replace(load_scenario(GOLDEN), changes)


def _advance(model, streams, params, st: State, years: range, after_step=None) -> None:
    for year in years:
        for step in steps_for("cohort"):
            if step.acts(model.scenario, year):
                step.function(model, st, params, Random(streams, 0, BLOCK_SIZE, year), year)
                if after_step is not None:
                    after_step(step.name, year)


def _county_totals(model, st: State, name: str) -> np.ndarray:
    value = np.asarray(getattr(st, name), dtype=np.float64)
    out = np.zeros((value.shape[0], model.sections.n_counties, *value.shape[2:]))
    np.add.at(out, (slice(None), model.sections.county), value)
    return out


@pytest.fixture(scope="module")
def before_closing():
    """The golden scenario with a size rule of 100 pupils, run to 2026 and the pupils of 2027 (the step
    ``students``), just before the ``network`` step of 2027 (pupils fall: sections close from about 2024)."""
    scenario = _golden(100)
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    params = sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    st = initial_state(model, BLOCK_SIZE, params["teachers.female_share"])
    first = scenario.start_year
    year = 2027
    _advance(model, streams, params, st, range(first, year))
    steps = steps_for("cohort")
    steps[0].function(model, st, params, Random(streams, 0, BLOCK_SIZE, year), year)
    assert steps[0].name == "students" and steps[1].name == "network"
    return model, streams, params, st, year


def test_closing_conserves_every_county_total_and_empties_the_closed(before_closing):
    model, _, params, st0, year = before_closing
    st = State(**{f.name: np.array(getattr(st0, f.name), copy=True) for f in dataclasses.fields(st0)})
    step_network(model, st, params, None, year)  # type: ignore[arg-type]  # no random numbers
    s = model.sections
    assert st0.closed.any(), "sections closed before 2027 (pupils fall, many primary sections are small)"
    closed = st.closed & ~st0.closed  # closing this year
    assert closed.any(), "the golden county with 76 primary sections has sections falling below 100 pupils"
    # by the rules: never a teaching point (kept by default), never a section of 100 pupils or more
    pupils_before = section_total(st0.students)
    assert not (closed & s.teaching_point[None, :]).any()
    assert (pupils_before[closed] < 100).all()
    for name in (*MERGED, "section_quota"):
        np.testing.assert_allclose(_county_totals(model, st, name), _county_totals(model, st0, name),
                                   err_msg=name)
        assert not np.asarray(getattr(st, name))[st.closed].any(), name
    # the receiver is the largest section of the county and level: it holds at least what the closed held
    for d, i in zip(*np.nonzero(closed), strict=True):
        same = (s.county == s.county[i]) & (s.level == s.level[i]) & ~closed[d]
        assert section_total(st.students)[d][same].max() >= pupils_before[d, i]


def test_closed_sections_receive_no_pupils_teachers_posts_dispatch_or_rotation(before_closing):
    model, streams, params, st0, year = before_closing
    st = State(**{f.name: np.array(getattr(st0, f.name), copy=True) for f in dataclasses.fields(st0)})
    steps = steps_for("cohort")
    for step in steps[1:]:  # the rest of the year, then four more years with every lever acting
        if step.acts(model.scenario, year):
            step.function(model, st, params, Random(streams, 0, BLOCK_SIZE, year), year)
    first_closed = st.closed.copy()
    assert first_closed.any()
    seen: set[str] = set()

    def check(name: str, y: int) -> None:
        assert (st.closed >= first_closed).all(), "a closed section reopened"
        for attr in EMPTY_AFTER:
            assert not np.asarray(getattr(st, attr))[st.closed].any(), f"{attr} in a closed section after {name} {y}"
        seen.add(name)

    _advance(model, streams, params, st, range(year + 1, year + 6), after_step=check)
    # every step that could put someone into a section ran: intake, drift, hiring, dispatch, rotation, quota
    assert {"students", "teacher_exits", "quota", "redeployment", "recruitment", "rotation",
            "dispatch_arrivals"} <= seen
    assert st.closed.sum() > first_closed.sum(), "more sections close as pupils fall"
    assert seen >= {"network"}


def test_a_size_rule_that_closes_nothing_leaves_the_results_bit_identical():
    # the rule set at the smallest non-teaching-point section of the default run over a short horizon: a
    # section closes only strictly below the rule, so none closes, and the step draws no random numbers
    scenario = _golden(0, horizon=2026)
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    params = sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    st = initial_state(model, BLOCK_SIZE, params["teachers.female_share"])
    smallest: list[int] = []

    def low(name: str, year: int) -> None:
        if name == "students":
            pupils = section_total(st.students)[:, ~model.sections.teaching_point]
            smallest.append(int(pupils.min()))

    _advance(model, streams, params, st, range(scenario.start_year, scenario.horizon + 1), after_step=low)
    rule = min(smallest)
    assert rule > 1  # the rule is really consulted: a positive size that every section meets
    base = run_chunk(model, streams, 0, BLOCK_SIZE)
    other = _golden(rule, horizon=2026)
    same = run_chunk(prepare(other), Streams(other.seed), 0, BLOCK_SIZE)
    assert base.keys() == same.keys()
    for name in base:
        np.testing.assert_array_equal(base[name], same[name], err_msg=name)
    # and one pupil more closes some section: the test can fail
    bigger = _golden(rule + 100, horizon=2026)
    moved = run_chunk(prepare(bigger), Streams(bigger.seed), 0, BLOCK_SIZE)
    assert not np.array_equal(base["schools_primary"], moved["schools_primary"])


def test_the_agent_engine_moves_every_teacher_of_a_closing_section_and_keeps_the_county_totals():
    from sim import agents as A

    scenario = replace(load_scenario(GOLDEN), {"levers.network.size_rule_pupils": 300, "horizon": 2026,
                                               "levers.network.build_before_close": False,  # close at once
                                               "baseline.counties": ["653121"], "draws": 1})
    model = prepare(scenario)
    draw = A._Draw(model, Streams(scenario.seed), 0, False)
    seen: list[int] = []
    network = draw.network

    def watched(year: int) -> None:  # around each network phase: county teachers kept, none left in the closed
        before = np.bincount(model.sections.county[draw.t.section], minlength=model.sections.n_counties)
        network(year)
        after = np.bincount(model.sections.county[draw.t.section], minlength=model.sections.n_counties)
        np.testing.assert_array_equal(before, after)
        assert not draw.st.closed[0][draw.t.section].any()
        seen.append(int(draw.st.closed.sum()))

    draw.network = watched  # type: ignore[method-assign]
    draw.run()
    assert seen and seen[-1] > 0, "sections under 300 pupils close in a county of 76 primary sections"
    assert not draw.st.closed[0][draw.t.section].any(), "no teacher, hired or dispatched, in a closed section"
    on_loan = draw.t.return_year > 0
    assert not draw.st.closed[0][draw.t.home_section[on_loan]].any()


def test_closures_do_not_depend_on_the_chunking():
    # two random blocks in one chunk against one chunk per block: per-draw arrays (the intake's location shares
    # without the closed locations) must be sliced with their block
    scenario = _golden(100, horizon=2029)
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    whole = run_chunk(model, streams, 0, 2 * BLOCK_SIZE)
    parts = [run_chunk(model, streams, a, a + BLOCK_SIZE) for a in (0, BLOCK_SIZE)]
    assert whole["schools_primary"][:, -1].sum() < whole["schools_primary"][:, 0].sum()  # sections closed
    for name in whole:
        np.testing.assert_array_equal(whole[name], np.concatenate([p[name] for p in parts]), err_msg=name)


def _copy(st0: State) -> State:
    return State(**{f.name: np.array(getattr(st0, f.name), copy=True) for f in dataclasses.fields(st0)})


def test_build_before_close_admits_a_closure_only_where_the_receiver_has_the_rooms(before_closing):
    """先建后撤 (the default): recomputed by hand from the norm (ceil(pupils / 45 or 50) per grade) for every
    receiver: its closures happen iff its classrooms (with those finishing this year) hold the classes of its own
    and its closing sections' pupils; a waiting receiver starts the missing rooms less those under construction
    (build share 1 in the golden scenario)."""
    model, _, params, st0, year = before_closing
    assert model.scenario.levers.network.build_before_close and model.scenario.levers.classes.build_share == 1.0
    s = model.sections
    candidates = nw.closures(section_total(st0.students), 100, s.county, s.level, s.teaching_point,
                             keep_teaching_points=True, is_open=~st0.closed)
    st = _copy(st0)
    step_network(model, st, params, None, year)  # type: ignore[arg-type]  # no random numbers
    limit = np.where(s.level == 0, 45, 50)
    admitted = waited = 0
    for d in range(st0.students.shape[0]):
        for r in np.unique(candidates.receiver[d][candidates.closing[d]]):
            into = np.flatnonzero(candidates.closing[d] & (candidates.receiver[d] == r))
            pupils = st0.students[d, r] + st0.students[d, into].sum(axis=0)
            wanted = int(sum(-(-int(n) // int(limit[r])) for n in pupils))
            rooms = int(st0.classrooms[d, r] + st0.classroom_pipeline[d, r, 0])
            if wanted <= rooms:
                admitted += 1
                assert st.closed[d, into].all() and st.receiver_rooms_started[d, r] == 0
            else:
                waited += 1
                assert not st.closed[d, into].any()
                expected = max(wanted - rooms - int(st0.classroom_pipeline[d, r, 1:].sum()), 0)
                assert st.receiver_rooms_started[d, r] == expected
    assert waited > 0, "some receivers lack the rooms in 2027: the rule is consulted"
    assert not (st.closed & ~st0.closed & ~candidates.closing).any()


def test_equipment_moves_with_a_closure_and_county_totals_are_kept(before_closing):
    model, _, params, st0, year = before_closing
    off = replace(model.scenario, {"levers.network.build_before_close": False})
    st = _copy(st0)
    m = dataclasses.replace(model, scenario=off)
    step_network(m, st, params, None, year)  # type: ignore[arg-type]
    closing = st.closed & ~st0.closed
    assert closing.any()
    share = params["network.equipment_moved_share"]
    assert ((share >= 0.5) & (share <= 1.0)).all()
    for name in ("equipment_value_cny", "multimedia_rooms"):
        np.testing.assert_allclose(_county_totals(model, st, name), _county_totals(model, st0, name), err_msg=name)
        left = np.asarray(getattr(st0, name)) * (1.0 - share[:, None])
        np.testing.assert_allclose(np.asarray(getattr(st, name))[closing], left[closing], err_msg=name)
