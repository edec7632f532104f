"""Tests of sim/observations.py and of the table calibration/build_observations.py builds.

The expected values are read here from the published source CSVs with the standard csv module (not through the
build script), so a build that drops, rescales or mislabels a figure fails.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import InputError, InputErrors
from sim.observations import COLUMNS, DATA_DIR, KEY, load_observations, series

ROOT = Path(__file__).resolve().parents[1]


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_observations()


def _messages(exc: BaseException) -> list[str]:
    if isinstance(exc, InputErrors):
        return [str(e) for e in exc.errors]
    return [str(exc)]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "obs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


HEADER = ",".join(COLUMNS)
GOOD = "pupils,primary,region,2019,2606825,persons,unknown,0.01,NBS count ~1%,SOURCES.md §1a,"


# ----------------------------------------------------------------------------- the table reproduces the sources


@pytest.mark.parametrize(
    ("file", "level", "columns"),
    [
        (
            "xinjiang_primary_nbs_2000_2019.csv",
            "primary",
            {
                "primary_schools": ("schools", 1),
                "enrolled_10k": ("pupils", 10_000),
                "new_entrants_10k": ("entrants", 10_000),
                "graduates_10k": ("graduates", 10_000),
                "fulltime_teachers_10k": ("fulltime_teachers", 10_000),
            },
        ),
        (
            "xinjiang_junior_nbs_2011_2019.csv",
            "junior",
            {
                "junior_schools": ("schools", 1),
                "enrolled_10k": ("pupils", 10_000),
                "new_entrants_10k": ("entrants", 10_000),
                "graduates_10k": ("graduates", 10_000),
                "fulltime_teachers_10k": ("fulltime_teachers", 10_000),
            },
        ),
    ],
)
def test_nbs_school_series_reproduce_the_source(table, file, level, columns):
    for col, (name, factor) in columns.items():
        observed = series(table, name, level)
        expected = {int(r["year"]): float(r[col]) * factor for r in _rows(file) if r[col].strip()}
        # every published year is in the table (the 2018 bulletin may add years the NBS file lacks)
        assert set(expected) <= set(observed.index), (file, col)
        for year, value in expected.items():
            assert observed[year] == pytest.approx(value, abs=0.5), (file, col, year)


def test_gaps_in_the_source_are_not_zeros(table):
    # primary entrants 2015, 2016 and 2019 are blank in the NBS file and not in the 2018 bulletin either
    entrants = series(table, "entrants", "primary")
    assert not {2015, 2016, 2019} & set(entrants.index)
    assert (table["value"][table["unit"] == "persons"] > 0).all()


def test_2018_bulletin_fills_the_nbs_gap(table):
    # 2018 bulletin: 46.85万 primary entrants, 32.37万 graduates; junior 32.16万 / 29.68万 (SOURCES.md §1f)
    assert series(table, "entrants", "primary")[2018] == 468_500
    assert series(table, "graduates", "primary")[2018] == 323_700
    assert series(table, "entrants", "junior")[2018] == 321_600
    assert series(table, "graduates", "junior")[2018] == 296_800


def test_ratios_population_and_births_reproduce_the_source(table):
    for r in _rows("xinjiang_student_teacher_ratio_2004_2019.csv"):
        year = int(r["year"])
        assert series(table, "pupil_teacher_ratio", "primary")[year] == pytest.approx(float(r["primary_ratio"]))
        assert series(table, "pupil_teacher_ratio", "junior")[year] == pytest.approx(float(r["junior_ratio"]))
    pop = {int(r["year"]): r for r in _rows("xinjiang_population_births_2000_2021.csv")}
    population = series(table, "population", "all", scope="with_xpcc")
    for year, r in pop.items():
        if year != 2020:  # 2020 is the census, a different series
            assert population[year] == pytest.approx(float(r["pop_yearend_10k"]) * 10_000, abs=0.5)
    births = series(table, "births", "all", scope="with_xpcc")
    assert births[2019] == 205_400 and births[2021] == 160_000
    # a derived year, by hand: 15.88‰ × (2398 + 2445)/2 万 = 15.88/1000 × 24,215,000 = 384,534.2
    assert births[2017] == pytest.approx(384_534, abs=1)


def test_census_counties_sum_to_the_region(table):
    rows = _rows("xinjiang_counties_census2020.csv")
    region = next(r for r in rows if r["level"] == "region")
    counties = [r for r in rows if r["level"].startswith("county")]
    assert len(counties) == 106
    for band in ("age0", "age1_4", "age5_9", "age10_14", "age15_19"):
        obs = table[(table["series"] == f"census_cohort_{band}") & (table["year"] == 2020)]
        by_area = dict(zip(obs["area"], obs["value"], strict=True))
        assert by_area["region"] == float(region[band])
        assert {r["code"] for r in counties} <= set(by_area)
        assert sum(by_area[r["code"]] for r in counties) == float(region[band])
    total = series(table, "census_population", "all")
    assert total[2020] == 25_852_345


def test_single_observations(table):
    assert series(table, "consolidation_rate", "compulsory")[2020] == pytest.approx(0.9569)
    special = series(table, "special_education_schools", "all")
    assert special[2014] == 29 and special[2013] == 26  # bulletin 2014: 29, "net +3" on 2013
    assert set(range(2000, 2020)) <= set(special.index)
    status = table[(table["series"] == "basic_balanced") & (table["year"] == 2020)]
    assert dict(zip(status["area"], status["value"], strict=True))["654201"] == 0.0  # 塔城市: not yet, 2020-10


# ------------------------------------------------------------------------------------------ table properties


def test_keys_are_unique_and_every_row_is_sourced(table):
    assert not table.duplicated(list(KEY)).any()
    assert list(table.columns) == list(COLUMNS)
    assert (table["obs_sd_rel"] > 0).all() and (table["obs_sd_rel"] <= 1).all()
    assert (table["source"].str.len() > 0).all() and (table["sd_reason"].str.len() > 0).all()


def test_the_table_on_disk_is_the_build():
    spec = importlib.util.spec_from_file_location("build_observations", ROOT / "calibration/build_observations.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    on_disk = load_observations()
    pd.testing.assert_frame_equal(built.reset_index(drop=True), on_disk, check_dtype=False)


def test_series_selects_and_explains(table):
    s = series(table, "pupils", "junior")
    assert s.index.is_monotonic_increasing and s.name == "pupils"
    with pytest.raises(KeyError, match="series at that level and area"):
        series(table, "pupil", "junior")
    # births are observed with and without the XPCC in 2019: the scope must be named
    with pytest.raises(ValueError, match="several scopes"):
        series(table, "births", "all")
    # 2019 without the XPCC, by hand: 20.54万 (region) - 1.84万 (XPCC bulletin) = 187,000
    assert series(table, "births", "all", scope="without_xpcc")[2019] == 187_000


# ------------------------------------------------------------------------------------- the schema rejects


def test_a_good_file_loads(tmp_path):
    df = load_observations(_write(tmp_path, [HEADER, GOOD]))
    assert df.loc[0, "value"] == 2_606_825.0 and df.loc[0, "year"] == 2019


@pytest.mark.parametrize(
    ("bad", "column", "words"),
    [
        (GOOD.replace(",2019,", ",20x9,"), "year", "not a valid integer"),
        (GOOD.replace(",2606825,", ",lots,"), "value", "not a valid number"),
        (GOOD.replace(",2606825,", ",-5,"), "value", ">= 0"),
        (GOOD.replace(",primary,", ",senior,"), "level", "must be one of"),
        (GOOD.replace(",region,", ",65010,"), "area", "6-digit"),
        (GOOD.replace(",unknown,", ",maybe,"), "scope", "with_xpcc"),
        (GOOD.replace(",0.01,", ",0,"), "obs_sd_rel", "(0, 1]"),
        (GOOD.replace(",0.01,", ",,"), "obs_sd_rel", "must not be empty"),
        (GOOD.replace("NBS count ~1%", ""), "sd_reason", "why"),
        (GOOD.replace("SOURCES.md §1a", " "), "source", "source"),
        (GOOD.replace("pupils,", "Pupils,", 1), "series", "snake_case"),
    ],
)
def test_bad_rows_are_named_by_file_line_and_column(tmp_path, bad, column, words):
    path = _write(tmp_path, [HEADER, GOOD.replace("2019", "2018"), bad])
    with pytest.raises((InputError, InputErrors)) as info:
        load_observations(path)
    messages = _messages(info.value)
    assert any(m.startswith(f"{path}:3: {column}:") and words in m for m in messages), messages


def test_duplicate_keys_are_rejected_naming_both_lines(tmp_path):
    path = _write(tmp_path, [HEADER, GOOD, GOOD.replace("2606825", "2606826")])
    with pytest.raises(InputError, match=r"obs\.csv:3: .*duplicate key .*year=2019.*same as line 2"):
        load_observations(path)


def test_missing_and_unknown_columns_are_rejected(tmp_path):
    path = _write(tmp_path, [HEADER.replace(",note", ",remark"), GOOD])
    with pytest.raises((InputError, InputErrors)) as info:
        load_observations(path)
    text = "\n".join(_messages(info.value))
    assert f"{path}:1:" in text and "'remark'" in text and "'note'" in text
    with pytest.raises(InputError, match="file not found"):
        load_observations(tmp_path / "none.csv")


def test_build_check_reports_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "calibration/build_observations.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hand_entered_figures_are_in_the_table(table):
    rows = _rows("observations_found.csv")
    assert rows, "observations_found.csv is empty"
    keyed = table.set_index(list(KEY))["value"]
    for r in rows:
        key = (r["series"], r["level"], r["area"], int(r["year"]), r["scope"])
        assert keyed[key] == pytest.approx(float(r["value"])), key


def test_history_levers_are_sourced_and_gaps_are_marked_not_found():
    rows = _rows("history_levers.csv")
    assert list(rows[0]) == ["lever", "year", "value", "unit", "scope", "source", "note"]
    for line, r in enumerate(rows, start=2):
        assert r["source"].strip(), f"history_levers.csv:{line}: no source"
        assert 2011 <= int(r["year"]) <= 2025, f"history_levers.csv:{line}: year {r['year']}"
        if not r["value"].strip():
            # an unknown lever is a gap with a proposed range, never a zero
            assert "not found" in r["note"] and "proposed" in r["note"], f"history_levers.csv:{line}"
        else:
            float(r["value"])
    # every year of the hindcast window has a row for each lever the scenario needs
    needed = ("recruitment.special_post_per_year", "dispatch.per_year", "funding.capital_cny", "retirement.age_male")
    for lever in needed:
        assert {int(r["year"]) for r in rows if r["lever"] == lever} >= set(range(2011, 2025)), lever
