from __future__ import annotations

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
