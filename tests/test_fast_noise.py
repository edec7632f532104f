"""The section-level noise of the fast engine (``sim.fast.noise``) draws the laws it claims.

Laws are checked against ``scipy.stats`` (an independent implementation) by Pearson's chi-square at
ALPHA = 0.001 with fixed seeds, and the properties of systematic sampling by averaging over an even grid of
offsets (exact up to the grid's step, no randomness).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.fast import noise
from sim.mechanisms.students import group_members
from tests.test_kernels import ALPHA, chi_square_pvalue


def test_normal_quantile_matches_scipy() -> None:
    u = np.concatenate([np.linspace(1e-12, 1e-3, 200), np.linspace(1e-3, 1 - 1e-3, 2001),
                        1 - np.linspace(1e-12, 1e-3, 200)])
    got = np.array([noise.normal_quantile(x) for x in u])
    np.testing.assert_allclose(got, stats.norm.ppf(u), rtol=2e-9, atol=1e-12)


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (7, 0.05), (12, 0.7), (60, 0.2), (400, 0.004), (300, 0.5)])
def test_binomial_from_uniform_matches_scipy(n: int, p: float) -> None:
    # small means (inversion), p > 1/2, and a mean of 150 (the normal approximation: rounded, so the chi-square
    # is taken on the pooled central bins, where the approximation is good)
    u = np.random.default_rng(11).random(60_000)
    x = np.array([noise.binomial_from_uniform(v, n, p) for v in u])
    assert x.min() >= 0 and x.max() <= n
    if n * min(p, 1 - p) <= noise.INVERSION_MAX_MEAN:
        assert chi_square_pvalue(x, stats.binom.pmf(np.arange(n + 1), n, p)) > ALPHA
    else:
        mean, sd = n * p, np.sqrt(n * p * (1 - p))
        assert abs(x.mean() - mean) < 4 * sd / np.sqrt(x.size)
        assert abs(x.std() / sd - 1) < 0.02


@pytest.mark.parametrize(("n", "p"), [(30, 0.02), (500, 0.005), (9, 0.2)])
def test_matched_total_is_the_binomial_when_cells_share_a_probability(n: int, p: float) -> None:
    # cells of one section with the same probability: the sum of their binomials is Binomial(n, p) exactly
    u = np.random.default_rng(5).random(60_000)
    x = np.array([noise.matched_total(v, n * p, n * p * (1 - p), n) for v in u])
    assert chi_square_pvalue(x, stats.binom.pmf(np.arange(n + 1), n, p)) > ALPHA


def test_matched_total_matches_the_moments_of_a_poisson_binomial_sum() -> None:
    # teachers of one section by age band with different exit probabilities (retirement in the top bands)
    counts = np.array([6, 9, 8, 7, 6, 5, 4, 3, 2])
    probs = np.array([0.04, 0.03, 0.02, 0.015, 0.01, 0.01, 0.02, 0.3, 0.9])
    mean, var = float(counts @ probs), float(counts @ (probs * (1 - probs)))
    u = np.random.default_rng(8).random(200_000)
    x = np.array([noise.matched_total(v, mean, var, int(counts.sum())) for v in u])
    se = np.sqrt(var / x.size)
    assert abs(x.mean() - mean) < 4 * se
    # exact law of the sum by convolution: the variance and the probability of no exit agree closely
    pmf = np.array([1.0])
    for n, p in zip(counts, probs, strict=True):
        pmf = np.convolve(pmf, stats.binom.pmf(np.arange(n + 1), n, p))
    assert abs(x.var() / var - 1) < 0.02
    assert abs(np.mean(x == 0) - pmf[0]) < 0.01


def test_matched_total_edges() -> None:
    assert noise.matched_total(0.3, 0.0, 0.0, 10) == 0
    assert noise.matched_total(0.3, 2.0, 1.0, 0) == 0
    assert noise.matched_total(0.999, 10.0, 0.0, 10) == 10  # every unit leaves
    assert noise.matched_total(0.5, 0.4, 0.4, 50) in (0, 1, 2)  # rare events: n* = cap


def _grid_mean_split(total: int, weights: np.ndarray, cap: np.ndarray, points: int = 4000) -> np.ndarray:
    out = np.empty(weights.size, dtype=np.int64)
    acc = np.zeros(weights.size)
    for u in (np.arange(points) + 0.5) / points:
        noise.systematic_split(total, weights, cap, u, out)
        assert out.sum() == total
        assert np.all(out >= 0) and np.all(out <= cap)
        acc += out
    return acc / points


def test_systematic_split_is_unbiased_and_within_one_unit() -> None:
    weights = np.array([0.3, 2.5, 0.0, 1.2, 4.0])
    cap = np.array([10, 10, 10, 10, 10])
    total = 7
    share = total * weights / weights.sum()
    np.testing.assert_allclose(_grid_mean_split(total, weights, cap), share, atol=1e-3)
    out = np.empty(5, dtype=np.int64)
    for u in np.linspace(0, 0.999, 37):
        noise.systematic_split(total, weights, cap, u, out)
        assert np.all(out >= np.floor(share)) and np.all(out <= np.ceil(share))
        assert out[2] == 0  # no weight, nothing


def test_systematic_split_respects_the_stock() -> None:
    # a total above the expected flows: the excess of a full cell goes to cells with room
    out = np.empty(3, dtype=np.int64)
    for u in np.linspace(0, 0.999, 50):
        noise.systematic_split(5, np.array([0.9, 0.1, 0.1]), np.array([1, 4, 4]), u, out)
        assert out.sum() == 5 and out[0] <= 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=9), st.floats(0.0, 1.0), st.floats(0.0, 0.999))
def test_cell_flows_stay_within_the_stock(counts: list[int], p: float, u: float) -> None:
    stock = np.array(counts, dtype=np.int64)[None, None, :]
    flows = noise.cell_flows(stock, p, np.array([[[u, 1 - u]]]))
    assert np.all(flows >= 0) and np.all(flows <= stock)
    if p == 1.0:
        assert np.array_equal(flows, stock)


def test_cell_flows_mean_and_variance_of_the_section_total_and_cells() -> None:
    # 4,000 draws of one section: 9 grades, one dropout probability
    counts = np.array([120, 110, 105, 100, 98, 95, 0, 0, 0])
    p = 0.03
    d = 4000
    stock = np.broadcast_to(counts, (d, 1, 9))
    u = np.random.default_rng(3).random((d, 1, 2))
    flows = noise.cell_flows(stock, p, u)
    total = flows.sum(axis=(1, 2))
    n = counts.sum()
    assert abs(total.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / d)
    assert abs(total.var() / (n * p * (1 - p)) - 1) < 0.1
    per_cell = flows[:, 0, :].mean(axis=0)
    np.testing.assert_allclose(per_cell, counts * p, atol=4 * np.sqrt(n * p / d))
    assert np.all(flows[:, 0, 6:] == 0)


def test_place_multinomial_is_the_multinomial() -> None:
    # 6 units over a group of three sections (weights 1, 2, 3) and a section outside every group
    group = np.array([0, 0, -1, 0])
    members, start, size = group_members(group, 1)
    weights = np.array([1.0, 2.0, 5.0, 3.0])
    d = 50_000
    u = np.random.default_rng(9).random((d, 4))
    out = noise.place_multinomial(np.full((d, 1), 6), np.broadcast_to(weights, (d, 4)), members, start, size, u)
    assert np.all(out.sum(axis=1) == 6) and np.all(out[:, 2] == 0)
    # the first section's arrivals are Binomial(6, 1/6); the pair (first, second) against the multinomial pmf
    assert chi_square_pvalue(out[:, 0], stats.binom.pmf(np.arange(7), 6, 1 / 6)) > ALPHA
    pairs = out[:, 0] * 7 + out[:, 1]
    pmf = np.zeros(49)
    for a in range(7):
        for b in range(7 - a):
            pmf[a * 7 + b] = stats.multinomial.pmf([a, b, 6 - a - b], 6, [1 / 6, 2 / 6, 3 / 6])
    assert chi_square_pvalue(pairs, pmf) > ALPHA


def test_place_systematic_conserves_and_is_unbiased() -> None:
    group = np.array([0, 1, 0, 0, 1])
    members, start, size = group_members(group, 2)
    weights = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 3.0], [5.0, 1.0], [1.0, 0.0]])  # (S, K)
    pool = np.array([[[7, 4], [3, 0]]])  # (D, G, K)
    points = 2000
    acc = np.zeros((5, 2))
    for u in (np.arange(points) + 0.5) / points:
        out = noise.place_systematic(pool, weights[None], members, start, size, np.full((1, 2, 2), u))[0]
        for g in range(2):
            np.testing.assert_array_equal(out[group == g].sum(axis=0), pool[0, g])
        acc += out
    expected = np.zeros((5, 2))
    for g in range(2):
        w = weights[group == g]
        expected[group == g] = pool[0, g] * np.divide(w, w.sum(axis=0), out=np.zeros_like(w), where=w.sum(0) > 0)
    np.testing.assert_allclose(acc / points, expected, atol=2e-3)


@pytest.mark.parametrize(("n", "p"), [(3, 0.2), (800, 0.005), (120, 0.02), (40, 0.6), (2000, 0.03)])
def test_binomial_small_p_matches_scipy(n: int, p: float) -> None:
    # P(X = 0) from exp(n · log(1 − p)); p > 1/2 and means above 30 go to binomial_from_uniform
    u = np.random.default_rng(12).random(60_000)
    log1m = float(np.log1p(-min(p, 0.5)))
    x = np.array([noise.binomial_small_p(v, n, p, log1m) for v in u])
    if p > 0.5 or n * p > noise.INVERSION_MAX_MEAN:  # delegated: the same numbers as binomial_from_uniform
        assert np.array_equal(x[:200], [noise.binomial_from_uniform(v, n, p) for v in u[:200]])
    if n * min(p, 1 - p) <= noise.INVERSION_MAX_MEAN:
        assert chi_square_pvalue(x, stats.binom.pmf(np.arange(n + 1), n, p)) > ALPHA
    else:
        assert abs(x.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / x.size)


@pytest.mark.parametrize(("good", "total", "sample"), [(7, 30, 3), (25, 30, 4), (3, 40, 30), (38, 40, 25),
                                                       (12, 20, 10), (1, 9, 1), (60, 200, 70)])
def test_hypergeometric_from_uniform_matches_scipy(good: int, total: int, sample: int) -> None:
    # both categories' and both sides' reductions (sample above half the total, good the larger), and a mean of
    # 21 still by inversion
    u = np.random.default_rng(13).random(60_000)
    x = np.array([noise.hypergeometric_from_uniform(v, good, total, sample) for v in u])
    lo, hi = max(0, sample - (total - good)), min(good, sample)
    assert x.min() >= lo and x.max() <= hi
    pmf = stats.hypergeom.pmf(np.arange(hi + 1), total, good, sample)
    assert chi_square_pvalue(x, pmf) > ALPHA


def test_hypergeometric_from_uniform_large_mean_and_edges() -> None:
    # a mean of 150 (the normal approximation): mean and variance within sampling error
    good, total, sample = 600, 2000, 500
    u = np.random.default_rng(17).random(40_000)
    x = np.array([noise.hypergeometric_from_uniform(v, good, total, sample) for v in u])
    law = stats.hypergeom(total, good, sample)
    assert abs(x.mean() - law.mean()) < 4 * law.std() / np.sqrt(x.size)
    assert abs(x.var() / law.var() - 1) < 0.03
    assert noise.hypergeometric_from_uniform(0.5, 0, 10, 4) == 0
    assert noise.hypergeometric_from_uniform(0.5, 10, 10, 4) == 4
    assert noise.hypergeometric_from_uniform(0.5, 6, 10, 10) == 6
    assert noise.hypergeometric_from_uniform(0.5, 6, 10, 0) == 0
