"""The vocabulary (sim/vocabulary.py): codes are positions, and every module and the scenario schema use it."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from sim import vocabulary as v
from sim.mechanisms import assessment, dispatch, facilities, rotation
from sim.scenario import AssessmentLever, FundingLever, Levers, RotationLever

SIM = Path(__file__).resolve().parents[1] / "sim"


def test_codes_are_positions_in_the_names():
    assert (v.LOCATIONS[v.URBAN], v.LOCATIONS[v.TOWN], v.LOCATIONS[v.RURAL]) == ("urban", "town", "rural")
    assert (v.LEVELS[v.PRIMARY], v.LEVELS[v.JUNIOR]) == ("primary", "junior")
    assert v.N_LOCATIONS == 3 and v.N_LEVELS == 2 and v.N_INDICATORS == 7
    assert [v.INDICATORS[i] for i in v.FACILITY_INDICATORS] == [
        "floor_area_m2_per_student", "sports_area_m2_per_student", "equipment_cny_per_student",
        "multimedia_rooms_per_100"]
    assert v.SCHOOL_LEVELS == ("primary", "junior", "nine_year")


@pytest.mark.parametrize(("model", "field", "names"), [
    (FundingLever, "allocation", v.ALLOCATION_RULES),
    (RotationLever, "direction", v.PLACEMENT_DIRECTIONS),
    (AssessmentLever, "quality_school", v.QUALITY_SCHOOL_DEFINITIONS),
])
def test_scenario_schema_allows_exactly_the_vocabulary(model, field, names):
    annotation = model.model_fields[field].annotation
    assert typing.get_args(annotation) == names


def test_mechanisms_use_the_same_names():
    assert facilities.ALLOCATION_RULES is v.ALLOCATION_RULES
    assert rotation.DIRECTIONS is v.PLACEMENT_DIRECTIONS
    assert assessment.INDICATORS is v.INDICATORS and assessment.GUARANTEE_RULES is v.GUARANTEE_RULES
    assert dispatch.INDICATORS is v.INDICATOR_GROUPS
    assert set(Levers().assessment.dispatched_count_toward) <= set(v.INDICATOR_GROUPS)


def test_no_module_defines_category_codes_or_compares_with_a_bare_code():
    pattern = re.compile(r"(location|level)\s*[!=]=\s*\d|^\s*(URBAN|TOWN|RURAL|PRIMARY|JUNIOR)\s*[,=]", re.M)
    offenders = [str(p.relative_to(SIM)) for p in SIM.rglob("*.py")
                 if p.name != "vocabulary.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
