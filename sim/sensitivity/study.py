"""``edusim sensitivity`` from end to end: check the options, design, evaluate on the model, analyse, write."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from sim.errors import InputError
from sim.sensitivity.analysis import SensitivityResult, run_analysis
from sim.sensitivity.defaults import AREAS, DEFAULT_LEVER_LEVELS, DEFAULT_N, DEFAULT_REPLICATES
from sim.sensitivity.design import check_method, check_n, choose_factors, make_design, scenario_lever
from sim.sensitivity.evaluation import ModelEvaluator, model_outputs
from sim.sensitivity.report import provenance_record, run_details, write_results

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["sensitivity"]


def sensitivity(
    scenario: Scenario,
    *,
    method: str,
    n: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    factors: str | None = None,
    levers: Sequence[str] = (),
    lever_levels_count: int = DEFAULT_LEVER_LEVELS,
    area: str = "region",
    out_dir: Path | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    scenario_file: str | None = None,
    figures: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> tuple[SensitivityResult, Path, list[str]]:
    """Validate the options, run the design on the model, analyse and write the folder.

    ``workers`` (a local Dask cluster of that many processes) or ``scheduler`` (the address of a running one) run
    the chunks of draws on Dask (:func:`sim.scaleout.dask_client`); the indices are the same as in one process.
    The folder (default ``outputs/sensitivity-NAME-METHOD``) is checked before any draw is run: an earlier
    edusim output there is replaced only with ``overwrite`` (:func:`sim.output.check_destination`).
    Returns the result, the folder written and notes on the targets skipped.
    """
    from sim.output import check_destination
    from sim.rng import Streams
    from sim.scaleout import dask_client
    from sim.scenario import resolved_yaml
    from sim.targets import load_target_set

    check_method(method)
    target = Path(out_dir) if out_dir is not None else Path("outputs") / f"sensitivity-{scenario.name}-{method}"
    check_destination(target, overwrite=overwrite)  # before the draws, not after them
    n = DEFAULT_N[method] if n is None else n
    check_n(method, n)
    if replicates < 2:
        raise InputError(f"must be at least 2 (the noise variance needs two draws per point), got {replicates}",
                         key="--replicates")
    if lever_levels_count < 2:
        raise InputError(f"must be at least 2, got {lever_levels_count}", key="--lever-levels")
    if area not in AREAS:
        raise InputError(f"must be one of {', '.join(AREAS)}, got {area!r}", key="--area")
    chosen = choose_factors(scenario, factors)
    lever_factors = [scenario_lever(text, scenario, lever_levels_count) for text in levers]
    duplicated = [f.name for f in lever_factors if [g.name for g in lever_factors].count(f.name) > 1]
    if duplicated:
        raise InputError(f"lever '{duplicated[0]}' given twice", key="--lever")
    all_factors = chosen + lever_factors
    if not all_factors:
        raise InputError("no factor to study: every uncertainty is fixed and no --lever given", key="--factors")
    target_set = load_target_set(scenario.targets)
    years = np.arange(scenario.start_year, scenario.horizon + 1)
    kept, skipped, outputs = model_outputs(target_set.targets, area, years)
    if not kept:
        raise InputError(f"no target of {scenario.targets} can be analysed in area {area} over "
                         f"{years[0]}–{years[-1]}: " + "; ".join(skipped), key="--area")
    started = datetime.now(UTC)
    streams = Streams(scenario.seed)
    design = make_design(all_factors, method, n, streams.draw_generator(0, "sensitivity/design"))
    # entered and left by hand: an InputError (a frozen dataclass) raised inside a `with` of a generator context
    # manager fails when contextlib sets its __traceback__, and would end as an internal error
    cluster = dask_client(workers, scheduler)
    client = cluster.__enter__()
    try:
        evaluator = ModelEvaluator(scenario, kept, area, replicates, progress=progress, stream=stream, client=client)
        result = run_analysis(design, evaluator, outputs, streams.draw_generator(0, "sensitivity/bootstrap"))
    finally:
        cluster.__exit__(None, None, None)
    text = resolved_yaml(scenario)
    draws = int(evaluator.first_draw.max()) + replicates if evaluator.first_draw is not None else 0
    record = provenance_record(
        scenario, text=text, method=method, n=n, replicates=replicates, area=area, design=design,
        last_draw=draws - 1, factors=all_factors, lever_levels=lever_levels_count if lever_factors else None,
        scenario_file=scenario_file, skipped=skipped, started=started, finished=datetime.now(UTC),
        execution={"workers": workers, "scheduler": scheduler})
    details = run_details(scenario, area, all_factors, design.n_points * replicates, skipped)
    written = write_results(
        target, result, heading=f"{scenario.name}, {method}", details=details,
        files={"scenario.resolved.yaml": text,
               "provenance.json": json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n"},
        labels={t.id: t.en for t in kept}, figures=figures, overwrite=overwrite)
    return result, written, skipped
