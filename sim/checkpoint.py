"""Finished chunks of draws kept on disk, so that an interrupted run can be resumed.

A run into ``outputs/NAME`` keeps every finished chunk of draws in the sibling folder ``outputs/.NAME.chunks/``
(beside the run folder, not inside it, so the run folder itself is still written whole or not at all):

- ``chunk-START-STOP.npz``: the raw arrays of draws ``START … STOP-1`` (:func:`sim.cohort.run_chunk`), written
  to a temporary file and renamed into place, so a chunk file is either complete or absent. Beside the arrays it
  holds a record (``__chunk__``): the run it belongs to (the manifest's keys below), its draw range, the name,
  dtype and shape of every array, and the SHA-256 of the arrays (:func:`arrays_sha256`);
- ``manifest.json``: what the chunks are draws of: the hash of the resolved scenario without its ``draws`` (a
  draw does not depend on how many draws are run), the seed, the engine, the chunk size and the edusim version,
  and, once a chunk is written, the name, dtype and per-draw shape of every array.

``edusim run --resume`` loads the chunks of a matching manifest instead of simulating them again; since draw
``i`` depends only on the seed, the scenario and ``i`` (:mod:`sim.rng`), the result is identical to that of an
uninterrupted run. A manifest of another scenario, seed, engine or chunking is refused. Every chunk is checked
against the manifest before it is used (:meth:`ChunkStore.load`): a chunk that is empty, unreadable, a folder,
of another run, of other draws (a renamed or swapped file), with an array missing or of another shape, or whose
arrays no longer match their checksum (changed after writing, e.g. filled with NaN) is set aside and simulated
again, never mixed in; the reason is kept in :attr:`ChunkStore.rejected`. Without ``--resume``, ``edusim run``
refuses to start over finished chunks (they may hold hours of work); library callers may discard them instead.
The folder is removed once the run folder is written. The run holds the lock of its run folder
(:func:`sim.output.folder_lock`) meanwhile, which covers this folder too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.errors import InputError

FORMAT = 2
"""2: every chunk holds its record and checksum (``__chunk__``); 1 had none."""
META = "__chunk__"
"""Name of the record inside a chunk file."""
_CHUNK = re.compile(r"^chunk-(\d+)-(\d+)\.npz$")
# what must agree for chunks to be reused, in the order the differences are reported
_MUST_MATCH = {
    "format": "chunk format",
    "engine": "engine",
    "seed": "seed",
    "chunk_size": "chunk size",
    "edusim_version": "edusim version",
    "scenario_sha256": "scenario (its levers, uncertainties, counties or years; the number of draws may differ)",
}


def chunk_dir(out_dir: Path) -> Path:
    """The folder of finished chunks of a run into ``out_dir``: ``.NAME.chunks`` beside it."""
    out_dir = Path(out_dir)
    return out_dir.with_name(f".{out_dir.name}.chunks")


def manifest(*, scenario_sha256: str, seed: int, engine: str, chunk_size: int) -> dict[str, Any]:
    """The manifest of a run's chunks (``scenario_sha256``: resolved scenario with its ``draws`` left out)."""
    return {
        "format": FORMAT,
        "engine": engine,
        "seed": int(seed),
        "chunk_size": int(chunk_size),
        "edusim_version": __version__,
        "scenario_sha256": scenario_sha256,
    }


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of named arrays: their names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _write_atomically(path: Path, write: Any) -> None:
    """``write(file)`` into a temporary file beside ``path``, flushed to disk, then renamed to ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class ChunkStore:
    """The finished chunks of one run (see the module docstring). Open with :meth:`open`."""

    def __init__(self, path: Path, record: dict[str, Any]):
        self.path = Path(path)
        self.manifest = record
        self.rejected: list[str] = []
        """Chunks found but not used, each with the reason (they are simulated again)."""

    @classmethod
    def open(cls, path: Path, record: dict[str, Any], *, resume: bool | None) -> ChunkStore:
        """The chunk folder at ``path`` for a run described by ``record`` (:func:`manifest`).

        Parameters
        ----------
        path
            The chunk folder (:func:`chunk_dir` of the run folder).
        record
            The manifest of this run.
        resume
            ``True``: keep the chunks already there (refused, with the reason, if their manifest differs).
            ``False``: refuse to start while finished chunks are there (the user chooses ``--resume`` or
            deletes them). ``None``: discard them.

        Raises
        ------
        InputError
            Finished chunks are there and ``resume`` is ``False``, or their manifest differs from ``record``.
        """
        path = Path(path)
        record = {k: v for k, v in record.items() if k != "arrays"}
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise InputError(f"{path} should be the folder of a run's finished chunks but is not a folder: move it "
                             "away to run into this folder")
        if path.exists():
            found = cls(path, record).finished()
            if found and resume is False:
                raise InputError(
                    f"{len(found)} finished chunk(s) of an interrupted run of this folder are in {path}/: add "
                    "--resume to reuse them, or delete that folder to start again")
            if found and resume:
                differences = cls._differences(path, record)
                if differences:
                    raise InputError(
                        f"cannot resume from {path}/: its chunks are of a different run ({'; '.join(differences)}); "
                        "delete that folder to start again", key="--resume")
                layout = cls._layout(path)
                if layout is not None:
                    record = {**record, "arrays": layout}
            else:
                shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        text = json.dumps(record, indent=2) + "\n"
        _write_atomically(path / "manifest.json", lambda f: f.write(text.encode("utf-8")))
        return cls(path, record)

    @staticmethod
    def _layout(path: Path) -> dict[str, Any] | None:
        """The arrays' layout recorded in the manifest at ``path``, if any."""
        try:
            layout = json.loads((path / "manifest.json").read_text(encoding="utf-8")).get("arrays")
        except (OSError, ValueError, AttributeError):
            return None
        return layout if isinstance(layout, dict) else None

    @staticmethod
    def _differences(path: Path, record: dict[str, Any]) -> list[str]:
        try:
            old = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ["no readable manifest.json"]
        return [
            f"{label}: {old.get(key)!r} there, {record.get(key)!r} now" if key != "scenario_sha256" else
            f"{label} differs"
            for key, label in _MUST_MATCH.items() if old.get(key) != record.get(key)
        ]

    def file(self, start: int, stop: int) -> Path:
        return self.path / f"chunk-{start}-{stop}.npz"

    def finished(self) -> list[tuple[int, int]]:
        """The ``(start, stop)`` of every chunk file in the folder, in order."""
        found = (_CHUNK.match(p.name) for p in self.path.iterdir()) if self.path.is_dir() else iter(())
        return sorted((int(m[1]), int(m[2])) for m in found if m)

    def _run_keys(self) -> dict[str, Any]:
        return {key: self.manifest.get(key) for key in _MUST_MATCH}

    def load(self, start: int, stop: int) -> dict[str, np.ndarray] | None:
        """The raw arrays of chunk ``start … stop-1``, or ``None`` if it is not there or fails a check.

        A chunk that fails a check (see the module docstring) is deleted, so that it is simulated again and
        written afresh, and the reason is added to :attr:`rejected`.
        """
        file = self.file(start, stop)
        if not file.exists() and not file.is_symlink():
            return None
        raw, problem = self._read(file, start, stop)
        if problem is None:
            return raw
        self.rejected.append(f"{file.name}: {problem}")
        if file.is_dir() and not file.is_symlink():
            shutil.rmtree(file, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                file.unlink()
        return None

    def _read(self, file: Path, start: int, stop: int) -> tuple[dict[str, np.ndarray] | None, str | None]:
        if file.is_symlink() or not file.is_file():
            return None, "not a regular file"
        if file.stat().st_size == 0:
            return None, "empty (0 bytes)"
        try:
            with np.load(file, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            return None, f"unreadable ({type(exc).__name__})"
        try:
            record = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
        except (KeyError, ValueError, UnicodeDecodeError, AttributeError):
            return None, "no record of its run and checksum (written by another program or an older edusim)"
        if not isinstance(record, dict):
            return None, "no record of its run and checksum"
        if record.get("run") != self._run_keys():
            return None, "a chunk of another run (scenario, seed, engine, chunk size or version differ)"
        if (record.get("start"), record.get("stop")) != (start, stop):
            return None, f"holds draws {record.get('start')}…{record.get('stop')}, not {start}…{stop} (renamed?)"
        layout = record.get("arrays")
        if not isinstance(layout, dict) or set(layout) != set(arrays):
            missing = sorted(set(layout or {}) - set(arrays)) if isinstance(layout, dict) else []
            return None, f"array(s) missing: {', '.join(missing)}" if missing else "its arrays differ from its record"
        expected = self.manifest.get("arrays")
        if expected is not None and set(expected) != set(arrays):
            return None, "its arrays are not those of the other chunks"
        for name, a in arrays.items():
            dtype, shape = layout[name]
            if a.dtype.str != dtype or list(a.shape) != shape or a.shape[:1] != (stop - start,):
                return None, f"array {name} has dtype {a.dtype.str} and shape {a.shape}, not {dtype} and {shape}"
            if expected is not None and list(expected[name]) != [a.dtype.str, list(a.shape[1:])]:
                return None, f"array {name} has not the dtype and shape of the other chunks"
        if record.get("sha256") != arrays_sha256(arrays):
            return None, "its arrays do not match their checksum (changed after they were written)"
        return arrays, None

    def save(self, start: int, stop: int, raw: dict[str, np.ndarray]) -> None:
        """Write chunk ``start … stop-1`` atomically (a temporary file renamed into place), with its record."""
        if META in raw:
            raise ValueError(f"{META} is a reserved name")
        arrays: dict[str, Any] = {name: np.ascontiguousarray(a) for name, a in raw.items()}
        if "arrays" not in self.manifest:  # the layout every chunk of this run must have
            self.manifest = {**self.manifest,
                             "arrays": {n: [a.dtype.str, list(a.shape[1:])] for n, a in sorted(arrays.items())}}
            text = json.dumps(self.manifest, indent=2) + "\n"
            _write_atomically(self.path / "manifest.json", lambda f: f.write(text.encode("utf-8")))
        record = {
            "run": self._run_keys(), "start": int(start), "stop": int(stop),
            "arrays": {name: [a.dtype.str, list(a.shape)] for name, a in arrays.items()},
            "sha256": arrays_sha256(arrays),
        }
        arrays[META] = np.frombuffer(json.dumps(record).encode("utf-8"), dtype=np.uint8)
        file = self.file(start, stop)
        if file.is_dir() and not file.is_symlink():
            shutil.rmtree(file)
        _write_atomically(file, lambda f: np.savez(f, allow_pickle=False, **arrays))

    def remove(self) -> None:
        """Delete the folder (after the run folder has been written)."""
        shutil.rmtree(self.path, ignore_errors=True)
