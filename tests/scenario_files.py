"""Small scenario files for tests that run the whole command line (two counties, 64 draws, 2020–2027)."""

from __future__ import annotations

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def write_small(tmp_path: Path, name: str = "small", extra: str = "", scaled: bool = True) -> Path:
    """A scenario file extending the baseline, with ``extra`` YAML appended; returns its path.

    ``scaled=False`` gives the region-wide quantity levers (5,000 dispatched teachers a year, the capital budget…)
    to the two counties in full (``baseline.scale_region_levers: false``), for tests of levers that must matter.
    """
    path = tmp_path / f"{name}.yaml"
    flag = "" if scaled else ", scale_region_levers: false"
    path.write_text(
        f"name: {name}\nextends: {SCENARIOS / 'baseline.yaml'}\ndraws: 64\nchunk_size: 64\nhorizon: 2027\n"
        f"baseline: {{counties: ['653131', '650522']{flag}}}\n" + extra,
        encoding="utf-8",
    )
    return path
