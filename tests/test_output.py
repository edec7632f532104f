"""Output folders (``sim.output``): never over anything of the user's, locked while written, no temporaries left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sim.errors import InputError
from sim.output import (
    MARKER,
    check_destination,
    folder_lock,
    lock_file,
    sweep_temporaries,
    write_folder_atomically,
)

ROOT = Path(__file__).resolve().parents[1]


def _fill(tmp: Path) -> None:
    (tmp / "results.nc").write_text("new", encoding="utf-8")
    (tmp / "provenance.json").write_text(json.dumps({"seed": 1}), encoding="utf-8")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_new_folder_is_written_with_its_marker_and_nothing_left_beside(tmp_path):
    out = write_folder_atomically(tmp_path / "run", _fill)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "provenance.json", "results.nc"]
    marker = json.loads((out / MARKER).read_text())
    assert marker["written_by"] == "edusim" and marker["entries"] == ["provenance.json", "results.nc"]
    assert _leftovers(tmp_path) == []  # no .run.partial-*, no .run.lock


def test_an_edusim_folder_is_replaced_only_with_overwrite(tmp_path):
    out = write_folder_atomically(tmp_path / "run", _fill)
    with pytest.raises(InputError, match="--overwrite"):
        write_folder_atomically(out, lambda tmp: (tmp / "other.txt").write_text("x"))
    assert (out / "results.nc").read_text() == "new"
    write_folder_atomically(out, lambda tmp: (tmp / "other.txt").write_text("x"), overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "other.txt"]


def test_a_users_folder_is_never_replaced_even_with_overwrite(tmp_path):
    mine = tmp_path / "mythesis"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep")
    with pytest.raises(InputError, match="not a folder edusim wrote") as info:
        write_folder_atomically(mine, _fill, overwrite=True)
    assert str(mine) in str(info.value)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"] and (mine / "thesis.tex").read_text() == "keep"
    assert _leftovers(tmp_path) == []


def test_a_folder_of_runs_is_refused_and_the_message_says_where_to_write(tmp_path):
    outputs = tmp_path / "outputs"
    write_folder_atomically(outputs / "baseline", _fill)
    (outputs / "README.md").write_text("tracked")
    with pytest.raises(InputError, match=r"holds run folders: 'baseline'.*outputs/NAME"):
        write_folder_atomically(outputs, _fill, overwrite=True)
    assert sorted(p.name for p in outputs.iterdir()) == ["README.md", "baseline"]


def test_a_file_is_never_replaced(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep")
    with pytest.raises(InputError, match="is a file"):
        write_folder_atomically(notes, _fill, overwrite=True)
    assert notes.read_text() == "keep"


def test_an_edusim_folder_with_a_users_file_added_is_refused(tmp_path):
    out = write_folder_atomically(tmp_path / "run", _fill)
    (out / "figures").mkdir()  # what `edusim plot` adds: replaced with the folder
    (out / "my-notes.md").write_text("keep")
    with pytest.raises(InputError, match=r"my-notes\.md"):
        write_folder_atomically(out, _fill, overwrite=True)
    assert (out / "my-notes.md").read_text() == "keep"


def test_a_folder_written_before_the_marker_is_recognised_by_its_provenance(tmp_path):
    old = tmp_path / "baseline"
    old.mkdir()
    (old / "results.nc").write_text("old")
    (old / "provenance.json").write_text(json.dumps({"scenario_sha256": "a", "git_commit": "b", "versions": {}}))
    check_destination(old, overwrite=True)
    (old / "provenance.json").write_text(json.dumps({"my": "own file"}))
    with pytest.raises(InputError, match="not a folder edusim wrote"):
        check_destination(old, overwrite=True)


def test_an_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    write_folder_atomically(tmp_path / "empty", _fill)
    assert (tmp_path / "empty" / "results.nc").is_file()


@pytest.mark.parametrize("bad, message", [
    ("", "is empty"), (".", "not a folder edusim can write"), ("/", "not a folder edusim can write"),
    ("..", "not a folder edusim can write"), ("sub/..", "not a folder edusim can write"),
    ("/proc/1/edusim-out", "cannot create|cannot write"), ("/proc/no-such-process/out", "cannot create"),
])
def test_bad_destinations_are_refused_in_one_line(tmp_path, monkeypatch, bad, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message) as info:
        check_destination(Path(bad) if bad else bad)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_a_folder_holding_the_current_folder_is_refused(tmp_path, monkeypatch):
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    with pytest.raises(InputError, match="holds the current folder"):
        check_destination(tmp_path / "a")


def test_a_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match=r"notes\.txt is a file"):
        write_folder_atomically(tmp_path / "notes.txt" / "deeper" / "run", _fill)
    assert (tmp_path / "notes.txt").read_text() == "keep"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_a_read_only_parent_is_refused(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        with pytest.raises(InputError, match="permission denied"):
            write_folder_atomically(parent / "run", _fill)
    finally:
        parent.chmod(0o755)


def test_folders_are_created_with_the_users_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        out = write_folder_atomically(tmp_path / "run", _fill)
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failing_fill_leaves_no_temporary_and_keeps_the_old_folder(tmp_path, failure):
    out = write_folder_atomically(tmp_path / "run", _fill)

    def fail(tmp: Path) -> None:
        (tmp / "half.nc").write_text("half")
        raise failure

    with pytest.raises(type(failure)):
        write_folder_atomically(out, fail, overwrite=True)
    assert (out / "results.nc").read_text() == "new" and _leftovers(tmp_path) == []


def test_stale_temporaries_are_swept_by_the_next_writer(tmp_path):
    stale = [tmp_path / ".run.partial-deadbeef", tmp_path / ".run.old-12345"]
    for p in stale:
        p.mkdir()
        (p / "results.nc").write_text("left by a killed run")
    (tmp_path / ".other.partial-1").mkdir()  # another folder's: not ours to sweep
    write_folder_atomically(tmp_path / "run", _fill)
    assert _leftovers(tmp_path) == [".other.partial-1"]
    assert sweep_temporaries(tmp_path / "nothing-here") == []


_HOLDER = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    # a shell starting a job in the background (`cmd &`, no job control) makes it ignore SIGINT, and Python then
    # installs no KeyboardInterrupt handler: restore it so that the test measures the writer, not how pytest was run
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from sim.output import folder_lock, write_folder_atomically
    out = Path(sys.argv[1])
    if sys.argv[2] == "lock":
        with folder_lock(out):
            print("locked", flush=True)
            time.sleep(60)
    else:
        def fill(tmp):
            (tmp / "results.nc").write_text("half")
            print("filling", flush=True)
            time.sleep(60)
        write_folder_atomically(out, fill)
""")


def _start(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "run"), mode], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() in ("locked", "filling")
    return proc


def test_a_second_writer_is_refused_at_once_while_the_first_holds_the_lock(tmp_path):
    proc = _start(tmp_path, "lock")
    try:
        begun = time.monotonic()
        with pytest.raises(InputError, match=rf"{tmp_path / 'run'} is being written by another edusim command "
                                             rf"\(pid {proc.pid}"):
            write_folder_atomically(tmp_path / "run", _fill)
        assert time.monotonic() - begun < 5
    finally:
        proc.kill()
        proc.wait(10)
    # the kernel released the lock of the killed process: the folder can be written now
    write_folder_atomically(tmp_path / "run", _fill)


def test_the_lock_is_reentrant_within_a_process_and_removed_after(tmp_path):
    with folder_lock(tmp_path / "run"):
        write_folder_atomically(tmp_path / "run", _fill)
        assert lock_file(tmp_path / "run").exists()
    assert not lock_file(tmp_path / "run").exists()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_terminated_writer_removes_its_temporary_folder(tmp_path, how):
    proc = _start(tmp_path, "write")
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    proc.send_signal(how)
    proc.wait(20)
    assert proc.returncode != 0
    assert _leftovers(tmp_path) == [] and not (tmp_path / "run").exists()


def test_a_killed_writers_temporary_folder_is_swept_by_the_next(tmp_path):
    proc = _start(tmp_path, "write")
    proc.kill()
    proc.wait(10)
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    write_folder_atomically(tmp_path / "run", _fill)
    assert _leftovers(tmp_path) == []
