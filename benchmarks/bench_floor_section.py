"""The floor of option 2 of ``docs/performance.md``: expected flows per cell, one noise term per section.

``bench_floor.py`` measures the floor of the cohort engine's present structure (one binomial per cell, flow and
year): 4.7× the whole budget of the reference workload. Option 2 keeps the cells (pupils by section and grade,
teachers by section and age band) but draws the randomness once per section, stock and year: each flow's
section total is one binomial with the mean and variance of the sum of the cells' binomials (``n* = μ²/(μ − v)``,
``p* = μ/n*``: exactly the sum's law when the cells share one probability), split over the cells in proportion
to their expected flows by systematic sampling (one uniform); county pools (drift) are placed over the county's
receiving sections the same way. This script runs that core, and nothing else, in one compiled pass per draw
(the draw's state stays in cache), for every year of the horizon, on the real starting counts of the baseline:

* pupils: dropout by grade (one total per section), promotion, grade-1 intake, rural → town/urban drift
  (one total per rural section; the county's movers placed over its town and urban sections);
* teachers: retirement and voluntary attrition by age band (one total), ageing by one band (one total),
  rural → town drift (one total, placed as above), new hires in the youngest band;
* the three teacher categories (qualified, backbone, PE/art) of the leavers and of the movers: one
  hypergeometric-like noise term each (matched moments).

That is 11 noise terms per rural section and year (8 elsewhere), against ~12 binomials per *cell* now. The
quota, recruitment, rotation, dispatch, development, facilities and assessment steps are not run: the model can
only be slower. The rates are typical values (a floor measures cost, not behaviour).

Usage (from the repository's folder)::

    .venv/bin/python benchmarks/bench_floor_section.py --draws 256

Prints process CPU milliseconds per draw and the share of the 12 ms budget.
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.cohort import initial_state, prepare  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

REFERENCE_DRAWS = 10_000
CORES = 2
BUDGET_MS_PER_DRAW = 60.0 * 1000 * CORES / REFERENCE_DRAWS  # 12 ms of one core per draw


@njit(cache=True, error_model="numpy")
def _matched_binomial(u: float, mean: float, var: float, mode: int) -> int:  # pragma: no cover - compiled
    """One section total with the mean and variance of a sum of binomials, by inversion of the uniform ``u``.

    ``mode`` 1 rounds the mean at random instead (no binomial), 2 rounds it (for the cost breakdown).
    """
    if mean <= 0.0:
        return 0
    if mode == 1:
        return int(mean + u)
    if mode == 2:
        return int(mean + 0.5)
    if var >= mean:  # cannot happen for a sum of binomials; guard rounding
        var = mean * (1.0 - 1e-12)
    n = int(mean * mean / (mean - var) + 0.5)
    if n < 1:
        n = 1
    p = mean / n
    if p >= 1.0:
        return n
    pk = (1.0 - p) ** n
    cdf = pk
    ratio = p / (1.0 - p)
    k = 0
    while u >= cdf and k < n:
        pk *= (n - k) / (k + 1) * ratio
        k += 1
        cdf += pk
    return k


@njit(cache=True, error_model="numpy")
def _systematic(total: int, weights: Any, out: Any, u: float) -> None:  # pragma: no cover - compiled
    """``total`` units over the cells in proportion to ``weights`` by systematic sampling (offset ``u``)."""
    w = 0.0
    for i in range(weights.size):
        w += weights[i]
    if total == 0 or w <= 0.0:
        for i in range(weights.size):
            out[i] = 0
        return
    step = w / total
    point = u * step
    run = 0.0
    for i in range(weights.size):
        run += weights[i]
        k = 0
        while point < run and k + 0 < total + 1:
            point += step
            k += 1
        out[i] = k


@njit(cache=True, error_model="numpy")
def _core(rng: Any, students0: Any, teachers0: Any, cats0: Any, county: Any, location: Any, n_counties: int,
          years: int, dropout: float, drift_pupils: float, hazard: Any, ageing: float,
          drift_teachers: float, intake: float, hire_share: float, mode: int) -> float:  # pragma: no cover - compiled
    d_n, s_n, g_n = students0.shape
    b_n = teachers0.shape[2]
    checksum = 0.0
    stu = np.empty((s_n, g_n), np.int64)
    tea = np.empty((s_n, b_n), np.int64)
    cat = np.empty((s_n, 3), np.int64)
    weight = np.empty(max(g_n, b_n), np.float64)
    part = np.empty(max(g_n, b_n), np.int64)
    pupil_pool = np.zeros((n_counties, g_n), np.int64)
    teacher_pool = np.zeros((n_counties, b_n), np.int64)
    receive = np.zeros(n_counties, np.float64)
    for d in range(d_n):
        stu[:] = students0[d]
        tea[:] = teachers0[d]
        cat[:] = cats0[d]
        for _ in range(years):
            pupil_pool[:] = 0
            teacher_pool[:] = 0
            receive[:] = 0.0
            for s in range(s_n):
                # pupils: dropout (one total), promotion, intake
                mean = 0.0
                for g in range(g_n):
                    weight[g] = stu[s, g] * dropout
                    mean += weight[g]
                total = _matched_binomial(rng.random(), mean, mean * (1.0 - dropout), mode)
                _systematic(total, weight[:g_n], part[:g_n], rng.random())
                for g in range(g_n - 1, 0, -1):
                    stu[s, g] = stu[s, g - 1] - part[g - 1]
                stu[s, 0] = int(stu[s, 1] * intake + 0.5)
                # teachers: retirement + attrition (one total), ageing (one total)
                mean = 0.0
                var = 0.0
                staff = 0
                for b in range(b_n):
                    h = hazard[location[s], b]
                    weight[b] = tea[s, b] * h
                    mean += weight[b]
                    var += weight[b] * (1.0 - h)
                    staff += tea[s, b]
                left = _matched_binomial(rng.random(), mean, var, mode)
                _systematic(left, weight[:b_n], part[:b_n], rng.random())
                for b in range(b_n):
                    tea[s, b] -= min(part[b], tea[s, b])
                for c in range(3):  # categories of the leavers: matched hypergeometric moments
                    if staff > 1 and left > 0:
                        share = cat[s, c] / staff
                        m = left * share
                        v = m * (1.0 - share) * (staff - left) / (staff - 1)
                        cat[s, c] -= min(_matched_binomial(rng.random(), m, v, mode), cat[s, c])
                mean = 0.0
                for b in range(b_n - 1):
                    weight[b] = tea[s, b] * ageing
                    mean += weight[b]
                weight[b_n - 1] = 0.0
                aged = _matched_binomial(rng.random(), mean, mean * (1.0 - ageing), mode)
                _systematic(aged, weight[:b_n], part[:b_n], rng.random())
                for b in range(b_n - 1, 0, -1):
                    moved = min(part[b - 1], tea[s, b - 1])
                    tea[s, b] += moved
                    tea[s, b - 1] -= moved
                tea[s, 0] += int(left * hire_share + 0.5)
                if location[s] == 2:  # rural: pupils and teachers drift to town and urban sections
                    mean = 0.0
                    for g in range(g_n):
                        weight[g] = stu[s, g] * drift_pupils
                        mean += weight[g]
                    total = _matched_binomial(rng.random(), mean, mean * (1.0 - drift_pupils), mode)
                    _systematic(total, weight[:g_n], part[:g_n], rng.random())
                    for g in range(g_n):
                        moved = min(part[g], stu[s, g])
                        stu[s, g] -= moved
                        pupil_pool[county[s], g] += moved
                    mean = 0.0
                    staff = 0
                    for b in range(b_n):
                        weight[b] = tea[s, b] * drift_teachers
                        mean += weight[b]
                        staff += tea[s, b]
                    total = _matched_binomial(rng.random(), mean, mean * (1.0 - drift_teachers), mode)
                    _systematic(total, weight[:b_n], part[:b_n], rng.random())
                    for b in range(b_n):
                        moved = min(part[b], tea[s, b])
                        tea[s, b] -= moved
                        teacher_pool[county[s], b] += moved
                    for c in range(3):
                        if staff > 1 and total > 0:
                            share = cat[s, c] / staff
                            m = total * share
                            v = m * (1.0 - share) * (staff - total) / (staff - 1)
                            cat[s, c] -= min(_matched_binomial(rng.random(), m, v, mode), cat[s, c])
                else:
                    receive[county[s]] += 1.0
            # placement of each county's pools over its town and urban sections: systematic, one uniform each
            u_pupil = np.empty(n_counties)
            u_teacher = np.empty(n_counties)
            for c in range(n_counties):
                u_pupil[c] = rng.random()
                u_teacher[c] = rng.random()
            seen = np.zeros(n_counties)
            for s in range(s_n):
                c = county[s]
                if location[s] == 2 or receive[c] == 0.0:
                    continue
                lo = seen[c] / receive[c]
                seen[c] += 1.0
                hi = seen[c] / receive[c]
                for g in range(g_n):
                    n = pupil_pool[c, g]
                    stu[s, g] += int(np.floor(n * hi + u_pupil[c]) - np.floor(n * lo + u_pupil[c]))
                for b in range(b_n):
                    n = teacher_pool[c, b]
                    tea[s, b] += int(np.floor(n * hi + u_teacher[c]) - np.floor(n * lo + u_teacher[c]))
        checksum += stu.sum() + tea.sum() + cat.sum()
    return checksum


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--draws", type=int, default=256)
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the core with the section totals rounded at random (no binomial) and "
                             "rounded without a random number: the cost of the noise and of the arithmetic")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    model = prepare(scenario)
    st = initial_state(model, args.draws)
    s = model.sections
    years = scenario.horizon - scenario.start_year
    cats = np.stack([st.qualified, st.backbone, st.pe_art], axis=-1).astype(np.int64)
    hazard = np.tile(np.array([0.03, 0.03, 0.02, 0.015, 0.01, 0.01, 0.01, 0.2, 0.9]), (3, 1))
    hazard[2] *= 1.5
    location = s.location.astype(np.int64)
    county = s.county.astype(np.int64)
    run = (model.sections.n_counties, years, 0.005, 0.02, hazard, 0.2, 0.02, 0.95, 0.9)
    rng = np.random.default_rng(1)
    modes = {"matched binomials (option 2)": 0}
    if args.breakdown:
        modes.update({"totals rounded at random": 1, "totals rounded, no random": 2})
    rural = int((location == 2).sum())
    print(f"workload        {s.n_sections:,} sections ({rural:,} rural), {years} years, {args.draws} draws")
    print("noise terms     8 per section and year, 11 per rural section; 2 per county (placement)")
    print(f"budget          {BUDGET_MS_PER_DRAW:.0f} ms of one core per draw "
          f"({REFERENCE_DRAWS:,} draws in 60 s on {CORES} cores)")
    for label, mode in modes.items():
        _core(rng, st.students[:1], st.teachers[:1], cats[:1], county, location, *run, mode)  # compile
        t0 = time.process_time()
        _core(rng, st.students, st.teachers, cats, county, location, *run, mode)
        ms = (time.process_time() - t0) * 1000 / args.draws
        print(f"{label:30s} {ms:7.2f} ms / draw = {ms / BUDGET_MS_PER_DRAW:4.2f}× the whole budget; "
              f"10,000 draws ≈ {ms * REFERENCE_DRAWS / 1000 / CORES:,.0f} s on {CORES} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
