"""A calibrated posterior (weighted particles from ``edusim calibrate``) and how a run's draws use it.

A posterior folder (``calibration/posterior/NAME/``, written by :mod:`sim.calibrate`) holds ``particles.csv``: one
row per particle, a ``weight`` column and one column per inferred parameter (values in the units of
:mod:`sim.parameters`), and ``posterior.json`` with the configuration, the observations and the provenance.

Each draw of a run takes **one whole particle** (the parameters jointly, so their posterior correlations are
kept), chosen by inverse CDF of the particle weights from the draw's own uniform of the keyed stream
``"posterior"`` (:meth:`sim.rng.Streams.uniforms`). Consequences, tested in ``tests/test_posterior.py``:

- draw ``i`` gets the same particle whatever the chunk, the chunk size or the worker that runs it;
- two scenarios with the same seed and the same posterior give every draw the same particle (common random
  numbers), so a comparison of policies is not blurred by parameter noise;
- over many draws each particle is taken with a frequency equal to its weight.

Wiring into a scenario (``uncertainties: {posterior: PATH}``) is a call in ``sample_parameters``::

    overrides = Posterior.load(path).values(None, streams, start, stop)  # every inferred parameter
    overrides.update(parameters or {})                                    # explicit overrides win

after which the named parameters take the particle values and every other uncertainty keeps its prior.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.rng import Streams

PARTICLES_FILE = "particles.csv"
METADATA_FILE = "posterior.json"
STREAM = "posterior"
"""Name of the keyed stream whose uniform picks each draw's particle."""
NEGLIGIBLE_WEIGHT = 1e-12
"""Particles weighing less than this fraction of the largest are not kept (:meth:`Posterior.without_negligible`)."""


@dataclass(frozen=True)
class Posterior:
    """Weighted particles over some uncertain parameters.

    Attributes
    ----------
    names
        The parameters, in column order.
    particles
        ``(n_particles, n_parameters)`` values.
    weights
        ``(n_particles,)`` non-negative importance weights summing to 1.
    metadata
        The contents of ``posterior.json`` (empty when absent).
    """

    names: tuple[str, ...]
    particles: np.ndarray
    weights: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.particles.shape != (self.weights.size, len(self.names)):
            raise ValueError(f"particles {self.particles.shape} do not match {self.weights.size} weights and "
                             f"{len(self.names)} names")
        if self.weights.size == 0 or (self.weights < 0).any() or not np.isclose(self.weights.sum(), 1.0):
            raise ValueError("weights must be non-negative and sum to 1")

    @classmethod
    def from_arrays(cls, names: Sequence[str], particles: np.ndarray, weights: np.ndarray,
                    metadata: dict[str, Any] | None = None) -> Posterior:
        """A posterior from arrays; the weights are normalised to sum to 1."""
        w = np.asarray(weights, dtype=np.float64)
        return cls(tuple(names), np.asarray(particles, dtype=np.float64).reshape(w.size, len(names)),
                   w / w.sum(), dict(metadata or {}))

    def without_negligible(self) -> tuple[Posterior, dict[str, Any]]:
        """The posterior without the particles whose weight is below :data:`NEGLIGIBLE_WEIGHT` times the largest,
        and what was dropped (``particles``: how many, ``weight``: their total weight, ``rule``).

        An importance step to temperature 1 weights every proposal, and most weigh next to nothing (posterior v10:
        18,865 of 28,672 particles below 10⁻¹² of the largest, together 3 × 10⁻¹¹): keeping them changes no
        summary, costs megabytes, and could change a draw's particle only where its uniform falls within their
        total weight of a boundary of the cumulative weights.
        """
        keep = self.weights >= NEGLIGIBLE_WEIGHT * self.weights.max()
        dropped = {"particles": int((~keep).sum()), "weight": float(self.weights[~keep].sum()),
                   "rule": f"weight below {NEGLIGIBLE_WEIGHT:g} of the largest"}
        return Posterior.from_arrays(self.names, self.particles[keep], self.weights[keep], self.metadata), dropped

    @classmethod
    def load(cls, path: str | Path) -> Posterior:
        """Read a posterior folder (or its ``particles.csv``).

        Raises
        ------
        InputError
            The folder or file is missing, or ``particles.csv`` has no ``weight`` column, a non-numeric or
            negative value, or weights that sum to zero; the message names the file and the line.
        """
        where = Path(path)
        folder = where.parent if where.suffix == ".csv" else where
        file = where if where.suffix == ".csv" else where / PARTICLES_FILE
        if not file.is_file():
            raise InputError(f"no posterior here: {file} not found (write one with `edusim calibrate CONFIG`)",
                             file=str(where))
        try:
            frame = pd.read_csv(file)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"not a readable CSV file: {exc}", file=str(file)) from None
        if "weight" not in frame.columns or len(frame.columns) < 2:
            raise InputError("needs a 'weight' column and one column per parameter", file=str(file), line=1)
        names = tuple(str(c) for c in frame.columns if c != "weight")
        for column in frame.columns:
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = np.flatnonzero(~np.isfinite(values.to_numpy(float)))
            if bad.size:
                raise InputError(f"not a finite number: {frame[column].iloc[bad[0]]!r}", file=str(file),
                                 line=int(bad[0]) + 2, key=str(column))
        weights = frame["weight"].to_numpy(float)
        if (weights < 0).any():
            line = int(np.flatnonzero(weights < 0)[0]) + 2
            raise InputError("weights must be >= 0", file=str(file), line=line, key="weight")
        if weights.sum() <= 0:
            raise InputError("the weights sum to zero", file=str(file), key="weight")
        metadata: dict[str, Any] = {}
        meta_file = folder / METADATA_FILE
        if meta_file.is_file():
            metadata = json.loads(meta_file.read_text(encoding="utf-8"))
        return cls.from_arrays(names, frame[list(names)].to_numpy(float), weights, metadata)

    def particle_index(self, streams: Streams, start: int, stop: int) -> np.ndarray:
        """The particle of each draw ``start … stop-1``: inverse CDF of the weights at the draw's uniform.

        Draw ``i``'s particle depends only on the seed, ``i`` and the posterior, never on ``start``/``stop``.
        """
        u = streams.uniforms(STREAM, start, stop)
        cdf = np.cumsum(self.weights)
        cdf /= cdf[-1]
        return np.minimum(np.searchsorted(cdf, u, side="right"), self.weights.size - 1)

    def values(self, names: Sequence[str] | None, streams: Streams, start: int, stop: int) -> dict[str, np.ndarray]:
        """Each named parameter's value in draws ``start … stop-1`` (one particle per draw, shared by all names).

        Parameters
        ----------
        names
            Parameters wanted (``None``: every parameter of the posterior).
        streams, start, stop
            The run's streams and the draws of the chunk, as in ``sample_parameters``.

        Returns
        -------
        dict
            ``{name: array of shape (stop - start,)}``, ready as ``parameters=`` of ``sim.cohort.run_chunk``.

        Raises
        ------
        KeyError
            A name that the posterior does not hold (the message lists those it holds).
        """
        wanted = tuple(self.names if names is None else names)
        missing = [n for n in wanted if n not in self.names]
        if missing:
            raise KeyError(f"not in the posterior: {', '.join(missing)}; it holds: {', '.join(self.names)}")
        index = self.particle_index(streams, start, stop)
        return {n: self.particles[index, self.names.index(n)].copy() for n in wanted}

    def effective_sample_size(self) -> float:
        """Kish's effective sample size of the weights, ``1 / Σ w²``."""
        return float(1.0 / np.sum(self.weights**2))

    def quantiles(self, name: str, qs: Sequence[float] | np.ndarray) -> np.ndarray:
        """Weighted quantiles of one parameter (inverse of the weighted empirical CDF)."""
        return weighted_quantiles(self.particles[:, self.names.index(name)], self.weights, qs)

    def mean(self, name: str) -> float:
        return float(np.sum(self.particles[:, self.names.index(name)] * self.weights))

    def probability_below(self, name: str, value: float) -> float:
        """Posterior probability that ``name`` is below ``value`` (the weight of the particles under it): at a true
        value, its probability integral transform, uniform over truths drawn from the prior when the posterior is
        exact (Talts et al. 2018, simulation-based calibration)."""
        below = self.particles[:, self.names.index(name)] < value
        return float(np.sum(self.weights[below]) / np.sum(self.weights))


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float] | np.ndarray) -> np.ndarray:
    """Quantiles ``qs`` of the weighted empirical distribution: the smallest value whose CDF reaches ``q``."""
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, float)[order]
    cdf = np.cumsum(np.asarray(weights, float)[order])
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, np.asarray(qs, float) - 1e-12, side="left")
    return v[np.minimum(idx, v.size - 1)]
