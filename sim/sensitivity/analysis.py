"""Indices from the evaluated design: replicate noise apart from parameter effects, then the method's estimators.

``y`` holds one outcome per (design point, replicate, output). :func:`analyse` reads, for each output, the
replicate means ``Ȳᵢ`` of the points with the method's estimators (:mod:`sim.sensitivity.sobol`,
:mod:`sim.sensitivity.morris`) and the noise statistics of :func:`noise_statistics` (derived in the package
docstring); :func:`run_analysis` is design → ``evaluate(design)`` → indices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sim.sensitivity import morris, sobol
from sim.sensitivity.design import Design

__all__ = ["Noise", "Output", "SensitivityResult", "analyse", "noise_statistics", "run_analysis"]


@dataclass(frozen=True)
class Output:
    """One analysed output: a target's metric value or its probability."""

    target: str
    kind: str  # "value" or "probability"
    units: str
    label: str


@dataclass(frozen=True)
class Noise:
    """Replicate-noise statistics of one output (derived in the :mod:`sim.sensitivity` docstring)."""

    variance_of_means: float
    noise_variance: float
    noise_share: float


def noise_statistics(y: np.ndarray) -> Noise:
    """Noise statistics of ``y`` ``(points, replicates)``; NaN where not estimable (one replicate)."""
    points, replicates = y.shape
    means = y.mean(axis=1)
    variance_of_means = float(np.var(means, ddof=1)) if points > 1 else math.nan
    if replicates < 2:
        return Noise(variance_of_means, math.nan, math.nan)
    noise_variance = float(np.var(y, axis=1, ddof=1).mean())
    share = noise_variance / replicates / variance_of_means if variance_of_means > 0 else math.nan
    return Noise(variance_of_means, noise_variance, share)


def analyse(design: Design, y: np.ndarray, outputs: Sequence[Output], rng: np.random.Generator) -> list[dict]:
    """Indices of every output: one row per (output, factor), as written to ``indices.csv``.

    ``y`` has shape ``(points, replicates, outputs)``; the estimators read the replicate means. Each output
    draws one bootstrap seed from ``rng``, in output order, analysed or not.
    """
    if y.ndim != 3 or y.shape[0] != design.n_points or y.shape[2] != len(outputs):
        raise ValueError(f"outputs must have shape ({design.n_points}, R, {len(outputs)}), got {y.shape}")
    rows: list[dict] = []
    replicates = y.shape[1]
    for o, output in enumerate(outputs):
        values = y[:, :, o]
        means = values.mean(axis=1)
        noise = noise_statistics(values)
        base = {"target": output.target, "outcome": output.kind, "outcome_units": output.units,
                "method": design.method, "replicates": replicates,
                "variance_of_means": noise.variance_of_means, "noise_variance": noise.noise_variance,
                "noise_share": noise.noise_share}
        note = ""
        if not np.isfinite(means).all():
            note = "undefined: the outcome is missing (NaN) at some design points"
        elif np.ptp(means) <= 1e-12 * max(1.0, float(np.abs(means).max())):
            note = f"constant over the design ({means[0]:g}): no sensitivity"
        seed = int(rng.integers(1, 2**31 - 1))  # SALib's sobol.analyze treats seed 0 as "unseeded"
        if note:
            for factor in design.factors:
                rows.append({**base, "factor": factor.name, "factor_kind": factor.kind, "note": note})
            continue
        if design.method == "sobol":
            found = sobol.indices(design.problem, means, noise.noise_share, seed)
        else:
            found = morris.indices(design.problem, design.unit, means, noise.noise_variance, replicates, seed)
        for factor, own in zip(design.factors, found, strict=True):
            rows.append({**base, "factor": factor.name, "factor_kind": factor.kind, **own})
    return rows


@dataclass(frozen=True)
class SensitivityResult:
    """An analysed design: the outcomes ``y`` (points × replicates × outputs), the index rows and, for the model,
    each point's first draw index."""

    design: Design
    outputs: tuple[Output, ...]
    y: np.ndarray
    rows: list[dict]
    first_draw: np.ndarray | None = None


def run_analysis(design: Design, evaluate: Callable[[Design], np.ndarray], outputs: Sequence[Output],
                 rng: np.random.Generator) -> SensitivityResult:
    """Design → ``evaluate(design)`` (points × replicates × outputs) → indices."""
    y = np.asarray(evaluate(design), dtype=float)
    rows = analyse(design, y, outputs, rng)
    return SensitivityResult(design, tuple(outputs), y, rows, getattr(evaluate, "first_draw", None))
