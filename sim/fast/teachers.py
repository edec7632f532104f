"""Step 2 of the fast engine, teacher exits: the rules of :func:`sim.cohort.step_teacher_exits` with section noise.

The same model and order as the exact step (:mod:`sim.mechanisms.teachers`): retirement with the sex-specific
hazards mixed by each band's share of women, ageing of those left, voluntary attrition of the aged stock by
location and age (lowered in rural sections by the retention subsidy), the categories (qualified, backbone,
PE/art) and special-post contract years of the leavers, rural → town drift within the county carrying the
movers' categories and contracts, the end of special-post contracts (a share converts to regular posts, the
rest leave, with their categories), the end of dispatch terms. The county-level quantities (women's share,
dispatch terms) are computed by the exact step's functions. What changes is how the section-level randomness
is drawn (:mod:`sim.fast.noise`); all counts are teachers, all probabilities per school year.

* **Leavers** (retirement and attrition, :func:`leave_and_age`): ONE total per section. A teacher of band
  ``b`` leaves in the year with ``e_b = h_b + (1 − h_b)[a_b q_{b+1} + (1 − a_b) q_b]`` (retire with the
  hazard ``h_b``; else age up with ``a_b`` and face the attrition ``q`` of the band reached). Teachers are
  independent in the exact step, so a section's leavers are a Poisson-binomial sum over its teachers: one
  :func:`~sim.fast.noise.matched_total` with mean ``Σ n_b e_b`` and variance ``Σ n_b e_b (1 − e_b)`` has
  exactly its first two moments. Two terms (retirements, then attrition of the aged stock) would match them
  only up to the systematic split of the retirements over the bands, at twice the random numbers; the state
  keeps no difference between a retirement and an attrition, so one term is both closer and cheaper. The
  total is split over the bands of the start of the year by systematic sampling (weights ``n_b e_b``). Bands
  with ``e_b = 1`` (wholly above the statutory age) leave for sure, outside the random total: split in
  proportion, their certain exits would vary with the total and, capped by the band, fall short on average
  (the closed-form test by band catches that).
* **Ageing**: of the ``s_b`` teachers of band ``b`` still there, one total per section moves up with
  ``g_b = (1 − h_b) a_b (1 − q_{b+1}) / (1 − e_b)`` (the probability of having aged up given that one did not
  leave), split over the bands by systematic sampling; the expected stock of every band one year on is the
  exact step's.
* **Categories and contracts of leavers and movers** (:func:`remove_attributes`): per section and category
  one term, ``Hypergeometric(have, before − have, out)`` from one uniform
  (:func:`~sim.fast.noise.hypergeometric_from_uniform`: the exact law by inversion up to a mean of 30 — nearly
  every section here — the normal approximation with its mean and variance above), within its support
  ``max(0, out − before + have) … min(have, out)`` (so a category never exceeds the teachers who stay). It is
  the law of the exact step's draw and, for the one to three leavers of a typical section, cheaper than a
  moment-matched binomial (no power to compute). Special-post contract years one after the other, as the
  exact step (the leavers not yet given a year drawn among the teachers not in an earlier year).
* **Drift** (:func:`drift`): in rural sections of counties with a town or urban section, one total per
  section (``Binomial(teachers, rate)``, exactly the law of the sum of the exact step's cell binomials, which
  share one probability) split over the bands by systematic sampling. Each county's movers are placed over its
  town and urban sections (weights: registry teachers + 1, as the exact step) by **multinomial** placement
  (:func:`~sim.fast.noise.place_multinomial`): the exact step's per-band multinomials share their weights, so
  a section's arrivals are exactly ``Multinomial(movers, w / W)``; with tens of movers per county over a few tens of
  sections, the arrivals' binomial spread is of the order of the section's own exit noise, which systematic
  placement (spread ≤ 1) would lose: measured on the 2026 baseline state, systematic placement lowers the
  across-draw variance of town sections' teachers by 22–25% against the exact step, multinomial placement is
  within 1% (``tests/test_fast_teachers.py``). Its cost is one uniform per town or urban section. Given each
  section's arrivals, their bands are a systematic sample of the county's movers (a random rotation of the
  movers sorted by band: both margins conserved, each section's expected mix the county's), and so are the
  movers' categories and contract years among the arrivals (systematic sampling over the sections in
  proportion to arrivals not yet given a contract year).
* **Contract ends** (:func:`contract_ends`): leavers ``Binomial(third-year contracts, 1 − retention)`` (one
  term per section, the exact law), removed from the bands by systematic sampling in proportion to the
  bands (the exact step: a multivariate hypergeometric draw), their categories as above.

Random numbers: :func:`sim.fast.noise.uniforms` under the names ``teachers.<flow>`` listed in
:func:`teacher_exits`, each used for one purpose.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from sim import cohort
from sim.fast import noise
from sim.mechanisms import dispatch, students
from sim.mechanisms import teachers as tmech
from sim.mechanisms.students import group_members

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
N_BANDS = tmech.N_AGE_BANDS
N_CONTRACT_YEARS = 3


# ------------------------------------------------------------------------------------------------------------
# retirement, ageing and attrition


def exit_and_ageing_probabilities(retirement: FloatArray, ageing: FloatArray,
                                  attrition: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per (draw, location, band): the probability ``e`` that a teacher of the band leaves in the year
    (retirement or attrition), and the probability ``g`` that one who stays has moved up a band.

    ``retirement`` ``h`` and ``ageing`` ``a`` are ``(D, 9)`` (:func:`sim.mechanisms.teachers.
    mixed_retirement_and_ageing`; the last band's ageing is ignored), ``attrition`` ``q`` is ``(D, 3, 9)``
    by location and band reached. ``e_b = h_b + (1 − h_b)[a_b q_{b+1} + (1 − a_b) q_b]`` and
    ``g_b = (1 − h_b) a_b (1 − q_{b+1}) / (1 − e_b)`` (0 where ``e_b = 1``), both ``(D, 3, 9)``.
    """
    h = retirement[:, None, :]
    a = np.array(ageing, dtype=np.float64)
    a[:, -1] = 0.0
    a = a[:, None, :]
    q_next = np.zeros_like(attrition)
    q_next[..., :-1] = attrition[..., 1:]
    up = (1.0 - h) * a * (1.0 - q_next)
    e = h + (1.0 - h) * (a * q_next + (1.0 - a) * attrition)
    e = np.clip(e, 0.0, 1.0)
    stay = 1.0 - e
    g = np.where(stay > 0.0, up / np.where(stay > 0.0, stay, 1.0), 0.0)
    return e, np.clip(g, 0.0, 1.0)


@njit(cache=True)
def _leave_and_age(stock: Any, exit_p: Any, up_p: Any, location: Any, u_leave: Any, u_age: Any,
                   remaining: Any, leavers: Any) -> None:  # pragma: no cover - compiled
    d_n, s_n, b_n = stock.shape
    weights = np.empty(b_n)
    cap = np.empty(b_n, np.int64)
    part = np.empty(b_n, np.int64)
    up = np.empty(b_n, np.int64)
    for d in range(d_n):
        for s in range(s_n):
            loc = location[s]
            # leavers: bands that leave for sure (e = 1: above the statutory age) all go; the others give
            # one total with the moments of their teachers' exits, split over those bands
            mean = 0.0
            var = 0.0
            n = 0
            sure = 0
            for b in range(b_n):
                c = stock[d, s, b]
                e = exit_p[d, loc, b]
                if e >= 1.0:
                    sure += c
                    c = 0
                cap[b] = c
                weights[b] = c * e
                mean += c * e
                var += c * e * (1.0 - e)
                n += c
            total = noise.matched_total(u_leave[d, s, 0], mean, var, n)
            if total > 0:
                noise.systematic_split(total, weights, cap, u_leave[d, s, 1], part)
            else:
                part[:] = 0
            leavers[d, s] = total + sure
            if sure > 0:
                for b in range(b_n):
                    if exit_p[d, loc, b] >= 1.0:
                        part[b] = stock[d, s, b]
            # ageing of those still there: one total, split over the bands below the last
            mean = 0.0
            var = 0.0
            n = 0
            for b in range(b_n):
                c = stock[d, s, b] - part[b]
                g = up_p[d, loc, b] if b < b_n - 1 else 0.0
                cap[b] = c if b < b_n - 1 else 0
                weights[b] = c * g
                mean += c * g
                var += c * g * (1.0 - g)
                n += cap[b]
                remaining[d, s, b] = c
            total = noise.matched_total(u_age[d, s, 0], mean, var, n)
            if total == 0:
                continue
            noise.systematic_split(total, weights, cap, u_age[d, s, 1], up)
            for b in range(b_n - 1):
                remaining[d, s, b] -= up[b]
                remaining[d, s, b + 1] += up[b]


def leave_and_age(stock: npt.ArrayLike, exit_p: FloatArray, up_p: FloatArray, location: npt.ArrayLike,
                  u_leave: FloatArray, u_age: FloatArray) -> tuple[IntArray, IntArray]:
    """Leavers and ageing of a ``(D, S, 9)`` stock (module docstring): ``(remaining (D, S, 9), leavers (D, S))``.

    ``exit_p`` and ``up_p`` are ``(D, 3, 9)`` (:func:`exit_and_ageing_probabilities`), ``location`` ``(S,)``,
    ``u_leave`` and ``u_age`` ``(D, S, 2)`` uniforms (total, split). ``remaining.sum(-1) = stock.sum(-1) −
    leavers``; no band goes negative.
    """
    st = np.ascontiguousarray(stock, dtype=np.int64)
    remaining = np.empty_like(st)
    leavers = np.empty(st.shape[:2], dtype=np.int64)
    _leave_and_age(st, np.ascontiguousarray(exit_p), np.ascontiguousarray(up_p),
                   np.ascontiguousarray(location, dtype=np.int64), np.ascontiguousarray(u_leave),
                   np.ascontiguousarray(u_age), remaining, leavers)
    return remaining, leavers


# ------------------------------------------------------------------------------------------------------------
# categories and contract years of the teachers who go


@njit(cache=True)
def _remove_attributes(before: Any, out: Any, independent: Any, exclusive: Any, u: Any, ind_out: Any,
                       exc_out: Any, ind_lost: Any, exc_lost: Any) -> None:  # pragma: no cover - compiled
    d_n, s_n = before.shape
    a_n = independent.shape[2]
    j_n = exclusive.shape[2]
    for d in range(d_n):
        for s in range(s_n):
            b = before[d, s]
            k = out[d, s]
            for a in range(a_n):
                have = min(independent[d, s, a], b)
                lost = noise.hypergeometric_from_uniform(u[d, s, a], have, b, k)
                ind_out[d, s, a] = have - lost
                ind_lost[d, s, a] = lost
            room = b
            rest = b
            taken = k
            for j in range(j_n):
                slot = min(exclusive[d, s, j], room)
                room -= slot
                lost = noise.hypergeometric_from_uniform(u[d, s, a_n + j], slot, rest, taken)
                rest -= slot
                taken -= lost
                exc_out[d, s, j] = slot - lost
                exc_lost[d, s, j] = lost


class Attributes(NamedTuple):
    """Counts of :func:`remove_attributes`, each ``(D, S, ·)``."""

    independent: IntArray
    """Categories of the teachers who stay."""
    exclusive: IntArray
    """Contract years of the teachers who stay."""
    independent_lost: IntArray
    """Categories of the ``out`` teachers who go."""
    exclusive_lost: IntArray
    """Contract years of those who go."""


def remove_attributes(before: npt.ArrayLike, out: npt.ArrayLike, independent: npt.ArrayLike,
                      exclusive: npt.ArrayLike, u: FloatArray) -> Attributes:
    """Categories ``(D, S, A)`` and contract years ``(D, S, J)`` of ``out`` teachers leaving sections of
    ``before`` (``0 ≤ out ≤ before``), one :func:`~sim.fast.noise.hypergeometric_from_uniform` each (uniforms
    ``u`` ``(D, S, A + J)``).

    As :func:`sim.mechanisms.kernels.move_attributes`: categories are capped at ``before`` first, contract
    years at ``before`` earliest year first; the years are drawn one after the other among the leavers not yet
    given an earlier year. Counts kept are never above ``before − out``.
    """
    bf = np.ascontiguousarray(before, dtype=np.int64)
    o = np.ascontiguousarray(out, dtype=np.int64)
    if o.shape != bf.shape or np.any(o < 0) or np.any(o > bf):
        raise ValueError("out must have the shape of before and lie in 0 … before")
    ind = np.ascontiguousarray(independent, dtype=np.int64)
    exc = np.ascontiguousarray(exclusive, dtype=np.int64)
    result = Attributes(np.empty_like(ind), np.empty_like(exc), np.empty_like(ind), np.empty_like(exc))
    _remove_attributes(bf, o, ind, exc, np.ascontiguousarray(u, dtype=np.float64), *result)
    return result


# ------------------------------------------------------------------------------------------------------------
# rural → town drift


@njit(cache=True)
def _bands_of_arrivals(pool: Any, into: Any, members: Any, start: Any, size: Any, u: Any,
                       out: Any) -> None:  # pragma: no cover - compiled
    d_n, g_n, b_n = pool.shape
    for d in range(d_n):
        for g in range(g_n):
            total = 0
            for b in range(b_n):
                total += pool[d, g, b]
            if total <= 0:
                continue
            # the movers sorted by band on a circle of `total` places, read from a random place on
            offset = min(int(u[d, g] * total), total - 1)
            band = 0
            upto = pool[d, g, 0]  # places 0 … upto − 1 hold band `band`
            place = offset
            while place >= upto:
                band += 1
                upto += pool[d, g, band]
            for j in range(size[g]):
                s = members[start[g] + j]
                for _ in range(into[d, s]):
                    out[d, s, band] += 1
                    place += 1
                    if place == total:
                        place = 0
                        band = 0
                        upto = pool[d, g, 0]
                    while place >= upto:
                        band += 1
                        upto += pool[d, g, band]


@njit(cache=True)
def _place_attributes(ind_pool: Any, exc_pool: Any, into: Any, members: Any, start: Any, size: Any, u: Any,
                      ind_out: Any, exc_out: Any) -> None:  # pragma: no cover - compiled
    d_n, g_n, a_n = ind_pool.shape
    j_n = exc_pool.shape[2]
    largest = 1
    for g in range(g_n):
        largest = max(largest, size[g])
    weights = np.empty(largest)
    room = np.empty(largest, np.int64)
    part = np.empty(largest, np.int64)
    for d in range(d_n):
        for g in range(g_n):
            k = size[g]
            first = start[g]
            for a in range(a_n + j_n):
                n = ind_pool[d, g, a] if a < a_n else exc_pool[d, g, a - a_n]
                if a <= a_n:  # every category among all arrivals; contract years among those left
                    for j in range(k):
                        room[j] = into[d, members[first + j]]
                if n <= 0:
                    continue
                wk = weights[:k]
                rk = room[:k]
                pk = part[:k]
                for j in range(k):
                    wk[j] = rk[j]
                noise.systematic_split(n, wk, rk, u[d, g, a], pk)
                for j in range(k):
                    s = members[first + j]
                    if a < a_n:
                        ind_out[d, s, a] += pk[j]
                    else:
                        exc_out[d, s, a - a_n] += pk[j]
                        rk[j] -= pk[j]


class DriftFlows(NamedTuple):
    """Flows of :func:`drift`."""

    moved_out: IntArray
    """``(D, S, 9)`` teachers leaving each rural section by band."""
    moved_in: IntArray
    """``(D, S, 9)`` arrivals in each town or urban section by band; per (draw, county, band) as many as left."""


def drift(m: Any, st: Any, stock: IntArray, before: IntArray, rate: FloatArray, r: Any) -> DriftFlows:
    """Rural → town/urban drift of ``stock`` (module docstring), with the movers' categories and contract years
    (out of ``before`` teachers) moved in ``st`` as the exact step does. Uniforms: ``teachers.drift`` (rural
    sections × total, split), ``teachers.drift_attributes`` (rural sections × 3 categories + 3 contract years),
    ``teachers.drift_placement`` (sections), ``teachers.drift_bands`` (counties),
    ``teachers.drift_attribute_placement`` (counties × 6)."""
    s = m.sections
    n_c = s.n_counties
    rural = s.location == students.RURAL
    rural_idx = np.flatnonzero(rural)
    has_receiver = np.bincount(s.county[~rural], minlength=n_c) > 0
    d = stock.shape[0]
    r_n = rural_idx.size
    moved_out = np.zeros_like(stock)
    moved_in = np.zeros_like(stock)
    u_out = noise.uniforms(r, "teachers.drift", (r_n, 2))
    u_attr = noise.uniforms(r, "teachers.drift_attributes", (r_n, 2 * N_CONTRACT_YEARS))
    u_place = noise.uniforms(r, "teachers.drift_placement", (s.n_sections,))
    u_bands = noise.uniforms(r, "teachers.drift_bands", (n_c,))
    u_attr_place = noise.uniforms(r, "teachers.drift_attribute_placement", (n_c, 2 * N_CONTRACT_YEARS))
    if r_n == 0:
        return DriftFlows(moved_out, moved_in)
    prob = np.where(has_receiver[s.county[rural_idx]][None, :, None], rate[:, None, None], 0.0)
    out_r = noise.cell_flows(stock[:, rural_idx], np.broadcast_to(prob, (d, r_n, N_BANDS)), u_out)
    moved_out[:, rural_idx] = out_r
    out_total = out_r.sum(axis=2)
    # categories and contract years of the movers, out of the rural sections' teachers
    cats = np.stack([getattr(st, a)[:, rural_idx] for a in cohort.CATEGORIES], axis=-1)
    gone = remove_attributes(before[:, rural_idx], out_total, cats, st.special_post[:, rural_idx], u_attr)
    county_r = s.county[rural_idx]
    ind_pool = students.county_totals(gone.independent_lost, county_r, n_c)
    exc_pool = students.county_totals(gone.exclusive_lost, county_r, n_c)
    pool = students.county_totals(out_r, county_r, n_c)  # (D, C, 9)
    receiving = group_members(np.where(rural, -1, s.county), n_c)
    weights = np.broadcast_to(s.teachers + 1.0, (d, s.n_sections))
    into = noise.place_multinomial(pool.sum(axis=2), weights, *receiving, u_place)
    _bands_of_arrivals(pool, into, *receiving, u_bands, moved_in)
    ind = np.stack([getattr(st, a) for a in cohort.CATEGORIES], axis=-1)
    ind[:, rural_idx] = gone.independent
    exc = np.array(st.special_post, dtype=np.int64)
    exc[:, rural_idx] = gone.exclusive
    _place_attributes(ind_pool, exc_pool, into, *receiving, u_attr_place, ind, exc)
    for i, a in enumerate(cohort.CATEGORIES):
        setattr(st, a, np.ascontiguousarray(ind[..., i]))
    st.special_post = exc
    return DriftFlows(moved_out, moved_in)


# ------------------------------------------------------------------------------------------------------------
# special-post contracts


@njit(cache=True)
def _contract_ends(stock: Any, ending: Any, retention: Any, u: Any, leaving: Any,
                   removed: Any) -> None:  # pragma: no cover - compiled
    d_n, s_n, b_n = stock.shape
    weights = np.empty(b_n)
    cap = np.empty(b_n, np.int64)
    part = np.empty(b_n, np.int64)
    for d in range(d_n):
        p = 1.0 - retention[d]
        for s in range(s_n):
            n = ending[d, s]
            x = noise.matched_total(u[d, s, 0], n * p, n * p * (1.0 - p), n) if n > 0 else 0
            leaving[d, s] = x
            if x == 0:
                for b in range(b_n):
                    removed[d, s, b] = 0
                continue
            for b in range(b_n):
                cap[b] = stock[d, s, b]
                weights[b] = stock[d, s, b]
            noise.systematic_split(x, weights, cap, u[d, s, 1], part)
            for b in range(b_n):
                removed[d, s, b] = part[b]


def contract_ends(stock: IntArray, ending: IntArray, retention_share: FloatArray,
                  u: FloatArray) -> tuple[IntArray, IntArray]:
    """Special-post teachers whose contract ends and who leave, ``Binomial(ending, 1 − retention)`` per section
    (``u[..., 0]``), and the bands they leave from, a systematic sample of the section's teachers (``u[..., 1]``):
    ``(leaving (D, S), removed (D, S, 9))``. ``ending`` must not exceed the section's teachers."""
    st = np.ascontiguousarray(stock, dtype=np.int64)
    leaving = np.empty(st.shape[:2], dtype=np.int64)
    removed = np.empty_like(st)
    _contract_ends(st, np.ascontiguousarray(ending, dtype=np.int64),
                   np.ascontiguousarray(retention_share, dtype=np.float64), np.ascontiguousarray(u), leaving,
                   removed)
    return leaving, removed


# ------------------------------------------------------------------------------------------------------------
# the step


class TeacherFlows(NamedTuple):
    """Section flows of one year's :func:`teacher_exits` (for the accounting identity)."""

    leavers: IntArray
    """``(D, S)`` retirements and voluntary leavers."""
    moved_out: IntArray
    """``(D, S, 9)`` rural → town movers out."""
    moved_in: IntArray
    """``(D, S, 9)`` their arrivals."""
    contract_leaving: IntArray
    """``(D, S)`` special-post teachers leaving at the end of their contract."""


def _attrition_by_location(m: Any, p: dict[str, np.ndarray], year: int) -> FloatArray:
    """``(D, 3, 9)`` voluntary attrition probability by location and band (as
    :func:`sim.mechanisms.teachers.attrition_probability`, once per location)."""
    retention = cohort._lever(m.scenario, "retention", year)
    rates = np.stack([p["attrition.urban_rate"], p["attrition.town_rate"], p["attrition.rural_rate"]], axis=1)
    return tmech.attrition_probability(
        np.arange(3), rates, m.age_multiplier_young(p["attrition.young_factor"][:, None]),
        retention.rural_subsidy_cny_month, p["attrition.subsidy_elasticity_per_1000cny"][:, None])


def teacher_exits(m: Any, st: Any, p: dict[str, np.ndarray], r: Any, year: int) -> TeacherFlows:
    """The teacher-exit step (module docstring) on ``st``; returns the section flows.

    Uniforms (``noise.uniforms``): ``teachers.leave`` and ``teachers.ageing`` (sections × total, split),
    ``teachers.exit_attributes`` (sections × 3 categories + 3 contract years), the drift's (:func:`drift`),
    ``teachers.special_post`` (sections × leavers, bands) and ``teachers.special_categories`` (sections × 3).
    """
    s = m.sections
    n_s = s.n_sections
    h_f, h_m = tmech.sex_hazards_by_band(year - 1, schedule=m.retirement)
    share, ageing_p = tmech.mixed_retirement_and_ageing(st.female_share, h_f, h_m)
    st.female_share = tmech.female_share_after_year(st.female_share, st.teachers.sum(axis=1), h_f, h_m)
    exit_p, up_p = exit_and_ageing_probabilities(share, ageing_p, _attrition_by_location(m, p, year))
    before = cohort._section_total(st.teachers)
    stock, leavers = leave_and_age(st.teachers, exit_p, up_p, s.location,
                                   noise.uniforms(r, "teachers.leave", (n_s, 2)),
                                   noise.uniforms(r, "teachers.ageing", (n_s, 2)))
    # categories and contracts of the leavers, then of the rural → town movers (who take theirs along)
    cats = np.stack([getattr(st, a) for a in cohort.CATEGORIES], axis=-1)
    kept = remove_attributes(before, leavers, cats, st.special_post,
                             noise.uniforms(r, "teachers.exit_attributes", (n_s, 2 * N_CONTRACT_YEARS)))
    for i, a in enumerate(cohort.CATEGORIES):
        setattr(st, a, np.ascontiguousarray(kept.independent[..., i]))
    st.special_post = kept.exclusive
    moves = drift(m, st, stock, before - leavers, np.asarray(p["drift.rural_to_town_rate"], dtype=np.float64), r)
    stock = stock - moves.moved_out + moves.moved_in

    # special-post contracts: the third year ends; continuing teachers stay among the teachers, leavers go
    before = cohort._section_total(stock)
    special = cohort._special_slots(st, before)
    leaving, removed = contract_ends(stock, special[..., 2], p["special_post.retention_share"],
                                     noise.uniforms(r, "teachers.special_post", (n_s, 2)))
    stock = stock - removed
    cats = np.stack([getattr(st, a) for a in cohort.CATEGORIES], axis=-1)
    kept = remove_attributes(before, leaving, cats, np.zeros((*before.shape, 0), dtype=np.int64),
                             noise.uniforms(r, "teachers.special_categories", (n_s, len(cohort.CATEGORIES))))
    for i, a in enumerate(cohort.CATEGORIES):
        setattr(st, a, np.ascontiguousarray(kept.independent[..., i]))
    continuing = np.zeros_like(special)
    continuing[..., 1:] = special[..., :-1]
    st.special_post = continuing
    st.teachers = stock
    st.exits = cohort._county_sum(leavers + leaving, s)

    # dispatch terms
    for attr in ("dispatched", "dispatched_backbone", "dispatched_pe_art"):
        _, terms = dispatch.advance_terms(getattr(st, attr))
        setattr(st, attr, terms)
    return TeacherFlows(leavers, moves.moved_out, moves.moved_in, leaving)


def step_teacher_exits(m: Any, st: Any, p: dict[str, np.ndarray], r: Any, year: int) -> None:
    """Teacher-exit step of the fast engine: same inputs, state changes and records as
    :func:`sim.cohort.step_teacher_exits`."""
    teacher_exits(m, st, p, r, year)
