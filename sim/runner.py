"""``edusim run``: validate, project every draw, evaluate the targets, write the run folder, print the table.

A run is three small pieces:

- :class:`RunOptions`: how to run (engine, workers or scheduler, resume, precision, overwrite, size limit…), a
  frozen value checked once (:meth:`RunOptions.check`);
- :func:`execute`: the draws, chunk by chunk (in this process or on Dask, resumed from finished chunks, in
  batches until a ``precision`` is reached) and their evaluation: an :class:`Execution`, nothing written but the
  chunks;
- :func:`write_run_folder`: the run folder (``results.nc``, tables, figures, the resolved scenario and
  ``provenance.json``) written whole or not at all.

:func:`run_scenario` puts them together, holding the lock of the run folder (:func:`sim.output.guard`) for the
whole run, after a size estimate (:func:`estimate_size`) that refuses runs larger than ``max_output_gb``.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import xarray as xr

from sim import checkpoint
from sim.cohort import Model, prepare
from sim.ensemble import to_dataset
from sim.errors import InputError
from sim.mechanisms.assessment import GUARANTEE_RULES, INDICATORS
from sim.outcomes import TargetOutcome, evaluate
from sim.output import cost_line, guard, provenance, scenario_hash, targets_table, write_run
from sim.precision import DEFAULT_MAX_DRAWS, PrecisionReport
from sim.scaleout import chunk_plan, dask_client, run_chunks, whole_blocks
from sim.scenario import Scenario, load_scenario, replace, resolved_yaml
from sim.targets import TargetSet, load_target_set

MAX_SCENARIO_DRAWS = 10_000_000
"""The largest ``draws`` a scenario may have (``sim.scenario``)."""
DEFAULT_MAX_OUTPUT_GB = 20.0
"""Largest estimated ``results.nc`` (GB, 10^9 bytes) a run starts without ``--max-output-gb``: room for the
reference workload (all 96 counties, 2020–2035, 10,000 draws: about 5 GB), not for a mistyped ``--draws``."""
ENGINES = ("cohort", "agents")


@dataclass(frozen=True)
class RunOptions:
    """How a scenario is run (not what is run: that is the scenario).

    Attributes
    ----------
    engine
        ``cohort`` (stock-flow, vectorised over draws) or ``agents`` (every teacher an agent, one draw at a
        time); both write the same schema.
    workers, scheduler
        Run the chunks on a local Dask cluster of ``workers`` processes, or on the Dask scheduler at
        ``scheduler`` (``tcp://HOST:PORT``). Neither: in this process. The results are identical.
    resume
        Finished chunks of an interrupted run into the same folder (``.NAME.chunks/`` beside it,
        :mod:`sim.checkpoint`): ``True`` reuses them, ``False`` refuses to start while they are there, ``None``
        (library callers without a ``--resume`` option) discards them.
    precision, max_draws
        Add draws, starting from the scenario's, until the 95% Wilson interval of every target in every scope
        has a half-width of at most ``precision`` (a probability in (0, 0.5)), or ``max_draws`` is reached
        (default :data:`sim.precision.DEFAULT_MAX_DRAWS`).
    overwrite
        Replace an earlier edusim output in the run folder (never anything else: :mod:`sim.output`).
    progress, figures
        Show a progress bar; draw the fan charts and the target-probability chart into ``figures/``.
    max_output_gb
        Refuse a run whose ``results.nc`` is estimated larger than this (GB; :func:`estimate_size`).
    scenario_file
        The scenario file as the user named it (recorded in ``provenance.json``).
    """

    engine: str = "cohort"
    workers: int | None = None
    scheduler: str | None = None
    resume: bool | None = None
    precision: float | None = None
    max_draws: int | None = None
    overwrite: bool = False
    progress: bool = True
    figures: bool = True
    max_output_gb: float = DEFAULT_MAX_OUTPUT_GB
    scenario_file: str | None = None

    @property
    def draws_cap(self) -> int:
        """The cap of a ``precision`` run."""
        return DEFAULT_MAX_DRAWS if self.max_draws is None else self.max_draws

    def check(self) -> None:
        """Raise :class:`InputError` for an option out of its range (before anything is run)."""
        if self.engine not in ENGINES:
            raise InputError(f"must be one of {', '.join(ENGINES)}, got {self.engine!r}", key="--engine")
        if self.precision is not None and not 0 < self.precision < 0.5:
            raise InputError(f"must be a probability in (0, 0.5), e.g. 0.02 for ±2 points; got {self.precision:g}",
                             key="--precision")
        if self.max_draws is not None and self.precision is None:
            raise InputError("is the cap of a --precision run: give --precision too (or use --draws)",
                             key="--max-draws")
        if self.precision is not None and not 0 < self.draws_cap <= MAX_SCENARIO_DRAWS:
            raise InputError(f"must be in [1, {MAX_SCENARIO_DRAWS:,}], got {self.draws_cap}", key="--max-draws")
        if not 0 < self.max_output_gb < float("inf"):
            raise InputError(f"must be a positive number of GB, got {self.max_output_gb:g}", key="--max-output-gb")


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
    chunks_rejected: tuple[str, ...] = ()
    """Chunks found but simulated again, each with the reason (:attr:`sim.checkpoint.ChunkStore.rejected`)."""


@dataclass(frozen=True)
class Execution:
    """What :func:`execute` computed: the results of ``draws`` draws and their evaluation."""

    results: xr.Dataset
    outcomes: list[TargetOutcome]
    draws: int
    precision: PrecisionReport | None
    chunks_reused: int


def load_with_overrides(path: str | Path, **overrides: Any) -> Scenario:
    """The scenario at ``path`` with command-line overrides (validated like the file itself)."""
    scenario = load_scenario(path)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return replace(scenario, changes) if changes else scenario


def run_folder(scenario: Scenario, out_dir: str | Path | None = None) -> Path:
    """Where a run of ``scenario`` is written: ``out_dir``, by default ``outputs/NAME``."""
    return Path(out_dir) if out_dir is not None else Path("outputs") / scenario.name


# -- size ------------------------------------------------------------------------------------------------------

NETCDF_BYTES_PER_VARIABLE = 1_200
"""HDF5 overhead of a variable in ``results.nc`` (header, attributes, dimension scales), bytes. Measured
(2026-12, h5netcdf, contiguous storage): 64-draw and 256-draw runs of the 2-county, 2020–2027 test scenario whose
88 variables hold 515,582 and 2,056,190 bytes were written as files of 617,496 and 2,159,128 bytes: 1,158 and
1,170 bytes a variable, the same at both sizes."""


@dataclass(frozen=True)
class SizeEstimate:
    """Expected size of a run: its ``results.nc`` and the memory its arrays take."""

    draws: int
    disk_bytes: int
    memory_bytes: int

    def text(self) -> str:
        return (f"{self.draws:,} draws: results.nc about {_size(self.disk_bytes)}, memory about "
                f"{_size(self.memory_bytes)} for the results (the engine's working set for one chunk comes on top)")


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # unreachable


class _ZeroArrays(dict[str, np.ndarray]):
    """Raw arrays of one draw, all zero, made on demand with the shape the engines give each name."""

    def __init__(self, n_years: int, n_counties: int):
        super().__init__()
        self.cells = (1, n_years, n_counties)
        self.extra = {"indicator_value": (len(INDICATORS),), "failing_sections_below": (len(INDICATORS),),
                      "indicator_cv": (2, len(INDICATORS)), "cv_over_limit": (2, len(INDICATORS)),
                      "guarantee_failed": (len(GUARANTEE_RULES),)}

    def __missing__(self, name: str) -> np.ndarray:
        self[name] = np.zeros(self.cells + self.extra.get(name, ()))
        return self[name]


def estimate_size(model: Model, draws: int, engine: str = "cohort") -> SizeEstimate:
    """Expected ``results.nc`` size and memory of ``draws`` draws of ``model``.

    Derived, not guessed: the results Dataset of one all-zero draw is built (:func:`sim.ensemble.to_dataset`, so
    every variable, with its dtype and its ``year``, ``county``, ``indicator`` … dims) and scaled to ``draws``;
    the file adds :data:`NETCDF_BYTES_PER_VARIABLE` per variable. Memory: the raw arrays of every draw simulated
    (8 bytes a cell, whole blocks for the cohort engine) held twice while the chunks are joined, plus the
    Dataset. ``tests/test_runner.py`` checks the disk figure against a real run.
    """
    raw = _ZeroArrays(len(model.years), int(model.sections.n_counties))
    one = to_dataset(model, raw)
    per_draw = sum(v.nbytes for v in one.variables.values() if "draw" in v.dims)
    fixed = sum(v.nbytes for v in one.variables.values() if "draw" not in v.dims)
    disk = fixed + draws * per_draw + NETCDF_BYTES_PER_VARIABLE * len(one.variables)
    simulated = draws if engine == "agents" else whole_blocks(draws)
    raw_per_draw = 8 * sum(a.size for a in raw.values())
    return SizeEstimate(draws, int(disk), int(2 * simulated * raw_per_draw + draws * per_draw + fixed))


def check_size(estimate: SizeEstimate, options: RunOptions) -> None:
    """Refuse a run whose ``results.nc`` would exceed ``options.max_output_gb``."""
    if estimate.disk_bytes > options.max_output_gb * 1e9:
        raise InputError(f"this run is too large: {estimate.text()}; that is over the limit of "
                         f"{options.max_output_gb:g} GB: run fewer draws, or raise the limit with --max-output-gb",
                         key="--draws")


# -- execution -------------------------------------------------------------------------------------------------

def execute(model: Model, targets: TargetSet, options: RunOptions, *, store: checkpoint.ChunkStore | None = None,
            stream: TextIO | None = None) -> Execution:
    """Run the draws of ``model.scenario`` (or as many as ``options.precision`` needs) and evaluate the targets.

    Chunk by chunk: in this process or on Dask (``options.workers``/``scheduler``), loading finished chunks of
    ``store`` and writing each new one there. Nothing else is written.
    """
    from tqdm import tqdm

    stream = sys.stderr if stream is None else stream
    scenario, engine = model.scenario, options.engine
    report = None if options.precision is None else PrecisionReport(options.precision, options.draws_cap)
    reused = 0

    def count(a: int, b: int, was_reused: bool) -> None:
        nonlocal reused
        reused += was_reused

    def simulated(n: int) -> int:  # draw-years simulated for n draws
        return (n if engine == "agents" else whole_blocks(n)) * len(model.years)

    with dask_client(options.workers, options.scheduler) as client:
        draws = scenario.draws if report is None else min(whole_blocks(scenario.draws), options.draws_cap)
        if client is not None:
            n_workers = len(client.scheduler_info().get("workers", {}))
            n_chunks = len(chunk_plan(0, draws, scenario.chunk_size, pad=engine != "agents"))
            if n_chunks < n_workers:
                print(f"note: {draws} draws make {n_chunks} chunk(s) of {scenario.chunk_size} for {n_workers} "
                      "workers: some will wait (a smaller --chunk-size gives each of them work)", file=stream)
        with tqdm(total=simulated(draws), desc=f"{scenario.name}: draw-years", unit="draw-yr",
                  disable=not options.progress, file=stream, smoothing=0.1) as bar:
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
                          f"({report.widest}) > {options.precision:g}; going on to {following} draws", file=stream)
                bar.total = simulated(following)
                bar.refresh()
                draws = following
    return Execution(results, outcomes, draws, report, reused)


# -- the run folder --------------------------------------------------------------------------------------------

def write_run_folder(target: Path, model: Model, targets: TargetSet, execution: Execution, options: RunOptions, *,
                     started: datetime) -> tuple[Path, str]:
    """Write the run folder of ``execution`` at ``target`` (whole or not at all); return it and the table."""
    scenario = model.scenario
    if execution.draws != scenario.draws:
        scenario = replace(scenario, {"draws": execution.draws})
    text = resolved_yaml(scenario)
    extra: dict[str, Any] = {}
    if execution.precision is not None:
        extra["precision"] = execution.precision.record()
    record = provenance(
        text, seed=scenario.seed, draws=scenario.draws, engine=options.engine, started=started,
        scenario_name=scenario.name, scenario_file=options.scenario_file, chunk_size=scenario.chunk_size,
        start_year=scenario.start_year, horizon=scenario.horizon, counties=int(model.sections.n_counties),
        sections=int(model.sections.n_sections), target_set=str(scenario.targets),
        execution={"workers": options.workers, "scheduler": options.scheduler,
                   "chunks_reused": execution.chunks_reused}, **extra,
    )
    results = execution.results
    results.attrs.update(
        title=f"edusim results: {scenario.name}", seed=scenario.seed, engine=options.engine,
        scenario_sha256=record["scenario_sha256"], git_commit=record["git_commit"],
        edusim_version=record["versions"]["edusim"],
    )
    labels = {t.id: t.en for t in targets.targets}
    written = write_run(target, results=results, outcomes=execution.outcomes, resolved_yaml=text,
                        provenance_record=record, labels=labels, overwrite=options.overwrite,
                        extra=_figure_writer(results, execution.outcomes, targets.targets) if options.figures
                        else None)
    return written, targets_table(execution.outcomes, labels) + cost_line(results)


def _figure_writer(results: Any, outcomes: list[TargetOutcome], targets: Any) -> Any:
    """``extra`` for :func:`write_run`: the run's figures into ``figures/`` of the temporary folder."""
    from sim.output import outcome_rows
    from sim.plots import write_figures

    rows = [{k: str(v) for k, v in row.items()} for row in outcome_rows(outcomes)]

    def write(tmp: Path) -> None:
        write_figures(results, rows, list(targets), tmp / "figures")

    return write


# -- the whole run ---------------------------------------------------------------------------------------------

def run_scenario(
    scenario: Scenario,
    out_dir: str | Path | None = None,
    options: RunOptions | None = None,
    *,
    stream: TextIO | None = None,
    **changes: Any,
) -> RunResult:
    """Run every draw of ``scenario`` and write ``out_dir`` (default ``outputs/NAME``) atomically.

    ``options`` (default :class:`RunOptions` ``()``) says how; keyword ``changes`` replace some of its fields
    (``run_scenario(s, out, engine="agents", figures=False)``). The run folder's lock is held from the start (a
    second run on the same folder is refused at once), the destination is checked before anything is simulated
    (:func:`sim.output.check_destination`), and the size estimate is printed and checked (:func:`check_size`).
    """
    stream = sys.stderr if stream is None else stream  # at call time: sys.stderr may have been replaced
    options = dataclasses.replace(options or RunOptions(), **changes)
    options.check()
    target = run_folder(scenario, out_dir)
    with guard(target, overwrite=options.overwrite):  # before anything else: a refusal comes at once
        targets = load_target_set(scenario.targets)
        started = datetime.now(UTC)
        model = prepare(scenario)
        size = estimate_size(model, scenario.draws if options.precision is None else options.draws_cap,
                             options.engine)
        check_size(size, options)
        if options.progress or size.disk_bytes > 1e9:
            print(f"size: {'up to ' if options.precision is not None else ''}{size.text()}", file=stream)
        record = checkpoint.manifest(
            scenario_sha256=scenario_hash(resolved_yaml(replace(scenario, {"draws": 1}))), seed=scenario.seed,
            engine=options.engine, chunk_size=scenario.chunk_size,
        )
        store = checkpoint.ChunkStore.open(checkpoint.chunk_dir(target), record, resume=options.resume)
        try:
            execution = execute(model, targets, options, store=store, stream=stream)
        except BaseException:
            if not store.finished():
                store.remove()  # nothing to resume from
            raise
        for note in store.rejected:
            print(f"note: chunk not reused, simulated again: {note}", file=stream)
        written, table = write_run_folder(target, model, targets, execution, options, started=started)
        store.remove()
    return RunResult(written, execution.outcomes, table, draws=execution.draws, precision=execution.precision,
                     chunks_reused=execution.chunks_reused, chunks_rejected=tuple(store.rejected))
