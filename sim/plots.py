"""Fan charts and target-probability charts from an ensemble (``results.nc``).

A fan chart shows, for every year, nested equal-tailed bands of a series over the draws (5–95, 10–90 and
25–75 percentiles: 90%, 80% and 50% of the draws) and the median; the history years (before the plan year,
run under the historical policy) are shaded; each target on the series is drawn at its year and threshold.
The key series (:data:`SERIES`) are computed from ``results.nc`` by :func:`series_values`, one value per draw
and year for an area (``region`` or ``south``).

Every plot function takes ``ax=None`` (a new figure when ``None``) and returns the Axes; none calls
``plt.show()``. Figures are built on :class:`matplotlib.figure.Figure` (Agg canvas), never through
``pyplot``, so nothing here touches global matplotlib state, and matplotlib is imported only when a chart is
drawn, never when ``sim`` is imported.

Labels in English and Chinese and the font that draws Chinese are in :mod:`sim.chart_text`; reading a run
folder back is :mod:`sim.rundir`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from sim.chart_text import Lang, indicator_name, language_context, text
from sim.scenario import PLAN_YEAR

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.targets import Target

__all__ = [
    "BANDS",
    "SERIES",
    "cv_figure",
    "difference_chart",
    "fan_chart",
    "fan_figure",
    "new_axes",
    "save",
    "series_values",
    "target_probability_chart",
    "write_figures",
]

#: Nested equal-tailed bands (lower, upper percentile), widest first, and their fill opacity.
BANDS: tuple[tuple[float, float], ...] = ((5.0, 95.0), (10.0, 90.0), (25.0, 75.0))
_BAND_ALPHA = (0.18, 0.28, 0.45)


# ---------------------------------------------------------------------------------------------------------
# Series


@dataclass(frozen=True)
class Series:
    """A key series of the fan charts.

    Attributes
    ----------
    name
        File-name stem and key.
    title
        Title in English and Chinese.
    units
        Y-axis label in English and Chinese.
    metric
        The target metric it shows (targets on this metric are drawn), or ``None``.
    percent
        Whether the values are shares drawn as percentages.
    """

    name: str
    title: dict[str, str]
    units: dict[str, str]
    metric: str | None = None
    percent: bool = False


#: The key series drawn by ``edusim run`` and ``edusim plot`` (CV series are added per indicator and level).
SERIES: tuple[Series, ...] = (
    Series("quality_balanced", {"en": "Counties quality-balanced", "zh": "實現優質均衡的縣"},
           {"en": "share of counties", "zh": "縣的比例"}, "share_counties_quality_balanced", True),
    Series("quality_school_share", {"en": "Quality-school share", "zh": "優質學校佔比"},
           {"en": "share of schools", "zh": "學校比例"}, "quality_school_share", True),
    Series("vacancy_rate", {"en": "Teacher vacancies against the staffing norm", "zh": "教師缺編(相對編制標准)"},
           {"en": "vacant posts / required posts", "zh": "缺編數/應配編制數"}, None, True),
    Series("students_per_teacher", {"en": "Students per teacher", "zh": "生師比"},
           {"en": "pupils per teacher counted for the norm", "zh": "每名教師對應學生數"}),
    Series("rotated", {"en": "Teachers rotated this year", "zh": "當年交流輪崗教師"},
           {"en": "teachers", "zh": "人"}),
    Series("dispatched_in_post", {"en": "Dispatched teachers in post", "zh": "在崗援疆、銀齡及西部計劃教師"},
           {"en": "teachers", "zh": "人"}),
    Series("class_size_primary", {"en": "Mean primary class size", "zh": "小學平均班額"},
           {"en": "pupils per class (norm ≤ 45)", "zh": "人/班(標准≤45)"}),
    Series("class_size_junior", {"en": "Mean junior-secondary class size", "zh": "初中平均班額"},
           {"en": "pupils per class (norm ≤ 50)", "zh": "人/班(標准≤50)"}),
    Series("school_size", {"en": "Mean school size", "zh": "平均學校規模"},
           {"en": "pupils per school with pupils", "zh": "人/校"}),
)
_SERIES_BY_NAME = {s.name: s for s in SERIES}


def series_values(results: xr.Dataset, name: str, area: str) -> xr.DataArray:
    """Values (draw, year) of the key series ``name`` for ``area`` (``region`` or ``south``).

    ``name`` is a :data:`SERIES` name or ``cv:<indicator>:<level>``, the median over the area's counties of
    the county coefficient of variation of that indicator and level (counties without such schools left out).
    Vacancy rate = ``vacancies_area / staffing_requirement_area``; students per teacher =
    ``students_area / teachers_counted_area``; class size = ``students_LEVEL_area / classes_LEVEL_area``; school
    size = ``students_area / schools_area``.
    """
    if name.startswith("cv:"):
        _, indicator, level = name.split(":")
        cv = results["indicator_cv"].sel(indicator=indicator, level=level)
        if area == "south":
            cv = cv.isel(county=np.flatnonzero(results["county_south"].values.astype(bool)))
        values = cv.values.astype(float)
        out = np.full(values.shape[:2], np.nan)
        has = np.isfinite(values).any(axis=2)
        if has.any():
            out[has] = np.nanmedian(values[has], axis=-1)
        return xr.DataArray(out, dims=("draw", "year"), coords={"draw": cv["draw"], "year": cv["year"]})

    def area_of(var: str) -> xr.DataArray:
        return results[var].sel(area=area).astype(float)

    if name == "quality_balanced":
        da = area_of("share_counties_quality_balanced")
    elif name == "quality_school_share":
        da = area_of("quality_school_share")
    elif name == "vacancy_rate":
        da = _safe_ratio(area_of("vacancies_area"), area_of("staffing_requirement_area"))
    elif name == "students_per_teacher":
        da = _safe_ratio(area_of("students_area"), area_of("teachers_counted_area"))
    elif name in ("rotated", "dispatched_in_post"):
        da = area_of(f"{name}_area")
    elif name in ("class_size_primary", "class_size_junior"):
        level = name.removeprefix("class_size_")
        da = _safe_ratio(area_of(f"students_{level}_area"), area_of(f"classes_{level}_area"))
    elif name == "school_size":
        da = _safe_ratio(area_of("students_area"), area_of("schools_area"))
    else:
        raise KeyError(name)
    return da.drop_vars("area", errors="ignore").transpose("draw", "year")


def _safe_ratio(num: xr.DataArray, den: xr.DataArray) -> xr.DataArray:
    return xr.where(den > 0, num / den.where(den > 0), np.nan)


def band_edges(values: np.ndarray, bands: Sequence[tuple[float, float]] = BANDS) -> dict[str, np.ndarray]:
    """Percentiles over draws (axis 0) of ``values`` (draw, year): ``{"p5": …, "p50": …, …}``.

    NaN draws are left out (``numpy.nanpercentile``, linear interpolation); a year with no value gives NaN.
    """
    qs = sorted({50.0, *(q for band in bands for q in band)})
    out: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        for q in qs:
            out[f"p{q:g}"] = np.nanpercentile(values, q, axis=0) if values.size else np.array([])
    return out


@contextlib.contextmanager
def _quiet_nan_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All-NaN slice encountered", category=RuntimeWarning)
        yield


# ---------------------------------------------------------------------------------------------------------
# Figures


def new_axes(figsize: tuple[float, float] = (7.0, 4.2)) -> Axes:
    """A fresh Axes on its own :class:`~matplotlib.figure.Figure` (no pyplot, Agg canvas)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.13)
    return fig.add_subplot()


def save(fig: Figure, stem: Path, formats: Sequence[str] = ("png", "svg"), dpi: int = 110) -> list[Path]:
    """Save ``fig`` as ``stem.png``, ``stem.svg`` …; return the paths."""
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        paths.append(path)
    return paths


def _metadata(fmt: str) -> dict[str, Any] | None:
    # no creation dates, so the same run gives the same files
    if fmt == "svg":
        return {"Date": None}
    if fmt == "png":
        return {"Software": None}
    return None


# ---------------------------------------------------------------------------------------------------------
# Fan charts


@dataclass(frozen=True)
class TargetMark:
    """A target drawn on a chart: at ``year`` (or from ``year`` on when ``each_year``) and ``threshold``."""

    label: str
    year: int
    threshold: float
    each_year: bool = False


def target_marks(targets: Sequence[Target], metric: str | None, area: str, horizon: int,
                 lang: Lang = "en", percent: bool = True) -> list[TargetMark]:
    """The targets on ``metric`` judged in ``area`` and within the run, as marks (a target judged under another
    reading of 優質學校, ``quality_school:``, is not drawn on the chart of the metric)."""
    marks = []
    for t in targets:
        if metric is None or t.variable != metric or area not in t.scope:
            continue
        year = t.year if t.year is not None else t.each_year_from
        if year is None or year > horizon:
            continue
        value = f"{100 * t.threshold:g}%" if percent else f"{t.threshold:g}"
        key = "target" if t.year is not None else "target_each"
        marks.append(TargetMark(text(key, lang, id=t.id, cmp=t.comparison.replace(">=", "≥").replace("<=", "≤"),
                                     value=value, year=year), year, t.threshold, t.year is None))
    return marks


def fan_chart(
    years: Sequence[int] | np.ndarray,
    values: np.ndarray,
    *,
    ax: Axes | None = None,
    color: str = "C0",
    label: str | None = None,
    bands: Sequence[tuple[float, float]] = BANDS,
    history_until: int | None = PLAN_YEAR - 1,
    targets: Sequence[TargetMark] = (),
    percent: bool = False,
    lang: Lang = "en",
    title: str | None = None,
    ylabel: str | None = None,
    legend: bool = True,
) -> Axes:
    """Draw nested percentile bands and the median of ``values`` (draw, year) against ``years``.

    Parameters
    ----------
    years
        School years (x axis).
    values
        One row per draw, one column per year (NaN draws left out of the percentiles).
    ax
        Axes to draw on; a new figure when ``None``.
    color
        Colour of the bands and the median.
    label
        Prefix of the legend entries (the scenario name when several fans share an Axes).
    bands
        (lower, upper) percentiles, widest first; each is a ``fill_between`` whose label names it.
    history_until
        Last history year (run under the historical policy); years up to it are shaded. ``None``: no shading.
    targets
        Targets drawn at their year and threshold (a marker, or a line from the year on for yearly targets).
    percent
        Values are shares (0–1) shown as percentages.

    Returns
    -------
    The Axes. The band collections carry ``gid`` ``band-<lo>-<hi>`` and the median line ``gid`` ``median``.
    """
    from matplotlib.ticker import PercentFormatter

    ax = ax if ax is not None else new_axes()
    x = np.asarray(years)
    v = np.asarray(values, dtype=float)
    edges = band_edges(v, bands)
    prefix = f"{label}: " if label else ""
    if history_until is not None and x.size and x[0] <= history_until:
        hist_line = ax.axvspan(x[0], min(history_until, x[-1]), color="0.88", zorder=0, lw=0,
                               label=text("history", lang, last=history_until))
        if ax.get_legend_handles_labels()[1].count(hist_line.get_label()) > 1:
            hist_line.set_label("_nolegend_")
    alphas = _BAND_ALPHA if len(bands) == len(_BAND_ALPHA) else np.linspace(0.18, 0.45, len(bands))
    for (lo, hi), alpha in zip(bands, alphas, strict=True):
        coll = ax.fill_between(x, edges[f"p{lo:g}"], edges[f"p{hi:g}"], color=color, alpha=alpha, lw=0,
                               label=prefix + text("band", lang, width=hi - lo, lo=lo, hi=hi))
        coll.set_gid(f"band-{lo:g}-{hi:g}")
    (median,) = ax.plot(x, edges["p50"], color=color, lw=2, label=prefix + text("median", lang, n=v.shape[0]))
    median.set_gid("median")
    for i, mark in enumerate(targets):
        tc = f"C{(3 + i) % 10}"
        if mark.each_year:
            ax.hlines(mark.threshold, mark.year, x[-1], colors=tc, linestyles="--", lw=1.5, label=mark.label)
        else:
            ax.plot([mark.year], [mark.threshold], marker="D", ms=8, color=tc, ls="none", label=mark.label,
                    zorder=5)
            ax.axhline(mark.threshold, color=tc, lw=0.8, ls=":", zorder=1)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(text("year", lang))
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if x.size:
        ax.set_xlim(x[0], x[-1])
        ax.set_xticks(_year_ticks(x))
    ax.grid(True, lw=0.3, alpha=0.6)
    if legend:
        ax.legend(fontsize="x-small", loc="upper left")
    return ax


def _year_ticks(x: np.ndarray) -> list[int]:
    step = max(1, int(np.ceil((x[-1] - x[0] + 1) / 8)))
    return [int(y) for y in x[::step]]


def difference_chart(
    years: Sequence[int] | np.ndarray, values: np.ndarray, *, ax: Axes | None = None, label: str = "",
    percent: bool = False, lang: Lang = "en", title: str | None = None, ylabel: str | None = None,
) -> Axes:
    """Fan of a per-draw difference (policy minus baseline, paired by draw) with the zero line."""
    ax = fan_chart(years, values, ax=ax, color="C2", label=label, percent=percent, lang=lang, title=title,
                   ylabel=ylabel, legend=False)
    ax.axhline(0.0, color="k", lw=0.8, label=text("zero", lang))
    ax.legend(fontsize="x-small", loc="upper left")
    return ax


# ---------------------------------------------------------------------------------------------------------
# Target probabilities


def target_probability_chart(rows: Sequence[dict[str, str]], *, ax: Axes | None = None, lang: Lang = "en",
                             scopes: Sequence[str] = ("region", "south"), title: str | None = None) -> Axes:
    """Probability of each target with its 95% interval, one marker per scope, from ``targets.csv`` rows.

    Returns the Axes; the error bars of scope ``s`` carry ``gid`` ``probability-<s>``. Targets that were not
    computed are listed with the reason in place of a marker.
    """
    from matplotlib.ticker import PercentFormatter

    targets = list(dict.fromkeys(r["target"] for r in rows))
    ax = ax if ax is not None else new_axes((7.0, 0.45 * len(targets) + 1.6))
    by_key = {(r["target"], r["scope"]): r for r in rows}
    offsets = np.linspace(-0.18, 0.18, len(scopes)) if len(scopes) > 1 else np.zeros(1)
    for k, scope in enumerate(scopes):
        ys, ps, lows, highs = [], [], [], []
        for i, target in enumerate(targets):
            r = by_key.get((target, scope))
            if r is None or r["probability"] == "":
                continue
            ys.append(i + offsets[k])
            ps.append(float(r["probability"]))
            lows.append(float(r["ci95_low"]))
            highs.append(float(r["ci95_high"]))
        if not ys:
            continue
        p = np.array(ps)
        err = np.vstack([p - np.array(lows), np.array(highs) - p])
        container = ax.errorbar(p, ys, xerr=err, fmt="o", color=f"C{k}", capsize=3, label=text(scope, lang))
        container.lines[0].set_gid(f"probability-{scope}")
    for i, target in enumerate(targets):
        if all(by_key.get((target, s), {}).get("probability", "") == "" for s in scopes):
            ax.text(0.5, i, text("not_computed", lang), ha="center", va="center", fontsize="small", color="0.4")
    ax.set_yticks(range(len(targets)), targets)
    ax.set_ylim(len(targets) - 0.5, -0.5)
    ax.set_xlim(-0.02, 1.02)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    for x, c in ((0.5, "#d9822b"), (0.8, "#2e8b57")):
        ax.axvline(x, color=c, lw=0.6, ls=":")
    ax.set_xlabel(text("probability", lang))
    ax.set_title(title or text("target_chart", lang))
    ax.grid(True, axis="x", lw=0.3, alpha=0.6)
    ax.legend(fontsize="small", loc="lower right")
    return ax


# ---------------------------------------------------------------------------------------------------------
# The figures of a run


AREA_NAMES = ("region", "south")


def _has_area(results: xr.Dataset, area: str) -> bool:
    if area == "south":
        return bool(np.asarray(results["county_south"].values).astype(bool).any())
    return True


def fan_figure(results: xr.Dataset, name: str, targets: Sequence[Target] = (), lang: Lang = "en") -> Figure:
    """One key series, region and south side by side."""
    from matplotlib.figure import Figure

    spec = _SERIES_BY_NAME[name]
    areas = [a for a in AREA_NAMES if _has_area(results, a)]
    fig = Figure(figsize=(6.0 * len(areas), 4.4))
    fig.subplots_adjust(left=0.08 * 2 / len(areas), right=0.98, top=0.86, bottom=0.12, wspace=0.08)
    axes = fig.subplots(1, len(areas), sharey=True, squeeze=False)[0]
    years = results["year"].values
    for ax, area in zip(axes, areas, strict=True):
        marks = target_marks(targets, spec.metric, area, int(years[-1]), lang, spec.percent)
        fan_chart(years, series_values(results, name, area).values, ax=ax, targets=marks, percent=spec.percent,
                  lang=lang, title=text(area, lang), ylabel=spec.units[lang], legend=ax is axes[-1])
    fig.suptitle(spec.title[lang])
    return fig


def cv_figure(results: xr.Dataset, area: str, lang: Lang = "en") -> Figure:
    """The seven indicators' county CV (median over the area's counties), primary and junior overlaid.

    One panel per indicator; primary in C0, junior in C1, each with its limit (0.50 / 0.45, 教督〔2017〕6號).
    """
    from matplotlib.figure import Figure

    from sim.mechanisms.assessment import INDICATORS

    limits = {"primary": 0.50, "junior": 0.45}
    fig = Figure(figsize=(15.0, 6.2))
    fig.subplots_adjust(left=0.04, right=0.99, top=0.86, bottom=0.2, wspace=0.3, hspace=0.5)
    axes = fig.subplots(2, 4, squeeze=False).ravel()
    years = results["year"].values
    for ax, indicator in zip(axes, INDICATORS, strict=False):
        for k, level in enumerate(("primary", "junior")):
            fan_chart(years, series_values(results, f"cv:{indicator}:{level}", area).values, ax=ax, lang=lang,
                      color=f"C{k}", label=text(level, lang), legend=False)
            ax.axhline(limits[level], color=f"C{k}", ls="--", lw=1,
                       label=f"{text(level, lang)}: {text('cv_limit', lang, value=limits[level])}")
        ax.set_title(indicator_name(indicator, lang), fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_xlabel("")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].set_axis_off()
    axes[-1].legend(handles, labels, loc="center", fontsize="x-small")
    fig.suptitle(text("cv_title", lang, area=text(area, lang)))
    return fig


def write_figures(
    results: xr.Dataset,
    rows: Sequence[dict[str, str]],
    targets: Sequence[Target],
    out_dir: str | Path,
    *,
    lang: Lang = "en",
    formats: Sequence[str] = ("png", "svg"),
    on_figure: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write every fan chart and the target-probability chart of a run into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with language_context(lang):
        jobs: list[tuple[str, Callable[[], Any]]] = []
        for spec in SERIES:
            jobs.append((f"fan_{spec.name}", functools.partial(fan_figure, results, spec.name, targets, lang)))
        for area in AREA_NAMES:
            if _has_area(results, area):
                jobs.append((f"fan_indicator_cv_{area}", functools.partial(cv_figure, results, area, lang)))
        jobs.append(("target_probabilities",
                     lambda: target_probability_chart(rows, lang=lang).get_figure(root=True)))
        for stem, make in jobs:
            fig = make()
            written += save(fig, out / stem, formats)
            if on_figure is not None:
                on_figure(out / stem)
    return written
