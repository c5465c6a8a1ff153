"""executor: dask against local, side by side: the NPD-like register and 10,000 requests.

Full scale: the register of pupils born 1990-2020 (about 19.8M, the benchmarks' "21M-individual"
NPD-like register) generated locally and in partitions on a 2-worker ``LocalCluster``, then
10,000 requests looked up against it locally and partition by partition on the cluster. Both
pairs of runs must give identical outputs; the figures are wall times on the same machine in
the same run (``extra_info`` holds the ratio). On one machine the cluster mostly pays for
shipping partitions between processes: the point of measuring it is the per-partition cost
behind the 100M plan in ``benchmarks/distributed.md``, not a speed-up.

    python -m pytest benchmarks/test_distributed.py -p no:cacheprovider --benchmark-only
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
import pytest

from matchsim.distributed import PartitionedRegister, open_executor, write_census_dataset
from matchsim.io import decoded_table
from matchsim.linkage import lookup, prepare_register
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import PUPILS_DIR, CensusConfig, generate_census


@dataclass(frozen=True)
class DistributedScale:
    register: dict[str, Any]
    requests: int
    #: Generation partitions: small enough that a task's peak (about 0.5 KB a pupil) and the
    #: blocks held between the two passes leave room for the local register beside them.
    generate_partitions: int
    workers: int = 2


def _distributed_scale(bench_scale) -> DistributedScale:
    if bench_scale.full:
        return DistributedScale(
            register=dict(bench_scale.register_kwargs), requests=10_000, generate_partitions=16
        )
    return DistributedScale(register={"pupils": 20_000}, requests=200, generate_partitions=2)


@pytest.fixture(scope="module")
def scale(bench_scale) -> DistributedScale:
    return _distributed_scale(bench_scale)


@pytest.fixture(scope="module")
def executor(scale):
    with open_executor("dask", workers=scale.workers) as dask_executor:
        yield dask_executor


@pytest.fixture(scope="module")
def side_by_side() -> dict[str, Any]:
    return {}


def _once(benchmark, fn):
    return benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)


@pytest.mark.benchmark(group="distributed-generate")
def test_generate_local(benchmark, scale, bench_scale, side_by_side):
    config = CensusConfig(**scale.register)
    start = time.perf_counter()
    census = _once(benchmark, lambda: generate_census(config, bench_scale.seed, workers=2))
    side_by_side["generate_local"] = time.perf_counter() - start
    side_by_side["census"] = census
    benchmark.extra_info["pupils"] = census.pupils.num_rows


@pytest.mark.benchmark(group="distributed-generate")
def test_generate_dask(benchmark, scale, bench_scale, executor, side_by_side, tmp_path):
    """The workers write the register as a Parquet dataset, as ``matchsim generate
    --partitions`` does; nothing is gathered on the client (at full scale a second in-memory
    copy of the register beside the local one does not fit in 24 GB)."""
    config = CensusConfig(**scale.register)
    out = tmp_path / "register"
    start = time.perf_counter()
    _once(
        benchmark,
        lambda: write_census_dataset(
            config, bench_scale.seed, out, executor, partitions=scale.generate_partitions
        ),
    )
    seconds = time.perf_counter() - start
    # The parts, read in order one at a time, are the local register row for row.
    local = side_by_side["census"].pupils
    offset = 0
    parts = sorted((out / PUPILS_DIR).glob("part-*.parquet"))
    for part in parts:
        table = pq.read_table(part)
        # (each part stores its text columns on dictionaries of its own: compare the values)
        expected = local.slice(offset, table.num_rows)
        assert decoded_table(table).equals(decoded_table(expected)), part.name
        offset += table.num_rows
    assert offset == local.num_rows
    benchmark.extra_info |= {
        "pupils": offset,
        "partitions": len(parts),
        "written_to": "Parquet dataset on the workers (local disk)",
        "dask_over_local": seconds / side_by_side["generate_local"],
    }


@pytest.fixture(scope="module")
def requests_(scale, bench_scale, side_by_side):
    return generate_requests(
        side_by_side["census"], RequestConfig(count=scale.requests), seed=bench_scale.seed + 1
    )


@pytest.mark.benchmark(group="distributed-lookup")
def test_lookup_local(benchmark, side_by_side, requests_):
    census = side_by_side["census"]
    register = prepare_register(census)
    start = time.perf_counter()
    result = _once(benchmark, lambda: lookup(census, requests_, register=register))
    side_by_side["lookup_local"] = time.perf_counter() - start
    side_by_side["outcomes"] = result.outcomes
    benchmark.extra_info["requests"] = requests_.table.num_rows


@pytest.mark.benchmark(group="distributed-lookup")
def test_lookup_dask(benchmark, side_by_side, requests_, executor):
    census = side_by_side["census"]
    # Not warmed here: the blocking keys are built on the workers, partition by partition
    # (warming the client's copy too would add about 3 GB at full scale, past 24 GB).
    gc.collect()
    register = prepare_register(census, warm=False)
    start = time.perf_counter()
    parts = PartitionedRegister(register, executor)
    shipped = time.perf_counter() - start
    start = time.perf_counter()
    result = _once(
        benchmark, lambda: lookup(census, requests_, register=register, partitions=parts)
    )
    seconds = time.perf_counter() - start
    assert result.outcomes.equals(side_by_side["outcomes"])
    benchmark.extra_info |= {
        "requests": requests_.table.num_rows,
        "partitions": len(parts),
        "scatter_and_warm_seconds": shipped,
        "dask_over_local": seconds / side_by_side["lookup_local"],
    }
