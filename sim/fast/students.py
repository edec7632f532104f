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

import math
from typing import Any

import numpy as np
from numba import njit

from sim.fast import noise
from sim.mechanisms import students
from sim.mechanisms.students import group_members

LAST_PRIMARY = students.LAST_PRIMARY_GRADE_INDEX
LAST = students.LAST_GRADE_INDEX


@njit(cache=True)
def _promote(stock: Any, p_drop: Any, log1m: Any, u: Any, county: Any, last_primary: int, last: int, new: Any,
             dropouts: Any, primary_graduates: Any, completers: Any) -> None:  # pragma: no cover - compiled
    """Per (draw, section): dropouts ``Binomial(pupils of grades 1–8, p_drop)`` split over those grades by
    systematic sampling (``u[…, 0]`` the total, ``u[…, 1]`` the split), the survivors promoted into ``new``;
    county sums of dropouts, grade-6 completers and grade-9 completers."""
    d_n, s_n, g_n = stock.shape
    for d in range(d_n):
        q = p_drop[d]
        for s in range(s_n):
            n = 0
            for g in range(last):
                n += stock[d, s, g]
            total = noise.binomial_small_p(u[d, s, 0], n, q, log1m[d])
            c = county[s]
            dropouts[d, c] += total
            scale = total / n if n > 0 else 0.0
            run = 0.0
            before = 0
            for g in range(g_n):
                k = stock[d, s, g]
                part = 0
                if g < last and total > 0:
                    run += k * scale
                    upto = min(max(math.ceil(run - u[d, s, 1]) if g < last - 1 else total, before), total)
                    part = min(upto - before, k)
                    before += part
                survivors = k - part
                if g == last_primary:
                    primary_graduates[d, c] += survivors
                elif g == last:
                    completers[d, c] += survivors
                else:
                    new[d, s, g + 1] = survivors


def promote_to(stock: np.ndarray, survival: np.ndarray, u: np.ndarray, county: np.ndarray,
               n_counties: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One school year of dropout and promotion: ``(new stock with grades 1 and 7 empty, dropouts, grade-6
    completers, grade-9 completers)``, the last three summed by county ``(D, C)``."""
    d = stock.shape[0]
    p_drop = np.ascontiguousarray(1.0 - np.broadcast_to(survival, (d,)), dtype=np.float64)
    new = np.zeros_like(stock)
    sums = np.zeros((3, d, n_counties), dtype=np.int64)
    log1m = np.log1p(-np.minimum(p_drop, 0.5))  # unused where p_drop > 1/2
    _promote(np.ascontiguousarray(stock, dtype=np.int64), p_drop, log1m, u, county, LAST_PRIMARY, LAST, new,
             sums[0], sums[1], sums[2])
    return new, sums[0], sums[1], sums[2]


@njit(cache=True)
def _drift(stock: Any, rate: Any, log1m: Any, u: Any, u_in: Any, county: Any, rural: Any, members: Any,
           start: Any, size: Any, n_counties: int) -> None:  # pragma: no cover - compiled
    """Rural → town/urban drift in place (see :func:`drift`)."""
    d_n, s_n, g_n = stock.shape
    room = np.zeros((n_counties, g_n))
    pool = np.zeros((n_counties, g_n), np.int64)
    for d in range(d_n):
        room[:] = 0.0
        pool[:] = 0
        for s in range(s_n):
            if not rural[s]:
                for g in range(g_n):
                    room[county[s], g] += stock[d, s, g]
        for s in range(s_n):
            if not rural[s]:
                continue
            c = county[s]
            n = 0
            for g in range(g_n):
                if room[c, g] > 0.0:
                    n += stock[d, s, g]
            total = noise.binomial_small_p(u[d, s, 0], n, rate[d], log1m[d])
            if total == 0:
                continue
            scale = total / n
            run = 0.0
            before = 0
            for g in range(g_n):
                if room[c, g] <= 0.0:
                    continue
                k = stock[d, s, g]
                run += k * scale
                upto = min(max(math.ceil(run - u[d, s, 1]), before), total)
                part = min(upto - before, k)
                before += part
                stock[d, s, g] -= part
                pool[c, g] += part
            if before < total:  # rounding at the end of the running sum: the last grades with pupils take the rest
                for g in range(g_n - 1, -1, -1):
                    if room[c, g] > 0.0 and before < total:
                        extra = min(total - before, stock[d, s, g])
                        stock[d, s, g] -= extra
                        pool[c, g] += extra
                        before += extra
        for c in range(n_counties):
            for g in range(g_n):
                n = pool[c, g]
                if n == 0:
                    continue
                scale = n / room[c, g]
                run = 0.0
                before = 0
                last_with_room = -1
                for j in range(size[c]):
                    if stock[d, members[start[c] + j], g] > 0:
                        last_with_room = j
                for j in range(last_with_room + 1):
                    s = members[start[c] + j]
                    run += stock[d, s, g] * scale
                    upto = n if j == last_with_room else min(max(math.ceil(run - u_in[d, c, g]), before), n)
                    stock[d, s, g] += upto - before
                    before = upto


def drift(stock: np.ndarray, rate: np.ndarray, location: np.ndarray, county: np.ndarray, n_counties: int,
          u: np.ndarray, u_in: np.ndarray) -> np.ndarray:
    """Rural → town/urban moves within each county, in place on ``stock`` ``(D, S, G)`` (returned).

    Movers of a rural section: ``Binomial(pupils in grades that the county's town and urban sections teach,
    rate)`` (exactly the law of the exact step's cell binomials summed, as they share the rate), split over
    those grades by systematic sampling; where no town or urban section of the county has pupils in a grade,
    nobody of that grade moves. Each county's movers of a grade go to its town and urban sections in proportion
    to their pupils in that grade, by systematic sampling (conserved per county and grade; arrivals within one
    pupil of their expectation).
    """
    d = stock.shape[0]
    r = np.ascontiguousarray(np.broadcast_to(rate, (d,)), dtype=np.float64)
    rural = location == students.RURAL
    members = group_members(np.where(rural, -1, county), n_counties)
    _drift(stock, r, np.log1p(-np.minimum(r, 0.5)), u, u_in, county, rural, *members, n_counties)
    return stock


def place(n_by_group: np.ndarray, weights: np.ndarray, group: np.ndarray, n_groups: int,
          u: np.ndarray) -> np.ndarray:
    """``(D, G)`` entrants over the sections of each group (``group`` ``(S,)``, −1 for none) by the multinomial
    with ``weights`` ``(D, S)``; a group whose sections all have zero weight shares equally."""
    w = students._equal_if_empty(weights, group, n_groups)
    return noise.place_multinomial(n_by_group, w, *group_members(group, n_groups), u)


def step_students(m: Any, st: Any, p: dict[str, np.ndarray], r: Any, year: int) -> None:
    """Students' step of the fast engine: same inputs, state changes and records as
    :func:`sim.cohort.step_students`."""
    s = m.sections
    n_s, n_c = s.n_sections, s.n_counties
    survival = students.survival_per_transition(p["students.consolidation_rate"])
    u = noise.uniforms(r, "students.promote", (n_s, 2))
    new, dropouts, grads, completers = promote_to(st.students, survival, u, s.county, n_c)
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
    st.student_exits = dropouts + completers
    new[:, :, 0] = grade1
    new[:, :, LAST_PRIMARY + 1] = grade7
    st.students = drift(new, np.asarray(p["students.urbanisation_drift_per_year"], dtype=np.float64), s.location,
                        s.county, n_c, noise.uniforms(r, "students.urbanisation", (n_s, 2)),
                        noise.uniforms(r, "students.urbanisation_placement", (n_c, students.N_GRADES)))
