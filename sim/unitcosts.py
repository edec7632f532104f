"""The unit costs of the costed programmes (``calibration/data/unit_costs.csv``): read by :mod:`sim.costs` (cost by
programme and year of a run) and by :mod:`sim.mechanisms.budget` (the recurrent budget rule), so that both price a
quantity from the same rows.

Each row is a fixed ``value``, a range ``low``–``high`` (an uncertainty: :mod:`sim.costs` draws it per draw,
uniformly) or ``lever`` (the lever is the unit cost). :func:`planning_prices` gives the price a budget is planned at:
the fixed value, or the midpoint of the range (the mean of the uniform draw).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UNIT_COSTS", "UnitCost", "load_unit_costs", "planning_prices"]

UNIT_COSTS = Path(__file__).resolve().parents[1] / "calibration" / "data" / "unit_costs.csv"


@dataclass(frozen=True)
class UnitCost:
    """One row of ``unit_costs.csv``: a fixed ``value``, a range ``low``–``high``, or ``lever`` (the lever is the
    unit cost)."""

    programme: str
    item: str
    unit: str
    value: float | None
    low: float | None
    high: float | None
    lever: bool
    computed: bool

    @property
    def component(self) -> str:
        """Name of the draw's random stream of this unit cost."""
        return f"cost/{self.programme}.{self.item}"


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def load_unit_costs(path: Path = UNIT_COSTS) -> list[UnitCost]:
    """The rows of ``unit_costs.csv``; a range must have ``low ≤ high``."""
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            lever = row["value"].strip() == "lever"
            unit = UnitCost(row["programme"], row["item"], row["unit"], None if lever else _number(row["value"]),
                            _number(row["low"]), _number(row["high"]), lever, row["computed"].strip() == "yes")
            if unit.low is not None and (unit.high is None or unit.high < unit.low):
                raise ValueError(f"{path}:{line}: {unit.programme}.{unit.item}: need low <= high")
            rows.append(unit)
    return rows


def planning_prices(units: list[UnitCost] | None = None) -> dict[tuple[str, str], float]:
    """Per (programme, item) of the computed, non-lever rows, the CNY a budget is planned at: the fixed ``value``,
    or the midpoint of ``low``–``high`` (the expected value of the uniform draw of :func:`sim.costs.draw_item_costs`).

    >>> prices = planning_prices()
    >>> prices[("rotation", "subsidy")]  # range 2,400–12,000 CNY per rotated teacher-year
    7200.0
    """
    out: dict[tuple[str, str], float] = {}
    for unit in units if units is not None else load_unit_costs():
        if not unit.computed or unit.lever:
            continue
        if unit.low is not None and unit.high is not None:
            value = (unit.low + unit.high) / 2.0
        else:
            value = float(unit.value or 0.0)
        out[(unit.programme, unit.item)] = out.get((unit.programme, unit.item), 0.0) + value
    return out
