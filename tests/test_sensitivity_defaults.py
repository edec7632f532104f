"""Defaults of edusim sensitivity (sim/sensitivity/defaults.py): consistent with what the methods require."""

from __future__ import annotations

from sim.sensitivity.defaults import AREAS, DEFAULT_LEVER_LEVELS, DEFAULT_N, DEFAULT_REPLICATES, METHODS


def test_every_method_has_a_default_size_and_sobol_is_a_power_of_two() -> None:
    assert set(DEFAULT_N) == set(METHODS)
    n = DEFAULT_N["sobol"]
    assert n > 0 and n & (n - 1) == 0  # Saltelli/Sobol' sequences need a power of 2
    assert DEFAULT_N["morris"] >= 2


def test_replicates_and_lever_levels_allow_a_noise_estimate_and_a_slope() -> None:
    assert DEFAULT_REPLICATES >= 2 and DEFAULT_LEVER_LEVELS >= 2
    assert AREAS == ("region", "south")


def test_defaults_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = ("import sys, sim.sensitivity.defaults; "
            "print(sorted(m for m in ('numpy', 'scipy', 'SALib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
