"""matchsim run: one scenario, end to end."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from matchsim.cli import render
from matchsim.cli.options import (
    ForceOption,
    JoinSchedulerOption,
    SetOption,
    check_scenario_size,
    check_seed,
    scenario_executor,
)
from matchsim.io import check_result_dir


def run_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Result directory (default: results/NAME, results/NAME-seedN with --seed, "
            "plus a short hash of the --set values with --set).",
        ),
    ] = None,
    set_: SetOption = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the whole run (overrides the scenario's).")
    ] = None,
    scheduler: JoinSchedulerOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")
    ] = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Run a scenario: build the register, draw the requests, look them up, score and report."""
    from matchsim.scenario import load_scenario
    from matchsim.simulation import simulate

    check_seed(seed, "--seed")
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    spec = load_scenario(scenario, overrides)
    check_scenario_size(spec, scheduler, force)
    target = out if out is not None else default_run_dir(spec.name, seed, set_ or [])
    check_result_dir(target, "--out", command="run", create_parent=out is None)
    with (
        scenario_executor(spec.executor, scheduler, None) as executor,
        render.stage_bars(quiet) as stage,
    ):
        simulation = simulate(spec, stage=stage, executor=executor)
        simulation.write(target, create_parent=out is None)
    if not quiet:
        render.print_run_summary(simulation.run, target)


def default_run_dir(name: str, seed: int | None, overrides: Sequence[str]) -> Path:
    """``results/NAME``; with ``--seed N``, ``results/NAME-seedN``; with ``--set``, a short
    stable hash of the settings given is added, so a variant never replaces the plain run."""
    import hashlib
    import json

    from matchsim.scenario.schema import parse_override

    label = name if seed is None else f"{name}-seed{seed}"
    if overrides:
        parsed = [parse_override(item) for item in overrides]
        text = json.dumps(parsed, sort_keys=True, default=str)
        label += "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return Path("results") / label
