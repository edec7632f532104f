"""``edusim diagnose``: which counties hold the region back, and what binds in each (the plan's 一縣一策).

For every county, from ``results.nc``:

- the probability of being recognised quality-balanced by 2027 and by 2035 (share of draws in which
  ``quality_balanced`` is 1 in some year up to then; ``NaN`` when the year is outside the run);
- the median year first recognised (lower median over draws; empty when fewer than half the draws reach it by
  the horizon, as in ``targets.csv``);
- the **binding constraint** in the diagnosis year (default 2027, or the horizon if earlier): among the draws in
  which the county is not ready (``resource_ready == 0`` or ``guarantee_met == 0``), the constraint that fails
  in the largest share of them. Constraints are: an indicator with sections below its threshold
  (``failing_sections_below > 0``: ``below:<indicator>``), an indicator whose coefficient of variation exceeds
  its limit at a level (``cv_over_limit``: ``cv:<indicator>:<level>``), and a simulated government-guarantee
  rule (``guarantee_failed``: ``rule:<rule>``). Ties go to the larger mean number of failing sections (then to
  the order above).

Counties are listed worst first: by the probability by 2035 (or by the last year of the run when 2035 is
outside it), then by 2027.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from sim.chart_text import Lang
from sim.errors import InputError
from sim.outcomes import median_first_year

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CountyDiagnosis", "binding_constraints", "diagnose", "diagnosis_csv"]

#: Years at which the probability of quality-balanced status is reported (the plan's 2027 and 2035 targets).
YEARS = (2027, 2035)


@dataclass(frozen=True)
class CountyDiagnosis:
    county: str
    name: str
    south: bool
    probability_by: dict[int, float]
    median_year: int | None
    not_ready_share: float
    """share of draws in which the county is not ready in the diagnosis year"""
    binding: str
    """the binding constraint (``below:…``, ``cv:…:…``, ``rule:…``), or ``none`` when always ready"""
    binding_share: float
    """share of the not-ready draws in which it fails"""
    second: str
    second_share: float


def binding_constraints(results: xr.Dataset, year: int) -> list[list[tuple[str, float, float]]]:
    """Per county: every constraint with (share of not-ready draws failing it, mean failing sections), ranked.

    Returns one list per county (in ``results`` order), most binding first; empty when the county is ready
    in every draw.
    """
    at = results.sel(year=year)
    not_ready = (at["resource_ready"].values == 0) | (at["guarantee_met"].values == 0)  # (draw, county)
    below = at["failing_sections_below"].transpose("draw", "county", "indicator").values.astype(float)
    cv = at["cv_over_limit"].transpose("draw", "county", "level", "indicator").values.astype(bool)
    rules = at["guarantee_failed"].transpose("draw", "county", "guarantee_rule").values.astype(bool)
    indicators = [str(i) for i in results["indicator"].values]
    levels = [str(v) for v in results["level"].values]
    rule_names = [str(r) for r in results["guarantee_rule"].values]
    out: list[list[tuple[str, float, float]]] = []
    for c in range(not_ready.shape[1]):
        rows = not_ready[:, c]
        n = int(rows.sum())
        if n == 0:
            out.append([])
            continue
        cands: list[tuple[str, float, float, int]] = []
        order = 0
        for i, ind in enumerate(indicators):
            failing = below[rows, c, i]
            cands.append((f"below:{ind}", float((failing > 0).mean()), float(failing.mean()), order))
            order += 1
        for lv, level in enumerate(levels):
            for i, ind in enumerate(indicators):
                cands.append((f"cv:{ind}:{level}", float(cv[rows, c, lv, i].mean()), 0.0, order))
                order += 1
        for r, rule in enumerate(rule_names):
            cands.append((f"rule:{rule}", float(rules[rows, c, r].mean()), 0.0, order))
            order += 1
        cands.sort(key=lambda x: (-x[1], -x[2], x[3]))
        out.append([(name, share, mean) for name, share, mean, _ in cands])
    return out


def diagnose(results: xr.Dataset, year: int | None = None) -> list[CountyDiagnosis]:
    """Every county, worst first (see the module docstring)."""
    years = results["year"].values
    if year is None:
        year = min(YEARS[0], int(years[-1]))
    if year not in years:
        raise InputError(f"year {year} is outside the run ({years[0]}–{years[-1]})", key="--year")
    qb = results["quality_balanced"].transpose("draw", "year", "county").values.astype(bool)
    ranked = binding_constraints(results, year)
    at = results.sel(year=year)
    not_ready = ((at["resource_ready"].values == 0) | (at["guarantee_met"].values == 0)).mean(axis=0)
    names = results["county_name"].values
    south = results["county_south"].values.astype(bool)
    out = []
    sort_keys: dict[str, tuple[float, float, str]] = {}
    for c, code in enumerate(results["county"].values):
        by = {}
        for y in YEARS:
            window = years <= y
            by[y] = float(qb[:, window, c].any(axis=1).mean()) if y <= years[-1] and window.any() else float("nan")
        ranks = ranked[c]
        first = ranks[0] if ranks else ("none", 0.0, 0.0)
        second = ranks[1] if len(ranks) > 1 else ("", 0.0, 0.0)
        out.append(CountyDiagnosis(
            str(code), str(names[c]), bool(south[c]), by, median_first_year(qb[:, :, c], years),
            float(not_ready[c]), first[0], first[1], second[0], second[1],
        ))
        by_horizon = float(qb[:, :, c].any(axis=1).mean())  # when 2035 (or 2027) is outside the run
        late = by[YEARS[1]] if by[YEARS[1]] == by[YEARS[1]] else by_horizon
        early = by[YEARS[0]] if by[YEARS[0]] == by[YEARS[0]] else by_horizon
        sort_keys[str(code)] = (late, early, str(code))
    return sorted(out, key=lambda d: sort_keys[d.county])


def describe_constraint(name: str, lang: Lang = "en") -> str:
    """Plain words for a constraint name."""
    from sim.chart_text import indicator_name, text

    kind, _, rest = name.partition(":")
    if kind == "below":
        return (f"schools below the {indicator_name(rest, lang)} threshold" if lang == "en"
                else f"學校{indicator_name(rest, lang)}未達標")
    if kind == "cv":
        ind, _, level = rest.partition(":")
        return (f"{indicator_name(ind, lang)}: CV over the limit ({text(level, lang)})" if lang == "en"
                else f"{indicator_name(ind, lang)}校際差異系數超標({text(level, lang)})")
    if kind == "rule":
        words = {"rotation_share": ("rotation below 10% of eligible teachers", "交流輪崗比例不足10%"),
                 "backbone_share_of_rotated": ("backbone share of rotated below 20%", "骨幹教師佔交流輪崗比例不足20%"),
                 "class_size": ("class size over the limit", "班額超標"),
                 "school_size": ("school size over the limit", "學校規模超標")}
        en, zh = words.get(rest, (rest, rest))
        return en if lang == "en" else zh
    return "ready in every draw" if lang == "en" else "所有抽樣均達標"


def diagnosis_csv(rows: Sequence[CountyDiagnosis]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["county", "name", "south", "probability_by_2027", "probability_by_2035", "median_year",
                     "not_ready_share", "binding_constraint", "binding_share", "second_constraint", "second_share",
                     "binding_in_words"])
    for d in rows:
        writer.writerow([
            d.county, d.name, int(d.south), _num(d.probability_by[YEARS[0]]), _num(d.probability_by[YEARS[1]]),
            "" if d.median_year is None else d.median_year, f"{d.not_ready_share:.4f}", d.binding,
            f"{d.binding_share:.4f}", d.second, f"{d.second_share:.4f}", describe_constraint(d.binding),
        ])
    return buffer.getvalue()


def _num(x: float) -> str:
    return "" if x != x else f"{x:.4f}"


def diagnosis_table(rows: Sequence[CountyDiagnosis], top: int | None = None) -> str:
    """Markdown table of the worst ``top`` counties."""
    lines = ["| county | P(by 2027) | P(by 2035) | median year | binding constraint (share of not-ready draws) |",
             "|---|---|---|---|---|"]
    for d in rows[:top] if top else rows:
        p27, p35 = (("n/a" if p != p else f"{100 * p:.0f}%") for p in (d.probability_by[2027], d.probability_by[2035]))
        year = d.median_year if d.median_year is not None else "not by horizon"
        lines.append(f"| {d.county} {d.name}{' (south)' if d.south else ''} | {p27} | {p35} | {year} | "
                     f"{describe_constraint(d.binding)} ({100 * d.binding_share:.0f}%) |")
    return "\n".join(lines) + "\n"


def diagnosis_chart(rows: Sequence[CountyDiagnosis], *, ax: Axes | None = None, lang: Lang = "en",
                    top: int = 30) -> Axes:
    """Horizontal bars: probability by 2027 and by 2035 of the worst ``top`` counties, labelled with the binding
    constraint. Returns the Axes (bars of year ``y`` carry ``gid`` ``diagnose-<y>``)."""
    from matplotlib.ticker import PercentFormatter

    from sim.plots import new_axes

    shown = list(rows[:top])
    axes = ax if ax is not None else new_axes((9.0, 0.32 * len(shown) + 1.5))
    y = np.arange(len(shown))
    for k, year in enumerate(YEARS):
        values = np.array([d.probability_by[year] for d in shown], float)
        bars = axes.barh(y + (k - 0.5) * 0.38, np.nan_to_num(values), height=0.38, color=f"C{k}",
                         label=("by " if lang == "en" else "至") + str(year))
        for bar in bars:
            bar.set_gid(f"diagnose-{year}")
    # county names are Chinese: shown only with a CJK font (lang zh), so English charts never draw boxes
    axes.set_yticks(y, [f"{d.name} {d.county}" if lang == "zh" else f"{d.county}{' (south)' if d.south else ''}"
                        for d in shown], fontsize="x-small")
    for i, d in enumerate(shown):
        axes.text(1.01, i, describe_constraint(d.binding, lang), va="center", fontsize="xx-small",
                  transform=axes.get_yaxis_transform())
    axes.set_ylim(len(shown) - 0.5, -0.5)
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("probability of quality-balanced status" if lang == "en" else "實現優質均衡的概率")
    axes.set_title("Counties furthest from quality balance, and what binds" if lang == "en"
                   else "距優質均衡最遠的縣及其制約因素(一縣一策)")
    axes.legend(fontsize="small", loc="lower right")
    fig = axes.get_figure(root=True)
    if ax is None and fig is not None:
        fig.subplots_adjust(left=0.22, right=0.62)
    return axes


def write_diagnosis(rows: Sequence[CountyDiagnosis], out_dir: Path, lang: Lang = "en",
                    formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    from sim.chart_text import language_context
    from sim.plots import save

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "diagnose.csv").write_text(diagnosis_csv(rows), encoding="utf-8")
    with language_context(lang):
        ax = diagnosis_chart(rows, lang=lang)
        fig = ax.get_figure(root=True)
        paths = save(fig, out_dir / "diagnose", formats) if fig is not None else []
    return [out_dir / "diagnose.csv", *paths]
