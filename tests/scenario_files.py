"""Small scenario files for tests that run the whole command line (two counties, 64 draws, 2020–2027)."""

from __future__ import annotations

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def write_small(tmp_path: Path, name: str = "small", extra: str = "") -> Path:
    """A scenario file extending the baseline, with ``extra`` YAML appended; returns its path."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nextends: {SCENARIOS / 'baseline.yaml'}\ndraws: 64\nchunk_size: 64\nhorizon: 2027\n"
        "baseline: {counties: ['653131', '650522']}\n" + extra,
        encoding="utf-8",
    )
    return path
