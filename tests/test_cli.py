"""The edusim command, in process (main([...]) with capsys) and one subprocess smoke test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim import __version__
from sim.cli import _COMMANDS, main
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted(SCENARIOS.glob("*.yaml"))] + [str(SCENARIOS / "targets" / "plan-2025.yaml")]
    assert main(["validate", *files]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"ok: {f}" for f in files] and err == ""


def test_validate_reports_every_error_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndraws: 0\nlevers:\n  rotation: {shre: 0.1}\n", encoding="utf-8")
    good = SCENARIOS / "baseline.yaml"
    assert main(["validate", str(bad), str(good)]) == 2
    out, err = capsys.readouterr()
    assert f"ok: {good}" in out
    assert f"error: {bad}:2: draws: must be in (0, 10,000,000], got 0" in err.splitlines()
    assert any(
        line.startswith(f"error: {bad}:4: levers.rotation.shre: unknown key; did you mean 'share'?")
        for line in err.splitlines()
    )
    assert "Traceback" not in out + err


def test_validate_bad_target_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "t.yaml"
    text = (SCENARIOS / "targets" / "plan-2025.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("metric: gigabit_coverage", "metric: gigabit"), encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"error: {bad}:" in err and ".metric: unknown metric 'gigabit'; did you mean 'gigabit_coverage'?" in err


def test_validate_scenario_checks_its_target_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.yaml").write_text(
        "- id: T1\n  zh: x\n  en: x\n  metric: nope\n  comparison: '>='\n  threshold: 1\n  year: 2027\n",
        encoding="utf-8",
    )
    (tmp_path / "s.yaml").write_text("name: s\ntargets: t.yaml\n", encoding="utf-8")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    assert "t.yaml:4: targets[0].metric: unknown metric 'nope'" in capsys.readouterr().err


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such.yaml"]) == 2
    assert capsys.readouterr().err == "error: no/such.yaml: file not found\n"


def test_show_prints_resolved_yaml_that_revalidates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = SCENARIOS / "rotation_plus.yaml"
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "extends" not in out.split("\n", 2)[2] and "share: 0.2" in out and "attrition.rural_rate:" in out
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(out, encoding="utf-8")
    assert load_scenario(resolved) == load_scenario(path)


def test_show_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(SCENARIOS / "baseline.yaml"), "--parameters"]) == 0
    out = capsys.readouterr().out
    assert "| name | units | bounds | distribution | meaning | source |" in out
    assert "`attrition.rural_rate`" in out


def test_show_steps_prints_the_yearly_step_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(SCENARIOS / "baseline.yaml"), "--steps"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| # | step | function | start year | acts in | engines | levers read |")
    assert "| 1 | students | `sim.steps.step_students` | no | 2021–2035 |" in out
    assert "quota (from" not in out and "rotation (from 2025)" in out
    assert "name:" not in out  # the table instead of the YAML


def test_show_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nname: y\n", encoding="utf-8")
    assert main(["show", str(bad)]) == 2
    assert capsys.readouterr().err == f"error: {bad}:2: name: duplicate key 'name' (first written at line 1)\n"


def test_version_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"edusim {__version__}"
    assert main(["frobnicate"]) == 2
    assert main([]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_internal_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def boom(args: object) -> int:
        raise RuntimeError("unexpected\nstate")

    add, _, help_text = _COMMANDS["show"]
    monkeypatch.setitem(_COMMANDS, "show", (add, boom, help_text))
    monkeypatch.delenv("EDUSIM_DEBUG", raising=False)
    assert main(["show", "x.yaml"]) == 70
    err = capsys.readouterr().err
    assert err == "internal error: RuntimeError: unexpected state, please report (EDUSIM_DEBUG=1 shows the traceback)\n"
    monkeypatch.setenv("EDUSIM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["show", "x.yaml"])


def test_subprocess_smoke() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sim", "validate", "scenarios/baseline.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: scenarios/baseline.yaml\n"


HEAVY = ("xarray", "dask", "distributed", "SALib", "matplotlib")
"""Packages that `edusim --help` and `edusim validate` must not import (issue 12: start-up time)."""


@pytest.mark.parametrize("argv", [["--help"], ["sensitivity", "--help"], ["validate", "scenarios/baseline.yaml"]])
def test_help_and_validate_import_no_heavy_package(argv: list[str]) -> None:
    code = ("import sys\nfrom sim.cli import main\ntry:\n    status = main(" + repr(argv) + ")\n"
            "except SystemExit as e:\n    status = e.code\n"
            "print(status, sorted({m.split('.')[0] for m in sys.modules} & set(" + repr(HEAVY) + ")))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 []"


def test_heavy_import_check_can_fail() -> None:
    # the same check sees a heavy package when one is imported (so the test above is not vacuous)
    code = f"import sys, sim.rundir; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=True)
    assert result.stdout.strip() == "['xarray']"


# -- every command that writes a folder: refused over an earlier output without --overwrite (issue 11, item 1) --

def _small(tmp_path: Path, name: str = "small") -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    from scenario_files import write_small

    return str(write_small(tmp_path, name))


def _command(kind: str, scenario: str, out: Path) -> list[str]:
    if kind == "sweep":
        return ["sweep", scenario, "--lever", "levers.rotation.share=0.1:0.2:2", "--targets", "T6", "--out", str(out),
                "--quiet"]
    if kind == "sensitivity":
        return ["sensitivity", scenario, "--method", "morris", "--n", "2", "--replicates", "2",
                "--factors", "attrition.rural_rate", "--out", str(out), "--quiet"]
    if kind == "solve":
        return ["solve", scenario, "--target", "T1", "--probability", "0.5", "--lever", "levers.rotation.share",
                "--out", str(out), "--quiet"]
    return ["run", scenario, "--out", str(out), "--quiet"]


@pytest.mark.parametrize("kind", ["sweep", "solve", "sensitivity"])
def test_writing_commands_refuse_an_earlier_output_without_overwrite(tmp_path: Path, kind: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    scenario, out = _small(tmp_path), tmp_path / kind
    assert main(_command(kind, scenario, out)) == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    capsys.readouterr()
    assert main(_command(kind, scenario, out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err and str(out) in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert main([*_command(kind, scenario, out), "--overwrite"]) == 0


@pytest.mark.parametrize("kind", ["sweep", "solve", "sensitivity"])
@pytest.mark.parametrize("bad", ["", "/", "{tmp}/notes.txt", "{tmp}/notes.txt/deeper"])
def test_writing_commands_refuse_bad_out_values_before_the_work(tmp_path: Path, kind: str, bad: str,
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.ensemble

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before the destination was checked")

    monkeypatch.setattr(sim.ensemble, "run", never)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("keep")
    command = _command(kind, _small(tmp_path), tmp_path)
    command[command.index("--out") + 1] = bad.format(tmp=tmp_path)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: <command line>: --out: ") and err.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "keep"


def test_compare_reruns_scenario_files_only_with_overwrite(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", _small(tmp_path, "a"), _small(tmp_path, "b"), "--runs-dir", str(tmp_path / "runs"),
            "--out", str(tmp_path / "cmp"), "--quiet"]
    assert main(args) == 0
    assert (tmp_path / "cmp" / "compare.csv").is_file()
    capsys.readouterr()
    assert main(args) == 2  # the runs (and the comparison folder) are there now
    err = capsys.readouterr().err
    assert "--overwrite" in err and str(tmp_path / "runs" / "a") in err
    assert main([*args, "--overwrite"]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("keep")
    args[args.index("--out") + 1] = str(mine)
    assert main([*args, "--overwrite"]) == 2
    assert [p.name for p in mine.iterdir()] == ["notes.md"]
