"""Documents generated from the code stay current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_parameter_table_is_up_to_date():
    spec = importlib.util.spec_from_file_location("build_parameters", DOCS / "build_parameters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "parameters.md").read_text(encoding="utf-8") == module.render(), (
        "docs/parameters.md is out of date: run python docs/build_parameters.py"
    )


def test_every_registered_parameter_has_a_source():
    from sim.parameters import PARAMETERS

    for name, parameter in PARAMETERS.items():
        assert parameter.source.strip(), name
        assert parameter.units.strip(), name
