"""The measured interpreter of the blocking benchmark: one strategy on one census.

::

    python -m benchmarks._blocking_child IN_DIR SPEC OUT_PATH

``IN_DIR`` holds what ``benchmarks._census_child`` writes (one request batch); ``SPEC`` is the
strategy as JSON (``"default"`` or a ``make_blocker`` spec). The strategy's report, or its
refusal with the estimate it refused, goes to ``OUT_PATH`` as JSON, with the time and the
memory of the blocking call alone: the process's peak RSS is reset just before it.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
from typing import Any


def status_kib(field: str) -> int | None:
    """A figure of ``/proc/self/status`` in KiB (``VmHWM``, ``VmRSS``), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def main(argv: list[str]) -> None:
    in_dir, spec, out_path = argv[0], json.loads(argv[1]), argv[2]
    # Blocking over keyed encodings (clk_lsh) needs a secret; a benchmark's key need not be.
    os.environ.setdefault("MATCHSIM_PPRL_KEY", "matchsim benchmark key (not secret)")
    import pyarrow.parquet as pq

    from matchsim.blocking import BYTES_PER_PAIR, default_blocking, make_blocker, run_blocking
    from matchsim.errors import PlanTooLargeError
    from matchsim.linkage import prepare_register, request_linkage, true_rows_of
    from matchsim.synth import load_census

    result: dict[str, Any] = {}
    start = time.perf_counter()
    census = load_census(f"{in_dir}/census.parquet")
    requests = pq.read_table(f"{in_dir}/requests-1.parquet")
    result["load_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    # Not warmed: every strategy builds its own register-side keys inside the timed call.
    register = prepare_register(census, warm=False)
    data, true_links = request_linkage(requests, register)
    true_rows = true_rows_of(data, true_links)
    result["prepare_seconds"] = time.perf_counter() - start
    result["pupils"], result["requests"] = census.pupils.num_rows, requests.num_rows
    del census, requests, register
    gc.collect()

    blocker = default_blocking(data.roles) if spec == "default" else make_blocker(spec)
    result["strategy"] = blocker.describe()
    result["before_peak_kib"] = status_kib("VmHWM")
    result["before_rss_kib"] = status_kib("VmRSS")
    result["peak_was_reset"] = reset_peak()
    cpu, start = time.process_time(), time.perf_counter()
    try:
        _, report = run_blocking(blocker, data, true_rows)
    except PlanTooLargeError as exc:
        total = exc.pairs  # the estimate the strategy refused
        result.update(
            status="refused",
            refusal=str(exc),
            estimated_pairs=total,
            estimated_gb=total * BYTES_PER_PAIR / 1e9,
            left_records=len(data.left),
            right_records=len(data.right),
        )
    else:
        result.update(status="ran", **report.as_dict())
    result["wall_seconds"] = time.perf_counter() - start
    result["cpu_seconds"] = time.process_time() - cpu
    result["blocking_peak_kib"] = status_kib("VmHWM")
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all of this process's threads
    result["process_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
