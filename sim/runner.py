"""``edusim run``: validate, project every draw, evaluate the targets, write the run folder, print the table."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sim.cohort import prepare
from sim.ensemble import run_draws, to_dataset
from sim.outcomes import TargetOutcome, evaluate
from sim.output import provenance, targets_table, write_run
from sim.rng import BLOCK_SIZE
from sim.scenario import Scenario, load_scenario, replace, resolved_yaml
from sim.targets import load_target_set


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    outcomes: list[TargetOutcome]
    table: str


def load_with_overrides(path: str | Path, **overrides: Any) -> Scenario:
    """The scenario at ``path`` with command-line overrides (validated like the file itself)."""
    scenario = load_scenario(path)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return replace(scenario, changes) if changes else scenario


def run_scenario(
    scenario: Scenario,
    out_dir: Path | None = None,
    *,
    progress: bool = True,
    stream: TextIO = sys.stderr,
    scenario_file: str | None = None,
    figures: bool = True,
    engine: str = "cohort",
) -> RunResult:
    """Run every draw of ``scenario`` and write ``out_dir`` (default ``outputs/NAME``) atomically.

    With ``figures``, the fan charts and the target-probability chart go into ``figures/`` (``sim.plots``).
    ``engine`` is ``cohort`` (stock-flow, vectorised over draws) or ``agents`` (every teacher an agent, one
    draw at a time); both write the same schema.
    """
    from tqdm import tqdm

    targets = load_target_set(scenario.targets)
    started = datetime.now(UTC)
    model = prepare(scenario)
    runner: Callable[..., dict[str, Any]]
    if engine == "agents":
        from sim.agents import run_draws_agents

        n_steps = scenario.draws * len(model.years)
        runner = run_draws_agents
    else:
        n_steps = -(-scenario.draws // BLOCK_SIZE) * BLOCK_SIZE * len(model.years)  # whole blocks are simulated
        runner = run_draws
    with tqdm(total=n_steps, desc=f"{scenario.name}: draw-years", unit="draw-yr", disable=not progress,
              file=stream, smoothing=0.1) as bar:
        raw = runner(model, 0, scenario.draws, on_year=bar.update)
    results = to_dataset(model, raw)
    outcomes = evaluate(results, targets.targets)
    text = resolved_yaml(scenario)
    record = provenance(
        text, seed=scenario.seed, draws=scenario.draws, engine=engine, started=started,
        scenario_name=scenario.name, scenario_file=scenario_file, chunk_size=scenario.chunk_size,
        start_year=scenario.start_year, horizon=scenario.horizon, counties=int(model.sections.n_counties),
        sections=int(model.sections.n_sections), target_set=str(scenario.targets),
    )
    results.attrs.update(
        title=f"edusim results: {scenario.name}", seed=scenario.seed, engine=engine,
        scenario_sha256=record["scenario_sha256"], git_commit=record["git_commit"],
        edusim_version=record["versions"]["edusim"],
    )
    labels = {t.id: t.en for t in targets.targets}
    target = Path(out_dir) if out_dir is not None else Path("outputs") / scenario.name
    written = write_run(target, results=results, outcomes=outcomes, resolved_yaml=text,
                        provenance_record=record, labels=labels,
                        extra=_figure_writer(results, outcomes, targets.targets) if figures else None)
    return RunResult(written, outcomes, targets_table(outcomes, labels))


def _figure_writer(results: Any, outcomes: list[TargetOutcome], targets: Any) -> Any:
    """``extra`` for :func:`write_run`: the run's figures into ``figures/`` of the temporary folder."""
    from sim.output import outcome_rows
    from sim.plots import write_figures

    rows = [{k: str(v) for k, v in row.items()} for row in outcome_rows(outcomes)]

    def write(tmp: Path) -> None:
        write_figures(results, rows, list(targets), tmp / "figures")

    return write
