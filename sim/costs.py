"""What the levers cost: cost by programme and year from the quantities the engine records.

The unit costs are in ``calibration/data/unit_costs.csv`` (one row per programme and cost item, with its source,
who pays and whether the engine records the quantity it applies to). :func:`cost_dataset` turns the recorded
quantities of a results Dataset into CNY:

=================  =====================================================  =============================================
programme          quantity (recorded)                                    unit cost
=================  =====================================================  =============================================
dispatch           ``dispatched_in_post`` (teachers in post in the year)  stipend + travel + housing per teacher-year
rotation           teachers on rotation: ``rotated`` over their term      subsidy per rotated teacher-year
retention          rural teachers (see below) × 12 months                 lever ``retention.rural_subsidy_cny_month``
capital            the lever ``funding.capital_cny`` × pupil share        the appropriation itself
gigabit            increase of ``gigabit_count`` over the year            per school connected
counselling        increase of ``counselling_count`` over the year        per room built
pairing            ``pairing_count`` (paired rural schools)               per paired school-year
special_education  increase of ``special_schools`` over the year          per special-education school opened
resource_rooms     increase of ``resource_rooms`` over the year           per resource room (資源教室) fitted out
special_post       ``special_post_in_post`` (teachers in their contract)  central salary subsidy per teacher-year
targeted_graduates ``targeted_hires`` (graduates placed in the year)      training cost per graduate placed
junior_retraining  ``retrained`` (teachers qualified for junior posts)    course per teacher retrained
development        ``qualification_upgrades``, ``backbone_cultivated``    per upgrade; per newly recognised backbone
classrooms         ``classrooms_started`` (classes beyond the classrooms,  m² per classroom × CNY per m² (a product)
                   and rooms at receivers under 先建后撤)
=================  =====================================================  =============================================

Classrooms (issue 15 items 1–2): every classroom the engine starts (``classrooms_started``: the class-size norm's
classes beyond a section's classrooms, :mod:`sim.mechanisms.classes`, and the rooms started at a receiving school
before a closure, :mod:`sim.mechanisms.network` rule 4) is priced in its start year at its floor area times the
floor cost (:data:`_PRODUCT_PROGRAMMES`: the items multiply). Nothing built, nothing costed. The capital
programme's own building (floor area bought by ``funding.capital_cny``) is the appropriation, priced separately.

Unit costs given as a range (``low``, ``high``) are uncertainties: each draw takes a uniform value from its own
keyed stream ``cost/PROGRAMME.ITEM`` (:meth:`sim.rng.Streams.uniforms`), so two scenarios with the same seed price a
draw the same way (common random numbers) and a draw's price does not depend on how many draws run.

Every lever is costed (:data:`NOT_COMPUTED` is empty; issue 16 item 2): the teacher programmes' quantities are
recorded by both engines (``sim.steps`` recruitment and development, and their agent counterparts). Teacher
salaries themselves are not a programme cost: the special-post cost is the central subsidy only (the county pays the
rest of the salary, as it pays every teacher's).

Rotation is priced per teacher-year on rotation, the unit of ``calibration/data/unit_costs.csv`` ("CNY per
rotated teacher-year", a monthly subsidy "for the year of rotation"): the ``rotated`` of a year (teachers starting
a rotation) stay on it for the lever ``rotation.term_years`` of that year, so each is costed in each of those years
(:func:`rotation_teacher_years`). A term of 0 (a permanent transfer, no return) is costed for its first year only.

Approximations (documented in the table's notes): rotated teachers who leave during their term are still costed
to its end (the engine does not record teachers on loan; attrition is a few percent a year); rural teachers are
not recorded, so the retention cost uses the
county's recorded teachers × its share of rural teachers in the 2020 registry; the capital cost is the
appropriation (the engine places at most ``funding.execution_rate`` × it; the placed spend is not recorded).

Budget rules: the capital budget is enforced in the engine (``Σ spend ≤ budget``, money that cannot be placed
lapses, :func:`sim.mechanisms.facilities.allocate`). The teacher levers and the T6–T10 programmes (the programmes of
:data:`sim.mechanisms.budget.BUDGETED`) are limited by the recurrent budget ``levers.funding.recurrent_cny`` when a
scenario sets one (none by default: no limit, and every result as without the key): the year's planned spend at the
planning prices of the same table (:func:`sim.unitcosts.planning_prices`) is cut back by
:mod:`sim.mechanisms.budget` (commitments first, then one proportional scale on the year's new quantities), and
:func:`budget_dataset` records, per year, the budget, the spend committed, requested and allowed and the scale
(CNY; the scale unitless), with ``cost_budgeted`` (draw, year), the realised cost of those programmes. Outside the
recurrent budget: establishment salaries (not costed here), ``capital`` and ``classrooms``. ``edusim optimize
--budget`` constrains a choice of levers by their realised cost instead.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sim.mechanisms.budget import BUDGETED
from sim.model import Model, lever_at
from sim.rng import Streams
from sim.scenario import PLAN_YEAR
from sim.unitcosts import UNIT_COSTS, UnitCost, load_unit_costs

__all__ = [
    "NOT_COMPUTED",
    "PROGRAMMES",
    "UNIT_COSTS",
    "UnitCost",
    "budget_dataset",
    "cost_dataset",
    "draw_item_costs",
    "draw_unit_costs",
    "load_unit_costs",
    "rotation_teacher_years",
    "rural_teacher_share",
]

PROGRAMMES = ("dispatch", "rotation", "retention", "capital", "gigabit", "counselling", "pairing", "special_education",
              "resource_rooms", "special_post", "targeted_graduates", "junior_retraining", "development", "classrooms")
"""Programmes whose cost is computed, in the order of the ``programme`` coordinate."""
NOT_COMPUTED: tuple[str, ...] = ()
"""Programmes whose quantity the engine does not record (their cost absent, not zero): none since issue 16."""
_PRODUCT_PROGRAMMES = frozenset({"classrooms"})
"""Programmes whose unit cost is the product of their items (m² per classroom × CNY per m²), not the sum."""
# the items priced by their own recorded quantity (the other programmes price every item on one quantity)
_ITEM_QUANTITY = {("development", "qualification upgrade"): "qualification_upgrades",
                  ("development", "backbone cultivation"): "backbone_cultivated"}


def draw_item_costs(seed: int, first_draw: int, n_draws: int,
                    units: list[UnitCost] | None = None) -> dict[tuple[str, str], np.ndarray]:
    """Per (programme, item), the unit cost of each draw ``(n_draws,)`` (``lever`` rows are left out). A range is
    sampled uniformly from the draw's keyed stream ``cost/PROGRAMME.ITEM``."""
    streams = Streams(seed)
    out: dict[tuple[str, str], np.ndarray] = {}
    for unit in units if units is not None else load_unit_costs():
        if not unit.computed or unit.lever:
            continue
        if unit.low is not None and unit.high is not None:
            u = streams.uniforms(unit.component, first_draw, first_draw + n_draws)
            value = unit.low + u * (unit.high - unit.low)
        else:
            value = np.full(n_draws, float(unit.value or 0.0))
        out[(unit.programme, unit.item)] = out.get((unit.programme, unit.item), np.zeros(n_draws)) + value
    return out


def draw_unit_costs(seed: int, first_draw: int, n_draws: int,
                    units: list[UnitCost] | None = None) -> dict[str, np.ndarray]:
    """Per programme, the summed unit cost of each draw ``(n_draws,)`` of the items priced on the programme's one
    quantity (:func:`draw_item_costs`; the items with their own quantity, development's, are left out; the items of
    a :data:`_PRODUCT_PROGRAMMES` programme multiply)."""
    out: dict[str, np.ndarray] = {}
    for (programme, item), value in draw_item_costs(seed, first_draw, n_draws, units).items():
        if programme in _PRODUCT_PROGRAMMES:
            out[programme] = out.get(programme, np.ones(n_draws)) * value
        elif (programme, item) not in _ITEM_QUANTITY:
            out[programme] = out.get(programme, np.zeros(n_draws)) + value
    return out


def rural_teacher_share(model: Model) -> np.ndarray:
    """``(C,)`` share of each county's teachers in rural sections in the start registry (0 where none)."""
    s = model.sections
    teachers = s.teachers_by_age.sum(axis=1).astype(float)
    total = np.bincount(s.county, weights=teachers, minlength=s.n_counties)
    rural = np.bincount(s.county, weights=np.where(model.rural, teachers, 0.0), minlength=s.n_counties)
    return np.divide(rural, total, out=np.zeros(s.n_counties), where=total > 0)


def _increase(count: np.ndarray) -> np.ndarray:
    """``(D, Y)`` increase of a stock over each year (0 in the first year; decreases count 0)."""
    out = np.zeros_like(count)
    out[:, 1:] = np.maximum(np.diff(count, axis=1), 0.0)
    return out


def rotation_teacher_years(rotated: np.ndarray, terms: list[int]) -> np.ndarray:
    """``(D, Y)`` teachers on rotation in each year: the ``rotated[:, j]`` starting in year ``j`` are on rotation
    in years ``j … j + terms[j] − 1`` (a loan of term ``T`` returns at the start of year ``j + T``,
    :meth:`sim.mechanisms.rotation.Loans.advance`); a term of 0 counts its first year only. Years are consecutive.

    >>> rotation_teacher_years(np.array([[10.0, 0.0, 5.0, 0.0]]), [3, 3, 3, 3]).tolist()
    [[10.0, 10.0, 15.0, 5.0]]
    """
    out = np.zeros_like(rotated, dtype=float)
    for j, term in enumerate(terms):
        out[:, j:j + max(term, 1)] += rotated[:, j:j + 1]
    return out


def cost_dataset(model: Model, ds: xr.Dataset, units: list[UnitCost] | None = None) -> xr.Dataset:
    """The cost variables of a results Dataset ``ds`` (region, i.e. all selected counties):

    - ``cost`` (draw, year, programme), CNY;
    - ``cost_total`` (draw, year), CNY: the sum over programmes;
    - ``cost_plan_total`` (draw,), CNY: ``cost_total`` summed over the years from 2025 (the plan) to the horizon.
    """
    scenario = model.scenario
    years = [int(y) for y in ds["year"].values]
    draws = ds["draw"].values
    n = len(draws)
    first = int(draws[0]) if n else 0
    unit = draw_unit_costs(scenario.seed, first, n, units)
    items = draw_item_costs(scenario.seed, first, n, units)

    def county_total(name: str) -> np.ndarray:
        return ds[name].values.astype(float).sum(axis=-1)

    quantity = {
        "dispatch": county_total("dispatched_in_post"),
        "rotation": rotation_teacher_years(county_total("rotated"),
                                           [lever_at(scenario, "rotation", y).term_years for y in years]),
        "gigabit": _increase(county_total("gigabit_count")),
        "counselling": _increase(county_total("counselling_count")),
        "pairing": county_total("pairing_count"),
        "special_education": _increase(county_total("special_schools")),
        "resource_rooms": _increase(county_total("resource_rooms")),
        "special_post": county_total("special_post_in_post"),
        "targeted_graduates": county_total("targeted_hires"),
        "junior_retraining": county_total("retrained"),
        "classrooms": county_total("classrooms_started"),
    }
    cost = np.zeros((n, len(years), len(PROGRAMMES)))
    for p, name in enumerate(PROGRAMMES):
        if name in quantity:
            cost[:, :, p] = quantity[name] * unit.get(name, np.zeros(n))[:, None]
    development = PROGRAMMES.index("development")
    for (programme, item), variable in _ITEM_QUANTITY.items():
        if (programme, item) in items:
            cost[:, :, development] += county_total(variable) * items[(programme, item)][:, None]
    rural_teachers = (ds["teachers"].values.astype(float) * rural_teacher_share(model)).sum(axis=-1)
    subsidy = np.array([lever_at(scenario, "retention", y).rural_subsidy_cny_month for y in years])
    cost[:, :, PROGRAMMES.index("retention")] = rural_teachers * subsidy * 12.0
    capital = np.array([0.0 if y == scenario.start_year else
                        lever_at(scenario, "funding", y).capital_cny_in(y) * model.scale.pupils for y in years])
    cost[:, :, PROGRAMMES.index("capital")] = capital[None, :]
    total = cost.sum(axis=-1)
    plan = np.array(years) >= PLAN_YEAR
    out = xr.Dataset(coords={"programme": list(PROGRAMMES)})
    out["cost"] = xr.DataArray(cost, dims=("draw", "year", "programme"), attrs={
        "units": "CNY", "long_name": "cost by programme and year, all selected counties (unit costs: "
        "calibration/data/unit_costs.csv; sim/costs.py)",
        "not_computed": ", ".join(NOT_COMPUTED) or "none"})
    out["cost_total"] = xr.DataArray(total, dims=("draw", "year"), attrs={
        "units": "CNY", "long_name": "cost of the computed programmes in the year"})
    out["cost_plan_total"] = xr.DataArray(total[:, plan].sum(axis=1), dims=("draw",), attrs={
        "units": "CNY", "long_name": f"cost of the computed programmes summed over {PLAN_YEAR}–{scenario.horizon}"})
    out["programme"].attrs.update(long_name="costed programme (lever)")
    if getattr(model, "budget", None) is not None:
        out = out.merge(budget_dataset(model, cost))
    return out


def budget_dataset(model: Model, cost: np.ndarray) -> xr.Dataset:
    """The recurrent budget rule's accounting by year (:mod:`sim.mechanisms.budget`), present only when the scenario
    sets ``levers.funding.recurrent_cny``; ``cost`` is :func:`cost_dataset`'s ``(draw, year, programme)`` array."""
    plan = getattr(model, "budget", None)
    if plan is None:
        raise ValueError("the scenario sets no recurrent budget (levers.funding.recurrent_cny)")
    inside = [PROGRAMMES.index(p) for p in BUDGETED]
    note = "planned quantities at planning prices (sim/mechanisms/budget.py), all selected counties"
    out = xr.Dataset(coords={"year": plan.years})
    out["budget_recurrent"] = xr.DataArray(plan.budget_cny, dims=("year",), attrs={
        "units": "CNY", "long_name": "recurrent budget of the year (levers.funding.recurrent_cny × the selection's "
        "pupil share; NaN: no limit)"})
    out["budget_committed"] = xr.DataArray(plan.committed_cny, dims=("year",), attrs={
        "units": "CNY", "long_name": f"spend committed by earlier years' terms, contracts and pairs; {note}"})
    out["budget_requested"] = xr.DataArray(plan.requested_cny, dims=("year",), attrs={
        "units": "CNY", "long_name": f"spend the levers request (committed + new quantities); {note}"})
    out["budget_allowed"] = xr.DataArray(plan.allowed_cny, dims=("year",), attrs={
        "units": "CNY", "long_name": f"spend the rule allows (committed + new quantities as applied); {note}"})
    out["budget_scale"] = xr.DataArray(plan.scale, dims=("year",), attrs={
        "units": "1", "long_name": "factor applied to the year's new quantities of the budgeted levers (1: none cut)"})
    out["cost_budgeted"] = xr.DataArray(cost[:, :, inside].sum(axis=-1), dims=("draw", "year"), attrs={
        "units": "CNY", "long_name": "cost of the programmes inside the recurrent budget at the draw's unit costs "
        f"and realised quantities ({', '.join(BUDGETED)})"})
    return out
