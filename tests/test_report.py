"""``edusim report``: the page states the probabilities of targets.csv, lights them, and needs no network."""

from __future__ import annotations

import base64
import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sim.cli import main
from sim.report import light, render_report
from sim.rundir import open_run

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim.runner import load_with_overrides, run_scenario

    tmp = tmp_path_factory.mktemp("report")
    path = tmp / "small.yaml"
    path.write_text(
        f"name: small\nextends: {SCENARIOS / 'baseline.yaml'}\ndraws: 64\nchunk_size: 64\nhorizon: 2027\n"
        "baseline: {counties: ['653131', '650522']}\nlevers:\n  rotation: {share: 0.2}\n",
        encoding="utf-8",
    )
    return run_scenario(load_with_overrides(path), tmp / "out", progress=False, figures=False).out_dir


class Statements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, str | None]] = []
        self.urls: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "li" and a.get("class") == "statement":
            self.items.append({**a, "text": ""})
            self._in = True
        for key in ("src", "href"):
            if a.get(key):
                self.urls.append(str(a[key]))
        if tag in ("script", "link", "iframe"):
            self.urls.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.items[-1]["text"] = str(self.items[-1]["text"]) + data


def parse(page: str) -> Statements:
    parser = Statements()
    parser.feed(page)
    return parser


def test_probabilities_equal_targets_csv(run_folder: Path) -> None:
    with open(run_folder / "targets.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    page = parse(render_report(open_run(run_folder), figures=False))
    assert len(page.items) == len(rows)
    for row, item in zip(rows, page.items, strict=True):
        assert (item["data-target"], item["data-scope"]) == (row["target"], row["scope"])
        assert item["data-probability"] == row["probability"]
        assert (item["data-ci95-low"], item["data-ci95-high"]) == (row["ci95_low"], row["ci95_high"])
        text = str(item["text"])
        if row["probability"]:
            p, lo, hi = (round(100 * float(row[k])) for k in ("probability", "ci95_low", "ci95_high"))
            assert f": {p}% chance (95% interval {lo}–{hi}%)" in text
        else:
            assert "not computed" in text


def test_statement_wording(run_folder: Path) -> None:
    page = parse(render_report(open_run(run_folder), figures=False))
    t1 = next(i for i in page.items if i["data-target"] == "T1" and i["data-scope"] == "region")
    assert str(t1["text"]).startswith("T1 (region), ≥40% of counties quality-balanced by 2027: ")
    t7 = next(i for i in page.items if i["data-target"] == "T7" and i["data-scope"] == "south")
    assert str(t7["text"]).startswith("T7 (south), consolidation rate ≥96% every year from 2025: ")


def test_traffic_lights_follow_thresholds(run_folder: Path) -> None:
    run = open_run(run_folder)
    for green, amber in [(0.8, 0.5), (0.5, 0.3), (0.99, 0.9)]:
        page = parse(render_report(run, figures=False, green=green, amber=amber))
        for item in page.items:
            p = None if item["data-probability"] == "" else float(str(item["data-probability"]))
            expected = "grey" if p is None else "green" if p >= green else "amber" if p >= amber else "red"
            assert item["data-light"] == expected
    assert light(0.8) == "green" and light(0.7999) == "amber" and light(0.5) == "amber" and light(0.49) == "red"


def test_page_is_self_contained_with_levers_assumptions_provenance(run_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(run_folder), "--out", str(out), "--green", "0.9", "--amber", "0.4"]) == 0
    page = out.read_text(encoding="utf-8")
    parsed = parse(page)
    assert parsed.urls and all(u.startswith("data:image/png;base64,") for u in parsed.urls)
    for url in parsed.urls:
        assert base64.b64decode(url.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"https?://", page.split("<h2>Provenance")[0].split("<h2>Main assumptions")[0])
    assert '<tr class="changed"><td><code>levers.rotation.share</code></td><td>0.2</td><td>0.1</td>' in page
    assert "attrition.rural_rate" in page and "SOURCES §6 item 7" in page  # assumption with its source
    assert "20250126" in page and "scenario_sha256" in page  # provenance


def test_bad_input(run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run_folder), "--green", "0.4", "--amber", "0.6", "--out", str(tmp_path / "x")]) == 2
    assert "amber" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no such run folder" in err and "Traceback" not in err


def test_area_without_counties_is_not_computed_in_the_report(tmp_path: Path) -> None:
    # issue 11 item 4: a north-only selection has no 'south' counties; the page must not state a firm 0%
    from sim.runner import load_with_overrides, run_scenario

    path = tmp_path / "north.yaml"
    path.write_text(
        f"name: north\nextends: {SCENARIOS / 'baseline.yaml'}\ndraws: 64\nchunk_size: 64\nhorizon: 2027\n"
        "baseline: {counties: ['650522']}\n",
        encoding="utf-8",
    )
    out = run_scenario(load_with_overrides(path), tmp_path / "out", progress=False, figures=False).out_dir
    south = [i for i in parse(render_report(open_run(out), figures=False)).items if i["data-scope"] == "south"]
    assert south
    for item in south:
        assert item["data-probability"] == "" and item["data-light"] == "grey"
        assert "not computed" in str(item["text"]) and "chance" not in str(item["text"])
    with open(out / "targets.csv", encoding="utf-8") as f:
        assert all(r["probability"] == "" for r in csv.DictReader(f) if r["scope"] == "south")
    assert "0.0% [" not in "".join(
        line.split("|")[3] for line in (out / "targets.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| T")
    )


def test_report_out_never_replaces_a_users_file_without_overwrite(run_folder: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "thesis.html"
    mine.write_text("my own page", encoding="utf-8")
    assert main(["report", str(run_folder), "--out", str(mine)]) == 2
    assert mine.read_text(encoding="utf-8") == "my own page"
    assert "thesis.html is an existing file" in capsys.readouterr().err
    assert main(["report", str(run_folder), "--out", str(tmp_path)]) == 2  # a folder is never a report
    assert main(["report", str(run_folder), "--out", str(mine), "--overwrite"]) == 0
    assert mine.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_diagnose_and_plot_out_keep_a_users_folder(run_folder: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "figures"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    for command in ("diagnose", "plot"):
        assert main([command, str(run_folder), "--out", str(mine)]) == 2
        assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
        fresh = tmp_path / f"new-{command}"
        assert main([command, str(run_folder), "--out", str(fresh)]) == 0
        assert (fresh / ".edusim-folder.json").is_file()
        assert main([command, str(run_folder), "--out", str(fresh)]) == 2  # an edusim folder: only with --overwrite
        assert main([command, str(run_folder), "--out", str(fresh), "--overwrite"]) == 0
    capsys.readouterr()
