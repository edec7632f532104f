"""Factors and the SALib design: which inputs vary, and the values each design point gives them.

A :class:`Factor` maps quantiles in [0, 1] to its values: an uncertainty through the inverse CDF of its
distribution (``sim.distributions.sample``), a lever through its discretised range (``L`` equally spaced values,
``--lever-levels``; the design column's quantile ``q`` picks value ``⌊q·L⌋``, a discrete uniform factor; an
integer lever's values are rounded, by :mod:`sim.levers`'s rule). :func:`make_design` draws SALib's design on the
unit hypercube (:mod:`sim.sensitivity.sobol`, :mod:`sim.sensitivity.morris`) and maps each column through its
factor's quantile function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.distributions import Distribution, Fixed, describe, sample
from sim.errors import InputError, suggest
from sim.sensitivity import morris, sobol
from sim.sensitivity.defaults import METHODS

if TYPE_CHECKING:
    from sim.posterior import Posterior
    from sim.scenario import Scenario

__all__ = ["Design", "Factor", "check_method", "check_n", "choose_factors", "lever_factor", "lever_levels",
           "make_design", "n_points", "posterior_factor", "scenario_lever", "uncertainty_factor", "uniform_factor"]


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
    return sobol.n_points(n, k) if method == "sobol" else morris.n_points(n, k)


def check_method(method: str) -> None:
    if method not in METHODS:
        raise InputError(f"must be one of {', '.join(METHODS)}, got {method!r}", key="--method")


def check_n(method: str, n: int) -> None:
    """``--n`` must be a power of 2 ≥ 4 for Sobol' (balance of the Sobol' sequence), ≥ 2 for Morris."""
    (sobol.check_n if method == "sobol" else morris.check_n)(n)


def make_design(factors: Sequence[Factor], method: str, n: int, rng: np.random.Generator) -> Design:
    """SALib's design for ``factors``, mapped to values through each factor's quantile function."""
    check_method(method)
    check_n(method, n)
    problem = {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [[0.0, 1.0]] * len(factors)}
    if method == "sobol":
        unit = sobol.sample(problem, n, rng)
        quantiles = unit
    else:
        unit = morris.sample(problem, n, rng)
        quantiles = morris.quantiles(unit)
    values = np.column_stack([f.quantile(quantiles[:, j]) for j, f in enumerate(factors)])
    return Design(method, tuple(factors), unit, np.asarray(quantiles, float), values, n)


# ------------------------------------------------------------------------------------------------------------
# the scenario's factors


def posterior_factor(name: str, posterior: Posterior, label: str, units: str = "") -> Factor:
    """A parameter a calibrated posterior holds as a factor: values by the inverse of its weighted marginal CDF.

    The design draws each factor independently, so the posterior's correlations between parameters are not kept
    (SALib's Sobol' and Morris estimators assume independent inputs); the marginal ranges are the posterior's.
    """
    lo, hi = posterior.quantiles(name, (0.05, 0.95))
    return Factor(name, "uncertainty", units, f"posterior {label} (weighted marginal; 90%: {lo:.4g}–{hi:.4g})",
                  lambda q: posterior.quantiles(name, np.asarray(q, dtype=float)))


def choose_factors(scenario: Scenario, names: str | None) -> list[Factor]:
    """The scenario's uncertainties as factors: ``names`` (comma-separated) or every non-fixed one.

    A parameter the scenario's posterior supplies in a plain run (:func:`sim.model.posterior_held`) varies over
    the posterior's marginal (:func:`posterior_factor`), not over its prior: the indices then say what the
    calibrated uncertainty does.
    """
    from sim.model import load_posterior, posterior_held
    from sim.parameters import PARAMETERS

    def units(name: str) -> str:
        return PARAMETERS[name].units if name in PARAMETERS else ""

    held = set(posterior_held(scenario))

    def factor(name: str, spec: Distribution) -> Factor:
        if name in held and scenario.posterior is not None:
            return posterior_factor(name, load_posterior(scenario.posterior), scenario.posterior.name, units(name))
        return uncertainty_factor(name, spec, units(name))

    uncertain = {n: s for n, s in scenario.uncertainties.items() if not isinstance(s, Fixed)}
    if names is None:
        return [factor(n, s) for n, s in uncertain.items()]
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
        factors.append(factor(name, uncertain[name]))
    return factors



def scenario_lever(text: str, scenario: Scenario, levels: int) -> Factor:
    """``levers.GROUP.NAME=LO:HI`` → a discretised lever factor, checked against the scenario.

    The key, the range and the integer rule are :mod:`sim.levers`'s (as for ``edusim sweep`` and ``solve``); an
    integer lever's levels are rounded and de-duplicated (:func:`lever_levels`). Every level is validated by
    the scenario before anything runs.
    """
    from sim.levers import check_values, check_whole, lever_info, parse_lever

    key, low, high, _ = parse_lever(text, points=False)
    if key.startswith("uncertainties."):
        raise InputError("an uncertainty is a factor of its own: name it in --factors (its distribution is "
                         "studied, not a parameter of it)", key=key)
    info = lever_info(scenario, key, sections=("levers",))
    check_whole(info, low, high)
    factor = lever_factor(key, low, high, levels, integer=info.integer, units=info.units)
    check_values(scenario, info, [low, high, *lever_levels(low, high, levels, integer=info.integer)])
    return factor
