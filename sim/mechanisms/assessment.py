"""Quality-balance assessment of counties (教督〔2017〕6號), as vectorised functions over arrays.

This is step 9 of the yearly order in ``DESIGN.md`` §3: from the stocks of a year it computes the seven
resource indicators of every section, whether each section meets the standard, the quality schools, the
coefficients of variation across the sections of each county, the government-guarantee items the model
simulates, and from these the county's readiness and (with a lag and an uncertain pass probability) its
certification as quality-balanced (义务教育优质均衡).

Array conventions
-----------------
The engine state is per **section**: the primary part or the junior part of a school (a nine-year school has
two sections, one of each level). Shapes used throughout:

- ``(D, S)``: draws in a chunk × sections; ``(D, S, 7)`` for the seven indicators, in the order of
  :data:`INDICATORS`;
- ``section_level: int[S]`` (0 primary, 1 junior, the order of :data:`LEVELS`), ``section_county: int[S]``
  (county index ``0..C-1``), ``section_school: int[S]`` (school index ``0..N-1``);
- ``(D, C)`` per county, ``(D, C, 2, 7)`` per county, level and indicator.

Nothing here loops over draws, sections, schools or counties in Python: group sums (group = county, school,
or (county, level) for the CV) and the CV go through compiled kernels (:mod:`sim.mechanisms.segments`) that
add each group's values in section order, the same numbers as ``np.bincount`` over the flattened
(draw, group) index.

Thresholds and rule values (the indicator thresholds, the CV limits, the guarantee limits) are arguments;
their numbers and sources live in ``youzhi_junheng_2017_standard.csv`` and are loaded elsewhere. The only
defaults in signatures are the 6-of-7 / 85% rule of the method and numerical tolerances, each documented where
it appears.

Comparisons with a threshold allow a relative tolerance ``rtol`` (default ``1e-9``): indicators are ratios of
floating-point stocks, and a school exactly at a threshold in whole numbers (42 qualified teachers for 1,000
pupils against 4.2 per 100) must not fail by one unit in the last place. The tolerance is far below any
difference the method can see (the published indicators are rounded to two decimals).

References
----------
.. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號), 2017: resource allocation
   (7 indicators, ≥6 of 7 met per school with the remaining one ≥85% of its threshold, CV across schools
   ≤0.50 primary / ≤0.45 junior), government guarantee (15 items), education quality (9 items) and social
   recognition. Text: https://jianpian.cn/a/ro2qawq ; see ``SOURCES.md`` §3.
.. [2] 教育部《县域义务教育均衡发展督导评估暂行办法》(教督〔2012〕3號): the 基本均衡 method, whose
   student-weighted coefficient of variation is used here (assumed to carry over to the 2017 method).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from sim.mechanisms import segments
from sim.vocabulary import (
    GUARANTEE_RULES,
    INDICATORS,
    LEVELS,
    N_INDICATORS,
    QUALITY_SCHOOL_DEFINITIONS,
    QualitySchool,
)

__all__ = [
    "GUARANTEE_RULES",
    "INDICATORS",
    "LEVELS",
    "QUALITY_SCHOOL_DEFINITIONS",
    "BindingConstraints",
    "CertificationStep",
    "CountyCount",
    "GuaranteeRules",
    "ResourceAssessment",
    "assess_resources",
    "assessed_sections",
    "binding_constraints",
    "certify",
    "county_cv",
    "county_resource_ready",
    "guarantee_rules",
    "is_quality_school",
    "meets_standard",
    "pairing_coverage",
    "quality_school_share",
    "school_quality",
    "section_indicators",
    "section_thresholds",
    "share_true",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

# The seven resource indicators of 教督〔2017〕6號 (order of the last axis of every indicator array), the
# section levels, the government-guarantee items the model simulates (order of the last axis of
# :meth:`GuaranteeRules.failed` and :attr:`BindingConstraints.guarantee_failed`) and the readings of a quality
# school (優質學校) are the model's vocabulary (:mod:`sim.vocabulary`).
QualitySchoolDefinition = QualitySchool


# --------------------------------------------------------------------------------------------------
# helpers


def _as_index(index: ArrayLike, n_groups: int, name: str) -> NDArray[np.intp]:
    """A 1-D group index as ``intp``, checked to lie in ``[0, n_groups)`` (:func:`segments.check_groups`)."""
    return segments.check_groups(index, n_groups, name=name).astype(np.intp, copy=False)


def _group_sum(values: ArrayLike, groups: NDArray[np.intp], n_groups: int) -> FloatArray:
    """Sum ``values (D, S, *tail)`` over the sections of each group: ``(D, n_groups, *tail)``.

    One compiled pass (:func:`sim.mechanisms.segments.group_sum3`) adding each group's values in section
    order, the same sums as ``np.bincount`` over the flattened (draw, group) index; no loop in Python.
    """
    return segments.group_sum3(values, groups, n_groups)


def _group_count(flags: ArrayLike, groups: NDArray[np.intp], n_groups: int) -> IntArray:
    """Count the true ``flags (D, S, *tail)`` over the sections of each group: ``(D, n_groups, *tail)``."""
    return np.rint(_group_sum(np.asarray(flags, dtype=np.float64), groups, n_groups)).astype(np.int64)


def _per_draw_sections(a: ArrayLike, n_draws: int, n_sections: int, dtype: type, name: str) -> NDArray:
    """Broadcast a ``(S,)`` or ``(D, S)`` array to ``(D, S)``."""
    arr: NDArray = np.asarray(a, dtype=dtype)
    try:
        return np.broadcast_to(arr, (n_draws, n_sections))
    except ValueError:
        raise ValueError(
            f"{name} must have shape (S,) or (D, S) = ({n_draws}, {n_sections}), got {arr.shape}"
        ) from None


def _school_county(
    section_school: NDArray[np.intp], section_county: NDArray[np.intp], n_schools: int
) -> NDArray[np.intp]:
    """County of each school, from its sections; schools with no section get county 0 (they count nowhere)."""
    school_county = np.zeros(n_schools, dtype=np.intp)
    school_county[section_school] = section_county
    if np.any(school_county[section_school] != section_county):
        raise ValueError("the sections of a school must all lie in the same county")
    return school_county


def _n_schools(section_school: ArrayLike, n_schools: int | None) -> int:
    if n_schools is not None:
        return n_schools
    s = np.asarray(section_school)
    return int(s.max()) + 1 if s.size else 0


def _at_least(values: FloatArray, threshold: ArrayLike, rtol: float) -> BoolArray:
    """``values >= threshold`` up to a relative tolerance; NaN is never at least anything."""
    return np.asarray(values >= np.asarray(threshold, dtype=np.float64) * (1.0 - rtol), dtype=np.bool_)


def _at_most(values: FloatArray, limit: ArrayLike, rtol: float) -> BoolArray:
    """``values <= limit`` up to a relative tolerance; NaN is never at most anything."""
    return np.asarray(values <= np.asarray(limit, dtype=np.float64) * (1.0 + rtol), dtype=np.bool_)


# --------------------------------------------------------------------------------------------------
# indicators and the school standard


def assessed_sections(students: ArrayLike, min_students_assessed: float = 0.0) -> BoolArray:
    """Which sections enter the resource evaluation.

    Parameters
    ----------
    students
        Students of each section, any shape (usually ``(D, S)``).
    min_students_assessed
        Sections with fewer students are left out of the resource evaluation (their indicators are NaN, they
        are not required to meet the standard and do not enter the CV). Default 0: every section with at
        least one student is assessed. Hebei's implementing rules exclude teaching points (教學點) with fewer
        than 50 students; whether the national text does is not verified (``SOURCES.md`` §3a), so the
        exclusion is a scenario choice. It is applied to every section, not only to teaching points, which
        is close for Xinjiang, where almost all sections under 50 students are teaching points.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``students``: ``students > 0`` and ``students >= min_students_assessed``.
    """
    s = np.asarray(students, dtype=np.float64)
    return np.asarray((s > 0) & (s >= min_students_assessed), dtype=np.bool_)


def section_indicators(
    students: ArrayLike,
    teachers_qualified: ArrayLike,
    teachers_backbone: ArrayLike,
    teachers_pe_art: ArrayLike,
    floor_area_m2: ArrayLike,
    sports_area_m2: ArrayLike,
    equipment_value_cny: ArrayLike,
    multimedia_rooms: ArrayLike,
    *,
    min_students_assessed: float = 0.0,
) -> FloatArray:
    """The seven resource indicators of each section.

    All inputs broadcast to one shape (usually ``(D, S)``); stocks are those of the section (for a nine-year
    school, its primary or its junior part, as the national statistics split them).

    Parameters
    ----------
    students
        Enrolled students.
    teachers_qualified
        Full-time teachers with a qualification above the one required for the level (高於規定學歷).
    teachers_backbone
        County-level-or-above backbone teachers (縣級以上骨幹教師).
    teachers_pe_art
        Full-time PE, music and fine-art teachers.
    floor_area_m2
        Teaching and auxiliary floor area (教學及輔助用房), m².
    sports_area_m2
        Sports ground and hall area, m².
    equipment_value_cny
        Value of teaching instruments and equipment, yuan.
    multimedia_rooms
        Networked multimedia classrooms.
    min_students_assessed
        See :func:`assessed_sections`; default 0.

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(..., 7)`` in the order of :data:`INDICATORS`: teachers per 100 students (three),
        m² per student (two), yuan per student, rooms per 100 students. Sections not assessed (no students,
        or fewer than ``min_students_assessed``) get NaN in all seven.

    References
    ----------
    .. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號),
       resource-allocation indicators 1–7.
    """
    arrays = np.broadcast_arrays(
        *(
            np.asarray(a, dtype=np.float64)
            for a in (
                students,
                teachers_qualified,
                teachers_backbone,
                teachers_pe_art,
                floor_area_m2,
                sports_area_m2,
                equipment_value_cny,
                multimedia_rooms,
            )
        )
    )
    pupils = arrays[0]
    assessed = assessed_sections(pupils, min_students_assessed)
    safe = np.where(assessed, pupils, 1.0)
    per_100 = (True, True, True, False, False, False, True)
    columns = [(stock * 100.0 if hundred else stock) / safe for stock, hundred in zip(arrays[1:], per_100, strict=True)]
    out = np.stack(columns, axis=-1)
    out[~assessed] = np.nan
    return out


def section_thresholds(level_thresholds: ArrayLike, section_level: ArrayLike) -> FloatArray:
    """The thresholds that apply to each section, from the thresholds of its level.

    Parameters
    ----------
    level_thresholds
        Shape ``(2, 7)``: row 0 primary, row 1 junior, columns in the order of :data:`INDICATORS`.
    section_level
        ``int[S]``, 0 primary, 1 junior.

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(S, 7)``.
    """
    table = np.asarray(level_thresholds, dtype=np.float64)
    if table.shape != (len(LEVELS), N_INDICATORS):
        raise ValueError(f"level_thresholds must have shape (2, 7), got {table.shape}")
    return table[_as_index(section_level, len(LEVELS), "section_level")]


def meets_standard(
    indicators: ArrayLike,
    thresholds: ArrayLike,
    *,
    min_met: int = 6,
    floor_share: float = 0.85,
    rtol: float = 1e-9,
) -> BoolArray:
    """Whether each section meets the resource standard of the 2017 method.

    A section meets it when at least ``min_met`` indicators reach their thresholds and every other indicator
    reaches ``floor_share`` of its threshold (with 7 indicators and ``min_met=6``: the one remaining indicator
    is at ≥85%).

    Parameters
    ----------
    indicators
        Shape ``(..., 7)`` (see :func:`section_indicators`). NaN (a section not assessed) never meets.
    thresholds
        Broadcastable to ``indicators``: usually ``(S, 7)`` from :func:`section_thresholds`.
    min_met
        Indicators that must reach their threshold; default 6 as in the method.
    floor_share
        Share of its threshold every remaining indicator must reach; default 0.85 as in the method.
    rtol
        Relative tolerance of each comparison (see the module notes).

    Returns
    -------
    numpy.ndarray of bool
        Shape ``indicators.shape[:-1]``.

    References
    ----------
    .. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號), resource allocation: each school
       meets at least 6 of the 7 indicators and the remaining one is at least 85% of its threshold
       (paraphrase; ``SOURCES.md`` §3a).
    """
    return _standard(indicators, thresholds, min_met, floor_share, rtol)[0]


def _standard(
    indicators: ArrayLike, thresholds: ArrayLike, min_met: int, floor_share: float, rtol: float
) -> tuple[BoolArray, BoolArray]:
    """(meets the standard ``(...)``, each indicator reaches its threshold ``(..., 7)``)."""
    ind = np.asarray(indicators, dtype=np.float64)
    thr = np.asarray(thresholds, dtype=np.float64)
    if ind.shape[-1:] != (N_INDICATORS,) or thr.shape[-1:] != (N_INDICATORS,):
        raise ValueError(f"indicators and thresholds need a last axis of length 7, got {ind.shape} and {thr.shape}")
    if ind.ndim == 3 and thr.ndim <= 3:
        try:
            thr3 = np.broadcast_to(thr, ind.shape)
        except ValueError:
            thr3 = None
        if thr3 is not None:  # the engine's (D, S, 7) against (S, 7): one compiled pass, the same comparisons
            meets3 = np.empty(ind.shape[:2], dtype=np.bool_)
            met3 = np.empty(ind.shape, dtype=np.bool_)
            _standard_cells(ind, thr3, 1.0 - rtol, floor_share * (1.0 - rtol), min_met, meets3, met3)
            return meets3, met3
    met = ind >= thr * (1.0 - rtol)
    near = ind >= thr * (floor_share * (1.0 - rtol))
    meets = (np.count_nonzero(met, axis=-1) >= min_met) & np.all(met | near, axis=-1)
    return np.asarray(meets, dtype=np.bool_), np.asarray(met, dtype=np.bool_)


@njit(cache=True)
def _standard_cells(ind: NDArray, thr: NDArray, met_factor: float, near_factor: float, min_met: int,
                    meets: NDArray, met: NDArray) -> None:  # pragma: no cover - compiled
    """``met = ind >= thr · met_factor``; ``meets``: at least ``min_met`` met and all ``>= thr · near_factor``."""
    n_draws, n_sections, n_k = ind.shape
    for d in range(n_draws):
        for s in range(n_sections):
            n_met = 0
            all_near = True
            for k in range(n_k):
                x = ind[d, s, k]
                t = thr[d, s, k]
                m = x >= t * met_factor
                met[d, s, k] = m
                if m:
                    n_met += 1
                elif not x >= t * near_factor:
                    all_near = False
            meets[d, s] = n_met >= min_met and all_near


def is_quality_school(
    indicators: ArrayLike,
    thresholds: ArrayLike,
    definition: QualitySchoolDefinition | str = "all_seven",
    *,
    min_met: int = 6,
    floor_share: float = 0.85,
    rtol: float = 1e-9,
) -> BoolArray:
    """Whether each section is of quality-school (優質學校) standard.

    Parameters
    ----------
    indicators, thresholds
        As in :func:`meets_standard`.
    definition
        ``"all_seven"`` (default, ``DESIGN.md`` §4): every one of the seven indicators reaches its threshold.
        ``"standard"``: the section meets the standard of :func:`meets_standard` (6 of 7, rest ≥85%).
    min_met, floor_share, rtol
        As in :func:`meets_standard` (``min_met`` and ``floor_share`` only used by ``"standard"``).

    Returns
    -------
    numpy.ndarray of bool
        Shape ``indicators.shape[:-1]``. A school is a quality school when all its sections are
        (:func:`school_quality`).

    Notes
    -----
    The plan does not define 優質學校 by indicators; taking the resource standard of the 2017 method is the
    model's assumption, made configurable because it drives targets T3 and T4.
    """
    if definition == "standard":
        return meets_standard(indicators, thresholds, min_met=min_met, floor_share=floor_share, rtol=rtol)
    if definition == "all_seven":
        ind = np.asarray(indicators, dtype=np.float64)
        if ind.ndim == 3:  # the engine's (D, S, 7): all seven met is 7 of 7 with no floor needed
            return _standard(ind, thresholds, N_INDICATORS, 0.0, rtol)[0]
        return np.asarray(np.all(_at_least(ind, thresholds, rtol), axis=-1), dtype=np.bool_)
    raise ValueError(
        f"unknown quality-school definition {definition!r}; valid: {', '.join(QUALITY_SCHOOL_DEFINITIONS)}"
    )


# --------------------------------------------------------------------------------------------------
# coefficient of variation


def county_cv(
    values: ArrayLike,
    weights: ArrayLike,
    section_county: ArrayLike,
    n_counties: int,
    mask: ArrayLike | None = None,
    *,
    weighted: bool = True,
) -> FloatArray:
    """Coefficient of variation of an indicator across the sections of each county.

    With weights :math:`P_i` (students of section :math:`i`) over the sections of a county:

    .. math::

        \\bar X = \\frac{\\sum_i P_i X_i}{\\sum_i P_i}, \\quad
        S = \\sqrt{\\frac{\\sum_i P_i (X_i - \\bar X)^2}{\\sum_i P_i}}, \\quad
        CV = S / \\bar X .

    This is the student-weighted formula of the 基本均衡 method (教督〔2012〕3號); the 2017 method sets the
    limits (0.50 primary, 0.45 junior) without restating the formula, and the 2012 formula is assumed to carry
    over. For a per-student indicator :math:`\\bar X` is the county ratio (total resource / total students).
    With ``weighted=False`` every section has weight 1 (population standard deviation).

    Parameters
    ----------
    values
        Shape ``(D, S)`` or ``(D, S, K)`` (e.g. the 7 indicators).
    weights
        Students, ``(D, S)`` or ``(S,)``; sections with weight ≤ 0 are left out. Ignored when
        ``weighted=False`` (except that no section is then left out for its weight).
    section_county
        ``int[S]``, county index of each section.
    n_counties
        Number of counties ``C``.
    mask
        Sections to include, ``(D, S)`` or ``(S,)`` bool, e.g. the assessed sections of one level; default
        all. A section with a non-finite value (in any of the K columns) is always left out.
    weighted
        Student-weighted (default, as in the method) or unweighted.

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(D, C)`` or ``(D, C, K)``. A county with one included section has CV 0; a county with none
        has NaN; a county whose included values are all equal has CV 0 (up to rounding, ~1e-16).

    References
    ----------
    .. [1] 教育部《县域义务教育均衡发展督导评估暂行办法》(教督〔2012〕3號), 差異係數 computation (weights =
       在校生數); worked example in 《縣域義務教育校際均衡指標計算方法(以生均圖書冊數為例)》.
    .. [2] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號): limits 0.50 / 0.45.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim not in (2, 3):
        raise ValueError(f"values must have shape (D, S) or (D, S, K), got {x.shape}")
    n_draws, n_sections = x.shape[0], x.shape[1]
    county = _as_index(section_county, n_counties, "section_county")
    if county.shape[0] != n_sections:
        raise ValueError(f"section_county has {county.shape[0]} entries for {n_sections} sections")
    x3 = x[:, :, None] if x.ndim == 2 else x
    include = np.all(np.isfinite(x3), axis=2)
    if mask is not None:
        include &= _per_draw_sections(mask, n_draws, n_sections, np.bool_, "mask")
    w = _per_draw_sections(weights, n_draws, n_sections, np.float64, "weights") if weighted else None
    cv, _ = _cv_by_group(x3, w, include, county, n_counties)
    return cv[:, :, 0] if x.ndim == 2 else cv


def _cv_by_group(
    x: FloatArray,
    weights: FloatArray | None,
    include: BoolArray,
    groups: NDArray[np.intp],
    n_groups: int,
) -> tuple[FloatArray, IntArray]:
    """Weighted CV of ``x (D, S, K)`` over the included sections of each group: ``(D, G, K)``, and counts.

    Two passes per draw in compiled code (:func:`sim.mechanisms.segments.weighted_cv`): the group mean, then
    the weighted squared deviations from it, each summed in section order (the same numbers as the
    ``np.bincount`` sums of the flattened (draw, group) index). ``include`` must leave out sections with
    non-finite values; sections with weight ≤ 0 are left out too.
    """
    inc = np.asarray(include, dtype=np.bool_)
    return segments.weighted_cv(x, weights, inc, np.asarray(groups, dtype=np.int64), n_groups)


# --------------------------------------------------------------------------------------------------
# county resource readiness


@dataclass(frozen=True)
class ResourceAssessment:
    """Resource-allocation part of the assessment for one year of a chunk of draws.

    Attributes
    ----------
    assessed
        ``(D, S)`` bool: sections in the resource evaluation.
    meets_standard
        ``(D, S)`` bool: assessed sections meeting the standard (False for sections not assessed).
    failing_sections
        ``(D, C)`` int: assessed sections of the county not meeting the standard.
    failing_sections_below
        ``(D, C, 7)`` int: of those, the ones below the threshold of each indicator.
    level_present
        ``(D, C, 2)`` bool: the county has at least one assessed section of the level.
    cv
        ``(D, C, 2, 7)`` float: CV per county, level and indicator (NaN where the level is absent).
    cv_over_limit
        ``(D, C, 2, 7)`` bool: CV above the level's limit (False where the level is absent).
    ready
        ``(D, C)`` bool: the county has an assessed section, every assessed section meets the standard and
        every CV of every present level is within its limit.
    """

    assessed: BoolArray
    meets_standard: BoolArray
    failing_sections: IntArray
    failing_sections_below: IntArray
    level_present: BoolArray
    cv: FloatArray
    cv_over_limit: BoolArray
    ready: BoolArray


def assess_resources(
    indicators: ArrayLike,
    thresholds: ArrayLike,
    students: ArrayLike,
    section_level: ArrayLike,
    section_county: ArrayLike,
    n_counties: int,
    cv_limits: Sequence[float] | ArrayLike,
    *,
    assessed: ArrayLike | None = None,
    min_met: int = 6,
    floor_share: float = 0.85,
    weighted: bool = True,
    rtol: float = 1e-9,
) -> ResourceAssessment:
    """Resource-allocation assessment of every county: the standard per section and the CV per level.

    Parameters
    ----------
    indicators
        ``(D, S, 7)`` from :func:`section_indicators`.
    thresholds
        ``(S, 7)`` (or broadcastable), from :func:`section_thresholds`.
    students
        ``(D, S)`` students per section: the CV weights.
    section_level
        ``int[S]``, 0 primary, 1 junior.
    section_county
        ``int[S]``, county index.
    n_counties
        Number of counties ``C``.
    cv_limits
        Maximum CV per level, ``(primary, junior)``; the method's values are 0.50 and 0.45.
    assessed
        ``(D, S)`` or ``(S,)`` bool; default: sections with students > 0 and finite indicators (so the
        exclusion of :func:`section_indicators` carries through).
    min_met, floor_share
        The school rule, see :func:`meets_standard`.
    weighted
        Student-weighted CV (default), see :func:`county_cv`.
    rtol
        Relative tolerance of threshold and limit comparisons.

    Returns
    -------
    ResourceAssessment

    Notes
    -----
    Primary and junior sections are assessed separately (a nine-year school's two parts each enter the CV of
    their level), and a level's CV limit applies only where the county has a section of that level. A county
    with no assessed section is not ready (there is nothing to certify).

    References
    ----------
    .. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號), resource allocation: every school
       at 6 of 7 (the rest ≥85%), and for every indicator a CV across schools ≤0.50 (primary) and ≤0.45
       (junior) (paraphrase; ``SOURCES.md`` §3a).
    """
    ind = np.asarray(indicators, dtype=np.float64)
    if ind.ndim != 3 or ind.shape[2] != N_INDICATORS:
        raise ValueError(f"indicators must have shape (D, S, 7), got {ind.shape}")
    n_draws, n_sections, _ = ind.shape
    level = _as_index(section_level, len(LEVELS), "section_level")
    county = _as_index(section_county, n_counties, "section_county")
    if level.shape[0] != n_sections or county.shape[0] != n_sections:
        raise ValueError("section_level and section_county need one entry per section")
    limits = np.asarray(cv_limits, dtype=np.float64)
    if limits.shape != (len(LEVELS),):
        raise ValueError(f"cv_limits must hold one limit per level (primary, junior), got shape {limits.shape}")
    pupils = _per_draw_sections(students, n_draws, n_sections, np.float64, "students")
    in_assessment = np.all(np.isfinite(ind), axis=2)
    if assessed is None:
        in_assessment &= pupils > 0
    else:
        in_assessment &= _per_draw_sections(assessed, n_draws, n_sections, np.bool_, "assessed")

    meets, met = _standard(ind, thresholds, min_met, floor_share, rtol)
    meets &= in_assessment
    failing = in_assessment & ~meets
    failing_sections = _group_count(failing, county, n_counties)
    # Index the failing sections instead of passing over every (draw, section, indicator).
    fail_draw, fail_section = np.nonzero(failing)
    fail_index = fail_draw * n_counties + county[fail_section]
    below = ~met[fail_draw, fail_section]
    failing_sections_below = _group_count(below[None], fail_index, n_draws * n_counties)
    failing_sections_below = failing_sections_below.reshape(n_draws, n_counties, N_INDICATORS)

    # Both levels at once: group = (county, level).
    group = county * len(LEVELS) + level
    cv_flat, n_flat = _cv_by_group(ind, pupils if weighted else None, in_assessment, group, n_counties * len(LEVELS))
    cv = cv_flat.reshape(n_draws, n_counties, len(LEVELS), N_INDICATORS)
    level_present = n_flat.reshape(n_draws, n_counties, len(LEVELS)) > 0
    cv_over_limit = level_present[:, :, :, None] & ~_at_most(cv, limits[None, None, :, None], rtol)

    ready = level_present.any(axis=2) & (failing_sections == 0) & ~cv_over_limit.any(axis=(2, 3))
    return ResourceAssessment(
        assessed=in_assessment,
        meets_standard=meets,
        failing_sections=failing_sections,
        failing_sections_below=failing_sections_below,
        level_present=level_present,
        cv=cv,
        cv_over_limit=cv_over_limit,
        ready=ready,
    )


def county_resource_ready(
    indicators: ArrayLike,
    thresholds: ArrayLike,
    students: ArrayLike,
    section_level: ArrayLike,
    section_county: ArrayLike,
    n_counties: int,
    cv_limits: Sequence[float] | ArrayLike,
    *,
    assessed: ArrayLike | None = None,
    min_met: int = 6,
    floor_share: float = 0.85,
    weighted: bool = True,
    rtol: float = 1e-9,
) -> BoolArray:
    """Whether each county meets the resource-allocation part of the method, ``(D, C)`` bool.

    Shorthand for ``assess_resources(...).ready``: every assessed section meets the standard and, for each
    level present in the county, every indicator's CV is within the level's limit. Parameters as in
    :func:`assess_resources`.
    """
    return assess_resources(
        indicators,
        thresholds,
        students,
        section_level,
        section_county,
        n_counties,
        cv_limits,
        assessed=assessed,
        min_met=min_met,
        floor_share=floor_share,
        weighted=weighted,
        rtol=rtol,
    ).ready


# --------------------------------------------------------------------------------------------------
# government guarantee


@dataclass(frozen=True)
class GuaranteeRules:
    """The simulated government-guarantee items, per county, for one year of a chunk of draws.

    Attributes
    ----------
    rotation_share_ok
        ``(D, C)`` bool: the share of eligible teachers rotated reaches the minimum.
    backbone_share_ok
        ``(D, C)`` bool: backbone teachers' share of the rotated reaches the minimum.
    class_size_ok
        ``(D, C)`` bool: no section has a class above its level's limit.
    school_size_ok
        ``(D, C)`` bool: no school is above its size limit.
    sections_over_class_size
        ``(D, C)`` int: sections with a class above the limit.
    schools_over_size
        ``(D, C)`` int: schools above the size limit.
    """

    rotation_share_ok: BoolArray
    backbone_share_ok: BoolArray
    class_size_ok: BoolArray
    school_size_ok: BoolArray
    sections_over_class_size: IntArray
    schools_over_size: IntArray

    @property
    def met(self) -> BoolArray:
        """``(D, C)`` bool: every simulated guarantee item holds."""
        return np.asarray(
            self.rotation_share_ok & self.backbone_share_ok & self.class_size_ok & self.school_size_ok,
            dtype=np.bool_,
        )

    def failed(self) -> BoolArray:
        """``(D, C, 4)`` bool: which item fails, in the order of :data:`GUARANTEE_RULES`."""
        return ~np.stack(
            [self.rotation_share_ok, self.backbone_share_ok, self.class_size_ok, self.school_size_ok], axis=-1
        )


def guarantee_rules(
    rotation_share: ArrayLike,
    backbone_share_of_rotated: ArrayLike,
    max_class_size: ArrayLike,
    section_students: ArrayLike,
    section_level: ArrayLike,
    section_school: ArrayLike,
    section_county: ArrayLike,
    n_counties: int,
    *,
    min_rotation_share: float,
    min_backbone_share_of_rotated: float,
    class_size_limits: Sequence[float] | ArrayLike,
    school_size_limit: float,
    nine_year_school_size_limit: float,
    n_schools: int | None = None,
    rtol: float = 1e-9,
) -> GuaranteeRules:
    """The government-guarantee items of the 2017 method that the model simulates.

    Parameters
    ----------
    rotation_share
        ``(D, C)``: teachers rotated this year / teachers eligible for rotation. NaN (no eligible teacher)
        counts as not met; a caller that wants another reading must say so explicitly.
    backbone_share_of_rotated
        ``(D, C)``: backbone teachers among the rotated / rotated. NaN counts as not met.
    max_class_size
        ``(D, S)``: students in the largest class of each section.
    section_students
        ``(D, S)``: students per section; a school's size is the sum over its sections (its compulsory part).
    section_level, section_school, section_county
        ``int[S]``: level code, school index and county index of each section.
    n_counties
        Number of counties ``C``.
    min_rotation_share
        Minimum rotated share of eligible teachers a year; the method's value is 0.10.
    min_backbone_share_of_rotated
        Minimum backbone share of the rotated; the method's value is 0.20.
    class_size_limits
        Maximum class size per level ``(primary, junior)``; the method's values are 45 and 50.
    school_size_limit
        Maximum students of a primary or a junior school; the method's value is 2,000.
    nine_year_school_size_limit
        Maximum students in the compulsory part of a nine-year (or twelve-year) school; the method's value is
        2,500. A school is nine-year when it has sections of both levels.
    n_schools
        Number of schools; default ``max(section_school) + 1``.
    rtol
        Relative tolerance of the comparisons.

    Returns
    -------
    GuaranteeRules

    Notes
    -----
    The other eleven guarantee items (layout, unified standards, music and art rooms, funding floors,
    teacher pay, training, certificates, zoned admission, senior-high quotas, migrant children) are not
    simulated; they enter, with the education-quality and social-recognition dimensions, through the pass
    probability of :func:`certify`.

    References
    ----------
    .. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號), government-guarantee items 4
       (school size), 5 (class size) and 11 (rotation ≥10% of eligible teachers, backbone ≥20% of those).
    """
    class_size = np.asarray(max_class_size, dtype=np.float64)
    if class_size.ndim != 2:
        raise ValueError(f"max_class_size must have shape (D, S), got {class_size.shape}")
    n_draws, n_sections = class_size.shape
    level = _as_index(section_level, len(LEVELS), "section_level")
    county = _as_index(section_county, n_counties, "section_county")
    n_sch = _n_schools(section_school, n_schools)
    school = _as_index(section_school, n_sch, "section_school")
    if not level.shape[0] == county.shape[0] == school.shape[0] == n_sections:
        raise ValueError("section_level, section_school and section_county need one entry per section")
    class_limits = np.asarray(class_size_limits, dtype=np.float64)
    if class_limits.shape != (len(LEVELS),):
        raise ValueError(f"class_size_limits must hold (primary, junior), got shape {class_limits.shape}")
    pupils = _per_draw_sections(section_students, n_draws, n_sections, np.float64, "section_students")
    rotation = np.asarray(rotation_share, dtype=np.float64)
    backbone = np.asarray(backbone_share_of_rotated, dtype=np.float64)
    for name, arr in (("rotation_share", rotation), ("backbone_share_of_rotated", backbone)):
        if arr.shape != (n_draws, n_counties):
            raise ValueError(f"{name} must have shape (D, C) = ({n_draws}, {n_counties}), got {arr.shape}")

    over_class = ~_at_most(class_size, class_limits[level][None, :], rtol)
    sections_over_class_size = _group_count(over_class, county, n_counties)

    levels_of_school = np.zeros((n_sch, len(LEVELS)), dtype=np.bool_)
    levels_of_school[school, level] = True
    nine_year = levels_of_school.all(axis=1)
    size_limit = np.where(nine_year, nine_year_school_size_limit, school_size_limit)
    school_students = _group_sum(pupils, school, n_sch)
    over_size = ~_at_most(school_students, size_limit[None, :], rtol)
    schools_over_size = _group_count(over_size, _school_county(school, county, n_sch), n_counties)

    return GuaranteeRules(
        rotation_share_ok=_at_least(rotation, min_rotation_share, rtol),
        backbone_share_ok=_at_least(backbone, min_backbone_share_of_rotated, rtol),
        class_size_ok=sections_over_class_size == 0,
        school_size_ok=schools_over_size == 0,
        sections_over_class_size=sections_over_class_size,
        schools_over_size=schools_over_size,
    )


# --------------------------------------------------------------------------------------------------
# certification


@dataclass(frozen=True)
class CertificationStep:
    """State of certification after one assessment year.

    Attributes
    ----------
    certified
        ``(D, C)`` bool: certified quality-balanced at the end of the year.
    ready_years
        ``(D, C)`` int: consecutive years the county has been ready, this year included (0 if not ready).
    attempted
        ``(D, C)`` bool: the county underwent a certification attempt this year.
    newly_certified
        ``(D, C)`` bool: certified this year and not before.
    """

    certified: BoolArray
    ready_years: IntArray
    attempted: BoolArray
    newly_certified: BoolArray


def certify(
    ready: ArrayLike,
    ready_years: ArrayLike,
    certified: ArrayLike,
    pass_u: ArrayLike,
    pass_probability: ArrayLike,
    *,
    lag_years: int,
    eligible: ArrayLike | None = None,
    decertify_if_not_ready: bool = False,
) -> CertificationStep:
    """Advance certification by one year.

    A county that is ready (resources and simulated guarantee items) has to stay ready while its application
    goes through: it undergoes an attempt in a year when it has been ready in each of the last
    ``lag_years + 1`` years (this year included), is not yet certified and is eligible. The attempt passes
    when ``pass_u < pass_probability``; the probability covers what the model does not simulate (the education
    quality and social-recognition dimensions, the non-simulated guarantee items, veto items). A failed
    attempt is repeated the next year with a fresh uniform while the county stays ready.

    Parameters
    ----------
    ready
        ``(D, C)`` bool: ready this year.
    ready_years
        ``(D, C)`` int: consecutive years ready up to and including **last** year (the ``ready_years`` of the
        previous step; zeros at the start).
    certified
        ``(D, C)`` bool: certified at the end of last year.
    pass_u
        ``(D, C)`` uniforms in [0, 1), one per county and year, from the draw's stream for this year. Using
        a fresh uniform per county-year with the same streams in every scenario (common random numbers) makes
        the outcome a monotone function of ``pass_probability``.
    pass_probability
        Probability that an attempt passes: scalar, ``(D,)`` (one per draw, an uncertainty) or ``(D, C)``.
    lag_years
        Years from first readiness to the earliest attempt (≥0): with 1, a county first ready in year t is
        certified no earlier than t + 1.
    eligible
        ``(D, C)`` or ``(C,)`` bool: the county may apply (the method requires 基本均衡 recognised at least 3
        years earlier; all Xinjiang counties were by 2021). Default: all eligible.
    decertify_if_not_ready
        Default False: once certified, a county stays certified. The national method re-monitors certified
        counties; with True a certified county that is not ready loses certification and must again be ready
        for ``lag_years + 1`` years and pass an attempt.

    Returns
    -------
    CertificationStep

    References
    ----------
    .. [1] 教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6號): application after provincial
       assessment, national review and re-monitoring of certified counties.
    """
    is_ready = np.asarray(ready, dtype=np.bool_)
    if is_ready.ndim != 2:
        raise ValueError(f"ready must have shape (D, C), got {is_ready.shape}")
    shape = is_ready.shape
    if not isinstance(lag_years, int | np.integer) or lag_years < 0:
        raise ValueError(f"lag_years must be a non-negative integer, got {lag_years!r}")
    years_before = np.broadcast_to(np.asarray(ready_years, dtype=np.int64), shape)
    was_certified = np.broadcast_to(np.asarray(certified, dtype=np.bool_), shape)
    u = np.broadcast_to(np.asarray(pass_u, dtype=np.float64), shape)
    p = np.asarray(pass_probability, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    p = np.broadcast_to(p, shape)
    if np.any(~((p >= 0) & (p <= 1))):
        raise ValueError("pass_probability must lie in [0, 1]")
    may_apply = (
        np.ones(shape, dtype=np.bool_)
        if eligible is None
        else np.broadcast_to(np.asarray(eligible, dtype=np.bool_), shape)
    )

    years_now = np.where(is_ready, years_before + 1, 0).astype(np.int64)
    attempted = is_ready & (years_now > lag_years) & ~was_certified & may_apply
    passed = attempted & (u < p)
    kept = was_certified & is_ready if decertify_if_not_ready else was_certified
    now_certified = np.asarray(kept | passed, dtype=np.bool_)
    return CertificationStep(
        certified=now_certified,
        ready_years=years_now,
        attempted=np.asarray(attempted, dtype=np.bool_),
        newly_certified=np.asarray(now_certified & ~was_certified, dtype=np.bool_),
    )


# --------------------------------------------------------------------------------------------------
# aggregates


def share_true(flags: ArrayLike, county_mask: ArrayLike | None = None) -> FloatArray:
    """Share of the counties in ``county_mask`` for which ``flags`` holds, per draw.

    Parameters
    ----------
    flags
        ``(D, C)`` bool, e.g. certified.
    county_mask
        ``(C,)`` bool: the counties counted (e.g. the south); default all.

    Returns
    -------
    numpy.ndarray of float64
        ``(D,)``; NaN when the mask selects no county.
    """
    f = np.asarray(flags, dtype=np.bool_)
    if f.ndim != 2:
        raise ValueError(f"flags must have shape (D, C), got {f.shape}")
    mask = np.ones(f.shape[1], dtype=np.bool_) if county_mask is None else np.asarray(county_mask, np.bool_)
    n = int(mask.sum())
    if n == 0:
        return np.full(f.shape[0], np.nan)
    return np.asarray(f[:, mask].sum(axis=1) / n, dtype=np.float64)


@dataclass(frozen=True)
class CountyCount:
    """A count per county and its base, ``(D, C)`` each (floats: they may be student-weighted).

    Kept as two arrays so that shares can be pooled over any set of counties (region, south) and summed over
    chunks.
    """

    count: FloatArray
    total: FloatArray

    def share(self) -> FloatArray:
        """``(D, C)``: count / total, NaN where the county has nothing to count."""
        out = np.full_like(self.total, np.nan)
        np.divide(self.count, self.total, out=out, where=self.total > 0)
        return out

    def pooled_share(self, county_mask: ArrayLike | None = None) -> FloatArray:
        """``(D,)``: total count / total base over the counties of ``county_mask`` (default all); NaN if 0."""
        mask = (
            np.ones(self.total.shape[1], dtype=np.bool_)
            if county_mask is None
            else np.asarray(county_mask, dtype=np.bool_)
        )
        count = self.count[:, mask].sum(axis=1)
        total = self.total[:, mask].sum(axis=1)
        out = np.full_like(total, np.nan)
        np.divide(count, total, out=out, where=total > 0)
        return out

    def complete(self) -> BoolArray:
        """``(D, C)`` bool: every counted unit qualifies (count = total); True where nothing is counted."""
        return np.asarray(self.count >= self.total, dtype=np.bool_)


def school_quality(
    quality: ArrayLike,
    section_school: ArrayLike,
    n_schools: int | None = None,
    include: ArrayLike | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Quality schools from quality sections: a school is a quality school when all its included sections are.

    Parameters
    ----------
    quality
        ``(D, S)`` bool, from :func:`is_quality_school`.
    section_school
        ``int[S]``, school index.
    n_schools
        Number of schools; default ``max(section_school) + 1``.
    include
        ``(D, S)`` or ``(S,)`` bool: sections counted (default all; usually the assessed sections, so a
        closed section or an excluded teaching point does not count).

    Returns
    -------
    (quality_school, counted)
        ``(D, N)`` bool each: the school is a quality school; the school has at least one included section
        (a school with none is not counted at all).
    """
    q = np.asarray(quality, dtype=np.bool_)
    if q.ndim != 2:
        raise ValueError(f"quality must have shape (D, S), got {q.shape}")
    n_draws, n_sections = q.shape
    n_sch = _n_schools(section_school, n_schools)
    school = _as_index(section_school, n_sch, "section_school")
    inc = (
        np.ones((n_draws, n_sections), dtype=np.bool_)
        if include is None
        else _per_draw_sections(include, n_draws, n_sections, np.bool_, "include")
    )
    n_included = _group_count(inc, school, n_sch)
    n_quality = _group_count(inc & q, school, n_sch)
    counted = n_included > 0
    return np.asarray(counted & (n_quality == n_included), dtype=np.bool_), np.asarray(counted, dtype=np.bool_)


def quality_school_share(
    quality: ArrayLike,
    section_school: ArrayLike,
    section_county: ArrayLike,
    n_counties: int,
    *,
    include: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    n_schools: int | None = None,
) -> CountyCount:
    """Quality schools per county, counted per **school** (a nine-year school is one school).

    A school is a quality school when all its included sections are (:func:`school_quality`). ``share()`` of
    the result is the county's quality-school share (target T3), ``pooled_share(mask)`` the share over a set
    of counties.

    Parameters
    ----------
    quality
        ``(D, S)`` bool per section.
    section_school, section_county
        ``int[S]``.
    n_counties
        Number of counties ``C``.
    include
        ``(D, S)`` or ``(S,)`` bool: sections counted (default all); usually the assessed sections.
    weights
        ``(D, S)`` or ``(S,)`` per-section weights, summed over a school's included sections; with the
        students of each section the result is the share of students in quality schools (a coverage reading
        of T4).
        Default: every school counts 1.
    n_schools
        Number of schools; default ``max(section_school) + 1``.

    Returns
    -------
    CountyCount
        ``count``: quality schools (or their weight), ``total``: counted schools (or their weight),
        both ``(D, C)``.
    """
    q = np.asarray(quality, dtype=np.bool_)
    n_draws, n_sections = q.shape
    n_sch = _n_schools(section_school, n_schools)
    school = _as_index(section_school, n_sch, "section_school")
    county = _as_index(section_county, n_counties, "section_county")
    if school.shape[0] != n_sections or county.shape[0] != n_sections:
        raise ValueError("section_school and section_county need one entry per section")
    inc = (
        np.ones((n_draws, n_sections), dtype=np.bool_)
        if include is None
        else _per_draw_sections(include, n_draws, n_sections, np.bool_, "include")
    )
    w = None if weights is None else _per_draw_sections(weights, n_draws, n_sections, np.float64, "weights")
    school_county = _school_county(school, county, n_sch)
    count = np.zeros((n_draws, n_counties))
    total = np.zeros((n_draws, n_counties))
    # one compiled pass per draw: sections → schools (quality school, weight) → counties, summed in the order
    # of the numpy formulation (school_quality, then group sums over sections and over schools)
    _school_shares(q, inc, np.zeros((1, 1)) if w is None else w, w is not None,
                   school.astype(np.int64, copy=False), school_county.astype(np.int64, copy=False), count, total)
    return CountyCount(count=count, total=total)


@njit(cache=True)
def _school_shares(quality: NDArray, include: NDArray, weights: NDArray, weighted: bool, school: NDArray,
                   school_county: NDArray, count: NDArray, total: NDArray) -> None:  # pragma: no cover - compiled
    n_draws, n_sections = quality.shape
    n_schools = school_county.size
    n_included = np.zeros(n_schools, dtype=np.int64)
    n_quality = np.zeros(n_schools, dtype=np.int64)
    school_weight = np.zeros(n_schools)
    for d in range(n_draws):
        n_included[:] = 0
        n_quality[:] = 0
        school_weight[:] = 0.0
        for s in range(n_sections):
            i = school[s]
            if include[d, s]:
                n_included[i] += 1
                if quality[d, s]:
                    n_quality[i] += 1
            if weighted:
                school_weight[i] += weights[d, s] if include[d, s] else 0.0
        for i in range(n_schools):
            counted = 1.0 if n_included[i] > 0 else 0.0
            good = 1.0 if n_included[i] > 0 and n_quality[i] == n_included[i] else 0.0
            x = school_weight[i] * counted if weighted else counted
            c = school_county[i]
            count[d, c] += x * good
            total[d, c] += x


def pairing_coverage(
    paired: ArrayLike,
    rural: ArrayLike,
    section_school: ArrayLike,
    section_county: ArrayLike,
    n_counties: int,
    *,
    active: ArrayLike | None = None,
    n_schools: int | None = None,
) -> CountyCount:
    """Rural schools with a paired town school (對口幫扶), per county (target T6).

    Parameters
    ----------
    paired
        ``(D, S)`` bool: the section's school is paired with a town school. A school counts as
        paired when any of its active sections is.
    rural
        ``(S,)`` bool: the section's school is rural (鄉村, teaching points included). A school is rural when
        any of its active sections is.
    section_school, section_county
        ``int[S]``.
    n_counties
        Number of counties ``C``.
    active
        ``(D, S)`` or ``(S,)`` bool: sections still open (e.g. students > 0); default all.
    n_schools
        Number of schools; default ``max(section_school) + 1``.

    Returns
    -------
    CountyCount
        ``count``: paired rural schools, ``total``: rural schools, ``(D, C)``. ``complete()`` says whether
        every rural school of the county is paired; ``pooled_share(mask)`` gives the region or south coverage.
    """
    rural_section = np.asarray(rural, dtype=np.bool_)
    if rural_section.ndim != 1:
        raise ValueError(f"rural must have shape (S,), got {rural_section.shape}")
    n_sections = rural_section.shape[0]
    pair = np.asarray(paired, dtype=np.bool_)
    if pair.shape[1:] != (n_sections,) or pair.ndim != 2:
        raise ValueError(f"paired must have shape (D, S) with S = {n_sections}, got {pair.shape}")
    n_draws = pair.shape[0]
    on = (
        np.ones((n_draws, n_sections), dtype=np.bool_)
        if active is None
        else _per_draw_sections(active, n_draws, n_sections, np.bool_, "active")
    )
    n_sch = _n_schools(section_school, n_schools)
    school = _as_index(section_school, n_sch, "section_school")
    county = _as_index(section_county, n_counties, "section_county")
    rural_school = _group_count(on & rural_section[None, :], school, n_sch) > 0
    paired_school = _group_count(on & pair, school, n_sch) > 0
    school_county = _school_county(school, county, n_sch)
    return CountyCount(
        count=_group_sum(rural_school & paired_school, school_county, n_counties),
        total=_group_sum(rural_school, school_county, n_counties),
    )


# --------------------------------------------------------------------------------------------------
# diagnosis


@dataclass(frozen=True)
class BindingConstraints:
    """What keeps each county from being ready, counted over the draws where it is not (一縣一策).

    All counts are sums over draws, so results of chunks add up (``a + b``); divide by ``not_ready_draws`` for
    the share of not-ready draws in which a constraint fails.

    Attributes
    ----------
    not_ready_draws
        ``(C,)`` draws in which the county is not ready.
    failing_sections
        ``(C,)`` sections failing the standard, summed over those draws.
    failing_sections_below
        ``(C, 7)`` of those, sections below the threshold of each indicator.
    draws_indicator_below
        ``(C, 7)`` not-ready draws in which at least one failing section is below the indicator's threshold.
    cv_over_limit
        ``(C, 2, 7)`` not-ready draws in which the CV of a level and indicator is above the limit.
    guarantee_failed
        ``(C, 4)`` not-ready draws in which each guarantee item fails, in the order of
        :data:`GUARANTEE_RULES` (zeros when no guarantee result was given).
    """

    not_ready_draws: IntArray
    failing_sections: IntArray
    failing_sections_below: IntArray
    draws_indicator_below: IntArray
    cv_over_limit: IntArray
    guarantee_failed: IntArray

    def __add__(self, other: BindingConstraints) -> BindingConstraints:
        return BindingConstraints(
            not_ready_draws=self.not_ready_draws + other.not_ready_draws,
            failing_sections=self.failing_sections + other.failing_sections,
            failing_sections_below=self.failing_sections_below + other.failing_sections_below,
            draws_indicator_below=self.draws_indicator_below + other.draws_indicator_below,
            cv_over_limit=self.cv_over_limit + other.cv_over_limit,
            guarantee_failed=self.guarantee_failed + other.guarantee_failed,
        )


def binding_constraints(resources: ResourceAssessment, guarantee: GuaranteeRules | None = None) -> BindingConstraints:
    """Count, per county, which rule or indicator fails in the draws where the county is not ready.

    Parameters
    ----------
    resources
        From :func:`assess_resources`.
    guarantee
        From :func:`guarantee_rules`; when given, a county is ready only if its guarantee items hold too.

    Returns
    -------
    BindingConstraints
        Counts (no strings): a later ``diagnose`` names the indicator with the largest count.
    """
    ready = resources.ready if guarantee is None else resources.ready & guarantee.met
    not_ready = ~ready
    n_counties = ready.shape[1]
    if guarantee is None:
        guarantee_failed = np.zeros((n_counties, len(GUARANTEE_RULES)), dtype=np.int64)
    else:
        guarantee_failed = (guarantee.failed() & not_ready[:, :, None]).sum(axis=0, dtype=np.int64)
    below = resources.failing_sections_below * not_ready[:, :, None]
    return BindingConstraints(
        not_ready_draws=not_ready.sum(axis=0, dtype=np.int64),
        failing_sections=(resources.failing_sections * not_ready).sum(axis=0, dtype=np.int64),
        failing_sections_below=below.sum(axis=0, dtype=np.int64),
        draws_indicator_below=(below > 0).sum(axis=0, dtype=np.int64),
        cv_over_limit=(resources.cv_over_limit & not_ready[:, :, None, None]).sum(axis=0, dtype=np.int64),
        guarantee_failed=guarantee_failed,
    )
