"""Tests of sim.mechanisms.quota: norms, verification calendar, vacancies, redeployment, group allocation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms.quota import (
    adjust_establishment,
    allocate_largest_remainder,
    establishment_quota,
    group_sum,
    hypergeometric_within_groups,
    is_verification_year,
    multinomial_within_groups,
    redeploy_surplus,
    section_staffing_quota,
    staffing_norm_met,
    staffing_quota,
    vacancies_and_surplus,
)

NORM = np.array([19.0, 13.5])  # students per staff post, primary and junior


def test_staffing_quota_from_hand_made_students():
    # county 0: 190 primary (190/19 = 10 posts), 27 junior (27/13.5 = 2 posts)
    # county 1: 100 + 91 primary = 191 -> 10.05 -> 11 posts (rounded up), no junior -> 0
    students = np.array([[190, 27, 100, 91]])
    level = np.array([0, 1, 0, 0], dtype=np.int8)
    county = np.array([0, 0, 1, 1])
    quota = staffing_quota(students, level, county, 2, NORM)
    assert quota.shape == (1, 2, 2)
    np.testing.assert_array_equal(quota[0], [[10, 2], [11, 0]])


def test_staffing_quota_per_draw():
    students = np.array([[190], [191], [0]])
    quota = staffing_quota(students, np.array([0]), np.array([0]), 1, NORM)
    np.testing.assert_array_equal(quota[:, 0, 0], [10, 11, 0])


def test_section_quota_is_unrounded():
    q = section_staffing_quota(np.array([[19, 27]]), np.array([0, 1]), NORM)
    np.testing.assert_allclose(q, [[1.0, 2.0]])


def test_bad_norm_rejected():
    with pytest.raises(ValueError, match="students_per_staff"):
        staffing_quota(np.zeros((1, 1)), np.array([0]), np.array([0]), 1, np.array([19.0, 0.0]))


def test_verification_years():
    years = [y for y in range(2020, 2036) if is_verification_year(y, first_year=2025, every_years=3)]
    assert years == [2025, 2028, 2031, 2034]


def test_vacancies_and_surplus_hand_made():
    teachers = np.array([[[10, 5], [3, 8]]])
    quota = np.array([[[12, 5], [3, 6]]])
    vacancies, surplus = vacancies_and_surplus(teachers, quota)
    np.testing.assert_array_equal(vacancies, [[[2, 0], [0, 0]]])
    np.testing.assert_array_equal(surplus, [[[0, 0], [0, 2]]])


def test_vacancies_and_surplus_fractional_quota():
    # quota 7.5 posts: 6 teachers -> 2 vacant posts (ceil 1.5); 9 teachers -> 1 surplus teacher (floor 1.5)
    vacancies, surplus = vacancies_and_surplus(np.array([[6, 9]]), np.array([[7.5, 7.5]]))
    np.testing.assert_array_equal(vacancies, [[2, 0]])
    np.testing.assert_array_equal(surplus, [[0, 1]])


def _redeploy_layout():
    # county 0: three primary sections and one junior section; county 1: one primary section
    county = np.array([0, 0, 0, 0, 1])
    level = np.array([0, 0, 0, 1, 0])
    teachers = np.array([[12, 5, 8, 3, 4]])
    quota = np.array([[10.0, 8.0, 8.0, 6.0, 2.0]])
    return county, level, teachers, quota


def test_redeploy_full_share_moves_surplus_to_same_level_vacancy():
    county, level, teachers, quota = _redeploy_layout()
    # county 0 primary: surplus 2 in section 0, vacancy 3 in section 1 -> 2 move
    # junior vacancy (section 3) is another level; county 1's surplus (2) has no vacancy in its county.
    out, inflow = redeploy_surplus(teachers, quota, county, level, 2, 1.0)
    np.testing.assert_array_equal(out, [[2, 0, 0, 0, 0]])
    np.testing.assert_array_equal(inflow, [[0, 2, 0, 0, 0]])


def test_redeploy_half_share_and_zero_share():
    county, level, teachers, quota = _redeploy_layout()
    out, inflow = redeploy_surplus(teachers, quota, county, level, 2, 0.5)  # floor(0.5 * 2) = 1
    np.testing.assert_array_equal(out, [[1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(inflow, [[0, 1, 0, 0, 0]])
    out, inflow = redeploy_surplus(teachers, quota, county, level, 2, 0.0)
    assert out.sum() == 0 and inflow.sum() == 0


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_sections=st.integers(1, 12),
    n_draws=st.integers(1, 3),
    share=st.floats(0, 1),
)
def test_redeploy_conserves_and_stays_non_negative(data, n_sections, n_draws, share):
    county = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n_sections, max_size=n_sections)))
    level = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n_sections, max_size=n_sections)))
    size = n_draws * n_sections
    teachers = np.array(data.draw(st.lists(st.integers(0, 50), min_size=size, max_size=size)))
    quota = np.array(data.draw(st.lists(st.floats(0, 50), min_size=size, max_size=size)))
    teachers = teachers.reshape(n_draws, n_sections)
    quota = quota.reshape(n_draws, n_sections)
    out, inflow = redeploy_surplus(teachers, quota, county, level, 3, share)
    group = county * 2 + level
    np.testing.assert_array_equal(group_sum(out, group, 6), group_sum(inflow, group, 6))
    vacancy, surplus = vacancies_and_surplus(teachers, quota)
    assert np.all(out >= 0) and np.all(inflow >= 0)
    assert np.all(out <= surplus) and np.all(inflow <= vacancy)
    assert np.all(teachers - out + inflow >= 0)


def test_staffing_norm_met_per_county():
    teachers = np.array([[[10, 2], [10, 3], [0, 0]]])
    quota = np.array([[[10, 2], [11, 3], [0, 0]]])
    np.testing.assert_array_equal(staffing_norm_met(teachers, quota), [[True, False, True]])


def test_largest_remainder_hand_made():
    # 10 over three equal weights: 3.33 each -> floors 3, 3, 3; the one left-over unit goes to the first
    alloc = allocate_largest_remainder(np.array([[10]]), np.array([[1.0, 1.0, 1.0]]), np.array([0, 0, 0]), 1)
    np.testing.assert_array_equal(alloc, [[4, 3, 3]])
    # 7 over weights 1, 2, 4: 1, 2, 4 exactly
    alloc = allocate_largest_remainder(np.array([[7]]), np.array([[1.0, 2.0, 4.0]]), np.array([0, 0, 0]), 1)
    np.testing.assert_array_equal(alloc, [[1, 2, 4]])
    # 5 over weights 0.5, 0.3, 0.2 -> 2.5, 1.5, 1.0 -> floors 2, 1, 1, left 1 to the first (tie, order)
    alloc = allocate_largest_remainder(np.array([[5]]), np.array([[0.5, 0.3, 0.2]]), np.array([0, 0, 0]), 1)
    np.testing.assert_array_equal(alloc, [[3, 1, 1]])


def test_largest_remainder_rejects_total_without_weight():
    with pytest.raises(ValueError, match="no positive weight"):
        allocate_largest_remainder(np.array([[1, 0]]), np.array([[0.0, 1.0]]), np.array([0, 1]), 2)


def test_multinomial_within_groups_conserves_and_matches_mean():
    rng = np.random.default_rng(7)
    n_draws = 4000
    group = np.array([0, 0, 0, 1, 1])
    weights = np.broadcast_to([1.0, 3.0, 0.0, 2.0, 2.0], (n_draws, 5))
    totals = np.broadcast_to([40, 10], (n_draws, 2))
    alloc = multinomial_within_groups(totals, weights, group, 2, rng)
    np.testing.assert_array_equal(group_sum(alloc, group, 2), totals)
    assert np.all(alloc[:, 2] == 0)
    # section 1 of group 0: Binomial(40, 3/4), mean 30, sd sqrt(7.5); standard error of the mean below
    se = np.sqrt(40 * 0.75 * 0.25 / n_draws)
    assert abs(alloc[:, 1].mean() - 30.0) < 5 * se


def test_hypergeometric_within_groups_never_exceeds_pool():
    rng = np.random.default_rng(3)
    pool = np.array([[3, 0, 5, 2], [1, 1, 1, 1]])
    group = np.array([0, 0, 0, 1])
    picks = hypergeometric_within_groups(np.array([[8, 2], [3, 1]]), pool, group, 2, rng)
    assert np.all(picks <= pool)
    np.testing.assert_array_equal(group_sum(picks, group, 2), [[8, 2], [3, 1]])
    np.testing.assert_array_equal(picks[0], [3, 0, 5, 2])  # everything is picked
    with pytest.raises(ValueError, match="more individuals"):
        hypergeometric_within_groups(np.array([[9, 0]]), pool[:1], group, 2, rng)


# ---------------------------------------------------------------------------------------------------------
# law of the tree splitting (split_within_groups replaced the position-by-position conditional draws)


def test_split_within_groups_is_multinomial_in_mean_and_covariance():
    """Multinomial(n, p): mean n p_i, var n p_i (1 − p_i), cov −n p_i p_j; checked within 5 MC standard errors."""
    from sim.mechanisms.quota import split_within_groups

    w = np.array([3.0, 0.0, 1.0, 2.0, 4.0, 0.5, 1.0])  # group 0: 5 sections (one of zero weight), group 1: 2
    grp = np.array([0, 0, 0, 0, 0, 1, 1])
    reps, n0, n1 = 40_000, 7, 3
    tot = np.tile([[n0, n1]], (reps, 1))
    x = split_within_groups(tot, np.tile(w, (reps, 1)), grp, 2, np.random.default_rng(7)).astype(float)
    np.testing.assert_array_equal(x[:, :5].sum(1), n0)
    np.testing.assert_array_equal(x[:, 5:].sum(1), n1)
    assert np.all(x[:, 1] == 0)
    p = np.r_[w[:5] / w[:5].sum(), w[5:] / w[5:].sum()]
    n = np.r_[[n0] * 5, [n1] * 2]
    mean, var = n * p, n * p * (1 - p)
    se_mean = np.sqrt(var / reps)
    assert np.all(np.abs(x.mean(0) - mean) <= 5 * se_mean + 1e-12)
    # variance: se of a sample variance ≈ var · sqrt(2 / reps) (normal approximation, generous at 5 se)
    assert np.all(np.abs(x.var(0) - var) <= 5 * np.sqrt(2 / reps) * var + 1e-12)
    cov = np.cov(x[:, 0], x[:, 4])[0, 1]
    assert abs(cov - (-n0 * p[0] * p[4])) <= 5 * np.sqrt(n0 ** 2 * p[0] * p[4] * 2 / reps)


def test_split_within_groups_matches_the_multinomial_pmf():
    """Chi-square of the joint outcome of 3 over 3 sections against the multinomial pmf (10 cells)."""
    from itertools import product
    from math import factorial

    from scipy import stats

    from sim.mechanisms.quota import split_within_groups

    w = np.array([1.0, 2.0, 5.0])
    p = w / w.sum()
    reps, n = 30_000, 3
    x = split_within_groups(np.full((reps, 1), n), np.tile(w, (reps, 1)), np.zeros(3, int), 1,
                            np.random.default_rng(11))
    outcomes = [o for o in product(range(n + 1), repeat=3) if sum(o) == n]
    observed = np.array([np.sum(np.all(x == o, axis=1)) for o in outcomes])
    pmf = np.array([factorial(n) / np.prod([factorial(k) for k in o]) * np.prod(p ** np.array(o))
                    for o in outcomes])
    assert observed.sum() == reps
    assert stats.chisquare(observed, reps * pmf).pvalue > 1e-3


def test_split_without_replacement_matches_the_multivariate_hypergeometric():
    """Mean n K_i / N and variance n (K_i/N)(1 − K_i/N)(N − n)/(N − 1), within 5 MC standard errors."""
    from sim.mechanisms.quota import split_within_groups

    pool = np.array([4, 0, 1, 6, 2])
    reps, n, big_n = 40_000, 5, pool.sum()
    x = split_within_groups(np.full((reps, 1), n), np.tile(pool, (reps, 1)), np.zeros(5, int), 1,
                            np.random.default_rng(3), without_replacement=True).astype(float)
    assert np.all(x <= pool) and np.all(x.sum(1) == n)
    q = pool / big_n
    mean, var = n * q, n * q * (1 - q) * (big_n - n) / (big_n - 1)
    assert np.all(np.abs(x.mean(0) - mean) <= 5 * np.sqrt(var / reps) + 1e-12)
    assert np.all(np.abs(x.var(0) - var) <= 5 * np.sqrt(2 / reps) * var + 1e-12)


def test_group_sum_of_counts_on_sorted_groups_equals_the_bincount_sum():
    # the reduceat path (integer counts, sections ordered by group, an empty group) against a plain loop
    values = np.array([[1, 2, 3, 4, 5], [0, 0, 7, 1, 1]])
    group = np.array([0, 0, 2, 2, 3])
    expected = np.array([[3.0, 0.0, 7.0, 5.0], [0.0, 0.0, 8.0, 1.0]])
    out = group_sum(values, group, 4)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(group_sum(values.astype(float), group, 4), expected)  # the bincount path


# ---------------------------------------------------------------------------------------------------------
# guards and boundaries (mutation testing found them untested)


def test_verification_years_by_hand_for_a_first_year_not_a_multiple_of_the_period():
    assert [y for y in range(2020, 2036) if is_verification_year(y)] == [2025, 2028, 2031, 2034]  # defaults
    assert [y for y in range(2020, 2036) if is_verification_year(y, 2026, 4)] == [2026, 2030, 2034]
    assert [y for y in range(2020, 2036) if is_verification_year(y, 2026, 3)] == [2026, 2029, 2032, 2035]
    assert [y for y in range(2024, 2028) if is_verification_year(y, 2025, 1)] == [2025, 2026, 2027]
    with pytest.raises(ValueError):
        is_verification_year(2025, 2025, 0)


def test_staffing_norm_is_met_at_exactly_the_quota():
    quota = np.array([[[10.0, 4.0]]])
    assert staffing_norm_met(np.array([[[10, 4]]]), quota).tolist() == [[True]]
    assert staffing_norm_met(np.array([[[9, 4]]]), quota).tolist() == [[False]]
    assert staffing_norm_met(np.array([[[10, 3]]]), quota).tolist() == [[False]]


def test_redeploy_share_bounds():
    teachers = np.array([[12, 2]])
    quota = np.array([[8.0, 6.0]])
    county, level = np.array([0, 0]), np.array([0, 0])
    out, into = redeploy_surplus(teachers, quota, county, level, 1, 1.0)
    assert out.tolist() == [[4, 0]] and into.tolist() == [[0, 4]]
    out, _ = redeploy_surplus(teachers, quota, county, level, 1, 0.0)
    assert out.sum() == 0
    for bad in (-0.01, 1.01):
        with pytest.raises(ValueError):
            redeploy_surplus(teachers, quota, county, level, 1, bad)


def test_multinomial_within_groups_refuses_negative_or_missing_weights():
    rng = np.random.default_rng(0)
    group = np.array([0, 0, 1])
    with pytest.raises(ValueError):
        multinomial_within_groups(np.array([[3, 1]]), np.array([[1.0, -1.0, 1.0]]), group, 2, rng)
    with pytest.raises(ValueError):
        multinomial_within_groups(np.array([[-3, 1]]), np.array([[1.0, 1.0, 1.0]]), group, 2, rng)
    with pytest.raises(ValueError):  # a positive total with no weight in its group
        multinomial_within_groups(np.array([[3, 1]]), np.array([[0.0, 0.0, 1.0]]), group, 2, rng)
    # weights below 1 are weights: a group whose only weight is 0.5 takes all its total
    out = multinomial_within_groups(np.array([[3, 1]]), np.array([[0.0, 0.5, 0.2]]), group, 2, rng)
    assert out.tolist() == [[0, 3, 1]]
    # zero totals split into zeros whatever the weights
    assert multinomial_within_groups(np.array([[0, 0]]), np.array([[0.0, 0.0, 0.0]]), group, 2, rng).sum() == 0


def test_establishment_is_the_norm_times_the_multiplier_of_the_level() -> None:
    # 190 primary pupils at 1:19 = 10 posts, × 1.3 = 13; 135 junior pupils at 1:13.5 = 10 posts, × 1.2 = 12;
    # a second draw with multipliers 1 gives the norm itself
    students = np.array([[190.0, 135.0], [190.0, 135.0]])
    out = establishment_quota(students, np.array([0, 1]), NORM, np.array([[1.3, 1.2], [1.0, 1.0]]))
    np.testing.assert_allclose(out, [[13.0, 12.0], [10.0, 10.0]])
    with pytest.raises(ValueError):
        establishment_quota(students, np.array([0, 1]), NORM, np.array([[1.3]]))


def test_sticky_establishment_moves_the_given_share_of_the_gap() -> None:
    # a section holding 10 posts whose target is 6, another holding 4 whose target is 8 (gaps -4 and +4):
    # adjustment 0 keeps 10 and 4, 1 gives 6 and 8, 0.5 halves both gaps (8 and 6), 0.25 closes a quarter (9 and 5)
    current = np.array([[10.0, 4.0]] * 4)
    target = np.array([[6.0, 8.0]] * 4)
    out = adjust_establishment(current, target, np.array([0.0, 1.0, 0.5, 0.25]))
    np.testing.assert_allclose(out, [[10.0, 4.0], [6.0, 8.0], [8.0, 6.0], [9.0, 5.0]])
    assert adjust_establishment(current, target, 0.5).tolist() == [[8.0, 6.0]] * 4
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_establishment(current, target, np.array([0.0, 1.0, 1.5, 0.0]))
    with pytest.raises(ValueError, match="one value per draw"):
        adjust_establishment(current, target, np.array([0.5]))
    with pytest.raises(ValueError, match="same shape"):
        adjust_establishment(current, target[:, :1], 0.5)
