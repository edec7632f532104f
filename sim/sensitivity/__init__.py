"""Global sensitivity of each target to the uncertainties and levers (``edusim sensitivity``), through SALib.

The package follows SALib's layout, one module per job, each usable alone (the Ishigami test drives the same
code with a test function in place of the model):

- :mod:`~sim.sensitivity.design`: the factors and the SALib design;
- :mod:`~sim.sensitivity.sobol` and :mod:`~sim.sensitivity.morris`: one module per method, its sampler, its
  estimators and what they mean;
- :mod:`~sim.sensitivity.evaluation`: the model as a function of the design (points × replicates × outputs);
- :mod:`~sim.sensitivity.analysis`: replicate noise apart from parameter effects, then the method's indices;
- :mod:`~sim.sensitivity.report`: ``indices.csv``, ``design.csv``, ``outcomes.csv``, ``sensitivity.md``, tornado
  charts, provenance; :mod:`~sim.sensitivity.study`: the command from end to end;
- :mod:`~sim.sensitivity.defaults`: the options' defaults, importable without numpy.

The names below are importable from ``sim.sensitivity`` itself; each submodule is imported on first use (SPEC 1,
lazy loading), so that ``edusim --help`` can read the defaults without loading numpy, SciPy or SALib.

The analysis runs in three steps:

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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.sensitivity.analysis import Noise, Output, SensitivityResult, analyse, noise_statistics, run_analysis
    from sim.sensitivity.defaults import (
        AREAS,
        CONFIDENCE,
        DEFAULT_LEVER_LEVELS,
        DEFAULT_N,
        DEFAULT_REPLICATES,
        METHODS,
        N_RESAMPLES,
    )
    from sim.sensitivity.design import (
        Design,
        Factor,
        check_n,
        choose_factors,
        lever_factor,
        lever_levels,
        make_design,
        n_points,
        scenario_lever,
        uncertainty_factor,
        uniform_factor,
    )
    from sim.sensitivity.evaluation import ModelEvaluator, model_outputs, target_values
    from sim.sensitivity.morris import COLUMNS as MORRIS_COLUMNS
    from sim.sensitivity.morris import LEVELS as MORRIS_LEVELS
    from sim.sensitivity.report import (
        METHOD_TEXT,
        NOISY,
        TOP_FACTORS,
        TORNADO_FACTORS,
        design_csv,
        index_columns,
        indices_csv,
        outcomes_csv,
        readme_text,
        summary_text,
        top_factors,
        tornado,
        write_results,
        write_tornados,
    )
    from sim.sensitivity.sobol import COLUMNS as SOBOL_COLUMNS
    from sim.sensitivity.study import sensitivity

_EXPORTS: dict[str, tuple[str, str]] = {
    **{name: ("defaults", name) for name in ("AREAS", "CONFIDENCE", "DEFAULT_LEVER_LEVELS", "DEFAULT_N",
                                             "DEFAULT_REPLICATES", "METHODS", "N_RESAMPLES")},
    **{name: ("design", name) for name in ("Design", "Factor", "check_n", "choose_factors", "lever_factor",
                                           "lever_levels", "make_design", "n_points", "scenario_lever",
                                           "uncertainty_factor", "uniform_factor")},
    **{name: ("analysis", name) for name in ("Noise", "Output", "SensitivityResult", "analyse", "noise_statistics",
                                             "run_analysis")},
    **{name: ("evaluation", name) for name in ("ModelEvaluator", "model_outputs", "target_values")},
    **{name: ("report", name) for name in ("METHOD_TEXT", "NOISY", "TOP_FACTORS", "TORNADO_FACTORS", "design_csv",
                                           "index_columns", "indices_csv", "outcomes_csv", "readme_text",
                                           "summary_text", "top_factors", "tornado", "write_results",
                                           "write_tornados")},
    "MORRIS_COLUMNS": ("morris", "COLUMNS"),
    "MORRIS_LEVELS": ("morris", "LEVELS"),
    "SOBOL_COLUMNS": ("sobol", "COLUMNS"),
    "sensitivity": ("study", "sensitivity"),
}
"""Public name → (submodule, name in it)."""

__all__ = [
    "AREAS",
    "CONFIDENCE",
    "DEFAULT_LEVER_LEVELS",
    "DEFAULT_N",
    "DEFAULT_REPLICATES",
    "METHODS",
    "METHOD_TEXT",
    "MORRIS_COLUMNS",
    "MORRIS_LEVELS",
    "NOISY",
    "N_RESAMPLES",
    "SOBOL_COLUMNS",
    "TOP_FACTORS",
    "TORNADO_FACTORS",
    "Design",
    "Factor",
    "ModelEvaluator",
    "Noise",
    "Output",
    "SensitivityResult",
    "analyse",
    "check_n",
    "choose_factors",
    "design_csv",
    "index_columns",
    "indices_csv",
    "lever_factor",
    "lever_levels",
    "make_design",
    "model_outputs",
    "n_points",
    "noise_statistics",
    "outcomes_csv",
    "readme_text",
    "run_analysis",
    "scenario_lever",
    "sensitivity",
    "summary_text",
    "target_values",
    "top_factors",
    "tornado",
    "uncertainty_factor",
    "uniform_factor",
    "write_results",
    "write_tornados",
]
"""Every name of :data:`_EXPORTS` (a test checks they agree)."""


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use (PEP 562)."""
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
