"""The compiled samplers of ``sim.mechanisms.kernels`` draw the laws they claim.

Goodness of fit: Pearson's chi-square of 40,000–200,000 draws against the probabilities of ``scipy.stats``
(an independent implementation), bins with expected count < 5 pooled into their neighbours' tail, rejected
at the significance level ALPHA = 0.001 per test. Seeds are fixed, so a test either always passes or always
fails; with correct samplers about one seed in a thousand would fail by chance.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.mechanisms import kernels

ALPHA = 0.001


def chi_square_pvalue(samples: np.ndarray, pmf: np.ndarray) -> float:
    """p-value of Pearson's test of integer ``samples`` against ``pmf`` over 0 … len(pmf) − 1 (tails pooled)."""
    observed = np.bincount(samples, minlength=pmf.size).astype(float)
    assert observed.size == pmf.size, "a sample outside the support"
    expected = pmf / pmf.sum() * samples.size
    keep = expected >= 5
    # pool the bins of small expectation into one bin
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:
        obs, exp = obs[:-1], exp[:-1]
        exp = exp * obs.sum() / exp.sum()
    return float(stats.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize(
    ("n", "p"),
    [(1, 0.3), (5, 0.03), (12, 0.7), (40, 0.5), (9, 0.999), (300, 0.004), (200, 0.3), (1000, 0.6)],
)
def test_binomial_matches_scipy(n: int, p: float) -> None:
    # small means (inversion), p > 1/2 (n − Binomial(n, 1 − p)) and means above 30 (numpy's BTPE)
    x = kernels.binomial(np.full(100_000, n), p, np.random.default_rng(n))
    assert x.min() >= 0 and x.max() <= n
    assert chi_square_pvalue(x, stats.binom.pmf(np.arange(n + 1), n, p)) > ALPHA


def test_binomial_broadcasts_p_per_draw_and_band() -> None:
    # (D, S, B) counts, p per (draw, band): each band's cells follow their own binomial
    p = np.array([[0.02, 0.2, 0.9]])[:, None, :]  # (1, 1, 3)
    n = np.full((4, 20_000, 3), 7)
    x = kernels.binomial(n, p, np.random.default_rng(3))
    for band, pb in enumerate((0.02, 0.2, 0.9)):
        assert chi_square_pvalue(x[..., band].ravel(), stats.binom.pmf(np.arange(8), 7, pb)) > ALPHA


def test_binomial_certain_cells_use_no_random_numbers() -> None:
    rng = np.random.default_rng(11)
    before = rng.bit_generator.state
    out = kernels.binomial(np.array([[0, 5, 3], [0, 6, 2]]), np.array([0.4, 0.0, 1.0]), rng)
    assert out.tolist() == [[0, 0, 3], [0, 0, 2]]
    assert rng.bit_generator.state == before


def test_binomial_rows_do_not_depend_on_later_rows() -> None:
    # the property sim.rng relies on: the first k draws get the same numbers whatever the number of draws
    n = np.random.default_rng(0).integers(0, 30, size=(64, 50, 9))
    full = kernels.binomial(n, 0.1, np.random.default_rng(5))
    part = kernels.binomial(n[:37], 0.1, np.random.default_rng(5))
    np.testing.assert_array_equal(part, full[:37])


def test_binomial_rejects_bad_input() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="non-negative"):
        kernels.binomial(np.array([-1]), 0.5, rng)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kernels.binomial(np.array([3]), 1.5, rng)


def test_kernel_continues_the_generator_stream() -> None:
    # numba shares the generator's state: a numpy draw after the kernel continues where the kernel stopped
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    kernels.binomial(np.array([4]), 0.25, a)  # inversion: exactly one uniform
    b.random()
    assert a.random() == b.random()


@pytest.mark.parametrize(("good", "bad", "sample"), [(7, 13, 6), (3, 40, 9), (30, 25, 40), (1, 1, 1), (50, 2, 5)])
def test_hypergeometric_matches_scipy(good: int, bad: int, sample: int) -> None:
    size = 100_000
    x = kernels.hypergeometric(np.full(size, good), np.full(size, bad), np.full(size, sample),
                               np.random.default_rng(good + bad))
    pmf = stats.hypergeom.pmf(np.arange(min(good, sample) + 1), good + bad, good, sample)
    assert x.min() >= max(0, sample - bad)
    assert chi_square_pvalue(x, pmf) > ALPHA


def test_hypergeometric_certain_cells() -> None:
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    out = kernels.hypergeometric(np.array([0, 5, 3, 4]), np.array([4, 0, 3, 0]), np.array([2, 3, 0, 4]), rng)
    assert out.tolist() == [0, 3, 0, 4]
    assert rng.bit_generator.state == before
    with pytest.raises(ValueError, match="at most good"):
        kernels.hypergeometric(np.array([1]), np.array([1]), np.array([3]), rng)


def _cum(weights: list[float], rows: int, dtype: type) -> np.ndarray:
    return np.repeat(np.concatenate([[0], np.cumsum(weights)])[None, :], rows, axis=0).astype(dtype)


@pytest.mark.parametrize("total", [3, 60])  # 3: units placed one by one; 60: binomial splitting
def test_split_with_replacement_is_multinomial(total: int) -> None:
    weights = [1.0, 0.0, 2.0, 3.0, 4.0, 0.5, 0.0]
    rows = 60_000
    out = kernels.split_sorted(np.full((rows, 1), total), _cum(weights, rows, float), np.array([0]),
                               np.array([len(weights)]), np.random.default_rng(total), pools=False)
    assert (out.sum(axis=1) == total).all()
    assert (out[:, [1, 6]] == 0).all()  # zero weight never receives
    w = np.array(weights) / sum(weights)
    for j in (0, 3, 5):  # marginals of a multinomial: Binomial(total, w_j)
        assert chi_square_pvalue(out[:, j], stats.binom.pmf(np.arange(total + 1), total, w[j])) > ALPHA
    # a pair: the sum of two sections is Binomial(total, w_a + w_b)
    pair = out[:, 0] + out[:, 4]
    assert chi_square_pvalue(pair, stats.binom.pmf(np.arange(total + 1), total, w[0] + w[4])) > ALPHA


def test_split_without_replacement_is_multivariate_hypergeometric() -> None:
    pools = [3, 0, 4, 5, 2, 6]
    rows, total = 60_000, 8
    out = kernels.split_sorted(np.full((rows, 1), total), _cum(pools, rows, np.int64), np.array([0]),
                               np.array([len(pools)]), np.random.default_rng(2), pools=True)
    assert (out.sum(axis=1) == total).all()
    assert (out <= np.array(pools)).all()
    n_pool = sum(pools)
    for j in (0, 3, 5):  # marginals: Hypergeometric(pool_j, rest, total)
        pmf = stats.hypergeom.pmf(np.arange(min(pools[j], total) + 1), n_pool, pools[j], total)
        assert chi_square_pvalue(out[:, j], pmf) > ALPHA


def test_split_groups_and_rows_in_order() -> None:
    # two groups of sections; the first rows do not depend on the rows after them
    totals = np.random.default_rng(1).integers(0, 40, size=(64, 2))
    cum = _cum([1.0, 2.0, 3.0, 1.0, 1.0], 64, float)
    start, size = np.array([0, 2]), np.array([2, 3])
    full = kernels.split_sorted(totals, cum, start, size, np.random.default_rng(4), pools=False)
    part = kernels.split_sorted(totals[:20], cum[:20], start, size, np.random.default_rng(4), pools=False)
    np.testing.assert_array_equal(part, full[:20])
    np.testing.assert_array_equal(full[:, :2].sum(axis=1), totals[:, 0])
    np.testing.assert_array_equal(full[:, 2:].sum(axis=1), totals[:, 1])


def test_remove_uniformly_is_multivariate_hypergeometric() -> None:
    stock = np.array([4, 0, 7, 2, 9])
    rows, k = 60_000, 6
    out = kernels.remove_uniformly(np.repeat(stock[None, :], rows, axis=0), np.full(rows, k),
                                   np.random.default_rng(8))
    assert (out.sum(axis=1) == k).all()
    assert (out <= stock).all()
    for j in (0, 2, 4):
        pmf = stats.hypergeom.pmf(np.arange(min(stock[j], k) + 1), stock.sum(), stock[j], k)
        assert chi_square_pvalue(out[:, j], pmf) > ALPHA


@pytest.mark.parametrize("count", [4, 40])  # 4: unit by unit; 40: conditional binomials
def test_multinomial_rows_is_multinomial(count: int) -> None:
    shares = np.array([[0.1, 0.0, 0.45, 0.25, 0.2]])
    out = kernels.multinomial_rows(np.full((1, 60_000), count), shares, np.random.default_rng(count))
    assert out.shape == (1, 60_000, 5)
    assert (out.sum(axis=2) == count).all()
    assert (out[..., 1] == 0).all()
    for j in (0, 2, 4):
        pmf = stats.binom.pmf(np.arange(count + 1), count, shares[0, j])
        assert chi_square_pvalue(out[0, :, j], pmf) > ALPHA


def test_multinomial_rows_use_each_draws_shares() -> None:
    shares = np.array([[1.0, 0.0], [0.0, 1.0]])
    out = kernels.multinomial_rows(np.array([[3, 0, 50], [2, 7, 0]]), shares, np.random.default_rng(0))
    assert out[0].tolist() == [[3, 0], [0, 0], [50, 0]]
    assert out[1].tolist() == [[0, 2], [0, 7], [0, 0]]


# ----------------------------------------------------------------------------------------------------
# fused kernels of sim.mechanisms.students: promotion, placement within groups, drift


@pytest.mark.parametrize(
    ("n", "p"),
    # tabulated inversion (small and large n, p > 1/2), counts above the table's mean bound (numpy's BTPE)
    [(12, 0.3), (300, 0.004), (9, 0.8), (40, 0.5), (5000, 0.02), (3, 1e-4)],
)
def test_promote_cells_dropouts_are_binomial(n: int, p: float) -> None:
    # two grades: grade 0 drops Binomial(n, p) and its survivors move to grade 1; grade 1 (the last) graduates
    rows = 50_000
    stock = np.zeros((2, rows, 2), dtype=np.int64)
    stock[:, :, 0] = n
    stock[:, :, 1] = 3
    promoted, dropouts, graduates = kernels.promote_cells(stock, np.array([p, 0.5]), 1, 1,
                                                          np.random.default_rng(n))
    x = dropouts[0, :, 0]
    assert chi_square_pvalue(x, stats.binom.pmf(np.arange(n + 1), n, p)) > ALPHA
    # the second draw has its own probability
    assert chi_square_pvalue(dropouts[1, :, 0], stats.binom.pmf(np.arange(n + 1), n, 0.5)) > ALPHA
    np.testing.assert_array_equal(promoted[:, :, 1], n - dropouts[:, :, 0])
    np.testing.assert_array_equal(graduates[:, :, 1], 3)
    assert (dropouts[:, :, 1] == 0).all() and (promoted[:, :, 0] == 0).all() and (graduates[:, :, 0] == 0).all()


def test_promote_cells_grades_by_hand() -> None:
    # survival 1: grade g moves to g + 1, except the last primary grade (index 1 here) and the last (index 3)
    stock = np.array([[[5, 6, 7, 8]]])
    promoted, dropouts, graduates = kernels.promote_cells(stock, np.array([0.0]), 1, 3, np.random.default_rng(0))
    assert promoted.tolist() == [[[0, 5, 0, 7]]]
    assert graduates.tolist() == [[[0, 6, 0, 8]]]
    assert dropouts.sum() == 0


def test_allocate_groups_is_multinomial() -> None:
    # group 0 = sections 3, 0, 2 (weights 2, 1, 0), group 1 = section 1 alone; two slots
    rows, total = 40_000, 7
    w = np.broadcast_to(np.array([1.0, 5.0, 0.0, 2.0])[None, :, None], (rows, 4, 2))
    n = np.zeros((rows, 2, 2), dtype=np.int64)
    n[:, 0, 0] = total
    n[:, 0, 1] = 40  # splitting down the tree, not unit by unit
    n[:, 1, 1] = 3
    out, bad = kernels.allocate_groups(n, w, np.array([3, 0, 2, 1]), np.array([0, 3]), np.array([3, 1]),
                                       np.random.default_rng(12))
    assert bad == -1
    np.testing.assert_array_equal(out[:, [0, 2, 3], 0].sum(axis=1), total)
    np.testing.assert_array_equal(out[:, [0, 2, 3], 1].sum(axis=1), 40)
    np.testing.assert_array_equal(out[:, 1, 1], 3)
    assert (out[:, 2] == 0).all() and (out[:, 1, 0] == 0).all()
    for count, slot in ((total, 0), (40, 1)):
        x = out[:, 0, slot]  # section 0: Binomial(count, 1/3)
        assert chi_square_pvalue(x, stats.binom.pmf(np.arange(count + 1), count, 1 / 3)) > ALPHA


def test_allocate_groups_reports_a_group_without_weight() -> None:
    n = np.array([[[0], [4]]])
    w = np.array([[[1.0], [0.0]]])
    _, bad = kernels.allocate_groups(n, w, np.array([0, 1]), np.array([0, 1]), np.array([1, 1]),
                                       np.random.default_rng(0))
    assert bad == 1


def _one_county_drift(rows: int, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # sections 0, 2 rural (30 and 12 in slot 0, 5 and 0 in slot 1), 1 and 3 receiving (weights 1 and 3 in
    # slot 0, none in slot 1)
    stock = np.zeros((rows, 4, 2), dtype=np.int64)
    stock[:, 0] = [30, 5]
    stock[:, 2] = [12, 0]
    w = np.zeros((rows, 4, 2))
    w[:, 1, 0], w[:, 3, 0] = 1.0, 3.0
    moved_out, moved_in = kernels.drift_counties(
        stock, np.full(rows, rate), w, np.array([0, 2]), np.array([0]), np.array([2]), np.array([1, 3]),
        np.array([0]), np.array([2]), np.random.default_rng(seed))
    return stock, moved_out, moved_in


def test_drift_counties_is_binomial_then_multinomial() -> None:
    rows, rate = 60_000, 0.1
    _, moved_out, moved_in = _one_county_drift(rows, rate, 3)
    # each rural cell: Binomial(stock, rate); a slot without receiving weight moves nobody
    assert chi_square_pvalue(moved_out[:, 0, 0], stats.binom.pmf(np.arange(31), 30, rate)) > ALPHA
    assert chi_square_pvalue(moved_out[:, 2, 0], stats.binom.pmf(np.arange(13), 12, rate)) > ALPHA
    assert (moved_out[:, :, 1] == 0).all() and (moved_in[:, :, 1] == 0).all()
    assert (moved_out[:, [1, 3]] == 0).all() and (moved_in[:, [0, 2]] == 0).all()
    np.testing.assert_array_equal(moved_in.sum(axis=1), moved_out.sum(axis=1))
    # each rural pupil moves with probability rate and lands in section 3 with probability 3/4
    assert chi_square_pvalue(moved_in[:, 3, 0], stats.binom.pmf(np.arange(43), 42, rate * 0.75)) > ALPHA


def test_drift_counties_rows_in_order_and_no_numbers_without_movers() -> None:
    _, out_full, in_full = _one_county_drift(64, 0.2, 5)
    _, out_part, in_part = _one_county_drift(20, 0.2, 5)
    np.testing.assert_array_equal(out_part, out_full[:20])
    np.testing.assert_array_equal(in_part, in_full[:20])
    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    stock = np.full((3, 2, 1), 9)
    moved_out, moved_in = kernels.drift_counties(stock, np.full(3, 0.5), np.zeros((3, 2, 1)), np.array([0]),
                                                 np.array([0]), np.array([1]), np.array([1]), np.array([0]),
                                                 np.array([1]), rng)
    assert moved_out.sum() == 0 and moved_in.sum() == 0
    assert rng.bit_generator.state == before


@pytest.mark.parametrize("weights", [[1.0, 0.0, 2.0, 3.0, 0.0, 4.0, 0.5, 0.0], [0.0, 0.0, 1e-300, 5.0], [7.0]])
def test_guided_placement_is_the_binary_search_placement(weights: list[float]) -> None:
    # the guide table only speeds up the search: each uniform lands in the same section as in _place_units
    k, units = len(weights), 20_000
    cum = np.concatenate([[0.0], np.cumsum(weights)])[None, :] + 3.5  # any offset of the running sums
    by_search = np.zeros((1, k), dtype=np.int64)
    kernels._place_units(np.random.default_rng(6), cum, 0, 0, k, units, by_search)
    guided = np.zeros((1, k), dtype=np.int64)
    kernels._place_units_guided(np.random.default_rng(6), cum, k, units, np.zeros(k, dtype=np.int64), guided)
    np.testing.assert_array_equal(guided, by_search)
    assert guided.sum() == units and (guided[0, np.array(weights) == 0] == 0).all()
