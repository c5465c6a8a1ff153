"""The optional peer libraries (recordlinkage, Splink) the benchmarks measure matchsim against.

They come with ``pip install 'matchsim[peers]'``. Without them a peer benchmark skips with a
message and the matchsim benchmarks still run; ``MATCHSIM_REQUIRE_PEERS=1`` (set in CI's
peers environment) turns those skips into failures. recordlinkage 0.16 requires
``pandas<3``: installing it downgrades pandas.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

#: Set (by CI's peers environment) to fail, not skip, when a peer library is missing.
REQUIRE_PEERS_ENV = "MATCHSIM_REQUIRE_PEERS"

PEER_MISSING = (
    "recordlinkage is not installed, so the peer part is skipped "
    "(pip install 'matchsim[peers]'; note that recordlinkage requires pandas<3)"
)
SPLINK_MISSING = (
    "splink is not installed, so the Splink part is skipped (pip install 'matchsim[peers]')"
)


def recordlinkage_or_none() -> Any:
    """The ``recordlinkage`` module, or None when it is not installed."""
    try:
        import recordlinkage
    except ImportError:
        return None
    return recordlinkage


def splink_or_none() -> Any:
    """The ``splink`` module, or None when it (or DuckDB) is not installed."""
    try:
        import duckdb  # noqa: F401
        import splink
    except ImportError:
        return None
    return splink


def skip_peer(message: str) -> None:
    """Skip a peer benchmark, or fail where the peers are required (CI's peers environment)."""
    if os.environ.get(REQUIRE_PEERS_ENV) == "1":
        pytest.fail(f"{REQUIRE_PEERS_ENV}=1 but {message}")
    pytest.skip(message)
