"""Blocking benchmarks: what each registered strategy costs and misses as the register grows.

For every census size (100,000, 1,000,000 and 9,092,073 pupils at full scale) one census and
one request set are generated, untimed, in a fresh interpreter. The request set has the same
size at every census size (10,000 immigration-profile requests, as in the end-to-end lookup),
so the figures show how blocking cost grows with the register alone. Then every strategy runs
in a fresh interpreter of its own, so no strategy reuses another's keys or sorted register:

* each registered strategy with its default parameters (``phonetic``, ``sorted_neighbourhood``,
  ``minhash``, ``full``), and any strategy registered later that builds without parameters;
* ``exact`` (or ``cross``, for the swapped-names pass) once for each pass of
  :func:`matchsim.blocking.default_blocking`;
* ``union``, as :func:`~matchsim.blocking.default_blocking` (the union of those passes).

Each run records :func:`matchsim.blocking.run_blocking`'s :class:`BlockingReport` (candidate
pairs, pairs completeness, reduction ratio, pair quality, seconds) plus CPU time and memory.
``full`` above :data:`~matchsim.blocking.FULL_COMPARISON_LIMIT` pairs, and ``recordlinkage``
(whose Index builds every pair at once) when its blocks' pairs add up to more than that, are
refused by matchsim itself, and recorded as refused with the estimate instead of being run.

**Memory.** The measured interpreter loads the census, prepares the register (``warm=False``:
no strategy gets its keys built in advance) and links the requests. It then resets its own
peak RSS (``VmHWM``) by writing ``5`` to ``/proc/self/clear_refs`` and runs the strategy, so
``blocking_peak_rss_gb`` is the peak while blocking and ``blocking_extra_rss_gb`` what blocking
added to the RSS it started from. ``process_peak_rss_gb`` is the whole interpreter's peak
(loading and preparing included). ``VmHWM`` belongs to the new process image, so unlike
``ru_maxrss`` it does not start from the peak of the process that forked it, and no launcher
is needed (see ``LAUNCHER`` in ``_measure.py``); the reset would make a launcher's
``ru_maxrss`` cover only the blocking phase anyway.

The only target, asserted at full scale: no run needs more than 12 GB.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import pytest

from benchmarks._measure import gb, gib, machine_busy_seconds, other_cores
from benchmarks.conftest import scale_name
from benchmarks.test_matching import _E2E_SETUP, _peer, _run, _skip_peer
from matchsim.blocking import BLOCKERS, FULL_COMPARISON_LIMIT, CrossKeys, default_blocking
from matchsim.synth.config import NATIONAL_PUPILS_2024

PEAK_TARGET_GB = 12.0
#: ``--bench-block-pupils`` token for ``CensusConfig()``, the January 2024 census.
NATIONAL = "national"

# --------------------------------------------------------------------------------------------
# Sizes and strategies
# --------------------------------------------------------------------------------------------

_SIZES = {
    # 10,000 x 100,000 is already 1e9 pairs: a full comparison is refused at every full size.
    "full": {"pupils": "100000,1000000,national", "requests": 10_000},
    # 2,600 x 2,000 (5.2M pairs) runs a full comparison; 2,600 x 20,000 (52M) is refused.
    "smoke": {"pupils": "2000,20000", "requests": 2_600},
}


@dataclass(frozen=True)
class CensusSize:
    """One census size: ``CensusConfig`` keyword arguments and a short label."""

    kwargs: dict[str, Any]

    @property
    def pupils(self) -> int:
        return self.kwargs.get("pupils", NATIONAL_PUPILS_2024)

    @property
    def label(self) -> str:
        n = self.pupils
        for unit, size in (("M", 1_000_000), ("k", 1_000)):
            if n >= size:
                return f"{n / size:.1f}".removesuffix(".0") + unit
        return str(n)


def census_sizes(text: str) -> list[CensusSize]:
    sizes = []
    for token in text.split(","):
        token = token.strip().replace("_", "")
        if token == NATIONAL:
            sizes.append(CensusSize({}))
        elif token.isdigit() and int(token) >= 1:
            sizes.append(CensusSize({"pupils": int(token)}))
        else:
            raise pytest.UsageError(
                f"--bench-block-pupils: {token!r} is not a whole number >= 1 or {NATIONAL!r}"
            )
    return sizes


#: Strategies that refuse, with an estimate, more pairs than their limit (besides ``full``).
REFUSES_ESTIMATED = frozenset({"recordlinkage"})

#: Blockers from the optional peer libraries (``matchsim[peers]``), skipped when not installed.
PEER_BLOCKERS = frozenset({"recordlinkage"})


@dataclass(frozen=True)
class Strategy:
    """A blocking run: an id for the test, the registry name and the spec to build it from."""

    id: str
    registry_name: str
    #: ``make_blocker`` spec, or ``"default"`` for ``default_blocking`` on the linkage's roles
    spec: Any


def strategies() -> list[Strategy]:
    """Every registered blocking strategy, as described in the module docstring."""
    out = []
    for member in default_blocking().blockers:
        keys = list(member.keys)
        if isinstance(member, CrossKeys):  # names the wrong way round
            against = list(member.against)
            spec = {"name": "cross", "keys": keys, "against": against}
            out.append(Strategy(f"cross({'+'.join(keys)}={'+'.join(against)})", "cross", spec))
        else:
            out.append(
                Strategy(f"exact({'+'.join(keys)})", "exact", {"name": "exact", "keys": keys})
            )
    for name in BLOCKERS:
        if name in ("exact", "cross", "union"):  # exact and cross: the passes above
            continue
        out.append(Strategy(name, name, {"name": name}))
    if not any(s.registry_name == "cross" for s in out):
        # The default blocking no longer has a swapped-names pass (docs/accuracy.md): the
        # cross strategy is benchmarked as that pass was, names the wrong way round in a
        # district.
        keys = ["forename:soundex", "surname:soundex", "postcode:district"]
        against = ["surname:soundex", "forename:soundex", "postcode:district"]
        spec = {"name": "cross", "keys": keys, "against": against}
        out.append(Strategy(f"cross({'+'.join(keys)}={'+'.join(against)})", "cross", spec))
    out.append(Strategy("default_blocking", "union", "default"))
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "census_kwargs" not in metafunc.fixturenames:
        return
    config = metafunc.config
    text = config.getoption("--bench-block-pupils") or _SIZES[scale_name(config)]["pupils"]
    # Plain parameters (a dict and a string), so that --benchmark-json records them as they are.
    cases = [(size, strategy) for size in census_sizes(text) for strategy in strategies()]
    metafunc.parametrize(
        ("census_kwargs", "strategy_id"),
        [(size.kwargs, strategy.id) for size, strategy in cases],
        ids=[f"{size.label}-{strategy.id}" for size, strategy in cases],
    )


@pytest.fixture(scope="module")
def block_requests(pytestconfig: pytest.Config) -> int:
    count = pytestconfig.getoption("--bench-block-requests")
    if count is not None and count < 1:
        raise pytest.UsageError("--bench-block-requests must be at least 1")
    return count or _SIZES[scale_name(pytestconfig)]["requests"]


@pytest.fixture(scope="module")
def census_inputs(bench_scale, block_requests):
    """Census and requests on disk for a size, generated once in a fresh interpreter (untimed).

    Tests run size by size, so only the current size's files are kept.
    """
    current: dict[str, Any] = {}

    def get(size: CensusSize) -> tuple[str, dict[str, Any]]:
        key = json.dumps(size.kwargs, sort_keys=True)
        if current.get("key") != key:
            if "dir" in current:
                current.pop("dir").cleanup()
            tmp = tempfile.TemporaryDirectory(prefix="matchsim-bench-blocking-")
            start = time.perf_counter()
            args = (json.dumps(size.kwargs), bench_scale.seed, bench_scale.workers)
            _run(
                [
                    sys.executable,
                    "-c",
                    _E2E_SETUP,
                    *map(str, args),
                    str(block_requests),
                    "1",
                    tmp.name,
                ],
                "census and request generation",
            )
            with open(os.path.join(tmp.name, "setup.json")) as f:
                setup = json.load(f)
            setup["setup_wall_seconds"] = time.perf_counter() - start
            current.update(key=key, dir=tmp, setup=setup)
        return current["dir"].name, current["setup"]

    yield get
    if "dir" in current:
        current["dir"].cleanup()


# --------------------------------------------------------------------------------------------
# The measured interpreter
# --------------------------------------------------------------------------------------------

_CHILD = r"""
import gc, json, os, resource, sys, time

# Blocking over keyed encodings (clk_lsh) needs a secret; a benchmark's key need not be secret.
os.environ.setdefault("MATCHSIM_PPRL_KEY", "matchsim benchmark key (not secret)")

def status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

def reset_peak():
    # Linux >= 4.0: resets this process's peak RSS (VmHWM) to its current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

in_dir, spec, out_path = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
import pyarrow.parquet as pq
from matchsim.blocking import default_blocking, make_blocker, run_blocking
from matchsim.blocking import BYTES_PER_PAIR
from matchsim.errors import PlanTooLargeError
from matchsim.linkage import prepare_register, request_linkage, true_rows_of
from matchsim.synth import load_census

result = {}
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
    result.update(status="refused", refusal=str(exc), estimated_pairs=total,
                  estimated_gb=total * BYTES_PER_PAIR / 1e9,
                  left_records=len(data.left), right_records=len(data.right))
else:
    result.update(status="ran", **report.as_dict())
result["wall_seconds"] = time.perf_counter() - start
result["cpu_seconds"] = time.process_time() - cpu
result["blocking_peak_kib"] = status_kib("VmHWM")
usage = resource.getrusage(resource.RUSAGE_SELF)  # all of this process's threads
result["process_cpu_seconds"] = usage.ru_utime + usage.ru_stime
with open(out_path, "w") as f:
    json.dump(result, f)
"""


def run_blocking_subprocess(in_dir: str, spec: Any) -> dict[str, Any]:
    """One strategy in a fresh interpreter: its BlockingReport, times and memory."""
    with tempfile.TemporaryDirectory(prefix="matchsim-bench-block-") as tmp:
        out_path = os.path.join(tmp, "result.json")
        busy_before, wall_start = machine_busy_seconds(), time.perf_counter()
        _run([sys.executable, "-c", _CHILD, in_dir, json.dumps(spec), out_path], "blocking run")
        wall = time.perf_counter() - wall_start
        with open(out_path) as f:
            result = json.load(f)
    blocking_peak, before_peak = result["blocking_peak_kib"], result["before_peak_kib"]
    if blocking_peak is not None:
        process_peak = max(blocking_peak, before_peak or 0)
        result.update(
            process_peak_rss_gb=gb(process_peak),
            process_peak_rss_gib=gib(process_peak),
            rss_before_blocking_gb=gb(result["before_rss_kib"]),
        )
        if result["peak_was_reset"]:
            result["blocking_peak_rss_gb"] = gb(blocking_peak)
            # RSS can shrink between reading it and the reset: "added" is never below 0.
            result["blocking_extra_rss_gb"] = gb(max(blocking_peak - result["before_rss_kib"], 0))
    result["other_processes_cores"] = other_cores(busy_before, result["process_cpu_seconds"], wall)
    result["process_wall_seconds"] = wall
    return result


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


@pytest.mark.benchmark(group="blocking")
def test_blocking(benchmark, bench_scale, bench_results, census_inputs, census_kwargs, strategy_id):
    """One strategy on one census size: pairs, PC, RR, PQ, time and memory (or its refusal)."""
    size = CensusSize(census_kwargs)
    strategy = next(s for s in strategies() if s.id == strategy_id)
    if strategy.registry_name in PEER_BLOCKERS and _peer() is None:
        _skip_peer(f"the {strategy.registry_name} blocker needs pip install 'matchsim[peers]'")
    benchmark.group = f"blocking-{size.label}"
    in_dir, setup = census_inputs(size)
    # One round: pytest-benchmark's own time is the whole measured interpreter (start-up,
    # loading, preparing); the figures below are those of the blocking call inside it.
    result = benchmark.pedantic(
        run_blocking_subprocess, args=(in_dir, strategy.spec), rounds=1, iterations=1
    )
    pairs_possible = result["left_records"] * result["right_records"]
    assert result["pupils"] == setup["pupils"] == result["right_records"]
    if strategy.registry_name == "full":
        assert (result["status"] == "refused") == (pairs_possible > FULL_COMPARISON_LIMIT), result
    else:
        # Other strategies run, except those that refuse a plan too large (with an estimate).
        assert result["status"] == "ran" or strategy.registry_name in REFUSES_ESTIMATED, result

    if result["status"] == "ran":
        pairs = result["candidate_pairs"]
        assert 0 <= pairs <= pairs_possible
        assert result["reduction_ratio"] == pytest.approx(1 - pairs / pairs_possible)
        assert 0 <= result["pairs_completeness"] <= 1 and 0 <= result["pair_quality"] <= 1
        assert result["true_pairs_found"] <= min(result["true_pairs"], pairs)
        if strategy.registry_name == "full":  # every pair, so every true pair
            assert pairs == pairs_possible and result["pairs_completeness"] == 1.0
        result["pairs_per_request"] = pairs / result["left_records"]
        result["seconds_per_million_pupils"] = result["seconds"] / (result["pupils"] / 1e6)

    # The union finds every true pair that any of its passes finds (they ran before it).
    found = bench_results.setdefault("blocking_found", {}).setdefault(size.label, {})
    found[strategy.id] = result.get("true_pairs_found")
    if strategy.spec == "default":
        passes = [f for key, f in found.items() if key.startswith("exact(") and f is not None]
        assert all(result["true_pairs_found"] >= f for f in passes), found

    result.update(
        {
            "scale": bench_scale.name,
            "census_label": size.label,
            "census_config": size.kwargs,
            "strategy_id": strategy.id,
            "registry_name": strategy.registry_name,
            "spec": strategy.spec,
            "census_generate_seconds": setup["generate_seconds"],
            "peak_target_gb": PEAK_TARGET_GB,
        }
    )
    benchmark.extra_info.update(result)
    if bench_scale.full and "process_peak_rss_gb" in result:
        assert result["process_peak_rss_gb"] <= PEAK_TARGET_GB, (
            f"{strategy.id} on {size.label} pupils peaked at "
            f"{result['process_peak_rss_gb']:.2f} GB; target {PEAK_TARGET_GB:.0f} GB"
        )
