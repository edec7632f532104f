"""Write ``docs/parameters.md``: every number of the model with its source or its documented range.

Run ``python docs/build_parameters.py`` after changing a parameter, a lever default or a fixed rule;
``tests/test_docs.py`` fails while the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from sim.parameters import markdown_table
from sim.scenario import Levers

OUT = Path(__file__).resolve().parent / "parameters.md"

# Fixed rules and structural assumptions that are not scenario inputs: (what, value, where, source or rationale)
FIXED = [
    ("Quality-balance thresholds (7 indicators × 2 levels), ≥6 of 7 rule, 85% floor, CV ≤0.50 / 0.45, rotation "
     "≥10% / backbone ≥20%, class ≤45 / 50, school ≤2,000 / 2,500", "see file",
     "`calibration/data/quality_balance_standard.csv`", "教督〔2017〕6號 (SOURCES §3a–3b, high reliability)"),
    ("Student:staff norms", "1:19 primary, 1:13.5 junior", "`calibration/data/staffing_norms.csv`",
     "中央編辦發〔2014〕72號, **UNVERIFIED** (SOURCES §3d)"),
    ("Retirement ages under the 2025 reform", "men 60→63, women (professional) 55→58, +1 month per 4 months "
     "of birth", "`calibration/data/retirement_age_reform_2025.csv`",
     "NPC Standing Committee decision of 2024-09-13 (gov.cn)"),
    ("Region births", "20.54万 (2019), 16.0万 (2021)", "`sim/mechanisms/students.py` `REGION_BIRTHS`",
     "Xinjiang statistical bulletins (SOURCES §1d, medium reliability)"),
    ("County cohorts", "2020 census single ages 0–19: each band's single years a per-draw mix of three readings "
     "(linear, monotone cubic, registered-birth shares; each keeps the band totals), times "
     "`students.entrants_per_census_child` for entry up to 2026", "`calibration/data/counties.csv`, "
     "`sim/registry.py` `census_readings`",
     "7th census county yearbook (SOURCES §2, high reliability); the split of a band is an uncertainty "
     "(`students.census_reading_births`, `students.census_reading_monotone`)"),
    ("Entry age", "grade 1 in the autumn of the year a child turns 6", "`students.ENTRY_AGE_YEARS`",
     "national school-entry rule"),
    ("Dropout spread", "survival c^(1/8) at each of 8 transitions", "`students.survival_per_transition`",
     "assumption: dropout spread evenly over grades"),
    ("Teacher age bands", "nine 5-year bands 20–64; registry 10-year bands split evenly",
     "`sim/model.py` `split_registry_bands`", "assumption: ages uniform within a band"),
    ("Women in the start stock", "in service, so none in a band past their statutory age (55–59 before the "
     "2025 reform)", "`teachers.start_female_share_by_band`",
     "retirement rules (`calibration/data/retirement_age_reform_2025.csv`); ages uniform within a band"),
    ("Ageing", "1/5 of a band moves up each year (binomial)", "`teachers.age_one_year`",
     "assumption: uniform within band"),
    ("New hires", "join the 20–24 band", "`recruitment.NEW_HIRE_AGE_BAND_YEARS`", "assumption: new graduates"),
    ("Special-post placement", "rural sections; 60% of places to the south; remote counties weighted ×2",
     "`recruitment.special_post_hires`", "2016 Xinjiang recruitment plan (60% to the south, SOURCES §4c); ×2 is "
     "an assumption"),
    ("Targeted graduates", "to southern and remote counties, from 2025",
     "`sim/mechanisms/recruitment.py` `TARGETED_GRADUATES_FIRST_YEAR`",
     "優師計劃 from 2021 with 4-year degrees (SOURCES §4c); county designation is an assumption"),
    ("Special-post contracts", "3 years; then a share converts to regular posts",
     "`teachers.special_post_contract_end`", "特崗計劃 rules (SOURCES §4c)"),
    ("Rotation exchange", "each outgoing teacher is matched by a returning one (return share 1)",
     "`rotation.rotate`", "assumption: 交流輪崗 as an exchange that keeps headcount"),
    ("Rotation guarantee rule (≥10% of eligible, backbone ≥20% of rotated)", "judged on the lever's share "
     "and on the realised backbone share", "`sim/steps.py` `assess`",
     "assumption: the share is a county policy; the realised count scatters binomially around it"),
    ("Rotated and redeployed teachers' ages", "arrivals take the age mix of the year's leavers",
     "`sim/steps.py` `_move`", "assumption"),
    ("Teacher categories of movers (rotation, redeployment, retraining, rural→town drift)", "drawn without "
     "replacement from the sending section, placed without replacement among the county's arrivals",
     "`sim/steps.py` `_carry_categories`", "conserves qualified, backbone and PE/art teachers per county"),
    ("Quota verification", "at the start year and every year `quota.first_verification_year` + k × "
     "`quota.reverify_every_years` (years before the first too)", "`sim/steps.py` `verification_year`",
     "plan §二(一)3 (every 3 years)"),
    ("Teaching establishment", "the norm's posts × `quota.establishment_multiplier_{primary,junior}`; what "
     "recruitment fills and surplus is measured against (T5 keeps the norm)", "`quota.establishment_quota`",
     "Xinjiang's pupil–teacher ratios 2010–2016 (NBS) below the norm's"),
    ("Dispatched teachers", "placed by vacancy (+0.1 per open section); above the required qualification",
     "`sim/steps.py` `step_dispatch_arrivals`, `dispatch.dispatch_attributes`", "assumption"),
    ("Unspent capital", "not carried over", "`sim/steps.py` `step_facilities`", "assumption: earmarked funds"),
    ("Township-centre schools (T9)", "the largest town-or-rural school of each county",
     "`sim/model.py` `COUNSELLING_CENTRES_PER_COUNTY`", "assumption (narrowest reading of 鄉鎮中心學校)"),
    ("Special-education coverage (T8)", "counties above 200,000 people (2020 census)",
     "`sim/model.py` `SPECIAL_EDUCATION_POPULATION`", "plan §二(四)1"),
    ("Pairing (T6)", "follows `pairing.coverage_by_year` exactly, rural schools in priority order",
     "`sim/steps.py` `_paired`", "assumption: no implementation uncertainty is modelled"),
    ("Classes", "each year per grade ceil(pupils / 45 primary, 50 junior), within the section's classrooms "
     "(then the largest class as small as the rooms allow; a grade with pupils keeps a class); the class-size "
     "item reads the largest class", "`sim/mechanisms/classes.py`, step `classes`",
     "教督〔2017〕6號 guarantee item 5 (`calibration/data/quality_balance_standard.csv`)"),
    ("Classrooms", "start year: the registry's classes (no room stood empty); never demolished; a nine-year "
     "school's parts lend each other spare rooms; missing rooms built (`classes.build_share`) and in use after "
     "`facilities.construction_lag_years`", "`sim/mechanisms/classes.py`",
     "assumption: the registry has no classroom count; construction cost not yet in `sim/costs.py`"),
    ("Small sites", "teaching points under `assessment.small_site_exclusion_pupils` left out of the resource "
     "evaluation", "`sim/steps.py` `assess`", "Hebei's rules (SOURCES §3a); national text unverified"),
    ("Certification", "after `lag + 1` consecutive ready years, passes with the uncertain probability; "
     "never withdrawn", "`assessment.certify`", "assumption (national batches yearly, SOURCES §4b)"),
    ("CV formula", "pupil-weighted coefficient of variation", "`assessment.county_cv`",
     "基本均衡 method (2012), assumed to carry over to 2017"),
    ("Synthetic school registry", "every assumption with its range", "`calibration/REGISTRY.md`",
     "generated to match NBS 2019 totals"),
]


def _levers_table() -> str:
    rows = ["| lever | default | meaning, unit, range and source |", "|---|---|---|"]
    levers = Levers()
    for group in Levers.model_fields:
        model: BaseModel = getattr(levers, group)
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            rows.append(f"| `levers.{group}.{name}` | `{value}` | {field.description or ''} |")
    return "\n".join(rows) + "\n"


def render() -> str:
    fixed = ["| rule | value | where | source or rationale |", "|---|---|---|---|"]
    fixed += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in FIXED]
    return (
        "# Parameters, levers and fixed rules\n\n"
        "Generated by `docs/build_parameters.py` (do not edit by hand). Every number the model uses is here: "
        "an **uncertainty** (sampled per draw from the distribution shown, which a scenario may override), a "
        "**lever** (set by the scenario author; default = the plan as written), or a **fixed rule** (a "
        "published figure or a stated structural assumption).\n\n"
        "## Uncertainties\n\n" + markdown_table() + "\n"
        "## Levers\n\n" + _levers_table() + "\n"
        "## Fixed rules and structural assumptions\n\n" + "\n".join(fixed) + "\n"
    )


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
