"""Step 9 of the cohort engine (assessment) as one compiled pass over the sections, draw by draw.

:func:`assess` computes what :func:`sim.cohort.assess` computes, from the same state, and must **equal** it (that
function is the reference; ``tests/test_fast_assess.py`` compares every key): the seven indicators of every
section, the school standard and the county coefficients of variation (:func:`sim.mechanisms.assessment
.assess_resources`), the simulated government-guarantee rules, certification (lag and uncertain pass, the same
``assessment.pass/{year}`` uniforms used the same way), quality schools, pairing, gigabit, counselling and
standardisation shares, the staffing norm and every county total the engine records.

How it is faster: the reference calls about thirty array functions, each passing over ``(D, S)`` or
``(D, S, 7)`` arrays with temporaries. Here one compiled kernel (:func:`_assess_draws`) takes each draw in turn
and passes over its sections twice (the second pass only for the CV's squared deviations), accumulating the
county, (county, level) and school sums in small per-draw buffers; only ``(D, C, …)`` results are written.
What depends only on the model (section → county / school / (county, level) maps, thresholds, limits, the
school size limits) is built once per model (:func:`assessment_layout`). The little that is left per county
(CV limits, readiness, guarantee items, certification, the staffing quota of each county) is the reference's own
numpy code on ``(D, C)`` arrays.

Exactness: integer counts are summed exactly. Floating-point sums are taken in the reference's order: every
group's values are added in section order starting from 0.0 (as :mod:`sim.mechanisms.segments` does), the CV
with the same two passes and operations as :func:`sim.mechanisms.segments.weighted_cv`, each indicator with the
same operations as :func:`sim.mechanisms.assessment.section_indicators`; no ``fastmath``. So every output is
bit-identical, the student-weighted indicator means (``indicator_value``) and CVs (``indicator_cv``) included.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from sim.cohort import SPECIAL_EDUCATION_POPULATION, Model, State, _lever, _Random
from sim.mechanisms import assessment, dispatch, facilities, quota, segments

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RTOL = 1e-9
"""Relative tolerance of the assessment's threshold comparisons (the default ``rtol`` of
:mod:`sim.mechanisms.assessment`)."""
ROUNDING_TOLERANCE = quota._ROUNDING_TOLERANCE
"""Slack removed before ``ceil`` of a staffing quota (posts), the quota module's."""
FACILITY_TOLERANCE = facilities._REL_TOL
"""Relative tolerance of a facility requirement (standardisation), the facilities module's."""
N_IND = assessment.N_INDICATORS
N_LEVELS = 2
ALL_INDICATORS = (1 << N_IND) - 1
"""Bit mask of the seven indicators (bit k: indicator k of ``assessment.INDICATORS``)."""
QUALITY_STANDARD_MIN_MET, QUALITY_STANDARD_FLOOR_SHARE = 6, 0.85
"""``is_quality_school(..., "standard")`` uses the method's defaults, not the loaded standard's values."""

COUNTY_SUMS: tuple[str, ...] = (
    "students", "teachers", "teachers_counted", "vacancies", "dispatched_in_post",
    "quality_school_count", "quality_school_total", "coverage_count", "coverage_total",
    "pairing_count", "pairing_total", "gigabit_count", "gigabit_total",
    "counselling_count", "counselling_total", "standardised_count", "standardised_total",
    "assessed_pupils",
)
"""Rows of the kernel's ``(K, D, C)`` float output, in this order (the constants below index them). Each count
precedes its total (``_add_share``)."""
(STUDENTS, TEACHERS, TEACHERS_COUNTED, VACANCIES, DISPATCHED_IN_POST, QS_COUNT, QS_TOTAL, COVERAGE_COUNT,
 COVERAGE_TOTAL, PAIRING_COUNT, PAIRING_TOTAL, GIGABIT_COUNT, GIGABIT_TOTAL, COUNSELLING_COUNT,
 COUNSELLING_TOTAL, STANDARDISED_COUNT, STANDARDISED_TOTAL, ASSESSED_PUPILS) = range(len(COUNTY_SUMS))
SCHOOL_COUNTS: tuple[str, ...] = (
    "assessed", "quality", "open", "gigabit", "standardised", "counselling_eligible", "counselling_room", "rural",
    "paired",
)
"""Columns of the kernel's per-school buffer: sections of the school that are assessed; assessed and of quality;
open (with pupils); open with gigabit; open and standardised; open and counselling-eligible; those with a room;
open and rural; open and paired."""
(SC_ASSESSED, SC_QUALITY, SC_OPEN, SC_GIGABIT, SC_STANDARDISED, SC_ELIGIBLE, SC_COUNSELLING, SC_RURAL,
 SC_PAIRED) = range(len(SCHOOL_COUNTS))
N_SCHOOL_COUNTS = len(SCHOOL_COUNTS)
LEVEL_SUMS: tuple[str, ...] = ("pupils", "staffing")
"""Rows of the kernel's ``(2, D, C · 2)`` float output: sums by (county, level)."""
PUPILS_BY_LEVEL, STAFFING_BY_LEVEL = range(len(LEVEL_SUMS))


# ------------------------------------------------------------------------------------------------------------
# static layout of a model


class _Sections(NamedTuple):
    """What the kernel needs of the sections and schools (arrays of length S unless stated)."""

    county: IntArray
    school: IntArray
    group: IntArray  # county · 2 + level: the CV's and the staffing quota's groups
    school_county: IntArray  # (N,) county of each school (0 for a school without sections)
    teaching_point: BoolArray
    rural: BoolArray
    counselling_eligible: BoolArray
    threshold_row: IntArray  # the section's row of the threshold tables (one row per distinct set: 2 levels)
    met_threshold: FloatArray  # (R, 7) an indicator is met at ≥ its threshold × (1 − RTOL)
    near_threshold: FloatArray  # (R, 7) the others must reach threshold × the standard's floor share × (1 − RTOL)
    quality_near_threshold: FloatArray  # (R, 7) the same for a quality section (0 with "all_seven")
    floor_threshold_m2: FloatArray  # (R,) m² per pupil (standardisation)
    equipment_threshold_cny: FloatArray  # (R,) CNY per pupil (standardisation)
    pupils_per_post: FloatArray  # students per staff post of the section's level
    classes: FloatArray  # classes, at least 1
    class_size_limit: FloatArray  # pupils per class allowed, × (1 + RTOL)
    school_size_limit: FloatArray  # (N,) pupils per school allowed (nine-year schools their own), × (1 + RTOL)


class _Rules(NamedTuple):
    """Scalars of the scenario and the standard used inside the kernel."""

    counts_toward: BoolArray  # (4,) dispatched teachers count toward staffing, qualification, backbone, pe_art
    small_site_pupils: int  # teaching points with fewer pupils are not assessed
    min_met: int  # a section meets the standard with ≥ min_met indicators met and the others near
    quality_min_met: int  # a quality section: ≥ quality_min_met met and the others near (quality_near_threshold)


@dataclass(frozen=True)
class AssessLayout:
    """Static data of :func:`assess` for one model: built once (:func:`assessment_layout`), used every year."""

    sections: _Sections
    rules: _Rules
    n_counties: int
    n_schools: int
    cv_limits: FloatArray  # (2,) primary, junior
    special_education_ok: BoolArray  # (C,) the county is small enough not to need a special-education school
    students_per_staff: FloatArray  # (2,)


def build_layout(m: Model) -> AssessLayout:
    """The static data of :func:`assess` for the model ``m`` (checks the section maps once)."""
    s = m.sections
    lever = m.scenario.levers.assessment
    standard = m.standard
    n_counties, n_schools = s.n_counties, m.n_schools
    county = segments.check_groups(s.county, n_counties, name="section_county")
    school = segments.check_groups(s.school, n_schools, name="section_school")
    level = segments.check_groups(s.level, N_LEVELS, s.n_sections, name="section_level")
    school_county = np.zeros(n_schools, dtype=np.int64)
    school_county[school] = county
    if np.any(school_county[school] != county):
        raise ValueError("the sections of a school must all lie in the same county")
    levels_of_school = np.zeros((n_schools, N_LEVELS), dtype=np.bool_)
    levels_of_school[school, level] = True
    school_size = np.where(levels_of_school.all(axis=1), float(standard.school_size_max["nine_year"]),
                           float(standard.school_size_max["primary"]))
    class_limits = np.array([standard.class_size_max["primary"], standard.class_size_max["junior"]], dtype=float)
    ratio = np.asarray(m.students_per_staff, dtype=np.float64)
    if ratio.shape != (N_LEVELS,) or np.any(ratio <= 0):
        raise ValueError(f"students_per_staff must be two positive numbers (primary, junior), got {ratio}")
    chosen = set(lever.dispatched_count_toward)
    unknown = sorted(chosen - set(dispatch.INDICATORS))
    if unknown:
        raise ValueError(f"unknown indicator {unknown[0]!r} in dispatched_count_toward")
    if lever.quality_school == "standard":
        quality_min_met, quality_floor = QUALITY_STANDARD_MIN_MET, QUALITY_STANDARD_FLOOR_SHARE
    elif lever.quality_school == "all_seven":
        quality_min_met, quality_floor = N_IND, 0.0  # all seven met: no floor for the others
    else:
        raise ValueError(f"unknown quality-school definition {lever.quality_school!r}; valid: "
                         f"{', '.join(assessment.QUALITY_SCHOOL_DEFINITIONS)}")
    thresholds = np.ascontiguousarray(m.thresholds, dtype=np.float64)
    if thresholds.shape != (s.n_sections, N_IND):
        raise ValueError(f"thresholds must have shape (S, 7), got {thresholds.shape}")
    facility = np.asarray(m.facility_thresholds, dtype=np.float64)
    # The (S, 7) and (S, 4) thresholds hold one distinct row per level: small tables stay in the L1 cache.
    table, threshold_row = np.unique(np.concatenate([thresholds, facility], axis=1), axis=0, return_inverse=True)
    thresholds, facility = table[:, :N_IND], table[:, N_IND:]
    sections = _Sections(
        county=county,
        school=school,
        group=county * N_LEVELS + level,
        school_county=school_county,
        teaching_point=np.ascontiguousarray(s.teaching_point, dtype=np.bool_),
        rural=np.ascontiguousarray(m.rural, dtype=np.bool_),
        counselling_eligible=np.ascontiguousarray(m.counselling_eligible, dtype=np.bool_),
        threshold_row=threshold_row.reshape(-1).astype(np.int64),
        met_threshold=thresholds * (1.0 - RTOL),  # the products of assessment._standard_cells
        near_threshold=thresholds * (float(standard.remaining_min_fraction) * (1.0 - RTOL)),
        quality_near_threshold=thresholds * (quality_floor * (1.0 - RTOL)),
        floor_threshold_m2=np.ascontiguousarray(facility[:, facilities.FLOOR]),  # per row of the tables
        equipment_threshold_cny=np.ascontiguousarray(facility[:, facilities.EQUIPMENT]),
        pupils_per_post=ratio[level],
        classes=np.maximum(s.classes, 1).astype(np.float64),
        class_size_limit=class_limits[level] * (1.0 + RTOL),
        school_size_limit=school_size * (1.0 + RTOL),
    )
    rules = _Rules(
        counts_toward=np.array([name in chosen for name in dispatch.INDICATORS], dtype=np.bool_),
        small_site_pupils=int(lever.small_site_exclusion_pupils),
        min_met=int(standard.min_indicators_met),
        quality_min_met=quality_min_met,
    )
    return AssessLayout(
        sections=sections, rules=rules, n_counties=n_counties, n_schools=n_schools,
        cv_limits=np.asarray(m.cv_limits, dtype=np.float64),
        special_education_ok=np.asarray(s.county_population <= SPECIAL_EDUCATION_POPULATION, dtype=np.bool_),
        students_per_staff=ratio,
    )


_LAYOUTS: dict[int, tuple[weakref.ref[Any], AssessLayout]] = {}
"""Layouts of the live models, by ``id`` (a weak reference checks that the model is still the same object).
A cache of data derived from an immutable model, not state of a replicate."""


def assessment_layout(m: Model) -> AssessLayout:
    """The model's :class:`AssessLayout`, built on the first call for that model and kept while it lives."""
    hit = _LAYOUTS.get(id(m))
    if hit is not None and hit[0]() is m:
        return hit[1]
    for key in [key for key, (ref, _) in _LAYOUTS.items() if ref() is None]:
        del _LAYOUTS[key]
    layout = build_layout(m)
    _LAYOUTS[id(m)] = (weakref.ref(m), layout)
    return layout


# ------------------------------------------------------------------------------------------------------------
# the compiled pass


class _Stocks(NamedTuple):
    """The state the kernel reads, arrays ``(D, S)`` or ``(D, S, k)`` (counts ``int64``, stocks ``float64``)."""

    students: IntArray  # (D, S, 9) pupils by grade
    teachers: IntArray  # (D, S, 9) regular teachers by age band
    dispatched: IntArray  # (D, S, 3) dispatched teachers in post, by remaining years of term
    dispatched_backbone: IntArray
    dispatched_pe_art: IntArray
    qualified: IntArray  # (D, S) regular teachers above the required qualification
    backbone: IntArray
    pe_art: IntArray
    floor_area_m2: FloatArray
    sports_area_m2: FloatArray
    equipment_value_cny: FloatArray
    multimedia_rooms: FloatArray
    gigabit: BoolArray
    counselling_room: BoolArray
    paired: BoolArray


class _Outputs(NamedTuple):
    """What the kernel writes (zeros before the call, except ``cv``: NaN)."""

    county_sums: FloatArray  # (K, D, C), rows of COUNTY_SUMS
    level_sums: FloatArray  # (2, D, 2C), rows of LEVEL_SUMS
    indicator_sum: FloatArray  # (D, C, 7) Σ pupils × indicator over the assessed sections
    failing: IntArray  # (D, C) assessed sections failing the standard
    failing_below: IntArray  # (D, C, 7) of those, below each indicator's threshold
    cv: FloatArray  # (D, 2C, 7) student-weighted CV per (county, level)
    n_in_cv: IntArray  # (D, 2C) assessed sections per (county, level)
    over_class_size: IntArray  # (D, C) sections with a class above the limit
    over_school_size: IntArray  # (D, C) schools above the size limit


@njit(cache=True)
def _total(counts: Any, d: int, s: int) -> Any:  # pragma: no cover - compiled
    """``counts[d, s, :].sum()`` for a ``(D, S, k)`` integer array (grades, age bands, term years); exact.

    Indexed, not sliced: a slice in the section loop would cost a reference-count update per section.
    """
    acc = counts[d, s, 0]
    for k in range(1, counts.shape[2]):
        acc += counts[d, s, k]
    return acc


@njit(cache=True)
def _popcount7(bits: int) -> int:  # pragma: no cover - compiled
    """Number of set bits among the seven indicator bits."""
    n = 0
    for k in range(N_IND):
        n += (bits >> k) & 1
    return n


@njit(cache=True)
def _at_least_one(x: float) -> float:  # pragma: no cover - compiled
    """``np.maximum(x, 1.0)``: NaN stays NaN."""
    return x if (x > 1.0 or x != x) else 1.0


@njit(cache=True)
def _section_indicators(pupils: int, qualified: float, backbone: float, pe_art: float, floor_m2: float,
                        sports_m2: float, equipment_cny: float, rooms: float,
                        out: Any) -> None:  # pragma: no cover - compiled
    """The seven indicators of one section into ``out (7,)``, as :func:`assessment.section_indicators` computes
    them (teachers and rooms per 100 pupils, m² and CNY per pupil); NaN without pupils."""
    if not pupils > 0:
        for k in range(N_IND):
            out[k] = np.nan
        return
    safe = float(pupils)
    out[0] = qualified * 100.0 / safe
    out[1] = backbone * 100.0 / safe
    out[2] = pe_art * 100.0 / safe
    out[3] = floor_m2 / safe
    out[4] = sports_m2 / safe
    out[5] = equipment_cny / safe
    out[6] = rooms * 100.0 / safe


@njit(cache=True)
def _cv_of_draw(indicators: Any, pupils: Any, in_cv: Any, group: Any, total: Any, sums: Any, mean: Any,
                square: Any, n_included: Any, cv: Any) -> None:  # pragma: no cover - compiled
    """CV per group of one draw from the first pass's ``total`` (Σ w) and ``sums`` (Σ w x): the mean, the
    squared deviations in a second pass over the sections, then the CV, as :func:`segments._cv_rows` does."""
    n_groups, n_k = sums.shape
    for g in range(n_groups):
        if total[g] > 0.0:
            for k in range(n_k):
                mean[g, k] = sums[g, k] / total[g]
    square[:, :] = 0.0
    for s in range(pupils.size):
        if not in_cv[s]:
            continue
        g = group[s]
        wi = float(pupils[s])
        for k in range(n_k):
            deviation = indicators[s, k] - mean[g, k]
            deviation *= deviation
            deviation *= wi
            square[g, k] += deviation
    for g in range(n_groups):
        n = n_included[g]
        if n == 0:
            continue  # NaN (the output's initial value)
        for k in range(n_k):
            cv[g, k] = 0.0
            if n < 2 or not total[g] > 0.0:
                continue
            sd = np.sqrt(square[g, k] / total[g])
            if sd > 0.0:
                m = mean[g, k]
                cv[g, k] = sd / m if m != 0.0 else np.inf


@njit(cache=True)
def _add_share(county: Any, c: int, count_column: int, n_included: int, n_good: int,
               weight: float) -> None:  # pragma: no cover - compiled
    """Add one school to its county's count (``count_column``) and total (the next column), as
    :func:`assessment._school_shares` does: a school counts when it has an included section, and is good when
    all its included sections are."""
    if n_included > 0:
        county[c, count_column + 1] += weight
        if n_good == n_included:
            county[c, count_column] += weight


@njit(cache=True)
def _school_shares(school_county: Any, school_size_limit: Any, school: Any, school_pupils: Any, county: Any,
                   over_school_size: Any) -> None:  # pragma: no cover - compiled
    """From one draw's school buffers: quality, coverage, gigabit, counselling, standardisation and pairing
    counts and totals (columns of ``county``) and the schools above their size limit, in school order."""
    for i in range(school_county.size):
        c = school_county[i]
        assessed, opened = school[i, SC_ASSESSED], school[i, SC_OPEN]  # indexed, not sliced (no refcount)
        _add_share(county, c, QS_COUNT, assessed, school[i, SC_QUALITY], 1.0)
        _add_share(county, c, COVERAGE_COUNT, assessed, school[i, SC_QUALITY], school_pupils[i, 1])
        _add_share(county, c, GIGABIT_COUNT, opened, school[i, SC_GIGABIT], 1.0)
        _add_share(county, c, COUNSELLING_COUNT, school[i, SC_ELIGIBLE], school[i, SC_COUNSELLING], 1.0)
        _add_share(county, c, STANDARDISED_COUNT, opened, school[i, SC_STANDARDISED], 1.0)
        if school[i, SC_RURAL] > 0:  # a rural school: one with an open rural section; paired if an open one is
            county[c, PAIRING_TOTAL] += 1.0
            if school[i, SC_PAIRED] > 0:
                county[c, PAIRING_COUNT] += 1.0
        if not school_pupils[i, 0] <= school_size_limit[i]:
            over_school_size[c] += 1


@njit(cache=True)
def _assess_draws(st: Any, sec: Any, rules: Any, out: Any) -> None:  # pragma: no cover - compiled
    """Every section of every draw: indicators, standard, quality, CV, school and county sums (see the module
    docstring). Draws outer, sections inner; the per-draw buffers are reset at each draw and copied out at its
    end."""
    n_draws, n_sections = st.qualified.shape
    n_counties = out.failing.shape[1]
    n_schools = sec.school_county.size
    n_groups = out.n_in_cv.shape[1]
    counts_toward = rules.counts_toward
    indicators = np.empty((n_sections, N_IND))  # this draw's indicators (for the CV's second pass)
    ind = np.empty(N_IND)  # the section's indicators
    in_cv = np.zeros(n_sections, dtype=np.bool_)  # assessed: in the standard, the CV and the quality shares
    pupils_row = np.zeros(n_sections, dtype=np.int64)
    cv_total = np.zeros(n_groups)  # Σ pupils of the assessed sections of each (county, level)
    cv_sums = np.zeros((n_groups, N_IND))  # Σ pupils × indicator
    cv_mean = np.zeros((n_groups, N_IND))
    cv_square = np.zeros((n_groups, N_IND))
    county = np.zeros((n_counties, len(COUNTY_SUMS)))  # this draw's county sums, columns of COUNTY_SUMS
    indicator_sum = np.zeros((n_counties, N_IND))
    school = np.zeros((n_schools, N_SCHOOL_COUNTS), dtype=np.int64)  # sections counted, columns SC_*
    school_pupils = np.zeros((n_schools, 2))  # pupils of the school: all, in assessed sections
    for d in range(n_draws):
        cv_total[:] = 0.0
        cv_sums[:, :] = 0.0
        county[:, :] = 0.0
        indicator_sum[:, :] = 0.0
        school[:, :] = 0
        school_pupils[:, :] = 0.0
        for s in range(n_sections):
            c = sec.county[s]
            i = sec.school[s]
            g = sec.group[s]
            # --- counts of the section (teachers counted as the lever says: dispatch.counted_dispatched)
            pupils = _total(st.students, d, s)
            regular = _total(st.teachers, d, s)
            in_post = _total(st.dispatched, d, s)
            staffing = regular + (in_post if counts_toward[0] else 0)
            qualified = st.qualified[d, s] + (in_post if counts_toward[1] else 0)
            backbone = st.backbone[d, s] + (_total(st.dispatched_backbone, d, s) if counts_toward[2] else 0)
            pe_art = st.pe_art[d, s] + (_total(st.dispatched_pe_art, d, s) if counts_toward[3] else 0)
            p = float(pupils)
            pupils_row[s] = pupils
            _section_indicators(pupils, float(qualified), float(backbone), float(pe_art), st.floor_area_m2[d, s],
                                st.sports_area_m2[d, s], st.equipment_value_cny[d, s], st.multimedia_rooms[d, s],
                                ind)
            # --- in the resource evaluation: pupils, finite indicators, not a small teaching point
            assessed = pupils > 0 and not (sec.teaching_point[s] and pupils < rules.small_site_pupils)
            for k in range(N_IND):
                indicators[s, k] = ind[k]
                if not np.isfinite(ind[k]):
                    assessed = False
            in_cv[s] = assessed
            # --- the school standard (≥ min_met met, the rest near) and the quality section, as bit masks
            met = 0
            near = 0
            quality_near = 0
            row = sec.threshold_row[s]
            for k in range(N_IND):
                x = ind[k]
                met |= int(x >= sec.met_threshold[row, k]) << k
                near |= int(x >= sec.near_threshold[row, k]) << k
                quality_near |= int(x >= sec.quality_near_threshold[row, k]) << k
            n_met = _popcount7(met)
            quality = n_met >= rules.quality_min_met and (met | quality_near) == ALL_INDICATORS
            if assessed and not (n_met >= rules.min_met and (met | near) == ALL_INDICATORS):
                out.failing[d, c] += 1
                for k in range(N_IND):
                    out.failing_below[d, c, k] += ((met >> k) & 1) ^ 1
            # --- first pass of the CV and the student-weighted indicator sums (section order)
            if assessed:
                out.n_in_cv[d, g] += 1
                cv_total[g] += p
                for k in range(N_IND):
                    cv_sums[g, k] += p * ind[k]
                    indicator_sum[c, k] += ind[k] * p
                county[c, ASSESSED_PUPILS] += p
            # --- staffing: the section's posts (whole, from the unrounded quota) and vacancies
            posts = np.ceil(p / sec.pupils_per_post[s] - ROUNDING_TOLERANCE)
            vacancy = posts - staffing
            county[c, VACANCIES] += vacancy if vacancy > 0.0 else 0.0
            # --- standardisation (facilities.standardised): floor area, equipment, gigabit, staffing
            floor_need = p * sec.floor_threshold_m2[row]
            equipment_need = p * sec.equipment_threshold_cny[row]
            standardised = (
                floor_need - st.floor_area_m2[d, s] <= FACILITY_TOLERANCE * _at_least_one(floor_need)
                and equipment_need - st.equipment_value_cny[d, s] <= FACILITY_TOLERANCE * _at_least_one(equipment_need)
                and st.gigabit[d, s]
                and staffing >= posts
            )
            # --- guarantee: the section's class size
            if not p / sec.classes[s] <= sec.class_size_limit[s]:
                out.over_class_size[d, c] += 1
            # --- county and (county, level) totals
            county[c, STUDENTS] += p
            county[c, TEACHERS] += regular
            county[c, TEACHERS_COUNTED] += staffing
            county[c, DISPATCHED_IN_POST] += in_post
            out.level_sums[PUPILS_BY_LEVEL, d, g] += p
            out.level_sums[STAFFING_BY_LEVEL, d, g] += staffing
            # --- school buffers
            school_pupils[i, 0] += p
            if assessed:
                school[i, SC_ASSESSED] += 1
                school[i, SC_QUALITY] += quality
                school_pupils[i, 1] += p
            if pupils > 0:
                school[i, SC_OPEN] += 1
                school[i, SC_GIGABIT] += st.gigabit[d, s]
                school[i, SC_STANDARDISED] += standardised
                school[i, SC_RURAL] += sec.rural[s]
                school[i, SC_PAIRED] += st.paired[d, s]
                if sec.counselling_eligible[s]:
                    school[i, SC_ELIGIBLE] += 1
                    school[i, SC_COUNSELLING] += st.counselling_room[d, s]
        _cv_of_draw(indicators, pupils_row, in_cv, sec.group, cv_total, cv_sums, cv_mean, cv_square,
                    out.n_in_cv[d], out.cv[d])
        _school_shares(sec.school_county, sec.school_size_limit, school, school_pupils, county,
                       out.over_school_size[d])
        for c in range(n_counties):
            for column in range(len(COUNTY_SUMS)):
                out.county_sums[column, d, c] = county[c, column]
            for k in range(N_IND):
                out.indicator_sum[d, c, k] = indicator_sum[c, k]


# ------------------------------------------------------------------------------------------------------------
# the step


def _counts(a: npt.ArrayLike, name: str) -> IntArray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer counts, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _stocks(st: State) -> _Stocks:
    def floats(a: npt.ArrayLike) -> FloatArray:
        return np.ascontiguousarray(a, dtype=np.float64)

    def flags(a: npt.ArrayLike) -> BoolArray:
        return np.ascontiguousarray(a, dtype=np.bool_)

    return _Stocks(
        students=_counts(st.students, "students"), teachers=_counts(st.teachers, "teachers"),
        dispatched=_counts(st.dispatched, "dispatched"),
        dispatched_backbone=_counts(st.dispatched_backbone, "dispatched_backbone"),
        dispatched_pe_art=_counts(st.dispatched_pe_art, "dispatched_pe_art"),
        qualified=_counts(st.qualified, "qualified"), backbone=_counts(st.backbone, "backbone"),
        pe_art=_counts(st.pe_art, "pe_art"),
        floor_area_m2=floats(st.floor_area_m2), sports_area_m2=floats(st.sports_area_m2),
        equipment_value_cny=floats(st.equipment_value_cny), multimedia_rooms=floats(st.multimedia_rooms),
        gigabit=flags(st.gigabit), counselling_room=flags(st.counselling_room), paired=flags(st.paired),
    )


def _allocate(n_draws: int, n_counties: int) -> _Outputs:
    return _Outputs(
        county_sums=np.zeros((len(COUNTY_SUMS), n_draws, n_counties)),
        level_sums=np.zeros((len(LEVEL_SUMS), n_draws, n_counties * N_LEVELS)),
        indicator_sum=np.zeros((n_draws, n_counties, N_IND)),
        failing=np.zeros((n_draws, n_counties), dtype=np.int64),
        failing_below=np.zeros((n_draws, n_counties, N_IND), dtype=np.int64),
        cv=np.full((n_draws, n_counties * N_LEVELS, N_IND), np.nan),
        n_in_cv=np.zeros((n_draws, n_counties * N_LEVELS), dtype=np.int64),
        over_class_size=np.zeros((n_draws, n_counties), dtype=np.int64),
        over_school_size=np.zeros((n_draws, n_counties), dtype=np.int64),
    )


def _certify(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int, ready: BoolArray) -> None:
    """Certification of the ready counties, exactly as :func:`sim.cohort.assess` does it (same uniforms)."""
    pass_u = r.streams.uniforms(f"assessment.pass/{year}", r.start, r.stop, (m.sections.n_counties,))
    lags = np.rint(p["assessment.certification_lag_years"]).astype(np.int64)
    certified, ready_years = st.certified.copy(), st.ready_years.copy()
    for lag in np.unique(lags):  # usually one value (the default is fixed)
        rows = lags == lag
        step = assessment.certify(ready[rows], st.ready_years[rows], st.certified[rows], pass_u[rows],
                                  p["assessment.other_items_pass_probability"][rows, None], lag_years=int(lag))
        certified[rows], ready_years[rows] = step.certified, step.ready_years
    st.certified, st.ready_years = certified, ready_years


def assess(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int, *,
           layout: AssessLayout | None = None) -> dict[str, np.ndarray]:
    """Step 9 of the cohort engine: the same records as :func:`sim.cohort.assess`, from one compiled pass.

    Like the reference it advances certification in ``st`` (``certified``, ``ready_years``) with the uniforms of
    ``assessment.pass/{year}``. ``layout`` (optional) is the model's :class:`AssessLayout`; by default it is built
    on the first call for ``m`` and reused.
    """
    lay = assessment_layout(m) if layout is None else layout
    n_counties = lay.n_counties
    stocks = _stocks(st)
    n_draws = stocks.qualified.shape[0]
    out = _allocate(n_draws, n_counties)
    _assess_draws(stocks, lay.sections, lay.rules, out)
    sums = dict(zip(COUNTY_SUMS, out.county_sums, strict=True))

    # resources (assessment.assess_resources): CV limits per present level, readiness
    cv = out.cv.reshape(n_draws, n_counties, N_LEVELS, N_IND)
    level_present = out.n_in_cv.reshape(n_draws, n_counties, N_LEVELS) > 0
    within = np.asarray(cv <= lay.cv_limits[None, None, :, None] * (1.0 + RTOL))
    cv_over_limit = level_present[:, :, :, None] & ~within
    resource_ready = level_present.any(axis=2) & (out.failing == 0) & ~cv_over_limit.any(axis=(2, 3))

    # guarantee rules (assessment.guarantee_rules): rotation judged on the lever's share where rotation ran
    standard = m.standard
    policy_share = np.where(np.isnan(st.rotation_share), 0.0, _lever(m.scenario, "rotation", year).share)
    backbone_share = np.nan_to_num(np.asarray(st.backbone_share_of_rotated, dtype=np.float64), nan=0.0)
    guarantee = assessment.GuaranteeRules(
        rotation_share_ok=np.asarray(policy_share >= np.float64(standard.rotation_min_share) * (1.0 - RTOL)),
        backbone_share_ok=np.asarray(
            backbone_share >= np.float64(standard.rotation_backbone_min_share) * (1.0 - RTOL)),
        class_size_ok=out.over_class_size == 0,
        school_size_ok=out.over_school_size == 0,
        sections_over_class_size=out.over_class_size,
        schools_over_size=out.over_school_size,
    )
    _certify(m, st, p, r, year, resource_ready & guarantee.met)

    # staffing quota per county and level (quota.staffing_quota) and the norm (T5)
    pupils_by_level = out.level_sums[PUPILS_BY_LEVEL].reshape(n_draws, n_counties, N_LEVELS)
    posts = pupils_by_level / lay.students_per_staff[None, None, :]
    requirement = np.ceil(posts - ROUNDING_TOLERANCE).clip(min=0).astype(np.int64)
    staff_by_level = out.level_sums[STAFFING_BY_LEVEL].reshape(n_draws, n_counties, N_LEVELS)
    norm_met = quota.staffing_norm_met(staff_by_level, requirement)

    special_ok = (st.special_schools > 0) | lay.special_education_ok[None, :]
    county_pupils = sums["assessed_pupils"]
    indicator_mean = np.divide(out.indicator_sum, county_pupils[:, :, None],
                               out=np.full(out.indicator_sum.shape, np.nan), where=county_pupils[:, :, None] > 0)
    return {
        "quality_balanced": st.certified.astype(np.int8),
        "resource_ready": resource_ready.astype(np.int8),
        "guarantee_met": guarantee.met.astype(np.int8),
        **{name: sums[name] for name in COUNTY_SUMS[5:17]},
        "staffing_norm_met": norm_met.astype(np.int8),
        "special_education_ok": special_ok.astype(np.int8),
        "consolidation_rate": np.repeat(p["students.consolidation_rate"][:, None], n_counties, axis=1),
        "disabled_enrolment_rate": np.repeat(p["students.disabled_enrolment_rate"][:, None], n_counties, axis=1),
        "students": sums["students"],
        "teachers": sums["teachers"],
        "teachers_counted": sums["teachers_counted"],
        "staffing_requirement": requirement.sum(axis=2),
        "vacancies": sums["vacancies"],
        "dispatched_in_post": sums["dispatched_in_post"],
        "rotated": st.rotated,
        "hires": st.hires,
        "exits": st.exits,
        "student_entries": st.student_entries,
        "student_exits": st.student_exits,
        "indicator_value": indicator_mean,
        "indicator_cv": cv,
        "failing_sections": out.failing,
        "failing_sections_below": out.failing_below,
        "cv_over_limit": cv_over_limit,
        "guarantee_failed": guarantee.failed(),
        "draw_count": np.ones((n_draws, n_counties)),
    }
