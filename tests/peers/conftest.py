"""Shared fixtures of the peer-engine tests.

The adapter tests need the ``peers`` extra. Without it they skip, except where
``MATCHSIM_REQUIRE_PEERS=1`` (set by ``.ci/run`` in the environment that installs the extra),
where a missing library fails the run: CI must exercise the adapters, not skip them.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from matchsim.linkage import prepare_register
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

REQUIRE_ENV = "MATCHSIM_REQUIRE_PEERS"


def need(module: str) -> None:
    """Skip (or, where the peers are required, fail) when ``module`` is not installed."""
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{module} is not installed (pip install 'matchsim[peers]')"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}")
    pytest.skip(message)


@pytest.fixture(scope="package")
def recordlinkage_installed() -> None:
    need("recordlinkage")


@pytest.fixture(scope="package")
def splink_installed() -> None:
    need("splink")
    need("duckdb")


@pytest.fixture(scope="package")
def world():
    """A small register, research-linkage requests about it and the prepared register."""
    census = generate_census(CensusConfig(pupils=8_000), seed=21, workers=1)
    requests = generate_requests(
        census, RequestConfig(profile="research_linkage", count=400), seed=22
    )
    return census, requests, prepare_register(census)
