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

from sim.mechanisms import kernels, quota

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


def test_binomial_uses_one_uniform_per_cell_whatever_the_count() -> None:
    # certain cells (n = 0, p = 0, p = 1) and large means too: the generator advances by one uniform per cell
    rng = np.random.default_rng(11)
    out = kernels.binomial(np.array([[0, 5, 3], [0, 6, 2], [4000, 1, 1]]), np.array([0.4, 0.0, 1.0]), rng)
    assert out[:2].tolist() == [[0, 0, 3], [0, 0, 2]]
    after = np.random.default_rng(11)
    after.random(9)
    assert rng.bit_generator.state == after.bit_generator.state


def test_binomial_is_the_quantile_of_its_cell_uniform() -> None:
    """Common random numbers by construction (issue 16 item 5): cell ``i`` reads the ``i``-th uniform of the
    generator through the binomial quantile, so its count equals ``scipy.stats.binom.ppf`` of that uniform (an
    independent implementation), small means, ``p > 1/2`` and means above 30 alike; a cell's count does not
    depend on the other cells' counts, and it never falls when ``n`` grows (by at most one per unit)."""
    n = np.array([0, 1, 7, 40, 300, 1000, 5000, 20_000])
    for p in (0.004, 0.3, 0.6, 0.97):
        u = np.random.default_rng(4).random((64, n.size))
        x = kernels.binomial(np.broadcast_to(n, u.shape), p, np.random.default_rng(4))
        np.testing.assert_array_equal(x, stats.binom.ppf(u, n, p) if p <= 0.5 else n - stats.binom.ppf(u, n, 1 - p))
    # the same uniforms, n growing by 3 across the threshold of the mode-based inversion (mean 30 at n = 150)
    grow = np.stack([kernels.binomial(np.full((256, 1), k), 0.2, np.random.default_rng(8))[:, 0]
                     for k in range(0, 400, 3)], axis=1)
    steps = np.diff(grow, axis=1)
    assert (steps >= 0).all() and (steps <= 3).all()


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


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (7, 0.05), (12, 0.7), (40, 0.5), (9, 0.999), (300, 0.004)])
def test_binomial_inversion_from_a_uniform_is_exact(n: int, p: float) -> None:
    # the kernels draw u themselves and invert it (_binomial_inverse, or _tabled_inverse with per-draw
    # tables): u in [P(Y < y), P(Y ≤ y)) of Y ~ Binomial(n, min(p, 1 − p)) must give y (n − y for p > 1/2),
    # so that each value's probability is its interval's length, the binomial pmf
    q = min(p, 1.0 - p)
    cdf = stats.binom.cdf(np.arange(n + 1), n, q)
    lower = np.concatenate([[0.0], cdf[:-1]])
    tab, inv = np.empty(kernels._TABLE_MAX + 1), np.empty(kernels._TABLE_MAX + 1)
    top = kernels._binomial_table(p, tab, inv)
    assert kernels._by_inversion(n, p) and n <= top
    for y in np.flatnonzero(cdf - lower > 1e-9):  # values of visible probability
        expected = y if p <= 0.5 else n - y
        for u in (lower[y] + 1e-3 * (cdf[y] - lower[y]), (lower[y] + cdf[y]) / 2, cdf[y] - 1e-3 * (cdf[y] - lower[y])):
            assert kernels._binomial_inverse(u, n, p) == expected
            assert kernels._tabled_inverse(u, n, p, tab, inv) == expected
    # means above 30 are left to numpy's BTPE, certain cells to _binomial_one
    assert not kernels._by_inversion(1000, 0.6) and not kernels._by_inversion(0, 0.5)
    assert not kernels._by_inversion(5, 0.0) and not kernels._by_inversion(5, 1.0)


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


# ------------------------------------------------------------------------------------------------------------
# teacher exits and moves


def test_exit_flows_retire_then_age_then_leave() -> None:
    # one section type repeated: bands 0–3 with 9, 6, 40 and 11 teachers (4 bands: the last has no band above);
    # counts below 16 are drawn from a CDF table (p > 1/2 by symmetry), 40 by _binomial_one
    stock = np.array([9, 6, 40, 11])
    rows = 60_000
    retire = np.array([[0.0, 0.7, 0.5, 0.3]])
    ageing = np.array([[0.2, 0.25, 0.2, 0.9]])  # the last entry is ignored
    rate = np.array([[0.05, 0.0, 0.2]])  # by location; sections alternate locations 0 and 2
    location = np.tile([0, 2], rows // 2)
    mult = np.array([[2.0, 1.0, 1.0, 1.0]])
    relief = np.array([0.5])  # location 2 is relieved: p = 0.2 · 0.5 = 0.1
    st = np.repeat(stock[None, None, :], rows, axis=1)
    retired, up, attrition, remaining, leavers = kernels.exit_flows(st, retire, ageing, rate, location, mult, relief,
                                                                    2, np.random.default_rng(3))
    assert (retired[..., 0] == 0).all() and (up[..., -1] == 0).all()
    for b in (1, 2, 3):  # retirements: Binomial(n, r)
        pmf = stats.binom.pmf(np.arange(stock[b] + 1), stock[b], retire[0, b])
        assert chi_square_pvalue(retired[0, :, b], pmf) > ALPHA
    for b in (0, 1, 2):  # ageing of those who did not retire: marginally Binomial(n, (1 − r) a)
        pmf = stats.binom.pmf(np.arange(stock[b] + 1), stock[b], (1 - retire[0, b]) * ageing[0, b])
        assert chi_square_pvalue(up[0, :, b], pmf) > ALPHA
    aged = st - retired - up
    aged[..., 1:] += up[..., :-1]
    np.testing.assert_array_equal(remaining, aged - attrition)
    np.testing.assert_array_equal(leavers, (retired + attrition).sum(axis=-1))
    # attrition of the aged stock: given the aged count m, Binomial(m, p) with p by location and band
    for loc, b, p in ((0, 0, 0.1), (2, 0, 0.2), (0, 3, 0.05), (2, 3, 0.1)):
        cells = location == loc
        m = int(np.bincount(aged[0, cells, b]).argmax())  # the most frequent aged count
        given = attrition[0, cells, b][aged[0, cells, b] == m]
        assert chi_square_pvalue(given, stats.binom.pmf(np.arange(m + 1), m, p)) > ALPHA
    # rows (draws) in order: the first rows do not depend on the rows after them
    st2 = np.random.default_rng(0).integers(0, 20, size=(6, 50, 4))
    args = (np.full((6, 4), 0.1), np.full((6, 4), 0.2), np.full((6, 3), 0.1), np.zeros(50, np.int64),
            np.ones((6, 4)), np.ones(6), 2)
    full = kernels.exit_flows(st2, *args, np.random.default_rng(5))
    part = kernels.exit_flows(st2[:3], *(a[:3] if isinstance(a, np.ndarray) and a.shape[0] == 6 else a
                                         for a in args), np.random.default_rng(5))
    for f, g in zip(full, part, strict=True):
        np.testing.assert_array_equal(g, f[:3])


def test_exit_flows_are_monotone_in_the_stock() -> None:
    """Same generator (common random numbers), more teachers in some (section, band) cells: no cell has fewer
    leavers or fewer teachers left, and none changes where the stock is the same (three uniforms per cell,
    each read through the binomial quantile, whatever the counts: issue 16 item 5). Counts up to 400 cross the
    mode-based inversion of means above 30."""
    rng = np.random.default_rng(4)
    stock = rng.integers(0, 400, (64, 12, 4))
    more = stock + rng.integers(0, 3, stock.shape) * (rng.random((1, 12, 1)) < 0.5)
    args = (np.array([[0.0, 0.1, 0.3, 0.6]]), np.array([[0.2, 0.25, 0.2, 0.0]]), np.array([[0.05, 0.1, 0.2]]),
            np.arange(12) % 3, np.array([[2.0, 1.0, 1.0, 1.0]]), np.array([0.5]), 2)
    low = kernels.exit_flows(stock, *args, np.random.default_rng(7))
    high = kernels.exit_flows(more, *args, np.random.default_rng(7))
    assert (high[4] >= low[4]).all()
    assert (high[3] >= low[3]).all()
    same = (more == stock).all(axis=(0, 2))
    np.testing.assert_array_equal(high[4][:, same], low[4][:, same])
    assert (high[4] > low[4]).any()


def test_pick_within_groups_is_multivariate_hypergeometric() -> None:
    # two groups whose sections interleave (group 0: sections 0, 2, 4, 5; group 1: 1, 3), zero pools skipped
    group = np.array([0, 1, 0, 1, 0, 0])
    pool = np.array([3, 5, 0, 2, 4, 6])
    rows = 60_000
    totals = np.tile([8, 4], (rows, 1))
    out = kernels.pick_within_groups(totals, np.tile(pool, (rows, 1)), group, 2, np.random.default_rng(6))
    assert (out <= pool).all() and (out[:, 2] == 0).all()
    np.testing.assert_array_equal(out[:, group == 0].sum(axis=1), 8)
    np.testing.assert_array_equal(out[:, group == 1].sum(axis=1), 4)
    for j, (g_pool, n) in ((0, (13, 8)), (4, (13, 8)), (5, (13, 8)), (1, (7, 4))):
        pmf = stats.hypergeom.pmf(np.arange(min(pool[j], n) + 1), g_pool, pool[j], n)
        assert chi_square_pvalue(out[:, j], pmf) > ALPHA
    with pytest.raises(ValueError, match="more individuals than a group holds"):
        kernels.pick_within_groups(np.array([[14, 0]]), pool[None, :], group, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-negative"):
        kernels.pick_within_groups(np.array([[-1, 0]]), pool[None, :], group, 2, np.random.default_rng(0))


def test_move_attributes_removal_is_hypergeometric() -> None:
    # 20 teachers, 8 leave; qualified 12, backbone 25 (capped at 20); contracts 3 / 5 / 4 by year
    rows = 60_000
    before = np.full((1, rows), 20)
    out = np.full((1, rows), 8)
    independent = np.tile(np.array([12, 25]), (1, rows, 1))
    exclusive = np.tile(np.array([3, 5, 4]), (1, rows, 1))
    moved = kernels.move_attributes(before, out, independent, exclusive, np.random.default_rng(9))
    lost_q = 12 - moved.independent[0, :, 0]
    assert chi_square_pvalue(lost_q, stats.hypergeom.pmf(np.arange(9), 20, 12, 8)) > ALPHA
    np.testing.assert_array_equal(moved.independent[0, :, 1], 12)  # all 20 are backbone: 8 of them leave
    lost = np.array([3, 5, 4]) - moved.exclusive[0]
    assert (lost >= 0).all() and (lost.sum(axis=1) <= 8).all()
    for j, slot in enumerate((3, 5, 4)):  # each contract year: Hypergeometric(slot, 20 − slot, 8)
        pmf = stats.hypergeom.pmf(np.arange(slot + 1), 20, slot, 8)
        assert chi_square_pvalue(lost[:, j], pmf) > ALPHA
    # all contract years together: Hypergeometric(12, 8, 8)
    assert chi_square_pvalue(lost.sum(axis=1), stats.hypergeom.pmf(np.arange(9), 20, 12, 8)) > ALPHA
    # contracts above the section's teachers are capped, earliest years first. The generator gives one key per
    # section and per group whatever the counts (the cells' substreams), so nobody leaving and 7 leaving use
    # the same numbers of it
    rng = np.random.default_rng(0)
    capped = kernels.move_attributes(np.array([[25]]), np.array([[0]]), np.zeros((1, 1, 0), np.int64),
                                     np.array([[[10, 20, 30]]]), rng)
    assert capped.exclusive.tolist() == [[[10, 15, 0]]]
    other = np.random.default_rng(0)
    kernels.move_attributes(np.array([[25]]), np.array([[7]]), np.zeros((1, 1, 0), np.int64),
                            np.array([[[10, 20, 30]]]), other)
    assert rng.bit_generator.state == other.bit_generator.state
    with pytest.raises(ValueError, match="between 0 and the section's teachers"):
        kernels.move_attributes(np.array([[3]]), np.array([[4]]), np.zeros((1, 1, 1), np.int64),
                                np.zeros((1, 1, 0), np.int64), rng)


def test_move_attributes_placement_is_hypergeometric_among_arrivals() -> None:
    # one county: section 0 sends 6 of its 10 teachers (4 qualified, 5 on contracts of year 1, 3 of year 2);
    # sections 1 and 2 receive 2 and 4; section 3 (another county) neither sends nor receives
    rows = 60_000
    before = np.tile([10, 7, 7, 5], (rows, 1))
    out = np.tile([6, 0, 0, 0], (rows, 1))
    into = np.tile([0, 2, 4, 0], (rows, 1))
    independent = np.tile(np.array([[4], [1], [0], [2]]), (rows, 1, 1))
    exclusive = np.tile(np.array([[5, 3], [0, 0], [0, 0], [1, 1]]), (rows, 1, 1))
    group = np.array([0, 0, 0, 1])
    moved = kernels.move_attributes(before, out, independent, exclusive, np.random.default_rng(12), into=into,
                                    group=group, n_groups=2)
    qual, contracts = moved.independent[..., 0], moved.exclusive
    np.testing.assert_array_equal(qual[:, :3].sum(axis=1), 5)  # conserved in the county
    np.testing.assert_array_equal(contracts[:, :3].sum(axis=1), np.tile([5, 3], (rows, 1)))
    np.testing.assert_array_equal(qual[:, 3], 2)
    np.testing.assert_array_equal(contracts[:, 3], np.tile([1, 1], (rows, 1)))
    gained = contracts[:, 1:3].sum(axis=2)
    assert (gained <= [2, 4]).all()  # an arrival takes at most one contract
    lost = 4 - qual[:, 0]  # qualified movers: Hypergeometric(4, 6, 6)
    assert chi_square_pvalue(lost, stats.hypergeom.pmf(np.arange(5), 10, 4, 6)) > ALPHA
    # given m qualified movers, section 1 gets Hypergeometric(2, 4, m) of them
    for m in (2, 3):
        got = (qual[:, 1] - 1)[lost == m]
        assert chi_square_pvalue(got, stats.hypergeom.pmf(np.arange(3), 6, 2, m)) > ALPHA
    # contract years: all 6 arrivals are the 6 movers, so given the year-1 movers c1, section 1's year-1
    # contracts are Hypergeometric(2, 4, c1), and its year-2 ones Hypergeometric(2 − year 1, …, c2)
    c1 = 5 - contracts[:, 0, 0]
    got = contracts[:, 1, 0][c1 == 3]
    assert chi_square_pvalue(got, stats.hypergeom.pmf(np.arange(3), 6, 2, 3)) > ALPHA


@pytest.mark.parametrize("k", [6, 17])  # 17 of 22: the 5 who stay are picked instead
def test_remove_checked_is_multivariate_hypergeometric(k: int) -> None:
    stock = np.array([4, 0, 7, 2, 9])
    rows = 60_000
    out = kernels.remove_checked(np.repeat(stock[None, :], rows, axis=0), np.full(rows, k),
                                 np.random.default_rng(k))
    assert (out.sum(axis=1) == k).all()
    assert (out <= stock).all() and (out[:, 1] == 0).all()
    for j in (0, 2, 3, 4):
        pmf = stats.hypergeom.pmf(np.arange(min(stock[j], k) + 1), stock.sum(), stock[j], k)
        assert chi_square_pvalue(out[:, j], pmf) > ALPHA
    # a pair of slots together: Hypergeometric(slot_0 + slot_4, rest, k)
    pair = out[:, 0] + out[:, 4]
    assert chi_square_pvalue(pair, stats.hypergeom.pmf(np.arange(min(13, k) + 1), 22, 13, k)) > ALPHA
    rng, other = np.random.default_rng(0), np.random.default_rng(0)
    np.testing.assert_array_equal(kernels.remove_checked(stock[None, :], np.array([0]), rng), 0)
    kernels.remove_checked(stock[None, :], np.array([9]), other)
    assert rng.bit_generator.state == other.bit_generator.state  # one key per row whatever the count
    with pytest.raises(ValueError, match="between 0 and"):
        kernels.remove_checked(stock[None, :], np.array([23]), rng)


def test_move_teachers_removes_hypergeometrically_and_adds_by_the_leavers_mix() -> None:
    rows = 60_000
    # removal only: 6 of [4, 0, 7, 2, 9] leave (and 17 of them, the stayers then being picked)
    for k in (6, 17):
        stock = np.tile(np.array([4, 0, 7, 2, 9]), (rows, 1, 1))
        new = kernels.move_teachers(stock, np.full((rows, 1), k), np.zeros((rows, 1), np.int64),
                                    np.random.default_rng(k), fallback_band=4)
        gone = stock[:, 0] - new[:, 0]
        assert (gone.sum(axis=1) == k).all() and (gone >= 0).all()
        for j in (0, 2, 4):
            pmf = stats.hypergeom.pmf(np.arange(min(stock[0, 0, j], k) + 1), 22, stock[0, 0, j], k)
            assert chi_square_pvalue(gone[:, j], pmf) > ALPHA
    # section 0 empties (mix 10 / 0 / 5 / 20 of 35); sections 1 and 2 receive 4 (one by one) and 31 (binomials)
    stock = np.tile(np.array([[10, 0, 5, 20], [1, 1, 1, 1], [0, 0, 0, 0]]), (rows, 1, 1))
    new = kernels.move_teachers(stock, np.tile([35, 0, 0], (rows, 1)), np.tile([0, 4, 31], (rows, 1)),
                                np.random.default_rng(1), fallback_band=2)
    np.testing.assert_array_equal(new[:, 0], 0)
    arrived = new[:, 1:] - stock[:, 1:]
    np.testing.assert_array_equal(arrived.sum(axis=2), np.tile([4, 31], (rows, 1)))
    assert (arrived[..., 1] == 0).all()
    for sec, n in ((0, 4), (1, 31)):
        for b, w in ((0, 10), (2, 5), (3, 20)):
            pmf = stats.binom.pmf(np.arange(n + 1), n, w / 35)
            assert chi_square_pvalue(arrived[:, sec, b], pmf) > ALPHA
    # nobody left in the draw: arrivals go to the fallback band
    alone = kernels.move_teachers(np.zeros((1, 1, 4), np.int64), np.array([[0]]), np.array([[3]]),
                                  np.random.default_rng(0), fallback_band=2)
    assert alone.tolist() == [[[0, 0, 3, 0]]]
    with pytest.raises(ValueError, match="at most the section's teachers"):
        kernels.move_teachers(np.ones((1, 1, 4), np.int64), np.array([[5]]), np.array([[0]]),
                              np.random.default_rng(0), fallback_band=2)


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


def test_drift_counties_rows_in_order_and_numbers_fixed_by_the_layout() -> None:
    _, out_full, in_full = _one_county_drift(64, 0.2, 5)
    _, out_part, in_part = _one_county_drift(20, 0.2, 5)
    np.testing.assert_array_equal(out_part, out_full[:20])
    np.testing.assert_array_equal(in_part, in_full[:20])
    # no receiving weight: nobody moves, but each draw still reads one uniform per rural cell and one per
    # receiving section and slot (1 + 1 here), so that counts never shift the numbers of the cells after them
    rng = np.random.default_rng(1)
    stock = np.full((3, 2, 1), 9)
    moved_out, moved_in = kernels.drift_counties(stock, np.full(3, 0.5), np.zeros((3, 2, 1)), np.array([0]),
                                                 np.array([0]), np.array([1]), np.array([1]), np.array([0]),
                                                 np.array([1]), rng)
    assert moved_out.sum() == 0 and moved_in.sum() == 0
    after = np.random.default_rng(1)
    after.random(3 * 2)
    assert rng.bit_generator.state == after.bit_generator.state


def test_drift_counties_is_monotone_in_the_rural_stock() -> None:
    """Same generator (common random numbers), one more teacher in some rural cells: no cell has fewer movers
    and no receiving section fewer arrivals (each rural cell and each (slot, receiving section) reads its own
    uniform through the binomial quantile, issue 16 item 5)."""
    rng = np.random.default_rng(3)
    stock = rng.integers(0, 60, (64, 5, 2))
    more = stock + (rng.random(stock.shape) < 0.3) * np.array([1, 1, 0, 0, 0])[None, :, None]
    weights = np.broadcast_to(np.array([0.0, 0.0, 1.0, 3.0, 0.5])[None, :, None], stock.shape)
    args = (np.full(64, 0.3), weights, np.array([0, 1]), np.array([0]), np.array([2]), np.array([2, 3, 4]),
            np.array([0]), np.array([3]))
    out_low, in_low = kernels.drift_counties(stock, *args, np.random.default_rng(9))
    out_high, in_high = kernels.drift_counties(more, *args, np.random.default_rng(9))
    assert (out_high >= out_low).all() and (in_high >= in_low).all()
    assert (in_high > in_low).any()


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


def test_a_sections_counts_never_move_another_sections_numbers() -> None:
    """Cell-keyed substreams (:func:`kernels.cell_keys`): changing the leavers, arrivals or the count to place of
    one section or group leaves every other one's result identical, on the same generator seed (before
    2026-12-06 one generator served all cells in turn, so a count in section 0 shifted the numbers of all
    later sections)."""
    rng = np.random.default_rng(5)
    stock = rng.integers(0, 30, (8, 6, 9))
    group = np.array([0, 0, 0, 1, 1, 1])
    out = np.minimum(rng.integers(0, 6, (8, 6)), stock.sum(axis=2))
    into = out.copy()
    into[:, [0, 3]] = out[:, [0, 3]] + out[:, [1, 4]]  # each group's arrivals equal its leavers
    into[:, [1, 4]] = 0
    base = kernels.move_teachers(stock, out, into, np.random.default_rng(1), fallback_band=4, group=group,
                                 n_groups=2)
    changed_out, changed_into = out.copy(), into.copy()
    changed_out[:, 0] = np.minimum(out[:, 0] + 3, stock[:, 0].sum(axis=1))
    changed_into[:, 0] += changed_out[:, 0] - out[:, 0]
    moved = kernels.move_teachers(stock, changed_out, changed_into, np.random.default_rng(1), fallback_band=4,
                                  group=group, n_groups=2)
    np.testing.assert_array_equal(moved[:, 3:], base[:, 3:])  # the other county: untouched
    np.testing.assert_array_equal(moved[:, 1], base[:, 1])  # a section of the county with no arrivals
    # the placement tree: one group's total does not move another group's placement
    weights = rng.random((8, 6)) + 0.1
    totals = rng.integers(0, 40, (8, 2))
    placed = quota.split_within_groups(totals, weights, group, 2, np.random.default_rng(2))
    totals[:, 0] += 25
    again = quota.split_within_groups(totals, weights, group, 2, np.random.default_rng(2))
    np.testing.assert_array_equal(again[:, 3:], placed[:, 3:])
    np.testing.assert_array_equal(again.reshape(8, 2, 3).sum(axis=2), totals)


def test_promote_cells_by_level_by_hand() -> None:
    # three grades on two levels: level 0 (grades 0 and 2) never drops, level 1 (grade 1) drops everyone; a second
    # section with the levels swapped. Grade 2 is the last: nobody drops there whatever its level's probability
    stock = np.array([[[5, 6, 7], [5, 6, 7]]])
    p = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    promoted, dropouts, graduates = kernels.promote_cells(stock, p, 0, 2, np.random.default_rng(0),
                                                          level_of_grade=np.array([0, 1, 0]))
    assert dropouts.tolist() == [[[0, 6, 0], [5, 0, 0]]]
    assert promoted.tolist() == [[[0, 0, 0], [0, 0, 6]]]
    assert graduates.tolist() == [[[5, 0, 7], [0, 0, 7]]]
    with pytest.raises(ValueError):
        kernels.promote_cells(stock, p, 0, 2, np.random.default_rng(0), level_of_grade=np.array([0, 2, 0]))


def test_promote_cells_one_level_draws_the_numbers_of_one_probability() -> None:
    # the same probability given per section or per section and (one) level: the same random numbers
    stock = np.random.default_rng(4).integers(0, 300, (3, 5, 4))
    p = np.random.default_rng(5).uniform(0.0, 0.2, (3, 5))
    one = kernels.promote_cells(stock, p, 1, 3, np.random.default_rng(6))
    by_level = kernels.promote_cells(stock, p[..., None], 1, 3, np.random.default_rng(6),
                                     level_of_grade=np.zeros(4, dtype=np.int64))
    for a, b in zip(one, by_level, strict=True):
        np.testing.assert_array_equal(a, b)
