"""The model of a run (sim/model.py): what it takes from the data files equals the data, read here independently
with the csv module; the start state is the registry; the lever of a year; the shared sums with unequal values."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from sim.mechanisms import students
from sim.model import (
    county_sum,
    initial_state,
    level_county_sum,
    lever_at,
    prepare,
    sample_parameters,
    section_total,
    split_registry_bands,
)
from sim.rng import Streams
from sim.scenario import Levers, load_scenario
from sim.vocabulary import INDICATORS, JUNIOR, LEVELS, PRIMARY, RURAL, URBAN

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "calibration" / "data"
GOLDEN = ROOT / "tests" / "data" / "golden.yaml"


def rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def model():
    return prepare(load_scenario(GOLDEN))


def test_thresholds_are_those_of_the_standard_file(model):
    table = {(r["name"], r["level"]): float(r["value"]) for r in rows("quality_balance_standard.csv")
             if r["kind"] == "indicator"}
    s = model.sections
    assert {PRIMARY, JUNIOR} <= set(s.level.tolist())  # both levels are checked
    for i, name in enumerate(INDICATORS):
        expected = np.array([table[(name, LEVELS[lv])] for lv in s.level])
        np.testing.assert_array_equal(model.thresholds[:, i], expected)
    facility = ["floor_area_m2_per_student", "sports_area_m2_per_student", "equipment_cny_per_student",
                "multimedia_rooms_per_100"]
    expected = np.array([[table[(name, LEVELS[lv])] for name in facility] for lv in s.level])
    np.testing.assert_array_equal(model.facility_thresholds, expected)


def test_school_rules_and_cv_limits_are_those_of_the_standard_file(model):
    rule = {(r["name"], r["level"]): float(r["value"]) for r in rows("quality_balance_standard.csv")
            if r["kind"] == "rule"}
    assert model.cv_limits == (rule[("cv_max", "primary")], rule[("cv_max", "junior")])
    assert model.standard.min_indicators_met == rule[("min_indicators_met", "all")]
    assert model.standard.remaining_min_fraction == rule[("remaining_min_fraction", "all")]


def test_staffing_norms_are_those_of_the_norms_file(model):
    norms = {r["level"]: float(r["students_per_staff"]) for r in rows("staffing_norms.csv")}
    np.testing.assert_array_equal(model.students_per_staff, [norms["primary"], norms["junior"]])


def test_census_cohorts_and_populations_are_those_of_the_counties_file(model):
    wanted = set(load_scenario(GOLDEN).baseline.counties)
    chosen = [r for r in rows("counties.csv") if r["code"] in wanted]  # the file's order
    assert len(chosen) == model.sections.n_counties == 3
    for c, row in enumerate(chosen):
        ages = model.census_by_age[c]
        assert ages[0] == pytest.approx(float(row["age0"]))
        # each census band's total kept by the interpolation within it (the registry's reading of the census)
        assert ages[1:5].sum() == pytest.approx(float(row["age1_4"]))
        assert ages[5:10].sum() == pytest.approx(float(row["age5_9"]))
        assert ages[10:15].sum() == pytest.approx(float(row["age10_14"]))
        assert ages[15:20].sum() == pytest.approx(float(row["age15_19"]))
        # linear within a band: equal steps from one age to the next (unless floored at 5% of the band mean)
        for lo, hi in ((5, 10), (10, 15)):
            steps = np.diff(ages[lo:hi])
            if ages[lo:hi].min() > 0.05 * ages[lo:hi].mean() + 1e-9:
                np.testing.assert_allclose(steps, steps[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(model.sections.county_population, [int(r["pop_2020"]) for r in chosen])
    np.testing.assert_array_equal(model.sections.county_south, [r["south"] == "True" for r in chosen])


def test_region_births_are_those_of_the_births_file():
    births = {int(r["year"]): float(r["births_10k"]) * 1e4 for r in rows("xinjiang_population_births_2000_2021.csv")
              if r["births_10k"]}
    for year, value in students.REGION_BIRTHS.items():
        assert value == pytest.approx(births[year])


def test_anchor_births_are_the_selections_share_of_the_region(model):
    every = rows("counties.csv")
    chosen = set(load_scenario(GOLDEN).baseline.counties)
    share = sum(float(r["age0"]) for r in every if r["code"] in chosen) / sum(float(r["age0"]) for r in every)
    assert model.anchor_births == pytest.approx(160_000.0 * share)


def test_location_masks_follow_the_vocabulary(model):
    s = model.sections
    np.testing.assert_array_equal(model.rural, s.location == RURAL)
    assert model.rural.any() and (~model.rural).any()
    assert np.all(model.counselling_eligible[s.location == URBAN])


def test_initial_state_is_the_registry(model):
    s = model.sections
    st = initial_state(model, 2, np.array([0.6, 0.7]))
    for d in range(2):
        np.testing.assert_array_equal(st.students[d], s.students)
        np.testing.assert_array_equal(st.teachers[d].sum(axis=1), s.teachers_by_age.sum(axis=1))
        np.testing.assert_array_equal(st.special_post[d].sum(axis=1), s.special_post)
        np.testing.assert_array_equal(st.floor_area_m2[d], s.floor_area_m2)
    np.testing.assert_array_equal(st.female_share[:, 0], [0.6, 0.7])
    assert st.dispatched.sum() == 0 and not st.certified.any()


def test_split_registry_bands_keeps_totals():
    bands = np.array([[3, 0, 1, 2, 0, 1], [10, 11, 7, 5, 4, 3]])
    out = split_registry_bands(bands)
    np.testing.assert_array_equal(out.sum(axis=1), bands.sum(axis=1))
    np.testing.assert_array_equal(out[1], [5, 5, 5, 6, 3, 4, 5, 4, 3])


def test_lever_before_from_year_is_the_default():
    scenario = load_scenario(GOLDEN)
    default = Levers()
    assert lever_at(scenario, "funding", 2024) == default.funding
    assert lever_at(scenario, "funding", 2025) == scenario.levers.funding
    # one meaning for the capital budget: before from_year the default budget, not 0
    assert lever_at(scenario, "funding", 2024).capital_cny_in(2024) == default.funding.capital_cny_in(2024) > 0
    assert lever_at(scenario, "retention", 2025) == default.retention  # from 2026 in the golden scenario
    assert lever_at(scenario, "retention", 2026) == scenario.levers.retention
    assert lever_at(scenario, "development", 2020) == scenario.levers.development  # no from_year: always


def test_sums_by_county_and_level_with_unequal_values(model):
    s = model.sections
    rng = np.random.default_rng(1)
    values = rng.integers(0, 100, size=(2, s.n_sections)).astype(float)
    expected = np.zeros((2, s.n_counties, 2))
    for i in range(s.n_sections):
        expected[:, s.county[i], s.level[i]] += values[:, i]
    np.testing.assert_array_equal(level_county_sum(values, s), expected)
    np.testing.assert_array_equal(county_sum(values, s), expected.sum(axis=2))
    cube = rng.integers(0, 9, size=(2, s.n_sections, 4)).astype(np.int64)
    np.testing.assert_array_equal(section_total(cube), cube.sum(axis=2))


def test_sampled_parameters_and_overrides():
    scenario = load_scenario(GOLDEN)
    streams = Streams(scenario.seed)
    values = sample_parameters(scenario, streams, 64, 128)
    assert set(values) == set(scenario.uncertainties)
    again = sample_parameters(scenario, streams, 0, 128)
    for name in values:  # a draw's value does not depend on the chunk
        np.testing.assert_array_equal(values[name], again[name][64:])
        assert np.unique(again[name]).size > 1 or scenario.uncertainties[name].dist == "fixed"
    name = "attrition.rural_rate"
    given = np.linspace(0.01, 0.02, 64)
    np.testing.assert_array_equal(sample_parameters(scenario, streams, 0, 64, {name: given})[name], given)
    with pytest.raises(ValueError, match="not uncertainties"):
        sample_parameters(scenario, streams, 0, 64, {"nope": given})
    with pytest.raises(ValueError, match="shape"):
        sample_parameters(scenario, streams, 0, 64, {name: given[:3]})
