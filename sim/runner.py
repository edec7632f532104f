"""``edusim run``: validate, project every draw, evaluate the targets, write the run folder, print the table."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sim import checkpoint
from sim.cohort import prepare
from sim.ensemble import to_dataset
from sim.errors import InputError
from sim.outcomes import TargetOutcome, evaluate
from sim.output import provenance, scenario_hash, targets_table, write_run
from sim.precision import DEFAULT_MAX_DRAWS, PrecisionReport
from sim.scaleout import chunk_plan, dask_client, run_chunks, whole_blocks
from sim.scenario import Scenario, load_scenario, replace, resolved_yaml
from sim.targets import load_target_set

MAX_SCENARIO_DRAWS = 10_000_000
"""The largest ``draws`` a scenario may have (``sim.scenario``)."""


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    outcomes: list[TargetOutcome]
    table: str
    draws: int = 0
    """Draws run (the scenario's, or as many as ``precision`` needed)."""
    precision: PrecisionReport | None = None
    chunks_reused: int = 0
    """Chunks loaded from an interrupted run (``resume``) instead of simulated."""


def load_with_overrides(path: str | Path, **overrides: Any) -> Scenario:
    """The scenario at ``path`` with command-line overrides (validated like the file itself)."""
    scenario = load_scenario(path)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return replace(scenario, changes) if changes else scenario


def run_folder(scenario: Scenario, out_dir: str | Path | None = None) -> Path:
    """Where a run of ``scenario`` is written: ``out_dir``, by default ``outputs/NAME``."""
    return Path(out_dir) if out_dir is not None else Path("outputs") / scenario.name


def run_scenario(
    scenario: Scenario,
    out_dir: str | Path | None = None,
    *,
    progress: bool = True,
    stream: TextIO | None = None,
    scenario_file: str | None = None,
    figures: bool = True,
    engine: str = "cohort",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool | None = None,
    precision: float | None = None,
    max_draws: int | None = None,
) -> RunResult:
    """Run every draw of ``scenario`` and write ``out_dir`` (default ``outputs/NAME``) atomically.

    With ``figures``, the fan charts and the target-probability chart go into ``figures/`` (``sim.plots``).
    ``engine`` is ``cohort`` (stock-flow, vectorised over draws) or ``agents`` (every teacher an agent, one
    draw at a time); both write the same schema.

    Parameters
    ----------
    workers, scheduler
        Run the chunks on a local Dask cluster of ``workers`` processes, or on the Dask scheduler at
        ``scheduler`` (``tcp://HOST:PORT``). Neither: in this process. The results are identical.
    resume
        Finished chunks of an interrupted run into the same folder (``.NAME.chunks/`` beside it,
        :mod:`sim.checkpoint`): ``True`` reuses them, ``False`` refuses to start while they are there, ``None``
        (library callers without a ``--resume`` option) discards them.
    precision
        Add draws, starting from the scenario's, until the 95% Wilson interval of every target in every scope
        has a half-width of at most ``precision`` (a probability in (0, 0.5)), or ``max_draws`` is reached
        (default :data:`sim.precision.DEFAULT_MAX_DRAWS`). The run folder is that of a plain run with the number
        of draws reached, plus the record of the batches in ``provenance.json``.
    """
    stream = sys.stderr if stream is None else stream  # at call time: sys.stderr may have been replaced
    from tqdm import tqdm

    if precision is not None and not 0 < precision < 0.5:
        raise InputError(f"must be a probability in (0, 0.5), e.g. 0.02 for ±2 points; got {precision:g}",
                         key="--precision")
    if max_draws is not None and precision is None:
        raise InputError("is the cap of a --precision run: give --precision too (or use --draws)", key="--max-draws")
    cap = DEFAULT_MAX_DRAWS if max_draws is None else max_draws
    if precision is not None and not 0 < cap <= MAX_SCENARIO_DRAWS:
        raise InputError(f"must be in [1, {MAX_SCENARIO_DRAWS:,}], got {cap}", key="--max-draws")
    targets = load_target_set(scenario.targets)
    started = datetime.now(UTC)
    model = prepare(scenario)
    target = run_folder(scenario, out_dir)
    record = checkpoint.manifest(
        scenario_sha256=scenario_hash(resolved_yaml(replace(scenario, {"draws": 1}))), seed=scenario.seed,
        engine=engine, chunk_size=scenario.chunk_size,
    )
    store = checkpoint.ChunkStore.open(checkpoint.chunk_dir(target), record, resume=resume)
    report = None if precision is None else PrecisionReport(precision, cap)
    reused = 0

    def count(a: int, b: int, was_reused: bool) -> None:
        nonlocal reused
        reused += was_reused

    def simulated(n: int) -> int:  # draw-years simulated for n draws
        return (n if engine == "agents" else whole_blocks(n)) * len(model.years)

    try:
        with dask_client(workers, scheduler) as client:
            draws = scenario.draws if report is None else min(whole_blocks(scenario.draws), cap)
            if client is not None:
                n_workers = len(client.scheduler_info().get("workers", {}))
                n_chunks = len(chunk_plan(0, draws, scenario.chunk_size, pad=engine != "agents"))
                if n_chunks < n_workers:
                    print(f"note: {draws} draws make {n_chunks} chunk(s) of {scenario.chunk_size} for {n_workers} "
                          "workers: some will wait (a smaller --chunk-size gives each of them work)", file=stream)
            with tqdm(total=simulated(draws), desc=f"{scenario.name}: draw-years", unit="draw-yr",
                      disable=not progress, file=stream, smoothing=0.1) as bar:
                parts: list[dict[str, np.ndarray]] = []
                while True:
                    done = sum(len(p["students"]) for p in parts)
                    parts.append(run_chunks(model, done, draws, engine=engine, store=store, client=client,
                                            on_year=bar.update, on_chunk=count))
                    raw = parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
                    results = to_dataset(model, raw)
                    outcomes = evaluate(results, targets.targets)
                    if report is None:
                        break
                    report.add(outcomes)
                    following = report.next_draws(outcomes)
                    if following is None:
                        break
                    bar.write(f"{draws} draws: widest 95% half-width {report.widest_half_width:.4f} "
                              f"({report.widest}) > {precision:g}; going on to {following} draws", file=stream)
                    bar.total = simulated(following)
                    bar.refresh()
                    draws = following
    except BaseException:
        if not store.finished():
            store.remove()  # nothing to resume from
        raise
    if draws != scenario.draws:
        scenario = replace(scenario, {"draws": draws})
    text = resolved_yaml(scenario)
    extra: dict[str, Any] = {}
    if report is not None:
        extra["precision"] = report.record()
    record = provenance(
        text, seed=scenario.seed, draws=scenario.draws, engine=engine, started=started,
        scenario_name=scenario.name, scenario_file=scenario_file, chunk_size=scenario.chunk_size,
        start_year=scenario.start_year, horizon=scenario.horizon, counties=int(model.sections.n_counties),
        sections=int(model.sections.n_sections), target_set=str(scenario.targets),
        execution={"workers": workers, "scheduler": scheduler, "chunks_reused": reused}, **extra,
    )
    results.attrs.update(
        title=f"edusim results: {scenario.name}", seed=scenario.seed, engine=engine,
        scenario_sha256=record["scenario_sha256"], git_commit=record["git_commit"],
        edusim_version=record["versions"]["edusim"],
    )
    labels = {t.id: t.en for t in targets.targets}
    written = write_run(target, results=results, outcomes=outcomes, resolved_yaml=text,
                        provenance_record=record, labels=labels,
                        extra=_figure_writer(results, outcomes, targets.targets) if figures else None)
    store.remove()
    return RunResult(written, outcomes, targets_table(outcomes, labels), draws=scenario.draws, precision=report,
                     chunks_reused=reused)


def _figure_writer(results: Any, outcomes: list[TargetOutcome], targets: Any) -> Any:
    """``extra`` for :func:`write_run`: the run's figures into ``figures/`` of the temporary folder."""
    from sim.output import outcome_rows
    from sim.plots import write_figures

    rows = [{k: str(v) for k, v in row.items()} for row in outcome_rows(outcomes)]

    def write(tmp: Path) -> None:
        write_figures(results, rows, list(targets), tmp / "figures")

    return write
