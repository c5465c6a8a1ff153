"""matchsim explore: the offline lookup explorer of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matchsim.cli import render


def explore_command(
    result: Annotated[
        Path | None,
        typer.Argument(
            metavar="RESULT_DIR",
            help="A result directory of 'matchsim run' (default: the latest under results/).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Write RESULT_DIR/explorer.html: one offline page to edit a request and watch the lookup
    block, compare and score it with the run's fitted model (needs a fellegi_sunter run).

    The run is rebuilt from its scenario.resolved.yaml (same settings and seed, so the same
    register and model); see docs/explorer.md.
    """
    from matchsim.report.explore import check_explore, explore, latest_result

    target = result if result is not None else latest_result()
    check_explore(target)
    with render.stage_bars(quiet) as stage:
        page = explore(target, stage)
    if not quiet:
        render.console.print(
            f"Wrote {page}: open it in a browser (it works offline).", soft_wrap=True
        )
