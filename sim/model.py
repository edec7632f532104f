"""The model of a run: static data (:class:`Model`), the mutable state of a chunk (:class:`State`), and how both
are made (:func:`prepare`, :func:`initial_state`, :func:`sample_parameters`).

Both engines build on this module: the cohort engine (:mod:`sim.cohort`) holds a :class:`State` for a chunk of
draws, the agent engine (:mod:`sim.agents`) one with a single draw for its students and schools. The yearly steps
that change a :class:`State` are in :mod:`sim.steps`, in the order of its table :data:`sim.steps.STEPS`.

Also here: the few helpers every step and both engines share (:func:`lever_at`, the meaning of a lever group in a
year; :func:`section_total`, :func:`county_sum`, :func:`level_county_sum`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import baseline as base
from sim.distributions import sample
from sim.mechanisms import assessment, dispatch, facilities, programmes, quota, rotation, segments, students
from sim.mechanisms import budget as budget_rule
from sim.mechanisms import classes as cmech
from sim.mechanisms import teachers as tmech
from sim.parameters import PARAMETERS
from sim.posterior import Posterior
from sim.registry import (
    CENSUS_BANDS,
    REGISTRY_PARAMETER_PREFIX,
    SchoolFrame,
    SchoolNoise,
    SchoolValues,
    basic_balance_pass,
    census_readings,
    draw_school_values,
    largest_remainder,
    registered_births_by_age,
    synthesize_registry,
)
from sim.rng import BLOCK_SIZE, Streams, block_slices
from sim.scenario import Levers, Scenario
from sim.sections import Sections, build_sections
from sim.unitcosts import planning_prices
from sim.vocabulary import FACILITY_INDICATORS, INDICATORS, LEVELS, N_LOCATIONS, PRIMARY, RURAL, URBAN

N_BANDS = 9
"""Teacher age bands of the engine: 20–24, 25–29, …, 60–64 (5 years each)."""


def split_registry_bands(teachers_by_age: np.ndarray) -> np.ndarray:
    """Registry bands (20–29, 30–39, 40–49, 50–54, 55–59, 60–64) → the engine's nine 5-year bands.

    Each 10-year band is split evenly (assumption: ages uniform within it), the odd teacher going to the
    older half, so totals are kept exactly.

    >>> split_registry_bands(np.array([[3, 0, 1, 2, 0, 1]])).tolist()
    [[1, 2, 0, 0, 0, 1, 2, 0, 1]]
    """
    t = np.asarray(teachers_by_age, dtype=np.int64)
    out = np.zeros((*t.shape[:-1], N_BANDS), dtype=np.int64)
    for i in range(3):
        out[..., 2 * i] = t[..., i] // 2
        out[..., 2 * i + 1] = t[..., i] - t[..., i] // 2
    out[..., 6:] = t[..., 3:]
    return out

def registry_bands_for(teachers_by_age: np.ndarray, teachers: np.ndarray) -> np.ndarray:
    """The registry's age bands ``(S, 6)`` of each section rescaled to a draw's teachers ``(D, S)``: ``(D, S, 6)``
    in the section's own age profile, rounded by the largest remainder so that the bands sum to the teachers
    exactly (:func:`sim.registry.largest_remainder`; ties to the younger band). A section without teachers in the
    registry gets none (:func:`sim.registry.spread_teachers` never gives it any).

    >>> registry_bands_for(np.array([[2, 2, 0, 0, 0, 0]]), np.array([[5]])).tolist()
    [[[3, 2, 0, 0, 0, 0]]]
    """
    bands = np.asarray(teachers_by_age, dtype=np.float64)
    s, k = bands.shape
    d = teachers.shape[0]
    own = bands.sum(axis=1)
    profile = np.divide(bands, own[:, None], out=np.zeros_like(bands), where=own[:, None] > 0)
    exact = (teachers[:, :, None] * profile[None]).reshape(d, s * k)
    out = largest_remainder(exact, np.repeat(np.arange(s), k), np.where(own[None, :] > 0, teachers, 0))
    return out.reshape(d, s, k)


COUNSELLING_CENTRES_PER_COUNTY = 1
"""Township-centre schools per county for T9 (the largest town-or-rural school; assumption, see facilities)."""
SPECIAL_EDUCATION_POPULATION = 200_000
"""Counties of more than 200,000 people need a special-education school (plan §二(四)1, T8)."""


@dataclass(frozen=True)
class LeverScale:
    """The selected counties' share of the region's 96 counties, by which region-wide quantity levers are scaled.

    The plan's quantities (3.5 bn CNY a year, 5,000 dispatched teachers, special-post places, programme roll-outs)
    are for the whole region; a run on a selection of counties gets the selection's share: by pupils (money,
    teachers), by schools (per-school programmes) or by counties over 200,000 people (special-education schools).
    With ``baseline.scale_region_levers: false`` every share is 1.
    """

    pupils: float = 1.0
    schools: float = 1.0
    large_counties: float = 1.0

    def count(self, value: float, kind: str) -> int:
        """``value`` × the share of ``kind``, rounded to a whole number (a count of teachers, schools…)."""
        return round(float(value) * getattr(self, kind))


def lever_scale(scenario: Scenario, registry: pd.DataFrame, counties: pd.DataFrame) -> LeverScale:
    """:class:`LeverScale` of the selection ``counties`` against the region's 96 counties (XPCC cities excluded,
    as the plan is the autonomous region's; a selection that adds them gets a share above 1)."""
    if not scenario.baseline.scale_region_levers:
        return LeverScale()
    region = base.load_counties(include_xpcc=False)
    grades = [f"students_g{g}" for g in range(1, 10)]
    pupils = registry[grades].sum(axis=1)
    in_region = registry["county_code"].astype(str).isin(set(region["code"].astype(str)))
    chosen = registry["county_code"].astype(str).isin(set(counties["code"].astype(str)))
    large = region["pop_2020"] > SPECIAL_EDUCATION_POPULATION
    return LeverScale(
        pupils=float(pupils[chosen].sum() / pupils[in_region].sum()),
        schools=float(chosen.sum() / in_region.sum()),
        large_counties=float((counties["pop_2020"] > SPECIAL_EDUCATION_POPULATION).sum() / max(int(large.sum()), 1)),
    )


@dataclass(frozen=True)
class Model:
    """Static data of a run: built once, shared by every chunk."""

    scenario: Scenario
    sections: Sections
    years: np.ndarray
    thresholds: np.ndarray  # (S, 7)
    facility_thresholds: np.ndarray  # (S, 4)
    cv_limits: tuple[float, float]
    standard: base.QualityBalanceStandard
    students_per_staff: np.ndarray  # (2,) primary, junior
    census_readings: np.ndarray  # (3, C, 20) single-year ages 0–19 at the 2020 census, sim.registry.CENSUS_READINGS
    anchor_births: float  # births of the 2021 anchor year falling to the selected counties
    intake_location_share: np.ndarray  # (C, 3)
    township_centre: np.ndarray  # (S,) bool
    counselling_eligible: np.ndarray  # (S,) bool: urban sections and township-centre sections
    priority: np.ndarray  # (S,) programme roll-out priority (remote rural south first)
    rural: np.ndarray  # (S,) bool
    rural_rank: np.ndarray  # (S,) rank of a rural section in its county for pairing (inf otherwise)
    n_schools: int
    retirement: tmech.RetirementSchedule
    scale: LeverScale = field(default_factory=LeverScale)  # share of region-wide quantity levers
    age_multiplier_young: Callable[[np.ndarray], np.ndarray] = field(default=tmech.age_multiplier)
    school_frame: SchoolFrame | None = None  # every section of the synthetic registry (all 106 units), or None
    frame_sections: np.ndarray | None = None  # (S,) positions of the selected sections in ``school_frame``
    # the recurrent budget rule's plan (None: no recurrent budget), derived from the fields above (__post_init__)
    budget: budget_rule.BudgetPlan | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", recurrent_budget_plan(self))

    @property
    def census_by_age(self) -> np.ndarray:
        """(C, 20) the linear reading of the census bands (:func:`sim.registry.single_year_ages`), as the registry's
        start pupils read them; the grade-1 intake from 2027 shares births by its age 0, the same in every reading."""
        return self.census_readings[0]


@dataclass
class State:
    """Everything that changes during a chunk; arrays ``(D, S, …)`` unless stated."""

    students: np.ndarray  # (D, S, 9) pupils by grade
    teachers: np.ndarray  # (D, S, 9) regular teachers (incl. special-post and targeted) by age band
    qualified: np.ndarray  # (D, S) among teachers
    backbone: np.ndarray  # (D, S) among teachers
    pe_art: np.ndarray  # (D, S) among teachers
    special_post: np.ndarray  # (D, S, 3) special-post teachers by contract year (among teachers)
    female_share: np.ndarray  # (D, 9) expected share of women in each age band (all sections of the draw)
    dispatched: np.ndarray  # (D, S, 3) dispatched teachers by remaining years of term
    dispatched_backbone: np.ndarray  # (D, S, 3)
    dispatched_pe_art: np.ndarray  # (D, S, 3)
    section_quota: np.ndarray  # (D, S) staffing quota (posts, unrounded)
    floor_area_m2: np.ndarray
    sports_area_m2: np.ndarray
    equipment_value_cny: np.ndarray
    multimedia_rooms: np.ndarray
    pipeline_cny: np.ndarray  # (D, S, 4, L) capital in construction
    gigabit: np.ndarray  # (D, S) bool
    counselling_room: np.ndarray  # (D, S) bool
    paired: np.ndarray  # (D, S) bool
    special_schools: np.ndarray  # (D, C)
    resource_rooms: np.ndarray  # (D, C) resource rooms in use (float: region-wide rooms spread by pupils)
    programme_planned: np.ndarray  # (D, P) cumulative planned units of each delivered programme (float)
    programme_pipeline: np.ndarray  # (D, P, L + 1) units started, by years until in use
    certified: np.ndarray  # (D, C) bool
    ready_years: np.ndarray  # (D, C)
    rotation_share: np.ndarray  # (D, C) rotated / eligible this year
    backbone_share_of_rotated: np.ndarray  # (D, C)
    rotated: np.ndarray  # (D, C) teachers rotated this year
    redeployed: np.ndarray  # (D, C) teachers moved by 縣管校聘 redeployment this year (sim.mechanisms.redeployment)
    hires: np.ndarray  # (D, C) teachers recruited this year (all channels)
    exits: np.ndarray  # (D, C) teachers leaving this year (retirement, attrition, contract end)
    student_entries: np.ndarray  # (D, C) grade-1 entrants this year
    junior_entries: np.ndarray  # (D, C) grade-7 entrants this year
    student_exits: np.ndarray  # (D, C) dropouts and grade-9 completers this year
    # consolidation measured from the flows (T7, sim.mechanisms.students.advance_cohort_survival)
    cohort_survival: np.ndarray  # (D, C, 9) share of its entry cohort each grade's cohort keeps (NaN before 1st step)
    consolidation_completers: np.ndarray  # (D, C) grade-9 completers this year
    consolidation_cohort: np.ndarray  # (D, C) their entry cohort (completers ÷ the cohort's share kept)
    # quantities of the costed teacher programmes this year (sim.costs), (D, C)
    targeted_hires: np.ndarray  # targeted graduates (優師計劃) placed
    retrained: np.ndarray  # primary teachers qualified for junior posts
    qualification_upgrades: np.ndarray  # teachers upgraded to the required qualification
    backbone_cultivated: np.ndarray  # teachers newly recognised as backbone
    # rotated teachers on loan by years left, (D, S, L) with L the longest term (0 if none): rotation.Loans
    loan_host: np.ndarray  # hosted by the section
    loan_host_backbone: np.ndarray  # backbone among them
    loan_home: np.ndarray  # owed to the section
    loan_home_backbone: np.ndarray  # backbone among them
    # classes that follow enrolment (sim.mechanisms.classes, step ``classes``)
    classes: np.ndarray  # (D, S, 9) classes by grade
    classrooms: np.ndarray  # (D, S) classrooms in use
    classroom_pipeline: np.ndarray  # (D, S, L + 1) classrooms under construction by years until in use
    classrooms_started: np.ndarray  # (D, C) classrooms started this year
    receiver_rooms_started: np.ndarray  # (D, S) classrooms started this year at receivers under 先建后撤
    largest_class: np.ndarray  # (D, S) pupils in the largest class of each section this year
    classes_short_of_rooms: np.ndarray  # (D, C) classes the norm needs beyond the sections' classrooms
    # the school network (sim.mechanisms.network, step ``network``)
    closed: np.ndarray  # (D, S) bool, sections closed (they take no pupils, teachers or posts again)

    @property
    def loans(self) -> rotation.Loans:
        """The four loan arrays as one :class:`sim.mechanisms.rotation.Loans`."""
        return rotation.Loans(self.loan_host, self.loan_host_backbone, self.loan_home, self.loan_home_backbone)

    @loans.setter
    def loans(self, value: rotation.Loans) -> None:
        self.loan_host, self.loan_host_backbone = value.host, value.host_backbone
        self.loan_home, self.loan_home_backbone = value.home, value.home_backbone


# ------------------------------------------------------------------------------------------------------------
# preparation


def selected_births(counties: pd.DataFrame) -> float:
    """The 2021 region births (16.0万) times the selected counties' share of the region's census age-0 count.

    The published births cover the whole region (all 106 county-level units, XPCC cities included, an
    assumption: SOURCES does not say); the projection shares them among the selected counties only.
    """
    region_age0 = float(base.load_counties(include_xpcc=True)["age0"].sum())
    share = float(counties["age0"].sum()) / region_age0
    return students.REGION_BIRTHS[students.BIRTHS_ANCHOR_YEAR] * share


def select_counties(scenario: Scenario) -> pd.DataFrame:
    counties = base.load_counties(include_xpcc=scenario.baseline.include_xpcc)
    chosen = scenario.baseline.counties
    if chosen == "south":
        counties = counties[counties["south"]]
    elif chosen != "all":
        counties = counties[counties["code"].astype(str).isin(set(chosen))]
    return counties.reset_index(drop=True)


def load_start_registry(scenario: Scenario) -> pd.DataFrame:
    """The scenario's registry, or the shipped synthetic one for 2020, or one synthesised for its start year."""
    all_counties = base.load_counties(include_xpcc=True)
    if scenario.baseline.registry is not None:
        return base.load_registry(scenario.baseline.registry, counties=all_counties)
    if scenario.start_year == base.SHIPPED_REGISTRY_YEAR:
        return base.load_registry(counties=all_counties)
    rng = Streams(scenario.seed).draw_generator(0, f"registry/{scenario.start_year}")
    return synthesize_registry(all_counties, base.published_totals(scenario.start_year), scenario.start_year, rng)


def prepare(scenario: Scenario) -> Model:
    """Static data of a run: sections of the selected counties, thresholds, census cohorts."""
    counties = select_counties(scenario)
    registry = load_start_registry(scenario)
    sections = build_sections(registry, counties)
    standard = base.load_standard()
    norms = base.load_staffing_norms()
    level_thresholds = np.array(
        [[standard.thresholds[ind][lv] for ind in INDICATORS] for lv in LEVELS]
    )
    thresholds = assessment.section_thresholds(level_thresholds, sections.level)
    frame, frame_sections = (None, None) if scenario.baseline.registry is not None else school_frame(
        registry, counties, level_thresholds)
    grade1 = sections.students[:, 0].astype(float)
    by_location = np.zeros((sections.n_counties, N_LOCATIONS))
    np.add.at(by_location, (sections.county, sections.location), grade1)
    primary = sections.level == PRIMARY
    has_location = np.zeros((sections.n_counties, N_LOCATIONS), bool)
    has_location[sections.county[primary], sections.location[primary]] = True
    by_location = np.where(has_location, by_location + 1e-9, 0.0)
    priority = facilities.remote_first_priority(
        sections.location, sections.county, sections.county_south, sections.students.sum(axis=1)
    )
    rural = sections.location == RURAL
    township_centre = facilities.township_centre_sections(
        sections.county, sections.location, sections.students.sum(axis=1)[None, :],
        per_county=COUNSELLING_CENTRES_PER_COUNTY,
    )[0]
    return Model(
        scenario=scenario,
        sections=sections,
        years=np.arange(scenario.start_year, scenario.horizon + 1),
        thresholds=thresholds,
        facility_thresholds=thresholds[:, list(FACILITY_INDICATORS)],
        cv_limits=(standard.cv_max["primary"], standard.cv_max["junior"]),
        standard=standard,
        students_per_staff=np.array([norms["primary"], norms["junior"]], dtype=float),
        census_readings=census_readings(counties[[c for c, _, _ in CENSUS_BANDS]].to_numpy(float),
                                        registered_births_by_age()),
        anchor_births=selected_births(counties),
        intake_location_share=by_location / by_location.sum(axis=1, keepdims=True),
        township_centre=township_centre,
        counselling_eligible=(sections.location == URBAN) | township_centre,
        priority=priority,
        rural=rural,
        rural_rank=rural_rank_in_county(sections, rural, priority),
        n_schools=int(sections.school_id.size),
        retirement=tmech.load_retirement_schedule(),
        scale=lever_scale(scenario, registry, counties),
        school_frame=frame,
        frame_sections=frame_sections,
    )


# ------------------------------------------------------------------------------------------------------------
# the start-year registry of each draw (issue 14)

REGISTRY_ATTEMPTS = 20
"""Most attempts at a draw's registry: after the first, its ``registry.*`` hyperparameters (those not set by the
caller) and its school noise are redrawn from the draw's own retry streams until every county passes the 2012
basic-balance limits (:func:`sim.registry.basic_balance_pass`). A draw still failing after the last attempt keeps
it and is marked not accepted."""


def school_frame(registry: pd.DataFrame, counties: pd.DataFrame,
                 level_thresholds: np.ndarray) -> tuple[SchoolFrame, np.ndarray]:
    """The structure of every section of the synthetic registry (all its county-level units, so that a draw's
    registry does not depend on the scenario's selection), and the positions of the selected ``counties``'
    sections in it (the same order as :func:`sim.sections.build_sections` of the selection)."""
    units = base.load_counties(include_xpcc=True)
    units = units[units["code"].isin(registry["county_code"].unique())].reset_index(drop=True)
    full = build_sections(registry, units)
    thresholds = assessment.section_thresholds(level_thresholds, full.level)[:, list(FACILITY_INDICATORS)]
    frame = SchoolFrame(
        school=full.school, county=full.county, level=full.level.astype(np.int64),
        location=full.location.astype(np.int64), teaching_point=full.teaching_point,
        south=full.county_south[full.county], teachers=full.teachers.astype(np.int64),
        students=full.students.sum(axis=1), facility_thresholds=thresholds,
        n_schools=int(full.school_id.size), n_counties=full.n_counties,
    )
    chosen = np.isin(full.county_code[full.county], counties["code"].to_numpy(np.int64))
    return frame, np.flatnonzero(chosen)


@dataclass(frozen=True)
class StartRegistry:
    """The accepted start-year registry values of a chunk of draws."""

    values: SchoolValues  # (D, S) of the selected sections
    parameters: dict[str, np.ndarray]  # every uncertainty's value per draw, registry.* as accepted
    attempts: np.ndarray  # (D,) attempts used, 1 = the first
    accepted: np.ndarray  # (D,) bool: every county passes the 2012 basic-balance limits


def school_noise(streams: Streams, component: str, start: int, stop: int, frame: SchoolFrame) -> SchoolNoise:
    """Noise of draws ``start … stop-1``: each block generates all its rows (chunk-independent)."""
    parts = [SchoolNoise.generate(streams.block_generator(block, component), BLOCK_SIZE, frame).take(slice(lo, hi))
             for block, lo, hi in block_slices(start, stop)]
    return SchoolNoise.stack(parts)


def draw_start_registry(
    model: Model, streams: Streams, start: int, stop: int, parameters: Mapping[str, np.ndarray],
    fixed: Collection[str] = (),
) -> StartRegistry | None:
    """The start-year teacher categories, facilities and flags of draws ``start … stop-1``; ``None`` when the
    scenario uses a registry file (real records are used as they are).

    Attempt ``a`` draws the school noise from stream ``registry.schools/a``; from the second attempt the draw's
    ``registry.*`` values not in ``fixed`` (e.g. set by a sensitivity design) are resampled from
    ``uncertainty/NAME/retry{a}``. Everything depends on the seed and the draw only (chunk- and
    worker-independent), and two scenarios with the same uncertainties share it (common random numbers).
    """
    frame = model.school_frame
    if frame is None or model.frame_sections is None:
        return None
    names = [n for n in model.scenario.uncertainties if n.startswith(REGISTRY_PARAMETER_PREFIX)]
    hyper = {n: np.array(parameters[n], dtype=np.float64) for n in names}
    d = stop - start
    attempts = np.zeros(d, dtype=np.int64)
    accepted = np.zeros(d, dtype=bool)
    pending = np.arange(d)
    values: SchoolValues | None = None
    for attempt in range(REGISTRY_ATTEMPTS):
        if attempt:
            for n in names:
                if n not in fixed:
                    u = streams.uniforms(f"uncertainty/{n}/retry{attempt}", start, stop)
                    hyper[n][pending] = sample(model.scenario.uncertainties[n], u)[pending]
        noise = school_noise(streams, f"registry.schools/{attempt}", start, stop, frame).take(pending)
        new = draw_school_values(frame, {n: v[pending] for n, v in hyper.items()}, noise)
        ok = basic_balance_pass(frame, new)
        if values is None:
            values = new
        else:
            values.put(pending, new)
        attempts[pending] = attempt + 1
        accepted[pending[ok]] = True
        pending = pending[~ok]
        if not pending.size:
            break
    if values is None:  # pragma: no cover - REGISTRY_ATTEMPTS >= 1
        raise RuntimeError("no registry attempt was made")
    return StartRegistry(values.take(slice(None), model.frame_sections), {**parameters, **hyper}, attempts, accepted)


def rural_rank_in_county(sections: Sections, rural: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Rank of each rural section within its county by decreasing priority (``inf`` for the others)."""
    order = np.lexsort((-priority, sections.county))
    ordered_rural = rural[order].astype(np.int64)
    cumulative = np.cumsum(ordered_rural)
    county_start = np.searchsorted(sections.county[order], np.arange(sections.n_counties))
    before = np.concatenate([[0], cumulative])[county_start][sections.county[order]]
    rank_ordered = np.where(ordered_rural == 1, cumulative - 1 - before, np.inf)
    rank = np.empty(sections.n_sections)
    rank[order] = rank_ordered
    return rank



# ------------------------------------------------------------------------------------------------------------
# helpers shared by the steps and both engines



def lever_at(scenario: Scenario, group: str, year: int) -> Any:
    """The scenario's lever group in ``year``, or the historical (default) one before its ``from_year``."""
    chosen = getattr(scenario.levers, group)
    start = getattr(chosen, "from_year", None)
    return chosen if start is None or year >= start else getattr(Levers(), group)


def budgeted_lever(m: Model, group: str, year: int) -> Any:
    """The lever group of ``year`` the engines apply: :func:`lever_at`, scaled back where the recurrent budget binds
    (:mod:`sim.mechanisms.budget`; the lever itself, unchanged, where it does not or no budget is set)."""
    lever = lever_at(m.scenario, group, year)
    return lever if m.budget is None else m.budget.lever(group, year, lever)


@functools.lru_cache(maxsize=1)
def _planning_prices() -> dict[tuple[str, str], float]:
    return planning_prices()


def recurrent_budget_plan(m: Model) -> budget_rule.BudgetPlan | None:
    """The recurrent budget rule over the run's years (:func:`sim.mechanisms.budget.plan_budget`), planned on the
    start registry's headcount and the selection's lever shares; ``None`` without a recurrent budget."""
    if all(getattr(lever_at(m.scenario, "funding", int(y)), "recurrent_cny", None) is None for y in m.years):
        return None
    s = m.sections
    teachers = s.teachers_by_age.sum(axis=1).astype(float)
    planning = budget_rule.PlanningBase(
        teachers=float(teachers.sum()), rural_teachers=float(teachers[m.rural].sum()),
        rural_sections=float(np.count_nonzero(m.rural)),
        unqualified=float(teachers.sum() - s.qualified.sum()),
        qualified_non_backbone=float(s.qualified.sum() - s.backbone.sum()),
        pupils_share=m.scale.pupils, schools_share=m.scale.schools,
        large_counties_share=m.scale.large_counties)
    return budget_rule.plan_budget(m.years, functools.partial(lever_at, m.scenario), planning, _planning_prices())


def section_total(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis of a ``(D, S, k)`` array (grades, bands, contract years): ``(D, S)``.

    For ``int64`` (the engine's counts) one compiled pass (:func:`sim.mechanisms.segments.last_axis_sum`,
    exact); other types use ``sum``.
    """
    if values.dtype == np.int64 and values.ndim == 3:
        return segments.last_axis_sum(values)
    return values.sum(axis=2)


def county_sum(values: np.ndarray, sections: Sections) -> np.ndarray:
    """Sum over the sections of each county: ``(D, S)`` → ``(D, C)``."""
    return quota.group_sum(values, sections.county, sections.n_counties)


def level_county_sum(values: np.ndarray, sections: Sections) -> np.ndarray:
    """``(D, S)`` → ``(D, C, 2)`` sums by county and level."""
    group = sections.county * 2 + sections.level
    return quota.group_sum(values, group, sections.n_counties * 2).reshape(values.shape[0], -1, 2)


@functools.lru_cache(maxsize=8)
def _load_posterior(path: str) -> Posterior:
    return Posterior.load(path)


def posterior_values(path: Path | str, streams: Streams, start: int, stop: int) -> dict[str, np.ndarray]:
    """Each parameter of the posterior at ``path`` in draws ``start … stop-1``: one particle per draw."""
    return _load_posterior(str(path)).values(None, streams, start, stop)


def load_posterior(path: Path | str) -> Posterior:
    """The posterior folder at ``path`` (read once per process)."""
    return _load_posterior(str(path))


def posterior_held(scenario: Scenario) -> list[str]:
    """The parameters each draw of ``scenario`` takes from its posterior's particles: those the posterior holds
    and the scenario leaves at the registry's default distribution (one it writes wins, :func:`sample_parameters`)."""
    if scenario.posterior is None:
        return []
    return [name for name in load_posterior(scenario.posterior).names
            if name not in PARAMETERS or scenario.uncertainties.get(name) == PARAMETERS[name].default]


def sample_parameters(
    scenario: Scenario, streams: Streams, start: int, stop: int,
    parameters: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Each uncertainty's value in draws ``start … stop-1`` by inverse CDF of its own stream (CRN).

    ``parameters`` overrides the sampled values of some uncertainties, one value per draw (arrays of shape
    ``(stop - start,)``), e.g. the design points of a sensitivity analysis (``sim.sensitivity``); the others
    are sampled as usual. Without it the values are exactly those of a plain run.

    With a posterior (``uncertainties: {posterior: PATH}``), each draw takes one whole particle for the parameters
    the posterior holds, through the draw's own keyed stream (:mod:`sim.posterior`); the others keep their priors.
    A parameter whose distribution the scenario writes (one that differs from the registry's default, e.g. a test
    or a what-if fixing it) keeps that distribution: what the scenario says explicitly wins over the posterior.
    """
    held = posterior_held(scenario)
    posterior = posterior_values(scenario.posterior, streams, start, stop) if scenario.posterior and held else {}
    overrides = {name: posterior[name] for name in held}
    overrides.update(parameters or {})  # explicit overrides (a sensitivity design) win over the posterior
    unknown = sorted(set(overrides) - set(scenario.uncertainties))
    if unknown:
        raise ValueError(f"overridden parameters are not uncertainties of the scenario: {', '.join(unknown)}")
    values: dict[str, np.ndarray] = {}
    for name, spec in scenario.uncertainties.items():
        if name in overrides:
            given = np.asarray(overrides[name], dtype=np.float64)
            if given.shape != (stop - start,):
                raise ValueError(f"override of {name} must have shape ({stop - start},), got {given.shape}")
            values[name] = given
        else:
            values[name] = sample(spec, streams.uniforms(f"uncertainty/{name}", start, stop))
    return values


# ------------------------------------------------------------------------------------------------------------
# the projection


def initial_state(model: Model, n_draws: int, female_share: np.ndarray | None = None,
                  registry: SchoolValues | None = None) -> State:
    """The state at the start year; ``female_share`` ``(D,)`` is each draw's share of women among teachers (NaN
    when not given, for callers that do not run the teacher exits). The start stock is in service, so a band past
    the women's statutory age of the start year holds men only (:func:`sim.mechanisms.teachers.
    start_female_share_by_band`): the women of the registry's 55–59 band do not all retire in the first year.
    ``registry`` holds each draw's start values of the teacher categories, facilities and flags
    (:func:`draw_start_registry`); without it every draw starts from the registry's own values."""
    s = model.sections
    d = n_draws
    f = np.full(d, np.nan) if female_share is None else np.asarray(female_share, dtype=np.float64)

    def tile(a: np.ndarray) -> np.ndarray:
        return np.repeat(a[None], d, axis=0)

    r = registry
    if r is not None and r.qualified.shape != (d, s.n_sections):
        raise ValueError(f"registry values have shape {r.qualified.shape}, expected {(d, s.n_sections)}")

    teachers = tile(split_registry_bands(s.teachers_by_age)) if r is None else split_registry_bands(
        registry_bands_for(s.teachers_by_age, r.teachers))
    special = np.zeros((d, s.n_sections, tmech.SPECIAL_POST_CONTRACT_YEARS), dtype=np.int64)
    special[:, :, :] = tmech.special_post_by_contract_year(s.special_post if r is None else r.special_post)
    zeros3 = np.zeros((d, s.n_sections, dispatch.MAX_TERM_YEARS), dtype=np.int64)
    c = s.n_counties
    lag_cap = max(2, math.ceil(_max_lag(model.scenario)) + 1)
    return State(
        students=tile(s.students.astype(np.int64)),
        teachers=teachers,
        qualified=tile(s.qualified) if r is None else r.qualified.copy(),
        backbone=tile(s.backbone) if r is None else r.backbone.copy(),
        pe_art=tile(s.pe_art) if r is None else r.pe_art.copy(),
        special_post=special,
        female_share=(np.repeat(f[:, None], tmech.N_AGE_BANDS, axis=1) if female_share is None else
                      tmech.start_female_share_by_band(f, model.scenario.start_year, schedule=model.retirement)),
        dispatched=zeros3.copy(),
        dispatched_backbone=zeros3.copy(),
        dispatched_pe_art=zeros3.copy(),
        section_quota=quota.section_staffing_quota(tile(s.students.sum(axis=1)), s.level, model.students_per_staff),
        floor_area_m2=tile(s.floor_area_m2) if r is None else r.floor_area_m2.copy(),
        sports_area_m2=tile(s.sports_area_m2) if r is None else r.sports_area_m2.copy(),
        equipment_value_cny=tile(s.equipment_value_cny) if r is None else r.equipment_value_cny.copy(),
        multimedia_rooms=tile(s.multimedia_rooms) if r is None else r.multimedia_rooms.copy(),
        pipeline_cny=facilities.empty_pipeline(d, s.n_sections, lag_cap),
        gigabit=tile(s.gigabit) if r is None else r.gigabit.copy(),
        counselling_room=tile(s.counselling_room) if r is None else r.counselling_room.copy(),
        paired=tile(s.paired) if r is None else r.paired.copy(),
        special_schools=tile(s.county_special_schools),
        resource_rooms=np.zeros((d, c)),
        programme_planned=np.zeros((d, len(programmes.PROGRAMMES))),
        programme_pipeline=programmes.empty_pipeline(d),
        certified=np.zeros((d, c), bool),
        ready_years=np.zeros((d, c), np.int64),
        rotation_share=np.full((d, c), np.nan),
        backbone_share_of_rotated=np.full((d, c), np.nan),
        rotated=np.zeros((d, c), np.int64),
        redeployed=np.zeros((d, c), np.int64),
        hires=np.zeros((d, c), np.int64),
        exits=np.zeros((d, c), np.int64),
        student_entries=np.zeros((d, c), np.int64),
        junior_entries=np.zeros((d, c), np.int64),
        student_exits=np.zeros((d, c), np.int64),
        cohort_survival=np.full((d, c, s.students.shape[1]), np.nan),
        consolidation_completers=np.zeros((d, c)),
        consolidation_cohort=np.zeros((d, c)),
        targeted_hires=np.zeros((d, c), np.int64),
        retrained=np.zeros((d, c), np.int64),
        qualification_upgrades=np.zeros((d, c), np.int64),
        backbone_cultivated=np.zeros((d, c), np.int64),
        **{f"loan_{k}": v for k, v in zip(("host", "host_backbone", "home", "home_backbone"),
                                          rotation.Loans.empty(d, s.n_sections, rotation_loan_slots(model.scenario)),
                                          strict=True)},
        classes=np.zeros((d, s.n_sections, s.students.shape[1]), dtype=np.int64),  # formed in the start year
        classrooms=tile(s.classes.astype(np.int64)),  # the registry's classes (sim.mechanisms.classes)
        classroom_pipeline=cmech.empty_construction(d, s.n_sections, lag_cap),
        classrooms_started=np.zeros((d, c), np.int64),
        receiver_rooms_started=np.zeros((d, s.n_sections), np.int64),
        largest_class=np.zeros((d, s.n_sections), np.int64),
        classes_short_of_rooms=np.zeros((d, c), np.int64),
        closed=np.zeros((d, s.n_sections), dtype=bool),
    )


def rotation_loan_slots(scenario: Scenario) -> int:
    """Years of loans the state keeps: the longest rotation term of the run (the scenario's lever, or the
    default one that acts before its ``from_year``); 0 when every term is 0 (rotated teachers never return)."""
    return max(scenario.levers.rotation.term_years, Levers().rotation.term_years
               if scenario.levers.rotation.from_year > scenario.start_year else 0)


def _max_lag(scenario: Scenario) -> float:
    spec = scenario.uncertainties["facilities.construction_lag_years"]
    return float(sample(spec, np.array([1 - 1e-12]))[0])


