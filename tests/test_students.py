"""Tests of sim.mechanisms.students: expected values are derived by hand or in closed form."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms import students as S

# ----------------------------------------------------------------------------------------------------
# intake from births

# hand-made census table: 2 counties, single ages 0..6 at the 2020 census
CENSUS = np.array(
    [
        [100, 110, 120, 130, 140, 150, 160],
        [300, 310, 320, 330, 340, 350, 360],
    ],
    dtype=float,
)


def test_census_entry_year():
    # aged a on 2020-11-01 -> grade 1 in the autumn of 2020 + 6 - a
    assert S.census_entry_year(np.array([0, 1, 6, 14])).tolist() == [2026, 2025, 2020, 2012]


@pytest.mark.parametrize(("year", "age"), [(2020, 6), (2021, 5), (2024, 2), (2026, 0)])
def test_intake_from_census_cohorts(year, age):
    got = S.expected_intake_from_births(year, CENSUS, np.array([-0.05, 0.0, 0.03]))
    assert got.shape == (3, 2)
    np.testing.assert_array_equal(got, np.broadcast_to(CENSUS[:, age], (3, 2)))


def test_intake_before_the_census_cohorts_is_an_error():
    with pytest.raises(ValueError, match="no census cohort"):
        S.expected_intake_from_births(2019, CENSUS, 0.0)


def test_projection_with_zero_trend_is_constant():
    # births of 2021 (16.0万) shared by the age-0 counts 100 : 300
    for year in (2027, 2030, 2035):
        got = S.expected_intake_from_births(year, CENSUS, 0.0)
        np.testing.assert_allclose(got, [[40_000.0, 120_000.0]])


def test_projection_with_trend_by_hand():
    # entry 2029 <- births 2023 = 160,000 * exp(-0.1 * 2)
    got = S.expected_intake_from_births(2029, CENSUS, np.array([[-0.1], [0.0]]))
    b = 160_000 * math.exp(-0.2)
    np.testing.assert_allclose(got, np.array([[0.25 * b, 0.75 * b], [40_000.0, 120_000.0]]))


def test_projection_anchors():
    np.testing.assert_allclose(S.projected_region_births(2021, 0.3), [[160_000.0]])
    # the 2019 -> 2021 collapse: log change ln(16.0/20.54)/2 per year reproduces 20.54万 in 2019
    trend = math.log(160_000 / 205_400) / 2
    np.testing.assert_allclose(S.projected_region_births(2019, trend), [[205_400.0]])


def test_realised_intake_mean():
    rng = np.random.default_rng(0)
    lam = np.full((4000, 3), 250.0)
    x = S.realise_intake(lam, rng)
    assert x.dtype == np.int64
    assert abs(x.mean() - 250.0) < 4 * math.sqrt(250.0 / x.size)


# ----------------------------------------------------------------------------------------------------
# promotion and consolidation


def test_promote_without_dropout_by_hand():
    rng = np.random.default_rng(1)
    stock = np.arange(1, 10).reshape(1, 1, 9)  # grade g holds g pupils
    f = S.promote(stock, 1.0, rng)
    assert f.dropouts.sum() == 0
    np.testing.assert_array_equal(f.promoted[0, 0], [0, 1, 2, 3, 4, 5, 0, 7, 8])
    np.testing.assert_array_equal(f.graduates[0, 0], [0, 0, 0, 0, 0, 6, 0, 0, 9])
    np.testing.assert_array_equal(stock, np.arange(1, 10).reshape(1, 1, 9))


def test_promote_with_zero_survival():
    rng = np.random.default_rng(2)
    stock = np.full((2, 3, 9), 5)
    f = S.promote(stock, np.zeros((2, 1)), rng)
    np.testing.assert_array_equal(f.dropouts[..., :8], 5)
    assert f.dropouts[..., 8].sum() == 0
    np.testing.assert_array_equal(f.graduates[..., 8], 5)
    assert f.promoted.sum() == 0


def test_consolidation_rate_is_reproduced():
    # survival c^(1/8) at each of the 8 transitions -> expected completers N c; completers ~ Binomial(N, c)
    rng = np.random.default_rng(3)
    d, s, n, c = 100, 20, 1000, 0.96
    stock = np.zeros((d, s, 9), dtype=np.int64)
    stock[..., 0] = n
    surv = np.full((d, 1), S.survival_per_transition(c))
    completers = np.zeros((d, s), dtype=np.int64)
    for _ in range(9):
        f = S.promote(stock, surv, rng)
        stock = f.promoted.copy()
        stock[..., 6] = f.graduates[..., 5]  # the cohort's junior entry in the same (nine-year) school
        completers += f.graduates[..., 8]
    assert stock.sum() == 0
    se = math.sqrt(n * c * (1 - c) / (d * s))
    assert abs(completers.mean() - n * c) < 4 * se


def test_survival_per_transition_closed_form():
    np.testing.assert_allclose(S.survival_per_transition(0.96) ** 8, 0.96)
    with pytest.raises(ValueError):
        S.survival_per_transition(1.5)


# ----------------------------------------------------------------------------------------------------
# assignment to sections


def test_assign_intake_conserves_and_respects_groups():
    rng = np.random.default_rng(4)
    county = np.array([0, 0, 0, 1, 1, 1])
    loc = np.array([0, 2, 2, 1, 2, 1])
    primary = np.array([True, True, True, True, True, False])
    weights = np.array([1.0, 0.0, 0.0, 2.0, 1.0, 5.0])  # county 0 rural: all zero -> equal split
    intake = np.zeros((500, 2, 3), dtype=np.int64)
    intake[:, 0, 0] = 10
    intake[:, 0, 2] = 40
    intake[:, 1, 1] = 30
    intake[:, 1, 2] = 7
    out = S.assign_intake(intake, weights, county, loc, rng, section_is_primary=primary)
    np.testing.assert_array_equal(out[:, 0], 10)
    np.testing.assert_array_equal(out[:, 1] + out[:, 2], 40)
    np.testing.assert_array_equal(out[:, 3], 30)  # the only primary town section of county 1
    np.testing.assert_array_equal(out[:, 4], 7)
    assert out[:, 5].sum() == 0  # not primary
    assert abs(out[:, 1].mean() - 20) < 4 * math.sqrt(40 * 0.25 / 500)


def test_assign_intake_without_section_is_an_error():
    rng = np.random.default_rng(5)
    intake = np.zeros((1, 1, 3), dtype=np.int64)
    intake[0, 0, 0] = 3  # urban entrants, but only a rural section
    with pytest.raises(ValueError, match="no primary section"):
        S.assign_intake(intake, np.ones(1), np.array([0]), np.array([2]), rng)


def test_junior_entry():
    rng = np.random.default_rng(6)
    county = np.array([0, 0, 1, 1])
    junior = np.array([False, True, True, True])
    grads = np.array([[12, 30]] * 300)
    out = S.junior_entry(grads, np.array([9.0, 1.0, 1.0, 2.0]), county, junior, rng)
    np.testing.assert_array_equal(out[:, 0], 0)
    np.testing.assert_array_equal(out[:, 1], 12)
    np.testing.assert_array_equal(out[:, 2] + out[:, 3], 30)
    assert abs(out[:, 2].mean() - 10) < 4 * math.sqrt(30 * (1 / 3) * (2 / 3) / 300)
    with pytest.raises(ValueError, match="no junior section"):
        S.junior_entry(np.array([[1, 0]]), np.ones(2), np.array([0, 1]), np.array([False, True]), rng)


def test_split_by_location_conserves():
    rng = np.random.default_rng(7)
    intake = rng.integers(0, 100, size=(5, 4))
    share = np.array([[0.2, 0.3, 0.5], [1, 0, 0], [0, 0, 1], [0.5, 0.5, 0]])
    out = S.split_by_location(intake, share, rng)
    np.testing.assert_array_equal(out.sum(-1), intake)
    assert np.all(out[:, 1, 1:] == 0) and np.all(out[:, 3, 2] == 0)


# ----------------------------------------------------------------------------------------------------
# conservation and drift (Hypothesis)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(1, 4),
    s=st.integers(1, 12),
    c=st.integers(1, 4),
    survival=st.floats(0, 1),
    drift=st.floats(0, 1),
)
def test_student_flows_conserve(seed, d, s, c, survival, drift):
    rng = np.random.default_rng(seed)
    stock = rng.integers(0, 40, size=(d, s, 9))
    loc = rng.integers(0, 3, size=s)
    county = rng.integers(0, c, size=s)
    primary = rng.random(s) < 0.6
    junior = ~primary
    stock[:, junior, :6] = 0
    stock[:, primary, 6:] = 0

    f = S.promote(stock, np.full((d, 1), survival), rng)
    assert min(f.promoted.min(), f.dropouts.min(), f.graduates.min()) >= 0
    exits = f.promoted.sum(-1) + f.dropouts.sum(-1) + f.graduates.sum(-1)
    np.testing.assert_array_equal(stock.sum(-1), exits)

    g6 = S.primary_graduates_by_county(f.graduates, county, c)
    has_junior = np.bincount(county[junior], minlength=c) > 0
    g6 = g6 * has_junior[None, :]
    entry7 = S.junior_entry(g6, rng.random(s), county, junior, rng)
    np.testing.assert_array_equal(S.county_totals(entry7, county, c), g6)
    assert np.all(entry7[:, primary] == 0)

    moved = S.urbanisation_drift(stock, loc, county, np.full((d, 1), drift), rng)
    after = stock - moved.moved_out + moved.moved_in
    assert after.min() >= 0
    np.testing.assert_array_equal(S.county_totals(after, county, c), S.county_totals(stock, county, c))
    assert np.all(moved.moved_out[:, loc != S.RURAL] == 0)
    assert np.all(moved.moved_in[:, loc == S.RURAL] == 0)
    assert np.all(moved.moved_in[stock == 0] == 0)  # pupils only join sections teaching their grade


def test_zero_drift_no_flows():
    rng = np.random.default_rng(8)
    stock = np.full((2, 3, 9), 9)
    f = S.urbanisation_drift(stock, np.array([2, 1, 0]), np.zeros(3, int), 0.0, rng)
    assert f.moved_out.sum() == 0 and f.moved_in.sum() == 0


def test_drift_mean_by_hand():
    # 200 rural grade-3 pupils, rate 0.05 -> 10 movers on average, split 1:3 by the receivers' grade-3 pupils
    rng = np.random.default_rng(9)
    d = 3000
    stock = np.zeros((d, 3, 9), dtype=np.int64)
    stock[:, 0, 2] = 200
    stock[:, 1, 2] = 10
    stock[:, 2, 2] = 30
    f = S.urbanisation_drift(stock, np.array([2, 1, 0]), np.zeros(3, int), 0.05, rng)
    assert abs(f.moved_out[:, 0, 2].mean() - 10) < 4 * math.sqrt(200 * 0.05 * 0.95 / d)
    # arrivals in section 1 ~ Binomial(200, 0.05 * 0.25)
    assert abs(f.moved_in[:, 1, 2].mean() - 2.5) < 4 * math.sqrt(200 * 0.0125 * 0.9875 / d)


def test_allocate_within_groups_is_multinomial_over_groups_of_different_sizes():
    """Groups of 1, 3 and 6 sections (three size buckets): mean and variance of Multinomial(n, w / W)."""
    rng = np.random.default_rng(5)
    group = np.array([2, 0, 1, 0, 1, 1, 2, 2, 2, 2, 2, -1])
    w = np.array([1.0, 2.0, 1.0, 3.0, 0.0, 2.0, 4.0, 1.0, 1.0, 0.5, 2.5, 9.0])
    reps = 30_000
    n = np.tile(np.array([[[5], [4], [9]]]), (reps, 1, 1))
    x = S.allocate_within_groups(n, w, group, rng)[..., 0].astype(float)
    assert np.all(x[:, 11] == 0) and np.all(x[:, 4] == 0)
    for g, total in enumerate((5, 4, 9)):
        members = group == g
        np.testing.assert_array_equal(x[:, members].sum(1), total)
        p = w[members] / w[members].sum()
        mean, var = total * p, total * p * (1 - p)
        assert np.all(np.abs(x[:, members].mean(0) - mean) <= 5 * np.sqrt(var / reps) + 1e-12)
        assert np.all(np.abs(x[:, members].var(0) - var) <= 5 * np.sqrt(2 / reps) * var + 1e-12)


def test_group_members_by_hand():
    # unsorted groups, one section outside every group (-1), an empty group (1)
    sections, start, size = S.group_members(np.array([2, 0, -1, 2, 0, 3]), 4)
    assert sections.tolist() == [1, 4, 0, 3, 5]
    assert start.tolist() == [0, 2, 2, 4]
    assert size.tolist() == [2, 0, 2, 1]
    with pytest.raises(ValueError, match="section groups must be in -1"):
        S.group_members(np.array([0, 4]), 4)


def test_allocate_within_groups_errors():
    rng = np.random.default_rng(0)
    n = np.array([[[0], [3]]])
    with pytest.raises(ValueError, match="no section of positive weight there"):
        S.allocate_within_groups(n, np.array([1.0, 0.0]), np.array([0, 1]), rng)
    with pytest.raises(ValueError, match="no receiving section"):
        S.allocate_within_groups(n, np.array([1.0, 1.0]), np.array([-1, -1]), rng)
    with pytest.raises(ValueError, match="non-negative"):
        S.allocate_within_groups(n, np.array([1.0, -1.0]), np.array([0, 1]), rng)


def test_drift_accepts_integer_and_broadcast_weights():
    # the same law whatever the form of the weights: integer (D, S, B) or float (S,)
    stock = np.zeros((4000, 3, 2), dtype=np.int64)
    stock[:, 0] = [50, 20]
    for weights in (np.broadcast_to(np.array([0, 1, 3])[None, :, None], (4000, 3, 2)), np.array([0.0, 1.0, 3.0])):
        f = S.drift_within_county(stock, np.array([2, 1, 0]), np.zeros(3, int), 0.1, weights,
                                  np.random.default_rng(2))
        np.testing.assert_array_equal(f.moved_in.sum(axis=1), f.moved_out.sum(axis=1))
        # arrivals in section 2 ~ Binomial(50, 0.1 · 3/4) in slot 0
        assert abs(f.moved_in[:, 2, 0].mean() - 3.75) < 4 * math.sqrt(50 * 0.075 * 0.925 / 4000)


# ------------------------------------------------------------------------------------------------------------
# the dropout hazard and the consolidation rate measured from the flows (issue 16, T7)


def test_dropout_hazard_anchored_in_2020_flat_before_and_falling_after():
    h = S.hazard_from_consolidation(np.array([0.9569]))
    assert h[0] == pytest.approx(1 - 0.9569 ** (1 / 8))  # 0.00549
    m = np.array([[0.5, 1.0, 2.0]])
    k = np.array([0.25])
    np.testing.assert_allclose(S.dropout_hazard(2020, h, k, m), h[0] * m)
    np.testing.assert_allclose(S.dropout_hazard(2012, h, k, m), h[0] * m)  # before 2020: the 2020 level
    np.testing.assert_allclose(S.dropout_hazard(2024, h, k, m), h[0] * m * math.exp(-1.0))  # 4 years × 0.25
    assert S.dropout_hazard(2020, np.array([0.6]), k, m)[0, 2] == 1.0  # capped at 1
    with pytest.raises(ValueError):
        S.dropout_hazard(2020, h, np.array([-0.1]), m)


def test_county_multipliers_have_mean_one_and_no_spread_at_sd_zero():
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(S.county_dropout_multiplier(np.zeros(3), 4, rng), np.ones((3, 4)))
    m = S.county_dropout_multiplier(np.full(200, 0.5), 500, rng)
    # log-normal exp(0.5 z − 0.125): mean 1, sd sqrt(e^0.25 − 1) = 0.533; 100,000 values → se of the mean 0.0017
    assert abs(m.mean() - 1.0) < 0.01
    assert abs(np.log(m).std() - 0.5) < 0.01


def test_start_cohort_survival_by_hand():
    # hazards 0.1 one year before the step, 0.2 two years before, 0 earlier: grade 1 → 1, grade 2 → 0.9,
    # grade 3 and later → 0.9 × 0.8 = 0.72
    h = np.zeros((1, 1, 8))
    h[..., 0], h[..., 1] = 0.1, 0.2
    np.testing.assert_allclose(S.start_cohort_survival(h)[0, 0], [1, 0.9, 0.72, 0.72, 0.72, 0.72, 0.72, 0.72, 0.72])


def test_advance_cohort_survival_by_hand():
    surv = np.array([[[1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7]]])
    pupils = np.array([[[100, 50, 0, 10, 10, 10, 10, 10, 10]]], float)
    drop = np.array([[[5, 10, 0, 0, 0, 0, 0, 1, 0]]], float)
    out = S.advance_cohort_survival(surv, pupils, drop, np.array([[0.25]]))
    # grade 2 ← 1 × 95/100; grade 3 ← 0.9 × 40/50; grade 4 ← 0.8 × (1 − 0.25): no pupils, the expected survival;
    # grade 9 ← 0.8 × 9/10; grade 1 new → 1
    np.testing.assert_allclose(out[0, 0], [1, 0.95, 0.72, 0.6, 0.8, 0.8, 0.8, 0.8, 0.72])


def test_measured_consolidation_is_completers_over_entrants_for_a_simulated_cohort():
    # one entry cohort followed through 9 years at per-section hazards that differ by section and year: the
    # tracked share equals completers ÷ entrants exactly (county sums; the cohort moves to junior in its county)
    rng = np.random.default_rng(8)
    d, s, n = 4, 3, 2000
    county = np.array([0, 0, 1])
    stock = np.zeros((d, s, 9), dtype=np.int64)
    stock[..., 0] = n
    entrants = np.stack([stock[:, county == c, 0].sum(1) for c in (0, 1)], axis=1).astype(float)
    surv = np.ones((d, 2, 9))
    for year in range(9):
        hazard = np.array([[0.01 * (year + 1), 0.03]] * d)
        f = S.promote(stock, 1.0 - hazard[:, county], rng)
        by_grade = np.stack([np.stack([stock[:, county == c, g].sum(1) for c in (0, 1)], axis=1)
                             for g in range(9)], axis=-1)
        dropped = np.stack([np.stack([f.dropouts[:, county == c, g].sum(1) for c in (0, 1)], axis=1)
                            for g in range(9)], axis=-1)
        if year == 8:
            completers = np.stack([f.graduates[:, county == c, 8].sum(1) for c in (0, 1)], axis=1)
            np.testing.assert_allclose(surv[..., 8], completers / entrants, rtol=1e-12)
        surv = S.advance_cohort_survival(surv, by_grade, dropped, hazard)
        stock = f.promoted.copy()
        stock[..., 6] = f.graduates[..., 5]
    # hazards of 0.01…0.08 over the 8 transitions of county 0 → expected completion ∏(1 − 0.01 j) = 0.7305
    assert abs(float(np.mean(completers[:, 0] / entrants[:, 0])) - np.prod(1 - 0.01 * np.arange(1, 9))) < 0.01


# ------------------------------------------------------------------------------------------------------------
# the dropout hazard by level and its path before 2020 (issue 13 item 5)


def test_level_hazards_keep_the_anchor_and_the_ratios():
    c = np.array([0.9569, 0.9569, 0.90, 0.9569])
    r_t = np.array([1.0, 2.0, 6.9, 0.0])
    r_j = np.array([1.0, 3.1, 6.4, 0.0])
    h = S.level_hazards(c, r_t, r_j)
    assert h.shape == (4, 3)
    # the product over the 8 transitions (5 primary, 1 transition, 2 junior) is the consolidation rate
    np.testing.assert_allclose((1 - h[:, 0]) ** 5 * (1 - h[:, 1]) * (1 - h[:, 2]) ** 2, c, rtol=1e-12)
    np.testing.assert_allclose(h[:, 1], r_t * h[:, 0], rtol=1e-12)
    np.testing.assert_allclose(h[:, 2], r_j * h[:, 0], rtol=1e-12)
    # equal ratios: the single hazard 1 − c^(1/8); no transition or junior hazard: the primary steps alone,
    # 1 − c^(1/5)
    np.testing.assert_allclose(h[0], 1 - 0.9569 ** (1 / 8), rtol=1e-12)
    np.testing.assert_allclose(h[3], [1 - 0.9569 ** (1 / 5), 0, 0], rtol=1e-12, atol=1e-15)
    # the junior steps carry more than the primary ones: first-order h ≈ −ln c / (5 + r_t + 2 r_j)
    assert h[1, 0] == pytest.approx(-math.log(0.9569) / (5 + 2.0 + 6.2), rel=0.02)
    # a rate of 1 is no dropout at all, exactly, on any path
    assert (S.level_hazards(np.ones(2), r_t[1:3], r_j[1:3], np.array([0.0, 0.164])) == 0.0).all()
    with pytest.raises(ValueError):
        S.level_hazards(c, -r_t, r_j)


def test_dropout_hazard_rises_backwards_to_2011_and_holds_before():
    h = np.array([[0.002, 0.006, 0.01]])  # by level
    m = np.array([[0.5, 2.0]])
    k, k_b = np.array([0.25]), np.array([0.1])
    at = {y: S.dropout_hazard(y, h, k, m, k_b) for y in range(2005, 2025)}
    assert at[2020].shape == (1, 2, 3)
    np.testing.assert_allclose(at[2020], h[:, None, :] * m[..., None])
    # closed form: 9 years × 0.1 back to 2011, held before; 4 years × 0.25 down after 2020
    np.testing.assert_allclose(at[2012], h[:, None, :] * m[..., None] * math.exp(0.8))
    np.testing.assert_allclose(at[2011], h[:, None, :] * m[..., None] * math.exp(0.9))
    np.testing.assert_allclose(at[2005], at[2011])
    np.testing.assert_allclose(at[2024], h[:, None, :] * m[..., None] * math.exp(-1.0))
    # monotone: never rising from one year to the next
    years = sorted(at)
    assert all((at[b] <= at[a]).all() for a, b in itertools.pairwise(years))
    # without a rise the path before 2020 is flat (the former mechanism), capped at 1
    np.testing.assert_allclose(S.dropout_hazard(2012, h, k, m), h[:, None, :] * m[..., None])
    assert S.dropout_hazard(2011, h, k, m, np.array([1.0]))[0, 1, 2] == 1.0
    with pytest.raises(ValueError):
        S.dropout_hazard(2012, h, k, m, np.array([-0.1]))


def test_start_cohort_survival_by_level_by_hand():
    # hazards by level (primary, transition, junior) and year before the step (index 0 = one year before): the
    # cohort in grade index g made transition g − 1 − j in year j, whose level is LEVEL_OF_TRANSITION
    h = np.zeros((1, 1, 3, 8))
    h[0, 0, 0, :] = 0.01   # primary, every year
    h[0, 0, 1, 0] = 0.10   # transition, one year before
    h[0, 0, 1, 1] = 0.20   # transition, two years before
    h[0, 0, 2, 0] = 0.30   # junior, one year before
    out = S.start_cohort_survival(h)[0, 0]
    p = 0.99
    expected = [1, p, p**2, p**3, p**4, p**5,
                p**5 * 0.9,        # grade 7: transition 5 one year before, primary 4…0 before that
                p**5 * 0.8 * 0.7,  # grade 8: junior 6 one year before (0.3), transition two years before (0.2)
                p**5 * 0.7]        # grade 9: junior 7 one year before (0.3), junior 6 (0), transition (0)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_promote_by_level_drops_only_where_the_level_says():
    # survival 1 in primary and at the transition, 0 at the junior steps: grades 7 and 8 all drop, grade 9 never
    stock = np.full((2, 3, 9), 4)
    surv = np.broadcast_to(np.array([1.0, 1.0, 0.0]), (2, 3, 3))
    f = S.promote(stock, surv, np.random.default_rng(0))
    np.testing.assert_array_equal(f.dropouts[0, 0], [0, 0, 0, 0, 0, 0, 4, 4, 0])
    np.testing.assert_array_equal(f.graduates[0, 0], [0, 0, 0, 0, 0, 4, 0, 0, 4])
    # the transition level alone: grade 6 drops, no primary completers
    f = S.promote(stock, np.broadcast_to(np.array([1.0, 0.0, 1.0]), (2, 3, 3)), np.random.default_rng(0))
    np.testing.assert_array_equal(f.dropouts[1, 2], [0, 0, 0, 0, 0, 4, 0, 0, 0])
    with pytest.raises(ValueError):
        S.promote(stock, np.ones((2, 3, 2)), np.random.default_rng(0))


def test_advance_cohort_survival_by_level_uses_each_grades_level():
    surv = np.ones((1, 1, 9))
    pupils = np.zeros((1, 1, 9))  # no pupils anywhere: every grade keeps its level's expected survival
    out = S.advance_cohort_survival(surv, pupils, pupils, np.array([[[0.1, 0.2, 0.3]]]))
    np.testing.assert_allclose(out[0, 0], [1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.7, 0.7])


def test_level_hazards_anchor_the_cohort_completing_in_2020_on_the_path():
    # the cohort completing in 2020 made transition j in 2012 + j: rebuild its hazards from dropout_hazard (one
    # county, multiplier 1) and multiply the survivals; the product is the consolidation rate
    c, r_t, r_j, k_b = np.array([0.9569, 0.90]), np.array([2.0, 6.9]), np.array([3.1, 6.4]), np.array([0.066, 0.164])
    ref = S.level_hazards(c, r_t, r_j, k_b)
    kept = np.ones(2)
    for j in range(S.TRANSITIONS):
        h = S.dropout_hazard(2012 + j, ref, np.zeros(2), np.ones((2, 1)), k_b)[:, 0, S.LEVEL_OF_TRANSITION[j]]
        kept *= 1 - h
    np.testing.assert_allclose(kept, c, rtol=1e-12)
    # the 2020 hazard is then below the one of a flat path (the cohort's hazards were higher before 2020)
    assert (ref < S.level_hazards(c, r_t, r_j)).all()
    np.testing.assert_allclose(S.level_hazards(c, r_t, r_j, 0.0), S.level_hazards(c, r_t, r_j), rtol=1e-12)


# ------------------------------------------------------------------------------------------ census readings


def test_reading_weights_are_a_flat_dirichlet_by_stick_breaking():
    from scipy import stats

    from sim.distributions import sample
    from sim.parameters import PARAMETERS

    rng = np.random.default_rng(5)
    n = 20_000
    births = sample(PARAMETERS["students.census_reading_births"].default, rng.random(n))
    monotone = sample(PARAMETERS["students.census_reading_monotone"].default, rng.random(n))
    w = S.reading_weights(births, monotone)
    assert w.shape == (n, 3)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    # each weight of a Dirichlet(1, 1, 1) is Beta(1, 2) (the marginal of a flat Dirichlet of three)
    for k in range(3):
        assert stats.kstest(w[:, k], stats.beta(1, 2).cdf).pvalue > 1e-3, k
    assert S.reading_weights(0.0, 0.0).tolist() == [[1.0, 0.0, 0.0]]
    assert S.reading_weights(0.0, 1.0).tolist() == [[0.0, 1.0, 0.0]]
    assert S.reading_weights(1.0, 0.3).tolist() == [[0.0, 0.0, 1.0]]


def test_mixed_intake_is_the_weighted_intake_of_each_reading():
    readings = np.stack([np.full((2, 20), 100.0), np.full((2, 20), 200.0), np.full((2, 20), 400.0)])
    readings[:, 1, 5] = [10.0, 20.0, 40.0]  # county 1, age 5 (entry 2021)
    weights = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.25, 0.25]])
    got = S.expected_intake_mixed(2021, readings, weights, np.zeros(3))
    np.testing.assert_allclose(got, [[100.0, 10.0], [400.0, 40.0], [200.0, 20.0]])
    with pytest.raises(ValueError, match="do not match readings"):
        S.expected_intake_mixed(2021, readings, weights[:, :2], np.zeros(3))


def test_a_reading_no_draw_weighs_is_not_computed():
    # one-hot weights (the pinned scenarios): the unweighted readings add nothing; a NaN reading shows it is skipped
    readings = np.stack([np.full((2, 20), 100.0), np.full((2, 20), np.nan), np.full((2, 20), 400.0)])
    weights = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    got = S.expected_intake_mixed(2021, readings, weights, np.zeros(2))
    np.testing.assert_array_equal(got, [[100.0, 100.0], [400.0, 400.0]])
    with pytest.raises(ValueError, match="must sum to 1"):
        S.expected_intake_mixed(2021, readings, np.zeros((2, 3)), np.zeros(2))
