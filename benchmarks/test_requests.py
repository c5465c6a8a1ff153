"""Request generation with the full error model: requests per second.

Target (issue: requests with ground truth): 1,000,000 requests in 20 s or less on the
2-core machine, against a 2,000,000-pupil register generated beforehand (not timed).
The rate is also given as a ratio to Faker's per-record generation, measured in the same test
with the loop of ``test_generation.py`` (one Faker call per field of each record). A request
carries more than that record (errors, ground truth), so the ratio understates matchsim.

    python -m pytest benchmarks/test_requests.py -p no:cacheprovider --benchmark-only
"""

from __future__ import annotations

import time

import pytest

from benchmarks.test_generation import _faker_rate_once
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

SIZES = {"smoke": (20_000, 5_000), "full": (2_000_000, 1_000_000)}
#: Faker records per baseline round, and rounds (the median is used), by scale
FAKER_BASELINE = {"smoke": (500, 1), "full": (5_000, 3)}
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
    faker_n, faker_rounds = FAKER_BASELINE[bench_scale.name]
    faker_rates = sorted(_faker_rate_once(bench_scale.seed, faker_n) for _ in range(faker_rounds))
    faker_rate = faker_rates[len(faker_rates) // 2]
    benchmark.extra_info.update(
        {
            "scale": bench_scale.name,
            "register_pupils": register.pupils.num_rows,
            "requests": count,
            "seconds": round(seconds, 2),
            "requests_per_s": round(count / seconds),
            "faker_records_per_s": round(faker_rate),
            "ratio_vs_faker": round(count / seconds / faker_rate, 1),
            "target_seconds": TARGET_SECONDS,
            "error_types_applied": sum(1 for v in result.error_rates().values() if v > 0),
        }
    )
    if bench_scale.full:
        assert seconds <= TARGET_SECONDS, (
            f"1M requests took {seconds:.1f} s (target {TARGET_SECONDS} s)"
        )
