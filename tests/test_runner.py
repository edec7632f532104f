"""``edusim run`` end to end on a small scenario: the folder, its files, the table, errors and atomicity."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scenario_files import SCENARIOS, write_small

from sim.cli import main


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    out = tmp / "out"
    assert main(["run", str(write_small(tmp)), "--out", str(out), "--quiet"]) == 0
    return out


def test_run_writes_every_file(run_folder):
    names = {p.name for p in run_folder.iterdir()}
    assert {"results.nc", "targets.csv", "targets.md", "scenario.resolved.yaml", "provenance.json"} <= names
    assert not [p for p in run_folder.parent.iterdir() if ".partial-" in p.name]


def test_results_have_units_and_recompute_the_targets(run_folder):
    ds = xr.open_dataset(run_folder / "results.nc", engine="h5netcdf")
    for name, var in ds.data_vars.items():
        if name not in ("indicator_units", "county_name", "county_south"):
            assert "units" in var.attrs and "long_name" in var.attrs, name
    rows = {(r["target"], r["scope"]): r for r in csv.DictReader((run_folder / "targets.csv").open())}
    # T1 recomputed from the file: share of counties recognised in 2027 ≥ 0.40
    share = ds["quality_balanced"].sel(year=2027).mean("county")
    assert float(rows[("T1", "region")]["probability"]) == pytest.approx(float((share >= 0.40).mean()), abs=1e-4)
    # T6 from the pairing counts
    pooled = ds["pairing_count"].sel(year=2027).sum("county") / ds["pairing_total"].sel(year=2027).sum("county")
    assert float(rows[("T6", "region")]["probability"]) == pytest.approx(float((pooled >= 1.0).mean()), abs=1e-4)
    ds.close()


def test_provenance_names_seed_versions_and_scenario_hash(run_folder):
    record = json.loads((run_folder / "provenance.json").read_text())
    assert record["seed"] == 20250126 and record["draws"] == 64 and record["engine"] == "cohort"
    assert len(record["scenario_sha256"]) == 64 and "numpy" in record["versions"]


def test_same_seed_reproduces_the_file(run_folder, tmp_path):
    again = tmp_path / "again"
    assert main(["run", str(write_small(tmp_path)), "--out", str(again), "--quiet"]) == 0
    a = xr.open_dataset(run_folder / "results.nc", engine="h5netcdf")
    b = xr.open_dataset(again / "results.nc", engine="h5netcdf")
    for name in ("teachers", "students", "quality_balanced", "indicator_cv"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    a.close()
    b.close()


def test_run_prints_the_table_for_region_and_south(run_folder, tmp_path, capsys):
    assert main(["run", str(write_small(tmp_path)), "--out", str(tmp_path / "o"), "--quiet", "--draws", "64"]) == 0
    out = capsys.readouterr().out
    assert "| target | region | south" in out and "T11" in out and "95% Wilson" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--draws", "0"], "draws"),
        (["--seed", "-3"], "seed"),
    ],
)
def test_bad_overrides_fail_cleanly_without_a_folder(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_scenario_file_fails_cleanly(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), "--quiet"]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_a_run_failing_while_writing_leaves_no_folder(tmp_path, monkeypatch, capsys):
    """results.nc is already written in the temporary folder when writing targets.csv fails."""
    import sim.output

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sim.output, "targets_csv", boom)
    out = tmp_path / "out"
    assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet"]) == 70
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))
    assert "internal error" in capsys.readouterr().err


def test_installed_command_runs_in_a_subprocess(tmp_path):
    import shutil
    import subprocess
    import sys

    exe = shutil.which("edusim")
    command = [exe] if exe else [sys.executable, "-m", "sim"]
    done = subprocess.run(
        [*command, "run", str(write_small(tmp_path)), "--out", str(tmp_path / "o"), "--quiet", "--draws", "64"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "T1" in done.stdout and (tmp_path / "o" / "results.nc").is_file()


@pytest.mark.slow
def test_whole_region_baseline_runs_and_keeps_its_accounts(tmp_path):
    """The README's main job on every county (64 draws): completes, and the accounting identities hold."""
    out = tmp_path / "baseline"
    assert main(["run", str(SCENARIOS / "baseline.yaml"), "--draws", "64", "--out", str(out), "--quiet"]) == 0
    ds = xr.open_dataset(out / "results.nc", engine="h5netcdf")
    assert ds.sizes["county"] == 96 and ds.sizes["draw"] == 64 and ds.sizes["year"] == 16
    teachers, hires, exits = (ds[n].values.astype(np.int64) for n in ("teachers", "hires", "exits"))
    np.testing.assert_array_equal(teachers[:, 1:], teachers[:, :-1] + hires[:, 1:] - exits[:, 1:])
    students = ds["students"].values.astype(np.int64)
    entries, leaving = ds["student_entries"].values.astype(np.int64), ds["student_exits"].values.astype(np.int64)
    np.testing.assert_array_equal(students[:, 1:], students[:, :-1] + entries[:, 1:] - leaving[:, 1:])
    # the published 2019 totals the registry was built from (NBS: 260.68万 + 97.71万 pupils)
    assert int(students[0, 0].sum()) <= 2_606_825 + 977_144
    ds.close()


def test_agent_engine_writes_the_same_schema(run_folder, tmp_path):
    """``--engine agents`` runs the same scenario file and writes the same variables, dims and units."""
    out = tmp_path / "agents"
    assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet", "--engine", "agents",
                 "--draws", "8"]) == 0
    a = xr.open_dataset(run_folder / "results.nc", engine="h5netcdf")
    b = xr.open_dataset(out / "results.nc", engine="h5netcdf")
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert a[name].dims == b[name].dims and a[name].attrs.get("units") == b[name].attrs.get("units"), name
    assert json.loads((out / "provenance.json").read_text())["engine"] == "agents"
    a.close()
    b.close()


# --- resume, precision, Dask (issue 6, parts 4 and 5) -------------------------------------------------------


@pytest.fixture
def no_figures(monkeypatch):
    """The figures are tested elsewhere; leaving them out keeps these runs short."""
    monkeypatch.setattr("sim.runner._figure_writer", lambda *args: None)


def _assert_same_results(a_dir: Path, b_dir: Path) -> None:
    with xr.open_dataset(a_dir / "results.nc", engine="h5netcdf") as a, \
            xr.open_dataset(b_dir / "results.nc", engine="h5netcdf") as b:
        xr.testing.assert_identical(a.load(), b.load())
    assert (a_dir / "targets.csv").read_text() == (b_dir / "targets.csv").read_text()
    assert (a_dir / "scenario.resolved.yaml").read_text() == (b_dir / "scenario.resolved.yaml").read_text()


def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch, capsys, no_figures):
    """Stopped (Ctrl-C) after its first chunk of 64 draws: --resume finishes it, identical to a run never stopped."""
    from sim.checkpoint import ChunkStore

    scenario = str(write_small(tmp_path))
    assert main(["run", scenario, "--out", str(tmp_path / "whole"), "--quiet", "--draws", "128"]) == 0
    assert not (tmp_path / ".whole.chunks").exists()  # removed once the run folder is written

    save = ChunkStore.save

    def save_then_stop(self, start, stop, raw):
        save(self, start, stop, raw)
        raise KeyboardInterrupt

    monkeypatch.setattr(ChunkStore, "save", save_then_stop)
    out = tmp_path / "cut"
    capsys.readouterr()
    assert main(["run", scenario, "--out", str(out), "--quiet", "--draws", "128"]) == 130
    assert "--resume" in capsys.readouterr().err
    assert not out.exists() and [p.name for p in sorted((tmp_path / ".cut.chunks").iterdir())] == [
        "chunk-0-64.npz", "manifest.json"]
    monkeypatch.setattr(ChunkStore, "save", save)

    # without --resume: refused, nothing lost
    assert main(["run", scenario, "--out", str(out), "--quiet", "--draws", "128"]) == 2
    assert "add --resume to reuse them" in capsys.readouterr().err
    # another seed cannot resume from these chunks
    assert main(["run", scenario, "--out", str(out), "--quiet", "--draws", "128", "--seed", "5", "--resume"]) == 2
    assert "seed: 20250126 there, 5 now" in capsys.readouterr().err

    assert main(["run", scenario, "--out", str(out), "--quiet", "--draws", "128", "--resume"]) == 0
    assert "resumed: 1 chunk(s) of draws loaded" in capsys.readouterr().out
    _assert_same_results(tmp_path / "whole", out)
    assert not (tmp_path / ".cut.chunks").exists()
    assert json.loads((out / "provenance.json").read_text())["execution"]["chunks_reused"] == 1


def test_precision_adds_draws_until_every_interval_is_narrow_enough(tmp_path, capsys, no_figures):
    """±0.10: 64 draws leave T8b at ±0.118; the run goes on to 128, identical to a plain run of 128 draws."""
    scenario = str(write_small(tmp_path))  # 64 draws
    out = tmp_path / "precise"
    assert main(["run", scenario, "--out", str(out), "--quiet", "--precision", "0.1"]) == 0
    stdout = capsys.readouterr().out
    assert "over 128 draws" in stdout and "precision: 128 draws in 2 batch(es)" in stdout
    rows = list(csv.DictReader((out / "targets.csv").open()))
    computed = [r for r in rows if r["probability"]]
    assert computed and all(r["draws"] == "128" for r in rows)
    assert max(float(r["ci95_high"]) - float(r["ci95_low"]) for r in computed) / 2 <= 0.1
    record = json.loads((out / "provenance.json").read_text())
    assert record["draws"] == 128
    assert record["precision"]["stopped"] == "every 95% interval's half-width is at most 0.1"
    assert [b["draws"] for b in record["precision"]["batches"]] == [64, 128]
    assert record["precision"]["batches"][0]["widest_half_width"] > 0.1

    plain = tmp_path / "plain"
    assert main(["run", scenario, "--out", str(plain), "--quiet", "--draws", "128"]) == 0
    _assert_same_results(out, plain)


def test_precision_stops_at_the_cap_and_says_so(tmp_path, capsys, no_figures):
    out = tmp_path / "capped"
    assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet", "--precision", "0.01",
                 "--max-draws", "64"]) == 0
    assert "the cap of 64 draws was reached (--max-draws)" in capsys.readouterr().out
    record = json.loads((out / "provenance.json").read_text())["precision"]
    assert record["draws"] == 64 and record["widest_half_width"] > 0.01


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers: must be at least 1, got 0"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "not allowed with argument"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler: cannot connect to a Dask scheduler"),
        (["--scheduler", "nonsense::"], "--scheduler: not a scheduler address"),
        (["--precision", "0.5"], "--precision: must be a probability in (0, 0.5)"),
        (["--precision", "0"], "--precision: must be a probability in (0, 0.5)"),
        (["--max-draws", "100"], "--max-draws: is the cap of a --precision run"),
        (["--precision", "0.05", "--max-draws", "0"], "--max-draws: must be in [1, 10,000,000], got 0"),
        (["--chunk-size", "100"], "chunk_size: must be a multiple of 64"),
    ],
)
def test_bad_scale_out_options_fail_cleanly(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / ".never.chunks").exists()


@pytest.mark.slow
def test_two_dask_workers_write_the_single_process_run_folder(tmp_path, capsys, no_figures):
    """`--workers 2` (a local Dask cluster of two processes): results.nc identical to the single-process run."""
    scenario = str(write_small(tmp_path))
    assert main(["run", scenario, "--out", str(tmp_path / "one"), "--quiet", "--draws", "128"]) == 0
    assert main(["run", scenario, "--out", str(tmp_path / "two"), "--quiet", "--draws", "128", "--workers", "2"]) == 0
    _assert_same_results(tmp_path / "one", tmp_path / "two")
    assert json.loads((tmp_path / "two" / "provenance.json").read_text())["execution"]["workers"] == 2


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path, no_figures):
    """SIGKILL once the first chunk file is on disk (no clean-up runs): --resume gives the uninterrupted result."""
    import signal
    import subprocess
    import sys
    import time

    scenario = str(write_small(tmp_path))
    out, chunks = tmp_path / "killed", tmp_path / ".killed.chunks"
    process = subprocess.Popen([sys.executable, "-m", "sim", "run", scenario, "--out", str(out), "--quiet",
                                "--draws", "512"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list(chunks.glob("chunk-*.npz")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not out.exists() and 1 <= len(list(chunks.glob("chunk-*.npz"))) < 8
    assert main(["run", scenario, "--out", str(out), "--quiet", "--draws", "512", "--resume"]) == 0
    assert main(["run", scenario, "--out", str(tmp_path / "whole"), "--quiet", "--draws", "512"]) == 0
    _assert_same_results(tmp_path / "whole", out)


# --- safe output folders, locking, size, resume checks (issue 11) ---------------------------------------------


def test_a_rerun_into_the_same_folder_needs_overwrite(run_folder, tmp_path, capsys, no_figures):
    """The common case: a scenario run again into outputs/NAME. Without --overwrite: refused before anything is
    simulated, the earlier run untouched; with it: replaced."""
    scenario = str(write_small(tmp_path))
    out = tmp_path / "again"
    assert main(["run", scenario, "--out", str(out), "--quiet"]) == 0
    before = (out / "provenance.json").read_text()
    capsys.readouterr()
    assert main(["run", scenario, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err and "--overwrite" in err
    assert (out / "provenance.json").read_text() == before
    assert main(["run", scenario, "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert (out / "provenance.json").read_text() != before  # a new start time
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("kind", ["user folder", "file", "folder of runs"])
def test_nothing_of_the_users_is_replaced_even_with_overwrite(run_folder, tmp_path, capsys, kind):
    """Issue 11, item 1: `--out mythesis`, `--out notes.txt`, `--out outputs` are refused and keep every file."""
    if kind == "user folder":
        out = tmp_path / "mythesis"
        out.mkdir()
        (out / "thesis.tex").write_text("keep")
    elif kind == "file":
        out = tmp_path / "notes.txt"
        out.write_text("keep")
    else:
        out = tmp_path / "outputs"
        out.mkdir()
        (out / "README.md").write_text("keep")
        shutil.copytree(run_folder, out / "baseline")
    before = {p: p.read_bytes() for p in ([out] if out.is_file() else out.rglob("*")) if p.is_file()}
    assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in before} == before
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name or p.name.endswith(".chunks")]


@pytest.mark.parametrize("out", ["", ".", "/", "/proc/1/edusim", "/proc/no-such/edusim", "{tmp}/notes.txt/run"])
def test_bad_out_values_get_one_line_and_exit_2(tmp_path, monkeypatch, capsys, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("keep")
    assert main(["run", str(write_small(tmp_path)), "--out", out.format(tmp=tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: <command line>: --out: ") and err.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "keep"


def test_a_second_run_on_a_locked_folder_is_refused_at_once(tmp_path, capsys):
    """Issue 11, item 2: while a run holds outputs/NAME, another run on it (any seed) is refused at once."""
    import subprocess
    import sys
    import time

    out = tmp_path / "shared"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom sim.output import folder_lock\n"
         "with folder_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        begun = time.monotonic()
        assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet", "--seed", "2"]) == 2
        assert time.monotonic() - begun < 30  # the scenario is loaded and prepared; nothing is simulated
        err = capsys.readouterr().err
        assert f"{out} is being written by another edusim command (pid {holder.pid}" in err
        assert not (tmp_path / ".shared.chunks").exists()
    finally:
        holder.kill()
        holder.wait(10)


def test_the_size_estimate_matches_a_real_run(tmp_path, no_figures):
    """Issue 11, item 9: the estimate of results.nc, derived from draws, years, counties and variables, is within
    10% of the file a real run writes, at two sizes (so the per-draw part is checked, not only the fixed part)."""
    from sim.cohort import prepare
    from sim.runner import estimate_size, load_with_overrides, run_scenario

    for draws in (64, 256):
        scenario = load_with_overrides(write_small(tmp_path), draws=draws)
        out = run_scenario(scenario, tmp_path / f"d{draws}", progress=False).out_dir
        actual = (out / "results.nc").stat().st_size
        estimate = estimate_size(prepare(scenario), draws).disk_bytes
        assert abs(estimate - actual) <= 0.10 * actual, (draws, estimate, actual)


def test_a_huge_run_is_refused_at_once_and_the_limit_can_be_raised(tmp_path, capsys):
    """`--draws 10000000` (the largest a scenario allows) is refused before anything is simulated, and says how
    to go on; a limit below a small run's size refuses it too."""
    import time

    scenario = str(write_small(tmp_path))
    begun = time.monotonic()
    assert main(["run", scenario, "--out", str(tmp_path / "big"), "--quiet", "--draws", "10000000"]) == 2
    assert time.monotonic() - begun < 30
    err = capsys.readouterr().err
    assert "too large" in err and "GB" in err and "--max-output-gb" in err and err.count("\n") == 1
    assert main(["run", scenario, "--out", str(tmp_path / "small"), "--quiet", "--max-output-gb", "0.0001"]) == 2
    assert "over the limit of 0.0001 GB" in capsys.readouterr().err
    assert not (tmp_path / "big").exists() and not (tmp_path / "small").exists()
    assert main(["run", scenario, "--out", str(tmp_path / "bad"), "--quiet", "--max-output-gb", "-1"]) == 2
    assert "--max-output-gb: must be a positive number" in capsys.readouterr().err


def test_the_estimate_is_printed_before_the_run(tmp_path, capsys, no_figures):
    assert main(["run", str(write_small(tmp_path)), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "size: 64 draws: results.nc about" in err and "memory about" in err


def test_resume_simulates_a_damaged_chunk_again_and_gives_the_uninterrupted_result(tmp_path, monkeypatch, capsys,
                                                                                    no_figures):
    """Issue 11, item 8 through the command: a NaN-filled chunk is not used; --resume re-simulates it and says so."""
    from sim.checkpoint import ChunkStore

    scenario = str(write_small(tmp_path))
    save = ChunkStore.save

    def save_then_stop(self, start, stop, raw):
        save(self, start, stop, raw)
        if start == 64:
            raise KeyboardInterrupt

    monkeypatch.setattr(ChunkStore, "save", save_then_stop)
    out = tmp_path / "cut"
    assert main(["run", scenario, "--out", str(out), "--quiet", "--draws", "192"]) == 130
    monkeypatch.setattr(ChunkStore, "save", save)
    first = tmp_path / ".cut.chunks" / "chunk-0-64.npz"
    with np.load(first) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["teachers"] = np.full_like(arrays["teachers"], -1)
    with open(first, "wb") as f:
        np.savez(f, **arrays)
    capsys.readouterr()
    assert main(["run", scenario, "--out", str(out), "--quiet", "--draws", "192", "--resume"]) == 0
    captured = capsys.readouterr()
    assert "chunk-0-64.npz: its arrays do not match their checksum" in captured.err
    assert "resumed: 1 chunk(s)" in captured.out
    assert main(["run", scenario, "--out", str(tmp_path / "whole"), "--quiet", "--draws", "192"]) == 0
    _assert_same_results(tmp_path / "whole", out)


def test_the_largest_accepted_seed_is_written_and_read_back(tmp_path, no_figures):
    """Issue 11, item 5: seeds up to 2^63 - 1 (the range a scenario accepts) are stored in results.nc."""
    seed = 2**63 - 1
    out = tmp_path / "seed"
    assert main(["run", str(write_small(tmp_path)), "--out", str(out), "--quiet", "--seed", str(seed)]) == 0
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert int(ds.attrs["seed"]) == seed
    assert json.loads((out / "provenance.json").read_text())["seed"] == seed


def test_run_folders_follow_the_umask(tmp_path, no_figures):
    """Issue 11, item 10: not 0700 (the temporary folder's mode) but what the user's umask gives."""
    previous = os.umask(0o022)
    try:
        assert main(["run", str(write_small(tmp_path)), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "o").stat().st_mode & 0o777 == 0o755


def test_run_options_are_frozen_and_run_scenario_keeps_its_keywords(tmp_path, no_figures):
    """Issue 12, item 4: the options are one frozen value; the old keyword calls still work and mean the same."""
    import dataclasses

    from sim.runner import RunOptions, load_with_overrides, run_scenario

    options = RunOptions(figures=False, progress=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.engine = "agents"  # type: ignore[misc]
    scenario = load_with_overrides(write_small(tmp_path))
    a = run_scenario(scenario, tmp_path / "a", options)
    b = run_scenario(scenario, tmp_path / "b", progress=False, figures=False, engine="cohort")
    _assert_same_results(a.out_dir, b.out_dir)
    with pytest.raises(TypeError):
        run_scenario(scenario, tmp_path / "c", no_such_option=1)
