"""Run folders written by ``edusim run``, read back (``edusim plot``, ``compare``, ``diagnose``, ``report``).

A run folder holds at least :data:`REQUIRED_FILES`: ``results.nc`` (the ensemble, :mod:`sim.ensemble`),
``targets.csv`` (the probability of every target, :mod:`sim.outcomes`), ``provenance.json`` and
``scenario.resolved.yaml``. :func:`open_run` reads them into a :class:`RunFolder` (``results.nc`` loaded into
memory and closed), with clear errors naming the file when the folder is missing, incomplete or unreadable.
"""

from __future__ import annotations

import contextlib
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr

from sim.errors import InputError, InputErrors

if TYPE_CHECKING:
    from sim.targets import Target

__all__ = ["REQUIRED_FILES", "RunFolder", "is_run_folder", "open_run"]


@dataclass
class RunFolder:
    """A run folder written by ``edusim run``, read back."""

    path: Path
    results: xr.Dataset
    provenance: dict[str, Any]
    rows: list[dict[str, str]]
    """``targets.csv`` rows."""
    resolved_yaml: str
    targets: list[Target] = field(default_factory=list)
    """The target set named in the provenance (empty when that file is gone)."""

    @property
    def name(self) -> str:
        return str(self.provenance.get("scenario_name") or self.path.name)

    @property
    def horizon(self) -> int:
        return int(self.results["year"].values[-1])


REQUIRED_FILES = ("results.nc", "targets.csv", "provenance.json", "scenario.resolved.yaml")


def is_run_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and all((p / f).is_file() for f in REQUIRED_FILES)


def open_run(path: str | Path) -> RunFolder:
    """Read a run folder (``results.nc`` loaded into memory, the file closed).

    Raises
    ------
    InputError
        When ``path`` does not exist, is not a run folder, or one of its files cannot be read.
    """
    from sim.targets import load_target_set

    p = Path(path)
    if not p.exists():
        raise InputError("no such run folder (make one with `edusim run SCENARIO`)", file=str(path))
    if not p.is_dir():
        raise InputError("not a run folder: a file, expected the folder written by `edusim run`", file=str(path))
    missing = [f for f in REQUIRED_FILES if not (p / f).is_file()]
    if missing:
        raise InputError(f"not a run folder: missing {', '.join(missing)} (expected the folder written by "
                         "`edusim run`)", file=str(path))
    try:
        with xr.open_dataset(p / "results.nc", engine="h5netcdf") as ds:
            results = ds.load()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read results.nc: {exc}", file=str(p / "results.nc")) from None
    try:
        record = json.loads((p / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read provenance.json: {exc}", file=str(p / "provenance.json")) from None
    with open(p / "targets.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    needed = {"target", "scope", "probability", "ci95_low", "ci95_high"}
    if rows and not needed <= set(rows[0]):
        raise InputError(f"targets.csv lacks columns {sorted(needed - set(rows[0]))}", file=str(p / "targets.csv"))
    targets: list[Target] = []
    if record.get("target_set"):
        with contextlib.suppress(InputError, InputErrors, OSError):
            targets = list(load_target_set(record["target_set"]).targets)
    return RunFolder(p, results, record, rows, (p / "scenario.resolved.yaml").read_text(encoding="utf-8"), targets)
