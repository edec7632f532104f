"""The registry of uncertain parameters (sim/parameters.py): lookup, bounds, the table."""

from __future__ import annotations

import pytest

from sim.distributions import Beta, Normal
from sim.errors import InputError
from sim.parameters import PARAMETERS, get_parameter, markdown_table, support_problem


def test_every_parameter_has_units_source_and_a_default_inside_its_bounds():
    assert len(PARAMETERS) > 20
    for name, p in PARAMETERS.items():
        assert p.name == name and "." in name
        assert p.units and p.description and p.source
        assert p.lower <= p.upper
        assert support_problem(p, p.default) is None, name


def test_unknown_name_is_an_input_error_with_a_suggestion():
    assert get_parameter("attrition.rural_rate").name == "attrition.rural_rate"
    with pytest.raises(InputError) as info:
        get_parameter("attrition.rurl_rate", file="s.yaml", line=4)
    assert "did you mean 'attrition.rural_rate'" in str(info.value)
    assert str(info.value).startswith("s.yaml:4: uncertainties.attrition.rurl_rate:")


def test_a_distribution_leaving_the_bounds_is_explained():
    share = PARAMETERS["attrition.rural_rate"]
    assert (share.lower, share.upper) == (0.0, 1.0)
    assert support_problem(share, Beta(mean=0.05, sd=0.01)) is None
    problem = support_problem(share, Normal(mean=0.05, sd=0.01))
    assert problem is not None and "or beta" in problem and "[0, 1]" in problem


def test_table_lists_every_parameter():
    table = markdown_table()
    for name in PARAMETERS:
        assert f"`{name}`" in table
