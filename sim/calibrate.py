"""``edusim calibrate CONFIG``: infer uncertain parameters from published history with ABC-SMC (pyabc).

The configuration (YAML, :class:`CalibrationConfig`, documented in ``docs/calibration.md``) names the scenario to
simulate, the fitted years, the observed series, the parameters to infer with their priors and the ABC settings.
The result is a posterior folder (:mod:`sim.posterior`): weighted particles, the configuration, the observations
used, provenance, diagnostics and ``calibration.md``.

Inference. pyabc's ABC-SMC (Klinger, Rickert & Hasenauer 2018) samples generations of particles; each particle
is a parameter vector, simulated by the cohort engine and compared with the observations. Two acceptance rules:

- ``stochastic`` (default): the observation model of ``observations.csv`` is taken literally. Observation ``o``
  is the simulated value plus a normal error of standard deviation ``s_o = |y_o| * sqrt(obs_sd_rel_o² +
  model_sd_rel²)``; pyabc's ``StochasticAcceptor`` with an ``IndependentNormalKernel`` of those variances and a
  ``Temperature`` schedule that ends at temperature 1 samples the exact posterior under that error model
  (Wilkinson 2013; Schälte & Hasenauer 2020), the simulator's own randomness included.
- ``threshold``: classic ABC-SMC. The distance is the root mean square of the standardised residuals
  ``(x_o − y_o) / s_o``; a particle is accepted when it is below the generation's epsilon (pyabc's
  ``MedianEpsilon``, or the ``epsilon_schedule`` given), down to ``min_epsilon``.

``model_sd_rel`` is an allowance for the model's structural error (the same for every observation), 0 by default.

Batching. A particle simulated alone would cost a whole 64-draw block of the engine. Instead
:class:`BatchSampler` (a pyabc ``Sampler``) collects a round of ``batch_size × batches_per_round`` proposals by
calling pyabc's own ``simulate_one`` against a pyabc model that does not simulate (:class:`_DeferredModel`: it
returns an empty summary, and pyabc computes each proposal's importance weight, prior / transition density, as
usual), simulates the round as the draws of a few chunks (``run_chunk(parameters=…)``: each draw carries its own
particle's values), then evaluates every particle in proposal order with pyabc's
``evaluate_preliminary_particle`` (distance or kernel, acceptance, weight) until the population is full; the
rest of the round is dropped, which keeps the first accepted particles in proposal order, as pyabc's own
samplers do. This is the mechanism of pyabc's look-ahead sampler ("preliminary" particles evaluated later).
With ``--workers``/``--scheduler`` the chunks of a round run on Dask workers.

Randomness. The simulations use keyed streams (:mod:`sim.rng`) of ``abc.seed``: the k-th particle simulated in
the whole calibration is draw ``k``, so every particle has its own random flows and a rerun has the same. pyabc
draws its proposals and acceptances from numpy's global ``RandomState`` (its transitions and acceptors take no
generator); :func:`_pyabc_random_state` sets that state from the keyed stream ``calibrate/pyabc`` for the run
and restores the caller's state afterwards. The number of proposals per round depends on the configuration
only, so the same configuration and seed give the same posterior, whatever the number of workers.

References
----------
Klinger E, Rickert D, Hasenauer J (2018). pyABC: distributed, likelihood-free inference. Bioinformatics 34:3591.
Wilkinson RD (2013). Approximate Bayesian computation (ABC) gives exact results under the assumption of model
error. Stat Appl Genet Mol Biol 12:129–141.
Schälte Y, Hasenauer J (2020). Efficient exact inference for dynamical systems with noisy measurements using
sequential approximate Bayesian computation. Bioinformatics 36:i551–i559.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
import pyabc
import scipy.stats as st
from pyabc.inference_util import evaluate_preliminary_particle
from pyabc.model import ModelResult
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import special

from sim.cohort import Model, prepare, run_chunk
from sim.distributions import Distribution, Fixed, describe, parse_distribution, to_scipy
from sim.errors import InputError, InputErrors, suggest
from sim.hindcast import PERIOD_BOUNDS, PeriodBound
from sim.observations import load_observations
from sim.parameters import PARAMETERS, support_problem
from sim.posterior import METADATA_FILE, PARTICLES_FILE, Posterior
from sim.rng import BLOCK_SIZE, Streams
from sim.scenario import Scenario, errors_from_validation, load_scenario, load_yaml

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "SIMULATED",
    "BatchSampler",
    "CalibrationConfig",
    "CalibrationResult",
    "FitObservations",
    "calibrate",
    "fit_observations",
    "load_config",
    "output_folder",
    "run_abc",
    "simulate_summaries",
]

DEFAULT_OUT = Path("calibration") / "posterior"

#: Observed series the engine can simulate: (series, level) → how, from the raw arrays of ``run_chunk``
#: (``(draws, years)`` region totals). Pupils and full-time teachers by level come from the engine's per-county,
#: per-level records (``students_primary`` …, as ``results.nc``), or summed as ``compulsory`` (primary + junior).
SIMULATED: Mapping[tuple[str, str], tuple[str, str]] = {
    ("pupils", "primary"): ("students_primary", "pupils in grades 1–6, summed over counties"),
    ("pupils", "junior"): ("students_junior", "pupils in grades 7–9, summed over counties"),
    ("fulltime_teachers", "primary"): ("teachers_primary", "regular full-time teachers of primary sections"),
    ("fulltime_teachers", "junior"): ("teachers_junior", "regular full-time teachers of junior sections"),
    ("pupils", "compulsory"): ("students", "pupils in grades 1–9, summed over counties"),
    ("fulltime_teachers", "compulsory"): ("teachers", "regular full-time teachers, summed over counties"),
    ("entrants", "primary"): ("student_entries", "grade-1 entrants, summed over counties"),
}
_DERIVED_LEVELS = {"compulsory": ("primary", "junior")}
BOUNDS: Mapping[tuple[str, int], PeriodBound] = {(b.series, b.year): b for b in PERIOD_BOUNDS}
"""Published period totals a calibration can use as upper bounds (``bounds:``), by (series, last year): those of
:data:`sim.hindcast.PERIOD_BOUNDS`, one definition for the hindcast's check and the calibration's term."""


# ------------------------------------------------------------------------------------------------------------
# configuration


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Frozen):
    """Fitted school years ``start … stop`` (inclusive)."""

    start: Annotated[int, Field(strict=True, ge=1949, le=2100)]
    stop: Annotated[int, Field(strict=True, ge=1949, le=2100)]


class FitSeries(_Frozen):
    """One observed series of ``observations.csv`` to fit."""

    series: str = Field(description="series name in observations.csv, e.g. pupils")
    level: Literal["primary", "junior", "compulsory", "all"] = Field(description="school level")
    area: Literal["region"] = Field(default="region", description="only region totals are fitted for now")
    scope: Literal["with_xpcc", "without_xpcc", "unknown"] | None = Field(
        default=None, description="scope of the observations (null: the one scope the series has)")


class BoundSpec(_Frozen):
    """A published period total used as an upper bound of a simulated flow (:data:`BOUNDS`)."""

    series: str = Field(description="series name in observations.csv (level all), e.g. teachers_recruited_period")
    year: Annotated[int, Field(strict=True, ge=1949, le=2100)] = Field(description="the period's last year")


class AbcSettings(_Frozen):
    """Settings of the ABC-SMC run."""

    acceptance: Literal["stochastic", "threshold"] = Field(
        default="stochastic", description="stochastic: exact under the observation error model; threshold: "
        "distance below epsilon")
    population_size: Annotated[int, Field(strict=True, ge=10, le=100_000)] = 200
    generations: Annotated[int, Field(strict=True, ge=1, le=100)] = 6
    min_epsilon: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    epsilon_schedule: tuple[Annotated[float, Field(gt=0.0, allow_inf_nan=False)], ...] | None = None
    min_acceptance_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    max_simulations: Annotated[int, Field(strict=True, ge=1)] = 100_000
    batch_size: Annotated[int, Field(strict=True, ge=BLOCK_SIZE, le=65_536)] = 128
    batches_per_round: Annotated[int, Field(strict=True, ge=1, le=1024)] = 1
    seed: Annotated[int, Field(strict=True, ge=0)] = 20250126
    final_importance: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = Field(
        default=0, description="stochastic only: if the generations stop above temperature 1, this many further "
        "simulations make an importance-sampling step to temperature 1 (0: none)")
    transition: Literal["gaussian", "kde"] = Field(
        default="gaussian", description="proposal of generations after the first: gaussian, a defensive mixture in "
        "equal thirds of the prior and two normals fitted to the population (GaussianMixtureTransition); kde, "
        "pyabc's default MultivariateNormalTransition (a normal kernel around every particle, Silverman's bandwidth)")


class DistanceSettings(_Frozen):
    model_sd_rel: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = Field(
        default=0.0, description="relative SD added (in quadrature) to every observation's for model error")


class CalibrationConfig(_Frozen):
    """A validated calibration configuration (paths already resolved against the configuration's folder)."""

    name: Annotated[str, Field(strict=True, min_length=1, max_length=100, pattern=r"^\w[\w.-]*$")]
    description: str = ""
    scenario: Path
    observations: Path | None = None
    window: Window
    fit: tuple[FitSeries, ...] = Field(min_length=1)
    bounds: tuple[BoundSpec, ...] = Field(
        default=(), description="published period totals that bound a simulated flow from above: each adds a "
        "one-sided term log Φ((total − simulated sum) / SD) to the log-likelihood")
    parameters: dict[str, Any] = Field(min_length=1)
    abc: AbcSettings = AbcSettings()
    distance: DistanceSettings = DistanceSettings()
    predictive_draws: Annotated[int, Field(strict=True, ge=BLOCK_SIZE, le=100_000)] = 256

    def priors(self, scenario: Scenario) -> dict[str, Distribution]:
        """The prior of each inferred parameter: the one written here, else the scenario's distribution."""
        return {name: (spec if spec is not None else scenario.uncertainties[name])
                for name, spec in self.parameters.items()}


def load_config(path: str | Path) -> tuple[CalibrationConfig, Scenario, dict[str, Distribution]]:
    """Read and check a calibration configuration, its scenario and its priors.

    Raises
    ------
    InputErrors
        Every problem, each naming the file, the line and the key (the scenario's own problems name the
        scenario's file).
    """
    doc = load_yaml(path)
    file = doc.file
    base = Path(path).resolve().parent

    def where(*key: Any) -> tuple[str, int | None]:
        for n in range(len(key), 0, -1):
            if key[:n] in doc.lines:
                return doc.lines[key[:n]]
        return file, None

    def err(message: str, *key: Any) -> InputError:
        f, line = where(*key)
        return InputError(message, file=f, line=line, key=".".join(str(k) for k in key) or None)

    if not isinstance(doc.data, dict):
        raise InputErrors([InputError("the top level must be a mapping (name:, scenario:, window:, fit:, "
                                      "parameters:, abc:)", file=file, line=1)])
    data = dict(doc.data)
    for key in ("scenario", "observations"):
        if isinstance(data.get(key), str):
            data[key] = os.path.normpath(base / data[key])
    errors: list[InputError] = []
    raw_params = data.get("parameters")
    priors_given: dict[str, Distribution | None] = {}
    if isinstance(raw_params, dict):
        for name, spec in raw_params.items():
            if name not in PARAMETERS:
                errors.append(err(f"unknown uncertainty; {suggest(str(name), PARAMETERS)}", "parameters", name))
                continue
            if spec is None:
                priors_given[name] = None
                continue
            try:
                dist = parse_distribution(spec, key=f"parameters.{name}", file=file)
            except InputErrors as exc:
                prefix = f"parameters.{name}."
                for e in exc.errors:
                    sub = (e.key or "").removeprefix(prefix) if (e.key or "").startswith(prefix) else ""
                    errors.append(err(e.message, "parameters", name, *([sub] if sub else [])))
                continue
            problem = support_problem(PARAMETERS[name], dist)
            if problem:
                errors.append(err(problem, "parameters", name, "dist"))
            priors_given[name] = dist
        data["parameters"] = priors_given
    try:
        config = CalibrationConfig.model_validate(data)
    except ValidationError as exc:
        errors += errors_from_validation(exc, CalibrationConfig, doc.lines, file)
        raise InputErrors(errors) from None
    if errors:
        raise InputErrors(errors)
    if not config.scenario.is_file():
        raise InputErrors([err(f"scenario file not found: {config.scenario}", "scenario")])
    scenario = load_scenario(config.scenario)
    priors = config.priors(scenario)
    if config.window.stop < config.window.start:
        errors.append(err(f"must be ≥ window.start ({config.window.start}), got {config.window.stop}", "window",
                          "stop"))
    if not scenario.start_year <= config.window.start <= config.window.stop <= scenario.horizon:
        errors.append(err(f"the fitted years {config.window.start}–{config.window.stop} must lie within the "
                          f"scenario's {scenario.start_year}–{scenario.horizon}", "window"))
    for name, dist in priors.items():
        if isinstance(dist, Fixed):
            errors.append(err(f"a fixed value cannot be inferred; give a prior distribution (e.g. "
                              f"{describe(PARAMETERS[name].default)})", "parameters", name))
    if config.abc.batch_size % BLOCK_SIZE:
        errors.append(err(f"must be a multiple of {BLOCK_SIZE}, got {config.abc.batch_size}", "abc", "batch_size"))
    if config.predictive_draws % BLOCK_SIZE:
        errors.append(err(f"must be a multiple of {BLOCK_SIZE}, got {config.predictive_draws}", "predictive_draws"))
    if config.abc.epsilon_schedule is not None and config.abc.acceptance != "threshold":
        errors.append(err("an epsilon schedule needs acceptance: threshold (the stochastic rule ends at "
                          "temperature 1)", "abc", "epsilon_schedule"))
    for i, fs in enumerate(config.fit):
        if (fs.series, fs.level) not in SIMULATED:
            can = ", ".join(f"{s}/{lv}" for s, lv in SIMULATED)
            errors.append(err(f"the engine does not simulate {fs.series}/{fs.level}; it can fit: {can}", "fit", i))
    for i, bs in enumerate(config.bounds):
        bound = BOUNDS.get((bs.series, bs.year))
        if bound is None:
            can = ", ".join(f"{{series: {s}, year: {y}}}" for s, y in BOUNDS)
            errors.append(err(f"no period bound {bs.series} ending {bs.year}; known: {can}", "bounds", i))
        elif not config.window.start <= bs.year <= config.window.stop:
            errors.append(err(f"the period {bound.first_year}–{bound.year} must end within the fitted years "
                              f"{config.window.start}–{config.window.stop}", "bounds", i))
    if errors:
        raise InputErrors(errors)
    try:
        table = load_observations(config.observations)
        fit_observations(config, table)
    except KeyError as exc:
        raise InputErrors([err(str(exc.args[0]), "fit")]) from None
    except ValueError as exc:
        raise InputErrors([err(str(exc), "fit")]) from None
    return config, scenario, priors


# ------------------------------------------------------------------------------------------------------------
# observations and simulated summaries


@dataclass(frozen=True)
class FitObservations:
    """The observations fitted: one row per (series, level, year), with the SD used by the distance."""

    table: pd.DataFrame  # key, series, level, year, value, obs_sd_rel, sd, upper

    @property
    def upper(self) -> np.ndarray:
        """Which rows are upper bounds (a period total, ``config.bounds``) rather than values to match."""
        if "upper" not in self.table:
            return np.zeros(len(self.table), bool)
        return self.table["upper"].to_numpy(bool)

    @property
    def values(self) -> pd.DataFrame:
        """The rows that are values to match (the ``fit:`` series)."""
        return self.table[~self.upper]

    @property
    def keys(self) -> list[str]:
        return list(self.table["key"])

    @property
    def x0(self) -> dict[str, float]:
        return dict(zip(self.table["key"], self.table["value"].astype(float), strict=True))

    @property
    def sd(self) -> np.ndarray:
        return self.table["sd"].to_numpy(float)


def _key(series: str, level: str, year: int) -> str:
    return f"{series}/{level}/{year}"


def fit_observations(config: CalibrationConfig, table: pd.DataFrame) -> FitObservations:
    """The observations of the configured series in the window, ``compulsory`` derived as primary + junior.

    A derived observation's relative SD combines those of its parts as independent errors:
    ``sd = sqrt((p·r_p)² + (j·r_j)²)``. Raises ``KeyError`` when a series has no observation in the window.
    """
    rows: list[dict[str, Any]] = []
    years = range(config.window.start, config.window.stop + 1)

    def observed(level: str, fs: FitSeries) -> dict[int, tuple[float, float]]:
        """year → (value, absolute SD) of one published series."""
        sel = table[(table["series"] == fs.series) & (table["level"] == level) & (table["area"] == fs.area)]
        if fs.scope is not None:
            sel = sel[sel["scope"] == fs.scope]
        if sel["year"].duplicated().any():
            raise ValueError(f"{fs.series}/{level} has years under several scopes "
                             f"({', '.join(sorted(map(str, sel['scope'].unique())))}): give fit[].scope")
        return {int(y): (float(v), float(v) * float(r))
                for y, v, r in zip(sel["year"], sel["value"], sel["obs_sd_rel"], strict=True)}

    for fs in config.fit:
        direct = observed(fs.level, fs)
        parts = [observed(level, fs) for level in _DERIVED_LEVELS.get(fs.level, ())]
        found = 0
        for year in years:
            if year in direct:
                value, sd = direct[year]
            elif parts and all(year in p for p in parts):
                value = sum(p[year][0] for p in parts)
                sd = math.sqrt(sum(p[year][1] ** 2 for p in parts))
            else:
                continue
            found += 1
            rows.append({"key": _key(fs.series, fs.level, year), "series": fs.series, "level": fs.level,
                         "year": year, "value": value, "obs_sd_rel": sd / value if value else float("nan"),
                         "upper": False})
        if not found:
            raise KeyError(f"no observation of {fs.series}/{fs.level} (area {fs.area}, scope {fs.scope}) in "
                           f"{config.window.start}–{config.window.stop}")
    for bs in config.bounds:
        sel = table[(table["series"] == bs.series) & (table["level"] == "all") & (table["area"] == "region")
                    & (table["year"] == bs.year)]
        if sel.empty:
            raise KeyError(f"no observation of {bs.series}/all (area region) in {bs.year}, the bound's last year")
        value, r = float(sel["value"].iloc[0]), float(sel["obs_sd_rel"].iloc[0])
        rows.append({"key": _key(bs.series, "all", bs.year), "series": bs.series, "level": "all", "year": bs.year,
                     "value": value, "obs_sd_rel": r, "upper": True})
    frame = pd.DataFrame(rows)
    frame["sd"] = frame["value"].abs() * np.sqrt(frame["obs_sd_rel"] ** 2 + config.distance.model_sd_rel**2)
    if (frame["sd"] <= 0).any():
        bad = frame.loc[frame["sd"] <= 0, "key"].iloc[0]
        raise ValueError(f"observation {bad} has a zero standard deviation (value 0): it cannot be fitted")
    return FitObservations(frame.reset_index(drop=True))


def simulated_series(model: Model, raw: Mapping[str, np.ndarray], series: str, level: str) -> np.ndarray:
    """``(draws, years)`` region totals of one simulated series (:data:`SIMULATED`)."""
    variable, _ = SIMULATED[(series, level)]
    return np.asarray(raw[variable], dtype=np.float64).sum(axis=2)


def period_years(model: Model, bound: PeriodBound) -> list[int]:
    """The years of ``bound``'s period that the model simulates after its start year (which has no flows)."""
    years = [int(y) for y in model.years]
    return [y for y in years[1:] if bound.first_year <= y <= bound.year]


def simulate_summaries(model: Model, seed: int, start: int, stop: int, parameters: Mapping[str, np.ndarray],
                       keys: Sequence[str]) -> np.ndarray:
    """Simulate draws ``start … stop-1`` with per-draw ``parameters``; ``(draws, len(keys))`` summaries.

    A key ``series/all/year`` of :data:`BOUNDS` is the bound's flow summed over the region and
    :func:`period_years`; any other ``series/level/year`` is a :data:`SIMULATED` series in that year. This is the
    task a Dask worker runs: the random flows of draw ``i`` are those of stream ``seed``, draw ``i``.
    """
    raw = run_chunk(model, Streams(seed), start, stop, parameters=dict(parameters))
    years = [int(y) for y in model.years]
    cache: dict[tuple[str, str], np.ndarray] = {}
    out = np.empty((stop - start, len(keys)))
    for j, key in enumerate(keys):
        series, level, year = key.split("/")
        bound = BOUNDS.get((series, int(year))) if level == "all" else None
        if bound is not None:
            flow = np.asarray(raw[bound.variable], dtype=np.float64).sum(axis=2)
            out[:, j] = flow[:, [years.index(y) for y in period_years(model, bound)]].sum(axis=1)
            continue
        if (series, level) not in cache:
            cache[(series, level)] = simulated_series(model, raw, series, level)
        out[:, j] = cache[(series, level)][:, years.index(int(year))]
    return out


# ------------------------------------------------------------------------------------------------------------
# pyabc glue


for _name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Acceptor",
              "ABC.Population", "ABC.Transition"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@contextlib.contextmanager
def _pyabc_random_state(seed: int) -> Iterator[None]:
    """numpy's global ``RandomState`` (which pyabc draws from) seeded from the keyed stream ``calibrate/pyabc``,
    restored on exit."""
    saved = np.random.get_state()  # noqa: NPY002 - pyabc draws from the global RandomState
    entropy = int(Streams(seed).draw_generator(0, "calibrate/pyabc").integers(0, 2**63))
    np.random.set_state(np.random.RandomState(np.random.MT19937(entropy)).get_state())  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(saved)  # noqa: NPY002


class _PriorRV(pyabc.RVBase):
    """A pyabc random variable over the frozen scipy distribution of a :mod:`sim.distributions` specification."""

    def __init__(self, spec: Distribution):
        self.spec = spec
        self.dist = to_scipy(spec)

    def rvs(self, *args: Any, **kwargs: Any) -> float:
        return float(self.dist.rvs(*args, **kwargs))

    def pdf(self, x: Any, *args: Any, **kwargs: Any) -> float:
        return float(self.dist.pdf(x, *args, **kwargs))

    def pmf(self, x: Any, *args: Any, **kwargs: Any) -> float:
        return self.pdf(x)

    def cdf(self, x: Any, *args: Any, **kwargs: Any) -> float:
        return float(self.dist.cdf(x, *args, **kwargs))

    def copy(self) -> _PriorRV:
        return _PriorRV(self.spec)


class _DeferredModel(pyabc.Model):
    """A pyabc model that never simulates: :class:`BatchSampler` simulates the proposals afterwards, in batches.

    ``summary_statistics`` (prior samples) and ``accept`` (generations) return an empty, provisionally accepted
    result, so that pyabc's ``simulate_one`` only proposes a parameter and computes its sampling weight (prior /
    transition density).
    """

    def sample(self, pars: Any) -> Any:  # pragma: no cover - never called by BatchSampler
        raise RuntimeError("the deferred model is simulated by BatchSampler only")

    def summary_statistics(self, t: int, pars: Any, sum_stat_calculator: Callable) -> Any:
        return ModelResult(sum_stat={})

    def accept(self, t: int, pars: Any, sum_stat_calculator: Callable, distance_calculator: Any,
               eps_calculator: Any, acceptor: Any, x_0: dict) -> Any:
        return ModelResult(sum_stat={}, distance=np.inf, accepted=True, weight=1.0)


class GaussianMixtureTransition(pyabc.transition.Transition):
    """A pyabc proposal fitted to the whole population: an equal mixture of the prior, ``N(μ, full·Σ)`` and
    ``N(μ, diagonal·diag(Σ))``, with ``μ`` and ``Σ`` the weighted mean and covariance of the population.

    Why not pyabc's default (a normal kernel around every particle, Silverman's bandwidth). A particle's
    importance weight is prior / proposal density. With 13 parameters and an effective sample size (ESS) of ~20–30
    after the first step, a kernel density estimate is lumpy: the proposal density varies by orders of magnitude
    between the particles' neighbourhoods and the gaps between them, and so do the weights. Measured on v5's
    design (docs/findings.md, "The sampler"): after the first step the acceptance weights alone leave an ESS of
    95.9 of 96, the prior / proposal weights 18.9, so the collapse of the ESS came from the proposal, not from the
    acceptance. Two normals alone do not cure it (v6's first start: ESS 17.0 of 96 after the first step): early
    on the population is nearly the prior, a box of uniform priors, and a normal fitted to a box has a density
    e^(1.25·13) ≈ 10^7 times lower in its corners than at its centre, so the few particles proposed there carry
    the weight. The prior as a third component is Hesterberg's (1995) defensive mixture: prior / proposal ≤ 3
    for every particle, whatever the normals miss; it costs at most a third of the proposals once the posterior
    is much narrower than the prior. The diagonal component covers the directions in which a covariance estimated
    from a few tens of effective particles is too narrow (its smallest eigenvalues are biased low). ``full = 1.2``
    and ``diagonal = 1.5`` widen each normal a little beyond the population, the usual guard against a proposal
    narrower than the target. These are settings of the sampler, not of the model: any proposal that covers the
    target gives the same posterior; they change only its Monte Carlo variance.

    Hesterberg T (1995). Weighted average importance sampling and defensive mixture distributions. Technometrics
    37:185–194.
    """

    def __init__(self, prior: Any = None, full: float = 1.2, diagonal: float = 1.5):
        self.prior = prior
        self.full = full
        self.diagonal = diagonal
        self.components: list[Any] = []

    def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
        if len(X) == 0:
            raise pyabc.transition.NotEnoughParticles("Fitting not possible.")
        x = X.to_numpy(float)
        w = np.asarray(w, float) / np.sum(w)
        mean = w @ x
        d = x - mean
        cov = np.atleast_2d((w[:, None] * d).T @ d / max(1.0 - float(np.sum(w**2)), 1e-12))
        var = np.maximum(np.diag(cov), 1e-24)  # a parameter all particles share keeps a (negligible) spread
        self.components = [st.multivariate_normal(mean, self.full * cov, allow_singular=True),
                           st.multivariate_normal(mean, self.diagonal * np.diag(var))]

    def rvs_single(self) -> pyabc.Parameter:
        k = int(np.random.randint(3 if self.prior is not None else 2))  # noqa: NPY002 - pyabc's global RandomState
        if k == 2:
            return pyabc.Parameter(dict(self.prior.rvs()))
        value = np.atleast_1d(self.components[k].rvs())
        return pyabc.Parameter(dict(zip(self.X.columns, value.tolist(), strict=True)))

    def _density(self, arr: np.ndarray, rows: Sequence[Mapping[Any, float]]) -> np.ndarray:
        normal = self.components[0].pdf(arr) + self.components[1].pdf(arr)
        if self.prior is None:
            return np.atleast_1d(normal) / 2.0
        return (np.atleast_1d(normal) + np.array([self.prior.pdf(r) for r in rows])) / 3.0

    def pdf(self, x: Any) -> float | np.ndarray:
        columns = list(self.X.columns)
        if isinstance(x, pd.DataFrame):
            frame = x[columns]
            return self._density(frame.to_numpy(float), frame.to_dict("records"))
        row = {key: float(x[key]) for key in columns}
        return float(self._density(np.array([row[k] for k in columns]), [row])[0])


class NoGenerationError(RuntimeError):
    """ABC-SMC stopped before its first generation had a full population: there is no posterior to write."""


SimulateRound = Callable[[list[dict[str, float]], int], list[dict[str, float]]]
"""``(parameter dicts, first draw) → summary dicts``, one per particle, draws ``first … first+len-1``."""


class BatchSampler(pyabc.sampler.Sampler):
    """A pyabc ``Sampler`` that simulates a round of proposals at once, as the draws of a few engine chunks.

    Each round: ``round_size`` proposals from pyabc's ``simulate_one`` (against :class:`_DeferredModel`), one call
    of ``simulate_round`` on draws ``next_draw … next_draw + round_size − 1``, then pyabc's
    ``evaluate_preliminary_particle`` on each particle in proposal order until ``n`` are accepted (prior
    calibration samples, ``all_accepted``, are all accepted). ``simulated`` counts every particle simulated,
    including those dropped at the end of the last round of a generation.
    """

    def __init__(self, simulate_round: SimulateRound, round_size: int):
        super().__init__()
        self.simulate_round = simulate_round
        self.round_size = round_size
        self.next_draw = 0
        self.simulated = 0

    def sample_until_n_accepted(self, n: int, simulate_one: Callable, t: int, *, max_eval: float = np.inf,
                                all_accepted: bool = False, ana_vars: Any = None) -> Any:
        sample = self._create_empty_sample()
        evaluated = accepted = 0
        while accepted < n and evaluated < max_eval:
            proposals = [simulate_one() for _ in range(self.round_size)]
            stats = self.simulate_round([dict(p.parameter) for p in proposals], self.next_draw)
            self.next_draw += self.round_size
            self.simulated += self.round_size
            for particle, stat in zip(proposals, stats, strict=True):
                particle.sum_stat = stat
                if not all_accepted:
                    particle.preliminary = True
                    particle = evaluate_preliminary_particle(particle, t, ana_vars)
                evaluated += 1
                sample.append(particle)
                accepted += bool(particle.accepted)
                if accepted >= n or evaluated >= max_eval:
                    break
        self.nr_evaluations_ = evaluated
        if accepted < n:
            sample.ok = False
        return sample


# ------------------------------------------------------------------------------------------------------------
# the calibration


@dataclass
class CalibrationResult:
    out_dir: Path
    posterior: Posterior
    generations: pd.DataFrame
    predictive: pd.DataFrame
    simulated: int
    seconds: float


def _round_simulator(model: Model, config: CalibrationConfig, keys: list[str], names: list[str],
                     client: Client | None) -> SimulateRound:
    batch = config.abc.batch_size
    seed = config.abc.seed
    shared = client.scatter(model, broadcast=True, hash=False) if client is not None else model

    def simulate_round(params: list[dict[str, float]], first: int) -> list[dict[str, float]]:
        n = len(params)
        values = {name: np.array([p[name] for p in params], dtype=np.float64) for name in names}
        bounds = [(a, min(a + batch, n)) for a in range(0, n, batch)]
        args = [(first + a, first + b, {k: v[a:b] for k, v in values.items()}) for a, b in bounds]
        if client is None:
            parts = [simulate_summaries(model, seed, a, b, v, keys) for a, b, v in args]
        else:
            futures = [client.submit(simulate_summaries, shared, seed, a, b, v, keys, pure=False) for a, b, v in args]
            parts = client.gather(futures)
        out = np.concatenate(parts)
        return [dict(zip(keys, row.tolist(), strict=True)) for row in out]

    return simulate_round


def log_likelihood(x: np.ndarray, fit: FitObservations) -> np.ndarray:
    """Log-likelihood (without the normal constants) of the observations given ``(n, keys)`` simulated summaries.

    A value ``y`` with SD ``s`` contributes ``−((x − y) / s)² / 2``. An upper bound (a published total ``b`` of
    all levels that contains the simulated flow ``x`` and other flows the model does not simulate, with SD
    ``s``) contributes ``log Φ((b − x) / s)``: the probability of the published total given ``x`` when the
    unsimulated part is unknown, any value ≥ 0 equally likely (a flat, improper prior on it). Within the bound
    the term is about 0; above it, it falls like the normal term.
    """
    z = (np.asarray(x, float) - np.array([fit.x0[k] for k in fit.keys], float)) / fit.sd
    upper = fit.upper
    out = -0.5 * np.sum(z[:, ~upper] ** 2, axis=1)
    if upper.any():
        out += np.sum(special.log_ndtr(-z[:, upper]), axis=1)
    return out


class BoundedNormalKernel(pyabc.StochasticKernel):
    """pyabc's ``IndependentNormalKernel`` plus the one-sided terms of upper bounds (:func:`log_likelihood`).

    Log scale; ``pdf_max`` is the normal part's density at the observations (a bound's term is below 0 and tends
    to it within the bound), as the stochastic acceptor needs. Used only when the configuration has
    ``bounds:``; without them the calibration keeps pyabc's own kernel.
    """

    def __init__(self, fit: FitObservations):
        value_sd = fit.sd[~fit.upper]
        super().__init__(ret_scale=pyabc.distance.SCALE_LOG, keys=fit.keys,
                         pdf_max=float(-0.5 * np.sum(np.log(2 * np.pi * value_sd**2))))
        self.fit = fit

    def __call__(self, x: dict, x_0: dict, t: int | None = None, par: dict | None = None) -> float:
        row = np.array([[x[k] for k in self.fit.keys]], float)
        return float(self.pdf_max + log_likelihood(row, self.fit)[0])


def run_abc(priors: Mapping[str, Distribution], simulate_round: SimulateRound, fit: FitObservations,
            settings: AbcSettings) -> tuple[Posterior, pd.DataFrame, int]:
    """ABC-SMC over ``priors`` with :class:`BatchSampler`: the final population, the generation table and the
    number of particles simulated.

    ``simulate_round(parameter dicts, first draw)`` returns one summary dict (``fit.keys`` → value) per particle.
    """
    names = list(priors)
    keys = fit.keys
    sampler = BatchSampler(simulate_round, settings.batch_size * settings.batches_per_round)
    prior = pyabc.Distribution(**{n: _PriorRV(priors[n]) for n in names})
    sd = fit.sd
    if settings.acceptance == "stochastic":
        distance: Any = (BoundedNormalKernel(fit) if fit.upper.any()
                         else pyabc.IndependentNormalKernel(var=sd**2, keys=keys))
        eps: Any = pyabc.Temperature()
        acceptor: Any = pyabc.StochasticAcceptor()
    else:
        upper = fit.upper

        def distance(x: dict, x_0: dict) -> float:
            r = (np.array([x[k] for k in keys]) - np.array([x_0[k] for k in keys])) / sd
            r[upper] = np.maximum(r[upper], 0.0)  # a bound counts only when the simulation exceeds it
            return float(np.sqrt(np.mean(r**2)))

        eps = (pyabc.ListEpsilon(list(settings.epsilon_schedule)) if settings.epsilon_schedule is not None
               else pyabc.MedianEpsilon())
        acceptor = pyabc.UniformAcceptor()
    with tempfile.TemporaryDirectory(prefix="edusim-abc-") as tmp, _pyabc_random_state(settings.seed):
        abc = pyabc.ABCSMC(_DeferredModel(name="edusim"), prior, distance,
                           population_size=settings.population_size, sampler=sampler, eps=eps, acceptor=acceptor,
                           transitions=(GaussianMixtureTransition(prior) if settings.transition == "gaussian"
                                        else pyabc.MultivariateNormalTransition()))
        abc.new(f"sqlite:///{Path(tmp) / 'abc.db'}", fit.x0)
        history = abc.run(minimum_epsilon=settings.min_epsilon if settings.acceptance == "threshold" else None,
                          max_nr_populations=settings.generations, min_acceptance_rate=settings.min_acceptance_rate,
                          max_total_nr_simulations=settings.max_simulations)
        if history.max_t < 0:  # pyabc stores nothing when generation 0 stops short of its population
            raise NoGenerationError(
                f"no ABC-SMC generation completed: generation 0 stopped after {sampler.simulated:,} simulated "
                f"particles without accepting {settings.population_size:,} (its acceptance fell below "
                f"min_acceptance_rate {settings.min_acceptance_rate:g} or the budget max_simulations "
                f"{settings.max_simulations:,} ran out); raise max_simulations, lower min_acceptance_rate or "
                "population_size. Nothing was written")
        generations = _generation_table(history, names)
        frame, weights = history.get_distribution(m=0, t=history.max_t)
        particles = frame[names].to_numpy(float)
        weights = np.asarray(weights, float)
        del abc, history
        if (settings.acceptance == "stochastic" and settings.final_importance > 0
                and float(generations["epsilon"].iloc[-1]) > 1.0 + 1e-9):
            particles, weights, row = _importance_step(prior, names, frame[names], weights, sampler, fit,
                                                       settings.final_importance,
                                                       int(generations["generation"].iloc[-1]) + 1)
            generations = pd.concat([generations, pd.DataFrame([row])], ignore_index=True)
    return Posterior.from_arrays(names, particles, weights), generations, int(sampler.simulated)


def _importance_step(prior: Any, names: list[str], frame: pd.DataFrame, weights: np.ndarray, sampler: BatchSampler,
                     fit: FitObservations, n: int, generation: int
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Importance sampling at temperature 1 from the last population: particles, weights, generation row.

    ``n`` proposals from :class:`GaussianMixtureTransition` fitted to the population (prior included, so
    prior / proposal ≤ 3), each simulated once on the next draws of the calibration's keyed streams and weighted
    by ``prior(θ) · K(y − x) / q(θ)``, ``K`` the density of the observation errors (temperature 1; with the
    one-sided terms of upper bounds, :func:`log_likelihood`).
    Because ``K(y − x)`` of one simulation is an unbiased estimate of the likelihood under the error model, the
    self-normalised weights target the same exact posterior as pyabc's stochastic acceptance at temperature 1
    (Wilkinson 2013; the pseudo-marginal argument of Andrieu & Roberts 2009); accepting with probability
    ``K / max K`` instead would keep, in expectation, fewer particles than the effective sample size of these
    weights. Used when the generations stop above temperature 1 (the acceptance at temperature 1 of v5's design
    is ~0.3%, docs/findings.md).
    """
    transition = GaussianMixtureTransition(prior)
    transition.fit(frame, weights / weights.sum())
    proposals: list[dict[str, float]] = []
    while len(proposals) < n:  # as pyabc: draw again until the prior density is positive
        proposal = transition.rvs_single()
        if prior.pdf(proposal) > 0:
            proposals.append({k: float(proposal[k]) for k in names})
    stats: list[dict[str, float]] = []
    for a in range(0, n, sampler.round_size):
        part = proposals[a:a + sampler.round_size]
        stats += sampler.simulate_round(part, sampler.next_draw)
        sampler.next_draw += len(part)
        sampler.simulated += len(part)
    x = np.array([[st_[k] for k in fit.keys] for st_ in stats], float)
    log_k = log_likelihood(x, fit)
    table = pd.DataFrame(proposals, columns=names)
    log_q = np.log(np.asarray(transition.pdf(table), float))
    log_p = np.log([prior.pdf(row) for row in proposals])
    log_w = log_p + log_k - log_q
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    particles = table.to_numpy(float)
    row = {"generation": generation, "epsilon": 1.0, "simulations": n, "accepted": n, "acceptance_rate": float("nan"),
           "ess": float(1.0 / np.sum(w**2)), **{f"mean:{k}": float(w @ table[k].to_numpy(float)) for k in names}}
    return particles, w, row


def calibrate(config: CalibrationConfig, scenario: Scenario, priors: Mapping[str, Distribution],
              out_dir: str | Path | None = None, *, client: Client | None = None,
              observations: pd.DataFrame | None = None, config_file: str | None = None,
              truth: Mapping[str, float] | None = None, write_figures: bool = True) -> CalibrationResult:
    """Run ABC-SMC and write the posterior folder (``out_dir``, default ``calibration/posterior/NAME``).

    ``truth`` (synthetic-truth tests) marks known parameter values on the figures and in ``calibration.md``.
    """
    from sim.output import git_commit, package_versions, write_folder_atomically

    started = datetime.now(UTC)
    commit = git_commit()  # the code that runs, before anything is written
    tic = time.perf_counter()
    cpu0 = time.process_time()
    target = output_folder(config, out_dir)
    table = observations if observations is not None else load_observations(config.observations)
    fit = fit_observations(config, table)
    model = prepare(scenario)
    names = list(priors)
    simulate_round = _round_simulator(model, config, fit.keys, names, client)
    try:
        posterior, generations, simulated = run_abc(priors, simulate_round, fit, config.abc)
    except NoGenerationError as exc:
        raise InputError(str(exc), file=config_file, key="abc") from None
    seconds = time.perf_counter() - tic
    posterior, negligible = posterior.without_negligible()
    _, predictive = _predictive(model, config, posterior, fit, client)
    cpu = time.process_time() - cpu0
    metadata = {
        "kind": "edusim-posterior",
        "name": config.name,
        "config": _plain({**config.model_dump(mode="json"), "scenario": _display(config.scenario),
                          "observations": _display(config.observations)}),
        "config_file": config_file,
        "scenario": _display(config.scenario),
        "priors": {n: priors[n].model_dump(mode="json") for n in names},
        "observations": fit.table.to_dict("records"),
        "generations": generations.to_dict("records"),
        "simulated_particles": simulated,
        "negligible_particles": negligible,  # not written to particles.csv (Posterior.without_negligible)
        "summary": {n: _summary(posterior, priors[n], n) for n in names},
        "truth": dict(truth) if truth is not None else None,
        "provenance": {
            "seed": config.abc.seed,
            "git_commit": commit,
            "versions": {**package_versions(), "pyabc": pyabc.__version__},
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(seconds, 1),
            "cpu_seconds_main_process": round(cpu, 1),
        },
    }
    posterior = Posterior(posterior.names, posterior.particles, posterior.weights, metadata)

    def fill(folder: Path) -> None:
        columns = {"weight": posterior.weights, **{n: posterior.particles[:, i] for i, n in enumerate(names)}}
        pd.DataFrame(columns).to_csv(folder / PARTICLES_FILE, index=False, float_format="%.8g")
        generations.to_csv(folder / "generations.csv", index=False, float_format="%.6g")
        predictive.to_csv(folder / "predictive.csv", index=False, float_format="%.6g")
        (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=1, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
        figures: list[str] = []
        if write_figures:
            from sim.calibration_plots import write_figures as draw

            figures = draw(folder, posterior, priors, generations, predictive, fit, truth)
        (folder / "calibration.md").write_text(_markdown(metadata, posterior, priors, generations, predictive,
                                                         figures), encoding="utf-8")

    write_folder_atomically(target, fill)
    return CalibrationResult(target, posterior, generations, predictive, simulated, seconds)


def output_folder(config: CalibrationConfig, out_dir: str | Path | None) -> Path:
    """The posterior folder (default ``calibration/posterior/NAME``), refused if edusim calibrate did not write it.

    Raises
    ------
    InputError
        The folder exists and holds no ``posterior.json`` of edusim's: nothing of the user's is overwritten.
    """
    target = Path(out_dir) if out_dir is not None else DEFAULT_OUT / config.name
    _check_out_dir(target)
    return target


def _check_out_dir(target: Path) -> None:
    if target.exists():
        meta = target / METADATA_FILE
        ours = False
        if meta.is_file():
            with contextlib.suppress(ValueError, OSError):
                ours = json.loads(meta.read_text(encoding="utf-8")).get("kind") == "edusim-posterior"
        if not ours:
            raise InputError(f"{target} exists and was not written by edusim calibrate; choose another --out",
                             key="--out")


def _display(path: Path | None) -> str | None:
    """A path as shown in the posterior's files: relative to the working folder when inside it."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _generation_table(history: Any, names: list[str]) -> pd.DataFrame:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    rows = []
    for _, row in pops.iterrows():
        t = int(row["t"])
        frame, w = history.get_distribution(m=0, t=t)
        w = np.asarray(w, float)
        ess = float(1.0 / np.sum((w / w.sum()) ** 2))
        n_accepted = len(w)
        rows.append({"generation": t, "epsilon": float(row["epsilon"]), "simulations": int(row["samples"]),
                     "accepted": n_accepted, "acceptance_rate": n_accepted / max(int(row["samples"]), 1),
                     "ess": ess,
                     **{f"mean:{n}": float(np.sum(frame[n].to_numpy(float) * w / w.sum())) for n in names}})
    return pd.DataFrame(rows)


def _summary(posterior: Posterior, prior: Distribution, name: str) -> dict[str, float]:
    q = posterior.quantiles(name, (0.05, 0.5, 0.95))
    dist = to_scipy(prior)
    lo, hi = dist.ppf([0.05, 0.95])
    return {"posterior_mean": posterior.mean(name), "posterior_q05": float(q[0]), "posterior_median": float(q[1]),
            "posterior_q95": float(q[2]), "prior_mean": float(dist.mean()), "prior_q05": float(lo),
            "prior_q95": float(hi),
            "interval_ratio": float((q[2] - q[0]) / (hi - lo)) if hi > lo else float("nan")}


def _predictive(model: Model, config: CalibrationConfig, posterior: Posterior, fit: FitObservations,
                client: Client | None) -> tuple[list[str], pd.DataFrame]:
    """Posterior predictive quantiles of every fitted series in every simulated year, with the observations, and
    of every upper bound's period sum (``upper``; ``share_within``: the draws at or below the published total)."""
    draws = config.predictive_draws
    streams = Streams(config.abc.seed)
    values = posterior.values(None, streams, 0, draws)
    years = [int(y) for y in model.years]
    pairs = list(dict.fromkeys(zip(fit.values["series"], fit.values["level"], strict=True)))
    bound_keys = list(fit.table.loc[fit.upper, "key"])
    keys = [_key(s, lv, y) for s, lv in pairs for y in years] + bound_keys
    if client is None:
        sims = simulate_summaries(model, config.abc.seed, 0, draws, values, keys)
    else:
        shared = client.scatter(model, broadcast=True, hash=False)
        size = config.abc.batch_size
        futures = [client.submit(simulate_summaries, shared, config.abc.seed, a, min(a + size, draws),
                                 {k: v[a:min(a + size, draws)] for k, v in values.items()}, keys, pure=False)
                   for a in range(0, draws, size)]
        sims = np.concatenate(client.gather(futures))
    observed = {k: (float(v), float(sd)) for k, v, sd in zip(fit.table["key"], fit.table["value"], fit.table["sd"],
                                                               strict=True)}
    rows = []
    for j, key in enumerate(keys):
        series, level, year = key.split("/")
        q = np.quantile(sims[:, j], [0.05, 0.25, 0.5, 0.75, 0.95])
        obs = observed.get(key)
        upper = key in bound_keys
        rows.append({"series": series, "level": level, "year": int(year),
                     "fitted": bool(obs is not None),
                     "observed": obs[0] if obs is not None else float("nan"),
                     "sd": obs[1] if obs is not None else float("nan"),
                     "p5": q[0], "p25": q[1], "median": q[2], "p75": q[3], "p95": q[4], "upper": upper,
                     "share_within": float(np.mean(sims[:, j] <= obs[0])) if upper and obs else float("nan")})
    return keys, pd.DataFrame(rows)


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x:.4g}"


def _markdown(meta: dict, posterior: Posterior, priors: Mapping[str, Distribution], generations: pd.DataFrame,
              predictive: pd.DataFrame, figures: list[str]) -> str:
    cfg = meta["config"]
    abc = cfg["abc"]
    lines = [f"# Calibration `{meta['name']}`", ""]
    if cfg.get("description"):
        lines += [cfg["description"].strip(), ""]
    fitted = ", ".join(f"{f['series']}/{f['level']}" for f in cfg["fit"])
    lines += [
        f"Fitted: {fitted}, {cfg['window']['start']}–{cfg['window']['stop']} ({len(meta['observations'])} "
        f"observations), scenario `{meta['scenario']}`.",
        f"ABC-SMC (pyabc {meta['provenance']['versions'].get('pyabc')}), acceptance `{abc['acceptance']}`, "
        f"population {abc['population_size']}, up to {abc['generations']} generations, seed {abc['seed']}; "
        f"{meta['simulated_particles']} particles simulated in {meta['provenance']['wall_seconds']} s "
        f"(git {meta['provenance']['git_commit']}).",
        "",
        "## Posterior",
        "",
        "| parameter | prior | prior 5–95% | posterior mean | posterior 5–95% | width ratio |"
        + (" true |" if meta.get("truth") else ""),
        "|---|---|---|---|---|---|" + ("---|" if meta.get("truth") else ""),
    ]
    for name in posterior.names:
        s = meta["summary"][name]
        row = (f"| `{name}` | `{describe(priors[name])}` | {_fmt(s['prior_q05'])}–{_fmt(s['prior_q95'])} | "
               f"{_fmt(s['posterior_mean'])} | {_fmt(s['posterior_q05'])}–{_fmt(s['posterior_q95'])} | "
               f"{_fmt(s['interval_ratio'])} |")
        if meta.get("truth"):
            row += f" {_fmt(meta['truth'].get(name, float('nan')))} |"
        lines.append(row)
    lines += ["", "Width ratio: posterior 90% interval over prior 90% interval (1 = the data said nothing; near 0 = "
              "pinned). A posterior piled at an edge of its prior means the data pull the parameter beyond the "
              "range its prior allows.", "",
              "## Generations", "", "| generation | epsilon / temperature | simulations | acceptance rate | ESS |",
              "|---|---|---|---|---|"]
    for _, g in generations.iterrows():
        rate = ("importance step (every particle weighted)" if pd.isna(g["acceptance_rate"])
                else f"{g['acceptance_rate']:.3f}")
        lines.append(f"| {int(g['generation'])} | {_fmt(g['epsilon'])} | {int(g['simulations'])} | {rate} | "
                     f"{g['ess']:.1f} |")
    if len(generations) and pd.isna(generations["acceptance_rate"].iloc[-1]):
        lines += ["", "The last row is the importance-sampling step to temperature 1 (`abc.final_importance`): "
                  "proposals from the defensive mixture fitted to the population before it, each simulated once "
                  "and weighted by prior × likelihood of its simulation under the observation errors / proposal "
                  "density; the particles of `particles.csv` are these, with their weights."]
    last = generations.iloc[-1] if len(generations) else None
    if last is not None and abc["acceptance"] == "stochastic" and float(last["epsilon"]) > 1.0 + 1e-9:
        lines += ["", f"**The run stopped at temperature {float(last['epsilon']):.4g}, not 1** (generation "
                  f"{int(last['generation'])} of at most {abc['generations']}: the next one fell below the minimum "
                  "acceptance rate or the simulation budget). The particles sample the *tempered* posterior "
                  "prior × likelihood^(1/T), wider than the exact one: read it as the direction in which the data "
                  "pull the parameters, not as their exact uncertainty. A model that cannot come near the "
                  "observations stops here whatever the budget."]
    upper = predictive["upper"].astype(bool)  # _predictive marks every row
    fitted_rows = predictive[predictive["fitted"] & ~upper]
    inside = ((fitted_rows["observed"] >= fitted_rows["p5"]) & (fitted_rows["observed"] <= fitted_rows["p95"]))
    rel = (fitted_rows["median"] - fitted_rows["observed"]).abs() / fitted_rows["observed"]
    lines += ["", "## Posterior predictive", "",
              "| series | level | year | observed | median | 5–95% | inside |", "|---|---|---|---|---|---|---|"]
    for (_, r), ok in zip(fitted_rows.iterrows(), inside, strict=True):
        lines.append(f"| {r['series']} | {r['level']} | {int(r['year'])} | {r['observed']:.6g} | {r['median']:.6g} | "
                     f"{r['p5']:.6g}–{r['p95']:.6g} | {'yes' if ok else 'no'} |")
    lines += ["", f"Fitted observations inside the 90% predictive band: {int(inside.sum())} of {len(inside)}; "
              f"mean absolute relative error of the median {100 * float(rel.mean()):.2f}%.", ""]
    if upper.any():
        lines += ["## Upper bounds", "", "Published period totals of all levels that contain a simulated flow: each "
                  "adds log Φ((total − simulated sum) / SD) to the log-likelihood (`bounds:`). The model's sum runs "
                  "over the period's years after the scenario's start year.", "",
                  "| series | period ends | published total (upper bound) | SD | median | 5–95% | draws within |",
                  "|---|---|---|---|---|---|---|"]
        for _, r in predictive[upper].iterrows():
            lines.append(f"| {r['series']} | {int(r['year'])} | {r['observed']:,.0f} | {r['sd']:,.0f} | "
                         f"{r['median']:,.0f} | {r['p5']:,.0f}–{r['p95']:,.0f} | {100 * r['share_within']:.0f}% |")
        lines.append("")
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    dropped = meta.get("negligible_particles")
    if dropped and dropped["particles"]:
        lines += [f"`particles.csv` keeps {posterior.weights.size:,} particles: {dropped['particles']:,} more, each "
                  f"of {dropped['rule']}, weigh {dropped['weight']:.2g} together and are not written.", ""]
    lines += ["Files: `particles.csv` (weighted particles: the posterior), `posterior.json` (configuration, priors, "
              "observations, generations, summaries, provenance), `generations.csv`, `predictive.csv`. Scenarios "
              "draw from it through `sim.posterior.Posterior` (one particle per draw, keyed stream `posterior`).",
              ""]
    return "\n".join(lines)
