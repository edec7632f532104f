"""``edusim solve``: the smallest value of a lever at which a target's probability reaches a level.

The question is "how much rotation (dispatch, budget…) does it take for target T to be reached with
probability p?". Every evaluation runs the scenario with the lever at one value over the same draws and seed
(common random numbers, :mod:`sim.sweep`), so the estimated probability ``P(x)`` is a function of the lever on a
fixed set of futures: where the model responds monotonically, so does ``P(x)``, without noise between points.

The search (:func:`smallest_reaching`) checks the ends of ``[LO, HI]`` first: if ``P(HI) < p`` the range cannot
reach the level (reported with ``P(HI)`` and its interval); if ``P(LO) ≥ p``, ``LO`` already suffices. Otherwise
it bisects, keeping ``P(lo) < p ≤ P(hi)``: on an integer lever down to adjacent integers, so the answer is exact
for these draws; on a continuous lever until the bracket is narrower than the tolerance, the answer being the
bracket's upper end (a value known to suffice).

**Uncertainty of the answer.** The answer is a property of the finite set of draws. Its interval inverts the
95% Wilson interval of the probability (:func:`sim.outcomes.wilson_interval`): the *low* end is the smallest
value whose Wilson upper bound reaches ``p`` (below it, ``P ≥ p`` is ruled out at that point), the *high* end
the smallest value whose Wilson lower bound reaches ``p`` (from there on, ``P ≥ p`` is established at that
point). Each is found by the same monotone search. The interval is pointwise (each point's interval has 95%
coverage), not a simultaneous band. More draws narrow it.

If the evaluated points are not monotone in the lever (more of the lever, fewer draws meeting the target), the
search's premise fails: the result says so and names the points.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sim.errors import InputError
from sim.levers import LeverInfo, check_values, check_whole, lever_info, lever_value
from sim.outcomes import evaluate_target, wilson_interval
from sim.output import check_destination
from sim.scenario import Scenario, replace, resolved_yaml
from sim.sweep import AREAS, provenance_record, select_targets, short_key, write_atomically
from sim.targets import Target

__all__ = ["Evaluation", "SolveResult", "default_range", "smallest_reaching", "solve", "solve_probability",
           "write_solve"]

METHOD = ("interval of the answer: the lever values at which the upper and the lower bound of the 95% Wilson "
          "interval of the probability reach the required level (pointwise inversion; common random numbers)")


def smallest_reaching(reaches: Callable[[float], bool], lo: float, hi: float, *, integer: bool,
                      tolerance: float) -> float | None:
    """Smallest ``x`` in ``[lo, hi]`` with ``reaches(x)``, for a monotone predicate (false … false, true … true).

    Checks ``hi`` (``None`` if it does not reach) and ``lo`` (returned if it reaches), then bisects keeping
    ``reaches(a)`` false and ``reaches(b)`` true: for ``integer`` until ``b = a + 1`` (the exact integer),
    otherwise until ``b - a ≤ tolerance``; returns ``b``.

    >>> smallest_reaching(lambda x: x >= 37, 0, 100, integer=True, tolerance=1)
    37
    """
    if integer:
        lo, hi = math.ceil(lo), math.floor(hi)
    if not reaches(hi):
        return None
    if reaches(lo):
        return lo
    a, b = lo, hi
    while (b - a > 1) if integer else (b - a > tolerance):
        mid = (a + b) // 2 if integer else (a + b) / 2
        if reaches(mid):
            b = mid
        else:
            a = mid
    return b


@dataclass(frozen=True)
class Evaluation:
    """The target at one lever value: draws meeting it out of all draws, with the 95% Wilson interval."""

    value: float
    met: int
    draws: int
    order: int
    """1 for the first point evaluated, 2 for the second…"""

    @property
    def probability(self) -> float:
        return self.met / self.draws

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.met, self.draws)


@dataclass(frozen=True)
class SolveResult:
    """What a search found.

    ``status`` is ``"found"`` (``answer`` is the smallest value reaching the level), ``"low_suffices"`` (the
    range's low end already reaches it) or ``"unreachable"`` (the high end does not; ``answer`` is ``None``).
    ``interval`` is ``(low, high)`` from the Wilson bounds; ``high`` is ``None`` when even ``HI`` does not
    establish the level.
    """

    status: str
    answer: float | None
    interval: tuple[float | None, float | None]
    points: list[Evaluation]
    monotone: bool
    non_monotone: list[tuple[Evaluation, Evaluation]] = field(default_factory=list)


def solve_probability(probability_at: Callable[[float], tuple[int, int]], lo: float, hi: float, level: float, *,
                      integer: bool, tolerance: float) -> SolveResult:
    """Search ``[lo, hi]`` for the smallest lever value whose probability reaches ``level``.

    ``probability_at(x)`` returns ``(draws meeting the target, draws)`` at lever value ``x``; it is called once
    per distinct value (results are cached).
    """
    cache: dict[float, Evaluation] = {}

    def at(x: float) -> Evaluation:
        if x not in cache:
            met, draws = probability_at(x)
            cache[x] = Evaluation(x, met, draws, len(cache) + 1)
        return cache[x]

    def estimate(x: float) -> bool:
        return at(x).probability >= level

    def upper(x: float) -> bool:
        return at(x).interval[1] >= level

    def lower(x: float) -> bool:
        return at(x).interval[0] >= level

    def search(reaches: Callable[[float], bool], a: float, b: float) -> float | None:
        """:func:`smallest_reaching` on ``[a, b]``, first narrowed by the points already evaluated: under
        monotonicity the answer lies above the largest known value that does not reach and at or below the
        smallest known value above it that does."""
        known = sorted(x for x in cache if a <= x <= b)
        below = [x for x in known if not reaches(x)]
        start = max(below) if below else a
        above = [x for x in known if x > start and reaches(x)]
        return smallest_reaching(reaches, start, min(above) if above else b, integer=integer, tolerance=tolerance)

    answer = search(estimate, lo, hi)
    if answer is None:
        status = "unreachable"
        interval: tuple[float | None, float | None] = (search(upper, lo, hi), None)
    else:
        status = "low_suffices" if answer == (math.ceil(lo) if integer else lo) else "found"
        interval = (search(upper, lo, answer), search(lower, answer, hi))
    points = sorted(cache.values(), key=lambda e: e.value)
    decreasing = [(a, b) for a, b in itertools.pairwise(points) if b.met < a.met]
    return SolveResult(status, answer, interval, sorted(cache.values(), key=lambda e: e.order),
                       not decreasing, decreasing)


def default_range(info: LeverInfo) -> tuple[float, float]:
    """``[0, 1]`` for a share; other levers have no natural range and need ``--range``."""
    if info.units == "share (0–1)" and info.key.startswith("levers."):
        return 0.0, 1.0
    raise InputError(f"give --range LO:HI for this lever ({info.units}); only shares have a default range [0, 1]",
                     key=info.key)


@dataclass(frozen=True)
class SolveReport:
    result: SolveResult
    lever: LeverInfo
    target: Target
    area: str
    level: float
    range: tuple[float, float]
    tolerance: float
    out_dir: Path
    text: str


def solve(scenario: Scenario, target_id: str, level: float, key: str, *, value_range: tuple[float, float] | None,
          area: str = "region", tolerance: float | None = None, out_dir: Path | None = None,
          progress: bool = True, stream: TextIO | None = None, overwrite: bool = False) -> SolveReport:
    """The smallest value of ``key`` at which ``target_id`` (in ``area``) is met with probability ≥ ``level``.

    Writes ``out_dir`` (default ``outputs/solve-NAME-TARGET-AREA-LEVER``): ``solve.csv`` (the points evaluated),
    ``solve.json`` (the answer, its interval, the method), ``figures/solve.png|svg``, the resolved scenario
    and provenance. The folder is checked before the search starts and replaced only if it is an earlier edusim
    output and ``overwrite`` (:func:`sim.output.check_destination`).
    """
    from tqdm import tqdm

    from sim.ensemble import run

    if not 0 < level <= 1:
        raise InputError(f"must be in (0, 1], got {level:g}", key="--probability")
    info = lever_info(scenario, key)
    lo, hi = value_range if value_range is not None else default_range(info)
    check_whole(info, lo, hi, option="--range")
    check_values(scenario, info, [lo, hi])
    if tolerance is None:
        tolerance = 1.0 if info.integer else (hi - lo) / 100
    if not tolerance > 0:
        raise InputError(f"must be positive ({info.units}), got {tolerance:g}", key="--tolerance")
    (target,) = select_targets(scenario, [target_id])
    if area not in target.scope:
        raise InputError(f"target {target.id} is judged in {', '.join(target.scope)}, not in {area!r}", key="--area")
    target_dir = Path(out_dir) if out_dir is not None else (
        Path("outputs") / f"solve-{scenario.name}-{target.id}-{area}-{short_key(key)}")
    check_destination(target_dir, overwrite=overwrite)  # before the search, not after it
    started = datetime.now(UTC)
    bar = tqdm(desc=f"{scenario.name}: lever values", unit="value", disable=not progress,
               file=sys.stderr if stream is None else stream)

    def probability_at(x: float) -> tuple[int, int]:
        outcome = evaluate_target(run(replace(scenario, {key: lever_value(info, x)})), target, area)
        bar.update(1)
        if not outcome.computed:
            raise InputError(f"target {target.id} cannot be evaluated in this run: {outcome.reason}",
                             key="--target")
        return outcome.met, outcome.draws

    with bar:
        result = solve_probability(probability_at, lo, hi, level, integer=info.integer, tolerance=tolerance)
    text = describe(result, info, target, area, level, (lo, hi), tolerance, scenario.draws)
    record = provenance_record(scenario, started, "solve", lever=key, target=target.id, area=area, level=level,
                               range=[lo, hi], tolerance=tolerance, status=result.status, answer=result.answer,
                               answer_interval=list(result.interval), method=METHOD)

    def fill(tmp: Path) -> None:
        write_solve(tmp, result, info, target, area, level)
        (tmp / "solve.txt").write_text(text, encoding="utf-8")
        (tmp / "solve.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(resolved_yaml(scenario), encoding="utf-8")

    done = write_atomically(target_dir, fill, overwrite=overwrite)
    return SolveReport(result, info, target, area, level, (lo, hi), tolerance, done, text)


def points_csv(result: SolveResult, info: LeverInfo) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["order", f"{info.key} [{info.units}]", "probability", "ci95_low", "ci95_high", "draws_met",
                     "draws"])
    for e in sorted(result.points, key=lambda e: e.value):
        low, high = e.interval
        writer.writerow([e.order, lever_value(info, e.value), f"{e.probability:.4f}", f"{low:.4f}", f"{high:.4f}",
                         e.met, e.draws])
    return buffer.getvalue()


def write_solve(out: Path, result: SolveResult, info: LeverInfo, target: Target, area: str, level: float
                ) -> list[Path]:
    """``solve.csv`` and ``figures/solve.png|svg`` into ``out``."""
    from sim.plots import save
    from sim.sweep_plots import solve_chart

    (out / "solve.csv").write_text(points_csv(result, info), encoding="utf-8")
    rows: list[dict[str, Any]] = [
        {"value": e.value, "probability": e.probability, "ci95_low": e.interval[0], "ci95_high": e.interval[1]}
        for e in result.points
    ]
    ax = solve_chart(rows, key=info.key, units=info.units, target=target.id, area=area, level=level,
                     answer=result.answer, interval=result.interval)
    (out / "figures").mkdir(exist_ok=True)
    return save(ax.figure, out / "figures" / "solve")  # type: ignore[arg-type]


def _p(e: Evaluation) -> str:
    low, high = e.interval
    return f"{100 * e.probability:.1f}% [{100 * low:.1f}–{100 * high:.1f}%] ({e.met}/{e.draws} draws)"


def describe(result: SolveResult, info: LeverInfo, target: Target, area: str, level: float,
             value_range: tuple[float, float], tolerance: float, draws: int) -> str:
    """The answer in words, with units, its interval and the method."""
    lo, hi = value_range
    by_value = {e.value: e for e in result.points}
    want = f"P({target.id}, {area}) ≥ {100 * level:g}%"
    lines = [f"{info.key}: smallest value with {want} in [{info.format(lo)}, {info.format(hi)}], {draws} draws"]
    if result.status == "unreachable":
        top = by_value[math.floor(hi) if info.integer else hi]
        lines.append(f"the range cannot reach it: at {info.format(hi)} the probability is {_p(top)}")
        if result.interval[0] is not None:
            lines.append(f"(the level is within the 95% interval from {info.format(result.interval[0])}: more "
                         "draws may tell)")
    elif result.answer is not None:  # "found" or "low_suffices"
        at = by_value[result.answer]
        if result.status == "low_suffices":
            lines.append(f"the low end already suffices: at {info.format(result.answer)} the probability is "
                         f"{_p(at)}")
        else:
            below = max(v for v in by_value if v < result.answer)
            step = "exact for these draws" if info.integer else f"to within {info.format(tolerance)}"
            lines.append(f"answer: {info.format(result.answer)} ({step}): {_p(at)}; at "
                         f"{info.format(below)}: {_p(by_value[below])}")
        low_end, high_end = result.interval
        high_text = info.format(high_end) if high_end is not None else f"above {info.format(hi)}"
        lines.append(f"95% interval of the answer: {info.format(lo if low_end is None else low_end)} to {high_text}")
    lines.append(METHOD)
    if not result.monotone:
        shown = result.non_monotone[:3]
        pairs = "; ".join(f"{info.format(a.value)}: {a.met} draws met, {info.format(b.value)}: {b.met}"
                          for a, b in shown)
        if len(result.non_monotone) > len(shown):
            pairs += f"; {len(result.non_monotone) - len(shown)} more in solve.csv"
        lines.append(f"warning: the probability is not monotone in the lever ({pairs}); the search assumes it "
                     "is, so a smaller value may also reach the level; run edusim sweep over the range to see "
                     "the curve")
    return "\n".join(lines) + "\n"


def check_area(area: str) -> str:
    if area not in AREAS:
        raise InputError(f"unknown area {area!r}; valid: {', '.join(AREAS)}", key="--area")
    return area
