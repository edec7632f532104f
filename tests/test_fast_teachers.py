"""The fast teacher-exit step (``sim.fast.teachers``): accounting identities, agreement with the exact step,
closed forms.

* Invariants on real states (the baseline registry, several projected years) and on small hand-built states
  (Hypothesis): the section stock identity, drift conserved per county and band, categories and contracts never
  above the teachers, no negative count.
* Agreement with :func:`sim.cohort.step_teacher_exits`: from one real state of the whole region (2026) with one
  draw's parameters repeated over ``N_PAIRED`` draws, the means of the county totals agree within 4 standard
  errors of the difference, and the across-draw variance of section totals within ``VARIANCE_TOLERANCE`` in
  location × size classes.
* Closed forms with attrition, drift and contract ends off (those of ``tests/test_cohort.py`` for the exact
  engine, run on the fast engine), and the expected stock by band after one step.
"""

from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import cohort
from sim.fast import engine
from sim.fast import teachers as ft
from sim.mechanisms import students
from sim.mechanisms import teachers as tmech
from sim.rng import Streams
from sim.scenario import load_scenario
from tests.test_cohort import SCENARIOS, _flows_off, _with_stock

N_PAIRED = 512
"""Draws of the paired comparison with the exact step (one state, one draw's parameters)."""
VARIANCE_TOLERANCE = 0.10
"""Largest relative gap between the two steps' summed across-draw variances of section totals in a class.

With ``N_PAIRED`` draws one section's variance estimate has a relative standard error of ``sqrt(2 / 511)``
(6%); a class sums at least ``MIN_CLASS_SECTIONS`` nearly independent sections, so the ratio of the two
steps' sums has a standard error below ``sqrt(2) · 6% / sqrt(40)`` ≈ 1.4%. Measured ratios (2026 → 2027, seed
of the baseline): 0.97–1.01. 10% leaves room for the fast step's approximations (moment-matched totals,
systematic splits) and fails for a wrong flow: drift arrivals placed systematically instead of multinomially
give 0.75–0.78 in the town classes, leavers' totals with 0.3 × their variance 0.39–0.60."""
MIN_CLASS_SECTIONS = 40


# ------------------------------------------------------------------------------------------------------------
# states


@pytest.fixture(scope="module")
def region() -> cohort.Model:
    return cohort.prepare(load_scenario(SCENARIOS / "baseline.yaml"))


def _project_one_draw(model: cohort.Model, until: int) -> tuple[cohort.State, dict[str, np.ndarray]]:
    """Draw 0 of the exact engine's state in the autumn of ``until`` (all steps but the assessment)."""
    scenario = model.scenario
    streams = Streams(scenario.seed)
    p = cohort.sample_parameters(scenario, streams, 0, 1)
    state = cohort.initial_state(model, 1, p["teachers.female_share"])
    steps = cohort.EXACT_STEPS
    for year in range(scenario.start_year, until + 1):
        r = cohort._Random(streams, 0, 1, year)
        if year > scenario.start_year:
            steps.students(model, state, p, r, year)
            steps.teacher_exits(model, state, p, r, year)
        steps.quota_and_recruitment(model, state, p, r, year)
        weakness = np.zeros((1, model.sections.n_sections))
        steps.rotation(model, state, p, r, year, weakness)
        if year > scenario.start_year:
            steps.dispatch(model, state, p, r, year)
            steps.development(model, state, p, r, year)
    return state, p


def _tile(state: cohort.State, p: dict[str, np.ndarray], n: int) -> tuple[cohort.State, dict[str, np.ndarray]]:
    """The one-draw state and parameters repeated over ``n`` draws."""
    fields = {f.name: np.repeat(getattr(state, f.name), n, axis=0) for f in dataclasses.fields(state)}
    return cohort.State(**fields), {k: np.repeat(v[:1], n) for k, v in p.items()}


@pytest.fixture(scope="module")
def state_2026(region: cohort.Model) -> tuple[cohort.State, dict[str, np.ndarray]]:
    return _project_one_draw(region, 2026)


def _check_invariants(m: Any, before: Any, after: Any, flows: ft.TeacherFlows) -> None:
    s = m.sections
    old, new = before.teachers.sum(axis=2), after.teachers.sum(axis=2)
    out, into = flows.moved_out.sum(axis=2), flows.moved_in.sum(axis=2)
    np.testing.assert_array_equal(new, old - flows.leavers - flows.contract_leaving - out + into)
    np.testing.assert_array_equal(students.county_totals(flows.moved_out, s.county, s.n_counties),
                                  students.county_totals(flows.moved_in, s.county, s.n_counties))
    rural = s.location == students.RURAL
    assert not flows.moved_out[:, ~rural].any() and not flows.moved_in[:, rural].any()
    np.testing.assert_array_equal(after.exits, students.county_totals(flows.leavers + flows.contract_leaving,
                                                                      s.county, s.n_counties))
    for name in ("teachers", "qualified", "backbone", "pe_art", "special_post", "dispatched"):
        assert (getattr(after, name) >= 0).all(), name
    for flow in flows:
        assert (flow >= 0).all()
    for name in ("qualified", "backbone", "pe_art"):
        assert (getattr(after, name) <= new).all(), name
    assert (after.special_post.sum(axis=2) <= new).all()
    assert (after.special_post[..., 0] == 0).all()  # the first contract year is for this year's recruits


# ------------------------------------------------------------------------------------------------------------
# invariants


def test_invariants_on_the_registry_over_several_years(region: cohort.Model) -> None:
    """64 draws of the whole region, 2021–2026, with the exact engine's other steps in between."""
    scenario = region.scenario
    streams = Streams(scenario.seed)
    d = 64
    p = cohort.sample_parameters(scenario, streams, 0, d)
    state = cohort.initial_state(region, d, p["teachers.female_share"])
    for year in range(scenario.start_year + 1, 2027):
        r = cohort._Random(streams, 0, d, year)
        cohort.step_students(region, state, p, r, year)
        before = copy.deepcopy(state)
        flows = ft.teacher_exits(region, state, p, r, year)
        _check_invariants(region, before, state, flows)
        assert (flows.moved_out.any() and flows.contract_leaving.any()) or year < 2024
        cohort.step_quota_and_recruitment(region, state, p, r, year)


_SMALL_BASE: dict[str, Any] = {}


@settings(max_examples=60, deadline=None)
@given(sections=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=10),
       seed=st.integers(0, 2**31), size=st.integers(0, 60), attrition=st.floats(0.0, 0.5),
       drift=st.floats(0.0, 1.0), retention=st.floats(0.0, 1.0), year=st.integers(2021, 2040))
def test_invariants_on_small_states(sections: list[tuple[int, int]], seed: int, size: int, attrition: float,
                                    drift: float, retention: float, year: int) -> None:
    """Any stock, categories and contracts (contracts and categories may exceed the teachers on entry, as
    after moves that do not carry them), any rates: the identities hold and nothing goes negative."""
    if "model" not in _SMALL_BASE:
        _SMALL_BASE["model"] = cohort.prepare(load_scenario(SCENARIOS / "six_counties.yaml"))
    base = _SMALL_BASE["model"]
    loc = np.array([s[0] for s in sections])
    cty = np.array([s[1] for s in sections])
    cty = np.unique(cty, return_inverse=True)[1].reshape(-1)
    m = SimpleNamespace(
        sections=SimpleNamespace(location=loc, county=cty, n_counties=int(cty.max()) + 1, n_sections=loc.size,
                                 teachers=np.arange(loc.size) % 7 + 3),
        scenario=base.scenario, retirement=base.retirement, age_multiplier_young=tmech.age_multiplier)
    rng = np.random.default_rng(seed)
    d, n_s = 3, loc.size
    teachers = rng.poisson(rng.uniform(0, size / 9 + 1e-9, (1, n_s, 9)), (d, n_s, 9)).astype(np.int64)
    total = teachers.sum(axis=2)
    state = SimpleNamespace(
        teachers=teachers,
        qualified=rng.integers(0, total + 3), backbone=rng.integers(0, total + 1),
        pe_art=rng.integers(0, 2, total.shape),
        special_post=rng.integers(0, 4, (d, n_s, 3)), female_share=rng.uniform(0, 1, (d, 9)),
        dispatched=rng.integers(0, 3, (d, n_s, 3)), dispatched_backbone=np.zeros((d, n_s, 3), np.int64),
        dispatched_pe_art=np.zeros((d, n_s, 3), np.int64), exits=np.zeros((d, m.sections.n_counties), np.int64))
    p = {"attrition.urban_rate": np.full(d, attrition), "attrition.town_rate": np.full(d, attrition / 2),
         "attrition.rural_rate": np.full(d, attrition), "attrition.young_factor": np.full(d, 2.0),
         "attrition.subsidy_elasticity_per_1000cny": np.full(d, 0.2),
         "drift.rural_to_town_rate": np.full(d, drift), "special_post.retention_share": np.full(d, retention)}
    before = copy.deepcopy(state)
    flows = ft.teacher_exits(m, state, p, cohort._Random(Streams(seed), 0, d, year), year)
    _check_invariants(m, before, state, flows)
    np.testing.assert_array_equal(state.dispatched[..., :2], before.dispatched[..., 1:])


# ------------------------------------------------------------------------------------------------------------
# agreement with the exact step


@pytest.fixture(scope="module")
def paired(region: cohort.Model, state_2026: tuple[cohort.State, dict[str, np.ndarray]]) -> dict[str, Any]:
    """The exact and the fast step into 2027 from the same 2026 state, ``N_PAIRED`` draws each."""
    state, p = _tile(*state_2026, N_PAIRED)
    r = cohort._Random(Streams(region.scenario.seed), 0, N_PAIRED, 2027)
    exact, fast = copy.deepcopy(state), copy.deepcopy(state)
    cohort.step_teacher_exits(region, exact, p, r, 2027)
    ft.step_teacher_exits(region, fast, p, r, 2027)
    return {"start": state, "exact": exact, "fast": fast}


def _county(m: cohort.Model, x: np.ndarray) -> np.ndarray:
    s = m.sections
    return students.county_totals(x, s.county, s.n_counties)


@pytest.mark.parametrize("name", ["teachers", "qualified", "backbone", "pe_art", "special_post", "exits"])
def test_county_means_agree_with_the_exact_step(region: cohort.Model, paired: dict[str, Any], name: str) -> None:
    def totals(st: cohort.State) -> np.ndarray:
        x = getattr(st, name)
        if name == "exits":
            return np.asarray(x, dtype=np.float64)
        x = x.sum(axis=2) if x.ndim == 3 else x
        return np.asarray(_county(region, x), dtype=np.float64)

    a, b = totals(paired["exact"]), totals(paired["fast"])
    diff = b.mean(axis=0) - a.mean(axis=0)
    se = np.sqrt((a.var(axis=0, ddof=1) + b.var(axis=0, ddof=1)) / N_PAIRED)
    moving = se > 0
    assert np.all(np.abs(diff[moving]) <= 4 * se[moving] + 1e-9), (name, np.max(np.abs(diff[moving]) / se[moving]))
    np.testing.assert_array_equal(diff[~moving], 0.0)
    # the whole region, a sharper check of the same
    ra, rb = a.sum(axis=1), b.sum(axis=1)
    assert abs(rb.mean() - ra.mean()) <= 4 * np.sqrt((ra.var(ddof=1) + rb.var(ddof=1)) / N_PAIRED) + 1e-9


def _classes(m: cohort.Model, start: cohort.State) -> dict[str, np.ndarray]:
    s = m.sections
    size = start.teachers[0].sum(axis=1)
    out = {}
    for loc, loc_name in enumerate(("urban", "town", "rural")):
        for lo, hi in ((1, 15), (15, 40), (40, 10**6)):
            members = (s.location == loc) & (size >= lo) & (size < hi)
            if members.sum() >= MIN_CLASS_SECTIONS:
                out[f"{loc_name} {lo}-{hi}"] = members
    return out


@pytest.mark.parametrize("name", ["teachers", "qualified", "special_post"])
def test_section_variances_agree_with_the_exact_step(region: cohort.Model, paired: dict[str, Any],
                                                     name: str) -> None:
    """Across-draw variance of the sections' totals, summed over the sections of a location × size class."""
    def section_totals(st: cohort.State) -> np.ndarray:
        x = getattr(st, name)
        return x.sum(axis=2) if x.ndim == 3 else x

    va = section_totals(paired["exact"]).var(axis=0, ddof=1)
    vb = section_totals(paired["fast"]).var(axis=0, ddof=1)
    classes = _classes(region, paired["start"])
    assert len(classes) >= 5
    for label, members in classes.items():
        if va[members].sum() < 5.0:  # (special posts: classes where hardly any contract ends)
            continue
        ratio = vb[members].sum() / va[members].sum()
        assert abs(ratio - 1) <= VARIANCE_TOLERANCE, (name, label, ratio)


# ------------------------------------------------------------------------------------------------------------
# closed forms (flows off but retirement and ageing)


def _fast_exits(model: cohort.Model) -> np.ndarray:
    scenario = model.scenario
    raw = engine.run_chunk(model, Streams(scenario.seed), 0, scenario.draws)
    return raw["exits"].sum(axis=2)


def test_first_year_retirements_are_those_reaching_the_statutory_age() -> None:
    """As ``tests/test_cohort.py`` for the exact engine: men only, the step into 2021 retires n(60–64) +
    n(55–59)/5 of the registry's bands, within 4 standard errors."""
    scenario = _flows_off(0.0)
    model = cohort.prepare(scenario)
    bands = model.sections.teachers_by_age.sum(axis=0)
    expected = bands[5] + bands[4] / 5
    exits = _fast_exits(model)[:, 1]
    se = exits.std(ddof=1) / np.sqrt(exits.size)
    assert abs(exits.mean() - expected) <= 4 * se + 1e-9, (exits.mean(), expected, se)


def test_women_and_men_keep_retiring_at_their_own_ages_after_the_first_year() -> None:
    """As ``tests/test_cohort.py``: half women, n per 5-year band from 20 to 59 in each section, before the
    reform: 0.7 n per section retire in the step into 2021, then 0.2 n a year."""
    scenario = _flows_off(0.5)
    n = 10
    s = cohort.prepare(scenario).sections
    stock = np.tile(np.array([2 * n, 2 * n, 2 * n, n, n, 0]), (s.n_sections, 1))
    model = _with_stock(cohort.prepare(scenario), stock)
    exits = _fast_exits(model)[:, 1:5]
    expected = s.n_sections * n * np.array([0.7, 0.2, 0.2, 0.2])
    se = exits.std(axis=0, ddof=1) / np.sqrt(exits.shape[0])
    assert np.all(np.abs(exits.mean(axis=0) - expected) <= 4 * se), (exits.mean(axis=0), expected, se)


def test_one_step_follows_the_retirement_and_ageing_schedule_by_band(region: cohort.Model,
                                                                     state_2026: Any) -> None:
    """Attrition, drift and contract ends off: the expected stock of band ``b`` one year on is
    ``n_b (1 − h_b)(1 − a_b) + n_{b−1} (1 − h_{b−1}) a_{b−1}`` per section (hazards ``h`` and ageing ``a`` of
    :func:`sim.mechanisms.teachers.mixed_retirement_and_ageing`); checked on the region's band totals within
    4 standard errors, and the women's share updated as the exact step does."""
    state, p = _tile(*state_2026, 256)
    for key in ("attrition.urban_rate", "attrition.town_rate", "attrition.rural_rate", "drift.rural_to_town_rate"):
        p[key] = np.zeros(256)
    p["special_post.retention_share"] = np.ones(256)
    n = state.teachers[0].sum(axis=0).astype(np.float64)
    year = 2027
    h_f, h_m = tmech.sex_hazards_by_band(year - 1, schedule=region.retirement)
    h, a = tmech.mixed_retirement_and_ageing(state.female_share[:1], h_f, h_m)
    h, a = h[0], a[0]
    a[-1] = 0.0
    stay = n * (1 - h)
    expected = stay * (1 - a)
    expected[1:] += (stay * a)[:-1]
    r = cohort._Random(Streams(3), 0, 256, year)
    share = tmech.female_share_after_year(state.female_share, state.teachers.sum(axis=1), h_f, h_m)
    ft.step_teacher_exits(region, state, p, r, year)
    bands = state.teachers.sum(axis=1)
    se = bands.std(axis=0, ddof=1) / np.sqrt(256)
    assert np.all(np.abs(bands.mean(axis=0) - expected) <= 4 * se + 1e-9), (bands.mean(axis=0), expected, se)
    assert (se[h + a > 0] > 0).all()  # the flows are random
    np.testing.assert_allclose(state.female_share, share)
    np.testing.assert_array_equal(state.exits.sum(axis=1), n.sum() - bands.sum(axis=1))


def test_a_draw_does_not_depend_on_the_chunk(region: cohort.Model, state_2026: Any) -> None:
    """Draws 64–127 stepped in a chunk of 128 or alone: the same numbers (keyed uniforms, draw by draw)."""
    whole, p = _tile(*state_2026, 128)
    part, q = _tile(*state_2026, 64)
    streams = Streams(region.scenario.seed)
    ft.step_teacher_exits(region, whole, p, cohort._Random(streams, 0, 128, 2027), 2027)
    ft.step_teacher_exits(region, part, q, cohort._Random(streams, 64, 128, 2027), 2027)
    for name in ("teachers", "qualified", "backbone", "pe_art", "special_post", "exits"):
        np.testing.assert_array_equal(getattr(whole, name)[64:], getattr(part, name), err_msg=name)
    assert not np.array_equal(whole.teachers[:64], part.teachers)
