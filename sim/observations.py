"""Published observations the model can be checked against: one tidy table, validated on load.

The table ``calibration/data/observations.csv`` is built by ``calibration/build_observations.py`` from the
published files in ``calibration/data/`` (NBS region series, census 2020, bulletins) and from the hand-entered,
sourced figures found by search; ``calibration/OBSERVATIONS.md`` explains it. One row is one observation:

========================  ===============================================================================
column                    meaning
========================  ===============================================================================
``series``                what is counted, snake_case (``pupils``, ``fulltime_teachers``, ``births``, …)
``level``                 ``primary``, ``junior``, ``compulsory`` (both) or ``all`` (not a school level)
``area``                  ``region`` (Xinjiang) or a 6-digit county code
``year``                  school year at the autumn census date (births: calendar year)
``value``                 the published figure, in ``unit`` (persons, not 10k persons)
``unit``                  ``persons``, ``schools``, ``ratio``, ``share``, ``counties``, …
``scope``                 ``with_xpcc``, ``without_xpcc`` or ``unknown`` (does the figure include the XPCC?)
``obs_sd_rel``            relative standard deviation of the observation error (0 < sd ≤ 1)
``sd_reason``             why the error has that size
``source``                short citation pointing into ``calibration/data/SOURCES.md``
``note``                  anything else (may be empty)
========================  ===============================================================================

The key ``(series, level, area, year, scope)`` is unique. :func:`load_observations` rejects a table that breaks
any rule with :class:`sim.errors.InputError` s naming the file, the CSV line and the column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from sim.errors import InputError, InputErrors

DATA_DIR = Path(__file__).resolve().parents[1] / "calibration" / "data"
DEFAULT_FILE = "observations.csv"

COLUMNS: tuple[str, ...] = (
    "series",
    "level",
    "area",
    "year",
    "value",
    "unit",
    "scope",
    "obs_sd_rel",
    "sd_reason",
    "source",
    "note",
)
KEY: tuple[str, ...] = ("series", "level", "area", "year", "scope")
LEVELS: tuple[str, ...] = ("primary", "junior", "compulsory", "all")
SCOPES: tuple[str, ...] = ("with_xpcc", "without_xpcc", "unknown")
MAX_REPORTED_ERRORS = 20


def _nonblank(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().str.len() > 0


SCHEMA = pa.DataFrameSchema(
    {
        "series": pa.Column(
            str,
            pa.Check.str_matches(r"^[a-z][a-z0-9_]*$", error="must be snake_case, e.g. 'fulltime_teachers'"),
        ),
        "level": pa.Column(str, pa.Check.isin(LEVELS, error=f"must be one of {', '.join(LEVELS)}")),
        "area": pa.Column(
            str, pa.Check.str_matches(r"^(region|\d{6})$", error="must be 'region' or a 6-digit county code")
        ),
        "year": pa.Column(int, pa.Check.in_range(1949, 2100, error="must be a year in [1949, 2100]")),
        "value": pa.Column(
            float,
            [
                pa.Check(lambda s: s.abs() < float("inf"), element_wise=False, error="must be a finite number"),
                pa.Check.ge(0, error="must be >= 0"),
            ],
        ),
        "unit": pa.Column(str, pa.Check(_nonblank, error="must not be empty")),
        "scope": pa.Column(str, pa.Check.isin(SCOPES, error=f"must be one of {', '.join(SCOPES)}")),
        "obs_sd_rel": pa.Column(
            float, pa.Check.in_range(0, 1, include_min=False, error="must be a stated number in (0, 1]")
        ),
        "sd_reason": pa.Column(str, pa.Check(_nonblank, error="must say why the error has that size")),
        "source": pa.Column(str, pa.Check(_nonblank, error="must cite a source (see SOURCES.md)")),
        "note": pa.Column(str, nullable=True),
    },
    strict=True,
    ordered=True,
    coerce=True,
    unique=list(KEY),
    report_duplicates="all",
)


def _line(index: Any) -> int | None:
    """CSV line of the data row with 0-based position ``index`` (line 1 is the header)."""
    try:
        return int(index) + 2
    except (TypeError, ValueError):
        return None


def _schema_errors(exc: SchemaErrors | SchemaError, frame: pd.DataFrame, file: str) -> list[InputError]:
    cases = exc.failure_cases
    if not isinstance(cases, pd.DataFrame) or cases.empty:
        return [InputError(str(exc).splitlines()[0], file=file)]
    errors: list[InputError] = []
    duplicate_rows: set[int] = set()
    uncoercible: set[str] = set()
    for case in cases.to_dict("records"):
        check = str(case["check"])
        if check.startswith("coerce_dtype") and not pd.isna(case["column"]):
            uncoercible.add(str(case["column"]))
    for case in cases.to_dict("records"):
        column = None if pd.isna(case["column"]) else str(case["column"])
        check = str(case["check"])
        value = case["failure_case"]
        line = _line(case["index"])
        if check in ("column_in_dataframe", "column_in_schema"):
            what = "missing column" if check == "column_in_dataframe" else "unknown column"
            errors.append(InputError(f"{what} {value!r}; the columns are: {', '.join(COLUMNS)}", file=file, line=1))
        elif check == "column_ordered":
            errors.append(InputError(f"columns out of order; expected: {', '.join(COLUMNS)}", file=file, line=1))
        elif check in ("multiple_fields_uniqueness", "field_uniqueness"):
            if line is not None:
                duplicate_rows.add(int(case["index"]))
        elif check.startswith("coerce_dtype") or check.startswith("dtype"):
            wanted = "integer" if column == "year" else "number"
            errors.append(InputError(f"not a valid {wanted}: {value!r}", file=file, line=line, key=column))
        elif column in uncoercible and line is None:
            continue  # a check that ran on the uncoerced column: the coercion error already says it
        elif check == "not_nullable":
            errors.append(InputError("must not be empty", file=file, line=line, key=column))
        else:
            errors.append(InputError(f"{check}, got {value!r}", file=file, line=line, key=column))
    if duplicate_rows:
        keys = frame[list(KEY)].astype(str)
        first_line = {tuple(r): i + 2 for i, r in reversed(list(enumerate(keys.itertuples(index=False))))}
        for position in sorted(duplicate_rows):
            key = tuple(keys.iloc[position])
            if first_line[key] == position + 2:
                continue  # the first occurrence is not the duplicate
            shown = ", ".join(f"{k}={v}" for k, v in zip(KEY, key, strict=True))
            errors.append(
                InputError(
                    f"duplicate key ({shown}): same as line {first_line[key]}",
                    file=file,
                    line=position + 2,
                    key="series,level,area,year,scope",
                )
            )
    # one message per (line, column): a coercion failure also fails the checks run after it
    seen: set[tuple[int | None, str | None]] = set()
    unique: list[InputError] = []
    for error in sorted(errors, key=lambda e: (e.line or 0, e.key or "")):
        if (error.line, error.key) in seen:
            continue
        seen.add((error.line, error.key))
        unique.append(error)
    return unique


def validate(frame: pd.DataFrame, file: str = "<observations>") -> pd.DataFrame:
    """``frame`` checked against the observation schema and coerced to its dtypes.

    Raises
    ------
    InputError, InputErrors
        Every broken rule, each naming ``file``, the CSV line of the row and the column.
    """
    header = [str(c) for c in frame.columns]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    header_errors = [
        InputError(f"missing column {c!r}; the columns are: {', '.join(COLUMNS)}", file=file, line=1) for c in missing
    ] + [InputError(f"unknown column {c!r}; the columns are: {', '.join(COLUMNS)}", file=file, line=1) for c in unknown]
    if len(header_errors) == 1:
        raise header_errors[0]
    if header_errors:
        raise InputErrors(header_errors)
    try:
        out = SCHEMA.validate(frame, lazy=True)
    except (SchemaErrors, SchemaError) as exc:
        errors = _schema_errors(exc, frame, file)
        if len(errors) == 1:
            raise errors[0] from None
        raise InputErrors(errors[:MAX_REPORTED_ERRORS]) from None
    return out.reset_index(drop=True)


def load_observations(path: Path | str | None = None) -> pd.DataFrame:
    """The observation table, validated.

    Parameters
    ----------
    path
        A CSV with the columns of :data:`COLUMNS`; default ``calibration/data/observations.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per observation, ``year`` as int, ``value`` and ``obs_sd_rel`` as float, ``note`` "" when empty.
    """
    file = Path(path) if path is not None else DATA_DIR / DEFAULT_FILE
    if not file.is_file():
        raise InputError(f"file not found (looked in {file.resolve().parent})", file=str(file))
    try:
        # everything as text first: the schema coerces and reports the row and column of a bad cell
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file: {exc}", file=str(file)) from None
    numeric = [c for c in ("year", "value", "obs_sd_rel") if c in raw.columns]
    for col in numeric:  # an empty numeric cell is a missing value, not the text ""
        raw[col] = raw[col].where(raw[col].str.strip() != "", None)
    return validate(raw, file=str(file))


def series(df: pd.DataFrame, name: str, level: str, area: str = "region", scope: str | None = None) -> pd.Series:
    """One observed series as values indexed by year.

    Parameters
    ----------
    df
        A table from :func:`load_observations`.
    name, level, area
        Which series (``"pupils"``, ``"primary"``, ``"region"``).
    scope
        ``with_xpcc``, ``without_xpcc`` or ``unknown``; ``None`` accepts any scope, provided each year has
        one observation only.

    Raises
    ------
    KeyError
        No such series (the message lists the series that exist for that level and area).
    ValueError
        ``scope=None`` and a year is observed under more than one scope.
    """
    rows = df[(df["series"] == name) & (df["level"] == level) & (df["area"] == area)]
    if scope is not None:
        rows = rows[rows["scope"] == scope]
    if rows.empty:
        there = df[(df["level"] == level) & (df["area"] == area)]["series"].unique()
        raise KeyError(
            f"no observations of series={name!r} level={level!r} area={area!r} scope={scope!r}; "
            f"series at that level and area: {', '.join(sorted(map(str, there))) or 'none'}"
        )
    if rows["year"].duplicated().any():
        scopes = ", ".join(sorted(rows["scope"].unique()))
        raise ValueError(f"series {name!r} ({level}, {area}) has years under several scopes ({scopes}): pass scope=")
    out = rows.set_index("year")["value"].sort_index().astype(float)
    out.name = name
    return out
