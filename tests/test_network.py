"""School network rules (issue 15 item 2, not wired into the engines yet): :mod:`sim.mechanisms.network`."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms import network as nw


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
