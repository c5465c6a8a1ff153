"""The measured interpreter of the big generation runs: one ``generate_census`` call.

::

    python -m benchmarks._generate_child CENSUS_KWARGS SEED WORKERS OUT_PATH

``CENSUS_KWARGS`` is a JSON object of ``CensusConfig`` keyword arguments. The time and CPU
time of the call, the row counts and this process's own peak RSS (KiB: at start, after the
imports, at the end) go to ``OUT_PATH`` as JSON. Only the standard library is imported before
the first peak is read.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> None:
    base_kib = maxrss_kib()
    from matchsim.synth import CensusConfig, generate_census

    kwargs, seed, workers, out_path = json.loads(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    config = CensusConfig(**kwargs)
    import_kib = maxrss_kib()
    start, cpu_start = time.perf_counter(), time.process_time()
    census = generate_census(config, seed, workers=workers)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result = {
        "generate_seconds": seconds,
        "generate_cpu_seconds": cpu,
        "pupils": census.pupils.num_rows,
        "address_rows": census.addresses.num_rows,
        "table_bytes": census.pupils.nbytes + census.addresses.nbytes,
        "child_base_maxrss_kib": base_kib,
        "child_import_maxrss_kib": import_kib,
        "child_self_maxrss_kib": maxrss_kib(),
    }
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
