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
    published_totals,
)
from sim.errors import InputError
from sim.registry import (
    CENSUS_BANDS,
    RegistryAssumptions,
    apportion,
    census_readings,
    entry_cohort_weights,
    grade_cohorts,
    registered_births_by_age,
    retention_since_entry,
    single_year_ages,
    single_year_ages_births,
    single_year_ages_monotone,
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


def _bands(per_age: np.ndarray) -> np.ndarray:
    """The census bands of a population given by single years 0–19, shape (1, 5)."""
    return np.array([[per_age[start:start + width].sum() for _, start, width in CENSUS_BANDS]])


def test_monotone_reading_reproduces_an_even_population_and_keeps_band_totals():
    # 50 people at every age: the cumulative count is a straight line, which the monotone cubic reproduces exactly
    np.testing.assert_allclose(single_year_ages_monotone(_bands(np.full(20, 50.0)))[0], np.full(20, 50.0),
                               rtol=1e-12)
    # a population that falls steeply then rises: never a negative single year, every band total kept
    per_age = np.array([900.0, 100, 100, 100, 100, 800, 700, 600, 500, 400, 50, 50, 50, 50, 50, 300, 300, 300, 300,
                        300])
    ages = single_year_ages_monotone(_bands(per_age))
    assert (ages >= 0).all()
    np.testing.assert_allclose(_bands(ages[0]), _bands(per_age), rtol=1e-12)


def test_births_reading_shares_each_band_as_the_births_and_copies_the_one_year_band():
    born = np.arange(1.0, 21.0)  # births behind age a: a + 1
    born[0] = np.nan  # no birth rate for the age-0 year (2020 in the real table): a one-year band needs none
    bands = np.array([[7.0, 100.0, 350.0, 0.0, 900.0]])
    ages = single_year_ages_births(bands, born)
    assert ages[0, 0] == 7.0
    np.testing.assert_allclose(ages[0, 1:5], 100.0 * np.array([2, 3, 4, 5]) / 14)  # born 2..5 at ages 1..4
    np.testing.assert_allclose(ages[0, 5:10], 350.0 * np.arange(6, 11) / 40)
    np.testing.assert_allclose(ages[0, 10:15], 0.0)
    np.testing.assert_allclose(ages[0, 15:20], 900.0 * np.arange(16, 21) / 90)
    born[3] = np.nan  # an age inside the 1–4 band without births cannot be shared: a clear error
    with pytest.raises(InputError, match="no registered births for every age 1–4"):
        single_year_ages_births(bands, born)


def test_registered_births_by_age_weigh_the_two_birth_years_of_a_census_age(tmp_path):
    # rate 1‰ of a year-end population of (year − 1990) × 10,000: (year − 1990) × 10 births
    years = np.arange(2000, 2022)
    pd.DataFrame({"year": years, "birth_rate_permille": 1.0, "pop_yearend_10k": years - 1990.0}).to_csv(
        tmp_path / "xinjiang_population_births_2000_2021.csv", index=False)
    born = registered_births_by_age(tmp_path)
    # aged a on 2020-11-01: born in 2020 − a (November–October, 10/12) or 2019 − a (2/12)
    assert born[3] == pytest.approx(10 / 12 * 270 + 2 / 12 * 260)
    assert born[19] == pytest.approx(10 / 12 * 110 + 2 / 12 * 100)
    assert born.shape == (20,)


def test_every_census_reading_keeps_each_countys_band_totals(counties: pd.DataFrame):
    bands = counties[[column for column, _, _ in CENSUS_BANDS]].to_numpy(float)
    readings = census_readings(bands, registered_births_by_age())
    assert readings.shape == (3, len(counties), 20)
    assert (readings >= 0).all()
    for reading in readings:
        for k, (_, start, width) in enumerate(CENSUS_BANDS):
            np.testing.assert_allclose(reading[:, start:start + width].sum(axis=1), bands[:, k], rtol=1e-9)
    # the linear reading is the registry's own (single_year_ages): start stock and intake read the census alike
    np.testing.assert_array_equal(readings[0], single_year_ages(*bands.T))


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


# ------------------------------------------------------------------------------------------ per-draw values
# (sim.registry.draw_school_values and its acceptance; sim.model.draw_start_registry, which wires them to the
# draw's streams, is tested here too because it is the registry's entry into the start state)

from sim.parameters import PARAMETERS  # noqa: E402
from sim.registry import (  # noqa: E402
    BASIC_BALANCE_CV_MAX,
    LINKED,
    SchoolFrame,
    SchoolNoise,
    basic_balance_coefficients,
    basic_balance_pass,
    draw_school_values,
)

REGISTRY_NAMES = [n for n in PARAMETERS if n.startswith("registry.")]


PRIMARY_T = [4.5, 7.5, 2000.0, 2.3]  # 2017 thresholds: floor, sports, equipment, multimedia per 100


def _frame() -> SchoolFrame:
    """Two counties; county 0: two primary schools (urban, rural) and a nine-year school (town, two sections);
    county 1 (south): a primary school and a rural teaching point."""
    return SchoolFrame(
        school=np.array([0, 1, 2, 2, 3, 4]),
        county=np.array([0, 0, 0, 0, 1, 1]),
        level=np.array([0, 0, 0, 1, 0, 0]),
        location=np.array([0, 2, 1, 1, 1, 2]),
        teaching_point=np.array([False, False, False, False, False, True]),
        south=np.array([False, False, False, False, True, True]),
        teachers=np.array([40, 12, 20, 15, 30, 3]),
        students=np.array([800, 150, 300, 200, 600, 25]),
        facility_thresholds=np.array([PRIMARY_T] * 3 + [[5.8, 10.2, 2500.0, 2.4]] + [PRIMARY_T] * 2),
        n_schools=5,
        n_counties=2,
    )


def _hyper(d: int, **changes: float) -> dict[str, np.ndarray]:
    """Every registry hyperparameter at the middle of its default range, some changed."""
    out = {}
    for name in REGISTRY_NAMES:
        spec = PARAMETERS[name].default
        out[name] = np.full(d, (spec.low + spec.high) / 2)  # type: ignore[union-attr]
    for key, value in changes.items():
        out[f"registry.{key}"] = np.full(d, value)
    return out


def _noise(frame: SchoolFrame, d: int, seed: int = 1) -> SchoolNoise:
    return SchoolNoise.generate(np.random.default_rng(seed), d, frame)


def test_every_registry_constant_is_a_documented_uncertainty():
    assert len(REGISTRY_NAMES) >= 30
    for name in REGISTRY_NAMES:
        p = PARAMETERS[name]
        assert p.source and p.units and p.description, name
        assert "set so that" not in p.source and "calibrated to" not in p.source, name
        low, high = p.default.low, p.default.high  # type: ignore[union-attr]
        assert p.lower <= low < high <= p.upper, name


def test_zero_spread_gives_every_school_exactly_its_mean():
    frame, d = _frame(), 3
    hyper = _hyper(d, teacher_share_spread=0.0, facility_spread=0.0, teacher_ratio_spread=0.0)
    v = draw_school_values(frame, hyper, _noise(frame, d))
    np.testing.assert_array_equal(v.teachers, np.broadcast_to(frame.teachers, v.teachers.shape))
    h = {k.removeprefix("registry."): float(x[0]) for k, x in hyper.items()}
    loc_t = [1.0, h["town_teacher_factor"], h["rural_teacher_factor"]]
    south = np.where(frame.south, h["south_teacher_factor"], 1.0)
    mean_b = h["backbone_share"] * np.array([loc_t[k] for k in frame.location]) * south
    exact = frame.teachers * mean_b
    assert np.all((v.backbone >= np.floor(exact)) & (v.backbone <= np.ceil(exact)))
    # facilities: per student exactly threshold x median ratio x south factor, every draw
    names = ["urban", "town", "rural"]
    ratio = np.array([h[f"floor_area_ratio_{names[k]}"] for k in frame.location])
    f_south = np.where(frame.south, h["south_facility_factor"], 1.0)
    expected = frame.facility_thresholds[:, 0] * ratio * f_south * frame.students
    np.testing.assert_allclose(v.floor_area_m2, np.broadcast_to(expected, v.floor_area_m2.shape), rtol=1e-12)
    # so a county's mean per student is the pupil-weighted mean of those values, with no spread at all
    coefficients = basic_balance_coefficients(frame, v)
    assert np.all(np.isfinite(coefficients[:, 0, 0]))


def test_teacher_counts_stay_within_the_teachers_and_are_unbiased():
    frame, d = _frame(), 4000
    hyper = _hyper(d)
    v = draw_school_values(frame, hyper, _noise(frame, d, seed=3))
    assert np.all((v.qualified >= 0) & (v.qualified <= v.teachers))
    assert np.all(v.backbone <= v.teachers) and np.all(v.special_post <= v.teachers)
    assert np.all(~v.paired[:, frame.location != 2])  # only rural schools are paired


def test_full_correlation_ties_a_schools_resources():
    # rho = 1: every linked resource has the same standard score, so the log-deviations of two facilities from
    # their medians, divided by the spread, are equal (closed form of the model)
    frame, d = _frame(), 5
    hyper = _hyper(d, advantage_correlation=1.0, facility_spread=0.4, south_facility_factor=1.0)
    v = draw_school_values(frame, hyper, _noise(frame, d))
    h = {k.removeprefix("registry."): float(x[0]) for k, x in hyper.items()}
    names = ["urban", "town", "rural"]

    def score(values: np.ndarray, i: int, key: str) -> np.ndarray:
        median = frame.facility_thresholds[:, i] * np.array([h[f"{key}_{names[k]}"] for k in frame.location])
        return np.log(values / frame.students / median) / 0.4

    np.testing.assert_allclose(score(v.floor_area_m2, 0, "floor_area_ratio"),
                               score(v.equipment_value_cny, 2, "equipment_ratio"), rtol=1e-9)
    # the two sections of the nine-year school share the school's score
    s = score(v.sports_area_m2, 1, "sports_area_ratio")
    np.testing.assert_allclose(s[:, 2], s[:, 3], rtol=1e-9)
    # and with rho = 0 they are not tied
    v0 = draw_school_values(frame, _hyper(d, advantage_correlation=0.0, facility_spread=0.4,
                                          south_facility_factor=1.0), _noise(frame, d))
    assert not np.allclose(score(v0.floor_area_m2, 0, "floor_area_ratio"),
                           score(v0.equipment_value_cny, 2, "equipment_ratio"))
    assert len(LINKED) == 9


def test_county_cv_equals_an_independent_computation():
    frame, d = _frame(), 2
    v = draw_school_values(frame, _hyper(d), _noise(frame, d, seed=5))
    got = basic_balance_coefficients(frame, v)
    for row in range(d):
        # county 0, primary: sections 0, 1, 2; written out with plain Python sums
        idx = [0, 1, 2]
        cvs = []
        for x in (v.floor_area_m2[row], v.sports_area_m2[row], v.equipment_value_cny[row],
                  v.teachers[row].astype(float), v.qualified[row].astype(float)):
            p = [float(frame.students[i]) for i in idx]
            xs = [float(x[i]) / p[k] for k, i in enumerate(idx)]
            mean = sum(pi * xi for pi, xi in zip(p, xs, strict=True)) / sum(p)
            sd = (sum(pi * (xi - mean) ** 2 for pi, xi in zip(p, xs, strict=True)) / sum(p)) ** 0.5
            cvs.append(sd / mean)
        assert got[row, 0, 0] == pytest.approx(sum(cvs) / len(cvs), rel=1e-12)
        # county 0 has one junior section: no coefficient; county 1 has two primary sections
        assert np.isnan(got[row, 0, 1]) and np.isfinite(got[row, 1, 0])
    limit = np.array(BASIC_BALANCE_CV_MAX)
    expected = np.all(np.isnan(got) | (got <= limit), axis=(1, 2))
    np.testing.assert_array_equal(basic_balance_pass(frame, v), expected)


def _equal_sections(n: int, teachers: int, students: int) -> SchoolFrame:
    """One county of ``n`` identical primary schools."""
    return SchoolFrame(
        school=np.arange(n), county=np.zeros(n, np.int64), level=np.zeros(n, np.int64),
        location=np.zeros(n, np.int64), teaching_point=np.zeros(n, bool), south=np.zeros(n, bool),
        teachers=np.full(n, teachers), students=np.full(n, students),
        facility_thresholds=np.array([PRIMARY_T] * n), n_schools=n, n_counties=1,
    )


def test_teacher_spread_keeps_every_county_total_and_one_teacher_per_school():
    from sim.registry import spread_teachers

    frame, d = _frame(), 500
    score = np.random.default_rng(7).standard_normal((d, frame.school.size))
    t = spread_teachers(frame, np.full((d, 1), 1.5), score)
    group = frame.county * 2 + frame.level
    for g in np.unique(group):
        np.testing.assert_array_equal(t[:, group == g].sum(axis=1), frame.teachers[group == g].sum())
    assert t.min() >= 1  # every section has students, so each keeps at least one teacher
    assert np.ptp(t[:, 0]) > 0  # and the spread moves them
    # spread 0: the structure's teachers exactly
    np.testing.assert_array_equal(spread_teachers(frame, np.zeros((d, 1)), score),
                                  np.broadcast_to(frame.teachers, (d, frame.school.size)))


@pytest.mark.parametrize("spread", [0.2, 0.5])
def test_teacher_spread_gives_the_lognormal_cv_among_equal_schools(spread: float):
    # identical schools: teachers per pupil ∝ e^{s g} renormalised to the county total, so the CV across schools is
    # the lognormal's √(e^{s²} − 1) (closed form; renormalisation divides every school by the same number)
    from sim.registry import spread_teachers

    n = 4000
    frame = _equal_sections(n, teachers=1000, students=15000)
    score = np.random.default_rng(11).standard_normal((1, n))
    t = spread_teachers(frame, np.full((1, 1), spread), score)[0] / 15000
    assert np.std(t) / np.mean(t) == pytest.approx(np.sqrt(np.expm1(spread**2)), rel=0.05)


def test_teacher_spread_follows_the_advantage_factor():
    # rho = 1: teachers per pupil has the school's advantage score, as the floor area does (closed form: both are
    # log-linear in the same score; renormalisation within the county shifts every school by the same log amount)
    frame = _equal_sections(300, teachers=1000, students=15000)
    d = 2
    hyper = _hyper(d, advantage_correlation=1.0, county_advantage_share=0.0, teacher_ratio_spread=0.3,
                   facility_spread=0.3)
    v = draw_school_values(frame, hyper, _noise(frame, d, seed=4))
    r = np.corrcoef(np.log(v.teachers[0]), np.log(v.floor_area_m2[0]))[0, 1]
    assert r > 0.999
    v0 = draw_school_values(frame, _hyper(d, advantage_correlation=0.0, teacher_ratio_spread=0.3,
                                          facility_spread=0.3), _noise(frame, d, seed=4))
    assert abs(np.corrcoef(np.log(v0.teachers[0]), np.log(v0.floor_area_m2[0]))[0, 1]) < 0.25


# ------------------------------------------------------------------------------------------ in the model


@pytest.fixture(scope="module")
def baseline_model():
    from sim.model import prepare
    from sim.scenario import load_scenario

    return prepare(load_scenario("scenarios/baseline.yaml"))


def _start(model, start: int, stop: int, fixed=()):
    from sim.model import draw_start_registry, sample_parameters
    from sim.rng import Streams

    streams = Streams(model.scenario.seed)
    return draw_start_registry(model, streams, start, stop,
                               sample_parameters(model.scenario, streams, start, stop), fixed=fixed)


def test_a_draws_registry_does_not_depend_on_its_chunk(baseline_model):
    whole = _start(baseline_model, 0, 128)
    second = _start(baseline_model, 64, 128)
    single = _start(baseline_model, 70, 71)  # the agent engine's one-draw call
    for name in ("qualified", "backbone", "floor_area_m2", "gigabit", "special_post"):
        np.testing.assert_array_equal(getattr(whole.values, name)[64:], getattr(second.values, name))
        np.testing.assert_array_equal(getattr(whole.values, name)[70:71], getattr(single.values, name))
    np.testing.assert_array_equal(whole.attempts[64:], second.attempts)
    for name in REGISTRY_NAMES:
        np.testing.assert_array_equal(whole.parameters[name][64:], second.parameters[name])


def test_two_scenarios_share_a_draws_registry():
    from sim.model import prepare
    from sim.scenario import load_scenario, replace

    base = load_scenario("scenarios/baseline.yaml")
    other = replace(base, {"levers": {"rotation": {"share": 0.3}, "funding": {"capital_cny": 1.0e9}}})
    a, b = _start(prepare(base), 0, 64), _start(prepare(other), 0, 64)
    np.testing.assert_array_equal(a.values.qualified, b.values.qualified)
    np.testing.assert_array_equal(a.values.equipment_value_cny, b.values.equipment_value_cny)


def test_the_constraints_hold_in_every_accepted_draw(baseline_model):
    from sim.baseline import published_totals

    r = _start(baseline_model, 0, 128)
    frame = baseline_model.school_frame
    assert r.accepted.mean() > 0.9
    assert np.all(r.attempts >= 1)
    # region totals by level (structure, identical in every draw) equal the published figures
    totals = published_totals(2020)
    teachers = np.bincount(frame.level, weights=frame.teachers)
    assert teachers.sum() == totals["primary_teachers"] + totals["junior_teachers"]
    # a nine-year school's age bands are split between its sections band by band (sim.sections), which can move
    # a teacher between its levels: a few teachers in all
    assert abs(teachers[0] - totals["primary_teachers"]) <= 20
    students = np.bincount(frame.level, weights=frame.students)
    assert students[0] == totals["primary_pupils"] and students[1] == totals["junior_pupils"]


def test_accepted_draws_pass_on_the_whole_registry(baseline_model):
    from sim.model import school_noise
    from sim.rng import Streams

    model = baseline_model
    frame = model.school_frame
    streams = Streams(model.scenario.seed)
    r = _start(model, 0, 64)
    # redo each draw's accepted attempt on the whole registry from its streams and recompute the condition
    for attempt in np.unique(r.attempts):
        rows = np.flatnonzero(r.attempts == attempt)
        noise = school_noise(streams, f"registry.schools/{attempt - 1}", 0, 64, frame).take(rows)
        values = draw_school_values(frame, {n: r.parameters[n][rows] for n in REGISTRY_NAMES}, noise)
        np.testing.assert_array_equal(values.qualified[:, model.frame_sections], r.values.qualified[rows])
        np.testing.assert_array_equal(values.teachers[:, model.frame_sections], r.values.teachers[rows])
        np.testing.assert_array_equal(basic_balance_pass(frame, values), r.accepted[rows])


def _teacher_cvs(model, teachers: np.ndarray) -> np.ndarray:
    """``(D, C, 2)`` pupil-weighted CV of teachers per pupil across each county's sections of a level (selected
    counties), written out independently of sim.registry."""
    s = model.sections
    students = s.students.sum(axis=1).astype(float)
    out = np.full((teachers.shape[0], s.n_counties, 2), np.nan)
    for c in range(s.n_counties):
        for lv in (0, 1):
            idx = np.flatnonzero((s.county == c) & (s.level == lv) & (students > 0))
            if idx.size < 2:
                continue
            p = students[idx]
            x = teachers[:, idx] / p
            mean = (x * p).sum(axis=1) / p.sum()
            out[:, c, lv] = np.sqrt(((x - mean[:, None]) ** 2 * p).sum(axis=1) / p.sum()) / mean
    return out


def test_teacher_ratio_spread_is_drawn_within_its_range_and_accepted(baseline_model):
    # the spread is an uncertainty drawn per draw, within its documented range; accepted draws pass the 2012 limits
    # (test_accepted_draws_pass_on_the_whole_registry recomputes the condition); county and level totals are the
    # structure's in every draw; and the county CVs of teachers per pupil move with the drawn spread, which a fixed
    # spread could not do
    from scipy.stats import spearmanr

    model = baseline_model
    spec = PARAMETERS["registry.teacher_ratio_spread"].default
    r = _start(model, 0, 64)
    spread = r.parameters["registry.teacher_ratio_spread"]
    assert np.all((spread >= spec.low) & (spread <= spec.high))  # type: ignore[union-attr]
    assert np.unique(spread).size == spread.size
    assert r.accepted.all()
    s = model.sections
    group = s.county * 2 + s.level
    structure = s.teachers_by_age.sum(axis=1)
    for g in np.unique(group):
        np.testing.assert_array_equal(r.values.teachers[:, group == g].sum(axis=1), structure[group == g].sum())
    median_cv = np.nanmedian(_teacher_cvs(model, r.values.teachers)[:, :, 0], axis=1)
    assert spearmanr(spread, median_cv).statistic > 0.8
    # and the structure alone (spread 0) is the floor of every draw's median: more spread, more inequality
    assert np.all(median_cv >= np.nanmedian(_teacher_cvs(model, structure[None].astype(float))[0, :, 0]) - 0.02)


def test_a_draw_that_cannot_pass_is_marked_not_accepted(baseline_model):
    from sim.model import REGISTRY_ATTEMPTS, draw_start_registry, sample_parameters
    from sim.rng import Streams

    streams = Streams(baseline_model.scenario.seed)
    params = sample_parameters(baseline_model.scenario, streams, 0, 2)
    params["registry.facility_spread"] = np.full(2, 3.0)  # a CV far above the limits, held by the caller
    r = draw_start_registry(baseline_model, streams, 0, 2, params, fixed={"registry.facility_spread"})
    assert not r.accepted.any()
    np.testing.assert_array_equal(r.attempts, REGISTRY_ATTEMPTS)
    np.testing.assert_array_equal(r.parameters["registry.facility_spread"], 3.0)


def test_registry_md_tables_are_generated_from_the_parameters():
    from pathlib import Path

    from sim.parameters import registry_parameter_table, registry_structure_table

    doc = (Path(__file__).resolve().parents[1] / "calibration" / "REGISTRY.md").read_text(encoding="utf-8")
    assert registry_parameter_table() in doc and registry_structure_table() in doc
    for phrase in ("set so that", "calibrated to a qualitative fact", "keeps county CVs"):
        assert phrase not in doc


def test_structure_table_states_the_values_the_registry_uses():
    from sim.parameters import REGISTRY_STRUCTURE

    a = RegistryAssumptions()
    for name, value, _, _ in REGISTRY_STRUCTURE:
        if hasattr(a, name) and isinstance(getattr(a, name), int | float):
            assert float(value) == getattr(a, name), name


def test_entry_cohort_weights_take_each_grade_from_its_entry_year(tmp_path):
    # autumn 2011: grade g (1-6) entered grade 1 in 2012 - g: 2011 ... 2006; grade 7 entered grade 7 in 2011 (junior
    # entrants published), grades 8 and 9 in 2010 and 2009 (not published: the primary graduates of those years)
    years = list(range(2006, 2012))
    (tmp_path / "xinjiang_primary_nbs_2000_2019.csv").write_text(
        "year,new_entrants_10k,graduates_10k\n"
        + "".join(f"{y},{y - 2000},{(y - 2000) * 10}\n" for y in years), encoding="utf-8")
    (tmp_path / "xinjiang_junior_nbs_2011_2019.csv").write_text(
        "year,new_entrants_10k\n2011,7.5\n2012,\n", encoding="utf-8")
    w = entry_cohort_weights(2011, tmp_path)
    assert w is not None
    assert w.tolist() == [11, 10, 9, 8, 7, 6, 7.5, 100, 90]
    # autumn 2012: grade 1 entered in 2012, not in the table; grade 7's 2012 entrants are blank -> census kept
    assert entry_cohort_weights(2012, tmp_path) is None


def test_retention_since_entry_spreads_published_completion_over_the_engines_dropout_steps(tmp_path):
    # primary: graduates of 2009-2011 over the grade-1 entrants six years before, pooled: (90+80+70)/(100+100+100)
    # = 0.8 -> grade g keeps 0.8^((g-1)/6); the 2008 pair (100 over 100) is older than the latest three and the
    # 2012 pair (10 over 100) later than the start: neither is read. Junior: graduates of 2011 over the grade-7
    # entry of 2008 (junior entrants not published: the primary graduates of 2008) = 50/100 -> grades 7, 8, 9
    # keep 1, 0.5^0.5, 0.5
    (tmp_path / "xinjiang_primary_nbs_2000_2019.csv").write_text(
        "year,new_entrants_10k,graduates_10k\n2002,100,\n2003,100,\n2004,100,\n2005,100,\n2006,100,\n"
        "2008,,100\n2009,,90\n2010,,80\n2011,,70\n2012,,10\n", encoding="utf-8")
    (tmp_path / "xinjiang_junior_nbs_2011_2019.csv").write_text(
        "year,new_entrants_10k,graduates_10k\n2011,7.5,50\n2012,,10\n", encoding="utf-8")
    r = retention_since_entry(2011, tmp_path)
    expected = [0.8 ** (k / 6) for k in range(6)] + [1.0, 0.5 ** 0.5, 0.5]
    assert r.tolist() == pytest.approx(expected)
    # no later year is read: 2012's junior graduates (10) would change the junior ratio
    assert retention_since_entry(2011, tmp_path)[8] == pytest.approx(0.5)
    # a level without any published pair keeps its entrants' ratios
    (tmp_path / "xinjiang_junior_nbs_2011_2019.csv").write_text("year,new_entrants_10k\n2011,7.5\n", encoding="utf-8")
    assert retention_since_entry(2011, tmp_path)[6:].tolist() == [1.0, 1.0, 1.0]
