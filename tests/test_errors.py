"""Errors of user input (sim/errors.py): where and what, the nearest valid name; escaped, bounded, never a whole
value or file."""

from __future__ import annotations

from sim.errors import InputError, InputErrors, escape, kind_of, short_repr, suggest


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


def test_short_repr_cuts_long_values() -> None:
    text = short_repr("x" * 10_000)
    assert len(text) == 80 and text.endswith("…")
    assert short_repr({i: i for i in range(1000)}) == "<a dict of 1,000 items>"
    assert short_repr(10**5000).startswith("<an integer of about 5,00")  # str() of it would raise


def test_short_repr_escapes_control_characters() -> None:
    assert short_repr("a\x1b[31mb") == "'a\\x1b[31mb'"


def test_error_text_is_escaped_and_bounded() -> None:
    e = InputError("got " + "y" * 5000 + "\x1b", file="f\x1b.yaml", line=3, key="k\n")
    text = str(e)
    assert "\x1b" not in text and "\n" not in text and len(text) < 700 and text.startswith("f\\x1b.yaml:3: k\\n: ")


def test_escape_keeps_printable_unicode() -> None:
    assert escape("縣 share ≥ 0.5", 80) == "縣 share ≥ 0.5"


def test_kind_of_never_echoes() -> None:
    assert kind_of("root:x:0:0") == "text (10 characters) instead" and kind_of([1, 2]) == "a list of 2 items"


def test_input_errors_count_omitted() -> None:
    errs = InputErrors([InputError("a")], omitted=5)
    assert errs.count == 6


def test_input_error_passes_through_a_generator_context_manager() -> None:
    # a frozen dataclass raised here became FrozenInstanceError (contextlib sets __traceback__): exit 70, not 2
    import contextlib

    import pytest

    @contextlib.contextmanager
    def cm():  # type: ignore[no-untyped-def]
        yield

    with pytest.raises(InputError, match="x"), cm():
        raise InputError("x")
