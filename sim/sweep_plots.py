"""Figures of ``edusim sweep`` and ``edusim solve``.

- :func:`sweep_curves`: one lever, the probability of each target against the lever with its 95% Wilson band
  (one panel per area; targets whose probability is the same at every grid point are listed under the chart,
  not drawn, so the ones the lever moves stand out);
- :func:`sweep_heatmap`: two levers, the probability of one target in one area over the grid;
- :func:`solve_chart`: the points evaluated by a search, their intervals, the required level and the answer.

Like :mod:`sim.plots`: every function takes ``ax=None`` and returns the Axes, figures are built on
:class:`matplotlib.figure.Figure` (never ``pyplot``) and matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from sim.plots import new_axes, save

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["solve_chart", "sweep_curves", "sweep_heatmap", "varying_targets", "write_sweep_figures"]


def _lever_label(ds: xr.Dataset, key: str) -> str:
    units = ds[key].attrs.get("units", "")
    return f"{key} ({units})" if units else key


def varying_targets(ds: xr.Dataset, area: str) -> tuple[list[str], list[str]]:
    """Targets of ``area`` whose probability changes over the grid, and those computed but constant."""
    varying: list[str] = []
    constant: list[str] = []
    for target in ds["target"].values:
        p = ds["probability"].sel(target=target, area=area).values
        if np.all(np.isnan(p)):
            continue
        (varying if np.nanmax(p) - np.nanmin(p) > 0 else constant).append(str(target))
    return varying, constant


def sweep_curves(ds: xr.Dataset, area: str = "region", *, ax: Axes | None = None) -> Axes:
    """Probability of each target that varies against the single lever of ``ds``, with 95% Wilson bands."""
    key = str(ds["probability"].dims[0])
    ax = ax if ax is not None else new_axes((7.5, 4.6))
    x = ds[key].values.astype(float)
    varying, constant = varying_targets(ds, area)
    for target in varying:
        cell = ds.sel(target=target, area=area)
        (line,) = ax.plot(x, cell["probability"].values, marker="o", ms=3, lw=1.5, label=target)
        ax.fill_between(x, cell["lower"].values, cell["upper"].values, color=line.get_color(), alpha=0.18, lw=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(_lever_label(ds, key))
    ax.set_ylabel("probability of meeting the target")
    ax.set_title(f"{area}: probability per target vs {key.split('.')[-1]} "
                 f"({ds.attrs.get('draws', '?')} draws, common random numbers)", fontsize=9)
    ax.grid(alpha=0.3)
    if varying:
        ax.legend(fontsize=8, loc="best", title="95% Wilson band", title_fontsize=7)
    else:
        ax.text(0.5, 0.5, "no target's probability changes over this range", ha="center",
                transform=ax.transAxes, fontsize=9)
    if constant:
        values = ", ".join(f"{t} {100 * float(ds['probability'].sel(target=t, area=area)[0]):.0f}%"
                           for t in constant)
        ax.annotate(f"constant over the range: {values}", (0, 0), xytext=(4, -32), xycoords="axes fraction",
                    textcoords="offset points", fontsize=7, va="top", color="0.3")
    return ax


def sweep_heatmap(ds: xr.Dataset, target: str, area: str = "region", *, ax: Axes | None = None) -> Axes:
    """Probability of ``target`` in ``area`` over a two-lever grid (first lever down, second across)."""
    key_y, key_x = (str(d) for d in ds["probability"].dims[:2])
    ax = ax if ax is not None else new_axes((6.6, 5.0))
    p = ds["probability"].sel(target=target, area=area).transpose(key_y, key_x).values
    image = ax.imshow(p, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
    ny, nx = p.shape
    for i in range(ny):
        for j in range(nx):
            if np.isfinite(p[i, j]) and nx * ny <= 100:
                ax.text(j, i, f"{100 * p[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if p[i, j] < 0.6 else "black")
    ax.set_xticks(range(nx), [f"{v:g}" for v in ds[key_x].values], fontsize=7, rotation=45)
    ax.set_yticks(range(ny), [f"{v:g}" for v in ds[key_y].values], fontsize=7)
    ax.set_xlabel(_lever_label(ds, key_x))
    ax.set_ylabel(_lever_label(ds, key_y))
    ax.set_title(f"{target}, {area}: probability of meeting the target (%, {ds.attrs.get('draws', '?')} draws)",
                 fontsize=9)
    ax.figure.colorbar(image, ax=ax, label="probability (share of draws)")
    return ax


def write_sweep_figures(ds: xr.Dataset, out: Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Curves (one lever: ``curves_AREA``) or heatmaps (two levers: ``heatmap_TARGET_AREA`` for each target
    whose probability varies) into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    n_levers = ds["probability"].ndim - 2
    for area in ds["area"].values:
        varying, constant = varying_targets(ds, str(area))
        if not varying and not constant:
            continue
        if n_levers == 1:
            ax = sweep_curves(ds, str(area))
            ax.figure.subplots_adjust(bottom=0.2)
            paths += save(ax.figure, out / f"curves_{area}", formats)  # type: ignore[arg-type]
        else:
            for target in varying:
                ax = sweep_heatmap(ds, target, str(area))
                ax.figure.subplots_adjust(bottom=0.2, left=0.16)
                paths += save(ax.figure, out / f"heatmap_{target}_{area}", formats)  # type: ignore[arg-type]
    return paths


def solve_chart(points: Sequence[dict[str, Any]], *, key: str, units: str, target: str, area: str,
                level: float, answer: float | None, interval: tuple[float | None, float | None] = (None, None),
                ax: Axes | None = None) -> Axes:
    """The evaluated points of a search (probability with its 95% Wilson interval), the level and the answer."""
    ax = ax if ax is not None else new_axes((7.0, 4.4))
    ordered = sorted(points, key=lambda r: r["value"])
    x = np.array([r["value"] for r in ordered], float)
    p = np.array([r["probability"] for r in ordered], float)
    low = np.array([r["ci95_low"] for r in ordered], float)
    high = np.array([r["ci95_high"] for r in ordered], float)
    ax.errorbar(x, p, yerr=[p - low, high - p], fmt="o-", ms=4, lw=1, capsize=3, label="evaluated (95% Wilson)")
    ax.axhline(level, color="C3", ls="--", lw=1, label=f"required {100 * level:.0f}%")
    if answer is not None:
        ax.axvline(answer, color="C2", lw=1.2, label=f"answer {answer:g} {units}")
    start, end = interval
    if start is not None:
        ax.axvspan(start, end if end is not None else float(x.max()), color="C2", alpha=0.12, lw=0,
                   label="95% interval of the answer" + ("" if end is not None else " (open above)"))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"{key} ({units})")
    ax.set_ylabel(f"probability of {target} ({area})")
    ax.set_title(f"solve: smallest {key.split('.')[-1]} with P({target}) ≥ {100 * level:.0f}%", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax
