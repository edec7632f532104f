"""Monotone where the model promises it (issue 16 item 5): more of a lever never hurts, draw by draw.

``edusim solve`` and ``edusim optimize`` search a lever assuming that, on the same draws (common random numbers),
more of it never turns a draw that met a target into one that misses it. These tests run the model on a grid of
lever values and compare every draw, year and county with the next value of the grid:

* dispatched teachers a year → dispatched teachers in post, teachers counted toward the staffing norm, the staffing
  norm (T5) by county and for the area;
* dispatched teachers a year → teachers counted toward the norm, section by section (the engine's state);
* capital budget (×0.5, ×1, ×2 of the baseline's) → the four facility indicators of every county, with the
  defaults and with the construction lag and equipment depreciation switched off. (Before 2026-12-06 floor area,
  sports ground and equipment were not monotone with the defaults: the gap ignored the money under construction
  and was measured before depreciation, ``docs/findings.md``.)

The expected relation is an inequality that holds whatever the numbers are (more dispatched teachers are never
fewer in post; more money never buys less), not a value taken from the program's output. Where it holds in the
model it holds on every draw; a mechanism whose random numbers are consumed differently when a count changes (a
multinomial placement drawn in one pass, a largest-remainder split with the Alabama paradox) breaks it on some.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from scenario_files import AT_NORM, SCENARIOS

from sim.ensemble import run
from sim.mechanisms.dispatch import dispatch_arrivals, dispatch_attributes
from sim.scenario import load_scenario, replace
from sim.vocabulary import FACILITY_INDICATORS, INDICATORS

DISPATCH_GRID = (0, 2500, 5000, 7500, 15000)
"""Dispatched teachers a year for the whole region (scaled to the counties run), from none through the plan's
5,000 to three times it: on the three counties below the staffing norm (T5) goes from missed in most draws to met
in almost all, so draws change state across the grid."""

CAPITAL_FACTORS = (0.5, 1.0, 2.0)
"""Multiples of the baseline's capital budget (``levers.funding.capital_cny``)."""

COUNTIES = "['653131', '650522', '653121']"
"""Two of the smallest counties (south: 塔什库尔干, north: 伊吾) and a larger southern one (疏附)."""


def _scenario(tmp_path: Path, extra: str = "") -> Path:
    """The baseline on :data:`COUNTIES`, one block of 64 draws to 2030, the establishment at the national norm
    (:data:`scenario_files.AT_NORM`, so that T5 can be missed and the dispatch lever decides it)."""
    path = tmp_path / "monotone.yaml"
    path.write_text(f"name: monotone\nextends: {SCENARIOS / 'baseline.yaml'}\ndraws: 64\nchunk_size: 64\n"
                    f"horizon: 2030\nbaseline: {{counties: {COUNTIES}}}\n" + AT_NORM + extra, encoding="utf-8")
    return path


def _violations(values: list[np.ndarray]) -> tuple[int, int]:
    """Cells and draws (first axis) where a grid point has less than the point before it."""
    bad = np.zeros(values[0].shape, dtype=bool)
    for lower, higher in itertools.pairwise(values):
        bad |= np.asarray(higher) < np.asarray(lower)
    return int(bad.sum()), int(bad.reshape(bad.shape[0], -1).any(axis=1).sum())


def _run_with_sections(scenario) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The results of ``scenario`` and, section by section, each year's regular teachers and teachers counted
    toward the staffing norm, read from the engine's state at the assessment (``(D, year, S)``)."""
    import sim.cohort
    from sim.steps import counted_teachers

    sections: dict[str, list[np.ndarray]] = {"teachers_by_section": [], "teachers_counted_by_section": []}
    original = sim.cohort.steps_for

    def steps_for(engine: str):
        def assess_and_keep(m, st, p, r, year):
            counted = counted_teachers(m, st, m.scenario.levers.assessment.dispatched_count_toward)
            sections["teachers_by_section"].append(counted["regular"].copy())
            sections["teachers_counted_by_section"].append(counted["staffing"].copy())
            return step.function(m, st, p, r, year)

        steps = original(engine)
        step = next(s for s in steps if s.records)
        return tuple(dataclasses.replace(s, function=assess_and_keep) if s.records else s for s in steps)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sim.cohort, "steps_for", steps_for)
        ds = run(scenario)
    keep = ("dispatched_in_post", "teachers_counted", "staffing_norm_met_by_county", "staffing_norm_met")
    return {name: ds[name].values for name in keep}, {k: np.stack(v, axis=1) for k, v in sections.items()}


@pytest.fixture(scope="module")
def dispatch_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, np.ndarray]]:
    base = load_scenario(_scenario(tmp_path_factory.mktemp("dispatch")))
    out = {}
    for per_year in DISPATCH_GRID:
        results, sections = _run_with_sections(replace(base, {"levers.dispatch.per_year": per_year}))
        out[per_year] = {**results, **sections}
    return out


@pytest.mark.parametrize("variable", ["dispatched_in_post", "teachers_counted", "staffing_norm_met_by_county",
                                      "staffing_norm_met", "teachers_counted_by_section"])
def test_more_dispatched_teachers_never_staff_a_draw_less(dispatch_runs, variable):
    values = [dispatch_runs[x][variable] for x in DISPATCH_GRID]
    assert _violations(values) == (0, 0)


def test_regular_teachers_by_section_do_not_depend_on_dispatch_here(dispatch_runs, tmp_path):
    """The baseline's one-year term: dispatched teachers arrive after the year's recruitment and leave before the
    next one (the order of :data:`sim.steps.STEPS`), so recruitment never sees them and the regular teachers are
    the same whatever the lever; with longer terms too, as they hold no post (the three-year test below)."""
    assert load_scenario(_scenario(tmp_path)).levers.dispatch.term_years == 1
    first = dispatch_runs[DISPATCH_GRID[0]]["teachers_by_section"]
    for per_year in DISPATCH_GRID[1:]:
        np.testing.assert_array_equal(dispatch_runs[per_year]["teachers_by_section"], first)


def test_the_dispatch_grid_moves_t5(dispatch_runs):
    """The grid is informative: T5 changes state in some county on some draws (else the test cannot fail)."""
    first = dispatch_runs[DISPATCH_GRID[0]]["staffing_norm_met_by_county"]
    last = dispatch_runs[DISPATCH_GRID[-1]]["staffing_norm_met_by_county"]
    assert (last > first).any()


FIXED_FACILITIES = ("  facilities.construction_lag_years: {dist: fixed, value: 0}\n"
                    "  facilities.equipment_depreciation_per_year: {dist: fixed, value: 0.0}\n")
"""Uncertainties (appended under ``uncertainties:`` of :data:`scenario_files.AT_NORM`) that switch off the lag and
the depreciation: construction usable in the year it is paid, and no depreciation of equipment."""


def _capital_runs(path: Path) -> dict[float, np.ndarray]:
    base = load_scenario(path)
    capital = base.levers.funding.capital_cny
    out = {}
    for factor in CAPITAL_FACTORS:
        ds = run(replace(base, {"levers.funding.capital_cny": capital * factor}))
        out[factor] = ds["indicator_value"].values[..., list(FACILITY_INDICATORS)].astype(np.float64)
    return out


def _rounded(runs: dict[float, np.ndarray], item: slice | int = slice(None)) -> list[np.ndarray]:
    # pupil-weighted county means stored as float32: equal stocks may differ in the last bits
    return [np.round(np.nan_to_num(runs[f][..., item], nan=-1.0), 3) for f in CAPITAL_FACTORS]


@pytest.fixture(scope="module")
def capital_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[float, np.ndarray]:
    return _capital_runs(_scenario(tmp_path_factory.mktemp("capital")))


@pytest.fixture(scope="module")
def capital_runs_without_lag(tmp_path_factory: pytest.TempPathFactory) -> dict[float, np.ndarray]:
    return _capital_runs(_scenario(tmp_path_factory.mktemp("capital0"), FIXED_FACILITIES))


def test_more_capital_never_lowers_a_facility_indicator_without_lag_or_depreciation(capital_runs_without_lag):
    """The allocation itself (the baseline's ``gap_proportional``) is monotone: every gap gets the share
    ``min(1, budget / Σ gap)``, larger with more money, of a gap that is no larger."""
    values = _rounded(capital_runs_without_lag)
    assert _violations(values) == (0, 0)
    assert (values[-1] > values[0] + 1e-2).any()  # the budget matters on these counties


def test_more_capital_never_lowers_a_facility_indicator_with_the_defaults(capital_runs):
    """With the defaults (construction lag, depreciation): the gap counts the money already under construction and
    is measured after depreciation, so every indicator is monotone in the budget."""
    values = _rounded(capital_runs)
    assert _violations(values) == (0, 0)
    assert (values[-1] > values[0] + 1e-2).any()


def test_more_capital_never_lowers_multimedia_rooms(capital_runs):
    """With the defaults (a one-year construction lag, equipment depreciating) the multimedia rooms, bought and
    usable in the year and not depreciated, stay monotone."""
    values = _rounded(capital_runs, FACILITY_INDICATORS.index(INDICATORS.index("multimedia_rooms_per_100")))
    assert _violations(values) == (0, 0)
    assert (values[-1] > values[0]).any()


def test_fully_funded_equipment_ends_at_the_threshold_in_the_documented_order():
    """The facility step depreciates last year's equipment before it measures the gap (the order of
    ``sim.mechanisms.facilities``), so a fully funded section ends at its need whatever it had. Hand-derived:
    100 pupils, threshold 2,000 CNY (need 200,000), depreciation 10%; values 150,000 and 180,000 CNY depreciate
    to 135,000 and 162,000, gaps 65,000 and 38,000 funded in full: both end at 200,000. (The engine measured the
    gap before depreciation until 2026-12-06: 150,000 × 0.9 + 50,000 = 185,000 against 180,000 × 0.9 + 20,000 =
    182,000, neither at the threshold and the richer section lower.)"""
    from sim.mechanisms import facilities

    pupils = np.array([[100.0]])
    thresholds = np.array([[4.5, 7.5, 2000.0, 2.3]])
    ends = []
    for value in (150_000.0, 180_000.0):
        stock = (np.array([[1e6]]), np.array([[1e6]]), np.array([[value]]), np.array([[10.0]]))
        equipment = facilities.depreciate_equipment(stock[2], 0.1)
        gaps = facilities.facility_gaps(pupils, stock[0], stock[1], equipment, stock[3], thresholds, 3000.0,
                                        200.0, 1e5)
        spend = facilities.allocate(np.array([1e9]), gaps, "gap_proportional")
        after = facilities.apply(stock[0], stock[1], equipment, stock[3], spend, 3000.0, 200.0, 1e5)
        ends.append(float(after[2][0, 0]))
    assert ends == pytest.approx([200_000.0, 200_000.0])


def test_more_capital_never_lowers_equipment(capital_runs):
    """With the defaults (depreciation on), equipment bought in the year closes the gap left after depreciation,
    so more capital never leaves a section with less equipment per pupil."""
    values = _rounded(capital_runs, FACILITY_INDICATORS.index(INDICATORS.index("equipment_cny_per_student")))
    assert _violations(values) == (0, 0)
    assert (values[-1] > values[0]).any()


# ---------------------------------------------------------------------------------------------------------
# the dispatch mechanism alone, section by section

COUNTY = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1])
LEVEL = np.array([0, 1, 0, 1, 0, 1, 0, 0, 0])
SOUTH = np.array([True, True, False])


def test_dispatch_arrivals_are_monotone_section_by_section():
    """Same generator seed (common random numbers), more planned places or a higher filled share: every section
    of every draw receives at least as many dispatched teachers."""
    n_draws = 64
    weights = np.random.default_rng(1).uniform(0.1, 20.0, (n_draws, COUNTY.size))
    bad = 0
    for share in (0.6, 0.9):
        previous = None
        for per_year in range(0, 400, 7):
            arrivals = dispatch_arrivals(per_year, 0.7, 0.3, np.full((n_draws, 1), share), SOUTH, COUNTY, LEVEL,
                                         weights, np.random.default_rng(5))
            if previous is not None:
                bad += int((arrivals < previous).any(axis=1).sum())
            previous = arrivals
    low = dispatch_arrivals(200, 0.7, 0.3, np.full((n_draws, 1), 0.6), SOUTH, COUNTY, LEVEL, weights,
                            np.random.default_rng(5))
    high = dispatch_arrivals(200, 0.7, 0.3, np.full((n_draws, 1), 0.9), SOUTH, COUNTY, LEVEL, weights,
                             np.random.default_rng(5))
    bad += int((high < low).any(axis=1).sum())
    assert bad == 0


def test_dispatch_attributes_are_monotone_in_the_arrivals():
    """More arrivals in a section never give fewer backbone or PE/art teachers there (each attribute its own
    numbers: a change of one does not move the other)."""
    rng = np.random.default_rng(2)
    arrivals = rng.integers(0, 40, (64, 9))
    more = arrivals + rng.integers(0, 3, arrivals.shape)
    low = dispatch_attributes(arrivals, 0.35, 0.08, np.random.default_rng(9))
    high = dispatch_attributes(more, 0.35, 0.08, np.random.default_rng(9))
    assert all((h >= lo).all() for h, lo in zip(high, low, strict=True))
    # a higher backbone share leaves the PE/art draws unchanged
    other = dispatch_attributes(arrivals, 0.45, 0.08, np.random.default_rng(9))
    np.testing.assert_array_equal(other[1], low[1])
    assert (other[0] >= low[0]).all()


# ---------------------------------------------------------------------------------------------------------
# multi-year dispatch terms (levers.dispatch.term_years: 3)



@pytest.fixture(scope="module")
def dispatch_runs_term3(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, np.ndarray]]:
    base = replace(load_scenario(_scenario(tmp_path_factory.mktemp("dispatch3"))),
                   {"levers.dispatch.term_years": 3})
    out = {}
    for per_year in DISPATCH_GRID:
        results, sections = _run_with_sections(replace(base, {"levers.dispatch.per_year": per_year}))
        out[per_year] = {**results, **sections}
    return out


@pytest.mark.parametrize("variable", ["dispatched_in_post", "teachers_counted", "staffing_norm_met_by_county",
                                      "staffing_norm_met", "teachers_counted_by_section"])
def test_more_dispatched_teachers_never_staff_a_draw_less_with_three_year_terms(dispatch_runs_term3, variable):
    """With three-year terms the dispatched teachers are in post through two recruitment seasons. They hold no
    post of the establishment, so the vacancies recruitment and redeployment fill are the posts no regular
    teacher holds (:func:`sim.steps.vacant_posts`) and the regular teachers do not depend on dispatch (next test);
    with the cell-keyed arrivals every section then has at least as many dispatched teachers, hence counted, on
    the same draw. Until 2026-12-07 vacancies subtracted the dispatched teachers counted for staffing: they
    displaced regular hires and, leaving at the end of their term, left a gap refilled at the fill rate (< 1), and
    the changed regular teachers moved the dispatch weights of another county and the age mix of rotation's
    movers; T5 by county fell on 2 of 64 draws (塔什库尔干, 2027) and teachers counted on 1 (``docs/findings.md``)."""
    values = [dispatch_runs_term3[x][variable] for x in DISPATCH_GRID]
    assert _violations(values) == (0, 0)


def test_regular_teachers_do_not_depend_on_dispatch_with_three_year_terms(dispatch_runs_term3):
    """The law behind the monotonicity above, tested directly where it used to fail: dispatched teachers in post
    during recruitment (three-year terms) change no hire, no redeployment and no move, so the regular teachers of
    every section, draw and year are the same whatever the lever (as with one-year terms, where recruitment never
    sees them). Failed before 2026-12-07 (vacancies counted the dispatched teachers)."""
    first = dispatch_runs_term3[DISPATCH_GRID[0]]["teachers_by_section"]
    for per_year in DISPATCH_GRID[1:]:
        np.testing.assert_array_equal(dispatch_runs_term3[per_year]["teachers_by_section"], first)


def test_the_three_year_grid_moves_t5(dispatch_runs_term3):
    """The term-3 grid is informative: T5 changes state in some county on some draws."""
    first = dispatch_runs_term3[DISPATCH_GRID[0]]["staffing_norm_met_by_county"]
    last = dispatch_runs_term3[DISPATCH_GRID[-1]]["staffing_norm_met_by_county"]
    assert (last > first).any()


def _attribute_state(seed: int, n_draws: int = 64, n_sections: int = 12):
    import types

    rng = np.random.default_rng(seed)
    before = rng.integers(5, 60, (n_draws, n_sections))
    state = types.SimpleNamespace(
        qualified=np.minimum(rng.integers(0, 60, before.shape), before),
        backbone=np.minimum(rng.integers(0, 20, before.shape), before),
        pe_art=np.minimum(rng.integers(0, 10, before.shape), before),
        special_post=np.minimum(rng.integers(0, 4, (*before.shape, 3)), before[..., None] // 3),
    )
    out = rng.binomial(before, 0.2)
    return before, out, state


@pytest.mark.parametrize("placed", [False, True])
def test_each_category_and_the_contracts_draw_from_their_own_stream(placed):
    """A change of one category's counts (more qualified teachers, as the development lever gives) leaves the
    movers of every other category and of the special-post contracts identical (each its own keyed stream,
    ``sim.steps._move_attributes``; until 2026-12-06 one pass drew all from one stream, so the hypergeometric
    draws of the qualified, whose number of uniforms depends on the counts, shifted the others'); and the
    qualified themselves do change (the test can fail)."""
    import copy
    import types

    from sim.rng import Streams
    from sim.steps import Random, _move_attributes

    before, out, low = _attribute_state(3)
    high = copy.deepcopy(low)
    high.qualified = np.minimum(low.qualified + 7, before)
    county = np.arange(before.shape[1]) // 4
    model = types.SimpleNamespace(sections=types.SimpleNamespace(county=county, n_counties=3))
    into = None
    if placed:  # the leavers of each county arrive in its sections, spread evenly
        into = np.zeros_like(out)
        for c in range(3):
            total = out[:, county == c].sum(axis=1)
            into[:, np.nonzero(county == c)[0][0]] = total
    for state in (low, high):
        _move_attributes(model if placed else None, state, before, out, Random(Streams(7), 0, 64, 2027),
                         "test.attributes", special=True, into=into)
    for attr in ("backbone", "pe_art", "special_post"):
        np.testing.assert_array_equal(getattr(high, attr), getattr(low, attr))
    assert not np.array_equal(high.qualified, low.qualified)


# ---------------------------------------------------------------------------------------------------------
# locality: dispatch to the south leaves a northern county's draws untouched


def test_dispatch_to_the_south_leaves_a_northern_county_bit_identical(tmp_path):
    """With every dispatched teacher of the lever sent south (``south_share: 1``), the north county 伊吾 (650522)
    receives none of them (only its recorded history's), so none of its numbers may move with the lever.

    Three of the model's laws tie counties together on purpose and are switched off here: the special-post,
    targeted-graduate and retraining totals are set for the region and shared among counties by vacancy
    (``sim.mechanisms.recruitment``: less vacancy in the south leaves more for the north), and the share of women
    by age band is one per draw for all sections (the mean-field of ``teachers.female_share_after_year``, fixed
    here by an all-women staff). What is left can only couple counties through the random numbers: on main
    (``a580a45``) 伊吾's teachers differed in 191 of 704 draw-years between no dispatch and 5,000 a year,
    because the kernels that place hires, move teachers (redeployment, rotation), remove them from age bands,
    carry their categories and draw rotation's pools used a number of uniforms that depended on the counts of
    every section before them."""
    extra = "  teachers.female_share: {dist: fixed, value: 1.0}\n"
    base = replace(load_scenario(_scenario(tmp_path, extra)), {
        "levers.dispatch.term_years": 3, "levers.dispatch.south_share": 1.0,
        "levers.recruitment.special_post_per_year": 0, "levers.recruitment.targeted_graduates_per_year": 0,
        "levers.recruitment.junior_retraining_per_year": 0})
    runs = {x: run(replace(base, {"levers.dispatch.per_year": x})) for x in (0, 5000, 15000)}
    more = runs[15000]["dispatched_in_post"].values - runs[0]["dispatched_in_post"].values
    assert (more > 0).any()  # the south does receive them (the north's are compared below: the same)
    compared = 0
    for name, variable in runs[0].data_vars.items():
        if "county" not in variable.dims:
            continue
        north = variable.sel(county=650522).values
        for per_year in (5000, 15000):
            other = runs[per_year][name].sel(county=650522).values
            np.testing.assert_array_equal(other, north, err_msg=f"{name} at {per_year} a year")
        compared += 1
    assert compared > 20
