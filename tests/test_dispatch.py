"""Tests of sim.mechanisms.dispatch."""

from __future__ import annotations

import numpy as np
import pytest

from sim.mechanisms.dispatch import (
    INDICATORS,
    advance_terms,
    counted_dispatched,
    dispatch_arrivals,
    dispatch_attributes,
    start_terms,
)

# counties 0, 1 south; 2 other. Sections: (county, level)
COUNTY = np.array([0, 0, 1, 1, 2, 2, 2])
LEVEL = np.array([0, 1, 0, 1, 0, 1, 0])
SOUTH = np.array([True, True, False])


def _weights(n_draws):
    return np.broadcast_to([10.0, 5.0, 20.0, 0.0, 8.0, 4.0, 0.0], (n_draws, 7))


def test_deterministic_split_when_every_place_is_filled():
    arrivals = dispatch_arrivals(5000, 0.7, 0.3, 1.0, SOUTH, COUNTY, LEVEL, _weights(3), np.random.default_rng(0))
    south = SOUTH[COUNTY]
    # 5000 * 0.7 = 3500 south: 2450 primary, 1050 junior; 1500 other: 1050 primary, 450 junior
    np.testing.assert_array_equal(arrivals[:, south].sum(axis=1), 3500)
    np.testing.assert_array_equal(arrivals[:, south & (LEVEL == 0)].sum(axis=1), 2450)
    np.testing.assert_array_equal(arrivals[:, south & (LEVEL == 1)].sum(axis=1), 1050)
    np.testing.assert_array_equal(arrivals[:, ~south & (LEVEL == 0)].sum(axis=1), 1050)
    np.testing.assert_array_equal(arrivals[:, ~south & (LEVEL == 1)].sum(axis=1), 450)
    assert np.all(arrivals[:, [3, 6]] == 0)  # zero weight, no arrivals


def test_south_gets_its_share_in_expectation():
    n_draws = 2000
    arrivals = dispatch_arrivals(
        5000,
        0.7,
        0.3,
        np.full((n_draws, 1), 0.8),
        SOUTH,
        COUNTY,
        LEVEL,
        _weights(n_draws),
        np.random.default_rng(3),
    )
    south_total = arrivals[:, SOUTH[COUNTY]].sum(axis=1)
    # A ~ Binomial(5000, 0.8); south = 0.7 A (rounded) -> mean 2800, sd about 0.7 * sqrt(800)
    se = 0.7 * np.sqrt(5000 * 0.8 * 0.2) / np.sqrt(n_draws) + 1.0 / np.sqrt(n_draws)
    assert abs(south_total.mean() - 2800.0) < 5 * se


def test_within_group_allocation_follows_weight():
    n_draws = 2000
    arrivals = dispatch_arrivals(1000, 1.0, 0.0, 1.0, SOUTH, COUNTY, LEVEL, _weights(n_draws), np.random.default_rng(8))
    # all 1000 to south primary: sections 0 (weight 10) and 2 (weight 20) -> Binomial(1000, 1/3) to section 0
    np.testing.assert_array_equal(arrivals[:, [0, 2]].sum(axis=1), 1000)
    se = np.sqrt(1000 * (1 / 3) * (2 / 3) / n_draws)
    assert abs(arrivals[:, 0].mean() - 1000 / 3) < 5 * se


def test_empty_cell_share_goes_to_the_others():
    weights = np.array([[10.0, 0.0, 0.0, 0.0, 8.0, 4.0, 0.0]])  # no south junior weight
    arrivals = dispatch_arrivals(100, 0.5, 0.5, 1.0, SOUTH, COUNTY, LEVEL, weights, np.random.default_rng(0))
    assert arrivals.sum() == 100
    assert arrivals[0, 1] == 0


@pytest.mark.parametrize("term", [1, 2, 3])
def test_terms_leave_after_their_length(term):
    arrivals = np.array([[4, 0, 7]])
    terms = start_terms(arrivals, term)
    in_post_years = 0
    for year in range(1, 5):
        in_post_years += int(terms.sum() > 0)
        leavers, terms = advance_terms(terms)
        if year == term:
            np.testing.assert_array_equal(leavers, arrivals)
        else:
            assert leavers.sum() == 0
    assert in_post_years == term
    assert terms.sum() == 0


def test_bad_term_rejected():
    with pytest.raises(ValueError, match="term_years"):
        start_terms(np.zeros((1, 1), dtype=int), 4)


def test_counted_dispatched_options():
    in_post = np.array([[10, 4]])
    backbone = np.array([[3, 1]])
    pe_art = np.array([[1, 0]])
    none = counted_dispatched(in_post, backbone, pe_art, set())
    assert set(none) == set(INDICATORS)
    assert all(v.sum() == 0 for v in none.values())
    every = counted_dispatched(in_post, backbone, pe_art, INDICATORS)
    np.testing.assert_array_equal(every["staffing"], in_post)
    np.testing.assert_array_equal(every["qualification"], in_post)
    np.testing.assert_array_equal(every["backbone"], backbone)
    np.testing.assert_array_equal(every["pe_art"], pe_art)
    some = counted_dispatched(in_post, backbone, pe_art, {"staffing"})
    assert some["backbone"].sum() == 0 and some["staffing"].sum() == 14
    with pytest.raises(ValueError, match="did you mean 'staffing'"):
        counted_dispatched(in_post, backbone, pe_art, {"stafing"})


def test_dispatch_attributes_bounds():
    arrivals = np.array([[10, 0, 5], [2, 2, 2]])
    rng = np.random.default_rng(0)
    backbone, pe_art = dispatch_attributes(arrivals, 1.0, 0.0, rng)
    np.testing.assert_array_equal(backbone, arrivals)
    assert pe_art.sum() == 0
    backbone, pe_art = dispatch_attributes(arrivals, np.array([[0.3], [0.5]]), 0.1, rng)
    assert np.all(backbone <= arrivals) and np.all(pe_art <= arrivals)


# ---------------------------------------------------------------------------------------------------------
# guards: every bound is inclusive, one step outside it is refused (mutation testing found them untested)


def _arrivals(per_year=10, south=0.5, junior=0.5, arrival=1.0, weight=None):
    from sim.mechanisms.dispatch import dispatch_arrivals

    w = np.ones((1, COUNTY.size)) if weight is None else weight
    return dispatch_arrivals(per_year, south, junior, arrival, SOUTH, COUNTY, LEVEL, w, np.random.default_rng(0))


@pytest.mark.parametrize(("per_year", "south", "junior", "arrival"), [
    (0, 0.5, 0.5, 1.0), (10, 0.0, 0.5, 1.0), (10, 1.0, 0.5, 1.0), (10, 0.5, 0.0, 1.0), (10, 0.5, 1.0, 1.0),
    (10, 0.5, 0.5, 0.0), (1, 0.5, 0.5, 1.0),
])
def test_dispatch_bounds_are_inclusive(per_year, south, junior, arrival):
    out = _arrivals(per_year, south, junior, arrival)
    assert out.sum() == (per_year if arrival == 1.0 else 0)


@pytest.mark.parametrize(("per_year", "south", "junior", "arrival"), [
    (-1, 0.5, 0.5, 1.0), (10, -0.01, 0.5, 1.0), (10, 1.01, 0.5, 1.0), (10, 0.5, -0.01, 1.0), (10, 0.5, 1.01, 1.0),
    (10, 0.5, 0.5, 1.01), (10, 0.5, 0.5, -0.01),
])
def test_dispatch_refuses_values_out_of_bounds(per_year, south, junior, arrival):
    with pytest.raises(ValueError):
        _arrivals(per_year, south, junior, arrival)


def test_dispatch_refuses_negative_weights_and_goes_where_weights_are():
    with pytest.raises(ValueError, match="section_weight"):
        _arrivals(weight=-np.ones((1, COUNTY.size)))
    # weights below 1 still attract teachers (a weight > 0, not > 1, opens a cell)
    w = np.full((1, COUNTY.size), 0.5)
    assert _arrivals(per_year=20, weight=w).sum() == 20
    # all weight in one north primary section: the north share goes there
    w = np.zeros((1, COUNTY.size))
    w[0, 4] = 0.3
    out = _arrivals(per_year=20, south=0.0, junior=0.0, weight=w)
    assert out[0, 4] == 20 and out.sum() == 20
