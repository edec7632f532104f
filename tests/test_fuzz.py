"""Fuzz ``edusim validate``: mutated scenario and target-set files must exit 0 or 2, never 70, within bounds.

A seeded generator mutates the shipped scenario and target-set files (junk and control characters, truncation,
deep nesting, aliases and alias bombs, type swaps, extreme numbers, bad and hostile paths, unknown and
duplicate keys) and runs every case through ``sim.cli.main(["validate", FILE])`` in-process, in a child
process whose address space is limited (``resource.setrlimit(RLIMIT_AS)``) to what it had after importing
edusim plus :data:`MEMORY_HEADROOM_BYTES`. Every case must exit 0 or 2; on 2, every error line names a file;
never "internal error" (70), never the MemoryError/RecursionError safety net of ``validate``, and never the
text of a file other than the one being read.

The seed is printed; replay a failure with ``EDUSIM_FUZZ_SEED=<seed> pytest tests/test_fuzz.py`` or
``python tests/test_fuzz.py <seed> <cases> <dir>``; the failing case files stay in ``<dir>``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
#: Address space the validating child may use beyond what it holds after importing edusim.
MEMORY_HEADROOM_BYTES = 400 * 2**20
#: Longest a single case may take, in seconds (the brief: no input makes validate take more than a few seconds).
MAX_CASE_SECONDS = 10.0
SECRET = "TOPSECRET-do-not-echo"
DEFAULT_SEED = 20261206

JUNK = ["\x00", "\x1b", "\x7f", "\ufffe", "\t", "\r", "\u2028", "\x85", "'", '"', "{", "}", "[", "]", ":", "-", "&",
        "*", "!", "|", ">", "%", "@", "`", "#", ",", "?", "\\", "縣", "\U0001f600", " ", "\n"]
EXTREMES = [".nan", ".inf", "-.inf", "1e309", "-1e309", "-1e9", "1e308", "0", "-0.0", "2e-320", str(2**63),
            str(2**64), "9" * 25, "9" * 40, "-" + "9" * 19, "0x7fffffffffffffff", "0o777", "1:20", "5_000", "yes",
            "~", "''", "[]", "{}", "1e-300", "4.9e-324", "-1"]
SWAPS = ["true", "null", "'text'", "[1, 2]", "{a: 1}", "3.5", "-7", "''", "!!str 5", "!!float 1", "!!binary aGk=",
         "!!python/object:os.system {}", "!!set {a}", "2020-01-01"]
PATH_KEYS = ["extends", "targets"]


def bad_paths(work: Path) -> list[str]:
    return ["/etc/passwd", "/dev/zero", "/dev/null", "/proc/self/environ", str(work), str(work / "secret.txt"),
            str(work / "blob.bin"), str(work / "big.yaml"), str(work / "loop_a.yaml"), "'a\\0b.yaml'",
            '"a\\0b.yaml"', "n" * 300 + ".yaml", "d/" * 600 + "x.yaml", "missing.yaml", "''", "../" * 50,
            str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "targets" / "plan-2025.yaml"), "."]


def setup_fixtures(work: Path) -> None:
    """Hostile files the generated cases point at."""
    (work / "secret.txt").write_text(f"{SECRET}\nsecond line\n", encoding="utf-8")
    (work / "blob.bin").write_bytes(bytes(range(256)) * 64)
    (work / "big.yaml").write_text("name: big\ndescription: " + "x" * 400_000 + "\n", encoding="utf-8")
    for a, b in (("loop_a.yaml", "loop_b.yaml"), ("loop_b.yaml", "loop_a.yaml")):
        if not (work / a).is_symlink():
            os.symlink(work / b, work / a)


def bomb(levels: int) -> str:
    out = "fz0: &fz0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, levels):
        out += f"fz{i}: &fz{i} [{', '.join([f'*fz{i - 1}'] * 10)}]\n"
    return out


def mutate(rng: random.Random, text: str, work: Path) -> str:
    """One to three mutations of ``text``."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(12)
        lines = text.split("\n")
        if kind == 0 and text:  # junk characters
            for _ in range(rng.randint(1, 5)):
                i = rng.randrange(len(text) + 1)
                text = text[:i] + rng.choice(JUNK) * rng.choice([1, 1, 3, 50]) + text[i:]
        elif kind == 1 and text:  # truncation
            text = text[: rng.randrange(len(text))]
        elif kind == 2:  # nesting
            depth = rng.choice([10, 49, 51, 200, 1000, 5000])
            opener, closer = rng.choice([("[", "]"), ("{a: ", "}")])
            text += f"\nnested: {opener * depth}1{closer * depth}\n"
        elif kind == 3:  # aliases: moderate, recursive-looking, or a bomb
            text = rng.choice([bomb(rng.choice([2, 4, 6, 9])), "a: &x {b: 1}\nc: *x\n", "a: &x [*x]\n",
                               "a: *undefined\n", "<<: {name: y}\n"]) + text
        elif kind == 4 and lines:  # type swap of a value
            i = rng.randrange(len(lines))
            if ":" in lines[i]:
                key = lines[i].split(":", 1)[0]
                lines[i] = f"{key}: {rng.choice(SWAPS)}"
                text = "\n".join(lines)
        elif kind == 5 and lines:  # extreme number
            i = rng.randrange(len(lines))
            if ":" in lines[i]:
                key = lines[i].split(":", 1)[0]
                lines[i] = f"{key}: {rng.choice(EXTREMES)}"
                text = "\n".join(lines)
        elif kind == 6:  # bad path
            key = rng.choice([*PATH_KEYS, "baseline"])
            value = rng.choice(bad_paths(work))
            text += f"\nbaseline: {{registry: {value}}}\n" if key == "baseline" else f"\n{key}: {value}\n"
        elif kind == 7:  # unknown and duplicate keys
            text += "".join(f"\nunknown_{i}: {i}" for i in range(rng.choice([1, 10, 3000]))) + "\n"
            if rng.random() < 0.5:
                text += "name: dup\n"
        elif kind == 8:  # extreme lever values in every form
            lever = rng.choice(["funding: {capital_cny: %s}", "funding: {capital_cny: {2025: %s}}",
                                "rotation: {share: %s}", "rotation: {from_year: %s}", "dispatch: {per_year: %s}",
                                "pairing: {coverage_by_year: {2027: %s}}", "quota: {reverify_every_years: %s}",
                                "retention: {rural_subsidy_cny_month: %s}"])
            text += "\nlevers:\n  " + lever % rng.choice(EXTREMES) + "\n"
        elif kind == 9:  # extreme uncertainty parameters
            name = rng.choice(["births.trend_per_year", "facilities.floor_cost_cny_per_m2", "attrition.rural_rate",
                               "facilities.construction_lag_years", "rotation.mean_tenure_years"])
            spec = rng.choice(["{dist: fixed, value: %s}", "{dist: normal, mean: 0, sd: %s}",
                               "{dist: lognormal, median: 3500, sigma: %s}", "{dist: beta, mean: 0.05, sd: %s}",
                               "{dist: uniform, low: 0, high: %s}", "{dist: truncated_normal, mean: 0, sd: %s, "
                               "low: -1, high: 1}", "{dist: triangular, low: 0, mode: %s, high: 1e308}"])
            text += f"\nuncertainties:\n  {name}: " + spec % rng.choice([*EXTREMES, "700", "1e-300", "0.1"]) + "\n"
        elif kind == 10:  # indentation damage
            if lines:
                i = rng.randrange(len(lines))
                lines[i] = " " * rng.choice([1, 3, 7]) + lines[i]
                text = "\n".join(lines)
        else:  # whole-document replacements
            text = rng.choice(["", "---\n---\n", "- a\n- b\n", "just text", "name: x\n" * 2, "{" * 3, "\ufeffname: x\n",
                               "%YAML 1.1\n---\nname: x\n", "name: x\nseed: " + "9" * 5000 + "\n",
                               "name: x\ndraws: " + "1" * 4400 + "\n"])
    return text


def bases() -> list[str]:
    files = sorted(SCENARIOS.glob("*.yaml")) + sorted((SCENARIOS / "targets").glob("*.yaml"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    # scenario files extend by relative paths: make them absolute so that cases written elsewhere still resolve
    return [t.replace("extends: baseline.yaml", f"extends: {SCENARIOS / 'baseline.yaml'}") for t in texts]


def check_case(path: Path) -> str | None:
    """Run ``validate`` on one file; why it broke the promise, or ``None``."""
    from sim.cli import main

    err = io.StringIO()
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = main(["validate", str(path)])
    seconds = time.perf_counter() - started
    text = err.getvalue()
    if status not in (0, 2):
        return f"exit {status}: {text[:500]}"
    if "internal error" in text or "MemoryError" in text or "RecursionError" in text:
        return f"safety net or internal error: {text[:500]}"
    if SECRET in text or "root:x:0:0" in text:
        return f"echoed another file: {text[:500]}"
    if status == 2:
        lines = text.splitlines()
        if not lines or not all(line.startswith("error: ") for line in lines):
            return f"exit 2 without error lines: {text[:500]}"
        if not all(line[7:].startswith(("/", str(path))) or line.startswith("error: … and") for line in lines):
            return f"an error does not name a file: {text[:500]}"
        if len(lines) > 51:
            return f"{len(lines)} error lines printed"
    elif out.getvalue().strip() != f"ok: {path}":
        return f"exit 0 without 'ok': {out.getvalue()[:200]}"
    if seconds > MAX_CASE_SECONDS:
        return f"took {seconds:.1f} s"
    return None


def run_child(seed: int, cases: int, work: Path) -> int:
    """The child process: import edusim, cap memory, generate and check ``cases`` files; print failures."""
    import resource

    import sim.cli
    import sim.scenario
    import sim.targets

    sim.scenario.county_table()  # warm caches a first validate fills
    with open("/proc/self/statm") as fh:
        vm_bytes = int(fh.read().split()[0]) * resource.getpagesize()
    limit = vm_bytes + MEMORY_HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    setup_fixtures(work)
    rng = random.Random(seed)
    texts = bases()
    failures = []
    for i in range(cases):
        text = mutate(rng, rng.choice(texts), work)
        path = work / f"case_{i:05d}.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        why = check_case(path)
        if why is None:
            path.unlink()
        else:
            failures.append({"case": i, "file": str(path), "why": why})
    print(json.dumps({"seed": seed, "cases": cases, "failures": failures}))
    return 0


def fuzz(seed: int, cases: int, work: Path) -> None:
    print(f"fuzz seed {seed} ({cases} cases); replay: EDUSIM_FUZZ_SEED={seed} or python tests/test_fuzz.py "
          f"{seed} {cases} DIR")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, __file__, str(seed), str(cases), str(work)],
        capture_output=True, text=True, env=env, timeout=3000, check=False,
    )
    assert proc.returncode == 0, f"seed {seed}: child exited {proc.returncode}: {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], f"seed {seed}: {len(report['failures'])} failures: {report['failures'][:5]}"


def test_fuzz_validate(tmp_path: Path) -> None:
    fuzz(int(os.environ.get("EDUSIM_FUZZ_SEED", DEFAULT_SEED)), 1000, tmp_path)


@pytest.mark.slow
def test_fuzz_validate_long(tmp_path: Path) -> None:
    fuzz(int(os.environ.get("EDUSIM_FUZZ_SEED", DEFAULT_SEED + 1)), 10_000, tmp_path)


if __name__ == "__main__":
    sys.exit(run_child(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])))
