"""Run folders: written whole or not at all.

A run writes into a hidden temporary folder beside its destination and renames it into place at the end, so an
interrupted or failed run never leaves a half-written ``outputs/NAME/``. An existing folder of the same name is
replaced only after the new one is complete.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import xarray as xr

from sim.outcomes import TargetOutcome

PACKAGES = ("edusim", "numpy", "scipy", "xarray", "h5netcdf", "pandas", "pydantic", "pyyaml", "simpy", "matplotlib",
            "dask", "distributed")


def git_commit(path: Path | None = None) -> str:
    """The git commit of the source tree (with ``+dirty`` if it has uncommitted changes), or ``"unknown"``."""
    where = str(path or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(
            ["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def scenario_hash(resolved_yaml: str) -> str:
    """SHA-256 of the resolved scenario text: two runs with the same hash ran the same scenario."""
    return hashlib.sha256(resolved_yaml.encode("utf-8")).hexdigest()


def provenance(resolved_yaml: str, *, seed: int, draws: int, engine: str, started: datetime, **extra: Any) -> dict:
    return {
        "seed": seed,
        "draws": draws,
        "engine": engine,
        "scenario_sha256": scenario_hash(resolved_yaml),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "command": sys.argv,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }


def _percent(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def outcome_rows(outcomes: Sequence[TargetOutcome]) -> list[dict[str, Any]]:
    return [
        {
            "target": o.target,
            "scope": o.scope,
            "metric": o.metric,
            "probability": "" if not o.computed else f"{o.probability:.4f}",
            "ci95_low": "" if not o.computed else f"{o.ci_low:.4f}",
            "ci95_high": "" if not o.computed else f"{o.ci_high:.4f}",
            "draws_met": o.met if o.computed else "",
            "draws": o.draws,
            "median_first_year": "" if o.median_first_year is None else o.median_first_year,
            "note": o.reason,
        }
        for o in outcomes
    ]


def targets_csv(outcomes: Sequence[TargetOutcome]) -> str:
    rows = outcome_rows(outcomes)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["target"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def targets_table(outcomes: Sequence[TargetOutcome], labels: dict[str, str] | None = None) -> str:
    """Markdown table: one row per target, one column per scope (probability, 95% interval, median year met)."""
    labels = labels or {}
    scopes = list(dict.fromkeys(o.scope for o in outcomes))
    by_key = {(o.target, o.scope): o for o in outcomes}
    lines = [
        "| target | " + " | ".join(scopes) + " |",
        "|---|" + "---|" * len(scopes),
    ]
    for target in dict.fromkeys(o.target for o in outcomes):
        cells = []
        for scope in scopes:
            o = by_key.get((target, scope))
            if o is None:
                cells.append("")
            elif not o.computed:
                cells.append(f"not computed ({o.reason})")
            else:
                year = o.median_first_year if o.median_first_year is not None else "not by horizon"
                cells.append(f"{_percent(o.probability)} [{_percent(o.ci_low)}–{_percent(o.ci_high)}], met {year}")
        name = f"{target} {labels[target]}" if target in labels else target
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_folder_atomically(out_dir: Path, fill: Callable[[Path], None]) -> Path:
    """Create ``out_dir`` whole or not at all: ``fill(tmp)`` writes a hidden temporary folder beside it, which is
    renamed into place at the end; an existing folder of the same name is replaced only once the new one is
    complete, and nothing is left behind when ``fill`` fails."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        fill(tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def write_run(
    out_dir: Path,
    *,
    results: xr.Dataset,
    outcomes: Sequence[TargetOutcome],
    resolved_yaml: str,
    provenance_record: dict,
    labels: dict[str, str] | None = None,
    extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write a complete run folder atomically and return its path.

    ``extra(tmp_dir)`` may add files (figures) before the folder is moved into place.
    """

    def fill(tmp: Path) -> None:
        results.to_netcdf(tmp / "results.nc", engine="h5netcdf")
        (tmp / "targets.csv").write_text(targets_csv(outcomes), encoding="utf-8")
        header = (
            f"# Target probabilities: {provenance_record.get('scenario_name', Path(out_dir).name)}\n\n"
            f"Share of {provenance_record['draws']} draws meeting each target, with the 95% Wilson interval and "
            "the median year first met.\n\n"
        )
        (tmp / "targets.md").write_text(header + targets_table(outcomes, labels), encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(resolved_yaml, encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps(provenance_record, indent=2, ensure_ascii=False) + "\n")
        if extra is not None:
            extra(tmp)

    return write_folder_atomically(out_dir, fill)
