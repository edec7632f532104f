"""sim.sensitivity.evaluation: which draws each design point uses (hand-derived from the block rule) and the
scenario each lever group runs (integer levers as int, by sim.levers's rule)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scenario_files import write_small

from sim.scenario import load_scenario
from sim.sensitivity.design import Design, choose_factors, lever_factor, uniform_factor
from sim.sensitivity.evaluation import ModelEvaluator, model_outputs
from sim.targets import load_target_set


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    return load_scenario(write_small(tmp_path_factory.mktemp("evaluation")))


def lever_design() -> Design:
    factors = (uniform_factor("u", 0, 1), lever_factor("levers.dispatch.per_year", 10, 20, 2, integer=True))
    values = np.array([[0.5, 20.0], [0.1, 10.0], [0.3, 20.0], [0.9, 10.0]])
    return Design("sobol", factors, values * 0, values * 0, values, 1)


def test_layout_groups_points_by_lever_value_on_new_blocks(small) -> None:
    evaluator = ModelEvaluator(small, [], "region", replicates=3)
    groups, first = evaluator.layout(lever_design())
    # lever 10 first (sorted): points 1, 3 → draws 0–2 and 3–5; that group fills one block of 64, so lever 20
    # starts at draw 64: points 0, 2 → draws 64–66 and 67–69
    assert [(changes, points.tolist(), offset) for changes, points, offset in groups] == [
        ({"levers.dispatch.per_year": 10.0}, [1, 3], 0), ({"levers.dispatch.per_year": 20.0}, [0, 2], 64)]
    assert first.tolist() == [64, 0, 67, 3]


def test_layout_without_levers_is_point_times_replicates(small) -> None:
    values = np.zeros((5, 1))
    design = Design("sobol", (uniform_factor("u", 0, 1),), values, values, values, 1)
    groups, first = ModelEvaluator(small, [], "region", replicates=4).layout(design)
    assert len(groups) == 1 and groups[0][0] == {} and first.tolist() == [0, 4, 8, 12, 16]


def test_scenario_for_writes_integer_levers_as_int(small) -> None:
    evaluator = ModelEvaluator(small, [], "region", replicates=2)
    changed = evaluator.scenario_for({"levers.dispatch.per_year": 20.0, "levers.rotation.share": 0.25})
    assert changed.levers.dispatch.per_year == 20 and type(changed.levers.dispatch.per_year) is int
    assert changed.levers.rotation.share == 0.25
    assert evaluator.scenario_for({}) is small


def test_model_outputs_keep_targets_of_the_area_and_the_years(small) -> None:
    targets = load_target_set(small.targets).targets
    years = np.arange(2020, 2028)
    kept, skipped, outputs = model_outputs(targets, "region", years)
    for t in targets:
        first = t.year if t.year is not None else t.each_year_from
        inside = "region" in t.scope and first is not None and 2020 <= first <= 2027
        assert (t in kept) == inside, t.id
    assert len(kept) + len(skipped) == len(targets)
    assert [o.kind for o in outputs] == ["value", "probability"] * len(kept)
    assert [o.target for o in outputs[::2]] == [t.id for t in kept]


def test_two_dask_workers_give_the_same_outcomes(small, dask_scheduler: str) -> None:
    """On a 2-worker LocalCluster the outcomes of every point and replicate equal the one-process ones exactly:
    two lever groups, several chunks each (chunk size 64; 8 points × 30 replicates)."""
    from sim.scaleout import dask_client
    from sim.sensitivity.design import make_design

    factors = [*choose_factors(small, "attrition.rural_rate,students.consolidation_2020"),
               lever_factor("levers.dispatch.per_year", 0, 40, 2, integer=True)]
    design = make_design(factors, "morris", 2, np.random.default_rng(4))
    targets = load_target_set(small.targets).targets
    kept, _, _ = model_outputs(targets, "region", np.arange(small.start_year, small.horizon + 1))
    serial = ModelEvaluator(small, kept, "region", replicates=30, progress=False)
    expected = serial(design)
    with dask_client(scheduler=dask_scheduler) as client:
        on_dask = ModelEvaluator(small, kept, "region", replicates=30, progress=False, client=client)
        got = on_dask(design)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(on_dask.first_draw, serial.first_draw)
    assert np.isfinite(expected).any() and len(np.unique(expected)) > 2  # real outcomes, not a constant


def test_an_input_error_while_evaluating_stays_an_input_error(small, tmp_path, monkeypatch) -> None:
    """As for the sweep: an InputError raised while the design runs reaches the caller as itself."""
    from sim.errors import InputError
    from sim.sensitivity import sensitivity

    def bad(scenario):
        raise InputError("row 3: floor_area_m2: must be a number", file="registry.csv")

    monkeypatch.setattr("sim.cohort.prepare", bad)
    with pytest.raises(InputError, match="floor_area_m2"):
        sensitivity(small, method="morris", n=2, replicates=2, factors="attrition.rural_rate",
                    out_dir=tmp_path / "s", progress=False, figures=False)


def _results(values: np.ndarray) -> Any:
    import xarray as xr

    # (draw, year, area): 3 draws, 2020–2022, region and south
    return xr.Dataset({"m": (("draw", "year", "area"), values)},
                      coords={"draw": [0, 1, 2], "year": [2020, 2021, 2022], "area": ["region", "south"]})


def test_target_values_undefined_area_is_nan_not_unmet() -> None:
    from types import SimpleNamespace

    from sim.sensitivity.evaluation import target_values

    values = np.full((3, 3, 2), np.nan)
    values[:, :, 0] = [[0.5, 0.7, 0.9], [0.1, 0.2, 0.3], [0.9, np.nan, 0.95]]
    results = _results(values)
    yearly = SimpleNamespace(metric="m", comparison=">=", threshold=0.6, year=2022, each_year_from=None)
    value, met = target_values(results, yearly, "region")
    assert value.tolist() == [0.9, 0.3, 0.95] and met.tolist() == [1.0, 0.0, 1.0]
    value, met = target_values(results, yearly, "south")  # no counties in the south: not computed
    assert np.isnan(value).all() and np.isnan(met).all()
    window = SimpleNamespace(metric="m", comparison=">=", threshold=0.4, year=None, each_year_from=2021)
    value, met = target_values(results, window, "region")
    # worst year of 2021–2022: min 0.7, 0.2, NaN (undefined in 2021 for draw 2 → not computed)
    assert value[:2].tolist() == [0.7, 0.2] and np.isnan(value[2])
    assert met[:2].tolist() == [1.0, 0.0] and np.isnan(met[2])
    with pytest.raises(ValueError, match="not in the results"):
        target_values(results, SimpleNamespace(metric="absent", comparison=">=", threshold=0.0, year=2022,
                                               each_year_from=None), "region")
