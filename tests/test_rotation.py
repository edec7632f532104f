"""Tests of sim.mechanisms.rotation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms.quota import group_sum
from sim.mechanisms.rotation import (
    Loans,
    eligible_share_from_tenure,
    eligible_teachers,
    loan_returns,
    max_backbone_share,
    rotate,
)


def test_eligible_share_from_geometric_tenure():
    # (1 - 1/10) ** 6 = 0.9 ** 6 = 0.531441
    np.testing.assert_allclose(eligible_share_from_tenure(10.0, 6), 0.531441)
    np.testing.assert_allclose(
        eligible_share_from_tenure(np.array([[8.0], [15.0]]), 6)[:, 0], [(7 / 8) ** 6, (14 / 15) ** 6]
    )
    assert eligible_share_from_tenure(5.0, 0) == 1.0


def test_eligible_teachers_extremes():
    stock = np.array([[10, 0, 4]])
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(eligible_teachers(stock, 1.0, rng), stock)
    assert eligible_teachers(stock, 0.0, rng).sum() == 0


def _one_county(n_draws):
    """County 0, primary: an urban section (1000 teachers, 300 backbone) and a rural one (1000, none)."""
    stock = np.broadcast_to([1000, 1000], (n_draws, 2)).copy()
    backbone = np.broadcast_to([300, 0], (n_draws, 2)).copy()
    layout = {
        "section_county": np.array([0, 0]),
        "section_level": np.array([0, 0]),
        "section_location": np.array([0, 2]),
        "n_counties": 1,
    }
    return stock, backbone, layout


def test_share_zero_gives_no_flow():
    stock, backbone, layout = _one_county(5)
    flows = rotate(stock, backbone, 0.0, 0.2, "rural", **layout, eligible_share=1.0, rng=np.random.default_rng(0))
    for arr in (
        flows.out_backbone,
        flows.out_regular,
        flows.in_backbone,
        flows.in_regular,
        flows.return_out,
        flows.return_in,
        flows.rotated_per_county,
    ):
        assert arr.sum() == 0
    np.testing.assert_array_equal(flows.rotation_share, 0.0)


def test_rotated_count_is_share_of_eligible_and_backbone_share_met():
    n_draws = 2000
    stock, backbone, layout = _one_county(n_draws)
    flows = rotate(stock, backbone, 0.1, 0.2, "rural", **layout, eligible_share=1.0, rng=np.random.default_rng(42))
    # eligible_share 1: every one of the 2000 teachers is eligible; rotated ~ Binomial(2000, 0.1)
    np.testing.assert_array_equal(flows.eligible_per_county[:, 0], 2000)
    se = np.sqrt(2000 * 0.1 * 0.9 / n_draws)
    assert abs(flows.rotated_per_county[:, 0].mean() - 200.0) < 5 * se
    # 300 eligible backbone teachers in the urban section always suffice for 20% of ~200
    assert np.all(flows.backbone_share_of_rotated[:, 0] >= 0.2)
    # one-for-one exchange: outgoing = ceil(N / 2), returning = floor(N / 2)
    n = flows.rotated_per_county[:, 0]
    np.testing.assert_array_equal(flows.return_out.sum(axis=1), n // 2)


def test_direction_rural_moves_only_urban_town_to_rural():
    rng = np.random.default_rng(5)
    n_draws = 50
    county = np.array([0, 0, 0, 1, 1, 1])
    level = np.array([0, 0, 0, 1, 1, 1])
    location = np.array([0, 1, 2, 0, 2, 2])
    stock = np.broadcast_to([200, 150, 100, 80, 60, 40], (n_draws, 6)).copy()
    backbone = np.broadcast_to([30, 20, 0, 10, 2, 0], (n_draws, 6)).copy()
    flows = rotate(stock, backbone, 0.3, 0.25, "rural", county, level, location, 2, 0.6, rng)
    rural = location == 2
    assert flows.out_backbone[:, rural].sum() == 0 and flows.out_regular[:, rural].sum() == 0
    assert flows.in_backbone[:, ~rural].sum() == 0 and flows.in_regular[:, ~rural].sum() == 0
    assert flows.return_out[:, ~rural].sum() == 0 and flows.return_in[:, rural].sum() == 0
    assert flows.out_regular.sum() + flows.out_backbone.sum() > 0
    assert np.all(flows.net_backbone[:, rural] >= 0)  # backbone teachers only ever arrive in rural sections


def test_direction_weak_moves_from_strong_to_weak():
    rng = np.random.default_rng(9)
    stock = np.array([[100, 100, 100]])
    backbone = np.array([[20, 20, 0]])
    weakness = np.array([[0.1, 0.2, 0.9]])  # county-level mean 0.4: only section 2 is weak
    flows = rotate(
        stock,
        backbone,
        0.5,
        0.2,
        "weak",
        np.zeros(3, int),
        np.zeros(3, int),
        np.zeros(3, int),
        1,
        1.0,
        rng,
        weakness=weakness,
    )
    assert flows.in_backbone[0, :2].sum() == 0 and flows.in_regular[0, :2].sum() == 0
    assert flows.out_backbone[0, 2] == 0 and flows.out_regular[0, 2] == 0
    assert flows.in_backbone[0, 2] + flows.in_regular[0, 2] > 0
    with pytest.raises(ValueError, match="weakness"):
        rotate(
            stock,
            backbone,
            0.5,
            0.2,
            "weak",
            np.zeros(3, int),
            np.zeros(3, int),
            np.zeros(3, int),
            1,
            1.0,
            rng,
        )


def test_one_way_loan_moves_headcount():
    stock, backbone, layout = _one_county(200)
    flows = rotate(
        stock,
        backbone,
        0.1,
        0.2,
        "rural",
        **layout,
        eligible_share=1.0,
        rng=np.random.default_rng(1),
        return_share=0.0,
    )
    assert flows.return_out.sum() == 0
    np.testing.assert_array_equal(flows.net_teachers[:, 1], flows.rotated_per_county[:, 0])


def test_max_backbone_share():
    assert max_backbone_share(1.0) == 0.5
    assert max_backbone_share(0.0) == 1.0


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_sections=st.integers(1, 10),
    share=st.floats(0, 1),
    backbone_share=st.floats(0, 1),
    return_share=st.sampled_from([0.0, 0.5, 1.0]),
    direction=st.sampled_from(["rural_and_weak", "rural", "weak", "any"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_rotation_conserves_per_county_and_level(
    data, n_sections, share, backbone_share, return_share, direction, seed
):
    n_draws = 3
    county = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n_sections, max_size=n_sections)))
    level = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n_sections, max_size=n_sections)))
    location = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n_sections, max_size=n_sections)))
    size = n_draws * n_sections
    stock = np.array(data.draw(st.lists(st.integers(0, 40), min_size=size, max_size=size)))
    stock = stock.reshape(n_draws, n_sections)
    frac = np.array(data.draw(st.lists(st.floats(0, 1), min_size=size, max_size=size)))
    backbone = np.floor(stock * frac.reshape(n_draws, n_sections)).astype(np.int64)
    weakness = np.array(data.draw(st.lists(st.floats(0, 1), min_size=size, max_size=size)))
    flows = rotate(
        stock,
        backbone,
        share,
        backbone_share,
        direction,
        county,
        level,
        location,
        3,
        0.7,
        np.random.default_rng(seed),
        weakness=weakness.reshape(n_draws, n_sections),
        return_share=return_share,
    )
    group = county * 2 + level
    np.testing.assert_array_equal(group_sum(flows.net_teachers, group, 6), 0)
    np.testing.assert_array_equal(group_sum(flows.net_backbone, group, 6), 0)
    new_stock = stock + flows.net_teachers
    new_backbone = backbone + flows.net_backbone
    assert np.all(new_stock >= 0) and np.all(new_backbone >= 0) and np.all(new_backbone <= new_stock)
    assert np.all(flows.rotated_per_county <= flows.eligible_per_county)
    np.testing.assert_array_equal(
        flows.rotated_per_county.sum(axis=1),
        (flows.out_backbone + flows.out_regular + flows.return_out).sum(axis=1),
    )


# ------------------------------------------------------------------------------------------------------------
# term and return (rotation.term_years)


def _after_term(stock, backbone, layout, term_years, seed=0):
    """Rotate once with ``term_years``, let ``term_years`` rounds pass with nothing else moving, return them."""
    flows = rotate(stock, backbone, 0.5, 0.3, "rural", **layout, eligible_share=1.0,
                   rng=np.random.default_rng(seed))
    loans = Loans.empty(stock.shape[0], stock.shape[1], 3).add(flows, term_years)
    now, bb_now = stock + flows.net_teachers, backbone + flows.net_backbone
    for year in range(1, term_years + 1):
        due, loans = loans.advance()
        back = loan_returns(due.host[..., 0], due.host_backbone[..., 0], due.home[..., 0],
                            due.home_backbone[..., 0], now, bb_now, layout["section_county"],
                            layout["section_level"], layout["n_counties"], np.random.default_rng(seed + year))
        if year < term_years:
            assert back.out.sum() == 0  # nobody is back before the term
        now = now - back.out + back.into
        bb_now = bb_now - back.out_backbone + back.into_backbone
    return flows, now, bb_now, loans


@pytest.mark.parametrize("term_years", [1, 2, 3])
def test_a_rotated_teacher_is_back_after_the_term(term_years):
    """Two sections of one county: after the term every section has its teachers and backbone teachers again
    (the exchange moved teachers both ways; with nothing else moving, the return undoes it exactly), and no
    loan is left."""
    stock, backbone, layout = _one_county(4)
    flows, now, bb_now, loans = _after_term(stock, backbone, layout, term_years)
    assert flows.in_backbone.sum() > 0 and flows.return_out.sum() > 0  # something did move
    np.testing.assert_array_equal(now, stock)
    np.testing.assert_array_equal(bb_now, backbone)
    assert sum(int(a.sum()) for a in (loans.host, loans.home, loans.host_backbone, loans.home_backbone)) == 0


def test_returners_who_left_are_not_returned_and_totals_are_kept():
    """Host section 1 lost all but 3 teachers: only 3 go back; the county's total is unchanged by the return."""
    layout = {"section_county": np.array([0, 0, 0]), "section_level": np.array([0, 0, 0]),
              "section_location": np.array([0, 0, 2]), "n_counties": 1}
    due_host = np.array([[0, 0, 10]])
    due_home = np.array([[6, 4, 0]])
    back = loan_returns(due_host, np.array([[0, 0, 2]]), due_home, np.array([[2, 0, 0]]), np.array([[5, 5, 3]]),
                        np.array([[1, 0, 3]]), layout["section_county"], layout["section_level"], 1,
                        np.random.default_rng(1))
    np.testing.assert_array_equal(back.out, [[0, 0, 3]])
    np.testing.assert_array_equal(back.out_backbone, [[0, 0, 2]])
    np.testing.assert_array_equal(back.into_backbone, [[2, 0, 0]])  # only section 0 lent backbone teachers
    assert back.into.sum() == 3 and np.all(back.into <= due_home)


def test_loan_slots_must_hold_the_term():
    stock, backbone, layout = _one_county(1)
    flows = rotate(stock, backbone, 0.1, 0.2, "rural", **layout, eligible_share=1.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="term_years"):
        Loans.empty(1, 2, 2).add(flows, 3)


# ------------------------------------------------------------------------------------------------------------
# placement rules (rotation.placement) on a hand-built county


def _four_sections(n_draws=8):
    """County 0, primary: urban section 0 (1000 teachers, 300 backbone) sends; rural sections 1–3 (200 each)
    receive. Section 1 fails 3 indicators incl. backbone, section 2 fails 5 incl. PE/art, section 3 fails 1."""
    stock = np.broadcast_to([1000, 200, 200, 200], (n_draws, 4)).copy()
    backbone = np.broadcast_to([300, 0, 0, 0], (n_draws, 4)).copy()
    layout = {"section_county": np.zeros(4, int), "section_level": np.zeros(4, int),
              "section_location": np.array([0, 2, 2, 2]), "n_counties": 1}
    rule_inputs = {
        "failing": np.broadcast_to([0, 3, 5, 1], (n_draws, 4)),
        "below_backbone": np.broadcast_to([False, True, False, False], (n_draws, 4)),
        "below_pe_art": np.broadcast_to([False, False, True, False], (n_draws, 4)),
    }
    return stock, backbone, layout, rule_inputs


def _placed(placement, **overrides):
    stock, backbone, layout, rule_inputs = _four_sections()
    rule_inputs.update(overrides)
    return rotate(stock, backbone, 0.3, 0.3, "rural", **layout, eligible_share=1.0, rng=np.random.default_rng(3),
                  placement=placement, **rule_inputs)


def test_proportional_placement_reaches_every_receiving_section():
    flows = _placed("proportional")
    assert np.all((flows.in_backbone + flows.in_regular)[:, 1:] > 0)  # ~30 movers each, P(0) < 1e-12
    assert np.all(flows.in_backbone[:, 0] + flows.in_regular[:, 0] == 0)


def test_weakest_first_sends_every_outgoing_teacher_to_the_section_failing_most_indicators():
    flows = _placed("weakest_first")
    moved_in = flows.in_backbone + flows.in_regular
    assert np.all(moved_in[:, 2] == moved_in.sum(axis=1)) and np.all(moved_in[:, 2] > 0)


def test_missing_indicator_sends_backbone_below_the_backbone_threshold_and_the_others_below_pe_art():
    flows = _placed("missing_indicator")
    np.testing.assert_array_equal(flows.in_backbone[:, 1], flows.in_backbone.sum(axis=1))
    np.testing.assert_array_equal(flows.in_regular[:, 2], flows.in_regular.sum(axis=1))
    assert np.all(flows.in_backbone[:, 1] > 0) and np.all(flows.in_regular[:, 2] > 0)


def test_a_rule_that_leaves_no_receiving_section_falls_back_to_proportional():
    nothing_below = np.zeros((8, 4), dtype=bool)
    rule = _placed("missing_indicator", below_backbone=nothing_below, below_pe_art=nothing_below)
    proportional = _placed("proportional")
    for name in ("in_backbone", "in_regular", "return_in", "out_backbone"):
        np.testing.assert_array_equal(getattr(rule, name), getattr(proportional, name))


def test_placement_rules_need_their_inputs():
    stock, backbone, layout, _ = _four_sections(1)
    with pytest.raises(ValueError, match="weakest_first"):
        rotate(stock, backbone, 0.3, 0.3, "rural", **layout, eligible_share=1.0, rng=np.random.default_rng(0),
               placement="weakest_first")
