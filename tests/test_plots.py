"""Fan charts and the target-probability chart: what is drawn equals the quantiles of results.nc."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scenario_files import write_small

from sim import chart_text, plots
from sim.cli import main
from sim.plots import fan_figure, series_values, target_probability_chart
from sim.rundir import open_run


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("plots")
    out = tmp / "out"
    assert main(["run", str(write_small(tmp)), "--out", str(out), "--quiet"]) == 0
    return out


def band(ax, gid: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, lower, upper) of the band with ``gid``, read back from the PolyCollection's vertices."""
    (coll,) = [c for c in ax.collections if c.get_gid() == gid]
    vertices = np.concatenate([p.vertices for p in coll.get_paths()])
    xs = np.unique(vertices[:, 0])
    lower = np.array([vertices[vertices[:, 0] == x, 1].min() for x in xs])
    upper = np.array([vertices[vertices[:, 0] == x, 1].max() for x in xs])
    return xs, lower, upper


def median_line(ax):
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "median"]
    return line


def test_run_writes_png_and_svg_of_every_figure(run_folder: Path) -> None:
    figures = run_folder / "figures"
    stems = {p.stem for p in figures.iterdir()}
    expected = {f"fan_{s.name}" for s in plots.SERIES} | {"fan_indicator_cv_region", "fan_indicator_cv_south",
                                                          "target_probabilities"}
    assert stems == expected
    for stem in expected:
        assert (figures / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (figures / f"{stem}.svg").read_text(encoding="utf-8")[:2000]


@pytest.mark.parametrize("area", ["region", "south"])
def test_band_edges_are_quantiles_of_results(run_folder: Path, area: str) -> None:
    run = open_run(run_folder)
    fig = fan_figure(run.results, "quality_school_share", run.targets)
    ax = fig.axes[0 if area == "region" else 1]
    values = run.results["quality_school_share"].sel(area=area).values  # straight from results.nc
    years = run.results["year"].values
    for lo, hi in [(5, 95), (10, 90), (25, 75)]:
        xs, lower, upper = band(ax, f"band-{lo}-{hi}")
        np.testing.assert_array_equal(xs, years)
        np.testing.assert_allclose(lower, np.quantile(values, lo / 100, axis=0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(upper, np.quantile(values, hi / 100, axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(median_line(ax).get_ydata(), np.median(values, axis=0), atol=1e-12)
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "90% of draws (5th–95th percentile)" in legend and "50% of draws (25th–75th percentile)" in legend
    assert "median of 64 draws" in legend


def test_vacancy_rate_and_students_per_teacher_are_ratios_of_area_totals(run_folder: Path) -> None:
    run = open_run(run_folder)
    ds = run.results
    vac = ds["vacancies_area"].sel(area="region").values / ds["staffing_requirement_area"].sel(area="region").values
    ax = fan_figure(ds, "vacancy_rate").axes[0]
    _, lower, upper = band(ax, "band-10-90")
    np.testing.assert_allclose(lower, np.quantile(vac, 0.10, axis=0), rtol=1e-6)
    np.testing.assert_allclose(upper, np.quantile(vac, 0.90, axis=0), rtol=1e-6)
    spt = ds["students_area"].sel(area="south").values / ds["teachers_counted_area"].sel(area="south").values
    np.testing.assert_allclose(series_values(ds, "students_per_teacher", "south").values, spt, rtol=1e-6)


def test_cv_series_is_median_over_counties_per_draw(run_folder: Path) -> None:
    ds = open_run(run_folder).results
    cv = ds["indicator_cv"].sel(indicator="floor_area_m2_per_student", level="primary").values  # draw, year, county
    expected = np.empty(cv.shape[:2])
    for d in range(cv.shape[0]):
        for y in range(cv.shape[1]):
            finite = cv[d, y][np.isfinite(cv[d, y])]
            expected[d, y] = np.median(finite) if finite.size else np.nan
    got = series_values(ds, "cv:floor_area_m2_per_student:primary", "region").values
    np.testing.assert_allclose(got, expected, equal_nan=True)


def test_targets_and_history_are_drawn(run_folder: Path) -> None:
    run = open_run(run_folder)
    ax = fan_figure(run.results, "quality_school_share", run.targets).axes[0]
    (t3,) = [ln for ln in ax.lines if ln.get_label().startswith("T3")]
    assert list(t3.get_xdata()) == [2027] and list(t3.get_ydata()) == [0.30]
    assert t3.get_label() == "T3: ≥ 30% in 2027"
    (history,) = [p for p in ax.patches if p.get_label().startswith("history")]
    xs = history.get_path().transformed(history.get_patch_transform()).vertices[:, 0]
    assert xs.min() == 2020 and xs.max() == 2024


def test_target_probability_chart_plots_targets_csv(run_folder: Path) -> None:
    with open(run_folder / "targets.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ax = target_probability_chart(rows)
    for scope in ("region", "south"):
        (line,) = [ln for ln in ax.lines if ln.get_gid() == f"probability-{scope}"]
        expected = [float(r["probability"]) for r in rows if r["scope"] == scope and r["probability"]]
        np.testing.assert_allclose(line.get_xdata(), expected)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(dict.fromkeys(r["target"] for r in rows))


def test_plot_command_and_bad_input(run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(run_folder), "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "fan_rotated.svg").is_file()
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    assert main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a run folder: missing results.nc" in err and "Traceback" not in err


def test_lang_zh_without_cjk_font_names_what_to_install(run_folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(chart_text, "cjk_font", lambda: None)
    for command in (["plot", str(run_folder)], ["report", str(run_folder)], ["diagnose", str(run_folder)]):
        assert main([*command, "--lang", "zh"]) == 2
        err = capsys.readouterr().err
        assert "fonts-noto-cjk" in err and "Traceback" not in err


@pytest.mark.skipif(chart_text.cjk_font() is None, reason="no CJK font installed")
def test_lang_zh_titles_with_a_cjk_font(run_folder: Path, tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph warns: would be a box
        assert main(["plot", str(run_folder), "--lang", "zh", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "fan_quality_balanced.png").is_file()


def test_importing_sim_does_not_import_matplotlib() -> None:
    code = ("import sys, sim, sim.cli, sim.plots, sim.compare, sim.diagnose, sim.report; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
