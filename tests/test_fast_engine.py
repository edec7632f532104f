"""The fast engine end to end (``sim.fast.engine``): accounting, determinism, common random numbers, and the
same output schema as the exact cohort engine."""

from __future__ import annotations

import numpy as np
import pytest

from sim.cohort import prepare
from sim.ensemble import run_draws
from tests.test_cohort import small


@pytest.fixture(scope="module")
def fast_small() -> dict:
    scenario = small()
    return run_draws(prepare(scenario), 0, scenario.draws, engine="fast")


def test_same_records_as_the_exact_engine(fast_small) -> None:
    scenario = small(draws=64)
    exact = run_draws(prepare(scenario), 0, 64)
    assert set(fast_small) == set(exact)
    for name, values in exact.items():
        assert fast_small[name].shape[1:] == values.shape[1:], name
        assert fast_small[name].dtype == values.dtype, name


def test_accounting_per_county_and_draw(fast_small) -> None:
    raw = fast_small
    np.testing.assert_array_equal(raw["teachers"][:, 1:], raw["teachers"][:, :-1] + raw["hires"][:, 1:]
                                  - raw["exits"][:, 1:])
    np.testing.assert_array_equal(raw["students"][:, 1:], raw["students"][:, :-1] + raw["student_entries"][:, 1:]
                                  - raw["student_exits"][:, 1:])
    for name in ("students", "teachers", "vacancies", "hires", "exits"):
        assert (raw[name] >= 0).all(), name


def test_same_seed_same_numbers_whatever_the_chunk_size(fast_small) -> None:
    b = small(chunk_size=128)
    other = run_draws(prepare(b), 0, b.draws, engine="fast")
    for name in fast_small:
        np.testing.assert_array_equal(fast_small[name], other[name], err_msg=name)


def test_draws_do_not_depend_on_how_many_are_run(fast_small) -> None:
    few = small(draws=20)
    raw = run_draws(prepare(few), 0, 20, engine="fast")
    for name in raw:
        np.testing.assert_array_equal(raw[name], fast_small[name][:20], err_msg=name)


def test_lever_that_changes_nothing_gives_bit_identical_results(fast_small) -> None:
    variant = small(**{"levers.funding.south_share": 0.9})
    other = run_draws(prepare(variant), 0, variant.draws, engine="fast")
    for name in fast_small:
        np.testing.assert_array_equal(fast_small[name], other[name], err_msg=name)


def test_differs_from_the_exact_engine(fast_small) -> None:
    """A guard that the engine switch is real: the fast engine's random structure differs from the exact one's."""
    scenario = small()
    exact = run_draws(prepare(scenario), 0, scenario.draws)
    assert not np.array_equal(exact["students"], fast_small["students"])
