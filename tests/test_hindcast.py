"""edusim hindcast: the scoreboard arithmetic on hand-made frames, the window, the CLI errors, one small end-to-end
run on two counties, and the run folder written whole or not at all."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sim.cli import main
from sim.errors import InputError
from sim.hindcast import (
    band_rows,
    check_window,
    classify,
    fit_window,
    flows_markdown,
    hindcast_table,
    load_plans,
    observed_for_variable,
    observed_history,
    period_bound_rows,
    plan_rows,
    run_hindcast,
    scoreboard,
    with_compulsory_sums,
    yearly_flow_rows,
)
from sim.observations import COLUMNS, load_observations
from sim.scenario import load_scenario, replace

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "scenarios" / "history.yaml"
COUNTIES = ("653131", "650522")


def obs_row(series: str, level: str, year: int, value: float, *, area: str = "region", scope: str = "unknown",
            sd: float = 0.01) -> dict[str, object]:
    return {"series": series, "level": level, "area": area, "year": year, "value": float(value), "unit": "persons",
            "scope": scope, "obs_sd_rel": sd, "sd_reason": "test", "source": "hand-made", "note": ""}


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


# ----------------------------------------------------------------------------------------------- arithmetic


def test_band_rows_by_hand() -> None:
    # draws 1..5: numpy's linear percentiles are 1 + q/100·4, i.e. p5 = 1.2, p25 = 2, p50 = 3, p75 = 4, p95 = 4.8
    draws = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]])
    observed = pd.Series({2012: 4.5, 2013: 30.0})
    out = band_rows(observed, draws, [2012, 2013])
    assert out.loc[2012, ["p5", "p25", "median", "p75", "p95"]].tolist() == pytest.approx([1.2, 2, 3, 4, 4.8])
    assert not out.loc[2012, "inside_50"] and out.loc[2012, "inside_90"]  # 4 < 4.5 ≤ 4.8
    assert out.loc[2012, "abs_pct_error"] == pytest.approx(100 * 1.5 / 4.5)
    assert out.loc[2013, "inside_50"] and out.loc[2013, "inside_90"] and out.loc[2013, "abs_pct_error"] == 0


def tiny_results() -> xr.Dataset:
    """Five draws of pupils over 2011–2014: draw d (1..5) has d·k in year 2011 + k (k = 0 → 1 pupil)."""
    years = np.arange(2011, 2015)
    draws = np.arange(1, 6)
    scale = np.array([1.0, 1.0, 10.0, 100.0])  # year factors: draws 1..5, 1..5, 10..50, 100..500
    values = draws[:, None] * scale[None, :]
    area = np.stack([values, values], axis=-1)
    dims = ("draw", "year", "area")
    # by level: primary the same draws, junior half of them
    return xr.Dataset({"students_area": (dims, area), "students_primary_area": (dims, area),
                       "students_junior_area": (dims, area / 2)},
                      coords={"draw": draws - 1, "year": years, "area": ["region", "south"]})


def test_scoreboard_by_hand() -> None:
    primary = [obs_row("pupils", "primary", y, v) for y, v in [(2011, 2), (2012, 2), (2013, 30), (2014, 400)]]
    junior = [obs_row("pupils", "junior", y, v) for y, v in [(2011, 1), (2012, 2.5), (2013, 15), (2014, 200)]]
    scenario = fit_window(load_scenario(HISTORY), 2011, 2014)
    classified = classify(frame(*primary, *junior), scenario, 2011, 2014, fit_until=2013)
    table = hindcast_table(tiny_results(), classified)
    compared = table[(table["status"] == "compared") & (table["level"] == "compulsory")].set_index("year")
    # primary + junior: 3 (start), 4.5, 45, 600
    assert compared["observed"].tolist() == [3, 4.5, 45, 600]
    # 2012: draws 1..5 → median 3, p5 1.2, p95 4.8: 4.5 inside the 90% band, outside the 50% band (2–4)
    # 2013: draws 10..50 → median 30, p25 20, p75 40, p5 12, p95 48: 45 inside 90%, outside 50%
    # 2014: draws 100..500 → median 300, p95 480: 600 outside both
    assert compared.loc[2012:, "inside_50"].tolist() == [False, False, False]
    assert compared.loc[2012:, "inside_90"].tolist() == [True, True, False]
    assert pd.isna(compared.loc[2011, "inside_90"])  # the start year is the model's input: not scored
    board = scoreboard(table).set_index(["series", "level"])
    # primary alone: medians 3, 30, 300 against 2, 30, 400 → fitted (50% + 0%) / 2, held out 25%
    assert board.loc[("pupils", "primary"), "fitted_mape"] == pytest.approx(25.0)
    assert board.loc[("pupils", "primary"), "held_out_mape"] == pytest.approx(25.0)
    # junior: medians 1.5, 15, 150 against 2.5, 15, 200 → fitted (40% + 0%) / 2, held out 25%
    assert board.loc[("pupils", "junior"), "fitted_mape"] == pytest.approx(20.0)
    row = board.loc[("pupils", "compulsory")]
    assert row["fitted_n"] == 2 and row["held_out_n"] == 1
    assert row["fitted_mape"] == pytest.approx((100 * 1.5 / 4.5 + 100 * 15 / 45) / 2)
    assert row["fitted_cover50"] == 0 and row["fitted_cover90"] == 1
    assert row["held_out_mape"] == pytest.approx(50.0)
    assert row["held_out_cover50"] == 0 and row["held_out_cover90"] == 0


def test_entrants_are_not_scored_in_the_start_year() -> None:
    # the engine does not project the start year: no grade-1 entrants there, and none must be compared
    ds = tiny_results().rename({"students_area": "student_entries_area"})
    rows = [obs_row("entrants", "primary", y, v) for y, v in [(2011, 7), (2012, 3)]]
    classified = classify(frame(*rows), fit_window(load_scenario(HISTORY), 2011, 2014), 2011, 2014, fit_until=2013)
    table = hindcast_table(ds, classified).set_index("year")
    assert table["period"].tolist() == ["start", "fitted"]
    assert table.loc[2011, ["median", "p5", "p95", "abs_pct_error"]].isna().all()
    assert table.loc[2012, "median"] == 3 and table.loc[2012, "abs_pct_error"] == 0


def test_compulsory_sum_and_its_error() -> None:
    obs = frame(obs_row("pupils", "primary", 2012, 100, sd=0.01), obs_row("pupils", "junior", 2012, 50, sd=0.02),
                obs_row("pupils", "primary", 2013, 100))  # 2013: no junior figure, no sum
    out = with_compulsory_sums(obs)
    derived = out[out["level"] == "compulsory"]
    assert derived["year"].tolist() == [2012]
    assert derived["value"].iloc[0] == 150
    assert derived["obs_sd_rel"].iloc[0] == pytest.approx(math.sqrt(1.0**2 + 1.0**2) / 150)


def test_classify_compares_like_with_like() -> None:
    rows = [obs_row("pupils", "primary", 2012, 10), obs_row("pupils", "junior", 2012, 5),
            obs_row("schools", "primary", 2012, 3), obs_row("graduates", "primary", 2012, 3),
            obs_row("fulltime_teachers", "compulsory", 2012, 9, scope="without_xpcc")]
    history = fit_window(load_scenario(HISTORY), 2011, 2013)  # all counties, with XPCC
    out = classify(frame(*rows), history, 2011, 2013, 2016).set_index(["series", "level"])["status"]
    assert out[("pupils", "compulsory")] == "compared"
    assert out[("pupils", "primary")] == "compared" and out[("pupils", "junior")] == "compared"
    assert out[("schools", "primary")] == "compared" and out[("graduates", "primary")] == "not simulated"
    assert out[("fulltime_teachers", "compulsory")] == "other scope"
    without = replace(history, {"baseline.include_xpcc": False})
    assert set(classify(frame(*rows), without, 2011, 2013, 2016).query("level == 'compulsory'")["status"]) == {
        "other scope", "compared"}  # unknown scope is read as with XPCC; the without_xpcc figure now compares
    some = replace(history, {"baseline.counties": list(COUNTIES), "baseline.include_xpcc": False})
    status = classify(frame(*rows), some, 2011, 2013, 2016).set_index(["series", "level"])["status"]
    assert status[("pupils", "compulsory")] == "other scope" and status[("fulltime_teachers", "compulsory")] == (
        "other area")


# ----------------------------------------------------------------------------------------------- the window


def test_fit_window_keeps_what_acts() -> None:
    s = replace(load_scenario(HISTORY), {
        "levers.funding.capital_cny": {2011: 1.0e9, 2016: 2.0e9, 2019: 3.0e9},
        "levers.pairing.coverage_by_year": {2011: 0.0, 2019: 0.8},
    })
    w = fit_window(s, 2013, 2017)
    assert (w.start_year, w.horizon) == (2013, 2017)
    assert w.levers.dispatch.from_year == 2013 and w.levers.dispatch.per_year == 1580
    assert w.levers.funding.capital_cny == {2013: 1.0e9, 2016: 2.0e9}
    assert w.levers.pairing.coverage_by_year == pytest.approx({2013: 0.2, 2017: 0.6})  # linear 0 → 0.8 over 8 yrs
    assert w.levers.quota.first_verification_year == 2014  # verified 2014, 2017 as in the scenario
    assert fit_window(s, 2015, 2019).levers.quota.first_verification_year == 2017  # 2014 + 3


def test_fit_window_lever_after_the_window_never_acts() -> None:
    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml")  # levers from 2025, quota first in 2025
    w = fit_window(baseline, 2011, 2019)
    # the engine applies the default group before from_year: the same values, now from the start year
    assert w.levers.dispatch.from_year == 2011 and w.levers.dispatch.per_year == 5000
    # no verification in 2012–2019: the start year only, the interval stretched past the window
    q = w.levers.quota
    assert q.first_verification_year == 2011 and 2011 + q.reverify_every_years > 2019


def test_check_window_errors() -> None:
    with pytest.raises(InputError, match=r"--start.*2011, 2024.*2010"):
        check_window(2010, 2019)
    with pytest.raises(InputError, match=r"--until.*after --start \(2015\).*2015"):
        check_window(2015, 2015)
    with pytest.raises(InputError, match="--fit-until"):
        check_window(2015, 2019, 2020)
    assert check_window(2011, 2019) == 2016 and check_window(2011, 2019, 2013) == 2013


# ----------------------------------------------------------------------------------------------- the CLI


def test_cli_errors_exit_2_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    cases = [
        (["--start", "2010"], "<command line>: --start: must be a school year in [2011, 2024]"),
        (["--start", "2015", "--until", "2014"], "--until: must be after --start (2015)"),
        (["--start", "2015", "--until", "2019", "--fit-until", "2030"], "--fit-until: must be within"),
        (["--observations", str(tmp_path / "none.csv")], "none.csv: file not found"),
    ]
    for extra, message in cases:
        assert main(["hindcast", str(HISTORY), "--out", str(out), "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_error_when_nothing_to_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obs = tmp_path / "obs.csv"
    frame(obs_row("pupils", "primary", 2030, 1), obs_row("pupils", "junior", 2030, 1)).to_csv(obs, index=False)
    assert main(["hindcast", str(HISTORY), "--observations", str(obs), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{obs}: --until: no observation to score between 2012 and 2019" in err
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------------------------- end to end


def small_history(tmp_path: Path) -> Path:
    path = tmp_path / "small_history.yaml"
    text = HISTORY.read_text(encoding="utf-8")
    text = text.replace("include_xpcc: true", "include_xpcc: false").replace(
        "counties: all", f"counties: [{', '.join(repr(c) for c in COUNTIES)}]").replace("draws: 128", "draws: 64")
    text = text.replace("targets: targets/plan-2025.yaml", f"targets: {ROOT / 'scenarios/targets/plan-2025.yaml'}")
    path.write_text(text, encoding="utf-8")
    return path


def county_observations(tmp_path: Path) -> Path:
    """Hand-made county figures (not published: the arithmetic, not the model, is under test here)."""
    rows = []
    for code in COUNTIES:
        for year, value in [(2015, 20_000), (2016, 21_000), (2017, 22_000), (2018, 23_000)]:
            rows.append(obs_row("pupils", "primary", year, value, area=code, scope="without_xpcc"))
            rows.append(obs_row("pupils", "junior", year, value / 2, area=code, scope="without_xpcc"))
        rows.append(obs_row("schools", "primary", 2017, 40, area=code, scope="without_xpcc"))
    path = tmp_path / "obs.csv"
    frame(*rows).to_csv(path, index=False)
    return path


def test_end_to_end_two_counties(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario, obs, out = small_history(tmp_path), county_observations(tmp_path), tmp_path / "run"
    status = main(["hindcast", str(scenario), "--start", "2015", "--until", "2018", "--observations", str(obs),
                   "--out", str(out), "--quiet"])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "## Scoreboard" in printed.out and f"written: {out}/" in printed.out
    names = {p.name for p in out.iterdir()}
    assert names == {"hindcast.csv", "hindcast.md", "figures", "scenario.resolved.yaml", "provenance.json",
                     ".edusim-folder.json"}
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(
        [f"hindcast-pupils-{level}-{c}.png" for c in COUNTIES for level in ("compulsory", "junior", "primary")]
        + [f"hindcast-schools-primary-{c}.png" for c in COUNTIES])
    with (out / "hindcast.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    compared = [r for r in rows if r["status"] == "compared"]
    assert {(r["area"], int(r["year"])) for r in compared if r["level"] == "compulsory"} == {
        (c, y) for c in COUNTIES for y in range(2015, 2019)}
    assert {r["period"] for r in compared if r["year"] == "2015"} == {"start"}
    assert {r["status"] for r in rows if r["series"] == "schools"} == {"compared"}  # schools_primary_nbs
    # the scoreboard's held-out MAPE recomputed from the CSV's own columns (2017, 2018 held out)
    text = (out / "hindcast.md").read_text(encoding="utf-8")
    for code in COUNTIES:
        held = [r for r in compared if r["area"] == code and int(r["year"]) >= 2017 and r["level"] == "compulsory"]
        mape = np.mean([abs(float(r["median"]) - float(r["observed"])) / float(r["observed"]) * 100 for r in held])
        inside = sum(r["inside_90"] == "True" for r in held)
        line = next(x for x in text.splitlines() if x.startswith(f"| pupils, primary + junior | {code} |"))
        cells = [c.strip() for c in line.split("|")]  # "", series, area, 3 fitted, 3 held-out, bars, ""
        assert cells[6] == f"{mape:.1f}%" and cells[8] == f"{inside} of 2"
        assert float(next(r for r in compared if r["area"] == code and r["year"] == "2016"
                          and r["level"] == "compulsory")["observed"]) == 31_500
    assert "2015→2018" in text and "fitted years 2016, held-out years 2017–2018" in text
    # two counties: the published recruitment totals (region, none in this observation file) are not compared
    assert "## Flows against published totals" in text and "| not published |" in text


def test_failed_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    scenario = load_scenario(small_history(tmp_path))
    observations = load_observations(county_observations(tmp_path))
    out = tmp_path / "run"
    out.mkdir()  # an empty folder is used as it is

    def fail(tmp: Path) -> None:
        assert (tmp / "hindcast.csv").is_file()  # written into the temporary folder, then the failure
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        run_hindcast(scenario, 2015, 2016, observations=observations, out_dir=out, progress=False, figures=False,
                     on_written=fail)
    assert list(out.iterdir()) == []  # nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obs.csv", "run", "small_history.yaml"]  # no leftovers


def test_users_folder_refused_and_rerun_needs_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario, obs = small_history(tmp_path), county_observations(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep", encoding="utf-8")
    args = ["hindcast", str(scenario), "--start", "2015", "--until", "2016", "--observations", str(obs), "--quiet"]
    assert main([*args, "--out", str(mine), "--overwrite"]) == 2  # never a folder edusim did not write
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    out = tmp_path / "run"
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*args, "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--out", str(out), "--overwrite"]) == 0


# ----------------------------------------------------------------------------------------------- observed history


def test_observed_history_for_plots() -> None:
    obs = frame(obs_row("pupils", "primary", 2012, 100), obs_row("pupils", "junior", 2012, 50),
                obs_row("pupils", "primary", 2013, 110, scope="without_xpcc"),
                obs_row("pupils", "junior", 2013, 55, scope="without_xpcc"))
    assert observed_history("pupils", "compulsory", observations=obs).to_dict() == {2012: 150}
    assert observed_history("pupils", "compulsory", include_xpcc=False, observations=obs).to_dict() == {2013: 165}
    assert observed_for_variable("students_area", observations=obs).to_dict() == {2012: 150}
    assert observed_for_variable("rotated", observations=obs).empty
    real = observed_history("fulltime_teachers", "compulsory")  # the shipped table: NBS 2011–2019 at least
    assert set(range(2011, 2020)) <= set(real.index)


def test_history_overrides_the_start_years_disabled_enrolment_rate() -> None:
    # history.yaml replaces the registry's 2020-start range U(0.90, 0.99) by U(0.55, 0.72) for its 2011 start
    # (Xinjiang < 60% in 2008, national 72.1% in 2012): every draw's start rate is inside the new range, none inside
    # the old one, and the hindcast's window keeps it
    from sim.model import sample_parameters
    from sim.rng import Streams

    name = "disability.start_enrolment_rate"
    history = load_scenario(HISTORY)
    for s in (history, fit_window(history, 2011, 2019)):
        rate = sample_parameters(s, Streams(s.seed), 0, 256)[name]
        assert rate.min() >= 0.55 and rate.max() <= 0.72
        assert rate.max() - rate.min() > 0.1  # a range, not a fixed value
    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    assert sample_parameters(baseline, Streams(baseline.seed), 0, 256)[name].min() >= 0.90


# ----------------------------------------------------------------------------------------------- flows against bounds


def flow_results() -> xr.Dataset:
    """Five draws over 2011–2016: draw d (1..5) hires d teachers a year in 2012–2015, 100 in 2016 and (which the
    engine never does: the start year has no flows) 1,000 in the start year 2011; exits d a year from a stock of
    100 teachers. The south holds nothing."""
    years = np.arange(2011, 2017)
    d = np.arange(1, 6, dtype=float)[:, None]
    hires = np.where(years == 2011, 1000.0, np.where(years == 2016, 100.0, d))
    exits = np.where(years == 2011, 0.0, d + 0 * years)
    teachers = np.full((5, years.size), 100.0)
    dims = ("draw", "year", "area")

    def area(x: np.ndarray) -> np.ndarray:
        return np.stack([x, np.zeros_like(x)], axis=-1)

    return xr.Dataset({"hires_area": (dims, area(hires)), "exits_area": (dims, area(exits)),
                       "teachers_area": (dims, area(teachers))},
                      coords={"draw": np.arange(5), "year": years, "area": ["region", "south"]})


def recruited(year: int, value: float, scope: str = "unknown") -> dict[str, object]:
    return obs_row("teachers_recruited_period", "all", year, value, scope=scope)


def test_period_bound_by_hand() -> None:
    # 2012–2015 sums (start year 2011 and 2016 left out): 4d = 4, 8, 12, 16, 20. Bound 12: draws 4, 8, 12 are within
    # (≤), 3 of 5. Linear percentiles of 4..20 in steps of 4: p5 = 4 + 0.05·16 = 4.8, median 12, p95 = 19.2.
    out = period_bound_rows(flow_results(), frame(recruited(2015, 12)), start=2011, until=2016, include_xpcc=True,
                            all_counties=True).set_index("period")
    row = out.loc["2011–2015"]
    assert row["status"] == "compared" and row["years_summed"] == "2012–2015" and row["bound"] == 12
    assert [row["p5"], row["median"], row["p95"]] == pytest.approx([4.8, 12, 19.2])
    assert row["within"] == 3 and row["share_within"] == pytest.approx(0.6)
    assert "preschool and senior high" in row["note"]
    assert out.loc["2021–2025", "status"] == "not published"  # no 2025 row in this table


def test_period_bound_partial_window_scope_and_area() -> None:
    obs = frame(recruited(2015, 12), recruited(2025, 5))
    # a run from 2013 simulates 2014–2015 only: sums 2d = 2..10, all within 12; the 2021–2025 total is outside it
    out = period_bound_rows(flow_results(), obs, start=2013, until=2016, include_xpcc=True,
                            all_counties=True).set_index("period")
    assert out.loc["2011–2015", "years_summed"] == "2014–2015"
    assert out.loc["2011–2015", "median"] == pytest.approx(6) and out.loc["2011–2015", "within"] == 5
    assert out.loc["2021–2025", "status"] == "outside the run" and pd.isna(out.loc["2021–2025", "median"])
    # a region total of unknown scope is read as including the XPCC (like every region series)
    assert period_bound_rows(flow_results(), obs, start=2011, until=2016, include_xpcc=False,
                             all_counties=True)["status"].tolist() == ["other scope", "other scope"]
    assert period_bound_rows(flow_results(), obs, start=2011, until=2016, include_xpcc=True,
                             all_counties=False)["status"].iloc[0] == "other area"


def test_plans_and_yearly_flows_by_hand() -> None:
    plans = pd.DataFrame({"year": [2016, 2011, 2013], "value": [4589.0, 11502.0, 6660.0],
                          "source": ["c", "a", "b"], "note": ["", "", ""]})
    out = plan_rows(flow_results(), plans, start=2011, until=2015).set_index("year")
    assert out.index.tolist() == [2011, 2013, 2016]
    assert out.loc[2011, "status"].startswith("start year") and out.loc[2016, "status"] == "outside the run"
    assert out.loc[2013, "status"] == "compared" and out.loc[2013, "median"] == 3  # draws hire 1..5 in 2013
    assert [out.loc[2013, "p5"], out.loc[2013, "p95"]] == pytest.approx([1.2, 4.8])
    yearly = yearly_flow_rows(flow_results()).set_index("year")
    assert yearly.index.tolist() == [2012, 2013, 2014, 2015, 2016]  # the start year has no flows
    assert yearly.loc[2016, "hires"] == 100 and yearly.loc[2013, "exits"] == 3
    assert yearly.loc[2013, "exit_rate"] == pytest.approx(0.03)  # 3 of the previous autumn's 100, median


def test_flows_section_says_bound_and_share() -> None:
    results = flow_results()
    text = flows_markdown(
        period_bound_rows(results, frame(recruited(2015, 12)), start=2011, until=2016, include_xpcc=True,
                          all_counties=True),
        plan_rows(results, pd.DataFrame({"year": [2013], "value": [6660.0], "source": ["plan source"],
                                         "note": [""]}), start=2011, until=2016),
        yearly_flow_rows(results))
    line = next(x for x in text.splitlines() if x.startswith("| teachers_recruited_period"))
    cells = [c.strip() for c in line.split("|")][1:-1]
    assert cells[1:8] == ["2011–2015", "2012–2015", "12", "12", "4.8–19.2", "3 of 5 (60%)", "compared"]
    assert "upper bound" in text and "plans are not hires" in text and "| 2013 | 6,660 | 3 | 1.2–4.8 |" in text


def test_published_hiring_figures_are_in_the_shipped_data() -> None:
    # the hindcast's flow section reads these; if a rebuild dropped them, the section would say "not published"
    plans = load_plans().set_index("year")["value"].to_dict()
    assert plans == {2011: 11502, 2013: 6660, 2016: 4589}
    obs = load_observations()
    row = obs[(obs["series"] == "teachers_recruited_period") & (obs["year"] == 2015)]
    assert row["value"].tolist() == [72600] and row["level"].tolist() == ["all"]
