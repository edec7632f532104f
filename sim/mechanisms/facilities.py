"""Facilities and funding: capital budget, facility gaps, allocation, construction, programme roll-outs.

Mechanism 8 of ``DESIGN.md`` §3. Everything here is a plain function over numpy arrays; nothing keeps state
between calls (the construction pipeline is an array passed in and returned), and no function mutates its
arguments.

Shapes
------
``D`` draws in a chunk, ``S`` sections, ``C`` counties, ``L`` pipeline slots. A *section* is the primary or
junior part of a school; a nine-year school has two sections on one campus. **Campus stocks are split between
the two sections in proportion to their students** (done by whoever builds the section arrays, e.g. the
synthetic registry), so each section is assessed against its own level's thresholds, as the 2017 method
assesses each level separately. Nothing here depends on that choice: the functions take one threshold row
per unit, so an engine that keeps a nine-year school whole (the registry's reading, ``calibration/REGISTRY.md``:
the pupil-weighted blend of the primary and junior thresholds) passes that blended row instead. The two
readings differ only when one section is short and the other has a surplus, which the blend nets out. The four
facility items are indexed along the last axis in the order of
:data:`FACILITY_ITEMS`: floor area (teaching and auxiliary rooms), sports ground, teaching equipment,
networked multimedia classrooms.

Yearly order inside the mechanism (the engine calls them in this order)
----------------------------------------------------------------------
1. :func:`depreciate_equipment` — last year's equipment loses a share of its value.
2. :func:`capital_budget` — the lever's capital for the year times the execution rate. Money not spent in a year
   (no gap left to fill) is not carried over (assumption: earmarked funds lapse).
3. :func:`facility_gaps` (and :func:`weakness_score` for ``weakest_first``) — money needed per section
   and item to reach the 2017 thresholds.
4. :func:`allocate` — the allocation rule turns budget and gaps into spending.
5. :func:`construction_pipeline` — floor area and sports ground arrive after the construction lag,
   equipment and multimedia rooms the same year.
6. :func:`apply` — arrived money becomes m², CNY of equipment and rooms.
7. Programmes with their own counts: :func:`roll_out_gigabit` (T10), :func:`build_counselling_rooms` (T9),
   :func:`build_special_education_schools` (T8); :func:`standardised` (T11) is read by the assessment.

Uncertainties used here, with the ranges we propose for the scenario (all **assumptions**; no Xinjiang
figure was found, see ``../shared/data/SOURCES.md`` §6):

=============================== =============== =======================================================
uncertainty                     range           rationale
=============================== =============== =======================================================
execution rate of capital       0.70–0.95       share of the appropriated capital actually spent in the
                                                year; budget execution of earmarked construction funds
                                                is rarely complete in the year of appropriation
floor cost, CNY/m²              2,500–4,500     school building incl. fit-out in Xinjiang (seismic
                                                zone, short building season); not sourced
sports ground cost, CNY/m²      150–500         levelled ground with synthetic track and courts;
                                                not sourced
multimedia room cost, CNY/room  30,000–80,000   interactive display, teacher PC, network, furniture;
                                                not sourced
construction lag, years         1–3 (integer)   funding to usable building: design, tender, a one- or
                                                two-season build
equipment depreciation, /year   0.08–0.15       service lives of about 7–12 years for teaching
                                                equipment and computers
=============================== =============== =======================================================

Scale of the lever: central funds for improving primary and secondary school conditions in Xinjiang were
47.9 bn CNY over 2012–2025, 17.72 bn of them in the 14th five-year plan (2021–2025), i.e. about
3.5 bn CNY a year (``SOURCES.md`` §1e; central funds only, primary and secondary together).

References
----------
.. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6号): the four facility thresholds
   (floor 4.5/5.8 m², sports ground 7.5/10.2 m², equipment 2,000/2,500 CNY per student, networked
   multimedia rooms 2.3/2.4 per 100 students), held in ``youzhi_junheng_2017_standard.csv``.
.. [2] 新疆《關於構建優質均衡的基本公共教育服務體系的實施方案》(2025-01-26): §二(一)2 (standardisation
   of buildings, equipment, digital environment and staffing by 2035; gigabit to every school; digital
   campus in every school by 2035), §二(四)1 (a special-education school in every county of 200,000
   people or more by 2027), §二(四)2 (standard counselling rooms in urban and township-centre schools
   by 2025).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from sim.errors import suggest
from sim.mechanisms import segments
from sim.vocabulary import ALLOCATION_RULES, TOWN, URBAN

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FACILITY_ITEMS: tuple[str, ...] = (
    "floor_area_m2",
    "sports_area_m2",
    "equipment_value_cny",
    "multimedia_rooms",
)
"""Names of the four facility items, in the order of the last axis of every ``(…, 4)`` array."""
FLOOR, SPORTS, EQUIPMENT, MULTIMEDIA = 0, 1, 2, 3
CONSTRUCTION_ITEMS: tuple[int, ...] = (FLOOR, SPORTS)
"""Items that are built and therefore arrive after the construction lag."""


_REL_TOL = 1e-9
"""Relative tolerance under which a shortfall counts as met (absorbs rounding of cost → m² → cost)."""


class FacilityStock(NamedTuple):
    """The four facility stocks of every section, each ``(D, S)``."""

    floor_area_m2: FloatArray
    sports_area_m2: FloatArray
    equipment_value_cny: FloatArray
    multimedia_rooms: FloatArray


# ---------------------------------------------------------------------------------------------------------
# helpers


def _per_draw(value: npt.ArrayLike, n_draws: int, name: str) -> FloatArray:
    """A per-draw value as a ``(D, 1)`` float array (scalar, ``(D,)`` or ``(D, 1)`` accepted)."""
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return np.full((n_draws, 1), float(a))
    if a.ndim == 1 and a.shape[0] == n_draws:
        return a[:, None].copy()
    if a.shape == (n_draws, 1):
        return a.copy()
    raise ValueError(f"{name}: expected a scalar, ({n_draws},) or ({n_draws}, 1), got shape {a.shape}")


def _per_draw_int(value: npt.ArrayLike, n_draws: int, name: str) -> IntArray:
    """A per-draw non-negative integer count as a ``(D,)`` int array."""
    a = np.asarray(value)
    if a.ndim == 2 and a.shape == (n_draws, 1):
        a = a[:, 0]
    a = np.broadcast_to(a, (n_draws,))
    if not np.all(np.equal(np.mod(a, 1), 0)) or np.any(a < 0):
        raise ValueError(f"{name}: must be non-negative integers, got {a}")
    return a.astype(np.int64)


def _requirement(students: FloatArray, thresholds: FloatArray) -> FloatArray:
    """Stock each section needs on each item, ``(D, S, 4)``: threshold × students (rooms per 100 students)."""
    thr = np.asarray(thresholds, dtype=np.float64)
    if thr.ndim != 2 or thr.shape[1] != 4:
        raise ValueError(f"thresholds: expected shape (S, 4), got {thr.shape}")
    per_student = thr.copy()
    per_student[:, MULTIMEDIA] = thr[:, MULTIMEDIA] / 100.0
    return np.asarray(students, dtype=np.float64)[..., None] * per_student[None, :, :]


def _stack_stock(
    floor_area_m2: npt.ArrayLike,
    sports_area_m2: npt.ArrayLike,
    equipment_value_cny: npt.ArrayLike,
    multimedia_rooms: npt.ArrayLike,
) -> FloatArray:
    return np.stack(
        np.broadcast_arrays(
            np.asarray(floor_area_m2, dtype=np.float64),
            np.asarray(sports_area_m2, dtype=np.float64),
            np.asarray(equipment_value_cny, dtype=np.float64),
            np.asarray(multimedia_rooms, dtype=np.float64),
        ),
        axis=-1,
    )


def _shortfall(requirement: FloatArray, stock: FloatArray) -> FloatArray:
    """Physical shortfall ``max(requirement − stock, 0)``, zero within the relative tolerance."""
    short = requirement - stock
    return np.where(short > _REL_TOL * np.maximum(requirement, 1.0), short, 0.0)


def _meets(stock: FloatArray, requirement: FloatArray) -> BoolArray:
    """``stock ≥ requirement`` up to the relative tolerance used by :func:`facility_gaps`."""
    return np.asarray(requirement - stock <= _REL_TOL * np.maximum(requirement, 1.0))


# ---------------------------------------------------------------------------------------------------------
# budget


def capital_budget(
    year: int,
    capital_cny_by_year: Mapping[int, float] | float,
    execution_rate: npt.ArrayLike,
) -> FloatArray:
    """Capital executed in ``year``, per draw.

    Parameters
    ----------
    year
        School year (autumn census year).
    capital_cny_by_year
        The lever ``funding.capital_cny``: a scalar (the same every year) or a mapping ``{first year: CNY a
        year}`` read as a **step function** — the value of the latest key ``≤ year`` applies; before the first
        key the capital is 0 (the scenario should therefore list the historical years it wants funded).
    execution_rate
        Share of the year's capital actually spent, ``(D,)`` or ``(D, 1)``, in [0, 1] (uncertainty, proposed
        range 0.70–0.95, an assumption: earmarked construction funds are rarely spent in full in the year).

    Returns
    -------
    numpy.ndarray
        ``(D,)`` CNY available for allocation this year.
    """
    if isinstance(capital_cny_by_year, Mapping):
        started = [y for y in capital_cny_by_year if int(y) <= year]
        capital = float(capital_cny_by_year[max(started, key=int)]) if started else 0.0
    else:
        capital = float(capital_cny_by_year)
    if capital < 0:
        raise ValueError(f"capital_cny_by_year: must be >= 0, got {capital} for {year}")
    rate = np.asarray(execution_rate, dtype=np.float64).reshape(-1)
    if np.any((rate < 0) | (rate > 1)):
        raise ValueError("execution_rate: must be in [0, 1]")
    return np.asarray(capital * rate, dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------
# gaps


def facility_gaps(
    students: npt.ArrayLike,
    floor_area_m2: npt.ArrayLike,
    sports_area_m2: npt.ArrayLike,
    equipment_value_cny: npt.ArrayLike,
    multimedia_rooms: npt.ArrayLike,
    thresholds: npt.ArrayLike,
    floor_cost_cny_per_m2: npt.ArrayLike,
    sports_cost_cny_per_m2: npt.ArrayLike,
    multimedia_room_cost_cny: npt.ArrayLike,
) -> FloatArray:
    """Money each section needs to reach the 2017 threshold on each facility item.

    For item *i* the physical shortfall is ``max(threshold_i × students − stock_i, 0)`` (rooms: threshold per
    100 students × students / 100) and the gap is the shortfall times the unit cost; equipment is counted at
    face value (1 CNY of spending buys 1 CNY of equipment value).

    Parameters
    ----------
    students
        ``(D, S)`` students of each section.
    floor_area_m2, sports_area_m2, equipment_value_cny, multimedia_rooms
        ``(D, S)`` stocks (campus stocks of nine-year schools already split by students).
    thresholds
        ``(S, 4)`` per section, in the order of :data:`FACILITY_ITEMS`: m² per student, m² per student, CNY
        per student, rooms per 100 students — the section's level row of the 2017 standard [1]_ (primary
        4.5, 7.5, 2,000, 2.3; junior 5.8, 10.2, 2,500, 2.4), read from the data file, never from code.
    floor_cost_cny_per_m2, sports_cost_cny_per_m2, multimedia_room_cost_cny
        Unit costs, ``(D, 1)`` (or ``(D,)`` / scalar), uncertainties (ranges in the module docstring).

    Returns
    -------
    numpy.ndarray
        ``gap_cny``, ``(D, S, 4)``, ≥ 0, zero where the threshold is met.

    Notes
    -----
    Multimedia rooms are a continuous quantity (fractional rooms occur anyway when a nine-year campus is split
    between its sections); rounding up to whole rooms would add at most one room's cost per section.
    """
    stu = np.asarray(students, dtype=np.float64)
    if np.any(stu < 0):
        raise ValueError("students: must be >= 0")
    n_draws = stu.shape[0]
    stock = _stack_stock(floor_area_m2, sports_area_m2, equipment_value_cny, multimedia_rooms)
    short = _shortfall(_requirement(stu, np.asarray(thresholds, dtype=np.float64)), stock)
    unit_cost = np.stack(
        [
            _per_draw(floor_cost_cny_per_m2, n_draws, "floor_cost_cny_per_m2"),
            _per_draw(sports_cost_cny_per_m2, n_draws, "sports_cost_cny_per_m2"),
            np.ones((n_draws, 1)),
            _per_draw(multimedia_room_cost_cny, n_draws, "multimedia_room_cost_cny"),
        ],
        axis=-1,
    )  # (D, 1, 4)
    if np.any(unit_cost <= 0):
        raise ValueError("unit costs must be > 0")
    return np.asarray(short * unit_cost, dtype=np.float64)


def weakness_score(
    students: npt.ArrayLike,
    floor_area_m2: npt.ArrayLike,
    sports_area_m2: npt.ArrayLike,
    equipment_value_cny: npt.ArrayLike,
    multimedia_rooms: npt.ArrayLike,
    thresholds: npt.ArrayLike,
) -> FloatArray:
    """Total relative shortfall of each section, the ranking key of ``weakest_first``.

    ``Σ_i max(1 − stock_i / requirement_i, 0)`` over the four items, in [0, 4]: 0 when every threshold is met,
    4 when a section has nothing. Relative, so that a large school is not "weaker" only for being large, and
    unit-free, so that the four items weigh the same, as they do in the 2017 rule (each item is met or not).

    Returns
    -------
    numpy.ndarray
        ``(D, S)`` score; sections without students score 0.
    """
    stu = np.asarray(students, dtype=np.float64)
    req = _requirement(stu, np.asarray(thresholds, dtype=np.float64))
    stock = _stack_stock(floor_area_m2, sports_area_m2, equipment_value_cny, multimedia_rooms)
    short = _shortfall(req, stock)
    rel = np.divide(short, req, out=np.zeros_like(short), where=req > 0)
    return np.asarray(rel.sum(axis=-1), dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------
# allocation


def _fill_proportionally(budget: FloatArray, gap: FloatArray) -> FloatArray:
    """Spend ``min(1, budget / Σ gap)`` of every gap: ``(D,)`` budget, ``(D, S, 4)`` gap."""
    total = gap.sum(axis=(1, 2))
    share = np.divide(budget, total, out=np.zeros_like(total), where=total > 0)
    return np.asarray(gap * np.minimum(share, 1.0)[:, None, None], dtype=np.float64)


def _spread_over_items(gap: FloatArray, section_spend: FloatArray) -> FloatArray:
    """Spread ``(D, S)`` section spending over its items in proportion to the item gaps."""
    total = gap.sum(axis=-1)
    frac = np.divide(section_spend, total, out=np.zeros_like(total), where=total > 0)
    return np.asarray(gap * np.minimum(frac, 1.0)[..., None], dtype=np.float64)


def _equal_shares(budget: FloatArray, weight: FloatArray, cap: FloatArray) -> FloatArray:
    """One round: offer ``budget`` ∝ ``weight`` over sections, each capped at ``cap``; ``(D, S)`` taken."""
    wsum = weight.sum(axis=1)
    offer = weight * np.divide(budget, wsum, out=np.zeros_like(wsum), where=wsum > 0)[:, None]
    return np.asarray(np.minimum(offer, cap), dtype=np.float64)


def _water_fill(budget: FloatArray, weight: FloatArray, cap: FloatArray) -> FloatArray:
    """Exact capped proportional shares: ``min(λ·weight, cap)`` with ``λ`` such that the budget is used up
    (or every cap reached). Vectorised water-filling: sort by ``cap / weight``, the level for "the first
    ``k`` capped" is ``(budget − Σ_{<k} cap) / Σ_{≥k} weight``, the right ``k`` is the first whose level does
    not reach its own cap. Units with zero weight receive nothing."""
    active = weight > 0
    with np.errstate(over="ignore"):  # a ratio past the float range is +inf, which sorts and compares right
        ratio = np.where(active, np.divide(cap, weight, out=np.zeros_like(cap), where=active), np.inf)
    order = np.argsort(ratio, axis=1, kind="stable")
    ratio_s = np.take_along_axis(ratio, order, axis=1)
    cap_s = np.take_along_axis(np.where(active, cap, 0.0), order, axis=1)
    weight_s = np.take_along_axis(np.where(active, weight, 0.0), order, axis=1)
    cap_before = np.cumsum(cap_s, axis=1) - cap_s
    weight_from = weight_s[:, ::-1].cumsum(axis=1)[:, ::-1]  # Σ_{≥k} weight
    money_left = np.maximum(budget[:, None] - cap_before, 0.0)
    with np.errstate(over="ignore"):
        level = np.divide(money_left, weight_from, out=np.full_like(money_left, np.inf), where=weight_from > 0)
    fits = level <= ratio_s
    first = np.argmax(fits, axis=1)
    lam = np.where(fits.any(axis=1), np.take_along_axis(level, first[:, None], axis=1)[:, 0], np.inf)
    with np.errstate(invalid="ignore"):
        taken = np.where(active, np.minimum(lam[:, None] * np.where(active, weight, 1.0), cap), 0.0)
    return np.asarray(taken, dtype=np.float64)


def allocate(
    budget_cny: npt.ArrayLike,
    gap_cny: npt.ArrayLike,
    rule: str,
    section_county: npt.ArrayLike | None = None,
    county_south: npt.ArrayLike | None = None,
    south_share: npt.ArrayLike | None = None,
    students: npt.ArrayLike | None = None,
    *,
    weakness: npt.ArrayLike | None = None,
    redistribute: bool = True,
) -> FloatArray:
    """Allocate the year's capital to the facility gaps of the sections, by the scenario's rule.

    The pool is region-wide (one budget per draw). Every rule guarantees ``0 ≤ spend ≤ gap`` item by item and
    ``Σ spend ≤ budget``; when the budget covers the total gap every gap is closed. Money a rule cannot place
    is simply not spent (it is not carried over: earmarked funds lapse, an assumption).

    Parameters
    ----------
    budget_cny
        ``(D,)`` CNY to allocate (from :func:`capital_budget`).
    gap_cny
        ``(D, S, 4)`` from :func:`facility_gaps`.
    rule
        One of :data:`ALLOCATION_RULES`:

        ``gap_proportional``
            Every gap receives the same share ``min(1, budget / Σ gap)``.
        ``weakest_first``
            Sections in decreasing order of ``weakness`` (ties: registry order); each section's whole gap is
            filled before the next gets anything; the section where the money runs out gets the rest, spread
            over its items ∝ item gaps. Reading of the plan's "補齊短板" and of resources "向薄弱縣傾斜".
        ``south_share``
            ``south_share × budget`` goes to the sections of the 南疆四地州 counties, the rest to the others,
            proportional to gaps within each side. With ``redistribute`` (default), money one side cannot use
            (its total gap is smaller than its share) goes to the other side; otherwise it is left unspent.
        ``equal_per_student``
            The sections that have a gap receive the same CNY per student, each capped at its total gap and
            spread over its items ∝ item gaps. With ``redistribute`` (default) the money freed by the caps
            goes on to the sections still short until the budget or the gaps run out (exact water-filling:
            one per-student level ``λ`` with ``Σ min(λ·students, gap) = budget``, found by sort + cumsum).
            This is "redistribute the remainder" carried to its end, and it keeps the promise that a budget
            covering the total gap closes every gap. Without ``redistribute`` a single round is made and the
            money freed by the caps is left unspent. A section with a gap but no students gets nothing.
    section_county
        ``(S,)`` county index of each section (``south_share``).
    county_south
        ``(C,)`` bool, county in the 南疆四地州 (``south_share``).
    south_share
        Scalar or ``(D,)`` in [0, 1], the lever ``funding.south_share`` (``south_share``).
    students
        ``(D, S)`` students (``equal_per_student``).
    weakness
        ``(D, S)`` ranking key, higher = weaker (``weakest_first``); normally :func:`weakness_score`.
    redistribute
        See ``south_share`` and ``equal_per_student``; ignored by the other rules.

    Returns
    -------
    numpy.ndarray
        ``spend_cny``, ``(D, S, 4)``.
    """
    gap = np.asarray(gap_cny, dtype=np.float64)
    if gap.ndim != 3 or gap.shape[2] != 4:
        raise ValueError(f"gap_cny: expected shape (D, S, 4), got {gap.shape}")
    if np.any(gap < 0):
        raise ValueError("gap_cny: must be >= 0")
    n_draws, n_sections = gap.shape[:2]
    budget = np.broadcast_to(np.asarray(budget_cny, dtype=np.float64).reshape(-1), (n_draws,))
    if np.any(budget < 0):
        raise ValueError("budget_cny: must be >= 0")

    if rule == "gap_proportional":
        return _within_budget(_fill_proportionally(budget, gap), budget)

    if rule == "weakest_first":
        if weakness is None:
            raise ValueError("allocate: rule 'weakest_first' needs weakness (see weakness_score)")
        score = np.broadcast_to(np.asarray(weakness, dtype=np.float64), (n_draws, n_sections))
        section_gap = gap.sum(axis=-1)
        order = np.argsort(-score, axis=1, kind="stable")
        gap_sorted = np.take_along_axis(section_gap, order, axis=1)
        funded_before = np.cumsum(gap_sorted, axis=1) - gap_sorted
        room = np.maximum(budget[:, None] - funded_before, 0.0)
        take_sorted = np.minimum(room, gap_sorted)
        take = np.empty_like(take_sorted)
        np.put_along_axis(take, order, take_sorted, axis=1)
        return _within_budget(_spread_over_items(gap, take), budget)

    if rule == "south_share":
        if section_county is None or county_south is None or south_share is None:
            raise ValueError("allocate: rule 'south_share' needs section_county, county_south and south_share")
        share = np.broadcast_to(np.asarray(south_share, dtype=np.float64).reshape(-1), (n_draws,))
        if np.any((share < 0) | (share > 1)):
            raise ValueError("south_share: must be in [0, 1]")
        south = np.asarray(county_south, dtype=bool)[np.asarray(section_county, dtype=np.int64)]
        south_budget = share * budget
        north_budget = budget - south_budget
        section_gap = gap.sum(axis=-1)
        south_gap = section_gap @ south.astype(np.float64)
        north_gap = section_gap @ (~south).astype(np.float64)  # not total − south: no rounding residue
        if redistribute:
            south_spare = np.maximum(south_budget - south_gap, 0.0)
            north_spare = np.maximum(north_budget - north_gap, 0.0)
            south_budget, north_budget = south_budget + north_spare, north_budget + south_spare
        south_fill = np.divide(south_budget, south_gap, out=np.zeros_like(south_gap), where=south_gap > 0)
        north_fill = np.divide(north_budget, north_gap, out=np.zeros_like(north_gap), where=north_gap > 0)
        fill = np.where(south[None, :], np.minimum(south_fill, 1.0)[:, None], np.minimum(north_fill, 1.0)[:, None])
        return _within_budget(np.asarray(gap * fill[..., None], dtype=np.float64), budget)

    if rule == "equal_per_student":
        if students is None:
            raise ValueError("allocate: rule 'equal_per_student' needs students")
        stu = np.broadcast_to(np.asarray(students, dtype=np.float64), (n_draws, n_sections))
        section_gap = gap.sum(axis=-1)
        weight = stu * (section_gap > 0)
        fill = _water_fill if redistribute else _equal_shares
        return _within_budget(_spread_over_items(gap, fill(budget, weight, section_gap)), budget)

    raise ValueError(f"allocate: unknown rule {rule!r}; {suggest(rule, ALLOCATION_RULES)}")


def _within_budget(spend: FloatArray, budget: FloatArray) -> FloatArray:
    """``spend`` scaled down in a draw where rounding made it exceed the budget (by ~1e-10 of it at most), so that
    no rule ever spends money it does not have (a budget of 0 spends exactly 0)."""
    total = spend.sum(axis=(1, 2))
    over = total > budget  # only there is budget / total computed: elsewhere it may overflow (a subnormal total)
    scale = np.divide(budget, total, out=np.ones_like(total), where=over)
    return np.asarray(spend * scale[:, None, None], dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------
# construction and stocks


def empty_pipeline(n_draws: int, n_sections: int, max_lag_years: int) -> FloatArray:
    """A construction pipeline with nothing under construction, ``(D, S, 4, max_lag_years + 1)``."""
    if max_lag_years < 0:
        raise ValueError(f"max_lag_years: must be >= 0, got {max_lag_years}")
    return np.zeros((n_draws, n_sections, 4, max_lag_years + 1))


def construction_pipeline(
    spend_cny: npt.ArrayLike, pipeline_cny: npt.ArrayLike, lag_years: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Advance the construction pipeline by one year.

    Slot ``k`` of the pipeline holds money that becomes usable ``k`` years from now. This year's spending on
    floor area and sports ground enters slot ``lag``, equipment and multimedia rooms are bought and usable in
    the same year; slot 0 is delivered and the pipeline moves one slot forward. So money spent in year *t*
    yields area in *t + lag*, not before (``lag = 0`` means the same year). A shift register, advanced in one
    compiled pass (:func:`sim.mechanisms.segments.advance_pipeline`) that writes the new arrays.

    Parameters
    ----------
    spend_cny
        ``(D, S, 4)`` spending of the year.
    pipeline_cny
        ``(D, S, 4, L)`` money under construction (from :func:`empty_pipeline` or the previous call).
    lag_years
        Construction lag per draw, integer ``(D,)``, ``(D, 1)`` or scalar, ``0 ≤ lag < L`` (uncertainty,
        proposed 1–3 years, an assumption).

    Returns
    -------
    arrived_cny : numpy.ndarray
        ``(D, S, 4)`` money whose result is usable this year (pass to :func:`apply`).
    pipeline_cny : numpy.ndarray
        ``(D, S, 4, L)`` the pipeline for next year.
    """
    spend = np.asarray(spend_cny, dtype=np.float64)
    pipe = np.asarray(pipeline_cny, dtype=np.float64)  # read only: the kernel writes new arrays
    n_draws = spend.shape[0]
    if spend.ndim != 3 or pipe.ndim != 4 or pipe.shape[:3] != spend.shape:
        raise ValueError(f"pipeline_cny: expected shape {spend.shape} + (L,), got {pipe.shape}")
    n_slots = pipe.shape[3]
    lag = _per_draw_int(lag_years, n_draws, "lag_years")
    if np.any(lag >= n_slots):
        raise ValueError(f"lag_years: must be < the pipeline length {n_slots}, got max {lag.max()}")
    construction = np.isin(np.arange(spend.shape[2]), CONSTRUCTION_ITEMS)
    return segments.advance_pipeline(spend, pipe, np.ascontiguousarray(lag), construction)


def apply(
    floor_area_m2: npt.ArrayLike,
    sports_area_m2: npt.ArrayLike,
    equipment_value_cny: npt.ArrayLike,
    multimedia_rooms: npt.ArrayLike,
    arrived_cny: npt.ArrayLike,
    floor_cost_cny_per_m2: npt.ArrayLike,
    sports_cost_cny_per_m2: npt.ArrayLike,
    multimedia_room_cost_cny: npt.ArrayLike,
) -> FacilityStock:
    """New stocks after the money that arrived this year is turned into facilities.

    New floor area = money / floor cost per m²; sports ground likewise; equipment value rises by the money
    (face value); rooms = money / cost per room (continuous, see :func:`facility_gaps`). The unit costs are
    those of the draw, constant over years, so money spent before a lag buys what the gap computation priced.

    Returns
    -------
    FacilityStock
        The four ``(D, S)`` stocks.
    """
    arrived = np.asarray(arrived_cny, dtype=np.float64)
    n_draws = arrived.shape[0]
    floor_cost = _per_draw(floor_cost_cny_per_m2, n_draws, "floor_cost_cny_per_m2")
    sports_cost = _per_draw(sports_cost_cny_per_m2, n_draws, "sports_cost_cny_per_m2")
    room_cost = _per_draw(multimedia_room_cost_cny, n_draws, "multimedia_room_cost_cny")
    return FacilityStock(
        floor_area_m2=np.asarray(floor_area_m2, dtype=np.float64) + arrived[..., FLOOR] / floor_cost,
        sports_area_m2=np.asarray(sports_area_m2, dtype=np.float64) + arrived[..., SPORTS] / sports_cost,
        equipment_value_cny=np.asarray(equipment_value_cny, dtype=np.float64) + arrived[..., EQUIPMENT],
        multimedia_rooms=np.asarray(multimedia_rooms, np.float64) + arrived[..., MULTIMEDIA] / room_cost,
    )


def depreciate_equipment(equipment_value_cny: npt.ArrayLike, rate: npt.ArrayLike) -> FloatArray:
    """Equipment value after one year of depreciation.

    The value loses the share ``rate`` of itself each year, ``V_{t+1} = V_t (1 − rate)``, so after *n* years
    without purchases ``V (1 − rate)^n``. This is the straight-line rate applied to the pooled stock: a
    section's equipment is a mix of vintages that we do not track, and a constant share per year gives the
    same mean service life, ``1 / rate``, as straight-line write-off of each vintage. It stands for wear,
    obsolescence and scrapping of the recorded equipment value.

    Parameters
    ----------
    equipment_value_cny
        ``(D, S)`` equipment value.
    rate
        ``(D, 1)`` (or ``(D,)`` / scalar) share per year, uncertainty in [0.08, 0.15] (assumption: service
        lives of about 7–12 years for teaching equipment and computers).

    Returns
    -------
    numpy.ndarray
        ``(D, S)`` new equipment value.
    """
    value = np.asarray(equipment_value_cny, dtype=np.float64)
    r = _per_draw(rate, value.shape[0], "rate")
    if np.any((r < 0) | (r > 1)):
        raise ValueError("rate: must be in [0, 1]")
    return np.asarray(value * (1.0 - r), dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------
# programmes with their own counts


def _roll_out(covered: BoolArray, eligible: BoolArray, per_year: IntArray, priority: FloatArray) -> BoolArray:
    """Cover up to ``per_year`` (per draw) eligible uncovered units, highest priority first; ``(D, n)``.

    Units are ranked by decreasing priority, ties by column order (stable sort); only the first
    ``max(per_year)`` ranks of each row are looked at.
    """
    candidate = eligible & ~covered
    order = np.argsort(-np.where(candidate, priority, -np.inf), axis=1, kind="stable")
    out = np.array(covered, dtype=bool)
    top = int(min(per_year.max(initial=0), order.shape[1]))
    if top > 0:
        first = order[:, :top]
        chosen = np.take_along_axis(candidate, first, axis=1) & (np.arange(top)[None, :] < per_year[:, None])
        rows = np.broadcast_to(np.arange(order.shape[0])[:, None], first.shape)
        out[rows[chosen], first[chosen]] = True
    return out


def _school_index(section_school: npt.ArrayLike | None, n_sections: int) -> tuple[IntArray, int]:
    """Inverse index section → school (0..n-1) and the number of schools; identity if no mapping."""
    if section_school is None:
        return np.arange(n_sections, dtype=np.int64), n_sections
    ids = np.asarray(section_school)
    if ids.shape != (n_sections,):
        raise ValueError(f"section_school: expected shape ({n_sections},), got {ids.shape}")
    _, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.astype(np.int64).reshape(-1)
    return inverse, int(inverse.max()) + 1 if n_sections else 0


def _any_by_school(values: BoolArray, inverse: IntArray, n_schools: int) -> BoolArray:
    return np.asarray(segments.group_sum(values, inverse, n_schools) > 0)


def _max_by_school(values: FloatArray, inverse: IntArray, n_schools: int) -> FloatArray:
    return segments.group_max(values, inverse, n_schools)


def _roll_out_schools(
    covered: npt.ArrayLike,
    eligible: npt.ArrayLike,
    per_year: npt.ArrayLike,
    priority: npt.ArrayLike | None,
    section_school: npt.ArrayLike | None,
    name: str,
) -> BoolArray:
    """Roll out over schools (sections of one campus together) and map the result back to sections."""
    cov = np.asarray(covered, dtype=bool)
    if cov.ndim != 2:
        raise ValueError(f"{name}: expected shape (D, S), got {cov.shape}")
    n_draws, n_sections = cov.shape
    elig = np.broadcast_to(np.asarray(eligible, dtype=bool), cov.shape)
    pri = (
        np.zeros(cov.shape) if priority is None else np.broadcast_to(np.asarray(priority, dtype=np.float64), cov.shape)
    )
    count = _per_draw_int(per_year, n_draws, "per_year")
    inverse, n_schools = _school_index(section_school, n_sections)
    if section_school is None:
        return _roll_out(cov, np.asarray(elig), count, np.asarray(pri))
    school_cov = _any_by_school(cov, inverse, n_schools)
    school_elig = _any_by_school(np.asarray(elig), inverse, n_schools)
    school_pri = _max_by_school(np.asarray(pri), inverse, n_schools)
    new_school = _roll_out(school_cov, school_elig, count, school_pri)
    return np.asarray(new_school[:, inverse] | cov)


def remote_first_priority(
    section_location: npt.ArrayLike,
    section_county: npt.ArrayLike,
    county_south: npt.ArrayLike,
    students: npt.ArrayLike,
) -> FloatArray:
    """A default roll-out order: rural before town before urban, south before north, then larger first.

    Follows the plan's "特別是邊遠農村學校" (§二(一)2) for the network; within a class, larger schools first
    so that each connection reaches more pupils. Returns a score, higher = earlier, shape of ``students``.
    """
    loc = np.asarray(section_location, dtype=np.float64)
    south = np.asarray(county_south, dtype=bool)[np.asarray(section_county, dtype=np.int64)]
    stu = np.asarray(students, dtype=np.float64)
    size = stu / (stu.max() + 1.0) if stu.size else stu
    return np.asarray(10.0 * loc + 2.0 * south + size, dtype=np.float64)


def roll_out_gigabit(
    gigabit: npt.ArrayLike,
    schools_per_year: npt.ArrayLike,
    priority: npt.ArrayLike,
    eligible: npt.ArrayLike | None = None,
    section_school: npt.ArrayLike | None = None,
) -> BoolArray:
    """Connect up to ``schools_per_year`` more schools to gigabit broadband (T10, plan §二(一)2).

    Parameters
    ----------
    gigabit
        ``(D, S)`` bool, section's campus has gigabit to the school.
    schools_per_year
        Lever: schools connected this year, scalar or ``(D,)`` integer.
    priority
        ``(S,)`` or ``(D, S)`` score, higher first (e.g. :func:`remote_first_priority`); ties in registry
        order.
    eligible
        ``(S,)`` or ``(D, S)`` bool, schools the programme may connect (default: every school, as T10 asks).
    section_school
        ``(S,)`` school id of each section. When given, a nine-year school counts once, its priority is the
        higher of its sections' and both sections are connected together. Without it each section is a unit.

    Returns
    -------
    numpy.ndarray
        ``(D, S)`` bool; coverage never falls, at most ``schools_per_year`` schools are added.
    """
    cov = np.asarray(gigabit, dtype=bool)
    elig = np.ones(cov.shape, dtype=bool) if eligible is None else eligible
    return _roll_out_schools(cov, elig, schools_per_year, priority, section_school, "gigabit")


def township_centre_sections(
    section_county: npt.ArrayLike,
    section_location: npt.ArrayLike,
    students: npt.ArrayLike,
    per_county: int = 1,
    include_all_town: bool = False,
) -> BoolArray:
    """Sections taken as township-centre schools (鄉鎮中心學校) for T9.

    The registry has no township, so a proxy (**assumption**): in each county, the ``per_county`` largest
    sections located in a town or rural area (a 鄉鎮中心學校 is the largest school of its township and sits in
    the township seat, classed 鎮區 for a town and 鄉村 for a 鄉). The default, 1 per county, is the narrowest
    reading; Xinjiang counties have on the order of ten townships each, so a researcher who reads the plan
    broadly sets ``per_county`` near that, or ``include_all_town`` to count every town-located section.

    Parameters
    ----------
    section_county, section_location
        ``(S,)`` county index and location code (0 urban, 1 town, 2 rural).
    students
        ``(S,)`` or ``(D, S)`` students (base-year enrolment is the natural choice: the list is fixed once).
    per_county
        Number of township-centre sections per county.
    include_all_town
        Also count every town-located section.

    Returns
    -------
    numpy.ndarray
        Bool of the shape of ``students``.
    """
    county = np.asarray(section_county, dtype=np.int64)
    loc = np.asarray(section_location, dtype=np.int64)
    stu = np.asarray(students, dtype=np.float64)
    stu2 = np.atleast_2d(stu)
    non_urban = loc != URBAN
    size = np.where(non_urban[None, :], stu2, -np.inf)
    county2 = np.broadcast_to(county, stu2.shape)
    order = np.lexsort((-size, county2), axis=-1)  # by county, then largest first
    county_sorted = np.take_along_axis(county2, order, axis=1)
    position = np.broadcast_to(np.arange(county.size), stu2.shape)
    starts = np.ones(county_sorted.shape, dtype=bool)
    starts[:, 1:] = county_sorted[:, 1:] != county_sorted[:, :-1]
    group_start = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    rank = np.empty(stu2.shape, dtype=np.int64)
    np.put_along_axis(rank, order, position - group_start, axis=1)
    centre = non_urban[None, :] & (rank < per_county)
    if include_all_town:
        centre = centre | (loc == TOWN)[None, :]
    return np.asarray(centre.reshape(stu.shape))


def build_counselling_rooms(
    has_room: npt.ArrayLike,
    rooms_per_year: npt.ArrayLike,
    section_location: npt.ArrayLike,
    township_centre: npt.ArrayLike,
    priority: npt.ArrayLike | None = None,
    section_school: npt.ArrayLike | None = None,
) -> BoolArray:
    """Build up to ``rooms_per_year`` standard counselling rooms (心理輔導室) in eligible schools (T9).

    Eligible: urban sections and township-centre sections (plan §二(四)2: "城區中小學校及鄉鎮中心學校"),
    ``township_centre`` from :func:`township_centre_sections`. Other schools may have rooms in the registry
    but are not built for by this programme.

    Parameters
    ----------
    has_room
        ``(D, S)`` bool.
    rooms_per_year
        Lever, scalar or ``(D,)`` integer: rooms (schools) built this year.
    section_location
        ``(S,)`` location code.
    township_centre
        ``(S,)`` or ``(D, S)`` bool.
    priority
        ``(S,)`` or ``(D, S)``, higher first; default registry order.
    section_school
        As in :func:`roll_out_gigabit`: a campus has one room for its sections.

    Returns
    -------
    numpy.ndarray
        ``(D, S)`` bool; never decreases, never more than ``rooms_per_year`` new schools, only eligible ones.
    """
    eligible = (np.asarray(section_location) == URBAN) | np.asarray(township_centre, dtype=bool)
    return _roll_out_schools(has_room, eligible, rooms_per_year, priority, section_school, "has_room")


def build_special_education_schools(
    schools: npt.ArrayLike,
    per_year: npt.ArrayLike,
    county_population: npt.ArrayLike,
    threshold_people: float = 200_000,
) -> IntArray:
    """Build special-education schools in the counties that must have one (T8, plan §二(四)1).

    Eligible: counties with ``population ≥ threshold_people`` and no special-education school yet. The plan's
    "20萬以上人口" is read as 200,000 or more (以上 includes the number in Chinese legal usage). Up to
    ``per_year`` schools a year, one per county, largest uncovered counties first (ties: county order).

    Parameters
    ----------
    schools
        ``(D, C)`` integer number of special-education schools in each county.
    per_year
        Lever, scalar or ``(D,)`` integer.
    county_population
        ``(C,)`` people (2020 census, or a projection ``(D, C)``).
    threshold_people
        Population from which a county must have a school.

    Returns
    -------
    numpy.ndarray
        ``(D, C)`` new counts.
    """
    count = np.asarray(schools)
    if count.ndim != 2:
        raise ValueError(f"schools: expected shape (D, C), got {count.shape}")
    population = np.broadcast_to(np.asarray(county_population, dtype=np.float64), count.shape)
    eligible = population >= threshold_people
    covered = count > 0
    built = _roll_out(covered, eligible, _per_draw_int(per_year, count.shape[0], "per_year"), population)
    return np.asarray(count + (built & ~covered), dtype=np.int64)


def standardised(
    students: npt.ArrayLike,
    floor_area_m2: npt.ArrayLike,
    equipment_value_cny: npt.ArrayLike,
    thresholds: npt.ArrayLike,
    gigabit: npt.ArrayLike,
    staffing_ok: npt.ArrayLike,
) -> BoolArray:
    """Section meets the standardisation target (標准化, T11, plan §二(一)2).

    The plan names building, safety, teaching equipment, digital environment and teacher staffing standards.
    Operationalised (**assumption**) as: floor area per student ≥ the 2017 threshold (building), equipment
    value per student ≥ the 2017 threshold (equipment), gigabit to the school (digital), and the staffing test
    of the staffing module (``staffing_ok``, e.g. teachers ≥ the quota share). Safety is not simulated.
    A section without students meets the per-student items.

    Parameters
    ----------
    students, floor_area_m2, equipment_value_cny
        ``(D, S)``.
    thresholds
        ``(S, 4)`` as in :func:`facility_gaps` (columns floor and equipment used).
    gigabit, staffing_ok
        ``(D, S)`` bool.

    Returns
    -------
    numpy.ndarray
        ``(D, S)`` bool.
    """
    req = _requirement(np.asarray(students, dtype=np.float64), np.asarray(thresholds, dtype=np.float64))
    floor_ok = _meets(np.asarray(floor_area_m2, dtype=np.float64), req[..., FLOOR])
    equipment_ok = _meets(np.asarray(equipment_value_cny, dtype=np.float64), req[..., EQUIPMENT])
    digital_ok = np.asarray(gigabit, dtype=bool)
    return np.asarray(floor_ok & equipment_ok & digital_ok & np.asarray(staffing_ok, dtype=bool))
