"""Scenario files: YAML → frozen, validated :class:`Scenario`.

A scenario states the levers a researcher controls, the uncertainties nobody controls (overriding the defaults
of :mod:`sim.parameters`), the Monte Carlo settings and the target set. ``docs/scenario.md`` documents every
key; the Field descriptions below say the same.

Loading (:func:`load_scenario`):

1. The file is read by :func:`sim.yamlfile.load_yaml`: bounded (size, nesting, keys, alias expansion, integer
   digits), YAML 1.2 core schema, node by node so that every key keeps its line number. Duplicate keys, custom
   tags (``!!python/…``) and merge keys (``<<``) are errors.
2. ``extends: parent.yaml`` (relative to the file) is loaded first, recursively (at most :data:`MAX_EXTENDS`
   files); the child is deep-merged over the parent: mappings merge key by key, scalars and lists replace, an
   uncertainty given with a ``dist`` key and a year mapping (:data:`YEAR_MAPPINGS`) replace the parent's value
   whole, and ``null`` removes the parent's value (the default applies). Circular ``extends`` is an error.
3. Paths (``targets``, ``baseline.registry``) are resolved against the file that wrote them.
4. The merged mapping is validated by pydantic models (``extra="forbid"``, ``frozen=True``), then cross-field
   checks run (finite amounts, known county codes, uncertainty names, supports and the values the engines
   will draw).
   Every problem becomes an :class:`~sim.errors.InputError` naming the file and line where the offending key
   was written, the dotted key path, the bad value and what is allowed; all problems of a pass are raised
   together as :class:`~sim.errors.InputErrors`.

:func:`resolved_yaml` writes the resolved scenario (defaults and inheritance applied, all uncertainties
listed) as YAML that loads back to an equal :class:`Scenario`.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from sim import __version__
from sim.distributions import DIST_NAMES, MODELS, Distribution
from sim.errors import MAX_DESCRIBED, InputError, InputErrors, kind_of, short_repr, suggest
from sim.parameters import PARAMETERS, sample_problem, support_problem
from sim.rng import BLOCK_SIZE
from sim.vocabulary import AllocationRule, IndicatorGroup, PlacementDirection, PlacementRule, QualitySchool
from sim.yamlfile import LoadedYaml, load_yaml, path_problem
from sim.yamlfile import format_key as _format_key

__all__ = [
    "DEFAULT_TARGETS",
    "INDICATOR_GROUPS",
    "AssessmentLever",
    "BaselineSpec",
    "CounsellingLever",
    "DevelopmentLever",
    "DigitalLever",
    "DispatchLever",
    "FundingLever",
    "Levers",
    "LoadedYaml",
    "PairingLever",
    "QuotaLever",
    "RecruitmentLever",
    "RetentionLever",
    "RotationLever",
    "Scenario",
    "SpecialEducationLever",
    "errors_from_validation",
    "load_scenario",
    "load_yaml",
    "replace",
    "resolved_yaml",
    "scenario_from_mapping",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The target set used when a scenario names none: the targets of the 2025 plan (DESIGN §5).
DEFAULT_TARGETS = REPO_ROOT / "scenarios" / "targets" / "plan-2025.yaml"

#: First and last start year with published data (NBS series from 2011 for both levels; data end in 2024).
START_YEAR_RANGE = (2011, 2024)
#: Latest allowed horizon.
MAX_HORIZON = 2050
#: Largest seed: results.nc and the chunk manifests store the seed as a signed 64-bit integer.
MAX_SEED = 2**63 - 1
#: Largest capital budget accepted, CNY per year: 10¹² is about half of Xinjiang's GDP (1.91 trillion CNY in 2023,
#: Xinjiang statistical bulletin 2023); a larger yearly school budget is a typo, not a policy.
MAX_CAPITAL_CNY = 1e12
#: First year in which the levers of the plan can act (the plan was issued on 2025-01-26).
PLAN_YEAR = 2025

#: Indicator groups that dispatched teachers can be counted toward.
INDICATOR_GROUPS = ("staffing", "qualification", "backbone", "pe_art")

Path_ = tuple[str | int, ...]

# ---------------------------------------------------------------------------------------------------------
# Field types (strict: YAML ``true`` is not a number, ``"5"`` is not an integer)

Share = Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
Year = Annotated[int, Field(strict=True, ge=START_YEAR_RANGE[0], le=MAX_HORIZON)]
Money = Annotated[float, Field(strict=True, ge=0.0, allow_inf_nan=False)]


def _unique(values: tuple[Any, ...]) -> tuple[Any, ...]:
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{short_repr(v)} is listed twice")
        seen.add(v)
    return values


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------------------
# Levers


MAX_ROTATION_TERM_YEARS = 6
"""Longest rotation term a scenario may set (years): the eligibility rule's 6 years at a school (assumption)."""


class RotationLever(_Frozen):
    """Rotation (交流輪崗, 縣管校聘) of teachers between schools within a county."""

    share: Share = Field(
        default=0.10,
        description="share of eligible teachers rotated each year (0–1); default 10%, the floor of the "
        "government-guarantee item 11 of 教督〔2017〕6號 and the 2014 rotation opinion",
    )
    backbone_share: Share = Field(
        default=0.20,
        description="share of backbone teachers among those rotated (0–1); default 20%, same sources",
    )
    min_years_at_school: Annotated[int, Field(strict=True, ge=1, le=40)] = Field(
        default=6,
        description="years at the same school before a teacher is eligible (1–40); default 6 "
        "(assumption: the usual local rule under the 2014 opinion)",
    )
    direction: PlacementDirection = Field(
        default="rural_and_weak",
        description="where rotated teachers go: rural and weak schools (plan §二(三)2, default), rural only, "
        "weak (below-standard) only, or any school",
    )
    exclude_rotated_within_years: Annotated[int, Field(strict=True, ge=0, le=40)] = Field(
        default=0,
        description="teachers rotated within this many years are not eligible again (0 = no exclusion)",
    )
    term_years: Annotated[int, Field(strict=True, ge=0, le=MAX_ROTATION_TERM_YEARS)] = Field(
        default=1,
        description="years a rotated teacher serves in the receiving school before returning to the sending "
        "school (0 = never returns); default 1, plan §二(三)2 (到鄉村學校或辦學條件薄弱學校任教1年以上); the "
        "2014 opinion's term was not found (SOURCES.md §3b has its shares only)",
    )
    placement: PlacementRule = Field(
        default="missing_indicator",
        description="how rotated teachers are shared among the receiving schools: proportional to teachers + 1, "
        "weakest_first (most failing indicators first), missing_indicator (backbone teachers to schools below "
        "the backbone threshold, PE/art teachers below theirs; default: the plan does not name a rule, its aim "
        "is 縣域內校際間師資均衡配置 through 骨干教師交流輪崗, plan §二(三)2)",
    )
    from_year: Year = Field(default=PLAN_YEAR, description="first school year the lever acts (default 2025)")


class DispatchLever(_Frozen):
    """Dispatched teachers (組團式援疆, 銀齡講學, 西部計劃) sent from outside for fixed terms."""

    per_year: Count = Field(
        default=5000, description="teachers dispatched each year (persons/yr); default 5,000, plan §二(一)3"
    )
    south_share: Share = Field(
        default=0.6,
        description="share sent to the four southern prefectures (0–1); default 0.6 (assumption: the "
        "2016 recruitment plan sent 60% to the south; the plan says only 'weighted to the south')",
    )
    term_years: Annotated[int, Field(strict=True, ge=1, le=3)] = Field(
        default=1, description="length of a dispatch term in years (1–3); default 1 (assumption)"
    )
    junior_share: Share = Field(
        default=0.4,
        description="share sent to junior (初中) posts (0–1); default 0.4 (assumption: plan §二(一)3 "
        "stresses junior and senior posts in the south)",
    )
    counts_toward: tuple[IndicatorGroup, ...] = Field(
        default=("staffing",),
        description="staffing stocks the dispatched teachers fill: subset of staffing, qualification, "
        "backbone, pe_art; default [staffing] (assumption)",
    )
    from_year: Year = Field(default=PLAN_YEAR, description="first school year the lever acts (default 2025)")

    _check_unique = field_validator("counts_toward")(_unique)


def _capital_shape(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | dict):
        raise ValueError(f"must be a number (CNY per year) or a mapping year → CNY per year, got {short_repr(value)}")
    if isinstance(value, dict):
        for year, amount in value.items():
            if isinstance(year, bool) or not isinstance(year, int):
                raise ValueError(f"year keys must be whole years, got {short_repr(year)}")
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise ValueError(f"amount for {year} must be a number (CNY per year), got {short_repr(amount)}")
    return value


class FundingLever(_Frozen):
    """Capital budget for school conditions and its allocation rule."""

    capital_cny: float | dict[int, float] = Field(
        default=3.5e9,
        description="capital budget in CNY per year: a number, or a mapping year → CNY/yr read as a step "
        "function (the value of the latest year ≤ y; years before the first key get 0); default 3.5e9 ≈ "
        "17.72 bn central funds in the 14th FYP (2021–25) / 5 (SOURCES §1e)",
    )
    allocation: AllocationRule = Field(
        default="gap_proportional",
        description="allocation rule across schools: in proportion to each school's cost to reach the "
        "standard (default, assumption), weakest schools first, a fixed share to the south, or equal per "
        "student",
    )
    south_share: Share = Field(
        default=0.6,
        description="share of the budget to the south under allocation: south_share (0–1); default 0.6 "
        "(assumption, as for dispatch)",
    )
    from_year: Year = Field(default=PLAN_YEAR, description="first school year the lever acts (default 2025)")

    recurrent_cny: float | dict[int, float] | None = Field(
        default=None,
        description="recurrent (non-capital) budget of the teacher levers and the T6–T10 programmes in CNY per "
        "year: a number, or a mapping year → CNY/yr read as a step function (the value of the latest year ≤ y; "
        "years before the first key have no limit); default null: no limit (the levers' quantities are delivered "
        "whatever they cost). When the year's planned spend exceeds it, the year's new quantities are scaled back "
        "in proportion (sim/mechanisms/budget.py); establishment salaries, the capital budget and classrooms are "
        "outside it",
    )

    _check_shape = field_validator("capital_cny", mode="before")(_capital_shape)
    _check_recurrent = field_validator("recurrent_cny", mode="before")(
        lambda value: value if value is None else _capital_shape(value))

    def recurrent_cny_in(self, year: int) -> float | None:
        """This lever's recurrent budget of ``year`` in CNY, or ``None`` (no limit): the scalar, or the step function
        of a mapping (the value of the latest key ``≤ year``; no limit before the first key)."""
        if self.recurrent_cny is None or not isinstance(self.recurrent_cny, dict):
            return None if self.recurrent_cny is None else float(self.recurrent_cny)
        keys = [k for k in sorted(self.recurrent_cny) if k <= year]
        return float(self.recurrent_cny[keys[-1]]) if keys else None

    def capital_cny_in(self, year: int) -> float:
        """This lever's capital budget of ``year`` in CNY: the scalar, or the step function of a mapping (the value
        of the latest key ``≤ year``; 0 before the first key).

        Before ``from_year`` a run does not use this lever but the historical default (``Levers().funding``), as
        for every lever group with a ``from_year``: :func:`sim.model.lever_at` chooses the lever of the year.
        """
        if not isinstance(self.capital_cny, dict):
            return float(self.capital_cny)
        keys = [k for k in sorted(self.capital_cny) if k <= year]
        return float(self.capital_cny[keys[-1]]) if keys else 0.0


class RetentionLever(_Frozen):
    """Retention incentives for rural teachers."""

    rural_subsidy_cny_month: Annotated[float, Field(strict=True, ge=0, le=20_000, allow_inf_nan=False)] = Field(
        default=0.0,
        description="extra rural-teacher living subsidy in CNY per teacher per month, on top "
        "of the existing subsidy (0–20,000); default 0: the plan (§二(六)2) keeps the existing policy",
    )
    from_year: Year = Field(default=PLAN_YEAR, description="first school year the lever acts (default 2025)")


class RecruitmentLever(_Frozen):
    """Recruitment channels that fill staffing-quota vacancies."""

    open_recruitment: bool = Field(
        default=True,
        strict=True,
        description="open recruitment fills the vacancies left after the other channels (default true)",
    )
    special_post_per_year: Count = Field(
        default=1500,
        description="special-post (特崗) teachers hired per year (persons/yr); default 1,500 (assumption: "
        "Xinjiang's share of the national 67,000–84,000 a year is not published)",
    )
    targeted_graduates_per_year: Count = Field(
        default=500,
        description="targeted graduates (優師計劃) placed per year (persons/yr); default 500 (assumption: "
        "~10,000 a year nationally for 832 counties, SOURCES §4c)",
    )
    junior_retraining_per_year: Count = Field(
        default=500,
        description="lower-grade teachers qualified for junior posts per year (persons/yr), plan §二(一)3; "
        "default 500 (assumption)",
    )
    special_post_post: Literal["outside", "in_establishment", "reserve"] = Field(
        default="outside",
        description="which post special-post teachers hold. 'outside' (default, the national programme): none "
        "of the county's establishment (編制) during the 3-year contract (places capped at the rural shortfall "
        "below the verified target, other channels fill the establishment's vacancies as if they were not "
        "there); those who stay are taken into it at the contract's end, taking the section's free posts first "
        "and the establishment growing by those it cannot hold (China Daily 2013-10-07: 'eligible to become "
        "regular teachers after three years'; calibration/SEARCHES.md C14; the 2006 notice itself not found). "
        "'reserve' (Xinjiang's 人才儲備編制): as 'outside' during the contract, where they hold a post of the "
        "region's reserve establishment, not one of the county's; those who stay bring that post along at the "
        "contract's end, so the establishment grows by every convert and no free post is taken (Tianshan Net "
        "2009-05-27: '納入自治區人才儲備編制管理 … 三年後 … 編制由自治區統籌解決'; press conference 2013-05-19; "
        "calibration/SEARCHES.md #32, J4, R1). 'in_establishment': they take vacant posts of the county's "
        "establishment, so their places are capped at rural vacancies (no source ties the places to vacant "
        "posts, SEARCHES.md C13)",
    )
    from_year: Year = Field(default=PLAN_YEAR, description="first school year the lever acts (default 2025)")

    @model_validator(mode="before")
    @classmethod
    def _removed_in_establishment(cls, data: Any) -> Any:
        if isinstance(data, dict) and "special_post_in_establishment" in data:
            raise ValueError(
                "special_post_in_establishment was replaced on 2026-12-07 by special_post_post: write "
                "special_post_post: in_establishment (for true) or special_post_post: outside (for false), or "
                "special_post_post: reserve (Xinjiang's reserve establishment)"
            )
        return data


class DevelopmentLever(_Frozen):
    """Teacher development throughput."""

    qualification_upgrade_share: Share = Field(
        default=0.05,
        description="share of teachers below the required qualification who upgrade each year (0–1); "
        "default 0.05 (assumption)",
    )
    backbone_cultivation_share: Share = Field(
        default=0.03,
        description="share of qualified non-backbone teachers newly recognised as backbone each year (0–1); "
        "default 0.03 (assumption: with the default 5%/yr loss of recognition it keeps the 2020 backbone "
        "stock roughly level under the historical policy)",
    )


class PairingLever(_Frozen):
    """Paired support (對口幫扶) of rural schools by town schools."""

    coverage_by_year: dict[Annotated[int, Field(strict=True)], Share] = Field(
        default_factory=lambda: {2024: 0.5, 2027: 1.0},
        description="share of rural schools with a paired town school, by year, interpolated linearly "
        "between the given years and held after the last; default {2024: 0.5, 2027: 1.0}: all by 2027 (plan "
        "§二(二)2), 2024 level an assumption",
    )

    @field_validator("coverage_by_year")
    @classmethod
    def _not_empty(cls, value: dict[int, float]) -> dict[int, float]:
        if not value:
            raise ValueError("must give at least one year: share")
        return dict(sorted(value.items()))

    def coverage_in(self, year: int) -> float:
        """Coverage in ``year`` (linear interpolation, constant outside the given years)."""
        years = sorted(self.coverage_by_year)
        if year <= years[0]:
            return self.coverage_by_year[years[0]]
        for y0, y1 in itertools.pairwise(years):
            if y0 <= year <= y1:
                c0, c1 = self.coverage_by_year[y0], self.coverage_by_year[y1]
                return c0 + (c1 - c0) * (year - y0) / (y1 - y0)
        return self.coverage_by_year[years[-1]]


class QuotaLever(_Frozen):
    """Staffing-quota (編制) verification."""

    reverify_every_years: Annotated[int, Field(strict=True, ge=1, le=10)] = Field(
        default=3,
        description="years between full re-verifications of the quota (1–10); default 3, plan §二(一)3",
    )
    first_verification_year: Year = Field(
        default=PLAN_YEAR, description="year of the first verification under the plan (default 2025)"
    )
    sticky_establishment: bool = Field(
        default=True,
        strict=True,
        description="the teaching establishment is anchored at the teachers in post in the start year and each "
        "verification closes a share `quota.establishment_adjustment` of its gap to the norm × multiplier "
        "(default true); false: every verification, the start year's included, sets it to the norm × multiplier",
    )
    redeploy_surplus_share: Share = Field(
        default=0.5,
        description="share of surplus posts (quota above need) redeployed to schools short of staff each "
        "verification (0–1); default 0.5 (assumption)",
    )


class DigitalLever(_Frozen):
    """Gigabit broadband to schools (千兆到校)."""

    gigabit_schools_per_year: Count = Field(
        default=400,
        description="schools connected per year (schools/yr); default 400 (assumption: about 4,500 schools "
        "connected by 2035, plan §二(一)2)",
    )


class CounsellingLever(_Frozen):
    """Standard counselling rooms (心理輔導室)."""

    rooms_per_year: Count = Field(
        default=500,
        description="rooms built per year (rooms/yr); default 500 (assumption; the plan wants every urban "
        "and township-centre school covered in 2025, plan §二(四)2)",
    )


class SpecialEducationLever(_Frozen):
    """Special-education schools in counties above 200,000 people and resource rooms for inclusive classes."""

    schools_per_year: Count = Field(
        default=2,
        description="special-education schools opened per year (schools/yr); default 2 (assumption; plan "
        "§二(四)1 wants one in every county above 200,000 people by 2027)",
    )
    resource_rooms_per_year: Count = Field(
        default=0,
        description="resource rooms (資源教室) for inclusive classes (隨班就讀) fitted out per year in regular schools "
        "(rooms/yr); default 0: the plan (§二(四)1) gives inclusive classes priority but names no number of rooms, "
        "so the baseline adds no inclusive places beyond the start year's (T8b)",
    )


class AssessmentLever(_Frozen):
    """How the assessment counts (definitions the researcher may change)."""

    quality_school: QualitySchool = Field(
        default="all_seven",
        description="a quality school meets all seven resource indicators (all_seven, default, DESIGN §4) or "
        "the school rule of 教督〔2017〕6號: ≥6 of 7 and the other ≥85% (standard)",
    )
    dispatched_count_toward: tuple[IndicatorGroup, ...] = Field(
        default=("staffing",),
        description="indicators of the assessment that count dispatched teachers: subset of staffing, "
        "qualification, backbone, pe_art; default [staffing] (assumption)",
    )
    small_site_exclusion_pupils: Annotated[int, Field(strict=True, ge=0, le=1000)] = Field(
        default=50,
        description="teaching points (教學點) with fewer pupils are left out of the resource evaluation "
        "(pupils, 0–1000); default 50 from Hebei's rules implementing 教督〔2017〕6號 (SOURCES §3a; the "
        "national text is unverified on this point); 0 assesses every site",
    )

    _check_unique = field_validator("dispatched_count_toward")(_unique)


class TargetingLever(_Frozen):
    """一縣一策 targeting (plan §二(一)1, "一縣一策"明確短板弱項): hires by subject, backbone cultivation, rotation
    and capital aimed at the schools and indicators failing the county assessment (sim.mechanisms.targeting)."""

    enabled: Annotated[bool, Field(strict=True)] = Field(
        default=False,
        description="aim PE/art hires, backbone cultivation, rotation (missing_indicator) and capital "
        "(weakest_first) at the failing schools and indicators; default off (the plan does not say how)",
    )
    from_year: Year = Field(default=PLAN_YEAR, description="first school year the lever acts (default 2025)")


class RedeploymentLever(_Frozen):
    """縣管校聘 redeployment (plan §二(三)2): each year, after the exits and before hiring, a county's surplus teachers
    move to its short-staffed schools of the same level (sim.mechanisms.redeployment)."""

    enabled: Annotated[bool, Field(strict=True)] = Field(
        default=True,
        description="redeploy a share `redeployment.surplus_release_share` (an uncertainty) of each county's surplus "
        "teachers to its sections short of staff every year before hiring; default on, plan §二(三)2 "
        "(推動自治區中小學教師“縣管校聘”管理改革……加快實現縣域內校際間師資均衡配置); while it acts, the quota step's "
        "redeployment at each verification does not",
    )
    placement: Literal["largest_shortfall", "proportional"] = Field(
        default="largest_shortfall",
        description="where the released teachers go: one at a time to the section with the largest remaining "
        "shortfall (default: by need, the plan's 均衡配置) or in proportion to the shortfalls",
    )
    from_year: Year = Field(default=PLAN_YEAR, description="first school year the lever acts (default 2025); off "
                            "before it (the reform is what the plan asks for)")


class ClassesLever(_Frozen):
    """Classes that follow enrolment, within the classrooms a section has (sim.mechanisms.classes)."""

    follow_enrolment: Annotated[bool, Field(strict=True)] = Field(
        default=True,
        description="re-form each section's classes every year from its pupils and the class-size norm "
        "(primary 45, junior 50, 教督〔2017〕6號 guarantee item 5), within its classrooms; false: the classes "
        "formed in the start year are kept to the horizon (the model before issue 15)",
    )
    build_share: Share = Field(
        default=1.0,
        description="share of a section's missing classrooms (the norm's classes beyond its classrooms and "
        "those under construction) started each year (0–1), in use after the construction lag; default 1 "
        "(assumption: class size is a guarantee item every county must meet, so a county builds what the norm "
        "needs; 0 = no classroom is built)",
    )


class NetworkLever(_Frozen):
    """The school network (sim.mechanisms.network): small sections close towards the largest section of their
    county and level, their pupils and teachers moving with them (issue 15 item 2)."""

    size_rule_pupils: Annotated[int, Field(strict=True, ge=0, le=10_000)] = Field(
        default=0,
        description="a section (a school's primary or junior part) with fewer pupils closes each year towards the "
        "largest open section of its county and level (0 = none closes, the default). No sourced default: "
        "国办发〔2018〕27号 calls a school under 100 pupils a 乡村小规模学校 and asks to keep the necessary ones "
        "(应留必留); 国办发〔2012〕48号 asks 先建后撤; neither sets a size below which a school closes",
    )
    keep_teaching_points: Annotated[bool, Field(strict=True)] = Field(
        default=True,
        description="teaching points (教学点) stay open whatever their size (default: kept, the 2018 guidance's "
        "应留必留 for remote points); false: they close under the size rule like any section",
    )
    build_before_close: Annotated[bool, Field(strict=True)] = Field(
        default=True,
        description="先建后撤 (build first, then close; 国办发〔2012〕48号): a section closes only when its receiver's "
        "classrooms hold the norm's classes of its own and the closing sections' pupils; otherwise the closures "
        "wait and the missing rooms are started at the receiver (classroom pipeline, construction lag, costed as "
        "classrooms). Default true, the 2012 rule; false: close at once, the rooms stay in the closed building "
        "(the model before this lever)",
    )


class Levers(_Frozen):
    """Every lever of a scenario; each defaults to the plan as written."""

    rotation: RotationLever = RotationLever()
    dispatch: DispatchLever = DispatchLever()
    funding: FundingLever = FundingLever()
    retention: RetentionLever = RetentionLever()
    recruitment: RecruitmentLever = RecruitmentLever()
    development: DevelopmentLever = DevelopmentLever()
    pairing: PairingLever = PairingLever()
    quota: QuotaLever = QuotaLever()
    digital: DigitalLever = DigitalLever()
    counselling: CounsellingLever = CounsellingLever()
    special_education: SpecialEducationLever = SpecialEducationLever()
    assessment: AssessmentLever = AssessmentLever()
    targeting: TargetingLever = TargetingLever()
    redeployment: RedeploymentLever = RedeploymentLever()
    classes: ClassesLever = ClassesLever()
    network: NetworkLever = NetworkLever()


# ---------------------------------------------------------------------------------------------------------
# Baseline selection and the scenario


def _counties_shape(value: Any) -> Any:
    if isinstance(value, str):
        if value not in ("all", "south"):
            raise ValueError(f"must be 'all', 'south' or a list of 6-digit county codes, got {short_repr(value)}")
        return value
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError("the list of county codes is empty; use 'all' or list at least one code")
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise ValueError(f"county codes must be 6-digit numbers, got {short_repr(item)}")
            out.append(str(item))
        return tuple(out)
    raise ValueError(f"must be 'all', 'south' or a list of 6-digit county codes, got {short_repr(value)}")


class BaselineSpec(_Frozen):
    """Which baseline the run starts from."""

    registry: Path | None = Field(
        default=None,
        description="school registry CSV (relative to the scenario file); null = the shipped synthetic "
        "registry (calibration/)",
    )
    include_xpcc: bool = Field(
        default=False,
        strict=True,
        description="include the 10 XPCC cities (6590xx); default false (DESIGN §2)",
    )
    scale_region_levers: bool = Field(
        default=True,
        strict=True,
        description="region-wide quantity levers (capital budget, dispatched and recruited teachers per year, "
        "gigabit, counselling-room and special-school roll-outs) are for the region's 96 counties; with a county "
        "selection, apply the selection's share of them (by pupils, schools or counties over 200,000 people); "
        "false = apply them as given",
    )
    counties: Literal["all", "south"] | tuple[str, ...] = Field(
        default="all",
        description="'all', 'south' (the 33 units of the four southern prefectures) or a list of 6-digit county codes",
    )

    _check_counties = field_validator("counties", mode="before")(_counties_shape)


def _default_uncertainties() -> dict[str, Distribution]:
    return {name: p.default for name, p in PARAMETERS.items()}


class Scenario(_Frozen):
    """A validated scenario: Monte Carlo settings, baseline, levers, uncertainties and target set."""

    name: Annotated[str, Field(strict=True, min_length=1, max_length=100, pattern=r"^\w[\w.-]*$")] = Field(
        description="scenario name (letters, digits, _ . -); names the output folder"
    )
    description: str = Field(default="", description="free text: the question the scenario answers")
    draws: Annotated[int, Field(strict=True, gt=0, le=10_000_000)] = Field(
        default=1000, description="Monte Carlo draws (> 0)"
    )
    seed: Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)] = Field(
        default=20250126,
        description="root seed of all random streams (integer, 0 ≤ seed < 2⁶³: results files store it as a "
        "signed 64-bit integer)",
    )
    start_year: Annotated[int, Field(strict=True, ge=START_YEAR_RANGE[0], le=START_YEAR_RANGE[1])] = Field(
        default=2020, description="first simulated school year (2011–2024; default 2020, the census year)"
    )
    horizon: Annotated[int, Field(strict=True, ge=START_YEAR_RANGE[0] + 1, le=MAX_HORIZON)] = Field(
        default=2035, description="last simulated school year (> start_year, ≤ 2050; default 2035)"
    )
    chunk_size: Annotated[int, Field(strict=True, gt=0, le=1_000_000)] = Field(
        default=512, description=f"draws per chunk of work (a multiple of {BLOCK_SIZE}); results do not depend on it"
    )
    baseline: BaselineSpec = BaselineSpec()
    levers: Levers = Levers()
    uncertainties: dict[str, Distribution] = Field(
        default_factory=_default_uncertainties,
        description="distribution of every registered uncertain parameter; a scenario overrides some, the "
        "others keep the defaults of sim.parameters",
    )
    targets: Path = Field(default=DEFAULT_TARGETS, description="target-set YAML (relative to the scenario file)")
    posterior: Path | None = Field(
        default=None,
        description="calibrated posterior folder from edusim calibrate (written `uncertainties: {posterior: PATH}`, "
        "relative to the scenario file): each draw takes one particle for the parameters it holds",
    )

    @field_validator("chunk_size")
    @classmethod
    def _chunk_multiple(cls, value: int) -> int:
        if value % BLOCK_SIZE:
            raise ValueError(
                f"must be a multiple of {BLOCK_SIZE} (the random block size), got {value}; e.g. "
                f"{max(BLOCK_SIZE, value // BLOCK_SIZE * BLOCK_SIZE)}"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _fill_uncertainties(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("uncertainties", {}), dict):
            given = dict(data.get("uncertainties", {}))
            if "posterior" in given:  # not a parameter: the folder whose particles replace some priors
                data = {**data, "posterior": given.pop("posterior")}
            merged: dict[str, Any] = {name: given.get(name, p.default) for name, p in PARAMETERS.items()}
            merged.update({k: v for k, v in given.items() if k not in PARAMETERS})
            data = {**data, "uncertainties": merged}
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        problems = _cross_problems(self)
        if problems:
            raise ValidationProblems(problems)
        return self

    def uncertainty(self, name: str) -> Distribution:
        """The distribution of the registered parameter ``name`` in this scenario."""
        return self.uncertainties[name]


class ValidationProblems(InputErrors):
    """Cross-field problems, with the key path of each as a tuple (for line look-up by the loader)."""

    def __init__(self, problems: list[tuple[Path_, str]]):
        self.problems = problems
        super().__init__([InputError(msg, key=_format_key(path)) for path, msg in problems])


def _cross_problems(s: Scenario) -> list[tuple[Path_, str]]:
    problems: list[tuple[Path_, str]] = []
    if s.horizon <= s.start_year:
        # the year checks below would only repeat this one
        return [(("horizon",), f"must be after start_year ({s.start_year}), got {s.horizon}")]
    lv = s.levers
    amounts: list[tuple[Path_, float]] = []
    for key in ("capital_cny", "recurrent_cny"):
        value = getattr(lv.funding, key)
        if value is None:
            continue
        if not isinstance(value, dict):
            amounts.append((("levers", "funding", key), value))
            continue
        if not value:
            problems.append((("levers", "funding", key), "the year → CNY mapping is empty"))
        for year, amount in value.items():
            path: Path_ = ("levers", "funding", key, year)
            if not START_YEAR_RANGE[0] <= year <= MAX_HORIZON:
                problems.append((path, f"year must be within [{START_YEAR_RANGE[0]}, {MAX_HORIZON}], got {year}"))
            amounts.append((path, amount))
        first_acting = max(lv.funding.from_year, s.start_year)
        if key == "capital_cny" and value and min(value) > first_acting:
            problems.append(
                (
                    ("levers", "funding", "capital_cny"),
                    f"the first year given is {min(value)} but funding acts from {first_acting} "
                    f"(from_year {lv.funding.from_year}, start_year {s.start_year}): years "
                    f"{first_acting}–{min(value) - 1} would get no capital; add a key for {first_acting}",
                )
            )
    for path, amount in amounts:
        if not (math.isfinite(amount) and 0 <= amount <= MAX_CAPITAL_CNY):
            problems.append(
                (path, f"must be a finite amount in [0, {MAX_CAPITAL_CNY:.0e}] CNY per year, got {short_repr(amount)}")
            )
    for year in lv.pairing.coverage_by_year:
        if not START_YEAR_RANGE[0] <= year <= MAX_HORIZON:
            problems.append(
                (
                    ("levers", "pairing", "coverage_by_year", year),
                    f"year must be within [{START_YEAR_RANGE[0]}, {MAX_HORIZON}], got {year}",
                )
            )
    problems += _county_problems(s.baseline)
    if s.baseline.registry is not None:
        why = path_problem(str(s.baseline.registry))
        if why or not s.baseline.registry.is_file():
            problems.append(
                (("baseline", "registry"), why or f"school registry file not found: {s.baseline.registry}")
            )
    if s.posterior is not None:
        why = path_problem(str(s.posterior))
        if why or not (s.posterior / "particles.csv").is_file():
            problems.append((("uncertainties", "posterior"),
                             why or f"not a posterior folder of edusim calibrate (no particles.csv): {s.posterior}"))
        else:
            stale = [n for n in _posterior_names(s.posterior / "particles.csv") if n not in PARAMETERS]
            if stale:
                problems.append((("uncertainties", "posterior"),
                                 f"the posterior {s.posterior} holds parameters the model no longer has: "
                                 f"{', '.join(stale)}; it was calibrated on an older model, run `edusim calibrate` "
                                 "again"))
    why = path_problem(str(s.targets))
    if why or not s.targets.is_file():
        problems.append((("targets",), why or f"target-set file not found: {s.targets}"))
    for name, spec in s.uncertainties.items():
        if name not in PARAMETERS:
            problems.append((("uncertainties", name), f"unknown uncertainty; {suggest(name, PARAMETERS)}"))
            continue
        why = support_problem(PARAMETERS[name], spec) or sample_problem(PARAMETERS[name], spec)
        if why:
            problems.append((("uncertainties", name, "dist"), why))
    return problems


@dataclass(frozen=True)
class _County:
    code: str
    south: bool
    xpcc: bool


def county_table() -> dict[str, _County]:
    """Known county-level units (code → flags), including the XPCC cities, from ``sim.baseline``."""
    from sim.baseline import load_counties

    frame = load_counties(include_xpcc=True)
    return {
        str(int(c)): _County(str(int(c)), bool(s), bool(x))
        for c, s, x in zip(frame["code"], frame["south"], frame["xpcc"], strict=True)
    }


def _county_problems(baseline: BaselineSpec) -> list[tuple[Path_, str]]:
    if isinstance(baseline.counties, str):
        return []
    problems: list[tuple[Path_, str]] = []
    table = county_table()
    seen: set[str] = set()
    for i, code in enumerate(baseline.counties):
        path: Path_ = ("baseline", "counties", i)
        if not re.fullmatch(r"\d{6}", code):
            problems.append((path, f"county codes are 6 digits (e.g. 653101), got {short_repr(code)}"))
        elif code in seen:
            problems.append((path, f"county {code} is listed twice"))
        elif table and code not in table:
            close = [c for c in sorted(table) if c[:4] == code[:4]]
            hint = (
                f"known codes in prefecture {code[:4]}xx: {', '.join(close)}"
                if close
                else ("see calibration/data/counties.csv for the codes")
            )
            problems.append((path, f"unknown county code {code}; {hint}"))
        elif table and table[code].xpcc and not baseline.include_xpcc:
            problems.append((path, f"{code} is an XPCC city; set baseline.include_xpcc: true to include it"))
        seen.add(code)
    return problems


# ---------------------------------------------------------------------------------------------------------
# Errors from pydantic, with file and line


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _literals(tp: Any) -> list[str]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) is Literal:
        return [str(a) for a in typing.get_args(tp)]
    out: list[str] = []
    for arg in typing.get_args(tp):
        out += _literals(arg)
    return out


def _walk(root: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[Path_, FieldInfo | None, Any]:
    """Data path, field info and the model owning the last segment, for a pydantic error location."""
    tp: Any = root
    path: list[str | int] = []
    info: FieldInfo | None = None
    owner: Any = root
    for seg in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            owner = tp
            path.append(seg)
            info = tp.model_fields.get(str(seg))
            tp = info.annotation if info is not None else None
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if isinstance(seg, str) and seg in MODELS:
                tp = MODELS[seg]  # discriminator tag: not part of the data path
            continue  # a union member name such as 'float' or 'dict[int,float]'
        if seg == "[key]":
            continue
        path.append(seg)
        info = None
        if origin is dict:
            tp = args[1]
        elif origin in (tuple, list):
            tp = args[0]
        else:
            tp = None
    return tuple(path), info, owner


_TYPE_MESSAGES = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "path_type": "must be a file path",
}


def _bounds_message(info: FieldInfo | None, value: Any, ctx: Mapping[str, Any]) -> str:
    lo: tuple[str, Any] | None = None
    hi: tuple[str, Any] | None = None
    for m in info.metadata if info is not None else []:
        for attr, side in (("ge", "["), ("gt", "(")):
            if getattr(m, attr, None) is not None:
                lo = (side, getattr(m, attr))
        for attr, side in (("le", "]"), ("lt", ")")):
            if getattr(m, attr, None) is not None:
                hi = (side, getattr(m, attr))
    if lo is None and hi is None:
        for k, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if k in ctx:
                return f"must be {sym} {ctx[k]}, got {short_repr(value)}"
        return f"out of range, got {short_repr(value)}"
    if lo is not None and hi is not None:
        return f"must be in {lo[0]}{_num(lo[1])}, {_num(hi[1])}{hi[0]}, got {short_repr(value)}"
    if lo is not None:
        return f"must be {'>=' if lo[0] == '[' else '>'} {_num(lo[1])}, got {short_repr(value)}"
    side, bound = hi if hi is not None else ("]", "?")
    return f"must be {'<=' if side == ']' else '<'} {_num(bound)}, got {short_repr(value)}"


def _num(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 100_000 else f"{x:g}" if isinstance(x, float) else str(x)


def _message(err: Mapping[str, Any], info: FieldInfo | None, owner: Any) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx", {}) or {}
    loc = err["loc"]
    if kind == "extra_forbidden":
        valid = owner.model_fields if isinstance(owner, type) and issubclass(owner, BaseModel) else []
        return f"unknown key; {suggest(str(loc[-1]), valid)}"
    if kind == "missing":
        return "required key missing"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _bounds_message(info, value, ctx)
    if kind == "literal_error":
        valid = _literals(info.annotation) if info is not None else []
        if valid:
            return f"must be one of {', '.join(valid)}, got {short_repr(value)}" + (
                f" ({suggest(str(value)[:100], valid).split(' valid:')[0].strip()})"
                if suggest(str(value)[:100], valid).startswith("did you mean")
                else ""
            )
        return f"must be one of {ctx.get('expected', '?')}, got {short_repr(value)}"
    if kind == "union_tag_invalid":
        return f"unknown distribution {short_repr(ctx.get('tag'))}; {suggest(str(ctx.get('tag'))[:100], DIST_NAMES)}"
    if kind == "union_tag_not_found":
        return f"missing 'dist' key; valid: {', '.join(DIST_NAMES)}"
    if kind == "string_pattern_mismatch":
        return (
            f"must use only letters, digits, '_', '.', '-' (starting with a letter or digit), got {short_repr(value)}"
        )
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in _TYPE_MESSAGES:
        return f"{_TYPE_MESSAGES[kind]}, got {short_repr(value)}"
    return f"{err['msg']}, got {short_repr(value)}"


def _where(path: Path_, lines: Mapping[Path_, tuple[str, int]], default_file: str) -> tuple[str, int | None]:
    for n in range(len(path), 0, -1):
        hit = lines.get(path[:n])
        if hit is not None:
            return hit
    return default_file, None


def errors_from_validation(
    exc: ValidationError | InputErrors,
    root: type[BaseModel],
    lines: Mapping[Path_, tuple[str, int]],
    file: str,
    prefix: Path_ = (),
) -> list[InputError]:
    """:class:`InputError` s (file, line, key path, message) for a pydantic or cross-field failure.

    Parameters
    ----------
    exc
        The failure of ``root.model_validate``.
    root
        The model that was validated.
    lines
        Key path → (file, line), from :func:`load_yaml` (merged over ``extends``).
    file
        File reported when a key has no recorded line (e.g. a required key that is missing).
    prefix
        Key path of the validated data inside the file.
    """
    out: list[InputError] = []
    if isinstance(exc, ValidationProblems):
        for path, msg in exc.problems:
            full = (*prefix, *path)
            where, line = _where(full, lines, file)
            out.append(InputError(msg, file=where, line=line, key=_format_key(full)))
        return out
    if isinstance(exc, InputErrors):
        return list(exc.errors)
    for err in exc.errors(include_url=False)[:MAX_DESCRIBED]:
        path, info, owner = _walk(root, tuple(err["loc"]))
        full = (*prefix, *path)
        where, line = _where(full, lines, file)
        out.append(InputError(_message(err, info, owner), file=where, line=line, key=_format_key(full) or None))
    return out


# ---------------------------------------------------------------------------------------------------------
# Loading with extends


#: Mappings keyed by year: a child that writes one replaces the parent's mapping whole (docs/scenario.md).
YEAR_MAPPINGS: tuple[Path_, ...] = (("levers", "funding", "capital_cny"), ("levers", "funding", "recurrent_cny"),
                                    ("levers", "pairing", "coverage_by_year"))
#: Longest chain of ``extends`` (a scenario, its parent, its grandparent, …).
MAX_EXTENDS = 20


def _merge(parent: dict[Any, Any], child: dict[Any, Any], path: Path_, replaced: list[Path_]) -> dict[Any, Any]:
    """``child`` deep-merged over ``parent``; the paths whose parent value was replaced or removed go to ``replaced``.

    Mappings merge key by key, except an uncertainty given with a ``dist`` key and the year mappings of
    :data:`YEAR_MAPPINGS`, which replace the parent's value whole; scalars and lists replace; ``null`` removes
    the parent's value, so the default applies.
    """
    out = dict(parent)
    for k, v in child.items():
        old = out.get(k)
        here = (*path, k)
        if v is None:
            out.pop(k, None)
            replaced.append(here)
        elif (
            isinstance(v, dict)
            and isinstance(old, dict)
            and not ("dist" in v and path == ("uncertainties",))
            and here not in YEAR_MAPPINGS
        ):
            out[k] = _merge(old, v, here, replaced)
        else:
            out[k] = v
            replaced.append(here)
    return out


def _resolve_paths(data: dict[Any, Any], base: Path) -> dict[Any, Any]:
    """Make ``targets``, ``baseline.registry`` and ``uncertainties.posterior`` absolute, relative to the file that
    wrote them."""
    data = dict(data)
    if isinstance(data.get("targets"), str):
        data["targets"] = os.path.normpath(base / data["targets"])
    baseline = data.get("baseline")
    if isinstance(baseline, dict) and isinstance(baseline.get("registry"), str):
        data["baseline"] = {**baseline, "registry": os.path.normpath(base / baseline["registry"])}
    given = data.get("uncertainties")
    if isinstance(given, dict) and isinstance(given.get("posterior"), str):
        data["uncertainties"] = {**given, "posterior": os.path.normpath(base / given["posterior"])}
    return data


def _load_chain(path: str, chain: tuple[Path, ...]) -> LoadedYaml:
    """Load ``path`` and its ``extends`` ancestors, merged; ``chain`` holds the files already being loaded."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputErrors(
            [
                InputError(
                    "the top level must be a mapping of keys (name:, draws:, levers:, …), got "
                    f"{kind_of(doc.data)}",
                    file=doc.file,
                    line=1,
                )
            ]
        )
    here = Path(os.path.realpath(path))
    data = _resolve_paths(doc.data, here.parent)
    lines = dict(doc.lines)
    if "extends" not in data:
        return LoadedYaml(data, lines, doc.file)
    ext = data.pop("extends")
    ext_line = lines[("extends",)][1] if ("extends",) in lines else None

    def fail(message: str) -> InputErrors:
        return InputErrors([InputError(message, file=doc.file, line=ext_line, key="extends")])

    if not isinstance(ext, str) or not ext:
        raise fail(f"must be the path of a parent scenario file, got {short_repr(ext)}")
    problem = path_problem(ext)
    if problem:
        raise fail(problem)
    if len(chain) + 1 >= MAX_EXTENDS:
        raise fail(f"the extends chain is longer than {MAX_EXTENDS} files")
    parent_display = os.path.normpath(Path(path).parent / ext)
    try:
        parent_real = Path(os.path.realpath(here.parent / ext, strict=False))
    except (OSError, ValueError, RuntimeError) as exc:
        raise fail(f"cannot resolve the parent path: {type(exc).__name__}") from None
    if parent_real in (*chain, here):
        loop = " → ".join(p.name for p in (*chain, here, parent_real))
        raise fail(f"circular extends: {loop}")
    problem = path_problem(str(parent_real))
    if problem or not parent_real.is_file():
        raise fail(problem or f"parent scenario not found: {parent_display}")
    parent = _load_chain(parent_display, (*chain, here))
    replaced: list[Path_] = []
    merged = _merge(parent.data, data, (), replaced)
    merged_lines = {
        p: v for p, v in parent.lines.items() if not any(p[: len(r)] == r and len(p) >= len(r) for r in replaced)
    }
    merged_lines.update({p: v for p, v in lines.items() if _has_path(merged, p)})
    return LoadedYaml(merged, merged_lines, doc.file)


def _has_path(data: Any, path: Path_) -> bool:
    for seg in path:
        if isinstance(data, dict) and seg in data:
            data = data[seg]
        elif isinstance(data, list) and isinstance(seg, int) and 0 <= seg < len(data):
            data = data[seg]
        else:
            return False
    return True


def _posterior_names(particles: Path) -> list[str]:
    """The parameter names of a posterior's ``particles.csv``: its header without ``weight``."""
    with particles.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    return [name for name in header if name != "weight"]


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge (``extends``) and validate a scenario file.

    Parameters
    ----------
    path
        The scenario YAML, as the user named it (error messages repeat it).

    Returns
    -------
    Scenario
        The frozen, validated scenario with defaults and inheritance applied.

    Raises
    ------
    InputErrors
        Every problem found, each with file, line, key path, the bad value and what is allowed.
    """
    doc = _load_chain(str(path), ())
    return _validate(doc.data, doc.lines, doc.file)


def _validate(data: Mapping[Any, Any], lines: Mapping[Path_, tuple[str, int]], file: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except (ValidationError, InputErrors) as exc:
        raise InputErrors(errors_from_validation(exc, Scenario, lines, file), omitted=omitted_count(exc)) from None


def omitted_count(exc: ValidationError | InputErrors) -> int:
    """Problems of a failed validation not described (beyond :data:`~sim.errors.MAX_DESCRIBED`)."""
    return max(0, exc.error_count() - MAX_DESCRIBED) if isinstance(exc, ValidationError) else 0


def scenario_from_mapping(data: Mapping[str, Any], *, base_dir: str | Path = ".", file: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a mapping (no ``extends``; paths are relative to ``base_dir``)."""
    if "extends" in data:
        raise InputErrors([InputError("extends is only allowed in files", file=file, key="extends")])
    return _validate(_resolve_paths(dict(data), Path(base_dir).resolve()), {}, file)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def as_mapping(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain YAML-ready data (mappings, lists, numbers, strings)."""
    out: dict[str, Any] = _plain(scenario)
    return out


class _FlowMap(dict[str, Any]):
    """A mapping written on one line (uncertainty specifications)."""


class _Dumper(yaml.SafeDumper):
    """Safe dumper that writes :class:`_FlowMap` in flow style."""


_Dumper.add_representer(_FlowMap, lambda d, m: d.represent_mapping("tag:yaml.org,2002:map", m.items(), flow_style=True))


def resolved_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML: defaults, ``extends`` and uncertainty defaults applied.

    The text loads back (:func:`load_scenario`) to a scenario equal to ``scenario``; paths are absolute.
    """
    header = (
        f"# resolved scenario '{scenario.name}' (edusim {__version__}): defaults, extends and\n"
        "# uncertainty defaults applied; paths are absolute. Loads back to the same scenario.\n"
    )
    data = as_mapping(scenario)
    posterior = data.pop("posterior", None)
    data["uncertainties"] = {k: _FlowMap(v) for k, v in data["uncertainties"].items()}
    if posterior is not None:
        data["uncertainties"]["posterior"] = str(posterior)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return header + body


def replace(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A new scenario with dotted keys changed, validated again (e.g. for sweeps).

    >>> s = replace(scenario, {"levers.rotation.share": 0.2})  # doctest: +SKIP

    Raises
    ------
    InputErrors
        When a key is unknown or a value invalid (keys are reported as given, without a file).
    """
    data = as_mapping(scenario)
    for dotted, value in changes.items():
        parts = dotted.split(".")
        if parts[0] == "uncertainties" and len(parts) > 2:
            parts = (
                ["uncertainties", ".".join(parts[1:-1]), parts[-1]]
                if parts[-1] in DIST_KEYS
                else ["uncertainties", ".".join(parts[1:])]
            )
        node: Any = data
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise InputErrors([InputError(f"unknown key '{part}'", key=dotted)])
            node = node[part]
        if not isinstance(node, dict):
            raise InputErrors([InputError("not a mapping", key=dotted)])
        node[parts[-1]] = value
    return _validate(data, {}, "<command line>")


DIST_KEYS = frozenset({"dist", "mean", "sd", "median", "sigma", "low", "high", "mode", "value"})
