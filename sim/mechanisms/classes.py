"""Classes follow enrolment: each section's classes per grade from its pupils, the class-size norm and its
classrooms; classrooms built where the norm needs more of them (issue 15 item 1).

Every year (the start year included), for each section and grade with pupils:

1. **The norm's classes.** ``ceil(pupils / limit)`` classes, with ``limit`` the class-size maximum of the
   section's level, 45 in primary and 50 in junior secondary (2017 method, government-guarantee item 5;
   ``calibration/data/quality_balance_standard.csv`` rows ``rule,class_size_max``). A grade of 90 pupils is two
   classes of 45; a grade of 91 three classes (31, 30, 30).
2. **Within the classrooms.** A class needs a classroom. When the norm's classes of a section exceed its
   classrooms, the section opens as many classes as it has classrooms, shared among its grades so that its
   largest class is as small as possible (:func:`form_classes`); its classes are then above the norm and the
   class-size item of the guarantee fails. A grade with pupils always has at least one class (a teaching point
   with fewer rooms than grades teaches mixed-grade classes, 复式班; counted as one class per grade).
3. **Construction.** The classes the norm needs beyond the section's classrooms and those already under
   construction are started as new classrooms, a share ``levers.classes.build_share`` of them a year
   (:func:`classrooms_to_start`), and are in use after the draw's construction lag, the uncertainty
   ``facilities.construction_lag_years`` that delays every building of the capital programme
   (:func:`advance_construction`). Classrooms are never demolished: a section whose pupils fall keeps empty
   rooms.

The start-year classrooms of a section are its registry classes (``classes_primary`` / ``classes_junior`` of
``calibration/data/registry_2020.csv``): the registry has no classroom count, so each class of the start year is
assumed to have had its room and no room to have stood empty (an assumption: where a section had spare rooms,
this understates how many classes it can open without building).

All functions are pure and take counts as integer arrays with the grades on the last axis.

References
----------
.. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號), government-guarantee item 5: 班额 小学
   不超过45人, 初中不超过50人 (``calibration/data/quality_balance_standard.csv``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

IntArray = npt.NDArray[np.int64]


class ClassFormation(NamedTuple):
    """The classes of a year: ``classes`` ``(…, G)`` per grade, ``wanted`` ``(…)`` the norm's classes of the
    section (what it would open with rooms enough)."""

    classes: IntArray
    wanted: IntArray


def classes_by_norm(pupils_by_grade: npt.ArrayLike, limit: npt.ArrayLike) -> IntArray:
    """``ceil(pupils / limit)`` classes per grade (0 for a grade without pupils).

    ``pupils_by_grade`` is ``(…, G)``; ``limit`` the class-size maximum, broadcast against ``pupils_by_grade[...,
    0]`` (one per section).

    >>> classes_by_norm(np.array([[90, 91, 0, 1]]), np.array([45])).tolist()
    [[2, 3, 0, 1]]
    """
    pupils = np.asarray(pupils_by_grade)
    size = np.asarray(limit)[..., None]
    if np.any(size < 1):
        raise ValueError("class-size limits must be at least 1 pupil")
    if np.any(pupils < 0):
        raise ValueError("pupils must be non-negative")
    return _ceil_div(pupils, size)


def _ceil_div(num: npt.ArrayLike, den: npt.ArrayLike) -> IntArray:
    """``ceil(num / den)`` for whole non-negative ``num`` and positive ``den`` below 2**40, in float64 (several
    times faster than numpy's integer division): the quotient of two such integers is correctly rounded, and a
    non-whole quotient lies at least ``1 / den`` from a whole number, far beyond the rounding error."""
    return np.ceil(np.asarray(num, dtype=np.float64) / np.asarray(den, dtype=np.float64)).astype(np.int64)


def largest_class(pupils_by_grade: npt.ArrayLike, classes: npt.ArrayLike) -> IntArray:
    """``(…)`` pupils in the largest class of each section: ``max`` over grades of ``ceil(pupils / classes)``
    (a grade's pupils shared as evenly as whole pupils allow); 0 for a section without pupils.

    >>> largest_class(np.array([[91, 40]]), np.array([[3, 1]])).tolist()
    [40]
    """
    pupils = np.asarray(pupils_by_grade)
    count = np.asarray(classes)
    if np.any((pupils > 0) & (count < 1)):
        raise ValueError("a grade with pupils needs at least one class")
    size = _ceil_div(pupils, np.maximum(count, 1))
    return size.max(axis=-1) if size.shape[-1] else np.zeros(size.shape[:-1], np.int64)


def form_classes(pupils_by_grade: npt.ArrayLike, classrooms: npt.ArrayLike, limit: npt.ArrayLike,
                 norm: npt.ArrayLike | None = None) -> ClassFormation:
    """Classes per grade: the norm's (:func:`classes_by_norm`) where the section's classrooms hold them, else
    the classrooms shared among the grades so that the largest class is as small as possible.

    With ``R`` classrooms (at least one per grade with pupils, see the module notes) and pupils ``p_g``, the
    smallest class size ``x`` with ``Σ_g ceil(p_g / x) ≤ R`` is found by bisection on whole pupils and each
    grade opens ``ceil(p_g / x)`` classes: no other sharing of ``R`` rooms has a smaller largest class. Some rooms
    may stay empty (opening one more class would not lower the largest class).

    Parameters
    ----------
    pupils_by_grade
        ``(…, G)`` pupils.
    classrooms
        ``(…)`` classrooms of each section.
    limit
        Class-size maximum of each section, broadcast against ``classrooms``.
    norm
        The norm's classes ``classes_by_norm(pupils_by_grade, limit)`` when the caller has them already.

    >>> form_classes(np.array([[100, 50]]), np.array([3]), np.array([45])).classes.tolist()
    [[2, 1]]
    """
    pupils = np.asarray(pupils_by_grade, dtype=np.int64)
    rooms = np.asarray(classrooms, dtype=np.int64)
    if np.any(rooms < 0):
        raise ValueError("classrooms must be non-negative")
    norm = classes_by_norm(pupils, limit) if norm is None else np.asarray(norm, dtype=np.int64)
    wanted = norm.sum(axis=-1)
    rooms = np.maximum(rooms, (pupils > 0).sum(axis=-1))
    short = wanted > rooms
    if not short.any():
        return ClassFormation(norm, wanted)
    p = pupils[short]  # (n, G)
    cap = rooms[short]
    low = np.ones(cap.shape, np.int64)
    high = np.maximum(p.max(axis=-1), 1)  # one class per grade with pupils always fits (cap ≥ grades)
    while np.any(low < high):
        mid = (low + high) // 2
        fits = _ceil_div(p, mid[:, None]).sum(axis=-1) <= cap
        high = np.where(fits, mid, high)
        low = np.where(fits, low, mid + 1)
    classes = norm.copy()
    classes[short] = _ceil_div(p, low[:, None])
    return ClassFormation(classes, wanted)


@njit(cache=True)
def _wanted_kernel(pupils: Any, limit: Any, out: Any) -> None:  # pragma: no cover - compiled
    n_draws, n_sections, n_grades = pupils.shape
    for d in range(n_draws):
        for s in range(n_sections):
            size, total = float(limit[s]), 0
            for g in range(n_grades):  # float division: exact here (see _ceil_div), much faster than integer
                total += math.ceil(pupils[d, s, g] / size)
            out[d, s] = total


@njit(cache=True)
def _form_kernel(pupils: Any, rooms: Any, limit: Any, classes: Any, largest: Any) -> None:  # pragma: no cover
    n_draws, n_sections, n_grades = pupils.shape
    for d in range(n_draws):
        for s in range(n_sections):
            size, wanted, graded, most = float(limit[s]), 0, 0, 0
            for g in range(n_grades):  # float division: exact here (see _ceil_div), much faster than integer
                p = pupils[d, s, g]
                wanted += math.ceil(p / size)
                if p > 0:
                    graded += 1
                if p > most:
                    most = p
            cap = max(rooms[d, s], graded)
            if wanted > cap:  # the smallest class size whose classes fit the rooms (bisection)
                low, high = 1, max(most, 1)
                while low < high:
                    mid = (low + high) // 2
                    need = 0
                    for g in range(n_grades):
                        need += (pupils[d, s, g] + mid - 1) // mid
                    if need <= cap:
                        high = mid
                    else:
                        low = mid + 1
                size = float(low)
            big = 0
            for g in range(n_grades):
                p = pupils[d, s, g]
                c = math.ceil(p / size)
                classes[d, s, g] = c
                if c > 0:
                    x = math.ceil(p / c)
                    if x > big:
                        big = x
            largest[d, s] = big


def wanted_classes(pupils_by_grade: npt.ArrayLike, limit: npt.ArrayLike) -> IntArray:
    """``(D, S)`` the norm's classes of each section, ``classes_by_norm(...).sum(axis=-1)`` in one compiled pass.

    ``pupils_by_grade`` is ``int64 (D, S, G)``, ``limit`` ``(S,)``.
    """
    pupils, size = _checked(pupils_by_grade, limit)
    out = np.empty(pupils.shape[:2], dtype=np.int64)
    _wanted_kernel(pupils, size, out)
    return out


def form_and_measure(pupils_by_grade: npt.ArrayLike, classrooms: npt.ArrayLike,
                     limit: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """``(classes, largest)``: :func:`form_classes`'s classes ``(D, S, G)`` and :func:`largest_class` of them
    ``(D, S)``, in one compiled pass (the same numbers: tests compare them exactly)."""
    pupils, size = _checked(pupils_by_grade, limit)
    rooms = np.ascontiguousarray(classrooms, dtype=np.int64)
    if rooms.shape != pupils.shape[:2]:
        raise ValueError(f"classrooms: expected shape {pupils.shape[:2]}, got {rooms.shape}")
    if np.any(rooms < 0):
        raise ValueError("classrooms must be non-negative")
    classes = np.empty(pupils.shape, dtype=np.int64)
    largest = np.empty(pupils.shape[:2], dtype=np.int64)
    _form_kernel(pupils, rooms, size, classes, largest)
    return classes, largest


def _checked(pupils_by_grade: npt.ArrayLike, limit: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    pupils = np.ascontiguousarray(pupils_by_grade, dtype=np.int64)
    size = np.ascontiguousarray(limit, dtype=np.int64)
    if pupils.ndim != 3 or size.shape != (pupils.shape[1],):
        raise ValueError(f"expected pupils (D, S, G) and one limit per section, got {pupils.shape} and {size.shape}")
    if np.any(size < 1):
        raise ValueError("class-size limits must be at least 1 pupil")
    return pupils, size


def school_pairs(section_school: npt.ArrayLike) -> IntArray:
    """``(P, 2)`` the two sections of each school that has two (a nine-year school's primary and junior parts).

    >>> school_pairs(np.array([0, 1, 1, 2, 3, 3])).tolist()
    [[1, 2], [4, 5]]
    """
    school = np.asarray(section_school, dtype=np.int64)
    counts = np.bincount(school) if school.size else np.zeros(0, np.int64)
    if np.any(counts > 2):
        raise ValueError("a school has at most two sections (primary and junior)")
    order = np.argsort(school, kind="stable")
    sorted_school = school[order]
    first = np.flatnonzero(np.r_[sorted_school[1:] == sorted_school[:-1], False])
    return np.stack([order[first], order[first + 1]], axis=1)


def share_rooms_in_school(wanted: npt.ArrayLike, classrooms: npt.ArrayLike, pairs: npt.ArrayLike) -> IntArray:
    """Classrooms after the two parts of each nine-year school lend each other the rooms one does not need.

    A part's spare rooms (``classrooms − wanted`` where positive) go to the other part's missing rooms, up to
    what it misses; a school's rooms are kept. ``wanted`` and ``classrooms`` are ``(D, S)``; ``pairs`` from
    :func:`school_pairs`.

    >>> share_rooms_in_school(np.array([[4, 9]]), np.array([[7, 6]]), np.array([[0, 1]])).tolist()
    [[4, 9]]
    """
    need = np.asarray(wanted, dtype=np.int64)
    rooms = np.array(classrooms, dtype=np.int64)  # a copy
    pair = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pair.shape[0] == 0:
        return rooms
    a, b = pair[:, 0], pair[:, 1]
    spare_a, spare_b = np.maximum(rooms[:, a] - need[:, a], 0), np.maximum(rooms[:, b] - need[:, b], 0)
    to_b = np.minimum(spare_a, np.maximum(need[:, b] - rooms[:, b], 0))
    to_a = np.minimum(spare_b, np.maximum(need[:, a] - rooms[:, a], 0))
    moved = to_b - to_a  # at most one of the two is positive
    rooms[:, a] -= moved
    rooms[:, b] += moved
    return rooms


def classrooms_to_start(wanted: npt.ArrayLike, classrooms: npt.ArrayLike, under_construction: npt.ArrayLike,
                        build_share: float) -> IntArray:
    """Classrooms started this year: ``ceil(build_share × max(wanted − classrooms − under_construction, 0))``.

    ``wanted`` is the norm's classes of each section (:class:`ClassFormation`), ``under_construction`` the
    classrooms started and not yet in use. A share below 1 leaves part of the gap to later years; any positive
    share starts at least one room where one is missing.

    >>> classrooms_to_start(np.array([10, 10, 4]), np.array([6, 6, 6]), np.array([0, 3, 0]), 0.5).tolist()
    [2, 1, 0]
    """
    if not 0.0 <= build_share <= 1.0:
        raise ValueError(f"build_share must be in [0, 1], got {build_share}")
    gap = (np.asarray(wanted, dtype=np.int64) - np.asarray(classrooms, dtype=np.int64)
           - np.asarray(under_construction, dtype=np.int64))
    return np.ceil(build_share * np.maximum(gap, 0) - 1e-9).astype(np.int64)


def empty_construction(n_draws: int, n_sections: int, max_lag_years: int) -> IntArray:
    """``int64 (D, S, max_lag_years + 1)``: classrooms under construction by years until in use."""
    if max_lag_years < 0:
        raise ValueError(f"max_lag_years: must be >= 0, got {max_lag_years}")
    return np.zeros((n_draws, n_sections, max_lag_years + 1), dtype=np.int64)


def advance_construction(started: npt.ArrayLike, pipeline: npt.ArrayLike,
                         lag_years: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Advance the classroom pipeline by one year, as :func:`sim.mechanisms.facilities.construction_pipeline`
    advances the capital one: rooms started this year enter slot ``lag``, slot 0 is in use this year and the
    rest move one slot forward (``lag = 0``: in use the same year).

    Parameters
    ----------
    started
        ``(D, S)`` classrooms started this year.
    pipeline
        ``(D, S, L)`` classrooms under construction (:func:`empty_construction`).
    lag_years
        ``(D,)`` whole years, ``0 ≤ lag < L``.

    Returns
    -------
    arrived, pipeline
        ``(D, S)`` classrooms in use from this year; the pipeline for next year (a new array).
    """
    new = np.asarray(started, dtype=np.int64)
    pipe = np.array(pipeline, dtype=np.int64)  # a copy
    lag = np.asarray(lag_years, dtype=np.int64).reshape(-1)
    if pipe.ndim != 3 or pipe.shape[:2] != new.shape:
        raise ValueError(f"pipeline: expected shape {new.shape} + (L,), got {pipe.shape}")
    if lag.shape != (new.shape[0],):
        raise ValueError(f"lag_years: expected one per draw ({new.shape[0]}), got shape {lag.shape}")
    if np.any(lag < 0) or np.any(lag >= pipe.shape[2]):
        raise ValueError(f"lag_years: must be in [0, {pipe.shape[2]}), got {lag.min()}–{lag.max()}")
    pipe[np.arange(new.shape[0]), :, lag] += new
    arrived = pipe[:, :, 0].copy()
    pipe[:, :, :-1] = pipe[:, :, 1:]
    pipe[:, :, -1] = 0
    return arrived, pipe
