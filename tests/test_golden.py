"""Golden regression: a small fixed run whose every output variable must not change unless the model does.

``tests/data/golden.yaml`` (three counties, both levels, 128 draws, 2020–2035, every lever kind active) is run
on the cohort engine and on the agent engine (3 draws of the same scenario), and every variable of the
result, and its coordinates, are compared **exactly** with ``tests/data/golden_results.nc`` (the cohort run's
variables with an ``indicator`` dimension are in ``tests/data/golden_results_indicators.nc``, so that each file
stays under the repository's 2 MiB limit for tracked files) and ``tests/data/golden_agents.nc``. A refactor must
leave them unchanged.

When the model changes on purpose, regenerate both files and say so, with the reason, in the commit message::

    python tests/test_golden.py --regenerate

and state in ``docs/findings.md`` how the headline results moved. Never regenerate to make a failing test
pass without knowing which change moved which number.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

DATA = Path(__file__).resolve().parent / "data"
SCENARIO = DATA / "golden.yaml"
COHORT_FILE = DATA / "golden_results.nc"
COHORT_INDICATORS_FILE = DATA / "golden_results_indicators.nc"
AGENTS_FILE = DATA / "golden_agents.nc"
AGENT_DRAWS = 3


def _run(engine: str, out: Path) -> xr.Dataset:
    from sim.runner import load_with_overrides, run_scenario

    if engine == "cohort":
        scenario = load_with_overrides(SCENARIO)
    else:
        scenario = load_with_overrides(SCENARIO, draws=AGENT_DRAWS)
    result = run_scenario(scenario, out, progress=False, figures=False, engine=engine)
    with xr.open_dataset(result.out_dir / "results.nc") as ds:
        return ds.load()


def _stripped(ds: xr.Dataset) -> xr.Dataset:
    """The numbers only: run attributes (time, commit, versions) are not part of the regression."""
    out = ds.copy()
    out.attrs = {}
    return out


def _assert_identical(new: xr.Dataset, old: xr.Dataset) -> None:
    assert sorted(new.data_vars) == sorted(old.data_vars), "the set of output variables changed"
    assert sorted(new.coords) == sorted(old.coords), "the set of coordinates changed"
    for name in list(old.coords) + list(old.data_vars):
        a, b = new[name], old[name]
        assert a.dims == b.dims, f"{name}: dims {a.dims} != {b.dims}"
        assert a.shape == b.shape, f"{name}: shape {a.shape} != {b.shape}"
        if a.dtype.kind in "fc":
            same = np.array_equal(a.values, b.values, equal_nan=True)
        else:
            same = np.array_equal(a.values, b.values)
        if not same:
            diff = np.argwhere(~((a.values == b.values) | (np.isnan(a.values) & np.isnan(b.values)))
                               if a.dtype.kind in "fc" else a.values != b.values)
            raise AssertionError(f"{name}: {len(diff)} of {a.size} values changed; first at index {diff[0].tolist()}: "
                                 f"{a.values[tuple(diff[0])]!r} (now) vs {b.values[tuple(diff[0])]!r} (golden)")


def _split(ds: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """The variables without and with an ``indicator`` dimension (two files, each under 2 MiB)."""
    with_indicator = [v for v in ds.data_vars if "indicator" in ds[v].dims]
    return ds.drop_vars(with_indicator), ds[with_indicator]


def test_golden_cohort(tmp_path: Path) -> None:
    with xr.open_dataset(COHORT_FILE) as rest, xr.open_dataset(COHORT_INDICATORS_FILE) as indicators:
        old = xr.merge([rest.load(), indicators.load()], compat="identical", join="exact", combine_attrs="drop")
        _assert_identical(_stripped(_run("cohort", tmp_path / "run")), old)


def test_golden_agents(tmp_path: Path) -> None:
    with xr.open_dataset(AGENTS_FILE) as old:
        _assert_identical(_stripped(_run("agents", tmp_path / "run")), old.load())


def regenerate() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cohort = _stripped(_run("cohort", Path(tmp) / "cohort"))
        rest, indicators = _split(cohort)
        for ds, path in ((rest, COHORT_FILE), (indicators, COHORT_INDICATORS_FILE),
                         (_stripped(_run("agents", Path(tmp) / "agents")), AGENTS_FILE)):
            # one chunk per variable: h5py's automatic small chunks compress worse (each file stays under 2 MiB)
            encoding = {v: {"zlib": True, "complevel": 9, **({"chunksizes": ds[v].shape} if ds[v].ndim else {})}
                        for v in ds.data_vars}
            ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
            print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python tests/test_golden.py --regenerate   (only when the model changes on purpose)")
    regenerate()
