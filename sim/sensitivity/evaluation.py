"""Evaluation of the design on the model: each design point on ``R`` draws, each target's value and success.

``ModelEvaluator(design) -> Y`` with shape ``(points, replicates, outputs)``. Each design point is run on ``R``
draws (replicates) that share the point's factor values and differ only in their stochastic noise (births,
attrition, recruitment … drawn from their own streams); the outputs of each target are the metric's value and
the 0/1 indicator of meeting the target (:func:`target_values`).

A lever cannot vary draw by draw inside one model run: points are grouped by lever combination, each group
with its own ``prepare`` and run. Within a group, design point ``i`` (its rank in the group) and replicate ``r``
use draw index ``first + i·R + r``, where each group starts on a new block of :data:`sim.rng.BLOCK_SIZE` draws
(without levers, simply ``i·R + r``). The draws' factor values come from the design
(``sim.cohort.run_chunk(parameters=…)``), their noise from the streams of their draw index, so the same seed
gives the same indices.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from sim.sensitivity.analysis import Output
from sim.sensitivity.design import Design

if TYPE_CHECKING:
    import xarray as xr
    from distributed import Client

    from sim.cohort import Model
    from sim.scenario import Scenario
    from sim.targets import Target

__all__ = ["ModelEvaluator", "chunk_outcomes", "model_outputs", "target_values"]

OUTPUTS_PER_TARGET = 2
"""A target's value, then whether it is met."""


def model_outputs(targets: Sequence[Target], area: str, years: np.ndarray) -> tuple[list[Target], list[str],
                                                                                    list[Output]]:
    """Targets that can be analysed in ``area`` and the run's years; notes for those skipped; their outputs."""
    from sim.targets import METRICS

    kept, skipped, outputs = [], [], []
    for t in targets:
        if area not in t.scope:
            skipped.append(f"{t.id}: scope {', '.join(t.scope)} does not include {area}")
            continue
        first = t.year if t.year is not None else t.each_year_from
        if first is None or first < years[0] or first > years[-1]:
            skipped.append(f"{t.id}: year {first} is outside the run ({years[0]}–{years[-1]})")
            continue
        kept.append(t)
        when = f"{t.year}" if t.year is not None else f"worst year {t.each_year_from}–{years[-1]}"
        outputs.append(Output(t.id, "value", METRICS[t.metric].units, f"{t.metric} ({area}, {when})"))
        outputs.append(Output(t.id, "probability", "probability (0–1)",
                              f"P({t.metric} {t.comparison} {t.threshold:g}, {area})"))
    return kept, skipped, outputs


def target_values(results: xr.Dataset, target: Target, area: str) -> tuple[np.ndarray, np.ndarray]:
    """Per draw: the metric's value and whether the target is met (``sim.outcomes`` decides), in ``area``.

    The value is the metric in the target year; for a yearly target (``each_year_from``) the worst year of the
    window (the minimum for ``>=``, the maximum for ``<=``, the largest distance from the threshold for ``==``).
    Where the metric is undefined (an area with no counties, a county set with nothing the target counts), both
    are NaN: not computed, never "not met" (the analysis reports such an outcome as undefined).
    """
    from sim.outcomes import condition_and_defined, variable

    found = condition_and_defined(results, target, area)
    if found is None:
        raise ValueError(f"metric {variable(target)} is not in the results")
    holds, defined = found
    values = results[variable(target)].sel(area=area)
    if target.year is not None:
        met = np.where(defined.sel(year=target.year).values, holds.sel(year=target.year).values, np.nan)
        return values.sel(year=target.year).values.astype(float), met.astype(float)
    years = results["year"].values
    window = years[years >= target.each_year_from]
    met = np.where(defined.sel(year=window).all("year").values, holds.sel(year=window).all("year").values, np.nan)
    v = values.sel(year=window)
    if target.comparison == ">=":
        worst = v.min("year", skipna=False)
    elif target.comparison == "<=":
        worst = v.max("year", skipna=False)
    else:
        worst = abs(v - target.threshold).max("year", skipna=False)
    return worst.values.astype(float), met.astype(float)


@dataclass
class ModelEvaluator:
    """``evaluate(design) -> Y`` for the model: each point on ``replicates`` draws (see module docstring).

    After a call, ``first_draw`` holds each design point's first draw index.
    """

    scenario: Scenario
    targets: Sequence[Target]
    area: str
    replicates: int
    progress: bool = True
    stream: TextIO | None = None  # None: sys.stderr at run time
    first_draw: np.ndarray | None = None
    prepare: Callable[[Scenario], Model] | None = None
    client: Client | None = None
    """A Dask ``distributed.Client``: the chunks of draws run as tasks on its workers (same numbers)."""

    def layout(self, design: Design) -> tuple[list[tuple[dict[str, Any], np.ndarray, int]], np.ndarray]:
        """Groups of points sharing lever values: (lever changes, point indices, first draw); first draws."""
        from sim.rng import BLOCK_SIZE

        lever_columns = [j for j, f in enumerate(design.factors) if f.kind == "lever"]
        keys = [tuple(design.values[i, lever_columns]) for i in range(design.n_points)]
        groups: list[tuple[dict[str, Any], np.ndarray, int]] = []
        first = np.zeros(design.n_points, dtype=np.int64)
        offset = 0
        for key in sorted(set(keys)):
            points = np.array([i for i, k in enumerate(keys) if k == key], dtype=np.int64)
            changes = {design.factors[j].name: v for j, v in zip(lever_columns, key, strict=True)}
            first[points] = offset + np.arange(len(points)) * self.replicates
            groups.append((changes, points, offset))
            offset += -(-len(points) * self.replicates // BLOCK_SIZE) * BLOCK_SIZE
        return groups, first

    def scenario_for(self, changes: Mapping[str, float]) -> Scenario:
        """The scenario with the levers at ``changes`` (integer levers as ``int``, :mod:`sim.levers`'s rule)."""
        from sim.levers import lever_info, lever_value
        from sim.scenario import replace

        if not changes:
            return self.scenario
        typed = {k: lever_value(lever_info(self.scenario, k, sections=("levers",)), v) for k, v in changes.items()}
        return replace(self.scenario, typed)

    def __call__(self, design: Design) -> np.ndarray:
        from tqdm import tqdm

        from sim.cohort import prepare
        from sim.rng import BLOCK_SIZE, chunk_bounds

        build = self.prepare or prepare
        r = self.replicates
        groups, self.first_draw = self.layout(design)
        scenarios = [self.scenario_for(changes) for changes, _, _ in groups]  # validate all before running
        uncertainty_columns = [j for j, f in enumerate(design.factors) if f.kind == "uncertainty"]
        n_years = self.scenario.horizon - self.scenario.start_year + 1
        total = sum(-(-len(p) * r // BLOCK_SIZE) * BLOCK_SIZE for _, p, _ in groups) * n_years
        y = np.full((design.n_points, r, OUTPUTS_PER_TARGET * len(self.targets)), np.nan)
        chunks: list[_Chunk] = []
        for (_, points, offset), scenario in zip(groups, scenarios, strict=True):
            model = build(scenario)
            n_draws = len(points) * r
            padded = -(-n_draws // BLOCK_SIZE) * BLOCK_SIZE
            # draw offset + i·R + rep ↔ point points[i]; padding draws repeat the last point's values
            row_point = np.minimum(np.arange(padded) // r, len(points) - 1)
            values = {design.factors[j].name: design.values[points[row_point], j] for j in uncertainty_columns}
            chunks += [_Chunk(model, offset, a, b, {name: v[a:b] for name, v in values.items()}, points, n_draws)
                       for a, b in chunk_bounds(padded, scenario.chunk_size)]

        def place(chunk: _Chunk, block: np.ndarray) -> None:
            keep = np.arange(chunk.a, min(chunk.b, chunk.n_draws))
            y[chunk.points[keep // r], keep % r, :] = block[keep - chunk.a]

        with tqdm(total=total, desc=f"{self.scenario.name}: sensitivity draw-years", unit="draw-yr",
                  disable=not self.progress, file=self.stream or sys.stderr, smoothing=0.1) as bar:
            if self.client is None:
                for chunk in chunks:
                    place(chunk, chunk_outcomes(chunk.model, chunk.offset + chunk.a, chunk.offset + chunk.b,
                                                chunk.parameters, self.targets, self.area, on_year=bar.update))
            else:
                for chunk, block in _on_cluster(self.client, chunks, self.targets, self.area):
                    place(chunk, block)
                    bar.update((chunk.b - chunk.a) * n_years)
        return y


@dataclass(frozen=True)
class _Chunk:
    """Draws ``offset + a … offset + b - 1`` of one lever group: rows ``a … b-1`` of the group's layout."""

    model: Model
    offset: int
    a: int
    b: int
    parameters: dict[str, np.ndarray]
    points: np.ndarray
    n_draws: int


def _on_cluster(client: Client, chunks: Sequence[_Chunk], targets: Sequence[Target], area: str
                ) -> Iterator[tuple[_Chunk, np.ndarray]]:
    """Every chunk as a task on ``client`` (each model sent once to every worker), yielded as it finishes."""
    from distributed import as_completed

    shared: dict[int, Any] = {}
    futures = {}
    try:
        for chunk in chunks:
            if id(chunk.model) not in shared:
                shared[id(chunk.model)] = client.scatter(chunk.model, broadcast=True, hash=False)
            future = client.submit(chunk_outcomes, shared[id(chunk.model)], chunk.offset + chunk.a,
                                   chunk.offset + chunk.b, chunk.parameters, list(targets), area, pure=False)
            futures[future] = chunk
        for future in as_completed(futures):
            yield futures[future], future.result()
            future.release()
    finally:
        client.cancel(list(futures))
        client.cancel(list(shared.values()))


def chunk_outcomes(model: Model, start: int, stop: int, parameters: Mapping[str, np.ndarray],
                   targets: Sequence[Target], area: str, on_year: Callable[[int], None] | None = None) -> np.ndarray:
    """Draws ``start … stop-1`` of ``model`` with the uncertainties at ``parameters``: ``(stop - start, 2·targets)``,
    each target's value then its 0/1 success (:func:`target_values`). The task a Dask worker runs; in this process
    the same function gives the same numbers."""
    from sim.cohort import run_chunk
    from sim.ensemble import to_dataset
    from sim.rng import Streams

    raw = run_chunk(model, Streams(model.scenario.seed), start, stop, on_year=on_year, parameters=parameters)
    results = to_dataset(model, raw, first_draw=start)
    out = np.empty((stop - start, OUTPUTS_PER_TARGET * len(targets)))
    for t, target in enumerate(targets):
        value, met = target_values(results, target, area)
        out[:, OUTPUTS_PER_TARGET * t] = value
        out[:, OUTPUTS_PER_TARGET * t + 1] = met
    return out
