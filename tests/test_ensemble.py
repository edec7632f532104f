"""sim.ensemble: the results Dataset recomputed from the raw arrays by hand (area totals, shares of sums, county
flags, the empty-area NaN), the helpers on hand-made arrays, and the whole-block rule of run_draws."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_files import write_small

from sim.cohort import prepare
from sim.ensemble import _mean, _ratio, run, run_draws, to_dataset
from sim.rng import BLOCK_SIZE
from sim.scenario import load_scenario
from sim.targets import METRICS

DRAWS = 5


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """Two counties, 653131 (Kashgar prefecture, south) and 650522 (Hami, north); draws 0–4, 2020–2027."""
    model = prepare(load_scenario(write_small(tmp_path_factory.mktemp("ensemble"))))
    raw = run_draws(model, 0, DRAWS)
    return model, raw, to_dataset(model, raw)


def test_ratio_and_mean_by_hand() -> None:
    np.testing.assert_array_equal(_ratio(np.array([1.0, 2.0, 0.0]), np.array([4.0, 0.0, 5.0])), [0.25, np.nan, 0.0])
    np.testing.assert_array_equal(_mean(np.array([[1.0, 3.0], [2.0, 2.0]])), [2.0, 2.0])
    assert np.isnan(_mean(np.zeros((3, 0)))).all() and _mean(np.zeros((3, 0))).shape == (3,)


def test_dims_coords_and_the_south_mask(small) -> None:
    model, raw, ds = small
    assert ds.sizes["draw"] == DRAWS and ds.sizes["year"] == 2027 - 2020 + 1 and ds.sizes["county"] == 2
    assert list(ds["area"].values) == ["region", "south"]
    assert dict(zip(ds["county"].values.tolist(), ds["county_south"].values.tolist(), strict=True)) == {
        653131: 1, 650522: 0}
    np.testing.assert_array_equal(ds["draw"].values, np.arange(DRAWS))
    shifted = to_dataset(model, raw, first_draw=128)
    np.testing.assert_array_equal(shifted["draw"].values, 128 + np.arange(DRAWS))


def test_every_variable_has_units_and_a_long_name(small) -> None:
    _, _, ds = small
    for name in ds.data_vars:
        if name in ("indicator_units", "county_name", "county_south"):
            assert ds[name].attrs.get("long_name"), name
            continue
        assert ds[name].attrs.get("units") and ds[name].attrs.get("long_name"), name
    for metric in METRICS:
        assert metric in ds and f"{metric}_by_county" in ds, metric


def test_area_values_recomputed_from_the_raw_arrays(small) -> None:
    _, raw, ds = small
    south = ds["county_south"].values.astype(bool)
    # a stock: the area total is the sum over the area's counties
    for name in ("students", "teachers", "vacancies", "hires"):
        np.testing.assert_allclose(ds[f"{name}_area"].sel(area="region").values, raw[name].sum(-1), rtol=1e-6)
        np.testing.assert_allclose(ds[f"{name}_area"].sel(area="south").values, raw[name][..., south].sum(-1),
                                   rtol=1e-6)
    # a share: the ratio of the sums (pupil- or school-weighted), not the mean of the county ratios
    count, total = raw["quality_school_count"].astype(float), raw["quality_school_total"].astype(float)
    expected = count.sum(-1) / total.sum(-1)
    np.testing.assert_allclose(ds["quality_school_share"].sel(area="region").values, expected)
    np.testing.assert_allclose(ds["quality_school_share_by_county"].values, count / total)
    # a county flag: the share of the area's counties where it holds (0, 0.5 or 1 with two counties)
    flag = raw["quality_balanced"].astype(float)
    np.testing.assert_allclose(ds["share_counties_quality_balanced"].sel(area="region").values, flag.mean(-1))
    np.testing.assert_allclose(ds["share_counties_quality_balanced"].sel(area="south").values, flag[..., south][..., 0])
    assert set(np.unique(ds["share_counties_quality_balanced"].sel(area="region").values)) <= {0.0, 0.5, 1.0}


def test_special_education_counts_only_counties_above_200000_people(small) -> None:
    model, raw, ds = small
    large = model.sections.county_population > 200_000
    south = ds["county_south"].values.astype(bool)
    ok = raw["special_education_ok"].astype(float)
    for area, mask in (("region", large), ("south", large & south)):
        values = ds["special_education_coverage"].sel(area=area).values
        if mask.any():
            np.testing.assert_allclose(values, ok[..., mask].mean(-1))
        else:  # an area without such counties: NaN, not 0
            assert np.isnan(values).all()
    np.testing.assert_array_equal(np.isnan(ds["special_education_coverage_by_county"].values[0, 0]), ~large)


def test_run_draws_simulates_whole_blocks(small) -> None:
    model, raw, _ = small
    # draw i's numbers depend on its whole block, not on how many draws are asked for
    more = run_draws(model, 0, 9)
    for name in ("students", "teachers", "quality_balanced"):
        np.testing.assert_array_equal(more[name][:DRAWS], raw[name])
    with pytest.raises(ValueError, match=f"start must be a multiple of {BLOCK_SIZE}, got 3"):
        run_draws(model, 3, 9)


def test_run_is_every_draw_of_the_scenario(small) -> None:
    model, _, _ = small
    ds = run(model.scenario, model=model)
    assert ds.sizes["draw"] == model.scenario.draws == 64
