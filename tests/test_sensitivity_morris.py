"""sim.sensitivity.morris: the grid read as bin middles, the step, the noise floor, the design's shape and μ* of
a linear function (hand-derived: every elementary effect of f = a·q is a)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.errors import InputError
from sim.sensitivity import morris


def problem(k: int) -> dict:
    return {"num_vars": k, "names": [f"x{j}" for j in range(k)], "bounds": [[0.0, 1.0]] * k}


def test_levels_and_step() -> None:
    assert morris.LEVELS == 4
    np.testing.assert_allclose(morris.quantiles(np.array([0, 1 / 3, 2 / 3, 1])), [1 / 8, 3 / 8, 5 / 8, 7 / 8])
    assert morris.delta() == pytest.approx(2 / 3)
    assert morris.delta(6) == pytest.approx(6 / 10)


def test_noise_floor_by_hand() -> None:
    # E|Ȳ₁ − Ȳ₂| for two independent means of R draws with variance σ² is √(2σ²/R)·√(2/π) = √(4σ²/(πR))
    assert morris.noise_floor(2.0, 4) == pytest.approx(math.sqrt(2 * 2.0 / 4) * math.sqrt(2 / math.pi) / (2 / 3))


def test_check_n_and_points() -> None:
    morris.check_n(2)
    with pytest.raises(InputError, match="at least 2 trajectories") as info:
        morris.check_n(1)
    assert info.value.key == "--n"
    assert morris.n_points(10, 3) == 40


def test_sample_is_trajectories_on_the_grid() -> None:
    unit = morris.sample(problem(3), 5, np.random.default_rng(0))
    assert unit.shape == (5 * 4, 3)
    assert set(np.round(unit.ravel() * 3, 9)) <= {0.0, 1.0, 2.0, 3.0}
    # along a trajectory exactly one factor moves at each step, by Δ = 2/3
    for t in range(5):
        steps = np.diff(unit[4 * t: 4 * t + 4], axis=0)
        assert ((np.abs(steps) > 1e-12).sum(axis=1) == 1).all()
        np.testing.assert_allclose(np.abs(steps[np.abs(steps) > 1e-12]), 2 / 3)


def test_indices_of_a_linear_function() -> None:
    # f = 3·x0 − 2·x1 + 0·x2 on the unit scale: every elementary effect is the coefficient (exact)
    unit = morris.sample(problem(3), 6, np.random.default_rng(1))
    y = unit @ np.array([3.0, -2.0, 0.0])
    rows = morris.indices(problem(3), unit, y, noise_variance=0.0, replicates=2, seed=5)
    np.testing.assert_allclose([r["mu"] for r in rows], [3.0, -2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose([r["mu_star"] for r in rows], [3.0, 2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose([r["sigma"] for r in rows], [0.0, 0.0, 0.0], atol=1e-12)
    assert all(r["mu_star_noise_floor"] == 0.0 and r["note"] == "" for r in rows)
    assert set(rows[0]) == {*morris.COLUMNS, "note"}
