"""Sensitivity analysis (sim.sensitivity): the SALib path on the Ishigami function, the per-draw parameter
override of the cohort engine, the model run end to end, and the command line's errors.

Ishigami: f(x) = sin x1 + a sin² x2 + b x3⁴ sin x1, x uniform on [-π, π]³, a = 7, b = 0.1. Its variance
decomposition (Ishigami & Homma 1990; Sobol' & Levitan 1999) in closed form:
D = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2, D1 = bπ⁴/5 + b²π⁸/50 + 1/2, D2 = a²/8, D3 = 0, D13 = 8b²π⁸/225, so
S1 = (D1, D2, 0)/D ≈ (0.3139, 0.4424, 0) and ST = (D1 + D13, D2, D13)/D ≈ (0.5576, 0.4424, 0.2437).
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from SALib.test_functions import Ishigami
from scenario_files import write_small

from sim import sensitivity as sens
from sim.cli import main
from sim.cohort import prepare, run_chunk, sample_parameters
from sim.distributions import sample
from sim.rng import Streams
from sim.scenario import load_scenario

A, B = 7.0, 0.1
D = A**2 / 8 + B * math.pi**4 / 5 + B**2 * math.pi**8 / 18 + 0.5
D1 = B * math.pi**4 / 5 + B**2 * math.pi**8 / 50 + 0.5
D2 = A**2 / 8
D13 = 8 * B**2 * math.pi**8 / 225
S1_ISHIGAMI = np.array([D1 / D, D2 / D, 0.0, 0.0])  # the fourth factor is a dummy the function ignores
ST_ISHIGAMI = np.array([(D1 + D13) / D, D2 / D, D13 / D, 0.0])
SOBOL_TOLERANCE = 0.05
"""Absolute tolerance on S1 and ST at N = 1024 (6,144 points): the bootstrap 95% half-widths are ≈ 0.02–0.06."""


def ishigami_factors() -> list[sens.Factor]:
    return [sens.uniform_factor(n, -math.pi, math.pi) for n in ("x1", "x2", "x3", "dummy")]


def ishigami_evaluator(noise_sd: float, replicates: int, rng: np.random.Generator):
    """``evaluate(design)`` of Ishigami on the first three columns, plus independent normal noise per replicate."""

    def evaluate(design: sens.Design) -> np.ndarray:
        clean = Ishigami.evaluate(design.values[:, :3], A=A, B=B)
        noise = noise_sd * rng.standard_normal((design.n_points, replicates))
        return (clean[:, None] + noise)[:, :, None]

    return evaluate


def read_indices(path: Path) -> dict[str, dict[str, str]]:
    with open(path / "indices.csv", encoding="utf-8") as f:
        return {row["factor"]: row for row in csv.DictReader(f)}


def column(rows: dict[str, dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(rows[f][name]) for f in ("x1", "x2", "x3", "dummy")])


def run_ishigami(tmp_path: Path, method: str, n: int, noise_sd: float, replicates: int) -> dict[str, dict[str, str]]:
    """The whole path: design → evaluate → analyse → indices.csv; returns the CSV rows by factor."""
    rng = np.random.default_rng(20250126)
    design = sens.make_design(ishigami_factors(), method, n, rng)
    output = sens.Output("ishigami", "value", "1", "Ishigami function")
    result = sens.run_analysis(design, ishigami_evaluator(noise_sd, replicates, rng), [output], rng)
    out = sens.write_results(tmp_path / method, result, heading="Ishigami", details={}, figures=False)
    return read_indices(out)


def test_sobol_recovers_ishigami_indices(tmp_path: Path) -> None:
    rows = run_ishigami(tmp_path, "sobol", 1024, noise_sd=0.0, replicates=1)
    np.testing.assert_allclose(column(rows, "S1"), S1_ISHIGAMI, atol=SOBOL_TOLERANCE)
    np.testing.assert_allclose(column(rows, "ST"), ST_ISHIGAMI, atol=SOBOL_TOLERANCE)
    conf = column(rows, "ST_conf")
    assert (conf >= 0).all() and (conf < 0.1).all()


def test_sobol_separates_replicate_noise_from_parameter_effects(tmp_path: Path) -> None:
    # normal noise sd 2 on 4 replicates: the noise variance of a point mean is 4/4 = 1, so the noise share of
    # the variance of the means is 1 / (D + 1) ≈ 0.067, and the raw indices are shrunk by D / (D + 1)
    sd, replicates = 2.0, 4
    rows = run_ishigami(tmp_path, "sobol", 1024, noise_sd=sd, replicates=replicates)
    expected_share = (sd**2 / replicates) / (D + sd**2 / replicates)
    assert float(rows["x1"]["noise_share"]) == pytest.approx(expected_share, abs=0.015)
    assert float(rows["x1"]["noise_variance"]) == pytest.approx(sd**2, rel=0.05)
    assert float(rows["x1"]["variance_of_means"]) == pytest.approx(D + sd**2 / replicates, rel=0.06)
    np.testing.assert_allclose(column(rows, "S1_parameters"), S1_ISHIGAMI, atol=SOBOL_TOLERANCE)
    np.testing.assert_allclose(column(rows, "ST_parameters"), ST_ISHIGAMI, atol=SOBOL_TOLERANCE)
    # the raw total index of the dummy is the noise share (Jansen's estimator sees the noise of each evaluation)
    assert float(rows["dummy"]["ST"]) == pytest.approx(expected_share, abs=0.02)


def expected_morris_mu_star() -> np.ndarray:
    """μ* of Ishigami on the design's grid, by enumeration (independent of SALib).

    Levels j = 0…3 are the quantiles (2j + 1)/8 of U(-π, π); a step moves one factor between levels (0, 2) or
    (1, 3) (Δ = 2/3 on the unit scale), each pair equally likely, the other factors uniform on the four levels.
    """
    levels = -math.pi + 2 * math.pi * (2 * np.arange(4) + 1) / 8
    delta = 2 / 3
    out = np.zeros(4)
    for i in range(4):
        effects = []
        for lo, hi in ((0, 2), (1, 3)):
            for others in itertools.product(range(4), repeat=3):
                x_lo = [*others[:i], lo, *others[i:]]
                x_hi = [*others[:i], hi, *others[i:]]
                f = [Ishigami.evaluate(levels[np.array(x)][None, :3], A=A, B=B)[0] for x in (x_lo, x_hi)]
                effects.append(abs(f[1] - f[0]) / delta)
        out[i] = np.mean(effects)
    return out


def test_morris_recovers_ishigami_mu_star(tmp_path: Path) -> None:
    rows = run_ishigami(tmp_path, "morris", 400, noise_sd=0.0, replicates=1)
    expected = expected_morris_mu_star()
    mu_star = column(rows, "mu_star")
    # x2 enters as sin² x2, equal at ±π/4 and ±3π/4: on this grid its effect is exactly zero, like the dummy's
    assert expected[1] == pytest.approx(0, abs=1e-12) and mu_star[1] == pytest.approx(0, abs=1e-9)
    assert mu_star[3] == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(mu_star[[0, 2]], expected[[0, 2]], rtol=0.12)
    assert mu_star[0] > mu_star[2] > mu_star[1]


def test_morris_noise_floor_matches_an_inert_factor(tmp_path: Path) -> None:
    # an inert factor's elementary effect is the difference of two independent means of R normal noises
    # divided by Δ: E|EE| = √(2 σ²/R) √(2/π) / Δ
    sd, replicates = 1.0, 2
    rows = run_ishigami(tmp_path, "morris", 400, noise_sd=sd, replicates=replicates)
    floor = math.sqrt(2 * sd**2 / replicates) * math.sqrt(2 / math.pi) / (2 / 3)
    assert float(rows["dummy"]["mu_star_noise_floor"]) == pytest.approx(floor, rel=0.05)
    assert float(rows["dummy"]["mu_star"]) == pytest.approx(floor, rel=0.15)
    assert float(rows["x1"]["mu_star"]) > 3 * floor


def test_morris_grid_levels_are_bin_middles() -> None:
    design = sens.make_design(ishigami_factors(), "morris", 10, np.random.default_rng(1))
    assert design.n_points == 10 * 5
    assert set(np.round(design.quantiles.ravel(), 12)) <= {0.125, 0.375, 0.625, 0.875}


def test_noise_statistics_by_hand() -> None:
    # means 2 and 6 (variance with ddof 1: 8); within-point variances 2 and 2; share = 2 / 2 / 8
    noise = sens.noise_statistics(np.array([[1.0, 3.0], [5.0, 7.0]]))
    assert (noise.variance_of_means, noise.noise_variance, noise.noise_share) == (8.0, 2.0, 0.125)


def test_lever_discretisation() -> None:
    factor = sens.lever_factor("levers.rotation.share", 0.1, 0.4, 4)
    q = np.array([0.0, 0.249, 0.25, 0.6, 0.999, 1.0])
    np.testing.assert_allclose(factor.quantile(q), [0.1, 0.1, 0.2, 0.3, 0.4, 0.4])
    integer = sens.lever_factor("levers.dispatch.term_years", 1, 3, 4, integer=True)
    np.testing.assert_array_equal(integer.quantile(np.array([0.1, 0.5, 0.9])), [1.0, 2.0, 3.0])


def test_constant_output_is_reported_not_analysed() -> None:
    design = sens.make_design(ishigami_factors(), "sobol", 8, np.random.default_rng(2))
    y = np.ones((design.n_points, 2, 1))
    rows = sens.analyse(design, y, [sens.Output("T", "probability", "1", "p")], np.random.default_rng(3))
    assert all(r["note"].startswith("constant over the design") and "S1" not in r for r in rows)


# ------------------------------------------------------------------------------------------------------------
# the per-draw override of the cohort engine


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory):
    scenario = load_scenario(write_small(tmp_path_factory.mktemp("sens")))
    return prepare(scenario)


def test_override_absent_samples_as_before(small_model) -> None:
    scenario = small_model.scenario
    streams = Streams(scenario.seed)
    values = sample_parameters(scenario, streams, 0, 64)
    # the sampling rule, written out independently: the posterior's particles for the parameters it holds (the
    # baseline draws from the shipped posterior), each parameter's own stream for the others
    from sim.model import posterior_values

    held = posterior_values(scenario.posterior, streams, 0, 64) if scenario.posterior else {}
    assert len(held) == 16  # posterior v10: v8's 13 and the intake's 3 (calibration/config_v10.yaml)
    for name, spec in scenario.uncertainties.items():
        expected = held[name] if name in held else sample(spec, streams.uniforms(f"uncertainty/{name}", 0, 64))
        np.testing.assert_array_equal(values[name], expected)


def test_override_changes_only_the_parameter(small_model) -> None:
    streams = Streams(small_model.scenario.seed)
    default = run_chunk(small_model, streams, 0, 64)
    sampled = sample_parameters(small_model.scenario, streams, 0, 64)
    same = run_chunk(small_model, streams, 0, 64, parameters={"students.consolidation_2020":
                                                               sampled["students.consolidation_2020"]})
    assert all(np.array_equal(default[k], same[k], equal_nan=True) for k in default)
    # a 2020 consolidation rate of 1 is a zero dropout hazard in every year and county (it declines from there):
    # every completer's cohort is then the completers themselves, a measured rate of exactly 1
    forced = run_chunk(small_model, streams, 0, 64, parameters={"students.consolidation_2020": np.ones(64)})
    simulated = forced["consolidation_completers"][:, 1:] > 0
    assert simulated.any()
    np.testing.assert_array_equal(forced["consolidation_cohort"][:, 1:][simulated],
                                  forced["consolidation_completers"][:, 1:][simulated])
    assert not np.array_equal(forced["student_exits"], default["student_exits"])  # dropouts follow the rate
    measured = default["consolidation_completers"][:, 1:].sum() / default["consolidation_cohort"][:, 1:].sum()
    assert measured < 1.0


def test_factors_of_calibrated_parameters_follow_the_posterior(tmp_path: Path) -> None:
    # the baseline draws 16 parameters from its posterior; a sensitivity design varies them over the posterior's
    # marginals, not their priors. Checked against the particles themselves: the factor's values on a fine grid
    # of quantiles have the particles' weighted mean and stay inside their range. A parameter the scenario writes
    # a distribution for (attrition.rural_rate here) keeps that distribution.
    import pandas as pd

    path = write_small(tmp_path, extra="uncertainties:\n  attrition.rural_rate: {dist: uniform, low: 0.01, "
                                       "high: 0.02}\n")
    scenario = load_scenario(path)
    factors = {f.name: f for f in sens.choose_factors(scenario, "quota.establishment_adjustment,"
                                                                "attrition.rural_rate,drift.rural_to_town_rate")}
    particles = pd.read_csv(scenario.posterior / "particles.csv")
    grid = (np.arange(20_000) + 0.5) / 20_000
    adjustment = factors["quota.establishment_adjustment"]
    values = adjustment.quantile(grid)
    column = particles["quota.establishment_adjustment"]
    weights = particles["weight"] / particles["weight"].sum()
    assert adjustment.spec.startswith(f"posterior {scenario.posterior.name}")
    assert values.mean() == pytest.approx(float((column * weights).sum()), abs=2e-3)
    assert column.min() <= values.min() and values.max() <= column.max()
    # the prior U(0, 1) would put the mean at 0.5; the posterior's is near 0.36 (docs/findings.md)
    assert abs(values.mean() - 0.5) > 0.05
    rural = factors["attrition.rural_rate"]
    np.testing.assert_allclose(rural.quantile(np.array([0.0, 0.5, 1.0])), [0.01, 0.015, 0.02])
    assert rural.spec.startswith("uniform")
    drift = factors["drift.rural_to_town_rate"]  # not in the posterior: its prior
    assert not drift.spec.startswith("posterior")


def test_override_rejects_unknown_names_and_bad_shapes(small_model) -> None:
    streams = Streams(small_model.scenario.seed)
    with pytest.raises(ValueError, match="not uncertainties of the scenario: nope"):
        sample_parameters(small_model.scenario, streams, 0, 64, {"nope": np.zeros(64)})
    with pytest.raises(ValueError, match=r"must have shape \(64,\)"):
        sample_parameters(small_model.scenario, streams, 0, 64, {"students.consolidation_2020": np.zeros(3)})


# ------------------------------------------------------------------------------------------------------------
# end to end on the model, and the command line


TWO_TARGETS = """name: two
targets:
  - {id: T1, zh: 40%縣優質均衡, en: 40% of counties quality-balanced by 2027, metric: share_counties_quality_balanced,
     comparison: ">=", threshold: 0.4, year: 2027, scope: [region, south]}
  - {id: T7, zh: 鞏固率96%以上, en: consolidation rate at 96% or above every year from 2025, metric: consolidation_rate,
     comparison: ">=", threshold: 0.96, each_year_from: 2025, scope: [region, south]}
"""


@pytest.mark.parametrize("with_lever", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_sensitivity_command_on_a_small_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 with_lever: bool) -> None:
    targets = tmp_path / "two.yaml"  # two targets, so few figures: one judged in a year, one every year
    targets.write_text(TWO_TARGETS, encoding="utf-8")
    path = write_small(tmp_path, extra=f"targets: {targets}\n")
    out = tmp_path / "sens"
    lever = ["--lever", "levers.rotation.share=0.1:0.3", "--lever-levels", "2"] if with_lever else []
    status = main(["sensitivity", str(path), "--method", "sobol", "--n", "4", "--replicates", "3", "--quiet",
                   "--factors", "students.consolidation_2020,attrition.rural_rate", *lever, "--out", str(out)])
    captured = capsys.readouterr()
    printed = captured.out
    assert status == 0, captured.err
    points = 4 * (2 + with_lever + 2)  # N·(k+2)
    assert f"{points} design points × 3 replicates = {3 * points} draws" in printed
    assert "T7 value" in printed and "T1 probability" in printed
    names = {p.name for p in out.iterdir()}
    assert {"indices.csv", "design.csv", "outcomes.csv", "sensitivity.md", "provenance.json",
            "scenario.resolved.yaml", "figures"} <= names
    assert (out / "figures" / "tornado-T7.png").exists() and (out / "figures" / "tornado-T7.svg").exists()
    with open(out / "design.csv", encoding="utf-8") as f:
        design = list(csv.DictReader(f))
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        outcomes = [r for r in csv.DictReader(f) if r["target"] == "T7" and r["outcome"] == "value"]
    # T7's value is the worst-year consolidation rate from 2025, measured from the flows: the hazard only falls
    # after 2020, so it stays within a few points (three small counties' binomial noise, county spread) of the
    # point's 2020 anchor, and replicates of a point differ (it is no longer an input)
    rate_column = next(c for c in design[0] if c.startswith("students.consolidation_2020 (") and "quantile" not in c)
    assert len(design) == len(outcomes) == points
    for point, row in zip(design, outcomes, strict=True):
        assert float(point[rate_column]) - 0.03 <= float(row["mean_over_replicates"]) <= 1.0
    assert any(float(row["variance_within_point"]) > 0 for row in outcomes)
    firsts = [int(p["first_draw"]) for p in design]
    if not with_lever:  # point i, replicate r → draw i·R + r
        assert firsts == [3 * i for i in range(points)]
    else:  # two lever groups, each starting on a block of 64 draws, points R = 3 draws apart within a group
        column = next(c for c in design[0] if c.startswith("levers.rotation.share (") and "quantile" not in c)
        sizes = [sum(1 for p in design if float(p[column]) == v) for v in (0.1, 0.3)]
        assert sum(sizes) == points and min(sizes) > 0
        assert sorted(firsts) == [3 * i for i in range(sizes[0])] + [64 + 3 * i for i in range(sizes[1])]
    with open(out / "indices.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = {"students.consolidation_2020", "attrition.rural_rate"} | ({"levers.rotation.share"} if with_lever
                                                                          else set())
    assert {r["factor"] for r in rows} == expected
    assert {(r["target"], r["outcome"]) for r in rows} == {(t, o) for t in ("T1", "T7")
                                                          for o in ("value", "probability")}


def test_morris_command_is_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "two.yaml"
    targets.write_text(TWO_TARGETS, encoding="utf-8")
    path = write_small(tmp_path, extra=f"targets: {targets}\n")
    args = ["sensitivity", str(path), "--method", "morris", "--n", "2", "--replicates", "2", "--quiet",
            "--factors", "students.consolidation_2020", "--seed", "7"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    printed = capsys.readouterr().out
    assert "4 design points × 2 replicates = 8 draws (seed 7)" in printed  # N·(k+1) points
    for name in ("indices.csv", "design.csv", "outcomes.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    with open(tmp_path / "a" / "indices.csv", encoding="utf-8") as f:
        rows = {(r["target"], r["outcome"]): r for r in csv.DictReader(f)}
    assert list(next(iter(rows.values()))) == sens.index_columns("morris")
    # T7's value is measured from the simulated flows (issue 16), so replicates of a point differ: noise > 0
    t7 = rows[("T7", "value")]
    assert float(t7["noise_variance"]) > 0
    assert np.isfinite(float(t7["mu_star"]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--n", "6"], "<command line>: --n: must be a power of 2 and at least 4 for --method sobol, got 6"),
        (["--method", "morris", "--n", "1"], "--n: must be at least 2 trajectories for --method morris, got 1"),
        (["--replicates", "1"], "--replicates: must be at least 2"),
        (["--factors", "attrition.rural_rat"], "--factors: unknown uncertainty 'attrition.rural_rat'; did you mean "
                                               "'attrition.rural_rate'?"),
        (["--factors", "facilities.construction_lag_years"], "'facilities.construction_lag_years' is fixed"),
        # lever keys and ranges are read by sim.levers, as for sweep and solve (its wording)
        (["--lever", "levers.rotation.share"], "--lever: expected KEY=LO:HI"),
        (["--lever", "rotation.share=0:1"], "rotation.share: not a lever: only keys under levers can be varied"),
        (["--lever", "levers.rotation.shar=0.1:0.2"], "levers.rotation.shar: unknown key 'shar'; did you mean "
                                                      "'share'? valid: backbone_share, direction"),
        (["--lever", "levers.rotation.share=0.3:0.1"], "levers.rotation.share: LO must be below HI"),
        (["--lever", "levers.rotation.share=a:b"], "levers.rotation.share: LO must be a number, got 'a'"),
        (["--lever", "levers.rotation.direction=0:1"], "a choice ('rural_and_weak'), not a number"),
        (["--lever", "levers.dispatch.per_year=0:2.5"], "levers.dispatch.per_year: an integer lever needs a "
                                                        "whole-number range"),
        (["--lever", "uncertainties.attrition.rural_rate.mean=0:1"], "an uncertainty is a factor of its own"),
        (["--lever", "levers.rotation.share=0.5:1.5"], "levers.rotation.share: must be in [0, 1], got 1.5"),
        (["--lever-levels", "1"], "--lever-levels: must be at least 2, got 1"),
        (["--workers", "0"], "--workers: must be at least 1, got 0"),
        (["--scheduler", "foo"], "--scheduler: not a scheduler address"),
    ],
)
def test_bad_options_give_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str],
                                       message: str) -> None:
    path = write_small(tmp_path)
    out = tmp_path / "never"
    assert main(["sensitivity", str(path), "--quiet", "--out", str(out), *options]) == 2
    captured = capsys.readouterr()
    assert message in captured.err, captured.err
    assert "Traceback" not in captured.err and not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]


def test_missing_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sensitivity", str(tmp_path / "missing.yaml"), "--quiet"]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_package_exports_resolve_lazily() -> None:
    import subprocess
    import sys

    import sim.sensitivity as package

    assert sorted(package._EXPORTS) == sorted(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        package.nope  # noqa: B018
    code = ("import sys; from sim.sensitivity.defaults import DEFAULT_N; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'SALib', 'scipy'}))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
