"""Classes follow enrolment (issue 15 item 1): hand-derived cases of :mod:`sim.mechanisms.classes`, the step
``classes`` on a hand-built section, and the engine (common random numbers, conservation of classrooms)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cohort import prepare
from sim.ensemble import run_draws
from sim.mechanisms import classes as cm
from sim.scenario import ClassesLever, as_mapping, load_scenario, scenario_from_mapping
from sim.steps import step_classes
from sim.vocabulary import PRIMARY

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL_COUNTIES = ["653131", "653227", "650522"]


# ------------------------------------------------------------------------------------------------------------
# the norm and the classrooms


def test_the_norm_opens_ceil_pupils_over_the_limit_classes():
    # 45 → 1, 46 → 2, 90 → 2, 91 → 3 in primary (limit 45); 50 → 1, 51 → 2 in junior (limit 50)
    assert cm.classes_by_norm(np.array([[45, 46, 90, 91, 0]]), np.array([45])).tolist() == [[1, 2, 2, 3, 0]]
    assert cm.classes_by_norm(np.array([[50, 51, 100]]), np.array([50])).tolist() == [[1, 2, 2]]


def test_a_section_whose_pupils_halve_loses_the_classes_the_norm_says():
    # six grades of 180 pupils: 4 classes each (24); halved to 90: ceil(90 / 45) = 2 each (12)
    limit = np.array([45])
    before = cm.form_classes(np.full((1, 6), 180), np.array([24]), limit)
    after = cm.form_classes(np.full((1, 6), 90), np.array([24]), limit)
    assert before.classes.tolist() == [[4] * 6] and after.classes.tolist() == [[2] * 6]
    assert cm.largest_class(np.full((1, 6), 90), after.classes).tolist() == [45]


def test_classrooms_bound_the_classes_and_the_largest_class_is_as_small_as_they_allow():
    # grades of 100 and 50 want 3 + 2 = 5 classes; 3 rooms: (2, 1) gives classes of 50 and 50, the best possible
    formed = cm.form_classes(np.array([[100, 50]]), np.array([3]), np.array([45]))
    assert formed.classes.tolist() == [[2, 1]] and formed.wanted.tolist() == [5]
    assert cm.largest_class(np.array([[100, 50]]), formed.classes).tolist() == [50]


def test_a_grade_with_pupils_keeps_a_class_even_without_a_room():
    formed = cm.form_classes(np.array([[10, 12, 8, 0]]), np.array([1]), np.array([45]))
    assert formed.classes.tolist() == [[1, 1, 1, 0]]


def _greedy_largest(pupils: list[int], rooms: int) -> int:
    """Largest class when rooms are given one by one to the grade with the largest class (optimal for the max)."""
    count = [1 if p > 0 else 0 for p in pupils]
    for _ in range(max(rooms - sum(count), 0)):
        sizes = [-(-p // c) if c else 0 for p, c in zip(pupils, count, strict=True)]
        count[int(np.argmax(sizes))] += 1
    return max((-(-p // c) if c else 0 for p, c in zip(pupils, count, strict=True)), default=0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=1, max_size=9), st.integers(0, 60), st.sampled_from([45, 50]))
def test_formed_classes_keep_the_bounds_and_are_optimal(pupils, rooms, limit):
    p = np.array([pupils])
    formed = cm.form_classes(p, np.array([rooms]), np.array([limit]))
    classes = formed.classes[0]
    has = p[0] > 0
    assert np.all(classes[has] >= 1) and np.all(classes[~has] == 0)
    norm = cm.classes_by_norm(p, np.array([limit]))[0]
    if norm.sum() <= max(rooms, has.sum()):
        assert classes.tolist() == norm.tolist()  # rooms enough: the norm's classes
    else:
        assert classes.sum() <= max(rooms, has.sum())  # the classrooms bound
        assert int(cm.largest_class(p, formed.classes)[0]) == _greedy_largest(pupils, max(rooms, int(has.sum())))
    assert int(cm.largest_class(p, formed.classes)[0]) <= max(limit, int(p.max()))


# ------------------------------------------------------------------------------------------------------------
# rooms shared in a school, construction


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
                min_size=1, max_size=6))
def test_rooms_lent_within_a_nine_year_school_are_conserved_and_never_leave_a_part_short(rows):
    wanted = np.array([[r[0], r[1]] for r in rows]).reshape(1, -1)
    rooms = np.array([[r[2], r[3]] for r in rows]).reshape(1, -1)
    pairs = cm.school_pairs(np.repeat(np.arange(len(rows)), 2))
    after = cm.share_rooms_in_school(wanted, rooms, pairs)
    school_total = lambda x: x.reshape(-1, 2).sum(axis=1)  # noqa: E731
    np.testing.assert_array_equal(school_total(after), school_total(rooms))
    # a part gives only rooms it does not need, and a part that had enough still has enough
    assert np.all(after >= np.minimum(rooms, wanted))
    # after lending, a school misses only what it misses as a whole
    missing = np.maximum(wanted - after, 0).reshape(-1, 2).sum(axis=1)
    np.testing.assert_array_equal(missing, np.maximum(school_total(wanted) - school_total(rooms), 0))


def test_missing_classrooms_are_started_once_and_in_use_after_the_lag():
    pipe = cm.empty_construction(2, 1, 3)
    lag = np.array([0, 2])
    wanted, rooms = np.array([[10], [10]]), np.array([[6], [6]])
    arrivals = []
    for _ in range(4):
        started = cm.classrooms_to_start(wanted, rooms, pipe.sum(axis=2), 1.0)
        arrived, pipe = cm.advance_construction(started, pipe, lag)
        rooms = rooms + arrived
        arrivals.append(arrived[:, 0].tolist())
    # draw 0 (lag 0): the 4 missing rooms in use the first year; draw 1 (lag 2): started once, in use 2 years later
    assert [a[0] for a in arrivals] == [4, 0, 0, 0]
    assert [a[1] for a in arrivals] == [0, 0, 4, 0]
    assert rooms[:, 0].tolist() == [10, 10] and pipe.sum() == 0


def test_a_build_share_below_one_spreads_the_gap_over_years():
    assert cm.classrooms_to_start(np.array([10]), np.array([6]), np.array([0]), 0.5).tolist() == [2]
    assert cm.classrooms_to_start(np.array([10]), np.array([6]), np.array([0]), 0.0).tolist() == [0]
    with pytest.raises(ValueError, match="build_share"):
        cm.classrooms_to_start(np.array([1]), np.array([0]), np.array([0]), 1.5)


# ------------------------------------------------------------------------------------------------------------
# the step on a hand-built primary section


def _hand_built(pupils_per_grade: int, rooms: int, lever: ClassesLever, lag: int = 1):
    sections = SimpleNamespace(level=np.array([PRIMARY]), school=np.array([0]), county=np.array([0]), n_counties=1)
    m = SimpleNamespace(sections=sections, standard=SimpleNamespace(class_size_max={"primary": 45, "junior": 50}),
                        scenario=SimpleNamespace(start_year=2020, levers=SimpleNamespace(classes=lever)))
    students = np.zeros((1, 1, 9), np.int64)
    students[0, 0, :6] = pupils_per_grade
    state = SimpleNamespace(students=students, classrooms=np.array([[rooms]]), classes=np.zeros((1, 1, 9), np.int64),
                            classroom_pipeline=cm.empty_construction(1, 1, 3), classrooms_started=np.zeros((1, 1)),
                            receiver_rooms_started=np.zeros((1, 1), np.int64),
                            largest_class=np.zeros((1, 1)), classes_short_of_rooms=np.zeros((1, 1)))
    return m, state, {"facilities.construction_lag_years": np.array([float(lag)])}


def test_the_step_follows_pupils_down_and_builds_when_they_grow():
    m, s, p = _hand_built(90, 12, ClassesLever())
    step_classes(m, s, p, None, 2020)
    assert s.classes[0, 0, :6].tolist() == [2] * 6
    s.students[0, 0, :6] = 45  # pupils halve: one class per grade, the rooms stay
    step_classes(m, s, p, None, 2021)
    assert s.classes[0, 0].sum() == 6 and s.classrooms.tolist() == [[12]]
    s.students[0, 0, :6] = 135  # pupils triple: the norm wants 18 classes, 12 rooms: 6 started, in use next year
    step_classes(m, s, p, None, 2022)
    assert s.classes[0, 0].sum() == 12 and s.classrooms_started.tolist() == [[6]]
    assert s.largest_class.tolist() == [[68]] and s.classes_short_of_rooms.tolist() == [[6]]  # ceil(135 / 2)
    step_classes(m, s, p, None, 2023)
    assert s.classes[0, 0, :6].tolist() == [3] * 6 and s.classrooms.tolist() == [[18]]


def test_fixed_classes_keep_the_start_year_classes_and_build_nothing():
    m, s, p = _hand_built(90, 12, ClassesLever(follow_enrolment=False))
    step_classes(m, s, p, None, 2020)
    s.students[0, 0, :6] = 135
    step_classes(m, s, p, None, 2021)
    assert s.classes[0, 0].sum() == 12 and s.classrooms_started.tolist() == [[0]]
    assert s.classroom_pipeline.sum() == 0


# ------------------------------------------------------------------------------------------------------------
# the engine


def _small(**classes: object):
    data = as_mapping(load_scenario(SCENARIOS / "baseline.yaml"))
    data.update(draws=64, chunk_size=64, horizon=2028)
    data["baseline"]["counties"] = SMALL_COUNTIES
    data["levers"]["classes"] = dict(classes)
    model = prepare(scenario_from_mapping(data, base_dir=SCENARIOS))
    return model, run_draws(model, 0, 64)


CLASS_RECORDS = {"classes_primary", "classes_junior", "classrooms", "classes_short_of_rooms", "classrooms_started",
                 "guarantee_failed", "guarantee_met", "quality_balanced"}
"""Records the classes can change: the class-size item of the guarantee and so certification."""


def test_class_formation_draws_no_random_numbers():
    """Common random numbers: fixed or following classes change the class records only; with fixed classes the
    build share (which then builds nothing) leaves every record bit-identical."""
    _, follow = _small()
    _, fixed = _small(follow_enrolment=False)
    _, fixed_other = _small(follow_enrolment=False, build_share=0.3)
    for name in fixed:
        np.testing.assert_array_equal(fixed[name], fixed_other[name])
        if name not in CLASS_RECORDS:
            np.testing.assert_array_equal(fixed[name], follow[name])
    assert not np.array_equal(fixed["classes_junior"], follow["classes_junior"])


def test_classrooms_are_the_start_rooms_plus_those_started_and_classes_follow_pupils():
    model, raw = _small()
    start_rooms = model.sections.classes.sum()
    started = raw["classrooms_started"].sum(axis=2)  # (D, year)
    in_use = raw["classrooms"].sum(axis=2)
    # rooms in use never exceed the start rooms plus all started so far, and never fall
    assert np.all(in_use <= start_rooms + np.cumsum(started, axis=1))
    assert np.all(np.diff(in_use, axis=1) >= 0)
    assert np.all(in_use[:, 0] == start_rooms)
    # a class has a pupil; in a county with rooms enough, at least the norm's classes (Σ ceil ≥ ceil of Σ)
    for name, limit in (("primary", 45), ("junior", 50)):
        pupils, classes = raw[f"students_{name}"], raw[f"classes_{name}"]
        assert np.all(classes <= pupils)
        enough = raw["classes_short_of_rooms"] == 0
        assert np.all(classes[enough] >= np.ceil(pupils[enough] / limit))
        assert enough.any() and (~enough).any()  # both cases occur in these counties and years


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 400), min_size=9, max_size=9), st.integers(0, 60),
                          st.sampled_from([45, 50])), min_size=1, max_size=8))
def test_the_compiled_pass_gives_the_reference_numbers(rows):
    """:func:`form_and_measure` and :func:`wanted_classes` (compiled) against the numpy reference functions."""
    pupils = np.array([[r[0] for r in rows]], dtype=np.int64)
    rooms = np.array([[r[1] for r in rows]], dtype=np.int64)
    limit = np.array([r[2] for r in rows], dtype=np.int64)
    reference = cm.form_classes(pupils, rooms, limit)
    classes, largest = cm.form_and_measure(pupils, rooms, limit)
    np.testing.assert_array_equal(classes, reference.classes)
    np.testing.assert_array_equal(largest, cm.largest_class(pupils, reference.classes))
    np.testing.assert_array_equal(cm.wanted_classes(pupils, limit), reference.wanted)
