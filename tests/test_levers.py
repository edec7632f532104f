"""sim.levers: the one parser of lever keys (``KEY=LO:HI[:N]``, ``LO:HI``) and the one rule for integer levers,
used by sweep, sensitivity and solve. Expected values are read off the scenario schema (sim/scenario.py) by hand."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scenario_files import write_small

from sim.errors import InputError, InputErrors
from sim.levers import (
    DISTRIBUTION_KEYS,
    LeverInfo,
    LeverRange,
    check_values,
    check_whole,
    grid_values,
    key_parts,
    lever_info,
    lever_value,
    parse_lever,
    parse_range,
)
from sim.scenario import load_scenario, replace

DISPATCH = "levers.dispatch.per_year"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    return load_scenario(write_small(tmp_path_factory.mktemp("levers")))


# ---------------------------------------------------------------------------------------------------------
# Parsing


def test_parse_lever() -> None:
    assert parse_lever("levers.rotation.share=0:0.5:6") == ("levers.rotation.share", 0.0, 0.5, 6)
    assert parse_lever("levers.rotation.share=0:0.5:6").points == 6
    assert parse_lever("levers.funding.capital_cny=1e9:5e9:3") == ("levers.funding.capital_cny", 1e9, 5e9, 3)
    assert parse_lever("uncertainties.births.trend_per_year.mean=-0.05:0:2")[1:] == (-0.05, 0.0, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("levers.rotation.share", "expected KEY=LO:HI:N"),
        ("=0:1:3", "expected KEY=LO:HI:N"),
        ("levers.rotation.share=0:1", "expected LO:HI:N after '='"),
        ("levers.rotation.share=a:1:3", "LO must be a number, got 'a'"),
        ("levers.rotation.share=0:inf:3", "HI must be a number"),
        ("levers.rotation.share=0:1:2.5", "N (number of grid points) must be a whole number"),
        ("levers.rotation.share=0:1:1", "N (number of grid points) must be in [2, 200], got 1"),
        ("levers.rotation.share=0:1:100000", "N (number of grid points) must be in [2, 200], got 100000"),
        ("levers.rotation.share=1:0:3", "LO must be below HI"),
    ],
)
def test_parse_lever_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_lever(text)


def test_parse_range() -> None:
    assert parse_range("0:5000") == (0.0, 5000.0)
    assert parse_range("-1.5:2e3") == (-1.5, 2000.0)
    for bad, message in [("0", "expected LO:HI"), ("0:1:2", "expected LO:HI"), ("x:1", "LO must be a number"),
                         ("2:1", "LO must be below HI")]:
        with pytest.raises(InputError, match=message) as info:
            parse_range(bad)
        assert info.value.key == "--range"


# ---------------------------------------------------------------------------------------------------------
# Lever kinds


def test_lever_info_kinds_and_units(small) -> None:
    share = lever_info(small, "levers.rotation.share")
    assert (share.value, share.integer, share.units) == (0.10, False, "share (0–1)")
    dispatch = lever_info(small, DISPATCH)
    assert (dispatch.value, dispatch.integer, dispatch.units) == (5000, True, "persons/yr")
    assert dispatch.format(2500) == "2,500 persons/yr"
    capital = lever_info(small, "levers.funding.capital_cny")
    assert (capital.units, capital.integer) == ("CNY/yr", False)
    # the field is a float: written as a whole number in the file, it is still swept continuously
    assert not lever_info(replace(small, {"levers.funding.capital_cny": 3_500_000_000}),
                          "levers.funding.capital_cny").integer
    assert lever_info(small, "levers.rotation.min_years_at_school").integer
    assert lever_info(small, "levers.retention.rural_subsidy_cny_month").units == "CNY/teacher/month"
    births = lever_info(small, "uncertainties.births.trend_per_year.mean")
    assert births.value == pytest.approx(-0.03) and not births.integer


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("levers.rotation.shre", "unknown key 'shre'; did you mean 'share'?"),
        ("levers.rotaton.share", "unknown key 'rotaton'; did you mean 'rotation'?"),
        ("draws", "not a lever: only keys under levers or uncertainties"),
        ("levers.pairing.coverage_by_year", "not a single number but a per-year schedule"),
        ("levers.rotation", "not a single number but a group; one of its keys: levers.rotation.share"),
        ("uncertainties.births.trend_per_year", "uncertainties.births.trend_per_year.mean"),
        ("levers.recruitment.open_recruitment", "a switch (true/false), not a number"),
        ("levers.rotation.direction", "a choice ('rural_and_weak'), not a number"),
        ("levers.dispatch.counts_toward", "not a single number but a list"),
        ("levers.rotation.share.x", "'levers.rotation.share' is a single value, it has no key 'x'"),
    ],
)
def test_lever_info_errors_name_the_key(small, key: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        lever_info(small, key)
    assert info.value.key == key and message in info.value.message


def test_grid_values() -> None:
    integer = LeverInfo("k", 0, True, "persons/yr", "")
    # linspace(0, 10, 4) = 0, 3.33, 6.67, 10 → rounded to the nearest whole number
    assert grid_values(integer, 0, 10, 4).tolist() == [0, 3, 7, 10]
    assert grid_values(integer, 0, 3, 4).tolist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match="5 grid points asked but only 4 whole numbers"):
        grid_values(integer, 0, 3, 5)
    with pytest.raises(InputError, match=re.escape("an integer lever needs a whole-number range (whole-number LO and "
                                                   "HI), got 0:3.5")):
        grid_values(integer, 0, 3.5, 2)
    assert grid_values(LeverInfo("k", 0, False, "", ""), 0, 0.5, 6).tolist() == pytest.approx(
        [0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_parse_lever_without_points_for_sensitivity() -> None:
    assert parse_lever("levers.rotation.share=0.05:0.3", points=False) == LeverRange(
        "levers.rotation.share", 0.05, 0.3, None)
    assert parse_lever(" levers.dispatch.per_year = -1e3:+2E3", points=False)[1:3] == (-1000.0, 2000.0)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("levers.rotation.share", "--lever", "expected KEY=LO:HI (e.g. levers.rotation.share=0.05:0.30)"),
        ("levers.rotation.share=0:1:3", "levers.rotation.share", "expected LO:HI after '='"),
        ("levers.rotation.share=nan:1", "levers.rotation.share", "LO must be a number, got 'nan'"),
        ("levers.rotation.share=0:1_000", "levers.rotation.share", "HI must be a number, got '1_000'"),
        ("levers.rotation.share=0.3:0.3", "levers.rotation.share", "LO must be below HI, got 0.3:0.3"),
    ],
)
def test_parse_lever_without_points_errors_name_the_key(text: str, key: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_lever(text, points=False)
    assert info.value.key == key and message in info.value.message


def test_unknown_key_lists_the_valid_ones(small) -> None:
    # the fields of RotationLever in sim/scenario.py, sorted
    with pytest.raises(InputError) as info:
        lever_info(small, "levers.rotation.shre")
    assert info.value.message == ("unknown key 'shre'; did you mean 'share'? valid: backbone_share, direction, "
                                  "exclude_rotated_within_years, from_year, min_years_at_school, placement, share, "
                                  "term_years")


def test_sections_restrict_the_keys(small) -> None:
    assert lever_info(small, "uncertainties.births.trend_per_year.mean").key.startswith("uncertainties.")
    with pytest.raises(InputError, match="only keys under levers can be varied"):
        lever_info(small, "uncertainties.births.trend_per_year.mean", sections=("levers",))


def test_one_integer_rule_from_the_schema(small) -> None:
    # int fields in the schema: per_year (Count), term_years, min_years_at_school, from_year (Year)
    for key in (DISPATCH, "levers.dispatch.term_years", "levers.rotation.min_years_at_school",
                "levers.rotation.from_year", "levers.recruitment.special_post_per_year"):
        assert lever_info(small, key).integer, key
    # float fields stay continuous even when the file writes a whole number
    whole = replace(small, {"levers.funding.capital_cny": 3_500_000_000})
    assert isinstance(whole.levers.funding.capital_cny, int | float)
    for key in ("levers.funding.capital_cny", "levers.rotation.share", "levers.retention.rural_subsidy_cny_month"):
        assert not lever_info(whole, key).integer, key


def test_lever_value_and_check_whole() -> None:
    integer = LeverInfo(DISPATCH, 5000, True, "persons/yr", "")
    continuous = LeverInfo("levers.rotation.share", 0.1, False, "share (0–1)", "")
    assert lever_value(integer, 2.6) == 3 and type(lever_value(integer, 2.0)) is int
    assert lever_value(continuous, 1) == 1.0 and type(lever_value(continuous, 1)) is float
    check_whole(integer, 0, 60)
    check_whole(continuous, 0.05, 0.3)
    with pytest.raises(InputError) as info:
        check_whole(integer, 0, 2.5)
    assert info.value.key == DISPATCH
    with pytest.raises(InputError) as info:
        check_whole(integer, 0.5, 3, option="--range")
    assert info.value.key == "--range" and "got 0.5:3" in info.value.message


def test_check_values_uses_the_scenario_validation(small) -> None:
    share = lever_info(small, "levers.rotation.share")
    check_values(small, share, [0.0, 0.5, 1.0])
    with pytest.raises(InputErrors) as info:
        check_values(small, share, [0.5, 1.5])
    assert info.value.errors[0].key == "levers.rotation.share" and "got 1.5" in info.value.errors[0].message


def test_key_parts_reads_uncertainty_names_with_dots() -> None:
    assert key_parts("levers.rotation.share") == ["levers", "rotation", "share"]
    assert key_parts("uncertainties.attrition.rural_rate.mean") == ["uncertainties", "attrition.rural_rate", "mean"]
    assert key_parts("uncertainties.attrition.rural_rate") == ["uncertainties", "attrition.rural_rate"]


def test_distribution_keys_match_what_replace_reads() -> None:
    from sim import scenario

    # every parameter name of every distribution in sim/distributions.py, written out by hand
    assert DISTRIBUTION_KEYS == {"dist", "mean", "sd", "median", "sigma", "low", "high", "mode", "value"}
    assert DISTRIBUTION_KEYS == scenario.DIST_KEYS


def test_grid_values_are_numpy_arrays() -> None:
    values = grid_values(LeverInfo(DISPATCH, 0, True, "persons/yr", ""), 0, 60, 4)
    assert values.dtype == np.int64 and values.tolist() == [0, 20, 40, 60]
