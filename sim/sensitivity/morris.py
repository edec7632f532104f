"""Morris elementary effects through SALib: trajectories on a grid, μ, μ* (bootstrap 95% interval) and σ.

The design (:func:`sample`) is ``N`` trajectories of ``k + 1`` points on a grid of :data:`LEVELS` levels. Grid
levels ``0, 1/3, 2/3, 1`` are read as the quantiles at the middle of ``p`` equal-probability bins
(:func:`quantiles`: ``(2j + 1) / 2p`` = 1/8, 3/8, 5/8, 7/8), so that unbounded distributions give finite values.
Elementary effects are taken on the unit design scale (a factor moving by ``Δ = p / (2(p − 1))`` = 2/3 of its
quantile range), so ``μ*`` is in the outcome's units per unit of the design scale, comparable across factors
whatever their own units.

Replicate noise adds to every elementary effect; an inert factor's ``μ*`` is the mean absolute difference of two
independent point means divided by ``Δ``: :func:`noise_floor` = ``√(4 E[σ²] / (π R)) / Δ`` (exact for normal
noise, an approximation otherwise). A factor whose ``μ*`` is near the floor is indistinguishable from noise.

References
----------
Morris, M. D. (1991). Factorial sampling plans for preliminary computational experiments. Technometrics 33(2).
Campolongo, F., Cariboni, J., Saltelli, A. (2007). An effective screening design for sensitivity analysis of
large models. Environmental Modelling & Software 22(10).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.sensitivity.defaults import CONFIDENCE, N_RESAMPLES

LEVELS = 4
"""Levels of the Morris grid."""
COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma", "mu_star_noise_floor")
"""Columns of ``indices.csv`` that this method fills."""
TEXT = ("Morris elementary effects (SALib: trajectories on a 4-level grid, levels read as quantiles 1/8, 3/8, "
        "5/8, 7/8; μ* with bootstrap 95% interval, σ) on the mean over replicates of each design point; "
        "effects per unit of the design scale (step Δ = 2/3).")
"""The method in one sentence (``sensitivity.md``)."""


def n_points(n: int, k: int) -> int:
    """Design points of ``n`` trajectories and ``k`` factors: ``n·(k+1)``."""
    return n * (k + 1)


def check_n(n: int) -> None:
    """``--n`` must be at least 2 trajectories."""
    if n < 2:
        raise InputError(f"must be at least 2 trajectories for --method morris, got {n}", key="--n")


def sample(problem: dict[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` Morris trajectories on the unit hypercube, ``(n·(k+1), k)``, on the grid of :data:`LEVELS` levels."""
    from SALib.sample import morris as morris_sample

    return np.asarray(morris_sample.sample(problem, n, num_levels=LEVELS, seed=rng), float)


def quantiles(unit: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """Grid level ``j / (p − 1)`` → the middle of bin ``j`` of ``p`` equal-probability bins, ``(2j + 1) / 2p``.

    >>> quantiles(np.array([0.0, 1 / 3, 2 / 3, 1.0])).tolist()
    [0.125, 0.375, 0.625, 0.875]
    """
    return (np.rint(unit * (levels - 1)) * 2 + 1) / (2 * levels)


def delta(levels: int = LEVELS) -> float:
    """The step of an elementary effect on the unit scale, ``p / (2(p − 1))`` (2/3 for 4 levels)."""
    return levels / (2 * (levels - 1))


def noise_floor(noise_variance: float, replicates: int) -> float:
    """``μ*`` of an inert factor under replicate noise: ``√(4 E[σ²] / (π R)) / Δ`` (module docstring)."""
    return math.sqrt(4 * noise_variance / (math.pi * replicates)) / delta()


def indices(problem: dict[str, Any], unit: np.ndarray, means: np.ndarray, noise_variance: float, replicates: int,
            seed: int) -> list[dict[str, Any]]:
    """One row per factor: μ, μ* with its 95% half-width, σ and the noise floor of μ*."""
    from SALib.analyze import morris as morris_analyze

    si = morris_analyze.analyze(problem, unit, means, num_resamples=N_RESAMPLES, conf_level=CONFIDENCE,
                                num_levels=LEVELS, seed=np.random.default_rng(seed))
    floor = noise_floor(noise_variance, replicates)
    return [{"mu": float(si["mu"][j]), "mu_star": float(si["mu_star"][j]),
             "mu_star_conf": float(si["mu_star_conf"][j]), "sigma": float(si["sigma"][j]),
             "mu_star_noise_floor": floor, "note": ""} for j in range(problem["num_vars"])]
