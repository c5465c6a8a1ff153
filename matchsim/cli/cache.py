"""matchsim cache: the worlds kept on disk (see matchsim.world)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from matchsim.cli import render

cache_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="List or clear the registers kept on disk between runs (MATCHSIM_CACHE_DIR moves them).",
)


@cache_app.command("list")
def cache_list_command() -> None:
    """List the cached worlds: key, pupils, seed, matchsim version, parts and size."""
    from matchsim.world import cache_dir, list_worlds

    worlds = list_worlds()
    table = Table(title=f"cached worlds in {cache_dir()}", title_justify="left")
    for column in ("key", "pupils", "seed", "version", "parts", "size"):
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
        )
    render.console.print(table)
    render.console.print(
        f"{len(worlds)} world(s), {render.human_bytes(sum(w.bytes for w in worlds))} in all"
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
