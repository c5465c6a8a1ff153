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
