"""Schools as the engines see them: one **section** per school and level.

A primary or junior school is one section; a nine-year school (九年一贯制) is two, its primary part (grades 1–6)
and its junior part (grades 7–9), because the 2017 standard sets thresholds per level and computes the
coefficients of variation per level. A nine-year school's teachers are split by its ``teachers_junior``
column; its teacher categories and age bands are split in proportion to the two parts' teachers, and its
facilities (floor area, sports ground, equipment, multimedia rooms) in proportion to their students, both with
largest-remainder rounding so that the school's totals are kept exactly. Gigabit access, the counselling room
and pairing are school attributes that both parts share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.baseline import JUNIOR_GRADES, PRIMARY_GRADES, TEACHER_AGE_BANDS
from sim.vocabulary import JUNIOR, LEVELS, LOCATIONS, NINE_YEAR, PRIMARY

LOCATION_CODES = {name: code for code, name in enumerate(LOCATIONS)}
GRADES = 9


@dataclass(frozen=True)
class Sections:
    """Static description and start-year state of every section (arrays of length S unless stated)."""

    school: np.ndarray  # int: index of the school in ``school_id``
    school_id: np.ndarray  # (n_schools,) str
    county: np.ndarray  # int: index into ``county_code``
    level: np.ndarray  # int8: 0 primary, 1 junior
    location: np.ndarray  # int8: 0 urban, 1 town, 2 rural
    nine_year: np.ndarray  # bool: part of a nine-year school
    teaching_point: np.ndarray  # bool
    county_code: np.ndarray  # (C,) int
    county_name: np.ndarray  # (C,) str
    county_south: np.ndarray  # (C,) bool
    county_remote: np.ndarray  # (C,) bool
    county_population: np.ndarray  # (C,) int, 2020 census
    county_special_schools: np.ndarray  # (C,) int, special-education schools at the start
    students: np.ndarray  # (S, 9) int: grades 1–9 (a primary section has zeros in 7–9, a junior one in 1–6)
    classes: np.ndarray  # (S,) int
    teachers_by_age: np.ndarray  # (S, 6) int: age bands of ``sim.baseline.TEACHER_AGE_BANDS``
    qualified: np.ndarray  # (S,) int: teachers above the required qualification
    backbone: np.ndarray  # (S,) int: county-level-or-above backbone teachers
    pe_art: np.ndarray  # (S,) int
    special_post: np.ndarray  # (S,) int: special-post (特岗) contract teachers
    targeted: np.ndarray  # (S,) int: targeted graduates (优师计划)
    floor_area_m2: np.ndarray  # (S,) float
    sports_area_m2: np.ndarray  # (S,) float
    equipment_value_cny: np.ndarray  # (S,) float
    multimedia_rooms: np.ndarray  # (S,) float
    gigabit: np.ndarray  # (S,) bool
    counselling_room: np.ndarray  # (S,) bool
    paired: np.ndarray  # (S,) bool

    @property
    def n_sections(self) -> int:
        return int(self.school.size)

    @property
    def n_counties(self) -> int:
        return int(self.county_code.size)

    @property
    def teachers(self) -> np.ndarray:
        return self.teachers_by_age.sum(axis=1)


def split_largest_remainder(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer totals (n,) into parts (n, k) ∝ weights (n, k), keeping each total exactly.

    Rows with zero weight split evenly. Largest-remainder (Hamilton) rounding.

    >>> split_largest_remainder(np.array([5]), np.array([[1.0, 1.0]])).tolist()
    [[3, 2]]
    """
    total = np.asarray(total, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    sums = weights.sum(axis=1, keepdims=True)
    shares = np.where(sums > 0, weights / np.where(sums > 0, sums, 1), 1.0 / weights.shape[1])
    exact = total[:, None] * shares
    parts = np.floor(exact).astype(np.int64)
    left = total - parts.sum(axis=1)
    order = np.argsort(-(exact - parts), axis=1, kind="stable")
    ranks = np.argsort(order, axis=1, kind="stable")
    parts += (ranks < left[:, None]).astype(np.int64)
    return parts


def build_sections(registry: pd.DataFrame, counties: pd.DataFrame) -> Sections:
    """Sections of the schools of ``registry`` that lie in ``counties`` (the scenario's selection)."""
    counties = counties.reset_index(drop=True)
    county_index = {int(code): i for i, code in enumerate(counties["code"])}
    reg = registry[registry["county_code"].isin(county_index)].reset_index(drop=True)

    has_primary = reg["level"].isin([LEVELS[PRIMARY], NINE_YEAR]).to_numpy()
    has_junior = reg["level"].isin([LEVELS[JUNIOR], NINE_YEAR]).to_numpy()
    school = np.concatenate([np.flatnonzero(has_primary), np.flatnonzero(has_junior)])
    level = np.concatenate([np.full(has_primary.sum(), PRIMARY, np.int8), np.full(has_junior.sum(), JUNIOR, np.int8)])
    order = np.lexsort((level, school))  # sections of a school next to each other
    school, level = school[order], level[order]

    students = np.zeros((school.size, GRADES), dtype=np.int64)
    primary_grades = reg[list(PRIMARY_GRADES)].to_numpy(np.int64)
    junior_grades = reg[list(JUNIOR_GRADES)].to_numpy(np.int64)
    n_primary_grades = len(PRIMARY_GRADES)
    students[level == PRIMARY, :n_primary_grades] = primary_grades[school[level == PRIMARY]]
    students[level == JUNIOR, n_primary_grades:] = junior_grades[school[level == JUNIOR]]

    teachers = reg["teachers"].to_numpy(np.int64)
    teachers_junior = reg["teachers_junior"].to_numpy(np.int64)
    section_teachers = np.where(level == JUNIOR, teachers_junior[school], teachers[school] - teachers_junior[school])
    teacher_share = np.divide(section_teachers, teachers[school], out=np.zeros(school.size), where=teachers[school] > 0)
    section_students = students.sum(axis=1)
    school_students = np.bincount(school, weights=section_students, minlength=len(reg))
    student_share = np.divide(
        section_students, school_students[school], out=np.full(school.size, 0.5), where=school_students[school] > 0
    )
    # a school with a single section keeps everything
    single = np.bincount(school, minlength=len(reg))[school] == 1
    teacher_share[single] = 1.0
    student_share[single] = 1.0

    def split(column: str, share: np.ndarray) -> np.ndarray:
        """Integer school totals split over the school's sections (largest remainder, totals kept)."""
        values = reg[column].to_numpy(np.int64)
        out = np.empty(school.size, dtype=np.int64)
        first = np.flatnonzero(np.r_[True, school[1:] != school[:-1]])
        for start in first:
            stop = start + 1
            while stop < school.size and school[stop] == school[start]:
                stop += 1
            if stop - start == 1:
                out[start] = values[school[start]]
            else:
                out[start:stop] = split_largest_remainder(values[school[start]][None], share[None, start:stop])[0]
        return out

    def split_real(column: str, share: np.ndarray) -> np.ndarray:
        return reg[column].to_numpy(float)[school] * share

    classes = np.where(level == PRIMARY, reg["classes_primary"].to_numpy(np.int64)[school],
                       reg["classes_junior"].to_numpy(np.int64)[school])
    teachers_by_age = np.stack([split(band, teacher_share) for band in TEACHER_AGE_BANDS], axis=1)
    # categories are capped by the section's teachers after rounding
    section_total = teachers_by_age.sum(axis=1)

    def category(column: str) -> np.ndarray:
        return np.minimum(split(column, teacher_share), section_total)

    flag = lambda column: reg[column].to_numpy(bool)[school]  # noqa: E731
    return Sections(
        school=school,
        school_id=reg["school_id"].to_numpy(str),
        county=np.array([county_index[int(c)] for c in reg["county_code"].to_numpy()[school]], dtype=np.int64),
        level=level,
        location=np.array([LOCATION_CODES[v] for v in reg["location"].to_numpy()[school]], dtype=np.int8),
        nine_year=(reg["level"].to_numpy() == NINE_YEAR)[school],
        teaching_point=flag("teaching_point"),
        county_code=counties["code"].to_numpy(np.int64),
        county_name=counties["name"].to_numpy(str),
        county_south=counties["south"].to_numpy(bool),
        county_remote=counties["remote"].to_numpy(bool),
        county_population=counties["pop_2020"].to_numpy(np.int64),
        county_special_schools=counties["special_education_schools"].to_numpy(np.int64),
        students=students,
        classes=classes,
        teachers_by_age=teachers_by_age,
        qualified=category("teachers_qualified"),
        backbone=category("teachers_backbone"),
        pe_art=category("teachers_pe_art"),
        special_post=category("teachers_special_post"),
        targeted=category("teachers_targeted"),
        floor_area_m2=split_real("floor_area_m2", student_share),
        sports_area_m2=split_real("sports_area_m2", student_share),
        equipment_value_cny=split_real("equipment_value_cny", student_share),
        multimedia_rooms=split_real("multimedia_rooms", student_share),
        gigabit=flag("gigabit"),
        counselling_room=flag("counselling_room"),
        paired=flag("paired"),
    )
