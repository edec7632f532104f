"""Tests of sim.mechanisms.development."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms.development import (
    backbone_cultivation,
    backbone_loss,
    pe_art_retraining,
    pe_art_shortfall,
    qualification_upgrade,
)

STOCK = np.array([[10, 0, 25], [3, 7, 1]])


def test_zero_shares_change_nothing():
    rng = np.random.default_rng(0)
    assert qualification_upgrade(STOCK, 0.0, rng).sum() == 0
    assert backbone_cultivation(STOCK, np.zeros((2, 1)), rng).sum() == 0
    assert backbone_loss(STOCK, 1.0, rng).sum() == 0
    assert pe_art_retraining(STOCK, STOCK, 0.0, rng).sum() == 0
    assert pe_art_retraining(STOCK, STOCK, None, rng).sum() == 0


def test_full_shares_move_everyone():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(qualification_upgrade(STOCK, 1.0, rng), STOCK)
    np.testing.assert_array_equal(backbone_cultivation(STOCK, 1.0, rng), STOCK)
    np.testing.assert_array_equal(backbone_loss(STOCK, 0.0, rng), STOCK)


def test_expected_upgrades():
    n_draws = 4000
    stock = np.full((n_draws, 1), 500)
    upgraded = qualification_upgrade(stock, np.full((n_draws, 1), 0.1), np.random.default_rng(2))
    se = np.sqrt(500 * 0.1 * 0.9 / n_draws)
    assert abs(upgraded.mean() - 50.0) < 5 * se


def test_pe_art_shortfall_hand_made():
    # 100 primary pupils need ceil(0.9) = 1; 1000 need 9 and have 4 -> 5; 50 junior need 1 and have 3 -> 0
    students = np.array([[100, 1000, 50]])
    pe_art = np.array([[0, 4, 3]])
    level = np.array([0, 0, 1])
    np.testing.assert_array_equal(pe_art_shortfall(students, pe_art, level), [[1, 5, 0]])


def test_pe_art_retraining_full_share_closes_the_gap_where_possible():
    others = np.array([[10, 2, 0]])
    shortfall = np.array([[3, 5, 4]])
    np.testing.assert_array_equal(pe_art_retraining(others, shortfall, 1.0, np.random.default_rng(0)), [[3, 2, 0]])


@settings(max_examples=80, deadline=None)
@given(
    stock=st.lists(st.integers(0, 1000), min_size=1, max_size=20),
    share=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_flows_never_exceed_their_stock(stock, share, seed):
    arr = np.array(stock).reshape(1, -1)
    rng = np.random.default_rng(seed)
    for flow in (
        qualification_upgrade(arr, share, rng),
        backbone_cultivation(arr, share, rng),
        backbone_loss(arr, share, rng),
        pe_art_retraining(arr, arr[:, ::-1], share, rng),
    ):
        assert np.all(flow >= 0) and np.all(flow <= arr)


# ---------------------------------------------------------------------------------------------------------
# guards and per-draw shares (mutation testing found them untested)


def test_shares_at_the_bounds_are_accepted_and_outside_refused():
    import pytest

    rng = np.random.default_rng(0)
    stock = np.array([[5, 3], [2, 7]])
    np.testing.assert_array_equal(qualification_upgrade(stock, 1.0, rng), stock)
    np.testing.assert_array_equal(qualification_upgrade(stock, 0.0, rng), 0)
    for bad in (-0.01, 1.01):
        with pytest.raises(ValueError):
            qualification_upgrade(stock, bad, rng)
        with pytest.raises(ValueError):
            backbone_loss(stock, bad, rng)


def test_a_share_per_draw_applies_to_its_own_row():
    rng = np.random.default_rng(0)
    stock = np.array([[5, 3], [2, 7]])
    out = qualification_upgrade(stock, np.array([1.0, 0.0]), rng)
    np.testing.assert_array_equal(out, [[5, 3], [0, 0]])
    out = backbone_loss(stock, np.array([0.0, 1.0]), rng)
    np.testing.assert_array_equal(out, [[5, 3], [0, 0]])


def test_pe_art_shortfall_by_hand():
    # 0.9 per 100 students: 250 pupils need ceil(2.25) = 3, 200 need exactly 1.8 → 2; 1 teacher already there
    # 1112 pupils: 10.008 → 11
    out = pe_art_shortfall(np.array([[250, 200, 100, 1112]]), np.array([[1, 0, 5, 0]]), np.array([0, 1, 0, 0]))
    np.testing.assert_array_equal(out, [[2, 2, 0, 11]])
    assert out.dtype == np.int64
