"""``edusim hindcast``: run the model over the published past and score it against what was published.

A hindcast starts the model in a past school year ``Y0`` from that year's published totals (the registry is
synthesised from them, ``sim.cohort.load_start_registry``), runs every draw to ``Y1`` under the levers of the
scenario (``scenarios/history.yaml``: the levers as they were), and compares the model's series with the
observations of ``calibration/data/observations.csv`` (:mod:`sim.observations`), like with like:

- **years**: both sides count school years at the autumn census date. The NBS provincial education tables (the
  source of every region series, SOURCES.md §1a–1c) give the enrolment, entrants and full-time teachers of the
  school year that starts in the autumn of the year named; the model's ``year`` is that school year
  (``results.nc``: ``year`` in units "school year (autumn)"), and grade-1 entrants of year ``t`` are those who
  start school in the autumn of ``t``. The start year is not scored: the model's state there is built from the
  very figures it would be compared with.
- **scope**: observations with or without the XPCC cities are compared only with a run that includes them or
  not (``baseline.include_xpcc``); observations of unknown scope (all NBS region series) are taken to include
  them, the project's assumption (SOURCES.md, key caveats).
- **area**: ``region`` observations only with a run over all counties; county observations with that county.
- **level**: ``results.nc`` has pupils and full-time teachers per county by level (``students_primary``,
  ``students_junior``, ``teachers_primary``, ``teachers_junior``) and their sums (``students``, ``teachers``):
  each level is compared with its published figure, the sums with the sum of the published primary and junior
  figures (``level = compulsory``, derived here, one row per year in which both are published); grade-1 and
  grade-7 entrants likewise. Schools are counted as the NBS counts them and as the start registry was built
  from those counts (:mod:`sim.registry`): primary schools are the primary-only schools with pupils (teaching
  points and nine-year schools not counted), junior-level schools the junior sections with pupils (junior-only
  and nine-year); the network changes only through ``levers.network`` (:mod:`sim.mechanisms.network`). Series
  the model does not record (pupil–teacher ratios as such, graduates) are listed as **not simulated**, never
  approximated.

Flows are scored where only a bound is published: the teachers recruited over a period, at every level
(preschool and senior high included), bound the model's compulsory-level hires from above
(:data:`PERIOD_BOUNDS`); ``hindcast.md`` gives the model's sum over the period (median, 90% band), the bound and
the share of draws within it, the published yearly recruitment plans as context (plans, not hires), and the
model's hires and exits by year.

The scoreboard gives, per series and for the fitted years (start < year ≤ ``fit_until``) and the held-out years
(year > ``fit_until``) separately, the mean absolute percentage error of the median (MAPE) and the share of
observations inside the 50% (25–75th percentile) and 90% (5–95th) bands of the draws (DESIGN §9).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.scenario import MAX_HORIZON, START_YEAR_RANGE, Scenario, replace, resolved_yaml

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

DEFAULT_FIT_UNTIL = 2016
"""Last fitted year by default: fit 2011–2016, hold out 2017 onwards (issue 13 item 6, DESIGN §9)."""

#: Region series the scoreboard reports (DESIGN §9), whether the model records them or not.
SCOREBOARD_SERIES: tuple[str, ...] = (
    "pupils", "entrants", "fulltime_teachers", "pupil_teacher_ratio", "schools", "graduates", "consolidation_rate",
)

#: Bars for the held-out years (issue 13 item 6): MAPE of the median at most this many percent, per series.
MAPE_BARS: dict[str, float] = {"pupils": 3.0, "fulltime_teachers": 5.0}
#: Bar for the held-out years: the 90% band covers at least this share of the observations.
COVERAGE_90_BAR = 0.80

PERIODS = ("start", "fitted", "held_out")


@dataclass(frozen=True)
class ModelSeries:
    """Where an observed series lives in ``results.nc``.

    ``variable`` is the per-county variable (draw, year, county); the region value is its area total
    ``{variable}_area`` (``how="sum"``) or its area value ``variable`` (``how="mean"``: shares such as the consolidation
    rate, completers ÷ their entry cohort summed over the area's counties).
    """

    series: str
    level: str
    variable: str
    how: str
    label: str
    units: str
    title: str
    flow: bool = False
    """A flow of the year (entrants): the engine records none in the start year, which it does not project."""


MODEL_SERIES: tuple[ModelSeries, ...] = (
    ModelSeries("pupils", "primary", "students_primary", "sum", "pupils, primary", "pupils", "Pupils (primary)"),
    ModelSeries("pupils", "junior", "students_junior", "sum", "pupils, junior secondary", "pupils",
                "Pupils (junior secondary)"),
    ModelSeries("pupils", "compulsory", "students", "sum", "pupils, primary + junior", "pupils",
                "Pupils (primary + junior)"),
    ModelSeries("fulltime_teachers", "primary", "teachers_primary", "sum",
                "full-time teachers, primary (dispatched teachers not counted)", "teachers",
                "Full-time teachers (primary)"),
    ModelSeries("fulltime_teachers", "junior", "teachers_junior", "sum",
                "full-time teachers, junior secondary (dispatched teachers not counted)", "teachers",
                "Full-time teachers (junior secondary)"),
    ModelSeries("fulltime_teachers", "compulsory", "teachers", "sum",
                "full-time teachers, primary + junior (dispatched teachers not counted)", "teachers",
                "Full-time teachers (primary + junior)"),
    ModelSeries("entrants", "primary", "student_entries", "sum", "grade-1 entrants", "pupils", "Grade-1 entrants",
                flow=True),
    ModelSeries("entrants", "junior", "junior_entries", "sum", "grade-7 entrants", "pupils", "Grade-7 entrants",
                flow=True),
    ModelSeries("schools", "primary", "schools_primary_nbs", "sum",
                "primary schools as the NBS counts them (primary-only, with pupils; teaching points and nine-year "
                "schools not counted)", "schools", "Primary schools"),
    ModelSeries("schools", "junior", "schools_junior", "sum",
                "junior-level schools (junior-only and nine-year, with pupils)", "schools", "Junior-level schools"),
    ModelSeries("consolidation_rate", "compulsory", "consolidation_rate", "mean",
                "consolidation rate (completers ÷ their entry cohort, from the simulated flows)", "share",
                "Consolidation rate"),
)

#: Why an observed (series, level) is not compared: what ``results.nc`` lacks.
NOT_SIMULATED: dict[tuple[str, str], str] = {
    ("pupil_teacher_ratio", "primary"): "a ratio of two recorded series; its parts (pupils, teachers by level) are "
                                        "scored instead",
    ("pupil_teacher_ratio", "junior"): "a ratio of two recorded series; its parts (pupils, teachers by level) are "
                                       "scored instead",
    ("graduates", "primary"): "primary completers are not recorded in results.nc",
    ("graduates", "junior"): "results.nc records student_exits = grade-9 completers plus dropouts, not graduates",
}

#: Observed series summed over primary and junior to compare with the model's level totals.
_COMPULSORY_SUMS = ("pupils", "fulltime_teachers")

TABLE_COLUMNS = (
    "series", "level", "area", "scope", "year", "period", "status", "observed", "obs_sd_rel", "median", "p5", "p25",
    "p75", "p95", "inside_50", "inside_90", "abs_pct_error", "model_variable", "source", "note",
)


# ------------------------------------------------------------------------------------------------ the window


def check_window(start: int, until: int, fit_until: int | None = None) -> int:
    """Validate the hindcast window; return the last fitted year.

    Raises
    ------
    InputError
        ``start`` outside 2011–2024, ``until`` not after ``start`` or after 2050, or ``fit_until`` (when given)
        outside ``start``–``until``.
    """
    lo, hi = START_YEAR_RANGE
    if not lo <= start <= hi:
        raise InputError(f"must be a school year in [{lo}, {hi}] (the years the model can start from published "
                         f"totals), got {start}", key="--start")
    if not start < until <= MAX_HORIZON:
        raise InputError(f"must be after --start ({start}) and at most {MAX_HORIZON}, got {until}", key="--until")
    if fit_until is None:
        return DEFAULT_FIT_UNTIL
    if not start <= fit_until <= until:
        raise InputError(f"must be within --start..--until [{start}, {until}], got {fit_until}", key="--fit-until")
    return fit_until


def _period(year: int, start: int, fit_until: int) -> str:
    if year == start:
        return "start"
    return "fitted" if year <= fit_until else "held_out"


def fit_window(scenario: Scenario, start: int, until: int) -> Scenario:
    """``scenario`` run from ``start`` to ``until``, every year-keyed lever moved into the window unchanged in effect.

    A lever group acting from before ``start`` acts from ``start`` (no earlier year is simulated); one acting
    from after ``until`` never acts, which is the engine's default group (``sim.cohort._lever``) acting from
    ``start``; the quota keeps its verification years inside the window; a capital schedule keeps its value at
    ``start`` and its steps inside the window; a pairing schedule keeps its values at ``start`` and ``until``
    (linear in between) and its points inside. A quota first verified after ``until`` is verified in the start
    year only (as every run is), with the interval stretched past the window. Today's scenario rules want every
    such year inside start..horizon; once a lever may start after the horizon (issue 11) most of this becomes
    unnecessary.

    Raises
    ------
    InputError
        The quota's verification schedule cannot be expressed inside the window.
    """
    from sim.scenario import Levers, as_mapping

    data = as_mapping(scenario)
    data["start_year"], data["horizon"] = start, until
    levers = data["levers"]
    defaults = as_mapping_levers(Levers())
    for group in ("rotation", "dispatch", "funding", "retention", "recruitment"):
        year = levers[group]["from_year"]
        if year > until:  # never acts: the engine's default group applies in every year of the window
            levers[group] = {**defaults[group], "from_year": start}
        elif year < start:
            levers[group]["from_year"] = start
    capital = levers["funding"]["capital_cny"]
    if isinstance(capital, dict):
        steps = {start: _step_value(capital, start)}
        steps.update({k: v for k, v in capital.items() if start < k <= until})
        levers["funding"]["capital_cny"] = steps
    pairing = scenario.levers.pairing
    points = {start: pairing.coverage_in(start), until: pairing.coverage_in(until)}
    points.update({k: v for k, v in pairing.coverage_by_year.items() if start < k < until})
    levers["pairing"]["coverage_by_year"] = dict(sorted(points.items()))
    q = scenario.levers.quota
    scheduled = [y for y in range(start + 1, until + 1)
                 if y >= q.first_verification_year and (y - q.first_verification_year) % q.reverify_every_years == 0]
    if scheduled:
        levers["quota"]["first_verification_year"] = scheduled[0]
    else:  # no verification inside the window but the start year's, which happens anyway
        levers["quota"]["first_verification_year"] = start
        if start + q.reverify_every_years <= until:  # push the next one past the window (same years verified)
            if until - start + 1 > 10:
                raise InputError(
                    f"the quota is first verified in {q.first_verification_year}, after --until {until}, and a "
                    f"{until - start + 1}-year window cannot express that (set levers.quota.first_verification_year "
                    "within it)", key="levers.quota.first_verification_year")
            levers["quota"]["reverify_every_years"] = until - start + 1
    return replace(scenario, {"start_year": start, "horizon": until, "levers": levers})


def as_mapping_levers(levers: Any) -> dict[str, Any]:
    """Lever groups as plain mappings (like ``as_mapping`` of a scenario's ``levers``)."""
    return {name: getattr(levers, name).model_dump(mode="python") for name in type(levers).model_fields}


def _step_value(schedule: dict[int, float], year: int) -> float:
    keys = [k for k in sorted(schedule) if k <= year]
    return float(schedule[keys[-1]]) if keys else 0.0


# ------------------------------------------------------------------------------------------------ observations


def model_scope(scenario: Scenario) -> str:
    """``with_xpcc`` when the run includes the XPCC cities, else ``without_xpcc``."""
    return "with_xpcc" if scenario.baseline.include_xpcc else "without_xpcc"


def scope_matches(observed_scope: str, include_xpcc: bool) -> bool:
    """Whether an observation of ``observed_scope`` compares with a run that does (not) include the XPCC cities.

    ``unknown`` is read as including them: the NBS region totals are assumed to cover all 106 county-level
    units (SOURCES.md, key caveats; calibration/REGISTRY.md).
    """
    if observed_scope == "without_xpcc":
        return not include_xpcc
    return include_xpcc


def with_compulsory_sums(observations: pd.DataFrame) -> pd.DataFrame:
    """``observations`` plus, for pupils and full-time teachers, primary + junior (level ``compulsory``).

    One derived row per (series, area, scope, year) where both levels are published and no ``compulsory`` row
    exists; its relative error is that of the sum of two independent errors.
    """
    rows = []
    for series in _COMPULSORY_SUMS:
        frame = observations[observations["series"] == series]
        have = set(map(tuple, frame.loc[frame["level"] == "compulsory", ["area", "scope", "year"]].to_numpy()))
        p = frame[frame["level"] == "primary"].set_index(["area", "scope", "year"])
        j = frame[frame["level"] == "junior"].set_index(["area", "scope", "year"])
        for key in p.index.intersection(j.index):
            if key in have:
                continue
            a, b = p.loc[key], j.loc[key]
            total = float(a["value"] + b["value"])
            sd = math.hypot(a["value"] * a["obs_sd_rel"], b["value"] * b["obs_sd_rel"]) / total if total else 0.0
            rows.append({
                "series": series, "level": "compulsory", "area": key[0], "year": int(key[2]), "value": total,
                "unit": a["unit"], "scope": key[1], "obs_sd_rel": sd,
                "sd_reason": "independent errors of the primary and junior figures",
                "source": f"derived: primary + junior ({a['source']})", "note": "sum of the two published levels",
            })
    if not rows:
        return observations
    return pd.concat([observations, pd.DataFrame(rows)], ignore_index=True)


def _model_series(series: str, level: str) -> ModelSeries | None:
    for spec in MODEL_SERIES:
        if spec.series == series and spec.level == level:
            return spec
    return None


def classify(observations: pd.DataFrame, scenario: Scenario, start: int, until: int, fit_until: int) -> pd.DataFrame:
    """The observations of the scoreboard's series in ``start..until``, each with a period and a status.

    Status: ``compared``; ``not simulated`` (the model records no such series); ``other scope`` (with/without
    the XPCC cities, unlike the run); ``other area`` (a region figure for a run over some counties, or a county
    not in the run). The note says why.
    """
    obs = with_compulsory_sums(observations)
    obs = obs[obs["series"].isin(SCOREBOARD_SERIES) & obs["year"].between(start, until)].copy()
    selected = scenario.baseline.counties
    include = scenario.baseline.include_xpcc
    statuses, notes = [], []
    for series, level, area, scope, note in zip(obs["series"].astype(str), obs["level"].astype(str),
                                                obs["area"].astype(str), obs["scope"].astype(str),
                                                obs["note"].astype(str), strict=True):
        spec = _model_series(series, level)
        if spec is None:
            statuses.append("not simulated")
            notes.append(NOT_SIMULATED.get((series, level), "results.nc has no such series"))
        elif not scope_matches(scope, include):
            statuses.append("other scope")
            notes.append(f"observation scope {scope}; the run has baseline.include_xpcc: {str(include).lower()}")
        elif area == "region" and selected != "all":
            statuses.append("other area")
            notes.append("a region figure; the run covers a selection of counties")
        elif area != "region" and selected != "all" and (selected == "south" or area not in set(selected)):
            statuses.append("other area")
            notes.append("county not in the run's selection")
        else:
            statuses.append("compared")
            notes.append(note)
    obs["status"] = statuses
    obs["note"] = notes
    obs["period"] = [_period(int(y), start, fit_until) for y in obs["year"]]
    return obs.sort_values(["series", "level", "area", "year"]).reset_index(drop=True)


def require_observations(classified: pd.DataFrame, start: int, until: int, file: str | None = None) -> None:
    """Raise when no observation can be scored (compared and after the start year)."""
    scored = classified[(classified["status"] == "compared") & (classified["year"] > start)]
    if not scored.empty:
        return
    why = ", ".join(f"{n} {s}" for s, n in classified["status"].value_counts().items()) or "none in these years"
    raise InputError(
        f"no observation to score between {start + 1} and {until} (observations of {', '.join(SCOREBOARD_SERIES)} "
        f"in {start}–{until}: {why}); the published region series run to 2019 and compare with a run over all "
        "counties with baseline.include_xpcc: true", file=file, key="--until")


# ------------------------------------------------------------------------------------------------ the model side


def model_draws(results: xr.Dataset, spec: ModelSeries, area: str) -> xr.DataArray:
    """The model's values of ``spec`` for ``area`` (``region`` or a county code), dims (draw, year)."""
    if area == "region":
        name = f"{spec.variable}_area" if spec.how == "sum" else spec.variable
        return results[name].sel(area="region")
    code = int(area) if np.issubdtype(results["county"].dtype, np.integer) else area
    return results[spec.variable].sel(county=code)


def band_rows(observed: pd.Series, draws: np.ndarray, years: Sequence[int]) -> pd.DataFrame:
    """Median, 5/25/75/95th percentiles over draws and the band flags, for each observed year.

    Parameters
    ----------
    observed
        Observed values indexed by year.
    draws
        Model values, shape (draw, year), years as in ``years``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``observed``: ``median``, ``p5``, ``p25``, ``p75``, ``p95`` (linear interpolation between
        draws), ``inside_50`` (p25 ≤ observed ≤ p75), ``inside_90`` (p5 ≤ observed ≤ p95), ``abs_pct_error``
        (100·|median − observed| / observed; NaN when observed is 0).
    """
    position = {int(y): i for i, y in enumerate(years)}
    values = np.asarray(draws, dtype=np.float64)
    out = []
    for year, value in zip(observed.index.astype(int), observed.to_numpy(dtype=float), strict=True):
        p5, p25, p50, p75, p95 = np.percentile(values[:, position[int(year)]], [5, 25, 50, 75, 95])
        out.append({
            "median": p50, "p5": p5, "p25": p25, "p75": p75, "p95": p95,
            "inside_50": bool(p25 <= value <= p75), "inside_90": bool(p5 <= value <= p95),
            "abs_pct_error": 100.0 * abs(p50 - value) / value if value else float("nan"),
        })
    return pd.DataFrame(out, index=observed.index)


def hindcast_table(results: xr.Dataset, classified: pd.DataFrame) -> pd.DataFrame:
    """``classified`` with the model's bands filled in for every compared observation (:data:`TABLE_COLUMNS`)."""
    table = classified.rename(columns={"value": "observed"}).copy()
    for column in ("median", "p5", "p25", "p75", "p95", "abs_pct_error"):
        table[column] = np.nan
    table["inside_50"] = pd.Series(pd.NA, index=table.index, dtype="boolean")
    table["inside_90"] = pd.Series(pd.NA, index=table.index, dtype="boolean")
    table["model_variable"] = ""
    years = [int(y) for y in results["year"].values]
    compared = table[table["status"] == "compared"]
    for (series, level, area), rows in compared.groupby(["series", "level", "area"], sort=False):
        spec = _model_series(str(series), str(level))
        assert spec is not None  # classify() compared only these
        draws = model_draws(results, spec, str(area)).transpose("draw", "year").values
        bands = band_rows(rows.set_index("year")["observed"], draws, years)
        for column in bands.columns:
            table.loc[rows.index, column] = bands[column].to_numpy()
        table.loc[rows.index, "model_variable"] = spec.variable
    start_rows = table["period"] == "start"  # the model's input, not a test
    table.loc[start_rows, ["inside_50", "inside_90"]] = pd.NA
    table.loc[start_rows, "abs_pct_error"] = np.nan
    flows = [(spec.series, spec.level) for spec in MODEL_SERIES if spec.flow]
    no_flow = start_rows & pd.Series([(a, b) in flows for a, b in zip(table["series"], table["level"], strict=True)],
                                     index=table.index)
    table.loc[no_flow, ["median", "p5", "p25", "p75", "p95"]] = np.nan  # not projected in the start year
    return table[list(TABLE_COLUMNS)]


# ------------------------------------------------------------------------------------------------ the scoreboard


def scoreboard(table: pd.DataFrame) -> pd.DataFrame:
    """Per (series, level, area) and period (fitted, held_out): n, MAPE of the median (%), 50%/90% coverage.

    Only compared rows of the fitted and held-out years count (the start year is the model's input). A period
    without observations has n = 0 and NaN scores.
    """
    compared = table[(table["status"] == "compared") & (table["period"] != "start")]
    rows = []
    for (series, level, area), group in compared.groupby(["series", "level", "area"], sort=True):
        row: dict[str, Any] = {"series": series, "level": level, "area": area}
        for period in ("fitted", "held_out"):
            part = group[group["period"] == period]
            n = len(part)
            row[f"{period}_n"] = n
            row[f"{period}_mape"] = float(part["abs_pct_error"].astype(float).mean()) if n else float("nan")
            row[f"{period}_cover50"] = float(part["inside_50"].astype(float).mean()) if n else float("nan")
            row[f"{period}_cover90"] = float(part["inside_90"].astype(float).mean()) if n else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def bar_verdict(row: pd.Series) -> str:
    """Whether a scoreboard row meets the held-out bars (MAPE for pupils and teachers; 90% coverage for all)."""
    if not row["held_out_n"]:
        return "no held-out years"
    parts = []
    bar = MAPE_BARS.get(str(row["series"]))
    if bar is not None:
        ok = row["held_out_mape"] <= bar
        parts.append(f"MAPE {'≤' if ok else '>'} {bar:g}% {'✓' if ok else '✗'}")
    ok90 = row["held_out_cover90"] >= COVERAGE_90_BAR
    parts.append(f"90% band {'≥' if ok90 else '<'} {COVERAGE_90_BAR:.0%} {'✓' if ok90 else '✗'}")
    return "; ".join(parts)


def _pct(x: float, digits: int = 1) -> str:
    return "–" if x != x else f"{100 * x:.0f}%" if digits == 0 else f"{x:.{digits}f}%"


def _share(x: float, n: int) -> str:
    return "–" if not n else f"{round(x * n)} of {n}"


def _number(x: float) -> str:
    if x != x:
        return ""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def _label(series: str, level: str) -> str:
    spec = _model_series(series, level)
    return spec.label if spec is not None else f"{series} ({level})"


def series_title(series: str, level: str) -> str:
    """A short title of a compared series (``Pupils (primary + junior)``), or ``series (level)``."""
    spec = _model_series(series, level)
    return spec.title if spec is not None else f"{series} ({level})"


def scoreboard_markdown(board: pd.DataFrame) -> str:
    """The scoreboard as a markdown table (MAPE of the median; observations inside the 50% and 90% bands)."""
    lines = [
        "| series | area | fitted: MAPE | fitted: in 50% band | fitted: in 90% band | held out: MAPE | "
        "held out: in 50% band | held out: in 90% band | held-out bars |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in board.iterrows():
        lines.append(
            f"| {_label(r['series'], r['level'])} | {r['area']} | {_pct(r['fitted_mape'])} | "
            f"{_share(r['fitted_cover50'], r['fitted_n'])} | {_share(r['fitted_cover90'], r['fitted_n'])} | "
            f"{_pct(r['held_out_mape'])} | {_share(r['held_out_cover50'], r['held_out_n'])} | "
            f"{_share(r['held_out_cover90'], r['held_out_n'])} | {bar_verdict(r)} |")
    return "\n".join(lines) + "\n"


def years_markdown(table: pd.DataFrame) -> str:
    """Observed against simulated, year by year, for every compared series."""
    compared = table[table["status"] == "compared"]
    lines = ["| series | area | year | period | observed | median | 50% band | 90% band | error of the median |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in compared.iterrows():
        error = "" if r["period"] == "start" else f"{100 * (r['median'] - r['observed']) / r['observed']:+.1f}%"
        flag50 = "" if r["period"] == "start" else (" ✓" if r["inside_50"] else " ✗")
        flag90 = "" if r["period"] == "start" else (" ✓" if r["inside_90"] else " ✗")
        lines.append(
            f"| {_label(r['series'], r['level'])} | {r['area']} | {r['year']} | {r['period'].replace('_', ' ')} | "
            f"{_number(r['observed'])} | {_number(r['median'])} | {_number(r['p25'])}–{_number(r['p75'])}{flag50} | "
            f"{_number(r['p5'])}–{_number(r['p95'])}{flag90} | {error} |")
    return "\n".join(lines) + "\n"


def not_compared_markdown(table: pd.DataFrame) -> str:
    """One line per (series, level, area, status) of the observations that are not compared, with the reason."""
    rest = table[table["status"] != "compared"]
    if rest.empty:
        return "Every observation in the window is compared.\n"
    lines = ["| series | level | area | years | status | why |", "|---|---|---|---|---|---|"]
    for (series, level, area, status, note), group in rest.groupby(
            ["series", "level", "area", "status", "note"], sort=True):
        years = sorted(int(y) for y in group["year"])
        span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
        lines.append(f"| {series} | {level} | {area} | {span} ({len(years)}) | {status} | {note} |")
    return "\n".join(lines) + "\n"


def _span(a: int, b: int) -> str:
    return "none" if b < a else str(a) if a == b else f"{a}–{b}"


def report_markdown(table: pd.DataFrame, board: pd.DataFrame, info: dict[str, Any], flows: str | None = None) -> str:
    """``hindcast.md``: settings, conventions, the scoreboard, the year-by-year table, the flows against published
    totals (``flows``, from :func:`flows_markdown`, when given), what is not compared."""
    start, until, fit_until = info["start"], info["until"], info["fit_until"]
    fitted = _span(start + 1, fit_until)
    held = _span(fit_until + 1, until)
    return (
        f"# Hindcast: {info['scenario']} {start}→{until}\n\n"
        f"`{info['command']}`\n\n"
        f"{info['draws']} draws, seed {info['seed']}, started from the published totals of {start}; fitted years "
        f"{fitted}, held-out years {held}; the run {'includes' if info['include_xpcc'] else 'excludes'} the XPCC "
        f"cities (counties: {info['counties']}). Git commit {info['git_commit']}.\n\n"
        "Years are school years at the autumn census date on both sides (2019 = the 2019/20 school year: "
        "calibration/OBSERVATIONS.md for the NBS tables, `year` of results.nc for the model). "
        f"The start year {start} is not scored: the model's state there is built from those figures. MAPE is the "
        "mean absolute percentage error of the median of the draws; a band covers an observation when the "
        "observation lies within the 25–75th (50% band) or 5–95th (90% band) percentiles of the draws. Bars for "
        "held-out years (issue 13): MAPE ≤ 3% for pupils and ≤ 5% for full-time teachers; the 90% band covers "
        "≥ 80% of the observations.\n\n"
        "## Scoreboard\n\n" + (scoreboard_markdown(board) if not board.empty else "No series compared.\n") +
        "\nPupils and teachers are compared by level and as primary + junior (the published primary and junior "
        "figures summed: rows of level `compulsory`, derived). The bars are set by level.\n\n"
        "## Year by year\n\n" + years_markdown(table) +
        ("\n## Flows against published totals\n\n" + flows if flows else "") +
        "\n## Observations not compared\n\n" + not_compared_markdown(table) +
        "\nObservations of other series (births, population, county status, programme counts) are not scored here.\n"
    )


# ------------------------------------------------------------------------------------------------ flows


@dataclass(frozen=True)
class PeriodBound:
    """A published period total that bounds a flow of the model from above.

    The observation is the row ``(series, level="all", area="region", year)`` of ``observations.csv``; its
    ``year`` is the last school year of the period and ``first_year`` the first. The model's flow ``variable``
    (per county, ``results.nc``) is summed over the region and over the period's years the run simulates (the
    start year is the model's input and has no flows), so a window that covers only part of the period gives a
    smaller sum that the total still bounds (flows are never negative).
    """

    series: str
    year: int
    first_year: int
    variable: str
    label: str
    why: str
    """Why the published total is an upper bound of the model's flow, not a value to match."""


PERIOD_BOUNDS: tuple[PeriodBound, ...] = (
    PeriodBound("teachers_recruited_period", 2015, 2011, "hires", "teachers hired, compulsory level (model)",
                "the published total counts the teachers recruited in 2011–2015 at every level, preschool and senior "
                "high included (62,400 of them bilingual; Xinhua 2016-05-25), so it is an upper bound of the "
                "primary and junior hires, not their value"),
    PeriodBound("teachers_recruited_period", 2025, 2021, "hires", "teachers hired, compulsory level (model)",
                "the published total counts the primary, secondary and kindergarten teachers recruited from 2021 to "
                "2025-09 (China Daily 2025-10-13), so it is an upper bound of the primary and junior hires"),
)
"""Published period totals scored as upper bounds of the model's flows (issue 13 follow-up, teacher exits vs
hiring plans)."""

PLAN_LEVER = "recruitment.special_post_per_year"
"""The lever of ``calibration/data/history_levers.csv`` whose published yearly values are the region's
compulsory-level recruitment plans: shown next to the model's hires as context (plans, not hires)."""

FLOW_COLUMNS = ("series", "period", "years_summed", "bound", "median", "p5", "p95", "draws", "within",
                "share_within", "status", "source", "note")


def load_plans(path: str | Path | None = None) -> pd.DataFrame:
    """The published compulsory-level recruitment plans (:data:`PLAN_LEVER` rows with a value) of
    ``calibration/data/history_levers.csv``: columns ``year``, ``value``, ``source``, ``note``."""
    from sim.observations import DATA_DIR

    levers = pd.read_csv(DATA_DIR / "history_levers.csv" if path is None else path)
    rows = levers[(levers["lever"] == PLAN_LEVER) & levers["value"].notna()]
    return rows[["year", "value", "source", "note"]].astype({"year": int, "value": float}).reset_index(drop=True)


def _region_flow(results: xr.Dataset, variable: str) -> xr.DataArray:
    """``variable`` summed over the run's counties, dims (draw, year)."""
    return results[f"{variable}_area"].sel(area="region").transpose("draw", "year")


def period_bound_rows(results: xr.Dataset, observations: pd.DataFrame, *, start: int, until: int,
                      include_xpcc: bool, all_counties: bool,
                      bounds: Sequence[PeriodBound] = PERIOD_BOUNDS) -> pd.DataFrame:
    """Each published period total of ``bounds`` against the model's sum over the period (:data:`FLOW_COLUMNS`).

    ``status``: ``compared``; ``not published`` (no such observation); ``other scope`` / ``other area`` (as in
    :func:`classify`); ``outside the run`` (no year of the period after ``start`` and up to ``until``). For a
    compared bound: the median and 5–95th percentiles over draws of the sum, and the draws whose sum is within
    the bound (sum ≤ bound).
    """
    rows = []
    for b in bounds:
        found = observations[(observations["series"] == b.series) & (observations["level"] == "all")
                             & (observations["area"] == "region") & (observations["year"] == b.year)]
        row: dict[str, Any] = {"series": b.series, "period": f"{b.first_year}–{b.year}", "years_summed": "",
                               "bound": float("nan"), "median": float("nan"), "p5": float("nan"),
                               "p95": float("nan"), "draws": int(results.sizes["draw"]), "within": pd.NA,
                               "share_within": float("nan"), "source": "", "note": b.why}
        years = [y for y in range(max(b.first_year, start + 1), min(b.year, until) + 1)]
        if found.empty:
            rows.append({**row, "status": "not published"})
            continue
        obs = found.iloc[0]
        row.update(bound=float(obs["value"]), source=str(obs["source"]))
        if not scope_matches(str(obs["scope"]), include_xpcc):
            status = "other scope"
        elif not all_counties:
            status = "other area"
        elif not years:
            status = "outside the run"
        else:
            status = "compared"
            total = _region_flow(results, b.variable).sel(year=years).sum("year").values.astype(np.float64)
            p5, p50, p95 = np.percentile(total, [5, 50, 95])
            within = int(np.count_nonzero(total <= row["bound"]))
            row.update(years_summed=_span(years[0], years[-1]), median=p50, p5=p5, p95=p95, within=within,
                       share_within=within / total.size)
        rows.append({**row, "status": status})
    return pd.DataFrame(rows, columns=list(FLOW_COLUMNS))


def yearly_flow_rows(results: xr.Dataset, variables: Sequence[str] = ("hires", "exits")) -> pd.DataFrame:
    """Median and 5–95th percentiles over draws of each flow, summed over the run's counties, for every year
    after the start year (the start year has no flows); ``exit_rate``: exits over the previous autumn's
    teachers, per draw."""
    years = [int(y) for y in results["year"].values][1:]
    out = []
    teachers = _region_flow(results, "teachers").values.astype(np.float64)
    for i, year in enumerate(years, start=1):
        row: dict[str, Any] = {"year": year}
        for name in variables:
            values = _region_flow(results, name).values[:, i].astype(np.float64)
            row[name], row[f"{name}_p5"], row[f"{name}_p95"] = (
                np.percentile(values, 50), np.percentile(values, 5), np.percentile(values, 95))
            if name == "exits":
                rate = np.divide(values, teachers[:, i - 1], out=np.full(values.shape, np.nan),
                                 where=teachers[:, i - 1] > 0)
                row["exit_rate"] = float(np.nanmedian(rate)) if np.isfinite(rate).any() else float("nan")
        out.append(row)
    return pd.DataFrame(out)


def plan_rows(results: xr.Dataset, plans: pd.DataFrame, *, start: int, until: int) -> pd.DataFrame:
    """The published yearly plans next to the model's hires of the same year (median, 5–95th percentiles), or
    why there is none (the start year is the model's input; years outside the run)."""
    hires = _region_flow(results, "hires")
    out = []
    for _, plan in plans.sort_values("year").iterrows():
        year = int(plan["year"])
        row: dict[str, Any] = {"year": year, "plan": float(plan["value"]), "source": str(plan["source"]),
                               "median": float("nan"), "p5": float("nan"), "p95": float("nan")}
        if year == start:
            row["status"] = "start year (the model's input: no flows)"
        elif not start < year <= until:
            row["status"] = "outside the run"
        else:
            values = hires.sel(year=year).values.astype(np.float64)
            row.update(status="compared", median=np.percentile(values, 50), p5=np.percentile(values, 5),
                       p95=np.percentile(values, 95))
        out.append(row)
    return pd.DataFrame(out, columns=["year", "plan", "status", "median", "p5", "p95", "source"])


def flows_markdown(bounds: pd.DataFrame, plans: pd.DataFrame, yearly: pd.DataFrame) -> str:
    """The section "Flows against published totals" of ``hindcast.md``."""
    lines = [
        "Teachers hired by the model (all channels: open recruitment, special-post, targeted graduates; "
        "compulsory level, the run's counties) against published recruitment totals. A published period total "
        "is an **upper bound**, not a value to match: it counts every level, preschool and senior high included. "
        "The model's sum runs over the years of the period that the run simulates (the start year has no "
        "flows), so it too counts fewer years than the total when the run starts inside the period. Persons.\n",
        "| published total | period | model years summed | bound (published) | model: median | model: 90% band | "
        "draws within the bound | status | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in bounds.iterrows():
        compared = r["status"] == "compared"
        band = f"{_number(r['p5'])}–{_number(r['p95'])}" if compared else ""
        within = f"{int(r['within'])} of {int(r['draws'])} ({100 * r['share_within']:.0f}%)" if compared else ""
        lines.append(f"| {r['series']} (all levels) | {r['period']} | {r['years_summed']} | {_number(r['bound'])} | "
                     f"{_number(r['median']) if compared else ''} | {band} | {within} | {r['status']} | "
                     f"{r['source']} |")
    notes = list(dict.fromkeys(str(n) for n in bounds["note"]))
    lines += ["", *(f"- {n}." for n in notes)]
    lines += [
        "", "Published compulsory-level recruitment **plans** (calibration/data/history_levers.csv, "
        f"`{PLAN_LEVER}`), context only: plans are not hires (the 2011 figure may include senior-high posts).\n",
        "| year | plan (published) | model hires: median | model hires: 90% band | status | source |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in plans.iterrows():
        compared = r["status"] == "compared"
        median = _number(r["median"]) if compared else ""
        band = f"{_number(r['p5'])}–{_number(r['p95'])}" if compared else ""
        lines.append(f"| {r['year']} | {_number(r['plan'])} | {median} | {band} | {r['status']} | {r['source']} |")
    lines += [
        "", "The model's teacher flows by year (median and 90% band over draws; exit rate: exits over the previous "
        "autumn's teachers, median over draws). Exits are retirements, voluntary attrition and special-post "
        "contract leavers.\n",
        "| year | hires: median | hires: 90% band | exits: median | exits: 90% band | exit rate |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in yearly.iterrows():
        lines.append(f"| {int(r['year'])} | {_number(r['hires'])} | "
                     f"{_number(r['hires_p5'])}–{_number(r['hires_p95'])} | {_number(r['exits'])} | "
                     f"{_number(r['exits_p5'])}–{_number(r['exits_p95'])} | {_pct(100 * r['exit_rate'])} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ figures


def fan_with_observations(draws: np.ndarray, years: Sequence[int], observed: pd.DataFrame, *, title: str,
                          units: str, fit_until: int, ax: Axes | None = None) -> Axes:
    """A fan chart (5–95 and 25–75 percentiles of the draws, median) with the observations as points.

    ``observed`` has ``year``, ``observed`` and ``period`` columns: fitted years are filled points, held-out
    years open points, the start year a cross; a dashed line separates the fitted from the held-out years.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    if ax is None:
        ax = Figure(figsize=(7.0, 4.2), layout="constrained").add_subplot()
    x = np.asarray(years)
    p5, p25, p50, p75, p95 = np.percentile(np.asarray(draws, dtype=np.float64), [5, 25, 50, 75, 95], axis=0)
    ax.fill_between(x, p5, p95, color="tab:blue", alpha=0.18, linewidth=0, label="model, 90% of draws")
    ax.fill_between(x, p25, p75, color="tab:blue", alpha=0.40, linewidth=0, label="model, 50% of draws")
    ax.plot(x, p50, color="tab:blue", linewidth=1.8, label="model, median")
    styles: dict[str, dict[str, Any]] = {
        "start": {"marker": "x", "color": "0.35", "linestyle": "none", "label": "published, start (model input)"},
        "fitted": {"marker": "o", "color": "black", "linestyle": "none", "label": "published, fitted years"},
        "held_out": {"marker": "o", "markerfacecolor": "white", "markeredgecolor": "tab:red", "color": "tab:red",
                     "linestyle": "none", "markeredgewidth": 1.6, "label": "published, held-out years"},
    }
    for period, style in styles.items():
        part = observed[observed["period"] == period]
        if not part.empty:
            ax.plot(part["year"], part["observed"], markersize=6, zorder=3, **style)
    if x[0] <= fit_until < x[-1]:
        ax.axvline(fit_until + 0.5, color="0.4", linestyle="--", linewidth=1)
        ax.annotate("fitted ← | → held out", xy=(fit_until + 0.5, 0.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 4), textcoords="offset points", ha="center", fontsize=8, color="0.3",
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    ticks = sorted({int(v) for v in x} | {int(v) for v in observed["year"]})
    ax.set_xticks(ticks if len(ticks) <= 12 else ticks[:: max(1, len(ticks) // 10)])
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("school year (autumn)")
    ax.set_ylabel(units)
    if units != "share":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


def write_figures(results: xr.Dataset, table: pd.DataFrame, out: Path, *, fit_until: int,
                  scope_text: str) -> list[Path]:
    """One PNG per compared (series, level, area): ``figures/hindcast-SERIES-LEVEL-AREA.png``."""
    out.mkdir(parents=True, exist_ok=True)
    years = [int(y) for y in results["year"].values]
    paths = []
    compared = table[table["status"] == "compared"]
    for (series, level, area), rows in compared.groupby(["series", "level", "area"], sort=True):
        spec = _model_series(str(series), str(level))
        assert spec is not None
        draws = model_draws(results, spec, str(area)).transpose("draw", "year").values
        shown = years
        if spec.flow:  # not projected in the start year
            draws, shown = draws[:, 1:], years[1:]
        ax = fan_with_observations(draws, shown, rows, title=f"{spec.title}: {area}, {scope_text}",
                                   units=spec.units, fit_until=fit_until)
        path = out / f"hindcast-{series}-{level}-{area}.png"
        figure = ax.get_figure(root=True)
        assert figure is not None
        figure.savefig(path, dpi=110)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------------ observed history


def observed_history(series: str, level: str, area: str = "region", *, include_xpcc: bool = True,
                     observations: pd.DataFrame | None = None) -> pd.Series:
    """The published values of a series, indexed by year, for drawing on a fan chart (empty when none).

    Observations are those whose scope compares with a run that does (not) include the XPCC cities
    (:func:`scope_matches`); ``level="compulsory"`` gives primary + junior where both are published.
    """
    if observations is None:
        from sim.observations import load_observations

        observations = load_observations()
    obs = with_compulsory_sums(observations)
    rows = obs[(obs["series"] == series) & (obs["level"] == level) & (obs["area"] == area)]
    rows = rows[[scope_matches(s, include_xpcc) for s in rows["scope"]]]
    rows = rows.sort_values("year").drop_duplicates("year", keep="first")  # one scope per year
    out = rows.set_index("year")["value"].astype(float)
    out.name = series
    return out


def observed_for_variable(variable: str, area: str = "region", *, include_xpcc: bool = True,
                          observations: pd.DataFrame | None = None) -> pd.Series:
    """The published history of a ``results.nc`` variable (``students_area``, ``teachers``, …), or an empty
    Series when the variable has no observed counterpart (:data:`MODEL_SERIES`)."""
    base_name = variable.removesuffix("_area")
    for spec in MODEL_SERIES:
        if spec.variable == base_name:
            return observed_history(spec.series, spec.level, area, include_xpcc=include_xpcc,
                                    observations=observations)
    return pd.Series(dtype=float, name=variable)


# ------------------------------------------------------------------------------------------------ the run


@dataclass(frozen=True)
class HindcastResult:
    out_dir: Path
    table: pd.DataFrame
    scoreboard: pd.DataFrame
    markdown: str
    results: xr.Dataset
    """The ensemble of the run (not written: ``hindcast.csv`` holds what is scored)."""


def default_folder(scenario_name: str, start: int, until: int) -> Path:
    return Path("outputs") / f"hindcast-{scenario_name}-{start}-{until}"


def run_hindcast(
    scenario: Scenario,
    start: int | None = None,
    until: int | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    fit_until: int | None = None,
    out_dir: str | Path | None = None,
    observations: pd.DataFrame | None = None,
    observations_file: str | None = None,
    plans: pd.DataFrame | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    figures: bool = True,
    command: str | None = None,
    on_written: Callable[[Path], None] | None = None,
    overwrite: bool = False,
) -> HindcastResult:
    """Run ``scenario`` from ``start`` (default its start_year) to ``until`` (default its horizon) and score it.

    Everything is validated before the first draw; the run folder (default
    ``outputs/hindcast-NAME-START-UNTIL``) is written whole or not at all (``sim.output``): ``hindcast.csv``,
    ``hindcast.md``, ``figures/*.png``, ``scenario.resolved.yaml`` and ``provenance.json``. An earlier edusim
    output there is replaced only with ``overwrite``; the folder is checked before the first draw. ``plans``
    (default :func:`load_plans`) are the published yearly recruitment plans shown next to the model's hires.
    """
    from tqdm import tqdm

    from sim.cohort import prepare
    from sim.ensemble import run_draws, to_dataset
    from sim.output import check_destination, git_commit, provenance, write_folder_atomically

    stream = sys.stderr if stream is None else stream
    start = scenario.start_year if start is None else start
    until = scenario.horizon if until is None else until
    last_fitted = check_window(start, until, fit_until)
    changes = {k: v for k, v in {"draws": draws, "seed": seed}.items() if v is not None}
    if changes:
        scenario = replace(scenario, changes)
    scenario = fit_window(scenario, start, until)
    if observations is None:
        from sim.observations import DATA_DIR, DEFAULT_FILE, load_observations

        observations = load_observations(observations_file)
        observations_file = observations_file or str(DATA_DIR / DEFAULT_FILE)
    classified = classify(observations, scenario, start, until, last_fitted)
    require_observations(classified, start, until, observations_file)
    target = Path(out_dir) if out_dir is not None else default_folder(scenario.name, start, until)
    check_destination(target, overwrite=overwrite)

    started = datetime.now(UTC)
    model = prepare(scenario)
    with tqdm(total=-(-scenario.draws // 64) * 64 * len(model.years), desc=f"hindcast {scenario.name}",
              unit="draw-yr", disable=not progress, file=stream) as bar:
        results = to_dataset(model, run_draws(model, 0, scenario.draws, bar.update))
    table = hindcast_table(results, classified)
    board = scoreboard(table)
    text = resolved_yaml(scenario)
    commit = git_commit()
    info = {
        "scenario": scenario.name, "start": start, "until": until, "fit_until": last_fitted, "draws": scenario.draws,
        "seed": scenario.seed, "include_xpcc": scenario.baseline.include_xpcc, "git_commit": commit,
        "counties": scenario.baseline.counties if isinstance(scenario.baseline.counties, str)
        else ", ".join(scenario.baseline.counties),
        "command": command or f"edusim hindcast {scenario.name} --start {start} --until {until}",
    }
    flows = flows_markdown(
        period_bound_rows(results, observations, start=start, until=until,
                          include_xpcc=scenario.baseline.include_xpcc,
                          all_counties=scenario.baseline.counties == "all"),
        plan_rows(results, load_plans() if plans is None else plans, start=start, until=until),
        yearly_flow_rows(results))
    markdown = report_markdown(table, board, info, flows)
    obs_hash = hashlib.sha256(observations.to_csv(index=False).encode("utf-8")).hexdigest()
    record = provenance(text, seed=scenario.seed, draws=scenario.draws, engine="cohort", started=started,
                        scenario_name=scenario.name, start_year=start, horizon=until, fit_until=last_fitted,
                        observations_file=observations_file, observations_sha256=obs_hash,
                        counties=int(model.sections.n_counties))

    def fill(tmp: Path) -> None:
        table.to_csv(tmp / "hindcast.csv", index=False, float_format="%.6g")
        (tmp / "hindcast.md").write_text(markdown, encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(text, encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        if figures:
            scope_text = "with XPCC" if scenario.baseline.include_xpcc else "without XPCC"
            write_figures(results, table, tmp / "figures", fit_until=last_fitted, scope_text=scope_text)
        if on_written is not None:
            on_written(tmp)

    written = write_folder_atomically(target, fill, overwrite=overwrite)
    return HindcastResult(written, table, board, markdown, results)
