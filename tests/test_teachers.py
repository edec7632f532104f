"""Tests of sim.mechanisms.teachers: expected values derived by hand from the rule text or in closed form."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms import teachers as T
from sim.mechanisms.students import county_totals

# ----------------------------------------------------------------------------------------------------
# retirement-age schedule (2025 reform)


def test_schedule_file_has_the_rule_and_its_source():
    sched = T.load_retirement_schedule()
    assert {(r.sex, r.post) for r in sched.rules} == {("male", "any"), ("female", "professional"),
                                                      ("female", "worker")}
    for r in sched.rules:
        assert "渐进式延迟法定退休年龄的决定" in r.source and "gov.cn" in r.source


@pytest.mark.parametrize(
    ("year", "month", "sex", "post", "expected_months"),
    [
        # men, 60 -> 63, one month per 4 months of birth from 1965-01 (k = 1):
        (1965, 1, "male", "professional", 60 * 12 + 1),  # k = 1: ceil(1/4) = 1 -> 60 y 1 m (retires 2025-02)
        (1965, 4, "male", "professional", 60 * 12 + 1),  # k = 4: ceil(4/4) = 1
        (1965, 5, "male", "professional", 60 * 12 + 2),  # k = 5: ceil(5/4) = 2
        (1966, 1, "male", "professional", 60 * 12 + 4),  # k = 13: ceil(13/4) = 4 -> retires 2026-05
        (1976, 12, "male", "professional", 63 * 12),  # k = 144: 36 months, the last transitional cohort
        (1980, 1, "male", "professional", 63 * 12),
        (1980, 7, "male", "worker", 63 * 12),  # post is irrelevant for men
        (1964, 12, "male", "professional", 60 * 12),  # born before 1965: unaffected
        (1955, 6, "male", "professional", 60 * 12),
        # women in professional posts (teachers), 55 -> 58 from 1970-01:
        # born 1980 is still transitional for these women (the brief expected 58; the rule gives less):
        (1980, 1, "female", "professional", 55 * 12 + 31),  # k = 121: ceil(121/4) = 31 -> 57 y 7 m
        (1980, 12, "female", "professional", 55 * 12 + 33),  # k = 132: 33 -> 57 y 9 m
        (1970, 1, "female", "professional", 55 * 12 + 1),
        (1971, 6, "female", "professional", 55 * 12 + 5),  # k = 18: ceil(18/4) = 5 -> retires 2026-11
        (1969, 12, "female", "professional", 55 * 12),
        # women in worker posts, 50 -> 55, one month per 2 months from 1975-01:
        (1975, 1, "female", "worker", 50 * 12 + 1),
        (1976, 6, "female", "worker", 50 * 12 + 9),  # k = 18: ceil(18/2) = 9 -> retires 2027-03
        (1990, 1, "female", "worker", 55 * 12),
    ],
)
def test_retirement_age_by_hand(year, month, sex, post, expected_months):
    assert int(T.retirement_age_months(year, month, sex, post)) == expected_months


def test_woman_professional_born_1982_or_later_retires_at_58():
    assert np.all(T.retirement_age_months(np.array([1982, 1985, 1990]), 1, "female") == 58 * 12)
    # 1981-12: k = 144 -> 36 months, the last transitional cohort
    assert int(T.retirement_age_months(1981, 12, "female")) == 58 * 12


def test_retirement_age_is_vectorised_and_checks_month():
    years = np.array([1964, 1965, 1977])
    assert T.retirement_age_months(years, np.array([12, 1, 1]), "male").tolist() == [720, 721, 756]
    with pytest.raises(ValueError, match="birth_month"):
        T.retirement_age_months(1970, 13, "male")
    with pytest.raises(ValueError, match="valid"):
        T.retirement_age_months(1970, 1, "female", "soldier")


# ----------------------------------------------------------------------------------------------------
# retirement share by band


def test_share_before_the_reform_by_hand():
    # 2020: men retire at 60, women (professional) at 55. Band 55-59 men: ages 708..719 months reach 60 in the
    # year: 12/60. Band 60-64: nobody below 60 -> 1. Women: band 50-54 gives 12/60, band 55-59 is past -> 1.
    f = 0.6
    share = T.retirement_share_by_band(2020, f)
    expected = np.zeros(9)
    expected[6] = f * 12 / 60  # 50-54
    expected[7] = f * 1.0 + (1 - f) * 12 / 60  # 55-59
    expected[8] = 1.0
    np.testing.assert_allclose(share, expected, atol=1e-12)


def test_share_after_the_reform_by_hand():
    # 2045: men (born 1977+) retire at 63: band 60-64 has 36 months still in service, 12 retire -> 1/3.
    # Women (born 1982+) at 58: band 55-59 -> 12/36 = 1/3; band 60-64 -> 1.
    share = T.retirement_share_by_band(2045, np.array([[0.0], [1.0]]))
    assert share.shape == (2, 9)
    np.testing.assert_allclose(share[0], [0, 0, 0, 0, 0, 0, 0, 0, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(share[1], [0, 0, 0, 0, 0, 0, 0, 1 / 3, 1], atol=1e-12)


def _brute_force_hazard(year: int, sex: str, band: int) -> float:
    """Person-by-person count from the rule text, independent of the vectorised code."""
    t = year * 12 + 9 - 1
    first, step, cap, base = {"male": (1965 * 12, 4, 36, 720), "female": (1970 * 12, 4, 36, 660)}[sex]
    in_service = retiring = 0
    for m in range(12 * (20 + 5 * band), 12 * (25 + 5 * band)):
        b = t - m
        k = b - first + 1
        age = base + (min(cap, math.ceil(k / step)) if k > 0 else 0)
        if age - m >= 1:
            in_service += 1
            retiring += age - m <= 12
    return retiring / in_service if in_service else 1.0


@pytest.mark.parametrize("year", [2024, 2025, 2027, 2030, 2036, 2040])
def test_share_in_transition_years_matches_person_by_person_count(year):
    got_m = T.retirement_share_by_band(year, 0.0)
    got_f = T.retirement_share_by_band(year, 1.0)
    for band in range(9):
        assert got_m[band] == pytest.approx(_brute_force_hazard(year, "male", band), abs=1e-12)
        assert got_f[band] == pytest.approx(_brute_force_hazard(year, "female", band), abs=1e-12)


def test_share_rejects_bad_female_share():
    with pytest.raises(ValueError):
        T.retirement_share_by_band(2025, 1.2)


def test_retire_extremes():
    rng = np.random.default_rng(0)
    stock = np.full((2, 3, 9), 7)
    assert T.retire(stock, np.zeros(9), rng).sum() == 0
    np.testing.assert_array_equal(T.retire(stock, np.ones((2, 9)), rng), stock)


# ----------------------------------------------------------------------------------------------------
# ageing


def test_age_one_year_mean_and_top_band():
    rng = np.random.default_rng(1)
    n = 1000
    stock = np.full((50, 40, 9), n)
    flows = T.age_one_year(stock, rng)
    assert flows.leaving[..., 8].sum() == 0
    assert flows.entering[..., 0].sum() == 0
    np.testing.assert_array_equal(flows.entering[..., 1:], flows.leaving[..., :-1])
    cells = 50 * 40
    mean = flows.leaving[..., :8].mean(axis=(0, 1))
    se = math.sqrt(n * 0.2 * 0.8 / cells)
    assert np.all(np.abs(mean - 0.2 * n) < 4 * se)


# ----------------------------------------------------------------------------------------------------
# voluntary attrition


def test_zero_rates_no_flows():
    rng = np.random.default_rng(2)
    stock = np.full((3, 4, 9), 50)
    loc = np.array([0, 1, 2, 2])
    out = T.voluntary_attrition(stock, loc, np.zeros((3, 3)), np.ones(9), 500.0, np.full((3, 1), 0.2), rng)
    assert out.sum() == 0
    drift = T.rural_to_town_drift(stock, loc, np.zeros(4, int), np.zeros((3, 1)), np.ones(4), rng)
    assert drift.moved_out.sum() == 0 and drift.moved_in.sum() == 0


def test_constant_hazard_survival():
    # With hazard h and no entries, survivors after n years ~ Binomial(N, (1-h)^n): mean N(1-h)^n.
    rng = np.random.default_rng(3)
    d, s, n_years, big_n, h = 40, 10, 6, 2000, 0.08
    stock = np.full((d, s, 9), big_n)
    loc = np.zeros(s, dtype=int)
    rate = np.full((d, 3), h)
    for _ in range(n_years):
        stock = stock - T.voluntary_attrition(stock, loc, rate, np.ones(9), 0.0, 0.0, rng)
    p = (1 - h) ** n_years
    se = math.sqrt(big_n * p * (1 - p) / (d * s * 9))
    assert abs(stock.mean() - big_n * p) < 4 * se


@given(
    subsidies=st.lists(st.floats(0, 20_000, allow_nan=False), min_size=2, max_size=6),
    elasticity=st.floats(0, 1),
    rate=st.floats(0, 1),
    young=st.floats(1, 3),
)
def test_subsidy_effect_is_monotone_and_never_negative(subsidies, elasticity, rate, young):
    loc = np.array([0, 1, 2])
    rates = np.full((1, 3), rate)
    mult = T.age_multiplier(young)
    probs = [T.attrition_probability(loc, rates, mult, s, elasticity) for s in sorted(subsidies)]
    for lo, hi in itertools.pairwise(probs):
        assert np.all(hi[:, 2] <= lo[:, 2] + 1e-15)  # rural: never higher with a higher subsidy
        np.testing.assert_array_equal(hi[:, :2], lo[:, :2])  # urban and town: unaffected
    for p in probs:
        assert np.all((p >= 0) & (p <= 1))


def test_subsidy_halves_rural_rate_by_hand():
    # elasticity 0.25 per 1,000 CNY and 2,000 CNY/month: factor 1 - 0.25*2 = 0.5
    p = T.attrition_probability(np.array([2, 0]), np.array([0.1, 0.1, 0.1]), np.ones(9), 2000.0, 0.25)
    np.testing.assert_allclose(p[0, 0], 0.05)
    np.testing.assert_allclose(p[0, 1], 0.1)


def test_age_multiplier_by_hand():
    np.testing.assert_allclose(T.age_multiplier(2.0), [2, 5 / 3, 4 / 3, 1, 1, 1, 1, 1, 1])
    assert T.age_multiplier(np.array([1.5, 3.0])).shape == (2, 9)


# ----------------------------------------------------------------------------------------------------
# conservation (Hypothesis)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(1, 4),
    s=st.integers(1, 12),
    c=st.integers(1, 4),
    rate=st.floats(0, 1),
    share=st.floats(0, 1),
)
def test_teacher_flows_conserve(seed, d, s, c, rate, share):
    rng = np.random.default_rng(seed)
    stock = rng.integers(0, 30, size=(d, s, 9))
    loc = rng.integers(0, 3, size=s)
    county = rng.integers(0, c, size=s)
    weights = rng.integers(0, 3, size=(d, s)).astype(float)

    aged = T.age_one_year(stock, rng)
    new = stock - aged.leaving + aged.entering
    np.testing.assert_array_equal(new.sum(-1), stock.sum(-1))
    assert new.min() >= 0

    retired = T.retire(stock, T.retirement_share_by_band(2030, np.full(d, share)), rng)
    assert np.all((retired >= 0) & (retired <= stock))

    left = T.voluntary_attrition(stock, loc, np.full((d, 3), rate), T.age_multiplier(2.0), 300.0, 0.2, rng)
    assert np.all((left >= 0) & (left <= stock))

    drift = T.rural_to_town_drift(stock, loc, county, np.full((d, 1), rate), weights, rng)
    after = stock - drift.moved_out + drift.moved_in
    assert after.min() >= 0
    np.testing.assert_array_equal(county_totals(after, county, c), county_totals(stock, county, c))
    assert np.all(drift.moved_out[:, loc != 2] == 0) and np.all(drift.moved_in[:, loc == 2] == 0)
    assert np.all(drift.moved_in[np.broadcast_to(weights == 0, (d, s))] == 0)

    special = rng.integers(0, 20, size=(d, s, 3))
    sp = T.special_post_contract_end(special, np.full((d, 1), share), rng)
    np.testing.assert_array_equal(
        special.sum(-1), sp.continuing.sum(-1) + sp.converted_to_regular + sp.leaving
    )
    assert sp.leaving.min() >= 0 and sp.converted_to_regular.min() >= 0


def test_drift_only_to_same_county_and_proportional_to_weights():
    rng = np.random.default_rng(4)
    d = 4000
    stock = np.zeros((d, 4, 9), dtype=int)
    stock[:, 0, 0] = 100  # rural section of county 0
    loc = np.array([2, 1, 0, 1])
    county = np.array([0, 0, 0, 1])
    weights = np.array([5.0, 1.0, 3.0, 100.0])
    f = T.rural_to_town_drift(stock, loc, county, 0.1, weights, rng)
    assert f.moved_in[:, 3].sum() == 0  # other county
    mean_in = f.moved_in[:, :, 0].mean(axis=0)
    # expected movers 10; shares 1/4 to section 1 and 3/4 to section 2: Binomial(100, 0.025) and (100, 0.075)
    assert abs(mean_in[1] - 2.5) < 4 * math.sqrt(100 * 0.025 * 0.975 / d)
    assert abs(mean_in[2] - 7.5) < 4 * math.sqrt(100 * 0.075 * 0.925 / d)


# ----------------------------------------------------------------------------------------------------
# contracts and terms


def test_special_post_retention_mean():
    rng = np.random.default_rng(5)
    d, s, n, r = 200, 50, 40, 0.85
    stock = np.zeros((d, s, 3), dtype=int)
    stock[..., 2] = n
    stock[..., 0] = 7
    f = T.special_post_contract_end(stock, np.full((d, 1), r), rng)
    se = math.sqrt(n * r * (1 - r) / (d * s))
    assert abs(f.converted_to_regular.mean() - n * r) < 4 * se
    np.testing.assert_array_equal(f.continuing[..., 1], 7)
    assert f.continuing[..., 0].sum() == 0 and f.continuing[..., 2].sum() == 0


def test_dispatch_term_end_by_hand():
    stock = np.array([[[3, 5, 2]]])
    f = T.dispatch_term_end(stock)
    np.testing.assert_array_equal(f.departing, [[3]])
    np.testing.assert_array_equal(f.remaining, [[[5, 2, 0]]])
    np.testing.assert_array_equal(stock, [[[3, 5, 2]]])  # input untouched


def test_functions_do_not_mutate_inputs():
    rng = np.random.default_rng(6)
    stock = rng.integers(0, 10, size=(2, 3, 9))
    copy = stock.copy()
    T.age_one_year(stock, rng)
    T.retire(stock, np.full(9, 0.5), rng)
    T.rural_to_town_drift(stock, np.array([2, 1, 0]), np.zeros(3, int), 0.5, np.ones(3), rng)
    np.testing.assert_array_equal(stock, copy)


# ------------------------------------------------------------------------------------------------------------
# women and men retire at different ages: the share of women per band

# before the reform: women teachers at 55 (bands 50–54: 1/5, 55–59 and 60–64: all), men at 60
H_F = np.array([0.0] * 6 + [0.2, 1.0, 1.0])
H_M = np.array([0.0] * 7 + [0.2, 1.0])


def test_sex_hazards_before_the_reform_are_a_fifth_of_the_band_below_the_age_and_all_above():
    h_f, h_m = T.sex_hazards_by_band(2021)
    np.testing.assert_allclose(h_f, H_F)
    np.testing.assert_allclose(h_m, H_M)


def test_mixed_retirement_and_ageing_by_hand():
    """Band 50–54, 30% women: 0.3 · 0.2 = 0.06 retire; of the 0.94 left (0.24 women, 0.70 men) the men age
    on with 0.2: 0.14 / 0.94. Band 55–59: 0.3 + 0.7 · 0.2 = 0.44 retire, nobody ages (the men turning 60 retired).
    An empty composition (everyone retires) ages nobody."""
    share, ageing = T.mixed_retirement_and_ageing(np.full((1, 9), 0.3), H_F, H_M)
    assert share[0, 6] == pytest.approx(0.06)
    assert ageing[0, 6] == pytest.approx(0.14 / 0.94)
    assert share[0, 7] == pytest.approx(0.44)
    assert ageing[0, 7] == 0.0
    assert share[0, 8] == pytest.approx(1.0) and ageing[0, 8] == 0.0
    assert share[0, 0] == 0.0 and ageing[0, 0] == pytest.approx(0.2)


def test_female_share_after_a_year_by_hand():
    """100 teachers per band, 40% women. Band 50–54: women 40 · 0.8 = 32 stay, none age; men 60, 12 age up; in
    from 45–49: 8 women, 12 men → 40 women of 100. Band 55–59: women all retire; men 60 · 0.8 = 48 stay, none
    age; in: 12 men → share 0. Band 60–64: nobody stays, nobody comes (the men turning 60 retired) → empty, keeps
    0.4. Bands 20–49 keep 0.4."""
    f = T.female_share_after_year(np.full((1, 9), 0.4), np.full((1, 9), 100.0), H_F, H_M)
    np.testing.assert_allclose(f[0], [0.4] * 7 + [0.0, 0.4])


def test_female_share_follows_the_band_totals():
    """The share of a band mixes what stays and what ages in, weighted by counts: band 50–54 with 100 teachers
    (all women) receives a fifth of 400 men of 45–49: women 80 (20 retired), men 80 → 0.5."""
    f = np.zeros((1, 9))
    f[0, 6] = 1.0
    n = np.zeros((1, 9))
    n[0, 5], n[0, 6] = 400.0, 100.0
    out = T.female_share_after_year(f, n, H_F, H_M)
    assert out[0, 6] == pytest.approx(0.5)
    assert out[0, 5] == 0.0


def test_move_between_sections_conserves_teachers_and_uses_the_leavers_ages():
    """Teachers per section change by ``into − out``; arrivals take the ages of the draw's leavers (here all aged
    20–24, so every arrival is 20–24); a move of more teachers than a section holds is refused."""
    from sim.mechanisms.teachers import move_between_sections

    stock = np.zeros((3, 4, 9), dtype=np.int64)
    stock[:, 0, 0] = 6
    stock[:, 1, 3] = 2
    out = np.array([[4, 0, 0, 0]] * 3)
    into = np.array([[0, 1, 3, 0]] * 3)
    new = move_between_sections(stock, out, into, np.random.default_rng(0))
    np.testing.assert_array_equal(new.sum(axis=2), stock.sum(axis=2) - out + into)
    np.testing.assert_array_equal(new[:, 1:, 1:].sum(axis=2), stock[:, 1:, 1:].sum(axis=2))
    with pytest.raises(ValueError, match="at most the section's teachers"):
        move_between_sections(stock, np.array([[7, 0, 0, 0]] * 3), into, np.random.default_rng(0))


def test_start_stock_has_no_women_past_their_statutory_age() -> None:
    # before the 2025 reform women retire at 55, men at 60 (retirement_age_reform_2025.csv): in the autumn of
    # 2011 a woman aged 55-59 is retired, so an in-service 55-59 band holds men only; younger bands keep f
    share = T.start_female_share_by_band(np.array([0.7, 0.5]), 2011)
    assert share.shape == (2, T.N_AGE_BANDS)
    assert share[:, :7].tolist() == [[0.7] * 7, [0.5] * 7]
    assert share[:, 7].tolist() == [0.0, 0.0]
    # so the first year's retirements of a 55-59 band are the men turning 60 (1/5 of the band), not f + (1-f)/5
    h_f, h_m = T.sex_hazards_by_band(2011)
    retire, _ = T.mixed_retirement_and_ageing(share, h_f, h_m)
    assert retire[:, 7] == pytest.approx([0.2, 0.2])


def test_in_service_share_is_the_share_of_the_band_below_the_statutory_age() -> None:
    # men born 1965-01 onwards retire later (reform): in 2030-09 a band 60-64 holds men born 1965-10 .. 1970-09,
    # whose statutory ages are 60 + ceil(k/4) months with k = months of birth from 1965-01 (k = 10 .. 69), capped
    # at 36: in service when age (months since birth) < statutory age. Counted by hand below.
    t = 12 * 2030 + 8
    inside = 0
    for age in range(720, 780):
        k = (t - age) - (12 * 1965) + 1
        statutory = 720 + min(36, -(-k // 4)) if k > 0 else 720
        inside += statutory - age >= 1
    assert T.in_service_share_by_band(2030, "male")[8] == pytest.approx(inside / 60)
