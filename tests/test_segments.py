"""Compiled group sums and allocations (sim.mechanisms.segments) against the numpy code they replace.

The kernels promise the same numbers as the numpy formulations bit for bit (the same additions in the same
order), so these comparisons are exact; the expected values come from numpy's ``bincount``/``cumsum``/``argsort``
or from hand-made cases, never from the kernels.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.mechanisms import segments


def _bincount_sum(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    d, s = v.shape[:2]
    v3 = v.reshape(d, s, -1)
    flat = (np.arange(d)[:, None] * n_groups + group[None, :]).ravel()
    out = np.stack([np.bincount(flat, weights=v3[:, :, k].ravel(), minlength=d * n_groups)
                    for k in range(v3.shape[2])], axis=-1)
    return out.reshape((d, n_groups, *v.shape[2:]))


@pytest.mark.parametrize("sorted_groups", [True, False])
def test_group_sum_equals_bincount_bit_for_bit(sorted_groups: bool) -> None:
    rng = np.random.default_rng(3)
    group = rng.integers(0, 7, 200)
    if sorted_groups:
        group = np.sort(group)
    floats = rng.standard_normal((5, 200)) * 10.0 ** rng.integers(-8, 8, (5, 200))  # rounding matters
    for values in (floats, rng.integers(-5, 9, (5, 200)), rng.random((5, 200)) < 0.4, floats[:, :, None] * [1, 3]):
        out = segments.group_sum3(values, group, 9)  # groups 7 and 8 are empty
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, _bincount_sum(values, group, 9))
    np.testing.assert_array_equal(segments.group_sum(np.broadcast_to(floats[0], (3, 200)), group, 9),
                                  _bincount_sum(np.broadcast_to(floats[0], (3, 200)), group, 9))


def test_group_sum_hand_made_and_bad_groups() -> None:
    values = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, 0.25, 1.0]])
    np.testing.assert_array_equal(segments.group_sum(values, np.array([1, 0, 1, 1]), 3),
                                  [[2.0, 8.0, 0.0], [0.0, 1.75, 0.0]])
    with pytest.raises(ValueError, match="group indices"):
        segments.group_sum(values, np.array([0, 1, 3, 1]), 3)
    with pytest.raises(ValueError, match="4 entries for 3 sections"):
        segments.group_sum(values[:, :3], np.array([0, 1, 2, 1]), 3)


def test_group_max_matches_maximum_at() -> None:
    rng = np.random.default_rng(4)
    values = rng.random((3, 50))
    values[1, 7] = np.nan
    group = rng.integers(0, 12, 50)
    expected = np.full((12, 3), -np.inf)
    np.maximum.at(expected, group, values.T)
    np.testing.assert_array_equal(segments.group_max(values, group, 12), expected.T)


def test_last_axis_sum_is_exact() -> None:
    values = np.random.default_rng(5).integers(0, 2**40, (4, 30, 9))
    np.testing.assert_array_equal(segments.last_axis_sum(values), values.sum(axis=2))
    with pytest.raises(ValueError, match="int64"):
        segments.last_axis_sum(values.astype(float))


def _numpy_cv(x: np.ndarray, w: np.ndarray | None, include: np.ndarray, group: np.ndarray,
              n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The bincount formulation the kernel replaces (two passes, in the same operation order)."""
    d, _, n_k = x.shape
    flat = (np.arange(d)[:, None] * n_groups + group[None, :]).ravel()
    size = d * n_groups
    if w is None:
        weight = include.astype(float)
    else:
        include = include & (w > 0)
        weight = np.where(include, w, 0.0)
    wf = weight.ravel()
    n = np.rint(np.bincount(flat, weights=include.ravel(), minlength=size)).astype(np.int64)
    total = np.bincount(flat, weights=wf, minlength=size)
    cv = np.full((n_k, size), np.nan)
    for k in range(n_k):
        xk = np.where(include, x[:, :, k], 0.0).ravel()
        mean = np.divide(np.bincount(flat, weights=wf * xk, minlength=size), total, out=np.zeros(size),
                         where=total > 0)
        dev = xk - mean[flat]
        dev *= dev
        dev *= wf
        sd = np.sqrt(np.divide(np.bincount(flat, weights=dev, minlength=size), total, out=np.zeros(size),
                               where=total > 0))
        cv[k][n >= 1] = 0.0
        spread = (n >= 2) & (sd > 0)
        np.divide(sd, mean, out=cv[k], where=spread & (mean != 0))
        cv[k][spread & (mean == 0)] = np.inf
    return np.moveaxis(cv.reshape(n_k, d, n_groups), 0, -1), n.reshape(d, n_groups)


@pytest.mark.parametrize("weighted", [True, False])
def test_weighted_cv_equals_the_bincount_formulation(weighted: bool) -> None:
    rng = np.random.default_rng(6)
    x = rng.random((4, 60, 3)) * 10
    x[:, :, 2] = 2.5  # no spread: CV 0
    x[0, :10, 1] = 0.0  # a zero mean with no spread in group 0 of draw 0
    w = rng.integers(0, 30, (4, 60)).astype(float)
    include = rng.random((4, 60)) < 0.8
    group = rng.integers(0, 8, 60)
    group[:10] = 0
    cv, n = segments.weighted_cv(x, w if weighted else None, include, group, 9)
    cv_ref, n_ref = _numpy_cv(x, w if weighted else None, include, group, 9)
    np.testing.assert_array_equal(n, n_ref)
    np.testing.assert_array_equal(cv, cv_ref)
    assert np.isnan(cv[:, 8]).all()  # an empty group


def test_weighted_cv_closed_form() -> None:
    # two sections of weights 1 and 3 with values 2 and 6: mean 5, variance (9 + 3) / 4 = 3, CV sqrt(3) / 5
    x = np.array([[[2.0], [6.0], [7.0]]])
    cv, n = segments.weighted_cv(x, np.array([[1.0, 3.0, 0.0]]), np.ones((1, 3), bool), np.array([0, 0, 1]), 2)
    assert cv[0, 0, 0] == pytest.approx(np.sqrt(3.0) / 5.0, rel=1e-15)
    assert np.isnan(cv[0, 1, 0]) and n.tolist() == [[2, 0]]  # weight 0: left out


def _numpy_largest_remainder(tot: np.ndarray, w: np.ndarray, grp: np.ndarray, n_groups: int) -> np.ndarray:
    """The vectorised rule the kernel replaces: floors, then one unit each by (group, fraction desc, order)."""
    d, s = w.shape
    w_group = _bincount_sum(w, grp, n_groups)
    exact = tot[:, grp] * w / np.where(w_group > 0, w_group, 1.0)[:, grp]
    base = np.floor(exact)
    frac = np.where(w > 0, exact - base, -1.0)
    left = tot - np.rint(_bincount_sum(base, grp, n_groups)).astype(np.int64)
    order = np.argsort(grp, kind="stable")
    position = np.arange(s) - np.searchsorted(grp[order], grp[order])
    sorted_idx = np.argsort(grp[None, :] * 4.0 - frac, axis=1, kind="stable")
    extra = np.zeros((d, s), dtype=np.int64)
    np.put_along_axis(extra, sorted_idx, (position[None, :] < left[:, grp[order]]).astype(np.int64), axis=1)
    return base.astype(np.int64) + extra


@pytest.mark.parametrize("n_sections", [7, 400])  # few candidates (insertion sort) and many (mergesort)
def test_largest_remainder_equals_the_sorting_rule(n_sections: int) -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        group = rng.integers(0, 3, n_sections)
        if trial % 2:
            group = np.sort(group)
        w = [rng.integers(0, 4, (3, n_sections)).astype(float), rng.random((3, n_sections)),
             np.ones((3, n_sections))][trial % 3]  # ties in the fractions
        tot = rng.integers(0, 200, (3, 3)) * (_bincount_sum(w, group, 3) > 0)
        out = segments.largest_remainder(tot, w, group, 3)
        np.testing.assert_array_equal(out, _numpy_largest_remainder(tot, w, group, 3))
        np.testing.assert_array_equal(_bincount_sum(out, group, 3), tot)


def test_largest_remainder_hand_made_ties_go_by_section_order() -> None:
    # 5 units over 3 equal weights: 1 each, the 2 left-over to the first two sections (equal fractions 2/3)
    out = segments.largest_remainder(np.array([[5]]), np.ones((1, 3)), np.zeros(3, np.int64), 1)
    assert out.tolist() == [[2, 2, 1]]


def test_running_sums_and_scatter_match_cumsum_and_fancy_indexing() -> None:
    rng = np.random.default_rng(8)
    group = rng.integers(0, 5, 40)
    order, start = segments.group_layout(group, 5)
    np.testing.assert_array_equal(order, np.argsort(group, kind="stable"))
    np.testing.assert_array_equal(start, np.r_[0, np.cumsum(np.bincount(group, minlength=5))])
    w = rng.random((3, 40)) * 10.0 ** rng.integers(-6, 6, (3, 40))
    expected = np.zeros((3, 41))
    np.cumsum(w[:, order], axis=1, out=expected[:, 1:])
    np.testing.assert_array_equal(segments.running_sums(w, order), expected)
    counts = rng.integers(0, 9, (3, 40))
    back = np.empty_like(counts)
    back[:, order] = counts
    np.testing.assert_array_equal(segments.scatter_columns(counts, order), back)


def test_advance_pipeline_hand_made() -> None:
    pipe = np.zeros((2, 1, 2, 3))
    pipe[0, 0, 0] = [1.0, 2.0, 3.0]
    spend = np.array([[[10.0, 20.0]]] * 2)
    construction = np.array([True, False])
    arrived, advanced = segments.advance_pipeline(spend, pipe, np.array([2, 0]), construction)
    # draw 0: item 0 lags 2 years (slot 2 gets 10), item 1 arrives now; draw 1: lag 0, both arrive now
    assert arrived.tolist() == [[[1.0, 20.0]], [[10.0, 20.0]]]
    assert advanced[0, 0].tolist() == [[2.0, 13.0, 0.0], [0.0, 0.0, 0.0]]
    assert not advanced[1].any()
    assert pipe[0, 0, 0].tolist() == [1.0, 2.0, 3.0]  # input untouched
