"""CPU time of the teacher-exit step: the exact engine's (:func:`sim.cohort.step_teacher_exits`) and the fast
engine's (:func:`sim.fast.teachers.step_teacher_exits`).

The state is the baseline's (all 96 counties, every section) for one block of 64 draws, projected by the exact
engine to the autumn of ``--year − 1`` (students, teacher exits, quota and recruitment, rotation, dispatch,
development); then each step is run into ``--year`` on a copy of it, ``--repeats`` times (the numba kernels are
compiled, or loaded from their cache, by a first call outside the timing). Prints the process CPU time per
draw of one step (one school year), the best and the median of the repeats, and the speed-up.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_fast_teachers.py --repeats 5
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim import cohort  # noqa: E402
from sim.fast import teachers as fast  # noqa: E402
from sim.rng import BLOCK_SIZE, Streams  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def projected_state(model: cohort.Model, streams: Streams, until: int) -> tuple[cohort.State, dict[str, np.ndarray]]:
    """Draws ``0 … BLOCK_SIZE − 1`` of the exact engine in the autumn of ``until`` (no assessment)."""
    scenario = model.scenario
    p = cohort.sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    st = cohort.initial_state(model, BLOCK_SIZE, p["teachers.female_share"])
    steps = cohort.EXACT_STEPS
    for year in range(scenario.start_year, until + 1):
        r = cohort._Random(streams, 0, BLOCK_SIZE, year)
        if year > scenario.start_year:
            steps.students(model, st, p, r, year)
            steps.teacher_exits(model, st, p, r, year)
        steps.quota_and_recruitment(model, st, p, r, year)
        steps.rotation(model, st, p, r, year, np.zeros((BLOCK_SIZE, model.sections.n_sections)))
        if year > scenario.start_year:
            steps.dispatch(model, st, p, r, year)
            steps.development(model, st, p, r, year)
    return st, p


def time_step(step: Callable[..., None], model: cohort.Model, st: cohort.State, p: dict[str, np.ndarray],
              streams: Streams, year: int, repeats: int) -> list[float]:
    """Process CPU milliseconds per draw of ``repeats`` calls of ``step`` (after one untimed call)."""
    r = cohort._Random(streams, 0, BLOCK_SIZE, year)
    step(model, copy.deepcopy(st), p, r, year)
    out = []
    for _ in range(repeats):
        state: Any = copy.deepcopy(st)
        start = time.process_time()
        step(model, state, p, r, year)
        out.append((time.process_time() - start) * 1e3 / BLOCK_SIZE)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--year", type=int, default=2027, help="the step into this year is timed")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    model = cohort.prepare(load_scenario(args.scenario))
    streams = Streams(model.scenario.seed)
    st, p = projected_state(model, streams, args.year - 1)
    s = model.sections
    print(f"{s.n_counties} counties, {s.n_sections} sections, {BLOCK_SIZE} draws, step into {args.year}, "
          f"{int(st.teachers.sum()) // BLOCK_SIZE} teachers a draw")
    results = {}
    for name, step in (("exact", cohort.step_teacher_exits), ("fast", fast.step_teacher_exits)):
        ms = time_step(step, model, st, p, streams, args.year, args.repeats)
        results[name] = float(np.median(ms))
        print(f"{name:>5}: {min(ms):7.3f} ms per draw (best), {np.median(ms):7.3f} (median of {args.repeats})")
    print(f"speed-up (medians): {results['exact'] / results['fast']:.1f}x")


if __name__ == "__main__":
    main()
