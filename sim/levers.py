"""Levers on the command line: one parser of ``KEY=LO:HI[:N]`` and one rule for what a key is.

``edusim sweep``, ``edusim sensitivity`` and ``edusim solve`` all vary a number of the scenario named by a dotted
key (``levers.rotation.share``, ``levers.dispatch.per_year``, ``uncertainties.births.trend_per_year.mean``). This
module is the one place that reads such a key:

- :func:`parse_lever` reads ``KEY=LO:HI:N`` (sweep: ``N`` evenly spaced values) or ``KEY=LO:HI`` (sensitivity)
  and :func:`parse_range` reads ``LO:HI`` (solve's ``--range``). Numbers are plain decimals (``0.05``, ``1e9``,
  ``-3``); ``inf``, ``nan`` and ``1_000`` are refused.
- :func:`lever_info` checks the key against the scenario and says what it is: its current value, its units and
  whether it is **integer-valued**. The one rule for "integer": the scenario schema declares the key's field an
  ``int`` (``levers.dispatch.per_year``, ``levers.rotation.min_years_at_school``); a ``float`` field written as a
  whole number in a file (``capital_cny: 3500000000``) stays continuous. Keys inside mappings the schema does
  not type one by one (an uncertainty's distribution parameters) are integer when their value is.
- :func:`check_whole` (integer levers take whole-number bounds), :func:`lever_value` (the ``int`` or ``float``
  written into the scenario) and :func:`check_values` (every value passes the scenario's own validation, before
  anything runs) apply that rule the same way in the three commands.

Bad input is an :class:`~sim.errors.InputError` naming the key (or the option when the key is not known yet):
an unknown key names the nearest valid one and lists them all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from sim.distributions import MODELS
from sim.errors import InputError, suggest
from sim.parameters import PARAMETERS

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from sim.scenario import Scenario

__all__ = [
    "DISTRIBUTION_KEYS",
    "LEVER_SECTIONS",
    "MAX_POINTS",
    "LeverInfo",
    "LeverRange",
    "check_values",
    "check_whole",
    "grid_values",
    "lever_info",
    "lever_value",
    "parse_lever",
    "parse_range",
]

#: Top-level sections whose numbers may be varied (the Monte Carlo settings and years may not).
LEVER_SECTIONS = ("levers", "uncertainties")
#: Most grid points per lever in a sweep (each point is a full run of the scenario's draws).
MAX_POINTS = 200
#: Parameters of a distribution (``uncertainties.NAME.mean``): an uncertainty's name itself contains dots.
DISTRIBUTION_KEYS = frozenset(name for model in MODELS.values() for name in model.model_fields)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


# ---------------------------------------------------------------------------------------------------------
# Text


class LeverRange(NamedTuple):
    """A parsed ``KEY=LO:HI[:N]``: the key, the bounds and (for a sweep) the number of grid points."""

    key: str
    low: float
    high: float
    points: int | None = None


def _number(text: str, what: str, key: str) -> float:
    if not re.fullmatch(_NUMBER, text.strip()):
        raise InputError(f"{what} must be a number, got {text!r}", key=key)
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{what} must be finite, got {text!r}", key=key)
    return value


def parse_range(text: str, option: str = "--range") -> tuple[float, float]:
    """``"LO:HI"`` → ``(LO, HI)`` with ``LO < HI``.

    >>> parse_range("0:5000")
    (0.0, 5000.0)
    """
    parts = text.split(":")
    if len(parts) != 2:
        raise InputError(f"expected LO:HI (e.g. 0:5000), got {text!r}", key=option)
    lo, hi = (_number(p, name, option) for p, name in zip(parts, ("LO", "HI"), strict=True))
    if not lo < hi:
        raise InputError(f"LO must be below HI, got {text!r}", key=option)
    return lo, hi


def parse_lever(text: str, *, points: bool = True, option: str = "--lever") -> LeverRange:
    """``"KEY=LO:HI:N"`` (``points=True``) or ``"KEY=LO:HI"`` (``points=False``) → :class:`LeverRange`.

    ``LO < HI``; ``N`` is a whole number in ``[2, MAX_POINTS]``. Only the syntax is checked here; whether
    ``KEY`` names a number of the scenario is :func:`lever_info`'s job. Errors name ``option`` until the key is
    read, then the key.

    >>> parse_lever("levers.rotation.share=0:0.5:6")
    LeverRange(key='levers.rotation.share', low=0.0, high=0.5, points=6)
    >>> parse_lever("levers.rotation.share=0.05:0.3", points=False)
    LeverRange(key='levers.rotation.share', low=0.05, high=0.3, points=None)
    """
    form, example = ("KEY=LO:HI:N", "levers.rotation.share=0:0.5:6") if points else (
        "KEY=LO:HI", "levers.rotation.share=0.05:0.30")
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"expected {form} (e.g. {example}), got {text!r}", key=option)
    parts = spec.split(":")
    if len(parts) != (3 if points else 2):
        raise InputError(f"expected {form.partition('=')[2]} after '=' (e.g. {example.partition('=')[2]}), "
                         f"got {spec!r}", key=key)
    lo, hi = (_number(p, name, key) for p, name in zip(parts[:2], ("LO", "HI"), strict=True))
    n = None
    if points:
        if not re.fullmatch(r"\d+", parts[2].strip()):
            raise InputError(f"N (number of grid points) must be a whole number, got {parts[2]!r}", key=key)
        n = int(parts[2])
        if not 2 <= n <= MAX_POINTS:
            raise InputError(f"N (number of grid points) must be in [2, {MAX_POINTS}], got {n}", key=key)
    if not lo < hi:
        raise InputError(f"LO must be below HI, got {lo:g}:{hi:g}", key=key)
    return LeverRange(key, lo, hi, n)


# ---------------------------------------------------------------------------------------------------------
# What a key is


@dataclass(frozen=True)
class LeverInfo:
    """A scenario key that can vary: its current value, whether it is integer-valued, its units and meaning."""

    key: str
    value: float
    integer: bool
    units: str
    description: str

    def format(self, value: float) -> str:
        """``value`` with the lever's units (``"2,500 persons/yr"``, ``"0.25 share (0–1)"``)."""
        number = f"{int(np.rint(value)):,}" if self.integer else f"{value:.4g}"
        return f"{number} {self.units}"


def key_parts(dotted: str) -> list[str]:
    """Dotted key → path in the scenario mapping (an uncertainty's name itself contains dots).

    Read as :func:`sim.scenario.replace` reads it.

    >>> key_parts("uncertainties.attrition.rural_rate.mean")
    ['uncertainties', 'attrition.rural_rate', 'mean']
    """
    parts = dotted.split(".")
    if parts[0] == "uncertainties" and len(parts) > 2:
        if parts[-1] in DISTRIBUTION_KEYS:
            return ["uncertainties", ".".join(parts[1:-1]), parts[-1]]
        return ["uncertainties", ".".join(parts[1:])]
    return parts


def _field(parts: Sequence[str]) -> FieldInfo | None:
    """The pydantic field at ``parts`` of :class:`Scenario` (``None`` inside mappings such as uncertainties)."""
    from pydantic import BaseModel

    from sim.scenario import Scenario

    model: Any = Scenario
    info = None
    for part in parts:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        model = info.annotation
    return info


def _units(parts: Sequence[str], description: str) -> str:
    """Units of a lever from its description (``(persons/yr)``) or the convention of its name."""
    name = parts[-1]
    found = re.search(r"\((\w+/yr)\)", description)
    if found:
        return found.group(1)
    if name.endswith("cny_month"):
        return "CNY/teacher/month"
    if name.endswith("_cny"):
        return "CNY/yr"
    if name.endswith("share") or name.endswith("_rate"):
        return "share (0–1)"
    if name.endswith("years"):
        return "years"
    if name.endswith("pupils"):
        return "pupils"
    if parts[0] == "uncertainties":
        return "units of the parameter (edusim show --parameters)"
    return "see docs/scenario.md"


def lever_info(scenario: Scenario, key: str, sections: Sequence[str] = LEVER_SECTIONS) -> LeverInfo:
    """What ``key`` is in ``scenario``.

    Parameters
    ----------
    sections
        Top-level sections the key may be in (``sensitivity`` takes ``("levers",)``: its uncertainties are
        factors of their own).

    Raises
    ------
    InputError
        When the key is unknown (with the nearest valid key and the list of valid ones), outside ``sections``,
        or not a single number (a switch, a choice, a per-year schedule, a list or a group).
    """
    from sim.scenario import as_mapping

    parts = key_parts(key)
    if parts[0] not in sections:
        raise InputError(
            f"not a lever: only keys under {' or '.join(sections)} can be varied "
            f"(e.g. levers.rotation.share, levers.dispatch.per_year)", key=key)
    node: Any = as_mapping(scenario)
    for i, part in enumerate(parts):
        if not isinstance(node, dict):
            raise InputError(f"'{'.'.join(parts[:i])}' is a single value, it has no key '{part}'", key=key)
        if part not in node:
            raise InputError(f"unknown key '{part}'; {suggest(part, [str(k) for k in node])}", key=key)
        node = node[part]
    if isinstance(node, dict) and node and all(isinstance(k, int) for k in node):
        raise InputError(
            "not a single number but a per-year schedule (year → value); a sweep needs a scalar key: write the "
            "schedules you want to compare as scenario files and use edusim compare", key=key)
    if isinstance(node, dict):
        raise InputError(f"not a single number but a group; one of its keys: "
                         f"{', '.join(f'{key}.{k}' for k in node)}", key=key)
    if isinstance(node, list):
        raise InputError(f"not a single number but a list ({node!r}); only numeric keys can vary", key=key)
    if isinstance(node, bool):
        raise InputError("a switch (true/false), not a number; run both settings and use edusim compare", key=key)
    if node is None:
        raise InputError("unset in this scenario (null: e.g. no recurrent budget, no limit); write a number for it in "
                         "the scenario to vary it", key=key)
    if not isinstance(node, int | float):
        raise InputError(f"a choice ({node!r}), not a number; run each choice and use edusim compare", key=key)
    info = _field(parts)
    description = (info.description or "") if info is not None else ""
    # integer-valued when the field is declared int (a float field written as 3500000000 stays continuous)
    integer = info.annotation is int if info is not None else isinstance(node, int)
    units = _units(parts, description)
    if parts[0] == "uncertainties" and parts[1] in PARAMETERS:
        parameter = PARAMETERS[parts[1]]
        description = f"{parameter.description} ({parts[-1]} of its distribution)"
        units = parameter.units if parts[-1] in ("mean", "median", "low", "high", "mode", "value", "sd") else units
    return LeverInfo(key, float(node), integer, units, description)


# ---------------------------------------------------------------------------------------------------------
# Values


def lever_value(info: LeverInfo, value: float) -> int | float:
    """The value written into the scenario: an ``int`` for an integer lever."""
    return int(np.rint(value)) if info.integer else float(value)


def check_whole(info: LeverInfo, lo: float, hi: float, option: str | None = None) -> None:
    """An integer lever takes whole-number bounds (errors name ``option``, default the lever's key)."""
    if info.integer and (lo != int(lo) or hi != int(hi)):
        raise InputError(f"an integer lever needs a whole-number range (whole-number LO and HI), got {lo:g}:{hi:g}",
                         key=option or info.key)


def grid_values(info: LeverInfo, lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` evenly spaced values from ``lo`` to ``hi``; for an integer lever, rounded to distinct integers.

    >>> grid_values(LeverInfo("k", 0, True, "persons/yr", ""), 0, 10, 3).tolist()
    [0, 5, 10]
    """
    if not info.integer:
        return np.linspace(lo, hi, n)
    check_whole(info, lo, hi)
    available = int(hi - lo) + 1
    if n > available:
        raise InputError(
            f"{n} grid points asked but only {available} whole numbers in [{lo:g}, {hi:g}] (integer lever)",
            key=info.key)
    return np.round(np.linspace(lo, hi, n)).astype(np.int64)


def check_values(scenario: Scenario, info: LeverInfo, values: Sequence[float]) -> None:
    """Every value is accepted by the scenario's validation (raises the scenario's own errors, naming the key).

    Checked before any run, so a bad grid fails at once and writes nothing.
    """
    from sim.scenario import replace

    for value in values:
        replace(scenario, {info.key: lever_value(info, value)})
