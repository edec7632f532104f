"""Teacher flows of a hindcast by cause: hires, exits split into retirement, voluntary attrition and the end of
special-post contracts, and the start stock's age structure (issue 13 follow-up, "teacher exits vs hiring plans").

``results.nc`` records ``hires`` and ``exits`` per county and year (``sim.ensemble._STOCKS``) but not the causes
of the exits. This script runs the same draws as ``edusim hindcast`` (same scenario, window, draws and seed: the
random numbers are those of the hindcast) and records, on the side, what the exit mechanisms return: retirements
and voluntary leavers (:func:`sim.mechanisms.teachers.retire_age_and_leave`) and contract leavers
(:func:`sim.mechanisms.teachers.special_post_contract_end`). It wraps those two functions for the length of the
run and passes every argument and result through unchanged, so the numbers are the model's own; nothing is
written to ``results.nc`` (the golden output is unchanged).

Usage::

    python calibration/teacher_flows.py scenarios/history.yaml --start 2011 --until 2019 --draws 64 \\
        --seed 20250126

Prints markdown tables (median and 5–95th percentiles over draws, compulsory level, region): hires, exits and
their causes per year; the start stock by age band; the parameters of the exits per draw (median, 5–95%).
Compulsory = primary + junior sections, the only levels the model simulates. The ``year`` is the school year
(autumn): the flows of ``year`` t are those between the autumns of t−1 and t, so the start year has none.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from sim.ensemble import run_draws, to_dataset
from sim.hindcast import fit_window
from sim.mechanisms import teachers as tmech
from sim.model import prepare
from sim.runner import load_with_overrides

AGE_BANDS = ("20–24", "25–29", "30–34", "35–39", "40–44", "45–49", "50–54", "55–59", "60+")


@contextmanager
def recording(module: Any, name: str, sink: list[Any]) -> Iterator[None]:
    """``module.name`` wrapped so that each call's (first argument, result) is appended to ``sink``."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        sink.append((args[0], result))
        return result

    setattr(module, name, wrapped)
    try:
        yield
    finally:
        setattr(module, name, original)


def band(values: np.ndarray) -> str:
    """``median (p5–p95)`` of a 1-d array over draws, in persons."""
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return f"{p50:,.0f} ({p5:,.0f}–{p95:,.0f})"


def share_band(values: np.ndarray) -> str:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return f"{100 * p50:.1f}% ({100 * p5:.1f}–{100 * p95:.1f}%)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--start", type=int, default=2011)
    parser.add_argument("--until", type=int, default=2019)
    parser.add_argument("--draws", type=int, default=64)
    parser.add_argument("--seed", type=int, default=20250126)
    args = parser.parse_args(argv)

    scenario = fit_window(load_with_overrides(args.scenario, draws=args.draws, seed=args.seed),
                          args.start, args.until)
    model = prepare(scenario)
    if scenario.chunk_size < scenario.draws:
        parser.error("this script records one call per year: use --draws up to the scenario's chunk_size "
                     f"({scenario.chunk_size})")
    exit_calls: list[Any] = []
    contract_calls: list[Any] = []
    with recording(tmech, "retire_age_and_leave", exit_calls), \
            recording(tmech, "special_post_contract_end", contract_calls):
        raw = run_draws(model, 0, scenario.draws)
    results = to_dataset(model, raw)
    years = [int(y) for y in results["year"].values]
    flow_years = years[1:]  # the start year has no flows
    if len(exit_calls) != len(flow_years) or len(contract_calls) != len(flow_years):
        raise RuntimeError(f"expected one call per flow year ({len(flow_years)}), got {len(exit_calls)} and "
                           f"{len(contract_calls)}")
    d = scenario.draws
    region = {name: results[f"{name}_area"].sel(area="region").values[:d] for name in ("hires", "exits", "teachers")}

    print(f"# Teacher flows of the hindcast {scenario.name} {args.start}→{args.until}\n")
    print(f"`python calibration/teacher_flows.py {args.scenario} --start {args.start} --until {args.until} "
          f"--draws {d} --seed {args.seed}`\n")
    print("Compulsory level (primary + junior), region, persons: median (5–95th percentile) over draws. "
          "Exits = retirements + voluntary attrition + special-post contract leavers; the rate is exits over "
          "the stock at the start of the year (the previous autumn's teachers).\n")
    print("| year | teachers (autumn) | hires | exits | exit rate | retirements | voluntary attrition | "
          "contract leavers | retirement share of exits |")
    print("|---|---|---|---|---|---|---|---|---|")
    retired_sum = np.zeros(d)
    exits_sum = np.zeros(d)
    for i, year in enumerate(flow_years):
        stock, flows = exit_calls[i]
        _, contract = contract_calls[i]
        retired = flows.retired.sum(axis=(1, 2))[:d].astype(float)
        attrition = flows.attrition.sum(axis=(1, 2))[:d].astype(float)
        leaving = contract.leaving.sum(axis=(1,))[:d].astype(float)
        start_stock = stock.sum(axis=(1, 2))[:d].astype(float)
        y = years.index(year)
        exits = region["exits"][:, y].astype(float)
        if 2012 <= year <= 2015:
            retired_sum += retired
            exits_sum += exits
        print(f"| {year} | {band(region['teachers'][:, y])} | {band(region['hires'][:, y])} | {band(exits)} | "
              f"{share_band(exits / start_stock)} | {band(retired)} | {band(attrition)} | {band(leaving)} | "
              f"{share_band(retired / np.maximum(exits, 1))} |")
    period = [years.index(y) for y in flow_years if 2012 <= y <= 2015]
    if period:
        print(f"\nSums over {', '.join(str(years[i]) for i in period)} (the recruitment years 2011–2015 that the "
              "run simulates; 2011 is the start year):\n")
        print(f"* hires: {band(region['hires'][:, period].sum(axis=1))}")
        from sim.baseline import load_counties

        xpcc_codes = load_counties(include_xpcc=True).query("xpcc")["code"].astype(str).tolist()
        county = results["county"].astype(str).values
        outside = ~np.isin(county, xpcc_codes)
        if not outside.all():
            hires = results["hires"].values[:d][:, period][:, :, outside].sum(axis=(1, 2))
            print(f"* hires outside the XPCC cities (for a published total that excludes them): {band(hires)}")
        print(f"* exits: {band(exits_sum)}; retirements {band(retired_sum)}, "
              f"{share_band(retired_sum / np.maximum(exits_sum, 1))} of exits")

    first_stock = exit_calls[0][0][:d].sum(axis=1).astype(float)  # (D, 9) at the start of the first flow year
    shares = first_stock / first_stock.sum(axis=1, keepdims=True)
    print(f"\n## Start stock by age band (autumn {args.start}, before the first year's exits)\n")
    print("| band | " + " | ".join(AGE_BANDS) + " |")
    print("|---|" + "---|" * len(AGE_BANDS))
    print("| share of teachers (median over draws) | "
          + " | ".join(f"{100 * v:.1f}%" for v in np.median(shares, axis=0)) + " |")

    from sim.model import sample_parameters
    from sim.rng import Streams

    params = sample_parameters(scenario, Streams(scenario.seed), 0, -(-d // 64) * 64)
    print("\n## Exit parameters of these draws (median, 5–95%)\n")
    for name in ("attrition.rural_rate", "attrition.town_rate", "attrition.urban_rate", "attrition.young_factor",
                 "special_post.retention_share", "teachers.female_share", "drift.rural_to_town_rate"):
        v = np.asarray(params[name])[:d]
        p5, p50, p95 = np.percentile(v, [5, 50, 95])
        print(f"* `{name}`: {p50:.3f} ({p5:.3f}–{p95:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
