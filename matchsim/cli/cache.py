"""matchsim cache: the worlds kept on disk (see matchsim.world)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from matchsim.cli import render

cache_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="List or clear the registers kept on disk between runs (MATCHSIM_CACHE_DIR moves them; "
    "MATCHSIM_CACHE_MAX_GB bounds their size, 20 GB unless set).",
)


@cache_app.command("list")
def cache_list_command() -> None:
    """List the cached worlds: key, pupils, seed, matchsim version, parts, size, last use."""
    import time

    from matchsim.world import BUDGET_ENV, cache_budget, cache_dir, list_worlds

    budget = cache_budget()
    worlds = list_worlds()
    table = Table(title=f"cached worlds in {cache_dir()}", title_justify="left")
    for column in ("key", "pupils", "seed", "version", "parts", "size", "last used"):
        table.add_column(
            column,
            justify="right" if column in ("pupils", "size") else "left",
            no_wrap=column == "key",
        )
    for w in worlds:
        table.add_row(
            w.key,
            f"{w.pupils:,}" if w.pupils is not None else "?",
            str(w.seed) if w.seed is not None else "?",
            w.version or "?",
            ", ".join(w.parts) or "(incomplete)",
            render.human_bytes(w.bytes),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(w.last_used)),
        )
    render.console.print(table)
    limit = "unlimited" if budget is None else f"{budget / 1e9:g} GB"
    render.console.print(
        f"{len(worlds)} world(s), {render.human_bytes(sum(w.bytes for w in worlds))} in all; "
        f"budget {limit} ({BUDGET_ENV}): building a world deletes the least recently used "
        "others beyond it",
        highlight=False,
    )


@cache_app.command("clear")
def cache_clear_command(
    key: Annotated[
        str | None, typer.Argument(help="The world to delete (from `matchsim cache list`).")
    ] = None,
) -> None:
    """Delete every cached world, or the one of KEY. Only matchsim's own files are deleted."""
    from matchsim.errors import ConfigError
    from matchsim.world import clear_worlds

    try:
        removed = clear_worlds(key)
    except ConfigError as exc:  # the library names its parameter; the user typed KEY
        raise ConfigError(
            "KEY", f"no cached world {key!r}; `matchsim cache list` shows them"
        ) from exc
    render.console.print(
        f"deleted {len(removed)} world(s), {render.human_bytes(sum(w.bytes for w in removed))}",
        highlight=False,
    )
