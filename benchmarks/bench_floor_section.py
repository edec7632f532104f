"""The floor of option 2 of ``docs/performance.md``: expected flows per cell, one noise term per section.

``bench_floor.py`` measures the floor of the cohort engine's present structure (one binomial per cell, flow and
year): 4.7× the whole budget of the reference workload. Option 2 keeps the cells (pupils by section and grade,
teachers by section and age band) but draws the randomness once per section, flow and year: the flow's section
total is its expected value plus a normal term with the variance of the sum of the cells' binomials (floored at
zero), split over the cells in proportion to their expected flows by systematic sampling (one uniform). This
script runs that core, and nothing else, in one compiled pass per year, on the real starting counts of the
baseline, for every year of the horizon:

* pupils: dropout by grade (one term per section), promotion, grade-1 intake, rural → town/urban drift (one
  term per rural section);
* teachers: retirement and voluntary attrition by age band (one term), ageing by one band (one term), rural →
  town drift (one term per rural section);
* the three teacher categories (qualified, backbone, PE/art) of the leavers and of the rural movers: one term
  each, with the hypergeometric variance.

That is 6 noise terms per section and year and 11 per rural section (≈ 650,000 normal and as many uniform
variates a draw), against about a dozen binomials per *cell* now. Not run: the placement of the movers in
their county, new hires, and the quota, recruitment, rotation, dispatch, development, facilities and assessment
steps, so the model can only be slower. The rates are typical values (a floor measures cost, not behaviour).

Layout: the state is ``(section, cell, draw)`` with the draws of a block of 64 innermost, so that every
operation is the same arithmetic across 64 draws (vectorised by the compiler, no branch on the data). The first
version of this script kept one draw's state at a time (draws outermost, scalar code, binomial totals by
inversion): 58 ms a draw, 31 ms with the noise replaced by rounding — see ``benchmarks/README.md``.

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_floor_section.py --draws 256

Prints process CPU milliseconds per draw for the whole core, the arithmetic alone (noise drawn once, before the
timing) and the variates alone (numpy's bulk ``Generator.standard_normal`` and ``random``), and the share of
the 12 ms budget.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_floor import BUDGET_MS_PER_DRAW, CORES, REFERENCE_DRAWS  # noqa: E402

from sim.cohort import initial_state, prepare  # noqa: E402
from sim.rng import BLOCK_SIZE  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

TERMS, RURAL_TERMS = 6, 5
"""Noise terms per section and year, and the extra ones of a rural section (drift of pupils, teachers and their
three categories)."""
DROPOUT, DRIFT_PUPILS, DRIFT_TEACHERS, AGEING, INTAKE = 0.005, 0.02, 0.02, 0.2, 0.95
EXIT_HAZARD = np.array([0.03, 0.03, 0.02, 0.015, 0.01, 0.01, 0.01, 0.2, 0.9])  # by 5-year age band
RURAL_FACTOR = 1.5


@njit(cache=True, fastmath=True, error_model="numpy")
def _section_flow(w: Any, tot: Any, var: Any, z: Any, u: Any, stock: Any, out: Any, scale: Any, cum: Any,
                  prev: Any, n_cells: int) -> None:  # pragma: no cover - compiled
    """One noise term per draw: the total ``tot + sqrt(var)·z`` (≥ 0) split over the cells in proportion to
    ``w`` by systematic sampling with offset ``u``, each cell capped at its stock; the parts go to ``out``."""
    n_draws = tot.size
    for d in range(n_draws):
        t = max(tot[d] + np.sqrt(var[d]) * z[d], 0.0)
        scale[d] = t / tot[d] if tot[d] > 0.0 else 0.0
        cum[d] = 0.0
        prev[d] = np.floor(u[d])
    for c in range(n_cells):
        for d in range(n_draws):
            cum[d] += w[c, d] * scale[d]
            cur = np.floor(cum[d] + u[d])
            out[c, d] = min(cur - prev[d], stock[c, d])
            prev[d] = cur


@njit(cache=True, fastmath=True, error_model="numpy")
def _category_terms(cat: Any, staff: Any, leaving: Any, z: Any, u: Any) -> None:  # pragma: no cover
    """Categories of ``leaving`` teachers out of ``staff`` (before they left): one term each, hypergeometric
    mean and variance, rounded at random; ``cat`` (3, draws) reduced in place."""
    for c in range(3):
        for d in range(cat.shape[1]):
            share = cat[c, d] / max(staff[d], 1.0)
            mean = leaving[d] * share
            var = mean * (1.0 - share) * max(staff[d] - leaving[d], 0.0) / max(staff[d] - 1.0, 1.0)
            drawn = max(np.floor(mean + np.sqrt(var) * z[c, d] + u[c, d]), 0.0)
            cat[c, d] -= min(drawn, cat[c, d])


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _shared_rate_flow(stock: Any, rate: float, n_cells: int, z: Any, u: Any, w: Any, part: Any,
                      scratch: Any) -> None:  # pragma: no cover - compiled
    """A flow at one ``rate`` out of the first ``n_cells`` cells of one section's ``stock`` (cells, draws): one
    term per draw, the parts in ``part`` (zero beyond ``n_cells``)."""
    tot, var, scale, cum, prev = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    tot[:] = 0.0
    w[:] = 0.0
    for c in range(n_cells):
        for d in range(tot.size):
            w[c, d] = stock[c, d] * rate
            tot[d] += w[c, d]
    for d in range(tot.size):
        var[d] = tot[d] * (1.0 - rate)
    _section_flow(w, tot, var, z, u, stock, part, scale, cum, prev, stock.shape[0])


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _leave(stock: Any, part: Any, staff: Any, left: Any) -> None:  # pragma: no cover - compiled
    """``staff`` = the section's teachers before, ``left`` = the parts, which leave ``stock`` (cells, draws)."""
    staff[:] = 0.0
    left[:] = 0.0
    for c in range(stock.shape[0]):
        for d in range(staff.size):
            staff[d] += stock[c, d]
            stock[c, d] -= part[c, d]
            left[d] += part[c, d]


@njit(cache=True, fastmath=True, error_model="numpy")
def _year(stu: Any, tea: Any, cat: Any, location: Any, rural_index: Any, hazard: Any, z: Any, u: Any, zr: Any,
          ur: Any) -> None:  # pragma: no cover - compiled
    """One year of the stock-flow core for every section; state ``(S, cells, D)``, noise ``(S, TERMS, D)`` and,
    for the rural sections (``rural_index``: row of a rural section, −1 otherwise), ``(R, RURAL_TERMS, D)``."""
    n_sections, n_grades, n_draws = stu.shape
    n_bands = tea.shape[1]
    w = np.empty((max(n_grades, n_bands), n_draws))
    part = np.empty((max(n_grades, n_bands), n_draws))
    scratch = np.empty((7, n_draws))
    tot, var, scale, cum, prev, staff, left = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4],
                                               scratch[5], scratch[6])
    for s in range(n_sections):
        # pupils: dropout, promotion, intake
        _shared_rate_flow(stu[s], DROPOUT, n_grades, z[s, 0], u[s, 0], w, part, scratch)
        for g in range(n_grades - 1, 0, -1):
            for d in range(n_draws):
                stu[s, g, d] = stu[s, g - 1, d] - part[g - 1, d]
        for d in range(n_draws):
            stu[s, 0, d] = np.floor(stu[s, 1, d] * INTAKE + 0.5)
        # teachers: retirement and attrition (one term), categories of the leavers, ageing (one term)
        tot[:] = 0.0
        var[:] = 0.0
        for b in range(n_bands):
            h = hazard[location[s], b]
            for d in range(n_draws):
                w[b, d] = tea[s, b, d] * h
                tot[d] += w[b, d]
                var[d] += w[b, d] * (1.0 - h)
        _section_flow(w, tot, var, z[s, 1], u[s, 1], tea[s], part, scale, cum, prev, n_bands)
        _leave(tea[s], part, staff, left)
        _category_terms(cat[s], staff, left, z[s, 2:5], u[s, 2:5])
        _shared_rate_flow(tea[s], AGEING, n_bands - 1, z[s, 5], u[s, 5], w, part, scratch)
        for b in range(n_bands - 1, 0, -1):
            for d in range(n_draws):
                tea[s, b, d] += part[b - 1, d]
                tea[s, b - 1, d] -= part[b - 1, d]
        r = rural_index[s]
        if r < 0:
            continue
        # rural → town/urban drift of pupils and of teachers (with their categories); placement not run
        _shared_rate_flow(stu[s], DRIFT_PUPILS, n_grades, zr[r, 0], ur[r, 0], w, part, scratch)
        for g in range(n_grades):
            for d in range(n_draws):
                stu[s, g, d] -= part[g, d]
        _shared_rate_flow(tea[s], DRIFT_TEACHERS, n_bands, zr[r, 1], ur[r, 1], w, part, scratch)
        _leave(tea[s], part, staff, left)
        _category_terms(cat[s], staff, left, zr[r, 2:5], ur[r, 2:5])


def _block_state(students: np.ndarray, teachers: np.ndarray, cats: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(D, S, k)`` counts → ``(S, k, D)`` float64 (draws innermost)."""
    return tuple(np.ascontiguousarray(a.transpose(1, 2, 0), dtype=np.float64) for a in (students, teachers, cats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=256, help="a multiple of 64 (blocks of draws)")
    args = parser.parse_args(argv)
    if args.draws <= 0 or args.draws % BLOCK_SIZE:
        parser.error(f"--draws must be a positive multiple of {BLOCK_SIZE}")

    scenario = load_scenario(args.scenario)
    model = prepare(scenario)
    sections = model.sections
    years = scenario.horizon - scenario.start_year
    st = initial_state(model, BLOCK_SIZE)
    cats = np.stack([st.qualified, st.backbone, st.pe_art], axis=-1).astype(np.int64)
    start = _block_state(st.students, st.teachers, cats)
    location = sections.location.astype(np.int64)
    hazard = np.stack([EXIT_HAZARD, EXIT_HAZARD, EXIT_HAZARD * RURAL_FACTOR])
    rng = np.random.default_rng(1)
    rural = location == 2
    rural_index = np.where(rural, np.cumsum(rural) - 1, -1).astype(np.int64)
    z, u = np.empty((sections.n_sections, TERMS, BLOCK_SIZE)), np.empty((sections.n_sections, TERMS, BLOCK_SIZE))
    zr = np.empty((int(rural.sum()), RURAL_TERMS, BLOCK_SIZE))
    ur = np.empty_like(zr)
    blocks = args.draws // BLOCK_SIZE

    def run(draw_noise: bool, arithmetic: bool) -> float:
        """CPU ms per draw over ``blocks`` blocks of every year."""
        for a in (z, zr):
            rng.standard_normal(out=a)
        for a in (u, ur):
            rng.random(out=a)
        t0 = time.process_time()
        for _ in range(blocks):
            stu, tea, cat = (a.copy() for a in start)
            for _ in range(years):
                if draw_noise:
                    for a in (z, zr):
                        rng.standard_normal(out=a)
                    for a in (u, ur):
                        rng.random(out=a)
                if arithmetic:
                    _year(stu, tea, cat, location, rural_index, hazard, z, u, zr, ur)
        return (time.process_time() - t0) * 1000 / args.draws

    small = [a[:40].copy() for a in start]  # compile outside the timing
    _year(*small, location[:40], rural_index[:40], hazard, z[:40], u[:40], zr, ur)
    print(f"workload        {sections.n_sections:,} sections ({int(rural.sum()):,} rural), {years} years, "
          f"{args.draws} draws "
          f"in blocks of {BLOCK_SIZE} (draws innermost)")
    print(f"noise terms     {TERMS} per section and year, {TERMS + RURAL_TERMS} per rural section: one normal and "
          "one uniform each")
    print(f"budget          {BUDGET_MS_PER_DRAW:.0f} ms of one core per draw "
          f"({REFERENCE_DRAWS:,} draws in 60 s on {CORES} cores)")
    for label, noise, arithmetic in (("stock-flow core", True, True), ("  arithmetic only", False, True),
                                     ("  variates only", True, False)):
        ms = run(noise, arithmetic)
        print(f"{label:18s} {ms:7.2f} ms / draw = {ms / BUDGET_MS_PER_DRAW:4.2f}× the whole budget; "
              f"10,000 draws ≈ {ms * REFERENCE_DRAWS / 1000 / CORES:,.0f} s on {CORES} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
