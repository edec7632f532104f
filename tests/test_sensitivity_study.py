"""The sensitivity study end to end (sim/sensitivity/study.py): options checked and the folder refused before
any draw is run."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_files import write_small

from sim.errors import InputError
from sim.scenario import load_scenario
from sim.sensitivity.study import sensitivity


def _never(*args: object, **kwargs: object) -> None:
    raise AssertionError("a draw was run before the options and the folder were checked")


@pytest.fixture
def no_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.sensitivity.evaluation as evaluation

    monkeypatch.setattr(evaluation, "chunk_outcomes", _never)


def test_a_users_folder_is_refused_before_the_draws(tmp_path: Path, no_draws: None) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("keep", encoding="utf-8")
    with pytest.raises(InputError, match="never replaces it"):
        sensitivity(load_scenario(write_small(tmp_path)), method="morris", n=2, out_dir=mine, progress=False)
    assert [p.name for p in mine.iterdir()] == ["notes.md"]


@pytest.mark.parametrize(("options", "key"), [({"replicates": 1}, "--replicates"), ({"lever_levels_count": 1},
                                              "--lever-levels"), ({"area": "north"}, "--area")])
def test_bad_options_are_input_errors(tmp_path: Path, no_draws: None, options: dict, key: str) -> None:
    with pytest.raises(InputError) as e:
        sensitivity(load_scenario(write_small(tmp_path)), method="morris", n=2, out_dir=tmp_path / "o",
                    progress=False, **options)
    assert e.value.key == key


def test_two_dask_workers_write_the_same_files_with_registry_factors(tmp_path: Path, dask_scheduler: str) -> None:
    """The whole study (design, draws, analysis, files) on a 2-worker LocalCluster equals the one-process study
    byte for byte, with registry hyperparameters among the factors (issue 14: they are drawn per draw, so a worker
    must get the design's value, not redraw it). Two counties, 2 Morris trajectories × 2 replicates."""
    small = load_scenario(write_small(tmp_path))
    options = {"method": "morris", "n": 2, "replicates": 2, "progress": False, "figures": False,
               "factors": "registry.backbone_share,registry.facility_spread"}
    sensitivity(small, out_dir=tmp_path / "serial", **options)
    sensitivity(small, out_dir=tmp_path / "dask", scheduler=dask_scheduler, **options)
    for name in ("indices.csv", "design.csv", "outcomes.csv"):
        serial, dask = ((tmp_path / d / name).read_bytes() for d in ("serial", "dask"))
        assert serial == dask, name
    design = (tmp_path / "serial" / "design.csv").read_text(encoding="utf-8")
    assert "registry.backbone_share" in design and len(design.splitlines()) > 3  # the factors were studied
