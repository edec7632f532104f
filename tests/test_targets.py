"""Target sets: the shipped plan targets and the errors of bad target files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sim.errors import InputError, InputErrors
from sim.scenario import DEFAULT_TARGETS
from sim.targets import METRICS, load_target_set, metrics_markdown


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def errors(path: Path) -> list[InputError]:
    with pytest.raises(InputErrors) as info:
        load_target_set(path)
    return info.value.errors


GOOD = """
- id: T1
  zh: 目標
  en: target
  metric: share_counties_quality_balanced
  comparison: ">="
  threshold: 0.4
  year: 2027
  scope: [region]
"""


def test_plan_targets_t1_to_t11() -> None:
    targets = load_target_set(DEFAULT_TARGETS)
    ids = [t.id for t in targets.targets]
    assert ids[:8] == [f"T{i}" for i in range(1, 9)] and {"T9", "T10", "T11"} <= set(ids)
    t1 = targets.get("T1")
    assert (t1.metric, t1.comparison, t1.threshold, t1.year) == ("share_counties_quality_balanced", ">=", 0.4, 2027)
    assert "40%" in t1.zh and "2027" in t1.zh
    assert targets.get("T3").scope == ("region", "south", "every_county")
    assert targets.get("T7").each_year_from == 2025 and targets.get("T7").threshold == 0.96
    for t in targets.targets:
        assert t.metric in METRICS and t.zh and t.en


def test_top_level_list_is_accepted(tmp_path: Path) -> None:
    assert load_target_set(write(tmp_path, GOOD)).targets[0].id == "T1"


def test_unknown_metric_suggests(tmp_path: Path) -> None:
    (e,) = errors(write(tmp_path, GOOD.replace("share_counties_quality_balanced", "share_counties_balanced")))
    assert (e.line, e.key) == (4, "targets[0].metric")
    assert "did you mean 'share_counties_quality_balanced'?" in e.message


def test_unknown_scope(tmp_path: Path) -> None:
    (e,) = errors(write(tmp_path, GOOD.replace("[region]", "[region, north]")))
    assert (e.line, e.key) == (8, "targets[0].scope[1]")
    assert "'north'" in e.message and "every_county" in e.message and "south" in e.message


def test_threshold_outside_metric_range(tmp_path: Path) -> None:
    (e,) = errors(write(tmp_path, GOOD.replace("threshold: 0.4", "threshold: 40")))
    assert (e.line, e.key) == (6, "targets[0].threshold") and "must be in [0, 1]" in e.message


def test_year_and_each_year_from_exclusive(tmp_path: Path) -> None:
    (e,) = errors(write(tmp_path, GOOD.replace("year: 2027", "year: 2027\n  each_year_from: 2025")))
    assert e.key == "targets[0]" and "exactly one of year: or each_year_from:" in e.message and e.line == 1


def test_bad_comparison_and_duplicate_id(tmp_path: Path) -> None:
    errs = errors(write(tmp_path, GOOD.replace('">="', '">"')))
    assert errs[0].key == "targets[0].comparison" and "'>='" in errs[0].message
    errs = errors(write(tmp_path, GOOD + GOOD.replace("T1", "T1", 1)))
    assert (
        errs[0].key == "targets[1].id" and "duplicate id 'T1'" in errs[0].message and errs[0].line == 10
    )  # the second "- id: T1" (a blank line separates the two)


def test_unknown_target_key(tmp_path: Path) -> None:
    (e,) = errors(write(tmp_path, GOOD.replace("  year: 2027", "  yaer: 2027\n  year: 2027")))
    assert e.key == "targets[0].yaer" and "did you mean 'year'?" in e.message


def test_get_unknown_target() -> None:
    with pytest.raises(InputError, match="did you mean 'T1'"):
        load_target_set().get("T01")


def test_metrics_markdown() -> None:
    table = metrics_markdown()
    assert all(f"`{m}`" in table for m in METRICS)


QUALITY = """
- id: T3-standard
  zh: 目標
  en: target
  metric: quality_school_share
  quality_school: standard
  comparison: ">="
  threshold: 0.3
  year: 2027
  scope: [region]
"""


def test_a_quality_school_reading_names_its_own_results_variable(tmp_path: Path) -> None:
    (t,) = load_target_set(write(tmp_path, QUALITY)).targets
    assert (t.metric, t.quality_school, t.variable) == ("quality_school_share", "standard",
                                                        "quality_school_share_standard")
    plan = load_target_set(DEFAULT_TARGETS)
    assert plan.get("T3").variable == "quality_school_share"  # follows levers.assessment.quality_school
    assert plan.get("T4-standard").variable == "quality_school_coverage_standard"


def test_a_quality_school_reading_is_only_for_the_quality_school_metrics(tmp_path: Path) -> None:
    (e,) = errors(write(tmp_path, GOOD.replace("  comparison:", "  quality_school: standard\n  comparison:")))
    assert e.key == "targets[0].quality_school" and "only for quality_school_share" in e.message
    (e,) = errors(write(tmp_path, QUALITY.replace("quality_school: standard", "quality_school: some")))
    assert e.key == "targets[0].quality_school"
