"""Which step of the year makes a draw's staffing fall when more teachers are dispatched (issue 16 item 5).

Runs the setting of ``tests/test_monotone.py`` (the baseline on three counties, the establishment at the national
norm, 64 draws to 2030) on the grid of ``levers.dispatch.per_year`` (0, 2,500, 5,000, 7,500, 15,000 a year for the
region, scaled) with ``levers.dispatch.term_years`` set on the command line, on common random numbers. After every
step of every year it records, per draw, county and level, the teachers counted toward the staffing norm
(``sim.steps.counted_teachers``) and the dispatched teachers in post. For each pair of consecutive grid values it
prints, per step, the (draw, county, level) cells where the step **creates** a reversal (the higher lever value
had at least as many counted teachers before the step and fewer after it) and where it **repairs** one, then the
draws and cells where the recorded T5 (``staffing_norm_met_by_county``), ``teachers_counted`` and
``dispatched_in_post`` fall along the grid. ``-v`` prints, for each T5 reversal, the step-by-step difference of the
county's counted teachers over the three years before it.

Usage (from the repository's folder)::

    PYTHONPATH=. .venv/bin/python benchmarks/monotone_steps.py --term 3
    PYTHONPATH=. .venv/bin/python benchmarks/monotone_steps.py --term 3 \\
        --set levers.recruitment.special_post_per_year=0 --fix drift.rural_to_town_rate=0.0

``--set KEY=VALUE`` overrides a lever (:func:`sim.scenario.replace`); ``--fix NAME=VALUE`` fixes an uncertainty
(switching a mechanism off to see whether it is the one that reverses draws).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

GRID = (0, 2500, 5000, 7500, 15000)
"""The dispatch grid of ``tests/test_monotone.py`` (``DISPATCH_GRID``)."""


def _value(text: str) -> object:
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def record(scenario):  # type: ignore[no-untyped-def]
    """Run ``scenario``; return ``(trace, dataset)``: after every step of every year ``((year, step), counted,
    dispatched)`` with ``(D, C·2)`` counted and dispatched teachers per county and level."""
    import sim.cohort
    from sim.ensemble import run
    from sim.model import level_county_sum
    from sim.steps import counted_teachers

    trace: list[tuple[tuple[int, str], np.ndarray, np.ndarray]] = []
    original = sim.cohort.steps_for

    def steps_for(engine: str):  # type: ignore[no-untyped-def]
        def wrap(step):  # type: ignore[no-untyped-def]
            def function(m, st, p, r, year):  # type: ignore[no-untyped-def]
                result = step.function(m, st, p, r, year)
                c = counted_teachers(m, st, m.scenario.levers.assessment.dispatched_count_toward)
                n = c["staffing"].shape[0]
                trace.append(((year, step.name), level_county_sum(c["staffing"], m.sections).reshape(n, -1),
                              level_county_sum(c["dispatched"], m.sections).reshape(n, -1)))
                return result
            return dataclasses.replace(step, function=function)
        return tuple(wrap(s) for s in original(engine))

    sim.cohort.steps_for = steps_for
    try:
        ds = run(scenario)
    finally:
        sim.cohort.steps_for = original
    return trace, ds


def main(argv: list[str] | None = None) -> int:
    from scenario_files import AT_NORM, SCENARIOS

    from sim.scenario import load_scenario, replace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--term", type=int, default=3, help="levers.dispatch.term_years")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="lever override")
    parser.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE", help="fixed uncertainty")
    parser.add_argument("-v", action="store_true", help="trace each T5 reversal step by step")
    args = parser.parse_args(argv)

    fixed = "".join(f"  {name}: {{dist: fixed, value: {value}}}\n" for name, value in
                    (item.split("=", 1) for item in args.fix))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monotone.yaml"
        path.write_text(f"name: monotone\nextends: {SCENARIOS / 'baseline.yaml'}\ndraws: 64\nchunk_size: 64\n"
                        "horizon: 2030\nbaseline: {counties: ['653131', '650522', '653121']}\n" + AT_NORM + fixed,
                        encoding="utf-8")
        base = load_scenario(path)
    overrides = {"levers.dispatch.term_years": args.term}
    overrides.update({k: _value(v) for k, v in (item.split("=", 1) for item in args.set)})
    base = replace(base, overrides)
    runs = {x: record(replace(base, {"levers.dispatch.per_year": x})) for x in GRID}

    creates: Counter[str] = Counter()
    repairs: Counter[str] = Counter()
    for lo, hi in itertools.pairwise(GRID):
        previous = None
        for (key, low, _), (_, high, _) in zip(runs[lo][0], runs[hi][0], strict=True):
            diff = high - low
            if previous is not None:
                creates[key[1]] += int(((previous >= 0) & (diff < 0)).sum())
                repairs[key[1]] += int(((previous < 0) & (diff >= 0)).sum())
            previous = diff
    print(f"term {args.term} years; (draw, county, level) cells over the 4 steps of the grid")
    print(f"{'step':22s} {'creates':>8s} {'repairs':>8s}")
    for step in creates:
        print(f"{step:22s} {creates[step]:8d} {repairs[step]:8d}")
    print(f"{'variable':30s} {'cells':>6s} {'draws':>6s}")
    for name in ("staffing_norm_met_by_county", "teachers_counted", "dispatched_in_post"):
        bad = np.zeros(runs[GRID[0]][1][name].shape, dtype=bool)
        for lo, hi in itertools.pairwise(GRID):
            bad |= runs[hi][1][name].values < runs[lo][1][name].values
        print(f"{name:30s} {int(bad.sum()):6d} {int(bad.reshape(bad.shape[0], -1).any(axis=1).sum()):6d}")
    if args.v:
        name = "staffing_norm_met_by_county"
        years = [int(y) for y in runs[GRID[0]][1].year.values]
        for lo, hi in itertools.pairwise(GRID):
            bad = runs[hi][1][name].values < runs[lo][1][name].values
            for d, y, c in zip(*np.nonzero(bad), strict=True):
                print(f"T5 falls {lo} -> {hi}: draw {d}, {years[y]}, county {c} (primary, junior)")
                for (key, low, dl), (_, high, dh) in zip(runs[lo][0], runs[hi][0], strict=True):
                    if years[y] - 3 <= key[0] <= years[y]:
                        cells = slice(2 * c, 2 * c + 2)
                        print(f"    {key[0]} {key[1]:20s} counted {(high - low)[d, cells]} "
                              f"dispatched {(dh - dl)[d, cells]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
