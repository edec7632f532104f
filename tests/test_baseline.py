"""Tests of sim.baseline: the published data files and the loaders' error messages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.baseline import (
    DATA_DIR,
    INDICATORS,
    REGISTRY_COLUMNS,
    load_counties,
    load_registry,
    load_staffing_norms,
    load_standard,
    published_totals,
)
from sim.errors import InputError, InputErrors

CENSUS = DATA_DIR / "xinjiang_counties_census2020.csv"
REGISTRY = DATA_DIR / "registry_2020.csv"


# ------------------------------------------------------------------------------------------ counties


def test_counties_has_96_units_plus_10_xpcc_cities():
    assert len(load_counties()) == 96
    units = load_counties(include_xpcc=True)
    assert len(units) == 106
    assert int(units["xpcc"].sum()) == 10
    assert units["code"].is_unique


def test_33_south_units_all_in_the_four_southern_prefectures():
    units = load_counties(include_xpcc=True)
    south = units[units["south"]]
    assert len(south) == 33  # DESIGN §2: 南疆四地州 are 33 county-level units
    assert set(south["prefecture_code"] // 100) == {6529, 6530, 6531, 6532}
    assert not units.loc[units["xpcc"], "south"].any()


def test_county_populations_sum_to_the_census_prefecture_and_region_rows():
    # independent source of truth: the prefecture and region rows of the original census table
    census = pd.read_csv(CENSUS)
    units = load_counties(include_xpcc=True)
    region = census[census["level"] == "region"].iloc[0]
    assert int(units["pop_2020"].sum()) == int(region["pop_total"]) == 25_852_345
    for col in ("age0", "age1_4", "age5_9", "age10_14", "age15_19"):
        assert int(units[col].sum()) == int(region[col])
    prefectures = census[census["level"] == "prefecture"].set_index("code")["pop_total"]
    sums = units[~units["xpcc"]].groupby("prefecture_code")["pop_2020"].sum()
    assert sums.to_dict() == prefectures.to_dict()
    # south population as stated in SOURCES §2: 10,274,252
    assert int(units.loc[units["south"], "pop_2020"].sum()) == 10_274_252


def test_remote_includes_every_south_unit_and_special_education_sums_to_29():
    units = load_counties(include_xpcc=True)
    assert units.loc[units["south"], "remote"].all()
    assert int(units["special_education_schools"].sum()) == 29  # 2014 bulletin, SOURCES §1f


def test_load_counties_missing_file_names_it(tmp_path: Path):
    with pytest.raises(InputError, match=r"nope\.csv.*not found"):
        load_counties(tmp_path / "nope.csv")


def test_load_counties_bad_population_names_line_and_column(tmp_path: Path):
    frame = pd.read_csv(DATA_DIR / "counties.csv")
    frame.loc[4, "pop_2020"] = -5
    path = tmp_path / "counties.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        load_counties(path)
    assert f"{path}:6: pop_2020:" in str(info.value)  # data row 4 -> line 6 (header is line 1)
    assert "-5" in str(info.value)


# ------------------------------------------------------------------------------------------ standard


def test_standard_thresholds_match_the_2017_method():
    std = load_standard()
    assert set(std.thresholds) == set(INDICATORS)
    # values of 教督〔2017〕6号 as listed in DESIGN §4
    assert std.thresholds["qualified_teachers_per_100"] == {"primary": 4.2, "junior": 5.3}
    assert std.thresholds["sports_area_m2_per_student"] == {"primary": 7.5, "junior": 10.2}
    assert std.thresholds["equipment_cny_per_student"] == {"primary": 2000.0, "junior": 2500.0}
    assert std.thresholds["multimedia_rooms_per_100"] == {"primary": 2.3, "junior": 2.4}
    assert (std.min_indicators_met, std.n_indicators, std.remaining_min_fraction) == (6, 7, 0.85)
    assert std.cv_max == {"primary": 0.50, "junior": 0.45}
    assert (std.rotation_min_share, std.rotation_backbone_min_share) == (0.10, 0.20)
    assert std.class_size_max == {"primary": 45, "junior": 50}
    assert std.school_size_max == {"primary": 2000, "junior": 2000, "nine_year": 2500}


def test_standard_is_frozen():
    std = load_standard()
    with pytest.raises(TypeError):
        std.thresholds["backbone_teachers_per_100"]["primary"] = 0.5  # type: ignore[index]


def test_standard_rejects_unknown_indicator(tmp_path: Path):
    text = (DATA_DIR / "quality_balance_standard.csv").read_text(encoding="utf-8")
    path = tmp_path / "std.csv"
    path.write_text(text.replace("backbone_teachers_per_100", "backbone_per_100", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"std\.csv:4: name: unknown indicator 'backbone_per_100'"):
        load_standard(path)


def test_staffing_norms_are_the_unverified_2014_values():
    norms = load_staffing_norms()
    assert norms["primary"] == 19.0
    assert norms["junior"] == 13.5
    frame = pd.read_csv(DATA_DIR / "staffing_norms.csv")
    assert (frame["verified"] == "no").all()
    assert frame["source"].str.contains("UNVERIFIED").all()


# ------------------------------------------------------------------------------------------ totals


def test_published_totals_2019_are_the_nbs_figures():
    totals = published_totals(2019, exact=True)
    assert totals == {
        "primary_schools": 3640,
        "primary_pupils": 2_606_825,  # 260.6825万
        "primary_teachers": 167_448,  # 16.7448万
        "junior_schools": 870,
        "junior_pupils": 977_144,  # 97.7144万
        "junior_teachers": 89_187,  # 8.9187万
        "data_year": 2019,
    }


def test_published_totals_2020_falls_back_to_2019():
    assert published_totals(2020)["data_year"] == 2019


def test_published_totals_without_data_raise():
    with pytest.raises(InputError, match="no published totals for 2020"):
        published_totals(2020, exact=True)
    with pytest.raises(InputError, match="no published totals for 2005"):  # junior table starts in 2011
        published_totals(2005)


# ------------------------------------------------------------------------------------------ registry


def _write_registry(tmp_path: Path, edit) -> Path:
    frame = pd.read_csv(REGISTRY, nrows=30)
    frame = edit(frame)
    path = tmp_path / "registry.csv"
    frame.to_csv(path, index=False)
    return path


def test_load_registry_reads_the_shipped_registry():
    registry = load_registry()
    assert tuple(registry.columns) == REGISTRY_COLUMNS
    assert len(registry) > 4510


def test_load_registry_rejects_a_missing_file(tmp_path: Path):
    with pytest.raises(InputError) as info:
        load_registry(tmp_path / "schools.csv")
    assert "schools.csv" in str(info.value)
    assert "not found" in str(info.value)


def test_load_registry_rejects_a_missing_column(tmp_path: Path):
    path = _write_registry(tmp_path, lambda f: f.drop(columns=["sports_area_m2"]))
    with pytest.raises(InputError) as info:
        load_registry(path)
    assert str(info.value).startswith(f"{path}:1: sports_area_m2: missing column")


def test_load_registry_rejects_a_negative_value(tmp_path: Path):
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[7, "floor_area_m2"] = -120
        return f

    path = _write_registry(tmp_path, edit)
    with pytest.raises(InputError) as info:
        load_registry(path)
    assert str(info.value) == f"{path}:9: floor_area_m2: must be a non-negative integer, got -120"


def test_load_registry_rejects_an_unknown_level(tmp_path: Path):
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[0, "level"] = "senior"
        return f

    path = _write_registry(tmp_path, edit)
    with pytest.raises(InputError) as info:
        load_registry(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: level: unknown level 'senior'")
    assert "primary, junior, nine_year" in message


def test_load_registry_rejects_an_unknown_county(tmp_path: Path):
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[3, "county_code"] = 659999
        return f

    path = _write_registry(tmp_path, edit)
    with pytest.raises(InputError) as info:
        load_registry(path)
    assert str(info.value).startswith(f"{path}:5: county_code: unknown county code 659999")


def test_load_registry_reports_several_problems_together(tmp_path: Path):
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[1, "teachers_backbone"] = f.loc[1, "teachers"] + 1
        f.loc[2, "gigabit"] = 2
        return f

    path = _write_registry(tmp_path, edit)
    with pytest.raises(InputErrors) as info:
        load_registry(path)
    messages = [str(e) for e in info.value.errors]
    assert any(m.startswith(f"{path}:3: teachers_backbone: exceeds teachers") for m in messages)
    assert any(m.startswith(f"{path}:4: gigabit: must be 0 or 1") for m in messages)


def test_load_registry_names_file_line_and_column_of_each_schema_failure(tmp_path: Path):
    # the per-cell schema is a pandera DataFrameSchema (sim.baseline.registry_schema); its failures are
    # reported as input errors, several together
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        f["teachers"] = f["teachers"].astype(object)
        f.loc[4, "teachers"] = "many"
        f.loc[6, "location"] = "suburb"
        f.loc[9, "school_id"] = f.loc[8, "school_id"]
        return f

    path = _write_registry(tmp_path, edit)
    with pytest.raises(InputErrors) as info:
        load_registry(path)
    messages = [str(e) for e in info.value.errors]
    assert f"{path}:6: teachers: must be a non-negative integer, got 'many'" in messages
    assert any(m.startswith(f"{path}:8: location: unknown location 'suburb'; valid: urban, town, rural")
               for m in messages)
    assert any(m.startswith(f"{path}:11: school_id: school_id must be present and unique") for m in messages)


def test_the_registry_template_is_a_valid_registry():
    template = load_registry(DATA_DIR / "registry_template.csv")
    assert len(template) == 3 and set(template["level"]) == {"primary", "nine_year", "junior"}
