"""Build ``calibration/data/counties.csv`` from the 2020 census county table.

One row per county-level unit: the 96 counties under the 14 prefectures and the 10 XPCC cities (6590xx),
with the census population, urban share and school-age bands, plus three derived flags and one derived
allocation, each an assumption documented in ``calibration/REGISTRY.md``:

* ``south`` — the unit belongs to one of the four southern prefectures 南疆四地州 (codes 6529, 6530, 6531,
  6532). A definition, not an assumption (DESIGN §2). The three XPCC cities located inside them are
  administered separately and are *not* flagged south (``xpcc_in_south`` says where they lie).
* ``remote`` — ASSUMPTION: ``south``, or an XPCC city located in the south, or a unit of fewer than
  100,000 people outside the urban districts of Ürümqi and Karamay (small, sparsely settled border and
  mountain counties such as 伊吾县, 吉木乃县, 阿拉山口市). No official list is used.
* ``unit_type`` — ``district`` (市辖区, name ends in 区), ``city`` (县级市, name ends in 市; XPCC cities too)
  or ``county`` (县). Under the NBS urban–rural rules (《统计上划分城乡的规定》) the urban population of a
  县 lives in 镇区 (town), that of a 区 or 县级市 mostly in 城区 (urban); the registry uses this.
* ``special_education_schools`` — ASSUMPTION: the 29 special-education schools of 2014 (Xinjiang education
  bulletin 2014, SOURCES §1f; no later county figure is published) allocated one to the most populous unit
  of each of the 14 prefectures and one to the most populous XPCC city, the remaining 14 to the next most
  populous units of the region.

Run from the repository root::

    python calibration/build_counties.py            # writes calibration/data/counties.csv
    python calibration/build_counties.py --check    # verifies the file on disk is what the script builds

The script checks that there are 96 + 10 rows and that county populations sum to the prefecture rows and the
region total of the census table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parent / "data"
CENSUS_FILE = DATA_DIR / "xinjiang_counties_census2020.csv"
OUT_FILE = DATA_DIR / "counties.csv"

SOUTH_PREFECTURES = (652900, 653000, 653100, 653200)
XPCC_PREFECTURE_CODE = 659000
XPCC_PREFECTURE_NAME = "自治区直辖县级市(兵团)"
XPCC_IN_SOUTH = (659002, 659003, 659009)  # 阿拉尔市 (Aksu), 图木舒克市 (Kashgar), 昆玉市 (Hotan)
REMOTE_MAX_POP = 100_000
NOT_REMOTE_PREFECTURES = (650100, 650200)  # urban districts of Ürümqi and Karamay
SPECIAL_EDUCATION_SCHOOLS_2014 = 29

AGE_COLUMNS = ["age0", "age1_4", "age5_9", "age10_14", "age15_19"]
SOURCE = (
    "derived by calibration/build_counties.py from xinjiang_counties_census2020.csv "
    "(github:leiii/census census_county_2020_v1.xlsx, 7th Census county yearbook); flags remote and "
    "special_education_schools are assumptions (calibration/REGISTRY.md)"
)


def _unit_type(name: str, xpcc: bool) -> str:
    if xpcc or name.endswith("市"):
        return "city"
    if name.endswith("区"):
        return "district"
    return "county"


def build(census: pd.DataFrame) -> pd.DataFrame:
    """The county table from the census table (see the module docstring for every column)."""
    is_xpcc = census["xpcc_city"].eq("yes")
    units = census[census["level"].eq("county") | is_xpcc].copy()
    xpcc = units["xpcc_city"].eq("yes")
    prefecture_code = (units["code"] // 100 * 100).where(~xpcc, XPCC_PREFECTURE_CODE)
    out = pd.DataFrame(
        {
            "code": units["code"].astype(int),
            "name": units["county"],
            "prefecture_code": prefecture_code.astype(int),
            "prefecture": units["prefecture"].where(~xpcc, XPCC_PREFECTURE_NAME),
            "south": prefecture_code.isin(SOUTH_PREFECTURES),
            "xpcc": xpcc,
            "xpcc_in_south": units["code"].isin(XPCC_IN_SOUTH),
            "unit_type": [_unit_type(n, x) for n, x in zip(units["county"], xpcc, strict=True)],
            "pop_2020": units["pop_total"].astype(int),
            "urban_pop": units["urban_pop"].astype(int),
            "urban_share": (units["urban_pop"] / units["pop_total"]).round(4),
        }
    )
    small = out["pop_2020"].lt(REMOTE_MAX_POP) & ~out["prefecture_code"].isin(NOT_REMOTE_PREFECTURES)
    out["remote"] = out["south"] | out["xpcc_in_south"] | small
    for col in AGE_COLUMNS:
        out[col] = units[col].astype(int)
    out["special_education_schools"] = _allocate_special_education(out)
    out["source"] = SOURCE
    return out.reset_index(drop=True)


def _allocate_special_education(units: pd.DataFrame) -> pd.Series:
    """One school to the largest unit of each prefecture (XPCC cities as one), the rest by population."""
    count = pd.Series(0, index=units.index, dtype=int)
    largest = (
        units.sort_values(["pop_2020", "code"], ascending=[False, True]).groupby("prefecture_code").head(1)
    )
    count[largest.index] = 1
    rest = SPECIAL_EDUCATION_SCHOOLS_2014 - int(count.sum())
    others = units.drop(index=largest.index).sort_values(["pop_2020", "code"], ascending=[False, True])
    count[others.index[:rest]] = 1
    return count


def check(census: pd.DataFrame, counties: pd.DataFrame) -> list[str]:
    """Problems with the built table against the census prefecture and region rows (empty if none)."""
    problems = []
    n_xpcc = int(counties["xpcc"].sum())
    if (len(counties) - n_xpcc, n_xpcc) != (96, 10):
        problems.append(f"expected 96 + 10 units, got {len(counties) - n_xpcc} + {n_xpcc}")
    if int(counties["south"].sum()) != 33:
        problems.append(f"expected 33 south units, got {int(counties['south'].sum())}")
    region = census[census["level"].eq("region")].iloc[0]
    for col, ccol in [("pop_2020", "pop_total"), ("urban_pop", "urban_pop"), *((c, c) for c in AGE_COLUMNS)]:
        if int(counties[col].sum()) != int(region[ccol]):
            problems.append(f"{col}: units sum to {int(counties[col].sum())}, region row says {region[ccol]}")
    prefectures = census[census["level"].eq("prefecture")].set_index("code")
    sums = counties[~counties["xpcc"]].groupby("prefecture_code")["pop_2020"].sum()
    for code, row in prefectures.iterrows():
        if int(sums.get(code, -1)) != int(row["pop_total"]):
            problems.append(
                f"prefecture {code}: counties sum to {sums.get(code)}, census says {row['pop_total']}"
            )
    if int(counties["special_education_schools"].sum()) != SPECIAL_EDUCATION_SCHOOLS_2014:
        problems.append("special_education_schools does not sum to 29")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--census", type=Path, default=CENSUS_FILE, help="census county table (CSV)")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="where to write counties.csv")
    parser.add_argument("--check", action="store_true", help="verify --out equals what would be built")
    args = parser.parse_args(argv)
    census = pd.read_csv(args.census)
    counties = build(census)
    problems = check(census, counties)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    if args.check:
        on_disk = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if on_disk != counties.to_csv(index=False, lineterminator="\n"):
            print(f"{args.out} differs from what build_counties.py builds; rerun it", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    counties.to_csv(args.out, index=False, lineterminator="\n")
    print(f"wrote {args.out}: {len(counties)} units ({int(counties['xpcc'].sum())} XPCC)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
