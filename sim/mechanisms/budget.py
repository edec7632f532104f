"""The recurrent budget rule: what the teacher levers and the T6–T10 programmes may deliver when their planned spend
exceeds the year's recurrent budget (``levers.funding.recurrent_cny``; issue 16 item 2).

The capital budget has always been a limit (:func:`sim.mechanisms.facilities.allocate`: ``Σ spend ≤ budget``). The
other levers are quantities (teachers dispatched, a rotation share, a subsidy per month, places, rooms…); with a
recurrent budget they are limited by money too. The rule is an **ex-ante appropriation**, as a finance bureau sets a
department's budget before the year from the planned quantities at standard unit costs (部門預算), with two
assumptions stated here (no Xinjiang or national text fixing the order of cuts was found):

1. **Commitments first.** What earlier years started and the year must pay — dispatched teachers, rotated teachers
   and special-post teachers still in their term or contract, rural schools already paired (a paired school stays
   paired, :func:`sim.steps.step_facilities`) — is paid first and is never cut (a signed contract is an obligation).
2. **Proportional scale-back of the new quantities.** If the year's planned spend (commitments + new quantities)
   exceeds the budget, every new quantity of the year is scaled by one factor
   ``scale = clip((budget − committed) / requested_new, 0, 1)`` (等比例壓減, the same cut for every programme: no
   programme is preferred, since the plan names no order). Shares and the subsidy are multiplied by ``scale``;
   counts (persons or units a year) are ``floor(count × scale)`` so that the spend stays within the budget; what the
   rounding leaves unspent lapses, as capital does. A budget at or above the planned spend changes nothing (the
   scenario's levers are used as they are, so the results are bit-identical); the rule draws no random numbers.

Spend allowed = committed + the applied new quantities at their prices ≤ ``max(budget, committed)``: only
commitments larger than the budget can overrun it, and then no new quantity is funded (``scale`` 0).

**Inside the budget** (:data:`BUDGETED`): dispatch (stipend, travel, housing), rotation subsidies, the rural retention
subsidy, special-post central wage subsidies, targeted-graduate training, junior retraining, development (upgrades,
backbone cultivation), pairing, gigabit connections, counselling rooms, special-education schools and resource rooms.
**Outside it**: the salaries of the establishment (paid whatever the budget: 保工資), the capital budget
(``funding.capital_cny``, its own limit) and classrooms (the class-size norm's rooms, a guarantee item built from
capital funds).

**Planned quantities and prices** (the bureau's view, not the draw's): prices are the planning prices of
``calibration/data/unit_costs.csv`` (:func:`sim.unitcosts.planning_prices`: the fixed value or the midpoint of the
range); quantities are the levers' region-wide numbers × the selection's share (:class:`sim.model.LeverScale`), and
for the share levers the start registry's headcount (:class:`PlanningBase`): rotation ``share × teachers`` (an upper
bound: the share applies to the teachers eligible by their years at the school, which the registry does not give),
development ``share × unqualified teachers`` and ``share × qualified non-backbone teachers``, retention ``rural
teachers × subsidy × 12``, pairing ``coverage × rural sections``. Multi-year commitments are counted from the start
year on (the registry's special-post teachers already in contract at the start are not).
A unit of a delivered programme (gigabit, counselling, special-education school, resource room) is paid in the year it
is planned; :func:`sim.costs.cost_dataset` prices it when it comes into use, after the draw's lead time. The budget of
a selection is ``recurrent_cny × pupils share``, as for capital. What a draw realises (``cost`` of
:func:`sim.costs.cost_dataset`, priced at the draw's unit costs and realised quantities: ``cost_budgeted``) differs
from the plan: the rule limits what is planned, not what a draw's prices and flows turn out to be.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.mechanisms.teachers import SPECIAL_POST_CONTRACT_YEARS

__all__ = ["BUDGETED", "BudgetPlan", "PlanningBase", "budget_scale", "plan_budget"]

BUDGETED = ("dispatch", "rotation", "retention", "special_post", "targeted_graduates", "junior_retraining",
            "development", "pairing", "gigabit", "counselling", "special_education", "resource_rooms")
"""Programmes (of :data:`sim.costs.PROGRAMMES`) inside the recurrent budget."""

Prices = dict[tuple[str, str], float]


@dataclass(frozen=True)
class PlanningBase:
    """The start registry's counts and the selection's shares that turn the levers into planned quantities."""

    teachers: float
    """teachers in post in the selection's start registry (persons)"""
    rural_teachers: float
    """of them in rural sections (persons)"""
    rural_sections: float
    """rural sections (the schools pairing covers)"""
    unqualified: float = 0.0
    """teachers below the required qualification (those an upgrade share applies to)"""
    qualified_non_backbone: float = 0.0
    """qualified teachers not recognised as backbone (those the cultivation share applies to)"""
    pupils_share: float = 1.0
    schools_share: float = 1.0
    large_counties_share: float = 1.0


@dataclass(frozen=True)
class BudgetPlan:
    """The rule's accounting by year (all ``(Y,)``, CNY, the selection's) and the levers each year uses."""

    years: np.ndarray
    budget_cny: np.ndarray
    """the year's recurrent budget (NaN: no limit)"""
    committed_cny: np.ndarray
    requested_cny: np.ndarray
    """committed + the new quantities the levers ask for"""
    allowed_cny: np.ndarray
    """committed + the new quantities applied"""
    scale: np.ndarray
    """factor applied to the year's new quantities (1: none cut)"""
    levers: tuple[dict[str, Any], ...] = field(default=())
    """per year, the lever groups replaced by their scaled copy (empty where ``scale`` is 1)"""

    def lever(self, group: str, year: int, lever: Any) -> Any:
        """The lever ``group`` of ``year``: its scaled copy where the budget binds, else ``lever`` itself."""
        i = year - int(self.years[0])
        return self.levers[i].get(group, lever) if 0 <= i < len(self.levers) else lever


def budget_scale(budget_cny: float, committed_cny: float, requested_new_cny: float) -> float:
    """The factor on the year's new quantities: 1 if everything fits, else what the budget left after the
    commitments buys of them, in [0, 1].

    >>> budget_scale(100.0, 20.0, 80.0), budget_scale(60.0, 20.0, 80.0), budget_scale(10.0, 20.0, 80.0)
    (1.0, 0.5, 0.0)
    """
    if not budget_cny >= 0:
        raise ValueError(f"budget must be a non-negative amount, got {budget_cny}")
    if budget_cny >= committed_cny + requested_new_cny:
        return 1.0
    if requested_new_cny <= 0:
        return 0.0
    return min(max((budget_cny - committed_cny) / requested_new_cny, 0.0), 1.0)


def _floor(count: int, scale: float) -> int:
    return count if scale == 1.0 else math.floor(count * scale)


def plan_budget(years: np.ndarray, lever_of: Callable[[str, int], Any], base: PlanningBase,
                prices: Prices) -> BudgetPlan | None:
    """The rule over ``years`` (consecutive): ``lever_of(group, year)`` gives the scenario's lever of the year
    (:func:`sim.model.lever_at`). ``None`` when no year has a recurrent budget (nothing to apply)."""
    budgets = [lever_of("funding", int(y)).recurrent_cny_in(int(y)) for y in years]
    if all(b is None for b in budgets):
        return None
    price = {
        "dispatch": sum(v for (p, _), v in prices.items() if p == "dispatch"),
        "rotation": prices[("rotation", "subsidy")],
        "special_post": prices[("special_post", "central wage subsidy")],
        "targeted_graduates": prices[("targeted_graduates", "training and placement")],
        "junior_retraining": prices[("junior_retraining", "retraining")],
        "upgrade": prices[("development", "qualification upgrade")],
        "backbone": prices[("development", "backbone cultivation")],
        "pairing": prices[("pairing", "paired support")],
        "gigabit": prices[("gigabit", "connection")],
        "counselling": prices[("counselling", "room")],
        "special_education": prices[("special_education", "special-education school")],
        "resource_rooms": prices[("resource_rooms", "resource room")],
    }
    n = len(years)
    future = np.zeros(n + 8)  # commitments of multi-year terms started earlier, by year index (CNY)
    paired = 0.0  # rural sections paired so far (planned), a commitment every later year
    out = {k: np.zeros(n) for k in ("budget", "committed", "requested", "allowed", "scale")}
    levers: list[dict[str, Any]] = []
    for i, y in enumerate(int(v) for v in years):
        lv = {g: lever_of(g, y) for g in ("dispatch", "rotation", "retention", "recruitment", "development",
                                          "pairing", "digital", "counselling", "special_education")}
        pairing_target = lv["pairing"].coverage_in(y) * base.rural_sections
        # (lever value, planned quantity per unit of the value, CNY per quantity) of the year's new quantities
        counts = {("dispatch", "per_year"): (base.pupils_share, price["dispatch"]),
                  ("recruitment", "special_post_per_year"): (base.pupils_share, price["special_post"]),
                  ("recruitment", "targeted_graduates_per_year"): (base.pupils_share, price["targeted_graduates"]),
                  ("recruitment", "junior_retraining_per_year"): (base.pupils_share, price["junior_retraining"]),
                  ("digital", "gigabit_schools_per_year"): (base.schools_share, price["gigabit"]),
                  ("counselling", "rooms_per_year"): (base.schools_share, price["counselling"]),
                  ("special_education", "schools_per_year"): (base.large_counties_share, price["special_education"]),
                  ("special_education", "resource_rooms_per_year"): (base.schools_share, price["resource_rooms"])}
        shares = {("rotation", "share"): (base.teachers, price["rotation"]),
                  ("retention", "rural_subsidy_cny_month"): (base.rural_teachers * 12.0, 1.0),
                  ("development", "qualification_upgrade_share"): (base.unqualified, price["upgrade"]),
                  ("development", "backbone_cultivation_share"): (base.qualified_non_backbone, price["backbone"])}
        new_pairs = max(pairing_target - paired, 0.0)
        committed = future[i] + paired * price["pairing"]
        requested_new = (sum(getattr(lv[g], k) * q * c for (g, k), (q, c) in counts.items())
                         + sum(getattr(lv[g], k) * q * c for (g, k), (q, c) in shares.items())
                         + new_pairs * price["pairing"])
        budget = budgets[i]
        if budget is None:
            scale = 1.0
        else:
            budget *= base.pupils_share
            scale = budget_scale(budget, committed, requested_new)
        applied = {gk: _floor(getattr(lv[gk[0]], gk[1]), scale) for gk in counts}
        applied.update({gk: getattr(lv[gk[0]], gk[1]) * scale for gk in shares})
        spent_new = (sum(applied[gk] * q * c for gk, (q, c) in counts.items())
                     + sum(applied[gk] * q * c for gk, (q, c) in shares.items()) + scale * new_pairs * price["pairing"])
        # the multi-year terms started this year are commitments of the following years of their term
        dispatch_cny = applied[("dispatch", "per_year")] * base.pupils_share * price["dispatch"]
        rotation_cny = applied[("rotation", "share")] * base.teachers * price["rotation"]
        special_cny = applied[("recruitment", "special_post_per_year")] * base.pupils_share * price["special_post"]
        for cny, term in ((dispatch_cny, lv["dispatch"].term_years), (rotation_cny, max(lv["rotation"].term_years, 1)),
                          (special_cny, SPECIAL_POST_CONTRACT_YEARS)):
            future[i + 1:i + term] += cny
        paired += scale * new_pairs
        replaced: dict[str, Any] = {}
        if scale != 1.0:
            for group in lv:
                update = {k: applied[(g, k)] for (g, k) in applied if g == group}
                if update:
                    replaced[group] = lv[group].model_copy(update=update)
            replaced["pairing"] = lv["pairing"].model_copy(
                update={"coverage_by_year": {y: paired / base.rural_sections if base.rural_sections else 0.0}})
        levers.append(replaced)
        out["budget"][i] = np.nan if budget is None else budget
        out["committed"][i] = committed
        out["requested"][i] = committed + requested_new
        out["allowed"][i] = committed + spent_new
        out["scale"][i] = scale
    return BudgetPlan(np.asarray(years), out["budget"], out["committed"], out["requested"], out["allowed"],
                      out["scale"], tuple(levers))
