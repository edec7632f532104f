"""``edusim run`` end to end on a small scenario: the folder, its files, the table, errors and atomicity."""

from __future__ import annotations

import csv
import json
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
