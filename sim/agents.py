"""Agent engine: every teacher an agent, on a ``simpy`` policy calendar, one draw at a time.

The engine has the contract of the cohort engine (:mod:`sim.cohort`): :func:`run_draws_agents` returns the raw
dict of arrays ``(D, year, county, …)`` of :func:`sim.ensemble.run_draws` (same keys, shapes and dtypes), so
:func:`sim.ensemble.to_dataset` builds the same ``results.nc``. It carries the rules that need individual
histories and it checks the cohort engine (``tests/test_agents.py``; ``docs/engines.md`` lists where the two
differ by design and why).

**Teachers** are a struct of arrays (:class:`Teachers`, one array per attribute, never one Python object per
teacher): month of birth, sex and statutory retirement month (2025 reform, exact), section, qualification
above the required one, backbone, PE/art, senior title, contract (regular, special-post, targeted graduate,
dispatched), first year of the contract, end of a dispatch term, completed years at the current school,
completed years of rural or weak-school service, and the year of the last rotation. Dispatched teachers are
agents too (contract :data:`DISPATCHED`); they are not part of the teacher stock (``teachers``), as in the
cohort engine. **Students and schools** stay counts per section, in a :class:`sim.model.State` with one draw,
advanced by the steps of :data:`sim.steps.STEPS` marked ``shared`` (students, facilities, assessment), which
call the mechanism functions of :mod:`sim.mechanisms` with ``D = 1``; recruitment, redeployment, rotation and
dispatch arrivals call the same mechanism functions for their counts, then pick the individual teachers.

**Randomness.** Draw ``d`` uses ``Streams(seed).draw_generator(d, component)`` only, one stream per component
and year (``"students.promote/2027"``, ``"agents.attrition/2027"``), so a draw's numbers do not depend on how
many draws run, and two scenarios share them (common random numbers). The uncertainties of draw ``d`` are
``sim.model.sample_parameters(scenario, streams, d, d + 1)``: the same values as draw ``d`` of the cohort
engine.

Policy calendar. One ``simpy.Environment`` per draw; the clock counts phases, ``len(PHASES)`` per school year.
The phases are the steps of :data:`sim.steps.STEPS`, in its order and in the years each acts (the table says
which run in the start year; ``edusim show --steps SCENARIO`` prints it). The steps marked ``shared`` there
(students, facilities, assessment) call the cohort step functions on the one-draw state; the others are the
methods of the same name below, which pick individual teachers:

- ``network`` — the cohort engine's closures (:func:`sim.steps.close_sections`: pupils, posts, classes), then
  every teacher of a closing section (dispatched ones too) moved to its receiver; loans owed to it owed to the
  receiver.
- ``teacher_exits`` — every teacher completes a year at the school (and of rural or weak-school service if the
  school was rural or weak last year); retirement at the exact statutory age of the 2025 reform by sex and month
  of birth; voluntary attrition by location and age; rural → town drift; special-post contracts that have run
  three years end (a share converts to regular posts, the others leave).
- ``dispatch_departures`` — one simpy process per arrival batch, sleeping for its term.
- ``quota`` (quota re-verification), ``redeployment`` (縣管校聘, before hiring), ``recruitment`` (recruitment
  season), ``rotation`` (rotation round: teachers with ``years at school ≥ rotation.min_years_at_school`` and no
  rotation in the last
  ``rotation.exclude_rotated_within_years`` years are eligible), ``dispatch_arrivals``: the counts of the
  mechanism functions, then the teachers picked.
- ``development`` — qualification upgrades, backbone cultivation and loss, promotion to a senior title (from
  ``rotation.from_year``, only after ≥1 year of rural or weak-school service).
- ``assessment`` also records the history rules (senior promotions, principal-eligible and rotation-eligible
  teachers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from sim.mechanisms import dispatch, facilities, quota, recruitment, rotation, targeting
from sim.mechanisms import teachers as tmech
from sim.mechanisms.rotation import weak_sections
from sim.model import (
    Model,
    State,
    budgeted_lever,
    county_sum,
    draw_start_registry,
    initial_state,
    level_county_sum,
    lever_at,
    sample_parameters,
)
from sim.rng import Streams
from sim.steps import (
    Random,
    assess,
    close_sections,
    establishment_after_conversion,
    redeployment_acts,
    redeployment_flows,
    shortfalls,
    special_post_brings_post,
    special_post_outside_establishment,
    special_post_room,
    step_classes,
    step_facilities,
    step_students,
    steps_for,
    targeting_on,
    vacant_posts,
    verified_establishment,
)
from sim.vocabulary import INDICATORS, JUNIOR, N_LEVELS, PRIMARY, RURAL

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

REGULAR, SPECIAL_POST, TARGETED, DISPATCHED = 0, 1, 2, 3
CONTRACTS: tuple[str, ...] = ("regular", "special_post", "targeted", "dispatched")
"""Contract codes of :attr:`Teachers.contract`."""

NO_ROTATION = -10_000
"""``Teachers.last_rotation`` of a teacher never rotated (or with no record: the registry has none)."""

CENSUS_MONTH = 9
"""Stock date of a school year: September (the autumn census)."""

SPECIAL_POST_CONTRACT_YEARS = tmech.SPECIAL_POST_CONTRACT_YEARS
"""Special-post (特崗) contracts run three years (DESIGN §2)."""

SENIOR_TITLE_HAZARD_PER_YEAR = 0.05
"""Yearly probability that an eligible teacher is promoted to a senior title (高級職稱). Assumption: a simple
constant hazard from age :data:`SENIOR_TITLE_MIN_AGE_YEARS`; no Xinjiang figure was found. Teachers of the
start year hold the title with the steady-state probability ``1 − (1 − h)^(age − 35)``."""

SENIOR_TITLE_MIN_AGE_YEARS = 35
"""Youngest age at which a senior title is awarded (assumption: about 12 years of service after graduation)."""

RURAL_SERVICE_FOR_SENIOR_YEARS = 1
"""Years of rural or weak-school service required before a senior title, from the plan year (plan of
2025-01-26, §二(三)2: "將到鄉村學校或薄弱學校任教1年以上的經歷作為申報高級職稱的必要條件")."""

RURAL_SERVICE_FOR_PRINCIPAL_YEARS = 3
"""Years of rural or weak-school service that give priority for a principal post (plan §二(三)2, ≥3 years)."""

PHASES: tuple[str, ...] = tuple(step.name for step in steps_for("agents"))
"""Phases of a school year, in calendar order: the steps of :data:`sim.steps.STEPS` that this engine runs."""

HISTORY_RECORDS: tuple[str, ...] = ("senior_promotions", "principal_eligible", "rotation_eligible")
"""Extra records of the agent engine, ``(D, year, county)``, returned when ``history_records=True``."""


# ------------------------------------------------------------------------------------------------------------
# teachers as a struct of arrays


@dataclass
class Teachers:
    """Every teacher (and dispatched teacher) of one draw, one array per attribute, all of the same length."""

    birth_month: npt.NDArray[np.int32]  # 12 × year + (month − 1) of birth
    female: BoolArray
    retirement_month: npt.NDArray[np.int32]  # birth_month + statutory retirement age in months
    section: npt.NDArray[np.int32]
    qualified: BoolArray  # above the required qualification
    backbone: BoolArray  # county-level-or-above backbone teacher
    pe_art: BoolArray  # PE or art teacher (subject group)
    senior: BoolArray  # holds a senior title
    contract: npt.NDArray[np.int8]  # REGULAR, SPECIAL_POST, TARGETED, DISPATCHED
    contract_start: npt.NDArray[np.int32]  # school year the contract began
    term_end: npt.NDArray[np.int32]  # dispatched: the school year they leave (0 for others)
    years_at_school: npt.NDArray[np.int32]  # completed years at the current school
    rural_years: npt.NDArray[np.int32]  # completed years of rural or weak-school service
    last_rotation: npt.NDArray[np.int32]  # school year of the last rotation, NO_ROTATION if none
    home_section: npt.NDArray[np.int32]  # rotated on loan: the section they return to (meaningless otherwise)
    return_year: npt.NDArray[np.int32]  # rotated on loan: the round at which they return; 0 if not on loan

    def __len__(self) -> int:
        return int(self.section.size)

    @classmethod
    def empty(cls) -> Teachers:
        return cls(**{f.name: np.zeros(0, dtype=_DTYPES[f.name]) for f in dataclasses.fields(cls)})

    def take(self, which: npt.ArrayLike) -> Teachers:
        """The teachers selected by a boolean mask or an index array (a new object)."""
        return Teachers(**{f.name: getattr(self, f.name)[which] for f in dataclasses.fields(self)})

    def extend(self, other: Teachers) -> Teachers:
        """These teachers followed by ``other`` (a new object)."""
        return Teachers(**{
            f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)]).astype(_DTYPES[f.name])
            for f in dataclasses.fields(self)
        })


_DTYPES: dict[str, Any] = {
    "birth_month": np.int32, "female": np.bool_, "retirement_month": np.int32, "section": np.int32,
    "qualified": np.bool_, "backbone": np.bool_, "pe_art": np.bool_, "senior": np.bool_, "contract": np.int8,
    "contract_start": np.int32, "term_end": np.int32, "years_at_school": np.int32, "rural_years": np.int32,
    "last_rotation": np.int32, "home_section": np.int32, "return_year": np.int32,
}


# ------------------------------------------------------------------------------------------------------------
# history rules (pure functions over teacher arrays)


def census_month(year: int) -> int:
    """Month index ``12 × year + (month − 1)`` of the census date of school year ``year``."""
    return 12 * year + CENSUS_MONTH - 1


def age_years(birth_month: npt.ArrayLike, year: int) -> IntArray:
    """Completed years of age at the census date of ``year``.

    >>> age_years(np.array([census_month(1990) - 1]), 2020).tolist()
    [30]
    """
    return (census_month(year) - np.asarray(birth_month, dtype=np.int64)) // 12


def age_band(birth_month: npt.ArrayLike, year: int) -> IntArray:
    """Five-year age band of the cohort engine (0 = 20–24 … 8 = 60–64), clipped to the nine bands."""
    return np.clip(age_years(birth_month, year) // 5 - 4, 0, tmech.N_AGE_BANDS - 1)


def retirement_months(birth_month: npt.ArrayLike, female: npt.ArrayLike, schedule: tmech.RetirementSchedule
                      ) -> npt.NDArray[np.int32]:
    """Month index at which each teacher reaches the statutory age (2025 reform, professional posts)."""
    birth = np.asarray(birth_month, dtype=np.int64)
    year, month = birth // 12, birth % 12 + 1
    women = tmech.retirement_age_months(year, month, "female", "professional", schedule=schedule)
    men = tmech.retirement_age_months(year, month, "male", "professional", schedule=schedule)
    return (birth + np.where(np.asarray(female, dtype=bool), women, men)).astype(np.int32)


def retiring(retirement_month: npt.ArrayLike, year: int) -> BoolArray:
    """Teachers who reach the statutory age in the school year starting at the census date of ``year``.

    The same window as :func:`sim.mechanisms.teachers.retirement_share_by_band` (months ``t + 1 … t + 12``
    from the census month ``t``), applied to exact months of birth; anyone already past the age retires too.
    """
    return np.asarray(retirement_month, dtype=np.int64) <= census_month(year) + 12


def rotation_eligible(years_at_school: npt.ArrayLike, last_rotation: npt.ArrayLike, year: int,
                      min_years_at_school: int, exclude_rotated_within_years: int) -> BoolArray:
    """Eligible for rotation: ``years at school ≥ min_years_at_school`` and no rotation in the last N years.

    ``N = exclude_rotated_within_years`` (0: no exclusion); a teacher rotated in year ``y`` is excluded in the
    years ``y … y + N``.
    """
    eligible = np.asarray(years_at_school) >= min_years_at_school
    if exclude_rotated_within_years > 0:
        eligible &= year - np.asarray(last_rotation, dtype=np.int64) > exclude_rotated_within_years
    return np.asarray(eligible)


def special_post_contract_ends(contract: npt.ArrayLike, contract_start: npt.ArrayLike, year: int) -> BoolArray:
    """Special-post teachers whose 3-year contract has run its course by the start of ``year``.

    A teacher recruited in year ``y`` serves ``y, y + 1, y + 2`` and finishes at the exit phase of ``y + 3``.
    """
    return np.asarray((np.asarray(contract) == SPECIAL_POST)
                      & (year - np.asarray(contract_start) >= SPECIAL_POST_CONTRACT_YEARS))


def dispatch_term_ended(contract: npt.ArrayLike, term_end: npt.ArrayLike, year: int) -> BoolArray:
    """Dispatched teachers whose fixed term is over: arrived in ``y`` with term ``t``, they leave in ``y + t``."""
    return np.asarray((np.asarray(contract) == DISPATCHED) & (np.asarray(term_end) <= year))


def senior_title_candidates(teachers: Teachers, year: int, rule_applies: bool) -> BoolArray:
    """Teachers who may be promoted to a senior title this year.

    Not dispatched, no senior title yet, aged :data:`SENIOR_TITLE_MIN_AGE_YEARS` or more and, once the plan's
    rule applies, at least :data:`RURAL_SERVICE_FOR_SENIOR_YEARS` of rural or weak-school service.
    """
    ok = (teachers.contract != DISPATCHED) & ~teachers.senior
    ok &= age_years(teachers.birth_month, year) >= SENIOR_TITLE_MIN_AGE_YEARS
    if rule_applies:
        ok &= teachers.rural_years >= RURAL_SERVICE_FOR_SENIOR_YEARS
    return np.asarray(ok)


def principal_eligible(teachers: Teachers) -> BoolArray:
    """Teachers with priority for a principal post: ≥3 years of rural or weak-school service (plan §二(三)2)."""
    return np.asarray((teachers.contract != DISPATCHED) & (teachers.rural_years >= RURAL_SERVICE_FOR_PRINCIPAL_YEARS))


def pick_within_sections(candidates: IntArray, section: npt.ArrayLike, k: npt.ArrayLike,
                         rng: np.random.Generator) -> IntArray:
    """``k[s]`` teachers picked uniformly without replacement among the ``candidates`` of each section ``s``.

    Parameters
    ----------
    candidates
        Indices of the teachers that may be picked.
    section
        Section of every teacher (indexed by ``candidates``).
    k
        ``(S,)`` teachers to pick per section, at most the candidates there.
    rng
        Random generator.
    """
    wanted = np.asarray(k, dtype=np.int64)
    cand = np.asarray(candidates, dtype=np.int64)
    sec = np.asarray(section)[cand]
    # one uniform per candidate (so a draw's numbers do not depend on which sections pick), then only the
    # sections that pick anyone are sorted
    u = rng.random(cand.size)
    active = wanted[sec] > 0
    cand, sec, u = cand[active], sec[active].astype(np.int64), u[active]
    order = np.argsort(sec + u, kind="stable")  # by section, random order within it
    sorted_sec = sec[order]
    rank = np.arange(cand.size) - np.searchsorted(sorted_sec, sorted_sec, side="left")
    picked = cand[order[rank < wanted[sorted_sec]]]
    if picked.size != int(wanted.sum()):
        raise ValueError("asked to pick more teachers than a section's candidates")
    return picked


def assign_destinations(mover_group: npt.ArrayLike, arrivals: npt.ArrayLike, section_group: npt.ArrayLike,
                        rng: np.random.Generator) -> IntArray:
    """Destination section of each mover: the ``arrivals[s]`` places of each group shared at random among the
    movers of that group (the group totals of movers and places must be equal)."""
    groups = np.asarray(mover_group, dtype=np.int64)
    places = np.repeat(np.arange(np.asarray(arrivals).size), np.asarray(arrivals, dtype=np.int64))
    place_group = np.asarray(section_group, dtype=np.int64)[places]
    places = places[np.argsort(place_group, kind="stable")]
    order = np.lexsort((rng.random(groups.size), groups))
    if places.size != groups.size or np.any(np.sort(place_group) != groups[order]):
        raise ValueError("movers and places differ in some group")
    out = np.empty(groups.size, dtype=np.int64)
    out[order] = places
    return out


# ------------------------------------------------------------------------------------------------------------
# the draw's random streams


@dataclass(frozen=True)
class _DrawStreams(Streams):
    """The streams of one draw, shaped as the cohort engine's one-row chunk streams.

    The cohort steps ask for ``chunk_generators`` and ``uniforms`` of draws ``0 … 1``; here every component's
    generator is ``Streams(seed).draw_generator(draw, component)``.
    """

    draw: int = 0

    def chunk_generators(self, component: str, start: int, stop: int) -> list[tuple[slice, np.random.Generator]]:
        return [(slice(0, stop - start), self.draw_generator(self.draw, component))]

    def uniforms(self, component: str, start: int, stop: int, shape: tuple[int, ...] = ()) -> np.ndarray:
        return self.draw_generator(self.draw, component).random((stop - start, *shape))


# ------------------------------------------------------------------------------------------------------------
# one draw


class _Draw:
    """All mutable state of one draw: the teacher arrays, the cohort state (students, schools) and records."""

    def __init__(self, model: Model, streams: Streams, draw: int, history_records: bool):
        self.m = model
        self.s = model.sections
        self.streams = _DrawStreams(streams.seed, draw)
        self.draw = draw
        self.p = sample_parameters(model.scenario, streams, draw, draw + 1)
        registry = draw_start_registry(model, streams, draw, draw + 1, self.p)
        if registry is not None:
            self.p = registry.parameters
        self.st: State = initial_state(model, 1, registry=None if registry is None else registry.values)
        self.group = self.s.county * N_LEVELS + self.s.level
        self.n_groups = self.s.n_counties * N_LEVELS
        self.weak = np.zeros(self.s.n_sections, dtype=bool)
        self.history_records = history_records
        self.senior_promotions = np.zeros(self.s.n_counties, dtype=np.int64)
        self.rotation_eligible = np.zeros(self.s.n_counties, dtype=np.int64)
        self.records: list[dict[str, np.ndarray]] = []
        self._receiving = self._drift_receivers()
        self.t = self._initial_teachers()

    # -- helpers -------------------------------------------------------------------------------------------

    def rng(self, name: str, year: int) -> np.random.Generator:
        return self.streams.draw_generator(self.draw, f"agents.{name}/{year}")

    def r(self, year: int) -> Random:
        return Random(self.streams, 0, 1, year)

    def par(self, name: str) -> float:
        return float(self.p[name][0])

    def county_count(self, mask: npt.ArrayLike) -> IntArray:
        return np.bincount(self.s.county[self.t.section[np.asarray(mask)]], minlength=self.s.n_counties
                           ).astype(np.int64)

    def section_count(self, mask: npt.ArrayLike) -> IntArray:
        return np.bincount(self.t.section[np.asarray(mask)], minlength=self.s.n_sections).astype(np.int64)

    def regular(self) -> BoolArray:
        return np.asarray(self.t.contract != DISPATCHED)

    def _new(self, sections: IntArray, year: int, contract: int, rng: np.random.Generator,
             qualified_share: float, pe_art_share: float, age_months: IntArray | None = None) -> Teachers:
        """New teachers in ``sections``; aged 20–24 (uniform) unless ``age_months`` is given."""
        n = sections.size
        if age_months is None:
            lo, hi = recruitment.NEW_HIRE_AGE_BAND_YEARS
            age_months = 12 * lo + rng.integers(0, 12 * (hi - lo + 1), n)
        birth = census_month(year) - age_months
        female = rng.random(n) < self.par("teachers.female_share")
        zeros = np.zeros(n, dtype=np.int32)
        return Teachers(
            birth_month=birth.astype(np.int32), female=female,
            retirement_month=retirement_months(birth, female, self.m.retirement),
            section=sections.astype(np.int32),
            qualified=rng.random(n) < qualified_share, backbone=np.zeros(n, bool),
            pe_art=rng.random(n) < pe_art_share, senior=np.zeros(n, bool),
            contract=np.full(n, contract, dtype=np.int8), contract_start=np.full(n, year, dtype=np.int32),
            term_end=zeros.copy(), years_at_school=zeros.copy(), rural_years=zeros.copy(),
            last_rotation=np.full(n, NO_ROTATION, dtype=np.int32),
            home_section=zeros.copy(), return_year=zeros.copy(),
        )

    def _initial_teachers(self) -> Teachers:
        """The draw's start teachers (its start registry's, :func:`sim.model.initial_state`) as agents.

        Ages uniform within the engine's 5-year bands (:func:`sim.model.split_registry_bands`), in months;
        sex drawn with ``teachers.female_share``; qualified, backbone (among the qualified first) and PE/art
        teachers, and special-post teachers (contract years 1, 2, 3 as in the cohort engine), picked at random
        within each section; years at the school geometric with mean ``rotation.mean_tenure_years`` (the steady
        state the cohort engine assumes, capped at the years since age 20); rural or weak-school service = the
        years at the current school if it is rural or weak (no earlier record); no rotation record; senior
        title with the steady-state probability of the promotion hazard.
        """
        s, m = self.s, self.m
        year = m.scenario.start_year
        rng = self.rng("initial", year)
        bands = self.st.teachers[0]  # (S, 9): the draw's start registry (sim.model.initial_state)
        cell = np.repeat(np.arange(bands.size), bands.ravel())
        section, band = cell // tmech.N_AGE_BANDS, cell % tmech.N_AGE_BANDS
        n = section.size
        age_months = 12 * (20 + 5 * band) + rng.integers(0, 60, n)
        t = self._new(section, year, REGULAR, rng, 0.0, 0.0, age_months=age_months)
        # in service at the start: no women in a band past their statutory age (as the cohort engine's start)
        band_female = tmech.start_female_share_by_band(np.array([self.par("teachers.female_share")]), year,
                                                       schedule=m.retirement)[0]
        t.female = rng.random(n) < band_female[band]
        t.retirement_month = retirement_months(census_month(year) - age_months, t.female, m.retirement)
        order = np.lexsort((rng.random(n), section))  # teachers of a section next to each other, random order
        sorted_sec = section[order]
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.searchsorted(sorted_sec, sorted_sec, side="left")
        t.qualified = rank < self.st.qualified[0][section]  # the draw's start registry
        order_b = np.lexsort((rng.random(n), ~t.qualified, section))  # qualified teachers first
        rank_b = np.empty(n, dtype=np.int64)
        rank_b[order_b] = np.arange(n) - np.searchsorted(section[order_b], section[order_b], side="left")
        t.backbone = rank_b < self.st.backbone[0][section]
        order_p = np.lexsort((rng.random(n), section))
        rank_p = np.empty(n, dtype=np.int64)
        rank_p[order_p] = np.arange(n) - np.searchsorted(section[order_p], section[order_p], side="left")
        t.pe_art = rank_p < self.st.pe_art[0][section]
        # special-post teachers in contract years 1, 2, 3 and targeted graduates: the first ranks of `rank`
        # after the qualified ones would correlate; use a fresh order
        order_c = np.lexsort((rng.random(n), section))
        rank_c = np.empty(n, dtype=np.int64)
        rank_c[order_c] = np.arange(n) - np.searchsorted(section[order_c], section[order_c], side="left")
        sp = self.st.special_post[0].sum(axis=1)[section]
        special = rank_c < sp
        t.contract[special] = SPECIAL_POST
        # contract years 1, 2, 3 in the cohort engine's split (teachers.special_post_by_contract_year)
        ends = np.cumsum(tmech.special_post_by_contract_year(sp[special]), axis=-1)[:, :-1]
        t.contract_start[special] = year - (rank_c[special][:, None] >= ends).sum(axis=1)
        targeted = (rank_c >= sp) & (rank_c < sp + s.targeted[section])
        t.contract[targeted] = TARGETED
        tenure = self.par("rotation.mean_tenure_years")
        stay = 1.0 - 1.0 / tenure
        u = 1.0 - rng.random(n)  # in (0, 1]
        years = np.floor(np.log(u) / np.log(stay)) if stay > 0 else np.zeros(n)
        t.years_at_school = np.minimum(years, np.maximum(age_years(t.birth_month, year) - 20, 0)).astype(np.int32)
        pupils = self.st.students.sum(axis=2)
        weakness = facilities.weakness_score(pupils, self.st.floor_area_m2, self.st.sports_area_m2,
                                             self.st.equipment_value_cny, self.st.multimedia_rooms,
                                             m.facility_thresholds)
        hard = m.rural | weak_sections(weakness, self.group, self.n_groups)[0]
        t.rural_years = np.where(hard[section], t.years_at_school, 0).astype(np.int32)
        over = np.maximum(age_years(t.birth_month, year) - SENIOR_TITLE_MIN_AGE_YEARS, 0)
        t.senior = rng.random(n) < 1.0 - (1.0 - SENIOR_TITLE_HAZARD_PER_YEAR) ** over
        return t

    def _drift_receivers(self) -> tuple[IntArray, np.ndarray, np.ndarray, np.ndarray]:
        """Town and urban sections by county with cumulative weights (teachers + 1, as the cohort engine); closed
        sections do not receive."""
        s = self.s
        receiving = np.flatnonzero((s.location != RURAL) & ~self.st.closed[0])
        receiving = receiving[np.argsort(s.county[receiving], kind="stable")]
        weight = s.teachers[receiving] + 1.0
        cum = np.cumsum(weight)
        total = np.bincount(s.county[receiving], weights=weight, minlength=s.n_counties)
        start = np.concatenate([[0.0], np.cumsum(total)[:-1]])
        return receiving, cum, start, total

    def _move(self, movers: IntArray, destinations: IntArray) -> None:
        self.t.section[movers] = destinations
        self.t.years_at_school[movers] = 0

    # -- phases --------------------------------------------------------------------------------------------

    def students(self, year: int) -> None:
        step_students(self.m, self.st, self.p, self.r(year), year)

    def network(self, year: int) -> None:
        """Sections close as in the cohort engine (:func:`sim.steps.close_sections`, pupils and posts); every
        teacher of a closing section (dispatched ones too) goes to its receiver, a rotated teacher owed to it
        returns to the receiver. A closure moves the school, not the teacher's service: years at the school and
        of rural or weak-school service are kept (assumption; the cohort engine has no tenure)."""
        plan = close_sections(self.m, self.st, self.p)
        if plan is None:
            return
        t = self.t
        dest = np.arange(self.s.n_sections)
        closing = np.flatnonzero(plan.closing[0])
        dest[closing] = plan.receiver[0, closing]
        t.section = dest[t.section].astype(np.int32)
        on_loan = t.return_year > 0
        t.home_section[on_loan] = dest[t.home_section[on_loan]]
        self._receiving = self._drift_receivers()

    def classes(self, year: int) -> None:
        step_classes(self.m, self.st, self.p, self.r(year), year)

    def teacher_exits(self, year: int) -> None:
        t, s, m = self.t, self.s, self.m
        regular = self.regular()
        hard_last_year = m.rural | self.weak
        t.years_at_school += 1
        t.rural_years += (regular & hard_last_year[t.section]).astype(np.int32)
        rng = self.rng("exits", year)
        leaving = regular & retiring(t.retirement_month, year - 1)  # the school year that ends this autumn
        retention = budgeted_lever(m, "retention", year)
        rates = np.array([[self.par("attrition.urban_rate"), self.par("attrition.town_rate"),
                           self.par("attrition.rural_rate")]])
        prob = tmech.attrition_probability(
            s.location, rates, m.age_multiplier_young(self.p["attrition.young_factor"][:, None]),
            retention.rural_subsidy_cny_month, self.p["attrition.subsidy_elasticity_per_1000cny"][:, None])[0]
        u = rng.random(len(t))
        leaving |= regular & (u < prob[t.section, age_band(t.birth_month, year)])
        # rural → town drift among those who stay
        receiving, cum, start, total = self._receiving
        county = s.county[t.section]
        drift = regular & ~leaving & m.rural[t.section] & (total[county] > 0)
        drift &= rng.random(len(t)) < self.par("drift.rural_to_town_rate")
        movers = np.flatnonzero(drift)
        target = start[county[movers]] + rng.random(movers.size) * total[county[movers]]
        where = np.minimum(np.searchsorted(cum, target, side="right"), receiving.size - 1)
        self._move(movers, receiving[where])
        # special-post contracts
        ending = special_post_contract_ends(t.contract, t.contract_start, year) & ~leaving
        converts = ending & (rng.random(len(t)) < self.par("special_post.retention_share"))
        t.contract[converts] = REGULAR
        leaving |= ending & ~converts
        if special_post_outside_establishment(m, year):
            stay = ~leaving
            regular_count = self.section_count(stay & (t.contract != DISPATCHED))  # the dispatched hold no post
            in_contract = self.section_count(stay & (t.contract == SPECIAL_POST))
            self.st.section_quota = establishment_after_conversion(
                self.st.section_quota, regular_count[None], in_contract[None], self.section_count(converts)[None],
                own_post=special_post_brings_post(m, year))
        # float, as the cohort engine's county sums (so the raw dicts have the same dtypes)
        self.st.exits = self.county_count(leaving)[None, :].astype(np.float64)
        self.t = t.take(~leaving)

    def dispatch_departures(self, year: int) -> None:
        self.t = self.t.take(~dispatch_term_ended(self.t.contract, self.t.term_end, year))

    def staffing(self) -> tuple[IntArray, IntArray]:
        """Regular teachers and teachers counted for the staffing norm, per section."""
        regular = self.section_count(self.regular())
        counts = self.m.scenario.levers.assessment.dispatched_count_toward
        counted = regular + (self.section_count(~self.regular()) if "staffing" in counts else 0)
        return regular, counted

    def quota_verification(self, year: int) -> None:
        s, st = self.s, self.st
        q = self.m.scenario.levers.quota
        regular, _ = self.staffing()
        if special_post_outside_establishment(self.m, year):  # in their contract they hold no post
            regular = regular - self.section_count(self.t.contract == SPECIAL_POST)
        st.section_quota = verified_establishment(self.m, st.section_quota, regular[None], st.students.sum(axis=2),
                                                  self.p, year)
        if st.closed.any():  # a closed section has no posts (sim.mechanisms.network)
            st.section_quota = np.where(st.closed, 0.0, st.section_quota)
        if redeployment_acts(self.m.scenario, year):  # 縣管校聘 redeploys every year instead (redeployment)
            return
        out, into = quota.redeploy_surplus(regular[None], st.section_quota, s.county, s.level, s.n_counties,
                                           q.redeploy_surplus_share)
        if out.any():
            self._redeploy(out[0], into[0], self.rng("quota.redeploy", year))

    def redeployment(self, year: int) -> None:
        """縣管校聘: the counts of :func:`sim.steps.redeployment_flows`, the movers picked at random among the
        regular teachers of each releasing section, the places shared at random among them."""
        regular, _ = self.staffing()
        # special-post teachers in their contract hold no post when outside the establishment: neither a surplus
        # of it nor movers (their contract binds them to their school); dispatched teachers hold none either
        outside = special_post_outside_establishment(self.m, year)
        if outside:
            regular = regular - self.section_count(self.t.contract == SPECIAL_POST)
        flows = redeployment_flows(self.m, regular[None], self.st.section_quota, self.p)
        if flows.outflow.any():
            self._redeploy(flows.outflow[0], flows.inflow[0], self.rng("redeployment", year),
                           exclude_contract=outside)
        self.st.redeployed = county_sum(flows.inflow, self.s).astype(np.int64)

    def _redeploy(self, out: IntArray, into: IntArray, rng: np.random.Generator,
                  exclude_contract: bool = False) -> None:
        """Move ``out[s]`` teachers picked at random out of each section into the ``into`` places (same group);
        with ``exclude_contract`` not the special-post teachers in their contract."""
        eligible = self.regular() & (self.t.contract != SPECIAL_POST) if exclude_contract else self.regular()
        movers = pick_within_sections(np.flatnonzero(eligible), self.t.section, out, rng)
        group = self.group[self.t.section[movers]]
        self._move(movers, assign_destinations(group, into, self.group, rng))

    def _hire(self, placed: IntArray, year: int, contract: int, name: str) -> None:
        sections = np.repeat(np.arange(self.s.n_sections), placed)
        shortfall = None
        if targeting_on(self.m, year):  # the first hires of a section short of PE/art teachers are PE/art
            shortfall = targeting.pe_art_shortfall(
                self.st.students.sum(axis=2)[0], self._counted()[2],
                self.m.thresholds[:, INDICATORS.index("pe_art_teachers_per_100")])
        new = self._new(sections, year, contract, self.rng(f"hire.{name}", year),
                        self.par("recruitment.new_hire_qualified_share"), self.par("recruitment.new_hire_pe_art_share"))
        if shortfall is not None:
            rank = np.arange(sections.size) - np.searchsorted(sections, sections)
            new.pe_art |= rank < shortfall[sections]
        self.t = self.t.extend(new)

    def recruitment_season(self, year: int) -> None:
        s, st, m = self.s, self.st, self.m
        r = self.r(year)
        local, _ = self.staffing()  # dispatched teachers hold no post and are not the county's own (vacant_posts)
        rec = budgeted_lever(m, "recruitment", year)
        outside = special_post_outside_establishment(m, year)
        in_contract = self.section_count(self.t.contract == SPECIAL_POST) if outside else 0
        vacancy = vacant_posts(st.section_quota, (local - in_contract)[None])
        hired = np.zeros_like(vacancy)
        room = special_post_room(m, local[None], st.students.sum(axis=2), self.p, year) if outside else vacancy
        special = r.apply("recruitment.special_post", recruitment.special_post_hires,
                          per_year_total=m.scale.count(rec.special_post_per_year, "pupils"),
                          section_location=s.location,
                          section_county=s.county, county_south=s.county_south, county_remote=s.county_remote,
                          per_draw={"section_vacancy": room,
                                    "take_up": self.p["recruitment.special_post_take_up"][:, None]})
        self._hire(special[0], year, SPECIAL_POST, "special_post")
        if not outside:  # outside the establishment they take none of its posts
            vacancy = vacancy - special
        hired += special
        st.targeted_hires = np.zeros_like(st.targeted_hires)
        if year >= recruitment.TARGETED_GRADUATES_FIRST_YEAR:
            targeted = r.apply("recruitment.targeted", recruitment.targeted_graduate_hires,
                               per_year_total=m.scale.count(rec.targeted_graduates_per_year, "pupils"),
                               section_county=s.county,
                               county_south=s.county_south, county_remote=s.county_remote,
                               per_draw={"section_vacancy": vacancy,
                                         "take_up": self.p["recruitment.targeted_take_up"][:, None]})
            self._hire(targeted[0], year, TARGETED, "targeted")
            vacancy = vacancy - targeted
            hired += targeted
            st.targeted_hires = county_sum(targeted, s).astype(np.int64)
        regular, _ = self.staffing()
        if outside:
            regular = regular - self.section_count(self.t.contract == SPECIAL_POST)
        surplus_section = np.where(s.level == PRIMARY, np.maximum(regular - np.ceil(st.section_quota), 0), 0)
        junior_vacancy_section = np.where(s.level == JUNIOR, vacancy, 0)
        retrained = r.apply("recruitment.retrain", recruitment.retrain_for_junior,
                            county_sum(surplus_section, s).astype(np.int64),
                            county_sum(junior_vacancy_section, s).astype(np.int64),
                            per_year_total=m.scale.count(rec.junior_retraining_per_year, "pupils"),
                            per_draw={"pass_rate": self.p["recruitment.retraining_pass_rate"][:, None]})
        st.retrained = np.asarray(retrained, dtype=np.int64)
        if retrained.any():
            out = quota.allocate_largest_remainder(retrained, surplus_section, s.county, s.n_counties)[0]
            into = quota.allocate_largest_remainder(retrained, junior_vacancy_section, s.county, s.n_counties)
            rng = self.rng("recruitment.retrain_move", year)
            movers = pick_within_sections(np.flatnonzero(self.regular()), self.t.section, out, rng)
            self._move(movers, assign_destinations(s.county[self.t.section[movers]], into[0], s.county, rng))
            vacancy = np.maximum(vacancy - into, 0)
        if rec.open_recruitment:
            county_vacancy = level_county_sum(vacancy, s).astype(np.int64)
            open_hires = r.apply("recruitment.open", recruitment.open_recruitment, county_vacancy,
                                 county_remote=s.county_remote,
                                 per_draw={"fill_rate": self.p["recruitment.fill_rate"][:, None],
                                           "remote_penalty": self.p["recruitment.remote_fill_penalty"][:, None]})
            placed = r.apply("recruitment.place", recruitment.allocate_hires_to_sections, open_hires, vacancy,
                             section_county=s.county, section_level=s.level)
            self._hire(placed[0], year, REGULAR, "open")
            hired += placed
        st.hires = county_sum(hired, s).astype(np.int64)

    def _weakness(self) -> np.ndarray:
        st = self.st
        return facilities.weakness_score(st.students.sum(axis=2), st.floor_area_m2, st.sports_area_m2,
                                         st.equipment_value_cny, st.multimedia_rooms, self.m.facility_thresholds)

    def _counted(self) -> tuple[IntArray, IntArray, IntArray]:
        """``(S,)`` qualified, backbone and PE/art teachers of each section as the assessment counts them."""
        t, regular = self.t, self.regular()
        extra = dispatch.counted_dispatched(
            self.section_count(~regular), self.section_count(~regular & t.backbone),
            self.section_count(~regular & t.pe_art), self.m.scenario.levers.assessment.dispatched_count_toward)
        return (self.section_count(regular & t.qualified) + extra["qualification"],
                self.section_count(regular & t.backbone) + extra["backbone"],
                self.section_count(regular & t.pe_art) + extra["pe_art"])

    def _shortfalls(self) -> dict[str, np.ndarray]:
        """:func:`sim.steps.shortfalls` of the teachers now in post, ``(1, S)`` arrays."""
        qualified, backbone, pe_art = self._counted()
        return shortfalls(self.m, self.st, qualified[None], backbone[None], pe_art[None])

    def rotation_round(self, year: int) -> None:
        s, st, t = self.s, self.st, self.t
        lever = budgeted_lever(self.m, "rotation", year)
        back = np.flatnonzero((t.return_year > 0) & (t.return_year <= year))
        if back.size:  # loans whose term ends go home first (rotation.term_years)
            self._move(back, t.home_section[back].astype(np.int64))
            t.return_year[back] = 0
        weakness = self._weakness()
        self.weak = weak_sections(weakness, self.group, self.n_groups)[0]
        eligible = self.regular() & (t.return_year == 0) & rotation_eligible(
            t.years_at_school, t.last_rotation, year, lever.min_years_at_school, lever.exclude_rotated_within_years)
        self.rotation_eligible = self.county_count(eligible)
        eligible_backbone = self.section_count(eligible & t.backbone)
        eligible_all = self.section_count(eligible)
        teachers, _ = self.staffing()

        def _rotate(stock: np.ndarray, backbone: np.ndarray, w: np.ndarray, *, rng: np.random.Generator,
                    **kwargs: Any) -> rotation.RotationFlows:
            return rotation.rotate(stock, backbone, weakness=w, rng=rng, **kwargs)

        per_draw: dict[str, np.ndarray] = {}
        placement = "missing_indicator" if targeting_on(self.m, year) else lever.placement
        if placement != "proportional":  # the indicators of the teachers now in post
            per_draw = self._shortfalls()
        if st.closed.any():  # closed sections neither send nor receive
            per_draw = {**per_draw, "is_open": ~st.closed}
        # the eligible teachers are known: pass them as the stock with an eligible share of 1 (exact)
        flows = self.r(year).apply(
            "rotation", _rotate, eligible_all[None], eligible_backbone[None], weakness,
            share=lever.share, backbone_share=lever.backbone_share, direction=lever.direction,
            section_county=s.county, section_level=s.level, section_location=s.location, n_counties=s.n_counties,
            eligible_share=1.0, receiving_weight=(teachers + 1.0)[None], placement=placement,
            per_draw=per_draw)
        rng = self.rng("rotation.pick", year)
        cand_bb = np.flatnonzero(eligible & t.backbone)
        cand_reg = np.flatnonzero(eligible & ~t.backbone)
        out_bb = pick_within_sections(cand_bb, t.section, flows.out_backbone[0], rng)
        out_reg = pick_within_sections(cand_reg, t.section, flows.out_regular[0], rng)  # sending sections
        back = pick_within_sections(cand_reg, t.section, flows.return_out[0], rng)  # receiving sections
        for movers, arrivals in ((out_bb, flows.in_backbone[0]), (out_reg, flows.in_regular[0]),
                                 (back, flows.return_in[0])):
            home = t.section[movers].copy()
            self._move(movers, assign_destinations(self.group[t.section[movers]], arrivals, self.group, rng))
            t.last_rotation[movers] = year
            if lever.term_years > 0:
                t.home_section[movers] = home
                t.return_year[movers] = year + lever.term_years
        rotated = flows.rotated_per_county
        st.rotated = rotated
        st.rotation_share = np.divide(rotated, flows.eligible_per_county, out=np.full(rotated.shape, np.nan),
                                      where=flows.eligible_per_county > 0)
        st.backbone_share_of_rotated = np.divide(flows.backbone_rotated_per_county, rotated,
                                                 out=np.full(rotated.shape, np.nan), where=rotated > 0)

    def dispatch_arrivals(self, year: int) -> int:
        """Arrivals of the year; returns the term (years) of this batch."""
        s, st = self.s, self.st
        lever = budgeted_lever(self.m, "dispatch", year)
        teachers, _ = self.staffing()
        weight = np.maximum(np.ceil(st.section_quota) - teachers, 0) + 0.1 * (st.students.sum(axis=2) > 0)

        def _arrivals(w: np.ndarray, *, rng: np.random.Generator, **kwargs: Any) -> np.ndarray:
            return dispatch.dispatch_arrivals(section_weight=w, rng=rng, **kwargs)

        arrivals = self.r(year).apply(
            "dispatch.arrivals", _arrivals, weight, per_year=self.m.scale.count(lever.per_year, "pupils"),
            south_share=lever.south_share,
            junior_share=lever.junior_share, county_south=s.county_south, section_county=s.county,
            section_level=s.level, per_draw={"arrival_share": self.p["dispatch.arrival_share"][:, None]})
        sections = np.repeat(np.arange(s.n_sections), arrivals[0])
        rng = self.rng("dispatch.arrivals", year)
        new = self._new(sections, year, DISPATCHED, rng, 1.0, self.par("dispatch.pe_art_share"),
                        age_months=12 * 40 + np.zeros(sections.size, dtype=np.int64))
        new.backbone = rng.random(sections.size) < self.par("dispatch.backbone_share")
        new.term_end[:] = year + lever.term_years
        self.t = self.t.extend(new)
        return int(lever.term_years)

    def development(self, year: int) -> None:
        t = self.t
        lever = budgeted_lever(self.m, "development", year)
        rng = self.rng("development", year)
        regular = self.regular()
        n = len(t)
        upgraded = regular & ~t.qualified & (rng.random(n) < lever.qualification_upgrade_share)
        t.qualified |= upgraded
        self.st.qualification_upgrades = self.county_count(upgraded)[None].astype(np.int64)
        t.backbone &= t.qualified | ~regular
        cultivated = regular & t.qualified & ~t.backbone & (rng.random(n) < lever.backbone_cultivation_share)
        if targeting_on(self.m, year):
            cultivated = self._aim_cultivation(cultivated, regular & t.qualified & ~t.backbone, year)
        t.backbone |= cultivated
        self.st.backbone_cultivated = self.county_count(cultivated)[None].astype(np.int64)
        t.backbone &= ~(regular & (rng.random(n) < 1.0 - self.par("development.backbone_retention")))
        rule = year >= lever_at(self.m.scenario, "rotation", year).from_year
        promoted = senior_title_candidates(t, year, rule) & (rng.random(n) < SENIOR_TITLE_HAZARD_PER_YEAR)
        t.senior |= promoted
        self.senior_promotions = self.county_count(promoted)

    def _aim_cultivation(self, cultivated: BoolArray, candidates: BoolArray, year: int) -> BoolArray:
        """The same number cultivated per county and level, picked first among the candidates of sections below
        the backbone threshold (:func:`sim.mechanisms.targeting.aimed_cultivation`), at random within each."""
        t = self.t
        below = self._shortfalls()["below_backbone"][0]
        wanted = np.bincount(self.group[t.section[cultivated]], minlength=self.n_groups)
        idx = np.flatnonzero(candidates)
        self.rng("development.targeting", year).shuffle(idx)
        sec = t.section[idx]
        order = idx[np.argsort(self.group[sec] * 2 + ~below[sec], kind="stable")]
        g = self.group[t.section[order]]
        rank = np.arange(order.size) - np.searchsorted(g, g)
        out = np.zeros(len(t), dtype=bool)
        out[order[rank < wanted[g]]] = True
        return out

    def facilities(self, year: int) -> None:
        step_facilities(self.m, self.st, self.p, self.r(year), year)

    def assessment(self, year: int) -> None:
        """Counts per section into the cohort state, then the cohort engine's assessment."""
        s, st, t = self.s, self.st, self.t
        regular = self.regular()
        cells = t.section[regular].astype(np.int64) * tmech.N_AGE_BANDS + age_band(t.birth_month[regular], year)
        st.teachers = np.bincount(cells, minlength=s.n_sections * tmech.N_AGE_BANDS).reshape(
            1, s.n_sections, tmech.N_AGE_BANDS).astype(np.int64)
        st.qualified = self.section_count(regular & t.qualified)[None]
        st.backbone = self.section_count(regular & t.backbone)[None]
        st.pe_art = self.section_count(regular & t.pe_art)[None]
        for attr, mask in (("dispatched", ~regular), ("dispatched_backbone", ~regular & t.backbone),
                           ("dispatched_pe_art", ~regular & t.pe_art)):
            terms = np.zeros((1, s.n_sections, dispatch.MAX_TERM_YEARS), dtype=np.int64)
            terms[0, :, 0] = self.section_count(mask)
            setattr(st, attr, terms)
        in_contract = np.zeros((1, s.n_sections, tmech.SPECIAL_POST_CONTRACT_YEARS), dtype=np.int64)
        in_contract[0, :, 0] = self.section_count(regular & (t.contract == SPECIAL_POST))
        st.special_post = in_contract  # special-post teachers in their contract (costed, sim.costs)
        record = assess(self.m, st, self.p, self.r(year), year)
        if self.history_records:
            record["senior_promotions"] = self.senior_promotions[None].copy()
            record["principal_eligible"] = self.county_count(principal_eligible(t))[None]
            record["rotation_eligible"] = self.rotation_eligible[None].copy()
        self.records.append(record)
        self.senior_promotions = np.zeros(s.n_counties, dtype=np.int64)

    # -- the calendar --------------------------------------------------------------------------------------

    def run(self, on_year: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
        scenario = self.m.scenario
        first, last = scenario.start_year, scenario.horizon
        env = simpy.Environment()

        def at(year: int, phase: str) -> int:
            return (year - first) * len(PHASES) + PHASES.index(phase)

        def yearly(phase: str, action: Callable[[int], Any], chosen: list[int]) -> Generator[simpy.Event, Any, None]:
            for year in chosen:
                yield env.timeout(at(year, phase) - env.now)
                action(year)

        def departure(year: int) -> Generator[simpy.Event, Any, None]:
            yield env.timeout(at(year, "dispatch_departures") - env.now)
            self.dispatch_departures(year)

        def arrivals(year: int) -> None:
            term = self.dispatch_arrivals(year)
            if year + term <= last:
                env.process(departure(year + term))

        def assessment(year: int) -> None:
            self.assessment(year)
            if on_year is not None:
                on_year(1)

        actions: dict[str, Callable[[int], Any]] = {
            "students": self.students, "network": self.network, "classes": self.classes,
            "teacher_exits": self.teacher_exits,
            "quota": self.quota_verification, "redeployment": self.redeployment,
            "recruitment": self.recruitment_season, "rotation": self.rotation_round, "dispatch_arrivals": arrivals,
            "development": self.development, "facilities": self.facilities, "assessment": assessment,
        }
        for step in steps_for("agents"):
            if step.name == "dispatch_departures":
                continue  # one process per arrival batch, sleeping for its term (``arrivals``)
            env.process(yearly(step.name, actions[step.name], step.years(scenario)))
        env.run()
        return {name: np.stack([rec[name] for rec in self.records], axis=1) for name in self.records[0]}


def run_draw_agents(model: Model, streams: Streams, draw: int, on_year: Callable[[int], None] | None = None,
                    *, history_records: bool = False) -> dict[str, np.ndarray]:
    """Project draw ``draw``: a dict of arrays ``(1, year, county, …)``, as :func:`sim.cohort.run_chunk`."""
    return _Draw(model, streams, draw, history_records).run(on_year)


def run_draws_agents(model: Model, start: int, stop: int, on_year: Callable[[int], None] | None = None,
                     *, history_records: bool = False) -> dict[str, np.ndarray]:
    """Raw arrays of draws ``start … stop-1`` of the agent engine, one draw at a time.

    The same keys, shapes and dtypes as :func:`sim.ensemble.run_draws`, so :func:`sim.ensemble.to_dataset`
    applies unchanged. Draw ``d`` depends on the seed and ``d`` only (any ``start``, ``stop``). With
    ``history_records=True`` the dict also holds :data:`HISTORY_RECORDS`.

    Parameters
    ----------
    model
        Static data of the run (:func:`sim.model.prepare`).
    start, stop
        Draws to run.
    on_year
        Called with 1 after each simulated year of each draw (progress).
    history_records
        Add the records of the history rules (senior promotions, principal-eligible and rotation-eligible
        teachers per county and year).
    """
    if not 0 <= start < stop:
        raise ValueError(f"need 0 <= start < stop, got {start}, {stop}")
    streams = Streams(model.scenario.seed)
    parts = [run_draw_agents(model, streams, d, on_year, history_records=history_records)
             for d in range(start, stop)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
