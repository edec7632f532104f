"""Start-up time of the command line: ``edusim --help`` and ``edusim validate scenarios/baseline.yaml``.

Each command runs ``--repeat`` times in a fresh interpreter (``python -c "from sim.cli import main; main([...])"``,
what the ``edusim`` entry point does), one after the other; prints the median and the range (min–max) of the
wall-clock seconds and of the CPU seconds (user + system of the child; less sensitive to a busy machine), and the
heavy modules (xarray, Dask, SALib, matplotlib) each command imported.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_startup.py --repeat 10
    .venv/bin/python benchmarks/bench_startup.py --repeat 10 --tree /tmp/old-checkout   # another checkout

``--tree`` puts another checkout first on ``PYTHONPATH`` (to compare before and after a change on the same
machine, interleaved: ``--tree A --tree B`` alternates the two runs by run). Wall-clock on whatever else the
machine is doing: compare interleaved runs, not runs taken at different times.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("xarray", "dask", "distributed", "SALib", "matplotlib")
COMMANDS = {
    "edusim --help": ["--help"],
    "edusim validate scenarios/baseline.yaml": ["validate", "scenarios/baseline.yaml"],
}


def _code(argv: list[str]) -> str:
    return ("import sys\nfrom sim.cli import main\ntry:\n    main(" + repr(argv) + ")\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}), file=sys.stderr)\n")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(tree: Path, argv: list[str]) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _code(argv)], cwd=tree, env=env, capture_output=True, text=True,
                          check=False)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    heavy = next((line for line in done.stderr.splitlines() if line.startswith("HEAVY")), "HEAVY ?")
    return seconds, cpu, heavy.removeprefix("HEAVY ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command (default 10)")
    parser.add_argument("--tree", type=Path, action="append", default=None,
                        help="checkout to time (repeatable; default: this one)")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.tree] if args.tree else [ROOT]
    print(f"python {sys.version.split()[0]}, {args.repeat} runs per command and tree, interleaved")
    for label, command in COMMANDS.items():
        times: dict[Path, list[float]] = {t: [] for t in trees}
        cpus: dict[Path, list[float]] = {t: [] for t in trees}
        heavy: dict[Path, str] = {}
        for _ in range(args.repeat):
            for tree in trees:
                seconds, cpu, heavy[tree] = _run(tree, command)
                times[tree].append(seconds)
                cpus[tree].append(cpu)
        for tree in trees:
            t, c = times[tree], cpus[tree]
            print(f"{label:42s} {tree}: wall median {statistics.median(t):.3f} s (range {min(t):.3f}–{max(t):.3f}), "
                  f"CPU median {statistics.median(c):.3f} s (range {min(c):.3f}–{max(c):.3f}); "
                  f"heavy modules imported: {heavy[tree]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
