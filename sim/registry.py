"""Synthetic school registry: one row per school, matching the published region totals.

No school-level data for Xinjiang is public (SOURCES.md §6). :func:`synthesize_registry` builds a plausible
registry from what is published — the 2020 census school-age cohorts and urban shares by county and the NBS
region totals of schools, pupils and full-time teachers by level — plus assumptions, every one of which is a
field of :class:`RegistryAssumptions` and is listed with its plausible range in ``calibration/REGISTRY.md``.

The steps, in order:

1. **Pupils by county and grade.** Census age bands are interpolated to single years of age
   (:func:`single_year_ages`); a grade-``g`` pupil in autumn of ``year`` was aged ``5+g`` (10/12 of a birth
   cohort, born November–August) or ``6+g`` (2/12, born September–October) at the census date 2020-11-01,
   plus ``2020 − year``. Grades 1–6 (primary) and 7–9 (junior) are each scaled to the published region total
   of that level and rounded to persons with the largest-remainder method, so the totals are exact.
2. **Location.** Each county's pupils are split into urban (城区), town (镇区) and rural (乡村) by the census
   urban share, the unit type (the urban population of a 县 lives in 镇区; that of a district or county-level
   city mostly in 城区) and the shares of rural-resident pupils who attend town schools (boarding).
3. **Teaching points** (教学点, small rural sites with grades 1–4) are carved out of the rural pupils. As in
   the NBS statistics they are *not* counted among the primary schools, but their pupils and teachers are.
4. **Schools.** The published number of junior-level schools (junior-only + nine-year; NBS counts a 九年一贯制
   school once, among the junior schools) and of primary schools are allocated to (county, location) cells in
   proportion to pupils divided by a relative school size per location (urban schools larger); every county
   gets at least one primary and one junior-level school. A share of the junior-level schools, weighted to
   rural and town cells, are nine-year schools. Pupils of a cell are shared among its schools with lognormal
   weights.
5. **Classes** from a per-school target class size (urban larger, overcrowding possible).
6. **Teachers** per school section from the published pupil–teacher ratio, adjusted by location and floored
   by the classes to staff, then scaled so each level's region total is exact.
7. **Teacher categories and ages** by binomial / multinomial draws around location and south-specific shares;
   **facilities** as lognormal per-student values around multiples of the 2017 thresholds.

The function is pure: everything random comes from ``rng``; the same generator state gives the same table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sim.baseline import (
    DATA_DIR,
    JUNIOR_GRADES,
    LOCATIONS,
    PRIMARY_GRADES,
    REGISTRY_COLUMNS,
    TEACHER_AGE_BANDS,
    QualityBalanceStandard,
    load_standard,
)
from sim.distributions import sample
from sim.errors import InputError
from sim.parameters import PARAMETERS

CENSUS_YEAR = 2020
MAX_SINGLE_AGE = 19
"""Oldest single year of age the census bands give (15–19 band)."""


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _mid(name: str) -> float:
    """Middle of the default range of the uncertainty ``registry.NAME`` (the median of its uniform prior)."""
    return float(sample(PARAMETERS[f"registry.{name}"].default, np.array([0.5]))[0])


def _location_mid(name: str) -> Mapping[str, float]:
    return _frozen({loc: _mid(f"{name}_{loc}") for loc in LOCATIONS})


def _teacher_mid(name: str) -> Mapping[str, float]:
    urban = _mid(name)
    return _frozen({"urban": urban, "town": urban * _mid("town_teacher_factor"),
                    "rural": urban * _mid("rural_teacher_factor")})


def _special_post_mid() -> Mapping[str, float]:
    rural = _mid("special_post_share_rural")
    return _frozen({"urban": rural * _mid("special_post_urban_ratio"), "town": rural * _mid("special_post_town_ratio"),
                    "rural": rural})


def _by_location(urban: float, town: float, rural: float) -> Any:
    return field(default_factory=lambda: _frozen({"urban": urban, "town": town, "rural": rural}))


@dataclass(frozen=True)
class RegistryAssumptions:
    """Every number of the registry generator that is not a published figure.

    Each has a plausible range and rationale in ``calibration/REGISTRY.md``; location-keyed mappings have keys
    ``urban``, ``town``, ``rural``. Shares are fractions in [0, 1].
    """

    # --- where pupils go to school
    urban_core_share_city: float = 0.85
    """Share of the census urban population of a district / county-level city living in 城区 (rest 镇区)."""
    rural_pupils_in_town_primary: float = 0.25
    """Share of rural-resident primary pupils attending town schools (boarding, consolidation)."""
    rural_pupils_in_town_junior: float = 0.60
    """Share of rural-resident junior pupils attending town schools."""
    # --- schools
    nine_year_share_of_junior: float = 0.35
    """Share of the published junior-level schools that are nine-year (九年一贯制) schools."""
    nine_year_location_weight: Mapping[str, float] = _by_location(1.0, 2.0, 4.0)
    """Relative odds that a junior-level school in a location is a nine-year school."""
    school_size_factor: Mapping[str, float] = _by_location(2.8, 1.6, 1.0)
    """Relative mean school size by location (rural = 1)."""
    school_size_sigma: float = 0.4
    """Sigma of the lognormal weights sharing a cell's pupils among its schools."""
    min_pupils_per_school: int = 30
    """A (county, location) cell gets no more schools than pupils / this; smaller cells fold into others."""
    teaching_points_per_primary_school: float = 0.10
    """Teaching points (not counted as schools) per published primary school."""
    teaching_point_median_pupils: float = 30.0
    teaching_point_sigma: float = 0.5
    teaching_point_max_share: float = 0.30
    """Largest share of a county's rural grade 1–4 pupils that its teaching points take."""
    # --- classes: target class size per level and location; each school's target jittered by ±10 %
    class_size_primary: Mapping[str, float] = _by_location(47.0, 42.0, 36.0)
    class_size_junior: Mapping[str, float] = _by_location(50.0, 47.0, 42.0)
    class_size_jitter: float = 0.10
    # --- teachers
    pupil_teacher_ratio_factor: Mapping[str, float] = _by_location(1.15, 1.0, 0.75)
    """School pupil–teacher ratio relative to the region's published ratio, by location (before scaling)."""
    min_teachers_per_class_primary: float = 1.2
    min_teachers_per_class_junior: float = 1.8
    # Teacher categories and facilities of the *file*: the middle of the ranges of the ``registry.*``
    # uncertainties (sim/parameters.py). Runs with the synthetic registry redraw them in every draw from those
    # ranges (:func:`draw_school_values`); these values only fill the columns of ``registry_<year>.csv``.
    qualified_share_primary: Mapping[str, float] = field(
        default_factory=lambda: _teacher_mid("qualified_share_primary"))
    """Share of primary-section teachers above the required qualification (专科 or higher)."""
    qualified_share_junior: Mapping[str, float] = field(default_factory=lambda: _teacher_mid("qualified_share_junior"))
    """Share of junior-section teachers above the required qualification (本科 or higher)."""
    backbone_share: Mapping[str, float] = field(default_factory=lambda: _teacher_mid("backbone_share"))
    """Share of teachers recognised as county-level-or-above backbone teachers."""
    pe_art_share: Mapping[str, float] = field(default_factory=lambda: _teacher_mid("pe_art_share"))
    """Share of teachers teaching PE, music or fine art."""
    special_post_share: Mapping[str, float] = field(default_factory=lambda: _special_post_mid())
    """Share of teachers on a special-post (特岗) contract."""
    targeted_share: float = 0.0
    """Share of targeted graduates (优师计划); 0 in 2020: the first cohort graduates in 2025."""
    south_teacher_factor: float = field(default_factory=lambda: _mid("south_teacher_factor"))
    """Multiplier on qualified, backbone and PE/art shares in the south (南疆四地州)."""
    south_special_post_factor: float = field(default_factory=lambda: _mid("south_special_post_factor"))
    share_concentration: float = 20.0
    """Beta concentration (a + b) of the file's school-level draw of each share around its mean: about the middle
    of ``registry.teacher_share_spread`` (a logit sd of 0.55 is about a + b = 20 at a share of 0.2)."""
    age_band_shares_north: tuple[float, ...] = (0.22, 0.31, 0.26, 0.11, 0.09, 0.01)
    age_band_shares_south: tuple[float, ...] = (0.34, 0.34, 0.18, 0.08, 0.055, 0.005)
    """Teacher age-band shares (20–29, 30–39, 40–49, 50–54, 55–59, 60–64)."""
    # --- facilities: median per-student value as a multiple of the 2017 threshold, lognormal spread
    floor_area_ratio: Mapping[str, float] = field(default_factory=lambda: _location_mid("floor_area_ratio"))
    sports_area_ratio: Mapping[str, float] = field(default_factory=lambda: _location_mid("sports_area_ratio"))
    equipment_ratio: Mapping[str, float] = field(default_factory=lambda: _location_mid("equipment_ratio"))
    multimedia_ratio: Mapping[str, float] = field(default_factory=lambda: _location_mid("multimedia_ratio"))
    south_facility_factor: float = field(default_factory=lambda: _mid("south_facility_factor"))
    facility_sigma: float = field(default_factory=lambda: _mid("facility_spread"))
    # --- yes/no attributes by location
    gigabit_probability: Mapping[str, float] = field(default_factory=lambda: _location_mid("gigabit_probability"))
    counselling_room_probability: Mapping[str, float] = field(
        default_factory=lambda: _location_mid("counselling_probability"))
    paired_probability_rural: float = field(default_factory=lambda: _mid("paired_probability_rural"))

# ------------------------------------------------------------------------------------------------ helpers


def apportion(total: int, weights: np.ndarray, minimum: np.ndarray | int = 0) -> np.ndarray:
    """Integers summing to ``total``, proportional to ``weights`` above a floor (largest-remainder method).

    Parameters
    ----------
    total
        Integer to share out.
    weights
        Non-negative weights, one per recipient.
    minimum
        Floor per recipient (int or array); ``sum(minimum) <= total`` is required.

    Returns
    -------
    numpy.ndarray
        int64 array, ``>= minimum``, summing to ``total``; ties broken by position (deterministic).

    Examples
    --------
    >>> apportion(10, np.array([1.0, 1.0, 1.0])).tolist()
    [4, 3, 3]
    """
    w = np.asarray(weights, dtype=float)
    floor = np.broadcast_to(np.asarray(minimum, dtype=np.int64), w.shape).copy()
    rest = int(total) - int(floor.sum())
    if rest < 0:
        raise ValueError(f"minimums sum to {int(floor.sum())} > total {total}")
    if rest == 0:
        return floor
    if w.sum() <= 0:
        w = np.ones_like(w)
    quota = rest * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    left = rest - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:left]] += 1
    return floor + base


def single_year_ages(
    age0: np.ndarray, age1_4: np.ndarray, age5_9: np.ndarray, age10_14: np.ndarray, age15_19: np.ndarray
) -> np.ndarray:
    """Single-year counts for ages 0–19 from the census bands, preserving every band total.

    Within each band the count per year of age is linear, with the slope between the means per year of the
    neighbouring bands (the last band uses the slope from the previous one), floored at 5 % of the band mean
    and rescaled to the band total.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_units, 20)``, float (persons).
    """
    bands = [np.asarray(b, dtype=float) for b in (age0, age1_4, age5_9, age10_14, age15_19)]
    widths = np.array([1, 4, 5, 5, 5])
    starts = np.array([0, 1, 5, 10, 15])
    centers = starts + (widths - 1) / 2
    means = np.stack([b / w for b, w in zip(bands, widths, strict=True)], axis=1)
    out = np.zeros((means.shape[0], MAX_SINGLE_AGE + 1))
    out[:, 0] = means[:, 0]
    for k in range(1, 5):
        nxt = min(k + 1, 4)
        slope = (means[:, nxt] - means[:, k - 1]) / (centers[nxt] - centers[k - 1])
        ages = np.arange(starts[k], starts[k] + widths[k])
        values = means[:, [k]] + slope[:, None] * (ages[None, :] - centers[k])
        values = np.maximum(values, 0.05 * means[:, [k]])
        sums = values.sum(axis=1, keepdims=True)
        scale = np.divide(bands[k][:, None], sums, out=np.zeros_like(sums), where=sums > 0)
        out[:, ages] = values * scale
    return out


#: The readings of the census bands' single years of age (:func:`census_readings`), in the order of its first axis.
CENSUS_READINGS = ("linear", "monotone", "births")
#: The 2020 census's age bands below age 20 as the county table holds them: (column, first age, width).
CENSUS_BANDS = (("age0", 0, 1), ("age1_4", 1, 4), ("age5_9", 5, 5), ("age10_14", 10, 5), ("age15_19", 15, 5))
#: NBS birth rates and year-end population of Xinjiang, 2000–2021 (registered births = rate × population).
BIRTHS_TABLE = "xinjiang_population_births_2000_2021.csv"


def single_year_ages_monotone(bands: np.ndarray) -> np.ndarray:
    """Single-year counts for ages 0–19 from the census bands by a monotone cubic through the cumulative counts.

    The cumulative count at the band edges 0, 1, 5, 10, 15, 20 is interpolated per unit by
    ``scipy.interpolate.PchipInterpolator`` (Fritsch–Carlson: monotone, so no negative single year) and differenced
    at whole ages: the demographers' smooth graduation (DemoTools' ``graduate_mono`` is the same family). Every band
    total is kept exactly, since the interpolant passes through the cumulative counts at the edges.

    Parameters
    ----------
    bands
        ``(n_units, 5)`` persons in the bands of :data:`CENSUS_BANDS`.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_units, 20)``, float (persons).
    """
    from scipy.interpolate import PchipInterpolator

    bands = np.asarray(bands, dtype=float)
    edges = np.array([0.0] + [float(start + width) for _, start, width in CENSUS_BANDS])
    cumulative = np.concatenate([np.zeros((bands.shape[0], 1)), np.cumsum(bands, axis=1)], axis=1)
    curve = PchipInterpolator(edges, cumulative, axis=1)(np.arange(MAX_SINGLE_AGE + 2, dtype=float))
    return np.maximum(np.diff(curve, axis=1), 0.0)


def registered_births_by_age(data_dir: Any = None) -> np.ndarray:
    """Registered births of the region behind each single age 0–19 at the 2020 census date (persons, ``(20,)``).

    NBS birth rate × year-end population of ``calibration/data/xinjiang_population_births_2000_2021.csv``; a child
    aged ``a`` on 2020-11-01 was born in ``2020 − a`` (10/12, November–October) or ``2019 − a`` (2/12). NaN where a
    birth year has no published rate (2020: the age-0 band, one year wide, needs no split).
    """
    table = pd.read_csv((DATA_DIR if data_dir is None else Path(data_dir)) / BIRTHS_TABLE)
    registered = dict(zip(table["year"], table["birth_rate_permille"] * table["pop_yearend_10k"] * 10, strict=True))
    return np.array([10 / 12 * registered.get(CENSUS_YEAR - a, math.nan)
                     + 2 / 12 * registered.get(CENSUS_YEAR - 1 - a, math.nan) for a in range(MAX_SINGLE_AGE + 1)])


def single_year_ages_births(bands: np.ndarray, born: np.ndarray) -> np.ndarray:
    """Single-year counts for ages 0–19: each band shared among its single years in proportion to ``born``.

    ``born`` is :func:`registered_births_by_age` (the region's): the same within-band shares in every unit, which
    assumes a county's age structure inside a band follows the region's births. Band totals are kept exactly.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_units, 20)``, float (persons).

    Raises
    ------
    InputError
        When an age inside a band wider than one year has no registered births.
    """
    bands = np.asarray(bands, dtype=float)
    born = np.asarray(born, dtype=float)
    out = np.zeros((bands.shape[0], MAX_SINGLE_AGE + 1))
    for k, (_, start, width) in enumerate(CENSUS_BANDS):
        ages = np.arange(start, start + width)
        if width == 1:
            out[:, start] = bands[:, k]
            continue
        if not np.all(np.isfinite(born[ages]) & (born[ages] > 0)):
            raise InputError(f"{BIRTHS_TABLE}: no registered births for every age {start}–{start + width - 1} at "
                             f"the {CENSUS_YEAR} census (birth years {CENSUS_YEAR - start - width}–"
                             f"{CENSUS_YEAR - start})", key="birth_rate_permille")
        out[:, ages] = bands[:, [k]] * (born[ages] / born[ages].sum())[None, :]
    return out


def census_readings(bands: np.ndarray, born: np.ndarray) -> np.ndarray:
    """The three readings of :data:`CENSUS_READINGS` of the census bands, shape ``(3, n_units, 20)``.

    No single-year table of the 2020 census for Xinjiang was found (``calibration/SEARCHES.md`` E7–E8): how a band's
    total divides among its single years is unknown. Each reading keeps every band total: ``linear``
    (:func:`single_year_ages`), ``monotone`` (:func:`single_year_ages_monotone`), ``births``
    (:func:`single_year_ages_births`). The model mixes them per draw with uncertain weights
    (``students.census_reading_births``, ``students.census_reading_monotone``;
    :func:`sim.mechanisms.students.reading_weights`).
    """
    bands = np.asarray(bands, dtype=float)
    return np.stack([single_year_ages(*bands.T), single_year_ages_monotone(bands),
                     single_year_ages_births(bands, born)])


def grade_cohorts(ages: np.ndarray, year: int) -> np.ndarray:
    """Unscaled pupils of grades 1–9 in autumn of ``year`` from single-year census ages, shape ``(n, 9)``.

    Grade ``g`` ↔ age ``5+g`` (10/12) and ``6+g`` (2/12) at the census date, plus ``2020 − year``. Ages older
    than 19 (hindcasts before 2016) take the mean per year of the 15–19 band.
    """
    shift = CENSUS_YEAR - year
    oldest_mean = ages[:, 15:20].mean(axis=1)
    out = np.zeros((ages.shape[0], 9))
    for g in range(1, 10):
        for age, weight in ((5 + g + shift, 10 / 12), (6 + g + shift, 2 / 12)):
            if age < 0:
                raise InputError(
                    f"year {year}: grade {g} was not yet born at the 2020 census; the census cohorts reach "
                    f"grade 1 up to {CENSUS_YEAR + 5}",
                    key="year",
                )
            out[:, g - 1] += weight * (ages[:, age] if age <= MAX_SINGLE_AGE else oldest_mean)
    return out


PRIMARY_NBS = "xinjiang_primary_nbs_2000_2019.csv"
"""NBS primary series of Xinjiang (``new_entrants_10k``: grade-1 entrants, ``graduates_10k``), 2000–2019."""
JUNIOR_NBS = "xinjiang_junior_nbs_2011_2019.csv"
"""NBS junior series of Xinjiang (``new_entrants_10k``: grade-7 entrants), 2011–2019."""


def entry_cohort_weights(year: int, data_dir: Any = None) -> np.ndarray | None:
    """Relative size of grades 1–9 in autumn ``year`` from the published entrants of the years they entered.

    Grade ``g ≤ 6`` entered grade 1 in ``year − g + 1``: its weight is the NBS grade-1 entrants of that year
    (``xinjiang_primary_nbs_2000_2019.csv``). Grade ``g ≥ 7`` entered grade 7 in ``year − g + 7``: the NBS grade-7
    entrants of that year (``xinjiang_junior_nbs_2011_2019.csv``), or, where they are not published (before 2011),
    the primary graduates of the same year (who enter junior that autumn; 2011–2014, the years both are published,
    they differ by 0.5–2.5%). Returns ``None`` when a needed year is not published: the caller keeps the census
    cohorts. Repeaters and dropouts after entry are not modelled (assumption: compulsory education, few of either).

    Only ratios within a level matter (the registry's level totals are the published ones).
    """
    directory = DATA_DIR if data_dir is None else data_dir
    primary = pd.read_csv(directory / PRIMARY_NBS, index_col="year")
    junior = pd.read_csv(directory / JUNIOR_NBS, index_col="year")

    def value(table: pd.DataFrame, column: str, y: int) -> float:
        v = table[column].get(y, np.nan)
        return float(v) if pd.notna(v) else float("nan")

    weights = np.full(9, np.nan)
    for g in range(1, 10):
        if g <= 6:
            weights[g - 1] = value(primary, "new_entrants_10k", year - g + 1)
        else:
            entered = year - g + 7
            w = value(junior, "new_entrants_10k", entered)
            weights[g - 1] = w if not math.isnan(w) else value(primary, "graduates_10k", entered)
    if np.isnan(weights).any() or np.any(weights <= 0):
        return None
    return weights


RETENTION_POOL_YEARS = 3
"""Completing cohorts pooled by :func:`retention_since_entry` (the latest published up to the start year)."""


def _pooled_completion(pairs: list[tuple[float, float]]) -> float:
    """Σ completers ÷ Σ entrants over the latest :data:`RETENTION_POOL_YEARS` pairs; NaN without any."""
    chosen = pairs[:RETENTION_POOL_YEARS]
    if not chosen:
        return float("nan")
    return sum(c for c, _ in chosen) / sum(e for _, e in chosen)


def retention_since_entry(year: int, data_dir: Any = None) -> np.ndarray:
    """Share of each grade's entry cohort still enrolled in autumn ``year`` (grades 1–9), from the published
    completion of the cohorts that finished a level up to ``year`` (no later year is read).

    Primary: completion ``r_p`` = NBS primary graduates of year ``y`` ÷ grade-1 entrants of ``y − 6``, pooled over
    the latest :data:`RETENTION_POOL_YEARS` years ``y ≤ year`` with both published (2011: 2009–2011, r_p = 0.969).
    Junior: ``r_j`` = NBS junior graduates of ``y`` ÷ grade-7 entrants of ``y − 3`` (the primary graduates of that
    year where junior entrants are not published, as in :func:`entry_cohort_weights`), pooled likewise (2011: 2011
    only, 328,466 ÷ 349,300 = 0.940). The losses are placed where the engine's dropout acts
    (:func:`sim.mechanisms.students.promote`: before each promotion out of grades 1–8, none in grade 9): six
    steps from grade-1 entry to primary graduation, two from grade-7 entry to junior completion, so grade ``g``
    keeps ``r_p^((g−1)/6)`` (``g ≤ 6``) or ``r_j^((g−7)/2)`` (``g ≥ 7``) of its entrants. Assumption: the losses
    (dropout, net migration, transfers out of the NBS count; repetition nets out) are spread evenly over those
    steps and the cohorts in school lose at the pace of the latest completed ones. A level without a published
    pair keeps its entrants' ratios (ones). Only ratios within a level matter, as for
    :func:`entry_cohort_weights`.

    Without it the 2011 registry put fewer pupils in grade 7 (318,268) than the 2011 grade-7 entrants (325,953)
    and more in grade 9 (331,823) than the 2012 junior graduates (319,501), docs/findings.md ("Junior pupils,
    grade-7 entrants and junior teachers 2012–2016").
    """
    directory = DATA_DIR if data_dir is None else data_dir
    primary = pd.read_csv(directory / PRIMARY_NBS, index_col="year")
    junior = pd.read_csv(directory / JUNIOR_NBS, index_col="year")

    def value(table: pd.DataFrame, column: str, y: int) -> float:
        if column not in table.columns:
            return float("nan")
        v = table[column].get(y, np.nan)
        return float(v) if pd.notna(v) else float("nan")

    def junior_entry(y: int) -> float:
        w = value(junior, "new_entrants_10k", y)
        return w if not math.isnan(w) else value(primary, "graduates_10k", y)

    first = int(min(primary.index.min(), junior.index.min()))
    primary_pairs = [(value(primary, "graduates_10k", y), value(primary, "new_entrants_10k", y - 6))
                     for y in range(year, first - 1, -1)]
    junior_pairs = [(value(junior, "graduates_10k", y), junior_entry(y - 3)) for y in range(year, first - 1, -1)]
    r_p = _pooled_completion([(c, e) for c, e in primary_pairs if c > 0 and e > 0])
    r_j = _pooled_completion([(c, e) for c, e in junior_pairs if c > 0 and e > 0])
    out = np.ones(9)
    if not math.isnan(r_p):
        out[:6] = r_p ** (np.arange(6) / 6.0)
    if not math.isnan(r_j):
        out[6:] = r_j ** (np.arange(3) / 2.0)
    return out


def _allocate_schools(
    total: int, pupils: np.ndarray, size_factor: np.ndarray, county: np.ndarray, min_pupils: int
) -> np.ndarray:
    """Schools per (county, location) cell: exact total, ≥1 in each county's largest cell, ≤ pupils/min."""
    cap = np.maximum(pupils // max(min_pupils, 1), 0)
    minimum = np.zeros(len(pupils), dtype=np.int64)
    frame = pd.DataFrame({"county": county, "pupils": pupils})
    largest = frame[frame["pupils"] > 0].sort_values("pupils", ascending=False, kind="stable")
    largest_idx = largest.groupby("county", sort=False).head(1).index.to_numpy()
    minimum[largest_idx] = 1
    cap = np.maximum(cap, minimum)
    if int(minimum.sum()) > total or int(cap.sum()) < total:
        raise InputError(f"cannot place {total} schools: need {int(minimum.sum())}–{int(cap.sum())}")
    weights = pupils / size_factor
    n = apportion(total, weights, minimum)
    for _ in range(100):  # move schools out of cells above their cap, into cells below it
        excess = np.maximum(n - cap, 0)
        if not excess.any():
            break
        n = np.minimum(n, cap)
        room = np.where(n < cap, weights, 0.0)
        n = n + apportion(int(excess.sum()), room)
    return n


def _fold_orphans(pupils: np.ndarray, schools: np.ndarray, county: np.ndarray) -> np.ndarray:
    """Move the pupils of cells without a school to the cell of the same county with the most schools.

    ``pupils`` has shape ``(n_cells, n_grades)``; returns a new array.
    """
    out = pupils.copy()
    for c in np.unique(county):
        cells = np.flatnonzero(county == c)
        target = cells[np.argmax(schools[cells])]
        for cell in cells:
            if schools[cell] == 0 and cell != target:
                out[target] += out[cell]
                out[cell] = 0
    return out


def _split(totals_by_grade: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share each grade's pupils among schools ∝ ``weights``; shape ``(n_schools, n_grades)``."""
    out = np.zeros((len(weights), len(totals_by_grade)), dtype=np.int64)
    for g, total in enumerate(totals_by_grade):
        out[:, g] = apportion(int(total), weights)
    return out


def _beta_share(rng: np.random.Generator, mean: np.ndarray, concentration: float) -> np.ndarray:
    m = np.clip(mean, 1e-3, 1 - 1e-3)
    return rng.beta(m * concentration, (1 - m) * concentration)


def _by_loc(mapping: Mapping[str, float], location: np.ndarray) -> np.ndarray:
    return np.array([mapping[loc] for loc in location], dtype=float)


# ------------------------------------------------------------------------------------------------ main


def synthesize_registry(
    counties: pd.DataFrame,
    totals: Mapping[str, int],
    year: int,
    rng: np.random.Generator,
    assumptions: RegistryAssumptions | None = None,
    *,
    standard: QualityBalanceStandard | None = None,
) -> pd.DataFrame:
    """Generate a synthetic school registry for autumn ``year`` (see the module docstring for the steps).

    Parameters
    ----------
    counties
        County-level units as from :func:`sim.baseline.load_counties` (those to generate schools for; the
        published totals are shared among them).
    totals
        Region totals as from :func:`sim.baseline.published_totals`: ``primary_schools``, ``junior_schools``
        (junior-only + nine-year), ``primary_pupils``, ``junior_pupils``, ``primary_teachers``,
        ``junior_teachers``.
    year
        School year (autumn) the registry describes; ages are shifted from the 2020 census accordingly.
    rng
        Source of all randomness.
    assumptions
        Generator assumptions; default :class:`RegistryAssumptions`.
    standard
        2017 thresholds that facility values are drawn around; default :func:`sim.baseline.load_standard`.

    Returns
    -------
    pandas.DataFrame
        One row per school with ``sim.baseline.REGISTRY_COLUMNS``. Primary schools
        (``level == "primary"`` and ``teaching_point == 0``) number ``totals["primary_schools"]``; junior
        plus nine-year schools number ``totals["junior_schools"]``; grades 1–6 sum to ``primary_pupils``,
        grades 7–9 to ``junior_pupils``; primary-section and junior-section teachers sum to
        ``primary_teachers`` and ``junior_teachers``.
    """
    a = assumptions if assumptions is not None else RegistryAssumptions()
    std = standard if standard is not None else load_standard()
    missing = [
        k
        for k in (
            "primary_schools",
            "junior_schools",
            "primary_pupils",
            "junior_pupils",
            "primary_teachers",
            "junior_teachers",
        )
        if k not in totals
    ]
    if missing:
        raise InputError(f"missing totals: {', '.join(missing)}", key="totals")
    units = counties.reset_index(drop=True)
    n_units = len(units)
    codes = units["code"].to_numpy(dtype=np.int64)
    south = units["south"].to_numpy(dtype=bool)

    # 1. pupils by county and grade
    ages = single_year_ages(
        *(units[c].to_numpy() for c in ("age0", "age1_4", "age5_9", "age10_14", "age15_19"))
    )
    cohorts = grade_cohorts(ages, year)
    if year < CENSUS_YEAR:  # before the census: the grades' region sizes from the entrants of their entry years
        entrants = entry_cohort_weights(year)
        if entrants is not None:  # less each cohort's published losses since entry
            entrants = entrants * retention_since_entry(year)
            region = cohorts.sum(axis=0)
            cohorts = cohorts * np.where(region > 0, entrants / np.where(region > 0, region, 1.0), 0.0)[None, :]

    # 2. location shares per unit and level: columns urban, town, rural
    urban = units["urban_share"].to_numpy(dtype=float)
    is_county = units["unit_type"].to_numpy() == "county"
    core = np.where(is_county, 0.0, urban * a.urban_core_share_city)
    town_resident = urban - core
    rural_resident = 1.0 - urban
    loc_share = {}
    for level_name, moved in (
        ("primary", a.rural_pupils_in_town_primary),
        ("junior", a.rural_pupils_in_town_junior),
    ):
        loc_share[level_name] = np.stack(
            [core, town_resident + moved * rural_resident, (1 - moved) * rural_resident], axis=1
        )
    # cells: index = unit * 3 + location
    cell_county = np.repeat(np.arange(n_units), 3)
    cell_loc = np.tile(np.array(LOCATIONS), n_units)
    pupils = np.zeros((3 * n_units, 9), dtype=np.int64)
    for level_name, grade_idx, total in (
        ("primary", list(range(6)), totals["primary_pupils"]),
        ("junior", list(range(6, 9)), totals["junior_pupils"]),
    ):
        w = cohorts[:, grade_idx][:, None, :] * loc_share[level_name][:, :, None]  # unit, loc, grade
        flat = apportion(int(total), w.reshape(-1))
        pupils[:, grade_idx] = flat.reshape(n_units * 3, len(grade_idx))

    # 3. teaching points from rural grade 1-4 pupils
    rural_cells = np.flatnonzero(cell_loc == "rural")
    rural_g14 = pupils[rural_cells, :4].sum(axis=1)
    n_tp_total = round(a.teaching_points_per_primary_school * totals["primary_schools"])
    tp_cap = (a.teaching_point_max_share * rural_g14 / a.teaching_point_median_pupils).astype(np.int64)
    n_tp_total = min(n_tp_total, int(tp_cap.sum()))
    n_tp = (
        apportion(n_tp_total, rural_g14.astype(float)) if n_tp_total else np.zeros(len(rural_cells), np.int64)
    )
    n_tp = np.minimum(n_tp, tp_cap)
    tp_rows: list[dict[str, Any]] = []
    for tp_cell, k in zip(rural_cells, n_tp, strict=True):
        if k == 0:
            continue
        # at most 96 before rounding: sharing 4 grades adds at most 1 pupil per grade, so a site has <= 100
        draw = rng.lognormal(np.log(a.teaching_point_median_pupils), a.teaching_point_sigma, k)
        sizes = np.clip(draw, 5, 96)
        budget = min(int(sizes.sum()), int(a.teaching_point_max_share * pupils[tp_cell, :4].sum()))
        grade_take = apportion(budget, pupils[tp_cell, :4].astype(float))
        grade_take = np.minimum(grade_take, pupils[tp_cell, :4])
        pupils[tp_cell, :4] -= grade_take
        split = _split(grade_take, sizes)
        for i in range(k):
            g = np.zeros(9, dtype=np.int64)
            g[:4] = split[i]
            tp_rows.append({"cell": tp_cell, "level": "primary", "teaching_point": 1, "grades": g})

    # 4a. junior-level schools (junior-only + nine-year)
    size_factor = _by_loc(a.school_size_factor, cell_loc)
    junior_pupils = pupils[:, 6:].sum(axis=1)
    n_junior = _allocate_schools(
        int(totals["junior_schools"]), junior_pupils, size_factor, cell_county, a.min_pupils_per_school
    )
    pupils[:, 6:] = _fold_orphans(pupils[:, 6:], n_junior, cell_county)
    # 4b. which junior-level schools are nine-year: weighted draw without replacement among cells with pupils
    school_cell = np.repeat(np.arange(3 * n_units), n_junior)
    can_be_nine = pupils[school_cell, :6].sum(axis=1) > 0
    n_nine = min(round(a.nine_year_share_of_junior * totals["junior_schools"]), int(can_be_nine.sum()))
    w_nine = _by_loc(a.nine_year_location_weight, cell_loc[school_cell]) * can_be_nine
    nine = np.zeros(len(school_cell), dtype=bool)
    if n_nine:
        nine[rng.choice(len(school_cell), size=n_nine, replace=False, p=w_nine / w_nine.sum())] = True
    nine_per_cell = np.bincount(school_cell[nine], minlength=3 * n_units)
    # 4c. primary-only schools; cells holding a nine-year school already have a primary-level school
    primary_pupils = pupils[:, :6].sum(axis=1)
    n_primary = _allocate_schools(
        int(totals["primary_schools"]), primary_pupils, size_factor, cell_county, a.min_pupils_per_school
    )
    pupils[:, :6] = _fold_orphans(pupils[:, :6], n_primary + nine_per_cell, cell_county)

    # 4d. share each cell's pupils among its schools
    rows: list[dict[str, Any]] = []
    for cell in range(3 * n_units):
        is_nine = nine[school_cell == cell]
        n_j, n_p = len(is_nine), int(n_primary[cell])
        if n_j + n_p == 0:
            continue
        w_junior = rng.lognormal(0.0, a.school_size_sigma, n_j)
        w_primary_only = rng.lognormal(0.0, a.school_size_sigma, n_p)
        junior_split = _split(pupils[cell, 6:], w_junior) if n_j else np.zeros((0, 3), np.int64)
        # primary recipients: primary-only, then nine-year schools (same weight as their junior part)
        w_prim = np.concatenate([w_primary_only, w_junior[is_nine]])
        primary_split = _split(pupils[cell, :6], w_prim) if len(w_prim) else np.zeros((0, 6), np.int64)
        for i in range(n_p):
            g = np.zeros(9, dtype=np.int64)
            g[:6] = primary_split[i]
            rows.append({"cell": cell, "level": "primary", "teaching_point": 0, "grades": g})
        nine_rank = 0
        for j in range(n_j):
            g = np.zeros(9, dtype=np.int64)
            g[6:] = junior_split[j]
            if is_nine[j]:
                g[:6] = primary_split[n_p + nine_rank]
                nine_rank += 1
            rows.append(
                {
                    "cell": cell,
                    "level": "nine_year" if is_nine[j] else "junior",
                    "teaching_point": 0,
                    "grades": g,
                }
            )
    rows.extend(tp_rows)

    cell_of = np.array([r["cell"] for r in rows])
    grades = np.stack([r["grades"] for r in rows])
    level = np.array([r["level"] for r in rows])
    teaching_point = np.array([r["teaching_point"] for r in rows], dtype=np.int64)
    location = cell_loc[cell_of]
    unit = cell_county[cell_of]
    school_south = south[unit]
    n = len(rows)
    p_students = grades[:, :6].sum(axis=1)
    j_students = grades[:, 6:].sum(axis=1)

    # 5. classes
    jitter = rng.uniform(1 - a.class_size_jitter, 1 + a.class_size_jitter, n)
    target_p = _by_loc(a.class_size_primary, location) * jitter
    target_j = _by_loc(a.class_size_junior, location) * jitter
    classes_p = np.ceil(grades[:, :6] / target_p[:, None]).astype(np.int64).sum(axis=1)
    classes_j = np.ceil(grades[:, 6:] / target_j[:, None]).astype(np.int64).sum(axis=1)

    # 6. teachers per section, scaled to the published totals
    ratio_factor = _by_loc(a.pupil_teacher_ratio_factor, location)
    ratio_p = totals["primary_pupils"] / totals["primary_teachers"]
    ratio_j = totals["junior_pupils"] / totals["junior_teachers"]
    demand_p = np.maximum(p_students / (ratio_p * ratio_factor), a.min_teachers_per_class_primary * classes_p)
    demand_j = np.maximum(j_students / (ratio_j * ratio_factor), a.min_teachers_per_class_junior * classes_j)
    t_p = apportion(int(totals["primary_teachers"]), demand_p, (p_students > 0).astype(np.int64))
    t_j = apportion(int(totals["junior_teachers"]), demand_j, (j_students > 0).astype(np.int64))
    teachers = t_p + t_j

    # 7a. teacher categories
    k = a.share_concentration
    f_south = np.where(school_south, a.south_teacher_factor, 1.0)
    q_p = _beta_share(rng, _by_loc(a.qualified_share_primary, location) * f_south, k)
    q_j = _beta_share(rng, _by_loc(a.qualified_share_junior, location) * f_south, k)
    qualified = rng.binomial(t_p, q_p) + rng.binomial(t_j, q_j)
    backbone = rng.binomial(teachers, _beta_share(rng, _by_loc(a.backbone_share, location) * f_south, k))
    pe_art = rng.binomial(teachers, _beta_share(rng, _by_loc(a.pe_art_share, location) * f_south, k))
    sp_mean = _by_loc(a.special_post_share, location) * np.where(
        school_south, a.south_special_post_factor, 1.0
    )
    special_post = rng.binomial(teachers, _beta_share(rng, sp_mean, k))
    targeted = rng.binomial(teachers, a.targeted_share) if a.targeted_share > 0 else np.zeros(n, np.int64)
    age_p = np.where(
        school_south[:, None], np.array(a.age_band_shares_south), np.array(a.age_band_shares_north)
    )
    age_p = age_p / age_p.sum(axis=1, keepdims=True)
    age_bands = rng.multinomial(teachers, age_p)

    # 7b. facilities around the thresholds (blend of primary and junior thresholds by pupils)
    students = p_students + j_students
    share_p = np.divide(p_students, students, out=np.ones(n), where=students > 0)

    def threshold(indicator: str) -> np.ndarray:
        t = std.thresholds[indicator]
        return share_p * t["primary"] + (1 - share_p) * t["junior"]

    f_fac = np.where(school_south, a.south_facility_factor, 1.0)

    def per_student(indicator: str, ratio: Mapping[str, float]) -> np.ndarray:
        median = threshold(indicator) * _by_loc(ratio, location) * f_fac
        return median * rng.lognormal(0.0, a.facility_sigma, n)

    floor_area = np.round(per_student("floor_area_m2_per_student", a.floor_area_ratio) * students)
    sports_area = np.round(per_student("sports_area_m2_per_student", a.sports_area_ratio) * students)
    equipment = np.round(per_student("equipment_cny_per_student", a.equipment_ratio) * students, -2)
    rooms_exact = per_student("multimedia_rooms_per_100", a.multimedia_ratio) * students / 100
    rooms = np.floor(rooms_exact) + (rng.random(n) < rooms_exact - np.floor(rooms_exact))

    gigabit = rng.random(n) < _by_loc(a.gigabit_probability, location)
    counselling = rng.random(n) < _by_loc(a.counselling_room_probability, location)
    paired = (location == "rural") & (rng.random(n) < a.paired_probability_rural)

    out = pd.DataFrame(
        {"county_code": codes[unit], "level": level, "location": location, "teaching_point": teaching_point}
    )
    for grade in range(9):
        out[f"students_g{grade + 1}"] = grades[:, grade]
    columns: dict[str, np.ndarray] = {
        "classes_primary": classes_p,
        "classes_junior": classes_j,
        "teachers": teachers,
        "teachers_junior": t_j,
        "teachers_qualified": qualified,
        "teachers_backbone": backbone,
        "teachers_pe_art": pe_art,
        "teachers_special_post": special_post,
        "teachers_targeted": targeted,
        **{band: age_bands[:, i] for i, band in enumerate(TEACHER_AGE_BANDS)},
        "floor_area_m2": floor_area,
        "sports_area_m2": sports_area,
        "equipment_value_cny": equipment,
        "multimedia_rooms": rooms,
        "gigabit": gigabit,
        "counselling_room": counselling,
        "paired": paired,
    }
    for name, values in columns.items():
        out[name] = np.asarray(values).astype(np.int64)
    return _order_and_name(out)


_LEVEL_LETTER = {"primary": "P", "junior": "J", "nine_year": "N"}
_LEVEL_ORDER = {"primary": 0, "nine_year": 1, "junior": 2}
_LOCATION_ORDER = {loc: i for i, loc in enumerate(LOCATIONS)}


def _order_and_name(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by county, level, location, teaching point, size (largest first) and assign ``school_id``."""
    size = frame[list(PRIMARY_GRADES + JUNIOR_GRADES)].sum(axis=1)
    key = pd.DataFrame(
        {
            "county": frame["county_code"],
            "level": frame["level"].map(_LEVEL_ORDER),
            "tp": frame["teaching_point"],
            "loc": frame["location"].map(_LOCATION_ORDER),
            "size": -size,
        }
    )
    order = key.sort_values(["county", "level", "tp", "loc", "size"], kind="stable").index
    out = frame.loc[order].reset_index(drop=True)
    letter = np.where(out["teaching_point"].to_numpy() == 1, "T", out["level"].map(_LEVEL_LETTER).to_numpy())
    number = out.groupby(["county_code", pd.Series(letter)]).cumcount() + 1
    out["school_id"] = [
        f"{c}-{lt}-{k:04d}" for c, lt, k in zip(out["county_code"], letter, number, strict=True)
    ]
    return out[list(REGISTRY_COLUMNS)]


# ------------------------------------------------------------------------------------------------ per draw
# The structure of the registry (schools, sections, pupils, classes, teachers by section and age) is fixed; the
# values that spread teachers and facilities across schools are drawn in every draw from the uncertainties
# ``registry.*`` of ``sim/parameters.py`` (calibration/REGISTRY.md, "Drawn in every draw").

REGISTRY_PARAMETER_PREFIX = "registry."
LINKED = ("qualified", "backbone", "pe_art", "floor_area", "sports_area", "equipment", "multimedia", "gigabit",
          "counselling")
"""Resources tied to a school's latent advantage factor (in this order in :class:`SchoolNoise`)."""
INDEPENDENT = ("special_post", "paired")
"""Resources drawn independently of the factor."""
FACILITIES = ("floor_area", "sports_area", "equipment", "multimedia")
"""The four facilities, in the order of ``sim.vocabulary.FACILITY_INDICATORS``."""
ROUNDED = ("qualified", "backbone", "pe_art", "special_post")
"""Teacher counts, rounded stochastically from teachers × share."""


@dataclass(frozen=True)
class SchoolFrame:
    """The fixed structure the per-draw values are drawn for: one entry per section (arrays of length S).

    ``school`` indexes the schools (the two sections of a nine-year school share their school's draws);
    ``facility_thresholds`` are the 2017 per-student thresholds of the section's level, ``(S, 4)``, with
    multimedia rooms per 100 students.
    """

    school: np.ndarray
    county: np.ndarray
    level: np.ndarray
    location: np.ndarray
    teaching_point: np.ndarray
    south: np.ndarray
    teachers: np.ndarray
    students: np.ndarray
    facility_thresholds: np.ndarray
    n_schools: int
    n_counties: int


@dataclass(frozen=True)
class SchoolNoise:
    """Standard random numbers of one attempt for a block of draws (``D`` rows).

    ``county (D, C)`` and ``school (D, n_schools)`` normals make the advantage factor; ``linked (D, 9,
    n_schools)`` and ``independent (D, 2, n_schools)`` normals are each resource's own part; ``rounding (D, 4, S)``
    uniforms round teacher counts; ``teachers (D, n_schools)`` normals are the own part of the school's teachers
    per pupil (generated last, so that the other numbers of a block are those drawn before it was added).
    """

    county: np.ndarray
    school: np.ndarray
    linked: np.ndarray
    independent: np.ndarray
    rounding: np.ndarray
    teachers: np.ndarray

    @staticmethod
    def generate(rng: np.random.Generator, rows: int, frame: SchoolFrame) -> SchoolNoise:
        """All numbers of ``rows`` draws, in a fixed order (a block always generates all its rows)."""
        return SchoolNoise(
            county=rng.standard_normal((rows, frame.n_counties)),
            school=rng.standard_normal((rows, frame.n_schools)),
            linked=rng.standard_normal((rows, len(LINKED), frame.n_schools)),
            independent=rng.standard_normal((rows, len(INDEPENDENT), frame.n_schools)),
            rounding=rng.random((rows, len(ROUNDED), frame.school.size)),
            teachers=rng.standard_normal((rows, frame.n_schools)),
        )

    def take(self, rows: np.ndarray | slice) -> SchoolNoise:
        """The numbers of some draws (rows)."""
        return SchoolNoise(self.county[rows], self.school[rows], self.linked[rows], self.independent[rows],
                           self.rounding[rows], self.teachers[rows])

    @staticmethod
    def stack(parts: list[SchoolNoise]) -> SchoolNoise:
        """Rows of several blocks, in order."""
        return SchoolNoise(*(np.concatenate([getattr(p, k) for p in parts]) for k in
                             ("county", "school", "linked", "independent", "rounding", "teachers")))


@dataclass(frozen=True)
class SchoolValues:
    """Per-draw start values of every section, ``(D, S)``: teacher counts (int64), facilities (float), flags.

    ``teachers`` is the section's full-time teachers in the draw: the structure's teachers redistributed among the
    sections of the same county and level (:func:`spread_teachers`), so every county's and level's total is the
    structure's."""

    teachers: np.ndarray
    qualified: np.ndarray
    backbone: np.ndarray
    pe_art: np.ndarray
    special_post: np.ndarray
    floor_area_m2: np.ndarray
    sports_area_m2: np.ndarray
    equipment_value_cny: np.ndarray
    multimedia_rooms: np.ndarray
    gigabit: np.ndarray
    counselling_room: np.ndarray
    paired: np.ndarray

    def take(self, draws: np.ndarray | slice, sections: np.ndarray | slice = slice(None)) -> SchoolValues:
        """The values of some draws (rows) and sections (columns)."""
        return SchoolValues(**{k: v[draws][:, sections] for k, v in vars(self).items()})

    def put(self, draws: np.ndarray, other: SchoolValues) -> None:
        """Overwrite the rows ``draws`` with the rows of ``other`` (in place; arrays are not shared)."""
        for k, v in vars(self).items():
            v[draws] = getattr(other, k)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q) - np.log1p(-q)


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _normal_quantile(p: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return np.asarray(ndtri(np.clip(p, 0.0, 1.0)))


def largest_remainder(exact: np.ndarray, group: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Round ``exact (D, S)`` to integers whose sum over each group (``group (S,)`` of ``G``) is ``totals (D, G)``:
    ⌊exact⌋, then one more to the members with the largest remainders (ties: the lower index). ``exact`` must be
    non-negative and sum to the totals within each group (up to floating-point error).

    >>> largest_remainder(np.array([[1.5, 1.4, 0.1, 2.0]]), np.array([0, 0, 0, 1]), np.array([[3, 2]])).tolist()
    [[2, 1, 0, 2]]
    """
    d, s = exact.shape
    n_groups = totals.shape[1]
    exact = np.maximum(np.round(exact, 9), 0.0)  # an integer computed as 2.9999999999 is 3
    base = np.floor(exact).astype(np.int64)
    remainder = exact - base
    cell = (np.arange(d)[:, None] * n_groups + group[None, :]).ravel()
    have = np.bincount(cell, weights=base.ravel(), minlength=d * n_groups).round().astype(np.int64)
    missing = np.maximum(totals.ravel() - have, 0)
    order = np.lexsort((np.tile(np.arange(s), d), -remainder.ravel(), cell))
    cell_sorted = cell[order]
    first = np.searchsorted(cell_sorted, cell_sorted)  # where each member's group starts in the sorted order
    rank = np.empty(d * s, dtype=np.int64)
    rank[order] = np.arange(d * s) - first
    return base + (rank < missing[cell]).reshape(d, s)


def spread_teachers(frame: SchoolFrame, spread: np.ndarray, score: np.ndarray) -> np.ndarray:
    r"""The draw's full-time teachers of every section, ``(D, S)`` int64.

    The structure's teachers (published pupil–teacher ratio × location factor, at least a minimum per class;
    :func:`synthesize_registry`) times :math:`e^{s\,g}` (``s`` = ``registry.teacher_ratio_spread``, ``g`` the
    section's standard score), rescaled so that every county's teachers of each level are the structure's: a
    section with students keeps one teacher, the rest of the county's teachers of that level is shared in
    proportion to what the factor gives each section beyond that one, and rounded by the largest remainder
    (:func:`largest_remainder`). With ``s = 0`` the structure's teachers come back exactly.

    Parameters
    ----------
    frame
        The sections' fixed structure (``teachers``, ``students``, ``county``, ``level``).
    spread
        ``(D, 1)`` log sd of the school-to-school factor.
    score
        ``(D, S)`` standard score of each section (the two sections of a nine-year school share their school's).
    """
    teachers = frame.teachers.astype(np.float64)
    group = frame.county * 2 + frame.level
    n_groups = frame.n_counties * 2
    d = score.shape[0]
    cell = (np.arange(d)[:, None] * n_groups + group[None, :]).ravel()

    def group_sum(x: np.ndarray) -> np.ndarray:
        return np.bincount(cell, weights=x.ravel(), minlength=d * n_groups).reshape(d, n_groups)

    minimum = ((frame.students > 0) & (frame.teachers > 0)).astype(np.float64)
    total = np.bincount(group, weights=teachers, minlength=n_groups)
    rest = total - np.bincount(group, weights=minimum, minlength=n_groups)
    weight = teachers[None, :] * np.exp(spread * score)
    w_total = group_sum(weight)
    weight *= np.divide(total[None, :], w_total, out=np.zeros_like(w_total), where=w_total > 0)[:, group]
    extra = np.maximum(weight - minimum[None, :], 0.0)  # with s = 0: exactly teachers − minimum
    e_total = group_sum(extra)
    scale = np.divide(rest[None, :], e_total, out=np.zeros_like(e_total), where=e_total > 0)
    exact = minimum[None, :] + extra * scale[:, group]
    return largest_remainder(exact, group, np.broadcast_to(total.round().astype(np.int64), (d, n_groups)))


def draw_school_values(frame: SchoolFrame, hyper: Mapping[str, np.ndarray], noise: SchoolNoise) -> SchoolValues:
    """The start values of every section in ``D`` draws from the registry hyperparameters and standard noise.

    A school's **advantage factor** is :math:`z = \\sqrt{c}\\,u_{county} + \\sqrt{1-c}\\,v_{school} + \\delta\\,tp`
    (``c`` = ``registry.county_advantage_share``, ``δ`` = ``registry.teaching_point_advantage`` for a teaching
    point). Each linked resource ``k`` has the standard score :math:`g_k = \\sqrt{\\rho}\\,z + \\sqrt{1-\\rho}\\,e_k`
    (``ρ`` = ``registry.advantage_correlation``, so two resources of a school correlate by ρ on this scale):

    - teachers: the structure's teachers × :math:`e^{s_r g_r}` rescaled to every county's and level's total
      (:func:`spread_teachers`; ``s_r`` = ``registry.teacher_ratio_spread``, ``g_r`` the school's score for teachers
      per pupil, tied to the advantage factor like the linked resources: a school the county favours has more
      teachers per pupil too);
    - teacher shares: :math:`p = \\mathrm{expit}(\\mathrm{logit}(m) + s_t g_k)` with ``m`` the mean share of the
      school's location and region, ``s_t`` = ``registry.teacher_share_spread``; count = ⌊teachers · p + U⌋
      (stochastic rounding, unbiased, never above the draw's teachers);
    - facilities: threshold × median ratio of the location × south factor × :math:`e^{s_f g_k}` × students
      (``s_f`` = ``registry.facility_spread``);
    - gigabit and counselling room: :math:`g_k < \\Phi^{-1}(p)`; special-post share and rural pairing are drawn
      independently of the factor.

    With the three spreads at 0 every section has exactly the structure's teachers, its mean shares and its median
    facilities per student.

    Parameters
    ----------
    frame
        The sections' fixed structure.
    hyper
        Values of the ``registry.*`` uncertainties (without the prefix or with it), arrays ``(D,)``.
    noise
        Standard random numbers of the ``D`` draws.
    """

    def h(name: str) -> np.ndarray:
        value = hyper.get(REGISTRY_PARAMETER_PREFIX + name, hyper.get(name))
        if value is None:
            raise KeyError(f"registry hyperparameter {name!r} missing")
        return np.asarray(value, dtype=np.float64)[:, None]

    sch = frame.school
    loc = frame.location
    south = frame.south
    tp = frame.teaching_point.astype(np.float64)
    c = np.clip(h("county_advantage_share"), 0.0, 1.0)
    rho = np.clip(h("advantage_correlation"), 0.0, 1.0)
    county_of_school = np.zeros(frame.n_schools, dtype=np.int64)
    county_of_school[sch] = frame.county
    tp_school = np.zeros(frame.n_schools)
    tp_school[sch] = tp
    z = np.sqrt(c) * noise.county[:, county_of_school] + np.sqrt(1 - c) * noise.school \
        + h("teaching_point_advantage") * tp_school[None, :]
    score = {k: (np.sqrt(rho) * z + np.sqrt(1 - rho) * noise.linked[:, i])[:, sch] for i, k in enumerate(LINKED)}
    d = z.shape[0]
    teachers = spread_teachers(frame, h("teacher_ratio_spread"),
                               (np.sqrt(rho) * z + np.sqrt(1 - rho) * noise.teachers)[:, sch])

    # teacher shares
    loc_factor = np.stack([np.ones(d), h("town_teacher_factor")[:, 0], h("rural_teacher_factor")[:, 0]], axis=1)
    f = loc_factor[:, loc] * np.where(south, h("south_teacher_factor"), 1.0)
    spread_t = h("teacher_share_spread")

    def share(mean: np.ndarray, g: np.ndarray) -> np.ndarray:
        return np.asarray(_expit(_logit(np.clip(mean, 0.0, 1.0)) + spread_t * g))

    def rounded(p: np.ndarray, k: int) -> np.ndarray:
        exact = teachers * p
        # spread 0: p is exactly the mean; the rounding keeps a count within one teacher of teachers × mean
        return np.minimum(np.floor(exact + noise.rounding[:, k]), teachers).astype(np.int64)

    junior = frame.level[None, :] == 1
    q_mean = np.where(junior, h("qualified_share_junior"), h("qualified_share_primary")) * f
    qualified = rounded(share(q_mean, score["qualified"]), 0)
    backbone = rounded(share(h("backbone_share") * f, score["backbone"]), 1)
    pe_art = rounded(share(h("pe_art_share") * f, score["pe_art"]), 2)
    sp_loc = np.stack([h("special_post_urban_ratio")[:, 0], h("special_post_town_ratio")[:, 0], np.ones(d)], axis=1)
    sp_mean = h("special_post_share_rural") * sp_loc[:, loc] * np.where(south, h("south_special_post_factor"), 1.0)
    special_post = rounded(share(sp_mean, noise.independent[:, 0][:, sch]), 3)

    # facilities
    spread_f = h("facility_spread")
    f_fac = np.where(south, h("south_facility_factor"), 1.0)
    per_student = []
    for i, name in enumerate(FACILITIES):
        ratio = np.stack([h(f"{name}_ratio_{lc}")[:, 0] for lc in LOCATIONS], axis=1)[:, loc]
        per_student.append(frame.facility_thresholds[None, :, i] * ratio * f_fac * np.exp(spread_f * score[name]))
    students = frame.students[None, :].astype(np.float64)
    floor_area, sports_area, equipment, rooms_per_100 = per_student

    def flag(name: str, g: np.ndarray) -> np.ndarray:
        p = np.stack([h(f"{name}_probability_{lc}")[:, 0] for lc in LOCATIONS], axis=1)[:, loc]
        return np.asarray(g < _normal_quantile(p))

    rural = loc == LOCATIONS.index("rural")
    paired_p = h("paired_probability_rural")
    return SchoolValues(
        teachers=teachers,
        qualified=qualified,
        backbone=backbone,
        pe_art=pe_art,
        special_post=special_post,
        floor_area_m2=floor_area * students,
        sports_area_m2=sports_area * students,
        equipment_value_cny=equipment * students,
        multimedia_rooms=rooms_per_100 * students / 100.0,
        gigabit=flag("gigabit", score["gigabit"]),
        counselling_room=flag("counselling", score["counselling"]),
        paired=rural[None, :] & (noise.independent[:, 1][:, sch] < _normal_quantile(paired_p)),
    )


# ------------------------------------------------------------------------------------------------ acceptance

BASIC_BALANCE_CV_MAX = (0.65, 0.55)
"""Largest comprehensive difference coefficient (综合差异系数) of a county's primary / junior schools under the 2012
basic-balance method (《县域义务教育均衡发展督导评估暂行办法》, 教督〔2012〕3号), stated verbatim in
https://www.jjq.gov.cn/openness/grassroots/6603441/38916753.html (calibration/SEARCHES.md S9, S11)."""
BASIC_BALANCE_INDICATORS = ("floor_area", "sports_area", "equipment", "teachers", "qualified")
"""The 2012 indicators the registry holds (per student): teaching and auxiliary floor area, sports ground area,
equipment value, teachers (师生比), teachers above the required qualification. The other three of the eight
(books, computers, teachers with a middle or higher title) are not in the registry; the comprehensive coefficient
is the mean over these five (an assumption, calibration/REGISTRY.md)."""


def basic_balance_coefficients(frame: SchoolFrame, values: SchoolValues) -> np.ndarray:
    """Comprehensive difference coefficient of every county and level, ``(D, C, 2)`` (NaN: fewer than 2 schools).

    Each indicator's coefficient is the pupil-weighted CV across the county's sections of a level (the 2012
    formula: :math:`\\bar X = \\sum P_i X_i / \\sum P_i`, :math:`S = \\sqrt{\\sum P_i (X_i-\\bar X)^2/\\sum P_i}`,
    CV = S / X̄); the comprehensive coefficient is their mean. Teaching points count as schools.
    """
    students = frame.students.astype(np.float64)
    ok = students > 0
    safe = np.where(ok, students, 1.0)
    per_student = {
        "floor_area": values.floor_area_m2 / safe,
        "sports_area": values.sports_area_m2 / safe,
        "equipment": values.equipment_value_cny / safe,
        "teachers": values.teachers / safe,
        "qualified": values.qualified / safe,
    }
    group = frame.county * 2 + frame.level
    n_groups = frame.n_counties * 2
    weight = np.where(ok, students, 0.0)
    total = np.bincount(group, weights=weight, minlength=n_groups)
    count = np.bincount(group, weights=ok.astype(float), minlength=n_groups)
    d = values.qualified.shape[0]
    cvs = np.zeros((d, n_groups))
    index = (np.arange(d)[:, None] * n_groups + group[None, :]).ravel()
    w = np.broadcast_to(weight, (d, weight.size))
    denominator = np.where(total > 0, total, 1.0)
    for name in BASIC_BALANCE_INDICATORS:
        x = np.asarray(per_student[name], dtype=np.float64)
        mean = np.bincount(index, weights=(w * x).ravel(), minlength=d * n_groups).reshape(d, n_groups) / denominator
        squares = np.bincount(index, weights=(w * (x - mean[:, group]) ** 2).ravel(), minlength=d * n_groups)
        variance = squares.reshape(d, n_groups) / denominator
        cvs += np.sqrt(variance) / np.where(mean > 0, mean, np.nan)
    cvs /= len(BASIC_BALANCE_INDICATORS)
    cvs[:, count < 2] = np.nan
    return cvs.reshape(d, frame.n_counties, 2)


def basic_balance_pass(frame: SchoolFrame, values: SchoolValues) -> np.ndarray:
    """Whether every county passes the 2012 basic-balance CV limits in each draw, ``(D,)`` bool.

    A county with fewer than two schools of a level has no coefficient for it and passes that level.
    """
    coefficients = basic_balance_coefficients(frame, values)
    limit = np.array(BASIC_BALANCE_CV_MAX)
    return np.all(np.isnan(coefficients) | (coefficients <= limit), axis=(1, 2))
