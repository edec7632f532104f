"""Finished chunks on disk: written whole or not at all, reused only for the same run, refused otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.checkpoint import ChunkStore, chunk_dir, manifest
from sim.errors import InputError


def _record(**changes) -> dict:
    base = {"scenario_sha256": "a" * 64, "seed": 7, "engine": "cohort", "chunk_size": 64}
    return manifest(**{**base, **changes})


def _raw(n: int, offset: int = 0) -> dict[str, np.ndarray]:
    return {
        "students": np.arange(offset, offset + n * 6, dtype=np.int64).reshape(n, 3, 2),
        "indicator_cv": np.linspace(0, 1, n * 4).reshape(n, 2, 2).astype(np.float32),
        "quality_balanced": np.ones((n, 3, 2), bool),
    }


def test_chunk_dir_is_a_hidden_sibling_of_the_run_folder(tmp_path):
    assert chunk_dir(tmp_path / "outputs" / "baseline") == tmp_path / "outputs" / ".baseline.chunks"


def test_a_saved_chunk_loads_back_exactly_and_leaves_no_temporary_file(tmp_path):
    store = ChunkStore.open(tmp_path / "c", _record(), resume=False)
    raw = _raw(64)
    store.save(64, 128, raw)
    back = store.load(64, 128)
    assert back is not None and set(back) == set(raw)
    for name in raw:
        assert back[name].dtype == raw[name].dtype
        np.testing.assert_array_equal(back[name], raw[name])
    assert store.finished() == [(64, 128)]
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["chunk-64-128.npz", "manifest.json"]
    assert store.load(0, 64) is None


def test_a_write_that_fails_midway_leaves_no_chunk(tmp_path, monkeypatch):
    store = ChunkStore.open(tmp_path / "c", _record(), resume=False)

    def fail(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(KeyboardInterrupt):
        store.save(0, 64, _raw(64))
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["manifest.json"]


def test_a_damaged_or_short_chunk_is_simulated_again(tmp_path):
    store = ChunkStore.open(tmp_path / "c", _record(), resume=False)
    store.file(0, 64).write_bytes(b"not a zip file")
    assert store.load(0, 64) is None
    store.save(64, 128, _raw(10))  # rows do not match the bounds
    assert store.load(64, 128) is None


def test_finished_chunks_without_resume_are_an_error_that_names_resume(tmp_path):
    ChunkStore.open(tmp_path / "c", _record(), resume=False).save(0, 64, _raw(64))
    with pytest.raises(InputError, match=r"1 finished chunk\(s\) of an interrupted run .* add --resume"):
        ChunkStore.open(tmp_path / "c", _record(), resume=False)
    assert (tmp_path / "c" / "chunk-0-64.npz").is_file()  # nothing was thrown away


def test_resume_keeps_matching_chunks(tmp_path):
    ChunkStore.open(tmp_path / "c", _record(), resume=False).save(0, 64, _raw(64, offset=5))
    store = ChunkStore.open(tmp_path / "c", _record(), resume=True)
    back = store.load(0, 64)
    assert back is not None
    np.testing.assert_array_equal(back["students"], _raw(64, offset=5)["students"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": 8}, "seed: 7 there, 8 now"),
        ({"engine": "agents"}, "engine: 'cohort' there, 'agents' now"),
        ({"chunk_size": 128}, "chunk size: 64 there, 128 now"),
        ({"scenario_sha256": "b" * 64}, "scenario .* differs"),
    ],
)
def test_resume_refuses_chunks_of_another_run(tmp_path, change, message):
    ChunkStore.open(tmp_path / "c", _record(), resume=False).save(0, 64, _raw(64))
    with pytest.raises(InputError, match=f"cannot resume from .*different run.*{message}.*delete that folder"):
        ChunkStore.open(tmp_path / "c", _record(**change), resume=True)
    assert (tmp_path / "c" / "chunk-0-64.npz").is_file()


def test_resume_refuses_chunks_without_a_readable_manifest(tmp_path):
    ChunkStore.open(tmp_path / "c", _record(), resume=False).save(0, 64, _raw(64))
    (tmp_path / "c" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"no readable manifest\.json"):
        ChunkStore.open(tmp_path / "c", _record(), resume=True)


def test_library_callers_discard_leftover_chunks_and_a_folder_without_chunks_is_reset(tmp_path):
    ChunkStore.open(tmp_path / "c", _record(), resume=False).save(0, 64, _raw(64))
    store = ChunkStore.open(tmp_path / "c", _record(seed=9), resume=None)
    assert store.finished() == []
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["seed"] == 9
    # a folder holding only a manifest (interrupted before the first chunk) never blocks a run
    assert ChunkStore.open(tmp_path / "c", _record(seed=10), resume=False).finished() == []
    store.remove()
    assert not (tmp_path / "c").exists()
