"""How fast the cohort engine could possibly be with the cell structure of DESIGN §3: a floor, not a model run.

The reference workload (DESIGN §8) is 10,000 draws of all 96 counties, every section, 2020–2035 in ≤ 60 s on
2 cores: 12 ms of one core per draw. The cohort engine keeps counts per (draw, section, grade) for pupils and
per (draw, section, age band) for teachers, and its flows are binomial draws per cell (DESIGN §3). This script
measures what the random variates alone cost on that structure, with the engine's own sampling kernel
(:func:`sim.mechanisms.kernels.binomial`) and with numpy's ``Generator.binomial``: ``K`` binomial flows per
cell and year, on the real starting counts of the baseline (pupils by grade and teachers by age band of every
section), for every year of the horizon. Nothing else is computed, so the model can only be slower.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_floor.py                 # 64 draws, 1 flow per cell and year
    .venv/bin/python benchmarks/bench_floor.py --flows 4

Prints process CPU milliseconds per draw for each sampler and the projection to 10,000 draws on 2 perfectly
scaling cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.cohort import initial_state, prepare  # noqa: E402
from sim.mechanisms import kernels  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

REFERENCE_DRAWS = 10_000
CORES = 2
BUDGET_MS_PER_DRAW = 60.0 * 1000 * CORES / REFERENCE_DRAWS  # 12 ms of one core per draw
HAZARD = 0.03  # a typical yearly flow probability (attrition, drift, dropout are 0.5–8%)


def _time(sample: object, counts: np.ndarray, years: int, flows: int) -> float:
    """Seconds to draw ``flows`` binomials per cell of ``counts`` for ``years`` years."""
    t0 = time.process_time()
    for _ in range(years * flows):
        sample(counts)  # type: ignore[operator]
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=64)
    parser.add_argument("--flows", type=int, default=1, help="binomial flows per cell and year (default 1)")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    model = prepare(scenario)
    state = initial_state(model, args.draws)
    years = scenario.horizon - scenario.start_year
    cells = {"pupils (section × grade)": state.students, "teachers (section × age band)": state.teachers}
    rng = np.random.default_rng(1)
    kernels.binomial(state.teachers[:1], HAZARD, rng)  # compile outside the timing

    samplers = {
        "sim kernel (numba)": lambda n: kernels.binomial(n, HAZARD, rng),
        "numpy Generator.binomial": lambda n: rng.binomial(n, HAZARD),
    }
    print(f"workload        {model.sections.n_sections:,} sections, "
          f"{years} years, {args.flows} flow(s) per cell and year, {args.draws} draws")
    for label, counts in cells.items():
        print(f"  {label:32s} {counts.shape[1] * counts.shape[2]:,} cells per draw, "
              f"mean count {counts.mean():.1f}, {np.mean(counts == 0):.0%} empty")
    print(f"budget          {BUDGET_MS_PER_DRAW:.0f} ms of one core per draw "
          f"({REFERENCE_DRAWS:,} draws in 60 s on {CORES} cores)")
    for name, sample in samplers.items():
        seconds = sum(_time(sample, counts, years, args.flows) for counts in cells.values())
        ms = seconds * 1000 / args.draws
        print(f"{name:28s} {ms:7.1f} ms / draw   = {ms / BUDGET_MS_PER_DRAW:4.1f}× the whole budget; "
              f"10,000 draws ≈ {ms * REFERENCE_DRAWS / 1000 / CORES:,.0f} s on {CORES} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
