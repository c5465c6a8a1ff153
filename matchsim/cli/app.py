"""The ``matchsim`` application: its commands, and errors mapped to exit codes.

Every command calls the public library API. User errors print one line and exit 2;
unexpected failures exit 1 and suggest ``--debug`` for the traceback.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Annotated, Any, TextIO

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from matchsim.cli import (
    cache,
    calibrate,
    dedupe,
    explore,
    fidelity,
    generate,
    link,
    listing,
    render,
    requests,
    run,
    sweep,
)
from matchsim.cli.options import as_flag_error
from matchsim.errors import ConfigError, Interrupted, MatchsimError, MatchsimWarning


class _StoppedError(Exception):
    """Ctrl-C inside a command. Typer turns a KeyboardInterrupt into a silent exit 130; this
    carries it (and what an :class:`Interrupted` job kept) to :func:`main`, which says so."""

    def __init__(self, exc: KeyboardInterrupt) -> None:
        self.message = exc.message if isinstance(exc, Interrupted) else "nothing written"
        super().__init__(self.message)


class _Commands(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _StoppedError(exc) from None


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Simulate name/date-of-birth/address lookups on synthetic pupil records.",
)
_state: dict[str, bool] = {"debug": False}


def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")
    ] = False,
) -> None:
    _state["debug"] = debug


app.callback()(_root)
# One module per command; listed here in the order ``matchsim --help`` shows them.
app.command("generate")(generate.generate)
app.command("requests")(requests.requests)
app.command("link")(link.link_command)
app.command("run")(run.run_command)
app.command("calibrate")(calibrate.calibrate_command)
app.command("fidelity")(fidelity.fidelity_command)
app.command("sweep")(sweep.sweep_command)
app.command("list")(listing.list_command)
app.command("dedupe")(dedupe.dedupe_command)
app.command("explore")(explore.explore_command)
app.add_typer(cache.cache_app, name="cache")


def _notes_as_lines(python_shows: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints matchsim's own warnings as one ``note:`` line on
    stderr, and any other as Python would (``python_shows``)."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, MatchsimWarning):
            render.err_console.print(
                f"note: {message}", markup=False, highlight=False, soft_wrap=True
            )
        else:
            python_shows(message, category, filename, lineno, file, line)

    return show


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and map errors to exit codes (0 ok, 1 bug, 2 user error)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("once", MatchsimWarning)  # each text once per command
            warnings.showwarning = _notes_as_lines(warnings.showwarning)
            result = app(args=argv, standalone_mode=False)
    except TyperException as exc:
        render.err_console.print(
            f"error: {exc.format_message()}", markup=False, highlight=False, soft_wrap=True
        )
        return 2
    except (typer.Abort, KeyboardInterrupt, _StoppedError) as exc:
        # Outputs are written beside their target and renamed in at the end: an interrupted
        # command leaves nothing, except a sweep's saved points, which it counts.
        said = exc.message if isinstance(exc, _StoppedError | Interrupted) else "nothing written"
        render.err_console.print(
            f"interrupted: {said}", markup=False, highlight=False, soft_wrap=True
        )
        return 130
    except MatchsimError as exc:
        if isinstance(exc, ConfigError):
            exc = as_flag_error(exc)
        render.err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except Exception as exc:
        if debug:
            raise
        render.err_console.print(
            f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1
    return result if isinstance(result, int) else 0
