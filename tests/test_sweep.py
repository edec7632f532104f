"""edusim sweep: the Dataset and CSV, atomic folders, CRN on the model (lever keys: tests/test_levers.py)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scenario_files import AT_NORM, write_small

from sim.cli import main
from sim.ensemble import run
from sim.errors import InputError, InputErrors
from sim.levers import LeverInfo
from sim.outcomes import TargetOutcome, evaluate
from sim.scenario import load_scenario, replace
from sim.sweep import (
    AREAS,
    LeverGrid,
    evaluate_point,
    run_sweep,
    select_targets,
    sweep_csv,
    sweep_dataset,
    write_atomically,
)

DISPATCH = "levers.dispatch.per_year"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """Two counties given the region's dispatched teachers in full, so that the dispatch lever matters; the
    teaching establishment at the national norm itself (multipliers 1), so that the norm (T5) can be missed."""
    return load_scenario(write_small(tmp_path_factory.mktemp("sweep"), extra=AT_NORM, scaled=False))


def test_select_targets(small) -> None:
    assert [t.id for t in select_targets(small, ["T5", "T1"])] == ["T5", "T1"]
    with pytest.raises(InputErrors, match=r"unknown target 'T99'; did you mean 'T9'\?"):
        select_targets(small, ["T5", "T99"])


# ---------------------------------------------------------------------------------------------------------
# Dataset, CSV and folder from hand-made outcomes


def _outcome(target: str, scope: str, met: int, draws: int = 10) -> TargetOutcome:
    return TargetOutcome(target, scope, "m", draws, met, met / draws, 0.1, 0.9, None)


def test_sweep_dataset_and_csv_from_hand_made_outcomes(small) -> None:
    targets = select_targets(small, ["T5", "T1"])
    grid = LeverGrid(LeverInfo(DISPATCH, 5000, True, "persons/yr", "dispatched"), np.array([0, 100]))
    missing = TargetOutcome("T1", "south", "m", 10, 0, float("nan"), float("nan"), float("nan"), None,
                            computed=False, reason="not computed")
    outcomes = {
        (0,): [_outcome("T5", "region", 2), _outcome("T1", "region", 0), missing],
        (1,): [_outcome("T5", "region", 7), _outcome("T1", "region", 1), missing],
    }
    ds = sweep_dataset([grid], targets, outcomes)
    assert ds["probability"].dims == (DISPATCH, "target", "area")
    assert ds["probability"].sel({DISPATCH: 100, "target": "T5", "area": "region"}) == pytest.approx(0.7)
    assert int(ds["draws_met"].sel({DISPATCH: 0, "target": "T1", "area": "region"})) == 0
    assert np.isnan(ds["probability"].sel({DISPATCH: 0, "target": "T1", "area": "south"}))
    assert int(ds["draws_met"].sel({DISPATCH: 0, "target": "T1", "area": "south"})) == -1
    for name in ("probability", "lower", "upper", "draws_met"):
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
    assert ds[DISPATCH].attrs["units"] == "persons/yr"
    assert sweep_csv(ds).splitlines() == [
        f"{DISPATCH} [persons/yr],target,area,probability,ci95_low,ci95_high,draws_met,draws",
        "0,T5,region,0.2000,0.1000,0.9000,2,10",
        "0,T1,region,0.0000,0.1000,0.9000,0,10",
        "100,T5,region,0.7000,0.1000,0.9000,7,10",
        "100,T1,region,0.1000,0.1000,0.9000,1,10",
    ]
    assert list(ds["area"].values) == list(AREAS)


def test_write_atomically_leaves_nothing_on_failure(tmp_path: Path) -> None:
    out = write_atomically(tmp_path / "sweep", lambda tmp: (tmp / "old.txt").write_text("old"))

    def fail(tmp: Path) -> None:
        (tmp / "half.csv").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(out, fail, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["old.txt"]
    write_atomically(out, lambda tmp: (tmp / "new.txt").write_text("new"), overwrite=True)
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]


# ---------------------------------------------------------------------------------------------------------
# On the model


def test_sweep_point_at_the_base_value_reproduces_the_base_run(small, tmp_path: Path) -> None:
    """Common random numbers: the grid point equal to the scenario's own value (5,000/yr) is its run. The
    region's 5,000 are given in full to the two counties (`scale_region_levers: false`), so that they matter."""
    result = run_sweep(small, [(DISPATCH, 0, 5000, 2)], target_ids=["T5", "T8b"], out_dir=tmp_path / "s",
                       progress=False, figures=False)
    base_run = run(small)
    base = {(o.target, o.scope): o.met for o in evaluate(base_run, select_targets(small, ["T5", "T8b"]))}
    ds = result.dataset
    # cost on the lever axis: the base point's median cost is the base run's; no dispatch costs less
    assert float(ds["cost_median"].sel({DISPATCH: 5000})) == float(np.median(base_run["cost_plan_total"].values))
    assert float(ds["cost_median"].sel({DISPATCH: 0})) < float(ds["cost_median"].sel({DISPATCH: 5000}))
    assert ds["cost_median"].attrs["units"] == "CNY"
    for (target, scope), met in base.items():
        assert int(ds["draws_met"].sel({DISPATCH: 5000, "target": target, "area": scope})) == met
    # no dispatched teachers: the staffing norm (T5) is met in fewer draws than with 5,000/yr
    assert int(ds["draws_met"].sel({DISPATCH: 0, "target": "T5", "area": "region"})) < base[("T5", "region")]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        ".edusim-folder.json", "provenance.json", "scenario.resolved.yaml", "sweep.csv", "sweep.nc"]
    back = xr.load_dataset(tmp_path / "s" / "sweep.nc", engine="h5netcdf")
    assert back[DISPATCH].values.tolist() == [0, 5000]
    xr.testing.assert_identical(back["draws_met"], ds["draws_met"])
    header = (tmp_path / "s" / "sweep.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith("cost_median_cny,cost_p05_cny,cost_p95_cny")


def test_sweep_rejects_values_the_scenario_rejects_before_running(small, tmp_path: Path) -> None:
    with pytest.raises(InputErrors, match=r"must be in \[0, 1\], got 1\.5") as info:
        run_sweep(small, [("levers.rotation.share", 0, 1.5, 3)], out_dir=tmp_path / "s", progress=False)
    assert info.value.errors[0].key == "levers.rotation.share"
    assert not (tmp_path / "s").exists()


def test_cli_sweep_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_small(tmp_path))
    out = tmp_path / "out"
    cases = [
        (["--lever", "levers.rotation.shre=0:1:3"], "levers.rotation.shre: unknown key 'shre'; did you mean"),
        (["--lever", "levers.rotation.share=0:1"], "expected LO:HI:N"),
        (["--lever", "levers.pairing.coverage_by_year=0:1:3"], "per-year schedule"),
        (["--lever", "levers.rotation.share=0:1:2", "--lever", "levers.rotation.share=0:1:2"], "given twice"),
        (["--lever", "levers.rotation.share=0:1:2", "--lever", DISPATCH + "=0:1:2", "--lever",
          "levers.rotation.backbone_share=0:1:2"], "give one or two --lever options, got 3"),
        (["--lever", "levers.rotation.share=0:1:2", "--targets", "T5,X"], "--targets: unknown target 'X'"),
        (["--lever", "levers.rotation.share=0:1:2", "--area", "north"], "unknown area 'north'"),
        (["--lever", "levers.rotation.share=0:1:2", "--workers", "0"], "--workers: must be at least 1, got 0"),
        (["--lever", "levers.rotation.share=0:1:2", "--scheduler", "foo"], "--scheduler: not a scheduler address"),
        (["--lever", "levers.rotation.share=0:1:2", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
         "argument --scheduler: not allowed with argument --workers"),
    ]
    for extra, message in cases:
        assert main(["sweep", path, *extra, "--out", str(out), "--quiet"]) == 2, extra
        captured = capsys.readouterr()
        assert message in captured.err and "Traceback" not in captured.err, (extra, captured.err)
        assert not out.exists()
    assert main(["sweep", str(tmp_path / "missing.yaml"), "--lever", "levers.rotation.share=0:1:2"]) == 2
    assert "missing.yaml" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_two_lever_sweep_writes_heatmaps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_small(tmp_path, extra=AT_NORM, scaled=False))
    out = tmp_path / "two"
    status = main(["sweep", path, "--lever", f"{DISPATCH}=0:40:2", "--lever", "levers.dispatch.south_share=0:1:2",
                   "--targets", "T5,T7", "--out", str(out), "--quiet"])
    assert status == 0
    text = capsys.readouterr().out
    assert f"{DISPATCH} [persons/yr]" in text and f"written: {out}/" in text
    ds = xr.load_dataset(out / "sweep.nc", engine="h5netcdf")
    assert ds["probability"].dims == (DISPATCH, "levers.dispatch.south_share", "target", "area")
    assert ds["probability"].shape == (2, 2, 2, 3)
    # no dispatched teachers: the south share changes nothing (same draws, bit-identical counts)
    none = ds["draws_met"].sel({DISPATCH: 0})
    xr.testing.assert_identical(none.isel({"levers.dispatch.south_share": 0}, drop=True),
                                none.isel({"levers.dispatch.south_share": 1}, drop=True))
    # T5 varies over the grid, T7 does not: a heatmap for T5 only
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert "heatmap_T5_region.png" in figures and "heatmap_T5_region.svg" in figures
    assert not any("T7" in name for name in figures)
    rows = (out / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 4 * 2 * 2  # 4 points × 2 targets × (region, south)


@pytest.mark.slow
def test_common_random_numbers_make_the_curve_smoother_than_independent_seeds(small) -> None:
    """Over a fine grid of dispatched teachers, with CRN more teachers never means fewer draws meeting the
    staffing norm; with a fresh seed per point (what CRN avoids) the count goes down somewhere (noise)."""
    targets = select_targets(small, ["T5"])
    values = list(range(10, 21))
    crn = [evaluate_point(small, {DISPATCH: v}, targets)[0].met for v in values]
    independent = [evaluate_point(replace(small, {"seed": 1000 + v}), {DISPATCH: v}, targets)[0].met
                   for v in values]
    assert all(b >= a for a, b in itertools.pairwise(crn)), crn
    assert any(b < a for a, b in itertools.pairwise(independent)), independent
    total_variation = [sum(abs(b - a) for a, b in itertools.pairwise(c)) for c in (crn, independent)]
    assert total_variation[0] < total_variation[1]


def test_two_dask_workers_give_the_same_sweep(tmp_path: Path, dask_scheduler: str) -> None:
    """On a 2-worker LocalCluster every number of the sweep equals the one-process sweep's (two chunks a point)."""
    scenario = replace(load_scenario(write_small(tmp_path, scaled=False)), {"draws": 128})
    levers = [(DISPATCH, 0, 40, 2)]
    serial = run_sweep(scenario, levers, out_dir=tmp_path / "serial", progress=False, figures=False)
    dask = run_sweep(scenario, levers, out_dir=tmp_path / "dask", progress=False, figures=False,
                     scheduler=dask_scheduler)
    xr.testing.assert_identical(serial.dataset, dask.dataset)
    assert (tmp_path / "serial" / "sweep.csv").read_bytes() == (tmp_path / "dask" / "sweep.csv").read_bytes()
    assert int(serial.dataset["draws_met"].max()) > 0  # something was met: the comparison is not of empty arrays
    record = json.loads((tmp_path / "dask" / "provenance.json").read_text(encoding="utf-8"))
    assert record["execution"] == {"workers": None, "scheduler": dask_scheduler}


def test_an_input_error_while_running_stays_an_input_error(small, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A problem found while a grid point is prepared (a registry file, say) is a clear error, not an internal one
    (InputError is a frozen dataclass: raised through a generator context manager it became FrozenInstanceError)."""
    import sim.cohort

    def bad(scenario):
        raise InputError("row 3: floor_area_m2: must be a number", file="registry.csv")

    monkeypatch.setattr(sim.cohort, "prepare", bad)
    with pytest.raises(InputError, match="floor_area_m2"):
        run_sweep(small, [(DISPATCH, 0, 40, 2)], out_dir=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()
