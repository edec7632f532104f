"""The fast engine's students step (``sim.fast.students``): accounting, laws, and agreement with the exact step.

Agreement: from the same start state and the same parameters (one draw's values repeated), the exact step
(:func:`sim.cohort.step_students`, a binomial per cell) and the fast step (one term per section and flow) give
county pupils by grade whose means agree within Monte Carlo error (4 standard errors of the difference of two
independent means) and section totals whose across-draw spread agrees within a stated tolerance.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim import cohort
from sim.fast import students as fast
from sim.mechanisms import students
from sim.rng import Streams
from tests.test_cohort import small
from tests.test_kernels import ALPHA, chi_square_pvalue


def test_promotion_moves_every_survivor_up_and_sums_by_county() -> None:
    stock = np.array([[[10, 20, 30, 40, 50, 60, 0, 0, 0], [0, 0, 0, 0, 0, 0, 7, 8, 9]]])
    county = np.array([0, 1])
    u = np.random.default_rng(0).random((1, 2, 2))
    new, dropouts, primary, completers = fast.promote_to(stock, np.array([1.0]), u, county, 2)  # nobody drops
    np.testing.assert_array_equal(new[0, 0], [0, 10, 20, 30, 40, 50, 0, 0, 0])
    np.testing.assert_array_equal(new[0, 1], [0, 0, 0, 0, 0, 0, 0, 7, 8])
    np.testing.assert_array_equal(dropouts, [[0, 0]])
    np.testing.assert_array_equal(primary, [[60, 0]])
    np.testing.assert_array_equal(completers, [[0, 9]])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=9, max_size=9), st.floats(0.0, 1.0), st.floats(0.0, 0.999),
       st.floats(0.0, 0.999))
def test_promotion_accounts_for_every_pupil(grades: list[int], survival: float, u0: float, u1: float) -> None:
    stock = np.array(grades, dtype=np.int64)[None, None, :]
    new, dropouts, primary, completers = fast.promote_to(stock, np.array([survival]), np.array([[[u0, u1]]]),
                                                         np.array([0]), 1)
    assert np.all(new >= 0)
    assert new.sum() + dropouts.sum() + primary.sum() + completers.sum() == stock.sum()
    assert dropouts.sum() <= stock[..., :8].sum()  # grade 9 drops nobody
    assert new[0, 0, 0] == 0 and new[0, 0, 6] == 0  # filled by intake and junior entry


def test_dropouts_of_a_section_are_the_binomial_of_its_pupils() -> None:
    # the exact step's cell binomials share one probability: their sum is Binomial(pupils of grades 1–8, 1 − s)
    grades = np.array([40, 35, 30, 33, 31, 29, 0, 0, 12])
    d = 40_000
    stock = np.broadcast_to(grades, (d, 1, 9))
    u = np.random.default_rng(4).random((d, 1, 2))
    _, dropouts, _, _ = fast.promote_to(stock, np.full(d, 0.98), u, np.array([0]), 1)
    n = int(grades[:8].sum())
    assert chi_square_pvalue(dropouts[:, 0], stats.binom.pmf(np.arange(n + 1), n, 0.02)) > ALPHA


def test_drift_is_conserved_per_county_and_grade_and_only_rural_pupils_leave() -> None:
    rng = np.random.default_rng(7)
    d, s = 200, 7
    location = np.array([2, 2, 0, 1, 2, 1, 2])
    county = np.array([0, 0, 0, 0, 1, 1, 1])
    stock = rng.integers(0, 60, (d, s, 9))
    stock[:, 5, 8] = 0  # county 1 has no town or urban pupil in grade 9: its rural grade-9 pupils stay
    before = stock.copy()
    after = fast.drift(stock, np.full(d, 0.1), location, county, 2, rng.random((d, s, 2)), rng.random((d, 2, 9)))
    for c in (0, 1):
        np.testing.assert_array_equal(after[:, county == c].sum(axis=1), before[:, county == c].sum(axis=1))
    rural = location == 2
    assert np.all(after[:, rural] <= before[:, rural]) and np.all(after[:, ~rural] >= before[:, ~rural])
    np.testing.assert_array_equal(after[:, [4, 6], 8], before[:, [4, 6], 8])
    moved = (before[:, rural] - after[:, rural]).sum() / before[:, rural].sum()
    assert 0.08 < moved < 0.12


def _repeat_first(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.repeat(v[:1], v.shape[0], axis=0) for k, v in params.items()}


def _one_year(step: Any, model: cohort.Model, draws: int, year: int) -> Any:
    streams = Streams(model.scenario.seed)
    params = _repeat_first(cohort.sample_parameters(model.scenario, streams, 0, draws))
    state = cohort.initial_state(model, draws, params["teachers.female_share"])
    state = copy.deepcopy(state)
    step(model, state, params, cohort._Random(streams, 0, draws, year), year)
    return state


@pytest.fixture(scope="module")
def both() -> tuple[cohort.Model, Any, Any]:
    model = cohort.prepare(small(draws=512, chunk_size=512))
    return model, _one_year(cohort.step_students, model, 512, 2021), _one_year(fast.step_students, model, 512, 2021)


def test_county_pupils_by_grade_agree_with_the_exact_step(both) -> None:
    model, exact, fast_state = both
    s = model.sections
    a = students.county_totals(exact.students, s.county, s.n_counties).astype(float)
    b = students.county_totals(fast_state.students, s.county, s.n_counties).astype(float)
    se = np.sqrt(a.var(axis=0, ddof=1) / a.shape[0] + b.var(axis=0, ddof=1) / b.shape[0])
    diff = np.abs(a.mean(axis=0) - b.mean(axis=0))
    assert np.all(diff <= 4 * se + 0.5), np.argwhere(diff > 4 * se + 0.5)
    # the accounting records of the step: pupils(t) = pupils(t−1) + entries − exits per county
    start = students.county_totals(np.repeat(s.students[None], 512, axis=0), s.county, s.n_counties).sum(axis=2)
    np.testing.assert_array_equal(b.sum(axis=2), start + fast_state.student_entries - fast_state.student_exits)


def test_section_spread_agrees_with_the_exact_step(both) -> None:
    """Across-draw standard deviation of each section's pupils: the fast step's section terms and multinomial
    entry keep it; the ratio of the pooled SDs (sections with pupils) is within 10% (512 draws: the SD of one
    section's SD estimate is ≈ 3%, pooled over dozens of sections much less)."""
    _, exact, fast_state = both
    a, b = exact.students.sum(axis=2), fast_state.students.sum(axis=2)
    keep = a.mean(axis=0) > 20
    ratio = np.sqrt((b[:, keep].var(axis=0, ddof=1)).mean() / (a[:, keep].var(axis=0, ddof=1)).mean())
    assert 0.9 < ratio < 1.1, ratio
