"""Measurement helpers shared by the benchmark suites: peak memory, CPU contention, medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# ru_maxrss is in KiB on Linux. "GB" below is 10**9 bytes (stricter than GiB); GiB is recorded too.
_KIB = 1024


def gb(kib: int) -> float:
    return kib * _KIB / 1e9


def gib(kib: int) -> float:
    return kib * _KIB / 2**30


def machine_busy_seconds() -> float | None:
    """Busy CPU-seconds of the whole machine since boot (all processes), from /proc/stat.

    Compared with our own CPU time over a run this shows whether something else was using
    the cores meanwhile. ``None`` where /proc/stat is unavailable.
    """
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    ticks = [int(x) for x in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def other_cores(busy_before: float | None, own_cpu_seconds: float, wall: float) -> float | None:
    """Average cores used by other processes during a run of ``wall`` seconds."""
    busy_after = machine_busy_seconds()
    if busy_before is None or busy_after is None or wall <= 0:
        return None
    return max(busy_after - busy_before - own_cpu_seconds, 0.0) / wall


@dataclass
class Contention:
    """Average cores other processes used during a ``measure_contention`` block (``None``
    until the block ends, or where /proc/stat is unavailable)."""

    cores: float | None = None


def own_cpu_seconds() -> float:
    """CPU time of this process and of the children it has reaped (a benchmark's child
    process is its own work, not another process's)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@contextmanager
def measure_contention() -> Iterator[Contention]:
    """Measure, over the block, how much of the machine other processes used."""
    busy_before, cpu_before, wall_before = (
        machine_busy_seconds(),
        own_cpu_seconds(),
        time.perf_counter(),
    )
    measured = Contention()
    yield measured
    measured.cores = other_cores(
        busy_before, own_cpu_seconds() - cpu_before, time.perf_counter() - wall_before
    )


def median_seconds(benchmark: Any, own: list[float]) -> float:
    """pytest-benchmark's median round time; our own timings when benchmarking is disabled."""
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None and stats.stats.data:
        return float(stats.stats.median)
    return statistics.median(own)  # benchmarking disabled: pedantic ran the target once


def timed_rounds(
    benchmark: Any,
    target: Callable[..., Any],
    *,
    rounds: int,
    warmup_rounds: int,
    setup: Callable[[], tuple[tuple, dict]] | None = None,
) -> tuple[Any, float, float]:
    """Run ``target`` as pytest-benchmark's pedantic rounds (one call each, after ``setup``),
    timing each call itself. Returns the last call's result, the median round in seconds
    (:func:`median_seconds`) and how many cores other processes used meanwhile."""
    own: list[float] = []

    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = target(*args, **kwargs)
        own.append(time.perf_counter() - start)
        return result

    with measure_contention() as measured:
        result = benchmark.pedantic(
            run, setup=setup, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1
        )
    return result, median_seconds(benchmark, own), measured.cores


#: The launcher script (``benchmarks/_launcher.py``): ``[sys.executable, LAUNCHER, usage_path,
#: *command]`` runs ``command`` and writes its own peak RSS and CPU time to ``usage_path``.
LAUNCHER = str(Path(__file__).with_name("_launcher.py"))


def apply_overrides(scale: Any, overrides: dict[str, int | None], option: str) -> Any:
    """``scale`` with the given command-line sizes replacing its defaults (each must be >= 1)."""
    import dataclasses

    import pytest

    for key, value in overrides.items():
        if value is not None and value < 1:
            raise pytest.UsageError(f"{option} for {key} must be at least 1")
    return dataclasses.replace(scale, **{k: v for k, v in overrides.items() if v is not None})


def run_checked(args: list[str], what: str) -> None:
    """Run a benchmark's helper process from the repository root (so that ``-m
    benchmarks.<child>`` finds this package); its output goes into the error if it fails."""
    proc = subprocess.run(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, cwd=ROOT
    )
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
