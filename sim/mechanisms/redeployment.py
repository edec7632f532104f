"""縣管校聘 redeployment: surplus teachers of a county move to its short-staffed schools before any hiring.

Source: plan of 2025-01-26, §二(三)2: "推動自治區中小學教師'縣管校聘'管理改革,完善事權人事權財權相統一的縣域內
教師管理體制,加快實現縣域內校際間師資均衡配置" — under 縣管校聘 ("the county manages, schools employ") teachers belong
to the county system, not to one school: the county sets the posts of each school and moves the teachers a school
does not need to the schools that lack them. The plan gives no rule or pace; the lever ``levers.redeployment``
(default on from 2025, the plan year) applies this documented rule, every year after the exits and before
hiring (:func:`redeploy_by_need`):

1. **Surplus and shortfall.** A section's surplus is the whole regular teachers above its verified teaching
   establishment (編制, ``State.section_quota``), ``floor(teachers − establishment)``; its shortfall is the
   vacancy recruitment would advertise, ``ceil(establishment) − teachers holding its posts``, at least 0
   (:func:`sim.steps.vacant_posts`: dispatched teachers hold no post, so they neither fill a shortfall nor
   change a move; before 2026-12-07 the engines subtracted those the assessment counts for staffing).
2. **Pool.** Each county and level releases a share ``redeployment.surplus_release_share`` (an uncertainty: the
   pace of the reform was not found, calibration/SEARCHES.md, issue 15 item 3) of its sections' surplus, rounded
   down: ``pool = floor(share × Σ surplus)``; ``moved = min(pool, Σ shortfall)`` teachers move. Released
   teachers who find no vacancy in the county stay where they are (the county has no post for them).
3. **Who leaves.** The ``moved`` teachers leave the surplus sections in proportion to their surplus (each
   releases the same share of its surplus, whole teachers by largest remainder,
   :func:`sim.mechanisms.quota.allocate_largest_remainder`): none gives more than its surplus.
4. **Where they go** (lever ``redeployment.placement``): ``largest_shortfall`` (default: "by need", the plan's
   均衡配置) gives each teacher in turn to the section of the county and level with the largest remaining
   shortfall (water-filling from the top, ties to the earlier section: :func:`fill_largest_shortfall_first`);
   ``proportional`` shares them in proportion to the shortfalls (largest remainder). None receives more than its
   shortfall.
5. **No cross-county or cross-level moves.** A primary teacher does not fill a junior post here (that is
   retraining, :func:`sim.mechanisms.recruitment.retrain_for_junior`).

Recruitment then fills only what remains: the redeployed teachers are counted in post before vacancies are
computed, so each redeployed teacher removes one vacancy and (at a fill rate of 1) one hire.

The counts are deterministic (expected counts, as :func:`sim.mechanisms.quota.redeploy_surplus`): both engines
call :func:`redeploy_by_need` and move the same numbers; the cohort engine draws the movers' age bands and
categories without replacement, the agent engine picks the individual teachers at random within each section.

While the lever acts, the quota step's own redeployment at each verification (``quota.redeploy_surplus_share``,
the practice before the reform) does not act: 縣管校聘 replaces it. Before ``from_year`` the reform is not in
force (the plan asks to 推動 it; Xinjiang's adoption before 2025 was not found), so unlike most lever groups the
historical value is *off*, not the default: a ``from_year`` after the horizon leaves a run bit-identical to
``enabled: false``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from sim.mechanisms import segments
from sim.mechanisms.quota import allocate_largest_remainder, group_sum
from sim.vocabulary import N_LEVELS

IntArray = npt.NDArray[np.int64]

PLACEMENTS: tuple[str, ...] = ("largest_shortfall", "proportional")
"""Placement rules of ``levers.redeployment.placement`` (module docstring, rule 4)."""

_ROUNDING_TOLERANCE = 1e-9


class Redeployment(NamedTuple):
    """Teachers leaving and arriving at each section, ``int64 (D, S)``; equal totals per county and level."""

    outflow: IntArray
    inflow: IntArray


def surplus_and_shortfall(regular: npt.ArrayLike, staffing: npt.ArrayLike,
                          establishment: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """``(surplus, shortfall)`` per section (rule 1): whole regular teachers above the establishment, and posts
    of the establishment not filled by the teachers counted for staffing (as recruitment counts vacancies)."""
    q = np.asarray(establishment, dtype=np.float64)
    surplus = np.floor(np.maximum(np.asarray(regular, dtype=np.float64) - q, 0.0) + _ROUNDING_TOLERANCE)
    posts = np.ceil(q - _ROUNDING_TOLERANCE)
    shortfall = np.maximum(posts - np.asarray(staffing, dtype=np.float64), 0.0)
    return surplus.astype(np.int64), shortfall.astype(np.int64)


def fill_largest_shortfall_first(totals: npt.ArrayLike, shortfall: npt.ArrayLike, group: npt.ArrayLike,
                                 n_groups: int) -> IntArray:
    """Give each group's ``totals`` teachers one at a time to its section with the largest remaining shortfall.

    Closed form of that greedy rule (water-filling from the top): with ``f(L) = Σ max(v_i − L, 0)`` over the
    group's shortfalls ``v_i``, take the smallest whole level ``L ≥ 0`` with ``f(L) ≤ total``; every section gets
    ``max(v_i − L, 0)`` (its shortfall cut down to ``L``), and the ``total − f(L)`` teachers left get one each,
    to the sections at the level ``L`` (``v_i ≥ L > 0``) in section order. A total at least ``Σ v_i`` fills every
    shortfall (``L = 0``); the caller never passes more than that.

    Parameters
    ----------
    totals
        ``(D, G)`` teachers to place per draw and group, ``0 ≤ total ≤ Σ shortfall`` of the group.
    shortfall
        ``(D, S)`` non-negative whole shortfalls.
    group, n_groups
        Group of each section and number of groups.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)``: each group's sections sum to its total; no section gets more than its shortfall.
    """
    v = np.asarray(shortfall, dtype=np.int64)
    grp = segments.check_groups(group, n_groups, v.shape[1])
    tot = np.broadcast_to(np.asarray(totals, dtype=np.int64), (v.shape[0], n_groups))
    if np.any(v < 0) or np.any(tot < 0):
        raise ValueError("totals and shortfalls must be non-negative")
    capacity = np.rint(group_sum(v, grp, n_groups)).astype(np.int64)
    if np.any(tot > capacity):
        raise ValueError("a group has more teachers to place than its sections' shortfalls")
    # bisection on the level L per (draw, group): f(lo) > total >= f(hi) (or hi = 0)
    lo = np.full(tot.shape, -1, dtype=np.int64)
    hi = np.zeros(tot.shape, dtype=np.int64)
    hi[:] = np.max(v, axis=1, initial=0)[:, None]

    def filled(level: IntArray) -> IntArray:
        return np.rint(group_sum(np.maximum(v - level[:, grp], 0), grp, n_groups)).astype(np.int64)

    hi = np.where(capacity <= tot, 0, hi)  # everything filled at level 0
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        ok = filled(np.maximum(mid, 0)) <= tot
        active = hi - lo > 1
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)
    level = np.maximum(hi, 0)
    out = np.maximum(v - level[:, grp], 0)
    left = tot - np.rint(group_sum(out, grp, n_groups)).astype(np.int64)
    at_level = (v >= level[:, grp]) & (level[:, grp] > 0)
    # rank of each section at the level among those of its group, in section order
    order = np.argsort(grp, kind="stable")
    ranked = at_level[:, order].astype(np.int64)
    running = np.cumsum(ranked, axis=1)
    sorted_group = grp[order]
    first = np.searchsorted(sorted_group, sorted_group, side="left")
    before_group = np.where(first > 0, running[:, np.maximum(first - 1, 0)], 0)
    rank = np.empty_like(running)
    rank[:, order] = running - before_group  # 1, 2, … among the group's sections at the level
    extra = at_level & (rank <= left[:, grp])
    return (out + extra).astype(np.int64)


def redeploy_by_need(regular: npt.ArrayLike, staffing: npt.ArrayLike, establishment: npt.ArrayLike,
                     section_county: npt.ArrayLike, section_level: npt.ArrayLike, n_counties: int,
                     release_share: npt.ArrayLike, placement: str = "largest_shortfall") -> Redeployment:
    """The year's 縣管校聘 redeployment (module docstring, rules 1–5).

    Parameters
    ----------
    regular
        ``(D, S)`` regular teachers in post per section (after the exits, before hiring).
    staffing
        ``(D, S)`` teachers whose posts fill the shortfall (the engines pass the holders of the establishment's
        posts, as ``regular``).
    establishment
        ``(D, S)`` verified teaching establishment in posts (``State.section_quota``).
    section_county, section_level, n_counties
        Section layout.
    release_share
        Share of the surplus each county and level releases this year, scalar or ``(D, 1)`` in ``[0, 1]``
        (``redeployment.surplus_release_share``).
    placement
        ``"largest_shortfall"`` or ``"proportional"`` (:data:`PLACEMENTS`).

    Returns
    -------
    Redeployment
        ``outflow`` and ``inflow`` per section: equal totals per county and level; ``outflow ≤ surplus``,
        ``inflow ≤ shortfall``.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; placements: {', '.join(PLACEMENTS)}")
    surplus, shortfall = surplus_and_shortfall(regular, staffing, establishment)
    share = np.broadcast_to(np.asarray(release_share, dtype=np.float64), (surplus.shape[0], 1))
    if np.any(~np.isfinite(share)) or np.any((share < 0) | (share > 1)):
        raise ValueError("release_share must be in [0, 1]")
    grp = np.asarray(section_county, dtype=np.int64) * N_LEVELS + np.asarray(section_level, dtype=np.int64)
    n_groups = n_counties * N_LEVELS
    surplus_g = np.rint(group_sum(surplus, grp, n_groups)).astype(np.int64)
    shortfall_g = np.rint(group_sum(shortfall, grp, n_groups)).astype(np.int64)
    pool = np.floor(share * surplus_g + _ROUNDING_TOLERANCE).astype(np.int64)
    moved = np.minimum(pool, shortfall_g)
    outflow = allocate_largest_remainder(moved, surplus, grp, n_groups)
    if placement == "largest_shortfall":
        inflow = fill_largest_shortfall_first(moved, shortfall, grp, n_groups)
    else:
        inflow = allocate_largest_remainder(moved, shortfall, grp, n_groups)
    return Redeployment(outflow, inflow)


def acts(enabled: bool, from_year: int, year: int) -> bool:
    """Whether the redeployment acts in ``year``: the lever is on and ``year ≥ from_year`` (off before it)."""
    return bool(enabled) and year >= from_year
