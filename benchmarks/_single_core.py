"""Run a benchmark child on one core, with every thread pool a library might start held to one.

The headline ratios compare matchsim with peers that use one core (recordlinkage's
``Compare``, clkhash's ``generate_clks(max_workers=1)``, a Faker loop). A ratio between a
two-thread figure and a one-core figure measures the machine, not the library, so both sides
of a headline ratio run in a child process whose CPU affinity is one core, set before the
interpreter starts any thread (threads inherit their creator's affinity), and whose thread
settings say one thread:

* ``NUMBA_NUM_THREADS=1`` (numba's parallel layer; matchsim's kernels are serial anyway),
* ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` (BLAS and OpenMP),
* ``MATCHSIM_BENCH_SINGLE_CORE=1``, which the child scripts read to set Arrow's CPU pool to
  one thread (``pyarrow.set_cpu_count(1)``) and to call ``compare(..., workers=1)``.

matchsim's own thread pools (``prepare_table`` normalises roles side by side, ``compare``
spreads comparisons over ``os.cpu_count()`` threads) still start threads where a ``workers``
argument is not given, but on one core those threads share it: the affinity is what makes
the figure a one-core figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SINGLE_CORE_ENV = "MATCHSIM_BENCH_SINGLE_CORE"

#: Environment of a one-core child: every thread count a dependency reads, set to one.
ONE_THREAD = {
    SINGLE_CORE_ENV: "1",
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def chosen_core() -> int:
    """The core a one-core child runs on: the last one this process may use (the first is
    where the kernel tends to put interrupts and other processes' work)."""
    return max(os.sched_getaffinity(0))


def _pin() -> None:  # runs in the child between fork and exec
    os.sched_setaffinity(0, {chosen_core()})


def run_child(
    args: Sequence[str],
    *,
    single_core: bool,
    python: str | None = None,
    output: bool = True,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Run ``python args...`` and return the JSON its last stdout line holds (``None`` when
    ``output`` is false: a child that writes files, not figures).

    With ``single_core`` the child is pinned to one core before it starts and gets
    :data:`ONE_THREAD`; without, it has the machine (the multi-threaded figure beside it).
    ``env`` adds to (or overrides) the child's environment, e.g. ``NUMBA_CACHE_DIR``.
    """
    environment = {k: v for k, v in os.environ.items() if k not in ONE_THREAD}
    if single_core:
        environment.update(ONE_THREAD)
    environment.update(env or {})
    done = subprocess.run(
        [python or sys.executable, *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,  # so that ``-m benchmarks.<child>`` finds this package
        preexec_fn=_pin if single_core else None,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"benchmark child {' '.join(args)} failed ({done.returncode}):\n" + done.stderr[-3000:]
        )
    return json.loads(done.stdout.strip().splitlines()[-1]) if output else None


def configure_child() -> bool:
    """In a child: hold Arrow's pools to one thread when the parent asked for one core.

    Returns whether the child runs single-core. It also checks that the affinity really is
    one core, so that a figure labelled single-core cannot come from two.
    """
    single = os.environ.get(SINGLE_CORE_ENV) == "1"
    if single:
        import pyarrow as pa

        pa.set_cpu_count(1)
        pa.set_io_thread_count(1)
        cores = len(os.sched_getaffinity(0))
        if cores != 1:
            raise RuntimeError(f"asked for one core but this process may use {cores}")
    return single
