"""``edusim optimize``: the cheapest combination of several levers that reaches the targets with a probability,
or the highest probability within a budget.

Every candidate runs the scenario with its lever values over the same draws and seed (common random numbers, as in
:mod:`sim.sweep`), so two candidates differ only by their levers. A candidate is scored by two numbers:

- its **cost**: the median over the draws of the total cost of the computed programmes over the plan years
  (``cost_plan_total`` of :mod:`sim.costs`), in CNY; levers whose group is not in :data:`COSTED_GROUPS` cost
  nothing here, and the result says so;
- its **probability**: the smallest, over the targets asked for, of the share of draws meeting the target (in
  ``--area``). Reaching the level means every target reaches it.

The optimiser is Optuna's multi-objective TPE sampler (minimise cost, maximise probability), seeded from the
scenario's seed, over integer levers as integers and continuous levers as floats (Optuna handles the mixed space
and keeps every trial; its Pareto front is the trade-off curve). When every lever is an integer and the grid has no
more points than ``--trials``, every point is evaluated instead (Optuna's brute-force sampler): the answer is then
exact for these draws. Two corners are evaluated first: all levers at their high ends (without a budget: if even
that does not reach the level, the request is refused, on the premise that more of a lever never hurts) and all
at their low ends.

**The answer** (no budget) is the cheapest candidate whose probability reaches the level; with ``--budget`` the
candidate of highest probability whose cost is within the budget (the cheaper on ties).

**Uncertainty of the answer**, as :mod:`sim.solve` states it: the probability is known up to its 95% Wilson
interval, so among the candidates evaluated the answer's cost lies between the cheapest whose Wilson *upper* bound
reaches the level (the level is not ruled out there) and the cheapest whose Wilson *lower* bound reaches it (the
level is established there). The cost itself is given with its 90% interval over the draws. Both are properties of
this finite set of draws and of the candidates tried.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sim.errors import InputError
from sim.levers import LeverInfo, check_values, check_whole, lever_info, lever_value, parse_range
from sim.outcomes import evaluate_target, wilson_interval
from sim.output import check_destination
from sim.scenario import Scenario, resolved_yaml
from sim.sweep import provenance_record, select_targets, short_key, write_atomically
from sim.targets import Target

__all__ = [
    "COSTED_GROUPS",
    "Candidate",
    "LeverSpace",
    "OptimizeResult",
    "Point",
    "optimize",
    "pareto_front",
    "parse_levers",
    "search",
]

COSTED_GROUPS = {"dispatch": "dispatch", "rotation": "rotation", "retention": "retention", "funding": "capital",
                 "digital": "gigabit", "counselling": "counselling", "pairing": "pairing",
                 "recruitment": "special_post, targeted_graduates, junior_retraining", "development": "development"}
"""Lever group (``levers.GROUP.…``) → the programme of :mod:`sim.costs` that prices it."""
DEFAULT_TRIALS = 40


@dataclass(frozen=True)
class LeverSpace:
    """One lever to optimise and its range."""

    info: LeverInfo
    low: float
    high: float


@dataclass(frozen=True)
class Point:
    """What an evaluator returns for one candidate: draws meeting each target (same order as the targets), the
    number of draws and the total cost of each draw (CNY)."""

    met: tuple[int, ...]
    draws: int
    cost: np.ndarray


@dataclass(frozen=True)
class Candidate:
    """An evaluated combination of lever values."""

    order: int
    values: dict[str, float]
    met: tuple[int, ...]
    draws: int
    cost_median: float
    cost_low: float
    cost_high: float

    @property
    def probability(self) -> float:
        """The smallest probability over the targets."""
        return min(self.met) / self.draws

    def bounds(self) -> tuple[float, float]:
        """95% Wilson interval of the smallest probability."""
        return wilson_interval(min(self.met), self.draws)


@dataclass(frozen=True)
class OptimizeResult:
    """The candidates tried, the answer (``None``: nothing reached the level / fitted the budget) and the cost
    interval of the answer from the Wilson bounds (``None`` ends: no candidate tried establishes / allows it)."""

    candidates: list[Candidate]
    answer: Candidate | None
    cost_interval: tuple[float | None, float | None]
    sampler: str
    front: list[Candidate] = field(default_factory=list)


def parse_levers(scenario: Scenario, text: str) -> list[LeverSpace]:
    """``KEY[=LO:HI],KEY[=LO:HI],…`` → lever spaces (a share without a range gets ``[0, 1]``)."""
    from sim.solve import default_range

    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InputError("give at least one lever: KEY[=LO:HI],KEY[=LO:HI],…", key="--levers")
    spaces: list[LeverSpace] = []
    for item in items:
        key, sep, spec = item.partition("=")
        key = key.strip()
        info = lever_info(scenario, key)
        if any(s.info.key == key for s in spaces):
            raise InputError("the same lever is given twice", key=key)
        lo, hi = parse_range(spec, option=key) if sep else default_range(info)
        check_whole(info, lo, hi, option=key)
        if info.integer and math.floor(hi) - math.ceil(lo) < 1:
            raise InputError(f"the range {lo:g}:{hi:g} holds fewer than two whole values", key=key)
        check_values(scenario, info, [lo, hi])
        spaces.append(LeverSpace(info, lo, hi))
    return spaces


def pareto_front(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates no other beats on both cost (lower) and probability (higher), by increasing cost."""
    front: list[Candidate] = []
    best = -1.0
    for c in sorted(candidates, key=lambda c: (c.cost_median, -c.probability)):
        if c.probability > best:
            front.append(c)
            best = c.probability
    return front


def _grid_size(spaces: Sequence[LeverSpace]) -> float:
    if not all(s.info.integer for s in spaces):
        return math.inf
    return float(np.prod([math.floor(s.high) - math.ceil(s.low) + 1 for s in spaces]))


def search(spaces: Sequence[LeverSpace], evaluate: Callable[[dict[str, float]], Point], level: float, *,
           budget: float | None = None, trials: int = DEFAULT_TRIALS, seed: int = 0,
           on_trial: Callable[[], None] | None = None) -> OptimizeResult:
    """Search the lever space with ``evaluate`` (one call per distinct candidate; results cached).

    ``evaluate(values)`` returns the :class:`Point` of the scenario with ``values`` (``{key: value}``, integer
    levers as whole numbers). Raises :class:`InputError` when, without a budget, the high corner does not reach
    ``level``, or, with one, the low corner costs more than the budget.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cache: dict[tuple[float, ...], Candidate] = {}

    def run(values: dict[str, float]) -> Candidate:
        key = tuple(values[s.info.key] for s in spaces)
        if key not in cache:
            point = evaluate(values)
            low, mid, high = np.quantile(np.asarray(point.cost, float), [0.05, 0.5, 0.95])
            cache[key] = Candidate(len(cache) + 1, dict(values), tuple(point.met), point.draws, float(mid),
                                   float(low), float(high))
            if on_trial is not None:
                on_trial()
        return cache[key]

    def corner(end: str) -> dict[str, float]:
        return {s.info.key: _value(s, s.high if end == "high" else s.low) for s in spaces}

    top, bottom = run(corner("high")), run(corner("low"))
    if budget is None and top.probability < level:
        lo, hi = top.bounds()
        raise InputError(
            f"cannot reach {100 * level:g}%: with every lever at the high end of its range the smallest target "
            f"probability is {100 * top.probability:.1f}% [{100 * lo:.1f}–{100 * hi:.1f}%] "
            f"({min(top.met)}/{top.draws} draws); widen the ranges or ask for less", key="--probability")
    if budget is not None and bottom.cost_median > budget:
        raise InputError(f"the budget {budget:,.0f} CNY is below the cost with every lever at the low end of its "
                         f"range ({bottom.cost_median:,.0f} CNY, median over the draws)", key="--budget")
    brute = _grid_size(spaces) <= trials
    with warnings.catch_warnings():  # both samplers are marked experimental in some Optuna versions
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler: Any = (optuna.samplers.BruteForceSampler(seed=seed) if brute
                        else optuna.samplers.TPESampler(seed=seed, multivariate=True))
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
    for values in (corner("high"), corner("low")):
        study.enqueue_trial(values)

    def objective(trial: Any) -> tuple[float, float]:
        values = {}
        for s in spaces:
            if s.info.integer:
                values[s.info.key] = float(trial.suggest_int(s.info.key, math.ceil(s.low), math.floor(s.high)))
            else:
                values[s.info.key] = trial.suggest_float(s.info.key, s.low, s.high)
        c = run(values)
        return c.cost_median, c.probability

    study.optimize(objective, n_trials=trials)
    candidates = sorted(cache.values(), key=lambda c: c.order)
    answer, interval = _answer(candidates, level, budget)
    return OptimizeResult(candidates, answer, interval, "brute force (every grid point)" if brute else
                          f"multi-objective TPE (Optuna {optuna.__version__}, seed {seed})", pareto_front(candidates))


def _value(space: LeverSpace, x: float) -> float:
    return float(math.ceil(x) if space.info.integer and x == space.low else
                 math.floor(x) if space.info.integer else x)


def _answer(candidates: Sequence[Candidate], level: float, budget: float | None
            ) -> tuple[Candidate | None, tuple[float | None, float | None]]:
    if budget is not None:
        within = [c for c in candidates if c.cost_median <= budget]
        best = max(within, key=lambda c: (c.probability, -c.cost_median)) if within else None
        return best, (None, None)

    def cheapest(ok: Callable[[Candidate], bool]) -> Candidate | None:
        chosen = [c for c in candidates if ok(c)]
        return min(chosen, key=lambda c: (c.cost_median, c.order)) if chosen else None

    answer = cheapest(lambda c: c.probability >= level)
    optimistic = cheapest(lambda c: c.bounds()[1] >= level)
    established = cheapest(lambda c: c.bounds()[0] >= level)
    return answer, (None if optimistic is None else optimistic.cost_median,
                    None if established is None else established.cost_median)


# ---------------------------------------------------------------------------------------------------------
# The command


@dataclass(frozen=True)
class OptimizeReport:
    result: OptimizeResult
    spaces: list[LeverSpace]
    targets: list[Target]
    area: str
    level: float
    budget: float | None
    out_dir: Path
    text: str


def optimize(scenario: Scenario, target_ids: Sequence[str], level: float, levers: str, *,
             budget: float | None = None, trials: int = DEFAULT_TRIALS, area: str = "region",
             out_dir: Path | None = None, progress: bool = True, stream: TextIO | None = None,
             overwrite: bool = False) -> OptimizeReport:
    """Run the search on ``scenario`` and write its folder (default ``outputs/optimize-NAME-TARGETS``):
    ``trials.csv`` (every candidate), ``pareto.csv``, ``figures/pareto.png|svg``, ``optimize.txt``,
    ``optimize.json``, the resolved scenario."""
    from tqdm import tqdm

    from sim.solve import check_area
    from sim.sweep import point_results

    if not 0 < level <= 1:
        raise InputError(f"must be in (0, 1], got {level:g}", key="--probability")
    if trials < 2:
        raise InputError(f"must be at least 2, got {trials}", key="--trials")
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise InputError(f"must be a positive number of CNY, got {budget:g}", key="--budget")
    check_area(area)
    if not target_ids:
        raise InputError("give at least one --target", key="--target")
    targets = select_targets(scenario, target_ids)
    for t in targets:
        if area not in t.scope:
            raise InputError(f"target {t.id} is judged in {', '.join(t.scope)}, not in {area!r}", key="--area")
    spaces = parse_levers(scenario, levers)
    target_dir = Path(out_dir) if out_dir is not None else (
        Path("outputs") / f"optimize-{scenario.name}-{'-'.join(t.id for t in targets)}-"
        f"{'-'.join(short_key(s.info.key) for s in spaces)}")
    check_destination(target_dir, overwrite=overwrite)
    started = datetime.now(UTC)

    def evaluate(values: dict[str, float]) -> Point:
        changes = {s.info.key: lever_value(s.info, values[s.info.key]) for s in spaces}
        results = point_results(scenario, changes)
        met = []
        for t in targets:
            outcome = evaluate_target(results, t, area)
            if not outcome.computed:
                raise InputError(f"target {t.id} cannot be evaluated in this run: {outcome.reason}", key="--target")
            met.append(outcome.met)
        return Point(tuple(met), int(results.sizes["draw"]), results["cost_plan_total"].values.astype(float))

    with tqdm(desc=f"{scenario.name}: candidates", unit="candidate", disable=not progress,
              file=sys.stderr if stream is None else stream) as bar:
        result = search(spaces, evaluate, level, budget=budget, trials=trials, seed=scenario.seed,
                        on_trial=lambda: bar.update(1))
    text = describe(result, spaces, targets, area, level, budget, scenario.draws)
    record = provenance_record(
        scenario, started, "optimize", levers={s.info.key: [s.low, s.high] for s in spaces},
        targets=[t.id for t in targets], area=area, level=level, budget=budget, trials=trials,
        sampler=result.sampler, answer=None if result.answer is None else result.answer.values,
        answer_cost_median=None if result.answer is None else result.answer.cost_median,
        answer_cost_interval_from_wilson=list(result.cost_interval))

    def fill(tmp: Path) -> None:
        (tmp / "trials.csv").write_text(candidates_csv(result.candidates, spaces, targets, level),
                                        encoding="utf-8")
        (tmp / "pareto.csv").write_text(candidates_csv(result.front, spaces, targets, level), encoding="utf-8")
        (tmp / "optimize.txt").write_text(text, encoding="utf-8")
        (tmp / "optimize.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(resolved_yaml(scenario), encoding="utf-8")
        pareto_figure(result, level, budget, tmp / "figures")

    done = write_atomically(target_dir, fill, overwrite=overwrite)
    return OptimizeReport(result, spaces, targets, area, level, budget, done, text)


def candidates_csv(candidates: Sequence[Candidate], spaces: Sequence[LeverSpace], targets: Sequence[Target],
                   level: float) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["order", *(f"{s.info.key} [{s.info.units}]" for s in spaces),
                     "cost_median_cny", "cost_p05_cny", "cost_p95_cny",
                     *(f"probability_{t.id}" for t in targets), "probability_min", "ci95_low", "ci95_high",
                     "reaches_level", "draws"])
    for c in candidates:
        low, high = c.bounds()
        writer.writerow([c.order, *(lever_value(s.info, c.values[s.info.key]) for s in spaces),
                         f"{c.cost_median:.0f}", f"{c.cost_low:.0f}", f"{c.cost_high:.0f}",
                         *(f"{m / c.draws:.4f}" for m in c.met), f"{c.probability:.4f}", f"{low:.4f}",
                         f"{high:.4f}", int(c.probability >= level), c.draws])
    return buffer.getvalue()


def pareto_figure(result: OptimizeResult, level: float, budget: float | None, out_dir: Path) -> list[Path]:
    """Cost (bn CNY, median) against the smallest target probability: every candidate, the Pareto front, the
    required level, the budget and the answer."""
    from matplotlib.figure import Figure

    from sim.plots import save

    out_dir.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7.0, 4.5))
    ax = fig.subplots()
    x = np.array([c.cost_median for c in result.candidates]) / 1e9
    y = np.array([c.probability for c in result.candidates]) * 100
    ax.scatter(x, y, s=14, color="0.6", label="candidates")
    fx = np.array([c.cost_median for c in result.front]) / 1e9
    fy = np.array([c.probability for c in result.front]) * 100
    errors = np.array([[c.probability - c.bounds()[0], c.bounds()[1] - c.probability] for c in result.front]).T * 100
    ax.errorbar(fx, fy, yerr=errors, fmt="o-", color="C0", drawstyle="steps-post", capsize=2, ms=4,
                label="Pareto front (95% Wilson interval)")
    ax.axhline(100 * level, color="C3", ls="--", lw=1, label=f"required {100 * level:g}%")
    if budget is not None:
        ax.axvline(budget / 1e9, color="C2", ls=":", lw=1, label=f"budget {budget / 1e9:,.3g} bn CNY")
    if result.answer is not None:
        ax.scatter([result.answer.cost_median / 1e9], [result.answer.probability * 100], s=90, marker="*",
                   color="C3", zorder=5, label="answer")
    ax.set_xlabel("total cost over the plan years, bn CNY (median over draws)")
    ax.set_ylabel("smallest target probability, %")
    ax.set_ylim(-2, 102)
    ax.set_title("Cost against probability of the candidates (same draws)")
    ax.legend(fontsize="x-small", loc="lower right")
    fig.tight_layout()
    return save(fig, out_dir / "pareto")


def _values_text(c: Candidate, spaces: Sequence[LeverSpace]) -> str:
    return ", ".join(f"{s.info.key} = {s.info.format(c.values[s.info.key])}" for s in spaces)


def describe(result: OptimizeResult, spaces: Sequence[LeverSpace], targets: Sequence[Target], area: str,
             level: float, budget: float | None, draws: int) -> str:
    """The answer in words, with its uncertainty and method."""
    ids = ", ".join(t.id for t in targets)
    want = f"P({ids}; {area}) ≥ {100 * level:g}% each"
    lines = [f"{'highest probability within ' + f'{budget:,.0f} CNY' if budget is not None else 'cheapest ' + want}"
             f"; levers {', '.join(s.info.key for s in spaces)}; {len(result.candidates)} candidates on the same "
             f"{draws} draws; sampler: {result.sampler}"]
    a = result.answer
    if a is None:
        lines.append("no candidate tried " + ("fits the budget" if budget is not None else "reaches the level"))
    else:
        low, high = a.bounds()
        probs = ", ".join(f"{t.id} {100 * m / a.draws:.1f}%" for t, m in zip(targets, a.met, strict=True))
        lines.append(f"answer: {_values_text(a, spaces)}")
        lines.append(f"cost: {a.cost_median / 1e9:,.3f} bn CNY (median; 90% of draws {a.cost_low / 1e9:,.3f}–"
                     f"{a.cost_high / 1e9:,.3f}); probability {probs}; smallest {100 * a.probability:.1f}% "
                     f"[95% Wilson {100 * low:.1f}–{100 * high:.1f}%]")
        if budget is None:
            opt, est = result.cost_interval
            est_text = f"{est / 1e9:,.3f} bn CNY" if est is not None else "above every candidate tried"
            opt_text = f"{opt / 1e9:,.3f} bn CNY" if opt is not None else "n/a"
            lines.append(f"interval of the answer's cost (95% Wilson bounds reaching {100 * level:g}% among the "
                         f"candidates tried): {opt_text} to {est_text}")
    uncosted = sorted({s.info.key for s in spaces
                       if not (s.info.key.startswith("levers.") and s.info.key.split(".")[1] in COSTED_GROUPS)})
    if uncosted:
        lines.append(f"warning: {', '.join(uncosted)} cost nothing here: their programme is not costed "
                     "(sim/costs.py, calibration/data/unit_costs.csv)")
    lines.append("method: cost = median over draws of cost_plan_total (sim/costs.py); probability = smallest over "
                 "the targets of the share of draws meeting it; every candidate on the same draws (common random "
                 "numbers); the answer is exact only among the candidates tried")
    return "\n".join(lines) + "\n"
