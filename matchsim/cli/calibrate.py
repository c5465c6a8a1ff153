"""matchsim calibrate: the in-register share solved from published figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matchsim.cli import render
from matchsim.cli.options import (
    SetOption,
    scenario_executor,
)
from matchsim.errors import ConfigError


def calibrate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    set_: SetOption = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the run (overrides the scenario's).")
    ] = None,
    requests_: Annotated[
        int | None,
        typer.Option("--requests", help="Requests to simulate (default: the scenario's)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures to this JSON file.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Solve the in-register share from the published Home Office returned shares, and say
    what the published figures can and cannot tell (docs/calibration.md)."""
    import json

    from matchsim.scenario import load_scenario
    from matchsim.scenario.calibration import calibrate_scenario

    if json_out is not None:
        parent = json_out.parent if str(json_out.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError("--json", f"directory {str(parent)!r} does not exist")
        if json_out.exists():
            raise ConfigError("--json", f"{str(json_out)!r} already exists; give a new file name")
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    spec = load_scenario(scenario, overrides)
    with (
        scenario_executor(spec.executor, None, None) as executor,
        render.stage_bars(quiet) as stage,
    ):
        report = calibrate_scenario(spec, stage, count=requests_, executor=executor)
    if json_out is not None:
        from matchsim.io import atomic_path

        with atomic_path(json_out) as tmp:
            tmp.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    from matchsim.report.tables import calibration_tables

    for table in calibration_tables(report):
        render.console.print(table)
