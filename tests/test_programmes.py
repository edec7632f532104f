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
