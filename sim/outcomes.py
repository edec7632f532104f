"""From an ensemble of draws to the probability of reaching each target.

A target (``sim.targets``) names a metric, a comparison, a threshold, a year (``year``: that year;
``each_year_from``: every year from then to the horizon) and scopes. The ensemble (``results.nc``) holds, for
every metric, its area aggregates ``METRIC`` with dims ``(draw, year, area)`` (``area`` ∈ region, south) and its
county values ``METRIC_by_county`` with dims ``(draw, year, county)``.

For each target and scope, a draw *meets* the target when the comparison holds (in the target year, or in every
year of the window); the probability is the share of draws that meet it, with a 95% Wilson score interval
(the draws are independent replicates, so the count is binomial). The year first met is the first year in which
the comparison holds (for ``every_county``: holds in every county; for a yearly target, the first year from which
it holds every year to the horizon); draws that never meet it by the horizon are counted as "not by the
horizon" when taking the median.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22(158).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import xarray as xr
from scipy import stats

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {">=": operator.ge, "<=": operator.le, "==": operator.eq}
NOT_MET = -1
"""Year code for draws that never meet a target by the horizon."""


class TargetLike(Protocol):
    """What evaluation needs of a target (``sim.targets.Target`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def comparison(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def year(self) -> int | None: ...
    @property
    def each_year_from(self) -> int | None: ...
    @property
    def scope(self) -> Iterable[str]: ...


@dataclass(frozen=True)
class TargetOutcome:
    """The probability of one target in one scope."""

    target: str
    scope: str
    metric: str
    draws: int
    met: int
    probability: float
    ci_low: float
    ci_high: float
    median_first_year: int | None
    """Median over draws of the first year met; ``None`` when fewer than half the draws meet it by the horizon."""
    computed: bool = True
    reason: str = ""


def wilson_interval(met: int, draws: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (scipy.stats.binomtest)."""
    if draws == 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(int(met), int(draws)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def variable(target: TargetLike) -> str:
    """The results variable a target is judged on: its metric, or the metric under the target's reading of a
    quality school (``sim.targets.Target.variable``)."""
    return str(getattr(target, "variable", target.metric))


def condition(results: xr.Dataset, target: TargetLike, scope: str) -> xr.DataArray | None:
    """Boolean (draw, year): the comparison holds in that year, for that scope.

    ``None`` if not computed: the metric is missing, or undefined (NaN) in every draw and year of the scope (an
    area with no counties), so that callers (``compare``, ``sensitivity``) never count "not met" from no values.
    """
    found = condition_and_defined(results, target, scope)
    if found is None or not bool(found[1].any()):
        return None
    return found[0]


def condition_and_defined(
    results: xr.Dataset, target: TargetLike, scope: str
) -> tuple[xr.DataArray, xr.DataArray] | None:
    """Boolean (draw, year) arrays: the comparison holds in that year for that scope, and the metric is defined
    there (not NaN; for ``every_county``, defined in every county). ``None`` if the metric is not computed."""
    compare = COMPARISONS[target.comparison]
    if scope == "every_county":
        name = f"{variable(target)}_by_county"
        if name not in results:
            return None
        values = results[name]
        if values.sizes.get("county", 0) == 0:
            defined = xr.zeros_like(values.isnull().any("county"))
        else:
            defined = values.notnull().all("county")
        return compare(values, target.threshold).all("county") & defined, defined
    if variable(target) not in results or scope not in results["area"].values:
        return None
    values = results[variable(target)].sel(area=scope)
    defined = values.notnull()
    return compare(values, target.threshold) & defined, defined


def _not_computed(target: TargetLike, scope: str, draws: int, reason: str) -> TargetOutcome:
    nan = float("nan")
    return TargetOutcome(target.id, scope, target.metric, draws, 0, nan, nan, nan, None, computed=False, reason=reason)


def evaluate_target(results: xr.Dataset, target: TargetLike, scope: str) -> TargetOutcome:
    """Probability, Wilson interval and median first year of one target in one scope.

    The outcome is "not computed" (``computed=False`` with a reason), never a probability, when the engine does
    not compute the metric, the target year lies outside the run, or the metric is undefined (NaN) in every draw
    of the years the target looks at, e.g. the ``south`` area of a run whose counties are all in the north:
    a probability computed from no values would be a number from nothing.
    """
    draws = int(results.sizes["draw"])
    found = condition_and_defined(results, target, scope)
    if found is None:
        return _not_computed(target, scope, draws, f"metric '{target.metric}' is not computed by this engine")
    holds, defined = found
    years = results["year"].values
    if target.year is not None:
        if target.year not in years:
            return _not_computed(
                target, scope, draws, f"year {target.year} is outside the run ({years[0]}–{years[-1]})"
            )
        looked_at = defined.sel(year=target.year)
        met_by_draw = holds.sel(year=target.year).values
    else:
        window_years = years[years >= target.each_year_from]
        looked_at = defined.sel(year=window_years)
        met_by_draw = holds.sel(year=window_years).all("year").values
    if draws and not bool(looked_at.any()):
        where = "in any county" if scope == "every_county" else f"for area '{scope}'"
        return _not_computed(
            target, scope, draws, f"undefined {where} in every draw: no counties, or none of the schools it counts"
        )
    met = int(np.count_nonzero(met_by_draw))
    low, high = wilson_interval(met, draws)
    first = holds.values
    if target.year is None:  # a yearly target is first met in the first year from which it always holds
        first = np.flip(np.logical_and.accumulate(np.flip(first, axis=1), axis=1), axis=1)
    return TargetOutcome(
        target.id, scope, target.metric, draws, met, met / draws, low, high, median_first_year(first, years),
    )


def median_first_year(holds: np.ndarray, years: np.ndarray) -> int | None:
    """Median over draws of the first year in which ``holds`` (draw, year) is true.

    Draws that never meet it rank after every year; when they are half or more of the draws, the median is
    ``None`` ("not by the horizon").

    >>> median_first_year(np.array([[0, 1, 1], [1, 1, 1], [0, 0, 0]], bool), np.array([2025, 2026, 2027]))
    2026
    """
    ever = holds.any(axis=1)
    first = np.where(ever, years[np.argmax(holds, axis=1)], np.iinfo(np.int64).max)
    ordered = np.sort(first)
    median = ordered[(len(ordered) - 1) // 2]  # lower median: a year that some draw actually reached
    return None if median == np.iinfo(np.int64).max else int(median)


def evaluate(results: xr.Dataset, targets: Iterable[TargetLike]) -> list[TargetOutcome]:
    """Every target in every one of its scopes."""
    return [evaluate_target(results, t, scope) for t in targets for scope in t.scope]
