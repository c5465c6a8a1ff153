"""Shipped data tables, each with its published source in its header comment.

Nothing here reads outside the installed package: the figures matchsim needs were
copied into these files, with their sources, from the project's research notes.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


@cache
def load_table(name: str) -> pd.DataFrame:
    """Read ``matchsim/data/<name>.csv`` (``#`` lines are provenance comments)."""
    with resources.files(__package__).joinpath(f"{name}.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#", keep_default_na=False)


def table_source(name: str) -> str:
    """The provenance comment block at the top of a shipped table."""
    text = resources.files(__package__).joinpath(f"{name}.csv").read_text(encoding="utf-8")
    return "\n".join(line[1:].strip() for line in text.splitlines() if line.startswith("#"))
