"""Time and memory per draw of drawing the per-draw start registry (issue 14): ``sim.model.draw_start_registry``.

Prepares the baseline once (not timed), then draws the registry of ``--draws`` draws in chunks of ``--chunk-size``
(as a run does: every draw's ``registry.*`` hyperparameters, its schools' values, the basic-balance acceptance
and its retries), ``--repeat`` times; prints the median and the range (min–max) of the wall-clock and CPU
milliseconds per draw, the attempts per draw, and the peak of traced allocations of one chunk (tracemalloc, a
separate pass so that tracing does not slow the timed ones) and the process's peak RSS.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_registry.py --draws 128 --repeat 5

Memory of the reference workload: a run holds one chunk per worker; the registry adds the traced peak of one
chunk to it (benchmarks/README.md states the budget: ≤ 3 GiB for 10,000 draws, chunks of 64, two workers).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def _draw_all(model, scenario, streams, draws: int, chunk: int) -> list[int]:
    from sim.model import draw_start_registry, sample_parameters

    attempts: list[int] = []
    for start in range(0, draws, chunk):
        stop = min(start + chunk, draws)
        r = draw_start_registry(model, streams, start, stop, sample_parameters(scenario, streams, start, stop))
        assert r is not None
        attempts.extend(int(a) for a in r.attempts)
    return attempts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=128, help="draws per repetition (default 128)")
    parser.add_argument("--chunk-size", type=int, default=64, help="draws per chunk (default 64, as a run)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (default 5)")
    args = parser.parse_args(argv)

    from sim.model import prepare
    from sim.rng import Streams
    from sim.scenario import load_scenario

    scenario = load_scenario(BASELINE)
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    walls, cpus = [], []
    attempts: list[int] = []
    for _ in range(args.repeat):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        attempts = _draw_all(model, scenario, streams, args.draws, args.chunk_size)
        walls.append((time.perf_counter() - wall0) / args.draws * 1e3)
        cpus.append((time.process_time() - cpu0) / args.draws * 1e3)
    tracemalloc.start()
    _draw_all(model, scenario, streams, min(args.chunk_size, args.draws), args.chunk_size)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"python {sys.version.split()[0]}; baseline, {args.draws} draws in chunks of {args.chunk_size}, "
          f"{args.repeat} repetitions")
    print(f"wall per draw: median {statistics.median(walls):.2f} ms (range {min(walls):.2f}–{max(walls):.2f})")
    print(f"CPU per draw:  median {statistics.median(cpus):.2f} ms (range {min(cpus):.2f}–{max(cpus):.2f})")
    print(f"attempts per draw: mean {statistics.fmean(attempts):.2f}, most {max(attempts)}")
    print(f"peak traced allocations of one chunk: {traced / 2**20:.0f} MiB; peak RSS of this process: "
          f"{rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
