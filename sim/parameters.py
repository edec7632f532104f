"""Registry of the uncertain parameters of the model.

Every quantity that nobody controls and nobody has measured well enough to fix (attrition, unit costs, fill
rates, …) is an **uncertainty**: it gets a name, units, the bounds of values that make sense, a default
distribution and the source of that default: a published figure, or ``"assumption: …"`` with the reason for
the range. A scenario may override the default distribution of any registered name under ``uncertainties:``;
an unknown name is an error with the nearest registered name as a suggestion.

The registry is rendered as a Markdown table by :func:`markdown_table` (``docs/scenario.md`` and
``edusim show --parameters``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sim.distributions import (
    Beta,
    Distribution,
    Fixed,
    Normal,
    Triangular,
    Uniform,
    describe,
    sample,
    support,
)
from sim.errors import InputError, suggest

__all__ = ["PARAMETERS", "Parameter", "get_parameter", "markdown_table", "sample_problem", "support_problem"]


@dataclass(frozen=True)
class Parameter:
    """One uncertain parameter.

    Attributes
    ----------
    name
        Dotted name, ``<group>.<quantity>``, as written in a scenario's ``uncertainties:``.
    units
        Units of the value.
    description
        What the value means in the model.
    lower, upper
        Bounds of the meaningful values (inclusive; ``-inf``/``inf`` when unbounded). A distribution whose
        support leaves them is rejected.
    default
        Default distribution.
    source
        Published figure behind the default, or ``"assumption: …"`` with the reason for the range.
    usable
        Range the values the engines will use must lie in (the quantiles 2⁻⁵³ and 1 − 2⁻⁵³ of the distribution,
        see :func:`sim.distributions.sample`), when it is narrower than ``[lower, upper]``; ``None`` = the
        bounds. Checked by :func:`sample_problem`.
    usable_reason
        Why values outside ``usable`` cannot be used.
    """

    name: str
    units: str
    description: str
    lower: float
    upper: float
    default: Distribution
    source: str
    usable: tuple[float, float] | None = None
    usable_reason: str = ""


_INF = math.inf
#: Smallest unit cost the engines can use: 1 fen (0.01 CNY), the smallest unit of the currency; a cost of 0 would
#: make capital buy unlimited floor area or equipment.
_FEN = 0.01
_COST_REASON = "at least 1 fen, the smallest unit of the currency: a cost of 0 buys unlimited facilities"

_PARAMETER_LIST: tuple[Parameter, ...] = (
    Parameter(
        "births.trend_per_year",
        "log change per year",
        "Yearly change of log births per county after the last observed year (2021).",
        -_INF,
        _INF,
        Normal(mean=-0.03, sd=0.02),
        "births 20.54万 (2019) → 16.0万 (2021), a log change of −0.125/yr (SOURCES §1d, medium reliability); "
        "assumption: the fall slows to about −3%/yr, 95% range about −7% to +1%",
        usable=(-0.25, 0.25),
        usable_reason="twice the steepest recorded fall, −0.125/yr in 2019→2021; beyond it births change over "
        "300-fold by 2044 and the engines fail on such counts",
    ),
    Parameter(
        "students.consolidation_2020",
        "share of an entry cohort",
        "Region's nine-year consolidation rate (鞏固率) of 2020, the anchor of the dropout hazard: the cohort "
        "completing grade 9 in 2020 keeps this share along the hazard's path by level (1 − c^(1/8) per transition "
        "when the levels and years are equal; sim.mechanisms.students.level_hazards). The reported consolidation "
        "rate is measured from the simulated flows, not this parameter.",
        0.0,
        1.0,
        Beta(mean=0.9569, sd=0.005),
        "95.69% in 2020 (white paper; SOURCES §1e, calibration/data/observations.csv); assumption: an SD of 0.5 "
        "points for a rate published to 0.01 points whose definition (consolidation or completion, cohort base) "
        "is not stated (calibration/OBSERVATIONS.md §errors)",
    ),
    Parameter(
        "students.dropout_decline_per_year",
        "log change per year",
        "Yearly fall of the log dropout hazard after 2020 (the same in every county).",
        0.0,
        _INF,
        Uniform(low=0.06, high=0.43),
        "the two published Xinjiang rates, 95.69% (2020) and 99.2% (2024), give hazards 0.00549 and 0.00100 per "
        "transition, a fall of 0.43 a year (SOURCES §1e); the national rates, 93.4% (2016) to 95.9% (2024), fall "
        "0.06 a year (SOURCES §5, calibration/data/national_compulsory_2000_2024.csv); assumption: uniform between "
        "the national pace and Xinjiang's 2020–2024 pace",
    ),
    Parameter(
        "students.junior_hazard_ratio",
        "ratio",
        "Dropout hazard of a junior step (7→8, 8→9; they carry grade 9's losses too) ÷ that of a primary step "
        "(1→2 … 5→6), every year (sim.mechanisms.students.level_hazards).",
        0.0,
        _INF,
        Uniform(low=3.1, high=6.4),
        "not found for Xinjiang (SEARCHES.md J3, L1–L3); national stock-flow losses per pupil-year (NBS, "
        "calibration/data/national_compulsory_2000_2024.csv: enrolled(y−1) + new − graduates − enrolled(y)), "
        "junior (×3/2: three grades' losses on two steps) ÷ primary, in 2009–2011 and 2014–2017: 4.04, 4.28, 3.53, "
        "3.11, 4.22, 6.37, 6.35; left out 2012–2013 (the 2013 student-register clean-up, J6–J7) and 2018–2019 "
        "(primary net loss 0.05% and −0.01%: net gains, no ratio); assumption: uniform over that range",
    ),
    Parameter(
        "students.transition_hazard_ratio",
        "ratio",
        "Dropout hazard of the grade-6 step (leaving grade 6 and entering grade 7) ÷ that of a primary step, every "
        "year (sim.mechanisms.students.level_hazards).",
        0.0,
        _INF,
        Uniform(low=2.0, high=6.9),
        "not found for Xinjiang (SEARCHES.md J3, L1–L3); national NBS series "
        "(calibration/data/national_compulsory_2000_2024.csv): (primary loss per pupil-year + 1 − junior new ÷ "
        "primary graduates) ÷ primary loss, in 2009–2011 and 2014–2017: 2.03, 2.61, 2.90, 3.00, 4.42, 6.34, 6.92 "
        "(years left out as for students.junior_hazard_ratio); assumption: uniform over that range",
    ),
    Parameter(
        "students.dropout_rise_before_2020",
        "log change per year",
        "Yearly rise of the log dropout hazard going back from 2020 to 2011 (the same for every level and county; "
        "before 2011 the 2011 value; sim.mechanisms.students.dropout_hazard).",
        0.0,
        _INF,
        Uniform(low=0.066, high=0.164),
        "Xinjiang's rates before 2020 not found (SEARCHES.md J1–J2); national: low end, the consolidation rate "
        "91.8% (2012, i.e. 95.4% of 2021 less 3.6 points, MOE press conference 2022-09-09, SEARCHES.md L4) to "
        "95.4% (2021), hazards 1.064% → 0.588% per transition, 0.066 a year (2016–2020, 93.4% → 95.2%: 0.082); "
        "high end, the national stock-flow nine-year survival (losses by level, "
        "calibration/data/national_compulsory_2000_2024.csv) 0.875 (2011) → 0.951 (2017), hazards 1.66% → 0.62%, "
        "0.164 a year (2018–2019 left out: net primary gains); assumption: uniform between the two measures",
    ),
    Parameter(
        "students.dropout_county_sd",
        "log hazard SD",
        "Spread of the dropout hazard across counties: SD of the log county multiplier (mean 1), fixed per draw "
        "and county.",
        0.0,
        _INF,
        Uniform(low=0.0, high=0.5),
        "not found: no county consolidation rates are published for Xinjiang (SOURCES §6.5: no county school "
        "counts); the 2017 standard checks a junior consolidation rate of at least 95% in each county "
        "(calibration/data/youzhi_junheng_2017_standard.csv), so counties differ; assumption: from no spread to a "
        "2-SD range of the county multiplier of ×0.4–×2.4 (county 2020 rates of about 90%–98.2% around the "
        "region's 95.7%)",
    ),
    Parameter(
        "students.entrants_per_census_child",
        "entrants per child",
        "Grade-1 entrants per child of the entry cohort counted by the 2020 census (single years of age read "
        "from the census bands by the draw's mix of readings, `students.census_reading_births`), for entry years "
        "up to 2026: mortality, migration and census coverage between entry and the census.",
        0.5,
        1.5,
        Uniform(low=0.69, high=1.28),
        "published grade-1 entrants (NBS, calibration/data/observations.csv) over the census cohort of the same "
        "entry year (the single age 2026 − year, all 106 units), 2011–2014, the hindcast window's published years "
        "up to the fit limit, under each reading of the census bands: linear 0.989, 0.973, 0.960, 0.956; monotone "
        "1.014, 0.982, 0.956, 0.949; births 1.085, 0.906, 0.891, 0.951 (2017–2018, held out, give 0.82–0.91 and "
        "0.85–0.96); assumption: their range 0.891–1.085 widened by its own width (0.194) on either side and "
        "rounded outward, as the linear reading's range alone was before the readings became uncertain (then "
        "U(0.92, 1.02)); to be inferred by `edusim calibrate`",
    ),
    Parameter(
        "students.census_reading_births",
        "weight",
        "Weight of the births reading of the 2020 census bands in the single-year cohorts that enter grade 1 up "
        "to 2026 (each band shared among its single years of age in proportion to the region's registered births "
        "of their birth years, `sim/registry.py` single_year_ages_births). The rest, 1 − this weight, goes to the "
        "linear and the monotone readings, split by `students.census_reading_monotone`; every reading keeps the "
        "census band totals.",
        0.0,
        1.0,
        Beta(mean=1 / 3, sd=math.sqrt(1 / 18)),
        "assumption: no single-year census table for Xinjiang was found (calibration/SEARCHES.md E7–E8), so how "
        "each band's total divides among its single years is unknown; the three readings (linear inside a band, "
        "a monotone cubic through the cumulative counts, registered-birth shares) are taken as equally plausible: "
        "a flat Dirichlet over their weights, by stick-breaking (this weight Beta(1, 2), the monotone share of "
        "the rest U(0, 1)); to be inferred by `edusim calibrate`",
    ),
    Parameter(
        "students.census_reading_monotone",
        "share",
        "The monotone reading's share of the weight that `students.census_reading_births` leaves to the linear "
        "and monotone readings of the 2020 census bands (monotone cubic through the cumulative counts at the "
        "band edges, `sim/registry.py` single_year_ages_monotone; linear inside a band, single_year_ages).",
        0.0,
        1.0,
        Uniform(low=0.0, high=1.0),
        "assumption: see `students.census_reading_births` (the second stick of a flat Dirichlet over the three "
        "readings); to be inferred by `edusim calibrate`",
    ),
    Parameter(
        "students.urbanisation_drift_per_year",
        "share per year",
        "Share of rural pupils who move to town or urban schools each year.",
        0.0,
        1.0,
        Beta(mean=0.015, sd=0.005),
        "assumption: urban population share rose 56.5% (2020 census) → 57.3% (2021) (SOURCES §1d); no "
        "pupil-level figure exists (SOURCES §6 item 6)",
    ),
    Parameter(
        "attrition.rural_rate",
        "share of teachers per year",
        "Voluntary attrition of rural teachers (leaving the profession or the region).",
        0.0,
        1.0,
        Beta(mean=0.05, sd=0.015),
        "no Xinjiang figure (SOURCES §6 item 7); Chongqing 10-school study 5–10%/yr (SOURCES §4c, low "
        "reliability)",
    ),
    Parameter(
        "attrition.town_rate",
        "share of teachers per year",
        "Voluntary attrition of town (鎮區) teachers.",
        0.0,
        1.0,
        Beta(mean=0.03, sd=0.01),
        "assumption: below the rural rate (SOURCES §4c: moves run from rural to town schools)",
    ),
    Parameter(
        "attrition.urban_rate",
        "share of teachers per year",
        "Voluntary attrition of urban (城區) teachers.",
        0.0,
        1.0,
        Beta(mean=0.02, sd=0.008),
        "assumption: below the town rate",
    ),
    Parameter(
        "attrition.subsidy_elasticity_per_1000cny",
        "relative reduction per 1,000 CNY/month",
        "Relative reduction of rural attrition per 1,000 CNY/month of extra rural subsidy "
        "(0.2 means a 1,000 CNY/month subsidy cuts the rate by 20%).",
        0.0,
        1.0,
        Uniform(low=0.05, high=0.30),
        "assumption: no Chinese estimate found; wide range from weak (5%) to strong (30%) response",
    ),
    Parameter(
        "drift.rural_to_town_rate",
        "share of rural teachers per year",
        "Share of rural teachers who move to a town or county-seat school each year (within the profession).",
        0.0,
        1.0,
        Beta(mean=0.03, sd=0.01),
        "中国农村教育发展报告2013-14: about half of teachers first posted to rural schools later moved to "
        "county or town schools (SOURCES §4c); assumption: about 3%/yr over a career",
    ),
    Parameter(
        "special_post.retention_share",
        "share of a cohort",
        "Share of special-post (特崗) teachers who stay in post after the 3-year contract.",
        0.0,
        1.0,
        Beta(mean=0.85, sd=0.07),
        "Hainan 2015 cohort 94.2%, described as above the national average (SOURCES §4c), taken as an upper "
        "reference; national figure not found",
    ),
    Parameter(
        "quota.establishment_multiplier_primary",
        "posts per post of the national norm",
        "Teaching posts a county's establishment (編制) sustains per post of the national student:staff norm "
        "(1:19), primary sections: the staffing quota is pupils / 19 × this.",
        0.5,
        3.0,
        Uniform(low=1.18, high=1.58),
        "NBS primary pupil–teacher ratios of Xinjiang 13.39–14.75 in 2010–2016 "
        "(calibration/data/xinjiang_student_teacher_ratio_2004_2019.csv): 19 / ratio = 1.29–1.42 full-time "
        "teachers IN POST per norm post; the establishment is that divided by the share of it filled "
        "(teachers in post / establishment), which was not found for Xinjiang or nationally (calibration/"
        "SEARCHES.md C1–C9); bounded instead: at most 1 (no vacancy), at least 0.90 = 269,915 / (269,915 + "
        "31,000), the 2014 primary + junior + senior-high teachers in post (NBS) over those plus the 34,500 − "
        "3,500 kindergarten recruitment vacancies Xinjiang listed for the next three years (Xinhua 2015-02-24, "
        "http://en.chinagate.cn/2015-02/24/content_34877783.htm), taken as if all were open at once (three "
        "years of replacement hiring too, so the true share is higher); and where special-post teachers stand "
        "outside the establishment during their contract (levers.recruitment.special_post_post outside or reserve, "
        "as scenarios/history.yaml reads SEARCHES.md C14, R1) the in-post count holds ~8.1% of them (3 cohorts × 6,660 "
        "compulsory-level places of the 2013 plan × take-up 0.947 ≈ 18,900 of the 232,135 primary + junior "
        "teachers of 2014; SEARCHES.md #32), so the floor is 1.29 × 0.919; the range spans both readings: "
        "1.29 × 0.919 – 1.42 / 0.90 = 1.18–1.58 "
        "(also above it: the norm counts all staff (教職工), with bilingual, boarding and small-school allowances "
        "of 中央編辦發〔2014〕72號; SOURCES §3d, UNVERIFIED); assumption: uniform over that range, the held-out "
        "years 2017–2019 left out; to be inferred by `edusim calibrate`",
    ),
    Parameter(
        "quota.establishment_multiplier_junior",
        "posts per post of the national norm",
        "Teaching posts a county's establishment sustains per post of the national norm (1:13.5), junior "
        "sections: the staffing quota is pupils / 13.5 × this.",
        0.5,
        3.0,
        Uniform(low=1.04, high=1.44),
        "NBS junior pupil–teacher ratios of Xinjiang 10.47–11.98 in 2010–2016 "
        "(calibration/data/xinjiang_student_teacher_ratio_2004_2019.csv): 13.5 / ratio = 1.13–1.29 teachers IN "
        "POST per norm post, divided by the filled share of the establishment, 0.90–1 (not found; bounded as for "
        "`quota.establishment_multiplier_primary`), and times 0.919 at the floor where special-post teachers stand "
        "outside the establishment (as for the primary multiplier): 1.13 × 0.919 – 1.29 / 0.90 = 1.04–1.44; "
        "assumption: uniform over "
        "that range, the held-out years 2017–2019 left out; to be inferred by `edusim calibrate`",
    ),
    Parameter(
        "quota.establishment_adjustment",
        "share of the gap",
        "Share of the gap between a section's standing teaching establishment (編制) and its verified target (the "
        "norm's posts × `quota.establishment_multiplier_*`) that one verification closes; the establishment is "
        "anchored at the teachers in post in the start year (levers.quota.sticky_establishment).",
        0.0,
        1.0,
        Uniform(low=0.0, high=1.0),
        "not found: the plan (2025-01-26, §二(一)3) only says the establishment is verified every 3 years and is to "
        "reach the national standard county by county; searches (2026-12-06, `search` pages corpus: "
        "'中小学教职工编制 核定 动态调整 缺编 补足 进度', 'teacher establishment bianzhi verification adjustment "
        "speed county staffing quota gap closure China') found descriptions of sticky establishments "
        "(东北师范大学 王爽、劉善槐 2024: '无编可用', '超编超员', '空编不补'; the 2014 rule of the Central "
        "Establishment Office that the total of establishments not grow, globethesis 2556307139456904) but no "
        "rate at which a verification closes the gap; assumption: uniform over all shares, from no movement to "
        "the whole gap; to be inferred by `edusim calibrate`",
    ),
    Parameter(
        "redeployment.surplus_release_share",
        "share of the surplus per year",
        "Share of a county's surplus teachers (whole regular teachers above their section's verified "
        "establishment, by level) that 縣管校聘 redeployment releases each year to the county's sections short of "
        "staff, before hiring (levers.redeployment, sim/mechanisms/redeployment.py).",
        0.0,
        1.0,
        Uniform(low=0.2, high=1.0),
        "not found: the plan (2025-01-26, §二(三)2) asks to push the 縣管校聘 reform and to balance teachers "
        "between a county's schools quickly ('加快實現縣域內校際間師資均衡配置') but gives no pace; searches "
        "(2026-12-06, calibration/SEARCHES.md, issue 15 item 3) found the reform's design (county-wide posts, "
        "cross-school competition for posts, the 2014 opinion 教師〔2014〕4號, demonstration areas in 2015 and 2017) "
        "and reports that it met resistance, but no share of surplus teachers moved per year; assumption: uniform "
        "from 0.2 (the pace before the reform that the model assumes, half of the surplus at each verification "
        "every 3 years, 1 − 0.5^(1/3) ≈ 0.21 a year, levers.quota.redeploy_surplus_share: the reform is meant to "
        "speed it up, not to slow it) to 1 (the whole surplus released every year)",
    ),
    Parameter(
        "recruitment.fill_rate",
        "share of advertised posts",
        "Share of advertised open-recruitment posts that are filled.",
        0.0,
        1.0,
        Beta(mean=0.85, sd=0.08),
        "assumption: special-post 2018 plan filled at 94.7% (85,200 of 90,000, SOURCES §4c); open "
        "recruitment taken lower and wider",
    ),
    Parameter(
        "recruitment.remote_fill_penalty",
        "share (relative)",
        "Relative reduction of the fill rate in remote counties (the south and border counties).",
        0.0,
        1.0,
        Uniform(low=0.0, high=0.3),
        "assumption: Yunnan survey, 79.2% of rural teachers intend to leave (SOURCES §4c); from no penalty "
        "to 30% fewer posts filled",
    ),
    Parameter(
        "dispatch.arrival_share",
        "share of planned dispatches",
        "Share of the planned dispatched teachers (援疆, 銀齡, 西部計劃) who actually arrive and teach.",
        0.0,
        1.0,
        Beta(mean=0.9, sd=0.05),
        "assumption: 8,900 in post in Sept 2025 (3,700 + 1,000 + 4,200, SOURCES §4c) against the plan's "
        "~5,000 a year; high arrival with a modest shortfall",
    ),
    Parameter(
        "funding.execution_rate",
        "share of budget",
        "Share of the capital budget of a year that is spent on school conditions in that year.",
        0.0,
        1.0,
        Beta(mean=0.85, sd=0.08),
        "assumption: capital budgets are typically under-executed in the year",
    ),
    Parameter(
        "facilities.floor_cost_cny_per_m2",
        "CNY per m²",
        "Construction cost of teaching and auxiliary floor area.",
        0.0,
        _INF,
        Triangular(low=2500, mode=3500, high=5000),
        "assumption: typical school construction costs in western China",
        usable=(_FEN, _INF),
        usable_reason=_COST_REASON,
    ),
    Parameter(
        "facilities.sports_cost_cny_per_m2",
        "CNY per m²",
        "Cost of sports ground area (plastic track and field).",
        0.0,
        _INF,
        Triangular(low=200, mode=400, high=800),
        "assumption: typical sports ground costs",
        usable=(_FEN, _INF),
        usable_reason=_COST_REASON,
    ),
    Parameter(
        "facilities.multimedia_room_cny",
        "CNY per room",
        "Cost of equipping one networked multimedia classroom.",
        0.0,
        _INF,
        Triangular(low=30000, mode=60000, high=100000),
        "assumption: typical procurement prices of interactive displays and networking",
        usable=(_FEN, _INF),
        usable_reason=_COST_REASON,
    ),
    Parameter(
        "network.equipment_moved_share",
        "share",
        "Share of a closing section's teaching equipment (value) and multimedia rooms moved to its receiver.",
        0.0,
        1.0,
        Uniform(low=0.5, high=1.0),
        "assumption (no source found): movable equipment (instruments, books, computers, projectors) goes with the "
        "pupils, as a planned closure under the 2012 guidance (先建后撤) implies; fixed installations (lab benches, "
        "wall-mounted boards) and worn items stay, so at least half and at most all of it moves",
    ),
    Parameter(
        "facilities.equipment_depreciation_per_year",
        "share of value per year",
        "Yearly depreciation of teaching-equipment value.",
        0.0,
        1.0,
        Uniform(low=0.08, high=0.15),
        "assumption: equipment service lives of about 7–12 years",
    ),
    Parameter(
        "facilities.construction_lag_years",
        "years",
        "Years between funding a building and its use (rounded to whole years by the engines).",
        0.0,
        10.0,
        Fixed(value=1),
        "assumption: one building season",
    ),
    Parameter(
        "assessment.other_items_pass_probability",
        "probability",
        "Probability that a county whose simulated indicators pass also passes the items the model does not "
        "simulate (government guarantee, quality, social recognition).",
        0.0,
        1.0,
        Beta(mean=0.8, sd=0.1),
        "assumption: 15 government-guarantee, 9 quality and 1 social-recognition items (教督〔2017〕6號, "
        "SOURCES §3b–3c) are mostly within the county's control",
    ),
    Parameter(
        "assessment.certification_lag_years",
        "years",
        "Years between a county meeting the standard and its national recognition (rounded to whole years).",
        0.0,
        10.0,
        Fixed(value=1),
        "assumption: national batches are announced the year after the assessment (SOURCES §4b)",
    ),
    Parameter(
        "development.backbone_retention",
        "share per year",
        "Share of backbone teachers who keep their recognition from one year to the next.",
        0.0,
        1.0,
        Beta(mean=0.95, sd=0.03),
        "assumption: recognitions are re-examined every few years",
    ),
    Parameter(
        "teachers.female_share",
        "share of teachers",
        "Share of women among full-time primary and junior teachers (sets the retirement schedule mix).",
        0.0,
        1.0,
        Uniform(low=0.55, high=0.80),
        "no Xinjiang figure; national 2022 (MOE): 68.6% of compulsory-education teachers are women, 60.8% "
        "of junior teachers (so about 73% of primary); assumption: range around them",
    ),
    Parameter(
        "attrition.young_factor",
        "multiplier",
        "Attrition of teachers aged 20–24 relative to those aged 35 and over (falls linearly to 1 at 35–39).",
        1.0,
        5.0,
        Uniform(low=1.5, high=3.0),
        "assumption: intention to leave is strongest under 30 (Yunnan survey, SOURCES §4c)",
    ),
    Parameter(
        "recruitment.new_hire_qualified_share",
        "share of new hires",
        "Share of newly hired teachers above the required qualification (indicator 1 of the 2017 standard).",
        0.0,
        1.0,
        Uniform(low=0.85, high=0.98),
        "assumption: new hires are mostly bachelor graduates; no Xinjiang figure",
    ),
    Parameter(
        "recruitment.new_hire_pe_art_share",
        "share of new hires",
        "Share of newly hired teachers who teach PE, music or fine art (indicator 3 of the 2017 standard).",
        0.0,
        1.0,
        Uniform(low=0.10, high=0.20),
        "assumption: the standard's 0.9 PE/art teachers per 100 pupils is 14–17% of the teachers a school "
        "staffed at 1:19 or 1:13.5 needs; the 2020 registry has about 14%",
    ),
    Parameter(
        "recruitment.special_post_take_up",
        "share of places",
        "Share of special-post (特岗) places filled.",
        0.0,
        1.0,
        Uniform(low=0.90, high=0.98),
        "national 2018: 85,200 in post of 90,000 planned, 94.7% (SOURCES §4c)",
    ),
    Parameter(
        "recruitment.targeted_take_up",
        "share of places",
        "Share of targeted-graduate (優師計劃) places filled.",
        0.0,
        1.0,
        Uniform(low=0.90, high=1.0),
        "assumption: graduates are bound by contract to serve",
    ),
    Parameter(
        "recruitment.retraining_pass_rate",
        "share of trainees",
        "Share of primary teachers retrained for junior posts who qualify (plan §二(一)3).",
        0.0,
        1.0,
        Uniform(low=0.6, high=0.9),
        "assumption: no figure found",
    ),
    Parameter(
        "rotation.mean_tenure_years",
        "years",
        "Mean years a teacher stays at one school (sets the share eligible for rotation, geometric tenure).",
        1.0,
        40.0,
        Uniform(low=8.0, high=15.0),
        "assumption: no figure found; with a 6-year threshold 45–66% of teachers are eligible",
    ),
    Parameter(
        "dispatch.backbone_share",
        "share of dispatched teachers",
        "Share of dispatched teachers who are backbone teachers.",
        0.0,
        1.0,
        Uniform(low=0.2, high=0.5),
        "about 0.37 implied by the 2025-09 stock: 3,700 exchange teachers, 1,000 retired (銀齡) teachers and "
        "4,200 西部計劃 volunteers (SOURCES §4c), counting exchange and retired teachers as backbone",
    ),
    Parameter(
        "dispatch.pe_art_share",
        "share of dispatched teachers",
        "Share of dispatched teachers who teach PE, music or fine art.",
        0.0,
        1.0,
        Uniform(low=0.03, high=0.12),
        "assumption: no figure found",
    ),
    # --- enrolment of children with disabilities (T8b, issue 16 item 1; sim.mechanisms.programmes) -------------
    Parameter(
        "disability.start_enrolment_rate",
        "share of disabled school-age children",
        "Compulsory enrolment rate of school-age children with disabilities in the start year (T8b); later years "
        "follow from the places delivered (sim.mechanisms.programmes.disabled_enrolled).",
        0.0,
        1.0,
        Uniform(low=0.90, high=0.99),
        "no Xinjiang figure after 2008 found (calibration/SEARCHES.md issue 16 T8b #1-#4): Xinjiang's 2014-16 "
        "plan aimed at ≥90% for the three categories by 2016 (e-chinaedu.cn 2014-10-08); nationally >95% in 2020 "
        "(MOE 2020-12-10, CDPF 2021-09-26); the 2025 plan's wording 保持在97%以上 (keep at ≥97%) implies the region "
        "reports ≥97% by 2025. Uniform over 90-99% for a 2020 start (scenarios/history.yaml overrides it for 2011: "
        "Xinjiang was below 60% in 2008, Xinhua 2008-01-27)",
    ),
    Parameter(
        "disability.children_per_pupil",
        "children with disabilities per pupil",
        "School-age children with disabilities per compulsory-education pupil of the county (T8b's denominator).",
        0.0,
        0.1,
        Uniform(low=0.006, high=0.012),
        "Xinjiang: 'more than 30,000' disabled children aged 7-15 in 2008 (Xinhua 2008-01-27) against 2.01 "
        "million primary pupils (NBS) and about 1 million junior pupils (NBS 2011: 0.98 million) ≈ 1.0%; 26,565 "
        "special-education students in 2019 (NBS) against 3.58 million compulsory pupils (NBS) = 0.74%, i.e. "
        "0.75-0.82% at a 90-99% rate (calibration/data/special_education_found.csv)",
    ),
    Parameter(
        "disability.home_share",
        "share of enrolled disabled children",
        "Share of the enrolled children with disabilities taught at home (送教上門) in the start year; fixes the "
        "home-delivery reach of the children without a school place (sim.mechanisms.programmes.home_reach).",
        0.0,
        1.0,
        Uniform(low=0.10, high=0.35),
        "nationally 20.3 of 88.1 ten-thousand special-education students (23.0%) were taught at home in 2020 "
        "(MOE 2020 statistical bulletin, jbjedu.com copy); Xinjiang not found; uniform around the national share",
    ),
    Parameter(
        "disability.places_per_special_school",
        "pupils per school",
        "Compulsory-age children with disabilities one new special-education school enrols (T8b).",
        0.0,
        2000.0,
        Uniform(low=100.0, high=250.0),
        "Xinjiang 2015: 6,459 special-education students and 28-29 schools (NBS; Xinjiang education department "
        "2016-02) ≈ 225 per school, an upper bound (the count includes inclusive pupils); new county schools "
        "planned for 200 (Wanning 2017) and 120 (Zhao'an 2019) pupils (calibration/data/special_education_found.csv)",
    ),
    Parameter(
        "disability.places_per_resource_room",
        "pupils per room",
        "Children with disabilities in inclusive classes (隨班就讀) one resource room (資源教室) supports (T8b).",
        0.0,
        100.0,
        Uniform(low=5.0, high=15.0),
        "the second special-education plan (2017-20) asks a regular school with 5 or more disabled pupils to set "
        "up a resource room (MOE press conference 2017-07-28): 5 is the rule's floor; 15 an assumption",
    ),
    # --- programme delivery (issue 16 item 1, sim.mechanisms.programmes): the lever is what is planned a year --
    Parameter(
        "programmes.gigabit_delivery_ratio",
        "share of planned units",
        "Share of the gigabit connections planned a year (levers.digital) that are delivered (T10).",
        0.0,
        1.0,
        Uniform(low=0.7, high=1.0),
        "assumption anchored on the national school-network programme, which delivered its target: internet "
        "access of schools 79.37% (2016) → 100% (2020), Digital China report 2020 (calibration/SEARCHES.md "
        "#19); Xinjiang school broadband not found",
    ),
    Parameter(
        "programmes.gigabit_lead_years",
        "years",
        "Years between planning a gigabit connection and its use (rounded to whole years).",
        0.0,
        5.0,
        Uniform(low=0.0, high=1.0),
        "assumption: a fibre line is laid within the year or the next; no figure found",
    ),
    Parameter(
        "programmes.counselling_delivery_ratio",
        "share of planned units",
        "Share of the counselling rooms planned a year (levers.counselling) that are delivered (T9).",
        0.0,
        1.0,
        Uniform(low=0.5, high=1.0),
        "assumption: no delivery record of counselling-room programmes found (SEARCHES.md issue 16 costs #6)",
    ),
    Parameter(
        "programmes.counselling_lead_years",
        "years",
        "Years between planning a counselling room and its use (rounded to whole years).",
        0.0,
        5.0,
        Uniform(low=0.0, high=1.0),
        "assumption: a room is fitted out within the year or the next; no figure found",
    ),
    Parameter(
        "programmes.special_education_delivery_ratio",
        "share of planned units",
        "Share of the special-education schools planned a year (levers.special_education) that open (T8).",
        0.0,
        1.0,
        Uniform(low=0.0, high=1.0),
        "the whole range: Xinjiang had 15 special-education schools in 2011, 29 in 2014 and 28 in every year "
        "2015–2019 (NBS, observations_found.csv) while two national special-education upgrading plans ran "
        "(2014–16, 2017–20; 國辦發〔2021〕60號): about 4.7 schools a year, then none; the planned numbers of "
        "either period were not found, so no delivery ratio can be computed",
    ),
    Parameter(
        "programmes.special_education_lead_years",
        "years",
        "Years between planning a special-education school and its opening (rounded to whole years).",
        0.0,
        5.0,
        Uniform(low=1.0, high=3.0),
        "assumption: design, construction and staffing of a new school; no figure found",
    ),
    Parameter(
        "programmes.resource_rooms_delivery_ratio",
        "share of planned units",
        "Share of the resource rooms planned a year (levers.special_education.resource_rooms_per_year) that are "
        "fitted out (T8b).",
        0.0,
        1.0,
        Uniform(low=0.5, high=1.0),
        "assumption: no delivery record of resource-room programmes found (SEARCHES.md issue 16 T8b #6); the "
        "range of the counselling rooms, another room fitted out in an existing school",
    ),
    Parameter(
        "programmes.resource_rooms_lead_years",
        "years",
        "Years between planning a resource room and its use (rounded to whole years).",
        0.0,
        5.0,
        Uniform(low=0.0, high=1.0),
        "assumption: a room of an existing school is fitted out within the year or the next; no figure found",
    ),
    Parameter(
        "programmes.pairing_rural_per_town_school",
        "rural schools per town school",
        "Rural schools one town or urban school of the county can support in paired help (T6).",
        0.0,
        20.0,
        Uniform(low=1.0, high=6.0),
        "assumption: the plan (§二(二)2) names no ratio and none was found; 1 is one-to-one pairing, 6 a town "
        "school leading a group of rural schools",
    ),
)

# --- the start-year school registry (issue 14): the values drawn school by school in every draw -----------------
# Every constant that spreads teachers and facilities across schools (sim.registry.draw_school_values) is an
# uncertainty: a wide uniform prior over what public facts allow, with the reason. No value is chosen for the result
# it gives; the constraint that every county passed the 2012 basic-balance assessment by 2021 is applied as an
# acceptance condition on these values (sim.registry.basic_balance_pass), not by setting them.
_SHARE = "share of the school's teachers"
_NO_XJ = "no Xinjiang school-level figure is published (SOURCES §6)"


def _registry_parameter(name: str, units: str, description: str, low: float, high: float, reason: str,
                        lower: float = 0.0, upper: float = 1.0) -> Parameter:
    return Parameter(f"registry.{name}", units, description, lower, upper, Uniform(low=low, high=high), reason)


_REGISTRY_PARAMETERS: tuple[Parameter, ...] = (
    _registry_parameter(
        "qualified_share_primary", _SHARE,
        "Mean share of an urban school's primary-section teachers above the required qualification (专科+).",
        0.85, 0.99, f"{_NO_XJ}; no national share is sourced in SOURCES.md either (not found); wide prior: most "
        "primary teachers hold 专科+"),
    _registry_parameter(
        "qualified_share_junior", _SHARE,
        "Mean share of an urban school's junior-section teachers above the required qualification (本科+).",
        0.70, 0.95, f"{_NO_XJ}; no national share sourced (not found); wide prior"),
    _registry_parameter(
        "backbone_share", _SHARE,
        "Mean share of an urban school's teachers recognised as county-level-or-above backbone teachers.",
        0.05, 0.30, f"{_NO_XJ}; no published regional share either: wide prior (county, prefecture and region "
        "titles together are commonly a tenth to a quarter of teachers)"),
    _registry_parameter(
        "pe_art_share", _SHARE, "Mean share of an urban school's teachers teaching PE, music or fine art.",
        0.08, 0.22, "three of about nine subjects taught in a primary timetable; " + _NO_XJ + "; wide prior"),
    _registry_parameter(
        "town_teacher_factor", "ratio", "Town school's mean qualified, backbone and PE/art shares ÷ urban.",
        0.75, 1.0, "assumption: town schools are not better staffed than urban ones; wide prior"),
    _registry_parameter(
        "rural_teacher_factor", "ratio", "Rural school's mean qualified, backbone and PE/art shares ÷ urban.",
        0.55, 1.0, "assumption: rural schools are not better staffed than urban ones; national rural 本科+ shares "
        "are about 0.7–0.8 of urban ones"),
    _registry_parameter(
        "south_teacher_factor", "ratio", "Mean qualified, backbone and PE/art shares in the south ÷ north.",
        0.65, 1.0, "the plan's premise: the four southern prefectures are weaker; no figure"),
    _registry_parameter(
        "special_post_share_rural", _SHARE, "Mean share of special-post (特岗) teachers at a northern rural school.",
        0.03, 0.15, "national: 85,200 特岗 in post in 2018 (SOURCES §4c); no Xinjiang count found; wide prior"),
    _registry_parameter(
        "special_post_town_ratio", "ratio", "Town special-post share ÷ rural.", 0.2, 0.8,
        "特岗 posts are for rural and township schools (policy); county seats get fewer"),
    _registry_parameter(
        "special_post_urban_ratio", "ratio", "Urban special-post share ÷ rural.", 0.0, 0.2,
        "特岗 posts are not for urban schools (policy); a few by reclassification"),
    _registry_parameter(
        "south_special_post_factor", "ratio", "Special-post share in the south ÷ north.", 1.0, 2.0,
        "60% of the 2011–15 hires went to the south (SOURCES §4c); no school figure", upper=5.0),
    *(
        _registry_parameter(
            f"{indicator}_ratio_{location}", "× 2017 threshold",
            f"Median {what} per student of a northern {location} school as a multiple of the 2017 threshold.",
            low, high, reason, upper=10.0)
        for indicator, what, reason, ranges in (
            ("floor_area", "teaching and auxiliary floor area",
             "2017 thresholds are above the 2012-era construction standards schools were built to; basic balance "
             "(passed everywhere by 2021) required schools to meet the province's construction standard",
             {"urban": (0.7, 1.5), "town": (0.8, 1.6), "rural": (0.8, 1.8)}),
            ("sports_area", "sports ground area",
             "urban sites are cramped (a common shortfall); rural schools have land; wide prior",
             {"urban": (0.5, 1.3), "town": (0.7, 1.6), "rural": (0.8, 1.9)}),
            ("equipment", "teaching equipment value",
             "47.9 bn yuan central funds 2012–2025 for school conditions (SOURCES §1e); no school figure",
             {"urban": (0.8, 1.8), "town": (0.7, 1.6), "rural": (0.6, 1.5)}),
            ("multimedia", "networked multimedia classrooms",
             "every classroom networked is a national goal (教育信息化2.0); no Xinjiang school figure",
             {"urban": (0.8, 1.8), "town": (0.8, 1.7), "rural": (0.7, 1.6)}),
        )
        for location, (low, high) in ranges.items()
    ),
    _registry_parameter(
        "south_facility_factor", "ratio", "Facility medians in the south ÷ north.", 0.75, 1.05,
        "the plan's premise (south weaker); central funds were weighted to the south, so near-parity is possible",
        upper=2.0),
    _registry_parameter(
        "teacher_share_spread", "logit sd", "School-to-school spread of the teacher-category shares (sd of logit).",
        0.1, 1.0, "assumption: wide prior; 0.5 is about a Beta(a+b = 20) spread at a share of 0.2", upper=5.0),
    _registry_parameter(
        "teacher_ratio_spread", "log sd",
        "School-to-school spread of teachers per pupil beyond the fixed structure (sd of log; teachers are "
        "redistributed within each county and level, so the totals are kept).",
        0.0, 0.65, "bounded by published county CVs of teachers per pupil (师生比) across schools, 23 county-levels "
        "in Jilin, Anhui and Chongqing, 0.23–0.72 (calibration/data/basic_balance_county_cvs.csv; no Xinjiang "
        "county found, SEARCHES.md S1–S12): at 0.65 the factor alone has CV √(e^0.65²−1) = 0.72, the largest "
        "published; at 0 the structure alone gives county CVs of 0.05–0.23 (P10–P90, primary and junior), at or "
        "below the smallest published; "
        "the 2012 basic-balance limits act on it through the acceptance condition", upper=5.0),
    _registry_parameter(
        "facility_spread", "log sd", "School-to-school spread of facilities per student (sd of log).",
        0.1, 0.6, "assumption: wide prior; the 2012 basic-balance CV limits (passed by every county by 2021) "
        "bound it from above through the acceptance condition", upper=5.0),
    _registry_parameter(
        "advantage_correlation", "correlation",
        "Correlation, on the latent scale, of any two resources of a school through its school-advantage factor.",
        0.0, 0.7, "assumption: good schools are good in several resources; no school data to estimate it"),
    _registry_parameter(
        "county_advantage_share", "share of variance",
        "Share of the school-advantage factor common to a county's schools (county wealth).",
        0.0, 0.5, "assumption: county finance funds most school spending; no school data"),
    _registry_parameter(
        "teaching_point_advantage", "sd of the factor",
        "Shift of a teaching point's school-advantage factor against a centre school (negative = weaker).",
        -1.5, 0.0, "assumption: teaching points are the smallest, least equipped sites", lower=-5.0, upper=5.0),
    *(
        _registry_parameter(
            f"{flag}_probability_{location}", "probability",
            f"Probability that a {location} school {what} at the start.", low, high, reason)
        for flag, what, reason, ranges in (
            ("gigabit", "has gigabit broadband", "target: every school by 2035 (T10); no start-year figure",
             {"urban": (0.2, 0.8), "town": (0.1, 0.6), "rural": (0.0, 0.3)}),
            ("counselling", "has a standard counselling room",
             "target: every urban and township-centre school by 2025 (T9); no start-year figure",
             {"urban": (0.3, 0.9), "town": (0.1, 0.7), "rural": (0.0, 0.3)}),
        )
        for location, (low, high) in ranges.items()
    ),
    _registry_parameter(
        "paired_probability_rural", "probability", "Probability that a rural school has a town partner at the start.",
        0.1, 0.7, "target: every rural school paired by 2027 (T6); 50% by 2024 is the plan's milestone"),
)
_PARAMETER_LIST = (*_PARAMETER_LIST, *_REGISTRY_PARAMETERS)

#: Registry constants that shape the *structure* of the synthetic registry (which schools and sections exist, their
#: pupils, classes, teachers by section and age). Runs keep the structure fixed, so these are held at the value
#: used to build ``calibration/data/registry_2020.csv`` and are not drawn per draw (a limit, calibration/REGISTRY.md);
#: each is an uncertainty with a documented range for rebuilding the registry. Rows: (name in
#: ``sim.registry.RegistryAssumptions``, value used, plausible range, reason).
REGISTRY_STRUCTURE: tuple[tuple[str, str, str, str], ...] = (
    ("urban_core_share_city", "0.85", "0.7–0.95",
     "NBS urban–rural rules: other 镇 inside a district's or city's territory are 镇区; no split published"),
    ("rural_pupils_in_town_primary", "0.25", "0.1–0.4",
     "boarding and consolidation; no Xinjiang split of pupils by location is published (SOURCES §6.6)"),
    ("rural_pupils_in_town_junior", "0.60", "0.4–0.8", "junior schools are mostly in townships (乡镇中心); no figure"),
    ("nine_year_share_of_junior", "0.35", "0.2–0.5", "no Xinjiang count of 九年一贯制 schools found; wide prior"),
    ("nine_year_location_weight", "urban 1 : town 2 : rural 4", "rural weight 1–8",
     "nine-year schools are mainly rural and township schools; no count by location"),
    ("school_size_factor", "urban 2.8 : town 1.6 : rural 1", "urban 2–4, town 1.2–2",
     "no Xinjiang school sizes by location published; urban schools are larger"),
    ("school_size_sigma", "0.4", "0.3–0.6", "lognormal spread of school sizes within a cell; no data"),
    ("min_pupils_per_school", "30", "20–50", "a school has pupils; avoids empty schools"),
    ("teaching_points_per_primary_school", "0.10", "0–0.6",
     "Xinjiang count not published (SOURCES §6.3); the national ratio was 0.57 in 2020"),
    ("teaching_point_median_pupils / sigma / max_share", "30 / 0.5 / 0.30", "median 15–60",
     "typical 教学点 of grades 1–4; no Xinjiang figure"),
    ("class_size_primary", "urban 47, town 42, rural 36 (±10% per school)", "±5 pupils",
     "urban oversize classes (大班额) possible; the resulting mean primary class is about 33"),
    ("class_size_junior", "urban 50, town 47, rural 42 (±10%)", "±5 pupils",
     "the resulting mean junior class is about 44"),
    ("pupil_teacher_ratio_factor", "urban 1.15, town 1.0, rural 0.75", "rural 0.6–0.9",
     "small rural schools need more teachers per pupil; totals are scaled to the published ones"),
    ("min_teachers_per_class_primary / junior", "1.2 / 1.8", "1.0–1.5 / 1.5–2.5", "a class needs its subject teachers"),
    ("targeted_share", "0", "0", "优师计划 started recruiting in 2021; first graduates serve from 2025"),
    ("age_band_shares_north", "22/31/26/11/9/1 %", "±5 points",
     "national median band 35–39 (primary); 9% of rural primary teachers 55–59 (SOURCES §4c)"),
    ("age_band_shares_south", "34/34/18/8/5.5/0.5 %", "±5 points",
     "mass recruitment 2011–2020 (72,600 hires in 2011–15, 60% to the south) makes the south younger"),
)


def registry_structure_table() -> str:
    """The structural registry constants as a Markdown table (``edusim show --parameters``, REGISTRY.md)."""
    rows = ["| constant | value used | plausible range | reason |", "|---|---|---|---|"]
    rows += [f"| `{name}` | {value} | {rng} | {reason} |" for name, value, rng, reason in REGISTRY_STRUCTURE]
    return "\n".join(rows) + "\n"


def registry_parameter_table() -> str:
    """The per-draw registry uncertainties (``registry.*``) as a Markdown table (calibration/REGISTRY.md)."""
    rows = ["| name | units | distribution | meaning | reason |", "|---|---|---|---|---|"]
    rows += [f"| `{p.name}` | {p.units} | `{describe(p.default)}` | {p.description} | {p.source} |"
             for p in _REGISTRY_PARAMETERS]
    return "\n".join(rows) + "\n"


#: The registry, by name (read-only).
PARAMETERS: Mapping[str, Parameter] = MappingProxyType({p.name: p for p in _PARAMETER_LIST})


def get_parameter(name: str, *, file: str | None = None, line: int | None = None) -> Parameter:
    """The registered parameter ``name``.

    Raises
    ------
    InputError
        When ``name`` is not registered; the message suggests the nearest registered name.
    """
    try:
        return PARAMETERS[name]
    except KeyError:
        raise InputError(
            f"unknown uncertainty; {suggest(name, PARAMETERS)}",
            file=file,
            line=line,
            key=f"uncertainties.{name}",
        ) from None


def _fmt(x: float) -> str:
    return "−∞" if x == -_INF else "∞" if x == _INF else f"{x:g}"


def support_problem(parameter: Parameter, spec: Distribution) -> str | None:
    """Why ``spec`` cannot describe ``parameter``, or ``None`` when its support lies within the bounds."""
    low, high = support(spec)
    if low >= parameter.lower and high <= parameter.upper:
        return None
    bounds = f"[{_fmt(parameter.lower)}, {_fmt(parameter.upper)}]"
    hint = "truncated_normal with low/high inside the bounds"
    if parameter.lower == 0.0 and parameter.upper == 1.0:
        hint += ", or beta"
    elif parameter.lower == 0.0 and parameter.upper == _INF:
        hint += ", or lognormal"
    return (
        f"{spec.dist} takes values in [{_fmt(low)}, {_fmt(high)}], outside the bounds {bounds} of "
        f"{parameter.name} ({parameter.units}); use {hint}"
    )


#: Uniforms at which the engines' samples are most extreme (:func:`sim.distributions.sample` clips to them).
ENGINE_QUANTILES = (2.0**-53, 0.5, 1.0 - 2.0**-53)


def sample_problem(parameter: Parameter, spec: Distribution) -> str | None:
    """Why the values the engines would draw from ``spec`` are unusable for ``parameter``, or ``None``.

    Checks the distribution at the quantiles the engines can reach (:data:`ENGINE_QUANTILES`): they must be
    finite, within ``[lower, upper]`` and within ``usable`` when the parameter has one. This catches what the
    support check cannot: ``normal`` with ``sd: 1e308`` (infinite tails), ``lognormal`` with ``sigma: 700``
    (tails that overflow to ∞ or underflow to 0), a births trend of 700 (births beyond any count).
    """
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = sample(spec, np.array(ENGINE_QUANTILES))
    except (ValueError, ArithmeticError) as exc:
        return f"{describe(spec)} cannot be sampled: {exc}"
    lo, hi = float(values[0]), float(values[-1])
    quantiles = "at the extreme quantiles the engines draw (2⁻⁵³, 1 − 2⁻⁵³)"
    gives = f"gives {lo:.4g}" if lo == hi else f"gives {lo:.4g} to {hi:.4g} {quantiles}"
    if not np.all(np.isfinite(values)):
        return (
            f"{describe(spec)} gives {_fmt(lo)} and {_fmt(hi)} {quantiles}; a value must be finite: narrow the "
            "distribution"
        )
    low, high = parameter.usable or (parameter.lower, parameter.upper)
    if lo < low or hi > high:
        reason = f" ({parameter.usable_reason})" if parameter.usable and parameter.usable_reason else ""
        return (
            f"{describe(spec)} {gives}, outside the usable range "
            f"[{_fmt(low)}, {_fmt(high)}] of {parameter.name} ({parameter.units}){reason}"
        )
    return None


def markdown_table(overrides: Mapping[str, Distribution] | None = None) -> str:
    """The registry as a Markdown table.

    Parameters
    ----------
    overrides
        Distributions that replace the defaults (e.g. a scenario's ``uncertainties``); an overridden row is
        marked "(scenario)".
    """
    rows = [
        "| name | units | bounds | distribution | meaning | source |",
        "|---|---|---|---|---|---|",
    ]
    for p in _PARAMETER_LIST:
        spec = p.default
        mark = ""
        if overrides is not None and p.name in overrides and overrides[p.name] != p.default:
            spec, mark = overrides[p.name], " (scenario)"
        usable = f"; usable [{_fmt(p.usable[0])}, {_fmt(p.usable[1])}]" if p.usable else ""
        rows.append(
            f"| `{p.name}` | {p.units} | [{_fmt(p.lower)}, {_fmt(p.upper)}]{usable} | `{describe(spec)}`{mark} "
            f"| {p.description} | {p.source} |"
        )
    structure = ("\nRegistry structure, held fixed in runs (the `registry.*` rows above are drawn in every draw; "
                 "calibration/REGISTRY.md):\n\n" + registry_structure_table())
    return "\n".join(rows) + "\n" + structure
