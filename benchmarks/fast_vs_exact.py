"""Does the fast engine give the exact cohort engine's answers? A paired comparison of the two engines.

The fast engine (:mod:`sim.fast.engine`, option 2 of ``docs/performance.md``) draws one random term per section,
flow and year where the exact engine (:mod:`sim.cohort`) draws one per cell. Both sample the uncertainties from
the same streams, so draw ``i`` of both runs has the same parameters: the runs pair draw by draw on the
parameters (their random flows are independent), and each target's paired difference with its 95% Newcombe
interval (``edusim compare``'s table) and the region outcomes' paired differences say whether the fast engine
changes the answers. The fast engine is acceptable where every difference is indistinguishable from zero (and
small), as the section-noise experiment of ``benchmarks/noise_experiment.py`` was.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/fast_vs_exact.py --draws 512      # writes outputs/fast-vs-exact/

Prints both tables and writes them to ``compare.md`` in the output folder, with the wall-clock time of each run
(one process; run it on an idle machine for the times to mean anything).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from noise_experiment import continuous_table  # noqa: E402

from sim.compare import compare_runs, table_markdown  # noqa: E402
from sim.plots import open_run  # noqa: E402
from sim.runner import load_with_overrides, run_scenario  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=512)
    parser.add_argument("--out", default=str(ROOT / "outputs" / "fast-vs-exact"))
    args = parser.parse_args(argv)

    out = Path(args.out)
    folders, seconds = {}, {}
    for engine in ("cohort", "fast"):
        scenario = load_with_overrides(Path(args.scenario), draws=args.draws, seed=None)
        t0 = time.perf_counter()
        result = run_scenario(scenario, out / engine, progress=True, scenario_file=args.scenario, figures=False,
                              engine=engine)
        seconds[engine] = time.perf_counter() - t0
        print(f"{engine}: {args.draws} draws in {seconds[engine]:.0f} s → {result.out_dir}", file=sys.stderr)
        folders[engine] = result.out_dir
    runs = [open_run(folders["cohort"]), open_run(folders["fast"])]
    table = (f"runs: cohort (exact, {seconds['cohort']:.0f} s), fast ({seconds['fast']:.0f} s), {args.draws} draws "
             "each, one process; targets: differences fast − exact, paired on the parameters\n\n")
    table += table_markdown(runs, compare_runs(runs, across_engines=True))
    last = int(runs[0].results["year"].values[-1])
    table += "\nfast against exact:\n\n" + continuous_table(runs[0].results, runs[1].results,
                                                             years=tuple(sorted({min(2027, last), last})), label="fast")
    (out / "compare.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
