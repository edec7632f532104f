"""The ``edusim`` command.

Subcommands are registered in :data:`_COMMANDS` (name → (add arguments, handler)); a handler takes the parsed
arguments and returns the exit status. Exit statuses:

- 0: success;
- 2: bad input (a scenario, target set or command-line value): each problem printed to stderr as
  ``error: FILE:LINE: KEY: MESSAGE``;
- 70: an internal error (a bug): one line asking for a report; the traceback only with ``EDUSIM_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sim import __version__
from sim.errors import InputError, InputErrors

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h)

Handler = Callable[[argparse.Namespace], int]


def _add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario or target-set YAML files")


def _validate(args: argparse.Namespace) -> int:
    """Validate each file (a scenario with its target set, or a target set); report every problem."""
    from sim.scenario import load_scenario, load_yaml
    from sim.targets import load_target_set, looks_like_target_set

    status = EXIT_OK
    for file in args.files:
        try:
            data = load_yaml(file).data
            if looks_like_target_set(data):
                load_target_set(file)
            else:
                scenario = load_scenario(file)
                load_target_set(scenario.targets)
                if scenario.baseline.registry is not None:  # what the run reads, checked now
                    from sim.baseline import load_registry

                    load_registry(scenario.baseline.registry)
        except (InputError, InputErrors) as exc:
            _print_errors(exc)
            status = EXIT_INPUT
            continue
        except (RecursionError, MemoryError) as exc:  # a bound of sim.yamlfile missed: still the input's fault
            _print_errors(InputError(f"too large or too deeply nested to read ({type(exc).__name__})", file=file))
            status = EXIT_INPUT
            continue
        print(f"ok: {file}")
    return status


def _add_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="scenario YAML")
    p.add_argument(
        "--parameters",
        action="store_true",
        help="also print the table of uncertain parameters (scenario distributions, units, bounds, sources)",
    )
    p.add_argument(
        "--steps",
        action="store_true",
        help="print the yearly step table instead (order, years each step acts, engines, levers it reads)",
    )


def _show(args: argparse.Namespace) -> int:
    """Print the resolved scenario (defaults, extends, uncertainty defaults applied) as YAML."""
    from sim.parameters import markdown_table
    from sim.scenario import load_scenario, resolved_yaml

    scenario = load_scenario(args.file)
    if args.steps:
        from sim.steps import step_table

        sys.stdout.write(step_table(scenario))
        return EXIT_OK
    sys.stdout.write(resolved_yaml(scenario))
    if args.parameters:
        sys.stdout.write("\n# Uncertain parameters\n\n")
        sys.stdout.write(markdown_table(scenario.uncertainties))
    return EXIT_OK


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML")
    p.add_argument("--draws", type=int, help="number of Monte Carlo draws (overrides the scenario)")
    p.add_argument("--seed", type=int, help="root seed (overrides the scenario)")
    p.add_argument("--out", metavar="DIR", help="run folder (default outputs/NAME)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--engine", choices=("cohort", "agents"), default="cohort",
                   help="cohort: stock-flow, vectorised over draws (default); agents: every teacher an agent "
                   "on a simpy policy calendar, one draw at a time (same output schema)")
    p.add_argument("--chunk-size", type=int, metavar="N",
                   help="draws per chunk, a multiple of 64 (overrides the scenario): the unit of work of a worker "
                   "and of a checkpoint; results do not depend on it")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="run the chunks of draws on a local Dask cluster of N worker processes (same results)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run them on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (same results)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the finished chunks of an interrupted run into the same folder (.NAME.chunks/ beside "
                   "it); the result is identical to an uninterrupted run")
    p.add_argument("--precision", type=float, metavar="H",
                   help="add draws until every target's 95%% interval has a half-width of at most H "
                   "(a probability, e.g. 0.02 for ±2 points), starting from the scenario's draws")
    p.add_argument("--max-draws", type=int, metavar="N",
                   help="cap of a --precision run (default 20,000)")
    p.add_argument("--max-output-gb", type=float, metavar="GB", default=None,
                   help="refuse a run whose results.nc is estimated larger than GB (default 20); the estimate is "
                   "printed before the run")
    _add_overwrite(p)


def _add_overwrite(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier edusim output in the folder (never a folder or file edusim did not "
                   "write); without it an existing folder is refused")


def _run(args: argparse.Namespace) -> int:
    """Run a scenario: the target table on stdout, the run folder on disk."""
    from sim.checkpoint import chunk_dir
    from sim.runner import RunOptions, load_with_overrides, run_folder, run_scenario

    scenario = load_with_overrides(args.scenario, draws=args.draws, seed=args.seed, chunk_size=args.chunk_size)
    try:
        options = RunOptions(progress=not args.quiet, scenario_file=args.scenario, engine=args.engine,
                             workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                             precision=args.precision, max_draws=args.max_draws, overwrite=args.overwrite,
                             **({} if args.max_output_gb is None else {"max_output_gb": args.max_output_gb}))
        result = run_scenario(scenario, args.out, options)
    except KeyboardInterrupt:
        chunks = chunk_dir(run_folder(scenario, args.out))
        if chunks.is_dir():
            print(f"finished chunks are kept in {chunks}/: run the same command with --resume to go on",
                  file=sys.stderr)
        raise
    print(f"\n{scenario.name}: probability of reaching each target over {result.draws} draws "
          f"(95% Wilson interval; median year first met)\n")
    print(result.table)
    if result.precision is not None:
        report = result.precision
        print(f"precision: {report.draws} draws in {len(report.batches)} batch(es); stopped because "
              f"{report.stopped}; widest half-width {report.widest_half_width:.4f} ({report.widest})")
    if result.chunks_reused:
        print(f"resumed: {result.chunks_reused} chunk(s) of draws loaded from the interrupted run")
    print(f"written: {result.out_dir}/ (results.nc, targets.csv, targets.md, scenario.resolved.yaml, "
          "provenance.json, figures/)")
    print("caveat: schools are a synthetic registry matched to published totals (calibration/REGISTRY.md).")
    return EXIT_OK


def _add_lang(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["en", "zh"], default="en",
                   help="language of titles, labels and statements (zh needs a font covering Chinese)")


def _add_plot(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run folder written by `edusim run`")
    p.add_argument("--out", metavar="DIR", help="figure folder (default RUN/figures, RUN/figures_zh for --lang zh)")
    _add_lang(p)
    _add_overwrite(p)


def _plot(args: argparse.Namespace) -> int:
    """Write the fan charts and the target-probability chart of a run (PNG and SVG)."""
    from pathlib import Path

    from sim.chart_text import require_language
    from sim.plots import write_figures
    from sim.rundir import open_run

    require_language(args.lang)
    run = open_run(args.run)
    out = Path(args.out) if args.out else run.path / ("figures" if args.lang == "en" else "figures_zh")
    written: list[Path] = []

    def fill(folder: Path) -> None:
        written.extend(write_figures(run.results, run.rows, run.targets, folder, lang=args.lang))

    _write_derived(args, out, fill)
    print(f"written: {len(written)} files in {out}/")
    return EXIT_OK


def _write_derived(args: argparse.Namespace, out: Path, fill: Callable[[Path], None]) -> None:
    """Write a folder derived from a run: inside the run folder (the default) in place; at an ``--out`` of the
    user's, whole or not at all and never over a folder edusim did not write (as ``edusim run --out``)."""
    from sim.output import write_folder_atomically

    if args.out is None:
        fill(out)
    else:
        write_folder_atomically(out, fill, overwrite=args.overwrite)


def _add_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_OR_SCENARIO",
                   help="run folders or scenario files (scenario files are run first, with the seed and draws of "
                   "the first input); the first is the reference")
    p.add_argument("--draws", type=int, help="draws for scenario files (default: those of the first input)")
    p.add_argument("--seed", type=int, help="seed for scenario files (default: that of the first input)")
    p.add_argument("--runs-dir", metavar="DIR", help="where scenario files' runs are written (default outputs/)")
    p.add_argument("--out", metavar="DIR", help="comparison folder (default outputs/compare-A-vs-B…)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_lang(p)
    _add_overwrite(p)


def _compare(args: argparse.Namespace) -> int:
    """Target probabilities side by side, paired differences (common random numbers), fan charts."""
    from pathlib import Path

    from sim.chart_text import require_language
    from sim.compare import (
        compare_runs,
        cost_csv,
        cost_effectiveness,
        cost_markdown,
        resolve_inputs,
        table_csv,
        table_markdown,
        write_compare_figures,
    )
    from sim.output import write_folder_atomically

    require_language(args.lang)
    runs = resolve_inputs(args.runs, draws=args.draws, seed=args.seed, runs_dir=args.runs_dir,
                          progress=not args.quiet, overwrite=args.overwrite)
    rows = compare_runs(runs)
    out = Path(args.out) if args.out is not None else Path("outputs") / ("compare-" + "-vs-".join(r.name for r in runs))
    text = table_markdown(runs, rows) + cost_markdown(runs, effects := cost_effectiveness(runs, rows))
    header = (f"# Comparison: {', '.join(r.name for r in runs)}\n\nProbability of each target over the same "
              f"{runs[0].results.sizes['draw']} draws (seed {runs[0].provenance.get('seed')}); difference against "
              f"{runs[0].name} in percentage points, paired by draw, with Newcombe's 95% interval for paired "
              "proportions.\n\n")

    def fill(tmp: Path) -> None:
        (tmp / "compare.csv").write_text(table_csv(runs, rows), encoding="utf-8")
        (tmp / "compare.md").write_text(header + text, encoding="utf-8")
        (tmp / "cost_effectiveness.csv").write_text(cost_csv(effects), encoding="utf-8")
        write_compare_figures(runs, tmp / "figures", lang=args.lang)

    write_folder_atomically(out, fill, overwrite=args.overwrite)
    print(header.replace("# ", "", 1) + text)
    print(f"written: {out}/ (compare.csv, compare.md, cost_effectiveness.csv, figures/)")
    return EXIT_OK


def _add_diagnose(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run folder written by `edusim run`")
    p.add_argument("--year", type=int, help="year in which the binding constraint is read (default 2027)")
    p.add_argument("--top", type=int, default=20, help="counties printed (default 20; the CSV has all)")
    p.add_argument("--out", metavar="DIR", help="output folder (default RUN/diagnose)")
    _add_lang(p)
    _add_overwrite(p)


def _diagnose(args: argparse.Namespace) -> int:
    """Per county: probability of quality-balanced status by 2027 and 2035, median year, binding constraint."""
    from pathlib import Path

    from sim.chart_text import require_language
    from sim.diagnose import diagnose, diagnosis_table, write_diagnosis
    from sim.rundir import open_run

    require_language(args.lang)
    run = open_run(args.run)
    rows = diagnose(run.results, args.year)
    out = Path(args.out) if args.out else run.path / "diagnose"
    def fill(folder: Path) -> None:
        write_diagnosis(rows, folder, lang=args.lang)

    _write_derived(args, out, fill)
    print(f"\n{run.name}: counties furthest from quality balance first (一縣一策)\n")
    print(diagnosis_table(rows, args.top))
    print(f"written: {out}/ (diagnose.csv, diagnose.png, diagnose.svg)")
    return EXIT_OK


def _add_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run folder written by `edusim run`")
    p.add_argument("--out", metavar="FILE", help="HTML file (default RUN/report.html, RUN/report_zh.html)")
    p.add_argument("--green", type=float, default=0.8, help="probability at or above which a light is green")
    p.add_argument("--amber", type=float, default=0.5, help="probability at or above which a light is amber")
    _add_lang(p)
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing file given by --out (the default file in the run folder is always "
                   "replaced)")


def _report(args: argparse.Namespace) -> int:
    """One self-contained HTML page: statements, traffic lights, charts, levers, assumptions, provenance."""
    from pathlib import Path

    from sim.chart_text import require_language
    from sim.report import write_report
    from sim.rundir import open_run

    require_language(args.lang)
    run = open_run(args.run)
    out = Path(args.out) if args.out else run.path / ("report.html" if args.lang == "en" else "report_zh.html")
    if args.out is not None and (out.is_dir() or out.is_symlink() or (out.exists() and not args.overwrite)):
        what = "a folder" if out.is_dir() else "a symbolic link" if out.is_symlink() else "an existing file"
        hint = "" if out.is_dir() or out.is_symlink() else " (--overwrite replaces it)"
        raise InputError(f"{out} is {what}: give the name of a new HTML file{hint}", key="--out")
    write_report(run, out, lang=args.lang, green=args.green, amber=args.amber)
    print(f"written: {out}")
    return EXIT_OK


def _add_dask(p: argparse.ArgumentParser) -> None:
    """``--workers N`` / ``--scheduler ADDRESS`` for the commands that run many draws (as ``edusim run``)."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="run the chunks of draws on a local Dask cluster of N worker processes (same results)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run them on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (same results)")


def _add_sensitivity(p: argparse.ArgumentParser) -> None:
    from sim.sensitivity.defaults import DEFAULT_LEVER_LEVELS, DEFAULT_N, DEFAULT_REPLICATES

    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML")
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol",
                   help="sobol: first- and total-order indices (default); morris: elementary-effects screening")
    p.add_argument("--n", type=int, help=f"base sample size: Sobol' N, a power of 2 (N·(k+2) design points; default "
                   f"{DEFAULT_N['sobol']}), or Morris trajectories (N·(k+1) points; default {DEFAULT_N['morris']})")
    p.add_argument("--replicates", type=int, default=DEFAULT_REPLICATES,
                   help=f"draws per design point, same factor values, different noise (default {DEFAULT_REPLICATES})")
    p.add_argument("--factors", metavar="NAME,…", help="uncertainties to study (default: every non-fixed one)")
    p.add_argument("--lever", action="append", default=[], metavar="KEY=LO:HI",
                   help="also study a numeric lever over [LO, HI], e.g. levers.rotation.share=0.05:0.30 "
                   "(repeatable; each lever combination is a separate model run: keep levers few)")
    p.add_argument("--lever-levels", type=int, default=DEFAULT_LEVER_LEVELS,
                   help=f"equally spaced values of each lever (default {DEFAULT_LEVER_LEVELS})")
    p.add_argument("--area", choices=("region", "south"), default="region", help="area of the outcomes")
    p.add_argument("--seed", type=int, help="root seed (overrides the scenario): design, noise and bootstrap")
    p.add_argument("--out", metavar="DIR", help="output folder (default outputs/sensitivity-NAME-METHOD)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_dask(p)
    _add_overwrite(p)


def _sensitivity(args: argparse.Namespace) -> int:
    """Sobol' or Morris indices of each target's value and probability; CSV, tornado charts, top factors."""
    from pathlib import Path

    from sim.runner import load_with_overrides
    from sim.sensitivity import n_points, sensitivity, summary_text

    scenario = load_with_overrides(args.scenario, seed=args.seed)
    result, out, skipped = sensitivity(
        scenario, method=args.method, n=args.n, replicates=args.replicates, factors=args.factors,
        levers=args.lever, lever_levels_count=args.lever_levels, area=args.area,
        out_dir=None if args.out is None else Path(args.out), progress=not args.quiet,
        scenario_file=args.scenario, workers=args.workers, scheduler=args.scheduler,
        overwrite=args.overwrite)
    d = result.design
    print(f"\n{scenario.name}: {args.method} sensitivity of each target ({args.area}) to {len(d.factors)} factors: "
          f"{n_points(d.method, d.n, len(d.factors))} design points × {args.replicates} replicates = "
          f"{d.n_points * args.replicates} draws (seed {scenario.seed})\n")
    print(summary_text(result), end="")
    for note in skipped:
        print(f"skipped: {note}")
    print(f"written: {out}/ (indices.csv, design.csv, outcomes.csv, sensitivity.md, scenario.resolved.yaml, "
          "provenance.json, figures/tornado-*.png|svg)")
    return EXIT_OK


def _add_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML")
    p.add_argument("--lever", action="append", required=True, metavar="KEY=LO:HI:N",
                   help="a dotted scenario key and its grid, e.g. levers.rotation.share=0:0.5:6 (N evenly spaced "
                   "values; whole numbers for an integer key); give one or two")
    p.add_argument("--targets", metavar="ID,ID…", help="targets to evaluate (default: all of the scenario's set)")
    p.add_argument("--area", default="region", help="area of the printed table: region (default), south or "
                   "every_county (the files hold every area)")
    p.add_argument("--draws", type=int, help="number of Monte Carlo draws (overrides the scenario)")
    p.add_argument("--seed", type=int, help="root seed (overrides the scenario)")
    p.add_argument("--out", metavar="DIR", help="sweep folder (default outputs/sweep-NAME-LEVER…)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_dask(p)
    _add_overwrite(p)


def _sweep(args: argparse.Namespace) -> int:
    """Target probabilities over a one- or two-lever grid, every point on the same draws (CRN)."""
    from sim.levers import parse_lever
    from sim.runner import load_with_overrides
    from sim.solve import check_area
    from sim.sweep import run_sweep, sweep_table

    levers = [parse_lever(text) for text in args.lever]
    area = check_area(args.area)
    ids = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    scenario = load_with_overrides(args.scenario, draws=args.draws, seed=args.seed)
    result = run_sweep(scenario, levers, target_ids=ids, out_dir=args.out, progress=not args.quiet,
                       workers=args.workers, scheduler=args.scheduler, overwrite=args.overwrite)
    print(f"\n{scenario.name}: probability of each target ({area}) per grid point, {scenario.draws} draws "
          "(95% Wilson interval, %; every point on the same draws and seed)\n")
    print(sweep_table(result.dataset, area))
    print(f"written: {result.out_dir}/ (sweep.nc, sweep.csv, scenario.resolved.yaml, provenance.json, "
          f"figures/: {len(result.figures)} files)")
    return EXIT_OK


def _add_solve(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML")
    p.add_argument("--target", required=True, metavar="ID", help="target id, e.g. T5")
    p.add_argument("--probability", required=True, type=float, metavar="P",
                   help="required probability of meeting the target, in (0, 1], e.g. 0.8")
    p.add_argument("--lever", required=True, metavar="KEY", help="dotted scenario key, e.g. levers.dispatch.per_year")
    p.add_argument("--range", metavar="LO:HI", help="values searched (default 0:1 for a share; required "
                   "otherwise); write --range=-1:1 when LO is negative")
    p.add_argument("--tolerance", type=float, help="bracket width at which a continuous search stops, in the "
                   "lever's units (default (HI-LO)/100; integer levers are solved exactly)")
    p.add_argument("--area", default="region", help="region (default), south or every_county")
    p.add_argument("--draws", type=int, help="number of Monte Carlo draws (overrides the scenario)")
    p.add_argument("--seed", type=int, help="root seed (overrides the scenario)")
    p.add_argument("--out", metavar="DIR", help="folder (default outputs/solve-NAME-TARGET-AREA-LEVER)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_overwrite(p)


def _solve(args: argparse.Namespace) -> int:
    """The smallest lever value whose probability of a target reaches a level (monotone search, CRN)."""
    from sim.levers import parse_range
    from sim.runner import load_with_overrides
    from sim.solve import check_area, solve

    value_range = parse_range(args.range) if args.range is not None else None
    area = check_area(args.area)
    scenario = load_with_overrides(args.scenario, draws=args.draws, seed=args.seed)
    report = solve(scenario, args.target, args.probability, args.lever, value_range=value_range, area=area,
                   tolerance=args.tolerance, out_dir=args.out, progress=not args.quiet,
                   overwrite=args.overwrite)
    print()
    print(report.text, end="")
    print(f"written: {report.out_dir}/ (solve.csv, solve.txt, solve.json, scenario.resolved.yaml, figures/)")
    return EXIT_OK


def _add_optimize(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML")
    p.add_argument("--target", required=True, action="append", metavar="ID",
                   help="target id, e.g. T5; repeat for several (each must reach the probability)")
    p.add_argument("--probability", required=True, type=float, metavar="P",
                   help="required probability of meeting every target, in (0, 1], e.g. 0.8")
    p.add_argument("--levers", required=True, metavar="KEY[=LO:HI],…",
                   help="levers to combine, comma-separated, each with its range (a share defaults to 0:1), e.g. "
                   "levers.dispatch.per_year=0:10000,levers.rotation.share")
    p.add_argument("--budget", type=float, metavar="CNY", help="instead of the cheapest combination reaching P, "
                   "the highest probability whose median total cost is within this many CNY")
    p.add_argument("--trials", type=int, default=40, metavar="N", help="candidates evaluated (default 40; each "
                   "is a full run of the scenario's draws)")
    p.add_argument("--area", default="region", help="region (default), south or every_county")
    p.add_argument("--draws", type=int, help="number of Monte Carlo draws (overrides the scenario)")
    p.add_argument("--seed", type=int, help="root seed (overrides the scenario)")
    p.add_argument("--out", metavar="DIR", help="folder (default outputs/optimize-NAME-TARGETS-LEVERS)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_overwrite(p)


def _optimize(args: argparse.Namespace) -> int:
    """The cheapest lever combination reaching the targets' probability, or the best within a budget (Optuna)."""
    from sim.optimize import optimize
    from sim.runner import load_with_overrides

    scenario = load_with_overrides(args.scenario, draws=args.draws, seed=args.seed)
    report = optimize(scenario, args.target, args.probability, args.levers, budget=args.budget, trials=args.trials,
                      area=args.area, out_dir=args.out, progress=not args.quiet, overwrite=args.overwrite)
    print()
    print(report.text, end="")
    print(f"written: {report.out_dir}/ (trials.csv, pareto.csv, optimize.txt, optimize.json, "
          "scenario.resolved.yaml, figures/pareto.png|svg)")
    return EXIT_OK


def _add_hindcast(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML with the levers of the time, e.g. "
                   "scenarios/history.yaml")
    p.add_argument("--start", type=int, metavar="Y0", help="start year, 2011–2024: the model starts from that "
                   "year's published totals (default: the scenario's start_year)")
    p.add_argument("--until", type=int, metavar="Y1", help="last simulated year, after Y0 (default: the "
                   "scenario's horizon)")
    p.add_argument("--fit-until", type=int, metavar="Y", help="last fitted year: years after it are scored as "
                   "held out (default 2016)")
    p.add_argument("--draws", type=int, help="number of Monte Carlo draws (overrides the scenario)")
    p.add_argument("--seed", type=int, help="root seed (overrides the scenario)")
    p.add_argument("--observations", metavar="FILE", help="observation table (default "
                   "calibration/data/observations.csv)")
    p.add_argument("--out", metavar="DIR", help="run folder (default outputs/hindcast-NAME-Y0-Y1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_overwrite(p)


def _hindcast(args: argparse.Namespace) -> int:
    """Run a scenario over the published past; scoreboard of MAPE and band coverage, fans with observations."""
    from sim.hindcast import run_hindcast
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    result = run_hindcast(scenario, args.start, args.until, draws=args.draws, seed=args.seed,
                          fit_until=args.fit_until, out_dir=args.out, observations_file=args.observations,
                          progress=not args.quiet, overwrite=args.overwrite, command=" ".join(["edusim", *sys.argv[1:]])
                          if sys.argv and sys.argv[0].endswith("edusim") else None)
    text = result.markdown
    print("\n" + text[text.index("## Scoreboard"):text.index("## Year by year")].rstrip())
    print(f"\nwritten: {result.out_dir}/ (hindcast.csv, hindcast.md, figures/, scenario.resolved.yaml, "
          "provenance.json)")
    return EXIT_OK


def _add_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG", help="calibration YAML (docs/calibration.md)")
    p.add_argument("--out", metavar="DIR", help="posterior folder (default calibration/posterior/NAME)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="simulate the particles on a local Dask cluster of N worker processes (same posterior)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="simulate them on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (same posterior)")


def _calibrate(args: argparse.Namespace) -> int:
    """Infer uncertain parameters from observations with ABC-SMC; write a posterior folder."""
    from sim.calibrate import calibrate, load_config, output_folder
    from sim.scaleout import dask_client

    config, scenario, priors = load_config(args.config)
    output_folder(config, args.out)  # refuse a folder of the user's before starting a cluster
    with dask_client(args.workers, args.scheduler) as client:
        result = calibrate(config, scenario, priors, args.out, client=client, config_file=args.config)
    print(f"{config.name}: {result.simulated} particles simulated in {result.seconds:.0f} s; posterior "
          f"(mean, 90% interval):")
    for name in result.posterior.names:
        lo, hi = result.posterior.quantiles(name, (0.05, 0.95))
        print(f"  {name}: {result.posterior.mean(name):.4g} ({lo:.4g}–{hi:.4g})")
    print(f"written: {result.out_dir}/ (particles.csv, posterior.json, generations.csv, predictive.csv, "
          "calibration.md, figures)")
    return EXIT_OK


#: Subcommands: name → (add its arguments, handler, one-line help). ``run``, ``compare``, … are added here.
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Handler, str]] = {
    "validate": (_add_validate, _validate, "check scenario and target-set files; print every problem"),
    "show": (_add_show, _show, "print a scenario fully resolved (defaults and extends applied) as YAML"),
    "run": (_add_run, _run, "run a scenario's Monte Carlo ensemble; print target probabilities, write outputs/NAME"),
    "plot": (_add_plot, _plot, "draw a run's fan charts and target-probability chart (PNG and SVG)"),
    "compare": (_add_compare, _compare, "compare runs: target probabilities side by side with paired differences"),
    "diagnose": (_add_diagnose, _diagnose, "per county: chance of quality balance by 2027/2035 and what binds"),
    "report": (_add_report, _report, "write one self-contained HTML report of a run"),
    "sensitivity": (_add_sensitivity, _sensitivity,
                    "global sensitivity (Sobol' or Morris, SALib) of each target to uncertainties and levers"),
    "sweep": (_add_sweep, _sweep, "target probabilities over a grid of one or two levers (curves, heatmaps)"),
    "solve": (_add_solve, _solve, "smallest lever value at which a target's probability reaches a level"),
    "optimize": (_add_optimize, _optimize,
                 "cheapest combination of levers reaching the targets' probability (or best within a budget)"),
    "hindcast": (_add_hindcast, _hindcast,
                 "run a scenario over the published past: MAPE and band coverage per series, fans with observations"),
    "calibrate": (_add_calibrate, _calibrate,
                  "infer uncertain parameters from published history (ABC-SMC, pyabc); write a posterior"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="edusim",
        description="Monte Carlo policy simulator for basic education in Xinjiang: the probability of "
        "reaching each target of the 2025 quality-balance plan under a scenario.",
    )
    parser.add_argument("--version", action="version", version=f"edusim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add_arguments, handler, help_text) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
        p.set_defaults(handler=handler)
    return parser


#: Most problems printed for one input; the rest are counted ("… and N more").
MAX_PRINTED_ERRORS = 50


def _print_errors(exc: InputError | InputErrors) -> None:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    more = len(errors) - MAX_PRINTED_ERRORS + (exc.omitted if isinstance(exc, InputErrors) else 0)
    for e in errors[:MAX_PRINTED_ERRORS]:
        print(f"error: {e}", file=sys.stderr)
    if more > 0:
        print(f"error: … and {more:,} more problems not shown; fix these first", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``edusim`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version and usage errors exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    try:
        status: int = args.handler(args)
        return status
    except (InputError, InputErrors) as exc:
        _print_errors(exc)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("EDUSIM_DEBUG") == "1":
            raise
        detail = " ".join(str(exc).split())
        print(
            f"internal error: {type(exc).__name__}: {detail}, please report "
            "(EDUSIM_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
