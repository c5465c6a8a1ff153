"""matchsim generate: a synthetic pupil register."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from matchsim.cli import render
from matchsim.cli.options import (
    CENSUS_ALIASES,
    ForceOption,
    OverwriteOption,
    as_config_error,
    check_seed,
    load_yaml,
    parse_weights,
    parse_years,
)
from matchsim.errors import ConfigError
from matchsim.io import check_result_dir, check_writable


def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")],
    pupils: Annotated[
        int | None,
        typer.Option(help="Individuals in the register (default: the 2024 census, 9,092,073)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed and config give identical output.")
    ] = 0,
    birth_years: Annotated[
        str | None,
        typer.Option(
            "--birth-years",
            help="Build an NPD-like register of pupils born in these years, e.g. 1990-2020.",
        ),
    ] = None,
    census_date: Annotated[
        str | None,
        typer.Option("--census-date", help="Census day, YYYY-MM-DD (default 2024-01-18)."),
    ] = None,
    origins: Annotated[
        str | None,
        typer.Option(
            help="Name-origin mix, e.g. british=0.8,pakistani=0.2 (sums to 1); origins or Faker locales."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML file of census settings (see docs/census-config.md)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Threads to use.")] = 2,
    partitions: Annotated[
        int | None,
        typer.Option(
            help="Write OUT as a Parquet dataset directory of this many partitions, generated "
            "on --workers local processes (or the --scheduler cluster's workers).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Generate the partitions on the Dask cluster at this address (needs --partitions).",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
    overwrite: OverwriteOption = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Generate a synthetic pupil register and print its summary.

    Writes OUT and, beside it, the address history (OUT's stem + '.addresses'); with
    --partitions, OUT is a directory: pupils/part-*.parquet and addresses/part-*.parquet, which
    read in order are the register a single run writes.
    """
    from matchsim.synth import CensusConfig, address_history_path, generate_census
    from matchsim.synth.origins import resolve_origin

    check_seed(seed, "--seed")
    if scheduler is not None and partitions is None:
        raise ConfigError(
            "--scheduler", "generating on a cluster writes partitions: give --partitions N"
        )
    if partitions is None:
        check_writable(out, "--out", overwrite=overwrite)
        check_writable(address_history_path(out), "--out", overwrite=overwrite)
    else:  # a dataset directory: new, empty or matchsim's own; --overwrite is for files only
        check_result_dir(out, "--out", command="generate")
    settings: dict[str, Any] = {}
    if config is not None:
        settings = load_yaml(config, "--config")
    if pupils is not None:
        settings["pupils"] = pupils
    if birth_years is not None:
        settings["birth_years"] = parse_years(birth_years)
    if census_date is not None:
        try:
            settings["census_date"] = dt.date.fromisoformat(census_date)
        except ValueError:
            raise ConfigError(
                "--census-date", f"{census_date!r} is not a date YYYY-MM-DD"
            ) from None
    if origins is not None:
        settings.setdefault("names", {})["origins"] = parse_weights(origins, "--origins")
    if workers < 1:
        raise ConfigError("--workers", f"{workers} is not allowed; must be at least 1")
    try:
        census_config = CensusConfig.model_validate(settings)
    except ValidationError as exc:
        raise as_config_error(exc, CENSUS_ALIASES, CensusConfig) from None
    for origin in census_config.names.origins:
        resolve_origin(origin, field="--origins" if origins is not None else "names.origins")
    check_register_size(census_config, pupils, birth_years, partitions, workers, force)
    if partitions is not None:
        from matchsim.distributed import open_executor, write_census_dataset

        kind = "dask" if scheduler is not None else "processes"
        with open_executor(kind, scheduler=scheduler, workers=workers) as executor:
            written = write_census_dataset(
                census_config, seed, out, executor, partitions=partitions
            )
        if not quiet:
            # Fewer than asked when the register has fewer blocks than --partitions.
            render.console.print(
                f"Wrote the register in {written} partition{'s' * (written != 1)} to {out}/"
            )
        return
    with render.progress_bar("Generating register", quiet) as update:
        census = generate_census(census_config, seed, workers=workers, progress=update)
        census.write(out, overwrite=overwrite)
    if not quiet:
        render.print_summary(census.summary().as_dict(), out)
        render.print_fidelity(census)


def check_register_size(
    config: Any,
    pupils: int | None,
    birth_years: str | None,
    partitions: int | None,
    workers: int,
    force: bool,
) -> None:
    """Refuse a register this machine cannot generate, before any work (see synth.plan)."""
    from matchsim.synth.plan import check_generation

    if pupils is not None:
        parameter = "--pupils"
    elif birth_years is not None:
        parameter = "--birth-years"
    else:
        parameter = "pupils"
    check_generation(
        config, partitions=partitions, workers=workers, force=force, parameter=parameter
    )
