"""Diagnostic figures of a calibration (sim/calibration_plots.py), on the shipped posterior folder's tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibrate import FitObservations
from sim.calibration_plots import generations_figure, predictive_figure, prior_posterior_figure, write_figures
from sim.distributions import Beta, Normal
from sim.posterior import Posterior

SHIPPED = Path(__file__).resolve().parents[1] / "calibration" / "posterior" / "history_2011_2016"


def _posterior() -> Posterior:
    particles = np.array([[0.03, 1.0], [0.05, 2.0], [0.04, 3.0]])
    return Posterior(("a.rate", "b.level"), particles, np.array([0.2, 0.3, 0.5]))


def _fit(predictive: pd.DataFrame) -> FitObservations:
    fitted = predictive[predictive["fitted"]]
    table = pd.DataFrame({"key": [f"{s}/{lv}/{y}" for s, lv, y in zip(fitted["series"], fitted["level"],
                                                                       fitted["year"], strict=True)],
                          "series": fitted["series"], "level": fitted["level"], "year": fitted["year"],
                          "value": fitted["observed"], "obs_sd_rel": 0.01, "sd": fitted["sd"]})
    return FitObservations(table)


def test_prior_posterior_has_one_panel_per_parameter_and_the_truth_line() -> None:
    priors = {"a.rate": Beta(mean=0.04, sd=0.01), "b.level": Normal(mean=2.0, sd=1.0)}
    fig = prior_posterior_figure(_posterior(), priors, truth={"a.rate": 0.045})
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == ["a.rate", "b.level"]
    assert any(line.get_label() == "true value" for line in visible[0].get_lines())


def test_write_figures_writes_three_pngs_from_the_shipped_tables(tmp_path: Path) -> None:
    generations = pd.read_csv(SHIPPED / "generations.csv")
    predictive = pd.read_csv(SHIPPED / "predictive.csv")
    assert len(generations_figure(generations).axes) == 3
    series = predictive[["series", "level"]].drop_duplicates()
    assert len(predictive_figure(predictive, _fit(predictive)).axes) == len(series)
    priors = {"a.rate": Beta(mean=0.04, sd=0.01), "b.level": Normal(mean=2.0, sd=1.0)}
    names = write_figures(tmp_path, _posterior(), priors, generations, predictive, _fit(predictive))
    assert names == ["prior_posterior.png", "generations.png", "predictive.png"]
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
