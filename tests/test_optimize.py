"""edusim optimize (sim/optimize.py): the known optimum of constructed problems (a cheap fake evaluator), the
Pareto front, bad inputs, and a small end-to-end run on two counties."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import numpy as np
import pytest
from scenario_files import write_small

from sim.cli import main
from sim.errors import InputError
from sim.levers import LeverInfo
from sim.optimize import Candidate, LeverSpace, OptimizeResult, Point, describe, pareto_front, search

DRAWS = 100


def _space(key: str, integer: bool, low: float = 0.0, high: float = 10.0) -> LeverSpace:
    return LeverSpace(LeverInfo(key, 0.0, integer, "units", key), low, high)


def _linear(values: dict[str, float]) -> Point:
    """Cost 3x + 5y CNY in every draw; the target is met in 10·(x + y) of 100 draws (capped at 100), so
    P = min(1, (x + y)/10). Cheapest with P ≥ 0.6: x + y ≥ 6 at least cost → all on x (3 < 5): x = 6, y = 0,
    cost 18 (derived by hand)."""
    x, y = values["x"], values["y"]
    met = min(DRAWS, math.floor(10 * (x + y) + 1e-9))
    return Point((met,), DRAWS, np.full(DRAWS, 3 * x + 5 * y))


def test_integer_grid_smaller_than_the_trials_is_searched_exhaustively_and_finds_the_optimum() -> None:
    result = search([_space("x", True), _space("y", True)], _linear, 0.6, trials=150, seed=1)
    assert result.sampler.startswith("brute force")
    assert len(result.candidates) == 121  # every point of the 11 × 11 grid, once
    assert result.answer is not None
    assert (result.answer.values, result.answer.cost_median) == ({"x": 6.0, "y": 0.0}, 18.0)


def test_tpe_on_continuous_levers_gets_close_to_the_optimum() -> None:
    result = search([_space("x", False), _space("y", False)], _linear, 0.6, trials=150, seed=3)
    assert result.sampler.startswith("multi-objective TPE")
    assert result.answer is not None
    # nothing can be cheaper than the optimum 18; TPE should come within 15% of it in 150 trials
    assert 18.0 - 1e-9 <= result.answer.cost_median <= 18.0 * 1.15
    assert result.answer.probability >= 0.6
    # seeded: the same search again gives the same candidates
    again = search([_space("x", False), _space("y", False)], _linear, 0.6, trials=150, seed=3)
    assert [c.values for c in again.candidates] == [c.values for c in result.candidates]


def test_budget_gives_the_highest_probability_within_it() -> None:
    # within 20 CNY: maximise x + y subject to 3x + 5y ≤ 20 on integers → x + y = 6 at (6, 0) cost 18 or (5, 1)
    # cost 20; x + y = 7 needs at least 21. The cheaper of the tie: (6, 0)
    result = search([_space("x", True), _space("y", True)], _linear, 0.6, budget=20.0, trials=150)
    assert result.answer is not None
    assert result.answer.values == {"x": 6.0, "y": 0.0}
    assert result.answer.probability == pytest.approx(0.6)


def test_answer_interval_from_the_wilson_bounds() -> None:
    result = search([_space("x", True), _space("y", True)], _linear, 0.6, trials=150)
    optimistic, established = result.cost_interval
    assert optimistic is not None and established is not None
    # the candidates' met counts are multiples of 10 (x + y whole): the smallest k whose Wilson upper (lower)
    # bound reaches 0.6, at cost 3k/10 (all on x, the cheaper lever)
    from sim.outcomes import wilson_interval

    k_up = min(k for k in range(0, 101, 10) if wilson_interval(k, DRAWS)[1] >= 0.6)
    k_low = min(k for k in range(0, 101, 10) if wilson_interval(k, DRAWS)[0] >= 0.6)
    assert optimistic == 3 * k_up / 10 and established == 3 * k_low / 10
    assert optimistic <= 18.0 <= established


def test_the_answer_interval_text_puts_units_on_numbers_only() -> None:
    # an interval whose established end no candidate reached reads "… bn CNY to above every candidate tried",
    # not "… to above every candidate tried bn CNY"
    from sim.targets import load_target_set

    t5 = [t for t in load_target_set().targets if t.id == "T5"]
    a = Candidate(1, {"x": 6.0}, (60,), DRAWS, 18e9, 17e9, 19e9)
    text = describe(OptimizeResult([a], a, (17e9, None), "brute force"), [_space("x", True)], t5, "region", 0.6,
                    None, DRAWS)
    assert "17.000 bn CNY to above every candidate tried\n" in text
    both = describe(OptimizeResult([a], a, (17e9, 19e9), "brute force"), [_space("x", True)], t5, "region", 0.6,
                    None, DRAWS)
    assert "17.000 bn CNY to 19.000 bn CNY\n" in both


def test_an_unreachable_level_and_a_budget_below_the_floor_are_refused() -> None:
    small = [_space("x", True, 0, 3), _space("y", True, 0, 2)]
    with pytest.raises(InputError, match="cannot reach 90%"):
        search(small, _linear, 0.9, trials=10)
    with pytest.raises(InputError, match="below the cost"):
        search([_space("x", True, 2, 3), _space("y", True, 0, 2)], _linear, 0.5, budget=1.0, trials=10)


def test_pareto_front_by_hand() -> None:
    def c(order: int, cost: float, met: int) -> Candidate:
        return Candidate(order, {}, (met,), 10, cost, cost, cost)

    a, b, d, e = c(1, 1.0, 2), c(2, 2.0, 1), c(3, 3.0, 5), c(4, 3.0, 4)
    assert [x.order for x in pareto_front([a, b, d, e])] == [1, 3]  # b dominated by a; e by d


@pytest.mark.parametrize(("args", "message"), [
    (["--levers", "levers.dispatch.per_yer=0:100"], "per_year"),  # unknown lever: the nearest is named
    (["--levers", "levers.dispatch.per_year=100:100"], "LO must be below HI"),  # empty range
    (["--levers", "levers.dispatch.per_year=0.2:0.8"], "levers.dispatch.per_year"),  # no whole value inside
    (["--levers", "levers.dispatch.per_year=0:100", "--probability", "1.5"], "--probability"),
    (["--levers", "levers.dispatch.per_year=0:100", "--target", "T99"], "T99"),
    (["--levers", "levers.dispatch.per_year=0:100,levers.dispatch.per_year=0:50"], "twice"),
    (["--levers", "levers.dispatch.per_year=0:100", "--budget", "-5"], "--budget"),
    (["--levers", ""], "--levers"),
])
def test_bad_inputs_exit_2_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                args: list[str], message: str) -> None:
    scenario = write_small(tmp_path)
    base = ["optimize", str(scenario), "--target", "T5", "--probability", "0.5", "--quiet",
            "--out", str(tmp_path / "o")]
    # later options override earlier ones (argparse), --target appends
    code = main(base + args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_end_to_end_on_two_counties(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_small(tmp_path, scaled=False)
    started = time.monotonic()
    code = main(["optimize", str(scenario), "--target", "T5", "--probability", "0.5",
                 "--levers", "levers.dispatch.per_year=0:5000,levers.rotation.share=0:0.3", "--trials", "4",
                 "--quiet", "--out", str(tmp_path / "o")])
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 0, out
    assert elapsed < 60
    folder = tmp_path / "o"
    assert {p.name for p in folder.iterdir()} >= {"trials.csv", "pareto.csv", "optimize.txt", "optimize.json",
                                                   "scenario.resolved.yaml", "figures"}
    assert (folder / "figures" / "pareto.png").stat().st_size > 0
    with open(folder / "trials.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert 2 <= len(rows) <= 4
    # the high corner (5,000 teachers, share 0.3) costs more than the low corner (nothing dispatched or rotated)
    by_order = {int(r["order"]): r for r in rows}
    assert float(by_order[1]["cost_median_cny"]) > float(by_order[2]["cost_median_cny"])
    assert "answer:" in out or "no candidate" in out
