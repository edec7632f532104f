"""Cohort (stock-flow) engine: every section of every school, vectorised over a chunk of draws.

One call of :func:`run_chunk` projects draws ``start … stop-1`` of a scenario from the start year to the
horizon. The static data of the run is a :class:`sim.model.Model` built once by :func:`sim.model.prepare`; all
mutable state lives in one :class:`sim.model.State` created inside the call (:func:`sim.model.initial_state`).
Each year runs the steps of :data:`sim.steps.STEPS` in their order, each in the years it acts (``edusim show
--steps SCENARIO`` prints them); the assessment step's records of every year are stacked into the result.
Random numbers come from :class:`sim.rng.Streams` through :class:`sim.steps.Random`, one stream per (block of
draws, mechanism, year), so a draw's numbers do not depend on the chunking, and two scenarios share them (common
random numbers).

A lever group with a ``from_year`` acts from that year; before it the default (historical) value of the group
applies (:func:`sim.model.lever_at`), so the 2020–2024 calibration window runs under the historical policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from sim.model import Model, draw_start_registry, initial_state, prepare, sample_parameters, select_counties
from sim.rng import Streams
from sim.steps import Random, steps_for

__all__ = ["Model", "prepare", "run_chunk", "sample_parameters", "select_counties"]
"""``Model``, ``prepare``, ``sample_parameters`` and ``select_counties`` live in :mod:`sim.model`; they are
re-exported here for the callers that prepare and run the cohort engine in one place."""


def run_chunk(model: Model, streams: Streams, start: int, stop: int,
              on_year: Callable[[int], None] | None = None, *,
              parameters: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Project draws ``start … stop-1``: a dict of arrays ``(D, year, county, …)`` of the recorded variables.

    ``parameters`` (optional) sets the values of some uncertainties draw by draw instead of sampling them
    (see :func:`sim.model.sample_parameters`); the random flows of each draw are unchanged.
    """
    scenario = model.scenario
    params = sample_parameters(scenario, streams, start, stop, parameters)
    registry = draw_start_registry(model, streams, start, stop, params, fixed=set(parameters or ()))
    if registry is not None:
        params = registry.parameters
    st = initial_state(model, stop - start, params["teachers.female_share"],
                       registry=None if registry is None else registry.values)
    plan = steps_for("cohort")
    records: list[dict[str, np.ndarray]] = []
    for year in model.years:
        year = int(year)
        r = Random(streams, start, stop, year)
        for step in plan:
            if step.acts(scenario, year):
                result = step.function(model, st, params, r, year)
                if step.records:
                    records.append(result)
        if on_year is not None:
            on_year(stop - start)
    return {name: np.stack([rec[name] for rec in records], axis=1) for name in records[0]}
