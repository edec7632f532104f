"""Does the cell-level binomial noise of the cohort engine change the target probabilities? An experiment.

Context (``benchmarks/README.md``, "The floor"): one binomial draw per (section, grade) and (section, age band)
cell and year already costs several times the whole time budget of the reference workload, so an engine that
meets the bar cannot draw its flows cell by cell. Before choosing how to coarsen them, this measures what the
cell-level noise contributes to the answers.

Runs of the same scenario with the same seed, in this process:

- ``exact``: the engine as it is (every flow ``Binomial(n, p)`` per cell);
- ``low-noise``: every call of :func:`sim.mechanisms.kernels.binomial` (pupil dropout and drift, teacher
  retirement, ageing, attrition, drift and contract ends, qualification upgrades, new-hire attributes,
  dispatched teachers' attributes) replaced by the mean-preserving rounding ``⌊np⌋ + Bernoulli(np − ⌊np⌋)``:
  the same expected flow in every cell, with the smallest possible variance (≤ 1/4 instead of ``np(1 − p)``);
- ``section-noise``: the same calls replaced by one binomial per section with the variance of the summed flows,
  split over the section's cells by their expected flows (:func:`section_noise_binomial`): option 2 of
  ``docs/performance.md``.

Flows drawn elsewhere (multinomial placements, hypergeometric category moves, county-level recruitment and
rotation) are unchanged.

**Which code.** The variants replace ``kernels.binomial``. From commit ``2abf474`` on, promotion, pupil and
teacher drift and teacher exits are drawn inside fused kernels that do not call it, so on later code the variants
change only upgrades, hire attributes and contract ends. The figures in ``benchmarks/README.md`` were measured on
the engine of commit ``37dc717``; to re-run them there with this script and the project's venv::

    git worktree add /tmp/noise 37dc717 && cp benchmarks/noise_experiment.py /tmp/noise/benchmarks/
    cd /tmp/noise && /path/to/edusim/.venv/bin/python benchmarks/noise_experiment.py --draws 512

The parameters of draw ``i`` come from their own random streams (:mod:`sim.rng`), so draw ``i`` of both runs has
the same parameters: the runs pair draw by draw and ``edusim compare`` gives each target's paired difference with
its 95% Newcombe interval. A difference indistinguishable from zero means the targets are driven by the
parameters and the county-level flows, not by the cell-level noise.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/noise_experiment.py --draws 512          # writes outputs/noise-experiment/

Each run takes as long as an ``edusim run`` of that many draws on one process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.compare import compare_runs, table_markdown  # noqa: E402
from sim.mechanisms import kernels  # noqa: E402
from sim.plots import open_run  # noqa: E402
from sim.runner import load_with_overrides, run_scenario  # noqa: E402

_exact_binomial = kernels.binomial


def low_noise_binomial(n: Any, p: Any, rng: np.random.Generator) -> np.ndarray:
    """``⌊np⌋ + Bernoulli(np − ⌊np⌋)`` cell by cell: mean ``np`` like ``Binomial(n, p)``, never above ``n``."""
    counts = np.asarray(n, dtype=np.int64)
    mean = counts * np.broadcast_to(np.asarray(p, dtype=np.float64), counts.shape)
    whole = np.floor(mean)
    out = whole.astype(np.int64) + (rng.random(counts.shape) < mean - whole)
    return np.minimum(out, counts)


def section_noise_binomial(n: Any, p: Any, rng: np.random.Generator) -> np.ndarray:
    """One random total per section, spread over its cells by their expected flows (option 2 of
    ``docs/performance.md``): for ``(D, S, B)`` counts, one binomial ``T`` per (draw, section) with the mean
    ``Σ_b n·p`` and the variance ``Σ_b n·p·(1 − p)`` of the sum of the cells' flows, then ``T`` split over the cells
    in proportion to ``n·p`` by largest remainder, no cell above its ``n``. Every cell keeps its mean up to the
    rounding of the split; the section's total keeps its variance; the cells of a section no longer vary
    independently. Counts of other shapes are one cell per section (drawn exactly)."""
    counts = np.asarray(n, dtype=np.int64)
    prob = np.broadcast_to(np.asarray(p, dtype=np.float64), counts.shape)
    if counts.ndim != 3 or counts.shape[-1] == 1:
        return _exact_binomial(counts, prob, rng)
    mean = counts * prob
    mu, square = mean.sum(axis=-1), (mean * prob).sum(axis=-1)
    # Binomial(m, q) with the total's mean μ = Σ n p and variance Σ n p (1 − p): q = Σ n p² / μ, m = μ / q
    # (m ≤ Σ n by Cauchy–Schwarz), m rounded and q adjusted to keep the mean
    trials = np.rint(np.divide(mu * mu, square, out=np.zeros_like(mu), where=square > 0)).astype(np.int64)
    total = rng.binomial(trials, np.divide(mu, trials, out=np.zeros_like(mu), where=trials > 0).clip(0.0, 1.0))
    share = np.divide(mean, mu[..., None], out=np.zeros_like(mean), where=mu[..., None] > 0)
    exact = total[..., None] * share
    out = np.minimum(np.floor(exact).astype(np.int64), counts)
    for _ in range(counts.shape[-1] + 1):  # leftover units to the largest remainders among cells with room
        left = total - out.sum(axis=-1)
        if not (left > 0).any():
            break
        room = out < counts
        key = np.where(room, exact - out, -np.inf) + np.where(room, 0.0, -1.0)
        rank = np.argsort(np.argsort(-key, axis=-1, kind="stable"), axis=-1, kind="stable")
        out = out + ((rank < left[..., None]) & room)
    return out


def section_noise_systematic(n: Any, p: Any, rng: np.random.Generator) -> np.ndarray:
    """:func:`section_noise_binomial` with the section's total split by systematic sampling instead of largest
    remainder: units at ``u, u + 1, …`` (one uniform ``u`` per section) over the cumulative expected flows of the
    cells, so that every cell's mean is exactly its expected flow (up to the rare cap at its ``n``)."""
    counts = np.asarray(n, dtype=np.int64)
    prob = np.broadcast_to(np.asarray(p, dtype=np.float64), counts.shape)
    if counts.ndim != 3 or counts.shape[-1] == 1:
        return _exact_binomial(counts, prob, rng)
    certain = prob >= 1.0  # whole cells leave: no noise there, kept out of the section's random total
    uncertain = np.where(certain, 0, counts)
    mean = uncertain * prob
    mu, square = mean.sum(axis=-1), (mean * prob).sum(axis=-1)
    trials = np.rint(np.divide(mu * mu, square, out=np.zeros_like(mu), where=square > 0)).astype(np.int64)
    total = rng.binomial(trials, np.divide(mu, trials, out=np.zeros_like(mu), where=trials > 0).clip(0.0, 1.0))
    share = np.divide(mean, mu[..., None], out=np.zeros_like(mean), where=mu[..., None] > 0)
    edges = np.cumsum(total[..., None] * share, axis=-1)
    u = rng.random(total.shape)[..., None]
    upper = np.ceil(edges - u).astype(np.int64)
    lower = np.concatenate([np.zeros_like(upper[..., :1]), upper[..., :-1]], axis=-1)
    out = np.minimum(np.maximum(upper - lower, 0), uncertain)
    left = total - out.sum(axis=-1)  # units a cap left over: to cells that can leave and have room, in order
    for b in range(counts.shape[-1]):
        add = np.where(mean[..., b] > 0, np.minimum(left, uncertain[..., b] - out[..., b]), 0)
        out[..., b] += add
        left -= add
    return np.where(certain, counts, out)


VARIANTS = {"exact": _exact_binomial, "low-noise": low_noise_binomial, "section-noise": section_noise_binomial,
            "section-systematic": section_noise_systematic}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=512)
    parser.add_argument("--out", default=str(ROOT / "outputs" / "noise-experiment"))
    parser.add_argument("--variants", nargs="+", default=["low-noise", "section-noise", "section-systematic"],
                        choices=["low-noise", "section-noise", "section-systematic"],
                        help="runs to compare with the exact one")
    args = parser.parse_args(argv)

    out = Path(args.out)
    folders = {}
    for label in ("exact", *args.variants):
        sampler = VARIANTS[label]
        scenario = load_with_overrides(Path(args.scenario), draws=args.draws, seed=None)
        kernels.binomial = sampler  # the mechanisms call it as kernels.binomial: patched for this run only
        t0 = time.perf_counter()
        try:
            result = run_scenario(scenario, out / label, progress=True, scenario_file=args.scenario, figures=False)
        finally:
            kernels.binomial = _exact_binomial
        print(f"{label}: {args.draws} draws in {time.perf_counter() - t0:.0f} s → {result.out_dir}", file=sys.stderr)
        folders[label] = result.out_dir
    runs = [open_run(folders[label]) for label in ("exact", *args.variants)]
    table = "runs: " + ", ".join(("exact", *args.variants)) + " (targets: differences against the first)\n\n"
    table += table_markdown(runs, compare_runs(runs))
    for label, run in zip(args.variants, runs[1:], strict=True):
        table += f"\n{label} against exact:\n\n" + continuous_table(runs[0].results, run.results, label=label)
    (out / "compare.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


OUTCOMES = (
    ("share_counties_quality_balanced", "share of counties quality-balanced (region)"),
    ("standardised_school_share", "share of standardised schools (region)"),
    ("quality_school_share", "share of quality schools (region)"),
    ("staffing_norm_met", "share of counties at the staffing norm (region)"),
    ("failing_sections_area", "sections failing the school standard (region)"),
    ("teachers_area", "teachers (region)"),
    ("students_area", "pupils (region)"),
)


def continuous_table(exact: Any, low: Any, years: tuple[int, ...] = (2027, 2035), label: str = "low-noise") -> str:
    """Region outcomes of both runs draw by draw: mean of each, the paired mean difference with its 95% normal
    interval, and the across-draw standard deviations (parameters + noise in ``exact``; parameters and a
    minimal noise in ``low-noise``)."""
    lines = [f"| outcome | year | mean exact | mean {label} | paired difference (95% CI) | SD exact | SD {label} |",
             "|---|---|---|---|---|---|---|"]
    for name, label in OUTCOMES:
        for year in years:
            a = np.asarray(exact[name].sel(year=year, area="region").values, dtype=float)
            b = np.asarray(low[name].sel(year=year, area="region").values, dtype=float)
            d = b - a
            half = 1.96 * d.std(ddof=1) / np.sqrt(d.size)
            lines.append(f"| {label} | {year} | {a.mean():.4g} | {b.mean():.4g} | {d.mean():+.3g} "
                         f"[{d.mean() - half:+.3g}, {d.mean() + half:+.3g}] | {a.std(ddof=1):.3g} | "
                         f"{b.std(ddof=1):.3g} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
