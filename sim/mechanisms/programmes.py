"""Delivery of the counted programmes: what a yearly plan actually delivers, and when (issue 16 item 1).

Targets T8 (special-education schools), T9 (counselling rooms) and T10 (gigabit) used to follow their levers
exactly: the lever's units a year were built in the year they were planned, so a target was met on the day the
arithmetic said. Here a programme's lever is its *capacity*, the units planned a year, and what arrives is

* **delivered** — ``delivery_ratio`` of the planned units (a per-draw uncertainty: how such programmes delivered
  before), counted cumulatively so that a ratio of 0.5 and 1 unit a year delivers one unit every second year
  (no randomness: a draw's ratio fixes the sequence), and
* **late** — a unit started in year ``t`` is in use in ``t + lead_years`` (a per-draw uncertainty in whole years).

T6 (pairing) has no build, but a *capacity*: a county pairs its rural schools with its own town and urban
schools (plan §二(二)2, "城鎮學校對口幫扶鄉村學校"), and one town school supports a limited number of rural
schools (``rural_per_town_school``, an uncertainty). A county with many rural schools and few town schools cannot
reach full coverage whatever the schedule says.

All functions are pure: they return new arrays. Units: counts of schools (or rooms) per draw.

T8b (enrolment of school-age children with disabilities, plan §二(四)1 "適齡殘疾兒童義務教育入學率保持在97%以上") is
a *capacity* too (:func:`disabled_enrolled`): the children of a county are placed in school places (special-
education schools and inclusive classes in regular schools, 隨班就讀), and of those left without a place a share
(``home_reach``) is taught at home (送教上門). The start year's places follow from the start year's rate and the
share of the enrolled taught at home (:func:`start_school_places`, :func:`home_reach`); after it, places grow only
by what the programmes deliver: each special-education school opened adds its places, each resource room (資源教室,
the ``resource_rooms`` programme) adds the places of the inclusive pupils it supports. The number of children
with disabilities follows the county's pupils (``children_per_pupil``). So the rate rises when delivery outpaces
the children and falls when it does not.

Sources of the ranges are in :mod:`sim.parameters` (``programmes.*``, ``disability.*``); the history that anchors the
special-education range is in ``calibration/data/observations_found.csv`` (NBS, Xinjiang special-education
schools: 15 in 2011, 29 in 2014, 28 in every year 2015–2019).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

PROGRAMMES: tuple[str, ...] = ("gigabit", "counselling", "special_education", "resource_rooms")
"""The programmes with a delivery pipeline, in the order of the state's programme axis."""

MAX_LEAD_YEARS = 5
"""Longest lead time the pipeline holds (years); the parameter ranges stay below it (checked on use)."""

_EPS = 1e-9
"""Slack before ``floor`` so that an exact product (4 × 0.25 = 1) is not pushed down by float error."""


def empty_pipeline(n_draws: int) -> IntArray:
    """``int64 (D, P, MAX_LEAD_YEARS + 1)``: units started and not yet in use, by years until use."""
    return np.zeros((n_draws, len(PROGRAMMES), MAX_LEAD_YEARS + 1), dtype=np.int64)


def started_units(planned_before: npt.ArrayLike, planned_now: npt.ArrayLike,
                  delivery_ratio: npt.ArrayLike) -> IntArray:
    """Units started this year: the whole part of the cumulative planned units × ratio, less last year's.

    ``planned_before`` is the cumulative planned units before this year and ``planned_now`` this year's, both
    ``(D,)``; ``delivery_ratio`` in [0, 1], ``(D,)``. Over any run of years the units started sum to
    ``floor(total planned × ratio)`` exactly.
    """
    before = np.asarray(planned_before, dtype=np.float64)
    now = np.asarray(planned_now, dtype=np.float64)
    ratio = np.asarray(delivery_ratio, dtype=np.float64)
    if np.any(now < 0) or np.any(before < 0):
        raise ValueError("planned units must be non-negative")
    if np.any((ratio < 0) | (ratio > 1)):
        raise ValueError("delivery_ratio: must be in [0, 1]")
    done_before = np.floor(before * ratio + _EPS)
    done_after = np.floor((before + now) * ratio + _EPS)
    return np.asarray(done_after - done_before, dtype=np.int64)


def advance_pipeline(pipeline: npt.ArrayLike, started: npt.ArrayLike,
                     lead_years: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Put this year's started units ``(D,)`` into the pipeline ``(D, L + 1)`` at ``lead_years`` ``(D,)`` and take
    out the units in use this year (a lead of 0 arrives at once).

    Returns ``(arrived (D,), pipeline one year on (D, L + 1))``.
    """
    pipe = np.array(pipeline, dtype=np.int64, copy=True)
    lead = np.asarray(lead_years, dtype=np.int64)
    if np.any(lead < 0) or np.any(lead >= pipe.shape[1]):
        raise ValueError(f"lead_years: must be in [0, {pipe.shape[1] - 1}], got {np.unique(lead)}")
    rows = np.arange(pipe.shape[0])
    pipe[rows, lead] += np.asarray(started, dtype=np.int64)
    arrived = pipe[:, 0].copy()
    pipe[:, :-1] = pipe[:, 1:]
    pipe[:, -1] = 0
    return arrived, pipe


def lead_in_years(value: npt.ArrayLike) -> IntArray:
    """A lead-time draw (years, continuous) as whole years (nearest, as the construction lag is rounded)."""
    lead = np.rint(np.asarray(value, dtype=np.float64)).astype(np.int64)
    if np.any(lead < 0) or np.any(lead > MAX_LEAD_YEARS):
        raise ValueError(f"lead time: must round to 0–{MAX_LEAD_YEARS} years")
    return lead


def paired_needed(coverage: float, rural_per_county: npt.ArrayLike, town_per_county: npt.ArrayLike,
                  rural_per_town_school: npt.ArrayLike) -> FloatArray:
    """Rural schools each county pairs this year, ``(D, C)``: the schedule's coverage of its rural schools, at
    most what its town and urban schools can support (``town × rural_per_town_school``, whole schools).

    ``rural_per_county`` and ``town_per_county`` are ``(C,)``; ``rural_per_town_school`` is ``(D,)``.
    """
    rural = np.asarray(rural_per_county, dtype=np.float64)
    town = np.asarray(town_per_county, dtype=np.float64)
    k = np.asarray(rural_per_town_school, dtype=np.float64)
    if np.any(k < 0):
        raise ValueError("rural_per_town_school: must be non-negative")
    scheduled = np.ceil(coverage * rural - _EPS)
    capacity = np.floor(town[None, :] * k[:, None] + _EPS)
    return np.asarray(np.minimum(scheduled[None, :], capacity), dtype=np.float64)


def disabled_children(pupils_by_county: npt.ArrayLike, children_per_pupil: npt.ArrayLike) -> FloatArray:
    """School-age children with disabilities ``(D, C)``: the county's pupils ``(D, C)`` × the draw's
    ``children_per_pupil`` ``(D,)`` (children, fractional: an expected number)."""
    pupils = np.asarray(pupils_by_county, dtype=np.float64)
    share = np.asarray(children_per_pupil, dtype=np.float64)
    if np.any(share < 0):
        raise ValueError("children_per_pupil: must be non-negative")
    return np.asarray(pupils * share[:, None], dtype=np.float64)


def home_reach(start_rate: npt.ArrayLike, home_share: npt.ArrayLike) -> FloatArray:
    """Share of the children without a school place who are taught at home (送教上門), ``(D,)``.

    In the start year ``rate = placed + reach × (1 − placed)`` (per child) and home delivery is ``home_share`` of
    the enrolled: ``reach × (1 − placed) = home_share × rate``. Solving, ``placed = rate × (1 − home_share)`` and
    ``reach = rate × home_share / (1 − rate × (1 − home_share))`` (1 when every child is placed or reached).
    """
    rate = np.asarray(start_rate, dtype=np.float64)
    home = np.asarray(home_share, dtype=np.float64)
    if np.any((rate < 0) | (rate > 1)) or np.any((home < 0) | (home > 1)):
        raise ValueError("start_rate and home_share: must be in [0, 1]")
    unplaced = 1.0 - rate * (1.0 - home)
    return np.divide(rate * home, unplaced, out=np.ones_like(rate), where=unplaced > _EPS)


def start_school_places(start_rate: npt.ArrayLike, home_share: npt.ArrayLike,
                        children_start: npt.ArrayLike) -> FloatArray:
    """School places (special schools and inclusive classes) of each county in the start year, ``(D, C)``:
    ``start_rate × (1 − home_share)`` of its children (``children_start`` ``(D, C)``), see :func:`home_reach`."""
    rate = np.asarray(start_rate, dtype=np.float64)
    home = np.asarray(home_share, dtype=np.float64)
    return np.asarray((rate * (1.0 - home))[:, None] * np.asarray(children_start, dtype=np.float64))


def disabled_enrolled(children: npt.ArrayLike, places: npt.ArrayLike, reach: npt.ArrayLike) -> FloatArray:
    """Children with disabilities enrolled ``(D, C)``: those placed in a school place (at most the places
    ``(D, C)``) and ``reach`` ``(D,)`` of the rest, taught at home."""
    n = np.asarray(children, dtype=np.float64)
    cap = np.asarray(places, dtype=np.float64)
    h = np.asarray(reach, dtype=np.float64)
    if np.any(cap < 0) or np.any(n < 0):
        raise ValueError("children and places: must be non-negative")
    placed = np.minimum(n, cap)
    return np.asarray(placed + h[:, None] * (n - placed), dtype=np.float64)


def spread_by_weight(units: npt.ArrayLike, weight: npt.ArrayLike) -> FloatArray:
    """Units of a region-wide programme ``(D,)`` spread over counties by ``weight`` ``(C,)`` (its share of the
    total weight; a fraction of a unit is a share of its places), ``(D, C)``; nothing where the weights are 0."""
    w = np.asarray(weight, dtype=np.float64)
    total = w.sum()
    share = w / total if total > 0 else np.zeros_like(w)
    return np.asarray(np.asarray(units, dtype=np.float64)[:, None] * share[None, :])
