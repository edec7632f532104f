"""The cohort engine end to end on small scenarios: accounting identities, closed forms, determinism, CRN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.cohort import prepare, run_chunk
from sim.ensemble import run_draws
from sim.rng import Streams
from sim.scenario import Scenario, as_mapping, load_scenario, scenario_from_mapping

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL_COUNTIES = ["653131", "653227", "650522"]  # Taxkorgan and Minfeng (south), Yiwu (north): small, fast


def derive(changes: dict[str, Any]) -> Scenario:
    """The baseline scenario with ``changes`` deep-merged over it (as ``extends:`` does), validated."""
    data = as_mapping(load_scenario(SCENARIOS / "baseline.yaml"))
    _deep_merge(data, changes)
    return scenario_from_mapping(data, base_dir=SCENARIOS)


def _deep_merge(data: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict) and key != "coverage_by_year" \
                and "dist" not in value:
            _deep_merge(data[key], value)
        else:
            data[key] = value


def small(**changes: Any) -> Scenario:
    """A three-county scenario over 2020–2026 built on the baseline, with ``changes`` merged in."""
    data: dict[str, Any] = {
        "name": "small",
        "draws": 128,
        "chunk_size": 64,
        "horizon": 2026,
        "baseline": {"counties": SMALL_COUNTIES},
        "levers": {"pairing": {"coverage_by_year": {2024: 0.5, 2026: 1.0}}},
    }
    for key, value in changes.items():
        _merge(data, key.split("."), value)
    return derive(data)


def _merge(data: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


@pytest.fixture(scope="module")
def baseline_small() -> tuple[Scenario, dict]:
    scenario = small()
    return scenario, run_draws(prepare(scenario), 0, scenario.draws)


def test_teacher_accounting_per_county_and_draw(baseline_small):
    """teachers(t) = teachers(t−1) + hires(t) − exits(t): rotation, redeployment and drift stay in the county."""
    _, raw = baseline_small
    teachers, hires, exits = raw["teachers"], raw["hires"], raw["exits"]
    np.testing.assert_array_equal(teachers[:, 1:], teachers[:, :-1] + hires[:, 1:] - exits[:, 1:])


def test_student_accounting_per_county_and_draw(baseline_small):
    """students(t) = students(t−1) + grade-1 entrants − dropouts − completers (drift stays in the county)."""
    _, raw = baseline_small
    students, entries, leaving = raw["students"], raw["student_entries"], raw["student_exits"]
    np.testing.assert_array_equal(students[:, 1:], students[:, :-1] + entries[:, 1:] - leaving[:, 1:])


def test_shares_are_probabilities_and_stocks_non_negative(baseline_small):
    _, raw = baseline_small
    for name in ("students", "teachers", "vacancies", "dispatched_in_post", "hires", "exits", "rotated"):
        assert (raw[name] >= 0).all(), name
    for count, total in (("quality_school_count", "quality_school_total"), ("pairing_count", "pairing_total"),
                         ("gigabit_count", "gigabit_total"), ("counselling_count", "counselling_total")):
        assert (raw[count] <= raw[total] + 1e-9).all()
    assert set(np.unique(raw["quality_balanced"])) <= {0, 1}


def test_start_year_is_the_registry(baseline_small):
    scenario, raw = baseline_small
    model = prepare(scenario)
    s = model.sections
    np.testing.assert_array_equal(raw["students"][:, 0], np.bincount(s.county, s.students.sum(axis=1))[None, :]
                                  .repeat(scenario.draws, 0))


def test_same_seed_same_numbers_whatever_the_chunk_size():
    a = small(chunk_size=64)
    b = small(chunk_size=128)
    ra, rb = run_draws(prepare(a), 0, a.draws), run_draws(prepare(b), 0, b.draws)
    for name in ra:
        np.testing.assert_array_equal(ra[name], rb[name], err_msg=name)


@pytest.mark.parametrize("few", [20, 64, 100])
def test_draws_do_not_depend_on_how_many_are_run(few):
    """Also for a partial last block: draw i is the same in a run of 20, 64, 100 or 128 draws."""
    small_run, big_run = small(draws=few), small(draws=128)
    ra, rb = run_draws(prepare(small_run), 0, few), run_draws(prepare(big_run), 0, 128)
    for name in ra:
        np.testing.assert_array_equal(ra[name], rb[name][:few], err_msg=name)


def test_lever_that_changes_nothing_gives_bit_identical_results(baseline_small):
    """Common random numbers: funding.south_share is unused under gap-proportional allocation."""
    _, raw = baseline_small
    variant = small(**{"levers.funding.south_share": 0.9})
    other = run_draws(prepare(variant), 0, variant.draws)
    for name in raw:
        np.testing.assert_array_equal(raw[name], other[name], err_msg=name)


def test_a_lever_that_acts_changes_results_through_its_mechanism_only(baseline_small):
    """Doubling dispatch changes dispatched teachers in post, and not the students (shared random numbers)."""
    _, raw = baseline_small
    variant = small(**{"levers.dispatch.per_year": 10_000})
    other = run_draws(prepare(variant), 0, variant.draws)
    np.testing.assert_array_equal(raw["students"], other["students"])
    assert other["dispatched_in_post"][:, -1].sum() > raw["dispatched_in_post"][:, -1].sum()


OFF = {
    "uncertainties": {
        "attrition.rural_rate": {"dist": "fixed", "value": 0.0},
        "attrition.town_rate": {"dist": "fixed", "value": 0.0},
        "attrition.urban_rate": {"dist": "fixed", "value": 0.0},
        "drift.rural_to_town_rate": {"dist": "fixed", "value": 0.0},
        "special_post.retention_share": {"dist": "fixed", "value": 1.0},
        "teachers.female_share": {"dist": "fixed", "value": 0.7},
    },
    "levers": {
        "recruitment": {"open_recruitment": False, "special_post_per_year": 0, "targeted_graduates_per_year": 0,
                        "junior_retraining_per_year": 0, "from_year": 2020},
        "rotation": {"share": 0.0, "from_year": 2020},
        "dispatch": {"per_year": 0, "from_year": 2020},
        "quota": {"redeploy_surplus_share": 0.0},
        "pairing": {"coverage_by_year": {2024: 0.5, 2026: 1.0}},
    },
}


def _flows_off(female_share: float) -> Scenario:
    """Flows off, 2020–2025 (the earliest horizon the default lever years allow)."""
    data = {"name": "off", "draws": 256, "chunk_size": 128, "horizon": 2025,
            "baseline": {"counties": SMALL_COUNTIES}, **OFF}
    data["uncertainties"] = {**OFF["uncertainties"],
                             "teachers.female_share": {"dist": "fixed", "value": female_share}}
    data["levers"] = {**OFF["levers"], "pairing": {"coverage_by_year": {2024: 1.0}}}
    return derive(data)


def _with_stock(model, teachers_by_age: np.ndarray):
    import dataclasses

    s = model.sections
    total = teachers_by_age.sum(1)
    sections = dataclasses.replace(
        s, teachers_by_age=teachers_by_age, qualified=np.minimum(s.qualified, total),
        backbone=np.minimum(s.backbone, total), pe_art=np.minimum(s.pe_art, total),
        special_post=np.zeros_like(s.special_post))
    # the given stock is used as it is, as real records are: no per-draw start registry, whose teachers per section
    # would replace it (sim.model.draw_start_registry returns None without a school frame)
    return dataclasses.replace(model, sections=sections, school_frame=None, frame_sections=None)


@pytest.mark.parametrize(("female_share", "retiring_bands", "fifth_band"), [(0.0, [5], 4), (1.0, [4, 5], 3)])
def test_first_year_retirements_are_those_reaching_the_statutory_age(female_share, retiring_bands, fifth_band):
    """Flows off; 2021 is before the reform for everyone retiring then (men at 60, women teachers at 55).

    With ages uniform within the registry's bands (50–54, 55–59, 60–64 = columns 3, 4, 5), the teachers who
    reach the statutory age during the year are every teacher at or above it plus the oldest fifth of the band
    just below: men, n(60–64) + n(55–59)/5; women, n(55–59) + n(60–64) + n(50–54)/5. Checked within 4 Monte Carlo
    standard errors.
    """
    scenario = _flows_off(female_share)
    model = prepare(scenario)
    bands = model.sections.teachers_by_age.sum(axis=0)
    expected = bands[retiring_bands].sum() + bands[fifth_band] / 5
    exits = run_draws(model, 0, scenario.draws)["exits"][:, 1].sum(axis=1)
    se = exits.std(ddof=1) / np.sqrt(exits.size)
    assert abs(exits.mean() - expected) <= 4 * se + 1e-9, (exits.mean(), expected, se)


def test_a_stationary_stock_loses_a_fifth_of_its_oldest_band_each_year():
    """Men, the same number n in every 5-year band from 20 to 59 in each section. In the steps into 2021–2024
    (school years 2020/21 … 2023/24, before the reform starts on 2025-01-01) the teachers turning 60 are a fifth
    of the 55–59 band, n/5 per section, and that band stays at n in expectation (the empty space left at the
    bottom cannot climb seven bands in four years). In the step into 2025 (school year 2024/25) the reform delays
    the men born from January 1965: fewer retire."""
    scenario = _flows_off(0.0)
    n = 10
    s = prepare(scenario).sections
    stock = np.tile(np.array([2 * n, 2 * n, 2 * n, n, n, 0]), (s.n_sections, 1))
    model = _with_stock(prepare(scenario), stock)
    all_exits = run_draws(model, 0, scenario.draws)["exits"].sum(axis=2)
    exits = all_exits[:, 1:5]  # (draws, 2021–2024)
    expected = s.n_sections * n / 5
    se = exits.std(axis=0, ddof=1) / np.sqrt(exits.shape[0])
    assert np.all(np.abs(exits.mean(axis=0) - expected) <= 4 * se), (exits.mean(axis=0), expected, se)
    assert all_exits[:, 5].mean() < expected - 4 * se.max()


def test_women_and_men_keep_retiring_at_their_own_ages_after_the_first_year():
    """Half women, n per 5-year band from 20 to 59 in each section, flows off, before the reform (women teachers
    retire at 55, men at 60). The start stock is in service, so its 55–59 band holds men only (a woman of 57 is
    retired): no artifact of every woman of 55–59 retiring in the first year. By hand, per section, with the
    engine's uniform-within-band hazards (a fifth of a band reaches the next age each year): in the step into
    2021 the women turning 55 (a fifth of the women of 50–54, n/10) and the men turning 60 (a fifth of the n men
    of 55–59) retire: 0.3 n. Band 55–59 then holds 0.8 n + 0.1 n (men aged in from 50–54) = 0.9 n men, and band
    50–54 stays at n, half women (inflow from 45–49 half and half). Each later year retires n/10 women and a fifth
    of the men of 55–59, whose band becomes 0.8 m + 0.1 n: 0.1 n + 0.18 n, 0.1 n + 0.164 n, 0.1 n + 0.1512 n.
    (Mixing the sexes with the initial share in every band, as the engine once did, retires half of band 55–59
    again each year as if they were women.)"""
    scenario = _flows_off(0.5)
    n = 10
    s = prepare(scenario).sections
    stock = np.tile(np.array([2 * n, 2 * n, 2 * n, n, n, 0]), (s.n_sections, 1))
    model = _with_stock(prepare(scenario), stock)
    exits = run_draws(model, 0, scenario.draws)["exits"].sum(axis=2)[:, 1:5]  # steps into 2021–2024
    expected = s.n_sections * n * np.array([0.3, 0.28, 0.264, 0.2512])
    se = exits.std(axis=0, ddof=1) / np.sqrt(exits.shape[0])
    assert np.all(np.abs(exits.mean(axis=0) - expected) <= 4 * se), (exits.mean(axis=0), expected, se)


def test_with_a_constant_hazard_survivors_follow_the_geometric_law():
    """Attrition h everywhere, no entries, and a stock aged 20–29 followed for 5 years, which cannot reach a
    retirement band (ageing moves at most one 5-year band a year): E[survivors after n years] = N(1 − h)^n,
    checked within 4 standard errors."""
    h = 0.08
    data = {"name": "hazard", "draws": 256, "chunk_size": 128, "horizon": 2025,
            "baseline": {"counties": SMALL_COUNTIES}, **OFF}
    data["uncertainties"] = {**OFF["uncertainties"], **{
        f"attrition.{loc}_rate": {"dist": "fixed", "value": h} for loc in ("rural", "town", "urban")},
        "attrition.young_factor": {"dist": "fixed", "value": 1.0},
        "teachers.female_share": {"dist": "fixed", "value": 0.0}}
    data["levers"] = {**OFF["levers"], "pairing": {"coverage_by_year": {2024: 1.0}}}
    scenario = derive(data)
    model = prepare(scenario)
    # keep only teachers aged 20–29: in 5 years they reach at most 45–54, far from any retirement band
    raw = _run_young_stock(model)
    n0 = raw[:, 0]
    for years in range(1, raw.shape[1]):
        expected = n0.mean() * (1 - h) ** years
        se = raw[:, years].std(ddof=1) / np.sqrt(raw.shape[0])
        assert abs(raw[:, years].mean() - expected) <= 4 * se, (years, raw[:, years].mean(), expected)


def _run_young_stock(model) -> np.ndarray:
    """Teachers of the region over the years when every section starts with teachers aged 20–29 only."""
    young = model.sections.teachers_by_age.copy()
    young[:, 1:] = 0
    model = _with_stock(model, young)
    out = run_chunk(model, Streams(model.scenario.seed), 0, model.scenario.draws)
    return out["teachers"].sum(axis=2)


def test_any_start_year_builds_its_registry_from_that_years_totals():
    """A 2015 start synthesises the registry from the 2015 NBS totals and projects from there."""
    from sim.baseline import published_totals

    scenario = small(start_year=2015, draws=64, horizon=2026)
    model = prepare(scenario)
    assert model.years[0] == 2015
    raw = run_draws(model, 0, 64)
    totals = published_totals(2015)
    assert totals["data_year"] == 2015
    # the three small counties hold a small, positive part of the 2015 region's pupils
    first = raw["students"][0, 0].sum()
    assert 0 < first < 0.02 * (totals["primary_pupils"] + totals["junior_pupils"])
    np.testing.assert_array_equal(raw["teachers"][:, 1:], raw["teachers"][:, :-1] + raw["hires"][:, 1:]
                                  - raw["exits"][:, 1:])


def test_projected_births_of_a_county_do_not_depend_on_which_counties_are_selected():
    """The 2027 intake of a county (first projected cohort) is the same whether it runs alone or with others:
    region births are shared by each county's share of the region's census age-0 count (all 106 units)."""
    from sim.baseline import load_counties

    alone = derive({"name": "one", "draws": 64, "chunk_size": 64, "horizon": 2027,
                    "baseline": {"counties": ["653131"]}})
    together = small(draws=64, horizon=2027)
    m1, m3 = prepare(alone), prepare(together)
    assert m1.anchor_births == pytest.approx(
        160_000 * float(load_counties(include_xpcc=True).set_index("code").loc[653131, "age0"])
        / float(load_counties(include_xpcc=True)["age0"].sum()))
    i1 = m1.sections.county_code.tolist().index(653131)
    i3 = m3.sections.county_code.tolist().index(653131)
    e1 = run_draws(m1, 0, 64)["student_entries"][:, -1, i1].mean()
    e3 = run_draws(m3, 0, 64)["student_entries"][:, -1, i3].mean()
    assert e1 == pytest.approx(e3, rel=0.05)


def test_special_post_contracts_leave_with_the_teachers_who_leave():
    """Leavers are drawn without replacement among all teachers of a section, so the contracts of each contract
    year among them follow a multivariate hypergeometric law: E[lost_k] = slot_k · leaving / teachers. 100
    teachers, contract years 10 / 20 / 30, 50 leave: 5, 10, 15 on average; never more than a slot holds, never
    more than leave in all. Contracts above the section's teachers (moves that do not carry them) are capped,
    the earliest contract years first."""
    from types import SimpleNamespace

    from sim.steps import Random as _Random
    from sim.steps import _remove_special, _special_slots

    d, n_sections = 128, 200
    st = SimpleNamespace(special_post=np.tile(np.array([10, 20, 30]), (d, n_sections, 1)))
    before = np.full((d, n_sections), 100)
    leaving = np.full((d, n_sections), 50)
    _remove_special(st, before, leaving, _Random(Streams(7), 0, d, 2021), "test")
    lost = np.array([10, 20, 30]) - st.special_post
    assert (lost >= 0).all() and (lost.sum(axis=2) <= 50).all()
    mean = lost.reshape(-1, 3).mean(axis=0)
    se = lost.reshape(-1, 3).std(axis=0, ddof=1) / np.sqrt(d * n_sections)
    assert np.all(np.abs(mean - [5, 10, 15]) <= 4 * se), (mean, se)

    capped = _special_slots(SimpleNamespace(special_post=np.array([[[10, 20, 30]]])), np.array([[25]]))
    assert capped.tolist() == [[[10, 15, 0]]]


def test_region_wide_levers_are_shared_among_selections_in_proportion():
    """The south and the rest of the region split every region-wide quantity: their shares (by pupils, by schools,
    by counties over 200,000 people) add up to 1; the whole region gets 1; `scale_region_levers: false` gives 1;
    and the south's share of counties over 200,000 people is its count of them over the region's, counted here from
    counties.csv."""
    from sim.baseline import load_counties
    from sim.scenario import replace as replace_keys

    base = load_scenario(SCENARIOS / "baseline.yaml")
    counties = load_counties(include_xpcc=False)
    rest = tuple(counties.loc[~counties["south"], "code"].astype(str))
    south = prepare(replace_keys(base, {"baseline.counties": "south"})).scale
    north = prepare(replace_keys(base, {"baseline.counties": rest})).scale
    for kind in ("pupils", "schools", "large_counties"):
        assert getattr(south, kind) + getattr(north, kind) == pytest.approx(1.0), kind
        assert 0.2 < getattr(south, kind) < 0.8, kind
    large = counties["pop_2020"] > 200_000
    assert south.large_counties == pytest.approx((large & counties["south"]).sum() / large.sum())
    assert prepare(base).scale.pupils == pytest.approx(1.0)
    as_given = prepare(replace_keys(base, {"baseline.counties": "south", "baseline.scale_region_levers": False}))
    assert (as_given.scale.pupils, as_given.scale.schools, as_given.scale.large_counties) == (1.0, 1.0, 1.0)
    assert as_given.scale.count(5000, "pupils") == 5000
    assert south.count(5000, "pupils") == round(5000 * south.pupils)
