"""The registry of uncertain parameters (sim/parameters.py): lookup, bounds, the table; the values the engines
will draw are checked, not only the distribution's type."""

from __future__ import annotations

import pytest

from sim.distributions import Beta, Fixed, Lognormal, Normal, Triangular, Uniform
from sim.errors import InputError
from sim.parameters import PARAMETERS, get_parameter, markdown_table, sample_problem, support_problem


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


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_default_is_usable(name: str) -> None:
    p = PARAMETERS[name]
    assert support_problem(p, p.default) is None and sample_problem(p, p.default) is None


@pytest.mark.parametrize(
    ("name", "spec", "fragment"),
    [
        ("births.trend_per_year", Fixed(value=700), "usable range [-0.25, 0.25]"),  # 'lam value too large'
        ("births.trend_per_year", Normal(mean=0, sd=1e308), "must be finite"),  # ±∞ at the extreme quantiles
        ("births.trend_per_year", Normal(mean=0, sd=0.1), "usable range"),  # mean − 8.1 sd = −0.81
        ("facilities.floor_cost_cny_per_m2", Lognormal(median=3500, sigma=700), "must be finite"),
        ("facilities.multimedia_room_cny", Fixed(value=0), "usable range [0.01, ∞]"),  # a unit cost of 0
        ("facilities.sports_cost_cny_per_m2", Uniform(low=0, high=1e-3), "usable range"),
    ],
)
def test_unusable_values_are_rejected(name: str, spec: object, fragment: str) -> None:
    p = PARAMETERS[name]
    why = support_problem(p, spec) or sample_problem(p, spec)  # type: ignore[arg-type]
    assert why is not None and fragment in why


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("births.trend_per_year", Normal(mean=-0.03, sd=0.02)),  # extremes −0.19 and 0.13: within ±0.25
        ("births.trend_per_year", Fixed(value=-0.25)),
        ("facilities.floor_cost_cny_per_m2", Lognormal(median=3500, sigma=1.0)),  # 3500 e^−8.1 ≈ 1.0 ≥ 0.01
        ("facilities.floor_cost_cny_per_m2", Triangular(low=100, mode=200, high=300)),
        ("attrition.rural_rate", Beta(mean=0.05, sd=0.01)),
    ],
)
def test_usable_values_pass(name: str, spec: object) -> None:
    p = PARAMETERS[name]
    assert support_problem(p, spec) is None and sample_problem(p, spec) is None  # type: ignore[arg-type]


def test_scenario_validation_reports_the_unusable_uncertainty(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sim.errors import InputErrors
    from sim.scenario import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text("name: x\nuncertainties:\n  births.trend_per_year: {dist: fixed, value: 700}\n", encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        load_scenario(path)
    (e,) = info.value.errors
    assert (e.line, e.key) == (3, "uncertainties.births.trend_per_year.dist") and "700" in e.message


def test_dropout_priors_admit_the_published_rates() -> None:
    # the 2020 anchor's prior holds the published 2020 rate within 2 SDs, and the decline's range spans the hazard
    # falls the published series imply (observations.csv and the national file, read independently; hazard per
    # transition 1 - c^(1/8), log fall per year)
    import csv
    import math
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "calibration" / "data"
    with (data / "observations.csv").open(encoding="utf-8") as f:
        rates = {int(r["year"]): float(r["value"]) for r in csv.DictReader(f) if r["series"] == "consolidation_rate"}
    with (data / "national_compulsory_2000_2024.csv").open(encoding="utf-8") as f:
        national = {int(r["year"]): float(r["consolidation_rate_pct"]) / 100 for r in csv.DictReader(f)
                    if r["consolidation_rate_pct"]}
    anchor = get_parameter("students.consolidation_2020").default
    assert isinstance(anchor, Beta)
    assert abs(rates[2020] - anchor.mean) <= 2 * anchor.sd

    def fall(c0: float, c1: float, years: int) -> float:
        return math.log((1 - c0 ** (1 / 8)) / (1 - c1 ** (1 / 8))) / years

    decline = get_parameter("students.dropout_decline_per_year").default
    assert isinstance(decline, Uniform)
    xinjiang, china = fall(rates[2020], rates[2024], 4), fall(national[2016], national[2024], 8)
    assert decline.low <= china + 0.005 and xinjiang - 0.005 <= decline.high  # ends rounded to 0.01
    assert abs(xinjiang - 0.425) < 0.01 and abs(china - 0.061) < 0.01  # the values quoted in the source text


def test_establishment_priors_contain_the_fitted_years_pupil_teacher_ratios() -> None:
    # norm / published pupil-teacher ratio of 2010-2016 (the data file, read independently) inside each prior
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "calibration" / "data" / "xinjiang_student_teacher_ratio_2004_2019.csv"
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if 2010 <= int(r["year"]) <= 2016]
    for level, norm in (("primary", 19.0), ("junior", 13.5)):
        prior = get_parameter(f"quota.establishment_multiplier_{level}").default
        assert isinstance(prior, Uniform)
        for r in rows:
            assert prior.low - 0.005 <= norm / float(r[f"{level}_ratio"]) <= prior.high + 0.005


def test_level_ratio_and_pre_2020_priors_are_the_national_series_ranges() -> None:
    # the national NBS file read independently: losses per pupil-year by level, enrolled(y−1) + new − graduates −
    # enrolled(y); the years 2009–2011 and 2014–2017 (2012–2013: the 2013 register; 2018–2019: net primary gains)
    import csv
    import math
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "calibration" / "data" / "national_compulsory_2000_2024.csv"
    with data.open(encoding="utf-8") as f:
        rows = {int(r["year"]): r for r in csv.DictReader(f)}

    def v(y: int, k: str) -> float:
        return float(rows[y][k])

    def losses(y: int) -> tuple[float, float, float]:
        lp = (v(y - 1, "primary_enrolled_10k") + v(y, "primary_new_10k") - v(y, "primary_graduates_10k")
              - v(y, "primary_enrolled_10k")) / v(y - 1, "primary_enrolled_10k")
        lt = 1 - v(y, "junior_new_10k") / v(y, "primary_graduates_10k")
        lj = (v(y - 1, "junior_enrolled_10k") + v(y, "junior_new_10k") - v(y, "junior_graduates_10k")
              - v(y, "junior_enrolled_10k")) / v(y - 1, "junior_enrolled_10k")
        return lp, lt, lj

    years = (2009, 2010, 2011, 2014, 2015, 2016, 2017)
    junior = [1.5 * losses(y)[2] / losses(y)[0] for y in years]
    transition = [(losses(y)[0] + losses(y)[1]) / losses(y)[0] for y in years]
    for name, ratios in (("students.junior_hazard_ratio", junior), ("students.transition_hazard_ratio", transition)):
        prior = get_parameter(name).default
        assert isinstance(prior, Uniform)
        assert abs(prior.low - min(ratios)) < 0.05 and abs(prior.high - max(ratios)) < 0.05, (name, ratios)

    def hazard(c: float) -> float:
        return 1 - c ** (1 / 8)

    def survival(y: int) -> float:
        lp, lt, lj = losses(y)
        return (1 - lp) ** 6 * (1 - lt) * (1 - lj) ** 3

    rise = get_parameter("students.dropout_rise_before_2020").default
    assert isinstance(rise, Uniform)
    consolidation = math.log(hazard(0.954 - 0.036) / hazard(0.954)) / 9  # 2012 → 2021, MOE 2022-09-09
    stock_flow = math.log(hazard(survival(2011)) / hazard(survival(2017))) / 6
    assert abs(survival(2011) - 0.875) < 0.001 and abs(survival(2017) - 0.951) < 0.001  # quoted in the source
    assert abs(rise.low - consolidation) < 0.001 and abs(rise.high - stock_flow) < 0.001
