"""A census and request batches on disk, generated in a fresh interpreter (never timed).

::

    python -m benchmarks._census_child CENSUS_KWARGS SEED WORKERS REQUESTS BATCHES OUT_DIR

writes ``OUT_DIR/census.parquet``, ``OUT_DIR/requests-{1..BATCHES}.parquet`` (immigration
profile, ``REQUESTS`` each, batch ``b`` drawn with seed ``SEED + b``) and
``OUT_DIR/setup.json`` (pupils and generation seconds). ``CENSUS_KWARGS`` is a JSON object of
``CensusConfig`` keyword arguments. The end-to-end and blocking benchmarks measure processes
that load these files, so that generating them is never part of a measured process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from benchmarks._measure import run_checked


def main(argv: list[str]) -> None:
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import CensusConfig, generate_census

    kwargs, seed, workers = json.loads(argv[0]), int(argv[1]), int(argv[2])
    count, batches, out_dir = int(argv[3]), int(argv[4]), argv[5]
    start = time.perf_counter()
    census = generate_census(CensusConfig(**kwargs), seed, workers=workers)
    generate_seconds = time.perf_counter() - start
    census.write(f"{out_dir}/census.parquet")
    for batch in range(1, batches + 1):
        config = RequestConfig(profile="immigration", count=count)
        requests = generate_requests(census, config, seed=seed + batch)
        requests.write(f"{out_dir}/requests-{batch}.parquet")
    with open(f"{out_dir}/setup.json", "w") as f:
        json.dump({"pupils": census.pupils.num_rows, "generate_seconds": generate_seconds}, f)


def write_inputs(
    census_kwargs: dict[str, Any],
    seed: int,
    workers: int,
    requests: int,
    batches: int,
    out_dir: str,
) -> dict[str, Any]:
    """Run this module in a fresh interpreter; its ``setup.json``, with the wall time."""
    start = time.perf_counter()
    run_checked(
        [
            sys.executable,
            "-m",
            "benchmarks._census_child",
            json.dumps(census_kwargs),
            *map(str, (seed, workers, requests, batches)),
            out_dir,
        ],
        "census and request generation",
    )
    with open(os.path.join(out_dir, "setup.json")) as f:
        setup = json.load(f)
    setup["setup_wall_seconds"] = time.perf_counter() - start
    return setup


if __name__ == "__main__":
    main(sys.argv[1:])
