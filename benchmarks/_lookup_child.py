"""The measured interpreter of the end-to-end benchmark: load, prepare the register once,
look up each request batch.

::

    python -m benchmarks._lookup_child IN_DIR REQUESTS BATCHES SEED OUT_PATH

``IN_DIR`` holds what ``benchmarks._census_child`` writes. The result (timings, outcomes and
this process's own peak RSS after each step, in KiB) goes to ``OUT_PATH`` as JSON. Only the
standard library is imported before the first peak is read, so ``base_maxrss_kib`` is the
bare interpreter's.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from typing import Any


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_kib() -> int | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def cache_bytes(data: Any) -> int:
    """Bytes of the arrays a linkage keeps in its per-linkage cache (if it has one)."""
    import numpy as np

    total = 0
    for value in getattr(data, "cache", {}).values():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, np.ndarray):
                arrays = [item]
            else:
                arrays = list(vars(item).values()) if hasattr(item, "__dict__") else []
            total += sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
    return total


def main(argv: list[str]) -> None:
    in_dir, count, n_batches = argv[0], int(argv[1]), int(argv[2])
    seed, out_path = int(argv[3]), argv[4]
    result: dict[str, Any] = {"base_maxrss_kib": maxrss_kib()}
    import pyarrow.parquet as pq

    from matchsim.linkage import lookup, prepare_register
    from matchsim.requests import RequestConfig, RequestSet
    from matchsim.synth import load_census

    result["import_maxrss_kib"] = maxrss_kib()

    start = time.perf_counter()
    census = load_census(f"{in_dir}/census.parquet")
    batches = [
        RequestSet(
            pq.read_table(f"{in_dir}/requests-{b}.parquet"),
            RequestConfig(profile="immigration", count=count),
            seed + b,
        )
        for b in range(1, n_batches + 1)
    ]
    result["load_seconds"] = time.perf_counter() - start
    result["pupils"] = census.pupils.num_rows
    result["census_bytes"] = census.pupils.nbytes + census.addresses.nbytes
    result["loaded_rss_kib"] = rss_kib()
    result["loaded_maxrss_kib"] = maxrss_kib()

    start, cpu = time.perf_counter(), time.process_time()
    register = prepare_register(census)
    result["prepare_seconds"] = time.perf_counter() - start
    result["prepare_cpu_seconds"] = time.process_time() - cpu
    result["prepared_maxrss_kib"] = maxrss_kib()

    result["batches"] = []
    for requests in batches:
        start, cpu = time.perf_counter(), time.process_time()
        out = lookup(census, requests, register=register)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        timings = dict(out.link.timings)
        result["batches"].append(
            {
                "requests": requests.table.num_rows,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "timings": timings,
                "outside_link_prepared_seconds": seconds - sum(timings.values()),
                "candidate_pairs": out.link.blocking.candidate_pairs,
                "pairs_completeness": out.link.blocking.pairs_completeness,
                "decisions": len(out.link.decisions),
                "outcomes": {k: int(v) for k, v in out.evaluation.counts.items()},
                "maxrss_kib_after": maxrss_kib(),
                "result_cache_bytes": cache_bytes(out.link.data),
            }
        )
        # A kept LookupResult holds its linkage and the linkage's cache: dropping it before the
        # next batch makes each batch's peak its own.
        del out
        gc.collect()
    result["child_self_maxrss_kib"] = maxrss_kib()
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
