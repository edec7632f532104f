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


# -- every chunk is checked against the manifest before it is used (issue 11, item 8) --------------------------

def _saved(tmp_path, **changes) -> ChunkStore:
    """A store holding chunks 0-64 and 64-128 of a run, reopened for ``--resume``."""
    store = ChunkStore.open(tmp_path / "c", _record(**changes), resume=False)
    store.save(0, 64, _raw(64))
    store.save(64, 128, _raw(64, offset=1000))
    return ChunkStore.open(tmp_path / "c", _record(**changes), resume=True)


def _rewrite(file, arrays) -> None:
    """Write ``arrays`` as the npz at ``file`` (as a hand or another program would, keeping what it is given)."""
    with open(file, "wb") as f:
        np.savez(f, **arrays)


def _contents(file) -> dict[str, np.ndarray]:
    with np.load(file) as data:
        return {name: data[name] for name in data.files}


def _damage_empty(store):
    store.file(0, 64).write_bytes(b"")


def _damage_directory(store):
    store.file(0, 64).unlink()
    store.file(0, 64).mkdir()


def _damage_missing_array(store):
    arrays = _contents(store.file(0, 64))
    del arrays["students"]
    _rewrite(store.file(0, 64), arrays)


def _damage_shape(store):
    arrays = _contents(store.file(0, 64))
    arrays["students"] = arrays["students"][:, :2]
    _rewrite(store.file(0, 64), arrays)


def _damage_nan(store):
    arrays = _contents(store.file(0, 64))
    arrays["indicator_cv"] = np.full_like(arrays["indicator_cv"], np.nan)
    _rewrite(store.file(0, 64), arrays)


def _damage_swap(store):
    a, b = store.file(0, 64), store.file(64, 128)
    a.rename(a.with_name("x"))
    b.rename(a)
    a.with_name("x").rename(b)


def _damage_no_record(store):
    arrays = _contents(store.file(0, 64))
    del arrays["__chunk__"]
    _rewrite(store.file(0, 64), arrays)


def _damage_other_run(store):
    """A chunk of the same draws of another seed put in its place (issue 11, item 2: a seed-1 chunk under a seed-2
    manifest)."""
    other = ChunkStore(store.path.with_name("other"), _record(seed=1))
    other.path.mkdir()
    other.save(0, 64, _raw(64, offset=77))
    other.file(0, 64).replace(store.file(0, 64))


@pytest.mark.parametrize(("damage", "reason"), [
    (_damage_empty, "empty"),
    (_damage_directory, "not a regular file"),
    (_damage_missing_array, "missing: students"),
    (_damage_shape, "array students has dtype"),
    (_damage_nan, "do not match their checksum"),
    (_damage_swap, "holds draws 64…128, not 0…64"),
    (_damage_no_record, "no record of its run"),
    (_damage_other_run, "another run"),
])
def test_a_damaged_or_foreign_chunk_is_never_used_and_is_simulated_again(tmp_path, damage, reason):
    store = _saved(tmp_path)
    damage(store)
    assert store.load(0, 64) is None
    assert len(store.rejected) == 1 and reason in store.rejected[0] and "chunk-0-64.npz" in store.rejected[0]
    assert not store.file(0, 64).exists()  # set aside, so it is written afresh
    store.save(0, 64, _raw(64))  # even where a folder was in the way
    back = store.load(0, 64)
    assert back is not None
    np.testing.assert_array_equal(back["students"], _raw(64)["students"])
    if damage is not _damage_swap:
        assert store.load(64, 128) is not None  # the good chunk is still used


def test_a_chunk_with_arrays_unlike_the_other_chunks_is_refused(tmp_path):
    store = _saved(tmp_path)
    raw = _raw(64)
    raw["indicator_cv"] = raw["indicator_cv"].astype(np.float64)  # consistent with its own record, not the run's
    store.save(128, 192, raw)
    assert store.load(128, 192) is None and "other chunks" in store.rejected[0]


def test_the_manifest_records_the_arrays_and_resume_keeps_them(tmp_path):
    store = _saved(tmp_path)
    layout = json.loads((tmp_path / "c" / "manifest.json").read_text())["arrays"]
    assert layout["students"] == ["<i8", [3, 2]] and layout["indicator_cv"] == ["<f4", [2, 2]]
    assert store.manifest["arrays"] == layout


def test_chunks_of_any_accepted_seed_are_written_and_resumed(tmp_path):
    top = 2**63 - 1  # the largest seed a scenario accepts
    store = _saved(tmp_path, seed=top)
    assert store.load(0, 64) is not None and store.rejected == []


def test_a_file_where_the_chunk_folder_should_be_is_refused_not_deleted(tmp_path):
    (tmp_path / "c").write_text("mine")
    with pytest.raises(InputError, match="not a folder"):
        ChunkStore.open(tmp_path / "c", _record(), resume=None)
    assert (tmp_path / "c").read_text() == "mine"
