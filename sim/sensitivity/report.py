"""What a sensitivity analysis writes: tables, tornado charts, the summary printed and the provenance.

The folder (default ``outputs/sensitivity-NAME-METHOD``) is written whole or not at all: ``indices.csv`` (one row
per output and factor, columns by :func:`index_columns`), ``design.csv`` (each point's first draw, quantiles and
values), ``outcomes.csv`` (per point and output, the mean over replicates and the within-point variance),
``sensitivity.md`` (what was run, how to read the columns, the top factors), the files given (the resolved
scenario, ``provenance.json``: :func:`provenance_record`) and ``figures/tornado-TARGET.png|svg``.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.sensitivity import morris, sobol
from sim.sensitivity.analysis import Output, SensitivityResult
from sim.sensitivity.design import Design, Factor

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sim.scenario import Scenario

__all__ = ["design_csv", "index_columns", "indices_csv", "outcomes_csv", "provenance_record", "readme_text",
           "summary_text", "top_factors", "tornado", "write_results", "write_tornados"]

NOISY = 0.5
"""Noise share above which the printed summary warns that an output's indices are mostly replicate noise."""
TOP_FACTORS = 3
"""Factors printed per outcome."""
TORNADO_FACTORS = 12
"""Factors shown per panel of a tornado chart (the largest ST or μ*)."""


# ------------------------------------------------------------------------------------------------------------
# tables


def index_columns(method: str) -> list[str]:
    """Columns of ``indices.csv`` for ``method``."""
    own = sobol.COLUMNS if method == "sobol" else morris.COLUMNS
    return ["target", "outcome", "outcome_units", "factor", "factor_kind", "method", *own, "replicates",
            "variance_of_means", "noise_variance", "noise_share", "note"]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def indices_csv(rows: Sequence[dict], method: str) -> str:
    columns = index_columns(method)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c, math.nan)) for c in columns])
    return buffer.getvalue()


def design_csv(design: Design, first_draw: np.ndarray | None = None) -> str:
    """One row per design point: its first draw (if any), each factor's quantile and value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["point"] + (["first_draw"] if first_draw is not None else [])
    header += [f"{n} (quantile)" for n in design.names] + [f"{n} ({f.units})" if f.units else n
                                                           for n, f in zip(design.names, design.factors, strict=True)]
    writer.writerow(header)
    for i in range(design.n_points):
        cells = [str(i)] + ([str(int(first_draw[i]))] if first_draw is not None else [])
        cells += [f"{q:.6g}" for q in design.quantiles[i]] + [f"{v:.6g}" for v in design.values[i]]
        writer.writerow(cells)
    return buffer.getvalue()


def outcomes_csv(y: np.ndarray, outputs: Sequence[Output]) -> str:
    """One row per (design point, output): the mean over replicates and the within-point variance."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["point", "target", "outcome", "outcome_units", "mean_over_replicates",
                     "variance_within_point", "replicates"])
    replicates = y.shape[1]
    for i in range(y.shape[0]):
        for o, out in enumerate(outputs):
            within = float(np.var(y[i, :, o], ddof=1)) if replicates > 1 else math.nan
            writer.writerow([i, out.target, out.kind, out.units, _cell(float(y[i, :, o].mean())), _cell(within),
                             replicates])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------------------
# figures and text


def _ranking_key(method: str) -> str:
    return "ST" if method == "sobol" else "mu_star"


def top_factors(rows: Sequence[dict], target: str, outcome: str, count: int = TOP_FACTORS) -> list[dict]:
    """The ``count`` rows of (target, outcome) with the largest ST (Sobol') or μ* (Morris)."""
    chosen = [r for r in rows if r["target"] == target and r["outcome"] == outcome and not r.get("note")]
    if not chosen:
        return []
    key = _ranking_key(chosen[0]["method"])
    return sorted(chosen, key=lambda r: -r[key])[:count]


def tornado(rows: Sequence[dict], *, title: str = "", ax: Axes | None = None) -> Axes:
    """Horizontal bars of one output's indices, largest on top.

    Sobol': ST (light bar, 95% interval) with S1 (dark bar) and the noise share (dashed line). Morris: μ*
    (bar, 95% interval), σ (dots) and the noise floor of μ* (dashed line).
    """
    from sim.plots import new_axes

    ax = ax if ax is not None else new_axes((6.0, 4.5))
    if not rows or rows[0].get("note"):
        ax.text(0.5, 0.5, rows[0]["note"] if rows else "no factors", ha="center", va="center", wrap=True,
                transform=ax.transAxes, fontsize=8)
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        return ax
    method = rows[0]["method"]
    key = _ranking_key(method)
    shown = sorted(rows, key=lambda r: -r[key])[:TORNADO_FACTORS][::-1]
    y = np.arange(len(shown))
    names = [r["factor"] for r in shown]
    if method == "sobol":
        ax.barh(y, [r["ST"] for r in shown], xerr=[r["ST_conf"] for r in shown], color="#9ecae1",
                label="total order ST", error_kw={"elinewidth": 0.8})
        ax.barh(y, [r["S1"] for r in shown], height=0.45, color="#08519c", label="first order S1")
        share = rows[0]["noise_share"]
        if np.isfinite(share):
            ax.axvline(share, color="0.3", ls="--", lw=0.9, label=f"replicate noise share {share:.2f}")
        ax.set_xlabel("share of the variance of the replicate means (1)")
    else:
        ax.barh(y, [r["mu_star"] for r in shown], xerr=[r["mu_star_conf"] for r in shown], color="#9ecae1",
                label="μ* (mean |elementary effect|)", error_kw={"elinewidth": 0.8})
        ax.plot([r["sigma"] for r in shown], y, "o", color="#08519c", ms=3.5, label="σ (interactions, non-linearity)")
        floor = rows[0]["mu_star_noise_floor"]
        if np.isfinite(floor):
            ax.axvline(floor, color="0.3", ls="--", lw=0.9, label="noise floor of μ*")
        ax.set_xlabel(f"{rows[0]['outcome_units']} per unit of the design scale")
    ax.set_yticks(y, names, fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=6.5, loc="lower right")
    ax.set_title(title, fontsize=9)
    return ax


def write_tornados(result: SensitivityResult, folder: Path, labels: Mapping[str, str] | None = None) -> list[Path]:
    """One figure per target, a panel per output (value, probability); PNG and SVG."""
    from matplotlib.figure import Figure

    from sim.chart_text import language_context
    from sim.plots import save

    labels = labels or {}
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    targets = list(dict.fromkeys(o.target for o in result.outputs))
    with language_context("en"):
        for target in targets:
            outputs = [o for o in result.outputs if o.target == target]
            fig = Figure(figsize=(5.6 * len(outputs), 4.8), layout="constrained")
            axes = fig.subplots(1, len(outputs), squeeze=False)[0]
            for ax, out in zip(axes, outputs, strict=True):
                chosen = [r for r in result.rows if r["target"] == target and r["outcome"] == out.kind]
                tornado(chosen, title=out.label, ax=ax)
            heading = f"{target} {labels.get(target, '')}".strip()
            fig.suptitle(_shorten(heading, 110) + f" — {result.design.method}", fontsize=10)
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in target)
            paths += save(fig, folder / f"tornado-{safe}")
    return paths


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_text(result: SensitivityResult) -> str:
    """Top factors per target and output, with the noise share (what the command prints)."""
    lines = []
    method = result.design.method
    for out in result.outputs:
        chosen = [r for r in result.rows if r["target"] == out.target and r["outcome"] == out.kind]
        if not chosen:
            continue
        head = f"{out.target} {out.kind} ({out.label})"
        if chosen[0].get("note"):
            lines.append(f"{head}: {chosen[0]['note']}")
            continue
        share = chosen[0]["noise_share"]
        tops = top_factors(result.rows, out.target, out.kind)
        if method == "sobol":
            parts = [f"{r['factor']} ST={r['ST']:.2f}±{r['ST_conf']:.2f} S1={r['S1']:.2f}" for r in tops]
        else:
            parts = [f"{r['factor']} μ*={r['mu_star']:.3g}±{r['mu_star_conf']:.2g} {r['outcome_units']}" for r in tops]
        noise = f"replicate noise share {share:.2f}"
        if method == "morris":
            noise += f", noise floor of μ* {chosen[0]['mu_star_noise_floor']:.2g}"
        if share >= NOISY:
            noise += (" — mostly noise, indices unreliable: raise --replicates, or add the uncertainty that drives it "
                      "to --factors (those not studied vary draw by draw)")
        lines.append(f"{head}: " + "; ".join(parts) + f" | {noise}")
    return "\n".join(lines) + "\n"


METHOD_TEXT = {"sobol": sobol.TEXT, "morris": morris.TEXT}


def readme_text(result: SensitivityResult, heading: str, details: Mapping[str, Any]) -> str:
    """``sensitivity.md``: what was run, how to read the columns, top factors."""
    d = result.design
    lines = [f"# Sensitivity: {heading}", "",
             f"Method: {METHOD_TEXT[d.method]}", "",
             *(f"- {k}: {v}" for k, v in details.items()),
             f"- design points: {d.n_points} (base size {d.n}, {len(d.factors)} factors), "
             f"replicates per point: {result.y.shape[1]}", "",
             "## Columns of indices.csv", "",
             "- `outcome`: `value` = the target metric's value (units in `outcome_units`; for a yearly target the "
             "worst year of the window); `probability` = share of a point's replicates meeting the target (0–1).",
             "- Sobol': `S1`, `ST` and their 95% half-widths `*_conf` are shares (1) of the variance of the replicate "
             "means; `S1_parameters`, `ST_parameters` rescale them to the variance of the parameter effects alone "
             "(replicate noise removed, see the docstring of sim/sensitivity/__init__.py).",
             "- Morris: `mu`, `mu_star` (95% half-width `mu_star_conf`), `sigma` and `mu_star_noise_floor` in "
             "`outcome_units` per unit of the design scale.",
             "- `variance_of_means` (outcome units²): variance of the replicate means over the design; "
             "`noise_variance` (outcome units²): mean within-point variance of one draw; `noise_share` (1): "
             "noise_variance / replicates / variance_of_means.", "",
             "## Top factors", "", "```", summary_text(result).rstrip(), "```", ""]
    return "\n".join(lines)


def write_results(out_dir: Path, result: SensitivityResult, *, heading: str, details: Mapping[str, Any],
                  files: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None,
                  figures: bool = True, overwrite: bool = False) -> Path:
    """``indices.csv``, ``design.csv``, ``outcomes.csv``, ``sensitivity.md``, ``files`` and tornado charts."""
    from sim.output import write_folder_atomically

    def write(tmp: Path) -> None:
        (tmp / "indices.csv").write_text(indices_csv(result.rows, result.design.method), encoding="utf-8")
        (tmp / "design.csv").write_text(design_csv(result.design, result.first_draw), encoding="utf-8")
        (tmp / "outcomes.csv").write_text(outcomes_csv(result.y, result.outputs), encoding="utf-8")
        (tmp / "sensitivity.md").write_text(readme_text(result, heading, details), encoding="utf-8")
        for name, text in (files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if figures:
            write_tornados(result, tmp / "figures", labels)

    return write_folder_atomically(out_dir, write, overwrite=overwrite)


# ------------------------------------------------------------------------------------------------------------
# provenance


def provenance_record(scenario: Scenario, *, text: str, method: str, n: int, replicates: int, area: str,
                      design: Design, last_draw: int, factors: Sequence[Factor], lever_levels: int | None,
                      scenario_file: str | None, skipped: Sequence[str], started: datetime,
                      finished: datetime, **extra: Any) -> dict[str, Any]:
    """``provenance.json``: the options, the factors, the draws used, the scenario's hash, versions and times."""
    from sim.output import git_commit, package_versions, scenario_hash

    return {
        "command": "sensitivity", "method": method, "n": n, "replicates": replicates, "area": area,
        "design_points": design.n_points, "draws_used": design.n_points * replicates, "last_draw_index": last_draw,
        "factors": [{"name": f.name, "kind": f.kind, "units": f.units, "spec": f.spec} for f in factors],
        "lever_levels": lever_levels,
        "seed": scenario.seed, "scenario_name": scenario.name, "scenario_file": scenario_file,
        "scenario_sha256": scenario_hash(text), "target_set": str(scenario.targets), "targets_skipped": list(skipped),
        "git_commit": git_commit(), "versions": {**package_versions(), "SALib": _salib_version()},
        "argv": sys.argv, "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"), **extra,
    }


def run_details(scenario: Scenario, area: str, factors: Sequence[Factor], draws: int,
                skipped: Sequence[str]) -> dict[str, str]:
    """The lines of ``sensitivity.md`` that say what was run."""
    details = {
        "scenario": f"{scenario.name} (seed {scenario.seed}, {scenario.start_year}–{scenario.horizon}, "
                    f"counties: {_counties_text(scenario)})",
        "area": area,
        "factors": ", ".join(f"{f.name} [{f.spec}]" for f in factors),
        "draws": f"{draws} (point i, replicate r → draw first_draw(i) + r; design.csv)",
    }
    if skipped:
        details["targets skipped"] = "; ".join(skipped)
    return details


def _salib_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("SALib")
    except metadata.PackageNotFoundError:
        return "not installed"


def _counties_text(scenario: Scenario) -> str:
    chosen = scenario.baseline.counties
    return chosen if isinstance(chosen, str) else ", ".join(str(c) for c in chosen)
