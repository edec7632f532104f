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
