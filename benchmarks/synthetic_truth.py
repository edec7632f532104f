"""Synthetic-truth recovery of ``edusim calibrate`` (issue 13 item 7): coverage of the 90% credible intervals.

Each repetition draws three true parameters from their priors, simulates pupils and full-time teachers 2012–2016
on three small counties with them (plus observation error), calibrates with the shipped ABC-SMC under the budget
of ``tests/test_calibrate.py::SYNTHETIC_ABC`` (``abc.max_simulations``, ``abc.min_acceptance_rate``, and an
importance step to temperature 1, ``abc.final_importance``, when the generations stop above it) and checks
whether each weighted 5–95% posterior interval contains its true value. The machinery is the test's
(``synthetic_setup``, ``synthetic_repetition``, ``coverage_table`` in ``tests/test_calibrate.py``); this script
runs it repetition by repetition, writes each repetition as it finishes and reports:

- coverage per parameter and pooled, with the exact (Clopper–Pearson) 95% interval of
  ``scipy.stats.binomtest(k, n).proportion_ci(0.95, method="exact")``, over all repetitions and over those that
  reached temperature 1 (a repetition stopped short of it by the acceptance floor or the budget has a *tempered*
  posterior, wider than the exact one);
- per repetition: the final temperature, generations, particles simulated, wall and CPU seconds;
- simulation-based calibration (Talts et al. 2018): the posterior probability below each truth (its PIT) is
  uniform over repetitions when the posterior is exact. Coverage of the 90% interval is whether the PIT falls in
  0.05–0.95; the PIT's distribution says more: a variance under 1/12 means intervals too wide, over it too narrow,
  and ``scipy.stats.kstest`` against the uniform tests the whole shape. Beside it, the prior's CDF at each
  seeded truth: for a parameter the data barely inform the posterior is close to the prior, so its coverage is
  mostly whether the truth fell in the prior's central 90%, which is a property of the seeds, not of the
  calibration.

The pooled interval treats the 3 × n intervals as independent trials; the three of one repetition share its data,
so the pooled interval is somewhat too narrow.

Usage (from the repository's folder; one process)::

    PYTHONPATH=. nice -n 15 .venv/bin/python benchmarks/synthetic_truth.py --repetitions 20 --out /tmp/synth

Repetitions already in ``OUT/reps/`` are read, not rerun: an interrupted run continues where it stopped, and
``--report`` only prints a summary of what is there. ``OUT/summary.md`` and ``OUT/summary.json`` are rewritten
after every repetition.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_calibrate import (  # noqa: E402 - the test module, on the path above
    INFORMED,
    NOMINAL,
    SYNTHETIC_ABC,
    SYNTHETIC_PARAMETERS,
    SYNTHETIC_REPETITIONS,
    SyntheticRepetition,
    coverage_table,
    synthetic_repetition,
    synthetic_setup,
)


def _load(path: Path, work: Path) -> SyntheticRepetition:
    """A finished repetition; one written before PITs were recorded gets them from its posterior in ``work``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["interval"] = {n: tuple(v) for n, v in data["interval"].items()}
    r = SyntheticRepetition(**data)
    if r.pit and r.prior_cdf:
        return r
    from sim.posterior import Posterior
    from sim.rng import Streams

    posterior = Posterior.load(work / f"rep{r.rep}")
    r = replace(r, pit={n: posterior.probability_below(n, r.truth[n]) for n in SYNTHETIC_PARAMETERS},
                prior_cdf={n: float(Streams(777).uniforms(f"synthetic/truth/{n}", r.rep, r.rep + 1)[0])
                           for n in SYNTHETIC_PARAMETERS})
    path.write_text(json.dumps(asdict(r), indent=1) + "\n", encoding="utf-8")
    return r


def calibration_check(reps: list[SyntheticRepetition]) -> dict[str, dict[str, float]]:
    """Per parameter: the PIT's variance and Kolmogorov–Smirnov p-value against the uniform, the PITs and the
    prior CDFs of the truths outside 0.05–0.95, and the binomial probability of at most that many truths there."""
    out: dict[str, dict[str, float]] = {}
    for n in SYNTHETIC_PARAMETERS:
        pit = [r.pit[n] for r in reps]
        tails = sum(not 0.05 <= r.prior_cdf[n] <= 0.95 for r in reps)
        out[n] = {"pit_variance": float(stats.tvar(pit)), "ks_pvalue": float(stats.kstest(pit, "uniform").pvalue),
                  "pit_outside": sum(not 0.05 <= p <= 0.95 for p in pit), "truths_in_prior_tails": tails,
                  "p_at_most_that_many_tails": float(stats.binom.cdf(tails, len(reps), 0.10))}
    return out


def summary(reps: list[SyntheticRepetition], command: str, settings: dict[str, int | float]) -> tuple[dict, str]:
    """The coverage tables and per-repetition rows, as JSON and as markdown."""
    table = coverage_table(reps)
    exact = sum(r.exact for r in reps)
    doc = {
        "command": command,
        "settings": settings,
        "repetitions": len(reps),
        "reached_temperature_1": exact,
        "stopped_short": len(reps) - exact,
        "coverage": {subset: {n: {**asdict(c), "rate": c.rate, "contains_nominal": c.contains(NOMINAL)}
                              for n, c in row.items()} for subset, row in table.items()},
        "per_repetition": [{**asdict(r), "exact": r.exact, "covered": r.covered} for r in reps],
    }
    lines = [f"# Synthetic truth: {len(reps)} repetitions", "", f"Command: `{command}`", "",
             f"ABC settings: {settings}", "",
             f"Reached temperature 1: {exact} of {len(reps)} ({len(reps) - exact} stopped short: tempered posterior)",
             "", "| subset | parameter | covered | coverage | Clopper–Pearson 95% | contains 0.90 |",
             "|---|---|---|---|---|---|"]
    for subset, row in table.items():
        for n, c in row.items():
            if not c.trials:
                lines.append(f"| {subset} | {n} | 0/0 | – | – | no repetition |")
                continue
            lines.append(f"| {subset} | {n} | {c.covered}/{c.trials} | {c.rate:.3f} | {c.low:.3f}–{c.high:.3f} | "
                         f"{'yes' if c.contains(NOMINAL) else 'no'} |")
    lines += ["", "| rep | final T | generations | particles | wall s | CPU s | "
              + " | ".join(f"{n}: truth, 90% interval, width ratio" for n in SYNTHETIC_PARAMETERS) + " |",
              "|---|---|---|---|---|---|" + "---|" * len(SYNTHETIC_PARAMETERS)]
    for r in reps:
        cells = [f"{r.truth[n]:.4g} {'in' if r.covered[n] else 'OUT'} {r.interval[n][0]:.4g}–{r.interval[n][1]:.4g}, "
                 f"{r.width_ratio[n]:.2f}" for n in SYNTHETIC_PARAMETERS]
        lines.append(f"| {r.rep} | {r.final_temperature:.3g} | {r.generations} | {r.simulated:,} | "
                     f"{r.wall_seconds:.0f} | {r.cpu_seconds:.0f} | " + " | ".join(cells) + " |")
    if reps:
        ratios = {n: sum(r.width_ratio[n] for r in reps) / len(reps) for n in SYNTHETIC_PARAMETERS}
        name, bound = INFORMED
        lines += ["", "Mean width ratio (posterior 90% interval over the prior's; 1 = the data said nothing): "
                  + ", ".join(f"{n} {v:.2f}" for n, v in ratios.items()) + f". The test asks {name}'s to be "
                  f"below {bound:g}: {'yes' if ratios[name] < bound else 'no'}."]
        doc["mean_width_ratio"] = ratios
        check = calibration_check(reps)
        doc["simulation_based_calibration"] = check
        lines += ["", "Simulation-based calibration: the posterior probability below the truth (PIT) should be uniform "
                  "over repetitions (variance 1/12 = 0.083; smaller: intervals too wide). The truths in the prior's "
                  "5% tails should be about 10% of them.", "",
                  "| parameter | PIT variance | KS p (uniform) | PITs outside 0.05–0.95 | truths in the prior's "
                  "tails | P(at most that many) |", "|---|---|---|---|---|---|"]
        lines += [f"| {n} | {c['pit_variance']:.4f} | {c['ks_pvalue']:.3f} | {c['pit_outside']}/{len(reps)} | "
                  f"{c['truths_in_prior_tails']}/{len(reps)} | {c['p_at_most_that_many_tails']:.3f} |"
                  for n, c in check.items()]
        doc["informed"] = {"parameter": name, "bound": bound, "below": ratios[name] < bound}
        walls = sorted(r.wall_seconds for r in reps)
        parts = sorted(r.simulated for r in reps)
        lines += ["", f"Wall time per repetition: median {walls[len(walls) // 2]:.0f} s, range {walls[0]:.0f}–"
                  f"{walls[-1]:.0f} s, total {sum(walls):.0f} s. Particles: median {parts[len(parts) // 2]:,}, range "
                  f"{parts[0]:,}–{parts[-1]:,}. Machine: {platform.machine()}, Python {platform.python_version()}."]
    return doc, "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repetitions", type=int, default=SYNTHETIC_REPETITIONS,
                        help=f"repetitions 0 … N-1 (default the test's {SYNTHETIC_REPETITIONS})")
    parser.add_argument("--out", type=Path, default=Path("/tmp/synth"), help="output folder")
    parser.add_argument("--first", type=int, default=0,
                        help="run repetitions FIRST … N-1 only (another process may run the others into the same "
                        "OUT; the summary counts every repetition found there)")
    parser.add_argument("--report", action="store_true", help="only summarise the repetitions already in OUT")
    parser.add_argument("--max-simulations", type=int, default=None,
                        help=f"abc.max_simulations (default the test's {SYNTHETIC_ABC['max_simulations']:,})")
    parser.add_argument("--min-acceptance-rate", type=float, default=None,
                        help=f"abc.min_acceptance_rate (default the test's {SYNTHETIC_ABC['min_acceptance_rate']:g})")
    parser.add_argument("--final-importance", type=int, default=None,
                        help="abc.final_importance: simulations of an importance step to temperature 1 when the "
                        f"generations stop above it (default the test's {SYNTHETIC_ABC['final_importance']:,}; 0: "
                        "none)")
    args = parser.parse_args(argv)
    overrides: dict[str, int | float] = {
        k: v for k, v in (("max_simulations", args.max_simulations),
                          ("min_acceptance_rate", args.min_acceptance_rate),
                          ("final_importance", args.final_importance)) if v is not None}
    command = "PYTHONPATH=. nice -n 15 .venv/bin/python benchmarks/synthetic_truth.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    reps_dir = args.out / "reps"
    reps_dir.mkdir(parents=True, exist_ok=True)
    work = args.out / "work"
    work.mkdir(exist_ok=True)
    config = scenario = priors = None
    reps: list[SyntheticRepetition] = []
    for rep in range(args.repetitions):
        path = reps_dir / f"rep{rep:03d}.json"
        if path.is_file():
            reps.append(_load(path, work))
            continue
        if args.report or rep < args.first:
            continue
        if config is None:
            config, scenario, priors = synthetic_setup(work, **overrides)
        tic = time.perf_counter()
        r = synthetic_repetition(work, config, scenario, priors, rep)
        path.write_text(json.dumps(asdict(r), indent=1) + "\n", encoding="utf-8")
        reps.append(r)
        print(f"rep {rep}: T {r.final_temperature:.3g}, {r.simulated:,} particles, {time.perf_counter() - tic:.0f} s, "
              f"covered {r.covered}", flush=True)
        doc, text = summary(reps, command, {**SYNTHETIC_ABC, **overrides})
        (args.out / "summary.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        (args.out / "summary.md").write_text(text, encoding="utf-8")
    doc, text = summary(reps, command, {**SYNTHETIC_ABC, **overrides})
    if not args.report:  # --report prints, and leaves the run's own summary (and its command) as written
        (args.out / "summary.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        (args.out / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
