"""Target sets: which outcomes count as reaching the plan, as data.

A target set is a YAML file: either a list of targets, or a mapping with ``name``, ``description``,
``source`` and ``targets`` (the list). Each target is::

    - id: T1
      zh: 力爭2027年40%的縣(市、區)實現義務教育優質均衡發展
      en: 40% of counties quality-balanced by 2027
      metric: share_counties_quality_balanced   # one of METRICS
      comparison: ">="                          # >=, <= or == (== within 1e-9)
      threshold: 0.4                            # in the metric's units, within its bounds
      year: 2027                                # the year it is judged, or:
      # each_year_from: 2025                    # it must hold every year from then to the horizon
      scope: [region]                           # ⊆ {region, south, every_county}

Scopes: ``region`` (the metric over all simulated counties), ``south`` (over the 33 units of the four southern
prefectures), ``every_county`` (the comparison must hold in each county separately). The shipped default set
is ``scenarios/targets/plan-2025.yaml`` (T1–T11 of DESIGN §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import InputError, InputErrors, kind_of, short_repr, suggest
from sim.scenario import DEFAULT_TARGETS, ValidationProblems, errors_from_validation, load_yaml, omitted_count
from sim.vocabulary import QualitySchool

__all__ = ["METRICS", "SCOPES", "Metric", "Target", "TargetSet", "load_target_set", "metrics_markdown"]

#: Valid scopes of a target.
SCOPES = ("region", "south", "every_county")

#: Tolerance of the ``==`` comparison.
EQUAL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Metric:
    """A model outcome a target can name.

    Attributes
    ----------
    name
        Name used in target files and in ``results.nc``.
    units
        Units of the value.
    description
        What is measured, per area (region, south) and per county.
    lower, upper
        Range of possible values (a threshold outside it is an error).
    """

    name: str
    units: str
    description: str
    lower: float = 0.0
    upper: float = 1.0


_SHARE = "share (0–1)"

_METRIC_LIST = (
    Metric(
        "share_counties_quality_balanced",
        "share of counties (0–1)",
        "Share of counties recognised as quality-balanced (優質均衡, 教督〔2017〕6號); per county 1 or 0.",
    ),
    Metric(
        "quality_school_share",
        "share of schools (0–1)",
        "Share of schools that are quality schools (definition: levers.assessment.quality_school).",
    ),
    Metric(
        "quality_school_coverage",
        "share of students (0–1)",
        "Share of compulsory-education students enrolled in a quality school (覆蓋率 read as student "
        "coverage, an assumption).",
    ),
    Metric(
        "staffing_norm_met",
        "share of counties (0–1)",
        "Share of counties whose teachers meet the national student:staff norm; per county 1 or 0.",
    ),
    Metric(
        "rural_pairing_coverage",
        "share of rural schools (0–1)",
        "Share of rural schools paired with a town school (對口幫扶).",
    ),
    Metric(
        "consolidation_rate",
        "share of an entry cohort (0–1)",
        "Nine-year consolidation rate (鞏固率): the year's grade-9 completers ÷ their cohort's grade-1 entrants, "
        "measured from the simulated flows (sim.mechanisms.students.advance_cohort_survival). Official formula: "
        "graduates ÷ entrants of 9 years before, net of transfers (Baidu Baike 九年义务教育巩固率, via "
        "wodeyuanxiao.com/Educationalinstitution/ahyitsdevd.html; a county form: 360docs.net/doc/3719094076.html).",
    ),
    Metric(
        "special_education_coverage",
        "share of counties (0–1)",
        "Share of counties above 200,000 people (2020 census) with a special-education school.",
    ),
    Metric(
        "disabled_enrolment_rate",
        "share of disabled children (0–1)",
        "Compulsory-education enrolment rate of school-age children with disabilities: children enrolled in a "
        "special-education school, an inclusive class or taught at home ÷ children (sim.mechanisms.programmes).",
    ),
    Metric(
        "counselling_room_coverage",
        "share of schools (0–1)",
        "Share of urban schools and township-centre schools with a standard counselling room.",
    ),
    Metric(
        "gigabit_coverage",
        "share of schools (0–1)",
        "Share of schools with gigabit broadband (千兆到校), the model's proxy for the digital campus.",
    ),
    Metric(
        "standardised_school_share",
        "share of schools (0–1)",
        "Share of schools meeting the building, equipment, digital and staffing standards (標准化).",
    ),
)

#: Metrics that a target may judge under a reading of 優質學校 (``quality_school:``). The plan defines a quality
#: school as "條件較優、質量較高、群眾滿意" (plan §二(三)1), not by a resource threshold; the model reads it from
#: the resources, either as all seven indicators met (all_seven) or as the school standard of 教督〔2017〕6號
#: (standard: ≥6 of 7, the rest ≥85%). Both readings are computed in every run (``METRIC_all_seven``,
#: ``METRIC_standard`` in results.nc).
QUALITY_SCHOOL_METRICS = ("quality_school_share", "quality_school_coverage")

#: Known metrics, by name (read-only).
METRICS: Mapping[str, Metric] = MappingProxyType({m.name: m for m in _METRIC_LIST})

_Year = Annotated[int, Field(strict=True, ge=2011, le=2050)]


class Target(BaseModel):
    """One target of a target set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(strict=True, pattern=r"^[A-Za-z][\w.-]*$", max_length=40)] = Field(
        description="short identifier (e.g. T1), unique in the set"
    )
    zh: Annotated[str, Field(strict=True, min_length=1)] = Field(
        description="wording in Chinese (from the plan)"
    )
    en: Annotated[str, Field(strict=True, min_length=1)] = Field(description="wording in English")
    metric: str = Field(description="metric name, one of sim.targets.METRICS")
    comparison: Literal[">=", "<=", "=="] = Field(description="how the metric is compared with the threshold")
    threshold: Annotated[float, Field(strict=True, allow_inf_nan=False)] = Field(
        description="threshold in the metric's units"
    )
    year: _Year | None = Field(default=None, description="year in which the target is judged")
    each_year_from: _Year | None = Field(
        None, description="first year of a target that must hold every year up to the horizon"
    )
    scope: tuple[Literal["region", "south", "every_county"], ...] = Field(
        ("region",), description="where it is judged: subset of region, south, every_county"
    )
    quality_school: QualitySchool | None = Field(
        None,
        description="for quality_school_share and quality_school_coverage only: the reading of 優質學校 the target "
        "is judged on, all_seven (all seven resource indicators) or standard (the school standard of "
        "教督〔2017〕6號); default: the scenario's levers.assessment.quality_school",
    )

    @property
    def variable(self) -> str:
        """The results variable judged: the metric, or ``METRIC_READING`` under a ``quality_school`` reading."""
        return self.metric if self.quality_school is None else f"{self.metric}_{self.quality_school}"

    @model_validator(mode="after")
    def _cross(self) -> Target:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        metric = METRICS.get(self.metric)
        if metric is None:
            problems.append((("metric",), f"unknown metric {short_repr(self.metric)}; {suggest(self.metric, METRICS)}"))
        elif not metric.lower <= self.threshold <= metric.upper:
            problems.append(
                (
                    ("threshold",),
                    f"must be in [{metric.lower:g}, {metric.upper:g}] ({metric.units}), got {self.threshold}",
                )
            )
        if self.quality_school is not None and self.metric not in QUALITY_SCHOOL_METRICS:
            problems.append((("quality_school",), f"only for {' and '.join(QUALITY_SCHOOL_METRICS)}, not "
                             f"{short_repr(self.metric)}"))
        if (self.year is None) == (self.each_year_from is None):
            problems.append(((), "give exactly one of year: or each_year_from:"))
        if not self.scope:
            problems.append((("scope",), f"must list at least one of {', '.join(SCOPES)}"))
        seen: set[str] = set()
        for i, s in enumerate(self.scope):
            if s in seen:
                problems.append((("scope", i), f"{short_repr(s)} is listed twice"))
            seen.add(s)
        if problems:
            raise ValidationProblems(problems)
        return self


class TargetSet(BaseModel):
    """A named list of targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", description="name of the set")
    description: str = Field(default="", description="free text")
    source: str = Field(default="", description="document the targets come from")
    targets: tuple[Target, ...] = Field(description="the targets")

    @model_validator(mode="after")
    def _unique_ids(self) -> TargetSet:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, int] = {}
        for i, t in enumerate(self.targets):
            if t.id in seen:
                problems.append(
                    (("targets", i, "id"), f"duplicate id {short_repr(t.id)} (also target {seen[t.id] + 1})")
                )
            seen.setdefault(t.id, i)
        if not self.targets:
            problems.append((("targets",), "the target set is empty"))
        if problems:
            raise ValidationProblems(problems)
        return self

    def get(self, target_id: str) -> Target:
        """The target with ``target_id``.

        Raises
        ------
        InputError
            When no target has that id (with the nearest id as a suggestion).
        """
        for t in self.targets:
            if t.id == target_id:
                return t
        raise InputError(f"unknown target {short_repr(target_id)}; {suggest(target_id, [t.id for t in self.targets])}")


def load_target_set(path: str | Path = DEFAULT_TARGETS) -> TargetSet:
    """Load and validate a target-set YAML.

    Raises
    ------
    InputErrors
        Every problem, each with file, line, key path (``targets[2].metric``), bad value and allowed values.
    """
    doc = load_yaml(path)
    data: Any = doc.data
    if isinstance(data, list):
        data = {"targets": data}
        lines = {("targets", *k): v for k, v in doc.lines.items()}
    elif isinstance(data, dict):
        lines = dict(doc.lines)
    else:
        raise InputErrors(
            [
                InputError(
                    f"the top level must be a list of targets or a mapping with 'targets:', got {kind_of(data)}",
                    file=doc.file,
                    line=1,
                )
            ]
        )
    errors: list[InputError] = []
    items = data.get("targets")
    if isinstance(items, list):
        validated: list[Any] = []
        for i, item in enumerate(items):
            try:
                validated.append(Target.model_validate(item))
            except (ValidationError, InputErrors) as exc:
                errors += errors_from_validation(exc, Target, lines, doc.file, ("targets", i))
        data = {**data, "targets": validated}
    if errors:
        raise InputErrors(errors)
    try:
        return TargetSet.model_validate(data)
    except (ValidationError, InputErrors) as exc:
        raise InputErrors(errors_from_validation(exc, TargetSet, lines, doc.file), omitted=omitted_count(exc)) from None


def looks_like_target_set(data: Any) -> bool:
    """Whether parsed YAML data is a target set (a list, or a mapping whose ``targets`` is a list)."""
    return isinstance(data, list) or (isinstance(data, dict) and isinstance(data.get("targets"), list))


def metrics_markdown() -> str:
    """The metric registry as a Markdown table."""
    rows = ["| metric | units | meaning |", "|---|---|---|"]
    rows += [f"| `{m.name}` | {m.units} | {m.description} |" for m in _METRIC_LIST]
    return "\n".join(rows) + "\n"
