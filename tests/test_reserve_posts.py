"""Special-post teachers on Xinjiang's reserve establishment (``levers.recruitment.special_post_post: reserve``).

Under 人才儲備編制 the region holds a post for each recruit during the 3-year contract (none of the county's), and
the recruits who stay bring it into the county's establishment at the contract's end (Tianshan Net 2009-05-27,
calibration/SEARCHES.md R1). Expected values are derived by hand from that rule; the engine-level check is an
identity (establishment after = before + converts), not a copy of the program's output.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.errors import InputErrors
from sim.hindcast import as_mapping_levers
from sim.mechanisms import teachers as tmech
from sim.model import initial_state, prepare, sample_parameters, section_total
from sim.rng import BLOCK_SIZE, Streams
from sim.scenario import load_scenario, replace
from sim.steps import (
    Random,
    _in_contract,
    establishment_after_conversion,
    special_post_brings_post,
    special_post_outside_establishment,
    steps_for,
    vacant_posts,
)

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden.yaml"


def test_reserve_converts_bring_their_post_and_leave_the_free_posts_free():
    # two sections after the year's exits; regular teachers include those in contract and the converts
    establishment = np.array([[10.0, 6.5]])
    regular = np.array([[12, 7]])
    in_contract = np.array([[2, 1]])
    converted = np.array([[2, 2]])
    # section 0: 12 − 2 − 2 = 8 hold posts, ceil(10) − 8 = 2 free; section 1: 7 − 1 − 2 = 4 hold, 7 − 4 = 3 free
    outside = establishment_after_conversion(establishment, regular, in_contract, converted)
    reserve = establishment_after_conversion(establishment, regular, in_contract, converted, own_post=True)
    # outside: the 2 converts fill the 2 free posts (no growth) and 2 of the 3 (no growth)
    np.testing.assert_array_equal(outside, [[10.0, 6.5]])
    # reserve: every convert brings a post: 10 + 2, 6.5 + 2
    np.testing.assert_array_equal(reserve, [[12.0, 8.5]])
    # the posts left for the other channels, holders = regular − in contract = 10 and 6
    holders = regular - in_contract
    np.testing.assert_array_equal(vacant_posts(outside, holders), [[0, 1]])  # 10 − 10, ceil(6.5) − 6
    np.testing.assert_array_equal(vacant_posts(reserve, holders), [[2, 3]])  # 12 − 10, ceil(8.5) − 6: as before


def test_a_reserve_hire_takes_no_post_of_the_county():
    # a section with 10 posts, 8 regular teachers holding them: 2 vacant. 3 special-post hires on reserve posts
    # join the teachers and the teachers in contract alike, so the county's vacancies stay 2 and its posts 10
    establishment, local, in_contract = np.array([[10.0]]), np.array([[8]]), np.array([[0]])
    before = vacant_posts(establishment, local - in_contract)
    hires = np.array([[3]])
    after = vacant_posts(establishment, (local + hires) - (in_contract + hires))
    np.testing.assert_array_equal(before, [[2]])
    np.testing.assert_array_equal(after, [[2]])


def _golden_with(post: str) -> Any:
    scenario = load_scenario(GOLDEN)
    levers = as_mapping_levers(scenario.levers)
    levers["recruitment"].update({"special_post_post": post, "from_year": scenario.start_year})
    return replace(scenario, {"levers": levers})


def test_the_lever_reads_reserve_as_outside_during_the_contract_and_own_post_at_its_end():
    for post, outside, own in (("outside", True, False), ("reserve", True, True), ("in_establishment", False, False)):
        model = prepare(_golden_with(post))
        year = model.scenario.start_year + 1
        assert special_post_outside_establishment(model, year) is outside
        assert special_post_brings_post(model, year) is own


def test_in_the_cohort_engine_the_establishment_grows_by_exactly_the_converts(monkeypatch):
    """Golden scenario with reserve posts from 2020: across each year's exits step (no verification inside it),
    the establishment of every section grows by the special-post teachers converted there, and by nothing else."""
    converted: list[np.ndarray] = []
    original = tmech.special_post_contract_end

    def spy(*args: Any, **kwargs: Any) -> Any:
        flows = original(*args, **kwargs)
        converted.append(np.asarray(flows.converted_to_regular))
        return flows

    monkeypatch.setattr(tmech, "special_post_contract_end", spy)
    scenario = _golden_with("reserve")
    model = prepare(scenario)
    streams = Streams(scenario.seed)
    params = sample_parameters(scenario, streams, 0, BLOCK_SIZE)
    st = initial_state(model, BLOCK_SIZE, params["teachers.female_share"])
    total_converted = 0
    for year in range(scenario.start_year, scenario.start_year + 4):
        for step in steps_for("cohort"):
            if not step.acts(scenario, year):
                continue
            before = st.section_quota.copy()
            converted.clear()
            step.function(model, st, params, Random(streams, 0, BLOCK_SIZE, year), year)
            if step.name == "teacher_exits":
                assert len(converted) == 1
                np.testing.assert_allclose(st.section_quota, before + converted[0], rtol=0, atol=1e-9)
                total_converted += int(converted[0].sum())
            if step.name == "recruitment":  # a hire takes no post and makes none
                np.testing.assert_array_equal(st.section_quota, before)
    assert total_converted > 0  # the check above was exercised
    assert (_in_contract(st) <= section_total(st.teachers)).all()


def test_the_removed_bool_is_refused_with_the_new_spelling(tmp_path: Path):
    path = tmp_path / "old.yaml"
    path.write_text(textwrap.dedent("""
        name: old
        levers:
          recruitment: {special_post_in_establishment: false}
        """).lstrip("\n"), encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        load_scenario(path)
    (error,) = info.value.errors
    text = str(error)
    assert "old.yaml:3" in text and "levers.recruitment" in text
    assert "special_post_post: outside" in text and "special_post_post: in_establishment" in text


def test_an_unknown_post_names_the_choices(tmp_path: Path):
    path = tmp_path / "typo.yaml"
    path.write_text("name: typo\nlevers:\n  recruitment: {special_post_post: reserved}\n", encoding="utf-8")
    with pytest.raises(InputErrors, match="special_post_post: must be one of outside, in_establishment, reserve"):
        load_scenario(path)
