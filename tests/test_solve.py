"""edusim solve: the monotone search on synthetic probability functions with known thresholds, then the CLI
on the small scenario (answers checked by running the model at the answer and one step below)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from scenario_files import AT_NORM, write_small

from sim.cli import main
from sim.ensemble import run
from sim.errors import InputError
from sim.outcomes import evaluate_target
from sim.scenario import load_scenario, replace
from sim.solve import smallest_reaching, solve_probability
from sim.sweep import select_targets

Z = 1.959963984540054  # standard normal 97.5% quantile


def wilson(met: int, n: int) -> tuple[float, float]:
    """Wilson score interval in closed form (Wilson 1927), independent of scipy's implementation."""
    p = met / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


# ---------------------------------------------------------------------------------------------------------
# The search


def test_smallest_reaching_integer_is_exact_and_logarithmic() -> None:
    calls: list[float] = []

    def reaches(x: float) -> bool:
        calls.append(x)
        return x >= 37

    assert smallest_reaching(reaches, 0, 100, integer=True, tolerance=1) == 37
    assert len(calls) <= 2 + math.ceil(math.log2(100))
    assert smallest_reaching(lambda x: x >= 37, 37, 100, integer=True, tolerance=1) == 37
    assert smallest_reaching(lambda x: x >= 37, 0, 36, integer=True, tolerance=1) is None
    assert smallest_reaching(lambda x: x >= 0, 0, 1, integer=True, tolerance=1) == 0


def test_smallest_reaching_continuous_within_tolerance() -> None:
    found = smallest_reaching(lambda x: x * x >= 2, 0.0, 3.0, integer=False, tolerance=1e-4)
    assert found is not None and math.sqrt(2) <= found <= math.sqrt(2) + 1e-4


def test_solve_integer_lever_with_known_threshold() -> None:
    """met(x) = 10·x of 1,000 draws: P(x) = x/100, so P ≥ 0.8 first at x = 80; the interval's ends are the
    first x whose Wilson upper (lower) bound reaches 0.8, found here by scanning every integer."""
    n = 1000
    result = solve_probability(lambda x: (10 * int(x), n), 0, 100, 0.8, integer=True, tolerance=1)
    assert (result.status, result.answer) == ("found", 80)
    expected_low = min(x for x in range(101) if wilson(10 * x, n)[1] >= 0.8)
    expected_high = min(x for x in range(101) if wilson(10 * x, n)[0] >= 0.8)
    assert result.interval == (expected_low, expected_high)
    assert expected_low < 80 < expected_high  # a real interval around the answer
    assert result.monotone and not result.non_monotone
    values = [e.value for e in result.points]
    assert len(values) == len(set(values))  # every value evaluated once
    assert 79 in values and 80 in values  # the answer and the integer below it are both evaluated


def test_solve_continuous_lever_with_known_threshold() -> None:
    """P(x) = 1 − exp(−x) on 1,000 draws (floored to whole draws): P ≥ 0.5 from x = ln 2."""
    n = 1000
    result = solve_probability(lambda x: (math.floor(n * (1 - math.exp(-x))), n), 0.0, 5.0, 0.5, integer=False,
                               tolerance=1e-3)
    assert result.status == "found" and result.answer is not None
    assert math.log(2) <= result.answer <= math.log(2) + 1e-3
    low, high = result.interval
    assert low is not None and high is not None and low <= result.answer <= high


def test_solve_reports_unreachable_and_low_suffices() -> None:
    capped = solve_probability(lambda x: (min(10 * int(x), 700), 1000), 0, 100, 0.8, integer=True, tolerance=1)
    assert (capped.status, capped.answer, capped.interval) == ("unreachable", None, (None, None))
    # few draws: 15 of 20 at the top is below 0.8, but the Wilson upper bound (0.89) is not
    few = solve_probability(lambda x: (min(int(x), 15), 20), 0, 20, 0.8, integer=True, tolerance=1)
    assert few.status == "unreachable"
    assert few.interval[0] == min(k for k in range(21) if wilson(min(k, 15), 20)[1] >= 0.8)
    enough = solve_probability(lambda x: (900, 1000), 0.0, 1.0, 0.8, integer=False, tolerance=0.01)
    assert (enough.status, enough.answer) == ("low_suffices", 0.0)
    assert len(enough.points) == 2  # both ends, nothing else


def test_solve_flags_a_non_monotone_probability() -> None:
    """met(x) = 10·x except a dip to 0 at x = 75, which the bisection visits (100, 0, 50, 75, …)."""
    result = solve_probability(lambda x: (0 if x == 75 else 10 * int(x), 1000), 0, 100, 0.8, integer=True,
                               tolerance=1)
    assert result.answer == 80
    assert not result.monotone
    # the dip is reported against the nearest value evaluated below it (by any of the three searches)
    ((before, dip),) = result.non_monotone
    assert dip.value == 75 and dip.met == 0
    assert before.value == max(e.value for e in result.points if e.value < 75) and before.met == 10 * before.value


# ---------------------------------------------------------------------------------------------------------
# The command


def test_cli_solve_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_small(tmp_path))
    out = tmp_path / "out"
    base = ["solve", path, "--out", str(out), "--quiet"]
    cases = [
        (["--target", "T5", "--probability", "0.8", "--lever", "levers.dispatch.per_year"],
         "levers.dispatch.per_year: give --range LO:HI"),
        (["--target", "T5", "--probability", "1.5", "--lever", "levers.rotation.share"],
         "--probability: must be in (0, 1], got 1.5"),
        (["--target", "T5", "--probability", "0.8", "--lever", "levers.dispatch.per_year", "--range", "0:2.5"],
         "an integer lever needs a whole-number range"),
        (["--target", "T5", "--probability", "0.8", "--lever", "levers.rotation.share", "--range", "0:2"],
         "levers.rotation.share: must be in [0, 1], got 2"),
        (["--target", "T5", "--probability", "0.8", "--lever", "levers.rotation.share", "--range", "1"],
         "--range: expected LO:HI"),
        (["--target", "T55", "--probability", "0.8", "--lever", "levers.rotation.share"],
         "unknown target 'T55'; did you mean 'T5'?"),
        (["--target", "T5", "--probability", "0.8", "--lever", "levers.rotation.share", "--area", "every_county"],
         "--area: target T5 is judged in region, south, not in 'every_county'"),
        (["--target", "T5", "--probability", "0.8", "--lever", "levers.pairing.coverage_by_year"],
         "per-year schedule"),
        (["--target", "T5", "--probability", "0.8", "--lever", "levers.rotation.share", "--tolerance", "0"],
         "--tolerance: must be positive"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (extra, err)
        assert not out.exists()


def test_cli_solve_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """T1 (40% of counties quality-balanced in 2027) is met in no draw of the small scenario, whatever the
    rotation: one run at the top of the range settles it."""
    path = str(write_small(tmp_path))
    out = tmp_path / "solve"
    assert main(["solve", path, "--target", "T1", "--probability", "0.5", "--lever", "levers.rotation.share",
                 "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "the range cannot reach it: at 1 share (0–1) the probability is 0.0% [0.0–5.7%] (0/64 draws)" in text
    # Wilson upper bound for 0 of 64 draws: z²/(n + z²)
    assert f"{100 * Z * Z / (64 + Z * Z):.1f}%" == "5.7%"
    record = json.loads((out / "solve.json").read_text(encoding="utf-8"))
    assert (record["status"], record["answer"]) == ("unreachable", None)
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["solve.png", "solve.svg"]


@pytest.mark.slow
def test_cli_solve_on_the_model_gives_the_smallest_integer(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    """Dispatched teachers control the staffing norm (T5) of the two small counties: the answer reaches 80% and
    one teacher fewer does not, checked by running the model at both values (the dispatched teachers are given
    to the two counties as written, `scale_region_levers: false`; the establishment at the norm itself)."""
    path = write_small(tmp_path, extra=AT_NORM, scaled=False)
    out = tmp_path / "solve"
    assert main(["solve", str(path), "--target", "T5", "--probability", "0.8", "--lever",
                 "levers.dispatch.per_year", "--range", "0:60", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    record = json.loads((out / "solve.json").read_text(encoding="utf-8"))
    answer = record["answer"]
    assert record["status"] == "found" and isinstance(answer, int) and 0 < answer < 60
    assert f"answer: {answer} persons/yr (exact for these draws)" in text
    scenario = load_scenario(path)
    (target,) = select_targets(scenario, ["T5"])

    def met(value: int) -> int:
        return evaluate_target(run(replace(scenario, {"levers.dispatch.per_year": value})), target, "region").met

    assert met(answer) >= 0.8 * 64 > met(answer - 1)
    low, high = record["answer_interval"]
    assert low <= answer <= high
    assert wilson(met(low), 64)[1] >= 0.8 > wilson(met(low - 1), 64)[1]
    with (out / "solve.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["levers.dispatch.per_year [persons/yr]"]) for r in rows] == sorted(
        float(r["levers.dispatch.per_year [persons/yr]"]) for r in rows)
    assert {int(r["levers.dispatch.per_year [persons/yr]"]) for r in rows} >= {0, 60, answer, answer - 1}


def test_solve_rejects_unknown_area() -> None:
    from sim.solve import check_area

    with pytest.raises(InputError, match="unknown area 'north'; valid: region, south, every_county"):
        check_area("north")


def test_describe_states_the_answer_with_units_and_the_method() -> None:
    from sim.levers import LeverInfo
    from sim.solve import METHOD, describe
    from sim.targets import load_target_set

    (target,) = [t for t in load_target_set().targets if t.id == "T5"]
    info = LeverInfo("levers.dispatch.per_year", 5000, True, "persons/yr", "")
    found = solve_probability(lambda x: (10 * int(x), 1000), 0, 100, 0.8, integer=True, tolerance=1)
    text = describe(found, info, target, "region", 0.8, (0, 100), 1, 1000)
    low, high = wilson(800, 1000)
    assert f"answer: 80 persons/yr (exact for these draws): 80.0% [{100 * low:.1f}–{100 * high:.1f}%] " \
           "(800/1000 draws); at 79 persons/yr: 79.0%" in text
    assert f"95% interval of the answer: {found.interval[0]} persons/yr to {found.interval[1]} persons/yr" in text
    assert METHOD in text and "warning" not in text
    enough = solve_probability(lambda x: (900, 1000), 0, 100, 0.8, integer=True, tolerance=1)
    assert "the low end already suffices: at 0 persons/yr the probability is 90.0%" in describe(
        enough, info, target, "region", 0.8, (0, 100), 1, 1000)
