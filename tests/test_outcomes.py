"""Target probabilities from hand-built ensembles: the share of draws, its Wilson interval, the year first met."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import xarray as xr

from sim.outcomes import evaluate_target, median_first_year, wilson_interval


@dataclass
class T:
    id: str = "T"
    metric: str = "m"
    comparison: str = ">="
    threshold: float = 0.4
    year: int | None = 2027
    each_year_from: int | None = None
    scope: tuple[str, ...] = ("region",)


def dataset(area_values: np.ndarray, county_values: np.ndarray | None = None) -> xr.Dataset:
    """area_values (draw, year) for region; county values (draw, year, county) optional."""
    years = np.arange(2025, 2025 + area_values.shape[1])
    data = {"m": (("draw", "year", "area"), np.stack([area_values, area_values], axis=-1))}
    if county_values is not None:
        data["m_by_county"] = (("draw", "year", "county"), county_values)
    return xr.Dataset(data, coords={"year": years, "area": ["region", "south"]})


def test_probability_is_the_share_of_draws_meeting_the_target():
    values = np.array([[0.1, 0.3, 0.5], [0.1, 0.2, 0.39], [0.4, 0.4, 0.4], [0.0, 0.0, 0.9]])
    o = evaluate_target(dataset(values), T(), "region")
    assert (o.met, o.draws) == (3, 4)  # 0.5, 0.4 (at the threshold) and 0.9 meet ≥0.4 in 2027
    assert o.probability == pytest.approx(0.75)


def test_wilson_interval_matches_the_closed_form():
    k, n, z = 30, 100, 1.959963984540054
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert wilson_interval(k, n) == pytest.approx((centre - half, centre + half), rel=1e-9)
    low, high = wilson_interval(0, 50)
    assert low == 0.0 and 0 < high < 0.1


def test_each_year_target_needs_every_year_of_the_window():
    values = np.array([[0.97, 0.97, 0.97], [0.97, 0.95, 0.97]])
    o = evaluate_target(dataset(values), T(threshold=0.96, year=None, each_year_from=2025), "region")
    assert o.met == 1


def test_every_county_scope_needs_all_counties():
    county = np.array([[[0.3, 0.5]], [[0.2, 0.9]]])  # 2 draws, 1 year, 2 counties
    o = evaluate_target(dataset(np.array([[0.4], [0.55]]), county), T(threshold=0.3, year=2025), "every_county")
    assert o.met == 1


def test_missing_metric_is_reported_not_computed():
    o = evaluate_target(dataset(np.zeros((2, 3))), T(metric="absent"), "region")
    assert not o.computed and "absent" in o.reason


def test_median_first_year_counts_draws_never_meeting_as_after_the_horizon():
    years = np.array([2025, 2026, 2027])
    holds = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]], bool)
    assert median_first_year(holds, years) is None  # two of three draws never meet it
    holds[1, 2] = True
    assert median_first_year(holds, years) == 2027


def test_yearly_target_is_first_met_when_it_holds_from_then_on():
    values = np.array([[0.97, 0.90, 0.97, 0.97]] * 3)
    o = evaluate_target(dataset(values), T(threshold=0.96, year=None, each_year_from=2025), "region")
    assert o.met == 0 and o.median_first_year == 2027


def test_area_with_no_counties_is_not_computed_not_zero():
    # issue 11 item 4: a north-only selection has all-NaN 'south' aggregates; no probability from nothing
    values = np.array([[0.5, 0.5, 0.5], [0.1, 0.2, 0.3]])
    ds = dataset(values)
    ds["m"].loc[{"area": "south"}] = np.nan
    south = evaluate_target(ds, T(), "south")
    assert not south.computed and "undefined for area 'south'" in south.reason
    assert south.probability != south.probability  # NaN, not 0.0
    assert evaluate_target(ds, T(), "region").computed
    yearly = evaluate_target(ds, T(year=None, each_year_from=2026), "south")
    assert not yearly.computed


def test_area_defined_in_some_draws_is_computed():
    values = np.array([[0.5, 0.5, 0.5], [np.nan, np.nan, np.nan]])
    o = evaluate_target(dataset(values), T(), "region")
    assert o.computed and (o.met, o.draws) == (1, 2)


def test_every_county_with_no_counties_is_not_computed():
    county = np.zeros((2, 3, 0))
    o = evaluate_target(dataset(np.zeros((2, 3)), county), T(), "every_county")
    assert not o.computed and "in any county" in o.reason


def test_not_computed_reaches_the_tables():
    from sim.output import outcome_rows, targets_csv, targets_table

    ds = dataset(np.full((2, 3), 0.5))
    ds["m"].loc[{"area": "south"}] = np.nan
    outcomes = [evaluate_target(ds, T(scope=("region", "south")), s) for s in ("region", "south")]
    rows = outcome_rows(outcomes)
    assert rows[1]["probability"] == rows[1]["draws_met"] == "" and "undefined" in rows[1]["note"]
    table_row = next(line for line in targets_table(outcomes).splitlines() if line.startswith("| T"))
    assert table_row.split("|")[3].strip().startswith("not computed (undefined")
    south_line = next(line for line in targets_csv(outcomes).splitlines() if line.startswith("T,south"))
    assert ",0.0" not in south_line and "undefined" in south_line


def test_yearly_window_starts_and_ends_exactly_where_the_target_says():
    # years 2025–2029; each draw fails in one year only (0.0), the window is 2026–2029
    fail_in = [2025, 2026, 2029, None]
    values = np.array([[0.0 if year == bad else 1.0 for year in range(2025, 2030)] for bad in fail_in])
    o = evaluate_target(dataset(values), T(threshold=0.5, year=None, each_year_from=2026), "region")
    assert o.met == 2  # only the draw failing before the window (2025) and the one never failing
    # a single-year target looks at that year only, not the year before or after
    fail_in = [2026, 2027, 2028]
    values = np.array([[0.0 if year == bad else 1.0 for year in range(2025, 2030)] for bad in fail_in])
    assert evaluate_target(dataset(values), T(threshold=0.5, year=2027), "region").met == 2


def test_a_target_is_judged_on_its_variable_when_it_has_one():
    """A target with a quality-school reading reads ``METRIC_READING``, not the metric."""

    @dataclass
    class Reading(T):
        variable: str = "m_standard"

    ds = dataset(np.array([[0.0, 0.0, 0.0]]))
    ds["m_standard"] = ds["m"] + 1.0
    assert evaluate_target(ds, T(), "region").met == 0
    assert evaluate_target(ds, Reading(), "region").met == 1
