"""The yearly steps of the model and their order, as data (:data:`STEPS`).

Each step is a function ``step(model, state, parameters, random, year)`` that changes the :class:`sim.model.State`
by calling the mechanism functions of :mod:`sim.mechanisms` (the rules); :func:`assess` (step ``assessment``)
also returns the year's records. :data:`STEPS` lists them in yearly order (DESIGN §3) with, for each, whether it
runs in the start year, the years it acts, the engines that run it and the lever groups it reads. Both engines
follow that table: the cohort engine (:func:`sim.cohort.run_chunk`) calls the step functions in its order; the
agent engine (:mod:`sim.agents`) takes its calendar phases from it and runs its own per-teacher version of the
steps marked ``shared=False``. ``edusim show --steps SCENARIO`` prints it. The order is written here only.

Random numbers: :class:`Random` hands each mechanism call its own stream per (block of draws, name, year), so a
draw's numbers do not depend on the chunking, and two scenarios share them (common random numbers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.mechanisms import (
    assessment,
    development,
    dispatch,
    facilities,
    kernels,
    programmes,
    quota,
    recruitment,
    redeployment,
    rotation,
    segments,
    students,
    targeting,
)
from sim.mechanisms import classes as cmech
from sim.mechanisms import network as nmech
from sim.mechanisms import teachers as tmech
from sim.model import (
    SPECIAL_EDUCATION_POPULATION,
    Model,
    State,
    budgeted_lever,
    county_sum,
    level_county_sum,
    lever_at,
    section_total,
)
from sim.rng import Streams
from sim.scenario import Scenario
from sim.vocabulary import ENGINES, INDICATORS, JUNIOR, PRIMARY, QUALITY_SCHOOL_DEFINITIONS

Parameters = dict[str, np.ndarray]
"""Each uncertainty's value per draw of the chunk, ``(D,)`` (:func:`sim.model.sample_parameters`)."""


class Random:
    """The random streams of one chunk of draws in one year.

    :meth:`apply` calls a mechanism function once per block of draws (:data:`sim.rng.BLOCK_SIZE`) with the
    block's own generator for the stream ``"NAME/YEAR"`` (:meth:`sim.rng.Streams.chunk_generators`), so a draw's
    numbers depend on the seed, its block, the name and the year only: not on the chunk it runs in nor on other
    streams. The agent engine passes streams of one draw (``start = 0``, ``stop = 1``).

    Parameters
    ----------
    streams
        The run's keyed streams.
    start, stop
        Draws ``start … stop-1`` of this chunk.
    year
        School year of the calls.
    """

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


def _dropout_hazards(m: Model, p: Parameters, r: Random, first: int, last: int) -> np.ndarray:
    """``(D, C, 3, n)`` per-transition dropout hazard of each county and level (primary steps, the primary→junior
    transition, junior steps) in the years ``first, first ∓ 1, …, last`` (:func:`sim.mechanisms.students.
    dropout_hazard` of :func:`sim.mechanisms.students.level_hazards`); the county multipliers come from one
    stream per draw that does not change with the year."""
    multiplier = Random(r.streams, r.start, r.stop, 0).apply(
        "students.dropout_county", students.county_dropout_multiplier, p["students.dropout_county_sd"],
        n_counties=m.sections.n_counties)
    reference = students.level_hazards(p["students.consolidation_2020"], p["students.transition_hazard_ratio"],
                                       p["students.junior_hazard_ratio"], p["students.dropout_rise_before_2020"])
    step = -1 if last < first else 1
    return np.stack([students.dropout_hazard(y, reference, p["students.dropout_decline_per_year"], multiplier,
                                             p["students.dropout_rise_before_2020"])
                     for y in range(first, last + step, step)], axis=-1)


def _record_consolidation(m: Model, st: State, flows: students.PromotionFlows, hazard: np.ndarray) -> None:
    """T7 measured from the flows (issue 16): this year's grade-9 completers of each county and their entry
    cohort, completers ÷ the cohort's share still in school (:func:`sim.mechanisms.students.
    advance_cohort_survival`); then the cohorts move up a grade."""
    s = m.sections
    completers = county_sum(flows.graduates[:, :, students.LAST_GRADE_INDEX], s).astype(np.float64)
    st.consolidation_completers = completers
    st.consolidation_cohort = np.divide(completers, st.cohort_survival[..., students.LAST_GRADE_INDEX],
                                        out=np.zeros_like(completers),
                                        where=st.cohort_survival[..., students.LAST_GRADE_INDEX] > 0)
    by_grade = np.stack([county_sum(st.students[:, :, g], s) for g in range(students.N_GRADES)], axis=-1)
    dropped = np.stack([county_sum(flows.dropouts[:, :, g], s) for g in range(students.N_GRADES)], axis=-1)
    st.cohort_survival = students.advance_cohort_survival(st.cohort_survival, by_grade, dropped, hazard)


def step_students(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Promotion with dropout, grade-1 intake from the births of ``year − 6``, grade-7 entry, urbanisation."""
    s = m.sections
    hazard = _dropout_hazards(m, p, r, year, year)[..., 0]
    if np.isnan(st.cohort_survival).any():  # first step: the cohorts' shares from the hazard of the years before
        st.cohort_survival = students.start_cohort_survival(
            _dropout_hazards(m, p, r, year - 1, year - students.TRANSITIONS))
    flows = r.apply("students.promote", students.promote, st.students,
                    per_draw={"survival_per_year": 1.0 - hazard[:, s.county, :]})
    _record_consolidation(m, st, flows, hazard)
    grads = students.primary_graduates_by_county(flows.graduates, s.county, s.n_counties)
    if year <= students.LAST_CENSUS_ENTRY_YEAR:  # the census cohort under the draw's mix of readings, times the
        weights = students.reading_weights(p["students.census_reading_births"],  # entrants per census child
                                           p["students.census_reading_monotone"])
        expected = students.expected_intake_mixed(year, m.census_readings, weights, p["births.trend_per_year"],
                                                  anchor_births=m.anchor_births)
        expected = expected * p["students.entrants_per_census_child"][:, None]
    else:  # projected births shared by the census age-0 counts (a one-year band: every reading the same)
        expected = students.expected_intake_from_births(year, m.census_by_age, p["births.trend_per_year"],
                                                        anchor_births=m.anchor_births)
    intake = r.apply("students.intake", students.realise_intake, expected)
    shut = st.closed.any()  # closed sections take no entrants (sim.mechanisms.network)
    if shut:  # per draw: the locations left without an open primary section differ between draws
        by_location = r.apply("students.intake_location", students.split_by_location, intake,
                              per_draw={"location_share": _intake_location_share(m, st)})
    else:
        by_location = r.apply("students.intake_location", students.split_by_location, intake,
                              location_share=m.intake_location_share)
    weights = st.students[:, :, 0] + 1.0
    if shut:
        weights = np.where(st.closed, 0.0, weights)
    grade1 = r.apply("students.assign", students.assign_intake, by_location, weights,
                     section_county=s.county, section_location=s.location, section_is_primary=s.level == PRIMARY)
    grade7 = r.apply("students.junior_entry", students.junior_entry, grads,
                     np.where(st.closed, 0.0, st.students[:, :, 6] + 1.0) if shut else st.students[:, :, 6] + 1.0,
                     section_county=s.county, section_is_junior=s.level == JUNIOR)
    st.student_entries = county_sum(grade1, s).astype(np.int64)
    st.junior_entries = county_sum(grade7, s).astype(np.int64)
    st.student_exits = county_sum(section_total(flows.dropouts) + flows.graduates[:, :, 8], s).astype(np.int64)
    new = flows.promoted  # a fresh array of this step: filled in place
    new[:, :, 0] += grade1
    new[:, :, 6] += grade7
    drift = r.apply("students.urbanisation", students.urbanisation_drift, new, section_location=s.location,
                    section_county=s.county,
                    per_draw={"drift_rate": p["students.urbanisation_drift_per_year"][:, None]})
    new -= drift.moved_out
    new += drift.moved_in
    st.students = new


def class_size_limits(m: Model) -> np.ndarray:
    """``(S,)`` class-size maximum of each section's level (``calibration/data/quality_balance_standard.csv``)."""
    limits = m.standard.class_size_max
    return np.where(m.sections.level == PRIMARY, limits["primary"], limits["junior"]).astype(np.int64)


def step_classes(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Classes per grade from the pupils and the class-size norm within the classrooms; missing classrooms
    started, in use after the construction lag (:mod:`sim.mechanisms.classes`). No random numbers."""
    lever = m.scenario.levers.classes
    limit = class_size_limits(m)
    wanted = cmech.wanted_classes(st.students, limit)
    if lever.follow_enrolment:  # a nine-year school's parts lend each other the rooms they do not need
        st.classrooms = cmech.share_rooms_in_school(wanted, st.classrooms, cmech.school_pairs(m.sections.school))
    build_share = lever.build_share if lever.follow_enrolment else 0.0  # fixed classes: nothing to build for
    started = cmech.classrooms_to_start(wanted, st.classrooms, st.classroom_pipeline.sum(axis=2), build_share)
    lag = np.rint(p["facilities.construction_lag_years"]).astype(np.int64)
    arrived, st.classroom_pipeline = cmech.advance_construction(started, st.classroom_pipeline, lag)
    st.classrooms = st.classrooms + arrived
    st.classrooms_started = county_sum(started + st.receiver_rooms_started, m.sections).astype(np.int64)
    # the classes and the largest class the assessment reads (the pupils do not change between here and it)
    if lever.follow_enrolment or year == m.scenario.start_year:
        st.classes, st.largest_class = cmech.form_and_measure(st.students, st.classrooms, limit)
    else:  # classes kept; a grade that gains its first pupils opens one
        st.classes = np.maximum(st.classes, (st.students > 0).astype(np.int64))
        st.largest_class = cmech.largest_class(st.students, st.classes)
    st.classes_short_of_rooms = county_sum(np.maximum(wanted - st.classrooms, 0), m.sections).astype(np.int64)


CATEGORIES = ("qualified", "backbone", "pe_art")


def _move_attributes(m: Model | None, st: Any, before: np.ndarray, out: np.ndarray, r: Random, name: str, *,
                     carry: tuple[str, ...] = CATEGORIES, special: bool = False,
                     into: np.ndarray | None = None) -> None:
    """Categories (``carry``) and, with ``special``, special-post contracts of the ``out`` teachers leaving each
    section (of ``before``), drawn without replacement; with ``into``, placed among the arrivals of the same
    county without replacement. One compiled pass (:func:`sim.mechanisms.kernels.move_attributes`) per category
    and one for the contracts, each with its own stream (``NAME.CATEGORY``, ``NAME.special_post``): a lever that
    changes one category's counts leaves the random numbers of the others unchanged (issue 16 item 5; until
    2026-12-06 one pass drew them all from one stream).

    Each category's leavers: ``Hypergeometric(min(category, before), rest, out)``, category by category. Special
    posts (:func:`_special_slots`, capped at ``before``): one multivariate hypergeometric draw over the contract
    years. Without this, a special-post teacher who retired or left would still count at the end of the contract
    and leave again. Placed: each category's movers of a county by a multivariate hypergeometric draw over the
    arrivals ``into`` of its sections; the contract years one after the other among the arrivals not yet given
    one.
    """
    if into is not None and m is None:
        raise ValueError("placing movers needs the model's sections")
    none = np.zeros((*before.shape, 0), dtype=np.int64)

    def one_pass(stream: str, independent: np.ndarray, exclusive: np.ndarray) -> kernels.Attributes:
        if into is None:
            return r.apply(stream, kernels.move_attributes, before, out, independent, exclusive)
        assert m is not None
        return r.apply(stream, kernels.move_attributes, before, out, independent, exclusive,
                       per_draw={"into": into}, group=m.sections.county, n_groups=m.sections.n_counties)

    for attr in carry:
        moved = one_pass(f"{name}.{attr}", np.asarray(getattr(st, attr))[..., None], none)
        setattr(st, attr, np.ascontiguousarray(moved.independent[..., 0]))
    if special:
        st.special_post = one_pass(f"{name}.special_post", none, st.special_post).exclusive


def _remove_categories(st: State, before: np.ndarray, leaving: np.ndarray, r: Random, name: str) -> None:
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


def _remove_special(st: Any, before: np.ndarray, leaving: np.ndarray, r: Random, name: str) -> None:
    """Special-post teachers among ``leaving`` (out of ``before``), by contract year.

    A multivariate hypergeometric draw, as successive hypergeometric draws: the leavers not yet attributed to an
    earlier contract year are drawn from the teachers not in an earlier contract year (see
    :func:`_move_attributes`).
    """
    _move_attributes(None, st, before, leaving, r, name, carry=(), special=True)


def step_teacher_exits(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Retirement, ageing, voluntary attrition, rural → town drift, end of special-post contracts."""
    s = m.sections
    # retirement first, then the others age. The step into the autumn of `year` covers the school year that
    # started in `year - 1`: those reaching the statutory age between the two autumns retire.
    # Women and men retire at different ages: the share of women of each band is tracked per draw.
    h_f, h_m = tmech.sex_hazards_by_band(year - 1, schedule=m.retirement)
    share, ageing_p = tmech.mixed_retirement_and_ageing(st.female_share, h_f, h_m)
    st.female_share = tmech.female_share_after_year(st.female_share, st.teachers.sum(axis=1), h_f, h_m)
    # retirement, ageing and voluntary attrition in one pass (teachers.retire_age_and_leave)
    retention = budgeted_lever(m, "retention", year)
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
    if st.closed.any():  # closed sections receive nobody (sim.mechanisms.network): weights per draw
        drift = r.apply("teachers.drift", tmech.rural_to_town_drift, stock, section_location=s.location,
                        section_county=s.county,
                        per_draw={"rate": p["drift.rural_to_town_rate"][:, None],
                                  "receiving_weights": np.where(st.closed, 0.0, s.teachers + 1.0)})
    else:
        drift = r.apply("teachers.drift", tmech.rural_to_town_drift, stock, section_location=s.location,
                        section_county=s.county, receiving_weights=s.teachers + 1.0,
                        per_draw={"rate": p["drift.rural_to_town_rate"][:, None]})
    before_total = section_total(st.teachers)
    left_total = exits.leavers
    # categories and contracts of the leavers, then of the rural → town movers (who take theirs along)
    _move_attributes(m, st, before_total, left_total, r, "teachers.exit_attributes", special=True)
    moved_out, moved_in = section_total(drift.moved_out), section_total(drift.moved_in)
    _move_attributes(m, st, before_total - left_total, moved_out, r, "teachers.drift_attributes", special=True,
                     into=moved_in)
    stock = stock - drift.moved_out + drift.moved_in

    # special-post contracts: continuing teachers stay among the teachers; leavers go
    before = section_total(stock)
    special = _special_slots(st, before)
    contract = r.apply("teachers.special_post", tmech.special_post_contract_end, special,
                       per_draw={"retention_share": p["special_post.retention_share"][:, None]})
    leaving = np.minimum(contract.leaving, before)
    removed = r.apply("teachers.special_post_bands", tmech.remove_from_bands, stock, leaving)
    stock = stock - removed
    _remove_categories(st, before, leaving, r, "teachers.special_categories")
    st.special_post = contract.continuing
    if special_post_outside_establishment(m, year):
        # dispatched teachers hold no post of the county's establishment (theirs stays in the sending province)
        st.section_quota = establishment_after_conversion(
            st.section_quota, section_total(stock), contract.continuing.sum(axis=2), contract.converted_to_regular,
            own_post=special_post_brings_post(m, year))
    st.teachers = stock
    st.exits = county_sum(left_total + leaving, s)


def special_post_outside_establishment(m: Model, year: int) -> bool:
    """Whether special-post teachers hold no post of the county's establishment during their contract this year
    (``levers.recruitment.special_post_post`` ``outside`` or ``reserve``)."""
    return lever_at(m.scenario, "recruitment", year).special_post_post != "in_establishment"


def special_post_brings_post(m: Model, year: int) -> bool:
    """Whether the special-post teachers who stay at the end of their contract bring a post of their own into the
    county's establishment this year (``levers.recruitment.special_post_post: reserve``, Xinjiang's
    人才儲備編制: the region holds their post during the contract and provides it at the end, "編制由自治區統籌解決",
    Tianshan Net 2009-05-27, calibration/SEARCHES.md R1)."""
    return lever_at(m.scenario, "recruitment", year).special_post_post == "reserve"


def establishment_after_conversion(establishment: np.ndarray, regular: np.ndarray, in_contract: np.ndarray,
                                   converted: np.ndarray, *, own_post: bool = False) -> np.ndarray:
    """``(D, S)`` establishment once the special-post teachers who stay at the end of their contract are taken
    into it (with ``levers.recruitment.special_post_post`` ``outside`` or ``reserve``), shared by both engines.

    ``regular`` are the section's regular teachers after the year's exits, the ``in_contract`` special-post
    teachers still in their contract (outside the establishment) and the ``converted`` included; dispatched
    teachers are not among them, as they hold no post of the county's establishment (theirs stays with the
    sending province), so the conversions do not depend on dispatch.

    ``own_post`` false (``outside``, the national programme): the converts take the section's free posts first
    (``ceil(establishment)`` minus the other regular teachers); the establishment grows by those it cannot hold
    (the local government is to find them a post: China Daily 2013-10-07, calibration/SEARCHES.md C14;
    assumption: in the same section).

    ``own_post`` true (``reserve``, Xinjiang's 人才儲備編制): each convert brings the reserve post the region held
    for them during the contract ("三年後…編制由自治區統籌解決", Tianshan Net 2009-05-27; "定編定崗在招聘學校",
    press conference 2013-05-19; calibration/SEARCHES.md #32, J4, R1), so the establishment grows by every
    convert and the free posts stay free for the other channels. A special-post teacher who leaves, during the
    contract or at its end, takes no county post along (theirs was the region's; assumption: the reserve post
    lapses with its holder, no rule for it found, R1).

    Section 0: 14 regular teachers, 2 still in contract and 3 converts, so 9 hold posts, 1 of 10 is free and the
    establishment grows by 2 (by 3 with their own posts); section 1: 5 hold posts, 5 are free for the 3 converts
    (with their own posts the establishment grows by 3 and the 5 stay free).

    >>> establishment_after_conversion(np.array([[10.0, 10.0]]), np.array([[14, 8]]), np.array([[2, 0]]),
    ...                                np.array([[3, 3]])).tolist()
    [[12.0, 10.0]]
    >>> establishment_after_conversion(np.array([[10.0, 10.0]]), np.array([[14, 8]]), np.array([[2, 0]]),
    ...                                np.array([[3, 3]]), own_post=True).tolist()
    [[13.0, 13.0]]
    """
    if own_post:
        return np.asarray(establishment + converted, dtype=np.float64)
    holding = regular - in_contract - converted
    free = np.maximum(np.ceil(establishment - 1e-9).astype(np.int64) - holding, 0)
    return np.asarray(establishment + np.maximum(converted - free, 0), dtype=np.float64)


def step_dispatch_departures(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Dispatch terms advance by a year; the dispatched teachers whose term ends leave."""
    for attr in ("dispatched", "dispatched_backbone", "dispatched_pe_art"):
        _, remaining = dispatch.advance_terms(getattr(st, attr))
        setattr(st, attr, remaining)


def counted_teachers(m: Model, st: State, counts_toward: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Teachers counted by each indicator group: regular teachers plus the dispatched where the option says.

    Also gives the section totals it sums on the way, ``"regular"`` (regular teachers) and ``"dispatched"``
    (dispatched teachers in post), so that callers do not sum them again.
    """
    regular, dispatched = section_total(st.teachers), section_total(st.dispatched)
    extra = dispatch.counted_dispatched(
        dispatched, section_total(st.dispatched_backbone), section_total(st.dispatched_pe_art), counts_toward,
    )
    return {
        "staffing": regular + extra["staffing"],
        "qualification": st.qualified + extra["qualification"],
        "backbone": st.backbone + extra["backbone"],
        "pe_art": st.pe_art + extra["pe_art"],
        "regular": regular,
        "dispatched": dispatched,
    }


def targeting_on(m: Model, year: int) -> bool:
    """Whether 一縣一策 targeting acts this year (``levers.targeting``, :mod:`sim.mechanisms.targeting`)."""
    return bool(lever_at(m.scenario, "targeting", year).enabled)


def pe_art_shortfall(m: Model, st: State) -> np.ndarray:
    """``(D, S)`` PE/art teachers each section lacks to reach its threshold (as the assessment counts them)."""
    counted = counted_teachers(m, st, m.scenario.levers.assessment.dispatched_count_toward)
    return targeting.pe_art_shortfall(section_total(st.students), counted["pe_art"],
                                      m.thresholds[None, :, INDICATORS.index("pe_art_teachers_per_100")])


def _add_hires(st: State, hires: np.ndarray, p: Parameters, r: Random, name: str,
               m: Model | None = None) -> None:
    """New teachers join the youngest band; a share is above the required qualification. With ``m`` (targeting
    on), the hires of a section below the PE/art threshold are PE/art teachers up to its shortfall."""
    shortfall = None if m is None else pe_art_shortfall(m, st)
    st.teachers[:, :, 0] += hires
    share = p["recruitment.new_hire_qualified_share"][:, None]
    st.qualified = st.qualified + r.apply(f"{name}.qualified", recruitment.new_hire_attributes, hires,
                                          per_draw={"above_qualification_share": share})
    share = p["recruitment.new_hire_pe_art_share"][:, None]
    if shortfall is None:
        st.pe_art = st.pe_art + r.apply(f"{name}.pe_art", recruitment.new_hire_attributes, hires,
                                        per_draw={"above_qualification_share": share})
    else:
        st.pe_art = st.pe_art + r.apply(f"{name}.pe_art", targeting.pe_art_hires, hires, shortfall,
                                        per_draw={"share": share})


def _move(m: Model, st: State, out: np.ndarray, into: np.ndarray, r: Random, name: str,
          carry: tuple[str, ...] = CATEGORIES) -> None:
    """Move teachers between sections of the same county (county totals of ``out`` and ``into`` are equal).

    Leavers are drawn from the age bands and, for each category in ``carry``, without replacement from the
    section's teachers (hypergeometric); the county's moving teachers of a category are then placed among the
    arrivals of its sections without replacement, so categories move with the teachers and are conserved per
    county. Arrivals take the age mix of the year's leavers of their county (assumption; the movers stay in it).
    """
    before = section_total(st.teachers)
    st.teachers = r.apply(f"{name}.bands", tmech.move_between_sections, st.teachers, out, into,
                          section_county=m.sections.county)
    _carry_categories(m, st, before, out, into, r, name, carry)


def _carry_categories(m: Model, st: State, before: np.ndarray, out: np.ndarray, into: np.ndarray, r: Random,
                      name: str, carry: tuple[str, ...] = CATEGORIES) -> None:
    """Teachers of each category among the ``out`` movers of a section (of ``before``), drawn without
    replacement, placed among the ``into`` arrivals of the same county without replacement."""
    _move_attributes(m, st, before, out, r, f"{name}.attributes", carry=carry, into=into)


def establishment_multiplier(p: Parameters) -> np.ndarray:
    """``(D, 2)`` teaching posts per post of the national norm, primary and junior (``quota.establishment_*``)."""
    return np.stack([p["quota.establishment_multiplier_primary"], p["quota.establishment_multiplier_junior"]],
                    axis=1)


def verified_establishment(m: Model, current: np.ndarray, teachers_in_post: np.ndarray, students: np.ndarray,
                           p: Parameters, year: int) -> np.ndarray:
    """``(D, S)`` teaching establishment after the verification of ``year``, shared by both engines.

    With ``levers.quota.sticky_establishment`` (the default) the establishment is sticky: in the start year it is
    anchored at the regular teachers in post of each section (``teachers_in_post``), and each later verification
    moves it a share ``quota.establishment_adjustment`` of its gap toward the national norm's posts times the
    establishment multiplier of the level (:func:`sim.mechanisms.quota.adjust_establishment`). Without it every
    verification, the start year's included, sets the target itself (the engines before issue 13's follow-up).
    """
    target = quota.establishment_quota(students, m.sections.level, m.students_per_staff, establishment_multiplier(p))
    if not m.scenario.levers.quota.sticky_establishment:
        return target
    if year == m.scenario.start_year:
        return np.broadcast_to(np.asarray(teachers_in_post, dtype=np.float64), target.shape).copy()
    return quota.adjust_establishment(current, target, p["quota.establishment_adjustment"])


def step_quota(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Teaching establishment re-verified from enrolment (in the years of :func:`verification_year` only,
    :func:`verified_establishment`): anchored at the teachers in post in the start year, then moving toward the
    national norm's posts times the establishment multiplier of the level; surplus teachers redeployed to
    short-staffed sections of the same county and level (``quota.redeploy_surplus_share``), unless 縣管校聘
    redeployment acts this year (:func:`step_redeployment` replaces it)."""
    s = m.sections
    q = m.scenario.levers.quota
    # special-post teachers in their contract hold no post when they stand outside the establishment
    holding = section_total(st.teachers) - (_in_contract(st) if special_post_outside_establishment(m, year) else 0)
    st.section_quota = verified_establishment(m, st.section_quota, holding, section_total(st.students), p, year)
    if st.closed.any():  # a closed section has no posts (sim.mechanisms.network)
        st.section_quota = np.where(st.closed, 0.0, st.section_quota)
    if redeployment_acts(m.scenario, year):  # 縣管校聘 redeploys every year instead (step_redeployment)
        return
    out, into = quota.redeploy_surplus(
        holding, st.section_quota, s.county, s.level, s.n_counties, q.redeploy_surplus_share
    )
    if out.any():
        _move(m, st, out, into, r, "quota.redeploy")


def redeployment_acts(scenario: Scenario, year: int) -> bool:
    """Whether 縣管校聘 redeployment acts in ``year`` (``levers.redeployment``; off before its ``from_year``)."""
    lever = scenario.levers.redeployment
    return redeployment.acts(lever.enabled, lever.from_year, year)


def redeployment_flows(m: Model, holders: np.ndarray, establishment: np.ndarray,
                       p: Parameters) -> redeployment.Redeployment:
    """The year's 縣管校聘 moves per section, shared by both engines
    (:func:`sim.mechanisms.redeployment.redeploy_by_need`): the surplus and the shortfall both read the teachers
    holding the establishment's posts (``holders``; the shortfall is :func:`vacant_posts`, as recruitment counts
    it: dispatched teachers hold no post)."""
    s = m.sections
    return redeployment.redeploy_by_need(
        holders, holders, establishment, s.county, s.level, s.n_counties,
        p["redeployment.surplus_release_share"][:, None], m.scenario.levers.redeployment.placement)


def step_redeployment(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """縣管校聘: a share of each county's surplus teachers moves to its short-staffed sections of the same level,
    largest shortfall first, before hiring (:mod:`sim.mechanisms.redeployment`)."""
    # special-post teachers in their contract hold no post when outside the establishment: not a surplus of it;
    # the shortfall is the posts no teacher holds (vacant_posts: dispatched teachers hold none)
    contract = _in_contract(st) if special_post_outside_establishment(m, year) else 0
    holders = section_total(st.teachers) - contract
    flows = redeployment_flows(m, holders, st.section_quota, p)
    if flows.outflow.any():
        _move(m, st, flows.outflow, flows.inflow, r, "redeployment.move")
    st.redeployed = county_sum(flows.inflow, m.sections).astype(np.int64)


def step_recruitment(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Special-post and targeted-graduate channels, retraining of primary teachers for junior posts, then open
    recruitment on the remaining vacancies.

    The vacancies are the establishment's posts that no teacher holds (:func:`vacant_posts`), and the special
    posts' room is the shortfall of the county's own teachers: dispatched teachers are in neither, as they hold no
    post of the establishment, so dispatch never changes a hire."""
    s = m.sections
    local = section_total(st.teachers)  # regular teachers, special-post teachers in their contract included
    rec = budgeted_lever(m, "recruitment", year)
    outside = special_post_outside_establishment(m, year)
    vacancy = vacant_posts(st.section_quota, local - _in_contract(st) if outside else local)
    aimed = targeting_on(m, year)
    hired = np.zeros_like(vacancy)

    room = special_post_room(m, local, section_total(st.students), p, year) if outside else vacancy
    special = r.apply("recruitment.special_post", recruitment.special_post_hires,
                      per_year_total=m.scale.count(rec.special_post_per_year, "pupils"), section_location=s.location,
                      section_county=s.county, county_south=s.county_south, county_remote=s.county_remote,
                      per_draw={"section_vacancy": room,
                                "take_up": p["recruitment.special_post_take_up"][:, None]})
    _add_hires(st, special, p, r, "recruitment.special_post", m if aimed else None)
    st.special_post[:, :, 0] += special
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
                                     "take_up": p["recruitment.targeted_take_up"][:, None]})
        _add_hires(st, targeted, p, r, "recruitment.targeted", m if aimed else None)
        vacancy = vacancy - targeted
        hired += targeted
        st.targeted_hires = county_sum(targeted, s).astype(np.int64)  # costed (sim.costs)

    # retraining primary teachers for junior posts, within the county
    staff_now = section_total(st.teachers) - (_in_contract(st) if outside else 0)
    surplus_section = np.where(s.level == PRIMARY, np.maximum(staff_now - np.ceil(st.section_quota), 0), 0)
    junior_vacancy_section = np.where(s.level == JUNIOR, vacancy, 0)
    primary_surplus = county_sum(surplus_section, s).astype(np.int64)
    junior_vacancy = county_sum(junior_vacancy_section, s).astype(np.int64)
    retrained = r.apply("recruitment.retrain", recruitment.retrain_for_junior, primary_surplus, junior_vacancy,
                        per_year_total=m.scale.count(rec.junior_retraining_per_year, "pupils"),
                        per_draw={"pass_rate": p["recruitment.retraining_pass_rate"][:, None]})
    st.retrained = np.asarray(retrained, dtype=np.int64)  # costed (sim.costs)
    if retrained.any():
        out = quota.allocate_largest_remainder(retrained, surplus_section, s.county, s.n_counties)
        into = quota.allocate_largest_remainder(retrained, junior_vacancy_section, s.county, s.n_counties)
        _move(m, st, out, into, r, "recruitment.retrain_move")
        vacancy = np.maximum(vacancy - into, 0)

    if rec.open_recruitment:
        county_vacancy = level_county_sum(vacancy, s).astype(np.int64)
        open_hires = r.apply("recruitment.open", recruitment.open_recruitment, county_vacancy,
                             county_remote=s.county_remote,
                             per_draw={"fill_rate": p["recruitment.fill_rate"][:, None],
                                       "remote_penalty": p["recruitment.remote_fill_penalty"][:, None]})
        placed = r.apply("recruitment.place", recruitment.allocate_hires_to_sections, open_hires, vacancy,
                         section_county=s.county, section_level=s.level)
        _add_hires(st, placed, p, r, "recruitment.open", m if aimed else None)
        hired += placed
    st.hires = county_sum(hired, s).astype(np.int64)


def vacant_posts(establishment: np.ndarray, holders: np.ndarray) -> np.ndarray:
    """``(D, S)`` posts of the establishment that no teacher holds, ``ceil(establishment) − holders`` at least 0:
    the vacancies recruitment fills and 縣管校聘 redeployment fills first, shared by both engines.

    ``holders`` are the section's regular teachers (special-post teachers in their contract left out when they
    stand outside the establishment). Dispatched teachers are not holders, whether or not the assessment counts
    them toward the staffing norm (``assessment.dispatched_count_toward``, an option of what the 2017 assessment
    counts, not of the county's posts): they hold no post of the county's establishment, theirs stays with the
    sending province (as for the establishment's anchor and the special-post conversions, commit 9edf929), and
    they come for a fixed term (plan of 2025-01-26, §二(一)3: "選派…到中小學任教", a supplement to the county's
    teachers). So a county advertises its free posts whatever the dispatched teachers present, and their leaving
    at the end of a term opens no post. Before 2026-12-07 recruitment and redeployment subtracted the dispatched
    teachers counted for staffing: with terms longer than a year they crowded out local hires and left a gap
    refilled at the fill rate (< 1) when they left, while the establishment, the conversions and the dispatch
    weights read the holders only; with one-year terms recruitment never saw them (they arrive after it and leave
    before the next), so the hiring law depended on the term through the order of the steps (issue 16 item 5,
    ``docs/findings.md``).

    >>> vacant_posts(np.array([[10.0, 9.5, 4.0]]), np.array([[7, 9, 6]])).tolist()
    [[3, 1, 0]]
    """
    return np.maximum(np.ceil(establishment - 1e-9).astype(np.int64) - np.asarray(holders, dtype=np.int64), 0)


def _in_contract(st: State) -> np.ndarray:
    """``(D, S)`` special-post teachers in their contract (at most the section's teachers, :func:`_special_slots`)."""
    return _special_slots(st, section_total(st.teachers)).sum(axis=2)


def special_post_room(m: Model, staff: np.ndarray, students: np.ndarray, p: Parameters, year: int) -> np.ndarray:
    """``(D, S)`` places special-post teachers may take when they stand outside the establishment, shared by both
    engines: the shortfall of the county's own teachers (``staff``: regular teachers, special-post teachers in
    their contract included, dispatched teachers not, see :func:`vacant_posts`) below the establishment a
    verification aims at, the national norm's posts times the level's multiplier
    (:func:`sim.mechanisms.quota.establishment_quota`).
    Assumption: special posts go where schools lack teachers by that standard (the programme is to "solve the
    insufficient total number of rural teachers", SEARCHES.md C14; no rule tying them to vacant posts was
    found, C13). None in the start year: its teachers in post are the published stock, which holds that year's
    hires already (as the establishment anchored at them leaves the other channels no vacancy then)."""
    if year == m.scenario.start_year:
        return np.zeros(np.shape(staff), dtype=np.int64)
    target = quota.establishment_quota(students, m.sections.level, m.students_per_staff, establishment_multiplier(p))
    return np.maximum(np.ceil(target - 1e-9).astype(np.int64) - np.asarray(staff, dtype=np.int64), 0)


def section_weakness(m: Model, st: State) -> np.ndarray:
    """``(D, S)`` facility weakness of each section (:func:`sim.mechanisms.facilities.weakness_score`)."""
    return facilities.weakness_score(section_total(st.students), st.floor_area_m2, st.sports_area_m2,
                                     st.equipment_value_cny, st.multimedia_rooms, m.facility_thresholds)


def step_rotation(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """A share of eligible teachers rotates within county and level, backbone first, towards rural and weak
    sections (the lever's direction)."""
    s = m.sections
    lever = budgeted_lever(m, "rotation", year)
    if st.loans.host.shape[2]:
        _return_loans(m, st, r)
    stock = section_total(st.teachers)
    eligible = rotation.eligible_share_from_tenure(p["rotation.mean_tenure_years"], lever.min_years_at_school)
    per_draw: dict[str, np.ndarray] = {"eligible_share": eligible[:, None]}
    placement = "missing_indicator" if targeting_on(m, year) else lever.placement
    if placement != "proportional":
        counted = counted_teachers(m, st, m.scenario.levers.assessment.dispatched_count_toward)
        per_draw.update(shortfalls(m, st, counted["qualification"], counted["backbone"], counted["pe_art"]))
    flows = r.apply("rotation", _rotate, stock, np.minimum(st.backbone, stock), section_weakness(m, st),
                    share=lever.share, backbone_share=lever.backbone_share, direction=lever.direction,
                    section_county=s.county, section_level=s.level, section_location=s.location,
                    n_counties=s.n_counties, placement=placement,
                    per_draw={**per_draw, "is_open": ~st.closed} if st.closed.any() else per_draw)
    out = flows.out_backbone + flows.out_regular + flows.return_out
    into = flows.in_backbone + flows.in_regular + flows.return_in
    if out.any():  # backbone movers are known by section; the other categories move with the teachers
        _move(m, st, out, into, r, "rotation.move", carry=("qualified", "pe_art"))
    st.backbone = np.clip(st.backbone + flows.in_backbone - flows.out_backbone, 0, section_total(st.teachers))
    if lever.term_years > 0:
        st.loans = st.loans.add(flows, lever.term_years)
    per_level = flows.rotated_per_county.reshape(stock.shape[0], s.n_counties, -1)
    eligible_county = flows.eligible_per_county.reshape(stock.shape[0], s.n_counties, -1).sum(axis=2)
    backbone_county = flows.backbone_rotated_per_county.reshape(stock.shape[0], s.n_counties, -1).sum(axis=2)
    rotated = section_total(per_level)
    st.rotated = rotated
    st.rotation_share = np.divide(rotated, eligible_county, out=np.full(rotated.shape, np.nan),
                                  where=eligible_county > 0)
    st.backbone_share_of_rotated = np.divide(backbone_county, rotated, out=np.full(rotated.shape, np.nan),
                                             where=rotated > 0)


def shortfalls(m: Model, st: State, qualified: np.ndarray, backbone: np.ndarray,
               pe_art: np.ndarray) -> dict[str, np.ndarray]:
    """What the placement rules read (:func:`sim.mechanisms.rotation.placement_weights`): per section the number
    of the seven indicators below their threshold (``failing``), and whether the backbone and the PE/art
    indicators are below theirs, from the current pupils, teachers (as the assessment counts them) and
    facilities. A section without pupils fails nothing."""
    indicators = assessment.section_indicators(
        section_total(st.students), qualified, backbone, pe_art, st.floor_area_m2, st.sports_area_m2,
        st.equipment_value_cny, st.multimedia_rooms)
    below = np.nan_to_num(indicators, nan=np.inf) < m.thresholds[None] * (1.0 - 1e-9)
    return {"failing": below.sum(axis=2), "below_backbone": below[..., INDICATORS.index("backbone_teachers_per_100")],
            "below_pe_art": below[..., INDICATORS.index("pe_art_teachers_per_100")]}


def _intake_location_share(m: Model, st: State) -> np.ndarray:
    """``(D, C, 3)`` grade-1 intake shares by location without the locations whose primary sections all closed
    (:func:`sim.mechanisms.network.open_location_share`)."""
    s = m.sections
    return nmech.open_location_share(m.intake_location_share, st.closed, s.county, s.location, s.level == PRIMARY)


def close_sections(m: Model, st: State, p: Parameters) -> nmech.Closures | None:
    """The year's closures (``levers.network``, :mod:`sim.mechanisms.network`), shared by both engines: the
    closing sections are marked closed and their pupils, teaching posts, classes (kept only with fixed classes;
    otherwise re-formed) and a share ``network.equipment_moved_share`` of their equipment and multimedia rooms go
    to their receivers. Under 先建后撤 (``build_before_close``) only the closures whose receiver has the classrooms
    happen; the others wait and the receiver's missing rooms are started (``st.receiver_rooms_started``, counted
    in ``classrooms_started`` by :func:`step_classes`). ``None`` when nothing closes. No random numbers."""
    lever = m.scenario.levers.network
    if lever.size_rule_pupils <= 0:
        return None
    s = m.sections
    st.receiver_rooms_started = np.zeros_like(st.receiver_rooms_started)
    plan = nmech.closures(section_total(st.students), lever.size_rule_pupils, s.county, s.level, s.teaching_point,
                          keep_teaching_points=lever.keep_teaching_points, is_open=~st.closed)
    if lever.build_before_close and plan.closing.any():
        # the rooms finishing this year (pipeline slot 0) are in use this school year (step ``classes``)
        plan, missing = nmech.wait_for_rooms(st.students, st.classrooms + st.classroom_pipeline[:, :, 0], plan,
                                             class_size_limits(m))
        started = cmech.classrooms_to_start(missing, np.zeros_like(missing),  # slot 0 already counted as rooms
                                            st.classroom_pipeline[:, :, 1:].sum(axis=2),
                                            m.scenario.levers.classes.build_share)
        lag = np.rint(p["facilities.construction_lag_years"]).astype(np.int64)
        st.classroom_pipeline[np.arange(started.shape[0])[:, None], np.arange(started.shape[1])[None, :],
                              lag[:, None]] += started
        st.receiver_rooms_started = started
    if not plan.closing.any():
        return None
    share = p["network.equipment_moved_share"]
    st.equipment_value_cny = nmech.move_share(st.equipment_value_cny, plan, share)
    st.multimedia_rooms = nmech.move_share(st.multimedia_rooms, plan, share)
    st.closed = st.closed | plan.closing
    st.students = nmech.merge(st.students, plan)
    st.classes = nmech.merge(st.classes, plan)
    st.section_quota = nmech.merge_float(st.section_quota, plan)
    return plan


def step_network(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Small sections close towards the largest open section of their county and level (:func:`close_sections`):
    their pupils, teachers (with categories, special-post contracts, dispatched teachers and rotation loans),
    teaching posts and classes go to it; closed sections stay closed. With the default size rule (0) nothing
    happens."""
    plan = close_sections(m, st, p)
    if plan is None:
        return
    for attr in ("teachers", "qualified", "backbone", "pe_art", "special_post", "dispatched", "dispatched_backbone",
                 "dispatched_pe_art", "loan_host", "loan_host_backbone", "loan_home", "loan_home_backbone"):
        setattr(st, attr, nmech.merge(getattr(st, attr), plan))


def _return_loans(m: Model, st: State, r: Random) -> None:
    """Rotated teachers whose term ends go back to the sections that lent them (:func:`sim.mechanisms.rotation.
    loan_returns`), before this year's round; their other categories move with them as in the round."""
    s = m.sections
    due, st.loans = st.loans.advance()
    if not due.host.any():
        return
    back = r.apply("rotation.return", rotation.loan_returns, due.host[..., 0], due.host_backbone[..., 0],
                   due.home[..., 0], due.home_backbone[..., 0], section_total(st.teachers), st.backbone,
                   section_county=s.county, section_level=s.level, n_counties=s.n_counties)
    if back.out.any():
        _move(m, st, back.out, back.into, r, "rotation.return_move", carry=("qualified", "pe_art"))
        st.backbone = np.clip(st.backbone - back.out_backbone + back.into_backbone, 0, section_total(st.teachers))


def _rotate(stock: np.ndarray, backbone: np.ndarray, weakness: np.ndarray, *, rng: np.random.Generator,
            **kwargs: Any) -> rotation.RotationFlows:
    return rotation.rotate(stock, backbone, weakness=weakness, rng=rng, **kwargs)


def step_dispatch_arrivals(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Dispatched teachers arrive by south share and level, for the lever's fixed term."""
    s = m.sections
    lever = budgeted_lever(m, "dispatch", year)
    staff = section_total(st.teachers)
    weight = np.maximum(np.ceil(st.section_quota) - staff, 0) + 0.1 * (section_total(st.students) > 0)
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


def step_development(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Qualification upgrades, backbone cultivation and loss."""
    lever = budgeted_lever(m, "development", year)
    staff = section_total(st.teachers)
    st.qualified = np.minimum(st.qualified, staff)
    upgraded = r.apply("development.upgrade", development.qualification_upgrade, staff - st.qualified,
                       upgrade_share=lever.qualification_upgrade_share)
    st.qualified = st.qualified + upgraded
    st.qualification_upgrades = county_sum(upgraded, m.sections).astype(np.int64)  # costed (sim.costs)
    st.backbone = np.minimum(st.backbone, st.qualified)
    before = st.backbone
    if targeting_on(m, year):  # the same number cultivated, first where the backbone indicator fails
        counted = counted_teachers(m, st, m.scenario.levers.assessment.dispatched_count_toward)
        below = shortfalls(m, st, counted["qualification"], counted["backbone"], counted["pe_art"])["below_backbone"]
        st.backbone = st.backbone + r.apply("development.cultivate", targeting.aimed_cultivation,
                                            st.qualified - st.backbone, below,
                                            share=lever.backbone_cultivation_share,
                                            group=m.sections.county * 2 + m.sections.level,
                                            n_groups=m.sections.n_counties * 2)
    else:
        st.backbone = st.backbone + r.apply("development.cultivate", development.backbone_cultivation,
                                            st.qualified - st.backbone,
                                            cultivation_share=lever.backbone_cultivation_share)
    st.backbone_cultivated = county_sum(st.backbone - before, m.sections).astype(np.int64)  # costed (sim.costs)
    st.backbone = st.backbone - r.apply("development.loss", development.backbone_loss, st.backbone,
                                        per_draw={"retention": p["development.backbone_retention"][:, None]})
    st.pe_art = np.minimum(st.pe_art, staff)


def step_facilities(m: Model, st: State, p: Parameters, r: Random, year: int) -> None:
    """Capital budget × execution rate allocated by the lever's rule to the four facility gaps, construction
    lag, equipment depreciation; gigabit, counselling-room and special-education-school programmes; pairing."""
    s = m.sections
    scenario = m.scenario
    lever = lever_at(scenario, "funding", year)
    pupils = section_total(st.students).astype(float)
    budget = facilities.capital_budget(year, lever.capital_cny_in(year), p["funding.execution_rate"]) * m.scale.pupils
    costs = (p["facilities.floor_cost_cny_per_m2"][:, None], p["facilities.sports_cost_cny_per_m2"][:, None],
             p["facilities.multimedia_room_cny"][:, None])
    # the documented order (sim.mechanisms.facilities): last year's equipment depreciates first, so the year's
    # purchases close the gap that remains after depreciation and a fully funded section ends at the threshold
    rate = p["facilities.equipment_depreciation_per_year"][:, None]
    equipment = facilities.depreciate_equipment(st.equipment_value_cny, rate)
    gaps = facilities.facility_gaps(pupils, st.floor_area_m2, st.sports_area_m2, equipment,
                                    st.multimedia_rooms, m.facility_thresholds, *costs)
    # money already under construction (floor area, sports ground) counts against the gap it was spent on, so the
    # same shortfall is not funded again in every year of the construction lag
    gaps = np.maximum(gaps - st.pipeline_cny.sum(axis=-1), 0.0)
    allocation = "weakest_first" if targeting_on(m, year) else lever.allocation
    spend = facilities.allocate(budget, gaps, allocation, s.county, s.county_south, lever.south_share,
                                pupils, weakness=section_weakness(m, st))
    lag = np.rint(p["facilities.construction_lag_years"]).astype(np.int64)
    arrived, st.pipeline_cny = facilities.construction_pipeline(spend, st.pipeline_cny, lag)
    stock = facilities.apply(st.floor_area_m2, st.sports_area_m2, equipment, st.multimedia_rooms, arrived, *costs)
    st.floor_area_m2, st.sports_area_m2, st.equipment_value_cny, st.multimedia_rooms = stock
    gigabit, counselling, special, rooms = _programme_arrivals(m, st, p, (
        m.scale.count(budgeted_lever(m, "digital", year).gigabit_schools_per_year, "schools"),
        m.scale.count(budgeted_lever(m, "counselling", year).rooms_per_year, "schools"),
        m.scale.count(budgeted_lever(m, "special_education", year).schools_per_year, "large_counties"),
        m.scale.count(budgeted_lever(m, "special_education", year).resource_rooms_per_year, "schools")))
    st.gigabit = facilities.roll_out_gigabit(st.gigabit, gigabit, m.priority, section_school=s.school)
    st.counselling_room = facilities.build_counselling_rooms(
        st.counselling_room, counselling, s.location, m.township_centre, m.priority, section_school=s.school)
    st.special_schools = facilities.build_special_education_schools(
        st.special_schools, special, s.county_population, threshold_people=SPECIAL_EDUCATION_POPULATION)
    # resource rooms for inclusive classes (T8b): region-wide rooms spread over counties by their start pupils
    st.resource_rooms = st.resource_rooms + programmes.spread_by_weight(rooms, _start_pupils_by_county(m))
    # paired support: the lever's coverage of rural schools within what the county's town schools can support
    coverage = budgeted_lever(m, "pairing", year).coverage_in(year)
    st.paired = _paired(m, coverage, st.paired, p["programmes.pairing_rural_per_town_school"])


def _programme_arrivals(m: Model, st: State, p: Parameters, planned: tuple[int, ...]) -> list[np.ndarray]:
    """Units of each programme of :data:`programmes.PROGRAMMES` in use this year, ``(D,)`` each: the lever's
    planned units × the draw's delivery ratio, after the draw's lead time (:mod:`sim.mechanisms.programmes`)."""
    arrivals = []
    for i, (name, units) in enumerate(zip(programmes.PROGRAMMES, planned, strict=True)):
        now = np.full(st.programme_planned.shape[0], float(units))
        started = programmes.started_units(st.programme_planned[:, i], now, p[f"programmes.{name}_delivery_ratio"])
        st.programme_planned[:, i] += now
        arrived, st.programme_pipeline[:, i] = programmes.advance_pipeline(
            st.programme_pipeline[:, i], started, programmes.lead_in_years(p[f"programmes.{name}_lead_years"]))
        arrivals.append(arrived)
    return arrivals


def _start_pupils_by_county(m: Model) -> np.ndarray:
    """``(C,)`` pupils of each county in the start registry."""
    s = m.sections
    return np.bincount(s.county, weights=s.students.sum(axis=1).astype(float), minlength=s.n_counties)


def _disabled_enrolment(m: Model, st: State, p: Parameters, pupils: np.ndarray) -> dict[str, np.ndarray]:
    """T8b by county: school-age children with disabilities and those enrolled, ``(D, C)`` each
    (:mod:`sim.mechanisms.programmes`): the start year's school places, plus the places of the special-education
    schools opened since and of the resource rooms in use, and home delivery for a share of the rest."""
    s = m.sections
    per_pupil = p["disability.children_per_pupil"]
    start_rate, home_share = p["disability.start_enrolment_rate"], p["disability.home_share"]
    children = programmes.disabled_children(county_sum(pupils, s), per_pupil)
    start_children = programmes.disabled_children(np.broadcast_to(_start_pupils_by_county(m), children.shape),
                                                  per_pupil)
    opened = np.maximum(st.special_schools - s.county_special_schools[None, :], 0)
    places = (programmes.start_school_places(start_rate, home_share, start_children)
              + opened * p["disability.places_per_special_school"][:, None]
              + st.resource_rooms * p["disability.places_per_resource_room"][:, None])
    enrolled = programmes.disabled_enrolled(children, places, programmes.home_reach(start_rate, home_share))
    return {"disabled_children": children, "disabled_enrolled": enrolled}


def _paired(m: Model, coverage: float, paired: np.ndarray, rural_per_town_school: np.ndarray) -> np.ndarray:
    """Rural sections paired so that each county reaches ``coverage`` within the capacity of its town and urban
    sections (:func:`sim.mechanisms.programmes.paired_needed`), highest priority first; a paired school stays
    paired."""
    s = m.sections
    rural_per_county = np.bincount(s.county[m.rural], minlength=s.n_counties)
    town_per_county = np.bincount(s.county[~m.rural], minlength=s.n_counties)
    needed = programmes.paired_needed(coverage, rural_per_county, town_per_county, rural_per_town_school)
    return paired | (m.rural_rank[None, :] < needed[:, s.county])


def assess(m: Model, st: State, p: Parameters, r: Random, year: int) -> dict[str, np.ndarray]:
    """Step ``assessment``: indicators, county status, certification and every target metric for this year."""
    s = m.sections
    scenario = m.scenario
    pupils = section_total(st.students)
    counted = counted_teachers(m, st, scenario.levers.assessment.dispatched_count_toward)
    indicators = assessment.section_indicators(
        pupils, counted["qualification"], counted["backbone"], counted["pe_art"], st.floor_area_m2,
        st.sports_area_m2, st.equipment_value_cny, st.multimedia_rooms)
    small_site = s.teaching_point[None, :] & (pupils < scenario.levers.assessment.small_site_exclusion_pupils)
    resources = assessment.assess_resources(
        indicators, m.thresholds, pupils, s.level, s.county, s.n_counties, m.cv_limits,
        assessed=(pupils > 0) & ~small_site,
        min_met=m.standard.min_indicators_met, floor_share=m.standard.remaining_min_fraction)
    guarantee = _guarantee_rules(m, st, pupils, year)
    _certify(m, st, p, r, year, resources.ready & guarantee.met)
    section_requirement = quota.section_staffing_quota(pupils, s.level, m.students_per_staff)
    return {
        "quality_balanced": st.certified.astype(np.int8),
        "resource_ready": resources.ready.astype(np.int8),
        "guarantee_met": guarantee.met.astype(np.int8),
        **_school_shares(m, st, pupils, indicators, resources.assessed, counted["staffing"], section_requirement),
        **_staffing_and_flows(m, st, p, pupils, counted, section_requirement),
        **_classes_and_schools(m, st, pupils),
        "indicator_value": _pupil_weighted_mean(m, indicators, np.where(resources.assessed, pupils, 0.0)),
        "indicator_cv": resources.cv,
        "failing_sections": resources.failing_sections,
        "failing_sections_below": resources.failing_sections_below,
        "cv_over_limit": resources.cv_over_limit,
        "guarantee_failed": guarantee.failed(),
        "draw_count": np.ones((pupils.shape[0], s.n_counties)),
    }


def _guarantee_rules(m: Model, st: State, pupils: np.ndarray, year: int) -> assessment.GuaranteeRules:
    """The government-guarantee items the model simulates (rotation, class size, school size)."""
    s, standard = m.sections, m.standard
    # The rotation rule is a policy the county sets: it is judged on the lever's share of eligible teachers
    # (the realised share scatters binomially around it), and on the realised backbone share of the rotated,
    # which falls short where the county lacks eligible backbone teachers (assumption, docs/parameters.md).
    policy_share = np.where(np.isnan(st.rotation_share), 0.0, budgeted_lever(m, "rotation", year).share)
    return assessment.guarantee_rules(
        policy_share, np.nan_to_num(st.backbone_share_of_rotated, nan=0.0),
        st.largest_class, pupils, s.level, s.school, s.county, s.n_counties,
        min_rotation_share=standard.rotation_min_share,
        min_backbone_share_of_rotated=standard.rotation_backbone_min_share,
        class_size_limits=(standard.class_size_max["primary"], standard.class_size_max["junior"]),
        school_size_limit=standard.school_size_max["primary"],
        nine_year_school_size_limit=standard.school_size_max["nine_year"], n_schools=m.n_schools)


def _certify(m: Model, st: State, p: Parameters, r: Random, year: int, ready: np.ndarray) -> None:
    """Certification of the counties ``ready`` this year: after the lag, with the uncertain pass probability of
    the items the model does not simulate (one uniform per county from the stream ``assessment.pass``)."""
    pass_u = r.streams.uniforms(f"assessment.pass/{year}", r.start, r.stop, (m.sections.n_counties,))
    lags = np.rint(p["assessment.certification_lag_years"]).astype(np.int64)
    certified, ready_years = st.certified.copy(), st.ready_years.copy()
    for lag in np.unique(lags):  # usually one value (the default is fixed)
        rows = lags == lag
        step = assessment.certify(ready[rows], st.ready_years[rows], st.certified[rows], pass_u[rows],
                                  p["assessment.other_items_pass_probability"][rows, None], lag_years=int(lag))
        certified[rows], ready_years[rows] = step.certified, step.ready_years
    st.certified, st.ready_years = certified, ready_years


def _school_shares(m: Model, st: State, pupils: np.ndarray, indicators: np.ndarray, assessed: np.ndarray,
                   staffing: np.ndarray, section_requirement: np.ndarray) -> dict[str, np.ndarray]:
    """Counts and totals of schools per county: quality schools (T3), pupils in them (T4, weighted by pupils),
    paired rural schools (T6), gigabit (T10), counselling rooms (T9), standardised schools (T11)."""
    s = m.sections
    quality = assessment.is_quality_school(indicators, m.thresholds, m.scenario.levers.assessment.quality_school)
    open_ = pupils > 0

    def share(flag: np.ndarray, include: np.ndarray, weights: np.ndarray | None = None) -> assessment.CountyCount:
        return assessment.quality_school_share(flag, s.school, s.county, s.n_counties, include=include,
                                               weights=weights, n_schools=m.n_schools)

    qs = share(quality, assessed)
    coverage = share(quality, assessed, pupils)
    readings: dict[str, np.ndarray] = {}
    for reading in QUALITY_SCHOOL_DEFINITIONS:  # both readings of 優質學校 for targets that name one
        flag = quality if reading == m.scenario.levers.assessment.quality_school else assessment.is_quality_school(
            indicators, m.thresholds, reading)
        readings[f"quality_school_count_{reading}"] = share(flag, assessed).count
        readings[f"coverage_count_{reading}"] = share(flag, assessed, pupils).count
    pairing = assessment.pairing_coverage(st.paired, m.rural, s.school, s.county, s.n_counties,
                                          active=open_, n_schools=m.n_schools)
    gigabit = share(st.gigabit, open_)
    counselling = share(st.counselling_room, open_ & m.counselling_eligible[None, :])
    standardised = facilities.standardised(pupils, st.floor_area_m2, st.equipment_value_cny,
                                           m.facility_thresholds, st.gigabit,
                                           staffing >= np.ceil(section_requirement - 1e-9))
    standard_share = share(standardised, open_)
    return {
        "quality_school_count": qs.count, "quality_school_total": qs.total,
        "coverage_count": coverage.count, "coverage_total": coverage.total,
        "pairing_count": pairing.count, "pairing_total": pairing.total,
        "gigabit_count": gigabit.count, "gigabit_total": gigabit.total,
        "counselling_count": counselling.count, "counselling_total": counselling.total,
        "standardised_count": standard_share.count, "standardised_total": standard_share.total,
        **readings,
    }


def _staffing_and_flows(m: Model, st: State, p: Parameters, pupils: np.ndarray, counted: dict[str, np.ndarray],
                        section_requirement: np.ndarray) -> dict[str, np.ndarray]:
    """Staffing norm (T5), special education (T8), consolidation (T7), stocks and the year's flows by county."""
    s = m.sections
    requirement = quota.staffing_quota(pupils, s.level, s.county, s.n_counties, m.students_per_staff)
    staff_total = counted["staffing"]
    norm_met = quota.staffing_norm_met(level_county_sum(staff_total, s), requirement)
    special_ok = (st.special_schools > 0) | (s.county_population <= SPECIAL_EDUCATION_POPULATION)[None, :]
    pupils_by_level = level_county_sum(pupils, s)
    teachers_by_level = level_county_sum(counted["regular"], s)
    return {
        "staffing_norm_met": norm_met.astype(np.int8),
        "special_education_ok": special_ok.astype(np.int8),
        "consolidation_completers": st.consolidation_completers,
        # quantities of the costed teacher programmes (sim.costs)
        "special_post_in_post": county_sum(st.special_post.sum(axis=2), s),
        "targeted_hires": st.targeted_hires,
        "retrained": st.retrained,
        "qualification_upgrades": st.qualification_upgrades,
        "backbone_cultivated": st.backbone_cultivated,
        "consolidation_cohort": st.consolidation_cohort,
        **_disabled_enrolment(m, st, p, pupils),
        "special_schools": st.special_schools,
        "resource_rooms": st.resource_rooms,
        "students": county_sum(pupils, s),
        "teachers": county_sum(counted["regular"], s),
        "students_primary": pupils_by_level[:, :, PRIMARY],
        "students_junior": pupils_by_level[:, :, JUNIOR],
        "teachers_primary": teachers_by_level[:, :, PRIMARY],
        "teachers_junior": teachers_by_level[:, :, JUNIOR],
        "teachers_counted": county_sum(staff_total, s),
        "staffing_requirement": section_total(requirement),
        "vacancies": county_sum(np.maximum(np.ceil(section_requirement - 1e-9) - staff_total, 0), s),
        "dispatched_in_post": county_sum(counted["dispatched"], s),
        "rotated": st.rotated,
        "redeployed": st.redeployed,
        "hires": st.hires,
        "exits": st.exits,
        "student_entries": st.student_entries,
        "junior_entries": st.junior_entries,
        "student_exits": st.student_exits,
    }


def _classes_and_schools(m: Model, st: State, pupils: np.ndarray) -> dict[str, np.ndarray]:
    """Classes by level, classrooms, the norm's classes beyond them, classrooms started, and schools with pupils
    (all, and sections of each level: a nine-year school counts once in each level) per county."""
    s = m.sections
    classes = level_county_sum(section_total(st.classes), s)
    open_ = pupils > 0
    sections = level_county_sum(open_.astype(np.int64), s)
    schools = assessment.quality_school_share(open_, s.school, s.county, s.n_counties, include=open_,
                                              n_schools=m.n_schools)
    return {
        "classes_primary": classes[:, :, PRIMARY],
        "classes_junior": classes[:, :, JUNIOR],
        "classrooms": county_sum(st.classrooms, s),
        "classes_short_of_rooms": st.classes_short_of_rooms,
        "classrooms_started": st.classrooms_started,
        "schools": schools.total,
        "schools_primary": sections[:, :, PRIMARY],
        "schools_junior": sections[:, :, JUNIOR],
        "schools_primary_nbs": county_sum((open_ & _nbs_primary_school(m)[None, :]).astype(np.int64),
                                          s).astype(np.int64),
    }


def _nbs_primary_school(m: Model) -> np.ndarray:
    """``(S,)`` the primary sections the NBS counts as primary schools (普通小学): not a teaching point (counted
    with no school) and not the primary part of a nine-year school (counted once, among the junior schools);
    the registry's reading of the NBS counts (:mod:`sim.registry`, rules 3–4)."""
    s = m.sections
    junior_schools = np.unique(s.school[s.level == JUNIOR])
    return (s.level == PRIMARY) & ~s.teaching_point & ~np.isin(s.school, junior_schools)


def _pupil_weighted_mean(m: Model, indicators: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(D, C, 7)`` county mean of each indicator over its sections weighted by ``weights`` (pupils of the
    assessed sections, 0 elsewhere); NaN where a county has no weight."""
    s = m.sections
    county_weight = county_sum(weights, s)
    total = segments.group_sum3(np.nan_to_num(indicators) * weights[:, :, None], s.county, s.n_counties)
    return np.divide(total, county_weight[:, :, None], out=np.full(total.shape, np.nan),
                     where=county_weight[:, :, None] > 0)


# ------------------------------------------------------------------------------------------------------------
# the yearly order, as data

StepFunction = Callable[[Model, State, Parameters, Random, int], Any]
YearRule = Callable[[Scenario, int], bool]


def verification_year(scenario: Scenario, year: int) -> bool:
    """Whether the staffing quota is re-verified in ``year``: the start year (the registry's quota is set from
    its enrolment) and every year on the schedule ``quota.first_verification_year + k ×
    quota.reverify_every_years`` (any whole ``k``, negative too: the rhythm runs in the years before the first
    verification under the plan as well, so a history or a start before it is re-verified on the same
    schedule)."""
    q = scenario.levers.quota
    return year == scenario.start_year or (year - q.first_verification_year) % q.reverify_every_years == 0


@dataclass(frozen=True)
class Step:
    """One step of the school year.

    Attributes
    ----------
    name
        Name of the step; also the agent engine's calendar phase.
    function
        The step function ``(model, state, parameters, random, year)`` of this module.
    start_year
        Whether it runs in the start year. The start year's stock is the registry as observed: no students,
        exits or arrivals flow into it, but the quota is set, vacancies are filled, teachers rotate and the year
        is assessed.
    levers
        Lever groups (``levers.GROUP`` of the scenario) the step reads, in either engine (``funding`` where the
        recurrent budget ``funding.recurrent_cny`` scales its levers, :func:`sim.model.budgeted_lever`).
    shared
        Whether the agent engine calls the same function (students and schools are counts there too) or runs its
        own per-teacher version of the step (``sim.agents``, the method of the same name).
    engines
        Engines that run it.
    when
        Further restriction of the years it acts (``None``: every year it runs).
    records
        Whether the step returns the year's records (``assessment``).
    """

    name: str
    function: StepFunction
    start_year: bool
    levers: tuple[str, ...]
    shared: bool
    engines: tuple[str, ...] = ENGINES
    when: YearRule | None = None
    records: bool = False

    def acts(self, scenario: Scenario, year: int) -> bool:
        """Whether the step acts in ``year`` of ``scenario``."""
        if year == scenario.start_year and not self.start_year:
            return False
        return self.when is None or self.when(scenario, year)

    def years(self, scenario: Scenario) -> list[int]:
        """The years of ``scenario`` in which the step acts."""
        return [y for y in range(scenario.start_year, scenario.horizon + 1) if self.acts(scenario, y)]

    @property
    def qualified_name(self) -> str:
        """``module.function`` of the step function."""
        return f"{self.function.__module__}.{self.function.__name__}"


STEPS: tuple[Step, ...] = (
    Step("students", step_students, start_year=False, levers=(), shared=True),
    Step("network", step_network, start_year=False, levers=("network",), shared=False),
    Step("classes", step_classes, start_year=True, levers=("classes",), shared=True),
    Step("teacher_exits", step_teacher_exits, start_year=False, levers=("retention", "funding"), shared=False),
    Step("dispatch_departures", step_dispatch_departures, start_year=False, levers=(), shared=False),
    Step("quota", step_quota, start_year=True, levers=("quota",), shared=False, when=verification_year),
    Step("redeployment", step_redeployment, start_year=True, levers=("redeployment",), shared=False,
         when=redeployment_acts),
    Step("recruitment", step_recruitment, start_year=True, levers=("recruitment", "assessment", "targeting", "funding"),
         shared=False),
    Step("rotation", step_rotation, start_year=True, levers=("rotation", "targeting", "funding"), shared=False),
    Step("dispatch_arrivals", step_dispatch_arrivals, start_year=False, levers=("dispatch", "funding"), shared=False),
    # the agent engine's senior-title rule applies from rotation.from_year (plan §二(三)2)
    Step("development", step_development, start_year=False, levers=("development", "rotation", "targeting", "funding"),
         shared=False),
    Step("facilities", step_facilities, start_year=False,
         levers=("funding", "digital", "counselling", "special_education", "pairing", "targeting"), shared=True),
    Step("assessment", assess, start_year=True, levers=("assessment", "rotation", "funding"), shared=True,
         records=True),
)
"""The steps of a school year in order (DESIGN §3). Both engines follow it; nothing else lists the order."""


def steps_for(engine: str) -> tuple[Step, ...]:
    """The steps ``engine`` runs, in yearly order."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    return tuple(step for step in STEPS if engine in step.engines)


def _year_ranges(years: list[int]) -> str:
    """``[2020, 2021, 2022, 2024]`` → ``"2020–2022, 2024"``."""
    parts: list[str] = []
    i = 0
    while i < len(years):
        j = i
        while j + 1 < len(years) and years[j + 1] == years[j] + 1:
            j += 1
        parts.append(str(years[i]) if i == j else f"{years[i]}–{years[j]}")
        i = j + 1
    return ", ".join(parts) if parts else "none"


def step_table(scenario: Scenario) -> str:
    """:data:`STEPS` for ``scenario`` as a Markdown table: order, step, function, start year, the years it acts,
    engines (and whether the agent engine shares the function) and the lever groups it reads, with their
    ``from_year`` (before it, the historical default acts)."""
    rows = ["| # | step | function | start year | acts in | engines | levers read |",
            "|---|---|---|---|---|---|---|"]
    for i, step in enumerate(STEPS, 1):
        levers = []
        for group in step.levers:
            start = getattr(getattr(scenario.levers, group), "from_year", None)
            levers.append(group if start is None else f"{group} (from {start})")
        engines = ", ".join(e if e != "agents" or step.shared else "agents (per teacher)" for e in step.engines)
        rows.append(f"| {i} | {step.name} | `{step.qualified_name}` | {'yes' if step.start_year else 'no'} | "
                    f"{_year_ranges(step.years(scenario))} | {engines} | {', '.join(levers) or '—'} |")
    return "\n".join(rows) + "\n"
