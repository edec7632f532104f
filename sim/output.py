"""Output folders: written whole or not at all, never over anything of the user's.

A command writes into a hidden temporary folder ``.NAME.partial-*`` beside its destination and renames it into
place at the end, so an interrupted or failed run never leaves a half-written ``outputs/NAME/``; the temporary
folder is removed on any exit (an exception, Ctrl-C, SIGTERM) and a stale one (left by SIGKILL or a lost
machine) is swept by the next command writing the same folder.

Nothing of the user's is ever deleted or overwritten (:func:`check_destination`): an existing destination is
replaced only if edusim wrote it (it holds the marker file :data:`MARKER`, or, for folders written before the
marker, an edusim ``provenance.json``/``solve.json``), nothing else was put in it since, and the caller asked
(``overwrite=True``, ``--overwrite`` on the command line). Everything else (a file, a folder of the user's, a
folder holding run folders such as ``outputs/`` itself, ``/``, ``.``) is refused with a one-line message.

While a command works on ``outputs/NAME`` it holds an exclusive lock (``flock``) on ``outputs/.NAME.lock``
(:func:`folder_lock`): a second command on the same folder is refused at once instead of both writing it. The
lock covers the run folder and its chunk folder ``outputs/.NAME.chunks`` (:mod:`sim.checkpoint`).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim import __version__
from sim.errors import InputError
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


def cost_line(results: xr.Dataset) -> str:
    """The run's total cost (``cost_plan_total`` of :mod:`sim.costs`): median and 90% interval over the draws, and
    the programmes not computed; empty for a Dataset without costs."""
    if "cost_plan_total" not in results:
        return ""
    total = results["cost_plan_total"].values.astype(float)
    low, mid, high = np.quantile(total, [0.05, 0.5, 0.95]) / 1e9
    return (f"\nTotal cost ({results['cost_plan_total'].attrs.get('long_name', 'plan period')}): median "
            f"{mid:,.3f} bn CNY [90% interval {low:,.3f}–{high:,.3f}] over {total.size} draws; not computed: "
            f"{results['cost'].attrs.get('not_computed', '')}.\n")


MARKER = ".edusim-folder.json"
"""File that every folder written by :func:`write_folder_atomically` holds: who wrote it and the entries it
wrote. It is how a folder is recognised as edusim's (and so replaceable with ``--overwrite``)."""
DERIVED_ENTRIES = frozenset({"figures", "figures_zh", "diagnose", "report.html", "report_zh.html"})
"""Entries that edusim commands add to a run folder afterwards (``plot``, ``diagnose``, ``report``): replaced
with the folder."""
LEGACY_ENTRIES = frozenset({
    "results.nc", "targets.csv", "targets.md", "scenario.resolved.yaml", "provenance.json", "sweep.nc", "sweep.csv",
    "solve.csv", "solve.txt", "solve.json", "indices.csv", "design.csv", "outcomes.csv", "sensitivity.md",
}) | DERIVED_ENTRIES
"""What the folders of edusim written before :data:`MARKER` existed may hold (run, sweep, solve, sensitivity)."""
_PROVENANCE_KEYS = ("scenario_sha256", "git_commit", "versions")


def _refuse(message: str) -> InputError:
    return InputError(message, key="--out")


def _edusim_entries(folder: Path) -> frozenset[str] | None:
    """The entries edusim may have put in ``folder``, or ``None`` if edusim did not write it."""
    marker = folder / MARKER
    if marker.is_file() and not marker.is_symlink():
        try:
            record = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None
        if isinstance(record, dict) and record.get("written_by") == "edusim":
            entries = record.get("entries")
            if isinstance(entries, list) and all(isinstance(e, str) for e in entries):
                return frozenset(entries) | DERIVED_ENTRIES | {MARKER}
    for name in ("provenance.json", "solve.json"):  # folders written before the marker
        file = folder / name
        if not file.is_file() or file.is_symlink() or file.stat().st_size > 1_000_000:
            continue
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and all(k in record for k in _PROVENANCE_KEYS):
            return LEGACY_ENTRIES
    return None


def _names(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(repr(p) for p in sorted(paths)[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def check_destination(out_dir: Path, *, overwrite: bool = False) -> Path:
    """Check that ``out_dir`` may be written (created, or replaced); return it. Creates its parent folder.

    Allowed: a path that does not exist, in a folder that exists or can be created; an empty folder; with
    ``overwrite``, a folder edusim wrote that holds nothing else. Refused, with one line naming the folder: ``/``,
    ``.``, ``..``, an empty path or any folder holding the current folder; a file; a symbolic link; a folder edusim
    did not write (``outputs/`` itself, a folder of the user's); an edusim folder where other files were put; an
    edusim folder without ``overwrite``; a parent that is a file, read-only or cannot be created.

    Raises
    ------
    InputError
        The destination is refused (key ``--out``).
    """
    text = str(out_dir)
    if not text.strip():
        raise _refuse("is empty: give the name of a new folder, e.g. outputs/NAME")
    out_dir = Path(out_dir)
    if out_dir.name in ("", ".", ".."):
        raise _refuse(f"{text!r} is not a folder edusim can write: give the name of a new folder, e.g. outputs/NAME")
    try:
        resolved = out_dir.resolve()
        cwd = Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:
        raise _refuse(f"cannot use {text}: {exc}") from exc
    if resolved == cwd or resolved in cwd.parents:
        raise _refuse(f"{text} holds the current folder: give the name of a new folder, e.g. outputs/NAME")
    parent = out_dir.parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists() and not ancestor.is_dir():
            raise _refuse(f"cannot create {text}: {ancestor} is a file, not a folder")
        if ancestor.exists():
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refuse(f"cannot create the folder {parent}: {exc.strerror or exc}") from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(f"cannot write in {parent}: permission denied")
    if out_dir.is_symlink():
        raise _refuse(f"{text} is a symbolic link: edusim does not replace it; choose another --out")
    if not out_dir.exists():
        return out_dir
    if not out_dir.is_dir():
        raise _refuse(f"{text} is a file, not a folder edusim wrote: edusim never replaces it; choose another --out")
    try:
        entries = [p.name for p in out_dir.iterdir()]
    except OSError as exc:
        raise _refuse(f"cannot read {text}: {exc.strerror or exc}") from exc
    if not entries:
        return out_dir
    known = _edusim_entries(out_dir)
    if known is None:
        runs = [name for name in entries if (out_dir / name).is_dir() and _edusim_entries(out_dir / name) is not None]
        holds = f" (it holds run folders: {_names(runs)}; give --out {text}/NAME)" if runs else ""
        raise _refuse(f"{text} exists and is not a folder edusim wrote{holds}: edusim never replaces it; choose "
                      "another --out")
    foreign = [name for name in entries if name not in known]
    if foreign:
        raise _refuse(f"{text} was written by edusim but now also holds {_names(foreign)}: edusim does not replace "
                      "it; move those away or choose another --out")
    if not overwrite:
        raise _refuse(f"{text} holds an earlier edusim output: add --overwrite to replace it, or choose another --out")
    return out_dir


# -- locking -------------------------------------------------------------------------------------------------

_HELD: dict[Path, tuple[int, int]] = {}
"""Locks this process holds: lock file → (file descriptor, depth), so that nested holders share one lock."""


def lock_file(out_dir: Path) -> Path:
    """The lock file of ``out_dir`` (and of its chunk folder): ``.NAME.lock`` beside it."""
    out_dir = Path(out_dir)
    return out_dir.with_name(f".{out_dir.name}.lock")


class folder_lock:  # lower case: used like a function, ``with folder_lock(out_dir):``
    """Hold the exclusive lock of ``out_dir`` (``flock`` on :func:`lock_file`) for a ``with`` block.

    Re-entrant within a process. The lock is released by the kernel when the process ends, however it ends, so
    a killed run never leaves a folder locked. (A class, not a ``contextlib`` generator: those cannot re-raise
    the frozen :class:`InputError`.)

    Raises
    ------
    InputError
        Another process holds the lock (another edusim command is writing this folder).
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.path = lock_file(self.out_dir).absolute()

    def __enter__(self) -> Path:
        if self.path in _HELD:
            fd, depth = _HELD[self.path]
            _HELD[self.path] = (fd, depth + 1)
        else:
            _HELD[self.path] = (_acquire(self.path, self.out_dir), 1)
        return self.path

    def __exit__(self, *exc: object) -> None:
        fd, depth = _HELD[self.path]
        if depth > 1:
            _HELD[self.path] = (fd, depth - 1)
            return
        del _HELD[self.path]
        with contextlib.suppress(OSError):
            self.path.unlink()  # while held: a process waiting on the old file sees it is gone and retries
        os.close(fd)


def _acquire(path: Path, out_dir: Path) -> int:
    for _ in range(10):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise _refuse(f"cannot create the lock file {path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = os.read(fd, 200).decode("utf-8", "replace").strip()
            os.close(fd)
            raise _refuse(f"{out_dir} is being written by another edusim command ({holder or 'running'}): wait for "
                          "it to finish, or choose another --out") from None
        except OSError as exc:
            os.close(fd)
            raise _refuse(f"cannot lock {path}: {exc.strerror or exc}") from exc
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the previous holder removed it between our open and flock: take the new file
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}, since {datetime.now(UTC).isoformat(timespec='seconds')}\n".encode())
            return fd
        os.close(fd)
    raise _refuse(f"cannot lock {path}: it keeps changing")


class Terminated(KeyboardInterrupt):
    """SIGTERM received while an output folder was being written: handled like Ctrl-C (temporaries removed)."""


class _TerminateAsInterrupt:
    """Turn SIGTERM into :class:`Terminated` in the main thread for a ``with`` block, so ``finally`` blocks run
    (unless the program has its own SIGTERM handler)."""

    installed = False

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_terminated)
            self.installed = True

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(f"terminated by signal {signum}")


def sweep_temporaries(out_dir: Path) -> list[Path]:
    """Remove the temporary folders (``.NAME.partial-*``, ``.NAME.old-*``) a killed command left beside
    ``out_dir``; call it holding :func:`folder_lock` (then no live command is using them). Returns them."""
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        return []
    stale = [p for p in out_dir.parent.iterdir()
             if p.name.startswith((f".{out_dir.name}.partial-", f".{out_dir.name}.old-"))]
    for p in stale:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()
    return stale


class guard:  # lower case: used like a function, ``with guard(out_dir, overwrite=…):``
    """For a command that will write ``out_dir``: check the destination (:func:`check_destination`), hold its
    lock (:class:`folder_lock`), sweep stale temporaries (:func:`sweep_temporaries`) and turn SIGTERM into an
    exception, for the ``with`` block."""

    def __init__(self, out_dir: Path, *, overwrite: bool = False):
        self.out_dir = Path(out_dir)
        self.overwrite = overwrite
        self._signals = _TerminateAsInterrupt()

    def __enter__(self) -> Path:
        check_destination(self.out_dir, overwrite=self.overwrite)  # a clear message before the lock file is made
        self._lock = folder_lock(self.out_dir)
        self._lock.__enter__()
        try:
            check_destination(self.out_dir, overwrite=self.overwrite)
            sweep_temporaries(self.out_dir)
            self._signals.__enter__()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self.out_dir

    def __exit__(self, *exc: object) -> None:
        self._signals.__exit__(*exc)
        self._lock.__exit__(*exc)


def _make_temporary(out_dir: Path) -> Path:
    """A new empty ``.NAME.partial-XXXXXXXX`` beside ``out_dir`` (permissions as the umask says)."""
    for _ in range(100):
        tmp = out_dir.with_name(f".{out_dir.name}.partial-{secrets.token_hex(4)}")
        try:
            tmp.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise _refuse(f"cannot create a folder in {out_dir.parent}: {exc.strerror or exc}") from exc
        return tmp
    raise _refuse(f"cannot create a temporary folder in {out_dir.parent}")


def write_folder_atomically(out_dir: Path, fill: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Create ``out_dir`` whole or not at all, never over anything of the user's.

    ``fill(tmp)`` writes a hidden temporary folder beside ``out_dir``, which is renamed into place at the end
    with the marker :data:`MARKER`. An existing ``out_dir`` is replaced only if :func:`check_destination` allows
    it (an edusim folder holding nothing else, and ``overwrite``), and only once the new folder is complete. The
    temporary folder is removed on any exit (exception, Ctrl-C, SIGTERM), and the folder's lock is held meanwhile.

    Raises
    ------
    InputError
        The destination is refused, or locked by another command.
    """
    out_dir = Path(out_dir)
    with guard(out_dir, overwrite=overwrite):
        tmp = _make_temporary(out_dir)
        try:
            fill(tmp)
            entries = sorted(p.name for p in tmp.iterdir())
            marker = {"written_by": "edusim", "edusim_version": __version__,
                      "written": datetime.now(UTC).isoformat(timespec="seconds"), "entries": entries}
            (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            if out_dir.exists():
                check_destination(out_dir, overwrite=overwrite)
                old = out_dir.with_name(f".{out_dir.name}.old-{secrets.token_hex(4)}")
                out_dir.rename(old)
                try:  # whatever was put in it between the check and the rename is kept
                    if any(old.iterdir()):
                        check_destination(old, overwrite=True)
                except InputError:
                    old.rename(out_dir)  # put back as it was; the new folder is removed below
                    raise
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
    overwrite: bool = False,
) -> Path:
    """Write a complete run folder atomically and return its path.

    ``extra(tmp_dir)`` may add files (figures) before the folder is moved into place. An existing folder is
    replaced only as :func:`write_folder_atomically` allows (``overwrite``).
    """

    def fill(tmp: Path) -> None:
        results.to_netcdf(tmp / "results.nc", engine="h5netcdf")
        (tmp / "targets.csv").write_text(targets_csv(outcomes), encoding="utf-8")
        header = (
            f"# Target probabilities: {provenance_record.get('scenario_name', Path(out_dir).name)}\n\n"
            f"Share of {provenance_record['draws']} draws meeting each target, with the 95% Wilson interval and "
            "the median year first met.\n\n"
        )
        (tmp / "targets.md").write_text(header + targets_table(outcomes, labels) + cost_line(results),
                                              encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(resolved_yaml, encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps(provenance_record, indent=2, ensure_ascii=False) + "\n")
        if extra is not None:
            extra(tmp)

    return write_folder_atomically(out_dir, fill, overwrite=overwrite)
