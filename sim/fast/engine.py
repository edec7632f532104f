"""The fast cohort engine: the exact cohort engine's yearly order and state, with compiled section-noise steps.

Option 2 of ``docs/performance.md``. It projects the same model as :mod:`sim.cohort` (same scenario, state,
records and output schema), but a step ported here draws its section-level randomness once per section, flow
and year (:mod:`sim.fast.noise`) instead of once per cell, in compiled passes. Steps not yet ported are the
exact engine's (:class:`sim.cohort.Steps`), so the engine always runs the whole model.

Ported: students (:mod:`sim.fast.students`), teacher exits (:mod:`sim.fast.teachers`), assessment
(:mod:`sim.fast.assess`, bit-identical to the exact step).

The fast engine's results are not bit-identical to the exact engine's (different random structure); they
agree within Monte Carlo error (``tests/test_fast_engine.py``, ``benchmarks/noise_experiment.py``). Like the
exact engine, a draw's numbers depend only on the seed, the stream names and the draw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from sim import cohort
from sim.fast import assess, students, teachers
from sim.rng import Streams

FAST_STEPS = dataclasses.replace(cohort.EXACT_STEPS, students=students.step_students,
                                 teacher_exits=teachers.step_teacher_exits, assess=assess.assess)


def run_chunk(model: cohort.Model, streams: Streams, start: int, stop: int,
              on_year: Callable[[int], None] | None = None, *,
              parameters: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """:func:`sim.cohort.run_chunk` with the fast engine's steps."""
    return cohort.run_chunk(model, streams, start, stop, on_year, parameters=parameters, steps=FAST_STEPS)
