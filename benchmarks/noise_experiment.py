"""Does the cell-level binomial noise of the cohort engine change the target probabilities? An experiment.

Context (``benchmarks/README.md``, "The floor"): one binomial draw per (section, grade) and (section, age band)
cell and year already costs several times the whole time budget of the reference workload, so an engine that
meets the bar cannot draw its flows cell by cell. Before choosing how to coarsen them, this measures what the
cell-level noise contributes to the answers.

Two runs of the same scenario with the same seed, in this process:

- ``exact``: the engine as it is (every flow ``Binomial(n, p)`` per cell);
- ``low-noise``: every call of :func:`sim.mechanisms.kernels.binomial` (pupil dropout and drift, teacher
  retirement, ageing, attrition, drift and contract ends, qualification upgrades, new-hire attributes,
  dispatched teachers' attributes) replaced by the mean-preserving rounding ``⌊np⌋ + Bernoulli(np − ⌊np⌋)``:
  the same expected flow in every cell, with the smallest possible variance (≤ 1/4 instead of ``np(1 − p)``).
  Flows drawn elsewhere (multinomial placements, hypergeometric category moves, county-level recruitment and
  rotation) are unchanged.

The parameters of draw ``i`` come from their own random streams (:mod:`sim.rng`), so draw ``i`` of both runs has
the same parameters: the runs pair draw by draw and ``edusim compare`` gives each target's paired difference with
its 95% Newcombe interval. A difference indistinguishable from zero means the targets are driven by the
parameters and the county-level flows, not by the cell-level noise.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/noise_experiment.py --draws 512          # writes outputs/noise-experiment/

The runs take as long as two ``edusim run`` of that many draws on one process (about 4–5 min each for 512).
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=512)
    parser.add_argument("--out", default=str(ROOT / "outputs" / "noise-experiment"))
    args = parser.parse_args(argv)

    out = Path(args.out)
    folders = {}
    for label, sampler in (("exact", _exact_binomial), ("low-noise", low_noise_binomial)):
        scenario = load_with_overrides(Path(args.scenario), draws=args.draws, seed=None)
        kernels.binomial = sampler  # the mechanisms call it as kernels.binomial: patched for this run only
        t0 = time.perf_counter()
        try:
            result = run_scenario(scenario, out / label, progress=True, scenario_file=args.scenario, figures=False)
        finally:
            kernels.binomial = _exact_binomial
        print(f"{label}: {args.draws} draws in {time.perf_counter() - t0:.0f} s → {result.out_dir}", file=sys.stderr)
        folders[label] = result.out_dir
    runs = [open_run(folders["exact"]), open_run(folders["low-noise"])]
    table = table_markdown(runs, compare_runs(runs)) + "\n" + continuous_table(runs[0].results, runs[1].results)
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


def continuous_table(exact: Any, low: Any, years: tuple[int, ...] = (2027, 2035)) -> str:
    """Region outcomes of both runs draw by draw: mean of each, the paired mean difference with its 95% normal
    interval, and the across-draw standard deviations (parameters + noise in ``exact``; parameters and a
    minimal noise in ``low-noise``)."""
    lines = ["| outcome | year | mean exact | mean low-noise | paired difference (95% CI) | SD exact | SD low-noise |",
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
