"""sim.sweep_plots: curves, heatmaps and the solve chart drawn from hand-made sweep Datasets, read back from the
Axes (what is drawn equals the numbers given)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.sweep_plots import solve_chart, sweep_curves, sweep_heatmap, varying_targets, write_sweep_figures

KEY = "levers.rotation.share"
OTHER = "levers.dispatch.per_year"


def one_lever() -> xr.Dataset:
    """T1 rises with the lever, T2 stays at 0.4, T3 is not computed (NaN); south: nothing computed."""
    p = np.full((3, 3, 2), np.nan)
    p[:, 0, 0] = [0.1, 0.5, 0.9]
    p[:, 1, 0] = 0.4
    ds = xr.Dataset({"probability": ((KEY, "target", "area"), p), "lower": ((KEY, "target", "area"), p - 0.05),
                     "upper": ((KEY, "target", "area"), p + 0.05)},
                    coords={KEY: xr.Variable(KEY, [0.0, 0.25, 0.5], attrs={"units": "share (0–1)"}),
                            "target": ["T1", "T2", "T3"], "area": ["region", "south"]})
    ds.attrs["draws"] = 64
    return ds


def two_levers() -> xr.Dataset:
    p = np.zeros((2, 3, 2, 1))
    p[:, :, 0, 0] = [[0.0, 0.2, 0.4], [0.6, 0.8, 1.0]]  # T1 varies; T2 stays 0
    dims = (KEY, OTHER, "target", "area")
    ds = xr.Dataset({"probability": (dims, p), "lower": (dims, p), "upper": (dims, p)},
                    coords={KEY: [0.1, 0.3], OTHER: [0, 20, 40], "target": ["T1", "T2"], "area": ["region"]})
    ds.attrs["draws"] = 10
    return ds


def test_varying_targets() -> None:
    assert varying_targets(one_lever(), "region") == (["T1"], ["T2"])
    assert varying_targets(one_lever(), "south") == ([], [])


def test_curves_draw_each_varying_target_with_its_band() -> None:
    ax = sweep_curves(one_lever(), "region")
    (line,) = ax.lines
    assert line.get_label() == "T1"
    np.testing.assert_allclose(line.get_xdata(), [0.0, 0.25, 0.5])
    np.testing.assert_allclose(line.get_ydata(), [0.1, 0.5, 0.9])
    band = np.concatenate([p.vertices for p in ax.collections[0].get_paths()])
    assert band[:, 1].min() == pytest.approx(0.05) and band[:, 1].max() == pytest.approx(0.95)
    assert ax.get_xlabel() == f"{KEY} (share (0–1))" and ax.get_ylim() == (-0.02, 1.02)
    assert "constant over the range: T2 40%" in [t.get_text() for t in ax.texts]
    assert "64 draws" in ax.get_title()


def test_heatmap_puts_the_first_lever_down() -> None:
    ax = sweep_heatmap(two_levers(), "T1")
    image = ax.images[0].get_array()
    np.testing.assert_allclose(image, [[0.0, 0.2, 0.4], [0.6, 0.8, 1.0]])
    assert ax.get_ylabel() == KEY and ax.get_xlabel() == OTHER
    assert [t.get_text() for t in ax.texts] == ["0", "20", "40", "60", "80", "100"]


def test_write_sweep_figures(tmp_path: Path) -> None:
    curves = write_sweep_figures(one_lever(), tmp_path / "one")
    assert sorted(p.name for p in curves) == ["curves_region.png", "curves_region.svg"]  # south: nothing computed
    heatmaps = write_sweep_figures(two_levers(), tmp_path / "two", formats=("png",))
    assert [p.name for p in heatmaps] == ["heatmap_T1_region.png"]  # T2 does not vary
    assert all(p.is_file() for p in curves + heatmaps)


def test_solve_chart_marks_the_level_the_answer_and_its_interval() -> None:
    points = [{"value": v, "probability": p, "ci95_low": p - 0.1, "ci95_high": min(1.0, p + 0.1)}
              for v, p in ((40, 0.9), (0, 0.1), (20, 0.6))]
    ax = solve_chart(points, key=OTHER, units="persons/yr", target="T5", area="region", level=0.8, answer=30,
                     interval=(25, 35))
    labels = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(labels["required 80%"].get_ydata(), [0.8, 0.8])
    np.testing.assert_allclose(labels["answer 30 persons/yr"].get_xdata(), [30, 30])
    evaluated = next(line for line in ax.lines if line.get_label().startswith("_"))  # the errorbar data line
    np.testing.assert_allclose(evaluated.get_xdata(), [0, 20, 40])  # sorted by value
    np.testing.assert_allclose(evaluated.get_ydata(), [0.1, 0.6, 0.9])
    (span,) = ax.patches  # axvspan: a rectangle from x = 25 to 35
    assert (span.get_x(), span.get_x() + span.get_width()) == pytest.approx((25, 35))
    open_above = solve_chart(points, key=OTHER, units="persons/yr", target="T5", area="region", level=0.8,
                             answer=None, interval=(25, None))
    assert "95% interval of the answer (open above)" in open_above.get_legend_handles_labels()[1]
