"""matchsim requests: requests with ground truth drawn from a register."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from matchsim.cli import render
from matchsim.cli.options import (
    REQUEST_ALIASES,
    ForceOption,
    OverwriteOption,
    as_config_error,
    check_seed,
    load_yaml,
    parse_weights,
    refuse_same_file,
)
from matchsim.io import check_writable


def requests(
    census: Annotated[
        Path,
        typer.Option(
            "--census", help="Register written by 'matchsim generate' (.parquet or .csv)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")],
    profile: Annotated[
        str | None,
        typer.Option(
            help="Requester profile (default immigration): immigration, benefit_fraud, police_cohort, research_linkage."
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option(help="Number of requests (default: the profile's).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same requests.")
    ] = 0,
    in_register_share: Annotated[
        float | None,
        typer.Option(
            "--in-register-share", help="Share of requested people who are in the register."
        ),
    ] = None,
    error: Annotated[
        list[str] | None,
        typer.Option("--error", help="Override one error probability, NAME=P (repeatable)."),
    ] = None,
    error_scale: Annotated[
        float | None, typer.Option("--error-scale", help="Multiply every error probability.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file of request settings.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    overwrite: OverwriteOption = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Draw requests with ground truth from a register, for lookups to be scored against."""
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import address_history_path, load_census

    check_seed(seed, "--seed")
    check_writable(out, "--out", overwrite=overwrite)
    refuse_same_file(
        out, {"--census": census, "--census's address history": address_history_path(census)}
    )
    settings: dict[str, Any] = load_yaml(config, "--config") if config is not None else {}
    if profile is not None:
        settings["profile"] = profile
    if count is not None:
        settings["count"] = count
    if in_register_share is not None:
        settings["in_register_share"] = in_register_share
    if error_scale is not None:
        settings["error_scale"] = error_scale
    if error:
        settings.setdefault("errors", {}).update(parse_weights(",".join(error), "--error"))
    try:
        request_config = RequestConfig.model_validate(settings)
    except ValidationError as exc:
        raise as_config_error(exc, REQUEST_ALIASES, RequestConfig) from None
    register = load_census(census, "--census")
    from matchsim.synth.plan import check_plan, estimate_requests

    check_plan(
        estimate_requests(request_config.resolve()[1].count or 0, register.pupils.num_rows),
        "--count",
        force=force,
        ways_out="draw fewer requests, in several batches (--count, --seed)",
    )
    request_set = generate_requests(register, request_config, seed)
    request_set.write(out, overwrite=overwrite)
    if not quiet:
        render.print_request_summary(request_set, out)
