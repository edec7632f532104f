"""Tests of sim.mechanisms.targeting (一縣一策) and of the targeting lever in both engines."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.targeting import aimed_cultivation, pe_art_hires, pe_art_shortfall


def test_pe_art_shortfall_closed_form():
    # 500 pupils at 0.9 per 100 need ceil(4.5) = 5 PE/art teachers: 2 have, 3 lack; 0 pupils lack none
    np.testing.assert_array_equal(pe_art_shortfall([[500, 500, 0]], [[2, 9, 0]], [0.9, 0.9, 0.9]), [[3, 0, 0]])


def test_hires_fill_the_pe_art_shortfall_first():
    rng = np.random.default_rng(0)
    hires = np.array([[2, 10, 10]])
    out = pe_art_hires(hires, np.array([[5, 4, 0]]), 0.0, rng)
    np.testing.assert_array_equal(out, [[2, 4, 0]])  # at share 0 only the shortfall, capped by the hires
    np.testing.assert_array_equal(pe_art_hires(hires, np.array([[5, 4, 0]]), 1.0, rng), hires)


def test_aimed_cultivation_keeps_the_count_and_goes_where_backbone_fails_first():
    """One county and level: 100 candidates in section 0 (below the threshold), 100 in section 1 (not). At a
    share of 0.2 about 40 are cultivated, all in section 0; at 0.9 section 0 is exhausted and the rest go to 1."""
    cand = np.broadcast_to([100, 100], (64, 2)).copy()
    below = np.broadcast_to([True, False], (64, 2))
    group = np.array([0, 0])
    low = aimed_cultivation(cand, below, 0.2, group, 1, np.random.default_rng(1))
    assert np.all(low[:, 1] == 0) and 30 < low[:, 0].mean() < 50
    high = aimed_cultivation(cand, below, 0.9, group, 1, np.random.default_rng(1))
    assert np.all(high[:, 0] == 100) and np.all(high[:, 1] > 0) and np.all(high <= cand)
    # same total distribution as untargeted cultivation: Binomial(200, 0.9), mean 180, sd 4.2
    assert abs(high.sum(axis=1).mean() - 180) < 3 * 4.24 / 8
