"""Comparison throughput: matchsim against recordlinkage and Splink on the same candidate pairs
and the same four fields (forename, surname, date of birth, postcode).

Target (asserted at full scale only, see ``conftest.py``):

* **comparisons, equal work** (``test_compare_equal_work``): from the same two tables (the
  request set and the 1M census, four fields, names already normalised) and the same
  candidate pairs to every pair's comparison levels, all preparation timed on both sides
  (matchsim: ``compare_pairs``, which prepares the rows the pairs touch, links and compares;
  recordlinkage's ``Compare`` likewise reads only those rows), in one child process
  pinned to one core, rounds alternating which library goes first: the median recordlinkage
  time is at least 10 times the median matchsim time. Both libraries must give the same
  agreement counts on the six levels they share (``benchmarks/_compare_child.py``).

Reported beside it, in no ratio: the compare kernel alone (``test_compare_matchsim``),
matchsim on every core (``test_compare_equal_work_threads``), recordlinkage's ``Compare`` and
Splink 5 (DuckDB backend) on the same pairs and fields (``test_compare_recordlinkage``,
``test_compare_splink``). The peers are optional (``benchmarks/_peers.py``).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks._equal_work import PEER_COLUMNS, equal_work_figures, write_equal_work_inputs
from benchmarks._measure import measure_contention, timed_rounds
from benchmarks._peers import (
    PEER_MISSING,
    SPLINK_MISSING,
    recordlinkage_or_none,
    skip_peer,
    splink_or_none,
)
from matchsim.blocking import default_blocking, run_blocking
from matchsim.comparison import (
    DateOfBirthComparison,
    NameComparison,
    PostcodeComparison,
    compare,
)
from matchsim.linkage import prepare_register
from matchsim.peers.splink_matcher import LEFT, RIGHT, ROW, score_pairs
from matchsim.records import MATCHSIM_ROLES, link, prepare_table
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

#: Equal work, one core, preparation included (``test_compare_equal_work``).
EQUAL_WORK_RATIO_TARGET = 10.0
#: The role mapping ``lookup`` uses for matchsim request sets.
REQUEST_ROLES = {**MATCHSIM_ROLES, "request_id": "id"}


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
    rl = recordlinkage_or_none()
    if rl is None:
        skip_peer(PEER_MISSING)
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
    splink = splink_or_none()
    if splink is None:
        skip_peer(SPLINK_MISSING)
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
            # compare's default kernel: the compiled one wherever numba is installed
            "kernel": "numba" if importlib.util.find_spec("numba") is not None else "numpy",
            "compare_threads": min(os.cpu_count() or 1, len(matchsim_comparisons())),
            # A breakdown, not a headline: the compare kernel alone, on every core, with the
            # tables prepared untimed. Its rate is not put in a ratio with a peer's whole
            # Compare; the equal-work ratio is test_compare_equal_work's.
            "what": "kernel only: compare() on prepared tables, default levels, every core",
        }
    )


def _time_compare_child(
    benchmark: Any,
    match_scale: Any,
    workload: Any,
    side: str,
    *,
    single_core: bool,
    strings: str = "object",
) -> tuple[dict[str, Any], Any]:
    """Run ``benchmarks._compare_child`` on the workload's inputs (``side``: ``paired`` for
    both libraries, ``matchsim`` for matchsim alone; ``strings``: how the DataFrames hold
    text) as the timed round; its figures and the contention measured meanwhile."""
    from benchmarks._single_core import run_child

    with tempfile.TemporaryDirectory() as tmp:
        write_equal_work_inputs(
            workload.requests.table, workload.census.pupils, workload.left, workload.right, tmp
        )
        child: dict[str, Any] = {}
        rounds = str(match_scale.paired_rounds)
        args = ["-m", "benchmarks._compare_child", tmp, rounds, side, strings]

        def run() -> None:
            child.update(run_child(args, single_core=single_core))

        with measure_contention() as measured:
            benchmark.pedantic(run, rounds=1, iterations=1)
    return child, measured


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
    rl = recordlinkage_or_none()
    if rl is None:
        skip_peer(PEER_MISSING)
    child, measured = _time_compare_child(
        benchmark, match_scale, compare_workload, "paired", single_core=True
    )
    figures = equal_work_figures(child)
    load = os.getloadavg()
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "pupils": match_scale.pupils,
            "requests": match_scale.requests,
            "strings": child["strings"],
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
def test_compare_equal_work_arrow_strings(benchmark, match_scale, compare_workload):
    """The headline's equal work again, with both tables' text held as Arrow-backed pandas
    strings (``pd.StringDtype("pyarrow")``, pandas 3's default) rather than Python objects.
    Reported beside the headline, never as it: recordlinkage 0.16 requires pandas < 3, whose
    default is Python objects, and it is slower on Arrow-backed strings while matchsim is
    faster, so this ratio shows how much the input's representation moves it."""
    rl = recordlinkage_or_none()
    if rl is None:
        skip_peer(PEER_MISSING)
    child, measured = _time_compare_child(
        benchmark, match_scale, compare_workload, "paired", single_core=True, strings="arrow"
    )
    figures = equal_work_figures(child)
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "pupils": match_scale.pupils,
            "requests": match_scale.requests,
            "strings": child["strings"],
            **figures,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "other_processes_cores": measured.cores,
        }
    )
    assert child["strings"] != "object", child["strings"]
    assert figures["single_core"], "the child did not run on one core"
    assert figures["breakdowns_agree"], "matchsim's breakdown runs gave other levels"
    assert figures["recordlinkage_agreements"] == figures["matchsim_agreements"], (
        "recordlinkage and matchsim disagree on the levels they share: "
        f"{figures['recordlinkage_agreements']} against {figures['matchsim_agreements']}"
    )


@pytest.mark.benchmark(group="matching-compare")
def test_compare_equal_work_threads(benchmark, match_scale, compare_workload):
    """matchsim's side of the equal work again, on every core (labelled multi-threaded; it
    stands beside the one-core headline, never in a ratio with a one-core peer)."""
    child, measured = _time_compare_child(
        benchmark, match_scale, compare_workload, "matchsim", single_core=False
    )
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
