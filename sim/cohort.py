"""Cohort (stock-flow) engine: every section of every school, vectorised over a chunk of draws.

One call of :func:`run_chunk` projects draws ``start … stop-1`` of a scenario from the start year to the
horizon. All mutable state lives in one :class:`State` created inside the call; static data (sections,
thresholds, census cohorts) in one :class:`Model` built once per run by :func:`prepare`. Random numbers come
from :class:`sim.rng.Streams`, one stream per (block of draws, mechanism, year), so a draw's numbers do not
depend on the chunking, and two scenarios share them (common random numbers).

Yearly order (DESIGN §3). The start year is the registry as observed (assessed, not projected); then, for each
following school year ``t``:

1. **Students** — promotion with dropout (consolidation rate), grade-1 intake from the county birth cohort of
   ``t − 6`` (census cohorts, then the births projection), grade-7 entry of the county's grade-6 completers,
   urbanisation drift of rural pupils to town and urban sections.
2. **Teacher exits** — ageing by one year, retirement under the 2025 retirement-age reform, voluntary attrition
   by location and age (lowered in rural sections by the retention subsidy), rural→town drift, end of
   special-post contracts (a share converts to regular posts), end of dispatch terms.
3. **Staffing quota** — re-verified from enrolment and the student:staff norms in verification years (every
   ``quota.reverify_every_years`` from ``quota.first_verification_year``; at the start year too); surplus
   teachers redeployed to short-staffed sections of the same county and level.
4. **Recruitment** — special-post and targeted-graduate channels, retraining of primary teachers for junior
   posts, then open recruitment on the remaining vacancies (uncertain fill rate, lower in remote counties).
5. **Rotation** — a share of eligible teachers rotates within county and level, backbone first, towards rural
   and weak sections.
6. **Dispatched teachers** — arrivals by south share and level, for a fixed term.
7. **Development** — qualification upgrades, backbone cultivation and loss.
8. **Facilities and funding** — capital budget × execution rate allocated by the lever's rule to the four
   facility gaps; construction lag for floor area and sports grounds; equipment depreciation; gigabit,
   counselling-room and special-education-school programmes; paired support.
9. **Assessment** — the seven indicators per section, the school standard, county coefficients of variation,
   the simulated government-guarantee rules, certification (lag and an uncertain pass probability for what the
   model does not simulate); quality schools; every target metric.

A lever group with a ``from_year`` acts from that year; before it the default (historical) value of the group
applies (``sim.scenario.Levers()``), so the 2020–2024 calibration window runs under the historical policy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim import baseline as base
from sim.distributions import sample
from sim.mechanisms import (
    assessment,
    development,
    dispatch,
    facilities,
    kernels,
    quota,
    recruitment,
    rotation,
    segments,
    students,
)
from sim.mechanisms import teachers as tmech
from sim.registry import synthesize_registry
from sim.rng import Streams
from sim.scenario import Levers, Scenario
from sim.sections import Sections, build_sections

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
AREAS = ("region", "south")
FACILITY_INDICATORS = (3, 4, 5, 6)
"""Positions of floor area, sports ground, equipment and multimedia rooms in ``assessment.INDICATORS``."""
CARRY_OVER_UNSPENT = False
"""Capital not spent in a year (no gap left to fill) is not carried over (assumption: earmarked funds)."""
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
    census_by_age: np.ndarray  # (C, 20) single-year ages 0–19 at the 2020 census
    anchor_births: float  # births of the 2021 anchor year falling to the selected counties
    intake_location_share: np.ndarray  # (C, 3)
    township_centre: np.ndarray  # (S,) bool
    counselling_eligible: np.ndarray  # (S,) bool: urban sections and township-centre sections
    priority: np.ndarray  # (S,) programme roll-out priority (remote rural south first)
    rural: np.ndarray  # (S,) bool
    rural_rank: np.ndarray  # (S,) rank of a rural section in its county for pairing (inf otherwise)
    south_mask: np.ndarray  # (C,) bool
    n_schools: int
    retirement: tmech.RetirementSchedule
    scale: LeverScale = field(default_factory=LeverScale)  # share of region-wide quantity levers
    age_multiplier_young: Callable[[np.ndarray], np.ndarray] = field(default=tmech.age_multiplier)


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
    certified: np.ndarray  # (D, C) bool
    ready_years: np.ndarray  # (D, C)
    rotation_share: np.ndarray  # (D, C) rotated / eligible this year
    backbone_share_of_rotated: np.ndarray  # (D, C)
    rotated: np.ndarray  # (D, C) teachers rotated this year
    hires: np.ndarray  # (D, C) teachers recruited this year (all channels)
    exits: np.ndarray  # (D, C) teachers leaving this year (retirement, attrition, contract end)
    student_entries: np.ndarray  # (D, C) grade-1 entrants this year
    student_exits: np.ndarray  # (D, C) dropouts and grade-9 completers this year


# ------------------------------------------------------------------------------------------------------------
# preparation


def census_single_years(counties: pd.DataFrame) -> np.ndarray:
    """Census counts by single year of age 0–19 per county, ages spread evenly within the census bands."""
    bands = [("age0", 0, 1), ("age1_4", 1, 5), ("age5_9", 5, 10), ("age10_14", 10, 15), ("age15_19", 15, 20)]
    out = np.zeros((len(counties), 20))
    for column, lo, hi in bands:
        out[:, lo:hi] = counties[column].to_numpy(float)[:, None] / (hi - lo)
    return out


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
    if scenario.start_year == 2020:
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
        [[standard.thresholds[ind][lv] for ind in assessment.INDICATORS] for lv in ("primary", "junior")]
    )
    thresholds = assessment.section_thresholds(level_thresholds, sections.level)
    grade1 = sections.students[:, 0].astype(float)
    by_location = np.zeros((sections.n_counties, 3))
    np.add.at(by_location, (sections.county, sections.location), grade1)
    primary = sections.level == 0
    has_location = np.zeros((sections.n_counties, 3), bool)
    has_location[sections.county[primary], sections.location[primary]] = True
    by_location = np.where(has_location, by_location + 1e-9, 0.0)
    priority = facilities.remote_first_priority(
        sections.location, sections.county, sections.county_south, sections.students.sum(axis=1)
    )
    rural = sections.location == 2
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
        census_by_age=census_single_years(counties),
        anchor_births=selected_births(counties),
        intake_location_share=by_location / by_location.sum(axis=1, keepdims=True),
        township_centre=township_centre,
        counselling_eligible=(sections.location == 0) | township_centre,
        priority=priority,
        rural=rural,
        rural_rank=rural_rank_in_county(sections, rural, priority),
        south_mask=sections.county_south,
        n_schools=int(sections.school_id.size),
        retirement=tmech.load_retirement_schedule(),
        scale=lever_scale(scenario, registry, counties),
    )


# ------------------------------------------------------------------------------------------------------------
# helpers


def _lever(scenario: Scenario, group: str, year: int) -> Any:
    """The scenario's lever group in ``year``, or the historical (default) one before its ``from_year``."""
    chosen = getattr(scenario.levers, group)
    start = getattr(chosen, "from_year", None)
    return chosen if start is None or year >= start else getattr(Levers(), group)


class _Random:
    """Generators of one chunk for one year: ``rng("students.promote")``; one stream per block and name."""

    def __init__(self, streams: Streams, start: int, stop: int, year: int):
        self.streams, self.start, self.stop, self.year = streams, start, stop, year

    def apply(
        self,
        name: str,
        fn: Callable[..., Any],
        *arrays: np.ndarray,
        per_draw: dict[str, np.ndarray] | None = None,
        **static: Any,
    ) -> Any:
        """Call ``fn(*arrays, **per_draw, **static, rng=…)`` block by block; stitch results along the draw axis.

        ``arrays`` and the values of ``per_draw`` have the draw axis first and are sliced to each block's rows;
        ``static`` arguments (section layout, levers) are passed unchanged. A function returning a named tuple
        of arrays gets its fields stitched one by one.
        """
        per_draw = per_draw or {}
        blocks = self.streams.chunk_generators(f"{name}/{self.year}", self.start, self.stop)
        out: Any = None
        for rows, rng in blocks:
            sliced = {key: value[rows] for key, value in per_draw.items()}
            piece = fn(*(a[rows] for a in arrays), rng=rng, **sliced, **static)
            if len(blocks) == 1:
                return piece
            if out is None:  # allocate every output once, then fill block by block
                out = _like(piece, self.stop - self.start)
            _fill(out, piece, rows)
        return out


def _fields(result: Any) -> list[str] | None:
    if dataclasses.is_dataclass(result):
        return [f.name for f in dataclasses.fields(result)]
    if isinstance(result, tuple):
        return list(result._fields)  # type: ignore[attr-defined]
    return None


def _like(piece: Any, n_rows: int) -> Any:
    """Empty outputs shaped like a block's result, with ``n_rows`` draws."""
    names = _fields(piece)
    if names is None:
        return np.empty((n_rows, *piece.shape[1:]), dtype=piece.dtype)
    return type(piece)(**{n: _like(getattr(piece, n), n_rows) for n in names})


def _fill(out: Any, piece: Any, rows: slice) -> None:
    names = _fields(piece)
    if names is None:
        out[rows] = piece
        return
    for n in names:
        getattr(out, n)[rows] = getattr(piece, n)


def _section_total(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis of a ``(D, S, k)`` array (grades, bands, contract years): ``(D, S)``.

    For ``int64`` (the engine's counts) one compiled pass (:func:`sim.mechanisms.segments.last_axis_sum`,
    exact); other types use ``sum``.
    """
    if values.dtype == np.int64 and values.ndim == 3:
        return segments.last_axis_sum(values)
    return values.sum(axis=2)


def _county_sum(values: np.ndarray, sections: Sections) -> np.ndarray:
    """Sum over the sections of each county: ``(D, S)`` → ``(D, C)``."""
    return quota.group_sum(values, sections.county, sections.n_counties)


def _level_county_sum(values: np.ndarray, sections: Sections) -> np.ndarray:
    """``(D, S)`` → ``(D, C, 2)`` sums by county and level."""
    group = sections.county * 2 + sections.level
    return quota.group_sum(values, group, sections.n_counties * 2).reshape(values.shape[0], -1, 2)


def sample_parameters(
    scenario: Scenario, streams: Streams, start: int, stop: int,
    parameters: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Each uncertainty's value in draws ``start … stop-1`` by inverse CDF of its own stream (CRN).

    ``parameters`` overrides the sampled values of some uncertainties, one value per draw (arrays of shape
    ``(stop - start,)``), e.g. the design points of a sensitivity analysis (``sim.sensitivity``); the others
    are sampled as usual. Without it the values are exactly those of a plain run.
    """
    overrides = dict(parameters or {})
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


def initial_state(model: Model, n_draws: int, female_share: np.ndarray | None = None) -> State:
    """The state at the start year; ``female_share`` ``(D,)`` is each draw's share of women among teachers (the
    same in every age band at the start; NaN when not given, for callers that do not run the teacher exits)."""
    s = model.sections
    d = n_draws
    f = np.full(d, np.nan) if female_share is None else np.asarray(female_share, dtype=np.float64)

    def tile(a: np.ndarray) -> np.ndarray:
        return np.repeat(a[None], d, axis=0)

    teachers = tile(split_registry_bands(s.teachers_by_age))
    special = np.zeros((d, s.n_sections, 3), dtype=np.int64)
    special[:, :, 0] = s.special_post // 3 + s.special_post % 3
    special[:, :, 1] = s.special_post // 3
    special[:, :, 2] = s.special_post // 3
    zeros3 = np.zeros((d, s.n_sections, 3), dtype=np.int64)
    c = s.n_counties
    lag_cap = max(2, math.ceil(_max_lag(model.scenario)) + 1)
    return State(
        students=tile(s.students.astype(np.int64)),
        teachers=teachers,
        qualified=tile(s.qualified),
        backbone=tile(s.backbone),
        pe_art=tile(s.pe_art),
        special_post=special,
        female_share=np.repeat(f[:, None], tmech.N_AGE_BANDS, axis=1),
        dispatched=zeros3.copy(),
        dispatched_backbone=zeros3.copy(),
        dispatched_pe_art=zeros3.copy(),
        section_quota=quota.section_staffing_quota(tile(s.students.sum(axis=1)), s.level, model.students_per_staff),
        floor_area_m2=tile(s.floor_area_m2),
        sports_area_m2=tile(s.sports_area_m2),
        equipment_value_cny=tile(s.equipment_value_cny),
        multimedia_rooms=tile(s.multimedia_rooms),
        pipeline_cny=facilities.empty_pipeline(d, s.n_sections, lag_cap),
        gigabit=tile(s.gigabit),
        counselling_room=tile(s.counselling_room),
        paired=tile(s.paired),
        special_schools=tile(s.county_special_schools),
        certified=np.zeros((d, c), bool),
        ready_years=np.zeros((d, c), np.int64),
        rotation_share=np.full((d, c), np.nan),
        backbone_share_of_rotated=np.full((d, c), np.nan),
        rotated=np.zeros((d, c), np.int64),
        hires=np.zeros((d, c), np.int64),
        exits=np.zeros((d, c), np.int64),
        student_entries=np.zeros((d, c), np.int64),
        student_exits=np.zeros((d, c), np.int64),
    )


def _max_lag(scenario: Scenario) -> float:
    spec = scenario.uncertainties["facilities.construction_lag_years"]
    return float(sample(spec, np.array([1 - 1e-12]))[0])


def step_students(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int) -> None:
    s = m.sections
    survival = students.survival_per_transition(p["students.consolidation_rate"])[:, None]
    flows = r.apply("students.promote", students.promote, st.students, per_draw={"survival_per_year": survival})
    grads = students.primary_graduates_by_county(flows.graduates, s.county, s.n_counties)
    expected = students.expected_intake_from_births(year, m.census_by_age, p["births.trend_per_year"],
                                                    anchor_births=m.anchor_births)
    intake = r.apply("students.intake", students.realise_intake, expected)
    by_location = r.apply("students.intake_location", students.split_by_location, intake,
                          location_share=m.intake_location_share)
    weights = st.students[:, :, 0] + 1.0
    grade1 = r.apply("students.assign", students.assign_intake, by_location, weights,
                     section_county=s.county, section_location=s.location, section_is_primary=s.level == 0)
    grade7 = r.apply("students.junior_entry", students.junior_entry, grads, st.students[:, :, 6] + 1.0,
                     section_county=s.county, section_is_junior=s.level == 1)
    st.student_entries = _county_sum(grade1, s).astype(np.int64)
    st.student_exits = _county_sum(_section_total(flows.dropouts) + flows.graduates[:, :, 8], s).astype(np.int64)
    new = flows.promoted  # a fresh array of this step: filled in place
    new[:, :, 0] += grade1
    new[:, :, 6] += grade7
    drift = r.apply("students.urbanisation", students.urbanisation_drift, new, section_location=s.location,
                    section_county=s.county,
                    per_draw={"drift_rate": p["students.urbanisation_drift_per_year"][:, None]})
    new -= drift.moved_out
    new += drift.moved_in
    st.students = new


CATEGORIES = ("qualified", "backbone", "pe_art")


def _move_attributes(m: Model | None, st: Any, before: np.ndarray, out: np.ndarray, r: _Random, name: str, *,
                     carry: tuple[str, ...] = CATEGORIES, special: bool = False,
                     into: np.ndarray | None = None) -> None:
    """Categories (``carry``) and, with ``special``, special-post contracts of the ``out`` teachers leaving each
    section (of ``before``), drawn without replacement; with ``into``, placed among the arrivals of the same
    county without replacement. One compiled pass (:func:`sim.mechanisms.kernels.move_attributes`), one stream.

    Each category's leavers: ``Hypergeometric(min(category, before), rest, out)``, category by category. Special
    posts (:func:`_special_slots`, capped at ``before``): one multivariate hypergeometric draw over the contract
    years. Without this, a special-post teacher who retired or left would still count at the end of the contract
    and leave again. Placed: each category's movers of a county by a multivariate hypergeometric draw over the
    arrivals ``into`` of its sections; the contract years one after the other among the arrivals not yet given
    one.
    """
    independent = np.stack([getattr(st, attr) for attr in carry], axis=-1) if carry else (
        np.zeros((*before.shape, 0), dtype=np.int64))
    exclusive = st.special_post if special else np.zeros((*before.shape, 0), dtype=np.int64)
    if into is None:
        moved = r.apply(name, kernels.move_attributes, before, out, independent, exclusive)
    else:
        if m is None:
            raise ValueError("placing movers needs the model's sections")
        moved = r.apply(name, kernels.move_attributes, before, out, independent, exclusive,
                        per_draw={"into": into}, group=m.sections.county, n_groups=m.sections.n_counties)
    for i, attr in enumerate(carry):
        setattr(st, attr, np.ascontiguousarray(moved.independent[..., i]))
    if special:
        st.special_post = moved.exclusive


def _remove_categories(st: State, before: np.ndarray, leaving: np.ndarray, r: _Random, name: str) -> None:
    """Teachers of each category among ``leaving`` (out of ``before``), drawn without replacement."""
    _move_attributes(None, st, before, leaving, r, name)


def _special_slots(st: Any, before: np.ndarray) -> np.ndarray:
    """Special-post teachers by contract year, capped so that they never exceed the section's teachers.

    Moves that do not carry contracts (quota redeployment, rotation, retraining) can leave a section with more
    contracts than teachers; the earliest contract years keep theirs first.
    """
    slots = np.asarray(st.special_post, dtype=np.int64)
    earlier = np.cumsum(slots, axis=2) - slots  # contracts of the earlier years
    return np.minimum(slots, np.maximum(np.asarray(before, dtype=np.int64)[..., None] - earlier, 0))


def _remove_special(st: Any, before: np.ndarray, leaving: np.ndarray, r: _Random, name: str) -> None:
    """Special-post teachers among ``leaving`` (out of ``before``), by contract year.

    A multivariate hypergeometric draw, as successive hypergeometric draws: the leavers not yet attributed to an
    earlier contract year are drawn from the teachers not in an earlier contract year (see
    :func:`_move_attributes`).
    """
    _move_attributes(None, st, before, leaving, r, name, carry=(), special=True)


def step_teacher_exits(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int) -> None:
    s = m.sections
    scenario = m.scenario
    # retirement first, then the others age. The step into the autumn of `year` covers the school year that
    # started in `year - 1`: those reaching the statutory age between the two autumns retire.
    # Women and men retire at different ages: the share of women of each band is tracked per draw.
    h_f, h_m = tmech.sex_hazards_by_band(year - 1, schedule=m.retirement)
    share, ageing_p = tmech.mixed_retirement_and_ageing(st.female_share, h_f, h_m)
    st.female_share = tmech.female_share_after_year(st.female_share, st.teachers.sum(axis=1), h_f, h_m)
    # retirement, ageing and voluntary attrition in one pass (teachers.retire_age_and_leave)
    retention = _lever(scenario, "retention", year)
    rates = np.stack([p["attrition.urban_rate"], p["attrition.town_rate"], p["attrition.rural_rate"]], axis=1)
    exits = r.apply(
        "teachers.exits", tmech.retire_age_and_leave, st.teachers,
        section_location=s.location,
        subsidy_cny_month=retention.rural_subsidy_cny_month,
        per_draw={
            "retirement_share": share,
            "ageing_probability": ageing_p,
            "rate_by_location": rates,
            "age_multiplier_by_band": m.age_multiplier_young(p["attrition.young_factor"][:, None]),
            "elasticity_per_1000cny": p["attrition.subsidy_elasticity_per_1000cny"][:, None],
        },
    )
    stock = exits.remaining
    drift = r.apply("teachers.drift", tmech.rural_to_town_drift, stock, section_location=s.location,
                    section_county=s.county, receiving_weights=s.teachers + 1.0,
                    per_draw={"rate": p["drift.rural_to_town_rate"][:, None]})
    before_total = _section_total(st.teachers)
    left_total = exits.leavers
    # categories and contracts of the leavers, then of the rural → town movers (who take theirs along)
    _move_attributes(m, st, before_total, left_total, r, "teachers.exit_attributes", special=True)
    moved_out, moved_in = _section_total(drift.moved_out), _section_total(drift.moved_in)
    _move_attributes(m, st, before_total - left_total, moved_out, r, "teachers.drift_attributes", special=True,
                     into=moved_in)
    stock = stock - drift.moved_out + drift.moved_in

    # special-post contracts: continuing teachers stay among the teachers; leavers go
    before = _section_total(stock)
    special = _special_slots(st, before)
    contract = r.apply("teachers.special_post", tmech.special_post_contract_end, special,
                       per_draw={"retention_share": p["special_post.retention_share"][:, None]})
    leaving = np.minimum(contract.leaving, before)
    removed = r.apply("teachers.special_post_bands", tmech.remove_from_bands, stock, leaving)
    stock = stock - removed
    _remove_categories(st, before, leaving, r, "teachers.special_categories")
    st.special_post = contract.continuing
    st.teachers = stock
    st.exits = _county_sum(left_total + leaving, s)

    # dispatch terms
    for attr in ("dispatched", "dispatched_backbone", "dispatched_pe_art"):
        _, remaining = dispatch.advance_terms(getattr(st, attr))
        setattr(st, attr, remaining)


def _draw_sum(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=float).sum(axis=1)


def counted_teachers(m: Model, st: State, counts_toward: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Teachers counted by each indicator group: regular teachers plus the dispatched where the option says.

    Also gives the section totals it sums on the way, ``"regular"`` (regular teachers) and ``"dispatched"``
    (dispatched teachers in post), so that callers do not sum them again.
    """
    regular, dispatched = _section_total(st.teachers), _section_total(st.dispatched)
    extra = dispatch.counted_dispatched(
        dispatched, _section_total(st.dispatched_backbone), _section_total(st.dispatched_pe_art), counts_toward,
    )
    return {
        "staffing": regular + extra["staffing"],
        "qualification": st.qualified + extra["qualification"],
        "backbone": st.backbone + extra["backbone"],
        "pe_art": st.pe_art + extra["pe_art"],
        "regular": regular,
        "dispatched": dispatched,
    }


def _add_hires(st: State, hires: np.ndarray, p: dict[str, np.ndarray], r: _Random, name: str) -> None:
    """New teachers join the youngest band; a share is above the required qualification."""
    st.teachers[:, :, 0] += hires
    share = p["recruitment.new_hire_qualified_share"][:, None]
    st.qualified = st.qualified + r.apply(f"{name}.qualified", recruitment.new_hire_attributes, hires,
                                          per_draw={"above_qualification_share": share})
    share = p["recruitment.new_hire_pe_art_share"][:, None]
    st.pe_art = st.pe_art + r.apply(f"{name}.pe_art", recruitment.new_hire_attributes, hires,
                                    per_draw={"above_qualification_share": share})


def _move(m: Model, st: State, out: np.ndarray, into: np.ndarray, r: _Random, name: str,
          carry: tuple[str, ...] = CATEGORIES) -> None:
    """Move teachers between sections of the same county (county totals of ``out`` and ``into`` are equal).

    Leavers are drawn from the age bands and, for each category in ``carry``, without replacement from the
    section's teachers (hypergeometric); the county's moving teachers of a category are then placed among the
    arrivals of its sections without replacement, so categories move with the teachers and are conserved per
    county. Arrivals take the age mix of the year's leavers (assumption).
    """
    before = _section_total(st.teachers)
    st.teachers = r.apply(f"{name}.bands", tmech.move_between_sections, st.teachers, out, into)
    _carry_categories(m, st, before, out, into, r, name, carry)


def _carry_categories(m: Model, st: State, before: np.ndarray, out: np.ndarray, into: np.ndarray, r: _Random,
                      name: str, carry: tuple[str, ...] = CATEGORIES) -> None:
    """Teachers of each category among the ``out`` movers of a section (of ``before``), drawn without
    replacement, placed among the ``into`` arrivals of the same county without replacement."""
    _move_attributes(m, st, before, out, r, f"{name}.attributes", carry=carry, into=into)


def step_quota_and_recruitment(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int) -> None:
    s = m.sections
    scenario = m.scenario
    q = scenario.levers.quota
    verification = year == scenario.start_year or (
        year >= q.first_verification_year
        and quota.is_verification_year(year, q.first_verification_year, q.reverify_every_years)
    )
    if verification:
        st.section_quota = quota.section_staffing_quota(_section_total(st.students), s.level, m.students_per_staff)
        out, into = quota.redeploy_surplus(
            _section_total(st.teachers), st.section_quota, s.county, s.level, s.n_counties, q.redeploy_surplus_share
        )
        if out.any():
            _move(m, st, out, into, r, "quota.redeploy")

    counts = scenario.levers.assessment.dispatched_count_toward
    staff = counted_teachers(m, st, counts)["staffing"]
    vacancy = np.maximum(np.ceil(st.section_quota - 1e-9).astype(np.int64) - staff, 0)
    rec = _lever(scenario, "recruitment", year)
    hired = np.zeros_like(vacancy)

    special = r.apply("recruitment.special_post", recruitment.special_post_hires,
                      per_year_total=m.scale.count(rec.special_post_per_year, "pupils"), section_location=s.location,
                      section_county=s.county, county_south=s.county_south, county_remote=s.county_remote,
                      per_draw={"section_vacancy": vacancy,
                                "take_up": p["recruitment.special_post_take_up"][:, None]})
    _add_hires(st, special, p, r, "recruitment.special_post")
    st.special_post[:, :, 0] += special
    vacancy = vacancy - special
    hired += special

    if year >= 2025:  # the first 優師計劃 graduates start in 2025 (programme from 2021, 4-year degrees)
        targeted = r.apply("recruitment.targeted", recruitment.targeted_graduate_hires,
                           per_year_total=m.scale.count(rec.targeted_graduates_per_year, "pupils"),
                           section_county=s.county,
                           county_south=s.county_south, county_remote=s.county_remote,
                           per_draw={"section_vacancy": vacancy,
                                     "take_up": p["recruitment.targeted_take_up"][:, None]})
        _add_hires(st, targeted, p, r, "recruitment.targeted")
        vacancy = vacancy - targeted
        hired += targeted

    # retraining primary teachers for junior posts, within the county
    staff_now = _section_total(st.teachers)
    surplus_section = np.where(s.level == 0, np.maximum(staff_now - np.ceil(st.section_quota), 0), 0)
    junior_vacancy_section = np.where(s.level == 1, vacancy, 0)
    primary_surplus = _county_sum(surplus_section, s).astype(np.int64)
    junior_vacancy = _county_sum(junior_vacancy_section, s).astype(np.int64)
    retrained = r.apply("recruitment.retrain", recruitment.retrain_for_junior, primary_surplus, junior_vacancy,
                        per_year_total=m.scale.count(rec.junior_retraining_per_year, "pupils"),
                        per_draw={"pass_rate": p["recruitment.retraining_pass_rate"][:, None]})
    if retrained.any():
        out = quota.allocate_largest_remainder(retrained, surplus_section, s.county, s.n_counties)
        into = quota.allocate_largest_remainder(retrained, junior_vacancy_section, s.county, s.n_counties)
        _move(m, st, out, into, r, "recruitment.retrain_move")
        vacancy = np.maximum(vacancy - into, 0)

    if rec.open_recruitment:
        county_vacancy = _level_county_sum(vacancy, s).astype(np.int64)
        open_hires = r.apply("recruitment.open", recruitment.open_recruitment, county_vacancy,
                             county_remote=s.county_remote,
                             per_draw={"fill_rate": p["recruitment.fill_rate"][:, None],
                                       "remote_penalty": p["recruitment.remote_fill_penalty"][:, None]})
        placed = r.apply("recruitment.place", recruitment.allocate_hires_to_sections, open_hires, vacancy,
                         section_county=s.county, section_level=s.level)
        _add_hires(st, placed, p, r, "recruitment.open")
        hired += placed
    st.hires = _county_sum(hired, s).astype(np.int64)


def step_rotation(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int, weakness: np.ndarray) -> None:
    s = m.sections
    lever = _lever(m.scenario, "rotation", year)
    stock = _section_total(st.teachers)
    eligible = rotation.eligible_share_from_tenure(p["rotation.mean_tenure_years"], lever.min_years_at_school)
    flows = r.apply("rotation", _rotate, stock, np.minimum(st.backbone, stock), weakness,
                    share=lever.share, backbone_share=lever.backbone_share, direction=lever.direction,
                    section_county=s.county, section_level=s.level, section_location=s.location,
                    n_counties=s.n_counties, per_draw={"eligible_share": eligible[:, None]})
    out = flows.out_backbone + flows.out_regular + flows.return_out
    into = flows.in_backbone + flows.in_regular + flows.return_in
    if out.any():  # backbone movers are known by section; the other categories move with the teachers
        _move(m, st, out, into, r, "rotation.move", carry=("qualified", "pe_art"))
    st.backbone = np.clip(st.backbone + flows.in_backbone - flows.out_backbone, 0, _section_total(st.teachers))
    per_level = flows.rotated_per_county.reshape(stock.shape[0], s.n_counties, -1)
    eligible_county = flows.eligible_per_county.reshape(stock.shape[0], s.n_counties, -1).sum(axis=2)
    backbone_county = flows.backbone_rotated_per_county.reshape(stock.shape[0], s.n_counties, -1).sum(axis=2)
    rotated = _section_total(per_level)
    st.rotated = rotated
    st.rotation_share = np.divide(rotated, eligible_county, out=np.full(rotated.shape, np.nan),
                                  where=eligible_county > 0)
    st.backbone_share_of_rotated = np.divide(backbone_county, rotated, out=np.full(rotated.shape, np.nan),
                                             where=rotated > 0)


def _rotate(stock: np.ndarray, backbone: np.ndarray, weakness: np.ndarray, *, rng: np.random.Generator,
            **kwargs: Any) -> rotation.RotationFlows:
    return rotation.rotate(stock, backbone, weakness=weakness, rng=rng, **kwargs)


def step_dispatch(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int) -> None:
    s = m.sections
    lever = _lever(m.scenario, "dispatch", year)
    staff = _section_total(st.teachers)
    weight = np.maximum(np.ceil(st.section_quota) - staff, 0) + 0.1 * (_section_total(st.students) > 0)
    arrivals = r.apply("dispatch.arrivals", _dispatch_arrivals, weight,
                       per_year=m.scale.count(lever.per_year, "pupils"),
                       south_share=lever.south_share, junior_share=lever.junior_share,
                       county_south=s.county_south, section_county=s.county, section_level=s.level,
                       per_draw={"arrival_share": p["dispatch.arrival_share"][:, None]})
    attributes = r.apply("dispatch.attributes", _dispatch_attributes, arrivals,
                         np.stack([p["dispatch.backbone_share"], p["dispatch.pe_art_share"]], axis=1))
    backbone, pe_art = attributes[..., 0], attributes[..., 1]
    st.dispatched = st.dispatched + dispatch.start_terms(arrivals, lever.term_years)
    st.dispatched_backbone = st.dispatched_backbone + dispatch.start_terms(backbone, lever.term_years)
    st.dispatched_pe_art = st.dispatched_pe_art + dispatch.start_terms(pe_art, lever.term_years)


def _dispatch_arrivals(weight: np.ndarray, *, rng: np.random.Generator, **kwargs: Any) -> np.ndarray:
    return dispatch.dispatch_arrivals(section_weight=weight, rng=rng, **kwargs)


def _dispatch_attributes(arrivals: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    backbone, pe_art = dispatch.dispatch_attributes(arrivals, shares[:, :1], shares[:, 1:], rng)
    return np.stack([backbone, pe_art], axis=-1)


def step_development(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int) -> None:
    lever = m.scenario.levers.development
    staff = _section_total(st.teachers)
    st.qualified = np.minimum(st.qualified, staff)
    st.qualified = st.qualified + r.apply("development.upgrade", development.qualification_upgrade,
                                          staff - st.qualified, upgrade_share=lever.qualification_upgrade_share)
    st.backbone = np.minimum(st.backbone, st.qualified)
    st.backbone = st.backbone + r.apply("development.cultivate", development.backbone_cultivation,
                                        st.qualified - st.backbone,
                                        cultivation_share=lever.backbone_cultivation_share)
    st.backbone = st.backbone - r.apply("development.loss", development.backbone_loss, st.backbone,
                                        per_draw={"retention": p["development.backbone_retention"][:, None]})
    st.pe_art = np.minimum(st.pe_art, staff)


def step_facilities(m: Model, st: State, p: dict[str, np.ndarray], year: int, weakness: np.ndarray) -> None:
    s = m.sections
    scenario = m.scenario
    lever = _lever(scenario, "funding", year)
    pupils = _section_total(st.students).astype(float)
    capital = lever.capital_cny if isinstance(lever.capital_cny, float | int) else dict(lever.capital_cny)
    budget = facilities.capital_budget(year, capital, p["funding.execution_rate"]) * m.scale.pupils
    costs = (p["facilities.floor_cost_cny_per_m2"][:, None], p["facilities.sports_cost_cny_per_m2"][:, None],
             p["facilities.multimedia_room_cny"][:, None])
    gaps = facilities.facility_gaps(pupils, st.floor_area_m2, st.sports_area_m2, st.equipment_value_cny,
                                    st.multimedia_rooms, m.facility_thresholds, *costs)
    spend = facilities.allocate(budget, gaps, lever.allocation, s.county, s.county_south, lever.south_share,
                                pupils, weakness=weakness)
    lag = np.rint(p["facilities.construction_lag_years"]).astype(np.int64)
    arrived, st.pipeline_cny = facilities.construction_pipeline(spend, st.pipeline_cny, lag)
    rate = p["facilities.equipment_depreciation_per_year"][:, None]
    equipment = facilities.depreciate_equipment(st.equipment_value_cny, rate)
    stock = facilities.apply(st.floor_area_m2, st.sports_area_m2, equipment, st.multimedia_rooms, arrived, *costs)
    st.floor_area_m2, st.sports_area_m2, st.equipment_value_cny, st.multimedia_rooms = stock
    lv = scenario.levers
    st.gigabit = facilities.roll_out_gigabit(
        st.gigabit, m.scale.count(lv.digital.gigabit_schools_per_year, "schools"), m.priority,
        section_school=s.school)
    st.counselling_room = facilities.build_counselling_rooms(
        st.counselling_room, m.scale.count(lv.counselling.rooms_per_year, "schools"),
        s.location, m.township_centre, m.priority,
        section_school=s.school)
    st.special_schools = facilities.build_special_education_schools(
        st.special_schools, m.scale.count(lv.special_education.schools_per_year, "large_counties"), s.county_population,
        threshold_people=SPECIAL_EDUCATION_POPULATION)
    # paired support: the lever's coverage of rural schools, highest priority first within each county
    st.paired = _paired(m, lv.pairing.coverage_in(year), st.paired)


def _paired(m: Model, coverage: float, paired: np.ndarray) -> np.ndarray:
    """Rural sections paired so that each county reaches ``coverage``, highest priority first.

    Assumption: pairing follows the plan's schedule exactly (the lever); a paired school stays paired.
    """
    s = m.sections
    rural_per_county = np.bincount(s.county[m.rural], minlength=s.n_counties)
    needed = np.ceil(coverage * rural_per_county - 1e-9)
    return paired | (m.rural_rank < needed[s.county])[None, :]


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


def assess(m: Model, st: State, p: dict[str, np.ndarray], r: _Random, year: int) -> dict[str, np.ndarray]:
    """Step 9: indicators, county status, certification and every target metric for this year."""
    s = m.sections
    scenario = m.scenario
    standard = m.standard
    pupils = _section_total(st.students)
    counted = counted_teachers(m, st, scenario.levers.assessment.dispatched_count_toward)
    indicators = assessment.section_indicators(
        pupils, counted["qualification"], counted["backbone"], counted["pe_art"], st.floor_area_m2,
        st.sports_area_m2, st.equipment_value_cny, st.multimedia_rooms)
    small_site = s.teaching_point[None, :] & (pupils < scenario.levers.assessment.small_site_exclusion_pupils)
    resources = assessment.assess_resources(
        indicators, m.thresholds, pupils, s.level, s.county, s.n_counties, m.cv_limits,
        assessed=(pupils > 0) & ~small_site,
        min_met=standard.min_indicators_met, floor_share=standard.remaining_min_fraction)
    classes = np.maximum(s.classes, 1)
    # The rotation rule is a policy the county sets: it is judged on the lever's share of eligible teachers
    # (the realised share scatters binomially around it), and on the realised backbone share of the rotated,
    # which falls short where the county lacks eligible backbone teachers (assumption, docs/parameters.md).
    policy_share = np.where(np.isnan(st.rotation_share), 0.0, _lever(scenario, "rotation", year).share)
    guarantee = assessment.guarantee_rules(
        policy_share, np.nan_to_num(st.backbone_share_of_rotated, nan=0.0),
        pupils / classes, pupils, s.level, s.school, s.county, s.n_counties,
        min_rotation_share=standard.rotation_min_share,
        min_backbone_share_of_rotated=standard.rotation_backbone_min_share,
        class_size_limits=(standard.class_size_max["primary"], standard.class_size_max["junior"]),
        school_size_limit=standard.school_size_max["primary"],
        nine_year_school_size_limit=standard.school_size_max["nine_year"], n_schools=m.n_schools)
    ready = resources.ready & guarantee.met
    pass_u = r.streams.uniforms(f"assessment.pass/{year}", r.start, r.stop, (s.n_counties,))
    lags = np.rint(p["assessment.certification_lag_years"]).astype(np.int64)
    certified, ready_years = st.certified.copy(), st.ready_years.copy()
    for lag in np.unique(lags):  # usually one value (the default is fixed)
        rows = lags == lag
        step = assessment.certify(ready[rows], st.ready_years[rows], st.certified[rows], pass_u[rows],
                                  p["assessment.other_items_pass_probability"][rows, None], lag_years=int(lag))
        certified[rows], ready_years[rows] = step.certified, step.ready_years
    st.certified, st.ready_years = certified, ready_years

    quality = assessment.is_quality_school(indicators, m.thresholds, scenario.levers.assessment.quality_school)
    include = resources.assessed
    qs = assessment.quality_school_share(quality, s.school, s.county, s.n_counties, include=include,
                                         n_schools=m.n_schools)
    coverage = assessment.quality_school_share(quality, s.school, s.county, s.n_counties, include=include,
                                               weights=pupils, n_schools=m.n_schools)
    pairing = assessment.pairing_coverage(st.paired, m.rural, s.school, s.county, s.n_counties,
                                          active=pupils > 0, n_schools=m.n_schools)
    gigabit = assessment.quality_school_share(st.gigabit, s.school, s.county, s.n_counties, include=pupils > 0,
                                              n_schools=m.n_schools)
    counselling = assessment.quality_school_share(
        st.counselling_room, s.school, s.county, s.n_counties,
        include=(pupils > 0) & m.counselling_eligible[None, :], n_schools=m.n_schools)
    requirement = quota.staffing_quota(pupils, s.level, s.county, s.n_counties, m.students_per_staff)
    staff_by_level = _level_county_sum(counted["staffing"], s)
    norm_met = quota.staffing_norm_met(staff_by_level, requirement)
    section_requirement = quota.section_staffing_quota(pupils, s.level, m.students_per_staff)
    standardised = facilities.standardised(pupils, st.floor_area_m2, st.equipment_value_cny,
                                           m.facility_thresholds, st.gigabit,
                                           counted["staffing"] >= np.ceil(section_requirement - 1e-9))
    standard_share = assessment.quality_school_share(standardised, s.school, s.county, s.n_counties,
                                                     include=pupils > 0, n_schools=m.n_schools)
    special_ok = (st.special_schools > 0) | (s.county_population <= SPECIAL_EDUCATION_POPULATION)[None, :]
    d = pupils.shape[0]
    consolidation = np.repeat(p["students.consolidation_rate"][:, None], s.n_counties, axis=1)
    disabled = np.repeat(p["students.disabled_enrolment_rate"][:, None], s.n_counties, axis=1)
    staff_total = counted["staffing"]
    weights = np.where(resources.assessed, pupils, 0.0)
    county_pupils = _county_sum(weights, s)
    indicator_sum = segments.group_sum3(np.nan_to_num(indicators) * weights[:, :, None], s.county, s.n_counties)
    indicator_mean = np.divide(indicator_sum, county_pupils[:, :, None], out=np.full(indicator_sum.shape, np.nan),
                               where=county_pupils[:, :, None] > 0)
    return {
        "quality_balanced": st.certified.astype(np.int8),
        "resource_ready": resources.ready.astype(np.int8),
        "guarantee_met": guarantee.met.astype(np.int8),
        "quality_school_count": qs.count, "quality_school_total": qs.total,
        "coverage_count": coverage.count, "coverage_total": coverage.total,
        "pairing_count": pairing.count, "pairing_total": pairing.total,
        "gigabit_count": gigabit.count, "gigabit_total": gigabit.total,
        "counselling_count": counselling.count, "counselling_total": counselling.total,
        "standardised_count": standard_share.count, "standardised_total": standard_share.total,
        "staffing_norm_met": norm_met.astype(np.int8),
        "special_education_ok": special_ok.astype(np.int8),
        "consolidation_rate": consolidation,
        "disabled_enrolment_rate": disabled,
        "students": _county_sum(pupils, s),
        "teachers": _county_sum(counted["regular"], s),
        "teachers_counted": _county_sum(staff_total, s),
        "staffing_requirement": _section_total(requirement),
        "vacancies": _county_sum(np.maximum(np.ceil(section_requirement - 1e-9) - staff_total, 0), s),
        "dispatched_in_post": _county_sum(counted["dispatched"], s),
        "rotated": st.rotated,
        "hires": st.hires,
        "exits": st.exits,
        "student_entries": st.student_entries,
        "student_exits": st.student_exits,
        "indicator_value": indicator_mean,
        "indicator_cv": resources.cv,
        "failing_sections": resources.failing_sections,
        "failing_sections_below": resources.failing_sections_below,
        "cv_over_limit": resources.cv_over_limit,
        "guarantee_failed": guarantee.failed(),
        "draw_count": np.ones((d, s.n_counties)),
    }


def run_chunk(model: Model, streams: Streams, start: int, stop: int,
              on_year: Callable[[int], None] | None = None, *,
              parameters: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Project draws ``start … stop-1``: a dict of arrays ``(D, year, county, …)`` of the recorded variables.

    ``parameters`` (optional) sets the values of some uncertainties draw by draw instead of sampling them
    (see :func:`sample_parameters`); the random flows of each draw are unchanged.
    """
    scenario = model.scenario
    params = sample_parameters(scenario, streams, start, stop, parameters)
    st = initial_state(model, stop - start, params["teachers.female_share"])
    records: list[dict[str, np.ndarray]] = []
    for year in model.years:
        year = int(year)
        r = _Random(streams, start, stop, year)
        if year > scenario.start_year:
            step_students(model, st, params, r, year)
            step_teacher_exits(model, st, params, r, year)
        step_quota_and_recruitment(model, st, params, r, year)
        weakness = facilities.weakness_score(_section_total(st.students), st.floor_area_m2, st.sports_area_m2,
                                             st.equipment_value_cny, st.multimedia_rooms, model.facility_thresholds)
        step_rotation(model, st, params, r, year, weakness)
        if year > scenario.start_year:
            step_dispatch(model, st, params, r, year)
            step_development(model, st, params, r, year)
            step_facilities(model, st, params, year, weakness)
        records.append(assess(model, st, params, r, year))
        if on_year is not None:
            on_year(stop - start)
    return {name: np.stack([rec[name] for rec in records], axis=1) for name in records[0]}
