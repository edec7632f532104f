"""CPU time of step 9 (assessment): :func:`sim.cohort.assess` (the reference) against :func:`sim.fast.assess.assess`.

Builds the state of a scenario (default: the baseline, all counties) for one block of 64 draws by running the
cohort engine's steps up to step 9 of ``--year``, then times both functions on that state: process CPU time of
each call, ``--repeats`` calls each, interleaved (reference, fast, reference, …) so that both see the same load;
the compiled kernels are built (or loaded from numba's cache) before the timing. Prints the minimum and the median
per call and per draw (÷ 64), and checks once that both give the same records.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_fast_assess.py
    .venv/bin/python benchmarks/bench_fast_assess.py --year 2030 --repeats 30
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # standalone: `python benchmarks/bench_fast_assess.py` without an install
    sys.path.insert(0, str(ROOT))

from sim import cohort  # noqa: E402
from sim.fast import assess as fast  # noqa: E402
from sim.mechanisms import facilities  # noqa: E402
from sim.rng import BLOCK_SIZE, Streams  # noqa: E402
from sim.scenario import load_scenario, replace  # noqa: E402


def state_before_assessment(scenario_path: str, year: int) -> tuple[cohort.Model, cohort.State, dict, cohort._Random]:
    """The engine's state of draws 0–63 just before step 9 of ``year`` (steps in ``run_chunk``'s order)."""
    scenario = replace(load_scenario(scenario_path), {"draws": BLOCK_SIZE, "chunk_size": BLOCK_SIZE})
    model = cohort.prepare(scenario)
    streams = Streams(scenario.seed)
    params = cohort.sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    st = cohort.initial_state(model, BLOCK_SIZE, params["teachers.female_share"])
    for y in range(scenario.start_year, year + 1):
        r = cohort._Random(streams, 0, BLOCK_SIZE, y)
        if y > scenario.start_year:
            cohort.step_students(model, st, params, r, y)
            cohort.step_teacher_exits(model, st, params, r, y)
        cohort.step_quota_and_recruitment(model, st, params, r, y)
        weakness = facilities.weakness_score(cohort._section_total(st.students), st.floor_area_m2,
                                             st.sports_area_m2, st.equipment_value_cny, st.multimedia_rooms,
                                             model.facility_thresholds)
        cohort.step_rotation(model, st, params, r, y, weakness)
        if y > scenario.start_year:
            cohort.step_dispatch(model, st, params, r, y)
            cohort.step_development(model, st, params, r, y)
            cohort.step_facilities(model, st, params, y, weakness)
        if y < year:
            cohort.assess(model, st, params, r, y)
    return model, st, params, r


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--year", type=int, default=2027, help="assess the state of this year (default 2027)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls of each function (default 20)")
    args = parser.parse_args(argv)

    t0 = time.process_time()
    model, st, params, r = state_before_assessment(args.scenario, args.year)
    print(f"state of {args.year}: {model.sections.n_sections} sections, {model.sections.n_counties} counties, "
          f"{BLOCK_SIZE} draws (built in {time.process_time() - t0:.1f} s CPU)")

    functions: dict[str, Callable[..., dict[str, np.ndarray]]] = {
        "sim.cohort.assess": cohort.assess, "sim.fast.assess.assess": fast.assess}
    t0 = time.process_time()
    results = {name: fn(model, copy.copy(st), params, r, args.year) for name, fn in functions.items()}
    print(f"first calls (numba compiles or loads its cache): {time.process_time() - t0:.1f} s CPU")
    reference, got = results.values()
    same = list(reference) == list(got) and all(
        np.array_equal(np.asarray(ref), np.asarray(got[key]), equal_nan=np.asarray(ref).dtype.kind == "f")
        for key, ref in reference.items())
    print(f"same records: {same}")

    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(args.repeats):
        for name, fn in functions.items():
            state = copy.copy(st)  # each call advances certification in its own copy
            t = time.process_time()
            fn(model, state, params, r, args.year)
            times[name].append(time.process_time() - t)
    print(f"\nprocess CPU time, {args.repeats} calls each (interleaved):")
    print(f"{'function':26s} {'min ms/call':>12s} {'median ms/call':>15s} {'median ms/draw':>15s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:26s} {min(values) * 1e3:12.1f} {median * 1e3:15.1f} {median * 1e3 / BLOCK_SIZE:15.2f}")
    ref, new = (statistics.median(v) for v in times.values())
    print(f"speed-up (medians): {ref / new:.1f}x")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
