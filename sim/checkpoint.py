"""Finished chunks of draws kept on disk, so that an interrupted run can be resumed.

A run into ``outputs/NAME`` keeps every finished chunk of draws in the sibling folder ``outputs/.NAME.chunks/``
(beside the run folder, not inside it, so the run folder itself is still written whole or not at all):

- ``chunk-START-STOP.npz``: the raw arrays of draws ``START … STOP-1`` (:func:`sim.cohort.run_chunk`), written
  to a temporary file and renamed into place, so a chunk file is either complete or absent;
- ``manifest.json``: what the chunks are draws of: the hash of the resolved scenario without its ``draws`` (a
  draw does not depend on how many draws are run), the seed, the engine, the chunk size and the edusim version.

``edusim run --resume`` loads the chunks of a matching manifest instead of simulating them again; since draw
``i`` depends only on the seed, the scenario and ``i`` (:mod:`sim.rng`), the result is identical to that of an
uninterrupted run. Chunks of another scenario, seed, engine or chunking are refused, never mixed in. Without
``--resume``, ``edusim run`` refuses to start over finished chunks (they may hold hours of work); library
callers may discard them instead. The folder is removed once the run folder is written.
"""

from __future__ import annotations

import contextlib
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

FORMAT = 1
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
            else:
                shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        text = json.dumps(record, indent=2) + "\n"
        _write_atomically(path / "manifest.json", lambda f: f.write(text.encode("utf-8")))
        return cls(path, record)

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

    def load(self, start: int, stop: int) -> dict[str, np.ndarray] | None:
        """The raw arrays of chunk ``start … stop-1``, or ``None`` if it is not there (or unreadable)."""
        file = self.file(start, stop)
        if not file.is_file():
            return None
        try:
            with np.load(file, allow_pickle=False) as data:
                raw = {name: data[name] for name in data.files}
        except (OSError, ValueError, zipfile.BadZipFile):
            return None  # cannot happen with the atomic write, but a damaged file is simulated again
        if not raw or any(a.shape[:1] != (stop - start,) for a in raw.values()):
            return None
        return raw

    def save(self, start: int, stop: int, raw: dict[str, np.ndarray]) -> None:
        """Write chunk ``start … stop-1`` atomically (a temporary file renamed into place)."""
        arrays: dict[str, Any] = dict(raw)  # numpy's stubs type **kwds of savez as bool
        _write_atomically(self.file(start, stop), lambda f: np.savez(f, allow_pickle=False, **arrays))

    def remove(self) -> None:
        """Delete the folder (after the run folder has been written)."""
        shutil.rmtree(self.path, ignore_errors=True)
