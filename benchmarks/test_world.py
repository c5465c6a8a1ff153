"""The README's main command as a whole process, at national density: cold and warm cache.

Targets (asserted at full scale only, see ``conftest.py``), on this project's 2-core machine:

* ``matchsim run scenarios/home-office-lookup.yaml`` with an empty world cache (it generates
  the national register of about 15.3 million pupils, prepares it and keeps both on disk):
  60 s or less and 8 GB or less peak memory;
* the same command again (the world read from the cache): 10 s or less.

Each run is a fresh interpreter started through ``LAUNCHER``, which reaps it with
``os.wait4`` and reports its peak resident memory; ``MATCHSIM_CACHE_DIR`` points at a
temporary directory, fresh for the cold run and kept for the warm one. Wall time, peak
memory, the run's own stage timings (``metrics.json``), the headline rates, the machine's load
average and the cores other processes used meanwhile all go into ``benchmark.extra_info``.
At smoke scale the register is 5,000 pupils and nothing is asserted but success.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks._measure import LAUNCHER, gb, gib, machine_busy_seconds, other_cores

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "home-office-lookup.yaml"
COLD_SECONDS, COLD_GB = 60.0, 8.0
WARM_SECONDS = 10.0


@pytest.fixture(scope="module")
def world_cache() -> Any:
    with tempfile.TemporaryDirectory(prefix="matchsim-bench-cache-") as root:
        yield Path(root)


def _commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run_main_command(cache: Path, smoke: bool) -> dict[str, Any]:
    """Run the README's main command in a fresh process; its wall time, peak memory, figures."""
    extra = ["--set", "population.pupils=5000", "--set", "requests.count=200"] if smoke else []
    with tempfile.TemporaryDirectory() as tmp:
        out, usage_path = Path(tmp) / "out", Path(tmp) / "usage.json"
        command = [sys.executable, "-m", "matchsim.cli", "run", str(SCENARIO), *extra]
        command += ["--out", str(out), "-q"]
        env = {**os.environ, "MATCHSIM_CACHE_DIR": str(cache)}
        load_before = os.getloadavg()
        busy = machine_busy_seconds()
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, LAUNCHER, str(usage_path), *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise AssertionError(f"matchsim run failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
        usage = json.loads(usage_path.read_text())
        metrics = json.loads((out / "metrics.json").read_text())
    rates = metrics["evaluation"]["rates"]
    return {
        "command": " ".join(["matchsim", *command[3:]]),
        "commit": _commit(),
        "wall_seconds": wall,
        "peak_rss_gb": gb(usage["ru_maxrss_kib"]),
        "peak_rss_gib": gib(usage["ru_maxrss_kib"]),
        "cpu_seconds": usage["cpu_seconds"],
        "other_cores": other_cores(busy, usage["cpu_seconds"], wall),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "pupils": metrics["population"]["pupils"],
        "stage_seconds": metrics["timings_seconds"],
        "false_match_rate": rates["false_match_rate"]["value"],
        "missed_match_rate": rates["missed_match_rate"]["value"],
        "returned_rate": rates["returned_rate"]["value"],
    }


def _measure(benchmark: Any, cache: Path, smoke: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    benchmark.pedantic(
        lambda: result.update(run_main_command(cache, smoke)), rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    return result


def test_main_command_cold_cache(benchmark, bench_scale, world_cache):
    """An empty cache: generate, prepare and store the national register, then look up."""
    assert not any(world_cache.iterdir())
    result = _measure(benchmark, world_cache, not bench_scale.full)
    if bench_scale.full:
        assert result["pupils"] > 15_000_000  # national density, not a sample
        assert result["wall_seconds"] <= COLD_SECONDS, result
        assert result["peak_rss_gb"] <= COLD_GB, result


def test_main_command_warm_cache(benchmark, bench_scale, world_cache):
    """The cache from the cold run: the register is read, not built."""
    if not any(world_cache.iterdir()):  # run on its own: fill the cache first, unmeasured
        run_main_command(world_cache, not bench_scale.full)
    result = _measure(benchmark, world_cache, not bench_scale.full)
    assert "request_index" not in result["stage_seconds"]  # nothing was rebuilt
    if bench_scale.full:
        assert result["wall_seconds"] <= WARM_SECONDS, result
