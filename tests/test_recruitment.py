"""Tests of sim.mechanisms.recruitment."""

from __future__ import annotations

import numpy as np
import pytest

from sim.mechanisms.quota import group_sum
from sim.mechanisms.recruitment import (
    allocate_hires_to_sections,
    new_hire_attributes,
    open_recruitment,
    retrain_for_junior,
    special_post_hires,
    targeted_graduate_hires,
)

VACANCIES = np.array([[[5, 3], [7, 0], [2, 9]]])  # (D=1, C=3, 2)
REMOTE = np.array([False, True, False])


def test_fill_rate_one_no_penalty_hires_every_vacancy():
    hires = open_recruitment(VACANCIES, 1.0, 0.0, REMOTE, np.random.default_rng(0))
    np.testing.assert_array_equal(hires, VACANCIES)


def test_fill_rate_zero_hires_nobody():
    hires = open_recruitment(VACANCIES, np.zeros((1, 1)), 0.0, REMOTE, np.random.default_rng(0))
    assert hires.sum() == 0


def test_full_remote_penalty_closes_remote_counties():
    hires = open_recruitment(VACANCIES, 1.0, 1.0, REMOTE, np.random.default_rng(0))
    np.testing.assert_array_equal(hires, [[[5, 3], [0, 0], [2, 9]]])


def test_expected_hires_match_vacancies_times_probability():
    n_draws = 3000
    vacancies = np.broadcast_to([[[1000, 0], [1000, 0]]], (n_draws, 2, 2))
    fill = np.full((n_draws, 1), 0.8)
    hires = open_recruitment(vacancies, fill, 0.25, np.array([False, True]), np.random.default_rng(11))
    for county, p in [(0, 0.8), (1, 0.8 * 0.75)]:
        se = np.sqrt(1000 * p * (1 - p) / n_draws)
        assert abs(hires[:, county, 0].mean() - 1000 * p) < 5 * se
    assert hires[:, 1, 0].mean() < hires[:, 0, 0].mean()  # the penalty lowers hires


def test_allocate_hires_follows_vacancy_and_conserves():
    county = np.array([0, 0, 0, 1, 1])
    level = np.array([0, 0, 1, 0, 0])
    hires = np.array([[[6, 2], [4, 0]]])
    section_vacancy = np.array([[4, 0, 2, 0, 0]])  # county 1 has no section vacancy -> uniform fallback
    placed = allocate_hires_to_sections(hires, section_vacancy, county, level, np.random.default_rng(1))
    assert placed[0, 1] == 0  # no vacancy, county-level has vacancy elsewhere
    np.testing.assert_array_equal(placed[0, :3], [6, 0, 2])
    assert placed[0, 3:].sum() == 4
    np.testing.assert_array_equal(group_sum(placed, county * 2 + level, 4), hires.reshape(1, 4))


def _channel_layout():
    # counties: 0 south, 1 other remote, 2 other
    county = np.array([0, 0, 1, 2, 2])
    location = np.array([2, 0, 2, 2, 1], dtype=np.int8)
    south = np.array([True, False, False])
    remote = np.array([False, True, False])
    vacancy = np.array([[50, 40, 30, 30, 20]])
    return county, location, south, remote, vacancy


def test_special_post_split_south_and_rural_only():
    county, location, south, remote, vacancy = _channel_layout()
    hires = special_post_hires(
        10, vacancy, location, county, south, remote, 1.0, np.random.default_rng(0), south_share=0.6
    )
    assert hires[0, 0] == 6  # 60% of 10 to the south's only rural section
    assert hires[0, 1] == 0 and hires[0, 4] == 0  # urban and town sections get none
    # other group: 4 places over rural sections of counties 1 (remote, weight 2 x 30) and 2 (weight 30)
    assert hires[0, 2] + hires[0, 3] == 4
    assert hires[0, 2] == 3 and hires[0, 3] == 1  # 4 * 60/90 = 2.67 -> 3, 4 * 30/90 = 1.33 -> 1


def test_special_post_capped_by_vacancy():
    county, location, south, remote, vacancy = _channel_layout()
    hires = special_post_hires(10_000, vacancy, location, county, south, remote, 1.0, np.random.default_rng(0))
    assert np.all(hires <= vacancy)
    np.testing.assert_array_equal(hires, [[50, 0, 30, 30, 0]])


def test_targeted_graduates_go_to_designated_counties():
    county, _, south, remote, vacancy = _channel_layout()
    hires = targeted_graduate_hires(100, vacancy, county, south, remote, 1.0, np.random.default_rng(0))
    assert hires[0, 3:].sum() == 0  # county 2 is neither south nor remote
    assert hires.sum() == 100
    assert np.all(hires <= vacancy)
    none = targeted_graduate_hires(100, vacancy, county, south, remote, 0.0, np.random.default_rng(0))
    assert none.sum() == 0


def test_retrain_for_junior_limited_by_surplus_vacancy_and_places():
    surplus = np.array([[5, 0, 10]])
    vacancy = np.array([[3, 4, 20]])
    rng = np.random.default_rng(0)
    # enough places and pass rate 1: min(surplus, vacancy) = 3, 0, 10
    np.testing.assert_array_equal(retrain_for_junior(surplus, vacancy, 1000, 1.0, rng), [[3, 0, 10]])
    # 13 candidates, 6 places: 6 * 3/13 = 1.38 -> 1, 6 * 10/13 = 4.62 -> 5
    np.testing.assert_array_equal(retrain_for_junior(surplus, vacancy, 6, 1.0, rng), [[1, 0, 5]])
    assert retrain_for_junior(surplus, vacancy, 0, 1.0, rng).sum() == 0
    assert retrain_for_junior(surplus, vacancy, 1000, 0.0, rng).sum() == 0


def test_new_hire_attributes_share():
    hires = np.array([[10, 0, 7], [3, 3, 3]])
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(new_hire_attributes(hires, 1.0, rng), hires)
    assert new_hire_attributes(hires, 0.0, rng).sum() == 0
    above = new_hire_attributes(hires, np.array([[0.5], [0.9]]), rng)
    assert np.all(above <= hires)


def test_probabilities_outside_unit_interval_rejected():
    with pytest.raises(ValueError, match="fill_rate"):
        open_recruitment(VACANCIES, 1.5, 0.0, REMOTE, np.random.default_rng(0))
