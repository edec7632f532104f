"""Small scenario files for tests that run the whole command line (two counties, 64 draws, 2020–2027)."""

from __future__ import annotations

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


AT_NORM = ("uncertainties:\n  quota.establishment_multiplier_primary: {dist: fixed, value: 1.0}\n"
           "  quota.establishment_multiplier_junior: {dist: fixed, value: 1.0}\n"
           "  quota.establishment_adjustment: {dist: fixed, value: 1.0}\n")
"""``extra`` for :func:`write_small`: the teaching establishment at the national norm itself (multipliers 1) from
the first verification on (2025; a verification closes the whole gap, adjustment 1; before it the establishment
is the start year's teachers in post), so that the staffing norm (T5, assessed from 2025) can be missed and the
dispatch lever decides it (the default multipliers, above 1 as Xinjiang's published pupil–teacher ratios are,
staff most draws above the norm)."""


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
