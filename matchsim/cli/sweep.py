"""matchsim sweep: a scenario over a grid of settings x seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from matchsim.cli import render
from matchsim.cli.options import (
    ForceOption,
    JoinSchedulerOption,
    SetOption,
    check_scenario_size,
    parse_grid_item,
    scenario_executor,
)
from matchsim.errors import ConfigError, Interrupted
from matchsim.io import check_result_dir


def sweep_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with a 'sweep:' section.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Result directory (default: results/NAME-sweep)."),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", help="KEY.PATH=V1,V2,... to vary (repeatable; adds to the file's grid)."
        ),
    ] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Seeds per point (default: the file's, or 3).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Local processes, or LocalCluster workers with executor: dask "
            "(default: the file's, or 2)."
        ),
    ] = None,
    set_: SetOption = None,
    scheduler: JoinSchedulerOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Run a scenario over a grid of settings x seeds, in parallel and resumably."""
    import pyarrow as pa

    from matchsim.io import write_table
    from matchsim.report.html import render_sweep
    from matchsim.scenario import load_scenario
    from matchsim.scenario.sweep import run_sweep, summarise_sweep

    spec = load_scenario(scenario, list(set_ or []))
    settings = spec.sweep
    grid_values: dict[str, list[Any]] = dict(settings.grid) if settings else {}
    for item in grid or []:
        key, values = parse_grid_item(item)
        grid_values[key] = values
    if seeds is not None and seeds < 1:
        raise ConfigError("--seeds", f"{seeds} is not allowed; must be at least 1")
    if "seed" in grid_values:
        # Each point runs with the scenario's seed, seed + 1, ...: a grid over seed would be
        # silently replaced.
        raise ConfigError(
            "--grid"
            if any(i.partition("=")[0].strip() == "seed" for i in grid or [])
            else "sweep.grid",
            "seed cannot be varied on the grid; each point runs --seeds seeds from the "
            "scenario's seed (set it with --set seed=N)",
        )
    if not grid_values:
        raise ConfigError(
            "sweep.grid", "nothing to vary: add a 'sweep: grid:' section or --grid KEY=V1,V2"
        )
    n_seeds = seeds if seeds is not None else (settings.seeds if settings else 3)
    n_workers = workers if workers is not None else (settings.workers if settings else 2)
    check_sweep_sizes(spec, grid_values, n_workers, scheduler, force)
    target = out if out is not None else Path("results") / f"{spec.name}-sweep"
    check_result_dir(target, "--out", command="sweep", create_parent=out is None)
    with (
        scenario_executor(spec.executor, scheduler, n_workers) as executor,
        render.progress_bar("Sweeping", quiet) as update,
    ):
        results = run_sweep(
            spec,
            grid_values,
            n_seeds,
            target,
            workers=n_workers,
            progress=update,
            executor=executor,
            create_parent=out is None,
        )
    summary = summarise_sweep(results, grid_values)
    from matchsim.io import atomic_path

    try:
        # Inside the sweep's own directory, which holds .matchsim-result: replaced each run.
        results_table = pa.Table.from_pandas(results, preserve_index=False)
        write_table(results_table, target / "results.parquet", overwrite=True)
        write_table(results_table, target / "results.csv", overwrite=True)
        summary_table = pa.Table.from_pandas(summary, preserve_index=False)
        write_table(summary_table, target / "summary.csv", overwrite=True)
        with atomic_path(target / "sweep.html") as tmp:
            tmp.write_text(
                render_sweep(spec.name, spec.description, summary, grid_values), encoding="utf-8"
            )
    except KeyboardInterrupt:
        raise Interrupted(
            f"all {len(results)} points saved in {target}; run the same command to write "
            "the results"
        ) from None
    if not quiet:
        from matchsim.report.tables import sweep_table

        render.console.print(
            sweep_table(
                summary, list(grid_values), f"{spec.name}: {len(results)} runs in {target}/"
            )
        )


def check_sweep_sizes(
    spec: Any, grid: dict[str, list[Any]], workers: int, scheduler: str | None, force: bool
) -> None:
    """Every grid point valid and within the machine, before any point runs."""
    from matchsim.scenario.sweep import grid_points, point_scenario

    points = [point_scenario(spec, settings, spec.seed) for settings in grid_points(grid)]
    largest = max(points, key=lambda p: p.population.pupils or 0)
    check_scenario_size(largest, scheduler, force, points=min(workers, len(points)))
    for point in points:
        check_scenario_size(point, scheduler, force)
