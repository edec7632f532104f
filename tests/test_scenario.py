"""Scenario files: valid ones load to the documented values; every kind of bad input names file, line, key."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from sim.distributions import Beta, Normal
from sim.errors import InputError, InputErrors
from sim.parameters import PARAMETERS
from sim.scenario import DEFAULT_TARGETS, Scenario, load_scenario, replace, resolved_yaml

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def errors(path: Path) -> list[InputError]:
    with pytest.raises(InputErrors) as info:
        load_scenario(path)
    return info.value.errors


def one_error(path: Path) -> InputError:
    errs = errors(path)
    assert len(errs) == 1, [str(e) for e in errs]
    return errs[0]


# --- valid scenarios -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_scenarios_validate(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.targets == SCENARIOS / "targets" / "plan-2025.yaml"


def test_minimal_scenario_gets_the_plan_defaults(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "x.yaml", "name: x\n"))
    assert (s.draws, s.seed, s.start_year, s.horizon, s.chunk_size) == (1000, 20250126, 2020, 2035, 512)
    assert s.levers.rotation.share == 0.10 and s.levers.rotation.backbone_share == 0.20
    assert s.levers.dispatch.per_year == 5000
    assert s.levers.funding.capital_cny == 3.5e9
    assert s.targets == DEFAULT_TARGETS
    assert set(s.uncertainties) == set(PARAMETERS)
    assert s.uncertainty("attrition.rural_rate") == Beta(mean=0.05, sd=0.015)


def test_baseline_is_the_plan_as_written() -> None:
    baseline = load_scenario(SCENARIOS / "baseline.yaml")
    assert baseline.draws == 512 and baseline.seed == 20250126  # 512 = 8 random blocks; ~8 min on 2 cores
    plain = Scenario(name="baseline", description=baseline.description, targets=baseline.targets)
    assert baseline.levers == plain.levers
    # the registry's priors, with the calibrated parameters from the shipped posterior (issue 13)
    assert baseline.uncertainties == plain.uncertainties
    assert baseline.posterior is not None and baseline.posterior.name == "history_2011_2016_v10"


def test_variants_change_only_their_levers() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml")
    rot = load_scenario(SCENARIOS / "rotation_plus.yaml")
    assert (rot.levers.rotation.share, rot.levers.rotation.backbone_share) == (0.20, 0.30)
    assert rot.levers.rotation.min_years_at_school == base.levers.rotation.min_years_at_school
    assert rot.levers.dispatch == base.levers.dispatch
    fund = load_scenario(SCENARIOS / "funding_weakest_first.yaml")
    assert fund.levers.funding.capital_cny == pytest.approx(1.5 * 3.5e9)
    assert fund.levers.funding.allocation == "weakest_first"
    assert load_scenario(SCENARIOS / "dispatch_half.yaml").levers.dispatch.per_year == 2500
    assert load_scenario(SCENARIOS / "rural_subsidy.yaml").levers.retention.rural_subsidy_cny_month == 800


def test_extends_deep_merges_mappings_and_replaces_scalars_and_lists(tmp_path: Path) -> None:
    write(
        tmp_path,
        "parent.yaml",
        """
        name: parent
        draws: 128
        levers:
          rotation: {share: 0.15, backbone_share: 0.25}
          dispatch: {counts_toward: [staffing, backbone]}
          funding: {capital_cny: {2025: 1.0e9, 2028: 1.5e9, 2030: 2.0e9}}
        uncertainties:
          facilities.floor_cost_cny_per_m2: {dist: triangular, low: 2000, mode: 3000, high: 4000}
        """,
    )
    (tmp_path / "sub").mkdir()
    child = write(
        tmp_path,
        "sub/child.yaml",
        """
        extends: ../parent.yaml
        name: child
        levers:
          rotation: {share: 0.3}
          dispatch: {counts_toward: [qualification]}
          funding: {capital_cny: {2025: 1.0e9, 2030: 5.0e9}}
        uncertainties:
          facilities.floor_cost_cny_per_m2: {dist: uniform, low: 2500, high: 4500}
        """,
    )
    s = load_scenario(child)
    assert s.name == "child" and s.draws == 128  # inherited scalar
    assert s.levers.rotation.share == 0.3 and s.levers.rotation.backbone_share == 0.25  # mapping merged
    assert s.levers.dispatch.counts_toward == ("qualification",)  # list replaced
    assert s.levers.funding.capital_cny == {2025: 1.0e9, 2030: 5.0e9}  # year mapping replaced whole (no 2028)
    assert s.levers.funding.capital_cny_in(2029) == 1.0e9 and s.levers.funding.capital_cny_in(2031) == 5.0e9
    assert s.uncertainty("facilities.floor_cost_cny_per_m2").dist == "uniform"  # spec replaced whole


def test_paths_resolve_relative_to_the_file_that_wrote_them(tmp_path: Path) -> None:
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "t.yaml").write_text(DEFAULT_TARGETS.read_text(encoding="utf-8"), encoding="utf-8")
    write(tmp_path, "parent.yaml", "name: p\ntargets: targets/t.yaml\n")
    (tmp_path / "deep").mkdir()
    s = load_scenario(write(tmp_path, "deep/child.yaml", "extends: ../parent.yaml\nname: c\n"))
    assert s.targets == tmp_path / "targets" / "t.yaml"


def test_show_output_revalidates_to_the_same_scenario(tmp_path: Path) -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        original = load_scenario(path)
        again = load_scenario(write(tmp_path, f"resolved-{path.name}", resolved_yaml(original)))
        assert again == original


def test_capital_mapping_and_pairing_interpolation(tmp_path: Path) -> None:
    s = load_scenario(
        write(tmp_path, "x.yaml", "name: x\nlevers:\n  funding: {capital_cny: {2025: 3.0e9, 2030: 4.0e9}}\n")
    )
    assert s.levers.funding.capital_cny_in(2024) == 0.0  # before from_year
    assert s.levers.funding.capital_cny_in(2027) == 3.0e9
    assert s.levers.funding.capital_cny_in(2035) == 4.0e9
    pairing = s.levers.pairing
    assert pairing.coverage_in(2020) == 0.5
    assert pairing.coverage_in(2025) == pytest.approx(0.5 + 0.5 / 3)  # 1/3 of the way 2024 → 2027
    assert pairing.coverage_in(2030) == 1.0


def test_yaml12_float_and_uncertainty_override(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            "x.yaml",
            """
            name: x
            levers: {funding: {capital_cny: 3.5e9}}
            uncertainties:
              births.trend_per_year: {dist: normal, mean: -0.05, sd: 0.01}
            """,
        )
    )
    assert s.levers.funding.capital_cny == 3.5e9
    assert s.uncertainty("births.trend_per_year") == Normal(mean=-0.05, sd=0.01)
    assert s.uncertainty("attrition.rural_rate") == PARAMETERS["attrition.rural_rate"].default


def test_replace_revalidates() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml")
    assert replace(base, {"levers.rotation.share": 0.25}).levers.rotation.share == 0.25
    with pytest.raises(InputErrors, match=r"levers.rotation.share: must be in \[0, 1\], got 2"):
        replace(base, {"levers.rotation.share": 2})


def test_frozen(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "x.yaml", "name: x\n"))
    with pytest.raises(Exception, match="frozen"):
        s.draws = 5


def test_south_and_county_lists(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "x.yaml", "name: x\nbaseline: {counties: [653101, '653121']}\n"))
    assert s.baseline.counties == ("653101", "653121")
    s = load_scenario(write(tmp_path, "y.yaml", "name: y\nbaseline: {counties: [659001], include_xpcc: true}\n"))
    assert s.baseline.counties == ("659001",)


# --- bad input: one test per kind, each checking file, line, key and the allowed values ----------------------


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: x\nlevers:\n  rotation: {share: 0.1\ndraws: 5\n")
    e = one_error(path)
    assert e.file == str(path) and "YAML syntax error" in e.message and e.line in (3, 4)


def test_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: x\ndraws: many\n")
    e = one_error(path)
    assert (e.file, e.line, e.key) == (str(path), 2, "draws")
    assert "must be a whole number" in e.message and "'many'" in e.message


def test_boolean_is_not_a_number(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nlevers:\n  rotation:\n    share: true\n"))
    assert (e.line, e.key) == (4, "levers.rotation.share") and "must be a number" in e.message


def test_out_of_range_value(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: x\nlevers:\n  rotation:\n    share: 1.5\n")
    e = one_error(path)
    assert str(e) == f"{path}:4: levers.rotation.share: must be in [0, 1], got 1.5"


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nlevers:\n  rotation:\n    shre: 0.1\n"))
    assert (e.line, e.key) == (4, "levers.rotation.shre")
    assert "did you mean 'share'?" in e.message and "backbone_share" in e.message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\ndraw: 5\n"))
    assert (e.line, e.key) == (2, "draw") and "did you mean 'draws'?" in e.message


def test_unknown_enumeration_value_lists_the_allowed(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nlevers:\n  funding: {allocation: weakest}\n"))
    assert (e.line, e.key) == (3, "levers.funding.allocation")
    for allowed in ("gap_proportional", "weakest_first", "south_share", "equal_per_student"):
        assert allowed in e.message
    assert "'weakest'" in e.message


def test_unknown_indicator_group_in_a_list(tmp_path: Path) -> None:
    text = "name: x\nlevers:\n  dispatch:\n    counts_toward:\n      - staffing\n      - teeth\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert (e.line, e.key) == (6, "levers.dispatch.counts_toward[1]")
    assert "'teeth'" in e.message and "qualification" in e.message and "pe_art" in e.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    e = one_error(path)
    assert e.file == str(path) and "not found" in e.message


def test_missing_extends_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "child.yaml", "name: c\nextends: parent.yaml\n")
    e = one_error(path)
    assert (e.file, e.line, e.key) == (str(path), 2, "extends")
    assert "parent scenario not found" in e.message and "parent.yaml" in e.message


def test_circular_extends(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "name: b\nextends: a.yaml\n")
    e = one_error(tmp_path / "a.yaml")
    assert e.key == "extends" and "circular extends" in e.message
    assert "a.yaml → b.yaml → a.yaml" in e.message


def test_self_extends(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "a.yaml", "extends: a.yaml\nname: a\n"))
    assert e.line == 1 and "circular extends: a.yaml → a.yaml" in e.message


def test_error_in_parent_points_to_the_parent(tmp_path: Path) -> None:
    parent = write(tmp_path, "parent.yaml", "name: p\n\nlevers:\n  rotation: {share: 7}\n")
    e = one_error(write(tmp_path, "child.yaml", "extends: parent.yaml\nname: c\n"))
    assert (e.file, e.line, e.key) == (str(parent), 4, "levers.rotation.share")


def test_unknown_county_code(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: x\nbaseline:\n  counties:\n    - 653101\n    - 653199\n")
    e = one_error(path)
    assert (e.line, e.key) == (5, "baseline.counties[1]")
    assert "unknown county code 653199" in e.message and "653101" in e.message  # lists the prefecture's codes


def test_xpcc_city_needs_include_xpcc(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nbaseline: {counties: [659001]}\n"))
    assert e.key == "baseline.counties[0]" and "include_xpcc: true" in e.message


def test_bad_counties_word(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nbaseline: {counties: north}\n"))
    assert e.key == "baseline.counties" and "'all', 'south'" in e.message and "'north'" in e.message


def test_unknown_distribution(tmp_path: Path) -> None:
    text = "name: x\nuncertainties:\n  attrition.rural_rate: {dist: betta, mean: 0.05, sd: 0.01}\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert (e.line, e.key) == (3, "uncertainties.attrition.rural_rate")
    assert "unknown distribution 'betta'" in e.message and "did you mean 'beta'?" in e.message
    assert "truncated_normal" in e.message


def test_beta_sd_too_large(tmp_path: Path) -> None:
    text = "name: x\nuncertainties:\n  attrition.rural_rate: {dist: beta, mean: 0.5, sd: 0.6}\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert (e.line, e.key) == (3, "uncertainties.attrition.rural_rate")
    assert "no beta distribution has mean 0.5 and sd 0.6" in e.message and "< sqrt(mean (1 − mean)) = 0.5" in e.message


def test_triangular_mode_outside(tmp_path: Path) -> None:
    text = (
        "name: x\nuncertainties:\n"
        "  facilities.floor_cost_cny_per_m2:\n    dist: triangular\n    low: 2000\n    mode: 6000\n    high: 5000\n"
    )
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert (e.line, e.key) == (3, "uncertainties.facilities.floor_cost_cny_per_m2")
    assert "mode must be in [low, high] = [2000.0, 5000.0], got 6000.0" in e.message


def test_distribution_parameter_missing(tmp_path: Path) -> None:
    text = "name: x\nuncertainties:\n  attrition.rural_rate:\n    dist: beta\n    mean: 0.05\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert e.key == "uncertainties.attrition.rural_rate.sd" and e.message == "required key missing"
    assert e.line == 3


def test_support_outside_parameter_bounds(tmp_path: Path) -> None:
    text = "name: x\nuncertainties:\n  attrition.town_rate: {dist: normal, mean: 0.03, sd: 0.01}\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert e.line == 3 and e.key == "uncertainties.attrition.town_rate.dist"
    assert "outside the bounds [0, 1]" in e.message and "truncated_normal" in e.message and "beta" in e.message


def test_zero_and_negative_draws(tmp_path: Path) -> None:
    for value in (0, -5):
        e = one_error(write(tmp_path, "bad.yaml", f"name: x\ndraws: {value}\n"))
        assert (e.line, e.key) == (2, "draws") and f"must be in (0, 10,000,000], got {value}" in e.message


def test_horizon_before_start_year(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nstart_year: 2022\nhorizon: 2021\n"))
    assert (e.line, e.key) == (3, "horizon") and e.message == "must be after start_year (2022), got 2021"


def test_start_year_out_of_range(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nstart_year: 2030\n"))
    assert e.key == "start_year" and "must be in [2011, 2024], got 2030" in e.message


def test_chunk_size_not_multiple_of_block(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nchunk_size: 100\n"))
    assert (e.line, e.key) == (2, "chunk_size") and "must be a multiple of 64" in e.message and "100" in e.message


def test_unknown_uncertainty_name(tmp_path: Path) -> None:
    text = "name: x\nuncertainties:\n  attrition.rural_rat: {dist: beta, mean: 0.05, sd: 0.01}\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert (e.line, e.key) == (3, "uncertainties.attrition.rural_rat")
    assert "did you mean 'attrition.rural_rate'?" in e.message


def test_capital_year_after_the_horizon_is_allowed_and_never_acts(tmp_path: Path) -> None:
    text = "name: x\nlevers:\n  funding:\n    capital_cny:\n      2025: 3.0e9\n      2040: 4.0e9\n"
    s = load_scenario(write(tmp_path, "ok.yaml", text))
    assert s.horizon == 2035 and s.levers.funding.capital_cny_in(2035) == 3.0e9


def test_capital_year_that_is_no_year(tmp_path: Path) -> None:
    text = "name: x\nlevers:\n  funding:\n    capital_cny:\n      2025: 3.0e9\n      20400: 4.0e9\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert (e.line, e.key) == (6, "levers.funding.capital_cny[20400]")
    assert "year must be within [2011, 2050], got 20400" in e.message


def test_capital_mapping_starting_after_from_year(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nlevers:\n  funding: {capital_cny: {2030: 4.0e9}}\n"))
    assert e.key == "levers.funding.capital_cny" and "add a key for 2025" in e.message


def test_capital_wrong_shape(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nlevers:\n  funding: {capital_cny: lots}\n"))
    assert e.key == "levers.funding.capital_cny" and "mapping year → CNY per year" in e.message


def test_lever_years_outside_the_run_are_allowed(tmp_path: Path) -> None:
    # issue 13 item 2: a lever that starts after the horizon never acts; one before start_year acts from the start
    text = (
        "name: x\nhorizon: 2030\nlevers:\n  rotation: {from_year: 2031}\n  dispatch: {from_year: 2015}\n"
        "  quota: {first_verification_year: 2040}\n"
    )
    s = load_scenario(write(tmp_path, "ok.yaml", text))
    assert s.levers.rotation.from_year == 2031 and s.levers.dispatch.from_year == 2015
    assert s.levers.quota.first_verification_year == 2040


def test_lever_year_that_is_no_year(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\nlevers:\n  rotation: {from_year: 3031}\n"))
    assert (e.line, e.key) == (3, "levers.rotation.from_year") and "[2011, 2050]" in e.message


def test_empty_file(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "# only a comment\n"))
    assert e.file is not None and e.file.endswith("bad.yaml") and e.message == "file is empty"


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "- name: x\n"))
    assert e.line == 1 and "top level must be a mapping" in e.message and "list" in e.message


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: x\ndraws: 10\nlevers:\n  rotation: {share: 0.1, share: 0.2}\ndraws: 20\n")
    errs = errors(path)
    assert [(e.line, e.key) for e in errs] == [(4, "levers.rotation.share"), (5, "draws")]
    assert "duplicate key 'draws' (first written at line 2)" in errs[1].message


def test_python_tags_are_refused(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: !!python/object/apply:os.system ['echo hi']\n"))
    assert e.line == 1 and "not allowed" in e.message and "python/object" in e.message


def test_missing_name(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "draws: 64\n"))
    assert e.key == "name" and e.message == "required key missing"


def test_missing_target_file(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "bad.yaml", "name: x\ntargets: nowhere.yaml\n"))
    assert (e.line, e.key) == (2, "targets") and "target-set file not found" in e.message


def test_all_errors_of_a_file_are_reported(tmp_path: Path) -> None:
    text = "name: x\ndraws: 0\nchunk_size: 100\nlevers:\n  rotation: {share: 2, direction: up}\n"
    errs = errors(write(tmp_path, "bad.yaml", text))
    assert {e.key for e in errs} == {"draws", "chunk_size", "levers.rotation.share", "levers.rotation.direction"}


# --- issue 11: hostile paths, bounds through extends and targets, finite numbers, child remove/replace ------


SECRET = "root:x:0:0:TOPSECRET-LINE:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


@pytest.mark.parametrize("key", ["extends", "targets"])
def test_other_files_are_never_echoed(tmp_path: Path, key: str) -> None:
    (tmp_path / "passwd").write_text(SECRET, encoding="utf-8")
    path = write(tmp_path, "s.yaml", f"name: x\n{key}: passwd\n")
    from sim.cli import main
    from sim.targets import load_target_set

    with pytest.raises(InputErrors) as info:
        load_target_set(load_scenario(path).targets) if key == "targets" else load_scenario(path)
    text = "\n".join(str(e) for e in info.value.errors)
    assert "TOPSECRET" not in text and "passwd" in text
    assert main(["validate", str(path)]) == 2


def test_binary_parent_is_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 100)
    e = one_error(write(tmp_path, "s.yaml", "name: x\nextends: blob.bin\n"))
    assert e.file is not None and e.file.endswith("blob.bin") and len(str(e)) < 400


def test_registry_secret_first_line_is_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    (tmp_path / "secrets.env").write_text("API_KEY=TOPSECRET\n", encoding="utf-8")
    path = write(tmp_path, "s.yaml", "name: x\nbaseline: {registry: secrets.env}\n")
    assert main(["validate", str(path)]) == 2  # validate reads the registry as the run would
    err = capsys.readouterr().err
    assert "TOPSECRET" not in err and "secrets.env:1: school_id: missing column" in err


@pytest.mark.parametrize(
    ("ext", "words"),
    [
        ("'" + "n" * 300 + ".yaml'", "255 bytes"),
        ("'" + "d/" * 800 + "x.yaml'", "characters long"),
    ],
)
def test_bad_extends_paths(tmp_path: Path, ext: str, words: str) -> None:
    e = one_error(write(tmp_path, "s.yaml", f"name: x\nextends: {ext}\n"))
    assert (e.line, e.key) == (2, "extends") and words in e.message


def test_bad_extends_nul_written_as_an_escape(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "s.yaml", 'name: x\nextends: "a\\0b.yaml"\n'))
    assert (e.line, e.key) == (2, "extends") and "NUL" in e.message


def test_targets_path_with_nul_or_long_name(tmp_path: Path) -> None:
    e = one_error(write(tmp_path, "s.yaml", 'name: x\ntargets: "t\\0.yaml"\n'))
    assert (e.line, e.key) == (2, "targets") and "NUL" in e.message
    e = one_error(write(tmp_path, "s2.yaml", "name: x\ntargets: " + "t" * 300 + ".yaml\n"))
    assert (e.line, e.key) == (2, "targets") and "255 bytes" in e.message


def test_symlink_cycle_in_extends(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b.yaml", tmp_path / "a.yaml")
    os.symlink(tmp_path / "a.yaml", tmp_path / "b.yaml")
    e = one_error(write(tmp_path, "s.yaml", "name: x\nextends: a.yaml\n"))
    assert (e.line, e.key) == (2, "extends") and "symbolic links" in e.message


def test_long_extends_chain_is_an_error_not_a_recursion_error(tmp_path: Path) -> None:
    for i in range(1000):
        write(tmp_path, f"s{i}.yaml", f"name: s{i}\nextends: s{i + 1}.yaml\n" if i < 999 else "name: last\n")
    e = one_error(tmp_path / "s0.yaml")
    assert e.key == "extends" and "longer than 20 files" in e.message


def test_alias_bomb_in_a_parent_or_target_set(tmp_path: Path) -> None:
    bomb = "name: p\nx: &a [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"x{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 10)}]\n" for i in range(9)
    )
    write(tmp_path, "p.yaml", bomb)
    e = one_error(write(tmp_path, "s.yaml", "name: x\nextends: p.yaml\n"))
    assert e.file is not None and e.file.endswith("p.yaml") and "expands to more than" in e.message
    write(tmp_path, "t.yaml", "targets: []\n" + bomb.replace("name: p\n", ""))
    from sim.targets import load_target_set

    with pytest.raises(InputErrors) as info:
        load_target_set(tmp_path / "t.yaml")
    assert "expands to more than" in info.value.errors[0].message


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e309", "-1e9", "2e12"])
def test_capital_plain_number_must_be_finite_and_in_range(tmp_path: Path, value: str) -> None:
    e = one_error(write(tmp_path, "bad.yaml", f"name: x\nlevers:\n  funding:\n    capital_cny: {value}\n"))
    assert (e.line, e.key) == (4, "levers.funding.capital_cny") and "finite amount in [0, 1e+12]" in e.message


@pytest.mark.parametrize("value", [".nan", ".inf", "-1e9"])
def test_capital_mapping_amounts_must_be_finite_and_in_range(tmp_path: Path, value: str) -> None:
    text = f"name: x\nlevers:\n  funding:\n    capital_cny:\n      2025: 1.0e9\n      2030: {value}\n"
    e = one_error(write(tmp_path, "bad.yaml", text))
    assert (e.line, e.key) == (6, "levers.funding.capital_cny.2030") and "finite amount" in e.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rotation: {share: .nan}", "share"),
        ("retention: {rural_subsidy_cny_month: .inf}", "rural_subsidy_cny_month"),
        ("pairing: {coverage_by_year: {2027: .nan}}", "coverage_by_year"),
        ("dispatch: {per_year: 1e309}", "per_year"),
    ],
)
def test_non_finite_lever_values(tmp_path: Path, field: str, value: str) -> None:
    e = one_error(write(tmp_path, "bad.yaml", f"name: x\nlevers:\n  {field}\n"))
    assert e.line == 3 and e.key is not None and value in e.key


def test_seed_must_fit_in_64_bits(tmp_path: Path) -> None:
    assert load_scenario(write(tmp_path, "ok.yaml", f"name: x\nseed: {2**63 - 1}\n")).seed == 2**63 - 1
    e = one_error(write(tmp_path, "bad.yaml", f"name: x\nseed: {2**63}\n"))
    assert (e.line, e.key) == (2, "seed") and "9,223,372,036,854,775,807" in e.message


@pytest.mark.parametrize(("written", "fragment"), [("yes", "true or false"), ("on", "true or false")])
def test_yaml_11_booleans_are_rejected(tmp_path: Path, written: str, fragment: str) -> None:
    e = one_error(write(tmp_path, "bad.yaml", f"name: x\nbaseline:\n  include_xpcc: {written}\n"))
    assert (e.line, e.key) == (3, "baseline.include_xpcc") and fragment in e.message


@pytest.mark.parametrize("written", ["1:20", "5_000"])
def test_yaml_11_numbers_are_rejected(tmp_path: Path, written: str) -> None:
    e = one_error(write(tmp_path, "bad.yaml", f"name: x\nseed: {written}\n"))
    assert (e.line, e.key) == (2, "seed") and "whole number" in e.message


def test_child_of_baseline_with_an_early_horizon(tmp_path: Path) -> None:
    # issue 11 item 10: the baseline's pairing year 2027 no longer blocks a horizon before 2027
    text = f"extends: {SCENARIOS / 'baseline.yaml'}\nname: short\nhorizon: 2026\n"
    s = load_scenario(write(tmp_path, "short.yaml", text))
    assert s.horizon == 2026 and 2027 in s.levers.pairing.coverage_by_year


def test_child_replaces_year_mapping_and_removes_with_null(tmp_path: Path) -> None:
    write(
        tmp_path,
        "parent.yaml",
        "name: p\ndraws: 128\nlevers:\n  pairing: {coverage_by_year: {2024: 0.2, 2030: 0.9}}\n"
        "  rotation: {share: 0.3, from_year: 2026}\n",
    )
    child = write(
        tmp_path,
        "child.yaml",
        "extends: parent.yaml\nname: c\ndraws: null\nlevers:\n  pairing: {coverage_by_year: {2026: 0.5}}\n"
        "  rotation: null\n",
    )
    s = load_scenario(child)
    assert s.levers.pairing.coverage_by_year == {2026: 0.5}  # replaced whole: no 2024 or 2030
    assert s.draws == Scenario.model_fields["draws"].default  # removed: the default applies
    assert s.levers.rotation == Scenario.model_fields["levers"].default.rotation


def test_errors_in_a_replaced_mapping_blame_the_child(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", "name: p\nlevers:\n  pairing: {coverage_by_year: {2024: 0.2}}\n")
    text = "extends: parent.yaml\nname: c\nlevers:\n  pairing:\n    coverage_by_year: {2026: 1.5}\n"
    e = one_error(write(tmp_path, "child.yaml", text))
    assert e.file is not None and e.file.endswith("child.yaml") and e.line == 5


def test_lever_before_start_acts_from_the_start_and_after_horizon_never(tmp_path: Path) -> None:
    from sim.model import lever_at

    s = load_scenario(
        write(tmp_path, "ok.yaml", "name: x\nhorizon: 2030\nlevers:\n  rotation: {share: 0.3, from_year: 2015}\n"
              "  dispatch: {per_year: 10, from_year: 2040}\n")
    )
    assert all(lever_at(s, "rotation", y).share == 0.3 for y in range(2020, 2031))
    assert all(lever_at(s, "dispatch", y).per_year == 5000 for y in range(2020, 2031))  # the default, never 10


def test_many_unknown_keys_are_fast_and_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from sim.cli import main

    path = write(tmp_path, "bad.yaml", "name: x\n" + "".join(f"k{i}: 1\n" for i in range(9000)))
    t0 = time.perf_counter()
    assert main(["validate", str(path)]) == 2
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 51 and err[-1] == "error: … and 8,950 more problems not shown; fix these first"
    assert elapsed < 15, elapsed
