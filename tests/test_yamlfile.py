"""Bounded YAML reading: every hostile or broken file is an InputError naming the file, within bounded memory.

The tests go through ``sim.scenario.load_yaml`` (the public entry point, also on main before sim.yamlfile
existed), so that they can be run against older code to show what failed there.
"""

from __future__ import annotations

import math
import os
import tracemalloc
from pathlib import Path

import pytest

from sim.errors import InputErrors
from sim.scenario import load_yaml


def write(tmp_path: Path, text: str | bytes, name: str = "f.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def one_error(path: Path) -> tuple[str, int | None, str]:
    with pytest.raises(InputErrors) as info:
        load_yaml(path)
    errs = info.value.errors
    assert len(errs) >= 1
    assert all(e.file == str(path) for e in errs), [str(e) for e in errs]
    return errs[0].message, errs[0].line, str(errs[0])


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)  # 10⁹ values once expanded; a few hundred bytes as written


def test_alias_bomb_is_an_error_in_bounded_memory(tmp_path: Path) -> None:
    path = write(tmp_path, BOMB)
    tracemalloc.start()
    try:
        message, line, _ = one_error(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "expands to more than" in message and line is not None
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"


def test_aliases_that_expand_moderately_are_fine(tmp_path: Path) -> None:
    data = load_yaml(write(tmp_path, "a: &a {dist: beta, mean: 0.5, sd: 0.1}\nb: *a\nc: *a\n")).data
    assert data["b"] == data["c"] == {"dist": "beta", "mean": 0.5, "sd": 0.1}


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, "a:\n" + "".join(" " * i + "- \n" for i in range(1, 600))])
def test_deep_nesting_is_an_error_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    message, _, _ = one_error(write(tmp_path, text))
    assert "nested more than" in message or "maximum nesting depth" in message  # ours, or libyaml's at 1,000


def test_nesting_bound_is_ours_below_libyamls(tmp_path: Path) -> None:
    message, line, _ = one_error(write(tmp_path, "a: " + "[" * 60 + "]" * 60 + "\n"))
    assert message == "nested more than 50 levels deep" and line == 1


def test_alias_chains_cannot_nest_past_the_bound(tmp_path: Path) -> None:
    # each anchor holds the previous one: shallow as written, 1,000 levels deep once expanded
    text = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 1000))
    message, _, _ = one_error(write(tmp_path, text))
    assert "nested more than" in message or "expands to" in message


def test_too_many_keys(tmp_path: Path) -> None:
    message, _, _ = one_error(write(tmp_path, "".join(f"k{i}: {i}\n" for i in range(15_000))))
    assert "too many keys and values" in message


@pytest.mark.parametrize(("char", "name"), [("\x00", "0000"), ("\x1b", "001B"), ("\x7f", "007F"), ("\ufffe", "FFFE")])
def test_control_characters_name_line_and_column(tmp_path: Path, char: str, name: str) -> None:
    message, line, _ = one_error(write(tmp_path, f"name: x\ndescription: ab{char}c\n"))
    assert f"U+{name}" in message and "column 16" in message and line == 2


def test_not_utf8(tmp_path: Path) -> None:
    message, line, _ = one_error(write(tmp_path, b"name: x\nd: \xff\xfe\n"))
    assert "not UTF-8" in message and line == 2


def test_large_file_is_refused_without_echo(tmp_path: Path) -> None:
    message, _, text = one_error(write(tmp_path, "description: " + "secret " * 300_000))
    assert "bytes" in message and "secret" not in text and len(text) < 400


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_is_refused() -> None:
    with pytest.raises(InputErrors) as info:
        load_yaml("/dev/zero")
    assert "not a regular file" in info.value.errors[0].message


def test_directory_and_missing_file(tmp_path: Path) -> None:
    assert "directory" in one_error(tmp_path)[0]
    assert "not found" in one_error(tmp_path / "none.yaml")[0]


def test_huge_integer(tmp_path: Path) -> None:
    message, line, _ = one_error(write(tmp_path, "name: x\nseed: " + "9" * 5000 + "\n"))
    assert "5,000 digits" in message and line == 2


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("yes", "yes"),  # YAML 1.1 boolean: text in YAML 1.2
        ("No", "No"),
        ("on", "on"),
        ("5_000", "5_000"),  # YAML 1.1 digit separator: text
        ("1:20", "1:20"),  # YAML 1.1 sexagesimal (80): text
        ("017", 17),  # YAML 1.1 octal (15): decimal in YAML 1.2
        ("0o17", 15),
        ("0x40", 64),
        ("+7", 7),
        ("3.5e9", 3.5e9),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("-.inf", -math.inf),
        ("TRUE", True),
        ("false", False),
        ("~", None),
        ("Null", None),
        ("2020-01-01", "2020-01-01"),  # YAML 1.1 timestamp: text
        ("0b101", "0b101"),
    ],
)
def test_yaml_12_core_schema(tmp_path: Path, written: str, value: object) -> None:
    got = load_yaml(write(tmp_path, f"v: {written}\n")).data["v"]
    assert got == value and type(got) is type(value)


def test_nan_is_a_float(tmp_path: Path) -> None:
    assert math.isnan(load_yaml(write(tmp_path, "v: .nan\n")).data["v"])


@pytest.mark.parametrize(
    "text",
    ["v: !!timestamp 2020-01-01\n", "v: !!binary aGVsbG8=\n", "v: !!python/object:os.system {}\n", "v: !!set {a}\n"],
)
def test_tags_beyond_the_plain_ones_are_errors(tmp_path: Path, text: str) -> None:
    message, line, _ = one_error(write(tmp_path, text))
    assert ("tag" in message or "not allowed" in message) and line == 1


def test_merge_and_duplicate_keys(tmp_path: Path) -> None:
    assert "merge keys" in one_error(write(tmp_path, "a: &a {x: 1}\nb:\n  <<: *a\n"))[0]
    message, line, _ = one_error(write(tmp_path, "a: 1\nb: 2\na: 3\n"))
    assert "duplicate key 'a' (first written at line 1)" in message and line == 3


def test_long_values_are_cut_in_messages(tmp_path: Path) -> None:
    key = "? " + "x" * 5000 + "\n: 1\n"  # explicit keys may be longer than 1,024 characters
    _, _, text = one_error(write(tmp_path, f"a: 1\n{key}{key}"))
    assert len(text) < 500 and "…" in text
