"""sim.sensitivity.analysis: the replicate-noise statistics by hand, the shape check, the notes for outputs that
cannot be analysed, and one bootstrap seed per output."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.sensitivity.analysis import Output, analyse, noise_statistics, run_analysis
from sim.sensitivity.design import make_design, uniform_factor


def test_noise_statistics_by_hand() -> None:
    # means 2, 6, 4 (variance ddof 1: 4); within-point variances 2, 8, 0 (mean 10/3); share = 10/3 / 2 / 4
    y = np.array([[1.0, 3.0], [4.0, 8.0], [4.0, 4.0]])
    noise = noise_statistics(y)
    assert noise.variance_of_means == pytest.approx(4.0)
    assert noise.noise_variance == pytest.approx(10 / 3)
    assert noise.noise_share == pytest.approx(10 / 3 / 2 / 4)
    one = noise_statistics(y[:, :1])
    assert math.isnan(one.noise_variance) and math.isnan(one.noise_share)


def design():
    return make_design([uniform_factor("a", 0, 1), uniform_factor("b", 0, 1)], "sobol", 8, np.random.default_rng(0))


def test_shape_is_checked() -> None:
    with pytest.raises(ValueError, match=r"outputs must have shape \(32, R, 1\), got \(32, 2\)"):
        analyse(design(), np.zeros((32, 2)), [Output("T", "value", "1", "t")], np.random.default_rng(0))


def test_missing_and_constant_outputs_are_noted_not_analysed() -> None:
    d = design()
    y = np.zeros((d.n_points, 2, 2))
    y[3, 0, 0] = np.nan
    y[:, :, 1] = 7.0
    outputs = [Output("T", "value", "1", "t"), Output("T", "probability", "1", "p")]
    rows = analyse(d, y, outputs, np.random.default_rng(0))
    assert len(rows) == 4 and all("S1" not in r for r in rows)
    assert rows[0]["note"].startswith("undefined: the outcome is missing")
    assert rows[2]["note"] == "constant over the design (7): no sensitivity"


def test_one_bootstrap_seed_per_output_in_order() -> None:
    d = design()
    signal = d.values[:, 0] + 2 * d.values[:, 1]
    y = np.stack([np.zeros(d.n_points), signal], axis=-1)[:, None, :]
    outputs = [Output("T", "value", "1", "t"), Output("U", "value", "1", "u")]
    both = analyse(d, y, outputs, np.random.default_rng(9))
    # the second output's bootstrap seed is the second draw of the generator whether or not the first is analysed
    rng = np.random.default_rng(9)
    rng.integers(1, 2**31 - 1)
    alone = analyse(d, y[:, :, 1:], outputs[1:], rng)
    assert [r["S1_conf"] for r in both[2:]] == [r["S1_conf"] for r in alone]


def test_run_analysis_keeps_the_evaluators_first_draws() -> None:
    d = design()

    class Evaluate:
        first_draw = np.arange(d.n_points) * 2

        def __call__(self, design):
            return design.values[:, :1, None].repeat(2, axis=1)

    result = run_analysis(d, Evaluate(), [Output("T", "value", "1", "t")], np.random.default_rng(0))
    assert result.y.shape == (d.n_points, 2, 1) and result.first_draw.tolist() == (np.arange(d.n_points) * 2).tolist()
