"""Errors of user input (sim/errors.py): where and what, and the nearest valid name."""

from __future__ import annotations

from sim.errors import InputError, InputErrors, suggest


def test_input_error_names_file_line_and_key():
    assert str(InputError("must be in [0, 1], got 1.5", file="x.yaml", line=12, key="levers.rotation.share")) == (
        "x.yaml:12: levers.rotation.share: must be in [0, 1], got 1.5")
    assert str(InputError("bad value")) == "<command line>: bad value"
    assert str(InputError("bad", file="x.yaml")) == "x.yaml: bad"


def test_input_errors_keep_every_error_one_per_line():
    errors = InputErrors([InputError("a", file="f"), InputError("b", file="f", line=3, key="k")])
    assert len(errors.errors) == 2
    assert str(errors) == "f: a\nf:3: k: b"


def test_suggest_gives_the_nearest_name_then_all_sorted():
    assert suggest("shre", ["share", "backbone_share"]) == "did you mean 'share'? valid: backbone_share, share"
    assert suggest("zzzz", ["b", "a"]) == "valid: a, b"
