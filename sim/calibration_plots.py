"""Diagnostic figures of a calibration (``edusim calibrate``): prior vs posterior, generations, predictive fans.

Each function takes ``ax=None`` or draws a whole figure, returns what it drew and never calls ``plt.show()``;
matplotlib is imported lazily (STYLE §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.distributions import Distribution, to_scipy

if TYPE_CHECKING:
    from sim.calibrate import FitObservations
    from sim.posterior import Posterior


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def prior_posterior_figure(posterior: Posterior, priors: Mapping[str, Distribution],
                           truth: Mapping[str, float] | None = None) -> Any:
    """One panel per parameter: the prior density and the weighted histogram of the posterior particles."""
    plt = _plt()
    k = len(posterior.names)
    cols = min(k, 3)
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for i, name in enumerate(posterior.names):
        ax = axes[i // cols][i % cols]
        dist = to_scipy(priors[name])
        lo, hi = dist.ppf([0.001, 0.999])
        values = posterior.particles[:, i]
        lo, hi = min(lo, values.min()), max(hi, values.max())
        x = np.linspace(lo, hi, 300)
        ax.plot(x, dist.pdf(x), color="0.4", lw=1.5, label="prior")
        ax.hist(values, bins=30, range=(lo, hi), weights=posterior.weights, density=True, color="tab:blue",
                alpha=0.6, label="posterior")
        q = posterior.quantiles(name, (0.05, 0.95))
        ax.axvspan(q[0], q[1], color="tab:blue", alpha=0.08)
        if truth is not None and name in truth:
            ax.axvline(truth[name], color="tab:red", lw=1.5, label="true value")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=8)
        if i == 0:
            ax.legend(fontsize=7)
    for j in range(k, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle("Prior (line) and posterior (bars; shaded: 90% interval)", fontsize=10)
    fig.tight_layout()
    return fig


def generations_figure(generations: pd.DataFrame) -> Any:
    """Epsilon (or temperature), acceptance rate and effective sample size by generation."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0))
    g = generations["generation"]
    axes[0].plot(g, generations["epsilon"], "o-")
    axes[0].set_yscale("log")
    axes[0].set_title("epsilon / temperature", fontsize=9)
    axes[1].plot(g, generations["acceptance_rate"], "o-")
    axes[1].set_title("acceptance rate", fontsize=9)
    axes[1].set_ylim(0, None)
    smc = generations["acceptance_rate"].notna()  # the importance step to temperature 1 has no acceptance rate
    axes[2].plot(g[smc], generations["ess"][smc], "o-", label="ESS")
    axes[2].plot(g[smc], generations["accepted"][smc], "--", color="0.5", label="population")
    if (~smc).any():
        step = generations[~smc].iloc[-1]
        axes[2].plot([step["generation"]], [step["ess"]], "s", color="C3",
                     label=f"ESS, importance step ({int(step['simulations']):,} proposals)")
    axes[2].set_title("effective sample size", fontsize=9)
    axes[2].set_ylim(0, None)
    axes[2].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("generation", fontsize=8)
        ax.set_xticks(list(g))
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def predictive_figure(predictive: pd.DataFrame, fit: FitObservations) -> Any:
    """Posterior predictive fans (5–95, 25–75, median) of each fitted series with the observations (±2 SD)."""
    plt = _plt()
    if "upper" in predictive:  # a bound's period sum has no fan over years
        predictive = predictive[~predictive["upper"].astype(bool)]
    pairs = list(dict.fromkeys(zip(predictive["series"], predictive["level"], strict=True)))
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 3.4), squeeze=False)
    window = fit.values["year"]
    for ax, (series, level) in zip(axes[0], pairs, strict=True):
        p = predictive[(predictive["series"] == series) & (predictive["level"] == level)].sort_values("year")
        years = p["year"].to_numpy()
        ax.fill_between(years, p["p5"], p["p95"], color="tab:blue", alpha=0.18, label="5–95%")
        ax.fill_between(years, p["p25"], p["p75"], color="tab:blue", alpha=0.35, label="25–75%")
        ax.plot(years, p["median"], color="tab:blue", lw=1.5, label="median")
        obs = p[p["fitted"]]
        ax.errorbar(obs["year"], obs["observed"], yerr=2 * obs["sd"], fmt="o", color="k", ms=4, capsize=2,
                    label="observed (±2 SD)")
        ax.axvspan(window.min() - 0.5, window.max() + 0.5, color="0.9", zorder=-1)
        ax.set_title(f"{series} ({level})", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        ax.legend(fontsize=7)
    fig.suptitle("Posterior predictive (grey: fitted years)", fontsize=10)
    fig.tight_layout()
    return fig


def write_figures(folder: Path, posterior: Posterior, priors: Mapping[str, Distribution],
                  generations: pd.DataFrame, predictive: pd.DataFrame, fit: FitObservations,
                  truth: Mapping[str, float] | None = None) -> list[str]:
    """Write the three diagnostic PNGs into ``folder``; the file names, relative to it."""
    plt = _plt()
    out = []
    for stem, fig in (("prior_posterior", prior_posterior_figure(posterior, priors, truth)),
                      ("generations", generations_figure(generations)),
                      ("predictive", predictive_figure(predictive, fit))):
        fig.savefig(folder / f"{stem}.png", dpi=100, metadata={"Software": None})
        plt.close(fig)
        out.append(f"{stem}.png")
    return out
