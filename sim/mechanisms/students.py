"""Students (DESIGN §3, mechanism 1): grade-1 intake from births, promotion and dropout, urbanisation drift,
assignment of entrants to sections, and entry to junior school.

State is per **section** (the primary or junior part of a school): an integer array ``(D, S, 9)`` of pupils by
grade (index 0 = grade 1 … 8 = grade 9; primary grades 1–6, junior 7–9, the 6+3 system of Xinjiang). Locations
are indexed as in :data:`sim.baseline.LOCATIONS`: 0 urban (城區), 1 town (鎮區), 2 rural (鄉村).

Every random flow is binomial, multinomial or Poisson, drawn over a whole array with the ``rng`` passed in (promotion,
placement within groups and drift in one compiled pass each, :mod:`sim.mechanisms.kernels`); per-draw rates are
scalars, ``(D,)`` or ``(D, 1)`` and broadcast. Functions never modify their inputs and
return flows, so the engine can check ``stock(t+1) = stock(t) + entries − exits``::

    entries = intake (grade 1) + junior entry (grade 7) + drift in
    exits   = dropouts + graduates (grade 6 leaving primary, grade 9 leaving school) + drift out

The allocation helpers (:func:`allocate_within_groups`, :func:`drift_within_county`, :func:`county_totals`)
are shared with :mod:`sim.mechanisms.teachers`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from sim.mechanisms import kernels
from sim.vocabulary import N_LOCATIONS, RURAL

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

N_GRADES = 9
LAST_PRIMARY_GRADE_INDEX = 5
"""Index of grade 6; its completers leave the primary section for a junior section."""
LAST_GRADE_INDEX = 8
"""Index of grade 9; its completers leave compulsory education."""
TRANSITIONS = 8
"""Transitions between entering grade 1 and completing grade 9 (1→2, …, 8→9) at which dropout can occur."""


CENSUS_YEAR = 2020
"""7th population census, reference date 2020-11-01 (SOURCES §2)."""
ENTRY_AGE_YEARS = 6
"""Age at which children enter grade 1 (autumn of the year they turn 6)."""

REGION_BIRTHS: MappingProxyType[int, float] = MappingProxyType({2019: 205_400.0, 2021: 160_000.0})
"""Registered births in Xinjiang by year: 20.54万 (2019 statistical bulletin) and 16.0万 (2021 bulletin),
SOURCES §1d (medium reliability). Read-only."""
BIRTHS_ANCHOR_YEAR = 2021
"""Last year with published regional births; projections start from it."""


# ------------------------------------------------------------------------------------------------------------
# shared helpers


def per_draw(x: ArrayLike, ndim: int) -> FloatArray:
    """A scalar, ``(D,)`` or ``(D, 1)`` per-draw value reshaped to ``(D, 1, …, 1)`` with ``ndim`` dimensions
    (``(1, …, 1)`` for a scalar)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return a.reshape((1,) * ndim)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"a per-draw value must be a scalar, (D,) or (D, 1); got shape {np.shape(x)}")
    return a.reshape((a.shape[0],) + (1,) * (ndim - 1))


def check_probability(name: str, p: ArrayLike) -> None:
    """Raise ``ValueError`` unless every value of ``p`` is in [0, 1]."""
    a = np.asarray(p, dtype=np.float64)
    if not np.all((a >= 0.0) & (a <= 1.0)):
        raise ValueError(f"{name} must be in [0, 1], got values in [{np.min(a)}, {np.max(a)}]")


def check_stock(name: str, stock: IntArray, last_axis: int | None = None) -> None:
    """Raise ``ValueError`` unless ``stock`` is a non-negative ``(D, S, …)``, ``last_axis`` entries last."""
    if stock.ndim < 3:
        raise ValueError(f"{name} must have shape (D, S, …), got {stock.shape}")
    if last_axis is not None and stock.shape[-1] != last_axis:
        raise ValueError(f"{name} must have {last_axis} entries on its last axis, got {stock.shape}")
    if stock.size and stock.min() < 0:
        raise ValueError(f"{name} must be non-negative")


def county_totals(x: ArrayLike, section_county: ArrayLike, n_counties: int) -> npt.NDArray[Any]:
    """Sum of ``x`` ``(D, S, …)`` over the sections of each county (or any group index): ``(D, C, …)``.

    Integer (and bool) inputs give ``int64`` sums, float inputs ``float64``. Sections already ordered by group
    (the engine's layout) are summed in place, without a reordered copy of ``x``.
    """
    a = np.asarray(x)
    a = a.astype(np.result_type(a.dtype, np.int64), copy=False)
    county = np.asarray(section_county, dtype=np.int64)
    out = np.zeros((a.shape[0], n_counties, *a.shape[2:]), dtype=a.dtype)
    if county.size == 0:
        return out
    if np.all(county[1:] >= county[:-1]):
        sorted_county, ordered = county, a
    else:
        order = np.argsort(county, kind="stable")
        sorted_county, ordered = county[order], a[:, order]
    starts = np.flatnonzero(np.r_[True, sorted_county[1:] != sorted_county[:-1]])
    out[:, sorted_county[starts]] = np.add.reduceat(ordered, starts, axis=1)
    return out


def group_members(section_group: ArrayLike, n_groups: int) -> tuple[IntArray, IntArray, IntArray]:
    """Sections of every group, in group order: ``(sections, start, size)``.

    ``sections[start[g] : start[g] + size[g]]`` are the sections of group ``g`` in increasing order; sections of
    group ``-1`` belong to none. Linear when the groups are already sorted (the engine's layout).

    Raises
    ------
    ValueError
        For a group index outside ``-1 … n_groups − 1``.
    """
    group = np.asarray(section_group, dtype=np.int64)
    if group.size and (group.min() < -1 or group.max() >= n_groups):
        raise ValueError(f"section groups must be in -1 … {n_groups - 1}, got [{group.min()}, {group.max()}]")
    member = np.flatnonzero(group >= 0)
    of_member = group[member]
    if of_member.size and np.any(of_member[1:] < of_member[:-1]):
        member = member[np.argsort(of_member, kind="stable")]
    size = np.bincount(of_member, minlength=n_groups).astype(np.int64)
    start = np.zeros(n_groups, dtype=np.int64)
    np.cumsum(size[:-1], out=start[1:])
    return member.astype(np.int64), start, size


def allocate_within_groups(
    n_by_group: IntArray,
    weights: ArrayLike,
    section_group: ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Multinomial placement of per-group counts in the group's sections, in proportion to the weights.

    Parameters
    ----------
    n_by_group
        ``(D, G, B)`` counts to place (``B`` = grades, age bands or 1).
    weights
        Non-negative weights, ``(S,)``, ``(D, S)`` or ``(D, S, B)``.
    section_group
        ``(S,)`` group of every section (e.g. its county), ``-1`` for sections that receive nothing.
    rng
        Random generator.

    Returns
    -------
    ``(D, S, B)`` arrivals; summed over the sections of a group they equal ``n_by_group`` exactly.

    Raises
    ------
    ValueError
        If a positive count has no section of positive weight in its group (callers decide beforehand what
        happens then: an equal split, or cancelling the movers), or for a group index outside ``-1 … G − 1``.

    Notes
    -----
    For every (draw, group, slot) with something to place, the arrivals are ``Multinomial(n, w / W)`` over the
    group's sections, drawn in one compiled pass (:func:`sim.mechanisms.kernels.allocate_groups`) by binomial
    splitting down a binary tree of the group's sections. Weights given as ``(S,)`` or ``(D, S)`` are read
    through a broadcast view, never copied to ``(D, S, B)``.
    """
    n = np.asarray(n_by_group, dtype=np.int64)
    d, g, b = n.shape
    group = np.asarray(section_group, dtype=np.int64)
    s = group.size
    w = np.asarray(weights, dtype=np.float64)
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    if w.ndim == 1:
        w = w[None, :, None]
    elif w.ndim == 2:
        w = w[:, :, None]
    members, start, size = group_members(group, g)
    if members.size == 0 and np.any(n > 0):
        raise ValueError("counts to allocate but no receiving section")
    out, bad = kernels.allocate_groups(n, np.broadcast_to(w, (d, s, b)), members, start, size, rng)
    if bad >= 0:
        raise ValueError(f"counts to allocate in group {bad} but no section of positive weight there")
    return out


class DriftFlows(NamedTuple):
    """Moves between sections of the same county; ``stock − moved_out + moved_in`` is the new stock."""

    moved_out: IntArray
    """``(D, S, B)`` leaving each rural section."""
    moved_in: IntArray
    """``(D, S, B)`` arriving in each town or urban section; county totals equal those of ``moved_out``."""


def drift_within_county(
    stock: IntArray,
    section_location: ArrayLike,
    section_county: ArrayLike,
    rate: ArrayLike,
    receiving_weights: ArrayLike,
    rng: np.random.Generator,
) -> DriftFlows:
    """Rural → town/urban moves inside each county, slot by slot of the last axis (grade or age band).

    Movers: ``Binomial(stock, rate)`` in rural sections. The movers of each (draw, county, slot) are placed by
    one multinomial over the county's town and urban sections whose receiving weight for that slot is
    positive, in proportion to the weights. Where a (draw, county, slot) has no such section the movers drawn
    there are cancelled (nobody moves). Totals per county, draw and slot are conserved exactly.

    Parameters
    ----------
    stock
        ``(D, S, B)`` counts.
    section_location, section_county
        ``(S,)`` location code and county index.
    rate
        Scalar, ``(D,)`` or ``(D, 1)``.
    receiving_weights
        ``(S,)``, ``(D, S)`` or ``(D, S, B)``, non-negative; ignored for rural sections.
    rng
        Random generator.
    """
    stock = np.asarray(stock, dtype=np.int64)
    check_stock("stock", stock)
    d, s, b = stock.shape
    loc = np.asarray(section_location, dtype=np.int64)
    county = np.asarray(section_county, dtype=np.int64)
    if loc.shape != (s,) or county.shape != (s,):
        raise ValueError(f"section_location and section_county must have shape ({s},)")
    p = per_draw(rate, 3)
    check_probability("rate", p)
    w = _weight_array(receiving_weights)
    if w.size and w.min() < 0:
        raise ValueError("receiving weights must be non-negative")
    if w.ndim == 1:
        w = w[None, :, None]
    elif w.ndim == 2:
        w = w[:, :, None]
    n_counties = int(county.max()) + 1 if s else 0
    rural = loc == RURAL
    moved_out, moved_in = kernels.drift_counties(
        stock, np.broadcast_to(p.reshape(-1), (d,)), np.broadcast_to(w, (d, s, b)),
        *group_members(np.where(rural, county, -1), n_counties),
        *group_members(np.where(rural, -1, county), n_counties), rng,
    )
    return DriftFlows(moved_out, moved_in)


def _weight_array(weights: ArrayLike) -> npt.NDArray[Any]:
    """Weights as ``int64`` when given as integers or booleans (e.g. pupils: no float copy), else ``float64``."""
    w = np.asarray(weights)
    if w.dtype.kind in "biu":
        return w.astype(np.int64, copy=False)
    return w.astype(np.float64, copy=False)


def _equal_if_empty(weights: FloatArray, section_group: IntArray, n_groups: int) -> FloatArray:
    """Weights with every all-zero group replaced by equal weights over its sections (``(D, S)``)."""
    member = section_group >= 0
    w = weights * member[None, :]
    total = county_totals(w, np.maximum(section_group, 0), n_groups)
    empty = (total[:, np.maximum(section_group, 0)] <= 0) & member[None, :]
    return np.where(empty, 1.0, w)


def _as_draw_section(weights: ArrayLike, d: int, s: int) -> FloatArray:
    w = np.asarray(weights, dtype=np.float64)
    if np.any(w < 0):
        raise ValueError("section weights must be non-negative")
    if w.ndim == 1:
        w = w[None, :]
    return np.broadcast_to(w, (d, s)).astype(np.float64)


# ------------------------------------------------------------------------------------------------------------
# intake


LAST_CENSUS_ENTRY_YEAR = 2026
"""Last school year whose grade-1 entrants the 2020 census counted (aged 0 on 2020-11-01); later entrants come
from births (:func:`expected_intake_from_births`)."""


def census_entry_year(age_at_census: ArrayLike) -> IntArray:
    """School year (autumn) in which children aged ``a`` at the 2020 census enter grade 1: ``2020 + 6 − a``.

    Assumption: a child aged ``a`` on 2020-11-01 was born between Nov 2019−a and Oct 2020−a; those born
    November to August (10 of 12 months) turn 6 by 31 August of ``2026 − a`` and enter that autumn. The
    September–October births, who enter a year later, are not shifted: they are offset by the previous
    cohort's September–October births, so the error is a one-sixth smoothing between adjacent cohorts.
    """
    return CENSUS_YEAR + ENTRY_AGE_YEARS - np.asarray(age_at_census, dtype=np.int64)


def projected_region_births(
    birth_year: int,
    trend_per_year: ArrayLike,
    *,
    anchor_year: int = BIRTHS_ANCHOR_YEAR,
    anchor_births: float | None = None,
) -> FloatArray:
    """Region births projected from the last published year: ``b(y) = b(2021) · exp(trend · (y − 2021))``.

    Parameters
    ----------
    birth_year
        Calendar year of birth.
    trend_per_year
        Log change of births per year (uncertainty ``births.trend_per_year``); scalar, ``(D,)`` or ``(D, 1)``.
        For scale: 20.54万 (2019) → 16.0万 (2021) is ``ln(16.0/20.54)/2 = −0.125`` per year (SOURCES §1d).
    anchor_year, anchor_births
        Anchor of the projection; default 2021 and :data:`REGION_BIRTHS` of that year (16.0万).

    Returns
    -------
    ``(D, 1)`` births (``(1, 1)`` for a scalar trend).
    """
    b0 = REGION_BIRTHS[anchor_year] if anchor_births is None else float(anchor_births)
    trend = per_draw(trend_per_year, 2)
    return np.asarray(b0 * np.exp(trend * (birth_year - anchor_year)), dtype=np.float64)


def reading_weights(births: ArrayLike, monotone: ArrayLike) -> FloatArray:
    """Weights ``(D, 3)`` of the linear, monotone and births readings of the census bands
    (:data:`sim.registry.CENSUS_READINGS`, in that order) from the two stick-breaking parameters.

    ``births`` is the births reading's weight; ``monotone`` is the monotone reading's share of the rest. With
    ``births`` ~ Beta(1, 2) and ``monotone`` ~ U(0, 1) the three weights are a flat Dirichlet (stick-breaking).
    """
    b = np.asarray(births, dtype=float).reshape(-1)
    m = np.asarray(monotone, dtype=float).reshape(-1)
    return np.stack([(1 - b) * (1 - m), (1 - b) * m, b], axis=1)


def expected_intake_mixed(
    year: int,
    census_readings: ArrayLike,
    weights: ArrayLike,
    trend_per_year: ArrayLike,
    *,
    anchor_births: float | None = None,
) -> FloatArray:
    """Expected grade-1 intake ``(D, C)`` when each draw mixes readings of the census bands with its own weights.

    ``census_readings`` is ``(R, C, A)``: the census counts by single year of age under each of ``R`` readings
    (:func:`sim.registry.census_readings`); ``weights`` is ``(D, R)`` (:func:`reading_weights`, rows summing to 1).
    The intake is :func:`expected_intake_from_births` under each reading, weighted per draw; from 2027 every reading
    gives the same (the age-0 band is one year wide), so the mix changes nothing there.
    """
    readings = np.asarray(census_readings, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if readings.ndim != 3 or w.ndim != 2 or w.shape[1] != readings.shape[0]:
        raise ValueError(f"weights {w.shape} do not match readings {readings.shape}: expected (D, {readings.shape[0]})")
    used = [k for k in range(readings.shape[0]) if w[:, k].any()]  # a reading no draw weighs adds exactly 0
    if not used:
        raise ValueError("every reading has weight 0 in every draw: the weights' rows must sum to 1")
    out: FloatArray = sum(  # type: ignore[assignment]  # a sum of (D, C) arrays, at least one
        w[:, [k]] * expected_intake_from_births(year, readings[k], trend_per_year, anchor_births=anchor_births)
        for k in used)
    return out


def expected_intake_from_births(
    year: int,
    census_counts_by_age: ArrayLike,
    trend_per_year: ArrayLike,
    *,
    anchor_year: int = BIRTHS_ANCHOR_YEAR,
    anchor_births: float | None = None,
) -> FloatArray:
    """Expected grade-1 intake of each county in the autumn of ``year`` (deterministic).

    While census cohorts last (``year ≤ 2026``) the intake is the county's census count of single-year age
    ``a = 2026 − year`` (:func:`census_entry_year`). From 2027 it is the births of ``year − 6`` projected by
    :func:`projected_region_births` and shared among counties in proportion to their census age-0 count
    (children born Nov 2019–Oct 2020, the last observed county cohort).

    Assumptions: no mortality or net migration between the census (or birth) and school entry, and full entry
    (net enrolment 99.97% in 2019, SOURCES §1e); the census age-0 count is somewhat undercounted (SOURCES §2),
    which matters only for the county shares. The 2021 anchor (16.0万) is first used for entry in 2027.

    Parameters
    ----------
    year
        School year (autumn) of entry.
    census_counts_by_age
        ``(C, A)`` census counts by single year of age ``0 … A−1`` (A ≥ 1), per county.
    trend_per_year
        Scalar, ``(D,)`` or ``(D, 1)``; used only for projected years.
    anchor_year, anchor_births
        See :func:`projected_region_births`.

    Returns
    -------
    ``(D, C)`` expected entrants (``(1, C)`` for a scalar trend).

    Raises
    ------
    ValueError
        For a year earlier than the oldest census cohort can enter.
    """
    census = np.asarray(census_counts_by_age, dtype=np.float64)
    if census.ndim != 2 or census.shape[1] < 1 or np.any(census < 0):
        raise ValueError("census_counts_by_age must be a non-negative (C, A) array with A ≥ 1")
    d = per_draw(trend_per_year, 2).shape[0]
    age = CENSUS_YEAR + ENTRY_AGE_YEARS - year
    if age >= census.shape[1]:
        oldest = int(census_entry_year(census.shape[1] - 1))
        raise ValueError(f"no census cohort for entry in {year}: the oldest age given enters in {oldest}")
    if age >= 0:
        return np.broadcast_to(census[:, age][None, :], (d, census.shape[0])).copy()
    age0 = census[:, 0]
    if age0.sum() <= 0:
        raise ValueError("census age-0 counts sum to zero: no county shares for projected births")
    births = projected_region_births(
        year - ENTRY_AGE_YEARS, trend_per_year, anchor_year=anchor_year, anchor_births=anchor_births
    )
    return np.asarray(births * (age0 / age0.sum())[None, :], dtype=np.float64)


def realise_intake(expected_intake: ArrayLike, rng: np.random.Generator) -> IntArray:
    """Random intake around the expected one: ``Poisson(expected)`` per draw and county.

    Assumption: demographic noise of a cohort around its expected size is Poisson; the trend uncertainty of
    :func:`projected_region_births` dominates the spread of projected cohorts.
    """
    lam = np.asarray(expected_intake, dtype=np.float64)
    if np.any(lam < 0):
        raise ValueError("expected intake must be non-negative")
    return rng.poisson(lam).astype(np.int64)


def split_by_location(intake: IntArray, location_share: ArrayLike, rng: np.random.Generator) -> IntArray:
    """Multinomial split of each county's intake among urban, town and rural: ``(D, C)`` → ``(D, C, 3)``.

    Parameters
    ----------
    intake
        ``(D, C)`` entrants.
    location_share
        ``(C, 3)`` or ``(D, C, 3)`` shares by location (e.g. the registry's grade-1 pupils by location), rows
        summing to 1; a county with no section of a location must have a zero share there.
    rng
        Random generator.
    """
    n = np.asarray(intake, dtype=np.int64)
    share = np.asarray(location_share, dtype=np.float64)
    check_probability("location_share", share)
    if not np.allclose(share.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("location shares must sum to 1 for every county")
    share = share / share.sum(axis=-1, keepdims=True)
    return rng.multinomial(n, np.broadcast_to(share, (*n.shape, N_LOCATIONS))).astype(np.int64)


def assign_intake(
    intake_by_county_location: IntArray,
    section_weights: ArrayLike,
    section_county: ArrayLike,
    section_location: ArrayLike,
    rng: np.random.Generator,
    *,
    section_is_primary: ArrayLike | None = None,
) -> IntArray:
    """Grade-1 entrants of each (county, location) placed in its primary sections: one multinomial call.

    Sections receive in proportion to ``section_weights`` (e.g. current grade-1 pupils, or capacity). Where
    all the sections of a (county, location) have zero weight they share equally (assumption: nearest-school
    admission spreads pupils evenly when nothing else is known).

    Parameters
    ----------
    intake_by_county_location
        ``(D, C, 3)`` entrants.
    section_weights
        ``(S,)`` or ``(D, S)``, non-negative.
    section_county, section_location
        ``(S,)`` county index and location code.
    rng
        Random generator.
    section_is_primary
        ``(S,)`` bool; only these sections receive (default: all).

    Returns
    -------
    ``(D, S)`` grade-1 entrants; their sum over a (county, location) equals the intake.

    Raises
    ------
    ValueError
        If a (county, location) with entrants has no primary section.
    """
    n = np.asarray(intake_by_county_location, dtype=np.int64)
    d, c, n_loc = n.shape
    county = np.asarray(section_county, dtype=np.int64)
    loc = np.asarray(section_location, dtype=np.int64)
    s = county.size
    eligible = np.ones(s, bool) if section_is_primary is None else np.asarray(section_is_primary, bool)
    group = np.where(eligible, county * n_loc + loc, -1)
    sizes = np.bincount(group[group >= 0], minlength=c * n_loc)
    missing = np.flatnonzero((sizes == 0) & (n.reshape(d, c * n_loc).sum(axis=0) > 0))
    if missing.size:
        where = [(int(gi // n_loc), int(gi % n_loc)) for gi in missing]
        raise ValueError(f"entrants but no primary section in (county, location) {where}")
    w = _equal_if_empty(_as_draw_section(section_weights, d, s), group, c * n_loc)
    return allocate_within_groups(n.reshape(d, c * n_loc, 1), w, group, rng)[..., 0]


# ------------------------------------------------------------------------------------------------------------
# promotion, dropout, junior entry, drift


HAZARD_REFERENCE_YEAR = 2020
"""Year of the first published Xinjiang consolidation rate (95.69%, SOURCES §1e): the dropout hazard of
:func:`dropout_hazard` is anchored there, declines after it and rises backwards before it."""
PATH_FIRST_YEAR = 2011
"""First year of the hazard's pre-2020 path; earlier years keep its 2011 value. Source: the national stock-flow
nine-year survival (``calibration/data/national_compulsory_2000_2024.csv``, losses by level combined as in
:data:`LEVEL_OF_GRADE`) is flat before 2011: 0.872, 0.874, 0.875 in 2009–2011."""

LEVELS = ("primary", "transition", "junior")
"""Levels of the dropout hazard: the primary steps, the primary→junior transition, the junior steps."""
LEVEL_OF_GRADE = (0, 0, 0, 0, 0, 1, 2, 2, 2)
"""Level of the hazard each grade's pupils drop out at (:func:`promote`): grades 1–5 (steps 1→2 … 5→6) primary;
grade 6 (leaving grade 6 and entering grade 7) the transition; grades 7–8 (7→8, 8→9) junior. Grade 9 drops
nobody (the model completes all of it), so the junior steps carry the junior losses of grade 9 too."""
LEVEL_OF_TRANSITION = LEVEL_OF_GRADE[:TRANSITIONS]
"""Level of each of the 8 transitions (1→2, …, 8→9)."""
STEPS_BY_LEVEL = (5, 1, 2)
"""Transitions of each level in :data:`LEVEL_OF_TRANSITION`."""


def county_dropout_multiplier(sd: ArrayLike, n_counties: int, rng: np.random.Generator) -> FloatArray:
    """``(D, C)`` county multipliers of the dropout hazard, ``exp(σ z − σ²/2)`` with ``z ~ N(0, 1)`` per draw and
    county and ``σ`` the draw's ``sd`` ``(D,)``: log-normal with mean 1, so the counties' spread leaves the
    expected hazard unchanged. A draw keeps its multipliers for the whole run (the caller passes a stream that
    does not change with the year)."""
    sigma = np.asarray(sd, dtype=np.float64).reshape(-1, 1)
    if np.any(sigma < 0):
        raise ValueError(f"county dropout sd must be >= 0, got {np.min(sigma)}")
    z = rng.standard_normal((sigma.shape[0], n_counties))
    return np.asarray(np.exp(sigma * z - 0.5 * sigma**2), dtype=np.float64)


def level_hazards(consolidation_rate: ArrayLike, transition_ratio: ArrayLike, junior_ratio: ArrayLike,
                  rise_before_per_year: ArrayLike = 0.0) -> FloatArray:
    """``(D, 3)`` hazards of :data:`HAZARD_REFERENCE_YEAR` by level (:data:`LEVELS`): ``h`` for a primary step,
    ``r_t h`` for the transition and ``r_j h`` for a junior step (``r_t``, ``r_j`` ≥ 0, per draw), such that the
    cohort completing grade 9 in 2020 keeps the share ``c`` of its entrants along the path of
    :func:`dropout_hazard`::

        ∏_{j=0..7} (1 − min(1, r_{level(j)} · h · exp(k_b · (8 − j)))) = c

    The consolidation rate is a cohort rate (graduates ÷ the cohort's grade-1 entrants, SEARCHES.md "Issue 16: T7"),
    and the model's completers of year ``y`` made their transition ``j`` (:data:`LEVEL_OF_TRANSITION`) in year
    ``y − 8 + j`` (:func:`promote` before the intake), so the published 2020 rate is met by the hazards of
    2012–2019, ``8 − j`` years before 2020 on the path rising backwards at ``k_b`` (``rise_before_per_year``).
    With ``k_b = 0`` this is the product over 8 steps of the 2020 hazards; with ``r_t = r_j = 1`` too it is
    :func:`hazard_from_consolidation`.

    The left side falls strictly in ``h`` from 1 (at 0) to 0 (where the largest factor reaches 1), so ``h`` is
    unique; it is found by bisection (60 halvings: below 1e-18). Sources of the ratios and ``k_b``:
    ``students.transition_hazard_ratio``, ``students.junior_hazard_ratio``, ``students.dropout_rise_before_2020``.
    """
    c = np.asarray(consolidation_rate, dtype=np.float64).reshape(-1)
    check_probability("consolidation_rate", c)
    r_t = np.asarray(transition_ratio, dtype=np.float64).reshape(-1)
    r_j = np.asarray(junior_ratio, dtype=np.float64).reshape(-1)
    k_b = np.asarray(rise_before_per_year, dtype=np.float64).reshape(-1)
    if np.any(r_t < 0) or np.any(r_j < 0) or np.any(k_b < 0):
        raise ValueError("hazard ratios and the rise before 2020 must be >= 0")
    c, r_t, r_j, k_b = np.broadcast_arrays(c, r_t, r_j, k_b)
    ratio = np.stack([np.ones_like(c), r_t, r_j], axis=-1)[:, list(LEVEL_OF_TRANSITION)]  # (D, 8)
    weight = ratio * np.exp(k_b[:, None] * (TRANSITIONS - np.arange(TRANSITIONS))[None, :])
    lo = np.zeros(c.shape)
    hi = 1.0 / np.maximum(weight.max(axis=1), 1.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        kept = np.prod(1.0 - np.minimum(weight * mid[:, None], 1.0), axis=1)
        too_high = kept < c
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    h = np.where(c >= 1.0, 0.0, 0.5 * (lo + hi))  # c = 1: no dropout, exactly (bisection stops at rounding)
    return np.stack([h, r_t * h, r_j * h], axis=-1)


def dropout_hazard(year: int, hazard_reference: ArrayLike, decline_per_year: ArrayLike,
                   county_multiplier: ArrayLike, rise_before_per_year: ArrayLike = 0.0) -> FloatArray:
    """Per-transition dropout hazard of each county in ``year``:
    ``h_ref · m_c · exp(−k · max(year − 2020, 0) + k_b · (2020 − max(year, 2011))⁺)``, capped at 1.

    ``h_ref`` is the region's hazard of :data:`HAZARD_REFERENCE_YEAR`, ``(D,)`` (:func:`hazard_from_consolidation`
    of the 2020 rate; result ``(D, C)``) or ``(D, L)`` by level (:func:`level_hazards`; result ``(D, C, L)``).
    ``k`` ``(D,)`` is its yearly log decline after 2020, ``k_b`` ``(D,)`` the yearly log rise backwards from 2020
    to :data:`PATH_FIRST_YEAR` (the same for every level; earlier years hold the 2011 value) and ``m_c`` ``(D, C)``
    the county multipliers (:func:`county_dropout_multiplier`). Assumptions: no Xinjiang rate before 2020 was
    found (SEARCHES.md J1–J3), so the path before 2020 is the national one (``students.dropout_rise_before_2020``);
    the levels' ratios do not change with the year.
    """
    h = np.asarray(hazard_reference, dtype=np.float64)
    by_level = h.ndim == 2 and h.shape[1] > 1
    h = h[:, None, :] if by_level else per_draw(h, 2)
    k = per_draw(decline_per_year, 2)
    k_b = per_draw(rise_before_per_year, 2)
    m = np.asarray(county_multiplier, dtype=np.float64)
    check_probability("hazard_reference", h)
    if np.any(k < 0) or np.any(k_b < 0) or np.any(m < 0):
        raise ValueError("the hazard's decline, rise before 2020 and county multipliers must be >= 0")
    log_factor = (-k * max(year - HAZARD_REFERENCE_YEAR, 0)
                  + k_b * max(HAZARD_REFERENCE_YEAR - max(year, PATH_FIRST_YEAR), 0))
    scale = m * np.exp(log_factor)
    if by_level:
        scale = scale[..., None]
    return np.asarray(np.minimum(h * scale, 1.0), dtype=np.float64)


def hazard_from_consolidation(consolidation_rate: ArrayLike) -> FloatArray:
    """Per-transition dropout hazard ``1 − c^(1/8)`` that leaves a share ``c`` of an entry cohort after the 8
    transitions (:func:`survival_per_transition`)."""
    return np.asarray(1.0 - survival_per_transition(consolidation_rate), dtype=np.float64)


def by_grade(hazard: ArrayLike) -> FloatArray:
    """``(…, 9)`` hazard of each grade's pupils from a hazard by level ``(…, 3)`` (:data:`LEVEL_OF_GRADE`), or from
    one hazard ``(…)`` for all grades."""
    h = np.asarray(hazard, dtype=np.float64)
    if h.ndim >= 3:
        return np.asarray(h[..., list(LEVEL_OF_GRADE)], dtype=np.float64)
    return np.repeat(h[..., None], N_GRADES, axis=-1)


def start_cohort_survival(hazard_by_year: FloatArray) -> FloatArray:
    """``(D, C, 9)`` share of its entry cohort that each grade's cohort still has at the first step of the run.

    ``hazard_by_year`` is ``(D, C, 8)`` (one hazard for every transition) or ``(D, C, 3, 8)`` (by level,
    :data:`LEVELS`); its last index ``j`` is the year ``j + 1`` years before the first step. The cohort in grade
    index ``g`` made its transition ``g − 1 − j`` (level :data:`LEVEL_OF_TRANSITION`) ``j + 1`` years before the
    step, so its share is ``∏_{j < g} (1 − h[level(g − 1 − j), j])`` (grade 1: 1). Assumption: before the run the
    cohorts dropped out at the mechanism's expected hazard (no county histories were found)."""
    h = np.asarray(hazard_by_year, dtype=np.float64)
    check_probability("hazard_by_year", h)
    if h.ndim == 3:
        h = np.repeat(h[:, :, None, :], len(LEVELS), axis=2)
    out = np.ones((*h.shape[:2], N_GRADES))
    for g in range(1, N_GRADES):
        for j in range(g):
            out[..., g] *= 1.0 - h[:, :, LEVEL_OF_TRANSITION[g - 1 - j], j]
    return out


def advance_cohort_survival(survival: FloatArray, pupils: FloatArray, dropouts: FloatArray,
                            hazard: FloatArray) -> FloatArray:
    """``(D, C, 9)`` cohort shares after one year of :func:`promote`, from the county's realised flows.

    Each grade's cohort moves up a grade keeping the share of its pupils that did not drop out:
    ``survival'[g + 1] = survival[g] · (n_g − x_g) / n_g`` with ``n_g`` ``(D, C, 9)`` pupils of the county in grade
    ``g`` before the step and ``x_g`` their dropouts (the county's expected survival ``1 − h`` of the grade's
    level where it has no such pupils; ``hazard`` ``(D, C)`` or by level ``(D, C, 3)``); the new grade 1 has share
    1. Pupils change sections only within their county (junior entry,
    urbanisation), so at county level a cohort loses pupils only by dropout and ``survival[8]`` is exactly
    completers ÷ entrants of the cohorts simulated from entry."""
    n = np.asarray(pupils, dtype=np.float64)
    x = np.asarray(dropouts, dtype=np.float64)
    expected = 1.0 - by_grade(hazard)
    ratio = np.divide(n - x, n, out=np.broadcast_to(expected, n.shape).copy(), where=n > 0)
    out = np.ones_like(np.asarray(survival, dtype=np.float64))
    out[..., 1:] = survival[..., :-1] * ratio[..., :-1]
    return out


def survival_per_transition(consolidation_rate: ArrayLike) -> FloatArray:
    """Per-transition survival ``c^(1/8)`` from the nine-year consolidation rate ``c``.

    Assumption: dropout is spread evenly over the 8 transitions between entering grade 1 and completing
    grade 9 (1→2, …, 8→9), so an entrant completes with probability ``c``. Grade 9 pupils all complete
    (the consolidation rate counts completers of the entry cohort). Source of ``c``:
    ``students.consolidation_rate`` (95.69% in 2020, 99.2% in 2024, SOURCES §1e).
    """
    c = np.asarray(consolidation_rate, dtype=np.float64)
    check_probability("consolidation_rate", c)
    return np.asarray(c ** (1.0 / TRANSITIONS), dtype=np.float64)


class PromotionFlows(NamedTuple):
    """Flows of :func:`promote`.

    ``students.sum(-1) == promoted.sum(-1) + dropouts.sum(-1) + graduates.sum(-1)`` for every draw and
    section.
    """

    promoted: IntArray
    """``(D, S, 9)`` pupils who stay in their section, by their **new** grade. Grade 1 and grade 7 are empty:
    they are filled by :func:`assign_intake` and :func:`junior_entry`."""
    dropouts: IntArray
    """``(D, S, 9)`` by the grade they left from (zero in grade 9)."""
    graduates: IntArray
    """``(D, S, 9)`` completers leaving the section: grade 6 (index 5, going on to junior school) and grade 9
    (index 8, completing compulsory education); zero elsewhere."""


def promote(
    students_by_grade: IntArray, survival_per_year: ArrayLike, rng: np.random.Generator
) -> PromotionFlows:
    """One school year: dropout, then every survivor moves up a grade.

    Dropouts of grades 1–8: ``Binomial(n, 1 − s)`` with ``s`` the per-transition survival
    (:func:`survival_per_transition`). Survivors of grade 6 leave the primary section (``graduates`` index 5),
    survivors of grade 9 complete (index 8); the others advance within the section. Repetition is ignored
    (assumption: it is rare in Chinese compulsory education and does not change enrolment totals much).

    Parameters
    ----------
    students_by_grade
        ``(D, S, 9)`` pupils.
    survival_per_year
        Scalar, ``(D,)``, ``(D, 1)`` or ``(D, S)`` (per section: the county's hazard, :func:`dropout_hazard`)
        per-transition survival in [0, 1]; or ``(D, S, 3)`` per section and level (:data:`LEVEL_OF_GRADE`).
    rng
        Random generator.
    """
    stock = np.asarray(students_by_grade, dtype=np.int64)
    check_stock("students_by_grade", stock, N_GRADES)
    raw = np.asarray(survival_per_year, dtype=np.float64)
    if raw.ndim == 3:  # per section and level
        check_probability("survival_per_year", raw)
        if raw.shape[2] != len(LEVELS):
            raise ValueError(f"survival by level must have {len(LEVELS)} levels, got {raw.shape}")
        promoted, dropouts, graduates = kernels.promote_cells(
            stock, np.broadcast_to(1.0 - raw, (*stock.shape[:2], len(LEVELS))), LAST_PRIMARY_GRADE_INDEX,
            LAST_GRADE_INDEX, rng, level_of_grade=LEVEL_OF_GRADE)
        return PromotionFlows(promoted, dropouts, graduates)
    if raw.ndim == 2 and raw.shape[1] > 1:  # per section
        check_probability("survival_per_year", raw)
        p_drop = np.broadcast_to(1.0 - raw, stock.shape[:2])
    else:
        s = per_draw(survival_per_year, 3)
        check_probability("survival_per_year", s)
        p_drop = np.broadcast_to(1.0 - s.reshape(-1), (stock.shape[0],))
    promoted, dropouts, graduates = kernels.promote_cells(stock, p_drop, LAST_PRIMARY_GRADE_INDEX,
                                                          LAST_GRADE_INDEX, rng)
    return PromotionFlows(promoted, dropouts, graduates)


def primary_graduates_by_county(graduates: IntArray, section_county: ArrayLike, n_counties: int) -> IntArray:
    """Grade-6 completers of each county, ``(D, C)``, from the ``graduates`` of :func:`promote`."""
    g6 = np.asarray(graduates, dtype=np.int64)[..., LAST_PRIMARY_GRADE_INDEX]
    return county_totals(g6, section_county, n_counties)


def junior_entry(
    primary_graduates: IntArray,
    section_weights: ArrayLike,
    section_county: ArrayLike,
    section_is_junior: ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Grade-6 completers of a county entering grade 7 in the county's junior sections (one multinomial).

    Sections receive in proportion to ``section_weights`` (e.g. current grade-7 pupils or capacity); where all
    of a county's junior sections have zero weight they share equally. Assumption: every grade-6 completer
    enters junior school in the same county (dropout at the transition is already in :func:`promote`).

    Parameters
    ----------
    primary_graduates
        ``(D, C)`` completers of grade 6 by county (:func:`primary_graduates_by_county`).
    section_weights
        ``(S,)`` or ``(D, S)``.
    section_county
        ``(S,)`` county index.
    section_is_junior
        ``(S,)`` bool: junior sections (including the junior part of nine-year schools).
    rng
        Random generator.

    Returns
    -------
    ``(D, S)`` grade-7 entrants.

    Raises
    ------
    ValueError
        If a county with completers has no junior section.
    """
    n = np.asarray(primary_graduates, dtype=np.int64)
    d, c = n.shape
    county = np.asarray(section_county, dtype=np.int64)
    junior = np.asarray(section_is_junior, dtype=bool)
    group = np.where(junior, county, -1)
    bad = np.flatnonzero((np.bincount(county[junior], minlength=c) == 0) & (n.sum(axis=0) > 0))
    if bad.size:
        raise ValueError(f"grade-6 completers but no junior section in counties {bad.tolist()}")
    w = _equal_if_empty(_as_draw_section(section_weights, d, county.size), group, c)
    return allocate_within_groups(n[..., None], w, group, rng)[..., 0]


def urbanisation_drift(
    students: IntArray,
    section_location: ArrayLike,
    section_county: ArrayLike,
    drift_rate: ArrayLike,
    rng: np.random.Generator,
) -> DriftFlows:
    """Rural pupils moving to town or urban sections of the same county (urbanisation).

    ``Binomial(n, drift_rate)`` of the pupils of each rural section and grade move; the movers of a (county,
    grade) go to the county's town and urban sections in proportion to their current pupils **in that grade**
    (one multinomial), so a pupil only lands in a section that teaches the grade. Where no town or urban
    section of the county has pupils in that grade, nobody moves. The rate is the uncertainty
    ``students.urbanisation_drift_per_year`` (assumption, from the urban population share: SOURCES §1d).

    Parameters
    ----------
    students
        ``(D, S, 9)`` pupils.
    section_location, section_county
        ``(S,)`` location code and county index.
    drift_rate
        Scalar, ``(D,)`` or ``(D, 1)``.
    rng
        Random generator.

    Returns
    -------
    :class:`DriftFlows`; per county, draw and grade the totals of ``moved_out`` and ``moved_in`` are equal.
    """
    stock = np.asarray(students, dtype=np.int64)
    check_stock("students", stock, N_GRADES)
    return drift_within_county(stock, section_location, section_county, drift_rate, stock, rng)
