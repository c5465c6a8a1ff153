from __future__ import annotations

from collections.abc import Iterator

import pytest

from matchsim.synth import Census, CensusConfig, generate_census


@pytest.fixture(scope="session")
def census() -> Census:
    """A census large enough for distribution checks (three RNG blocks), generated once."""
    return generate_census(CensusConfig(pupils=150_000), seed=11, workers=2)


@pytest.fixture(scope="session")
def register() -> Census:
    """A small NPD-like register of former and current pupils."""
    return generate_census(CensusConfig(pupils=60_000, birth_years=(1992, 2012)), seed=5)


@pytest.fixture(autouse=True, scope="session")
def _world_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the worlds that tests build out of the user's cache directory."""
    import os

    from matchsim.world import CACHE_ENV

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("world-cache"))
    yield
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous
