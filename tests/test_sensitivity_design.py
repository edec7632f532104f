"""sim.sensitivity.design: factors, the design's mapping through quantile functions, and levers read by
sim.levers (one integer rule and one range syntax with sweep and solve)."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_files import write_small

from sim.distributions import sample
from sim.errors import InputError, InputErrors
from sim.scenario import load_scenario
from sim.sensitivity import design as d


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    return load_scenario(write_small(tmp_path_factory.mktemp("design")))


def test_lever_levels_by_hand() -> None:
    np.testing.assert_allclose(d.lever_levels(0.1, 0.4, 4), [0.1, 0.2, 0.3, 0.4])
    # linspace(0, 40, 4) = 0, 13.3, 26.7, 40 → rounded
    assert d.lever_levels(0, 40, 4, integer=True).tolist() == [0, 13, 27, 40]
    assert d.lever_levels(1, 3, 5, integer=True).tolist() == [1, 2, 3]  # 1, 1.5, 2, 2.5, 3: rint to even


def test_integer_lever_levels_and_units_come_from_sim_levers(small) -> None:
    factor = d.scenario_lever("levers.dispatch.per_year=0:40", small, 4)
    assert (factor.kind, factor.units, factor.spec) == ("lever", "persons/yr", "levels 0, 13, 27, 40")
    share = d.scenario_lever("levers.rotation.share=0.05:0.3", small, 2)
    assert (share.units, share.spec) == ("share (0–1)", "levels 0.05, 0.3")


def test_integer_lever_needs_whole_bounds(small) -> None:
    # before sim.levers, 0.5:3.5 was rounded to levels 0, 2, 4: two of them outside the range asked for
    with pytest.raises(InputError, match="an integer lever needs a whole-number range") as info:
        d.scenario_lever("levers.dispatch.per_year=0.5:3.5", small, 4)
    assert info.value.key == "levers.dispatch.per_year"


def test_lever_numbers_use_the_one_syntax(small) -> None:
    with pytest.raises(InputError, match="HI must be a number, got '1_000'"):
        d.scenario_lever("levers.dispatch.per_year=0:1_000", small, 2)


def test_every_level_is_validated_by_the_scenario(small) -> None:
    with pytest.raises(InputErrors, match=r"must be in \[0, 1\], got 1.5"):
        d.scenario_lever("levers.rotation.share=0.5:1.5", small, 3)


def test_choose_factors(small) -> None:
    every = d.choose_factors(small, None)
    assert every and all(f.kind == "uncertainty" for f in every)
    two = d.choose_factors(small, "drift.rural_to_town_rate, students.consolidation_2020,drift.rural_to_town_rate")
    assert [f.name for f in two] == ["drift.rural_to_town_rate", "students.consolidation_2020"]
    # a parameter the posterior does not hold: its distribution's inverse CDF
    spec = small.uncertainties["drift.rural_to_town_rate"]
    q = np.array([0.1, 0.5, 0.9])
    np.testing.assert_array_equal(two[0].quantile(q), sample(spec, q))
    # one the baseline's posterior holds: the weighted particles' quantile, by its definition (the smallest
    # particle value whose weighted CDF reaches q)
    import pandas as pd

    particles = pd.read_csv(small.posterior / "particles.csv")
    values = particles["students.consolidation_2020"].to_numpy()
    weights = particles["weight"].to_numpy() / particles["weight"].sum()
    for qi, v in zip(q, two[1].quantile(q), strict=True):
        assert weights[values <= v].sum() >= qi - 1e-9 > weights[values < v].sum()
    with pytest.raises(InputError, match="names no uncertainty"):
        d.choose_factors(small, " , ")


def test_make_design_maps_each_column_through_its_factor() -> None:
    factors = [d.uniform_factor("a", 10, 20), d.lever_factor("levers.x.y", 0, 1, 2)]
    design = d.make_design(factors, "sobol", 8, np.random.default_rng(0))
    assert design.n_points == d.n_points("sobol", 8, 2) == 32 and design.names == ["a", "levers.x.y"]
    np.testing.assert_allclose(design.values[:, 0], 10 + 10 * design.unit[:, 0])
    np.testing.assert_array_equal(design.values[:, 1], np.where(design.unit[:, 1] < 0.5, 0.0, 1.0))
    morris = d.make_design(factors, "morris", 3, np.random.default_rng(0))
    assert morris.n_points == 9 and set(np.round(morris.quantiles.ravel(), 9)) <= {0.125, 0.375, 0.625, 0.875}
    with pytest.raises(InputError, match="must be one of sobol, morris, got 'fast'"):
        d.make_design(factors, "fast", 8, np.random.default_rng(0))
    assert design.problem == {"num_vars": 2, "names": ["a", "levers.x.y"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
