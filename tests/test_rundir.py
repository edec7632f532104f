"""sim.rundir: a run folder read back, on hand-made folders (every file written here, so expected values are the
ones written) and on errors, which name the file and never raise a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.errors import InputError
from sim.rundir import REQUIRED_FILES, is_run_folder, open_run

TARGETS_CSV = ("target,scope,metric,probability,ci95_low,ci95_high,draws_met,draws\n"
               "T5,region,staffing_norm_met,0.7500,0.30,0.95,3,4\n")


def make_folder(path: Path, *, target_set: str | None = None, skip: str | None = None) -> Path:
    path.mkdir(parents=True)
    files = {
        "targets.csv": TARGETS_CSV,
        "provenance.json": json.dumps({"scenario_name": "hand", "seed": 7, "target_set": target_set}),
        "scenario.resolved.yaml": "name: hand\n",
    }
    for name, text in files.items():
        if name != skip:
            (path / name).write_text(text, encoding="utf-8")
    if skip != "results.nc":
        ds = xr.Dataset({"x": (("draw", "year"), np.arange(6.0).reshape(2, 3))},
                        coords={"draw": [0, 1], "year": [2020, 2021, 2022]})
        ds.to_netcdf(path / "results.nc", engine="h5netcdf")
    return path


def test_open_run_reads_every_file(tmp_path: Path) -> None:
    run = open_run(make_folder(tmp_path / "run"))
    assert run.name == "hand" and run.horizon == 2022
    assert run.provenance["seed"] == 7
    assert run.rows == [{"target": "T5", "scope": "region", "metric": "staffing_norm_met", "probability": "0.7500",
                         "ci95_low": "0.30", "ci95_high": "0.95", "draws_met": "3", "draws": "4"}]
    assert run.resolved_yaml == "name: hand\n"
    np.testing.assert_array_equal(run.results["x"].values, [[0, 1, 2], [3, 4, 5]])
    assert run.targets == []  # no target set named


def test_results_are_loaded_and_the_file_closed(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "run")
    run = open_run(folder)
    # overwriting the file fails while HDF5 still holds it open; the values read stay in memory
    xr.Dataset({"x": ("draw", [100.0])}).to_netcdf(folder / "results.nc", engine="h5netcdf")
    assert float(run.results["x"].sum()) == 15.0


def test_the_named_target_set_is_loaded(tmp_path: Path) -> None:
    from sim.scenario import DEFAULT_TARGETS

    run = open_run(make_folder(tmp_path / "run", target_set=str(DEFAULT_TARGETS)))
    assert "T5" in {t.id for t in run.targets}
    # a target set that is gone leaves the list empty (the folder is still readable)
    assert open_run(make_folder(tmp_path / "gone", target_set=str(tmp_path / "missing.yaml"))).targets == []


def test_name_falls_back_to_the_folder(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "my-run")
    (folder / "provenance.json").write_text("{}", encoding="utf-8")
    assert open_run(folder).name == "my-run"


@pytest.mark.parametrize("missing", REQUIRED_FILES)
def test_a_missing_file_is_named(tmp_path: Path, missing: str) -> None:
    folder = make_folder(tmp_path / "run", skip=missing)
    assert not is_run_folder(folder)
    with pytest.raises(InputError, match=f"not a run folder: missing {re.escape(missing)}") as info:
        open_run(folder)
    assert info.value.file == str(folder)


def test_errors_name_the_file(tmp_path: Path) -> None:
    assert is_run_folder(make_folder(tmp_path / "ok"))
    with pytest.raises(InputError, match="no such run folder"):
        open_run(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a run folder: a file"):
        open_run(tmp_path / "file")
    bad = make_folder(tmp_path / "bad-json")
    (bad / "provenance.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot read provenance\.json") as info:
        open_run(bad)
    assert info.value.file == str(bad / "provenance.json")
    bad_nc = make_folder(tmp_path / "bad-nc")
    (bad_nc / "results.nc").write_bytes(b"not netcdf")
    with pytest.raises(InputError, match=r"cannot read results\.nc") as info:
        open_run(bad_nc)
    assert info.value.file == str(bad_nc / "results.nc")
    columns = make_folder(tmp_path / "columns")
    (columns / "targets.csv").write_text("target,probability\nT5,0.5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"targets.csv lacks columns \['ci95_high', 'ci95_low', 'scope'\]"):
        open_run(columns)
