"""The school network: which small sections close, where their pupils and teachers go (issue 15 item 2).

The step ``network`` (:func:`sim.steps.step_network`, after the pupils' year, before the classes) applies these
rules in the cohort engine under the lever ``levers.network``; a closed section stays closed (``State.closed``)
and is kept out of the grade-1 intake (:func:`open_location_share`, the intake weights), grade-7 entry,
urbanisation drift (it has no pupils to receive by), teacher drift, hiring (its quota is 0, hires go to
vacancies), dispatch (weighted by vacancy and pupils) and rotation placements; its rotation loans and
special-post contracts move with its teachers. The agent engine (``sim.agents``, phase ``network``) applies the
same closures (:func:`sim.steps.close_sections`) and moves each teacher of a closing section to its receiver.

Rules (all per draw, within a county and level):

1. **Which close.** A section with pupils below ``size_rule_pupils`` closes, unless it is a teaching point and
   teaching points are kept (``keep_teaching_points``) or it is the largest open section of its county and level
   (someone must receive). The 2018 State Council guidance on small rural schools calls a village school or
   teaching point with fewer than 100 pupils a 乡村小规模学校 and asks that the necessary ones be kept
   (应留必留); the 2012 guidance on rural school layout requires 先建后撤 (build first, then close). Neither sets
   a size below which a school closes, so the rule is a lever without a sourced default: 0 (nothing closes) is
   the reading of 应留必留, 100 the definition of a small school.
2. **Where to.** Pupils and teachers of a closing section go to the largest open section of the same county and
   level that does not close (an assumption: the township-centre school takes them; the registry has no
   geography below the county). Its teaching posts go with them (the receiver's quota grows by the closed
   section's until the next verification), as do its dispatched teachers, its rotation loans (teachers it hosts
   or is owed) and, with fixed classes, its classes. Its classrooms, floor area and sports ground stay in the
   closed building.
3. **Conservation.** Pupils by grade and teachers move whole; county totals are kept.
4. **先建后撤 (build first, then close; lever ``build_before_close``, default on).** The 2012 guidance [2]_ asks
   that the receiving school be built before a school closes. A receiver admits its closing sections only when
   its classrooms hold the class-size norm's classes (primary 45, junior 50) of its own pupils and theirs
   (:func:`wait_for_rooms`); otherwise they all wait (they stay open and are tested again next year) and the
   missing classrooms, less those already under construction, are started at the receiver through the classroom
   pipeline (``levers.classes.build_share`` of them, in use after ``facilities.construction_lag_years``, costed
   with every classroom started, :mod:`sim.costs`). Floor area per pupil is not a condition (a documented
   choice): the engine builds floor area only through the capital programme, which funds the gaps of the pupils a
   school has, so a floor-area condition would hold a closure until capital filled a gap the receiver does not yet
   have, i.e. for ever; the places the 2012 text asks for are read as classrooms, and the receiver's floor area
   per pupil falls with the move (its gap is then funded like any other). Off: sections close at once (the model
   before the lever).
5. **Equipment.** A share ``network.equipment_moved_share`` (an uncertainty, 0.5–1; no source found: movable
   teaching equipment goes with the pupils, fixed installations stay) of a closing section's equipment value and
   multimedia rooms moves to its receiver (:func:`move_share`), whatever ``build_before_close``.

References
----------
.. [1] 国务院办公厅《关于全面加强乡村小规模学校和乡镇寄宿制学校建设的指导意见》(国办发〔2018〕27号):
   乡村小规模学校 = 不足100人的村小学和教学点 (as summarised at https://m.520etj.com/detail/156646.html).
.. [2] 国务院办公厅《关于规范农村义务教育学校布局调整的意见》(国办发〔2012〕48号): 科学评估、应留必留、
   先建后撤、积极稳妥 (same summary).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Closures(NamedTuple):
    """``closing`` ``(D, S)`` bool: sections closing this year; ``receiver`` ``(D, S)`` int: the section that
    takes each closing section's pupils and teachers (``-1`` where the section does not close)."""

    closing: BoolArray
    receiver: IntArray


def closures(pupils: npt.ArrayLike, size_rule_pupils: int, section_county: npt.ArrayLike,
             section_level: npt.ArrayLike, teaching_point: npt.ArrayLike, *, keep_teaching_points: bool = True,
             is_open: npt.ArrayLike | None = None) -> Closures:
    """Sections that close this year and their receiving sections (rules 1 and 2 of the module notes).

    Parameters
    ----------
    pupils
        ``(D, S)`` pupils of each section.
    size_rule_pupils
        A section with fewer pupils closes (0: none).
    section_county, section_level, teaching_point
        ``(S,)`` county index, level code and teaching-point flag of each section.
    keep_teaching_points
        Teaching points stay open whatever their size.
    is_open
        ``(D, S)`` bool, sections still open (default: those with pupils).

    >>> c = closures(np.array([[30, 400, 50, 20]]), 60, np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0]),
    ...              np.array([False, False, False, True]))
    >>> c.closing.tolist(), c.receiver.tolist()
    ([[True, False, True, False]], [[1, -1, 1, -1]])
    """
    p = np.asarray(pupils, dtype=np.int64)
    if p.ndim != 2:
        raise ValueError(f"pupils must be (D, S), got shape {p.shape}")
    if size_rule_pupils < 0:
        raise ValueError(f"size_rule_pupils must be >= 0, got {size_rule_pupils}")
    county = np.asarray(section_county, dtype=np.int64)
    level = np.asarray(section_level, dtype=np.int64)
    point = np.asarray(teaching_point, dtype=bool)
    open_ = p > 0 if is_open is None else np.asarray(is_open, dtype=bool)
    group = county * (int(level.max(initial=0)) + 1) + level
    n_draws, n_sections = p.shape
    # the largest open section of each group (lowest index on ties): the receiver, which never closes
    order = np.lexsort((np.arange(n_sections)[None, :].repeat(n_draws, 0), -np.where(open_, p, -1),
                        np.broadcast_to(group, p.shape)), axis=1) if n_sections else np.zeros((n_draws, 0), np.int64)
    largest = np.full((n_draws, int(group.max(initial=-1)) + 1), -1, dtype=np.int64)
    for d in range(n_draws):
        g_sorted = group[order[d]]
        first = np.r_[True, g_sorted[1:] != g_sorted[:-1]] if n_sections else np.zeros(0, bool)
        heads = order[d][first]
        largest[d, group[heads]] = np.where(open_[d, heads], heads, -1)
    receiver_of_group = np.take_along_axis(largest, np.broadcast_to(group, p.shape), axis=1)
    closing = open_ & (p < size_rule_pupils) & (receiver_of_group >= 0) & (
        receiver_of_group != np.arange(n_sections)[None, :])
    if keep_teaching_points:
        closing &= ~point[None, :]
    return Closures(closing, np.where(closing, receiver_of_group, -1))


def merge(values: npt.ArrayLike, plan: Closures) -> IntArray:
    """``values`` ``(D, S, …)`` (pupils by grade, teachers by age band) after each closing section's values went
    to its receiver: the closing sections hold 0, every county keeps its totals.

    >>> c = Closures(np.array([[True, False]]), np.array([[1, -1]]))
    >>> merge(np.array([[[3, 1], [10, 0]]]), c).tolist()
    [[[0, 0], [13, 1]]]
    """
    v = np.array(values, dtype=np.int64)  # a copy
    d_idx, s_idx = np.nonzero(plan.closing)
    np.add.at(v, (d_idx, plan.receiver[d_idx, s_idx]), v[d_idx, s_idx])
    v[d_idx, s_idx] = 0
    return v


def merge_float(values: npt.ArrayLike, plan: Closures) -> npt.NDArray[np.float64]:
    """:func:`merge` for real-valued stocks (teaching posts): the closing sections hold 0, county totals kept.

    >>> c = Closures(np.array([[True, False]]), np.array([[1, -1]]))
    >>> merge_float(np.array([[1.5, 2.25]]), c).tolist()
    [[0.0, 3.75]]
    """
    v = np.array(values, dtype=np.float64)  # a copy
    d_idx, s_idx = np.nonzero(plan.closing)
    np.add.at(v, (d_idx, plan.receiver[d_idx, s_idx]), v[d_idx, s_idx])
    v[d_idx, s_idx] = 0.0
    return v


def wait_for_rooms(pupils_by_grade: npt.ArrayLike, classrooms: npt.ArrayLike, plan: Closures,
                   limit: npt.ArrayLike) -> tuple[Closures, IntArray]:
    """先建后撤 (rule 4 of the module notes): the closures whose receiver has the classrooms for the norm's classes
    of its own pupils and of every section closing into it; the others wait. Returns the admitted plan and the
    ``(D, S)`` classrooms missing at each receiver whose closures wait (0 elsewhere).

    The norm's classes of a section are ``Σ_grades ceil(pupils / limit)`` (:func:`sim.mechanisms.classes.
    wanted_classes`); a receiver admits all its closing sections or none (a closure is planned with its receiver's
    building, not one village at a time).

    >>> plan = Closures(np.array([[True, False, True, False]]), np.array([[1, -1, 3, -1]]))
    >>> pupils = np.array([[[40, 10], [45, 40], [10, 0], [30, 30]]])  # (D, S, G): receiver 1 needs 2+2 rooms
    >>> ok, missing = wait_for_rooms(pupils, np.array([[2, 2, 2, 2]]), plan, np.array([45, 45, 45, 45]))
    >>> ok.closing.tolist(), ok.receiver.tolist(), missing.tolist()
    ([[False, False, True, False]], [[-1, -1, 3, -1]], [[0, 2, 0, 0]])
    """
    merged = merge(pupils_by_grade, plan)
    lim = np.asarray(limit, dtype=np.int64)
    if np.any(lim <= 0):
        raise ValueError("limit: class-size limits must be positive")
    wanted = (-(-merged // lim[None, :, None])).sum(axis=-1)
    short = np.maximum(wanted - np.asarray(classrooms, dtype=np.int64), 0)
    d_idx, s_idx = np.nonzero(plan.closing)
    receiving = np.zeros(plan.closing.shape, dtype=bool)
    receiving[d_idx, plan.receiver[d_idx, s_idx]] = True
    room = short == 0
    admitted = plan.closing.copy()
    admitted[d_idx, s_idx] = room[d_idx, plan.receiver[d_idx, s_idx]]
    missing = np.where(receiving & ~room, short, 0).astype(np.int64)
    return Closures(admitted, np.where(admitted, plan.receiver, -1)), missing


def move_share(values: npt.ArrayLike, plan: Closures, share: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``(D, S)`` real stock (equipment value, multimedia rooms) after a share ``(D,)`` of each closing section's
    went to its receiver (rule 5); the rest stays in the closed building. County totals are kept.

    >>> c = Closures(np.array([[True, False]]), np.array([[1, -1]]))
    >>> move_share(np.array([[100.0, 50.0]]), c, np.array([0.75])).tolist()
    [[25.0, 125.0]]
    """
    v = np.array(values, dtype=np.float64)  # a copy
    f = np.asarray(share, dtype=np.float64).reshape(-1)
    if np.any((f < 0) | (f > 1)):
        raise ValueError("share: must be in [0, 1]")
    d_idx, s_idx = np.nonzero(plan.closing)
    moved = v[d_idx, s_idx] * f[d_idx]
    np.add.at(v, (d_idx, plan.receiver[d_idx, s_idx]), moved)
    v[d_idx, s_idx] -= moved
    return v


def open_location_share(location_share: npt.ArrayLike, closed: npt.ArrayLike, section_county: npt.ArrayLike,
                        section_location: npt.ArrayLike, section_is_primary: npt.ArrayLike,
                        n_locations: int = 3) -> npt.NDArray[np.float64]:
    """``(D, C, L)`` grade-1 intake share of each county's locations with the locations left without an open
    primary section taken out (their children enter the county's other locations in proportion to the shares
    of those; assumption: they go to the school that took the closed one's pupils, which is in one of those).

    A county whose open locations all have zero share splits equally over them.

    >>> share = np.array([[0.5, 0.3, 0.2]])  # one county: urban, town, rural
    >>> open_location_share(share, np.array([[False, True]]), np.array([0, 0]), np.array([0, 2]),
    ...                     np.array([True, True])).round(3).tolist()
    [[[1.0, 0.0, 0.0]]]
    """
    base = np.asarray(location_share, dtype=np.float64)
    shut = np.asarray(closed, dtype=bool)
    county = np.asarray(section_county, dtype=np.int64)
    loc = np.asarray(section_location, dtype=np.int64)
    primary = np.asarray(section_is_primary, dtype=bool)
    n_draws = shut.shape[0]
    n_counties = base.shape[-2]
    cell = county * n_locations + loc
    has_open = np.zeros((n_draws, n_counties * n_locations), dtype=bool)
    rows, cols = np.nonzero(~shut & primary[None, :])
    has_open[rows, cell[cols]] = True
    has_open = has_open.reshape(n_draws, n_counties, n_locations)
    share = np.broadcast_to(base, has_open.shape) * has_open
    total = share.sum(axis=-1, keepdims=True)
    even = has_open / np.maximum(has_open.sum(axis=-1, keepdims=True), 1)
    return np.where(total > 0, share / np.where(total > 0, total, 1.0), even)
