"""Rules of the package layout that no single module's tests see.

- No module of ``sim/`` uses a private name (``_name``) of another module: neither ``from sim.x import _name``
  nor ``x._name`` on a module imported from ``sim``. A name another module needs is public and documented.
- The import layers are checked by ``lint-imports`` (the contract in ``pyproject.toml``), run in CI.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"

KNOWN: set[tuple[str, str]] = set()
"""Cross-module private uses that exist and are to be removed; the test fails if one is added or removed."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_uses(source: str, module: str) -> set[str]:
    """``sim.x._name`` for every private name of another ``sim`` module that ``source`` imports or uses."""
    tree = ast.parse(source)
    found: set[str] = set()
    aliases: dict[str, str] = {}  # local name → sim module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
                node.module == "sim" or node.module.startswith("sim.")):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__") and node.module != module:
                    found.add(f"{node.module}.{alias.name}")
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sim."):
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")
                and aliases[node.value.id] != module):
            found.add(f"{aliases[node.value.id]}.{node.attr}")
    return found


def test_private_uses_are_found():
    source = (
        "from sim.cohort import _Random, run_chunk\n"
        "from sim.mechanisms import rotation\n"
        "import sim.model as model\n"
        "rotation._weak_sections(1)\n"
        "model._max_lag\n"
        "rotation.rotate\n"
        "self._private\n"
    )
    assert private_uses(source, "sim.agents") == {
        "sim.cohort._Random", "sim.mechanisms.rotation._weak_sections", "sim.model._max_lag"}
    assert private_uses("from sim.steps import _move\n", "sim.steps") == set()


def test_no_module_uses_another_modules_private_names():
    uses = set()
    for path in sorted(SIM.rglob("*.py")):
        rel = str(path.relative_to(SIM.parent))
        uses |= {(rel, name) for name in private_uses(path.read_text(encoding="utf-8"), _module_name(path))}
    assert uses - KNOWN == set(), "private names used across modules (make them public)"
    assert KNOWN - uses == set(), "a known private use is gone: remove it from KNOWN"
