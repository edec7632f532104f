"""Staffing quota (編制): norms, verification calendar, vacancies, surplus and redeployment.

Mechanism 3 of ``DESIGN.md`` §3. The staffing quota of a county is re-verified every 3 years from its
enrolment and the student:staff norms; falling enrolment shrinks it and creates a surplus that the county
redeploys across its schools (plan of 2025-01-26, §二(一)3:
"每3年對中小學教職工編制進行一次全面核定,動態調整縣
(市、區)域內教職工編制配置,確保以縣(市、區)為單位實現中小學教職工編制全面達到國家標准").

All arrays follow the engine conventions: ``(D, S)`` per draw and section, ``(D, C, 2)`` per draw, county and
level (0 primary, 1 junior). Functions return new arrays and never mutate their inputs.

This module also holds the two group-allocation helpers shared by the teacher-flow mechanisms
(:func:`allocate_largest_remainder`, :func:`multinomial_within_groups`, :func:`hypergeometric_within_groups`,
:func:`split_within_groups`):
they split a count per group (a county, a county-level pair, a region) among the sections of the group.

Assumptions
-----------
* The norm is a staff (教職工) norm; the model applies it to full-time teachers, i.e. it treats every
  post as a teaching post. Non-teaching staff are not simulated.
* The county quota is rounded up to whole posts (``ceil``), per county and level, from the county's total
  students of that level: the norm is verified for the county, not school by school (plan §二(一)3,
  "以縣(市、區)為單位").
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.mechanisms import kernels, segments
from sim.vocabulary import N_LEVELS

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


_ROUNDING_TOLERANCE = 1e-9
"""Slack removed before ``ceil`` so that an exact ratio (27 / 13.5 = 2) is not pushed up by float error."""


# --------------------------------------------------------------------------------------------------------
# Group allocation helpers
# --------------------------------------------------------------------------------------------------------


def group_sum(values: npt.ArrayLike, group: npt.ArrayLike, n_groups: int) -> npt.NDArray[np.float64]:
    """Sum ``(D, S)`` values over the sections of each group, giving ``float64 (D, n_groups)``.

    One compiled pass (:func:`sim.mechanisms.segments.group_sum`): each group's values are added in section
    order starting from 0, so the sums equal those of ``np.bincount`` on flattened (draw, group) indices bit
    for bit (and integer counts below ``2**53`` are exact). Group indices outside ``[0, n_groups)`` raise
    ``ValueError``.
    """
    return segments.group_sum(values, group, n_groups)


def allocate_largest_remainder(
    totals: npt.ArrayLike, weights: npt.ArrayLike, group: npt.ArrayLike, n_groups: int
) -> IntArray:
    """Split whole counts per group among its sections in proportion to weights, conserving totals.

    Deterministic rule (Hamilton / largest-remainder method): each section gets ``floor`` of its exact
    proportional share ``total_g * w_i / W_g``; the ``total_g - sum(floor)`` left-over units go, one each, to
    the sections of the group with the largest fractional parts (ties broken by section order). Consequences
    used by callers: the group total is met exactly, and when ``total_g <= W_g`` with integer weights, no
    section receives more than its weight (its exact share is at most ``w_i``, and it only gets the extra
    unit when that share is not an integer).

    Parameters
    ----------
    totals
        Count to split per draw and group, ``(D, G)``, non-negative integers.
    weights
        Non-negative weight per draw and section, ``(D, S)``.
    group
        Group of each section, ``int[S]`` in ``[0, G)``.
    n_groups
        ``G``.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)`` allocation. A group with positive total and zero total weight raises ``ValueError``
        (the count would otherwise be lost).
    """
    tot = np.asarray(totals, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    grp = segments.check_groups(group, n_groups, w.shape[1])
    try:
        tot = np.broadcast_to(tot, (w.shape[0], n_groups))
    except ValueError:
        raise ValueError(f"totals must have shape (D, G) = ({w.shape[0]}, {n_groups}), got {tot.shape}") from None
    if np.any(w < 0) or np.any(tot < 0):
        raise ValueError("totals and weights must be non-negative")
    w_group = group_sum(w, grp, n_groups)
    if np.any((tot > 0) & (w_group <= 0)):
        raise ValueError("a group with a positive total has no positive weight to allocate it to")
    return segments.largest_remainder(tot, w, grp, n_groups)


def multinomial_within_groups(
    totals: npt.ArrayLike,
    weights: npt.ArrayLike,
    group: npt.ArrayLike,
    n_groups: int,
    rng: np.random.Generator,
) -> IntArray:
    """Multinomial split of a count per group among its sections, with probabilities proportional to weights.

    Drawn by binomial splitting down a balanced binary tree of the group's sections
    (:func:`split_within_groups`), which is exactly multinomial; ``ceil(log2 K)`` vectorised steps for groups
    of at most ``K`` sections.

    Parameters
    ----------
    totals
        ``(D, G)`` non-negative integer counts.
    weights
        ``(D, S)`` non-negative weights.
    group
        ``int[S]`` group of each section.
    n_groups
        ``G``.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)``; each group's sections sum to its total. A positive total with zero group weight
        raises ``ValueError``.
    """
    tot = np.asarray(totals, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    grp = np.asarray(group, dtype=np.int64)
    if np.any(w < 0) or np.any(tot < 0):
        raise ValueError("totals and weights must be non-negative")
    w_group = group_sum(w, grp, n_groups)
    if np.any((tot > 0) & (w_group <= 0)):
        raise ValueError("a group with a positive total has no positive weight to allocate it to")
    return split_within_groups(tot, w, grp, n_groups, rng)


def hypergeometric_within_groups(
    totals: npt.ArrayLike,
    pool: npt.ArrayLike,
    group: npt.ArrayLike,
    n_groups: int,
    rng: np.random.Generator,
) -> IntArray:
    """Pick ``totals[g]`` individuals without replacement from the sections of each group.

    Multivariate hypergeometric by hypergeometric splitting down a balanced binary tree of the group's
    sections that have a positive pool, in compiled code (:func:`sim.mechanisms.kernels.pick_within_groups`:
    no sorted copy or running sums of the pools), row by row and group by group. Every section gives at most
    its pool, so a removal drawn this way never makes a stock negative.

    Parameters
    ----------
    totals
        ``(D, G)`` counts to pick; must not exceed the group's pooled count.
    pool
        ``(D, S)`` non-negative integer counts available in each section.
    group, n_groups, rng
        As in :func:`multinomial_within_groups`.
    """
    return kernels.pick_within_groups(totals, pool, group, n_groups, rng)


def split_within_groups(
    totals: npt.ArrayLike,
    weights: npt.ArrayLike,
    group: npt.ArrayLike,
    n_groups: int,
    rng: np.random.Generator,
    *,
    without_replacement: bool = False,
) -> IntArray:
    """Split a count per (row, group) among the group's sections by halving the group again and again.

    The sections of each group, in section order, are the leaves of a balanced binary tree: a node holding
    ``n`` sends ``L`` to its left half and ``n − L`` to its right half, and the halves are split in turn, so a
    group of ``K`` sections is done in ``ceil(log2 K)`` vectorised steps whatever the number of rows and groups,
    and a node that receives nothing is never visited again.

    * With replacement (default): ``L ~ Binomial(n, W_left / (W_left + W_right))`` with ``W`` the summed
      weights of each half. By the splitting property of the multinomial this gives exactly
      ``Multinomial(n, w / W_group)`` over the group's sections (up to floating-point rounding of the
      probabilities, as in ``numpy.random.Generator.multinomial``). A half whose sections all have zero weight
      gets nothing and the other half everything (adding zeros leaves a running sum unchanged exactly), so a
      zero-weight section never receives.
    * Without replacement: ``L ~ Hypergeometric(W_left, W_right, n)`` with ``W`` the summed integer pools,
      which gives exactly the multivariate hypergeometric law (``n`` individuals picked uniformly without
      replacement from the pooled individuals of the group); no section gives more than its pool.

    Parameters
    ----------
    totals
        ``(R, G)`` non-negative integer counts (``R`` rows: draws, or draws × slots).
    weights
        ``(R, S)`` non-negative weights (with replacement) or integer pools (without replacement).
    group
        ``int[S]`` group of each section in ``[0, G)``.
    n_groups
        ``G``.
    rng
        Random generator.
    without_replacement
        Pick individuals from integer pools (hypergeometric) instead of placing them by weight (binomial).

    Returns
    -------
    numpy.ndarray
        ``int64 (R, S)``; each group's sections sum to its total. The caller checks beforehand that a positive
        total has positive group weight (or, without replacement, does not exceed the group's pool).

    Notes
    -----
    The tree is walked depth first in compiled code (:func:`sim.mechanisms.kernels.split_sorted`), row by row
    and group by group, so a row's numbers do not depend on the rows after it; the cost grows with the number
    of non-empty nodes, at most ``min(count, sections)`` per group and level.
    """
    tot = np.asarray(totals, dtype=np.int64)
    grp = np.asarray(group, dtype=np.int64)
    n_rows, n_sections = tot.shape[0], grp.size
    if not (tot > 0).any():
        return np.zeros((n_rows, n_sections), dtype=np.int64)
    order, bounds = segments.group_layout(segments.check_groups(grp, n_groups), n_groups)
    dtype = np.int64 if without_replacement else np.float64  # integer pools sum exactly
    running = segments.running_sums(np.asarray(weights, dtype=dtype), order)
    out = kernels.split_sorted(tot, running, bounds[:-1], np.diff(bounds), rng, pools=without_replacement)
    return segments.scatter_columns(out, order)


# --------------------------------------------------------------------------------------------------------
# Staffing quota
# --------------------------------------------------------------------------------------------------------


def section_staffing_quota(
    students: npt.ArrayLike, section_level: npt.ArrayLike, students_per_staff: npt.ArrayLike
) -> FloatArray:
    """Unrounded staffing quota of each section, ``students / students_per_staff[level]``, in posts.

    Used as the section-level target when a county distributes its posts (vacancies, redeployment) among its
    schools. Norms as in :func:`staffing_quota`.

    Returns
    -------
    numpy.ndarray
        ``float64 (D, S)``, posts.
    """
    ratio = np.asarray(students_per_staff, dtype=np.float64)
    _check_ratio(ratio)
    lvl = np.asarray(section_level, dtype=np.int64)
    return np.asarray(students, dtype=np.float64) / ratio[lvl][None, :]


def establishment_quota(
    students: npt.ArrayLike, section_level: npt.ArrayLike, students_per_staff: npt.ArrayLike,
    multiplier: npt.ArrayLike,
) -> FloatArray:
    """Unrounded teaching establishment (編制) of each section: the national norm's posts
    (:func:`section_staffing_quota`) times the establishment multiplier of its level.

    ``multiplier`` is ``(D, 2)`` (primary, junior) per draw, or ``(2,)``: the teaching posts a county sustains per
    post of the norm (the uncertainties ``quota.establishment_multiplier_*``; Xinjiang's published pupil–teacher
    ratios are below the norm's, i.e. more teachers than it gives). This is what recruitment fills and surplus is
    measured against; the target "staffing norm met" (T5) keeps the norm itself.

    >>> establishment_quota(np.array([[38.0, 27.0]]), np.array([0, 1]), np.array([19.0, 13.5]),
    ...                     np.array([[1.5, 1.0]])).tolist()
    [[3.0, 2.0]]
    """
    base = section_staffing_quota(students, section_level, students_per_staff)
    mult = np.asarray(multiplier, dtype=np.float64)
    if mult.shape[-1] != N_LEVELS or np.any(mult <= 0):
        raise ValueError(f"multiplier must be positive, one per level (primary, junior); got shape {mult.shape}")
    lvl = np.asarray(section_level, dtype=np.int64)
    per_section = mult[..., lvl] if mult.ndim == 2 else mult[lvl][None, :]
    return np.asarray(base * per_section, dtype=np.float64)


def adjust_establishment(
    current: npt.ArrayLike, target: npt.ArrayLike, adjustment: npt.ArrayLike,
) -> FloatArray:
    """Sticky establishment (編制) after one verification: the standing establishment moves a share
    ``adjustment`` of its gap toward the verified target.

    ``current + adjustment × (target − current)``, elementwise; ``current`` and ``target`` are ``(D, S)`` posts
    (unrounded), ``adjustment`` is ``(D,)`` per draw (the uncertainty ``quota.establishment_adjustment``) or a
    scalar in ``[0, 1]``. An adjustment of 0 keeps the standing establishment, 1 sets the target (the verification
    closes the whole gap).

    Source and assumption: the plan of 2025-01-26 (§二(一)3) verifies the establishment every 3 years and wants the
    county's establishment to reach the national standard, but says nothing of how fast a verification closes the
    gap; real establishments are sticky (posts are held by people and by budgets), so the share closed is an
    uncertainty (no public figure found; see the parameter's source). The gap is closed per section, so a section
    whose pupils left sheds posts at the same pace as a growing one gains them.

    >>> adjust_establishment(np.array([[10.0, 4.0]]), np.array([[6.0, 8.0]]), np.array([0.5])).tolist()
    [[8.0, 6.0]]
    """
    cur = np.asarray(current, dtype=np.float64)
    tgt = np.asarray(target, dtype=np.float64)
    share = np.asarray(adjustment, dtype=np.float64)
    if cur.shape != tgt.shape:
        raise ValueError(f"current and target establishments must have the same shape, got {cur.shape} and "
                         f"{tgt.shape}")
    if np.any((share < 0) | (share > 1)) or np.any(np.isnan(share)):
        raise ValueError("adjustment must lie in [0, 1]")
    if share.ndim == 1:
        if share.shape[0] != cur.shape[0]:
            raise ValueError(f"adjustment must have one value per draw ({cur.shape[0]}), got {share.shape}")
        share = share[:, None]
    return np.asarray(cur + share * (tgt - cur), dtype=np.float64)


def staffing_quota(
    students: npt.ArrayLike,
    section_level: npt.ArrayLike,
    section_county: npt.ArrayLike,
    n_counties: int,
    students_per_staff: npt.ArrayLike,
) -> IntArray:
    """Staffing quota per county and level from enrolment and the student:staff norm.

    ``quota[d, c, l] = ceil(students of level l in county c / students_per_staff[l])``.

    Parameters
    ----------
    students
        Students per draw and section, ``(D, S)``.
    section_level
        ``int8[S]``, 0 primary, 1 junior.
    section_county
        ``int[S]`` in ``[0, n_counties)``.
    n_counties
        ``C``.
    students_per_staff
        ``(2,)`` students per staff post for primary and junior. Loaded by the caller from a data file; the
        unified urban–rural norm is 1:19 primary and 1:13.5 junior (中央編辦發〔2014〕72號, **UNVERIFIED**: no
        primary source was found, ``SOURCES.md`` §3d).

    Returns
    -------
    numpy.ndarray
        ``int64 (D, C, 2)`` posts. Rounded up per county and level (assumption: a county is authorised whole
        posts and the norm is a minimum, so a fractional need is one more post).

    References
    ----------
    中央編辦、教育部、財政部《關於統一城鄉中小學教職工編制標准的通知》(中央編辦發〔2014〕72號).
    """
    stud = np.asarray(students, dtype=np.float64)
    ratio = np.asarray(students_per_staff, dtype=np.float64)
    _check_ratio(ratio)
    lvl = np.asarray(section_level, dtype=np.int64)
    cty = np.asarray(section_county, dtype=np.int64)
    per_group = group_sum(stud, cty * N_LEVELS + lvl, n_counties * N_LEVELS)
    posts = per_group.reshape(stud.shape[0], n_counties, N_LEVELS) / ratio[None, None, :]
    return np.ceil(posts - _ROUNDING_TOLERANCE).clip(min=0).astype(np.int64)


def _check_ratio(ratio: npt.NDArray[np.float64]) -> None:
    if ratio.shape != (N_LEVELS,) or np.any(ratio <= 0):
        raise ValueError(f"students_per_staff must be two positive numbers (primary, junior), got {ratio}")


def is_verification_year(year: int, first_year: int = 2025, every_years: int = 3) -> bool:
    """Whether the staffing quota is re-verified in ``year``.

    Verified in ``first_year`` and every ``every_years`` after it (plan §二(一)3:
    "每3年對中小學教職工編制進行一次全面核定"); in other years the last verified quota stands. The first year
    defaults to 2025, the year the plan takes effect (assumption: the plan does not date the first
    verification).
    """
    if every_years < 1:
        raise ValueError(f"every_years must be >= 1, got {every_years}")
    return year >= first_year and (year - first_year) % every_years == 0


def vacancies_and_surplus(teachers: npt.ArrayLike, quota: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Vacant posts and surplus teachers, elementwise (any shape, e.g. ``(D, C, 2)`` or ``(D, S)``).

    ``vacancies = max(quota - teachers, 0)``, ``surplus = max(teachers - quota, 0)``; at most one of the two
    is positive. For a fractional quota (section level) a vacancy counts whole missing posts (``ceil``) and a
    surplus whole extra teachers (``floor``).
    """
    t = np.asarray(teachers, dtype=np.float64)
    q = np.asarray(quota, dtype=np.float64)
    vacancies = np.ceil(np.maximum(q - t, 0.0) - _ROUNDING_TOLERANCE).clip(min=0)
    surplus = np.floor(np.maximum(t - q, 0.0) + _ROUNDING_TOLERANCE)
    return vacancies.astype(np.int64), surplus.astype(np.int64)


def redeploy_surplus(
    teachers: npt.ArrayLike,
    section_quota: npt.ArrayLike,
    section_county: npt.ArrayLike,
    section_level: npt.ArrayLike,
    n_counties: int,
    redeploy_share: float | npt.ArrayLike,
) -> tuple[IntArray, IntArray]:
    """Move a share of surplus teachers to under-staffed sections of the same county and level.

    Rule (plan §二(一)3, "動態調整縣(市、區)域內教職工編制配置"; the share is a lever):

    1. Section surplus ``s_i`` and vacancy ``v_i`` from :func:`vacancies_and_surplus` on the section quota.
    2. Per county and level, the number moved is ``M = min(floor(share * sum s_i), sum v_i)``: redeployment
       only fills real vacancies of the same level (a primary teacher is not moved to a junior post here; that
       is :func:`sim.mechanisms.recruitment.retrain_for_junior`).
    3. ``M`` leaves the over-staffed sections in proportion to their surplus and arrives in the under-staffed
       ones in proportion to their vacancy, both rounded by :func:`allocate_largest_remainder`. Deterministic
       expected counts: which teachers move does not depend on chance in the cohort engine.

    Consequences: each county-level total is conserved exactly, no section gives more than its surplus (so
    none becomes negative or falls below its quota) and none receives more than its vacancy.

    Parameters
    ----------
    teachers
        ``(D, S)`` teachers per section.
    section_quota
        ``(D, S)`` section quota in posts (:func:`section_staffing_quota`).
    section_county, section_level, n_counties
        Section layout.
    redeploy_share
        Share of the surplus moved per year, in ``[0, 1]``; scalar or ``(D, 1)``.

    Returns
    -------
    (outflow, inflow)
        ``int64 (D, S)`` teachers leaving and arriving at each section.
    """
    t = np.asarray(teachers, dtype=np.int64)
    share = np.broadcast_to(np.asarray(redeploy_share, dtype=np.float64), (t.shape[0], 1))
    if np.any((share < 0) | (share > 1)):
        raise ValueError("redeploy_share must be in [0, 1]")
    vacancy, surplus = vacancies_and_surplus(t, section_quota)
    grp = np.asarray(section_county, dtype=np.int64) * N_LEVELS + np.asarray(section_level, dtype=np.int64)
    n_groups = n_counties * N_LEVELS
    surplus_g = np.rint(group_sum(surplus, grp, n_groups)).astype(np.int64)
    vacancy_g = np.rint(group_sum(vacancy, grp, n_groups)).astype(np.int64)
    moved = np.minimum(np.floor(share * surplus_g + _ROUNDING_TOLERANCE).astype(np.int64), vacancy_g)
    outflow = allocate_largest_remainder(moved, surplus, grp, n_groups)
    inflow = allocate_largest_remainder(moved, vacancy, grp, n_groups)
    return outflow, inflow


def staffing_norm_met(teachers: npt.ArrayLike, quota: npt.ArrayLike) -> BoolArray:
    """Whether each county meets the staffing norm at both levels (target T5).

    Parameters
    ----------
    teachers, quota
        ``(D, C, 2)`` teachers and quota posts per county and level.

    Returns
    -------
    numpy.ndarray
        ``bool (D, C)``: ``teachers >= quota`` for primary and for junior (a level without students has quota
        0 and is met). Plan §二(一)3: "確保以縣(市、區)為單位實現中小學教職工編制全面達到國家標准"; the model
        reads "達到" as staffed to at least the quota.
    """
    t = np.asarray(teachers, dtype=np.float64)
    q = np.asarray(quota, dtype=np.float64)
    return np.all(t >= q - _ROUNDING_TOLERANCE, axis=-1)
