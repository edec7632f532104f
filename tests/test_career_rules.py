"""The career rules of the agent engine (plan §二(三)2: a year in a rural or weak school before a senior title,
three before a principal post) and the cohort engine (issue 15 item 4).

The rules gate the senior-title attribute and the principal-eligible count, which no indicator, target, result
variable or cost reads: they are recorded only in the agent engine's optional history records. Their effect on
every result the two engines share is therefore exactly nil, and the cohort engine, which carries no senior titles,
reproduces it by carrying nothing (``docs/engines.md``, "Career rules"). This test pins that reading: if a later
change lets the senior title feed a shared result, it fails, and the rule must then be brought into the cohort
engine at its resolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import agents as A
from sim.cohort import prepare
from sim.scenario import as_mapping, load_scenario, scenario_from_mapping

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _run(monkeypatch: pytest.MonkeyPatch, rural_years_for_senior: int) -> dict[str, np.ndarray]:
    data = as_mapping(load_scenario(SCENARIOS / "baseline.yaml"))
    data.update(draws=4, chunk_size=64, horizon=2027)
    data["baseline"]["counties"] = ["653131", "653227", "650522"]  # as tests/test_agents.py
    model = prepare(scenario_from_mapping(data, base_dir=SCENARIOS))
    with monkeypatch.context() as patch:
        patch.setattr(A, "RURAL_SERVICE_FOR_SENIOR_YEARS", rural_years_for_senior)
        return A.run_draws_agents(model, 0, 4, history_records=True)


def test_the_senior_title_rule_changes_promotions_and_no_shared_result(monkeypatch):
    plan = _run(monkeypatch, A.RURAL_SERVICE_FOR_SENIOR_YEARS)  # 1 year, from rotation.from_year (2025)
    blocked = _run(monkeypatch, 100)  # nobody has 100 years of rural service: no promotion once the rule applies
    after = slice(2025 - 2020, None)
    assert plan["senior_promotions"][:, after].sum() > 0
    assert blocked["senior_promotions"][:, after].sum() == 0
    before = slice(None, after.start)
    np.testing.assert_array_equal(plan["senior_promotions"][:, before], blocked["senior_promotions"][:, before])
    for name in plan:
        if name not in A.HISTORY_RECORDS:
            np.testing.assert_array_equal(plan[name], blocked[name], err_msg=name)
