"""Bounded, line-tracking YAML reading for scenario and target-set files.

Every YAML file edusim reads (scenarios, their ``extends`` parents, target sets) goes through
:func:`load_yaml`, which keeps the line of every key and bounds the work a file can cause, so that no input
makes ``edusim validate`` use more than a few hundred MB or a few seconds:

- the file must be a regular file of at most :data:`MAX_FILE_BYTES` bytes of UTF-8 text without control
  characters (YAML's printable set: tab, line breaks and printable Unicode);
- nesting is at most :data:`MAX_DEPTH` levels deep, a document has at most :data:`MAX_NODES` nodes (keys,
  values and list items), and at most :data:`MAX_VALUES` values once aliases (``*name``) are expanded, so an
  alias bomb ("billion laughs") is an error, not an out-of-memory kill;
- an integer has at most :data:`MAX_INT_DIGITS` digits.

Events come from libyaml's parser when PyYAML has it (it keeps an explicit stack and refuses nesting beyond
1,000 levels itself); composition into nodes is PyYAML's Python composer, bounded here.

Scalars are read with the **YAML 1.2 core schema** (``docs/scenario.md``): ``true``/``false`` (any case form
of the spec), ``null``/``~``/empty, decimal integers, ``0o`` octal and ``0x`` hexadecimal integers, decimal
floats with an optional exponent (``3.5e9``), ``.inf``/``-.inf``/``.nan``. Everything else is text: YAML 1.1
forms such as ``yes``/``no``/``on``/``off``, ``5_000``, ``1:20`` (sexagesimal), ``017`` read as octal, and
dates are **not** numbers, booleans or dates here, so they are rejected wherever a number or a boolean is
expected. Only the plain tags ``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map`` and
``!!seq`` are allowed; merge keys (``<<``) and duplicate keys are errors.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from sim.errors import InputError, InputErrors, short_repr

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INT_DIGITS",
    "MAX_NODES",
    "MAX_VALUES",
    "LoadedYaml",
    "format_key",
    "load_yaml",
    "path_problem",
]

#: Largest file read, in bytes (the shipped scenarios and target sets are under 5 kB).
MAX_FILE_BYTES = 256 * 1024
#: Deepest nesting of mappings and lists (a scenario needs 4 levels).
MAX_DEPTH = 50
#: Most nodes (keys, values, list items) in one document, as written.
MAX_NODES = 20_000
#: Most values once aliases are expanded (each use of ``*name`` counts the values it stands for again).
MAX_VALUES = 50_000
#: Most digits of an integer (int64 holds 19; years, counts and seeds need fewer).
MAX_INT_DIGITS = 30
#: Longest path accepted in ``extends``, ``targets`` or ``baseline.registry`` (Linux PATH_MAX is 4096).
MAX_PATH_CHARS = 1024

Path_ = tuple[str | int, ...]

# YAML's printable character set (YAML 1.2 §5.1); anything else is refused before parsing.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALAR_TAGS = (_STR, _INT, _FLOAT, _BOOL, _NULL)

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1023-core-schema), tag resolution of plain scalars
_CORE_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_CORE_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_CORE_INT10 = re.compile(r"^[-+]?[0-9]+$")
_CORE_INT8 = re.compile(r"^0o[0-7]+$")
_CORE_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_CORE_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_CORE_INF = re.compile(r"^[-+]?(?:\.inf|\.Inf|\.INF)$")
_CORE_NAN = re.compile(r"^(?:\.nan|\.NaN|\.NAN)$")


class _Limit(Exception):
    """A bound of :func:`load_yaml` was exceeded (message and 1-based line)."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message, self.line = message, line


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core-schema resolution of plain scalars (PyYAML resolves YAML 1.1)."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}  # type: ignore[misc]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            if _CORE_NULL.match(value):
                return _NULL
            if _CORE_BOOL.match(value):
                return _BOOL
            if _CORE_INT10.match(value) or _CORE_INT8.match(value) or _CORE_INT16.match(value):
                return _INT
            if _CORE_FLOAT.match(value) or _CORE_INF.match(value) or _CORE_NAN.match(value):
                return _FLOAT
            return _STR
        return super().resolve(kind, value, implicit)


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python reader, scanner and parser (events), used when libyaml is not available."""

    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


#: Events come from libyaml when PyYAML was built with it (ten times faster on long scalars; its parser keeps an
#: explicit stack, so deep nesting cannot overflow it); composition stays in Python, where it is bounded.
_EventParser: Any = getattr(getattr(yaml, "_yaml", None), "CParser", None) if yaml.__with_libyaml__ else None
if _EventParser is None:
    _EventParser = _PyParser


class _Loader(yaml.composer.Composer, _EventParser, yaml.constructor.SafeConstructor, _CoreResolver):
    """A safe pipeline: events, then bounded composition (depth and node count) and core-schema resolution."""

    def __init__(self, stream: str):
        _EventParser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _CoreResolver.__init__(self)
        self._depth = 0
        self._nodes = 0

    def dispose(self) -> None:
        if hasattr(_EventParser, "dispose"):
            _EventParser.dispose(self)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else None
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Limit(f"too many keys and values: more than {MAX_NODES:,} in one file", line)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Limit(f"nested more than {MAX_DEPTH} levels deep", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a scalar node under the core schema (tag already resolved or given explicitly)."""
    tag, text = node.tag, node.value
    if tag == _STR:
        return text
    if tag == _NULL:
        if not _CORE_NULL.match(text):
            raise ValueError(f"not a null: {short_repr(text)}")
        return None
    if tag == _BOOL:
        if not _CORE_BOOL.match(text):
            raise ValueError(f"not true or false: {short_repr(text)}")
        return text.lower() == "true"
    if tag == _INT:
        digits = text.lstrip("+-")
        if len(digits) > MAX_INT_DIGITS:
            raise ValueError(f"integer with {len(digits):,} digits; at most {MAX_INT_DIGITS} are allowed")
        if _CORE_INT8.match(text):
            return int(text[2:], 8)
        if _CORE_INT16.match(text):
            return int(text[2:], 16)
        if _CORE_INT10.match(text):
            return int(text, 10)
        raise ValueError(f"not an integer (YAML 1.2): {short_repr(text)}")
    if tag == _FLOAT:
        if _CORE_NAN.match(text):
            return math.nan
        if _CORE_INF.match(text):
            return -math.inf if text.startswith("-") else math.inf
        if _CORE_FLOAT.match(text) or _CORE_INT10.match(text):
            if len(text) > 400:
                raise ValueError(f"number with {len(text):,} characters is too long")
            return float(text)
        raise ValueError(f"not a number (YAML 1.2): {short_repr(text)}")
    raise ValueError(f"tag {short_repr(tag)} is not allowed")


@dataclass(frozen=True)
class LoadedYaml:
    """A YAML document with the line of every key.

    Attributes
    ----------
    data
        The plain Python value (dicts, lists, scalars).
    lines
        Key path (tuple of keys and list indices) → ``(file, 1-based line)`` where it was written.
    file
        The file as the user named it.
    """

    data: Any
    lines: Mapping[Path_, tuple[str, int]]
    file: str


def path_problem(path: str) -> str | None:
    """Why ``path`` (as written in a file) cannot name a file to read, or ``None``.

    Catches what would otherwise raise inside :mod:`os`: NUL bytes, over-long paths or names, symlink loops.
    """
    if "\x00" in path:
        return "the path contains a NUL character"
    if len(path) > MAX_PATH_CHARS:
        return f"the path is {len(path):,} characters long (at most {MAX_PATH_CHARS})"
    if any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in Path(path).parts):
        return "a name in the path is longer than 255 bytes"
    try:
        os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read the path: {exc.strerror or type(exc).__name__}"
    except (ValueError, RuntimeError) as exc:
        return f"cannot read the path: {exc}"
    return None


def _read_text(path: str | Path, file: str) -> str:
    def fail(message: str) -> InputErrors:
        return InputErrors([InputError(message, file=file)])

    problem = path_problem(str(path))
    if problem:
        raise fail(problem)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail("is a directory, not a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise fail("is not a regular file (a device, pipe or socket); give a YAML file")
    if info.st_size > MAX_FILE_BYTES:
        raise fail(f"file is {info.st_size:,} bytes; a YAML file edusim reads may have at most {MAX_FILE_BYTES:,}")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"file has more than {MAX_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputErrors(
            [InputError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line})", file=file, line=line)]
        ) from None
    text = text.removeprefix("\ufeff")
    bad = _NON_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise InputErrors(
            [
                InputError(
                    f"character U+{ord(bad.group()):04X} at column {column} is not allowed in YAML "
                    "(control characters and non-characters)",
                    file=file,
                    line=line,
                )
            ]
        )
    return text


def load_yaml(path: str | Path) -> LoadedYaml:
    """Read a YAML file safely and within bounds, keeping the line of every key.

    Raises
    ------
    InputErrors
        The file is missing, unreadable, not a regular file, too large, not UTF-8, holds control characters,
        is empty or not valid YAML, exceeds a bound (nesting, nodes, alias expansion, integer digits), or has
        duplicate keys, tags other than the plain ones or merge keys; every duplicate key is reported.
    """
    file = str(path)
    text = _read_text(path, file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except _Limit as exc:
        raise InputErrors([InputError(exc.message, file=file, line=exc.line)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InputErrors(
            [InputError(f"YAML syntax error: {what}", file=file, line=mark.line + 1 if mark else None)]
        ) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InputErrors([InputError(f"YAML error: {type(exc).__name__}", file=file)]) from None
    finally:
        loader.dispose()
    if node is None:
        raise InputErrors([InputError("file is empty", file=file)])
    builder = _Builder(file)
    try:
        data = builder.build(node, (), frozenset())
    except _Limit as exc:
        raise InputErrors([InputError(exc.message, file=file, line=exc.line)]) from None
    if builder.errors:
        raise InputErrors(builder.errors)
    return LoadedYaml(data, builder.lines, file)


class _Builder:
    """Plain Python values from a node graph, with lines, duplicate-key checks and an alias-expansion budget."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[Path_, tuple[str, int]] = {}
        self.errors: list[InputError] = []
        self.values = 0

    def _error(self, message: str, line: int, path: Path_) -> None:
        self.errors.append(InputError(message, file=self.file, line=line, key=format_key(path) or None))

    def build(self, node: yaml.Node, path: Path_, active: frozenset[int]) -> Any:
        line = node.start_mark.line + 1
        self.values += 1
        if self.values > MAX_VALUES:
            raise _Limit(
                f"the document expands to more than {MAX_VALUES:,} values (aliases *name repeat what they "
                "stand for); write the values out or use fewer aliases",
                line,
            )
        if len(path) > MAX_DEPTH:
            raise _Limit(f"nested more than {MAX_DEPTH} levels deep (through aliases)", line)
        if isinstance(node, yaml.ScalarNode):
            try:
                return _scalar(node)
            except (ValueError, OverflowError) as exc:
                self._error(f"not allowed: {exc}", line, path)
                return None
        if node.tag not in (_MAP, _SEQ):
            self._error(f"tag {short_repr(node.tag)} is not allowed", line, path)
            return None
        if id(node) in active:
            self._error("recursive alias is not allowed", line, path)
            return None
        active = active | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.lines[(*path, i)] = (self.file, item.start_mark.line + 1)
                items.append(self.build(item, (*path, i), active))
            return items
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            kline = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self._error("keys must be plain names or numbers", kline, path)
                continue
            if key_node.value == "<<" and key_node.tag == _STR and not key_node.style:
                self.errors.append(
                    InputError("merge keys (<<) are not supported; use extends:", file=self.file, line=kline)
                )
                continue
            k = self.build(key_node, path, active)
            if isinstance(k, float) and math.isnan(k):
                self._error("keys must be plain names or numbers", kline, path)
                continue
            if k in out:
                self.errors.append(
                    InputError(
                        f"duplicate key {short_repr(k)} (first written at line {first_line[k]})",
                        file=self.file,
                        line=kline,
                        key=format_key((*path, k)),
                    )
                )
                continue
            first_line[k] = kline
            self.lines[(*path, k)] = (self.file, kline)
            out[k] = self.build(value_node, (*path, k), active)
        return out


def format_key(path: Path_) -> str:
    """A key path as written in messages: ``levers.rotation.share``, ``targets[2].metric``."""
    out = ""
    for seg in path:
        if isinstance(seg, int) and not isinstance(seg, bool) and not (1000 <= seg <= 9999):
            out += f"[{seg}]"  # a list position (4-digit ints are years, written as keys)
        else:
            text = seg if isinstance(seg, str) else str(seg)
            text = short_repr(text, 60)[1:-1] if not text.isprintable() or len(text) > 60 else text
            out += f".{text}" if out else text
    return out
