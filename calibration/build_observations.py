"""Build calibration/data/observations.csv: every published figure the model can be checked against, one row each.

Reads only files in calibration/data/ (their sources are in SOURCES.md) and the hand-entered file of figures
found by search, ``observations_found.csv`` (same columns as the output). Writes the tidy table described in
calibration/OBSERVATIONS.md and validates it with ``sim.observations.validate`` before writing.

Usage::

    python calibration/build_observations.py            # writes calibration/data/observations.csv
    python calibration/build_observations.py --check    # exit 1 if the file on disk differs from a rebuild

Conventions:
* values in persons (the NBS files give 10k persons: multiplied by 10,000 and rounded to the nearest person,
  which is below the NBS rounding of 1 person in the ``_10k`` columns with 4 decimals);
* rates as shares (95.69% -> 0.9569), birth and death rates in per mille as published;
* ``year`` is the school year at the autumn census date (2019 = the 2019/20 school year, census of autumn 2019);
  births and population: calendar year (population at year end; census: 1 November 2020).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.errors import InputError, InputErrors  # noqa: E402
from sim.observations import COLUMNS, validate  # noqa: E402

DATA = ROOT / "calibration" / "data"
OUT = DATA / "observations.csv"
FOUND = DATA / "observations_found.csv"

# --- scope (does a figure include the XPCC?) --------------------------------------------------------------
# NBS/education-department school counts: the sources do not say (SOURCES.md, caveats and §6 item 12).
SCOPE_EDUCATION = "unknown"
# Population, births and the census: resident population of the whole territory. The census region total
# (25,852,345) includes XPCC residents (the 10 XPCC cities hold 1.57M of the corps' ~3.2M people, the rest live
# inside the ordinary county rows, which still sum exactly to the region total), and the year-end population
# of the bulletins (2,523.22万 in 2019) is on the same basis (2,585万 at the 2020 census).
SCOPE_POPULATION = "with_xpcc"

NBS_REF = "SOURCES.md §1a-1d: NBS 分省年度数据 via github:3112944976/National-Visualization-Web-Application"

# --- observation error (relative SD) and its reason, by kind of figure ------------------------------------
SD = {
    "nbs_count": (
        0.01,
        "NBS provincial yearbook count; reporting and definitional revisions (e.g. teachers on secondment, "
        "private schools) ~1%",
    ),
    "nbs_schools": (
        0.02,
        "NBS school count; what counts as a school (vs. a teaching point or a merged campus) changes between "
        "years (e.g. 3,368 -> 3,640 in 2019, unexplained) ~2%",
    ),
    "nbs_flow": (
        0.02,
        "NBS entrants/graduates: a flow counted once a year, sensitive to the census date and transfers ~2%",
    ),
    "nbs_ratio": (
        0.015,
        "ratio of two NBS counts (each ~1%), published to 2 decimals",
    ),
    "nbs_population": (
        0.01,
        "NBS year-end resident population from the 1% sample surveys; revised after each census ~1%",
    ),
    "nbs_rate": (
        0.03,
        "birth/death rate from the annual 1‰ population sample survey; sampling and registration error ~3%",
    ),
    "births_published": (
        0.02,
        "births published in the statistical bulletin (from the sample-survey rate); sampling error ~2%",
    ),
    "births_derived": (
        0.03,
        "derived = birth rate × mean of year-end populations t-1 and t; sample-survey rate ~3% plus the "
        "mid-year approximation",
    ),
    "census_total": (
        0.005,
        "7th census count (full enumeration; the NBS reported a 0.05% net omission rate nationally, "
        "not re-checked here); county yearbook sums exactly",
    ),
    "census_age0": (
        0.10,
        "census age-0 count: infants are the most under-enumerated age in Chinese censuses (late birth "
        "registration); judgement: 5-15%",
    ),
    "census_age": (
        0.03,
        "census count by 5-year age band; age misreporting and omission of young children ~3%",
    ),
    "bulletin_count": (
        0.01,
        "count in the Xinjiang education statistical bulletin (same basis as NBS) ~1%",
    ),
    "bulletin_garbled": (
        0.02,
        "2018 Xinjiang education bulletin, read from a machine-translated copy with garbled numerals decoded "
        "against NBS; transcription risk ~2%",
    ),
    "rate_published": (
        0.01,
        "rate published to 0.01 percentage points; the definition (consolidation vs completion, cohort base) "
        "is not stated, ~1 point",
    ),
    "status": (
        0.01,
        "official recognition (basic balance) is a published status; the date within the year may differ",
    ),
    "programme_round": (
        0.05,
        "round figure quoted in a press article or speech (often 'more than' / 'about'), ~5%",
    ),
}


def row(
    series: str,
    level: str,
    year: int,
    value: float,
    unit: str,
    scope: str,
    sd: str,
    source: str,
    note: str = "",
    area: str = "region",
) -> dict[str, object]:
    sd_rel, reason = SD[sd]
    return {
        "series": series,
        "level": level,
        "area": area,
        "year": int(year),
        "value": float(value),
        "unit": unit,
        "scope": scope,
        "obs_sd_rel": sd_rel,
        "sd_reason": reason,
        "source": source,
        "note": note,
    }


def _present(x: object) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def persons(x_10k: float) -> float:
    return float(round(float(x_10k) * 10_000))


# ------------------------------------------------------------------------------------------ NBS school series


def nbs_level(path: Path, level: str, schools_col: str) -> list[dict[str, object]]:
    frame = pd.read_csv(path)
    src = f"{NBS_REF} ({path.name})"
    out = []
    columns = [
        (schools_col, "schools", "schools", "nbs_schools", False),
        ("enrolled_10k", "pupils", "persons", "nbs_count", True),
        ("new_entrants_10k", "entrants", "persons", "nbs_flow", True),
        ("graduates_10k", "graduates", "persons", "nbs_flow", True),
        ("fulltime_teachers_10k", "fulltime_teachers", "persons", "nbs_count", True),
    ]
    for rec in frame.to_dict("records"):
        for col, series, unit, sd, in_10k in columns:
            value = rec[col]
            if not _present(value):
                continue  # a gap in the source is not a zero: no row
            note = ""
            if series == "schools" and level == "primary" and int(rec["year"]) == 2019:
                note = "jump from 3,368 (2018) is probably a change in how schools are counted (SOURCES.md §1a)"
            out.append(
                row(
                    series,
                    level,
                    rec["year"],
                    persons(value) if in_10k else float(value),
                    unit,
                    SCOPE_EDUCATION,
                    sd,
                    src,
                    note,
                )
            )
    return out


def nbs_ratios(path: Path) -> list[dict[str, object]]:
    frame = pd.read_csv(path)
    src = f"{NBS_REF} ({path.name})"
    out = []
    for rec in frame.to_dict("records"):
        for col, level in (("primary_ratio", "primary"), ("junior_ratio", "junior")):
            if _present(rec[col]):
                out.append(
                    row(
                        "pupil_teacher_ratio",
                        level,
                        rec["year"],
                        rec[col],
                        "ratio",
                        SCOPE_EDUCATION,
                        "nbs_ratio",
                        src,
                        "pupils per full-time teacher (生师比)",
                    )
                )
    return out


# -------------------------------------------------------------------------------------- population, births


def population_births(path: Path) -> list[dict[str, object]]:
    frame = pd.read_csv(path).set_index("year")
    out = []
    for year, rec in frame.iterrows():
        src = f"SOURCES.md §1d ({path.name}): {rec['source']}"
        suspect = str(rec["note"]) if _present(rec["note"]) and "suspect" in str(rec["note"]) else ""
        if int(year) == 2020:
            continue  # the census, not a year-end figure: taken from the census file below
        if _present(rec["pop_yearend_10k"]):
            out.append(
                row(
                    "population",
                    "all",
                    year,
                    persons(rec["pop_yearend_10k"]),
                    "persons",
                    SCOPE_POPULATION,
                    "nbs_population",
                    src,
                    "year-end resident population",
                )
            )
        if _present(rec["urban_10k"]):
            out.append(
                row(
                    "population_urban",
                    "all",
                    year,
                    persons(rec["urban_10k"]),
                    "persons",
                    SCOPE_POPULATION,
                    "nbs_population",
                    src,
                    "year-end urban resident population",
                )
            )
        if _present(rec["birth_rate_permille"]):
            out.append(
                row(
                    "birth_rate",
                    "all",
                    year,
                    rec["birth_rate_permille"],
                    "per_mille",
                    SCOPE_POPULATION,
                    "nbs_rate",
                    src,
                    suspect,
                )
            )
        if _present(rec["death_rate_permille"]):
            out.append(
                row(
                    "death_rate",
                    "all",
                    year,
                    rec["death_rate_permille"],
                    "per_mille",
                    SCOPE_POPULATION,
                    "nbs_rate",
                    src,
                    suspect,
                )
            )
        if _present(rec["births_10k"]):
            out.append(
                row(
                    "births",
                    "all",
                    year,
                    persons(rec["births_10k"]),
                    "persons",
                    SCOPE_POPULATION,
                    "births_published",
                    src,
                    "published in the statistical bulletin",
                )
            )
        elif _present(rec["birth_rate_permille"]) and (year - 1) in frame.index:
            prev = frame.loc[year - 1, "pop_yearend_10k"]
            if _present(prev) and _present(rec["pop_yearend_10k"]):
                mean_pop = (float(prev) + float(rec["pop_yearend_10k"])) / 2 * 10_000
                births = round(float(rec["birth_rate_permille"]) / 1000 * mean_pop)
                note = f"derived = {rec['birth_rate_permille']}‰ × mean year-end population {year - 1}-{year}"
                out.append(
                    row(
                        "births",
                        "all",
                        year,
                        births,
                        "persons",
                        SCOPE_POPULATION,
                        "births_derived",
                        src,
                        f"{note}; {suspect}" if suspect else note,
                    )
                )
    return out


# ---------------------------------------------------------------------------------------------- census 2020

CENSUS_BANDS = (
    ("age0", "census_cohort_age0", "census_age0"),
    ("age1_4", "census_cohort_age1_4", "census_age"),
    ("age5_9", "census_cohort_age5_9", "census_age"),
    ("age10_14", "census_cohort_age10_14", "census_age"),
    ("age15_19", "census_cohort_age15_19", "census_age"),
)


def census(path: Path) -> list[dict[str, object]]:
    frame = pd.read_csv(path, dtype={"code": str})
    out = []
    src = "SOURCES.md §2: 7th census county yearbook via github:leiii/census (xinjiang_counties_census2020.csv)"
    for rec in frame.to_dict("records"):
        if rec["level"] == "region":
            area = "region"
        elif str(rec["level"]).startswith("county"):
            area = str(rec["code"])
        else:
            continue  # prefecture rows are sums of county rows
        xpcc = rec["xpcc_city"] == "yes"
        note = "census date 2020-11-01" + ("; XPCC city (6590xx)" if xpcc else "")
        out.append(
            row(
                "census_population",
                "all",
                2020,
                rec["pop_total"],
                "persons",
                SCOPE_POPULATION,
                "census_total",
                src,
                note,
                area=area,
            )
        )
        for col, series, sd in CENSUS_BANDS:
            out.append(
                row(
                    series,
                    "all",
                    2020,
                    rec[col],
                    "persons",
                    SCOPE_POPULATION,
                    sd,
                    src,
                    f"{note}; ages {col[3:].replace('_', '-')} on the census date",
                    area=area,
                )
            )
    return out


# ------------------------------------------------------------------- bulletins and rates (misc indicators)

WAN = re.compile(r"^\s*([0-9.]+)\s*万?\s*$")


def _parts(value: str) -> list[float]:
    out = []
    for part in str(value).split("/"):
        m = WAN.match(part)
        if m is None:
            raise ValueError(f"cannot read {part!r} in {value!r}")
        out.append(float(m.group(1)))
    return out


def misc(path: Path) -> list[dict[str, object]]:
    frame = pd.read_csv(path, dtype=str)
    out: list[dict[str, object]] = []
    for rec in frame.to_dict("records"):
        year, ind, src_url = rec["year"], rec["indicator"], rec["source"]
        src = f"SOURCES.md §1f/§1e ({path.name}): {src_url}"
        level = next((lv for lv in ("primary", "junior")
                      if year == "2018" and ind.startswith(f"{lv} schools / enrolled / new / graduates")), None)
        if level is not None:
            _s, _p, new, grad = _parts(rec["value"])
            # schools and pupils equal the NBS figures (already in the table): only the flows NBS lacks
            for series, value in (("entrants", new), ("graduates", grad)):
                out.append(row(series, level, 2018, persons(value), "persons", SCOPE_EDUCATION, "bulletin_garbled",
                               src, "2018 education bulletin; NBS file has a gap"))
        elif year == "2014" and ind.startswith("special-education schools"):
            schools = _parts(rec["value"])[0]
            out.append(
                row(
                    "special_education_schools",
                    "all",
                    2014,
                    schools,
                    "schools",
                    SCOPE_EDUCATION,
                    "bulletin_count",
                    src,
                    "2014 education bulletin (mirror)",
                )
            )
        elif year == "2019" and ind.startswith("net enrolment primary / junior"):
            prim, jun = _parts(rec["value"])
            for level, v in (("primary", prim), ("junior", jun)):
                out.append(
                    row(
                        "net_enrolment_rate",
                        level,
                        2019,
                        v / 100,
                        "share",
                        SCOPE_EDUCATION,
                        "rate_published",
                        src,
                        "Xinhua 2020-07-05",
                    )
                )
        elif ind.startswith("9-year compulsory consolidation rate") or ind.startswith(
            "9-year compulsory consolidation (completion) rate"
        ):
            out.append(
                row(
                    "consolidation_rate",
                    "compulsory",
                    int(year),
                    float(rec["value"]) / 100,
                    "share",
                    SCOPE_EDUCATION,
                    "rate_published",
                    src,
                    str(rec["note"]),
                )
            )
    return out


# ---------------------------------------------------------------------------- basic balance (基本均衡)

BALANCED_2016 = {  # names in the 2016 list -> county code (counties.csv)
    "乌鲁木齐高新区(新市区)": "650104",
    "天山区": "650102",
    "米东区": "650109",
    "博湖": "652829",
    "阿勒泰市": "654301",
    "奇台": "652325",
    "布尔津": "654321",
    "裕民": "654225",
    "昭苏": "654026",
    "吉木萨尔": "652327",
    "察布查尔": "654022",
    "鄯善": "650421",
}
TACHENG_2020 = {  # 2020-10 status in Tacheng prefecture
    "沙湾": ("654223", 1.0),
    "裕民": ("654225", 1.0),
    "和布克赛尔": ("654226", 1.0),
    "乌苏": ("654202", 1.0),
    "塔城市": ("654201", 0.0),
    "额敏": ("654221", 0.0),
    "托里": ("654224", 0.0),
}


def balance(path: Path) -> list[dict[str, object]]:
    frame = pd.read_csv(path, dtype=str)
    out: list[dict[str, object]] = []
    for rec in frame.to_dict("records"):
        metric, scope_txt = rec["metric"], rec["scope"]
        src = f"SOURCES.md §4a ({path.name}): {rec['source']}"
        if scope_txt != "Xinjiang" and not scope_txt.startswith("Xinjiang - Tacheng"):
            continue  # national figures are not observations of the Xinjiang model
        if metric.startswith("counties passing national 基本均衡 in 2016"):
            names = [n.strip() for n in rec["note"].split(",")]
            if set(names) != set(BALANCED_2016):
                raise ValueError(f"2016 list changed: {names}")
            for name in names:
                out.append(
                    row(
                        "basic_balanced",
                        "compulsory",
                        2016,
                        1.0,
                        "indicator",
                        SCOPE_EDUCATION,
                        "status",
                        src,
                        f"{name}: recognised 基本均衡 in 2016 (1 = recognised)",
                        area=BALANCED_2016[name],
                    )
                )
        elif metric.startswith("counties having passed national 基本均衡 (cumulative)"):
            out.append(
                row(
                    "basic_balanced_counties",
                    "compulsory",
                    2016,
                    float(rec["value"]),
                    "counties",
                    SCOPE_EDUCATION,
                    "status",
                    src,
                    "cumulative, as of 2016-10",
                )
            )
        elif metric.startswith("counties having met 基本均衡 / not yet"):
            for name, (code, v) in TACHENG_2020.items():
                if name not in rec["note"]:
                    raise ValueError(f"Tacheng list changed: {rec['note']}")
                out.append(
                    row(
                        "basic_balanced",
                        "compulsory",
                        2020,
                        v,
                        "indicator",
                        SCOPE_EDUCATION,
                        "status",
                        src,
                        f"{name}: {'met' if v else 'not yet met'} 基本均衡 as of 2020-10",
                        area=code,
                    )
                )
        elif metric.startswith("national inspection: all Xinjiang counties meet"):
            out.append(
                row(
                    "basic_balanced_share",
                    "compulsory",
                    2021,
                    1.0,
                    "share",
                    SCOPE_EDUCATION,
                    "status",
                    src,
                    "all Xinjiang counties by the 2021 batch (all 2,895 counties nationally, "
                    "XPCC included, announced 2022-05)",
                )
            )
    return out


# ------------------------------------------------------------------------------ teacher programme numbers


def programmes(path: Path) -> list[dict[str, object]]:
    frame = pd.read_csv(path, dtype=str)
    out: list[dict[str, object]] = []
    for rec in frame.to_dict("records"):
        period, scope_txt, metric = rec["year_or_period"], rec["scope"], rec["metric"]
        if scope_txt != "Xinjiang":
            continue
        src = f"SOURCES.md §4c ({path.name}): {rec['source']}"
        if period == "2011-2015" and metric == "teachers hired":
            out.append(
                row(
                    "teachers_recruited_period",
                    "all",
                    2015,
                    float(rec["value"]),
                    "persons",
                    SCOPE_EDUCATION,
                    "programme_round",
                    src,
                    "sum over 2011-2015, all levels incl. preschool (62,400 bilingual)",
                )
            )
        elif period.startswith("2021-2025") and metric.startswith("primary, secondary and kindergarten"):
            out.append(
                row(
                    "teachers_recruited_period",
                    "all",
                    2025,
                    float(rec["value"]),
                    "persons",
                    SCOPE_EDUCATION,
                    "programme_round",
                    src,
                    "sum over 2021 to 2025-09 (14th FYP), primary, secondary and kindergarten",
                )
            )
        elif period == "2017" and metric == "hired in 2017":
            out.append(
                row(
                    "preschool_bilingual_teachers_hired",
                    "all",
                    2017,
                    float(rec["value"]),
                    "persons",
                    SCOPE_EDUCATION,
                    "programme_round",
                    src,
                    "preschool, not compulsory",
                )
            )
        elif period == "2012-2025" and metric.startswith("exchange teachers sent since 2012"):
            out.append(
                row(
                    "aid_teachers_sent_cumulative",
                    "all",
                    2025,
                    float(rec["value"]),
                    "persons",
                    SCOPE_EDUCATION,
                    "programme_round",
                    src,
                    "援疆 exchange teachers sent 2012 to 2025-09",
                )
            )
        elif period.startswith("2025-09 (stock)"):
            aid, silver, _west = _parts(rec["value"])
            out.append(
                row(
                    "aid_teachers_in_post",
                    "all",
                    2025,
                    aid,
                    "persons",
                    SCOPE_EDUCATION,
                    "programme_round",
                    src,
                    "援疆 exchange teachers in post, 2025-09",
                )
            )
            out.append(
                row(
                    "silver_age_teachers_in_post",
                    "all",
                    2025,
                    silver,
                    "persons",
                    SCOPE_EDUCATION,
                    "programme_round",
                    src,
                    "银龄 retired teachers in post, 2025-09",
                )
            )
    return out


# ----------------------------------------------------------------------------------------------- assemble


def build(data: Path = DATA, found: Path | None = None) -> pd.DataFrame:
    """The observation table from the files in ``data`` (see the module docstring)."""
    rows: list[dict[str, object]] = []
    rows += nbs_level(data / "xinjiang_primary_nbs_2000_2019.csv", "primary", "primary_schools")
    rows += nbs_level(data / "xinjiang_junior_nbs_2011_2019.csv", "junior", "junior_schools")
    rows += nbs_ratios(data / "xinjiang_student_teacher_ratio_2004_2019.csv")
    rows += population_births(data / "xinjiang_population_births_2000_2021.csv")
    rows += census(data / "xinjiang_counties_census2020.csv")
    rows += misc(data / "xinjiang_misc_indicators.csv")
    rows += balance(data / "balanced_county_recognition.csv")
    rows += programmes(data / "teacher_programs_and_flows.csv")
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    found_path = found if found is not None else data / FOUND.name
    if found_path.is_file():
        hand = pd.read_csv(found_path, dtype=str, keep_default_na=False)
        hand = validate(hand, file=str(found_path))
        frame = pd.concat([frame, hand[list(COLUMNS)]], ignore_index=True)
    frame = frame.sort_values(["series", "level", "area", "year", "scope"], kind="stable").reset_index(drop=True)
    return validate(frame, file="<built observations>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out differs from a rebuild")
    args = parser.parse_args(argv)
    try:
        frame = build()
    except (InputError, InputErrors) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = frame.to_csv(index=False, lineterminator="\n")
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from a rebuild'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {len(frame)} observations, {frame['series'].nunique()} series")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
