"""``edusim sweep``: the probability of every target over a grid of one or two levers.

A lever is a dotted scenario key holding a number (``levers.dispatch.per_year``, ``levers.rotation.share``,
``uncertainties.attrition.rural_rate.mean``…); ``KEY=LO:HI:N`` asks for ``N`` evenly spaced values from ``LO`` to
``HI`` (integers for an integer key). Every grid point is the scenario with those values (validated like the
file, :func:`sim.scenario.replace`), run over the same draws with the same seed: the random streams of
:mod:`sim.rng` are keyed by draw and component, not by scenario, so the grid points share their random numbers
(common random numbers, CRN). A difference between two points is then the lever's effect on the same futures,
and a curve is as smooth as the model: a grid point equal to the scenario's own value reproduces its run exactly.

For each grid point, target and scope (``region``, ``south``, ``every_county``) the sweep records the share of
draws meeting the target with its 95% Wilson interval (:mod:`sim.outcomes`). The folder (default
``outputs/sweep-NAME-LEVER…``) is written whole or not at all: ``sweep.nc`` (dims: the lever keys, ``target``,
``area``), ``sweep.csv``, ``scenario.resolved.yaml``, ``provenance.json`` and ``figures/`` (curves for one lever,
heatmaps for two; :mod:`sim.sweep_plots`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import xarray as xr
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.errors import InputError, InputErrors, suggest
from sim.outcomes import TargetOutcome, evaluate
from sim.output import check_destination, write_folder_atomically
from sim.parameters import PARAMETERS
from sim.scenario import _DIST_KEYS, Scenario, as_mapping, replace, resolved_yaml
from sim.targets import Target, load_target_set

__all__ = [
    "AREAS",
    "LeverGrid",
    "LeverInfo",
    "SweepResult",
    "check_values",
    "evaluate_point",
    "grid_values",
    "lever_info",
    "lever_value",
    "parse_lever",
    "parse_range",
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
#: Top-level sections whose numbers may be swept (the Monte Carlo settings and years may not).
LEVER_SECTIONS = ("levers", "uncertainties")
#: Most grid points per lever (each point is a full run of the scenario's draws).
MAX_POINTS = 200
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _number(text: str, what: str, key: str) -> float:
    if not re.fullmatch(_NUMBER, text.strip()):
        raise InputError(f"{what} must be a number, got {text!r}", key=key)
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{what} must be finite, got {text!r}", key=key)
    return value


def parse_range(text: str, option: str = "--range") -> tuple[float, float]:
    """``"LO:HI"`` → ``(LO, HI)`` with ``LO < HI``.

    >>> parse_range("0:5000")
    (0.0, 5000.0)
    """
    parts = text.split(":")
    if len(parts) != 2:
        raise InputError(f"expected LO:HI (e.g. 0:5000), got {text!r}", key=option)
    lo, hi = (_number(p, name, option) for p, name in zip(parts, ("LO", "HI"), strict=True))
    if not lo < hi:
        raise InputError(f"LO must be below HI, got {text!r}", key=option)
    return lo, hi


def parse_lever(text: str) -> tuple[str, float, float, int]:
    """``"KEY=LO:HI:N"`` → ``(KEY, LO, HI, N)`` with ``LO < HI`` and ``N ≥ 2``.

    >>> parse_lever("levers.rotation.share=0:0.5:6")
    ('levers.rotation.share', 0.0, 0.5, 6)
    """
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"expected KEY=LO:HI:N (e.g. levers.rotation.share=0:0.5:6), got {text!r}", key="--lever")
    parts = spec.split(":")
    if len(parts) != 3:
        raise InputError(f"expected LO:HI:N after '=' (e.g. 0:0.5:6), got {spec!r}", key=key)
    lo, hi = (_number(p, name, key) for p, name in zip(parts[:2], ("LO", "HI"), strict=True))
    if not re.fullmatch(r"\d+", parts[2].strip()):
        raise InputError(f"N (number of grid points) must be a whole number, got {parts[2]!r}", key=key)
    n = int(parts[2])
    if not 2 <= n <= MAX_POINTS:
        raise InputError(f"N (number of grid points) must be in [2, {MAX_POINTS}], got {n}", key=key)
    if not lo < hi:
        raise InputError(f"LO must be below HI, got {lo:g}:{hi:g}", key=key)
    return key, lo, hi, n


# ---------------------------------------------------------------------------------------------------------
# Levers: which keys, what kind of number, what units


@dataclass(frozen=True)
class LeverInfo:
    """A sweepable scenario key: its current value, whether it is integer-valued, its units and meaning."""

    key: str
    value: float
    integer: bool
    units: str
    description: str

    def format(self, value: float) -> str:
        """``value`` with the lever's units (``"2,500 persons/yr"``, ``"0.25 share (0–1)"``)."""
        number = f"{int(np.rint(value)):,}" if self.integer else f"{value:.4g}"
        return f"{number} {self.units}"


def _key_parts(dotted: str) -> list[str]:
    """Dotted key → path in the scenario mapping (an uncertainty's name itself contains dots)."""
    parts = dotted.split(".")
    if parts[0] == "uncertainties" and len(parts) > 2:  # as sim.scenario.replace reads them
        if parts[-1] in _DIST_KEYS:
            return ["uncertainties", ".".join(parts[1:-1]), parts[-1]]
        return ["uncertainties", ".".join(parts[1:])]
    return parts


def _field(parts: Sequence[str]) -> FieldInfo | None:
    """The pydantic field at ``parts`` of :class:`Scenario` (``None`` inside mappings such as uncertainties)."""
    model: Any = Scenario
    info = None
    for part in parts:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        model = info.annotation
    return info


def _units(parts: Sequence[str], description: str) -> str:
    """Units of a lever from its description (``(persons/yr)``) or the convention of its name."""
    name = parts[-1]
    found = re.search(r"\((\w+/yr)\)", description)
    if found:
        return found.group(1)
    if name.endswith("cny_month"):
        return "CNY/teacher/month"
    if name.endswith("_cny"):
        return "CNY/yr"
    if name.endswith("share") or name.endswith("_rate"):
        return "share (0–1)"
    if name.endswith("years"):
        return "years"
    if name.endswith("pupils"):
        return "pupils"
    if parts[0] == "uncertainties":
        return "units of the parameter (edusim show --parameters)"
    return "see docs/scenario.md"


def lever_info(scenario: Scenario, key: str) -> LeverInfo:
    """What ``key`` is in ``scenario``.

    Raises
    ------
    InputError
        When the key is unknown (with the nearest valid key), outside ``levers``/``uncertainties``, or not a
        single number (a switch, a choice, a per-year schedule or a list).
    """
    parts = _key_parts(key)
    if parts[0] not in LEVER_SECTIONS:
        raise InputError(
            f"not a lever: only keys under {' or '.join(LEVER_SECTIONS)} can be swept or solved for "
            f"(e.g. levers.rotation.share, levers.dispatch.per_year)", key=key)
    node: Any = as_mapping(scenario)
    for i, part in enumerate(parts):
        if not isinstance(node, dict):
            raise InputError(f"'{'.'.join(parts[:i])}' is a single value, it has no key '{part}'", key=key)
        if part not in node:
            raise InputError(f"unknown key '{part}'; {suggest(part, [str(k) for k in node])}", key=key)
        node = node[part]
    if isinstance(node, dict) and node and all(isinstance(k, int) for k in node):
        raise InputError(
            "not a single number but a per-year schedule (year → value); a sweep needs a scalar key: write the "
            "schedules you want to compare as scenario files and use edusim compare", key=key)
    if isinstance(node, dict):
        raise InputError(f"not a single number but a group; one of its keys: "
                         f"{', '.join(f'{key}.{k}' for k in node)}", key=key)
    if isinstance(node, list):
        raise InputError(f"not a single number but a list ({node!r}); only numeric keys can be swept", key=key)
    if isinstance(node, bool):
        raise InputError("a switch (true/false), not a number; run both settings and use edusim compare", key=key)
    if not isinstance(node, int | float):
        raise InputError(f"a choice ({node!r}), not a number; run each choice and use edusim compare", key=key)
    info = _field(parts)
    description = (info.description or "") if info is not None else ""
    # integer-valued when the field is declared int (a float field written as 3500000000 stays continuous)
    integer = info.annotation is int if info is not None else isinstance(node, int)
    units = _units(parts, description)
    if parts[0] == "uncertainties" and parts[1] in PARAMETERS:
        parameter = PARAMETERS[parts[1]]
        description = f"{parameter.description} ({parts[-1]} of its distribution)"
        units = parameter.units if parts[-1] in ("mean", "median", "low", "high", "mode", "value", "sd") else units
    return LeverInfo(key, float(node), integer, units, description)


def lever_value(info: LeverInfo, value: float) -> int | float:
    """The value written into the scenario: an ``int`` for an integer lever."""
    return int(np.rint(value)) if info.integer else float(value)


@dataclass(frozen=True)
class LeverGrid:
    """The values of one lever in a sweep."""

    lever: LeverInfo
    values: np.ndarray


def grid_values(info: LeverInfo, lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` evenly spaced values from ``lo`` to ``hi``; for an integer lever, rounded to distinct integers.

    >>> grid_values(LeverInfo("k", 0, True, "persons/yr", ""), 0, 10, 3).tolist()
    [0, 5, 10]
    """
    if not info.integer:
        return np.linspace(lo, hi, n)
    if lo != int(lo) or hi != int(hi):
        raise InputError(f"an integer lever needs whole-number LO and HI, got {lo:g}:{hi:g}", key=info.key)
    available = int(hi - lo) + 1
    if n > available:
        raise InputError(
            f"{n} grid points asked but only {available} whole numbers in [{lo:g}, {hi:g}] (integer lever)",
            key=info.key)
    return np.round(np.linspace(lo, hi, n)).astype(np.int64)


def check_values(scenario: Scenario, info: LeverInfo, values: Sequence[float]) -> None:
    """Every value is accepted by the scenario's validation (raises the scenario's own errors, naming the key).

    Checked before any run, so a bad grid fails at once and writes nothing.
    """
    for value in values:
        replace(scenario, {info.key: lever_value(info, value)})


# ---------------------------------------------------------------------------------------------------------
# One grid point


def evaluate_point(scenario: Scenario, changes: Mapping[str, int | float], targets: Sequence[Target]
                   ) -> list[TargetOutcome]:
    """Run ``scenario`` with ``changes`` over all its draws (same seed: CRN) and evaluate ``targets``."""
    from sim.ensemble import run

    changed = replace(scenario, dict(changes)) if changes else scenario
    return evaluate(run(changed), targets)


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
                  outcomes: Mapping[tuple[int, ...], Sequence[TargetOutcome]]) -> xr.Dataset:
    """Probability, interval and counts per grid point (index tuple → outcomes), target and area."""
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
    return ds


def sweep_csv(ds: xr.Dataset) -> str:
    """One row per grid point, target and computed scope."""
    keys = [str(d) for d in ds["probability"].dims[:-2]]
    units = {k: ds[k].attrs.get("units", "") for k in keys}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f"{k} [{units[k]}]" for k in keys]
                    + ["target", "area", "probability", "ci95_low", "ci95_high", "draws_met", "draws"])
    frame = ds[["probability", "lower", "upper", "draws_met"]]
    for index in itertools.product(*(range(ds.sizes[k]) for k in keys)):
        point = frame.isel(dict(zip(keys, index, strict=True)))
        lever_values = [point[k].item() for k in keys]
        for target in ds["target"].values:
            for area in ds["area"].values:
                cell = point.sel(target=target, area=area)
                if int(cell["draws_met"]) < 0:
                    continue
                writer.writerow([*lever_values, target, area, f"{float(cell['probability']):.4f}",
                                 f"{float(cell['lower']):.4f}", f"{float(cell['upper']):.4f}",
                                 int(cell["draws_met"]), ds.attrs["draws"]])
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
    levers: Sequence[tuple[str, float, float, int]],
    *,
    target_ids: Sequence[str] | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    figures: bool = True,
    overwrite: bool = False,
) -> SweepResult:
    """Run a one- or two-lever sweep of ``scenario`` and write its folder.

    The folder is checked before the sweep starts and replaced only if it is an earlier edusim output and
    ``overwrite`` (:func:`sim.output.check_destination`).

    Parameters
    ----------
    levers
        ``(key, lo, hi, n)`` for each lever (:func:`parse_lever`), one or two, distinct keys.
    target_ids
        Targets to evaluate (default: every target of the scenario's set).
    """
    from tqdm import tqdm

    if not 1 <= len(levers) <= 2:
        raise InputError(f"give one or two --lever options, got {len(levers)}", key="--lever")
    if len({k for k, *_ in levers}) != len(levers):
        raise InputError("the same lever is given twice", key="--lever")
    grids = []
    for key, lo, hi, n in levers:
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
    for index in tqdm(points, desc=f"{scenario.name}: grid points", unit="point", disable=not progress,
                      file=sys.stderr if stream is None else stream):
        changes = {g.lever.key: lever_value(g.lever, g.values[i]) for g, i in zip(grids, index, strict=True)}
        outcomes[index] = evaluate_point(scenario, changes, targets)
    ds = sweep_dataset(grids, targets, outcomes)
    record = provenance_record(scenario, started, "sweep",
                     levers={g.lever.key: [lever_value(g.lever, v) for v in g.values] for g in grids},
                     targets=[t.id for t in targets])
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
    rows = [header]
    for index in itertools.product(*(range(ds.sizes[k]) for k in keys)):
        point = sel.isel(dict(zip(keys, index, strict=True)))
        cells = [f"{point[k].item():g}" for k in keys]
        for target in ds["target"].values:
            cell = point.sel(target=target)
            p = float(cell["probability"])
            cells.append("n/a" if p != p else
                         f"{100 * p:.0f}% [{100 * float(cell['lower']):.0f}–{100 * float(cell['upper']):.0f}]")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows) + "\n"
