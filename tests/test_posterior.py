"""Posterior use (sim.posterior): one particle per draw through the draw's keyed stream."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.errors import InputError
from sim.posterior import Posterior, weighted_quantiles
from sim.rng import Streams


def _posterior() -> Posterior:
    particles = np.array([[0.01, 0.7], [0.02, 0.8], [0.03, 0.9]])
    return Posterior.from_arrays(["a.x", "b.y"], particles, np.array([2.0, 3.0, 5.0]))


def test_weights_are_normalised_and_checked() -> None:
    post = _posterior()
    assert np.allclose(post.weights, [0.2, 0.3, 0.5])
    # Kish ESS by hand: 1 / (0.04 + 0.09 + 0.25)
    assert post.effective_sample_size() == pytest.approx(1 / 0.38)
    with pytest.raises(ValueError):
        Posterior(("a",), np.ones((2, 1)), np.array([1.5, -0.5]))  # sums to 1 but negative


def test_same_draw_same_particle_whatever_the_chunk() -> None:
    post = _posterior()
    streams = Streams(7)
    whole = post.values(None, streams, 0, 300)
    pieces = [post.values(None, streams, a, b) for a, b in ((0, 64), (64, 100), (100, 257), (257, 300))]
    for name in post.names:
        assert np.array_equal(whole[name], np.concatenate([p[name] for p in pieces]))
    # a chunk that starts anywhere gives its draws the same particles
    assert np.array_equal(post.values(["b.y"], streams, 130, 140)["b.y"], whole["b.y"][130:140])


def test_parameters_of_a_draw_come_from_one_particle() -> None:
    post = _posterior()
    values = post.values(None, Streams(3), 0, 500)
    rows = np.stack([values["a.x"], values["b.y"]], axis=1)
    # every draw's pair is one of the particles (joint, not parameter by parameter)
    assert all(any(np.array_equal(r, p) for p in post.particles) for r in rows)


def test_common_random_numbers_between_scenarios() -> None:
    post = _posterior()
    # two scenarios with the same seed and posterior: the same particle draw by draw
    first = post.particle_index(Streams(20250126), 0, 256)
    second = post.particle_index(Streams(20250126), 0, 256)
    assert np.array_equal(first, second)
    # another seed: other particles (not all equal over 256 draws)
    assert not np.array_equal(first, post.particle_index(Streams(1), 0, 256))


def test_particles_are_taken_with_their_weights() -> None:
    post = _posterior()
    n = 20_000
    index = post.particle_index(Streams(11), 0, n)
    for k, w in enumerate(post.weights):
        share = np.mean(index == k)
        # binomial standard error, 4 SD
        assert abs(share - w) < 4 * np.sqrt(w * (1 - w) / n)


def test_negligible_particles_are_dropped_and_the_draws_keep_their_values() -> None:
    # five particles: two weigh 1.7e-13 and 1.7e-15 of the largest (below the 1e-12 rule), one 1.7e-12 (kept)
    particles = np.array([[0.01, 0.7], [0.99, 0.1], [0.02, 0.8], [0.98, 0.2], [0.03, 0.9]])
    weights = np.array([2.0, 5e-13, 3.0, 5e-15, 5e-12])
    post = Posterior.from_arrays(["a.x", "b.y"], particles, weights)
    kept, dropped = post.without_negligible()
    np.testing.assert_array_equal(kept.particles, particles[[0, 2, 4]])
    assert dropped["particles"] == 2
    assert dropped["weight"] == pytest.approx((5e-13 + 5e-15) / weights.sum(), rel=1e-9)
    np.testing.assert_allclose(kept.weights, np.array([2.0, 3.0, 5e-12]) / (5.0 + 5e-12), rtol=1e-12)
    # 5,000 draws: every draw takes the same values from both (no uniform falls within 1e-13 of a boundary)
    a = post.values(None, Streams(20250126), 0, 5000)
    b = kept.values(None, Streams(20250126), 0, 5000)
    for name in post.names:
        np.testing.assert_array_equal(a[name], b[name])


def test_unknown_name_lists_what_the_posterior_holds() -> None:
    with pytest.raises(KeyError, match=r"holds: a\.x, b\.y"):
        _posterior().values(["c.z"], Streams(1), 0, 4)


def test_weighted_quantiles_by_hand() -> None:
    values = np.array([3.0, 1.0, 2.0, 4.0])
    weights = np.array([0.1, 0.4, 0.4, 0.1])
    # sorted 1 (0.4), 2 (0.4), 3 (0.1), 4 (0.1): CDF 0.4, 0.8, 0.9, 1.0
    assert list(weighted_quantiles(values, weights, [0.05, 0.4, 0.5, 0.85, 0.95])) == [1.0, 1.0, 2.0, 3.0, 4.0]


def test_probability_below_by_hand() -> None:
    post = Posterior.from_arrays(["a.x"], np.array([[3.0], [1.0], [2.0], [4.0]]), np.array([0.1, 0.4, 0.4, 0.1]))
    # strictly below: nothing under 1; 1 (0.4) under 1.5 and under 2; 1 and 2 (0.8) under 2.5; all under 5
    assert [post.probability_below("a.x", v) for v in (1.0, 1.5, 2.0, 2.5, 5.0)] == pytest.approx(
        [0.0, 0.4, 0.4, 0.8, 1.0])


def test_load_round_trip(tmp_path) -> None:
    (tmp_path / "particles.csv").write_text("weight,a.x,b.y\n1,0.01,0.7\n3,0.02,0.8\n", encoding="utf-8")
    post = Posterior.load(tmp_path)
    assert post.names == ("a.x", "b.y")
    assert np.allclose(post.weights, [0.25, 0.75])
    assert post.mean("a.x") == pytest.approx(0.25 * 0.01 + 0.75 * 0.02)
    assert Posterior.load(tmp_path / "particles.csv").names == post.names


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a.x,b.y\n0.1,0.2\n", "needs a 'weight' column"),
        ("weight,a.x\n1,0.1\n-1,0.2\n", r"particles.csv:3: weight: weights must be >= 0"),
        ("weight,a.x\n1,0.1\n1,abc\n", r"particles.csv:3: a.x: not a finite number"),
        ("weight,a.x\n0,0.1\n", "the weights sum to zero"),
    ],
)
def test_bad_particle_files_name_file_and_line(tmp_path, text, match) -> None:
    (tmp_path / "particles.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        Posterior.load(tmp_path)


def test_missing_folder_is_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="edusim calibrate"):
        Posterior.load(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------- a scenario that uses one

SHIPPED = Path(__file__).resolve().parents[1] / "calibration" / "posterior" / "history_2011_2016"


def _scenario_with_posterior(tmp_path: Path, posterior: str) -> Path:
    path = tmp_path / "with_posterior.yaml"
    base = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    path.write_text(f"name: wp\nextends: {base}\nuncertainties:\n  posterior: {posterior}\n", encoding="utf-8")
    return path


def test_scenario_draws_take_particles_and_keep_other_priors(tmp_path: Path) -> None:
    import pandas as pd

    from sim.model import sample_parameters
    from sim.rng import Streams
    from sim.scenario import load_scenario, resolved_yaml

    _current_copy(SHIPPED, tmp_path / "post")
    with_post = load_scenario(_scenario_with_posterior(tmp_path, "post"))  # relative to the scenario file
    assert with_post.posterior == tmp_path / "post"
    plain_file = tmp_path / "plain.yaml"  # the baseline on the priors (it draws from the shipped posterior)
    plain_file.write_text(f"name: plain\nextends: {Path(__file__).resolve().parents[1] / 'scenarios' / 'baseline.yaml'}"
                          "\nuncertainties:\n  posterior: null\n", encoding="utf-8")
    plain = load_scenario(plain_file)
    assert plain.posterior is None
    streams = Streams(with_post.seed)
    got = sample_parameters(with_post, streams, 64, 128)
    prior = sample_parameters(plain, streams, 64, 128)
    particles = pd.read_csv(tmp_path / "post" / "particles.csv")
    held = [c for c in particles.columns if c != "weight"]
    assert held and set(held) <= set(got)
    rows = {tuple(r) for r in particles[held].to_numpy()}
    for d in range(64):  # every draw's values are one whole particle of the file
        assert tuple(got[n][d] for n in held) in rows
    for name in set(got) - set(held):  # the other uncertainties keep their prior draws (CRN)
        assert np.array_equal(got[name], prior[name]), name
    # the resolved scenario writes it back under uncertainties and loads back to the same scenario
    text = resolved_yaml(with_post)
    again = tmp_path / "again.yaml"
    again.write_text(text, encoding="utf-8")
    assert load_scenario(again) == with_post


def _current_copy(source: Path, folder: Path) -> None:
    """A copy of a shipped posterior without the columns of parameters the model no longer has (the shipped ones
    predate the T7 mechanism, which replaced ``students.consolidation_rate``): the marginal of the others."""
    import pandas as pd

    from sim.parameters import PARAMETERS

    shutil.copytree(source, folder)
    particles = pd.read_csv(folder / "particles.csv")
    keep = [c for c in particles.columns if c == "weight" or c in PARAMETERS]
    assert len(keep) > 1
    particles[keep].to_csv(folder / "particles.csv", index=False)


def test_scenario_with_a_posterior_of_an_older_model_is_an_input_error(tmp_path: Path) -> None:
    import pandas as pd

    from sim.errors import InputErrors
    from sim.scenario import load_scenario

    _current_copy(SHIPPED, tmp_path / "post")
    particles = pd.read_csv(tmp_path / "post" / "particles.csv")
    particles["students.no_such_parameter"] = 0.5
    particles.to_csv(tmp_path / "post" / "particles.csv", index=False)
    with pytest.raises(InputErrors) as e:
        load_scenario(_scenario_with_posterior(tmp_path, "post"))
    (err,) = e.value.errors
    assert err.key == "uncertainties.posterior" and err.line == 4
    assert "students.no_such_parameter" in err.message and "edusim calibrate" in err.message


def test_scenario_with_a_folder_that_is_no_posterior_is_an_input_error(tmp_path: Path) -> None:
    from sim.errors import InputErrors
    from sim.scenario import load_scenario

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputErrors) as e:
        load_scenario(_scenario_with_posterior(tmp_path, "empty"))
    (err,) = e.value.errors
    assert err.key == "uncertainties.posterior" and err.line == 4 and "particles.csv" in err.message


def test_a_distribution_the_scenario_writes_wins_over_the_posterior(tmp_path: Path) -> None:
    # A scenario extending the baseline (which draws from the shipped posterior) that writes a distribution for one
    # of the posterior's parameters (a what-if, or a test fixing it) gets that distribution; the other parameters
    # still come from the particles. Without the rule the particle's value would silently win.
    from sim.model import sample_parameters
    from sim.rng import Streams
    from sim.scenario import load_scenario

    base = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    path = tmp_path / "child.yaml"
    path.write_text(f"name: child\nextends: {base}\nuncertainties:\n"
                    "  attrition.rural_rate: {dist: fixed, value: 0.123}\n", encoding="utf-8")
    child = load_scenario(path)
    baseline = load_scenario(base)
    assert child.posterior is not None and child.posterior == baseline.posterior
    streams = Streams(child.seed)
    got = sample_parameters(child, streams, 0, 64)
    ref = sample_parameters(baseline, streams, 0, 64)
    assert np.all(got["attrition.rural_rate"] == 0.123)
    assert not np.all(ref["attrition.rural_rate"] == ref["attrition.rural_rate"][0])  # the baseline's: particles
    for name in ("attrition.town_rate", "recruitment.fill_rate", "quota.establishment_adjustment"):
        assert np.array_equal(got[name], ref[name]), name  # still the particles of the same draws
