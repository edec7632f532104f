"""sim.sensitivity.sobol: the power-of-two rule, the design's shape, and the noise correction of the indices
(S1_parameters = S1 / (1 − share), ST_parameters = (ST − share) / (1 − share)) on an additive function whose
indices are known in closed form (f = x0 + 2·x1 on U(0, 1): Var = 1/12 + 4/12, S1 = ST = 1/5, 4/5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.errors import InputError
from sim.sensitivity import sobol

PROBLEM = {"num_vars": 2, "names": ["x0", "x1"], "bounds": [[0.0, 1.0]] * 2}


def test_check_n_and_points() -> None:
    for good in (4, 8, 1024):
        sobol.check_n(good)
    for bad in (2, 6, 100):
        with pytest.raises(InputError, match="must be a power of 2 and at least 4"):
            sobol.check_n(bad)
    assert sobol.n_points(64, 3) == 64 * 5


def test_sample_shape() -> None:
    unit = sobol.sample(PROBLEM, 16, np.random.default_rng(0))
    assert unit.shape == (16 * 4, 2) and (unit >= 0).all() and (unit <= 1).all()


def additive() -> tuple[np.ndarray, np.ndarray]:
    unit = sobol.sample(PROBLEM, 1024, np.random.default_rng(3))
    return unit, unit @ np.array([1.0, 2.0])


def test_indices_of_an_additive_function() -> None:
    _, y = additive()
    rows = sobol.indices(PROBLEM, y, noise_share=math.nan, seed=11)
    np.testing.assert_allclose([r["S1"] for r in rows], [0.2, 0.8], atol=0.03)
    np.testing.assert_allclose([r["ST"] for r in rows], [0.2, 0.8], atol=0.03)
    assert set(rows[0]) == {*sobol.COLUMNS, "note"}
    # no noise estimate (one replicate): the "parameters" indices are NaN, the raw ones stand
    assert all(math.isnan(r["S1_parameters"]) for r in rows)


def test_noise_correction_by_hand() -> None:
    _, y = additive()
    raw = sobol.indices(PROBLEM, y, noise_share=math.nan, seed=11)
    share = 0.25
    fixed = sobol.indices(PROBLEM, y, noise_share=share, seed=11)
    for r, f in zip(raw, fixed, strict=True):
        assert f["S1"] == r["S1"] and f["ST"] == r["ST"]  # same seed, same estimates
        assert f["S1_parameters"] == pytest.approx(r["S1"] / 0.75)
        assert f["ST_parameters"] == pytest.approx((r["ST"] - 0.25) / 0.75)
        assert f["ST_parameters_conf"] == pytest.approx(r["ST_conf"] / 0.75)
        assert f["note"] == ""


def test_noise_that_dominates_is_reported() -> None:
    _, y = additive()
    rows = sobol.indices(PROBLEM, y, noise_share=1.0, seed=11)
    assert all(math.isnan(r["S1_parameters"]) and r["note"].startswith("replicate noise dominates") for r in rows)
