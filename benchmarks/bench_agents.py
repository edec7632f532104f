"""Speed of the agent engine: draws with every teacher of the region (DESIGN §8: one draw in ≤ 5 s).

Runs draws ``0 … N-1`` of ``scenarios/baseline.yaml`` (all 96 counties, every teacher — about 250,000 agents —
2020–2035) one at a time, the way the agent engine always runs, and prints seconds per draw and draws per
second. :func:`sim.cohort.prepare` (static data, once per run) is timed separately and excluded.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_agents.py --draws 3
    .venv/bin/python benchmarks/bench_agents.py --draws 1 --profile /tmp/agents.prof
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # standalone: `python benchmarks/bench_agents.py` without an install
    sys.path.insert(0, str(ROOT))

from sim.agents import run_draws_agents  # noqa: E402
from sim.cohort import prepare  # noqa: E402
from sim.scenario import load_scenario, replace  # noqa: E402

TARGET_SECONDS_PER_DRAW = 5.0
"""DESIGN §8: the agent engine runs one draw with every teacher in ≤ 5 s on this 2-core machine."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=3, help="draws to run (default 3)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the timed run to FILE")
    args = parser.parse_args(argv)
    if args.draws <= 0:
        parser.error("--draws must be positive")
    scenario = replace(load_scenario(args.scenario), {"draws": args.draws})
    t0 = time.perf_counter()
    model = prepare(scenario)
    prepare_s = time.perf_counter() - t0
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    run_draws_agents(model, 0, args.draws)
    elapsed = time.perf_counter() - t0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    s = model.sections
    per_draw = elapsed / args.draws
    print(f"scenario        {scenario.name} ({s.n_counties} counties, {s.n_sections} sections, "
          f"{int(s.teachers.sum()):,} teachers, {int(model.years[0])}–{int(model.years[-1])})")
    print(f"machine         {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          "one process")
    print(f"prepare         {prepare_s:.2f} s (once per run, not in the figures below)")
    print(f"draws           {args.draws}")
    print(f"elapsed         {elapsed:.2f} s")
    print(f"per draw        {per_draw:.2f} s (target ≤ {TARGET_SECONDS_PER_DRAW:.0f} s)")
    print(f"draws/second    {args.draws / elapsed:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
