"""``edusim sweep``: the probability of every target over a grid of one or two levers.

A lever is a dotted scenario key holding a number (``levers.dispatch.per_year``, ``levers.rotation.share``,
``uncertainties.attrition.rural_rate.mean``…); ``KEY=LO:HI:N`` asks for ``N`` evenly spaced values from ``LO`` to
``HI`` (integers for an integer key; keys, ranges and the integer rule are read by :mod:`sim.levers`). Every
grid point is the scenario with those values (validated like the file, :func:`sim.scenario.replace`), run over
the same draws with the same seed: the random streams of :mod:`sim.rng` are keyed by draw and component, not by
scenario, so the grid points share their random numbers (common random numbers, CRN). A difference between two
points is then the lever's effect on the same futures, and a curve is as smooth as the model: a grid point
equal to the scenario's own value reproduces its run exactly.

For each grid point, target and scope (``region``, ``south``, ``every_county``) the sweep records the share of
draws meeting the target with its 95% Wilson interval (:mod:`sim.outcomes`). The folder (default
``outputs/sweep-NAME-LEVER…``) is written whole or not at all: ``sweep.nc`` (dims: the lever keys, ``target``,
``area``; with the median total cost and its 90% interval per grid point, :mod:`sim.costs`), ``sweep.csv``
(with the cost columns), ``scenario.resolved.yaml``, ``provenance.json`` and ``figures/`` (curves for one lever,
heatmaps for two; :mod:`sim.sweep_plots`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import xarray as xr

from sim.errors import InputError, InputErrors
from sim.levers import LeverInfo, LeverRange, check_values, grid_values, lever_info, lever_value
from sim.outcomes import TargetOutcome, evaluate
from sim.output import check_destination, write_folder_atomically
from sim.scenario import Scenario, replace, resolved_yaml
from sim.targets import Target, load_target_set

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "AREAS",
    "LeverGrid",
    "SweepResult",
    "cost_summary",
    "evaluate_point",
    "point_results",
    "provenance_record",
    "run_sweep",
    "select_targets",
    "short_key",
    "sweep_csv",
    "sweep_dataset",
    "sweep_table",
    "write_atomically",
]

#: Scopes of a target, in the order of the ``area`` dimension.
AREAS = ("region", "south", "every_county")


@dataclass(frozen=True)
class LeverGrid:
    """The values of one lever in a sweep."""

    lever: LeverInfo
    values: np.ndarray


# ---------------------------------------------------------------------------------------------------------
# One grid point


def point_results(scenario: Scenario, changes: Mapping[str, int | float], *,
                  client: Client | None = None) -> xr.Dataset:
    """The results Dataset of ``scenario`` with ``changes`` over all its draws (same seed: CRN).

    With a Dask ``client`` the chunks of draws run on its workers (:func:`sim.ensemble.run_draws`): the same
    arrays as in this process.
    """
    from sim.cohort import prepare
    from sim.ensemble import run_draws, to_dataset

    changed = replace(scenario, dict(changes)) if changes else scenario
    model = prepare(changed)
    return to_dataset(model, run_draws(model, 0, changed.draws, client=client))


def evaluate_point(scenario: Scenario, changes: Mapping[str, int | float], targets: Sequence[Target], *,
                   client: Client | None = None) -> list[TargetOutcome]:
    """Run ``scenario`` with ``changes`` over all its draws (same seed: CRN) and evaluate ``targets``."""
    return evaluate(point_results(scenario, changes, client=client), targets)


def cost_summary(results: xr.Dataset) -> tuple[float, float, float]:
    """Median, 5% and 95% quantiles over the draws of the total cost (``cost_plan_total``, CNY; NaN without it)."""
    if "cost_plan_total" not in results:
        return (math.nan, math.nan, math.nan)
    low, mid, high = np.quantile(results["cost_plan_total"].values.astype(float), [0.05, 0.5, 0.95])
    return (float(mid), float(low), float(high))


def select_targets(scenario: Scenario, ids: Sequence[str] | None) -> list[Target]:
    """The scenario's targets, or the subset ``ids`` (unknown ids are errors naming the nearest)."""
    target_set = load_target_set(scenario.targets)
    if not ids:
        return list(target_set.targets)
    errors: list[InputError] = []
    chosen: list[Target] = []
    for target_id in ids:
        try:
            chosen.append(target_set.get(target_id))
        except InputError as exc:
            errors.append(InputError(exc.message, file=str(scenario.targets), key="--targets"))
    if errors:
        raise InputErrors(errors)
    return chosen


# ---------------------------------------------------------------------------------------------------------
# The sweep


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its Dataset and the folder written."""

    dataset: xr.Dataset
    out_dir: Path
    figures: list[Path] = field(default_factory=list)


def sweep_dataset(grids: Sequence[LeverGrid], targets: Sequence[Target],
                  outcomes: Mapping[tuple[int, ...], Sequence[TargetOutcome]],
                  costs: Mapping[tuple[int, ...], tuple[float, float, float]] | None = None) -> xr.Dataset:
    """Probability, interval and counts per grid point (index tuple → outcomes), target and area; with ``costs``
    (index tuple → :func:`cost_summary`) the median total cost and its 90% interval per grid point."""
    shape = (*(len(g.values) for g in grids), len(targets), len(AREAS))
    probability, lower, upper = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    met = np.full(shape, -1, dtype=np.int64)
    draws = 0
    target_index = {t.id: i for i, t in enumerate(targets)}
    for index, point in outcomes.items():
        for o in point:
            draws = o.draws
            if not o.computed:
                continue
            at = (*index, target_index[o.target], AREAS.index(o.scope))
            probability[at], lower[at], upper[at], met[at] = o.probability, o.ci_low, o.ci_high, o.met
    dims = (*(g.lever.key for g in grids), "target", "area")
    coords: dict[str, Any] = {
        g.lever.key: xr.Variable(g.lever.key, g.values, attrs={"units": g.lever.units,
                                                                 "long_name": g.lever.description or g.lever.key})
        for g in grids
    }
    coords["target"] = xr.Variable("target", [t.id for t in targets], attrs={"long_name": "target id"})
    coords["area"] = xr.Variable("area", list(AREAS), attrs={
        "long_name": "scope: region = all selected counties; south = its southern prefectures; every_county = "
        "the target holds in every county"})
    ds = xr.Dataset(
        {
            "probability": (dims, probability, {"units": "1 (share of draws)",
                                                "long_name": "probability of meeting the target (share of draws)"}),
            "lower": (dims, lower, {"units": "1 (share of draws)",
                                    "long_name": "lower bound of the 95% Wilson interval of the probability"}),
            "upper": (dims, upper, {"units": "1 (share of draws)",
                                    "long_name": "upper bound of the 95% Wilson interval of the probability"}),
            "draws_met": (dims, met, {"units": "draws", "long_name": "draws meeting the target (-1: not computed "
                                                                     "for this scope)"}),
            "target_text": ("target", [t.en for t in targets], {"long_name": "target wording (English)"}),
        },
        coords=coords,
    )
    ds.attrs["draws"] = draws
    if costs is not None:
        grid_shape = shape[:-2]
        summary = np.full((*grid_shape, 3), np.nan)
        for index, values in costs.items():
            summary[index] = values
        lever_dims = dims[:-2]
        for k, (name, text) in enumerate((("cost_median", "median"), ("cost_low", "5% quantile"),
                                           ("cost_high", "95% quantile"))):
            ds[name] = xr.DataArray(summary[..., k], dims=lever_dims, attrs={
                "units": "CNY", "long_name": f"{text} over the draws of the total cost of the computed programmes "
                "over the plan years (cost_plan_total of results.nc, sim/costs.py)"})
    return ds


def sweep_csv(ds: xr.Dataset) -> str:
    """One row per grid point, target and computed scope."""
    keys = [str(d) for d in ds["probability"].dims[:-2]]
    units = {k: ds[k].attrs.get("units", "") for k in keys}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f"{k} [{units[k]}]" for k in keys]
                    + ["target", "area", "probability", "ci95_low", "ci95_high", "draws_met", "draws"]
                    + (["cost_median_cny", "cost_p05_cny", "cost_p95_cny"] if "cost_median" in ds else []))
    frame = ds[["probability", "lower", "upper", "draws_met"]]
    for index in itertools.product(*(range(ds.sizes[k]) for k in keys)):
        point = frame.isel(dict(zip(keys, index, strict=True)))
        lever_values = [point[k].item() for k in keys]
        cost = ([f"{float(ds[v].isel(dict(zip(keys, index, strict=True)))):.0f}"
                 for v in ("cost_median", "cost_low", "cost_high")] if "cost_median" in ds else [])
        for target in ds["target"].values:
            for area in ds["area"].values:
                cell = point.sel(target=target, area=area)
                if int(cell["draws_met"]) < 0:
                    continue
                writer.writerow([*lever_values, target, area, f"{float(cell['probability']):.4f}",
                                 f"{float(cell['lower']):.4f}", f"{float(cell['upper']):.4f}",
                                 int(cell["draws_met"]), ds.attrs["draws"], *cost])
    return buffer.getvalue()


def write_atomically(out_dir: Path, fill: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Create ``out_dir`` whole or not at all, never over anything of the user's
    (:func:`sim.output.write_folder_atomically`)."""
    return write_folder_atomically(out_dir, fill, overwrite=overwrite)


def short_key(key: str) -> str:
    return key.split(".")[-1] if key.startswith("levers.") else key.replace(".", "_")


def default_sweep_dir(scenario: Scenario, keys: Sequence[str]) -> Path:
    """``outputs/sweep-NAME-LEVER[-LEVER]`` (the last part of each lever key)."""
    return Path("outputs") / "-".join(["sweep", scenario.name, *(short_key(k) for k in keys)])


def provenance_record(scenario: Scenario, started: datetime, command: str, **extra: Any) -> dict[str, Any]:
    from sim.output import provenance

    return provenance(resolved_yaml(scenario), seed=scenario.seed, draws=scenario.draws, engine="cohort",
                      started=started, scenario_name=scenario.name, command_kind=command,
                      common_random_numbers=True, **extra)


def run_sweep(
    scenario: Scenario,
    levers: Sequence[LeverRange | tuple[str, float, float, int]],
    *,
    target_ids: Sequence[str] | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    figures: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> SweepResult:
    """Run a one- or two-lever sweep of ``scenario`` and write its folder.

    The folder is checked before the sweep starts and replaced only if it is an earlier edusim output and
    ``overwrite`` (:func:`sim.output.check_destination`).

    Parameters
    ----------
    levers
        ``(key, lo, hi, n)`` for each lever (:func:`sim.levers.parse_lever`), one or two, distinct keys.
    target_ids
        Targets to evaluate (default: every target of the scenario's set).
    workers, scheduler
        Run the chunks of draws of each grid point on a local Dask cluster of ``workers`` processes, or on the
        Dask scheduler at ``scheduler`` (:func:`sim.scaleout.dask_client`). Neither: in this process. The
        probabilities are the same.
    """
    from tqdm import tqdm

    from sim.scaleout import dask_client

    if not 1 <= len(levers) <= 2:
        raise InputError(f"give one or two --lever options, got {len(levers)}", key="--lever")
    if len({k for k, *_ in levers}) != len(levers):
        raise InputError("the same lever is given twice", key="--lever")
    grids = []
    for key, lo, hi, n in levers:
        if n is None:
            raise InputError("expected LO:HI:N (the number of grid points N is missing)", key=key)
        info = lever_info(scenario, key)
        values = grid_values(info, lo, hi, n)
        check_values(scenario, info, values.tolist())
        grids.append(LeverGrid(info, values))
    targets = select_targets(scenario, target_ids)
    target = Path(out_dir) if out_dir is not None else default_sweep_dir(scenario, [g.lever.key for g in grids])
    check_destination(target, overwrite=overwrite)  # before the sweep, not after it
    started = datetime.now(UTC)
    points = list(itertools.product(*(range(len(g.values)) for g in grids)))
    outcomes: dict[tuple[int, ...], list[TargetOutcome]] = {}
    costs: dict[tuple[int, ...], tuple[float, float, float]] = {}
    # entered and left by hand: an InputError (a frozen dataclass) raised inside a `with` of a generator context
    # manager fails when contextlib sets its __traceback__, and would end as an internal error
    cluster = dask_client(workers, scheduler)
    client = cluster.__enter__()
    try:
        for index in tqdm(points, desc=f"{scenario.name}: grid points", unit="point", disable=not progress,
                          file=sys.stderr if stream is None else stream):
            changes = {g.lever.key: lever_value(g.lever, g.values[i]) for g, i in zip(grids, index, strict=True)}
            results = point_results(scenario, changes, client=client)
            outcomes[index] = evaluate(results, targets)
            costs[index] = cost_summary(results)
    finally:
        cluster.__exit__(None, None, None)
    ds = sweep_dataset(grids, targets, outcomes, costs)
    record = provenance_record(scenario, started, "sweep",
                     levers={g.lever.key: [lever_value(g.lever, v) for v in g.values] for g in grids},
                     targets=[t.id for t in targets], execution={"workers": workers, "scheduler": scheduler})
    ds.attrs.update(title=f"edusim sweep: {scenario.name}", seed=scenario.seed,
                    scenario_sha256=record["scenario_sha256"], git_commit=record["git_commit"],
                    common_random_numbers="every grid point runs the same draws with the same seed")
    written: list[Path] = []

    def fill(tmp: Path) -> None:
        ds.to_netcdf(tmp / "sweep.nc", engine="h5netcdf")
        (tmp / "sweep.csv").write_text(sweep_csv(ds), encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(resolved_yaml(scenario), encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        if figures:
            from sim.sweep_plots import write_sweep_figures

            written.extend(write_sweep_figures(ds, tmp / "figures"))

    done = write_atomically(target, fill, overwrite=overwrite)
    return SweepResult(ds, done, [done / p.relative_to(p.parents[1]) for p in written])


def sweep_table(ds: xr.Dataset, area: str = "region") -> str:
    """Plain-text table for the terminal: one row per grid point, one column per target (``area`` scope)."""
    keys = [str(d) for d in ds["probability"].dims[:-2]]
    sel = ds.sel(area=area)
    header = [f"{k} [{ds[k].attrs.get('units', '')}]" for k in keys] + [str(t) for t in ds["target"].values]
    with_cost = "cost_median" in ds
    if with_cost:
        header.append("cost, bn CNY (median)")
    rows = [header]
    for index in itertools.product(*(range(ds.sizes[k]) for k in keys)):
        point = sel.isel(dict(zip(keys, index, strict=True)))
        cells = [f"{point[k].item():g}" for k in keys]
        for target in ds["target"].values:
            cell = point.sel(target=target)
            p = float(cell["probability"])
            cells.append("n/a" if p != p else
                         f"{100 * p:.0f}% [{100 * float(cell['lower']):.0f}–{100 * float(cell['upper']):.0f}]")
        if with_cost:
            cells.append(f"{float(ds['cost_median'].isel(dict(zip(keys, index, strict=True)))) / 1e9:,.3f}")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows) + "\n"
