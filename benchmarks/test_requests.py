"""Request generation with the full error model: requests per second.

Target (issue: requests with ground truth): 1,000,000 requests in 20 s or less on the
2-core machine, against a 2,000,000-pupil register generated beforehand (not timed).

    python -m pytest benchmarks/test_requests.py -p no:cacheprovider --benchmark-only
"""

from __future__ import annotations

import time

import pytest

from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

SIZES = {"smoke": (20_000, 5_000), "full": (2_000_000, 1_000_000)}
TARGET_SECONDS = 20.0


@pytest.fixture(scope="module")
def register(bench_scale):
    pupils, _ = SIZES[bench_scale.name]
    return generate_census(
        CensusConfig(pupils=pupils), bench_scale.seed, workers=bench_scale.workers
    )


def test_requests_full_error_model(benchmark, bench_scale, register):
    _, count = SIZES[bench_scale.name]
    config = RequestConfig(profile="immigration", count=count)
    own: list[float] = []

    def run():
        start = time.perf_counter()
        result = generate_requests(register, config, seed=7)
        own.append(time.perf_counter() - start)
        return result

    result = benchmark.pedantic(run, rounds=1 if bench_scale.name == "smoke" else 2, iterations=1)
    assert result.table.num_rows == count
    seconds = min(own)
    benchmark.extra_info.update(
        {
            "scale": bench_scale.name,
            "register_pupils": register.pupils.num_rows,
            "requests": count,
            "seconds": round(seconds, 2),
            "requests_per_s": round(count / seconds),
            "target_seconds": TARGET_SECONDS,
            "error_types_applied": sum(1 for v in result.error_rates().values() if v > 0),
        }
    )
    if bench_scale.full:
        assert seconds <= TARGET_SECONDS, (
            f"1M requests took {seconds:.1f} s (target {TARGET_SECONDS} s)"
        )
