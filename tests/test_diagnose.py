"""``edusim diagnose`` on a run built by hand, where the binding constraint of each county is known."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.cli import main
from sim.diagnose import diagnose, diagnosis_chart
from sim.mechanisms.assessment import GUARANTEE_RULES, INDICATORS

DRAWS = 10
YEARS = np.arange(2020, 2036)
COUNTIES = ["650001", "650002", "653003"]


def constructed() -> xr.Dataset:
    """Three counties, ten draws, 2020–2035.

    - 650001 is ready every year; recognised from 2026 in every draw.
    - 650002 is never ready; sports ground is below threshold in 9 of 10 draws (and in 4 sections), the other
      indicators in 3 of 10 (1 section); the floor-area CV is over its limit in 2 draws; the rotation rule fails
      in 1. Never recognised. Its binding constraint is the sports ground.
    - 653003 (south) meets every indicator but fails the class-size rule in every draw; recognised from 2030 in
      half the draws. Its binding constraint is the class-size rule.
    """
    shape = (DRAWS, YEARS.size, len(COUNTIES))
    ready = np.zeros(shape, np.int8)
    ready[:, :, 0] = 1
    ready[:, :, 2] = 1
    guarantee = np.ones(shape, np.int8)
    guarantee[:, :, 2] = 0
    below = np.zeros((*shape, len(INDICATORS)), np.int32)
    sports = INDICATORS.index("sports_area_m2_per_student")
    below[:9, :, 1, sports] = 4
    for i in range(len(INDICATORS)):
        if i != sports:
            below[:3, :, 1, i] = 1
    cv = np.zeros((*shape, 2, len(INDICATORS)), np.int8)
    cv[:2, :, 1, 0, INDICATORS.index("floor_area_m2_per_student")] = 1
    failed = np.zeros((*shape, len(GUARANTEE_RULES)), np.int8)
    failed[:1, :, 1, GUARANTEE_RULES.index("rotation_share")] = 1
    failed[:, :, 2, GUARANTEE_RULES.index("class_size")] = 1
    qb = np.zeros(shape, np.int8)
    qb[:, YEARS >= 2026, 0] = 1
    qb[:5, YEARS >= 2030, 2] = 1
    dims = ("draw", "year", "county")
    return xr.Dataset(
        {
            "quality_balanced": (dims, qb),
            "resource_ready": (dims, ready),
            "guarantee_met": (dims, guarantee),
            "failing_sections_below": ((*dims, "indicator"), below),
            "cv_over_limit": ((*dims, "level", "indicator"), cv),
            "guarantee_failed": ((*dims, "guarantee_rule"), failed),
            "county_name": ("county", ["甲县", "乙县", "丙县"]),
            "county_south": ("county", np.array([0, 0, 1], np.int8)),
        },
        coords={"draw": np.arange(DRAWS), "year": YEARS, "county": COUNTIES, "indicator": list(INDICATORS),
                "level": ["primary", "junior"], "guarantee_rule": list(GUARANTEE_RULES)},
    )


def test_names_the_constructed_binding_constraint() -> None:
    rows = {d.county: d for d in diagnose(constructed())}
    assert rows["650002"].binding == "below:sports_area_m2_per_student"
    assert rows["650002"].binding_share == pytest.approx(0.9)
    assert rows["650002"].second.startswith("below:") and rows["650002"].second_share == pytest.approx(0.3)
    assert rows["653003"].binding == "rule:class_size" and rows["653003"].binding_share == 1.0
    assert rows["650001"].binding == "none" and rows["650001"].not_ready_share == 0.0


def test_probabilities_median_year_and_order() -> None:
    rows = diagnose(constructed())
    assert [d.county for d in rows] == ["650002", "653003", "650001"]  # worst first
    by = {d.county: d for d in rows}
    assert by["650001"].probability_by == {2027: 1.0, 2035: 1.0} and by["650001"].median_year == 2026
    assert by["653003"].probability_by == {2027: 0.0, 2035: 0.5}
    assert by["653003"].median_year == 2030  # lower median: half the draws reach it in 2030
    assert by["650002"].probability_by == {2027: 0.0, 2035: 0.0} and by["650002"].median_year is None


def test_chart_bars_are_the_probabilities() -> None:
    rows = diagnose(constructed())
    ax = diagnosis_chart(rows)
    for year in (2027, 2035):
        widths = [p.get_width() for p in ax.patches if p.get_gid() == f"diagnose-{year}"]
        assert widths == [d.probability_by[year] for d in rows]


def test_command_on_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    constructed().to_netcdf(run / "results.nc", engine="h5netcdf")
    (run / "targets.csv").write_text("target,scope,metric,probability,ci95_low,ci95_high\n", encoding="utf-8")
    (run / "provenance.json").write_text(json.dumps({"seed": 1, "draws": DRAWS, "scenario_name": "hand"}))
    (run / "scenario.resolved.yaml").write_text("name: hand\n", encoding="utf-8")
    assert main(["diagnose", str(run), "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "schools below the sports ground m² /pupil threshold (90%)" in out
    with open(tmp_path / "d" / "diagnose.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["county"] for r in rows] == ["650002", "653003", "650001"]
    assert rows[0]["binding_constraint"] == "below:sports_area_m2_per_student"
    assert rows[1]["binding_constraint"] == "rule:class_size" and rows[1]["probability_by_2035"] == "0.5000"
    assert (tmp_path / "d" / "diagnose.png").is_file() and (tmp_path / "d" / "diagnose.svg").is_file()
    assert main(["diagnose", str(run), "--year", "2050"]) == 2
    assert "outside the run" in capsys.readouterr().err


def test_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", str(tmp_path / "none")]) == 2
    assert main(["diagnose", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no such run folder" in err and "not a run folder" in err and "Traceback" not in err
