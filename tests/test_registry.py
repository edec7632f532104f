"""Tests of sim.registry: the synthetic school registry and its helpers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.baseline import (
    JUNIOR_GRADES,
    PRIMARY_GRADES,
    REGISTRY_COLUMNS,
    TEACHER_AGE_BANDS,
    load_counties,
    load_registry,
    load_standard,
    published_totals,
)
from sim.registry import (
    RegistryAssumptions,
    apportion,
    grade_cohorts,
    single_year_ages,
    synthesize_registry,
)

SEED = 20200101  # the seed calibration/build_registry.py documents for registry_2020.csv


@pytest.fixture(scope="module")
def counties() -> pd.DataFrame:
    return load_counties(include_xpcc=True)


@pytest.fixture(scope="module")
def totals() -> dict[str, int]:
    return published_totals(2020)


@pytest.fixture(scope="module")
def registry(counties: pd.DataFrame, totals: dict[str, int]) -> pd.DataFrame:
    return synthesize_registry(counties, totals, 2020, np.random.default_rng(np.random.SeedSequence(SEED)))


def _measured(reg: pd.DataFrame) -> dict[str, int]:
    regular = reg["teaching_point"] == 0
    return {
        "primary_schools": int((regular & (reg["level"] == "primary")).sum()),
        "junior_schools": int(reg["level"].isin(["junior", "nine_year"]).sum()),
        "primary_pupils": int(reg[list(PRIMARY_GRADES)].to_numpy().sum()),
        "junior_pupils": int(reg[list(JUNIOR_GRADES)].to_numpy().sum()),
        "primary_teachers": int((reg["teachers"] - reg["teachers_junior"]).sum()),
        "junior_teachers": int(reg["teachers_junior"].sum()),
    }


# ------------------------------------------------------------------------------------------ helpers


def test_apportion_is_exact_and_proportional():
    assert apportion(10, np.array([1.0, 1.0, 1.0])).tolist() == [4, 3, 3]
    assert apportion(7, np.array([0.0, 2.0, 5.0])).tolist() == [0, 2, 5]
    assert apportion(10, np.array([0.0, 1.0]), minimum=np.array([3, 0])).tolist() == [3, 7]
    with pytest.raises(ValueError, match="minimums"):
        apportion(1, np.array([1.0, 1.0]), minimum=1)


def test_single_year_ages_keep_band_totals_and_a_linear_profile():
    # a population with 100 + 10*a people aged a is linear: interpolation must reproduce it exactly
    per_age = 100.0 + 10.0 * np.arange(20)
    bands = [
        per_age[0:1].sum(),
        per_age[1:5].sum(),
        per_age[5:10].sum(),
        per_age[10:15].sum(),
        per_age[15:20].sum(),
    ]
    ages = single_year_ages(*(np.array([b]) for b in bands))
    np.testing.assert_allclose(ages[0], per_age, rtol=1e-12)


def test_grade_cohorts_of_a_flat_population_are_equal_per_grade():
    ages = np.full((1, 20), 50.0)
    np.testing.assert_allclose(grade_cohorts(ages, 2020), np.full((1, 9), 50.0))
    # in 2020, grade 1 is 10/12 age 6 and 2/12 age 7 at the census date
    ages = np.zeros((1, 20))
    ages[0, 6] = 120.0
    ages[0, 7] = 60.0
    assert grade_cohorts(ages, 2020)[0, 0] == pytest.approx(120 * 10 / 12 + 60 * 2 / 12)


# ------------------------------------------------------------------------------------------ totals


def test_region_totals_equal_the_published_figures(registry: pd.DataFrame, totals: dict[str, int]):
    # Tolerance zero: the generator shares every integer total out with the largest-remainder method
    # (apportion), so rounding cannot drift; school counts are allocated exactly. Teaching points are not
    # schools in the NBS count (as nationally), so they are excluded from primary_schools.
    assert _measured(registry) == {k: v for k, v in totals.items() if k != "data_year"}
    assert (totals["primary_schools"], totals["junior_schools"]) == (3640, 870)


def test_shipped_registry_is_what_the_documented_seed_builds(registry: pd.DataFrame):
    shipped = load_registry()
    pd.testing.assert_frame_equal(shipped, registry, check_dtype=False)


def test_hindcast_start_year_matches_that_years_totals(counties: pd.DataFrame):
    totals_2011 = published_totals(2011, exact=True)
    reg = synthesize_registry(counties, totals_2011, 2011, np.random.default_rng(1))
    assert _measured(reg) == {k: v for k, v in totals_2011.items() if k != "data_year"}


# ------------------------------------------------------------------------------------------ rows


def test_every_county_has_primary_and_junior_level_schools(registry: pd.DataFrame, counties: pd.DataFrame):
    regular = registry[registry["teaching_point"] == 0]
    primary_level = set(regular.loc[regular["level"].isin(["primary", "nine_year"]), "county_code"])
    junior_level = set(regular.loc[regular["level"].isin(["junior", "nine_year"]), "county_code"])
    assert primary_level == set(counties["code"])
    assert junior_level == set(counties["code"])


def test_teacher_columns_are_consistent(registry: pd.DataFrame):
    teachers = registry["teachers"]
    assert (registry[list(TEACHER_AGE_BANDS)].sum(axis=1) == teachers).all()
    for col in (
        "teachers_qualified",
        "teachers_backbone",
        "teachers_pe_art",
        "teachers_special_post",
        "teachers_targeted",
        "teachers_junior",
    ):
        assert (registry[col] <= teachers).all(), col
    assert (registry["teachers_junior"] == teachers)[registry["level"] == "junior"].all()
    assert (registry.loc[registry["level"] == "primary", "teachers_junior"] == 0).all()
    assert (teachers >= 1).all()
    assert (registry["teachers_targeted"] == 0).all()  # 优师计划 graduates arrive from 2025


def test_grades_are_zero_where_the_level_is_absent(registry: pd.DataFrame):
    primary = registry["level"] == "primary"
    junior = registry["level"] == "junior"
    assert (registry.loc[primary, list(JUNIOR_GRADES)] == 0).all().all()
    assert (registry.loc[junior, list(PRIMARY_GRADES)] == 0).all().all()
    assert (registry.loc[primary, "classes_junior"] == 0).all()
    assert (registry.loc[junior, "classes_primary"] == 0).all()
    students = registry[list(PRIMARY_GRADES + JUNIOR_GRADES)].sum(axis=1)
    assert (students > 0).all()


def test_teaching_points_are_small_rural_primary_sites(registry: pd.DataFrame):
    tp = registry[registry["teaching_point"] == 1]
    assert len(tp) > 0
    assert set(tp["level"]) == {"primary"}
    assert set(tp["location"]) == {"rural"}
    assert (tp[["students_g5", "students_g6"]] == 0).all().all()
    assert tp[list(PRIMARY_GRADES)].sum(axis=1).max() <= 100


def test_school_ids_are_unique_and_well_formed(registry: pd.DataFrame):
    assert registry["school_id"].is_unique
    assert registry["school_id"].str.fullmatch(r"\d{6}-[PJNT]-\d{4}").all()
    assert tuple(registry.columns) == REGISTRY_COLUMNS


def test_most_schools_miss_the_quality_standard_and_the_south_is_worse(
    registry: pd.DataFrame, counties: pd.DataFrame
):
    # the 2017 rule computed here by hand: >=6 of 7 indicators met, the remaining one >=85% of threshold
    std = load_standard()
    p = registry[list(PRIMARY_GRADES)].sum(axis=1)
    students = p + registry[list(JUNIOR_GRADES)].sum(axis=1)
    share_p = p / students
    values = {
        "qualified_teachers_per_100": registry["teachers_qualified"] / students * 100,
        "backbone_teachers_per_100": registry["teachers_backbone"] / students * 100,
        "pe_art_teachers_per_100": registry["teachers_pe_art"] / students * 100,
        "floor_area_m2_per_student": registry["floor_area_m2"] / students,
        "sports_area_m2_per_student": registry["sports_area_m2"] / students,
        "equipment_cny_per_student": registry["equipment_value_cny"] / students,
        "multimedia_rooms_per_100": registry["multimedia_rooms"] / students * 100,
    }
    ratio = pd.DataFrame(
        {
            k: v / (share_p * std.thresholds[k]["primary"] + (1 - share_p) * std.thresholds[k]["junior"])
            for k, v in values.items()
        }
    )
    met = (ratio >= 1).sum(axis=1)
    meets = (met == 7) | ((met == 6) & (ratio.min(axis=1) >= 0.85))
    south = registry["county_code"].map(counties.set_index("code")["south"])
    assert meets.mean() < 0.5
    assert meets[south].mean() < meets[~south].mean()


# ------------------------------------------------------------------------------------------ determinism


def test_same_seed_same_registry_different_seed_different(counties: pd.DataFrame, totals: dict[str, int]):
    a = synthesize_registry(counties, totals, 2020, np.random.default_rng(7))
    b = synthesize_registry(counties, totals, 2020, np.random.default_rng(7))
    c = synthesize_registry(counties, totals, 2020, np.random.default_rng(8))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_synthesis_does_not_mutate_the_counties(counties: pd.DataFrame, totals: dict[str, int]):
    before = counties.copy()
    synthesize_registry(counties, totals, 2020, np.random.default_rng(3))
    pd.testing.assert_frame_equal(counties, before)


def test_assumptions_are_frozen():
    a = RegistryAssumptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.school_size_sigma = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.backbone_share["urban"] = 0.5  # type: ignore[index]
