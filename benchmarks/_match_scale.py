"""Sizes of the matching benchmarks (``test_throughput.py``, ``test_end_to_end.py`` and
``test_accuracy.py``'s FEBRL4 benchmarks) at each scale; ``conftest.py`` turns them into the
``match_scale`` fixture, with the ``--bench-match-*`` and ``--bench-e2e-*`` overrides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from benchmarks._measure import apply_overrides


@dataclass(frozen=True)
class MatchScale:
    """Sizes of the matching benchmarks at one scale."""

    name: str
    #: census and requests of the comparison-throughput benchmark (default blocking pairs them)
    pupils: int
    requests: int
    rounds: int
    warmup_rounds: int
    #: rounds of the paired ratio (recordlinkage and matchsim back to back in each)
    paired_rounds: int
    #: at most this many candidate pairs go to both libraries (None: all)
    peer_pairs: int | None
    #: ``CensusConfig`` keyword arguments and batch size of the end-to-end run
    e2e_census: dict[str, Any]
    e2e_requests: int
    #: request batches looked up one after the other against the one prepared register
    e2e_batches: int
    #: FEBRL4 records linked (None: all 5,000 of each file)
    febrl_records: int | None
    seed: int
    workers: int

    @property
    def full(self) -> bool:
        return self.name == "full"


SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "pupils": 1_000_000,
        "requests": 50_000,
        "rounds": 3,
        "warmup_rounds": 1,
        "paired_rounds": 9,
        "peer_pairs": None,
        "e2e_census": {},  # CensusConfig() default: 9,092,073 pupils, January 2024
        "e2e_requests": 10_000,
        "e2e_batches": 2,
        "febrl_records": None,
    },
    "smoke": {
        "pupils": 20_000,
        "requests": 1_000,
        "rounds": 1,
        "warmup_rounds": 0,
        "paired_rounds": 2,
        "peer_pairs": None,
        "e2e_census": {"pupils": 20_000},
        "e2e_requests": 200,
        "e2e_batches": 1,
        "febrl_records": 500,
    },
}


def match_scale_for(bench_scale: Any, config: pytest.Config) -> MatchScale:
    """The sizes of ``bench_scale``'s scale, with the command line's overrides."""
    scale = MatchScale(
        name=bench_scale.name,
        seed=bench_scale.seed,
        workers=bench_scale.workers,
        **SIZES[bench_scale.name],
    )
    overrides = {
        "pupils": config.getoption("--bench-match-pupils"),
        "requests": config.getoption("--bench-match-requests"),
        "rounds": config.getoption("--bench-match-rounds"),
        "peer_pairs": config.getoption("--bench-match-peer-pairs"),
        "e2e_requests": config.getoption("--bench-e2e-requests"),
    }
    return apply_overrides(scale, overrides, "the --bench-match/--bench-e2e option")
