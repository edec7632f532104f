"""Sobol' indices through SALib: Saltelli's design, Saltelli 2010 first-order and Jansen total-order estimators.

The design (:func:`sample`) is Saltelli's extension of a scrambled Sobol' sequence without second-order terms,
``N·(k+2)`` points on the unit hypercube, its columns read as the factors' quantiles. The indices
(:func:`indices`) are computed on the replicate means ``Ȳ`` of the design points, with bootstrap 95% intervals,
and rescaled to the variance of the parameter effects alone (the noise share comes from
:func:`sim.sensitivity.analysis.noise_statistics`):

    ``S1_parameters = S1 / (1 − noise_share)``,  ``ST_parameters = (ST − noise_share) / (1 − noise_share)``.

Every evaluation has its own independent noise, so the first-order estimator ``mean(Ȳ_B (Ȳ_ABᵢ − Ȳ_A))`` is
unbiased for ``Vᵢ = Var(E[g | xᵢ])`` while Jansen's total-order estimator ``mean((Ȳ_A − Ȳ_ABᵢ)²)/2`` estimates
``V_Tᵢ + E[σ²]/R`` (the package docstring derives it).

References
----------
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output. Design and estimator for the
total sensitivity index. Computer Physics Communications 181(2), 259–270.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.sensitivity.defaults import CONFIDENCE, N_RESAMPLES

COLUMNS = ("S1", "S1_conf", "ST", "ST_conf", "S1_parameters", "S1_parameters_conf", "ST_parameters",
           "ST_parameters_conf")
"""Columns of ``indices.csv`` that this method fills."""
TEXT = ("Sobol' indices (SALib: Saltelli sampling without second order, Saltelli 2010 first-order and Jansen "
        "total-order estimators, bootstrap 95% intervals) on the mean over replicates of each design point.")
"""The method in one sentence (``sensitivity.md``)."""


def n_points(n: int, k: int) -> int:
    """Design points with base size ``n`` and ``k`` factors: ``n·(k+2)``."""
    return n * (k + 2)


def check_n(n: int) -> None:
    """``--n`` must be a power of 2 ≥ 4 (the balance of the Sobol' sequence)."""
    if n < 4 or n & (n - 1):
        raise InputError(f"must be a power of 2 and at least 4 for --method sobol, got {n}", key="--n")


def sample(problem: dict[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """Saltelli's design on the unit hypercube, ``(n·(k+2), k)``; its values are the factors' quantiles."""
    from SALib.sample import sobol as sobol_sample

    return np.asarray(sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=rng), float)


def indices(problem: dict[str, Any], means: np.ndarray, noise_share: float, seed: int) -> list[dict[str, Any]]:
    """One row per factor: S1, ST with 95% half-widths, and the same rescaled to the parameter effects.

    ``noise_share`` is NaN when the noise is not estimable (one replicate): no correction. When it is 1 or more
    (the replicate noise dominates), the rescaled indices are NaN and the row says so.
    """
    from SALib.analyze import sobol as sobol_analyze

    si = sobol_analyze.analyze(problem, means, calc_second_order=False, num_resamples=N_RESAMPLES,
                               conf_level=CONFIDENCE, seed=seed)
    keep = 1.0 - noise_share
    dominated = bool(keep <= 0)
    rows = []
    for j in range(problem["num_vars"]):
        s1, st = float(si["S1"][j]), float(si["ST"][j])
        s1c, stc = float(si["S1_conf"][j]), float(si["ST_conf"][j])
        rows.append({"S1": s1, "S1_conf": s1c, "ST": st, "ST_conf": stc,
                     "S1_parameters": math.nan if dominated else s1 / keep,
                     "S1_parameters_conf": math.nan if dominated else s1c / keep,
                     "ST_parameters": math.nan if dominated else (st - noise_share) / keep,
                     "ST_parameters_conf": math.nan if dominated else stc / keep,
                     "note": "replicate noise dominates: use more replicates" if dominated else ""})
    return rows
