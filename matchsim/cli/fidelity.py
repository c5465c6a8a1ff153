"""matchsim fidelity: generated against published."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from matchsim.cli import render
from matchsim.cli.options import (
    CENSUS_ALIASES,
    as_config_error,
    parse_years,
)
from matchsim.errors import ConfigError


def fidelity_command(
    pupils: Annotated[
        int | None,
        typer.Option(help="Generate a register of this many pupils (default 200,000)."),
    ] = None,
    census: Annotated[
        Path | None,
        typer.Option("--census", help="Measure this register (.parquet/.csv or directory)."),
    ] = None,
    birth_years: Annotated[
        str | None,
        typer.Option("--birth-years", help="With --pupils: an NPD-like register, e.g. 1992-2019."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the register and the requests.")] = 0,
    no_requests: Annotated[
        bool, typer.Option("--no-requests", help="Skip the request-error rows.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the rows to this JSON file.")
    ] = None,
) -> None:
    """Generated against published, side by side, with sources and pass/fail (docs/fidelity.md)."""
    import json

    from matchsim.fidelity import fidelity_rows
    from matchsim.report.tables import fidelity_table
    from matchsim.synth import CensusConfig, generate_census, load_census

    if census is not None and (pupils is not None or birth_years is not None):
        raise ConfigError("--census", "measures an existing register: drop --pupils/--birth-years")
    if json_out is not None and json_out.exists():
        raise ConfigError("--json", f"{str(json_out)!r} already exists; give a new file name")
    if census is not None:
        register = load_census(census, "--census")
    else:
        settings: dict[str, Any] = {"pupils": pupils if pupils is not None else 200_000}
        if birth_years is not None:
            settings["birth_years"] = parse_years(birth_years)
        try:
            config = CensusConfig.model_validate(settings)
        except ValidationError as exc:
            raise as_config_error(exc, CENSUS_ALIASES) from None
        register = generate_census(config, seed)
    rows = fidelity_rows(register, include_requests=not no_requests, seed=seed)
    if json_out is not None:
        from matchsim.io import atomic_path

        with atomic_path(json_out) as tmp:
            tmp.write_text(json.dumps([r.as_dict() for r in rows], indent=2), encoding="utf-8")
    render.console.print(
        fidelity_table(rows, f"Fidelity of a register of {register.pupils.num_rows:,}")
    )
