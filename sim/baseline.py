"""Published baseline data and the school registry: loaders that validate what they read.

Every file lives in ``calibration/data/`` of the repository (one copy; its ``SOURCES.md`` says where
each figure comes from). The package finds it as
``Path(__file__).resolve().parents[1] / "calibration" / "data"``, which works for the documented install
(``pip install -e .`` from a clone); a non-editable install does not ship the data. Every loader also takes
an explicit ``path``, so a researcher can point it at their own copy (e.g. real school records as the
registry).

Problems with a file raise :class:`sim.errors.InputError` (one problem) or :class:`sim.errors.InputErrors`
(several), naming the file, the line (CSV row number + 1 for the header), the column and the bad value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError, InputErrors, suggest
from sim.vocabulary import INDICATORS, LOCATIONS, SCHOOL_LEVELS

DATA_DIR = Path(__file__).resolve().parents[1] / "calibration" / "data"
"""Directory of the published and derived data files (``calibration/data`` of the repository)."""

LEVELS = SCHOOL_LEVELS
"""Levels of a registry school (``level`` column): :data:`sim.vocabulary.SCHOOL_LEVELS`."""
SHIPPED_REGISTRY_YEAR = 2020
"""School year of the shipped synthetic registry ``calibration/data/registry_2020.csv`` (the census year)."""

PRIMARY_GRADES = tuple(f"students_g{g}" for g in range(1, 7))
JUNIOR_GRADES = tuple(f"students_g{g}" for g in range(7, 10))
TEACHER_AGE_BANDS = (
    "teachers_age_20_29",
    "teachers_age_30_39",
    "teachers_age_40_49",
    "teachers_age_50_54",
    "teachers_age_55_59",
    "teachers_age_60_64",
)
TEACHER_CATEGORIES = (
    "teachers_qualified",
    "teachers_backbone",
    "teachers_pe_art",
    "teachers_special_post",
    "teachers_targeted",
)
BINARY_COLUMNS = ("teaching_point", "gigabit", "counselling_room", "paired")
REGISTRY_COLUMNS: tuple[str, ...] = (
    "school_id",
    "county_code",
    "level",
    "location",
    "teaching_point",
    *PRIMARY_GRADES,
    *JUNIOR_GRADES,
    "classes_primary",
    "classes_junior",
    "teachers",
    "teachers_junior",
    *TEACHER_CATEGORIES,
    *TEACHER_AGE_BANDS,
    "floor_area_m2",
    "sports_area_m2",
    "equipment_value_cny",
    "multimedia_rooms",
    "gigabit",
    "counselling_room",
    "paired",
)
"""Registry columns in file order (``calibration/REGISTRY.md`` documents each)."""

REGISTRY_INTEGER_COLUMNS = tuple(c for c in REGISTRY_COLUMNS if c not in ("school_id", "level", "location"))

COUNTY_COLUMNS = (
    "code",
    "name",
    "prefecture_code",
    "prefecture",
    "south",
    "xpcc",
    "remote",
    "unit_type",
    "pop_2020",
    "urban_pop",
    "urban_share",
    "age0",
    "age1_4",
    "age5_9",
    "age10_14",
    "age15_19",
    "special_education_schools",
    "source",
)

MAX_REPORTED_ERRORS = 20


def _file(path: Path | str | None, default: str) -> Path:
    return Path(path) if path is not None else DATA_DIR / default


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"file not found (looked in {path.resolve().parent})", file=str(path))
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file: {exc}", file=str(path)) from None


def _require_columns(frame: pd.DataFrame, required: tuple[str, ...], path: Path) -> None:
    # the header is not echoed: a file that is not a CSV of ours (a secrets file) would have its first line printed
    known = [str(c) for c in frame.columns if str(c) in required]
    header = f"the header has {len(frame.columns)} columns, {len(known)} of the {len(required)} required"
    _raise(
        [
            InputError(f"missing column; {header}", file=str(path), line=1, key=col)
            for col in required
            if col not in frame.columns
        ][:MAX_REPORTED_ERRORS]
    )


def _raise(errors: list[InputError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors[:MAX_REPORTED_ERRORS])


def _line(row_position: int) -> int:
    """CSV line of the 0-based data row ``row_position`` (line 1 is the header)."""
    return row_position + 2


# --------------------------------------------------------------------------------------------- counties


def load_counties(path: Path | str | None = None, include_xpcc: bool = False) -> pd.DataFrame:
    """The county-level units with their 2020 census population and flags.

    Parameters
    ----------
    path
        ``counties.csv`` to read; default ``calibration/data/counties.csv`` (built by
        ``calibration/build_counties.py``).
    include_xpcc
        Include the 10 XPCC cities (6590xx). Scenarios exclude them by default (DESIGN §2).

    Returns
    -------
    pandas.DataFrame
        One row per unit (96, or 106 with XPCC) indexed 0..n-1, columns as in ``COUNTY_COLUMNS``;
        ``south``, ``xpcc`` and ``remote`` are bool, populations are int (persons).
    """
    file = _file(path, "counties.csv")
    frame = _read_csv(file)
    _require_columns(frame, COUNTY_COLUMNS, file)
    errors: list[InputError] = []
    for col in ("south", "xpcc", "remote"):
        if frame[col].dtype != bool:
            bad = frame[col][~frame[col].isin([True, False])]
            pos = int(bad.index[0]) if len(bad) else 0
            errors.append(
                InputError(
                    f"must be True or False, got {_show(frame[col].iloc[pos])}",
                    file=str(file),
                    line=_line(pos),
                    key=col,
                )
            )
    for col in (
        "code",
        "prefecture_code",
        "pop_2020",
        "urban_pop",
        "age0",
        "age1_4",
        "age5_9",
        "age10_14",
        "age15_19",
        "special_education_schools",
    ):
        errors.extend(_integer_errors(frame, col, file))
    dupes = frame["code"][frame["code"].duplicated()]
    for pos in dupes.index[:3]:
        errors.append(
            InputError(
                f"duplicate county code {frame['code'].iloc[pos]}",
                file=str(file),
                line=_line(int(pos)),
                key="code",
            )
        )
    _raise(errors)
    if not include_xpcc:
        frame = frame[~frame["xpcc"]].reset_index(drop=True)
    return frame


def _show(value: Any) -> str:
    """A cell value as the user wrote it (numpy scalars unwrapped, strings quoted)."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def _integer_errors(frame: pd.DataFrame, col: str, file: Path) -> list[InputError]:
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = values.isna() | (values < 0) | (values != np.floor(values.fillna(0)))
    errors = []
    for pos in np.flatnonzero(bad.to_numpy())[:MAX_REPORTED_ERRORS]:
        errors.append(
            InputError(
                f"must be a non-negative integer, got {_show(frame[col].iloc[pos])}",
                file=str(file),
                line=_line(int(pos)),
                key=col,
            )
        )
    return errors


# --------------------------------------------------------------------------------------------- standard


@dataclass(frozen=True)
class QualityBalanceStandard:
    """The 2017 quality-balance assessment rules (教督〔2017〕6号) as data.

    Attributes
    ----------
    thresholds
        ``thresholds[indicator][level]`` for the 7 resource indicators (``INDICATORS``) and levels
        ``primary``/``junior``; units in the indicator name (per 100 students, m² or CNY per student).
    n_indicators, min_indicators_met, remaining_min_fraction
        A school meets the standard when ≥ ``min_indicators_met`` of the ``n_indicators`` are met and the
        rest reach ≥ ``remaining_min_fraction`` of their threshold.
    cv_max
        Largest coefficient of variation across a county's schools, per level.
    rotation_min_share, rotation_backbone_min_share
        Yearly rotation ≥ this share of eligible teachers; backbone teachers ≥ this share of those rotated.
    class_size_max, school_size_max
        Students per class (``primary``/``junior``) and per school (``primary``/``junior``/``nine_year``).
    small_school_funding_floor
        Schools under this many students are funded as if they had it.
    """

    thresholds: Mapping[str, Mapping[str, float]]
    n_indicators: int
    min_indicators_met: int
    remaining_min_fraction: float
    cv_max: Mapping[str, float]
    rotation_min_share: float
    rotation_backbone_min_share: float
    class_size_max: Mapping[str, int]
    school_size_max: Mapping[str, int]
    small_school_funding_floor: int


def load_standard(path: Path | str | None = None) -> QualityBalanceStandard:
    """The quality-balance standard from ``quality_balance_standard.csv``.

    Parameters
    ----------
    path
        Default ``calibration/data/quality_balance_standard.csv`` (layout ``kind,name,level,value,unit,
        name_zh,source``).

    References
    ----------
    教育部《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6号); see the file's ``source`` column.
    """
    file = _file(path, "quality_balance_standard.csv")
    frame = _read_csv(file)
    _require_columns(frame, ("kind", "name", "level", "value", "unit", "source"), file)
    values = pd.to_numeric(frame["value"], errors="coerce")
    errors = [
        InputError(
            f"must be a number, got {_show(frame['value'].iloc[pos])}",
            file=str(file),
            line=_line(int(pos)),
            key="value",
        )
        for pos in np.flatnonzero(values.isna().to_numpy())
    ]
    _raise(errors)
    table: dict[tuple[str, str, str], float] = {}
    for pos, (kind, name, level, value) in enumerate(
        zip(frame["kind"], frame["name"], frame["level"], values, strict=True)
    ):
        if kind not in ("indicator", "rule"):
            raise InputError(
                f"unknown kind {kind!r}; {suggest(str(kind), ['indicator', 'rule'])}",
                file=str(file),
                line=_line(pos),
                key="kind",
            )
        if kind == "indicator" and name not in INDICATORS:
            raise InputError(
                f"unknown indicator {name!r}; {suggest(str(name), INDICATORS)}",
                file=str(file),
                line=_line(pos),
                key="name",
            )
        table[(str(kind), str(name), str(level))] = float(value)

    def get(kind: str, name: str, level: str) -> float:
        try:
            return table[(kind, name, level)]
        except KeyError:
            raise InputError(f"no row for {kind} {name!r} at level {level!r}", file=str(file)) from None

    thresholds = {
        ind: MappingProxyType({lv: get("indicator", ind, lv) for lv in ("primary", "junior")})
        for ind in INDICATORS
    }
    return QualityBalanceStandard(
        thresholds=MappingProxyType(thresholds),
        n_indicators=int(get("rule", "n_indicators", "all")),
        min_indicators_met=int(get("rule", "min_indicators_met", "all")),
        remaining_min_fraction=get("rule", "remaining_min_fraction", "all"),
        cv_max=MappingProxyType({lv: get("rule", "cv_max", lv) for lv in ("primary", "junior")}),
        rotation_min_share=get("rule", "rotation_min_share", "all"),
        rotation_backbone_min_share=get("rule", "rotation_backbone_min_share", "all"),
        class_size_max=MappingProxyType(
            {lv: int(get("rule", "class_size_max", lv)) for lv in ("primary", "junior")}
        ),
        school_size_max=MappingProxyType({lv: int(get("rule", "school_size_max", lv)) for lv in LEVELS}),
        small_school_funding_floor=int(get("rule", "small_school_funding_floor", "all")),
    )


def load_staffing_norms(path: Path | str | None = None) -> dict[str, float]:
    """Students per staff post by level (``primary``: 19, ``junior``: 13.5, ``senior``: 12.5).

    These are the commonly cited 2014 unified norms (中央编办发〔2014〕72号), **UNVERIFIED** against a primary
    source (SOURCES.md §3d); the staffing-quota mechanism should treat them as such.
    """
    file = _file(path, "staffing_norms.csv")
    frame = _read_csv(file)
    _require_columns(frame, ("level", "students_per_staff", "source"), file)
    values = pd.to_numeric(frame["students_per_staff"], errors="coerce")
    norms: dict[str, float] = {}
    for pos, (level, value) in enumerate(zip(frame["level"], values, strict=True)):
        if not np.isfinite(value) or value <= 0:
            raise InputError(
                f"must be a positive number, got {frame['students_per_staff'].iloc[pos]!r}",
                file=str(file),
                line=_line(pos),
                key="students_per_staff",
            )
        norms[str(level)] = float(value)
    for level in ("primary", "junior"):
        if level not in norms:
            raise InputError(f"no row for level {level!r}", file=str(file), key="level")
    return norms


# --------------------------------------------------------------------------------------------- totals

_TOTAL_SPECS = (
    # (output key, file, column, multiplier)
    ("primary_schools", "xinjiang_primary_nbs_2000_2019.csv", "primary_schools", 1),
    ("primary_pupils", "xinjiang_primary_nbs_2000_2019.csv", "enrolled_10k", 10_000),
    ("primary_teachers", "xinjiang_primary_nbs_2000_2019.csv", "fulltime_teachers_10k", 10_000),
    ("junior_schools", "xinjiang_junior_nbs_2011_2019.csv", "junior_schools", 1),
    ("junior_pupils", "xinjiang_junior_nbs_2011_2019.csv", "enrolled_10k", 10_000),
    ("junior_teachers", "xinjiang_junior_nbs_2011_2019.csv", "fulltime_teachers_10k", 10_000),
)


def published_totals(year: int, *, exact: bool = False, data_dir: Path | str | None = None) -> dict[str, int]:
    """Region totals of schools, pupils and full-time teachers by level from the NBS provincial tables.

    Parameters
    ----------
    year
        School year wanted (autumn of ``year``).
    exact
        If True, ``year`` itself must have data. If False (default), the latest year ≤ ``year`` with all six
        figures is used — for the 2020 start that is 2019, the last published year (SOURCES.md §1a–b).
    data_dir
        Directory holding the NBS tables; default ``calibration/data``.

    Returns
    -------
    dict
        ``primary_schools``, ``primary_pupils``, ``primary_teachers``, ``junior_schools``, ``junior_pupils``,
        ``junior_teachers`` (counts; pupils and teachers converted from 万人 and rounded to persons) and
        ``data_year``, the year the figures are for.

    Raises
    ------
    InputError
        No year ≤ ``year`` has all six figures (the junior table starts in 2011), or ``exact`` and ``year``
        has none.
    """
    directory = Path(data_dir) if data_dir is not None else DATA_DIR
    by_key: dict[str, pd.Series] = {}
    for key, name, col, mult in _TOTAL_SPECS:
        file = directory / name
        frame = _read_csv(file)
        _require_columns(frame, ("year", col), file)
        series = pd.to_numeric(frame[col], errors="coerce") * mult
        series.index = pd.Index(frame["year"].astype(int))
        by_key[key] = series.dropna()
    complete = sorted(set.intersection(*(set(s.index) for s in by_key.values())))
    available = [y for y in complete if y <= year]
    if (exact and year not in complete) or not available:
        raise InputError(
            f"no published totals for {year}; years with all figures: {complete[0]}–{complete[-1]}",
            file=str(directory / _TOTAL_SPECS[0][1]),
            key="year",
        )
    data_year = available[-1]
    out = {key: round(float(series[data_year])) for key, series in by_key.items()}
    out["data_year"] = data_year
    return out


# --------------------------------------------------------------------------------------------- registry


def registry_schema(known_counties: set[int] | None = None) -> Any:
    """The per-cell schema of a registry file as a :class:`pandera.DataFrameSchema`.

    Without ``known_counties``: types and allowed values (non-negative integers, levels, locations, unique school
    ids). With it (after the integer columns are converted): county codes known and 0/1 flags. The checks that
    compare columns (categories ≤ teachers, age bands summing to teachers, grades of absent levels) follow in
    :func:`load_registry`.
    """
    import pandera.pandas as pa

    def non_negative_integer(values: pd.Series) -> pd.Series:
        # vectorised: an element-wise check builds a Series per cell and cost ~9 s on the shipped registry
        number = pd.to_numeric(values, errors="coerce").astype(float)
        finite = np.isfinite(number)
        return pd.Series(finite & (number >= 0) & (number == np.floor(number.where(finite, 0.0))), index=values.index)

    if known_counties is None:
        columns: dict[str, Any] = {
            col: pa.Column(checks=pa.Check(non_negative_integer, error="must be a non-negative integer"),
                           nullable=True, coerce=False)
            for col in REGISTRY_INTEGER_COLUMNS
        }
        for col, allowed in (("level", LEVELS), ("location", LOCATIONS)):
            columns[col] = pa.Column(checks=pa.Check.isin(list(allowed), error=f"unknown {col}; valid: "
                                                          + ", ".join(allowed)), nullable=True)
        columns["school_id"] = pa.Column(unique=True, nullable=False)
    else:
        columns = {"county_code": pa.Column(checks=pa.Check.isin(sorted(known_counties),
                                                                 error="unknown county code; see counties.csv"))}
        columns.update({col: pa.Column(checks=pa.Check.isin([0, 1], error="must be 0 or 1")) for col in BINARY_COLUMNS})
    return pa.DataFrameSchema(columns, strict=False)


def registry_schema_errors(frame: pd.DataFrame, file: Path, known_counties: set[int] | None = None) -> list[InputError]:
    """The schema's failures (:func:`registry_schema`) as input errors naming file, CSV line and column."""
    import pandera.errors as pe

    try:
        registry_schema(known_counties).validate(frame, lazy=True)
    except pe.SchemaErrors as exc:
        cases = exc.failure_cases
        errors = []
        for _, case in cases.iterrows():
            column, value, index, check = case["column"], case["failure_case"], case["index"], str(case["check"])
            line = _line(int(index)) if pd.notna(index) else 1
            if column == "school_id":
                message = f"school_id must be present and unique, got {value!r}"
            elif column in ("level", "location"):
                message = f"unknown {column} {value!r}; valid: {', '.join(LEVELS if column == 'level' else LOCATIONS)}"
            elif column == "county_code" and check.startswith("unknown"):
                message = f"unknown county code {_show(value)}; see counties.csv"
            elif check == "must be 0 or 1":
                message = f"must be 0 or 1, got {_show(value)}"
            else:
                message = f"must be a non-negative integer, got {_show(value)}"
            errors.append(InputError(message, file=str(file), line=line, key=str(column)))
        return sorted(errors, key=lambda e: (e.line or 0, str(e.key)))[:MAX_REPORTED_ERRORS]
    return []


def load_registry(path: Path | str | None = None, counties: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate a school registry (one row per school; schema in ``calibration/REGISTRY.md``).

    Parameters
    ----------
    path
        Registry CSV; default ``calibration/data/registry_2020.csv`` (the synthetic registry).
    counties
        Known county-level units; default :func:`load_counties` with XPCC cities.

    Returns
    -------
    pandas.DataFrame
        Columns in ``REGISTRY_COLUMNS`` order; integer columns as int64, ``level`` and ``location`` as str.

    Raises
    ------
    InputError, InputErrors
        Missing file or column, non-integer or negative value, unknown level, location or county, duplicate
        school id, inconsistent teacher or grade counts. Each error names the file, the CSV line (data row
        number + 1 for the header), the column and the value.
    """
    file = _file(path, f"registry_{SHIPPED_REGISTRY_YEAR}.csv")
    frame = _read_csv(file)
    _require_columns(frame, REGISTRY_COLUMNS, file)
    known = set((counties if counties is not None else load_counties(include_xpcc=True))["code"].astype(int))
    errors: list[InputError] = []

    def report(mask: Any, col: str, message: str) -> None:
        for pos in np.flatnonzero(np.asarray(mask))[:MAX_REPORTED_ERRORS]:
            errors.append(
                InputError(
                    message.format(value=frame[col].iloc[pos]), file=str(file), line=_line(int(pos)), key=col
                )
            )

    errors.extend(registry_schema_errors(frame, file))
    if errors:
        _raise(errors)
    for col in REGISTRY_INTEGER_COLUMNS:
        frame[col] = frame[col].astype("int64")
    errors.extend(registry_schema_errors(frame, file, known))
    has_primary = frame["level"].isin(["primary", "nine_year"]).to_numpy()
    has_junior = frame["level"].isin(["junior", "nine_year"]).to_numpy()
    for col in PRIMARY_GRADES:
        report((frame[col] > 0) & ~has_primary, col, "must be 0 for a junior school, got {value}")
    for col in JUNIOR_GRADES:
        report((frame[col] > 0) & ~has_junior, col, "must be 0 for a primary school, got {value}")
    teachers = frame["teachers"]
    for col in (*TEACHER_CATEGORIES, "teachers_junior"):
        report(frame[col] > teachers, col, "exceeds teachers ({value} > the school's teachers)")
    report(
        frame[list(TEACHER_AGE_BANDS)].sum(axis=1) != teachers,
        "teachers_age_20_29",
        "teacher age bands must sum to teachers",
    )
    report(
        (frame["level"] == "junior") & (frame["teachers_junior"] != teachers),
        "teachers_junior",
        "must equal teachers for a junior school, got {value}",
    )
    report(
        (frame["level"] == "primary") & (frame["teachers_junior"] != 0),
        "teachers_junior",
        "must be 0 for a primary school, got {value}",
    )
    _raise(errors)
    return frame[list(REGISTRY_COLUMNS)]
