"""The national lookup against Splink: speed and accuracy side by side, one core each.

10,000 immigration requests against the January 2024 census (9,092,073 pupils) at full
scale; a 20,000-pupil census and 400 requests at smoke scale. Each side runs in its own
process pinned to one core (``benchmarks/_single_core.py``; DuckDB set to one thread), from
the same Parquet files on disk to one answer per request, and is scored against the same
ground truth (``benchmarks/_national_child.py`` says exactly what each side does).

Target (asserted at full scale only): matchsim at least 5 times as fast as Splink's fastest
setting (no EM), with precision and recall each at least Splink's.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest

from benchmarks._census_child import write_inputs
from benchmarks._measure import measure_contention
from benchmarks._peers import SPLINK_MISSING, skip_peer, splink_or_none
from benchmarks._single_core import run_child

SPEED_TARGET = 5.0
SIZES = {"full": ({}, 10_000), "smoke": ({"pupils": 20_000}, 400)}


@pytest.mark.benchmark(group="matching-national")
def test_national_lookup_vs_splink(benchmark, bench_scale, pytestconfig):
    """One round each (minutes at full scale), matchsim first."""
    if splink_or_none() is None:
        skip_peer(SPLINK_MISSING)
    kwargs, count = SIZES[bench_scale.name]
    pupils = pytestconfig.getoption("--bench-national-pupils")
    if pupils is not None:  # a reduced (or other) census: reported, never judged
        kwargs = {"pupils": pupils}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Not measured: the census and the request set, written to Parquet by a child process.
        write_inputs(kwargs, bench_scale.seed, 2, count, 1, tmp)

        def run() -> None:
            for side in ("matchsim", "splink"):
                results[side] = run_child(
                    ["-m", "benchmarks._national_child", tmp, side], single_core=True
                )

        with measure_contention() as measured:
            benchmark.pedantic(run, rounds=1, iterations=1)
    ours, theirs = results["matchsim"], results["splink"]
    ratio = theirs["seconds"] / ours["seconds"]
    benchmark.extra_info.update(
        {
            "scale": bench_scale.name,
            "requests": count,
            "pupils": kwargs.get("pupils", "national (CensusConfig())"),
            # True when --bench-national-pupils replaced the scale's census: not judged.
            "reduced": pupils is not None,
            "matchsim": ours,
            "splink": theirs,
            "ratio": ratio,
            "speed_target": SPEED_TARGET,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "other_processes_cores": measured.cores,
        }
    )
    assert ours["single_core"] and theirs["single_core"]
    assert ours["in_register"] == theirs["in_register"]  # the same requests, the same truth
    if bench_scale.full and pupils is None:
        assert ratio >= SPEED_TARGET, f"matchsim is {ratio:.1f}x Splink; target {SPEED_TARGET}x"
        assert ours["precision"] >= theirs["precision"], (ours["precision"], theirs["precision"])
        assert ours["recall"] >= theirs["recall"], (ours["recall"], theirs["recall"])
