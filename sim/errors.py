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


@dataclass(frozen=True)
class InputError(Exception):
    """One problem with user input.

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
        where = self.file or "<command line>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class InputErrors(Exception):
    """Several :class:`InputError` found in one validation pass."""

    def __init__(self, errors: Sequence[InputError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def suggest(name: str, valid: Iterable[str]) -> str:
    """A hint for an unknown name: the nearest valid name, then the full list.

    >>> suggest("shre", ["share", "backbone_share"])
    "did you mean 'share'? valid: backbone_share, share"
    """
    valid = sorted(valid)
    close = get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}valid: {', '.join(valid)}"
