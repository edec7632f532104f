"""Programme delivery (issue 16 item 1): hand-derived cases of :mod:`sim.mechanisms.programmes` and the engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms import programmes as pm


def delivered_over(years: int, per_year: float, ratio: float) -> list[int]:
    planned, out = np.zeros(1), []
    for _ in range(years):
        started = pm.started_units(planned, np.array([per_year]), np.array([ratio]))
        planned += per_year
        out.append(int(started[0]))
    return out


def test_a_programme_with_nothing_planned_delivers_nothing():
    assert delivered_over(10, 0.0, 1.0) == [0] * 10


def test_a_ratio_of_zero_delivers_nothing_and_one_delivers_the_plan():
    assert delivered_over(5, 3.0, 0.0) == [0] * 5
    assert delivered_over(5, 3.0, 1.0) == [3] * 5


def test_half_of_one_unit_a_year_is_one_unit_every_second_year():
    # cumulative planned 1, 2, 3, 4 × 0.5 = 0.5, 1, 1.5, 2: floors 0, 1, 1, 2
    assert delivered_over(4, 1.0, 0.5) == [0, 1, 0, 1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=15), st.floats(0.0, 1.0))
def test_units_started_over_the_years_are_the_floor_of_the_total_planned_times_the_ratio(plan, ratio):
    planned, total = np.zeros(1), 0
    for units in plan:
        total += int(pm.started_units(planned, np.array([float(units)]), np.array([ratio]))[0])
        planned += units
    assert total == int(np.floor(sum(plan) * ratio + 1e-9))


def test_the_pipeline_delivers_after_the_lead_time_and_loses_nothing():
    pipe = np.zeros((2, pm.MAX_LEAD_YEARS + 1), dtype=np.int64)
    lead = np.array([0, 2])
    arrivals = []
    for started in ([4, 4], [1, 1], [0, 0], [0, 0]):
        arrived, pipe = pm.advance_pipeline(pipe, np.array(started), lead)
        arrivals.append(arrived.tolist())
    # draw 0 (lead 0): in use the year they start; draw 1 (lead 2): two years later
    assert [a[0] for a in arrivals] == [4, 1, 0, 0]
    assert [a[1] for a in arrivals] == [0, 0, 4, 1]
    assert pipe.sum() == 0


def test_lead_times_beyond_the_pipeline_are_refused():
    with pytest.raises(ValueError, match="lead"):
        pm.lead_in_years(np.array([pm.MAX_LEAD_YEARS + 1.0]))
    with pytest.raises(ValueError, match="delivery_ratio"):
        pm.started_units(np.zeros(1), np.ones(1), np.array([1.5]))


def test_pairing_capacity_binds_exactly_where_the_town_schools_run_out():
    rural = np.array([10, 5, 0])
    town = np.array([2, 2, 3])
    # 2 town schools × 3 rural each = 6 < 10 rural schools; 5 fit; a county with no rural school needs none
    needed = pm.paired_needed(1.0, rural, town, np.array([3.0]))
    assert needed.tolist() == [[6, 5, 0]]
    # the schedule binds before the capacity: half of 5 rural schools, rounded up
    assert pm.paired_needed(0.5, rural, town, np.array([20.0])).tolist() == [[5, 3, 0]]
    # a county with no town school pairs nothing
    assert pm.paired_needed(1.0, np.array([4]), np.array([0]), np.array([6.0])).tolist() == [[0]]


# --- in the engine: the facilities step on the golden scenario (three counties) ------------------------------------

def facilities_years(ratio: float, lead: float, k: float, years: int = 8):
    from pathlib import Path

    from sim.model import initial_state, prepare, sample_parameters
    from sim.rng import Streams
    from sim.scenario import load_scenario
    from sim.steps import Random, step_facilities

    scenario = load_scenario(Path(__file__).parent / "data" / "golden.yaml")
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    params = sample_parameters(scenario, streams, 0, 4)
    for name in pm.PROGRAMMES:
        params[f"programmes.{name}_delivery_ratio"] = np.full(4, ratio)
        params[f"programmes.{name}_lead_years"] = np.full(4, lead)
    params["programmes.pairing_rural_per_town_school"] = np.full(4, k)
    st = initial_state(model, 4, params["teachers.female_share"])
    history = [(st.special_schools.copy(), st.gigabit.sum(axis=1), st.counselling_room.sum(axis=1), st.paired.copy())]
    for year in range(scenario.start_year, scenario.start_year + years):
        step_facilities(model, st, params, Random(streams, 0, 4, year), year)
        history.append((st.special_schools.copy(), st.gigabit.sum(axis=1), st.counselling_room.sum(axis=1),
                        st.paired.copy()))
    return model, st, history


def test_in_the_engine_a_ratio_of_zero_builds_no_school_room_or_connection():
    _, _, history = facilities_years(0.0, 0.0, 20.0)
    special, gigabit, counselling, _ = history[-1]
    start = history[0]
    assert np.array_equal(special, start[0])
    assert np.array_equal(gigabit, start[1]) and np.array_equal(counselling, start[2])
    _, _, built = facilities_years(1.0, 0.0, 20.0)
    assert np.all(built[-1][1] > start[1]), "with the plan delivered, gigabit connections must grow"


def test_in_the_engine_a_lead_time_delays_the_build_by_exactly_that_many_years():
    _, _, prompt = facilities_years(1.0, 0.0, 20.0)
    _, _, late = facilities_years(1.0, 2.0, 20.0)
    # with a lead of 2 years the stock after year t+2 is the prompt stock after year t (the same plan each year)
    assert np.array_equal(late[2][1], prompt[0][1])  # nothing arrives in the first two years
    for t in range(len(prompt) - 2):
        assert np.array_equal(late[t + 2][1], prompt[t][1])
        assert np.array_equal(late[t + 2][0], prompt[t][0])


def test_in_the_engine_no_county_pairs_more_rural_schools_than_its_town_schools_can_support():
    model, _, history = facilities_years(1.0, 0.0, 1.0)
    s = model.sections
    town = np.bincount(s.county[~model.rural], minlength=s.n_counties)
    rural = np.bincount(s.county[model.rural], minlength=s.n_counties)
    assert np.any(rural > town), "the golden counties should have more rural than town sections for this test"
    # one rural school per town school (k = 1): the min(rural, town) first-ranked rural sections of each county
    # are paired, plus the pairs of the start year, which are kept
    top = model.rural_rank < np.minimum(rural, town)[s.county]
    assert np.array_equal(history[-1][3], history[0][3] | top[None, :])


# --- T8b: enrolment of children with disabilities (places, home delivery, resource rooms) --------------------------

def test_the_start_year_places_and_home_reach_give_back_the_start_rate():
    # rate 0.95, a fifth of the enrolled taught at home: placed = 0.95 × 0.8 = 0.76 of the children; the other
    # 0.24 are reached at 0.19 / 0.24 (so that home delivery is 0.19 = 0.2 × 0.95 of them)
    rate, home = np.array([0.95]), np.array([0.2])
    places = pm.start_school_places(rate, home, np.array([[1000.0]]))
    assert np.allclose(places, [[760.0]])
    reach = pm.home_reach(rate, home)
    assert np.allclose(reach, [0.19 / 0.24])
    assert np.allclose(pm.disabled_enrolled(np.array([[1000.0]]), places, reach), [[950.0]])


def test_disabled_places_bind_exactly_below_the_number_of_children():
    children = np.array([[100.0, 100.0, 100.0, 0.0]])
    places = np.array([[80.0, 100.0, 130.0, 50.0]])
    # 80 placed + half of the 20 others at home; every child placed; spare places enrol nobody; no children
    assert pm.disabled_enrolled(children, places, np.array([0.5])).tolist() == [[90.0, 100.0, 100.0, 0.0]]
    # without home delivery the places are the enrolment, up to the children
    assert pm.disabled_enrolled(children, places, np.array([0.0])).tolist() == [[80.0, 100.0, 100.0, 0.0]]


def test_everyone_placed_or_no_one_at_home_is_a_reach_of_one_or_zero():
    assert pm.home_reach(np.array([1.0]), np.array([0.0])).tolist() == [1.0]
    assert pm.home_reach(np.array([0.9]), np.array([0.0])).tolist() == [0.0]


def test_resource_rooms_spread_by_weight_keep_their_total():
    spread = pm.spread_by_weight(np.array([10.0, 0.0]), np.array([1.0, 3.0, 0.0]))
    assert spread.tolist() == [[2.5, 7.5, 0.0], [0.0, 0.0, 0.0]]
    assert pm.spread_by_weight(np.array([4.0]), np.zeros(2)).tolist() == [[0.0, 0.0]]


def disabled_years(rooms_per_year: int, ratio: float, years: int = 6, per_school: float = 0.0,
                   per_room: float = 10.0):
    """T8b in the engine on the golden counties: (children, enrolled) by year after the facilities step."""
    from pathlib import Path

    from sim.model import initial_state, prepare, sample_parameters, section_total
    from sim.rng import Streams
    from sim.scenario import load_scenario, replace
    from sim.steps import Random, _disabled_enrolment, step_facilities

    scenario = replace(load_scenario(Path(__file__).parent / "data" / "golden.yaml"),
                       {"levers.special_education.resource_rooms_per_year": rooms_per_year})
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    params = sample_parameters(scenario, streams, 0, 4)
    params["programmes.resource_rooms_delivery_ratio"] = np.full(4, ratio)
    params["programmes.resource_rooms_lead_years"] = np.zeros(4)
    params["disability.places_per_special_school"] = np.full(4, per_school)
    params["disability.places_per_resource_room"] = np.full(4, per_room)
    st = initial_state(model, 4, params["teachers.female_share"])
    out = [_disabled_enrolment(model, st, params, section_total(st.students))]
    for year in range(scenario.start_year, scenario.start_year + years):
        step_facilities(model, st, params, Random(streams, 0, 4, year), year)
        out.append(_disabled_enrolment(model, st, params, section_total(st.students)))
    return model, st, params, out


def test_in_the_engine_the_start_year_rate_is_the_drawn_start_rate():
    _, _, params, out = disabled_years(0, 1.0, years=0)
    rate = out[0]["disabled_enrolled"].sum(axis=1) / out[0]["disabled_children"].sum(axis=1)
    assert np.allclose(rate, params["disability.start_enrolment_rate"], rtol=1e-12)


def test_in_the_engine_resource_rooms_with_no_budget_or_a_ratio_of_zero_enrol_no_one_more():
    # pupils are held at the start (the facilities step does not move them), so only places can change the rate
    _, st0, _, none = disabled_years(0, 1.0)
    _, st1, _, undelivered = disabled_years(300, 0.0)
    _, st2, _, delivered = disabled_years(300, 1.0)
    assert float(st0.resource_rooms.sum()) == 0.0 and float(st1.resource_rooms.sum()) == 0.0
    assert np.array_equal(none[-1]["disabled_enrolled"], undelivered[-1]["disabled_enrolled"])
    assert float(st2.resource_rooms.sum()) > 0.0
    assert np.all(delivered[-1]["disabled_enrolled"].sum(axis=1) > none[-1]["disabled_enrolled"].sum(axis=1))


def test_in_the_engine_each_delivered_room_adds_its_places_until_the_children_run_out():
    _, st, params, out = disabled_years(300, 1.0, years=1, per_room=10.0)
    before, after = out[0], out[1]
    rooms = st.resource_rooms  # (D, C), spread by start pupils
    reach = pm.home_reach(params["disability.start_enrolment_rate"], params["disability.home_share"])
    # a room's 10 places enrol 10 children of whom reach × 10 were enrolled at home before: (1 − reach) × 10 more,
    # unless the county's children are all placed (then the gain stops at the children)
    gain = after["disabled_enrolled"] - before["disabled_enrolled"]
    unplaced = (before["disabled_children"] - pm.start_school_places(
        params["disability.start_enrolment_rate"], params["disability.home_share"], before["disabled_children"]))
    expected = (1.0 - reach)[:, None] * np.minimum(rooms * 10.0, unplaced)
    assert np.allclose(gain, expected, rtol=1e-9, atol=1e-9)
