"""--precision: the Wilson half-width, the draws needed to reach one, and the batch plan."""

from __future__ import annotations

import math

import pytest

from sim.outcomes import TargetOutcome, wilson_interval
from sim.precision import Z95, PrecisionReport, draws_needed, wilson_half_width


@pytest.mark.parametrize(("met", "draws"), [(0, 64), (1, 64), (32, 64), (63, 64), (64, 64), (250, 1000), (7, 3000)])
def test_half_width_is_that_of_the_wilson_interval(met, draws):
    low, high = wilson_interval(met, draws)
    assert wilson_half_width(met / draws, draws) == pytest.approx((high - low) / 2, rel=1e-9, abs=1e-12)


def test_half_width_at_most_the_normal_bound_plus_the_wilson_term():
    """h(p, n) <= z*sqrt(p(1-p)/n) + z²/(2n) (triangle inequality on the square root, 1 + z²/n >= 1)."""
    for p in (0.0, 0.1, 0.5, 0.9):
        for n in (10, 100, 1000):
            assert wilson_half_width(p, n) <= Z95 * math.sqrt(p * (1 - p) / n) + Z95**2 / (2 * n) + 1e-15


@pytest.mark.parametrize("p", [0.0, 0.03, 0.2, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("h", [0.01, 0.02, 0.05, 0.1])
def test_draws_needed_is_the_fewest_that_reach_the_half_width(p, h):
    n = draws_needed(p, h)
    assert wilson_half_width(p, n) <= h
    assert n == 1 or wilson_half_width(p, n - 1) > h


def test_draws_needed_in_closed_form_at_zero_and_one_half():
    # p = 0: h = z²/(2(n + z²)) <= H  <=>  n >= z²/(2H) - z²
    assert draws_needed(0.0, 0.02) == math.ceil(Z95**2 / (2 * 0.02) - Z95**2)
    # p = 1/2: h = z/(1+z²/n) * sqrt(1/(4n) + z²/(4n²)) = z / (2 sqrt(n + z²)) <= H  <=>  n >= z²/(4H²) - z²
    assert draws_needed(0.5, 0.02) == math.ceil(Z95**2 / (4 * 0.02**2) - Z95**2)


@pytest.mark.parametrize("h", [0.0, 0.5, -0.1, 1.0])
def test_draws_needed_rejects_half_widths_outside_the_open_interval(h):
    with pytest.raises(ValueError, match="half_width"):
        draws_needed(0.5, h)


def _outcome(met: int, draws: int, target: str = "T1", scope: str = "region", computed: bool = True) -> TargetOutcome:
    low, high = wilson_interval(met, draws)
    return TargetOutcome(target, scope, "m", draws, met, met / draws, low, high, None, computed=computed)


def test_next_batch_goes_to_the_draws_the_widest_row_needs_in_whole_blocks():
    report = PrecisionReport(0.02, 20_000)
    outcomes = [_outcome(32, 64), _outcome(0, 64, scope="south"), _outcome(0, 64, "T2", computed=False)]
    report.add(outcomes)
    assert report.draws == 64 and report.widest == "T1 region" and not report.reached
    needed = draws_needed(0.5, 0.02)
    assert report.next_draws(outcomes) == math.ceil(needed / 64) * 64


def test_next_batch_is_capped_and_at_least_one_block_more():
    report = PrecisionReport(0.02, 1000)
    outcomes = [_outcome(32, 64)]
    report.add(outcomes)
    assert report.next_draws(outcomes) == 1000
    # just too wide at 64 draws: 66 needed (z²/(4H²) - z² at p = 1/2), a whole block more
    report = PrecisionReport(0.118, 1000)
    report.add(outcomes)
    assert report.widest_half_width > 0.118 and draws_needed(0.5, 0.118) == 66 and report.next_draws(outcomes) == 128


def test_run_is_done_when_every_half_width_is_reached_or_the_cap():
    report = PrecisionReport(0.2, 20_000)
    outcomes = [_outcome(0, 64), _outcome(64, 64, scope="south")]
    report.add(outcomes)
    assert report.reached and report.next_draws(outcomes) is None and "at most 0.2" in report.stopped
    capped = PrecisionReport(0.01, 64)
    wide = [_outcome(32, 64)]
    capped.add(wide)
    assert capped.next_draws(wide) is None and "cap of 64 draws" in capped.stopped
    assert capped.record()["batches"] == [{"draws": 64, "widest_half_width": round(capped.widest_half_width, 6)}]
