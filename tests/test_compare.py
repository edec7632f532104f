"""``edusim compare``: paired differences equal a direct computation on the draws; unpairable runs refused."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scenario_files import SCENARIOS, write_small

from sim.cli import main
from sim.compare import Interval, bootstrap_indices, met_by_draw, mover_ratio, paired_difference, ratio_interval
from sim.rundir import open_run


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval in closed form."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def newcombe_by_hand(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Newcombe (1998) method 10 for B − A, written out from the paper's formulas."""
    n = a.size
    e = int(np.sum(a & b))
    f = int(np.sum(b & ~a))
    g = int(np.sum(a & ~b))
    h = n - e - f - g
    p1, p2 = (e + f) / n, (e + g) / n
    l1, u1 = wilson(e + f, n)
    l2, u2 = wilson(e + g, n)
    num = e * h - f * g
    num = num - n / 2 if num > n / 2 else (num if num < 0 else 0)
    den = (e + f) * (g + h) * (e + g) * (f + h)
    phi = num / math.sqrt(den) if den else 0.0
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = d + math.sqrt((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2)
    return d, max(low, -1.0), min(high, 1.0)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    from sim.runner import load_with_overrides, run_scenario

    a = run_scenario(load_with_overrides(write_small(tmp, "base")), tmp / "base", progress=False, figures=False)
    b = run_scenario(load_with_overrides(write_small(tmp, "policy", "levers:\n  funding: {capital_cny: 2.0e10}\n")),
                     tmp / "policy", progress=False, figures=False)
    return a.out_dir, b.out_dir


@pytest.mark.parametrize("seed", range(5))
def test_paired_difference_matches_the_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    a = rng.random(n) < rng.random()
    b = np.where(rng.random(n) < 0.7, a, rng.random(n) < rng.random())
    got = paired_difference(a, b)
    d, low, high = newcombe_by_hand(a, b)
    assert got.estimate == pytest.approx(np.mean(b.astype(int) - a.astype(int)), abs=1e-12)
    assert (got.estimate, got.ci_low, got.ci_high) == pytest.approx((d, low, high), abs=1e-9)
    assert got.ci_low <= got.estimate <= got.ci_high


def test_paired_interval_is_close_to_wald_for_many_draws() -> None:
    rng = np.random.default_rng(1)
    a = rng.random(20_000) < 0.5
    b = np.where(rng.random(20_000) < 0.8, a, rng.random(20_000) < 0.6)
    diff = b.astype(float) - a.astype(float)
    half = 1.96 * diff.std(ddof=1) / math.sqrt(diff.size)
    got = paired_difference(a, b)
    assert got.ci_low == pytest.approx(diff.mean() - half, abs=2e-3)
    assert got.ci_high == pytest.approx(diff.mean() + half, abs=2e-3)


def test_identical_runs_differ_by_zero() -> None:
    a = np.array([1, 0, 1, 1, 0, 0, 1, 0] * 8, bool)
    got = paired_difference(a, a)
    assert got.estimate == 0 and got.ci_low < 0 < got.ci_high and got.only_a == got.only_b == 0


def test_met_by_draw_agrees_with_targets_csv(two_runs: tuple[Path, Path]) -> None:
    run = open_run(two_runs[1])
    by_id = {t.id: t for t in run.targets}
    for row in run.rows:
        met = met_by_draw(run.results, by_id[row["target"]], row["scope"])
        if row["probability"] == "":
            assert met is None
        else:
            assert met is not None and int(met.sum()) == int(row["draws_met"])


def test_compare_command_table_equals_direct_computation(two_runs: tuple[Path, Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    a_dir, b_dir = two_runs
    assert main(["compare", str(a_dir), str(b_dir), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "Newcombe" in out and "| T1 | region |" in out
    with open(tmp_path / "cmp" / "compare.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    a, b = open_run(a_dir), open_run(b_dir)
    by_id = {t.id: t for t in a.targets}
    checked = 0
    for row in rows:
        ma = met_by_draw(a.results, by_id[row["target"]], row["scope"])
        mb = met_by_draw(b.results, by_id[row["target"]], row["scope"])
        if ma is None:
            assert row["diff_policy"] == ""
            continue
        assert mb is not None
        d, low, high = newcombe_by_hand(ma, mb)
        assert float(row["probability_base"]) == pytest.approx(ma.mean(), abs=1e-4)
        assert float(row["probability_policy"]) == pytest.approx(mb.mean(), abs=1e-4)
        assert float(row["diff_policy"]) == pytest.approx(d, abs=1e-4)
        assert (float(row["diff_policy_ci95_low"]), float(row["diff_policy_ci95_high"])) == pytest.approx(
            (low, high), abs=1e-4)
        checked += 1
    assert checked >= 10
    assert {p.name for p in (tmp_path / "cmp" / "figures").iterdir()} >= {"compare_quality_balanced.png",
                                                                        "compare_quality_balanced.svg"}


def test_difference_fan_is_the_per_draw_difference(two_runs: tuple[Path, Path]) -> None:
    from sim.plots import difference_chart, series_values

    a, b = open_run(two_runs[0]), open_run(two_runs[1])
    va = series_values(a.results, "quality_school_share", "region").values
    vb = series_values(b.results, "quality_school_share", "region").values
    years = a.results["year"].values
    ax = difference_chart(years, vb - va)
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "median"]
    direct = a.results["quality_school_share"].sel(area="region").values
    direct = b.results["quality_school_share"].sel(area="region").values - direct
    np.testing.assert_allclose(line.get_ydata(), np.median(direct, axis=0), atol=1e-12)


@pytest.mark.parametrize(("key", "value", "reason"), [("seed", 1, "seeds differ"), ("draws", 128, "draw counts differ"),
                                                      ("start_year", 2019, "start years differ")])
def test_refuses_unpaired_runs(two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               key: str, value: int, reason: str) -> None:
    other = tmp_path / "other"
    shutil.copytree(two_runs[1], other)
    record = json.loads((other / "provenance.json").read_text(encoding="utf-8"))
    record[key] = value
    (other / "provenance.json").write_text(json.dumps(record), encoding="utf-8")
    assert main(["compare", str(two_runs[0]), str(other), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert reason in err and "Traceback" not in err
    assert not (tmp_path / "cmp").exists()


def test_bad_inputs(two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(two_runs[0]), str(tmp_path / "missing")]) == 2
    assert "no such run folder or scenario file" in capsys.readouterr().err
    assert main(["compare", str(two_runs[0]), str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["compare", str(two_runs[0])]) == 2
    assert "at least two" in capsys.readouterr().err


def test_scenario_files_run_with_the_first_runs_seed_and_draws(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    scenario = tmp_path / "again.yaml"
    scenario.write_text(  # its own seed and draws are overridden by those of the first run
        f"name: again\nextends: {SCENARIOS / 'baseline.yaml'}\ndraws: 128\nseed: 7\nchunk_size: 64\nhorizon: 2027\n"
        "baseline: {counties: ['653131', '650522']}\nlevers:\n  funding: {capital_cny: 2.0e10}\n", encoding="utf-8")
    assert main(["compare", str(two_runs[0]), str(scenario), "--runs-dir", str(tmp_path / "runs"),
                 "--out", str(tmp_path / "cmp"), "--quiet"]) == 0
    record = json.loads((tmp_path / "runs" / "again" / "provenance.json").read_text(encoding="utf-8"))
    assert record["seed"] == 20250126 and record["draws"] == 64
    # same seed, draws and levers as the policy run: the same draws, so the same table
    again = open_run(tmp_path / "runs" / "again").rows
    assert [r["probability"] for r in again] == [r["probability"] for r in open_run(two_runs[1]).rows]


def test_mover_ratio_by_hand() -> None:
    # theta1 = 10 (6, 14), theta2 = 2 (1, 4). Lower limit: R ≥ 0 since l1 > 0, so
    # R²·u2(2θ2 − u2) − 2R·θ1θ2 + l1(2θ1 − l1) = 0·R² − 40R + 84 = 0 → R = 2.1.
    # Upper limit: (Rθ2 − θ1)² = (u1 − θ1)² + R²(θ2 − l2)² → 3R² − 40R + 84 = 0, root with Rθ2 > θ1:
    # R = (40 + sqrt(592)) / 6.
    low, high = mover_ratio(10.0, 6.0, 14.0, 2.0, 1.0, 4.0)
    assert low == pytest.approx(2.1, rel=1e-12)
    assert high == pytest.approx((40 + math.sqrt(592)) / 6, rel=1e-12)
    # a numerator interval through 0: theta1 = 2 (−2, 6), theta2 = 2 (1, 3). Lower limit on R < 0 (l1 < 0), with
    # the denominator's lower side: (2 − 2R)² = (θ1 − l1)² + R²(θ2 − l2)² → 3R² − 8R − 12 = 0 → R = (8 − sqrt(208))/6.
    # Upper limit on R > 0: (2R − 2)² = (u1 − θ1)² + R²(θ2 − l2)² → the same quadratic, other root.
    low, high = mover_ratio(2.0, -2.0, 6.0, 2.0, 1.0, 3.0)
    assert low == pytest.approx((8 - math.sqrt(208)) / 6, rel=1e-12)
    assert high == pytest.approx((8 + math.sqrt(208)) / 6, rel=1e-12)
    assert mover_ratio(-2.0, -6.0, 2.0, -2.0, -3.0, -1.0) == pytest.approx((low, high), rel=1e-12)  # reflection
    # exact numerator: theta1/u2 and theta1/l2; exact denominator: l1/theta2 and u1/theta2
    assert mover_ratio(10.0, 10.0, 10.0, 2.0, 1.0, 4.0) == pytest.approx((2.5, 10.0), rel=1e-12)
    assert mover_ratio(10.0, 6.0, 14.0, 2.0, 2.0, 2.0) == pytest.approx((3.0, 7.0), rel=1e-12)
    with pytest.raises(ValueError, match="includes 0"):
        mover_ratio(10.0, 6.0, 14.0, 2.0, -1.0, 4.0)


def test_ratio_interval_by_hand() -> None:
    # 20 pairs: 10 met only in B, 10 in neither → D = 0.5. Wilson (z = 1.959964): 10/20 → 0.5 ± 0.200702,
    # 0/20 → (0, z²/(n + z²)) = (0, 0.161125); φ = 0 (an empty margin). Newcombe: L = 0.5 − sqrt(0.200702² +
    # 0.161125²) = 0.242624, U = 0.5 + sqrt(0 + 0.200702²) = 0.700702. A cost difference of exactly 1e8 CNY:
    # 1e8 / 50 = 2e6 CNY per point, interval 1e8 / 70.0702 to 1e8 / 24.2624.
    a, b = np.zeros(20, bool), np.arange(20) < 10
    i = ratio_interval(Interval(1e8, 1e8, 1e8), paired_difference(a, b))
    assert i is not None and i.low is not None and i.high is not None
    assert i.estimate == pytest.approx(2e6, rel=1e-12)
    assert i.low == pytest.approx(1e8 / 70.0702, rel=1e-5)
    assert i.high == pytest.approx(1e8 / 24.2624, rel=1e-5)
    assert ratio_interval(Interval(1e6, 1e6, 1e6), paired_difference(a, a)) is None  # no point gained: no ratio
    # 64 pairs, 4 met only in B: +6.25 points, Newcombe interval (−0.57, +15.0) includes 0, so the cost per point
    # is unbounded. (Before, a bootstrap gate that dropped the replicates with no gain reported [8, 64] million.)
    a, b = np.zeros(64, bool), np.arange(64) < 4
    d = paired_difference(a, b)
    assert d.ci_low < 0 < d.ci_high
    i = ratio_interval(Interval(1e8, 1e8, 1e8), d)
    assert i is not None and (i.low, i.high) == (None, None) and i.estimate == pytest.approx(1e8 / 6.25)


def test_ratio_interval_contains_its_estimate_and_agrees_with_the_difference() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(8, 200))
        a, b = rng.random(n) < rng.random(), rng.random(n) < rng.random()
        d = paired_difference(a, b)
        c = float(rng.normal(0, 1e8))
        cost = Interval(c, c - abs(float(rng.normal(0, 5e7))), c + abs(float(rng.normal(0, 5e7))))
        i = ratio_interval(cost, d)
        if d.estimate == 0:
            assert i is None
            continue
        assert i is not None
        if d.ci_low <= 0 <= d.ci_high:
            assert i.low is None and i.high is None
        else:
            assert i.low is not None and i.high is not None and i.low <= i.estimate <= i.high


def test_bootstrap_is_seeded() -> None:
    assert np.array_equal(bootstrap_indices(10, 3, 5), bootstrap_indices(10, 3, 5))
    assert not np.array_equal(bootstrap_indices(10, 3, 5), bootstrap_indices(10, 4, 5))


def test_compare_reports_cost_differences_and_cost_per_point(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    a_dir, b_dir = two_runs
    assert main(["compare", str(a_dir), str(b_dir), "--out", str(tmp_path / "cmp")]) == 0
    assert "## Cost-effectiveness" in (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8")
    with open(tmp_path / "cmp" / "cost_effectiveness.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    a, b = open_run(a_dir), open_run(b_dir)
    d_cost = b.results["cost_plan_total"].values.astype(float) - a.results["cost_plan_total"].values.astype(float)
    total = rows[0]
    assert total["target"] == "total_cost"
    assert float(total["estimate_cny"]) == pytest.approx(d_cost.mean(), abs=1.0)
    assert float(total["ci95_low_cny"]) <= d_cost.mean() <= float(total["ci95_high_cny"])
    by_id = {t.id: t for t in a.targets}
    checked = 0
    for row in rows[1:]:
        ma = met_by_draw(a.results, by_id[row["target"]], row["scope"])
        mb = met_by_draw(b.results, by_id[row["target"]], row["scope"])
        if ma is None or mb is None or mb.mean() == ma.mean():
            assert row["estimate_cny"] == ""
            continue
        assert float(row["estimate_cny"]) == pytest.approx(d_cost.mean() / (100 * (mb.mean() - ma.mean())), rel=1e-6)
        checked += 1
    assert checked >= 1
