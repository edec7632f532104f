"""edusim calibrate (sim.calibrate): the batched ABC-SMC, the configuration, the command, synthetic truth."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.calibrate import AbcSettings, FitObservations, NoGenerationError, fit_observations, load_config, run_abc
from sim.cli import main
from sim.distributions import Normal, Uniform, sample
from sim.observations import COLUMNS, load_observations
from sim.posterior import Posterior
from sim.rng import Streams

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "calibration" / "history_minimal.yaml"
SMALL_COUNTIES = ["653131", "653227", "653023"]  # three of the smallest counties (scenarios/eight_small_counties)


# ------------------------------------------------------------------------------------------------------------
# the batched sampler against a closed-form posterior


def _toy_round(sd_sim: float):
    """x = θ + sd_sim·z with z from the keyed stream of each draw (a stochastic simulator)."""

    def simulate_round(params: list[dict[str, float]], first: int) -> list[dict[str, float]]:
        z = stats.norm.ppf(Streams(5).uniforms("toy", first, first + len(params)))
        return [{"y": p["theta"] + sd_sim * zi} for p, zi in zip(params, z, strict=True)]

    return simulate_round


def _toy_fit(y: float, sd_obs: float) -> FitObservations:
    return FitObservations(pd.DataFrame({"key": ["y"], "series": ["toy"], "level": ["all"], "year": [0],
                                         "value": [y], "obs_sd_rel": [sd_obs / y], "sd": [sd_obs]}))


@pytest.mark.parametrize("transition", ["gaussian", pytest.param("kde", marks=pytest.mark.slow)])
def test_batched_abc_recovers_the_normal_posterior(transition) -> None:
    # θ ~ N(0, 1), y = θ + simulator noise (0.3) + observation error (0.4): θ | y ~ N(y / (1 + s²), s² / (1 + s²))
    # with s² = 0.3² + 0.4² = 0.25 (conjugate normal), so for y = 1.5: mean 1.2, sd sqrt(0.2) = 0.447.
    # 1000 particles: Monte Carlo SE about 0.015 on the mean and 0.011 on the SD. Without pyabc's importance
    # weights (prior / proposal) the same run gives mean 1.283, SD 0.403: this test fails then.
    settings = AbcSettings(population_size=1000, generations=4, batch_size=512, seed=9, transition=transition)
    posterior, generations, simulated = run_abc({"theta": Normal(mean=0.0, sd=1.0)}, _toy_round(0.3),
                                                _toy_fit(1.5, 0.4), settings)
    theta = posterior.particles[:, 0]
    mean = posterior.mean("theta")
    sd = float(np.sqrt(np.sum(posterior.weights * (theta - mean) ** 2)))
    assert abs(mean - 1.2) < 0.05
    assert abs(sd - np.sqrt(0.2)) < 0.03
    assert generations["epsilon"].iloc[-1] == pytest.approx(1.0)  # the final temperature: exact inference
    assert simulated % 512 == 0 and simulated >= generations["simulations"].sum()


def test_the_gaussian_proposal_recovers_a_posterior_cut_by_the_prior_edge() -> None:
    # θ ~ U(0, 2), y = θ + noise (0.3) + observation error (0.4), y = 0.2 observed: θ | y is N(0.2, 0.5²) cut to
    # [0, 2], a truncated normal with its mode on the edge. The mixture proposes beyond the edge (pyabc draws again
    # until the prior density is positive); its density is then not renormalised to [0, 2], which is one constant
    # for the whole generation and cancels in the normalised weights. 1000 particles: Monte Carlo SE about 0.012
    # on the mean and 0.010 on the SD.
    exact = stats.truncnorm((0.0 - 0.2) / 0.5, (2.0 - 0.2) / 0.5, loc=0.2, scale=0.5)
    settings = AbcSettings(population_size=1000, generations=4, batch_size=512, seed=9, transition="gaussian")
    posterior, generations, _ = run_abc({"theta": Uniform(low=0.0, high=2.0)}, _toy_round(0.3),
                                        _toy_fit(0.2, 0.4), settings)
    theta = posterior.particles[:, 0]
    mean = posterior.mean("theta")
    sd = float(np.sqrt(np.sum(posterior.weights * (theta - mean) ** 2)))
    assert theta.min() >= 0.0
    assert generations["epsilon"].iloc[-1] == pytest.approx(1.0)
    assert abs(mean - exact.mean()) < 0.05
    assert abs(sd - exact.std()) < 0.03


@pytest.mark.parametrize(("prior", "y", "exact"), [
    (Normal(mean=0.0, sd=1.0), 1.5, stats.norm(1.2, np.sqrt(0.2))),
    (Uniform(low=0.0, high=10.0), 0.2, stats.truncnorm(-0.4, 19.6, loc=0.2, scale=0.5))])
def test_the_final_importance_step_reaches_the_exact_posterior(prior, y, exact) -> None:
    # The generations stop at generation 0 (budget 1,024 simulations; temperature 3.8 and 28.4), far from the
    # posterior; 4,000 more simulations weighted by prior × likelihood of their one simulation / proposal give
    # the posterior at temperature 1: the conjugate normal of the tests above, and N(0.2, 0.5²) cut by the prior's
    # edge at 0. Measured ESS of the step: 1,695 and 571 of 4,000; the tolerances are 4 Monte Carlo SEs at 400.
    settings = AbcSettings(population_size=500, generations=6, batch_size=512, seed=9, max_simulations=1024,
                           final_importance=4000)
    posterior, generations, simulated = run_abc({"theta": prior}, _toy_round(0.3), _toy_fit(y, 0.4), settings)
    assert float(generations["epsilon"].iloc[-2]) > 1.5  # the generations themselves stopped above temperature 1
    assert generations["epsilon"].iloc[-1] == 1.0 and pd.isna(generations["acceptance_rate"].iloc[-1])
    assert len(posterior.weights) == 4000 and simulated >= 4000 + generations["simulations"].iloc[:-1].sum()
    theta = posterior.particles[:, 0]
    mean = posterior.mean("theta")
    sd = float(np.sqrt(np.sum(posterior.weights * (theta - mean) ** 2)))
    ess = float(generations["ess"].iloc[-1])
    assert ess > 400
    assert abs(mean - exact.mean()) < 0.05
    assert abs(sd - exact.std()) < 0.03


@pytest.mark.parametrize("with_prior", [True, False])
def test_the_defensive_prior_component_bounds_the_importance_weights(with_prior) -> None:
    # A population that is still the prior (a box of 13 uniform priors, v5's dimension) is where two normals
    # alone fail: a normal fitted to a box is ~10^7 times thinner in its corners than at its centre, so the few
    # proposals there carry the weight. With the prior as one third of the mixture, prior / proposal ≤ 3 for every
    # proposal (q ≥ prior / 3), and the weights' ESS stays high. Measured with this seed: max weight 3.0 and ESS
    # 92% of the proposals with the prior; 269 and 16% without it (the failure this test guards against).
    import pyabc

    from sim.calibrate import GaussianMixtureTransition

    names = [f"p{i}" for i in range(13)]
    prior = pyabc.Distribution(**{n: pyabc.RV("uniform", 0, 1) for n in names})
    saved = np.random.get_state()  # noqa: NPY002 - pyabc's transitions draw from the global RandomState
    try:
        np.random.seed(1)  # noqa: NPY002
        population = pd.DataFrame(np.random.random((96, 13)), columns=names)  # noqa: NPY002
        transition = GaussianMixtureTransition(prior if with_prior else None)
        transition.fit(population, np.full(96, 1 / 96))
        proposals = []
        while len(proposals) < 2000:  # pyabc draws again until the prior density is positive
            proposal = transition.rvs_single()
            if prior.pdf(proposal) > 0:
                proposals.append(dict(proposal))
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    frame = pd.DataFrame(proposals)
    weights = 1.0 / transition.pdf(frame)  # the prior density is 1 inside the box
    ess = weights.sum() ** 2 / np.sum(weights**2) / len(weights)
    if with_prior:
        assert weights.max() <= 3.0 + 1e-9
        assert ess > 0.8
    else:
        assert weights.max() > 30.0 and ess < 0.4


def test_batched_abc_is_seeded() -> None:
    settings = AbcSettings(population_size=50, generations=2, batch_size=64, seed=4)
    prior = {"theta": Normal(mean=0.0, sd=1.0)}
    a, _, _ = run_abc(prior, _toy_round(0.3), _toy_fit(1.0, 0.4), settings)
    b, _, _ = run_abc(prior, _toy_round(0.3), _toy_fit(1.0, 0.4), settings)
    c, _, _ = run_abc(prior, _toy_round(0.3), _toy_fit(1.0, 0.4), settings.model_copy(update={"seed": 5}))
    assert np.array_equal(a.particles, b.particles) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.particles, c.particles)
    # the caller's global numpy state is restored
    state = np.random.get_state()  # noqa: NPY002
    run_abc(prior, _toy_round(0.3), _toy_fit(1.0, 0.4), settings)
    assert np.array_equal(np.random.get_state()[1], state[1])  # noqa: NPY002


def test_threshold_acceptance_runs_down_its_schedule() -> None:
    settings = AbcSettings(acceptance="threshold", population_size=100, generations=3, batch_size=128, seed=2,
                           epsilon_schedule=(3.0, 1.5, 0.5))
    posterior, generations, _ = run_abc({"theta": Normal(mean=0.0, sd=1.0)}, _toy_round(0.3),
                                        _toy_fit(1.5, 0.4), settings)
    assert list(generations["epsilon"]) == [3.0, 1.5, 0.5]
    # |θ + noise − 1.5| / 0.4 < 0.5 keeps θ near 1.5 (shrunk a little to the prior)
    assert 0.9 < posterior.mean("theta") < 1.7


def _bound_posterior(b: float, sigma: float) -> tuple[float, float]:
    """Mean and SD of θ ~ N(0, 1) given that θ plus a N(0, σ²) error is at most ``b``, by quadrature:
    the density is φ(θ) Φ((b − θ) / σ)."""
    from scipy import integrate

    density = lambda t: stats.norm.pdf(t) * stats.norm.cdf((b - t) / sigma)  # noqa: E731
    z = integrate.quad(density, -12, 12)[0]
    mean = integrate.quad(lambda t: t * density(t), -12, 12)[0] / z
    var = integrate.quad(lambda t: (t - mean) ** 2 * density(t), -12, 12)[0] / z
    return mean, float(np.sqrt(var))


@pytest.mark.parametrize("final_importance", [0, 4000])
def test_an_upper_bound_gives_the_one_sided_posterior(final_importance) -> None:
    # θ ~ N(0, 1); the simulator gives x = θ + 0.3 z; a published total b = −0.5 (SD 0.4) bounds x from above
    # with an unknown, flat, non-negative remainder: the likelihood of b given θ is Φ((b − θ) / 0.5), 0.5² = 0.3² +
    # 0.4², so the posterior is φ(θ) Φ((−0.5 − θ) / 0.5) (a skew normal; quadrature, _bound_posterior). Once by
    # pyabc's stochastic acceptance to temperature 1 (BoundedNormalKernel), once by the importance step after a
    # budget of 1,024 (log_likelihood). 1000 and 4000 particles: tolerances ~4 Monte Carlo SEs.
    fit = FitObservations(pd.DataFrame({"key": ["y"], "series": ["toy"], "level": ["all"], "year": [0],
                                        "value": [-0.5], "obs_sd_rel": [0.8], "sd": [0.4], "upper": [True]}))
    settings = AbcSettings(population_size=1000, generations=6, batch_size=512, seed=9,
                           **({"max_simulations": 1024, "final_importance": final_importance} if final_importance
                              else {}))
    posterior, generations, _ = run_abc({"theta": Normal(mean=0.0, sd=1.0)}, _toy_round(0.3), fit, settings)
    theta = posterior.particles[:, 0]
    mean = posterior.mean("theta")
    sd = float(np.sqrt(np.sum(posterior.weights * (theta - mean) ** 2)))
    exact_mean, exact_sd = _bound_posterior(-0.5, 0.5)
    assert generations["epsilon"].iloc[-1] == pytest.approx(1.0)
    assert abs(mean - exact_mean) < 0.05, (mean, exact_mean)
    assert abs(sd - exact_sd) < 0.04, (sd, exact_sd)
    # the bound moved the posterior: the prior's mean is 0, its SD 1
    assert exact_mean < -0.6 and exact_sd < 0.8


def test_the_likelihood_of_a_bound_is_one_sided() -> None:
    from sim.calibrate import BoundedNormalKernel, log_likelihood

    # one value (y = 10, SD 2) and one bound (b = 100, SD 5)
    fit = FitObservations(pd.DataFrame({"key": ["v", "b"], "series": ["v", "b"], "level": ["all", "all"],
                                        "year": [0, 0], "value": [10.0, 100.0], "obs_sd_rel": [0.2, 0.05],
                                        "sd": [2.0, 5.0], "upper": [False, True]}))
    x = np.array([[12.0, 80.0], [12.0, 100.0], [12.0, 110.0], [12.0, 160.0]])
    expected = -0.5 * 1.0**2 + stats.norm.logcdf((100.0 - x[:, 1]) / 5.0)
    assert log_likelihood(x, fit) == pytest.approx(expected, rel=1e-12)
    # within the bound the term is ~0, at it log(1/2), 12 SDs above it −75.41 (the tail's asymptotic series
    # −z²/2 − log(z √(2π)) − 1/z² = −72 − 3.4040 − 0.0069)
    terms = log_likelihood(x, fit) + 0.5
    assert terms[0] > -1e-4 and terms[1] == pytest.approx(np.log(0.5)) and terms[3] == pytest.approx(-75.41, abs=0.01)
    # the kernel pyabc sees: the same plus the normal constant of the value row, whose density peaks at pdf_max
    kernel = BoundedNormalKernel(fit)
    assert kernel.pdf_max == pytest.approx(stats.norm.logpdf(0.0, scale=2.0))
    assert kernel({"v": 12.0, "b": 110.0}, {}) == pytest.approx(kernel.pdf_max + log_likelihood(x[2:3], fit)[0])
    # without a bound the likelihood is the normal one, as pyabc's IndependentNormalKernel
    plain = FitObservations(fit.table.iloc[:1].drop(columns="upper"))
    assert log_likelihood(x[:, :1], plain) == pytest.approx([-0.5] * 4)


def test_no_completed_generation_is_a_clear_error_not_a_key_error() -> None:
    # y = 30 observed with sd 0.4 against θ ~ N(0, 1): about 30 observation SDs from anything the prior proposes,
    # so generation 0 accepts far fewer than min_acceptance_rate 0.3 of its proposals and pyabc stops before it
    # has a population; before the fix the run died reading the empty history (KeyError on the columns).
    settings = AbcSettings(population_size=100, generations=3, batch_size=64, seed=4, max_simulations=1000,
                           min_acceptance_rate=0.3)
    with pytest.raises(NoGenerationError, match="no ABC-SMC generation completed"):
        run_abc({"theta": Normal(mean=0.0, sd=1.0)}, _toy_round(0.3), _toy_fit(30.0, 0.4), settings)


# ------------------------------------------------------------------------------------------------------------
# configuration


def _write_scenario(folder: Path) -> Path:
    path = folder / "small.yaml"
    path.write_text(f"name: small\nextends: {HISTORY}\nbaseline: {{counties: {SMALL_COUNTIES}}}\n", encoding="utf-8")
    return path


def _write_config(folder: Path, body: str) -> Path:
    _write_scenario(folder)
    path = folder / "config.yaml"
    path.write_text(body, encoding="utf-8")
    return path


TINY = """name: tiny
scenario: small.yaml
window: {start: 2012, stop: 2013}
fit:
  - {series: pupils, level: compulsory}
  - {series: fulltime_teachers, level: compulsory}
parameters:
  attrition.town_rate: null
  recruitment.fill_rate: {dist: beta, mean: 0.8, sd: 0.1}
abc: {population_size: 16, generations: 2, batch_size: 64, seed: 3}
predictive_draws: 64
"""


def test_config_priors_default_to_the_scenario(tmp_path) -> None:
    config, scenario, priors = load_config(_write_config(tmp_path, TINY))
    assert priors["attrition.town_rate"] == scenario.uncertainties["attrition.town_rate"]
    assert priors["recruitment.fill_rate"].model_dump() == {"dist": "beta", "mean": 0.8, "sd": 0.1}
    assert config.scenario == tmp_path / "small.yaml"


def test_compulsory_is_primary_plus_junior_with_combined_sd(tmp_path) -> None:
    config, _, _ = load_config(_write_config(tmp_path, TINY))
    fit = fit_observations(config, load_observations())
    obs = pd.read_csv(ROOT / "calibration" / "data" / "observations.csv")
    p = obs[(obs.series == "pupils") & (obs.level == "primary") & (obs.area == "region") & (obs.year == 2012)].iloc[0]
    j = obs[(obs.series == "pupils") & (obs.level == "junior") & (obs.area == "region") & (obs.year == 2012)].iloc[0]
    row = fit.table.set_index("key").loc["pupils/compulsory/2012"]
    assert row["value"] == pytest.approx(p.value + j.value)
    assert row["sd"] == pytest.approx(np.hypot(p.value * p.obs_sd_rel, j.value * j.obs_sd_rel))
    assert sorted(fit.table["year"].unique()) == [2012, 2013]


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (("attrition.town_rate: null", "attrition.town_rat: null"),
         "config.yaml:8: parameters.attrition.town_rat: unknown uncertainty; did you mean 'attrition.town_rate'?"),
        (("attrition.town_rate: null", "attrition.town_rate: {dist: fixed, value: 0.03}"),
         "config.yaml:8: parameters.attrition.town_rate: a fixed value cannot be inferred"),
        (("sd: 0.1}", "sd: 0.1, low: 0}"), "config.yaml:9: parameters.recruitment.fill_rate.low: unknown key"),
        (("level: compulsory}\n  - {series: full", "level: all}\n  - {series: full"),
         "config.yaml:5: fit.0: the engine does not simulate pupils/all"),
        (("stop: 2013", "stop: 2019"), "config.yaml:3: window: the fitted years 2012–2019 must lie within"),
        (("batch_size: 64", "batch_size: 100"), "config.yaml:10: abc.batch_size: must be a multiple of 64"),
        (("population_size: 16", "population_size: 16, popsize: 3"),
         "config.yaml:10: abc.popsize: unknown key; did you mean 'population_size'?"),
        (("scenario: small.yaml", "scenario: nowhere.yaml"), "config.yaml:2: scenario: scenario file not found"),
        (("series: pupils", "series: pupil"), "config.yaml:5: fit.0: the engine does not simulate pupil/compulsory"),
    ],
)
def test_bad_configs_name_file_line_and_key(tmp_path, capsys, replace, expected) -> None:
    old, new = replace
    assert old in TINY
    path = _write_config(tmp_path, TINY.replace(old, new, 1))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


TINY_BOUND = (TINY.replace("window: {start: 2012, stop: 2013}", "window: {start: 2012, stop: 2015}")
              + "bounds:\n  - {series: teachers_recruited_period, year: 2015}\n")


def test_a_bound_is_the_published_total_summed_over_the_simulated_years(tmp_path) -> None:
    from sim.calibrate import simulate_summaries
    from sim.cohort import prepare, run_chunk

    config, scenario, _ = load_config(_write_config(tmp_path, TINY_BOUND))
    fit = fit_observations(config, load_observations())
    obs = pd.read_csv(ROOT / "calibration" / "data" / "observations.csv")
    published = obs[(obs.series == "teachers_recruited_period") & (obs.year == 2015)].iloc[0]
    row = fit.table.set_index("key").loc["teachers_recruited_period/all/2015"]
    assert bool(row["upper"]) and row["value"] == published.value
    assert row["sd"] == pytest.approx(published.value * published.obs_sd_rel)  # TINY has no model_sd_rel
    assert fit.upper.sum() == 1 and len(fit.values) == 8  # 2 series × 4 years
    # the simulated summary: hires summed over the counties and 2012–2015 (the start year 2011 has no flows)
    model = prepare(scenario)
    values = {"attrition.town_rate": np.full(64, 0.03), "recruitment.fill_rate": np.full(64, 0.8)}
    summary = simulate_summaries(model, 5, 0, 64, values, ["teachers_recruited_period/all/2015"])[:, 0]
    raw = run_chunk(model, Streams(5), 0, 64, parameters=values)
    years = [int(y) for y in model.years]
    assert years[0] == 2011
    by_hand = sum(raw["hires"][:, years.index(y), :].sum(axis=1) for y in (2012, 2013, 2014, 2015))
    assert np.array_equal(summary, by_hand) and summary.min() > 0


@pytest.mark.parametrize(("replace", "expected"), [
    (("year: 2015}", "year: 2014}"), "config.yaml:13: bounds.0: no period bound teachers_recruited_period ending "
     "2014; known: {series: teachers_recruited_period, year: 2015}"),
    (("stop: 2015}", "stop: 2014}"), "config.yaml:13: bounds.0: the period 2011–2015 must end within the fitted "
     "years 2012–2014"),
])
def test_bad_bounds_name_file_line_and_key(tmp_path, capsys, replace, expected) -> None:
    path = _write_config(tmp_path, TINY_BOUND.replace(*replace))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_calibrate_with_a_bound_reports_it(tmp_path) -> None:
    path = _write_config(tmp_path, TINY_BOUND)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "a")]) == 0
    predictive = pd.read_csv(tmp_path / "a" / "predictive.csv")
    bound = predictive[predictive["upper"]]
    assert list(bound["series"]) == ["teachers_recruited_period"] and bound["year"].iloc[0] == 2015
    assert 0.0 <= bound["share_within"].iloc[0] <= 1.0 and bound["p5"].iloc[0] > 0
    assert predictive.loc[~predictive["upper"], "share_within"].isna().all()
    text = (tmp_path / "a" / "calibration.md").read_text()
    assert "## Upper bounds" in text and "| teachers_recruited_period | 2015 | 72,600 |" in text


def test_no_observation_in_the_window_is_reported(tmp_path, capsys) -> None:
    body = TINY.replace("{series: pupils, level: compulsory}", "{series: entrants, level: primary}")
    body = body.replace("window: {start: 2012, stop: 2013}", "window: {start: 2015, stop: 2016}")
    path = _write_config(tmp_path, body.replace("small.yaml", "wide.yaml"))
    (tmp_path / "wide.yaml").write_text(f"name: wide\nextends: {HISTORY}\nbaseline: {{counties: {SMALL_COUNTIES}}}\n",
                                        encoding="utf-8")
    assert main(["calibrate", str(path)]) == 2
    assert "fit: no observation of entrants/primary" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------------------
# the command


def test_calibrate_command_writes_a_seeded_posterior(tmp_path, capsys) -> None:
    path = _write_config(tmp_path, TINY)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "attrition.town_rate" in out and "written:" in out
    folder = tmp_path / "a"
    for name in ("particles.csv", "posterior.json", "generations.csv", "predictive.csv", "calibration.md",
                 "prior_posterior.png", "generations.png", "predictive.png"):
        assert (folder / name).is_file(), name
    meta = json.loads((folder / "posterior.json").read_text())
    assert meta["provenance"]["seed"] == 3 and meta["provenance"]["git_commit"]
    assert meta["provenance"]["versions"]["pyabc"]
    assert [o["key"] for o in meta["observations"]] == [
        "pupils/compulsory/2012", "pupils/compulsory/2013",
        "fulltime_teachers/compulsory/2012", "fulltime_teachers/compulsory/2013"]
    post = Posterior.load(folder)
    assert post.names == ("attrition.town_rate", "recruitment.fill_rate")
    assert len(post.weights) == 16
    # every particle inside its prior's support
    assert ((post.particles > 0) & (post.particles < 1)).all()
    # same configuration and seed: the same posterior, bit for bit
    assert main(["calibrate", str(path), "--out", str(tmp_path / "b")]) == 0
    assert (folder / "particles.csv").read_text() == (tmp_path / "b" / "particles.csv").read_text()


def test_calibrate_refuses_a_folder_it_did_not_write(tmp_path, capsys) -> None:
    path = _write_config(tmp_path, TINY)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["calibrate", str(path), "--out", str(tmp_path / "mine")]) == 2
    assert "was not written by edusim calibrate" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_calibrate_without_a_generation_exits_cleanly_and_writes_nothing(tmp_path, capsys) -> None:
    # min_acceptance_rate 1: generation 0 may evaluate only population_size (16) particles and must accept all
    # of them, which stochastic acceptance at the first temperature does not
    body = TINY.replace("seed: 3}", "seed: 3, min_acceptance_rate: 1.0}")
    path = _write_config(tmp_path, body)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "config.yaml: abc: no ABC-SMC generation completed" in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_calibrate_on_dask_workers_gives_the_same_posterior(tmp_path) -> None:
    path = _write_config(tmp_path, TINY)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "local")]) == 0
    assert main(["calibrate", str(path), "--out", str(tmp_path / "dask"), "--workers", "2"]) == 0
    assert (tmp_path / "local" / "particles.csv").read_text() == (tmp_path / "dask" / "particles.csv").read_text()


# ------------------------------------------------------------------------------------------------------------
# synthetic truth (issue 13 item 7)

#: Three parameters, one the synthetic data inform strongly: grade-1 entrants per census child scales every
#: year's intake, which the pupils (SD 1%) see directly. With ``students.consolidation_2020`` in its place (until
#: 2026-12-07) all three posteriors stayed as wide as their priors (mean width ratios 0.96–0.99 over 20
#: repetitions), so coverage near 0.90 said nothing about what the calibration learns: a calibration that
#: returned its prior would have passed.
SYNTHETIC_PARAMETERS = ("attrition.town_rate", "recruitment.fill_rate", "students.entrants_per_census_child")
#: The informed parameter's mean width ratio (posterior 90% interval over the prior's) must fall below this:
#: a calibration that ignored the data would give about 1. Set before the first run with this parameter.
INFORMED = ("students.entrants_per_census_child", 0.8)
SYNTHETIC_SD_REL = {"pupils": 0.01, "fulltime_teachers": 0.03}
SYNTHETIC_YEARS = range(2012, 2017)
NOMINAL = 0.90
#: Repetitions of the long test. 20 (the issue's minimum) gave 59 of 60 intervals covering, Clopper–Pearson
#: 0.911–1.000 (2026-12-07): with two of the three parameters barely informed, their coverage over 20 truths is
#: mostly where the seeded truths fall in the prior, so 20 cannot tell luck from intervals too wide; 40 can
#: better (about 2 hours in one process; `benchmarks/synthetic_truth.py` can split them between processes).
SYNTHETIC_REPETITIONS = 40

#: The ABC settings of a repetition: the calibration's own budget keys (``abc.max_simulations``,
#: ``abc.min_acceptance_rate``, the 3% floor of ``calibration/config_v2.yaml`` … ``config_v4.yaml``), so that the
#: recovery exercises the shipped stopping rules. Sized for ~1–3 min of CPU a repetition on the project's 2-core
#: machine (about 25 ms of CPU a particle, pyabc included, on three small counties; measured 2026-12-07): at most
#: population / 0.03 = 3,334 particles in one generation, and no new generation once 4,000 have been simulated.
#: Measured on repetition 0 (2026-12-07), five generations: generations 0–3 (temperatures 8.9, 5.1, 3.0, 1.7;
#: acceptance 29%, 20%, 9%, 4.2%) spent 4,326 particles and the run stopped at temperature 1.73 (125 s). With a
#: budget of 5,000 the last step (to temperature 1) ran and fell below the 3% floor after 3,334 more particles
#: (8,064 in all, 337 s): the same posterior at 2.5× the cost. With six generations and 4,000, generations 0–4 spent
#: 5,298 particles and stopped at temperature 1.55 (151 s). So at this budget most repetitions end *tempered*
#: (wider intervals); the runner counts them. Without floor and budget (the settings before 2026-12-07: none, and
#: 100,000) a truth in the prior's tail cost 55,040 particles and 22 min.
#: Chunks of one random block (64 draws) cost less per draw than chunks of 256 (15 against 24 ms, same date).
#: ``final_importance`` (4,096 proposals, as the shipped posterior's ``config_v8.yaml`` has 12,288) ends every
#: repetition at temperature 1 with one importance step from the last generation's proposal
#: (``sim.calibrate._importance_step``): the intervals are those of the exact posterior, as item 7 asks.
SYNTHETIC_ABC: dict[str, int | float] = {"population_size": 100, "generations": 5, "batch_size": 64,
                                         "batches_per_round": 2, "max_simulations": 4000,
                                         "min_acceptance_rate": 0.03, "final_importance": 4096}


def _synthetic_observations(values: dict[str, float], rep: int, years: range) -> pd.DataFrame:
    """Observations simulated from known parameters on three small counties, plus observation error."""
    from sim.calibrate import simulate_summaries
    from sim.cohort import prepare
    from sim.scenario import load_scenario, replace

    scenario = replace(load_scenario(HISTORY), {"baseline.counties": SMALL_COUNTIES})
    model = prepare(scenario)
    keys = [f"{s}/compulsory/{y}" for s in SYNTHETIC_SD_REL for y in years]
    # the truth's own random flows: seed 777, draw `rep` (the calibration uses other streams)
    block = rep // 64 * 64
    sims = simulate_summaries(model, 777, block, block + 64,
                              {n: np.full(64, v) for n, v in values.items()}, keys)[rep - block]
    noise = stats.norm.ppf(Streams(777).uniforms("synthetic/observation_error", rep, rep + 1, (len(keys),)))[0]
    rows = []
    for key, value, z in zip(keys, sims, noise, strict=True):
        series, level, year = key.split("/")
        sd_rel = SYNTHETIC_SD_REL[series]
        rows.append({"series": series, "level": level, "area": "region", "year": int(year),
                     "value": value * (1 + sd_rel * z), "unit": "persons", "scope": "unknown",
                     "obs_sd_rel": sd_rel, "sd_reason": "synthetic", "source": "tests/test_calibrate.py",
                     "note": ""})
    return pd.DataFrame(rows, columns=list(COLUMNS))


@dataclass(frozen=True)
class SyntheticRepetition:
    """One synthetic-truth repetition: the true values, the 90% credible intervals, how the run ended."""

    rep: int
    truth: dict[str, float]
    interval: dict[str, tuple[float, float]]  # weighted 5% and 95% posterior quantiles
    width_ratio: dict[str, float]  # posterior 90% interval over the prior's
    final_temperature: float
    generations: int
    simulated: int
    wall_seconds: float  # the whole calibration: ABC, posterior predictive, files
    cpu_seconds: float  # of this process
    # posterior probability below the truth (its PIT; uniform over repetitions when the posterior is exact) and the
    # prior's CDF at the truth (uniform by construction: where in the prior the seeded truth fell)
    pit: dict[str, float] = field(default_factory=dict)
    prior_cdf: dict[str, float] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """The run reached temperature 1: an exact posterior (else tempered, wider)."""
        return self.final_temperature <= 1.0 + 1e-9

    @property
    def covered(self) -> dict[str, bool]:
        return {n: bool(lo <= self.truth[n] <= hi) for n, (lo, hi) in self.interval.items()}


def synthetic_setup(folder: Path, **abc: int | float):
    """The synthetic-truth calibration configuration (``SYNTHETIC_ABC`` updated with ``abc``), scenario, priors."""
    settings = {**SYNTHETIC_ABC, **abc}
    body = (TINY.replace("window: {start: 2012, stop: 2013}",
                         f"window: {{start: {SYNTHETIC_YEARS[0]}, stop: {SYNTHETIC_YEARS[-1]}}}")
            .replace("abc: {population_size: 16, generations: 2, batch_size: 64, seed: 3}",
                     "abc: {" + ", ".join(f"{k}: {v}" for k, v in settings.items()) + "}")
            .replace("  attrition.town_rate: null\n  recruitment.fill_rate: {dist: beta, mean: 0.8, sd: 0.1}\n",
                     "".join(f"  {n}: null\n" for n in SYNTHETIC_PARAMETERS)))
    path = _write_config(folder, body + "observations: synthetic.csv\n")
    return load_config_with_synthetic(path, folder)


def synthetic_repetition(folder: Path, config, scenario, priors, rep: int) -> SyntheticRepetition:
    """Draw true parameters from the prior (keyed stream 777, draw ``rep``), simulate observations, calibrate
    with seed ``1000 + rep``; the posterior folder is written to ``folder/rep{rep}``."""
    from sim.calibrate import calibrate

    u = {n: Streams(777).uniforms(f"synthetic/truth/{n}", rep, rep + 1)[0] for n in SYNTHETIC_PARAMETERS}
    truth = {n: float(sample(priors[n], np.array([u[n]]))[0]) for n in SYNTHETIC_PARAMETERS}
    table = _synthetic_observations(truth, rep, SYNTHETIC_YEARS)
    cfg = config.model_copy(update={"abc": config.abc.model_copy(update={"seed": 1000 + rep})})
    cpu0, tic = time.process_time(), time.perf_counter()
    result = calibrate(cfg, scenario, priors, folder / f"rep{rep}", observations=table, truth=truth,
                       write_figures=False)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - tic
    meta = result.posterior.metadata
    interval = {}
    for n in SYNTHETIC_PARAMETERS:
        lo, hi = result.posterior.quantiles(n, (0.05, 0.95))
        interval[n] = (float(lo), float(hi))
    last = result.generations.iloc[-1]
    return SyntheticRepetition(
        rep=rep, truth=truth, interval=interval,
        width_ratio={n: float(meta["summary"][n]["interval_ratio"]) for n in SYNTHETIC_PARAMETERS},
        final_temperature=float(last["epsilon"]), generations=len(result.generations),
        simulated=int(result.simulated), wall_seconds=wall, cpu_seconds=cpu,
        pit={n: result.posterior.probability_below(n, truth[n]) for n in SYNTHETIC_PARAMETERS},
        prior_cdf={n: float(v) for n, v in u.items()})


@dataclass(frozen=True)
class Coverage:
    """Coverage of nominal-level intervals with its exact (Clopper–Pearson) 95% interval."""

    covered: int
    trials: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.covered / self.trials if self.trials else float("nan")

    def contains(self, nominal: float = NOMINAL) -> bool:
        """Whether the nominal rate lies in the exact interval (the synthetic-truth test's acceptance rule)."""
        return self.trials > 0 and self.low <= nominal <= self.high


def coverage(hits: list[bool]) -> Coverage:
    """Count the intervals that contain the truth; ``scipy.stats.binomtest(...).proportion_ci`` (exact)."""
    k, n = int(sum(hits)), len(hits)
    if n == 0:
        return Coverage(0, 0, float("nan"), float("nan"))
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return Coverage(k, n, float(ci.low), float(ci.high))


def coverage_table(reps: list[SyntheticRepetition]) -> dict[str, dict[str, Coverage]]:
    """Coverage per parameter and pooled, over all repetitions and over those that reached temperature 1."""
    out: dict[str, dict[str, Coverage]] = {}
    for subset, chosen in (("all", reps), ("temperature_1", [r for r in reps if r.exact])):
        row = {n: coverage([r.covered[n] for r in chosen]) for n in SYNTHETIC_PARAMETERS}
        row["pooled"] = coverage([r.covered[n] for r in chosen for n in SYNTHETIC_PARAMETERS])
        out[subset] = row
    return out


def load_config_with_synthetic(path: Path, folder: Path):
    """load_config with a placeholder synthetic table on disk (the real table is made per repetition)."""
    rows = [{"series": series, "level": "compulsory", "area": "region", "year": year, "value": 1.0,
             "unit": "persons", "scope": "unknown", "obs_sd_rel": sd_rel, "sd_reason": "placeholder",
             "source": "tests/test_calibrate.py", "note": ""}
            for series, sd_rel in SYNTHETIC_SD_REL.items() for year in SYNTHETIC_YEARS]
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(folder / "synthetic.csv", index=False)
    return load_config(path)


def test_coverage_check_rejects_overconfident_intervals() -> None:
    # The acceptance rule of the synthetic-truth test on a closed form: θ ~ N(0, 1), y = θ + N(0, 0.5²), so
    # θ | y ~ N(0.8·y, 0.2) (conjugate normal). 60 trials (20 repetitions × 3 parameters), fixed seed. Exact 90%
    # intervals cover with probability 0.90 and pass; the same intervals shrunk 10× about their centre cover with
    # probability P(|Z| < 0.1645) = 0.13, and the prior's 90% interval shrunk 10× (±0.1645 about 0) too: both
    # must fail (the Clopper–Pearson interval of ~8/60 ends far below 0.90).
    rng = np.random.default_rng(13)
    theta = rng.standard_normal(60)
    y = theta + 0.5 * rng.standard_normal(60)
    centre, half = 0.8 * y, 1.6449 * np.sqrt(0.2)
    exact = coverage(list((centre - half <= theta) & (theta <= centre + half)))
    shrunk = coverage(list((centre - half / 10 <= theta) & (theta <= centre + half / 10)))
    prior_shrunk = coverage(list(np.abs(theta) <= 1.6449 / 10))
    assert exact.contains(0.90), exact
    assert not shrunk.contains(0.90) and shrunk.high < 0.5, shrunk
    assert not prior_shrunk.contains(0.90) and prior_shrunk.high < 0.5, prior_shrunk
    # an empty set of trials is never accepted
    assert not coverage([]).contains(0.90)


def test_coverage_table_separates_the_repetitions_at_temperature_1() -> None:
    # two repetitions by hand: one exact (temperature 1) covering all three truths, one tempered (2.5) missing
    # the first; the pooled counts are 5/6 over all and 3/3 over the exact one
    def rep(i: int, temperature: float, miss: bool) -> SyntheticRepetition:
        truth = dict.fromkeys(SYNTHETIC_PARAMETERS, 0.5)
        interval = {n: ((0.6, 0.9) if miss and j == 0 else (0.4, 0.6)) for j, n in enumerate(SYNTHETIC_PARAMETERS)}
        return SyntheticRepetition(i, truth, interval, dict.fromkeys(SYNTHETIC_PARAMETERS, 0.5), temperature, 3,
                                   1000, 1.0, 1.0)

    table = coverage_table([rep(0, 1.0, False), rep(1, 2.5, True)])
    assert (table["all"]["pooled"].covered, table["all"]["pooled"].trials) == (5, 6)
    assert (table["temperature_1"]["pooled"].covered, table["temperature_1"]["pooled"].trials) == (3, 3)
    first = SYNTHETIC_PARAMETERS[0]
    assert (table["all"][first].covered, table["all"][first].trials) == (1, 2)
    assert table["temperature_1"][first].covered == 1


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.xfail(strict=True, reason="measured 2026-12-07 (benchmarks/synthetic_truth.py, 40 repetitions, all at "
                   "temperature 1): pooled coverage 115/120 = 0.958, Clopper-Pearson 0.905-0.986, excludes 0.90 "
                   "(per parameter 38/40, 39/40, 38/40 each contain it): the intervals run wide; issue 13 item 7")
def test_synthetic_truth_credible_intervals_cover_at_their_nominal_rate(tmp_path) -> None:
    # SYNTHETIC_REPETITIONS × 3 parameters; the report with per-repetition detail: benchmarks/synthetic_truth.py
    config, scenario, priors = synthetic_setup(tmp_path)
    reps = [synthetic_repetition(tmp_path, config, scenario, priors, rep) for rep in range(SYNTHETIC_REPETITIONS)]
    table = coverage_table(reps)
    for subset, row in table.items():
        print(f"synthetic truth ({subset}): " + "; ".join(
            f"{n} {c.covered}/{c.trials} ({c.low:.3f}–{c.high:.3f})" for n, c in row.items()))
    print(f"{sum(r.exact for r in reps)} of {len(reps)} repetitions reached temperature 1; "
          f"particles {[r.simulated for r in reps]}")
    # nominal 0.90 must lie inside the exact binomial interval of the pooled coverage over all repetitions
    # (a repetition stopped short of temperature 1 has tempered, wider intervals: it counts as it is); this
    # catches over-confident intervals
    assert table["all"]["pooled"].contains(NOMINAL)
    # item 7 asks for credible intervals, i.e. those of the exact posterior (temperature 1), over >= 20
    # repetitions (here SYNTHETIC_REPETITIONS); tempered intervals near the prior's cover ~90% whatever the
    # calibration does. Without the importance step 0 of 20 reached temperature 1 at this budget
    # (docs/findings.md, "Synthetic truth with a budget"); with it every repetition must
    assert all(r.exact for r in reps), [r.final_temperature for r in reps]
    exact = table["temperature_1"]["pooled"]
    assert exact.trials == SYNTHETIC_REPETITIONS * len(SYNTHETIC_PARAMETERS)
    assert exact.contains(NOMINAL)
    # and the data must have been used: coverage alone cannot tell a posterior from the prior
    name, bound = INFORMED
    assert np.mean([r.width_ratio[name] for r in reps]) < bound
