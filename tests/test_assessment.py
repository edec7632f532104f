"""Tests of sim.mechanisms.assessment: the quality-balance assessment (教督〔2017〕6號).

Expected values are derived by hand in the comments. The thresholds below restate the table of
``youzhi_junheng_2017_standard.csv`` as test data; the module itself takes them as arguments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.mechanisms import assessment as am

PRIMARY = np.array([4.2, 1.0, 0.9, 4.5, 7.5, 2000.0, 2.3])
JUNIOR = np.array([5.3, 1.0, 0.9, 5.8, 10.2, 2500.0, 2.4])
LEVEL_THRESHOLDS = np.stack([PRIMARY, JUNIOR])
CV_LIMITS = (0.50, 0.45)


def _guarantee_rules(
    rotation_share: np.ndarray,
    backbone_share_of_rotated: np.ndarray,
    max_class_size: np.ndarray,
    section_students: np.ndarray,
    section_level: np.ndarray,
    section_school: np.ndarray,
    section_county: np.ndarray,
    n_counties: int,
) -> am.GuaranteeRules:
    """``am.guarantee_rules`` with the limits of the method: rotation 10%, backbone 20% of the rotated,
    classes 45 / 50, schools 2,000 (one level) / 2,500 (nine-year)."""
    return am.guarantee_rules(
        rotation_share,
        backbone_share_of_rotated,
        max_class_size,
        section_students,
        section_level,
        section_school,
        section_county,
        n_counties,
        min_rotation_share=0.10,
        min_backbone_share_of_rotated=0.20,
        class_size_limits=(45, 50),
        school_size_limit=2000,
        nine_year_school_size_limit=2500,
    )


def _indicators(*rows: np.ndarray) -> np.ndarray:
    """One draw of hand-built sections: ``(1, S, 7)``."""
    return np.stack(rows)[None, :, :]


# ----------------------------------------------------------------------------------------------------
# indicators


def test_indicators_by_hand() -> None:
    # 500 pupils: 21 qualified teachers -> 4.2 per 100; 5 backbone -> 1.0; 6 PE/art -> 1.2;
    # 2,500 m2 floor -> 5.0 m2 each; 4,000 m2 sports -> 8.0; 1.1 million yuan -> 2,200;
    # 12 rooms -> 2.4 per 100.
    out = am.section_indicators(500, 21, 5, 6, 2500.0, 4000.0, 1.1e6, 12)
    assert out.shape == (7,)
    np.testing.assert_allclose(out, [4.2, 1.0, 1.2, 5.0, 8.0, 2200.0, 2.4])
    assert len(am.INDICATORS) == 7


def test_sections_without_students_or_below_the_minimum_are_nan() -> None:
    students = np.array([[0, 49, 50]])
    out = am.section_indicators(students, 3, 1, 1, 300.0, 500.0, 1e5, 2, min_students_assessed=50)
    assert out.shape == (1, 3, 7)
    assert np.all(np.isnan(out[0, 0])) and np.all(np.isnan(out[0, 1]))
    np.testing.assert_allclose(out[0, 2], [6.0, 2.0, 2.0, 6.0, 10.0, 2000.0, 4.0])
    np.testing.assert_array_equal(am.assessed_sections(students, 50), [[False, False, True]])
    # Default 0: only the empty section is left out.
    np.testing.assert_array_equal(am.assessed_sections(students), [[False, True, True]])


def test_section_thresholds_follow_the_level() -> None:
    out = am.section_thresholds(LEVEL_THRESHOLDS, np.array([1, 0, 1], dtype=np.int8))
    np.testing.assert_array_equal(out, [JUNIOR, PRIMARY, JUNIOR])


# ----------------------------------------------------------------------------------------------------
# the school standard


def test_a_section_exactly_at_every_threshold_meets() -> None:
    # 1,000 pupils with stocks exactly at the primary thresholds (42 qualified = 4.2 per 100, ...).
    ind = am.section_indicators(1000, 42, 10, 9, 4500.0, 7500.0, 2.0e6, 23)
    assert am.meets_standard(ind, PRIMARY)
    assert am.is_quality_school(ind, PRIMARY, "all_seven")
    junior = am.section_indicators(1000, 53, 10, 9, 5800.0, 10200.0, 2.5e6, 24)
    assert am.meets_standard(junior, JUNIOR)
    assert am.is_quality_school(junior, JUNIOR)


@pytest.mark.parametrize("k", range(7))
def test_just_below_one_threshold_is_not_a_quality_school_but_meets_six_of_seven(k: int) -> None:
    ind = PRIMARY.copy()
    ind[k] *= 0.999
    assert not am.is_quality_school(ind, PRIMARY, "all_seven")
    # 6 met and the 7th at 99.9% >= 85%: the standard holds.
    assert am.meets_standard(ind, PRIMARY)
    assert am.is_quality_school(ind, PRIMARY, "standard")


def test_just_below_every_threshold_fails() -> None:
    assert not am.meets_standard(JUNIOR * 0.999, JUNIOR)


@pytest.mark.parametrize("k", range(7))
def test_six_of_seven_with_the_seventh_at_85_percent(k: int) -> None:
    at_85 = JUNIOR.copy()
    at_85[k] = 0.85 * JUNIOR[k]
    assert am.meets_standard(at_85, JUNIOR)
    at_849 = JUNIOR.copy()
    at_849[k] = 0.849 * JUNIOR[k]
    assert not am.meets_standard(at_849, JUNIOR)


def test_eighty_five_percent_from_whole_stocks() -> None:
    # 1,000 pupils, 1.7 million yuan of equipment = 1,700 per pupil = 85% of 2,000; the rest at threshold.
    ind = am.section_indicators(1000, 42, 10, 9, 4500.0, 7500.0, 1.7e6, 23)
    assert am.meets_standard(ind, PRIMARY)
    assert not am.is_quality_school(ind, PRIMARY)


def test_two_failing_indicators_fail() -> None:
    ind = PRIMARY.copy()
    ind[[0, 6]] *= 0.95  # two below threshold, both above 85%: only 5 of 7 met
    assert not am.meets_standard(ind, PRIMARY)


def test_nan_section_never_meets_and_shapes_broadcast() -> None:
    ind = np.stack([PRIMARY, np.full(7, np.nan), JUNIOR])[None]
    thr = am.section_thresholds(LEVEL_THRESHOLDS, np.array([0, 0, 1]))
    np.testing.assert_array_equal(am.meets_standard(ind, thr), [[True, False, True]])


def test_unknown_quality_definition_is_rejected() -> None:
    with pytest.raises(ValueError, match="all_seven, standard"):
        am.is_quality_school(PRIMARY, PRIMARY, "all_eight")


# ----------------------------------------------------------------------------------------------------
# coefficient of variation


def test_cv_two_schools_equal_weights() -> None:
    # mean 2, deviations +-1, sd 1, CV 0.5
    cv = am.county_cv(np.array([[1.0, 3.0]]), np.array([[100, 100]]), np.array([0, 0]), 1)
    np.testing.assert_allclose(cv, [[0.5]])


def test_cv_student_weights_three_to_one() -> None:
    # weights 3:1 on values 1 and 3: mean (3 + 3) / 4 = 1.5; variance (3 * 0.25 + 1 * 2.25) / 4 = 0.75;
    # CV = sqrt(0.75) / 1.5 = 1 / sqrt(3).
    values, weights, county = np.array([[1.0, 3.0]]), np.array([[300, 100]]), np.array([0, 0])
    np.testing.assert_allclose(am.county_cv(values, weights, county, 1), [[1 / math.sqrt(3)]])
    # unweighted: back to 0.5
    np.testing.assert_allclose(am.county_cv(values, weights, county, 1, weighted=False), [[0.5]])


def test_cv_published_worked_example() -> None:
    # 《縣域義務教育校際均衡指標計算方法(以生均圖書冊數為例)》: five primary schools with (pupils, books)
    # (45, 279), (37, 137), (89, 935), (76, 160), (55, 402); county mean 1,913 / 302 = 6.33 books per pupil;
    # the sheet gets CV 0.52 from rounded intermediate values. Exactly: 0.5153.
    pupils = np.array([[45.0, 37, 89, 76, 55]])
    books = np.array([[279.0, 137, 935, 160, 402]])
    cv = am.county_cv(books / pupils, pupils, np.zeros(5, dtype=int), 1)
    assert round(float(cv[0, 0]), 2) == 0.52
    mean = 1913 / 302
    sd = math.sqrt(sum(p * (b / p - mean) ** 2 for p, b in zip(pupils[0], books[0], strict=True)) / 302)
    np.testing.assert_allclose(cv, [[sd / mean]])


def test_cv_single_section_zero_empty_nan_and_mask() -> None:
    values = np.array([[2.0, 5.0, 1.0, 3.0]])
    weights = np.ones((1, 4))
    county = np.array([0, 1, 1, 1])
    cv = am.county_cv(values, weights, county, 3, mask=np.array([True, True, False, True]))
    # county 0: one section -> 0; county 1: values 5 and 3 (section 2 masked) -> mean 4, sd 1 -> 0.25;
    # county 2: no section -> NaN
    np.testing.assert_allclose(cv, [[0.0, 0.25, np.nan]])


def test_cv_over_indicators_axis() -> None:
    values = np.zeros((1, 2, 7)) + 4.0
    values[0, :, 3] = [1.0, 3.0]
    cv = am.county_cv(values, np.ones((1, 2)), np.array([0, 0]), 1)
    expected = np.zeros((1, 1, 7))
    expected[0, 0, 3] = 0.5
    np.testing.assert_allclose(cv, expected)


def _two_section_county(level: int, cv: float) -> am.ResourceAssessment:
    """One county, two equal sections of one level: floor area m (1 - cv) and m (1 + cv), so its CV is cv.

    Every other indicator is at its threshold in both sections; m = 20 keeps both floor areas above the
    thresholds (20 * 0.449 = 8.98 > 5.8).
    """
    thr = LEVEL_THRESHOLDS[level]
    low, high = thr.copy(), thr.copy()
    low[3], high[3] = 20 * (1 - cv), 20 * (1 + cv)
    return am.assess_resources(
        _indicators(low, high),
        am.section_thresholds(LEVEL_THRESHOLDS, np.array([level, level])),
        np.array([[1000, 1000]]),
        np.array([level, level]),
        np.array([0, 0]),
        1,
        CV_LIMITS,
    )


@pytest.mark.parametrize(
    ("level", "cv", "ready"),
    [
        (0, 0.5, True),  # exactly the primary limit
        (1, 0.5, False),  # junior limit 0.45
        (0, 0.499, True),
        (0, 0.501, False),
        (1, 0.449, True),
        (1, 0.451, False),
    ],
)
def test_cv_limits_just_inside_and_outside(level: int, cv: float, ready: bool) -> None:
    result = _two_section_county(level, cv)
    np.testing.assert_allclose(result.cv[0, 0, level, 3], cv)
    assert bool(result.ready[0, 0]) is ready
    assert bool(result.cv_over_limit[0, 0, level, 3]) is not ready
    if not ready:
        binding = am.binding_constraints(result)
        assert binding.cv_over_limit[0, level, 3] == 1
        assert binding.cv_over_limit.sum() == 1


def test_county_ready_needs_every_section_to_meet_the_standard() -> None:
    # County 0: two primary sections at threshold. County 1: one at threshold, one with qualified teachers
    # and multimedia rooms at 80% (two failing) -> not ready. County 2: a junior section at 84% on sports
    # area -> not ready.
    bad = PRIMARY.copy()
    bad[[0, 6]] *= 0.8
    sports = JUNIOR.copy()
    sports[4] *= 0.84
    ind = _indicators(PRIMARY, PRIMARY, PRIMARY, bad, sports)
    level = np.array([0, 0, 0, 0, 1])
    county = np.array([0, 0, 1, 1, 2])
    result = am.assess_resources(
        ind,
        am.section_thresholds(LEVEL_THRESHOLDS, level),
        np.full((1, 5), 400),
        level,
        county,
        3,
        CV_LIMITS,
    )
    np.testing.assert_array_equal(result.ready, [[True, False, False]])
    np.testing.assert_array_equal(result.meets_standard, [[True, True, True, False, False]])
    np.testing.assert_array_equal(result.failing_sections, [[0, 1, 1]])
    np.testing.assert_array_equal(result.level_present[0], [[True, False], [True, False], [False, True]])
    assert am.county_resource_ready(
        ind, am.section_thresholds(LEVEL_THRESHOLDS, level), np.full((1, 5), 400), level, county, 3, CV_LIMITS
    ).tolist() == [[True, False, False]]
    binding = am.binding_constraints(result)
    np.testing.assert_array_equal(binding.not_ready_draws, [0, 1, 1])
    np.testing.assert_array_equal(binding.failing_sections, [0, 1, 1])
    np.testing.assert_array_equal(binding.failing_sections_below[1], [1, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(binding.failing_sections_below[2], [0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(binding.draws_indicator_below[2], [0, 0, 0, 0, 1, 0, 0])
    assert binding.cv_over_limit.sum() == 0


def test_section_below_threshold_that_meets_the_standard_is_not_binding() -> None:
    ok = PRIMARY.copy()
    ok[2] *= 0.9  # 6 of 7 and the 7th at 90%: meets
    level = np.array([0, 0])
    result = am.assess_resources(
        _indicators(PRIMARY, ok),
        am.section_thresholds(LEVEL_THRESHOLDS, level),
        np.full((1, 2), 500),
        level,
        np.array([0, 0]),
        1,
        CV_LIMITS,
    )
    assert result.ready[0, 0]
    assert am.binding_constraints(result).failing_sections_below.sum() == 0


def test_excluded_small_sections_do_not_count() -> None:
    # The second section has 30 pupils and nothing else; with min_students_assessed=50 it is left out.
    students = np.array([[1000, 30]])
    ind = am.section_indicators(
        students,
        np.array([[42, 0]]),
        np.array([[10, 0]]),
        np.array([[9, 0]]),
        np.array([[4500.0, 0]]),
        np.array([[7500.0, 0]]),
        np.array([[2.0e6, 0]]),
        np.array([[23, 0]]),
        min_students_assessed=50,
    )
    level = np.array([0, 0])
    thr = am.section_thresholds(LEVEL_THRESHOLDS, level)
    assert am.county_resource_ready(ind, thr, students, level, np.array([0, 0]), 1, CV_LIMITS)[0, 0]
    ind_all = am.section_indicators(students, [[42, 0]], [[10, 0]], [[9, 0]], [[4500.0, 0]], 7500.0, 2e6, 23)
    assert not am.county_resource_ready(ind_all, thr, students, level, np.array([0, 0]), 1, CV_LIMITS)[0, 0]


def test_county_without_assessed_sections_is_not_ready() -> None:
    ind = _indicators(PRIMARY)
    ready = am.county_resource_ready(ind, PRIMARY, np.array([[0]]), np.array([0]), np.array([0]), 2, CV_LIMITS)
    np.testing.assert_array_equal(ready, [[False, False]])


# ----------------------------------------------------------------------------------------------------
# government guarantee


def _guarantee(
    rotation: float = 0.10,
    backbone: float = 0.20,
    class_sizes: tuple[float, float, float] = (45, 50, 45),
    students: tuple[float, float, float] = (2000, 1500, 1000),
) -> am.GuaranteeRules:
    """Three sections in county 0: school 0 (primary only) and school 1 (nine-year: junior + primary)."""
    return _guarantee_rules(
        np.array([[rotation]]),
        np.array([[backbone]]),
        np.array([class_sizes], dtype=float),
        np.array([students], dtype=float),
        np.array([0, 1, 0]),
        np.array([0, 1, 1]),
        np.array([0, 0, 0]),
        1,
    )


def test_guarantee_at_every_limit_holds() -> None:
    result = _guarantee()
    assert result.met[0, 0]
    assert not result.failed().any()


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"rotation": 0.099}, "rotation_share"),
        ({"backbone": 0.19}, "backbone_share_of_rotated"),
        ({"class_sizes": (46, 50, 45)}, "class_size"),  # primary 46 > 45
        ({"class_sizes": (45, 51, 45)}, "class_size"),  # junior 51 > 50
        ({"class_sizes": (45, 50, 46)}, "class_size"),  # primary part of the nine-year school
        ({"students": (2001, 1500, 1000)}, "school_size"),  # primary school above 2,000
        ({"students": (2000, 1501, 1000)}, "school_size"),  # nine-year school 2,501 > 2,500
    ],
)
def test_guarantee_just_outside_each_limit(kwargs: dict, rule: str) -> None:
    result = _guarantee(**kwargs)
    assert not result.met[0, 0]
    failed = result.failed()[0, 0]
    assert failed.tolist() == [name == rule for name in am.GUARANTEE_RULES]


def test_nine_year_school_may_exceed_the_single_level_limit() -> None:
    # school 1 has 1,400 + 1,000 = 2,400 pupils: over 2,000 but within 2,500 for a nine-year school.
    assert _guarantee(students=(2000, 1400, 1000)).school_size_ok[0, 0]


def test_guarantee_counts_violations_per_county() -> None:
    result = _guarantee_rules(
        np.full((1, 2), 0.2),
        np.full((1, 2), 0.3),
        np.array([[46.0, 40, 51]]),
        np.array([[2100.0, 100, 2600]]),
        np.array([0, 0, 1]),
        np.array([0, 1, 2]),
        np.array([0, 0, 1]),
        2,
    )
    np.testing.assert_array_equal(result.sections_over_class_size, [[1, 1]])
    np.testing.assert_array_equal(result.schools_over_size, [[1, 1]])
    np.testing.assert_array_equal(result.met, [[False, False]])


def test_binding_constraints_count_guarantee_failures() -> None:
    level = np.array([0])
    resources = am.assess_resources(
        _indicators(PRIMARY), PRIMARY, np.array([[500]]), level, np.array([0]), 1, CV_LIMITS
    )
    guarantee = _guarantee_rules(
        np.array([[0.05]]),
        np.array([[0.5]]),
        np.array([[40.0]]),
        np.array([[500.0]]),
        level,
        np.array([0]),
        np.array([0]),
        1,
    )
    binding = am.binding_constraints(resources, guarantee)
    np.testing.assert_array_equal(binding.not_ready_draws, [1])
    np.testing.assert_array_equal(binding.guarantee_failed, [[1, 0, 0, 0]])
    assert binding.failing_sections.sum() == 0


# ----------------------------------------------------------------------------------------------------
# certification


def _run_certification(
    ready_by_year: np.ndarray,
    u_by_year: np.ndarray,
    p: float | np.ndarray,
    lag: int,
    decertify: bool = False,
) -> np.ndarray:
    """Certified flags by year, ``(T, D, C)``."""
    shape = ready_by_year.shape[1:]
    ready_years = np.zeros(shape, dtype=np.int64)
    certified = np.zeros(shape, dtype=bool)
    out = []
    for ready, u in zip(ready_by_year, u_by_year, strict=True):
        step = am.certify(ready, ready_years, certified, u, p, lag_years=lag, decertify_if_not_ready=decertify)
        ready_years, certified = step.ready_years, step.certified
        out.append(certified)
    return np.array(out)


def test_certification_lags_readiness() -> None:
    # One county, ready from year 2 on (years 0..5).
    ready = np.array([0, 0, 1, 1, 1, 1], dtype=bool)[:, None, None]
    u = np.full((6, 1, 1), 0.5)
    lag1 = _run_certification(ready, u, 1.0, lag=1)[:, 0, 0]
    assert lag1.tolist() == [False, False, False, True, True, True]  # ready in t = 2, certified in t + 1
    lag0 = _run_certification(ready, u, 1.0, lag=0)[:, 0, 0]
    assert lag0.tolist() == [False, False, True, True, True, True]
    lag2 = _run_certification(ready, u, 1.0, lag=2)[:, 0, 0]
    assert lag2.tolist() == [False, False, False, False, True, True]
    assert not _run_certification(ready, u, 0.0, lag=1).any()


def test_interrupted_readiness_restarts_the_lag() -> None:
    ready = np.array([1, 0, 1, 1], dtype=bool)[:, None, None]
    certified = _run_certification(ready, np.zeros((4, 1, 1)), 1.0, lag=1)[:, 0, 0]
    assert certified.tolist() == [False, False, False, True]


def test_failed_attempt_retries_with_a_fresh_uniform() -> None:
    ready = np.ones((4, 1, 1), dtype=bool)
    u = np.array([0.1, 0.9, 0.7, 0.3])[:, None, None]
    # lag 0, p = 0.5: pass in year 0 (0.1 < 0.5). With p = 0.2: year 0 passes too (0.1 < 0.2).
    # With p = 0.05: fails at 0.1, 0.9, 0.7, 0.3 -> never.
    assert _run_certification(ready, u, 0.5, lag=0)[:, 0, 0].tolist() == [True] * 4
    u2 = np.array([0.9, 0.7, 0.3, 0.1])[:, None, None]
    assert _run_certification(ready, u2, 0.5, lag=0)[:, 0, 0].tolist() == [False, False, True, True]
    assert not _run_certification(ready, u, 0.05, lag=0).any()


def test_certified_county_stays_certified_unless_asked() -> None:
    ready = np.array([1, 1, 0, 0], dtype=bool)[:, None, None]
    u = np.zeros((4, 1, 1))
    assert _run_certification(ready, u, 1.0, lag=1)[:, 0, 0].tolist() == [False, True, True, True]
    kept = _run_certification(ready, u, 1.0, lag=1, decertify=True)[:, 0, 0]
    assert kept.tolist() == [False, True, False, False]


def test_certification_respects_eligibility_and_per_draw_probability() -> None:
    ready = np.ones((2, 3), dtype=bool)
    step = am.certify(
        ready,
        np.zeros((2, 3), dtype=np.int64),
        np.zeros((2, 3), dtype=bool),
        np.full((2, 3), 0.5),
        np.array([1.0, 0.0]),  # one probability per draw
        lag_years=0,
        eligible=np.array([True, True, False]),
    )
    np.testing.assert_array_equal(step.certified, [[True, True, False], [False, False, False]])
    np.testing.assert_array_equal(step.attempted, [[True, True, False], [True, True, False]])
    np.testing.assert_array_equal(step.newly_certified, step.certified)


def test_certification_rejects_bad_arguments() -> None:
    args = (np.ones((1, 1), bool), np.zeros((1, 1), int), np.zeros((1, 1), bool), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="pass_probability"):
        am.certify(*args, 1.5, lag_years=1)
    with pytest.raises(ValueError, match="lag_years"):
        am.certify(*args, 0.5, lag_years=-1)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_years=st.integers(1, 6),
    lag=st.integers(0, 3),
    p_low=st.floats(0, 1),
    p_high=st.floats(0, 1),
    decertify=st.booleans(),
)
def test_certification_is_monotone_in_the_pass_probability(
    data: st.DataObject, n_years: int, lag: int, p_low: float, p_high: float, decertify: bool
) -> None:
    p_low, p_high = min(p_low, p_high), max(p_low, p_high)
    ready = data.draw(hnp.arrays(bool, (n_years, 3, 4)))
    u = data.draw(hnp.arrays(float, (n_years, 3, 4), elements=st.floats(0, 1, exclude_max=True)))
    low = _run_certification(ready, u, p_low, lag, decertify)
    high = _run_certification(ready, u, p_high, lag, decertify)
    assert np.all(low <= high)
    # never certified before the county has been ready lag + 1 years in a row
    if lag + 1 > n_years:
        assert not high.any()


# ----------------------------------------------------------------------------------------------------
# aggregates


def test_share_true_with_mask() -> None:
    flags = np.array([[True, False, True, True], [False, False, False, True]])
    np.testing.assert_allclose(am.share_true(flags), [0.75, 0.25])
    south = np.array([True, True, False, False])
    np.testing.assert_allclose(am.share_true(flags, south), [0.5, 0.0])
    assert np.isnan(am.share_true(flags, np.zeros(4, bool))).all()


def test_quality_school_share_counts_schools_not_sections() -> None:
    # school 0: nine-year (sections 0 primary quality, 1 junior not) -> not a quality school;
    # school 1: primary quality; school 2 (county 1): junior quality; school 3 (county 1): closed (excluded).
    quality = np.array([[True, False, True, True, False]])
    section_school = np.array([0, 0, 1, 2, 3])
    section_county = np.array([0, 0, 0, 1, 1])
    include = np.array([True, True, True, True, False])
    result = am.quality_school_share(quality, section_school, section_county, 2, include=include)
    np.testing.assert_array_equal(result.count, [[1, 1]])
    np.testing.assert_array_equal(result.total, [[2, 1]])
    np.testing.assert_allclose(result.share(), [[0.5, 1.0]])
    np.testing.assert_allclose(result.pooled_share(), [2 / 3])
    # student-weighted: school 0 has 300 + 200 pupils, school 1 has 100 -> 100 / 600 in county 0
    weights = np.array([[300.0, 200, 100, 50, 10]])
    weighted = am.quality_school_share(quality, section_school, section_county, 2, include=include, weights=weights)
    np.testing.assert_allclose(weighted.share(), [[100 / 600, 1.0]])
    np.testing.assert_allclose(weighted.pooled_share(np.array([True, True])), [150 / 650])


def test_school_quality_needs_all_sections() -> None:
    quality, counted = am.school_quality(np.array([[True, True, True, False]]), np.array([0, 0, 1, 1]))
    np.testing.assert_array_equal(quality, [[True, False]])
    np.testing.assert_array_equal(counted, [[True, True]])


def test_pairing_coverage() -> None:
    # county 0: rural schools 0 (paired) and 1 (not); town school 2. county 1: no rural school.
    paired = np.array([[True, False, False, False]])
    rural = np.array([True, True, False, False])
    result = am.pairing_coverage(paired, rural, np.array([0, 1, 2, 3]), np.array([0, 0, 0, 1]), 2)
    np.testing.assert_array_equal(result.count, [[1, 0]])
    np.testing.assert_array_equal(result.total, [[2, 0]])
    share = result.share()
    assert share[0, 0] == 0.5 and np.isnan(share[0, 1])
    np.testing.assert_array_equal(result.complete(), [[False, True]])
    np.testing.assert_allclose(result.pooled_share(), [0.5])
    # closing school 1 completes the coverage of county 0
    active = np.array([True, False, True, True])
    closed = am.pairing_coverage(paired, rural, np.array([0, 1, 2, 3]), np.array([0, 0, 0, 1]), 2, active=active)
    np.testing.assert_array_equal(closed.complete(), [[True, True]])


# ----------------------------------------------------------------------------------------------------
# vectorisation and invariances


@st.composite
def _random_sections(draw: st.DrawFn) -> dict:
    n_draws = draw(st.integers(1, 4))
    n_sections = draw(st.integers(1, 8))
    n_counties = draw(st.integers(1, 3))
    level = draw(hnp.arrays(np.int64, n_sections, elements=st.integers(0, 1)))
    county = draw(hnp.arrays(np.int64, n_sections, elements=st.integers(0, n_counties - 1)))
    # scale each indicator around its threshold so that outcomes vary
    factors = draw(
        hnp.arrays(float, (n_draws, n_sections, 7), elements=st.sampled_from([0.849, 0.9, 1.0, 1.0, 1.3, 3.0]))
    )
    thresholds = am.section_thresholds(LEVEL_THRESHOLDS, level)
    students = draw(hnp.arrays(float, (n_draws, n_sections), elements=st.sampled_from([0.0, 20.0, 300.0, 1500.0])))
    indicators = np.where(students[:, :, None] > 0, factors * thresholds, np.nan)
    return {
        "indicators": indicators,
        "thresholds": thresholds,
        "students": students,
        "level": level,
        "county": county,
        "n_counties": n_counties,
    }


@settings(max_examples=60, deadline=None)
@given(case=_random_sections())
def test_resource_assessment_per_draw_equals_vectorised(case: dict) -> None:
    def run(ind: np.ndarray, students: np.ndarray) -> am.ResourceAssessment:
        return am.assess_resources(
            ind, case["thresholds"], students, case["level"], case["county"], case["n_counties"], CV_LIMITS
        )

    whole = run(case["indicators"], case["students"])
    for d in range(case["students"].shape[0]):
        one = run(case["indicators"][d : d + 1], case["students"][d : d + 1])
        np.testing.assert_array_equal(one.ready[0], whole.ready[d])
        np.testing.assert_array_equal(one.meets_standard[0], whole.meets_standard[d])
        np.testing.assert_array_equal(one.failing_sections_below[0], whole.failing_sections_below[d])
        np.testing.assert_allclose(one.cv[0], whole.cv[d], rtol=1e-12, equal_nan=True)
    binding = am.binding_constraints(whole)
    split = am.binding_constraints(run(case["indicators"][:1], case["students"][:1]))
    if case["students"].shape[0] > 1:
        split = split + am.binding_constraints(run(case["indicators"][1:], case["students"][1:]))
    for field in ("not_ready_draws", "failing_sections_below", "cv_over_limit", "draws_indicator_below"):
        np.testing.assert_array_equal(getattr(split, field), getattr(binding, field))


@settings(max_examples=40, deadline=None)
@given(case=_random_sections(), data=st.data())
def test_guarantee_per_draw_equals_vectorised(case: dict, data: st.DataObject) -> None:
    n_draws, n_sections = case["students"].shape
    n_counties = case["n_counties"]
    rotation = data.draw(hnp.arrays(float, (n_draws, n_counties), elements=st.floats(0, 0.3)))
    backbone = data.draw(hnp.arrays(float, (n_draws, n_counties), elements=st.floats(0, 0.5)))
    class_size = data.draw(hnp.arrays(float, (n_draws, n_sections), elements=st.floats(20, 60)))
    # pair consecutive sections of the same county into schools
    school = np.arange(n_sections)
    county = case["county"]

    def run(d: slice) -> am.GuaranteeRules:
        return _guarantee_rules(
            rotation[d],
            backbone[d],
            class_size[d],
            case["students"][d],
            case["level"],
            school,
            county,
            n_counties,
        )

    whole = run(slice(None))
    for d in range(n_draws):
        one = run(slice(d, d + 1))
        np.testing.assert_array_equal(one.failed()[0], whole.failed()[d])
        np.testing.assert_array_equal(one.sections_over_class_size[0], whole.sections_over_class_size[d])


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_draws=st.integers(1, 4),
    n_sections=st.integers(1, 8),
    scale=st.floats(1e-3, 1e4),
)
def test_cv_is_invariant_under_scaling(data: st.DataObject, n_draws: int, n_sections: int, scale: float) -> None:
    values = data.draw(hnp.arrays(float, (n_draws, n_sections, 7), elements=st.floats(0.01, 1e4)))
    weights = data.draw(hnp.arrays(float, (n_draws, n_sections), elements=st.floats(1, 3000)))
    county = data.draw(hnp.arrays(np.int64, n_sections, elements=st.integers(0, 2)))
    cv = am.county_cv(values, weights, county, 3)
    np.testing.assert_allclose(am.county_cv(values * scale, weights, county, 3), cv, rtol=1e-9, atol=1e-12)
    # scaling all weights changes nothing either
    np.testing.assert_allclose(am.county_cv(values, weights * 7.0, county, 3), cv, rtol=1e-9, atol=1e-12)
    # per-draw computation equals the vectorised one
    for d in range(n_draws):
        np.testing.assert_allclose(
            am.county_cv(values[d : d + 1], weights[d : d + 1], county, 3)[0], cv[d], rtol=1e-12, atol=1e-15
        )
    assert np.all((cv >= 0) | np.isnan(cv))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_draws=st.integers(1, 4), lag=st.integers(0, 2), p=st.floats(0, 1))
def test_certify_per_draw_equals_vectorised(data: st.DataObject, n_draws: int, lag: int, p: float) -> None:
    ready = data.draw(hnp.arrays(bool, (3, n_draws, 5)))
    u = data.draw(hnp.arrays(float, (3, n_draws, 5), elements=st.floats(0, 1, exclude_max=True)))
    whole = _run_certification(ready, u, p, lag)
    for d in range(n_draws):
        np.testing.assert_array_equal(
            _run_certification(ready[:, d : d + 1], u[:, d : d + 1], p, lag)[:, 0], whole[:, d]
        )


def test_compiled_standard_equals_the_numpy_comparisons():
    # the (D, S, 7) path of meets_standard / is_quality_school against the elementwise numpy rule
    rng = np.random.default_rng(11)
    thresholds = rng.random((40, 7)) + 0.5
    indicators = thresholds[None] * rng.choice([0.8, 0.85, 0.9, 1.0, 1.0 - 1e-12, 1.2], size=(6, 40, 7))
    indicators[0, :5] = np.nan
    met = indicators >= thresholds * (1.0 - 1e-9)
    near = indicators >= thresholds * (0.85 * (1.0 - 1e-9))
    expected = (met.sum(axis=-1) >= 6) & (met | near).all(axis=-1)
    np.testing.assert_array_equal(am.meets_standard(indicators, thresholds), expected)
    np.testing.assert_array_equal(am.is_quality_school(indicators, thresholds), met.all(axis=-1))
    np.testing.assert_array_equal(am.is_quality_school(indicators, thresholds, "standard"), expected)
    assert expected.any() and not expected.all() and met.all(axis=-1).any()


def test_quality_school_share_equals_school_quality_summed_by_county():
    # the compiled pass against its definition: school_quality per school, then sums over each county's schools
    rng = np.random.default_rng(12)
    section_school = np.repeat(np.arange(30), rng.integers(1, 3, 30))
    school_county = np.sort(rng.integers(0, 4, 32))  # schools 30 and 31 have no section
    section_county = school_county[section_school]
    quality = rng.random((3, section_school.size)) < 0.7
    include = rng.random((3, section_school.size)) < 0.9
    weights = rng.integers(0, 50, (3, section_school.size)).astype(float)
    good, counted = am.school_quality(quality, section_school, 32, include)
    school_weight = np.stack([np.bincount(section_school, weights=np.where(include[d], weights[d], 0.0), minlength=32)
                              for d in range(3)])
    for w, per_school in ((None, counted * 1.0), (weights, school_weight * counted)):
        share = am.quality_school_share(quality, section_school, section_county, 4, include=include, weights=w,
                                        n_schools=32)
        for d in range(3):
            np.testing.assert_allclose(share.count[d], np.bincount(school_county, per_school[d] * good[d], 4),
                                       rtol=1e-12)
            np.testing.assert_allclose(share.total[d], np.bincount(school_county, per_school[d], 4), rtol=1e-12)
