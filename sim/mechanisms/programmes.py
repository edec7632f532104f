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

Sources of the ranges are in :mod:`sim.parameters` (``programmes.*``); the history that anchors the
special-education range is in ``calibration/data/observations_found.csv`` (NBS, Xinjiang special-education
schools: 15 in 2011, 29 in 2014, 28 in every year 2015–2019).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

PROGRAMMES: tuple[str, ...] = ("gigabit", "counselling", "special_education")
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
