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
        except (InputError, InputErrors) as exc:
            _print_errors(exc)
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


def _show(args: argparse.Namespace) -> int:
    """Print the resolved scenario (defaults, extends, uncertainty defaults applied) as YAML."""
    from sim.parameters import markdown_table
    from sim.scenario import load_scenario, resolved_yaml

    scenario = load_scenario(args.file)
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


def _run(args: argparse.Namespace) -> int:
    """Run a scenario: the target table on stdout, the run folder on disk."""
    from sim.runner import load_with_overrides, run_scenario

    scenario = load_with_overrides(args.scenario, draws=args.draws, seed=args.seed)
    result = run_scenario(scenario, args.out, progress=not args.quiet, scenario_file=args.scenario)
    print(f"\n{scenario.name}: probability of reaching each target over {scenario.draws} draws "
          f"(95% Wilson interval; median year first met)\n")
    print(result.table)
    print(f"written: {result.out_dir}/ (results.nc, targets.csv, targets.md, scenario.resolved.yaml, "
          "provenance.json)")
    print("caveat: schools are a synthetic registry matched to published totals (calibration/REGISTRY.md).")
    return EXIT_OK


#: Subcommands: name → (add its arguments, handler, one-line help). ``run``, ``compare``, … are added here.
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Handler, str]] = {
    "validate": (_add_validate, _validate, "check scenario and target-set files; print every problem"),
    "show": (_add_show, _show, "print a scenario fully resolved (defaults and extends applied) as YAML"),
    "run": (_add_run, _run, "run a scenario's Monte Carlo ensemble; print target probabilities, write outputs/NAME"),
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


def _print_errors(exc: InputError | InputErrors) -> None:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    for e in errors:
        print(f"error: {e}", file=sys.stderr)


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
