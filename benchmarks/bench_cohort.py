"""Speed and memory of the cohort engine on the baseline scenario (DESIGN §8, reference workload).

Runs draws ``0 … N-1`` of ``scenarios/baseline.yaml`` (all 96 counties, every section, 2020–2035) chunk by chunk
in this process, the way ``edusim run`` does, and prints seconds per draw, draws per second, the *projected* time
of the reference workload (10,000 draws; a linear projection from the measured rate, on one process) and the
peak memory (``ru_maxrss`` of the process; with ``--tracemalloc`` also the peak of Python and numpy allocations).

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_cohort.py --draws 128
    .venv/bin/python benchmarks/bench_cohort.py --draws 256 --chunk-size 128 --profile /tmp/cohort.prof
    .venv/bin/python benchmarks/bench_cohort.py --draws 128 --chunk-size 64 --repeat 3   # median of 3 runs

Timing excludes :func:`sim.cohort.prepare` (static data, built once per run) and a warm-up (the numba kernels are
compiled, or loaded from their cache, on first use), both reported separately.
Numbers are wall-clock on whatever else the machine is doing: run it on an idle machine and repeat.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # standalone: `python benchmarks/bench_cohort.py` without an install
    sys.path.insert(0, str(ROOT))

from sim.cohort import prepare, run_chunk, select_counties  # noqa: E402
from sim.rng import BLOCK_SIZE, Streams, chunk_bounds  # noqa: E402
from sim.scenario import load_scenario, replace  # noqa: E402

REFERENCE_DRAWS = 10_000
"""Draws of the reference workload (DESIGN §8: ≤ 60 s on 2 cores, peak memory ≤ 3 GiB)."""
REFERENCE_SECONDS = 60.0


def _max_rss_mib() -> float:
    """Peak resident set size of this process in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=128, help="draws to run (default 128)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help=f"draws per chunk, a multiple of {BLOCK_SIZE} (default: min(scenario's, draws "
                             "rounded up to a block))")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python/numpy allocations (slower; peak of traced memory)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the timed run to FILE")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="time the run N times and report the median and range (default 1): the same code "
                             "varies by 10–15%% between runs on a virtual machine")
    args = parser.parse_args(argv)
    if args.draws <= 0:
        parser.error("--draws must be positive")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    scenario = load_scenario(args.scenario)
    chunk = args.chunk_size
    if chunk is None:
        chunk = min(scenario.chunk_size, -(-args.draws // BLOCK_SIZE) * BLOCK_SIZE)
    if chunk <= 0 or chunk % BLOCK_SIZE:
        parser.error(f"--chunk-size must be a positive multiple of {BLOCK_SIZE}")
    scenario = replace(scenario, {"draws": args.draws, "chunk_size": chunk})

    t0 = time.perf_counter()
    model = prepare(scenario)
    prepare_s = time.perf_counter() - t0
    # the compiled kernels are built (or loaded from numba's cache) on their first call: one block of draws of
    # the scenario on two of its counties, outside the figures
    t0 = time.perf_counter()
    some = [str(code) for code in select_counties(scenario)["code"].iloc[:2]]
    warm = replace(scenario, {"baseline.counties": some, "draws": BLOCK_SIZE, "chunk_size": BLOCK_SIZE})
    run_chunk(prepare(warm), Streams(scenario.seed), 0, BLOCK_SIZE)
    warm_s = time.perf_counter() - t0
    streams = Streams(scenario.seed)
    bounds = chunk_bounds(args.draws, chunk)

    if args.tracemalloc:
        tracemalloc.start()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    walls, cpus = [], []
    for _ in range(args.repeat):
        t0, cpu0 = time.perf_counter(), time.process_time()
        for start, stop in bounds:
            run_chunk(model, streams, start, stop)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - cpu0)
    elapsed, cpu = statistics.median(walls), statistics.median(cpus)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    traced_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    if args.tracemalloc:
        tracemalloc.stop()

    per_draw = elapsed / args.draws
    s = model.sections
    print(f"scenario        {scenario.name} ({s.n_counties} counties, {s.n_sections} sections, "
          f"{int(model.years[0])}–{int(model.years[-1])})")
    print(f"machine         {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, one process")
    print(f"draws           {args.draws} in {len(bounds)} chunk(s) of ≤{chunk}")
    print(f"prepare         {prepare_s:.2f} s (once per run, not in the figures below)")
    print(f"warm-up         {warm_s:.2f} s (compiling the kernels or loading them from numba's cache, and "
          f"{BLOCK_SIZE} draws on two counties; not in the figures below)")
    runs = f" (median of {args.repeat} runs)" if args.repeat > 1 else ""
    print(f"elapsed         {elapsed:.2f} s{runs}")
    print(f"per draw        {1000 * per_draw:.1f} ms{runs}")
    print(f"CPU per draw    {1000 * cpu / args.draws:.1f} ms{runs} (process CPU time: less sensitive to other load)")
    if args.repeat > 1:
        lo, hi = (1000 * c / args.draws for c in (min(cpus), max(cpus)))
        print(f"CPU range       {lo:.1f}–{hi:.1f} ms per draw over the {args.repeat} runs")
    print(f"draws/second    {args.draws / elapsed:.2f}")
    projected = per_draw * REFERENCE_DRAWS
    print(f"projection      {REFERENCE_DRAWS:,} draws ≈ {projected:,.0f} s on one process, "
          f"≈ {projected / 2:,.0f} s on 2 if it scaled perfectly (target ≤ {REFERENCE_SECONDS:.0f} s)")
    print(f"peak RSS        {_max_rss_mib():,.0f} MiB (whole process, incl. prepare)")
    if traced_peak is not None:
        print(f"peak traced     {traced_peak / 2**20:,.0f} MiB (tracemalloc, during the run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
