"""Recruitment: open recruitment, special-post and targeted-graduate channels, retraining for junior posts.

Mechanism 4 of ``DESIGN.md`` §3: fill staffing-quota vacancies through open recruitment (uncertain fill rate,
lower in remote counties), the special-post (特崗) and targeted-graduate (優師計劃) channels, and retraining
of lower-grade (primary) teachers for junior posts (plan of 2025-01-26, §二(一)3:
"加大南疆地區初中、高中學段教師招聘力度,有序組織低學段教師獲取初、高中教師資格").

Suggested order within the recruitment step (the engine decides; each function takes the vacancies still
open): earmarked channels first (:func:`special_post_hires`, :func:`targeted_graduate_hires`), then
:func:`retrain_for_junior`, then :func:`open_recruitment` on what is left, placed in sections by
:func:`allocate_hires_to_sections`; finally :func:`new_hire_attributes` for every hire.

Shapes follow the engine conventions: ``(D, S)`` per draw and section, ``(D, C, 2)`` per draw, county and
level. Functions return new arrays and never mutate their inputs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.mechanisms import kernels
from sim.mechanisms.quota import (
    allocate_largest_remainder,
    group_sum,
    multinomial_within_groups,
)
from sim.vocabulary import N_LEVELS

IntArray = npt.NDArray[np.int64]

TARGETED_GRADUATES_FIRST_YEAR = 2025
"""School year the first targeted graduates (優師計劃) start: the programme enrolled from 2021, 4-year degrees."""

NEW_HIRE_AGE_BAND_YEARS = (20, 24)
"""Age band of new hires, years (assumption: new teachers are recent graduates of 3-year colleges (age ~21)
or 4-year universities (~22–23); the engine spreads them uniformly over the band)."""

ABOVE_QUALIFICATION_SHARE_RANGE = (0.85, 0.98)
"""Plausible range of the share of new hires above the required qualification (assumption: primary posts
require a 3-year college diploma and junior posts a bachelor's degree since the 2020s recruitment rules, and
most open-recruitment candidates hold a bachelor's degree; no Xinjiang figure was found, SOURCES.md §6)."""

SPECIAL_POST_SOUTH_SHARE_DEFAULT = 0.6
"""Default share of special-post places for the south: the 2016 Xinjiang recruitment plan sent 60% of hires to
the four southern prefectures (SOURCES.md §4c, ``teacher_programs_and_flows.csv``)."""

SPECIAL_POST_TAKE_UP_RANGE = (0.90, 0.98)
"""Range of the share of planned special-post places actually filled: 94.7% nationally in 2018 (85,200 of
90,000; SOURCES.md §4c), widened both ways for Xinjiang (assumption)."""


def _per_draw(value: float | npt.ArrayLike, n_draws: int, name: str) -> npt.NDArray[np.float64]:
    """A scalar or ``(D,)``/``(D, 1)`` probability as a ``(D, 1)`` array, checked to lie in [0, 1]."""
    arr = np.asarray(value, dtype=np.float64).reshape(-1, 1)
    arr = np.broadcast_to(arr, (n_draws, 1))
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must be in [0, 1]")
    return arr


def _per_draw_count(value: int | npt.ArrayLike, n_draws: int, name: str) -> IntArray:
    arr = np.broadcast_to(np.asarray(value, dtype=np.int64).reshape(-1, 1), (n_draws, 1))
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    return arr[:, 0]


def open_recruitment(
    vacancies: npt.ArrayLike,
    fill_rate: float | npt.ArrayLike,
    remote_penalty: float | npt.ArrayLike,
    county_remote: npt.ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Hires through open recruitment per county and level.

    ``hires ~ Binomial(vacancies, fill_rate * (1 - remote_penalty * remote[c]))``: each vacant post is filled
    independently with the county's fill probability. Both rates are uncertainties sampled per draw (no
    Xinjiang fill-rate figure was found; the only benchmark is the national special-post fill of 94.7% in
    2018, SOURCES.md §4c). The penalty encodes DESIGN §3 "lower in remote counties".

    Parameters
    ----------
    vacancies
        ``(D, C, 2)`` vacant posts open to recruitment.
    fill_rate
        Probability a vacant post is filled in a non-remote county, scalar or ``(D, 1)``.
    remote_penalty
        Relative reduction of the fill rate in remote counties, scalar or ``(D, 1)``, in [0, 1].
    county_remote
        ``bool[C]``.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, C, 2)`` hires, never more than the vacancies.
    """
    vac = np.asarray(vacancies, dtype=np.int64)
    n_draws = vac.shape[0]
    fill = _per_draw(fill_rate, n_draws, "fill_rate")[:, :, None]
    penalty = _per_draw(remote_penalty, n_draws, "remote_penalty")[:, :, None]
    remote = np.asarray(county_remote, dtype=bool)[None, :, None]
    p = fill * (1.0 - penalty * remote)
    return kernels.binomial(np.maximum(vac, 0), np.broadcast_to(p, vac.shape), rng)


def allocate_hires_to_sections(
    hires: npt.ArrayLike,
    section_vacancy: npt.ArrayLike,
    section_county: npt.ArrayLike,
    section_level: npt.ArrayLike,
    rng: np.random.Generator,
    fallback_weight: npt.ArrayLike | None = None,
) -> IntArray:
    """Place each county-level's hires in its sections, multinomially in proportion to section vacancy.

    Rule (assumption): under 縣管校聘 the county bureau posts new teachers where posts are vacant. A
    county-level whose sections have no vacancy (possible because the county quota is rounded up while section
    quotas are fractional) places its hires by ``fallback_weight`` (e.g. students), or uniformly over its
    sections when none is given.

    Parameters
    ----------
    hires
        ``(D, C, 2)`` hires per county and level.
    section_vacancy
        ``(D, S)`` vacant posts per section.
    section_county, section_level
        Section layout.
    rng
        Random generator.
    fallback_weight
        ``(D, S)`` weights used where a county-level has no section vacancy.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)``; sums over the sections of a county and level equal ``hires``.
    """
    h = np.asarray(hires, dtype=np.int64)
    n_draws, n_counties, _ = h.shape
    vac = np.asarray(section_vacancy, dtype=np.float64)
    grp = np.asarray(section_county, dtype=np.int64) * N_LEVELS + np.asarray(section_level, dtype=np.int64)
    n_groups = n_counties * N_LEVELS
    fallback = np.ones_like(vac) if fallback_weight is None else np.asarray(fallback_weight, dtype=np.float64)
    has_vacancy = group_sum(vac, grp, n_groups) > 0
    weight = np.where(has_vacancy[:, grp], vac, fallback)
    return multinomial_within_groups(h.reshape(n_draws, n_groups), weight, grp, n_groups, rng)


def special_post_hires(
    per_year_total: int | npt.ArrayLike,
    section_vacancy: npt.ArrayLike,
    section_location: npt.ArrayLike,
    section_county: npt.ArrayLike,
    county_south: npt.ArrayLike,
    county_remote: npt.ArrayLike,
    take_up: float | npt.ArrayLike,
    rng: np.random.Generator,
    south_share: float = SPECIAL_POST_SOUTH_SHARE_DEFAULT,
    remote_weight: float = 2.0,
) -> IntArray:
    """Special-post (特崗) teachers placed in rural sections, weighted to the south and remote counties.

    Rule (assumptions, documented here and in the scenario's lever):

    1. Places: ``per_year_total`` for the region (lever), only for rural sections (特崗計劃 recruits for rural
       schools).
    2. ``south_share`` of the places go to rural sections of southern counties and the rest to other rural
       sections (default 0.6, the 2016 Xinjiang plan's share for the south); the split is rounded by the
       largest-remainder rule. If one group has no rural vacancy, its places are not moved to the other group.
    3. Within each group, places are capped at the group's rural vacancy (special-post teachers fill quota
       posts) and allocated by ``vacancy * remote_weight`` for remote counties, ``vacancy`` otherwise
       (default weight 2: remote counties are the hardest to staff; assumption), largest remainder, so no
       section gets more places than it has vacancies.
    4. Each place is filled with probability ``take_up`` (uncertainty, 0.90–0.98 around the national 94.7%).

    Parameters
    ----------
    per_year_total
        Planned places for the region this year, scalar or ``(D,)``.
    section_vacancy
        ``(D, S)`` vacancies still open.
    section_location
        ``int8[S]`` 0 urban, 1 town, 2 rural.
    section_county, county_south, county_remote
        Layout.
    take_up
        Share of places filled, scalar or ``(D, 1)``.
    rng
        Random generator.
    south_share, remote_weight
        See the rule.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)`` special-post hires, zero outside rural sections, never above the section vacancy.
    """
    vac = np.asarray(section_vacancy, dtype=np.int64)
    n_draws = vac.shape[0]
    cty = np.asarray(section_county, dtype=np.int64)
    rural = np.asarray(section_location) == 2
    south_s = np.asarray(county_south, dtype=bool)[cty]
    remote_s = np.asarray(county_remote, dtype=bool)[cty]
    if not 0 <= south_share <= 1 or remote_weight < 0:
        raise ValueError("south_share must be in [0, 1] and remote_weight >= 0")
    places = _per_draw_count(per_year_total, n_draws, "per_year_total")
    weight = np.where(rural[None, :], vac, 0) * np.where(remote_s, remote_weight, 1.0)[None, :]
    eligible_vacancy = np.where(weight > 0, vac, 0)  # remote_weight = 0 excludes remote counties
    group = south_s.astype(np.int64)  # 0 other, 1 south
    split = allocate_largest_remainder(
        places[:, None], np.broadcast_to([1.0 - south_share, south_share], (n_draws, 2)), [0, 0], 1
    )
    capacity = np.rint(group_sum(eligible_vacancy, group, 2)).astype(np.int64)
    posts = np.minimum(split, capacity)
    # The remote multiplier can push a proportional share above a section's vacancy: water-fill under the cap.
    placed = _capped_allocation(posts, weight, eligible_vacancy, group, 2)
    return kernels.binomial(placed, _per_draw(take_up, n_draws, "take_up"), rng)


def targeted_graduate_hires(
    per_year_total: int | npt.ArrayLike,
    section_vacancy: npt.ArrayLike,
    section_county: npt.ArrayLike,
    county_south: npt.ArrayLike,
    county_remote: npt.ArrayLike,
    take_up: float | npt.ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Targeted graduates (優師計劃) placed in sections of designated counties.

    Rule (assumption): the national programme directs graduates to the 832 formerly poor counties and the
    land-border counties of the centre and west (SOURCES.md §4c); in the model the designated counties are the
    southern ones (most of Xinjiang's formerly poor counties are in the four southern prefectures) and the
    remote ones (a proxy for border counties). ``per_year_total`` graduates (lever) are capped at the
    vacancies of those counties, allocated to their sections (any location, both levels) in proportion to
    vacancy by the largest-remainder rule, and each takes up the post with probability ``take_up``
    (uncertainty; graduates are bound by contract, so a high range such as 0.90–1.00 is suggested).

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)``, zero outside designated counties, never above the section vacancy.
    """
    vac = np.asarray(section_vacancy, dtype=np.int64)
    n_draws = vac.shape[0]
    cty = np.asarray(section_county, dtype=np.int64)
    designated = (np.asarray(county_south, dtype=bool) | np.asarray(county_remote, dtype=bool))[cty]
    eligible_vacancy = np.where(designated[None, :], vac, 0)
    places = _per_draw_count(per_year_total, n_draws, "per_year_total")
    group = np.zeros(cty.shape, dtype=np.int64)
    capacity = np.rint(group_sum(eligible_vacancy, group, 1)).astype(np.int64)
    posts = np.minimum(places[:, None], capacity)
    placed = allocate_largest_remainder(posts, eligible_vacancy, group, 1)
    return kernels.binomial(placed, _per_draw(take_up, n_draws, "take_up"), rng)


def _capped_allocation(
    totals: IntArray, weight: npt.ArrayLike, cap: IntArray, group: npt.ArrayLike, n_groups: int
) -> IntArray:
    """Largest-remainder allocation by ``weight`` that never gives a section more than ``cap``.

    Repeats the allocation of what exceeds the caps among the sections still below them (water-filling); ends
    because every round saturates at least one more section or places everything. ``totals`` must not exceed
    the capped group total.
    """
    w = np.asarray(weight, dtype=np.float64)
    cap_arr = np.asarray(cap, dtype=np.int64)
    out = np.zeros(cap_arr.shape, dtype=np.int64)
    left = np.asarray(totals, dtype=np.int64).copy()
    for _ in range(cap_arr.shape[1] + 1):
        if not np.any(left > 0):
            break
        room = cap_arr - out
        w_room = np.where(room > 0, w, 0.0)
        step = np.minimum(allocate_largest_remainder(left, w_room, group, n_groups), room)
        out += step
        left = left - np.rint(group_sum(step, group, n_groups)).astype(np.int64)
    return out


def retrain_for_junior(
    primary_surplus: npt.ArrayLike,
    junior_vacancy: npt.ArrayLike,
    per_year_total: int | npt.ArrayLike,
    pass_rate: float | npt.ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Primary teachers retrained and certified for junior posts in the same county.

    Plan §二(一)3: "有序組織低學段教師獲取初、高中教師資格". Rule (assumption):

    1. Candidates per county: ``min(primary surplus, junior vacancy)`` — only surplus primary teachers are
       retrained, and only as many as there are junior posts to fill.
    2. Training places: ``per_year_total`` for the region (lever), allocated to counties in proportion to
       their candidates by the largest-remainder rule and capped at them.
    3. Each trainee passes the junior teacher-qualification requirement with probability ``pass_rate``
       (uncertainty; no figure found, suggested range 0.6–0.9).

    The engine removes the returned count from the county's primary sections (e.g. with
    :func:`sim.mechanisms.quota.hypergeometric_within_groups` over the section surplus) and adds it to the
    junior sections with :func:`allocate_hires_to_sections`.

    Parameters
    ----------
    primary_surplus, junior_vacancy
        ``(D, C)`` surplus primary teachers and vacant junior posts per county.
    per_year_total
        Training places for the region, scalar or ``(D,)``.
    pass_rate
        Scalar or ``(D, 1)``.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, C)`` teachers moving from primary to junior, never above either the surplus or the
        vacancy.
    """
    surplus = np.asarray(primary_surplus, dtype=np.int64)
    vacancy = np.asarray(junior_vacancy, dtype=np.int64)
    n_draws, n_counties = surplus.shape
    candidates = np.maximum(np.minimum(surplus, vacancy), 0)
    places = _per_draw_count(per_year_total, n_draws, "per_year_total")
    posts = np.minimum(places[:, None], candidates.sum(axis=1, keepdims=True))
    trained = allocate_largest_remainder(posts, candidates, np.zeros(n_counties, dtype=np.int64), 1)
    return kernels.binomial(trained, _per_draw(pass_rate, n_draws, "pass_rate"), rng)


def new_hire_attributes(
    hires: npt.ArrayLike, above_qualification_share: float | npt.ArrayLike, rng: np.random.Generator
) -> IntArray:
    """How many new hires hold more than the required qualification (高於規定學歷).

    ``Binomial(hires, above_qualification_share)``; the share is an uncertainty (suggested range
    :data:`ABOVE_QUALIFICATION_SHARE_RANGE`, 0.85–0.98 of new graduates, assumption). New hires are not
    backbone teachers and are aged :data:`NEW_HIRE_AGE_BAND_YEARS` (20–24).

    Returns
    -------
    numpy.ndarray
        ``int64``, same shape as ``hires``.
    """
    h = np.asarray(hires, dtype=np.int64)
    share = _per_draw(above_qualification_share, h.shape[0], "above_qualification_share")
    share = share.reshape((h.shape[0],) + (1,) * (h.ndim - 1))
    return kernels.binomial(h, share, rng)
