"""Global sensitivity of each target to the uncertainties and levers (``edusim sensitivity``), through SALib.

The analysis runs in three steps, each usable alone (the Ishigami test drives the same code with a test
function in place of the model):

1. **Design** (:func:`make_design`): SALib's sampler on the unit hypercube, one column per factor — Saltelli's
   extension of Sobol' sequences (``SALib.sample.sobol``, ``N·(k+2)`` points, no second-order terms) or Morris
   trajectories (``SALib.sample.morris``, ``N·(k+1)`` points on a grid of :data:`MORRIS_LEVELS` levels). Each
   column is mapped to its factor's values through the factor's own quantile function (an uncertainty's
   distribution by inverse CDF, ``sim.distributions.sample``; a lever's discretised range). Morris grid levels
   ``0, 1/3, 2/3, 1`` are read as the quantiles at the middle of ``p`` equal-probability bins,
   ``(2j + 1) / 2p`` = 1/8, 3/8, 5/8, 7/8, so that unbounded distributions give finite values.
2. **Evaluate**: ``evaluate(design) -> Y`` with shape ``(points, replicates, outputs)``. On the model
   (:class:`ModelEvaluator`) each design point is run on ``R`` draws (replicates) that share the point's factor
   values and differ only in their stochastic noise (births, attrition, recruitment … drawn from their own
   streams); the outputs of each target are the metric's value and the 0/1 indicator of meeting the target.
3. **Analyse** (:func:`analyse`): SALib's estimators (``SALib.analyze.sobol``: Saltelli 2010 first order,
   Jansen total order; ``SALib.analyze.morris``: μ, μ*, σ) on the **replicate means** ``Ȳᵢ`` of each point,
   with bootstrap 95% confidence intervals, plus the replicate-noise statistics below.

Replicate noise, separated from parameter effects
-------------------------------------------------
Write one draw's outcome ``Yᵢᵣ = g(xᵢ) + εᵢᵣ`` with ``E[ε | x] = 0`` and ``Var[ε | x] = σ²(x)`` (the noise of the
draw's random flows), independent across draws. The point mean ``Ȳᵢ = g(xᵢ) + ε̄ᵢ`` has variance
``Var(Ȳ) = Var(g) + E[σ²]/R``. The within-point sample variance ``sᵢ²`` (ddof 1) is unbiased for ``σ²(xᵢ)``, so

- ``noise_variance`` = mean over points of ``sᵢ²`` estimates ``E[σ²]``, the noise variance of **one draw**;
- ``noise_share`` = ``noise_variance / R / Var(Ȳ)`` is the share of the variance of the point means that is
  replicate noise, not parameter effect (``variance_of_means`` = ``Var(Ȳ)``, ddof 1 over all points).

Sobol' indices computed on ``Ȳ`` are shares of ``Var(Ȳ)``. Because every evaluation has its own independent
noise, the first-order estimator ``mean(Ȳ_B (Ȳ_ABᵢ − Ȳ_A))`` is unbiased for ``Vᵢ = Var(E[g | xᵢ])`` (the noise
terms have zero mean and are independent), while Jansen's total-order estimator ``mean((Ȳ_A − Ȳ_ABᵢ)²)/2``
estimates ``V_Tᵢ + E[σ²]/R``. Hence the indices of the parameter effects alone, relative to ``Var(g)``:

    ``S1_parameters = S1 / (1 − noise_share)``,  ``ST_parameters = (ST − noise_share) / (1 − noise_share)``.

For Morris, noise adds to every elementary effect; an inert factor's ``μ*`` is the mean absolute difference of
two independent point means divided by the step ``Δ``: ``mu_star_noise_floor`` = ``√(4 E[σ²] / (π R)) / Δ``
(exact for normal noise, an approximation otherwise). A factor whose ``μ*`` is near the floor is
indistinguishable from noise.

Morris elementary effects are taken on the unit design scale (a factor moving by ``Δ = p / (2(p − 1))`` = 2/3 of
its quantile range), so ``μ*`` is in the outcome's units per unit of the design scale, comparable across factors
whatever their own units.

Levers
------
A lever (``--lever levers.rotation.share=0.05:0.30``) cannot vary draw by draw inside one model run: each
distinct lever combination needs its own ``prepare`` and run. Levers are therefore discretised into ``L``
equally spaced values (``--lever-levels``, default 4; integer levers rounded): the design column's quantile
``q`` picks value ``⌊q·L⌋`` of the ``L``, a discrete uniform factor. The indices are those of the discretised
lever; runs grow with ``L^levers`` groups, so keep levers few.

Draws and seeds
---------------
All random numbers derive from the scenario's seed (``--seed`` overrides it) through :class:`sim.rng.Streams`:
the SALib design (key ``sensitivity/design``), the bootstrap of the confidence intervals
(``sensitivity/bootstrap``) and the model's noise. The scenario's ``draws`` is not used: the analysis runs
``points × R`` draws. Points are grouped by lever combination; within a group, design point ``i`` (its rank in
the group) and replicate ``r`` use draw index ``first + i·R + r``, where each group starts on a new block of
:data:`sim.rng.BLOCK_SIZE` draws (without levers, simply ``i·R + r``). ``design.csv`` records each point's
first draw. The draws' factor values come from the design (``sim.cohort.run_chunk(parameters=…)``), their
noise from the streams of their draw index, so the same seed gives the same indices.

References
----------
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output. Design and estimator for the
total sensitivity index. Computer Physics Communications 181(2), 259–270.
Morris, M. D. (1991). Factorial sampling plans for preliminary computational experiments. Technometrics 33(2).
Campolongo, F., Cariboni, J., Saltelli, A. (2007). An effective screening design for sensitivity analysis of
large models. Environmental Modelling & Software 22(10).
Herman, J., Usher, W. (2017). SALib: An open-source Python library for sensitivity analysis. JOSS 2(9).
Ishigami, T., Homma, T. (1990). An importance quantification technique in uncertainty analysis for computer
models. ISUMA '90.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from sim.distributions import Distribution, Fixed, describe, sample
from sim.errors import InputError, suggest
from sim.output import write_folder_atomically

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

    from sim.cohort import Model
    from sim.scenario import Scenario
    from sim.targets import Target

METHODS = ("sobol", "morris")
DEFAULT_N = {"sobol": 64, "morris": 10}
"""Default base sample size: Sobol' ``N`` (a power of 2; ``N·(k+2)`` points), Morris trajectories."""
DEFAULT_REPLICATES = 8
MORRIS_LEVELS = 4
DEFAULT_LEVER_LEVELS = 4
CONFIDENCE = 0.95
N_RESAMPLES = 1000
"""Bootstrap resamples behind each confidence interval."""
AREAS = ("region", "south")
NOISY = 0.5
"""Noise share above which the printed summary warns that an output's indices are mostly replicate noise."""
TOP_FACTORS = 3
"""Factors printed per outcome."""
TORNADO_FACTORS = 12
"""Factors shown per panel of a tornado chart (the largest ST or μ*)."""


# ------------------------------------------------------------------------------------------------------------
# factors and design


@dataclass(frozen=True)
class Factor:
    """One input of the analysis.

    Attributes
    ----------
    name
        Uncertainty name (``attrition.rural_rate``), lever key (``levers.rotation.share``) or test name.
    kind
        ``uncertainty``, ``lever`` or ``test``.
    units
        Units of the factor's values.
    spec
        How values are drawn, for humans (``beta(mean=0.05, sd=0.015)``, ``levels 0.05, 0.13, 0.22, 0.3``).
    quantile
        Maps quantiles in [0, 1] to the factor's values.
    """

    name: str
    kind: str
    units: str
    spec: str
    quantile: Callable[[np.ndarray], np.ndarray] = field(compare=False, repr=False)


def uncertainty_factor(name: str, spec: Distribution, units: str = "") -> Factor:
    """An uncertainty of the scenario as a factor: values by inverse CDF of its distribution."""
    return Factor(name, "uncertainty", units, describe(spec), lambda q: sample(spec, q))


def uniform_factor(name: str, low: float, high: float, units: str = "") -> Factor:
    """A factor uniform on ``[low, high]`` (test functions such as Ishigami)."""
    return Factor(name, "test", units, f"uniform({low:g}, {high:g})", lambda q: low + (high - low) * np.asarray(q))


def lever_levels(low: float, high: float, levels: int, *, integer: bool = False) -> np.ndarray:
    """``levels`` equally spaced values from ``low`` to ``high`` (rounded and de-duplicated for integer levers).

    >>> lever_levels(0.1, 0.4, 4).tolist()
    [0.1, 0.2, 0.30000000000000004, 0.4]
    >>> lever_levels(1, 3, 4, integer=True).tolist()
    [1.0, 2.0, 3.0]
    """
    values = np.linspace(low, high, levels)
    return np.unique(np.rint(values)) if integer else values


def lever_factor(key: str, low: float, high: float, levels: int, *, integer: bool = False,
                 units: str = "") -> Factor:
    """A lever discretised into equally spaced values; quantile ``q`` picks value ``⌊q·L⌋`` (a discrete uniform)."""
    values = lever_levels(low, high, levels, integer=integer)

    def quantile(q: np.ndarray) -> np.ndarray:
        index = np.minimum(np.floor(np.asarray(q) * len(values)).astype(np.int64), len(values) - 1)
        return values[index]

    shown = ", ".join(f"{v:g}" for v in values)
    return Factor(key, "lever", units, f"levels {shown}", quantile)


@dataclass(frozen=True)
class Design:
    """A SALib design: ``unit`` as sampled (what the estimators read), ``values`` given to the model.

    Attributes
    ----------
    method
        ``sobol`` or ``morris``.
    factors
        The factors, in column order.
    unit
        ``(points, k)`` SALib sample on the unit hypercube.
    quantiles
        ``(points, k)`` quantiles of each factor (``unit`` itself for Sobol', bin middles for Morris).
    values
        ``(points, k)`` factor values.
    n
        Base sample size (Sobol' ``N``, Morris trajectories).
    """

    method: str
    factors: tuple[Factor, ...]
    unit: np.ndarray
    quantiles: np.ndarray
    values: np.ndarray
    n: int

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem: every factor on [0, 1] (values come from the quantile functions)."""
        return {"num_vars": len(self.factors), "names": self.names, "bounds": [[0.0, 1.0]] * len(self.factors)}

    @property
    def n_points(self) -> int:
        return int(self.unit.shape[0])


def n_points(method: str, n: int, k: int) -> int:
    """Design points of ``method`` with base size ``n`` and ``k`` factors."""
    return n * (k + 2) if method == "sobol" else n * (k + 1)


def check_n(method: str, n: int) -> None:
    """``--n`` must be a power of 2 ≥ 4 for Sobol' (balance of the Sobol' sequence), ≥ 2 for Morris."""
    if method == "sobol" and (n < 4 or n & (n - 1)):
        raise InputError(f"must be a power of 2 and at least 4 for --method sobol, got {n}", key="--n")
    if method == "morris" and n < 2:
        raise InputError(f"must be at least 2 trajectories for --method morris, got {n}", key="--n")


def make_design(factors: Sequence[Factor], method: str, n: int, rng: np.random.Generator) -> Design:
    """SALib's design for ``factors``, mapped to values through each factor's quantile function."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in METHODS:
        raise InputError(f"must be one of {', '.join(METHODS)}, got {method!r}", key="--method")
    check_n(method, n)
    problem = {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [[0.0, 1.0]] * len(factors)}
    if method == "sobol":
        unit = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=rng)
        quantiles = unit
    else:
        unit = morris_sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=rng)
        quantiles = (np.rint(unit * (MORRIS_LEVELS - 1)) * 2 + 1) / (2 * MORRIS_LEVELS)
    values = np.column_stack([f.quantile(quantiles[:, j]) for j, f in enumerate(factors)])
    return Design(method, tuple(factors), np.asarray(unit, float), np.asarray(quantiles, float), values, n)


# ------------------------------------------------------------------------------------------------------------
# analysis


@dataclass(frozen=True)
class Output:
    """One analysed output: a target's metric value or its probability."""

    target: str
    kind: str  # "value" or "probability"
    units: str
    label: str


@dataclass(frozen=True)
class Noise:
    """Replicate-noise statistics of one output (module docstring)."""

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


def _morris_delta(levels: int = MORRIS_LEVELS) -> float:
    return levels / (2 * (levels - 1))


def analyse(design: Design, y: np.ndarray, outputs: Sequence[Output], rng: np.random.Generator) -> list[dict]:
    """Indices of every output: one row per (output, factor), as written to ``indices.csv``.

    ``y`` has shape ``(points, replicates, outputs)``; the estimators read the replicate means.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

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
            si = sobol_analyze.analyze(design.problem, means, calc_second_order=False, num_resamples=N_RESAMPLES,
                                       conf_level=CONFIDENCE, seed=seed)
            share = noise.noise_share
            keep = 1.0 - share  # NaN when the noise is not estimable (one replicate): no correction
            dominated = bool(keep <= 0)
            for j, factor in enumerate(design.factors):
                s1, st = float(si["S1"][j]), float(si["ST"][j])
                s1c, stc = float(si["S1_conf"][j]), float(si["ST_conf"][j])
                rows.append({**base, "factor": factor.name, "factor_kind": factor.kind,
                             "S1": s1, "S1_conf": s1c, "ST": st, "ST_conf": stc,
                             "S1_parameters": math.nan if dominated else s1 / keep,
                             "S1_parameters_conf": math.nan if dominated else s1c / keep,
                             "ST_parameters": math.nan if dominated else (st - share) / keep,
                             "ST_parameters_conf": math.nan if dominated else stc / keep,
                             "note": "replicate noise dominates: use more replicates" if dominated else ""})
        else:
            si = morris_analyze.analyze(design.problem, design.unit, means, num_resamples=N_RESAMPLES,
                                        conf_level=CONFIDENCE, num_levels=MORRIS_LEVELS,
                                        seed=np.random.default_rng(seed))
            floor = math.sqrt(4 * noise.noise_variance / (math.pi * replicates)) / _morris_delta()
            for j, factor in enumerate(design.factors):
                rows.append({**base, "factor": factor.name, "factor_kind": factor.kind,
                             "mu": float(si["mu"][j]), "mu_star": float(si["mu_star"][j]),
                             "mu_star_conf": float(si["mu_star_conf"][j]), "sigma": float(si["sigma"][j]),
                             "mu_star_noise_floor": floor, "note": ""})
    return rows


SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf", "S1_parameters", "S1_parameters_conf", "ST_parameters",
                 "ST_parameters_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma", "mu_star_noise_floor")


def index_columns(method: str) -> list[str]:
    """Columns of ``indices.csv`` for ``method``."""
    own = SOBOL_COLUMNS if method == "sobol" else MORRIS_COLUMNS
    return ["target", "outcome", "outcome_units", "factor", "factor_kind", "method", *own, "replicates",
            "variance_of_means", "noise_variance", "noise_share", "note"]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def indices_csv(rows: Sequence[dict], method: str) -> str:
    columns = index_columns(method)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c, math.nan)) for c in columns])
    return buffer.getvalue()


def design_csv(design: Design, first_draw: np.ndarray | None = None) -> str:
    """One row per design point: its first draw (if any), each factor's quantile and value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["point"] + (["first_draw"] if first_draw is not None else [])
    header += [f"{n} (quantile)" for n in design.names] + [f"{n} ({f.units})" if f.units else n
                                                           for n, f in zip(design.names, design.factors, strict=True)]
    writer.writerow(header)
    for i in range(design.n_points):
        cells = [str(i)] + ([str(int(first_draw[i]))] if first_draw is not None else [])
        cells += [f"{q:.6g}" for q in design.quantiles[i]] + [f"{v:.6g}" for v in design.values[i]]
        writer.writerow(cells)
    return buffer.getvalue()


def outcomes_csv(y: np.ndarray, outputs: Sequence[Output]) -> str:
    """One row per (design point, output): the mean over replicates and the within-point variance."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["point", "target", "outcome", "outcome_units", "mean_over_replicates",
                     "variance_within_point", "replicates"])
    replicates = y.shape[1]
    for i in range(y.shape[0]):
        for o, out in enumerate(outputs):
            within = float(np.var(y[i, :, o], ddof=1)) if replicates > 1 else math.nan
            writer.writerow([i, out.target, out.kind, out.units, _cell(float(y[i, :, o].mean())), _cell(within),
                             replicates])
    return buffer.getvalue()


@dataclass(frozen=True)
class SensitivityResult:
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


# ------------------------------------------------------------------------------------------------------------
# figures and text


def _ranking_key(method: str) -> str:
    return "ST" if method == "sobol" else "mu_star"


def top_factors(rows: Sequence[dict], target: str, outcome: str, count: int = TOP_FACTORS) -> list[dict]:
    """The ``count`` rows of (target, outcome) with the largest ST (Sobol') or μ* (Morris)."""
    chosen = [r for r in rows if r["target"] == target and r["outcome"] == outcome and not r.get("note")]
    if not chosen:
        return []
    key = _ranking_key(chosen[0]["method"])
    return sorted(chosen, key=lambda r: -r[key])[:count]


def tornado(rows: Sequence[dict], *, title: str = "", ax: Axes | None = None) -> Axes:
    """Horizontal bars of one output's indices, largest on top.

    Sobol': ST (light bar, 95% interval) with S1 (dark bar) and the noise share (dashed line). Morris: μ*
    (bar, 95% interval), σ (dots) and the noise floor of μ* (dashed line).
    """
    from sim.plots import new_axes

    ax = ax if ax is not None else new_axes((6.0, 4.5))
    if not rows or rows[0].get("note"):
        ax.text(0.5, 0.5, rows[0]["note"] if rows else "no factors", ha="center", va="center", wrap=True,
                transform=ax.transAxes, fontsize=8)
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        return ax
    method = rows[0]["method"]
    key = _ranking_key(method)
    shown = sorted(rows, key=lambda r: -r[key])[:TORNADO_FACTORS][::-1]
    y = np.arange(len(shown))
    names = [r["factor"] for r in shown]
    if method == "sobol":
        ax.barh(y, [r["ST"] for r in shown], xerr=[r["ST_conf"] for r in shown], color="#9ecae1",
                label="total order ST", error_kw={"elinewidth": 0.8})
        ax.barh(y, [r["S1"] for r in shown], height=0.45, color="#08519c", label="first order S1")
        share = rows[0]["noise_share"]
        if np.isfinite(share):
            ax.axvline(share, color="0.3", ls="--", lw=0.9, label=f"replicate noise share {share:.2f}")
        ax.set_xlabel("share of the variance of the replicate means (1)")
    else:
        ax.barh(y, [r["mu_star"] for r in shown], xerr=[r["mu_star_conf"] for r in shown], color="#9ecae1",
                label="μ* (mean |elementary effect|)", error_kw={"elinewidth": 0.8})
        ax.plot([r["sigma"] for r in shown], y, "o", color="#08519c", ms=3.5, label="σ (interactions, non-linearity)")
        floor = rows[0]["mu_star_noise_floor"]
        if np.isfinite(floor):
            ax.axvline(floor, color="0.3", ls="--", lw=0.9, label="noise floor of μ*")
        ax.set_xlabel(f"{rows[0]['outcome_units']} per unit of the design scale")
    ax.set_yticks(y, names, fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=6.5, loc="lower right")
    ax.set_title(title, fontsize=9)
    return ax


def write_tornados(result: SensitivityResult, folder: Path, labels: Mapping[str, str] | None = None) -> list[Path]:
    """One figure per target, a panel per output (value, probability); PNG and SVG."""
    from matplotlib.figure import Figure

    from sim.plots import language_context, save

    labels = labels or {}
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    targets = list(dict.fromkeys(o.target for o in result.outputs))
    with language_context("en"):
        for target in targets:
            outputs = [o for o in result.outputs if o.target == target]
            fig = Figure(figsize=(5.6 * len(outputs), 4.8), layout="constrained")
            axes = fig.subplots(1, len(outputs), squeeze=False)[0]
            for ax, out in zip(axes, outputs, strict=True):
                chosen = [r for r in result.rows if r["target"] == target and r["outcome"] == out.kind]
                tornado(chosen, title=out.label, ax=ax)
            heading = f"{target} {labels.get(target, '')}".strip()
            fig.suptitle(_shorten(heading, 110) + f" — {result.design.method}", fontsize=10)
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in target)
            paths += save(fig, folder / f"tornado-{safe}")
    return paths


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_text(result: SensitivityResult) -> str:
    """Top factors per target and output, with the noise share (what the command prints)."""
    lines = []
    method = result.design.method
    for out in result.outputs:
        chosen = [r for r in result.rows if r["target"] == out.target and r["outcome"] == out.kind]
        if not chosen:
            continue
        head = f"{out.target} {out.kind} ({out.label})"
        if chosen[0].get("note"):
            lines.append(f"{head}: {chosen[0]['note']}")
            continue
        share = chosen[0]["noise_share"]
        tops = top_factors(result.rows, out.target, out.kind)
        if method == "sobol":
            parts = [f"{r['factor']} ST={r['ST']:.2f}±{r['ST_conf']:.2f} S1={r['S1']:.2f}" for r in tops]
        else:
            parts = [f"{r['factor']} μ*={r['mu_star']:.3g}±{r['mu_star_conf']:.2g} {r['outcome_units']}" for r in tops]
        noise = f"replicate noise share {share:.2f}"
        if method == "morris":
            noise += f", noise floor of μ* {chosen[0]['mu_star_noise_floor']:.2g}"
        if share >= NOISY:
            noise += (" — mostly noise, indices unreliable: raise --replicates, or add the uncertainty that drives it "
                      "to --factors (those not studied vary draw by draw)")
        lines.append(f"{head}: " + "; ".join(parts) + f" | {noise}")
    return "\n".join(lines) + "\n"


METHOD_TEXT = {
    "sobol": "Sobol' indices (SALib: Saltelli sampling without second order, Saltelli 2010 first-order and Jansen "
             "total-order estimators, bootstrap 95% intervals) on the mean over replicates of each design point.",
    "morris": "Morris elementary effects (SALib: trajectories on a 4-level grid, levels read as quantiles 1/8, 3/8, "
              "5/8, 7/8; μ* with bootstrap 95% interval, σ) on the mean over replicates of each design point; "
              "effects per unit of the design scale (step Δ = 2/3).",
}


def readme_text(result: SensitivityResult, heading: str, details: Mapping[str, Any]) -> str:
    """``sensitivity.md``: what was run, how to read the columns, top factors."""
    d = result.design
    lines = [f"# Sensitivity: {heading}", "",
             f"Method: {METHOD_TEXT[d.method]}", "",
             *(f"- {k}: {v}" for k, v in details.items()),
             f"- design points: {d.n_points} (base size {d.n}, {len(d.factors)} factors), "
             f"replicates per point: {result.y.shape[1]}", "",
             "## Columns of indices.csv", "",
             "- `outcome`: `value` = the target metric's value (units in `outcome_units`; for a yearly target the "
             "worst year of the window); `probability` = share of a point's replicates meeting the target (0–1).",
             "- Sobol': `S1`, `ST` and their 95% half-widths `*_conf` are shares (1) of the variance of the replicate "
             "means; `S1_parameters`, `ST_parameters` rescale them to the variance of the parameter effects alone "
             "(replicate noise removed, see sim/sensitivity.py).",
             "- Morris: `mu`, `mu_star` (95% half-width `mu_star_conf`), `sigma` and `mu_star_noise_floor` in "
             "`outcome_units` per unit of the design scale.",
             "- `variance_of_means` (outcome units²): variance of the replicate means over the design; "
             "`noise_variance` (outcome units²): mean within-point variance of one draw; `noise_share` (1): "
             "noise_variance / replicates / variance_of_means.", "",
             "## Top factors", "", "```", summary_text(result).rstrip(), "```", ""]
    return "\n".join(lines)


def write_results(out_dir: Path, result: SensitivityResult, *, heading: str, details: Mapping[str, Any],
                  files: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None,
                  figures: bool = True) -> Path:
    """``indices.csv``, ``design.csv``, ``outcomes.csv``, ``sensitivity.md``, ``files`` and tornado charts."""

    def write(tmp: Path) -> None:
        (tmp / "indices.csv").write_text(indices_csv(result.rows, result.design.method), encoding="utf-8")
        (tmp / "design.csv").write_text(design_csv(result.design, result.first_draw), encoding="utf-8")
        (tmp / "outcomes.csv").write_text(outcomes_csv(result.y, result.outputs), encoding="utf-8")
        (tmp / "sensitivity.md").write_text(readme_text(result, heading, details), encoding="utf-8")
        for name, text in (files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if figures:
            write_tornados(result, tmp / "figures", labels)

    return write_folder_atomically(out_dir, write)


# ------------------------------------------------------------------------------------------------------------
# the model as a function of the design


def choose_factors(scenario: Scenario, names: str | None) -> list[Factor]:
    """The scenario's uncertainties as factors: ``names`` (comma-separated) or every non-fixed one."""
    from sim.parameters import PARAMETERS

    def units(name: str) -> str:
        return PARAMETERS[name].units if name in PARAMETERS else ""

    uncertain = {n: s for n, s in scenario.uncertainties.items() if not isinstance(s, Fixed)}
    if names is None:
        return [uncertainty_factor(n, s, units(n)) for n, s in uncertain.items()]
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    if not chosen:
        raise InputError("names no uncertainty", key="--factors")
    factors = []
    for name in dict.fromkeys(chosen):
        if name not in scenario.uncertainties:
            raise InputError(f"unknown uncertainty '{name}'; {suggest(name, scenario.uncertainties)}", key="--factors")
        if name not in uncertain:
            raise InputError(f"'{name}' is fixed in the scenario ({describe(scenario.uncertainties[name])}); give it a "
                             "distribution to study it", key="--factors")
        factors.append(uncertainty_factor(name, uncertain[name], units(name)))
    return factors


def parse_lever(text: str, scenario: Scenario, levels: int) -> Factor:
    """``levers.GROUP.NAME=LO:HI`` → a discretised lever factor (validated against the scenario)."""
    from sim.scenario import as_mapping, replace

    key, sep, span = text.partition("=")
    key = key.strip()
    low_text, sep2, high_text = span.partition(":")
    if not sep or not sep2 or not key:
        raise InputError(f"expected KEY=LOW:HIGH (e.g. levers.rotation.share=0.05:0.30), got {text!r}", key="--lever")
    if not key.startswith("levers.") or key.count(".") != 2:
        raise InputError(f"'{key}' is not a lever: expected levers.GROUP.NAME (e.g. levers.rotation.share)",
                         key="--lever")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise InputError(f"{key}: LOW and HIGH must be numbers, got {span!r}", key="--lever") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise InputError(f"{key}: need LOW < HIGH, got {low:g}:{high:g}", key="--lever")
    _, group, name = key.split(".")
    levers = as_mapping(scenario)["levers"]
    if group not in levers:
        raise InputError(f"unknown lever group '{group}'; {suggest(group, levers)}", key="--lever")
    if name not in levers[group]:
        raise InputError(f"unknown lever '{key}'; {suggest(name, levers[group])}", key="--lever")
    current = levers[group][name]
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise InputError(f"{key} is not a single number (it is {current!r}); only numeric levers can vary",
                         key="--lever")
    integer = isinstance(current, int)
    factor = lever_factor(key, low, high, levels, integer=integer, units=_lever_units(group, name))
    for value in (low, high, *lever_levels(low, high, levels, integer=integer)):  # the bounds first: clearer errors
        replace(scenario, {key: int(np.rint(value)) if integer else float(value)})
    return factor


def model_outputs(targets: Sequence[Target], area: str, years: np.ndarray) -> tuple[list[Target], list[str],
                                                                                    list[Output]]:
    """Targets that can be analysed in ``area`` and the run's years; notes for those skipped; their outputs."""
    from sim.targets import METRICS

    kept, skipped, outputs = [], [], []
    for t in targets:
        if area not in t.scope:
            skipped.append(f"{t.id}: scope {', '.join(t.scope)} does not include {area}")
            continue
        first = t.year if t.year is not None else t.each_year_from
        if first is None or first < years[0] or first > years[-1]:
            skipped.append(f"{t.id}: year {first} is outside the run ({years[0]}–{years[-1]})")
            continue
        kept.append(t)
        when = f"{t.year}" if t.year is not None else f"worst year {t.each_year_from}–{years[-1]}"
        outputs.append(Output(t.id, "value", METRICS[t.metric].units, f"{t.metric} ({area}, {when})"))
        outputs.append(Output(t.id, "probability", "probability (0–1)",
                              f"P({t.metric} {t.comparison} {t.threshold:g}, {area})"))
    return kept, skipped, outputs


def target_values(results: xr.Dataset, target: Target, area: str) -> tuple[np.ndarray, np.ndarray]:
    """Per draw: the metric's value and whether the target is met (``sim.outcomes`` decides), in ``area``.

    The value is the metric in the target year; for a yearly target (``each_year_from``) the worst year of the
    window (the minimum for ``>=``, the maximum for ``<=``, the largest distance from the threshold for ``==``).
    """
    from sim.outcomes import _condition

    holds = _condition(results, target, area)
    if holds is None:
        raise ValueError(f"metric {target.metric} is not in the results")
    values = results[target.metric].sel(area=area)
    if target.year is not None:
        return values.sel(year=target.year).values.astype(float), holds.sel(year=target.year).values.astype(float)
    years = results["year"].values
    window = years[years >= target.each_year_from]
    met = holds.sel(year=window).all("year").values.astype(float)
    v = values.sel(year=window)
    if target.comparison == ">=":
        worst = v.min("year", skipna=False)
    elif target.comparison == "<=":
        worst = v.max("year", skipna=False)
    else:
        worst = abs(v - target.threshold).max("year", skipna=False)
    return worst.values.astype(float), met


@dataclass
class ModelEvaluator:
    """``evaluate(design) -> Y`` for the model: each point on ``replicates`` draws (see module docstring).

    After a call, ``first_draw`` holds each design point's first draw index.
    """

    scenario: Scenario
    targets: Sequence[Target]
    area: str
    replicates: int
    progress: bool = True
    stream: TextIO | None = None  # None: sys.stderr at run time
    first_draw: np.ndarray | None = None
    prepare: Callable[[Scenario], Model] | None = None

    def layout(self, design: Design) -> tuple[list[tuple[dict[str, Any], np.ndarray, int]], np.ndarray]:
        """Groups of points sharing lever values: (lever changes, point indices, first draw); first draws."""
        from sim.rng import BLOCK_SIZE

        lever_columns = [j for j, f in enumerate(design.factors) if f.kind == "lever"]
        keys = [tuple(design.values[i, lever_columns]) for i in range(design.n_points)]
        groups: list[tuple[dict[str, Any], np.ndarray, int]] = []
        first = np.zeros(design.n_points, dtype=np.int64)
        offset = 0
        for key in sorted(set(keys)):
            points = np.array([i for i, k in enumerate(keys) if k == key], dtype=np.int64)
            changes = {design.factors[j].name: v for j, v in zip(lever_columns, key, strict=True)}
            first[points] = offset + np.arange(len(points)) * self.replicates
            groups.append((changes, points, offset))
            offset += -(-len(points) * self.replicates // BLOCK_SIZE) * BLOCK_SIZE
        return groups, first

    def scenario_for(self, changes: Mapping[str, float]) -> Scenario:
        from sim.scenario import as_mapping, replace

        if not changes:
            return self.scenario
        levers = as_mapping(self.scenario)["levers"]
        typed = {k: int(v) if isinstance(levers[k.split(".")[1]][k.split(".")[2]], int) else float(v)
                 for k, v in changes.items()}
        return replace(self.scenario, typed)

    def __call__(self, design: Design) -> np.ndarray:
        from tqdm import tqdm

        from sim.cohort import prepare, run_chunk
        from sim.ensemble import to_dataset
        from sim.rng import BLOCK_SIZE, Streams, chunk_bounds

        build = self.prepare or prepare
        r = self.replicates
        groups, self.first_draw = self.layout(design)
        scenarios = [self.scenario_for(changes) for changes, _, _ in groups]  # validate all before running
        uncertainty_columns = [j for j, f in enumerate(design.factors) if f.kind == "uncertainty"]
        n_years = self.scenario.horizon - self.scenario.start_year + 1
        total = sum(-(-len(p) * r // BLOCK_SIZE) * BLOCK_SIZE for _, p, _ in groups) * n_years
        streams = Streams(self.scenario.seed)
        per_target = 2
        y = np.full((design.n_points, r, per_target * len(self.targets)), np.nan)
        with tqdm(total=total, desc=f"{self.scenario.name}: sensitivity draw-years", unit="draw-yr",
                  disable=not self.progress, file=self.stream or sys.stderr, smoothing=0.1) as bar:
            for (_, points, offset), scenario in zip(groups, scenarios, strict=True):
                model = build(scenario)
                n_draws = len(points) * r
                padded = -(-n_draws // BLOCK_SIZE) * BLOCK_SIZE
                # draw offset + i·R + rep ↔ point points[i]; padding draws repeat the last point's values
                row_point = np.minimum(np.arange(padded) // r, len(points) - 1)
                values = {design.factors[j].name: design.values[points[row_point], j] for j in uncertainty_columns}
                for a, b in chunk_bounds(padded, scenario.chunk_size):
                    raw = run_chunk(model, streams, offset + a, offset + b, on_year=bar.update,
                                    parameters={name: v[a:b] for name, v in values.items()})
                    results = to_dataset(model, raw, first_draw=offset + a)
                    keep = np.arange(a, min(b, n_draws))
                    for t, target in enumerate(self.targets):
                        value, met = target_values(results, target, self.area)
                        for column, series in ((per_target * t, value), (per_target * t + 1, met)):
                            y[points[keep // r], keep % r, column] = series[keep - a]
        return y


def sensitivity(
    scenario: Scenario,
    *,
    method: str,
    n: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    factors: str | None = None,
    levers: Sequence[str] = (),
    lever_levels_count: int = DEFAULT_LEVER_LEVELS,
    area: str = "region",
    out_dir: Path | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    scenario_file: str | None = None,
    figures: bool = True,
) -> tuple[SensitivityResult, Path, list[str]]:
    """Validate the options, run the design on the model, analyse and write the folder.

    Returns the result, the folder written and notes on the targets skipped.
    """
    from sim.output import git_commit, package_versions, scenario_hash
    from sim.rng import Streams
    from sim.scenario import resolved_yaml
    from sim.targets import load_target_set

    if method not in METHODS:
        raise InputError(f"must be one of {', '.join(METHODS)}, got {method!r}", key="--method")
    n = DEFAULT_N[method] if n is None else n
    check_n(method, n)
    if replicates < 2:
        raise InputError(f"must be at least 2 (the noise variance needs two draws per point), got {replicates}",
                         key="--replicates")
    if lever_levels_count < 2:
        raise InputError(f"must be at least 2, got {lever_levels_count}", key="--lever-levels")
    if area not in AREAS:
        raise InputError(f"must be one of {', '.join(AREAS)}, got {area!r}", key="--area")
    chosen = choose_factors(scenario, factors)
    lever_factors = [parse_lever(text, scenario, lever_levels_count) for text in levers]
    duplicated = [f.name for f in lever_factors if [g.name for g in lever_factors].count(f.name) > 1]
    if duplicated:
        raise InputError(f"lever '{duplicated[0]}' given twice", key="--lever")
    all_factors = chosen + lever_factors
    if not all_factors:
        raise InputError("no factor to study: every uncertainty is fixed and no --lever given", key="--factors")
    target_set = load_target_set(scenario.targets)
    years = np.arange(scenario.start_year, scenario.horizon + 1)
    kept, skipped, outputs = model_outputs(target_set.targets, area, years)
    if not kept:
        raise InputError(f"no target of {scenario.targets} can be analysed in area {area} over "
                         f"{years[0]}–{years[-1]}: " + "; ".join(skipped), key="--area")
    started = datetime.now(UTC)
    streams = Streams(scenario.seed)
    design = make_design(all_factors, method, n, streams.draw_generator(0, "sensitivity/design"))
    evaluator = ModelEvaluator(scenario, kept, area, replicates, progress=progress, stream=stream)
    result = run_analysis(design, evaluator, outputs, streams.draw_generator(0, "sensitivity/bootstrap"))
    text = resolved_yaml(scenario)
    draws = int(evaluator.first_draw.max()) + replicates if evaluator.first_draw is not None else 0
    record = {
        "command": "sensitivity", "method": method, "n": n, "replicates": replicates, "area": area,
        "design_points": design.n_points, "draws_used": design.n_points * replicates, "last_draw_index": draws - 1,
        "factors": [{"name": f.name, "kind": f.kind, "units": f.units, "spec": f.spec} for f in all_factors],
        "lever_levels": lever_levels_count if lever_factors else None,
        "seed": scenario.seed, "scenario_name": scenario.name, "scenario_file": scenario_file,
        "scenario_sha256": scenario_hash(text), "target_set": str(scenario.targets), "targets_skipped": skipped,
        "git_commit": git_commit(), "versions": {**package_versions(), "SALib": _salib_version()},
        "argv": sys.argv, "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    details = {
        "scenario": f"{scenario.name} (seed {scenario.seed}, {scenario.start_year}–{scenario.horizon}, "
                    f"counties: {_counties_text(scenario)})",
        "area": area,
        "factors": ", ".join(f"{f.name} [{f.spec}]" for f in all_factors),
        "draws": f"{design.n_points * replicates} (point i, replicate r → draw first_draw(i) + r; design.csv)",
    }
    if skipped:
        details["targets skipped"] = "; ".join(skipped)
    target = out_dir if out_dir is not None else Path("outputs") / f"sensitivity-{scenario.name}-{method}"
    written = write_results(
        Path(target), result, heading=f"{scenario.name}, {method}", details=details,
        files={"scenario.resolved.yaml": text,
               "provenance.json": json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n"},
        labels={t.id: t.en for t in kept}, figures=figures)
    return result, written, skipped


def _salib_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("SALib")
    except metadata.PackageNotFoundError:
        return "not installed"


def _counties_text(scenario: Scenario) -> str:
    chosen = scenario.baseline.counties
    return chosen if isinstance(chosen, str) else ", ".join(str(c) for c in chosen)


def _lever_units(group: str, name: str) -> str:
    """What a lever measures, with its units: the first clause of its description in ``sim.scenario``."""
    from sim.scenario import Levers

    info = type(getattr(Levers(), group)).model_fields.get(name)
    text = (info.description or "") if info is not None else ""
    return text.split(";")[0].strip()
