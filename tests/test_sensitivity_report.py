"""sim.sensitivity.report: the tables written (values by hand), the ranking, the printed summary and the charts."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

import numpy as np
import pytest

from sim.sensitivity import report
from sim.sensitivity.analysis import Output, SensitivityResult
from sim.sensitivity.design import Design, uniform_factor

OUT = Output("T5", "value", "share", "staffing (region, 2027)")


def small_design(method: str = "sobol") -> Design:
    factors = (uniform_factor("a", 0, 1, "m"), uniform_factor("b", 0, 1))
    unit = np.array([[0.25, 0.5], [0.75, 0.125]])
    return Design(method, factors, unit, unit, unit * 2, 4)


def rows(method: str = "sobol", share: float = 0.1) -> list[dict]:
    base = {"target": "T5", "outcome": "value", "outcome_units": "share", "method": method, "replicates": 2,
            "variance_of_means": 8.0, "noise_variance": 2.0, "noise_share": share, "note": ""}
    if method == "sobol":
        return [{**base, "factor": f, "factor_kind": "test", "S1": s1, "S1_conf": 0.01, "ST": st, "ST_conf": 0.02,
                 "S1_parameters": math.nan} for f, s1, st in (("a", 0.1, 0.2), ("b", 0.5, 0.7), ("c", 0.0, 0.05))]
    return [{**base, "factor": f, "factor_kind": "test", "mu": m, "mu_star": abs(m), "mu_star_conf": 0.1,
             "sigma": 0.2, "mu_star_noise_floor": 0.3} for f, m in (("a", -2.0), ("b", 1.0))]


def test_outcomes_csv_by_hand() -> None:
    # point 0: replicates 1, 3 → mean 2, variance 2; point 1: 5, 7 → mean 6, variance 2
    y = np.array([[[1.0], [3.0]], [[5.0], [7.0]]])
    lines = report.outcomes_csv(y, [OUT]).splitlines()
    assert lines == ["point,target,outcome,outcome_units,mean_over_replicates,variance_within_point,replicates",
                     "0,T5,value,share,2,2,2", "1,T5,value,share,6,2,2"]


def test_design_csv() -> None:
    text = report.design_csv(small_design(), np.array([0, 64]))
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["point", "first_draw", "a (quantile)", "b (quantile)", "a (m)", "b"]
    assert lines[1] == ["0", "0", "0.25", "0.5", "0.5", "1"]
    assert lines[2] == ["1", "64", "0.75", "0.125", "1.5", "0.25"]
    assert next(iter(csv.reader(io.StringIO(report.design_csv(small_design())))))[:2] == ["point", "a (quantile)"]


def test_indices_csv_columns_and_empty_nan() -> None:
    lines = list(csv.DictReader(io.StringIO(report.indices_csv(rows(), "sobol"))))
    assert list(lines[0]) == report.index_columns("sobol")
    assert lines[0]["S1"] == "0.1" and lines[0]["S1_parameters"] == "" and lines[0]["ST_parameters"] == ""
    assert report.index_columns("morris")[6:11] == ["mu", "mu_star", "mu_star_conf", "sigma", "mu_star_noise_floor"]


def test_top_factors_rank_by_st_or_mu_star() -> None:
    assert [r["factor"] for r in report.top_factors(rows(), "T5", "value", 2)] == ["b", "a"]
    assert [r["factor"] for r in report.top_factors(rows("morris"), "T5", "value")] == ["a", "b"]
    noted = [{**r, "note": "constant"} for r in rows()]
    assert report.top_factors(noted, "T5", "value") == []


def result(method: str = "sobol", share: float = 0.1) -> SensitivityResult:
    return SensitivityResult(small_design(method), (OUT,), np.zeros((2, 2, 1)), rows(method, share))


def test_summary_warns_when_noise_dominates() -> None:
    quiet = report.summary_text(result())
    assert quiet == ("T5 value (staffing (region, 2027)): b ST=0.70±0.02 S1=0.50; a ST=0.20±0.02 S1=0.10; "
                     "c ST=0.05±0.02 S1=0.00 | replicate noise share 0.10\n")
    assert "mostly noise, indices unreliable" in report.summary_text(result(share=0.5))
    assert "noise floor of μ* 0.3" in report.summary_text(result("morris"))


def test_tornado_draws_every_factor_largest_on_top() -> None:
    ax = report.tornado(rows(), title="T5")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["c", "a", "b"]  # ascending, so the largest ST is on top
    widths = sorted({round(p.get_width(), 6) for p in ax.patches})
    assert widths == [0.0, 0.05, 0.1, 0.2, 0.5, 0.7]
    empty = report.tornado([{**rows()[0], "note": "constant over the design (1): no sensitivity"}])
    assert not empty.axison and empty.texts[0].get_text().startswith("constant over the design")


def test_provenance_record() -> None:
    class Scenario:  # the attributes the record reads
        seed, name, targets = 3, "s", "targets.yaml"

    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = report.provenance_record(
        Scenario(), text="name: s\n", method="sobol", n=4, replicates=2, area="region",  # type: ignore[arg-type]
        design=small_design(), last_draw=3, factors=small_design().factors, lever_levels=None, scenario_file=None,
        skipped=[], started=started, finished=started)
    assert (record["design_points"], record["draws_used"], record["last_draw_index"]) == (2, 4, 3)
    assert record["factors"][0] == {"name": "a", "kind": "test", "units": "m", "spec": "uniform(0, 1)"}
    assert record["started"] == "2026-01-02T03:04:05+00:00" and "SALib" in record["versions"]


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_readme_names_the_method(method: str) -> None:
    text = report.readme_text(result(method), "s, " + method, {"area": "region"})
    assert text.startswith(f"# Sensitivity: s, {method}") and report.METHOD_TEXT[method] in text
    assert "- area: region" in text
