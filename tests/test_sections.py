"""Sections (sim/sections.py): one per school and level; totals of the registry kept exactly."""

from __future__ import annotations

import numpy as np
import pytest

from sim.baseline import TEACHER_AGE_BANDS, load_counties, load_registry
from sim.sections import build_sections, split_largest_remainder
from sim.vocabulary import JUNIOR, LOCATIONS, PRIMARY

CODES = ["653131", "650522", "653121"]


@pytest.fixture(scope="module")
def built():
    counties = load_counties(include_xpcc=True)
    counties = counties[counties["code"].astype(str).isin(CODES)].reset_index(drop=True)
    registry = load_registry(counties=load_counties(include_xpcc=True))
    registry = registry[registry["county_code"].astype(str).isin(CODES)].reset_index(drop=True)
    return registry, build_sections(registry, counties)


def test_split_largest_remainder_keeps_totals_and_rounds_by_remainder():
    parts = split_largest_remainder(np.array([5, 7, 0, 3]), np.array([[1.0, 1.0], [2.0, 1.0], [1.0, 3.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(parts, [[3, 2], [5, 2], [0, 0], [2, 1]])


def test_one_section_per_school_and_level(built):
    registry, s = built
    expected = (registry["level"] == "nine_year").sum() * 2 + (registry["level"] != "nine_year").sum()
    assert s.n_sections == expected
    assert s.nine_year.sum() == 2 * (registry["level"] == "nine_year").sum()
    assert set(np.unique(s.level).tolist()) == {PRIMARY, JUNIOR}
    np.testing.assert_array_equal(s.students[s.level == PRIMARY][:, 6:], 0)
    np.testing.assert_array_equal(s.students[s.level == JUNIOR][:, :6], 0)


def test_registry_totals_are_kept(built):
    registry, s = built
    grades = [f"students_g{g}" for g in range(1, 10)]
    assert s.students.sum() == registry[grades].to_numpy().sum()
    assert s.teachers_by_age.sum() == registry[list(TEACHER_AGE_BANDS)].to_numpy().sum()
    for column in ("teachers_special_post", "teachers_targeted"):
        attr = {"teachers_special_post": "special_post", "teachers_targeted": "targeted"}[column]
        assert getattr(s, attr).sum() == registry[column].sum()
    assert s.floor_area_m2.sum() == pytest.approx(registry["floor_area_m2"].sum())


def test_locations_are_coded_by_the_vocabulary(built):
    registry, s = built
    by_school = registry["location"].to_numpy()[s.school]
    np.testing.assert_array_equal(np.array(LOCATIONS)[s.location], by_school)
