"""The model's names, written once (DESIGN §2, §4): locations, levels, indicators, rules.

Every category the model counts by has one spelling here, with its integer code where arrays index by it (the
position in the tuple is the code). Mechanisms, engines, the scenario schema (``sim.scenario``), the baseline
files' schema (``sim.baseline``) and the outputs (``sim.ensemble``) import these names; none of them writes a
category as a bare number (``location == 2``) or repeats a list of names.

Allowed values of the scenario schema are ``Literal`` types defined here; the tuples are derived from them with
``typing.get_args`` so that the schema and the mechanisms cannot drift apart.
"""

from __future__ import annotations

from typing import Literal, get_args

# ------------------------------------------------------------------------------------------------------------
# locations (城區 / 鎮區 / 鄉村, incl. teaching points)

Location = Literal["urban", "town", "rural"]
LOCATIONS: tuple[str, ...] = get_args(Location)
"""Locations of a school, in the order of the codes of ``section_location``."""
URBAN, TOWN, RURAL = (LOCATIONS.index(name) for name in ("urban", "town", "rural"))
N_LOCATIONS = len(LOCATIONS)

# ------------------------------------------------------------------------------------------------------------
# levels

Level = Literal["primary", "junior"]
LEVELS: tuple[str, ...] = get_args(Level)
"""Levels of a section (the engines' unit), in the order of the codes of ``section_level``."""
PRIMARY, JUNIOR = (LEVELS.index(name) for name in ("primary", "junior"))
N_LEVELS = len(LEVELS)

NINE_YEAR = "nine_year"
"""A school with both levels (九年一貫制): one registry row, two sections."""
SCHOOL_LEVELS: tuple[str, ...] = (*LEVELS, NINE_YEAR)
"""Levels of a school in the registry (``level`` column)."""

# ------------------------------------------------------------------------------------------------------------
# assessment (教督〔2017〕6號)

INDICATORS: tuple[str, ...] = (
    "qualified_teachers_per_100",
    "backbone_teachers_per_100",
    "pe_art_teachers_per_100",
    "floor_area_m2_per_student",
    "sports_area_m2_per_student",
    "equipment_cny_per_student",
    "multimedia_rooms_per_100",
)
"""The seven resource indicators, in the order of the last axis of every indicator array."""
N_INDICATORS = len(INDICATORS)
FACILITY_INDICATORS: tuple[int, ...] = tuple(
    INDICATORS.index(name) for name in (
        "floor_area_m2_per_student", "sports_area_m2_per_student", "equipment_cny_per_student",
        "multimedia_rooms_per_100",
    )
)
"""Positions of the four facility indicators (floor area, sports ground, equipment, multimedia rooms)."""

GUARANTEE_RULES: tuple[str, ...] = ("rotation_share", "backbone_share_of_rotated", "class_size", "school_size")
"""The government-guarantee items the model simulates, in the order of the last axis of their arrays."""

QualitySchool = Literal["all_seven", "standard"]
QUALITY_SCHOOL_DEFINITIONS: tuple[str, ...] = get_args(QualitySchool)
"""Readings of a quality school (優質學校): all seven indicators met, or the school standard (≥6 of 7)."""

IndicatorGroup = Literal["staffing", "qualification", "backbone", "pe_art"]
INDICATOR_GROUPS: tuple[str, ...] = get_args(IndicatorGroup)
"""Teacher counts that dispatched teachers may count toward (``assessment.dispatched_count_toward``)."""

# ------------------------------------------------------------------------------------------------------------
# rules the scenario chooses

AllocationRule = Literal["gap_proportional", "weakest_first", "south_share", "equal_per_student"]
ALLOCATION_RULES: tuple[str, ...] = get_args(AllocationRule)
"""Rules allocating the capital budget among sections (``funding.allocation``)."""

PlacementDirection = Literal["rural_and_weak", "rural", "weak", "any"]
PLACEMENT_DIRECTIONS: tuple[str, ...] = get_args(PlacementDirection)
"""Where rotating teachers are placed (``rotation.direction``)."""

PlacementRule = Literal["proportional", "weakest_first", "missing_indicator"]
PLACEMENT_RULES: tuple[str, ...] = get_args(PlacementRule)
"""How rotating teachers are shared among the receiving sections (``rotation.placement``)."""

# ------------------------------------------------------------------------------------------------------------
# reporting areas and engines

AREAS: tuple[str, ...] = ("region", "south")
"""Areas of the region-level outputs: the whole selection, and the four southern prefectures (南疆四地州)."""

Engine = Literal["cohort", "agents"]
ENGINES: tuple[str, ...] = get_args(Engine)
"""The two engines: stock-flow (``sim.cohort``) and agent (``sim.agents``)."""
