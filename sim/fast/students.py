"""Step 1 of the fast engine, students: the rules of :func:`sim.cohort.step_students` with section-level noise.

The same model as the exact step (:mod:`sim.mechanisms.students`): dropout by grade at the consolidation rate
(grade 9 drops nobody), promotion, grade-6 completers entering grade 7 in their county's junior sections,
grade-1 intake from the births of ``year − 6`` (Poisson per county, split among urban, town and rural: the
same county-level streams and functions as the exact step), urbanisation drift of rural pupils to the town and
urban sections of their county. What changes is how the section-level randomness is drawn
(:mod:`sim.fast.noise`):

* dropout: one total per section (``Binomial(pupils of grades 1–8, 1 − s)``, exactly the law of the sum of the
  exact step's cell binomials, which share one probability), split over the grades by systematic sampling;
* grade-1 and grade-7 entrants: successive conditional binomials over the sections of each (county, location)
  or county: exactly the exact step's multinomial;
* drift: one total per rural section (``Binomial(pupils, rate)``, again the exact law of the sum), split over
  the grades by systematic sampling; each county's movers of a grade are placed over its town and urban
  sections in proportion to their pupils in that grade by systematic sampling (conserved per county and
  grade; the arrivals' spread is at most one pupil per section instead of multinomial — an approximation of
  the fast engine, tested by the paired comparison with the exact engine).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.fast import noise
from sim.mechanisms import students
from sim.mechanisms.students import group_members

LAST_PRIMARY = students.LAST_PRIMARY_GRADE_INDEX
LAST = students.LAST_GRADE_INDEX


def promote(stock: np.ndarray, survival: np.ndarray, u: np.ndarray) -> students.PromotionFlows:
    """Dropout (one total per section, split over grades 1–8), then promotion: :class:`PromotionFlows` of the
    exact :func:`sim.mechanisms.students.promote`."""
    d, _, g = stock.shape
    p_drop = np.zeros((d, 1, g))
    p_drop[:, 0, :LAST] = (1.0 - survival)[:, None]
    dropouts = noise.cell_flows(stock, p_drop, u)
    survivors = stock - dropouts
    promoted = np.zeros_like(stock)
    graduates = np.zeros_like(stock)
    promoted[:, :, 1:] = survivors[:, :, :-1]
    promoted[:, :, LAST_PRIMARY + 1] = 0  # grade-6 survivors leave the primary section
    graduates[:, :, LAST_PRIMARY] = survivors[:, :, LAST_PRIMARY]
    graduates[:, :, LAST] = survivors[:, :, LAST]
    return students.PromotionFlows(promoted, dropouts, graduates)


def place(n_by_group: np.ndarray, weights: np.ndarray, group: np.ndarray, n_groups: int,
          u: np.ndarray) -> np.ndarray:
    """``(D, G)`` entrants over the sections of each group (``group`` ``(S,)``, −1 for none) by the multinomial
    with ``weights`` ``(D, S)``; a group whose sections all have zero weight shares equally."""
    w = students._equal_if_empty(weights, group, n_groups)
    return noise.place_multinomial(n_by_group, w, *group_members(group, n_groups), u)


def drift(stock: np.ndarray, rate: np.ndarray, location: np.ndarray, county: np.ndarray, n_counties: int,
          u_out: np.ndarray, u_in: np.ndarray) -> students.DriftFlows:
    """Rural → town/urban moves within each county (see the module docstring); where a (county, grade) has no
    town or urban pupils in that grade, nobody moves."""
    rural = location == students.RURAL
    prob = np.where(rural[None, :, None], rate[:, None, None], 0.0)
    moved_out = noise.cell_flows(stock, prob, u_out)
    receiving = np.where(rural[None, :, None], 0, stock)
    room = students.county_totals(receiving, county, n_counties) > 0  # (D, C, G)
    moved_out *= room[:, county, :]
    pool = students.county_totals(moved_out, county, n_counties)
    members = group_members(np.where(rural, -1, county), n_counties)
    moved_in = noise.place_systematic(pool, receiving, *members, u_in)
    return students.DriftFlows(moved_out, moved_in)


def step_students(m: Any, st: Any, p: dict[str, np.ndarray], r: Any, year: int) -> None:
    """Students' step of the fast engine: same inputs, state changes and records as
    :func:`sim.cohort.step_students`."""
    s = m.sections
    n_s, n_c = s.n_sections, s.n_counties
    survival = students.survival_per_transition(p["students.consolidation_rate"])
    flows = promote(st.students, survival, noise.uniforms(r, "students.promote", (n_s, 2)))
    grads = students.primary_graduates_by_county(flows.graduates, s.county, n_c)
    expected = students.expected_intake_from_births(year, m.census_by_age, p["births.trend_per_year"],
                                                    anchor_births=m.anchor_births)
    intake = r.apply("students.intake", students.realise_intake, expected)
    by_location = r.apply("students.intake_location", students.split_by_location, intake,
                          location_share=m.intake_location_share)
    d = by_location.shape[0]
    primary_group = np.where(s.level == 0, s.county * students.N_LOCATIONS + s.location, -1)
    grade1 = place(by_location.reshape(d, -1), st.students[:, :, 0] + 1.0, primary_group,
                   n_c * students.N_LOCATIONS, noise.uniforms(r, "students.assign", (n_s,)))
    junior_group = np.where(s.level == 1, s.county, -1)
    grade7 = place(grads, st.students[:, :, 6] + 1.0, junior_group, n_c,
                   noise.uniforms(r, "students.junior_entry", (n_s,)))
    st.student_entries = students.county_totals(grade1, s.county, n_c)
    st.student_exits = students.county_totals(flows.dropouts.sum(axis=2) + flows.graduates[:, :, LAST], s.county, n_c)
    new = flows.promoted
    new[:, :, 0] += grade1
    new[:, :, LAST_PRIMARY + 1] += grade7
    moves = drift(new, np.asarray(p["students.urbanisation_drift_per_year"], dtype=np.float64), s.location,
                  s.county, n_c, noise.uniforms(r, "students.urbanisation", (n_s, 2)),
                  noise.uniforms(r, "students.urbanisation_placement", (n_c, students.N_GRADES)))
    new -= moves.moved_out
    new += moves.moved_in
    st.students = new
