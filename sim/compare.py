"""``edusim compare``: target probabilities of several runs side by side, with paired differences.

Runs made with the same seed and draw count share their random numbers draw by draw (common random numbers,
CONVENTIONS §4), so draw ``i`` of a policy run and draw ``i`` of the baseline differ only by the policy. The
difference of a target's probability is therefore estimated on the pairs: per draw
``d_i = met_B,i − met_A,i`` and the estimate is the mean of ``d``, with **Newcombe's hybrid score interval for
paired proportions** (method 10 of Newcombe 1998), which stays inside [−1, 1] and is not degenerate when a
probability is 0 or 1 (common here: many targets are met in all or no draws). Runs whose seeds, draw counts,
start years, engines or county sets differ are refused: their draws are not pairs.

The cost per percentage point gained is the paired cost difference over the paired probability difference, with
the **MOVER-R** interval (Newcombe 2016) built from the cost difference's paired-bootstrap interval and the
difference's Newcombe interval, the same construction (MOVER, Zou & Donner 2008) that method 10 applies to a
difference. It is unbounded exactly when the Newcombe interval includes 0 and always contains its estimate.

References
----------
Newcombe, R. G. (1998). Improved confidence intervals for the difference between binomial proportions based on
paired data. Statistics in Medicine 17(22), 2635–2650. (Worked example: Altman et al., *Statistics with
Confidence*, 2nd ed., 2000, p. 52.)

Newcombe, R. G. (2016). MOVER-R confidence intervals for ratios and products of two independently estimated
quantities. Statistical Methods in Medical Research 25(5), 1774–1778.

Zou, G. Y. & Donner, A. (2008). Construction of confidence limits about effect measures: a general approach.
Statistics in Medicine 27(10), 1693–1702.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from sim.chart_text import Lang
from sim.errors import InputError
from sim.outcomes import TargetLike, condition, wilson_interval
from sim.rng import Streams
from sim.rundir import RunFolder, open_run

__all__ = [
    "BOOTSTRAP_REPLICATES",
    "CostEffect",
    "Difference",
    "Interval",
    "check_pairable",
    "compare_runs",
    "cost_csv",
    "cost_effectiveness",
    "cost_markdown",
    "met_by_draw",
    "mover_ratio",
    "paired_difference",
    "ratio_interval",
]

BOOTSTRAP_REPLICATES = 2000
"""Paired bootstrap replicates of the cost difference's interval (resampling draws)."""


@dataclass(frozen=True)
class Difference:
    """Paired difference of two probabilities (B minus A over the same draws)."""

    estimate: float
    ci_low: float
    ci_high: float
    both: int
    """draws meeting the target in both runs"""
    only_a: int
    only_b: int
    neither: int


def paired_difference(met_a: np.ndarray, met_b: np.ndarray, confidence: float = 0.95) -> Difference:
    """Newcombe's hybrid score interval for ``mean(met_b − met_a)`` over paired binary draws.

    With the 2×2 table of pairs (``e`` both, ``f`` B only, ``g`` A only, ``h`` neither; ``n`` pairs),
    ``p_B = (e+f)/n``, ``p_A = (e+g)/n``, the Wilson intervals ``(l_B, u_B)`` and ``(l_A, u_A)``, and the
    correlation ``φ = C / sqrt((e+f)(g+h)(e+g)(f+h))`` with ``C = eh − fg − n/2`` when ``eh − fg > n/2``,
    ``C = eh − fg`` when it is negative, else 0 (``φ = 0`` when a margin is empty)::

        L = D − sqrt((p_B − l_B)² − 2φ (p_B − l_B)(u_A − p_A) + (u_A − p_A)²)
        U = D + sqrt((p_A − l_A)² − 2φ (p_A − l_A)(u_B − p_B) + (u_B − p_B)²)

    >>> d = paired_difference(np.array([1, 0, 0, 1]), np.array([1, 1, 0, 1]))
    >>> round(d.estimate, 2), d.only_b
    (0.25, 1)
    """
    a = np.asarray(met_a, bool)
    b = np.asarray(met_b, bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two equal non-empty 1-d arrays, got {a.shape} and {b.shape}")
    n = a.size
    e = int(np.count_nonzero(a & b))
    f = int(np.count_nonzero(b & ~a))
    g = int(np.count_nonzero(a & ~b))
    h = n - e - f - g
    p_b, p_a = (e + f) / n, (e + g) / n
    l_b, u_b = wilson_interval(e + f, n, confidence)
    l_a, u_a = wilson_interval(e + g, n, confidence)
    margins = (e + f) * (g + h) * (e + g) * (f + h)
    cross = e * h - f * g
    c = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = c / math.sqrt(margins) if margins > 0 else 0.0
    d = p_b - p_a
    low = d - math.sqrt(max((p_b - l_b) ** 2 - 2 * phi * (p_b - l_b) * (u_a - p_a) + (u_a - p_a) ** 2, 0.0))
    high = d + math.sqrt(max((p_a - l_a) ** 2 - 2 * phi * (p_a - l_a) * (u_b - p_b) + (u_b - p_b) ** 2, 0.0))
    return Difference(d, max(-1.0, low), min(1.0, high), both=e, only_a=g, only_b=f, neither=h)


def met_by_draw(results: xr.Dataset, target: TargetLike, scope: str) -> np.ndarray | None:
    """Boolean per draw: the draw meets ``target`` in ``scope`` (as :func:`sim.outcomes.evaluate_target`).

    ``None`` when the target is not computed (metric missing, or its year outside the run).
    """
    holds = condition(results, target, scope)
    if holds is None:
        return None
    years = results["year"].values
    if target.year is not None:
        if target.year not in years:
            return None
        return np.asarray(holds.sel(year=target.year).values, bool)
    window = holds.sel(year=years[years >= (target.each_year_from or years[0])])
    return np.asarray(window.all("year").values, bool)


def check_pairable(runs: Sequence[RunFolder]) -> None:
    """Refuse runs whose draws are not pairs: seeds, draw counts, start years, engines or counties differ."""
    first = runs[0]
    for run in runs[1:]:
        reasons = []
        for key, what in (("seed", "seeds"), ("draws", "draw counts"), ("start_year", "start years"),
                          ("engine", "engines")):
            va, vb = first.provenance.get(key), run.provenance.get(key)
            if va != vb:
                reasons.append(f"{what} differ ({first.name}: {va}, {run.name}: {vb})")
        if not reasons and first.results.sizes.get("draw") != run.results.sizes.get("draw"):
            reasons.append("the results hold different numbers of draws")
        ca, cb = first.results["county"].values, run.results["county"].values
        if len(ca) != len(cb) or not np.array_equal(ca, cb):
            reasons.append(f"county sets differ ({len(ca)} and {len(cb)} counties)")
        if reasons:
            raise InputError(
                "cannot pair these runs draw by draw (common random numbers need the same seed, draws, start year, "
                "engine and counties): " + "; ".join(reasons) + ". Re-run both with the same --seed and --draws.",
                file=str(run.path),
            )


def resolve_inputs(items: Sequence[str], *, draws: int | None, seed: int | None, runs_dir: str | None,
                   progress: bool = False, overwrite: bool = False) -> list[RunFolder]:
    """Run folders as given; scenario files run first with the seed and draws of the first input (their run
    folders replace earlier ones only with ``overwrite``, :mod:`sim.output`)."""
    from sim.runner import load_with_overrides, run_scenario

    if len(items) < 2:
        raise InputError("compare needs at least two runs or scenario files")
    settings: dict[str, int | None] = {"draws": draws, "seed": seed}
    out: list[RunFolder] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            run = open_run(path)
        elif path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
            scenario = load_with_overrides(path, draws=settings["draws"], seed=settings["seed"])
            target = Path(runs_dir) / scenario.name if runs_dir else None
            result = run_scenario(scenario, target, progress=progress, scenario_file=str(path), figures=False,
                                  overwrite=overwrite)
            run = open_run(result.out_dir)
        elif not path.exists():
            raise InputError("no such run folder or scenario file", file=item)
        else:
            raise InputError("expected a run folder (from `edusim run`) or a scenario YAML file", file=item)
        if settings["draws"] is None:
            settings["draws"] = int(run.provenance.get("draws", run.results.sizes["draw"]))
        if settings["seed"] is None:
            settings["seed"] = run.provenance.get("seed")
        out.append(run)
    return out


@dataclass(frozen=True)
class Row:
    target: str
    scope: str
    probabilities: tuple[float | None, ...]
    differences: tuple[Difference | None, ...]
    """against the first run, for runs 2…"""


def compare_runs(runs: Sequence[RunFolder]) -> list[Row]:
    """Each target and scope of the first run's target set: probabilities and paired differences."""
    check_pairable(runs)
    targets = runs[0].targets
    if not targets:
        raise InputError("the target set of this run cannot be read (moved or deleted?)",
                         file=str(runs[0].provenance.get("target_set")))
    rows = []
    for t in targets:
        for scope in t.scope:
            mets = [met_by_draw(r.results, t, scope) for r in runs]
            probs = tuple(None if m is None else float(m.mean()) for m in mets)
            base = mets[0]
            diffs = tuple(None if base is None or m is None else paired_difference(base, m) for m in mets[1:])
            rows.append(Row(t.id, scope, probs, diffs))
    return rows


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}%"


def table_markdown(runs: Sequence[RunFolder], rows: Sequence[Row]) -> str:
    names = [r.name for r in runs]
    head = ["target", "scope", *names] + [f"{n} − {names[0]} (points, 95% CI)" for n in names[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.target, row.scope, *(_pct(p) for p in row.probabilities)]
        for d in row.differences:
            cells.append("n/a" if d is None else
                         f"{_pct(d.estimate, True)} [{_pct(d.ci_low, True)}, {_pct(d.ci_high, True)}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table_csv(runs: Sequence[RunFolder], rows: Sequence[Row]) -> str:
    names = [r.name for r in runs]
    fields = ["target", "scope", *(f"probability_{n}" for n in names)]
    for n in names[1:]:
        fields += [f"diff_{n}", f"diff_{n}_ci95_low", f"diff_{n}_ci95_high"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        cells: list[str] = [row.target, row.scope]
        cells += ["" if p is None else f"{p:.4f}" for p in row.probabilities]
        for d in row.differences:
            cells += ["", "", ""] if d is None else [f"{d.estimate:.4f}", f"{d.ci_low:.4f}", f"{d.ci_high:.4f}"]
        writer.writerow(cells)
    return buffer.getvalue()


def write_compare_figures(runs: Sequence[RunFolder], out_dir: Path, lang: Lang = "en",
                          formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Overlaid fans of every run and difference fans (run minus the first, draw by draw) per key series."""
    from matplotlib.figure import Figure

    from sim.chart_text import language_context, text
    from sim.plots import AREA_NAMES, SERIES, difference_chart, fan_chart, save, series_values, target_marks

    out_dir.mkdir(parents=True, exist_ok=True)
    base = runs[0]
    common = base.results["year"].values
    for r in runs[1:]:
        common = np.intersect1d(common, r.results["year"].values)
    written: list[Path] = []
    with language_context(lang):
        for spec in SERIES:
            fig = Figure(figsize=(12.0, 4.0 * len(runs)))
            fig.subplots_adjust(left=0.07, right=0.98, top=0.93, bottom=0.06, hspace=0.35, wspace=0.12)
            axes = fig.subplots(len(runs), 2, squeeze=False)
            for col, area in enumerate(AREA_NAMES):
                ax = axes[0][col]
                marks = target_marks(base.targets, spec.metric, area, int(common[-1]), lang, spec.percent)
                for k, r in enumerate(runs):
                    v = series_values(r.results, spec.name, area).sel(year=common).values
                    fan_chart(common, v, ax=ax, color=f"C{k}", label=r.name, percent=spec.percent, lang=lang,
                              targets=marks if k == 0 else (), legend=False, title=text(area, lang),
                              ylabel=spec.units[lang])
                ax.legend(fontsize="xx-small", loc="upper left")
                v0 = series_values(base.results, spec.name, area).sel(year=common).values
                for k, r in enumerate(runs[1:], start=1):
                    v = series_values(r.results, spec.name, area).sel(year=common).values
                    difference_chart(common, v - v0, ax=axes[k][col], label=text("difference", lang, a=base.name,
                                                                                  b=r.name),
                                     percent=spec.percent, lang=lang, title=text(area, lang), ylabel=spec.units[lang])
            fig.suptitle(spec.title[lang])
            written += save(fig, out_dir / f"compare_{spec.name}", formats)
    return written


# ---------------------------------------------------------------------------------------------------------
# Cost-effectiveness


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval; ``low``/``high`` ``None`` when the interval is unbounded."""

    estimate: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class CostEffect:
    """A run against the reference: the paired difference of total cost (CNY) and, per (target, scope), the cost
    per percentage point of probability gained (CNY per point; ``None`` when the probability did not move)."""

    run: str
    cost: Interval
    per_point: dict[tuple[str, str], Interval | None]


def bootstrap_indices(n: int, seed: int, replicates: int = BOOTSTRAP_REPLICATES) -> np.ndarray:
    """``(replicates, n)`` draw indices resampled with replacement, from the keyed stream ``compare/bootstrap``."""
    return Streams(seed).draw_generator(0, "compare/bootstrap").integers(0, n, size=(replicates, n))


def mover_ratio(theta1: float, l1: float, u1: float, theta2: float, l2: float, u2: float) -> tuple[float, float]:
    """MOVER-R limits of ``theta1 / theta2`` from the intervals ``(l1, u1)`` of ``theta1`` and ``(l2, u2)`` of
    ``theta2``, which must exclude 0 (Newcombe 2016; Fieller's construction with the variances recovered from the
    two intervals, Zou & Donner 2008).

    ``R`` is in the interval when the MOVER interval of ``theta1 − R·theta2`` contains 0. For ``theta2 > 0`` that
    interval is, with the recovered half-widths taken on the side that ``R``'s sign selects,

        lower(R) = theta1 − R·theta2 − sqrt((theta1 − l1)² + R²·(u2 − theta2 if R ≥ 0 else theta2 − l2)²)
        upper(R) = theta1 − R·theta2 + sqrt((u1 − theta1)² + R²·(theta2 − l2 if R ≥ 0 else u2 − theta2)²)

    Both fall strictly with ``R`` when ``l2 > 0`` (slope at most ``−l2``), so each has one root: the lower limit
    solves ``lower(R) = 0`` and the upper ``upper(R) = 0``, and ``theta1 / theta2`` lies between them
    (``lower ≤ 0 ≤ upper`` there). For ``R ≥ 0`` and ``l1 ≥ 0`` the lower limit is the root with
    ``θ1 − R·θ2 ≥ 0`` of ``R²·u2(2θ2 − u2) − 2R·θ1θ2 + l1(2θ1 − l1) = 0``, the closed form of Newcombe 2016; the
    roots are found here by bisection on the monotone functions, which needs no case analysis of the quadratic's
    signs (its leading coefficient is 0 or negative when ``u2 ≥ 2θ2``). ``theta2 < 0`` is
    reflected: ``theta1 / theta2 = (−theta1) / (−theta2)``. With an exact ``theta1`` the limits are
    ``theta1 / u2`` and ``theta1 / l2``; with an exact ``theta2``, ``l1 / theta2`` and ``u1 / theta2``.

    >>> [round(x, 9) for x in mover_ratio(10.0, 10.0, 10.0, 2.0, 1.0, 4.0)]
    [2.5, 10.0]
    """
    if not (l2 <= theta2 <= u2 and l1 <= theta1 <= u1):
        raise ValueError(f"estimates outside their intervals: {theta1} ({l1}, {u1}), {theta2} ({l2}, {u2})")
    if theta2 < 0:
        theta1, l1, u1, theta2, l2, u2 = -theta1, -u1, -l1, -theta2, -u2, -l2
    if l2 <= 0:
        raise ValueError(f"the denominator's interval ({l2}, {u2}) includes 0: the ratio is unbounded")

    def lower(r: float) -> float:
        side = u2 - theta2 if r >= 0 else theta2 - l2
        return theta1 - r * theta2 - math.hypot(theta1 - l1, r * side)

    def upper(r: float) -> float:
        side = theta2 - l2 if r >= 0 else u2 - theta2
        return theta1 - r * theta2 + math.hypot(u1 - theta1, r * side)

    estimate = theta1 / theta2
    return _falling_root(lower, estimate, -1.0), _falling_root(upper, estimate, 1.0)


def _falling_root(fn: Callable[[float], float], start: float, direction: float) -> float:
    """The root of a strictly falling ``fn``, searched from ``start`` (where ``fn`` has the root's side) towards
    ``direction`` (−1: down, +1: up) by doubling the step and then bisection to machine precision."""
    if fn(start) == 0.0:
        return start
    step = max(abs(start), 1e-300)
    far = start + direction * step
    while (fn(far) > 0) == (fn(start) > 0):
        step *= 2.0
        far = start + direction * step
    lo, hi = sorted((start, far))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if fn(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def ratio_interval(cost: Interval, gain: Difference) -> Interval | None:
    """Cost per percentage point of probability: the paired cost difference over the paired probability difference
    (``cost.estimate / (100 · gain.estimate)``), with the MOVER-R interval (:func:`mover_ratio`) built from the two
    intervals the comparison reports: the cost difference's paired-bootstrap interval and the probability
    difference's Newcombe interval (:func:`paired_difference`).

    ``None`` when the probability did not move. Unbounded (``None`` ends) exactly when the Newcombe interval of
    the difference includes 0, the difference then being within Monte Carlo error, so the cost per point and the
    difference never disagree. The interval always contains its estimate.

    Assumption: MOVER-R treats the two estimates as independent; both come from the same draws, but the cost's
    interval is narrow beside the probability's in these runs (``docs/findings.md``), so the probability's
    interval dominates.

    >>> i = ratio_interval(Interval(1e6, 1e6, 1e6), paired_difference(np.zeros(20), np.arange(20) < 10))
    >>> round(i.estimate), round(i.low), round(i.high)
    (20000, 14271, 41216)
    """
    if gain.estimate == 0.0:
        return None
    estimate = cost.estimate / (100.0 * gain.estimate)
    if gain.ci_low <= 0.0 <= gain.ci_high or cost.low is None or cost.high is None:
        return Interval(estimate, None, None)
    low, high = mover_ratio(cost.estimate, cost.low, cost.high, 100.0 * gain.estimate, 100.0 * gain.ci_low,
                            100.0 * gain.ci_high)
    return Interval(estimate, low, high)


def cost_effectiveness(runs: Sequence[RunFolder], rows: Sequence[Row],
                       replicates: int = BOOTSTRAP_REPLICATES) -> list[CostEffect] | None:
    """For each run after the first: the paired cost difference and the cost per point of each target.

    ``None`` when a run has no cost (``cost_plan_total``, :mod:`sim.costs`; runs written before costs were
    recorded). The cost difference's interval: paired bootstrap over draws (:func:`bootstrap_indices`, seeded by the
    runs' seed); the cost per point's: MOVER-R from it and the Newcombe interval (:func:`ratio_interval`).
    """
    if any("cost_plan_total" not in r.results for r in runs):
        return None
    base = runs[0]
    seed = int(base.provenance.get("seed") or 0)
    cost0 = base.results["cost_plan_total"].values.astype(float)
    index = bootstrap_indices(cost0.size, seed, replicates)
    targets = {t.id: t for t in base.targets}
    out = []
    for run in runs[1:]:
        d_cost = run.results["cost_plan_total"].values.astype(float) - cost0
        boot = d_cost[index].mean(axis=1)
        low, high = np.quantile(boot, [0.025, 0.975])
        cost = Interval(float(d_cost.mean()), float(low), float(high))
        per_point: dict[tuple[str, str], Interval | None] = {}
        for row in rows:
            a = met_by_draw(base.results, targets[row.target], row.scope)
            b = met_by_draw(run.results, targets[row.target], row.scope)
            per_point[(row.target, row.scope)] = (
                None if a is None or b is None else ratio_interval(cost, paired_difference(a, b)))
        out.append(CostEffect(run.name, cost, per_point))
    return out


def _cny(x: float | None) -> str:
    return "unbounded" if x is None else f"{x / 1e6:,.2f}"


def _interval(i: Interval | None) -> str:
    if i is None:
        return "n/a (no change)"
    if i.low is None:
        return f"{_cny(i.estimate)} [unbounded]"
    return f"{_cny(i.estimate)} [{_cny(i.low)}, {_cny(i.high)}]"


def _sign_note(i: Interval | None, cost: float) -> str:
    """A negative cost per point is a verdict (dominated or dominant) only when its whole interval is below zero,
    i.e. both the cost difference and the probability difference are established; otherwise it is the point
    estimates' sign, said as such.

    >>> _sign_note(Interval(-2.0, -3.0, -1.0), 5.0)
    ' (dominated: costs more, loses probability)'
    >>> _sign_note(Interval(-0.04, -0.17, 0.06), -1.0)
    ' (point estimates cost less and gain; not established at these draws)'
    """
    if i is None or i.estimate >= 0:
        return ""
    if i.low is not None and i.high is not None and i.high < 0:
        return (" (dominated: costs more, loses probability)" if cost > 0
                else " (dominant: costs less, gains probability)")
    return (" (point estimates cost more and lose; not established at these draws)" if cost > 0
            else " (point estimates cost less and gain; not established at these draws)")


def cost_markdown(runs: Sequence[RunFolder], effects: Sequence[CostEffect] | None) -> str:
    """The cost-effectiveness section of ``compare.md`` (million CNY)."""
    if effects is None:
        return "\nCost-effectiveness: not available (a run has no cost variables; re-run it).\n"
    first = runs[0]
    lines = ["", "## Cost-effectiveness", "",
             f"Total cost: {first.results['cost_plan_total'].attrs.get('long_name', '')}. Paired difference against "
             f"{first.name} and cost per percentage point of probability gained, in million CNY, with 95% intervals: "
             f"the cost difference's from a paired bootstrap over draws ({BOOTSTRAP_REPLICATES} replicates), the "
             "cost per point's MOVER-R from it and the difference's Newcombe interval (Newcombe 2016). 'unbounded': "
             "the difference's Newcombe interval includes zero. A negative cost per point means the run costs more and "
             "loses probability (dominated) or costs less and gains it (dominant), a verdict only where its whole "
             "interval is below zero. Not computed: "
             f"{first.results['cost'].attrs.get('not_computed', '')}.", ""]
    for effect in effects:
        lines += [f"**{effect.run} − {first.name}**: cost difference {_interval(effect.cost)} million CNY", "",
                  "| target | scope | million CNY per point |", "|---|---|---|"]
        lines += [f"| {t} | {s} | {_interval(i)}{_sign_note(i, effect.cost.estimate)} |"
                  for (t, s), i in effect.per_point.items()]
        lines.append("")
    return "\n".join(lines)


def cost_csv(effects: Sequence[CostEffect] | None) -> str:
    """``cost_effectiveness.csv``: one row per run, target and scope (target ``total_cost`` for the cost
    difference itself), values in CNY; empty interval ends when unbounded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run", "target", "scope", "quantity", "estimate_cny", "ci95_low_cny", "ci95_high_cny"])

    def cells(i: Interval | None) -> list[str]:
        if i is None:
            return ["", "", ""]
        return [f"{i.estimate:.0f}", "" if i.low is None else f"{i.low:.0f}", "" if i.high is None else f"{i.high:.0f}"]

    for effect in effects or ():
        writer.writerow([effect.run, "total_cost", "", "cost difference", *cells(effect.cost)])
        for (t, s), i in effect.per_point.items():
            writer.writerow([effect.run, t, s, "cost per percentage point", *cells(i)])
    return buffer.getvalue()
