"""Uncertainty specifications: parameter checks, closed-form moments, inverse-CDF sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.distributions import (
    Beta,
    Fixed,
    Lognormal,
    Normal,
    Triangular,
    TruncatedNormal,
    Uniform,
    parse_distribution,
    sample,
    support,
    to_scipy,
)
from sim.errors import InputErrors
from sim.parameters import PARAMETERS, markdown_table, support_problem


def test_beta_moments_match_mean_and_sd() -> None:
    spec = Beta(mean=0.05, sd=0.015)
    a, b = spec.shape
    # method of moments by hand: k = 0.05*0.95/0.015^2 - 1 = 210.111..., a = 0.05 k, b = 0.95 k
    k = 0.05 * 0.95 / 0.015**2 - 1
    assert a == pytest.approx(0.05 * k) and b == pytest.approx(0.95 * k)
    dist = to_scipy(spec)
    assert dist.mean() == pytest.approx(0.05) and dist.std() == pytest.approx(0.015)


@pytest.mark.parametrize(
    ("spec", "mean"),
    [
        (Normal(mean=-0.03, sd=0.02), -0.03),
        (Uniform(low=0.05, high=0.30), 0.175),
        (Triangular(low=2500, mode=3500, high=5000), (2500 + 3500 + 5000) / 3),
        (Lognormal(median=2.0, sigma=0.5), 2.0 * math.exp(0.5**2 / 2)),
        (TruncatedNormal(mean=0.0, sd=1.0, low=-1.0, high=1.0), 0.0),
    ],
)
def test_closed_form_means(spec: object, mean: float) -> None:
    assert to_scipy(spec).mean() == pytest.approx(mean)  # type: ignore[arg-type]


def test_sample_is_inverse_cdf_and_monotone() -> None:
    u = np.linspace(0.0, 1.0, 101)
    for name, parameter in PARAMETERS.items():
        values = sample(parameter.default, u)
        assert values.shape == u.shape and np.isfinite(values).all(), name
        assert (np.diff(values) >= 0).all(), name
        low, high = support(parameter.default)
        assert (values >= low).all() and (values <= high).all(), name
    uniform = sample(Uniform(low=2.0, high=4.0), np.array([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(uniform, [2.0, 2.5, 4.0])
    assert sample(Normal(mean=1.0, sd=2.0), np.array([0.5]))[0] == pytest.approx(1.0)
    np.testing.assert_array_equal(sample(Fixed(value=1), np.array([[0.1, 0.9]])), [[1.0, 1.0]])


def test_sample_rejects_values_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sample(Normal(mean=0, sd=1), np.array([1.5]))


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"dist": "normal", "mean": 0, "sd": 0}, "u.x", "sd must be > 0, got 0"),
        ({"dist": "normal", "mean": 0, "sd": -1}, "u.x", "sd must be > 0"),
        ({"dist": "beta", "mean": 1.2, "sd": 0.1}, "u.x", "beta mean must be in (0, 1), got 1.2"),
        ({"dist": "beta", "mean": 0.1, "sd": 0.35}, "u.x", "sd must be < sqrt(mean (1 − mean)) = 0.3"),
        ({"dist": "uniform", "low": 2, "high": 1}, "u.x", "low must be < high"),
        ({"dist": "triangular", "low": 0, "mode": 2, "high": 1}, "u.x", "mode must be in [low, high]"),
        ({"dist": "lognormal", "median": -1, "sigma": 0.2}, "u.x", "median must be > 0"),
        ({"dist": "truncated_normal", "mean": 0, "sd": 1, "low": 50, "high": 60}, "u.x", "too far from mean"),
        ({"dist": "gamma", "mean": 1}, "u.x.dist", "unknown distribution 'gamma'"),
        ({"dist": "beta", "mean": 0.5, "sdd": 0.1}, "u.x.sdd", "did you mean 'sd'?"),
        ({"dist": "normal", "mean": "high", "sd": 1}, "u.x.mean", "got 'high'"),
        ({"mean": 1}, "u.x", "missing 'dist'"),
    ],
)
def test_impossible_parameters_are_input_errors(raw: dict[str, object], key: str, fragment: str) -> None:
    with pytest.raises(InputErrors) as info:
        parse_distribution(raw, key="u.x", file="s.yaml")
    keys = [e.key for e in info.value.errors]
    assert key in keys
    assert any(fragment in e.message for e in info.value.errors), [e.message for e in info.value.errors]
    assert all(e.file == "s.yaml" for e in info.value.errors)


def test_support_check_against_parameter_bounds() -> None:
    rate = PARAMETERS["attrition.rural_rate"]
    assert support_problem(rate, Beta(mean=0.05, sd=0.01)) is None
    assert support_problem(rate, TruncatedNormal(mean=0.05, sd=0.02, low=0, high=1)) is None
    why = support_problem(rate, Normal(mean=0.05, sd=0.02))
    assert why is not None and "truncated_normal" in why and "beta" in why
    cost = PARAMETERS["facilities.floor_cost_cny_per_m2"]
    why = support_problem(cost, Uniform(low=-10, high=10))
    assert why is not None and "lognormal" in why


def test_every_default_lies_within_its_bounds_and_has_a_source() -> None:
    for p in PARAMETERS.values():
        assert support_problem(p, p.default) is None, p.name
        assert p.source and p.units and p.description, p.name


def test_markdown_table_lists_every_parameter_and_marks_overrides() -> None:
    table = markdown_table({"attrition.rural_rate": Beta(mean=0.07, sd=0.02)})
    for name in PARAMETERS:
        assert f"`{name}`" in table
    assert "`beta(mean=0.07, sd=0.02)` (scenario)" in table


@pytest.mark.parametrize("sd", [1e-300, 1e-200, 1e-9])
def test_beta_with_vanishing_sd_is_an_input_error_not_a_zero_division(sd: float) -> None:
    # sd² = 1e-600 underflows to 0: the method of moments divided by it (ZeroDivisionError at run time)
    with pytest.raises(InputErrors) as info:
        parse_distribution({"dist": "beta", "mean": 0.05, "sd": sd}, key="u.x", file="s.yaml")
    assert "too small for a beta" in info.value.errors[0].message and info.value.errors[0].file == "s.yaml"


def test_beta_just_above_the_sd_floor_samples_finite_values() -> None:
    spec = parse_distribution({"dist": "beta", "mean": 0.5, "sd": 1e-5}, key="u.x")
    values = sample(spec, np.array([0.0, 0.5, 1.0]))
    assert np.all(np.isfinite(values)) and values[0] < 0.5 < values[2]
