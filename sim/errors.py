"""Errors that reach the user as a message, never as a traceback.

Every problem with what the user gave us (a scenario, a target set, a registry, a command-line value) is an
:class:`InputError` naming where it is (file, line, key path), what was found and what is allowed. Several
problems found in one pass travel together as :class:`InputErrors`, so the user can fix them all at once.
The command line prints them and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches


@dataclass(eq=False)
class InputError(Exception):
    """One problem with user input.

    Not a frozen dataclass: Python sets ``__traceback__`` on an exception that passes through a context manager
    (``contextlib.contextmanager``), and a frozen dataclass would turn that into ``FrozenInstanceError``.

    Parameters
    ----------
    message
        What is wrong and what is allowed, e.g. ``"must be in [0, 1], got 1.5"``.
    file
        The file the value came from, as the user named it (``None`` for command-line values).
    line
        1-based line number in ``file`` where the offending key or value starts, when known.
    key
        Dotted key path inside the file, e.g. ``"levers.rotation.share"``.
    """

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = escape(self.file, MAX_FILE_CHARS) if self.file else "<command line>"
        if self.line is not None:
            where += f":{self.line}"
        message = escape(self.message, MAX_MESSAGE_CHARS)
        return f"{where}: {escape(self.key, MAX_KEY_CHARS)}: {message}" if self.key else f"{where}: {message}"


class InputErrors(Exception):
    """Several :class:`InputError` found in one validation pass.

    Parameters
    ----------
    errors
        The problems found.
    omitted
        How many further problems were found but not turned into messages (validation stops describing
        problems after :data:`MAX_DESCRIBED`).
    """

    def __init__(self, errors: Sequence[InputError], omitted: int = 0):
        self.errors = list(errors)
        self.omitted = omitted
        super().__init__("\n".join(str(e) for e in self.errors[:MAX_DESCRIBED]))

    @property
    def count(self) -> int:
        """Number of problems found (described or not)."""
        return len(self.errors) + self.omitted


#: Longest message, file name and key path printed (longer ones are cut with "…").
MAX_MESSAGE_CHARS = 400
MAX_FILE_CHARS = 300
MAX_KEY_CHARS = 200
#: Most problems of one pass described in full (the rest are counted).
MAX_DESCRIBED = 1000


def escape(text: str, limit: int) -> str:
    """``text`` with control characters escaped (``\\x1b``) and cut to ``limit`` characters with "…"."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit * 2])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` for an error message: escaped, and cut to ``limit`` characters with "…".

    Never echoes more than ``limit`` characters of a value, however long (a whole file read as one string, a
    huge mapping).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
    if isinstance(value, str) and len(value) > limit * 4:
        value = value[: limit * 4]
    if isinstance(value, dict | list | tuple | set) and len(value) > limit:
        return f"<a {type(value).__name__} of {len(value):,} items>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest(name: str, valid: Iterable[str]) -> str:
    """A hint for an unknown name: the nearest valid name, then the full list.

    >>> suggest("shre", ["share", "backbone_share"])
    "did you mean 'share'? valid: backbone_share, share"
    """
    valid = sorted(valid)
    close = get_close_matches(name[:100], valid, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}valid: {', '.join(valid)}"


def kind_of(value: object) -> str:
    """What a parsed YAML value is, in words, without echoing it (for values read from a file that may not be
    the user's YAML at all, such as ``extends: /etc/passwd``)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"text ({len(value):,} characters) instead"
    if isinstance(value, list):
        return f"a list of {len(value):,} items"
    return type(value).__name__
