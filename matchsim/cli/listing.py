"""matchsim list: the names each setting takes."""

from __future__ import annotations

from rich.table import Table

from matchsim.cli import render
from matchsim.cli.render import list_sections


def list_command() -> None:
    """List the blocking strategies, comparisons, matchers, profiles and error types."""
    from matchsim.blocking import BLOCKERS
    from matchsim.comparison import COMPARISONS
    from matchsim.decision import POLICY_DESCRIPTIONS
    from matchsim.matchers import MATCHERS
    from matchsim.requests import ERROR_TYPES, PROFILES
    from matchsim.synth.origins import ORIGINS

    for title, rows in list_sections(
        BLOCKERS, COMPARISONS, MATCHERS, POLICY_DESCRIPTIONS, PROFILES, ERROR_TYPES, ORIGINS
    ):
        # The title is printed on its own line: as a table title it would wrap to the width
        # of a narrow table ("(lookup.decis / ion)").
        render.console.print(title, style="bold italic", markup=False, highlight=False)
        table = Table(show_header=False)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("what it is")
        for name, text in rows:
            table.add_row(name, text)
        render.console.print(table)
