"""Privacy-preserving matching benchmarks: CLK encoding against clkhash, Dice against anonlink.

Targets (asserted at full scale only, see ``conftest.py``):

* **encoding**: matchsim's ``BloomEncoder`` encodes census records (forename, surname, date
  of birth, postcode, sex; 1,024 bits) at least 10 times as fast as clkhash's
  ``generate_clks`` with ``max_workers=1`` on the same records (the same 1,000,000 census
  records on both sides, a register-sized file) and the same tokens (counted per field on
  both sides and required equal), each in a fresh process pinned to one core, importing its
  library and encoding once (``test_encoding_fresh_process_against_clkhash``: all
  preparation included, numba's kernels loaded from its cache). Beside it, as breakdowns: the
  same on the first 100,000 records, where each side's fixed start-up cost weighs more; the
  steady state, both sides warm (``test_encoding_throughput_against_clkhash``); and numba's
  cold compile;
* **Dice**: all-pairs Dice at threshold 0.7 over real CLKs, at least anonlink's
  ``dice_coefficient_accelerated`` comparisons per second on the same CLKs.

clkhash and anonlink break on current setuptools (they import ``pkg_resources``), so they are
run in a side interpreter named by ``MATCHSIM_PPRL_PEER_PYTHON`` (a venv with
``pip install 'setuptools<81' clkhash anonlink``; ``make pprl-peer-venv`` makes one).
Without it matchsim's own throughput is still recorded, but the ratio is ``null`` with the
reason in ``extra_info`` and no target is asserted: a target is a ratio against a peer
measured in the same run, never against a remembered figure. ``MATCHSIM_REQUIRE_PEERS=1``
turns a missing peer interpreter into a failure. Every figure is per core: the encoding
children are pinned to one core with every thread setting at one (``_single_core.py``), and
the Dice kernel runs on that core in this process.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from benchmarks._measure import measure_contention
from benchmarks._single_core import chosen_core, run_child
from matchsim.pprl import BloomEncoder, dice_all_pairs, dice_pairs
from matchsim.pprl.dice import HAVE_NUMBA
from matchsim.pprl.fields import DEFAULT_FIELDS
from matchsim.pprl.tokens import tokens
from matchsim.synth import CensusConfig, generate_census

PEER_ENV = "MATCHSIM_PPRL_PEER_PYTHON"
PEER_SCRIPT = Path(__file__).with_name("_pprl_peer.py")
#: Set (by CI's peers environment) to fail, not skip, when a peer cannot be measured.
REQUIRE_PEERS_ENV = "MATCHSIM_REQUIRE_PEERS"
NO_PEER = (
    f"{PEER_ENV} is not set, so clkhash/anonlink were not measured in this run and no ratio "
    "is taken (make pprl-peer-venv, then export "
    f"{PEER_ENV}=.venv-pprl-peer/bin/python)"
)
ENCODE_RATIO_TARGET = 10.0
#: Records both encoders get at full scale in the steady-state breakdown.
ENCODE_RECORDS = 100_000
#: Records of the fresh-process runs at full scale: a register-sized file (the headline, since
#: privacy-preserving linkage encodes whole registers) and a tenth of it (a breakdown).
FRESH_PROCESS_RECORDS = (1_000_000, 100_000)
HEADLINE_RECORDS = FRESH_PROCESS_RECORDS[0]
KEY = b"benchmark-only-key-not-secret"


def peer_python() -> str | None:
    """The clkhash/anonlink interpreter, or None without one (a failure instead where the
    peers are required: call it before any timed round, so that the failure is the test's)."""
    python = os.environ.get(PEER_ENV)
    if not python and os.environ.get(REQUIRE_PEERS_ENV) == "1":
        pytest.fail(f"{REQUIRE_PEERS_ENV}=1 but {NO_PEER}")
    return python or None


def run_pprl_peer(*args: str) -> dict | None:
    """The peer script's result from the clkhash/anonlink interpreter, pinned to one core as
    matchsim's side is, or None without one."""
    python = peer_python()
    if python is None:
        return None
    return run_child([str(PEER_SCRIPT), *args], single_core=True, python=python)


def run_clk_child(columns: Path, rounds: int, **env: str) -> dict:
    """matchsim's side of the encoding benchmarks (``benchmarks/_clk_child.py``) in a fresh
    interpreter pinned to one core."""
    return run_child(
        ["-m", "benchmarks._clk_child", str(columns), KEY.decode(), str(rounds)],
        single_core=True,
        env=env,
    )


@contextmanager
def one_core() -> Iterator[None]:
    """Run the calling thread (and any thread it starts) on the core the peer runs on, with
    Arrow's pool at one thread: matchsim's side of a per-core ratio."""
    before = os.sched_getaffinity(0)
    arrow_threads = pa.cpu_count()
    os.sched_setaffinity(0, {chosen_core()})
    pa.set_cpu_count(1)
    try:
        yield
    finally:
        pa.set_cpu_count(arrow_threads)
        os.sched_setaffinity(0, before)


@pytest.fixture(scope="module")
def records(bench_scale) -> dict[str, list]:
    pupils = bench_scale.pupils
    census = generate_census(CensusConfig(pupils=pupils), seed=bench_scale.seed, workers=2)
    table = census.pupils

    def text(name: str) -> list:
        column = table[name].combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        return column.to_pylist()

    dates = [d.isoformat() for d in table["date_of_birth"].to_pylist()]
    return {
        "forename": text("forename"),
        "surname": text("surname"),
        "date_of_birth": dates,
        "postcode": text("postcode"),
        "sex": text("sex"),
    }


def encode_count(bench_scale) -> int:
    """Records both encoders get: the same records, the same count (clkhash encodes about
    20,000 records a second on one core, so the full-scale count keeps its rounds short)."""
    return ENCODE_RECORDS if bench_scale.full else 2_000


def clkhash_rows(records: dict[str, list], n: int) -> list[list[str]]:
    """The first ``n`` records in the peer schema's layout (``_pprl_peer.COLUMNS``): the date of
    birth split into the day, month and year tokens matchsim's encoder makes of it."""
    rows = []
    for i in range(n):
        year, month, day = records["date_of_birth"][i].split("-")
        names = [records["forename"][i] or "", records["surname"][i] or ""]
        rows.append(
            [*names, day, month, year, records["postcode"][i] or "", records["sex"][i] or ""]
        )
    return rows


def matchsim_tokens(records: dict[str, list], n: int) -> dict[str, int]:
    """Tokens per field of matchsim's default CLK fields on the first ``n`` records, as the
    peer counts them (the date's three tokens under its three clkhash fields)."""
    out = {}
    for spec in DEFAULT_FIELDS:
        count = sum(len(tokens(spec.role, v or "", spec.q)) for v in records[spec.role][:n])
        if spec.role == "date_of_birth":
            out.update({"dob_day": count // 3, "dob_month": count // 3, "dob_year": count // 3})
        else:
            out[spec.role] = count
    return out


@dataclass(frozen=True)
class EncodeInputs:
    """The records both encoders get, written once for the children of both tests."""

    records: int
    #: matchsim's input: one list of strings per field
    columns: Path
    #: clkhash's input: one list per record in ``_pprl_peer.COLUMNS`` order
    rows: Path
    #: matchsim's tokens per field, as the peer counts them (not timed)
    tokens: dict[str, int]


def write_encode_inputs(records: dict[str, list], n: int, directory: Path) -> EncodeInputs:
    columns, rows = directory / "columns.json", directory / "rows.json"
    columns.write_text(json.dumps({role: values[:n] for role, values in records.items()}))
    rows.write_text(json.dumps(clkhash_rows(records, n)))
    return EncodeInputs(n, columns, rows, matchsim_tokens(records, n))


@pytest.fixture(scope="module")
def encode_inputs(bench_scale, records, tmp_path_factory) -> EncodeInputs:
    n = encode_count(bench_scale)
    return write_encode_inputs(records, n, tmp_path_factory.mktemp("clk-inputs"))


def check_same_inputs(inputs: EncodeInputs, peer: dict) -> None:
    """Both sides encoded the same number of records into the same tokens per field."""
    assert peer["single_core"], "clkhash's process was not on one core"
    assert peer["records"] == inputs.records
    assert peer["tokens"] == inputs.tokens, "clkhash and matchsim tokenised the records differently"


def first_call(child: dict) -> tuple[float, float]:
    """Wall and CPU seconds of a fresh process's import and first encode."""
    return (
        child["import_seconds"] + child["first_seconds"],
        child["import_cpu_seconds"] + child["first_cpu_seconds"],
    )


@pytest.mark.benchmark(group="pprl-encoding")
@pytest.mark.parametrize("full_scale_records", FRESH_PROCESS_RECORDS)
def test_encoding_fresh_process_against_clkhash(
    benchmark, bench_scale, records, full_scale_records, tmp_path
):
    """The headline CLK ratio: importing each library and its first encode of the same records,
    each in a fresh process pinned to one core. At full scale, on 1,000,000 records (the
    headline, the one with a target) and on the first 100,000 (a breakdown: each side's
    start-up, a few tenths of a second, weighs ten times more there).

    matchsim's side (``benchmarks/_clk_child.py``): import matchsim (numpy, pyarrow),
    then ``BloomEncoder(key).encode_fields`` on the records, which loads numba and the compiled
    kernels. clkhash's (``_pprl_peer.py encode``): import clkhash, parse the schema, then
    ``generate_clks(max_workers=1)``. Reading each side's input file is not timed; nothing
    else is left out. numba's kernels come from its cache, as after an install: one process
    with ``NUMBA_CACHE_DIR`` at an empty directory compiles and stores them first, and its
    time is reported as its own figure (the cold-compile cost, once per install). Rounds
    alternate which side goes first; the statistic is the median clkhash time over the
    median matchsim time. Same answers: the same tokens per field on both sides, and the
    same CLKs from every process of each side.
    """
    peer_python()  # fails here, not inside a timed round, where a peer is required
    n = full_scale_records if bench_scale.full else encode_count(bench_scale)
    inputs = write_encode_inputs(records, n, tmp_path)
    headline = full_scale_records == HEADLINE_RECORDS
    rounds: list[dict[str, dict | None]] = []
    with tempfile.TemporaryDirectory() as cache:
        # An empty numba cache: the first process compiles the kernels and stores them.
        cold = run_clk_child(inputs.columns, 0, NUMBA_CACHE_DIR=cache)

        def run() -> None:
            sides = {
                "matchsim": lambda: run_clk_child(inputs.columns, 0, NUMBA_CACHE_DIR=cache),
                "clkhash": lambda: run_pprl_peer("encode", str(inputs.rows), "0"),
            }
            order = ["matchsim", "clkhash"] if len(rounds) % 2 == 0 else ["clkhash", "matchsim"]
            rounds.append({name: sides[name]() for name in order})

        with measure_contention() as measured:
            benchmark.pedantic(run, rounds=bench_scale.rounds, iterations=1)
    ours = [r["matchsim"] for r in rounds]
    theirs = [r["clkhash"] for r in rounds if r["clkhash"] is not None]
    n = inputs.records
    seconds = statistics.median(first_call(o)[0] for o in ours)
    cpu = statistics.median(first_call(o)[1] for o in ours)
    cold_seconds, cold_cpu = first_call(cold)
    peer_seconds = statistics.median(first_call(t)[0] for t in theirs) if theirs else None
    peer_cpu = statistics.median(first_call(t)[1] for t in theirs) if theirs else None
    ratio = peer_seconds / seconds if peer_seconds else None

    def parts(children: list[dict], key: str) -> float:
        return statistics.median(c[key] for c in children)

    benchmark.extra_info.update(
        {
            "what": "fresh process: import + first encode, numba kernels from the cache",
            "headline": headline,
            "records": n,
            "single_core": all(o["single_core"] for o in ours),
            "rounds": len(rounds),
            "kernel": cold["kernel"],
            "matchsim_seconds": seconds,
            "matchsim_cpu_seconds": cpu,
            "matchsim_import_seconds": parts(ours, "import_seconds"),
            "matchsim_first_encode_seconds": parts(ours, "first_seconds"),
            "matchsim_import_cpu_seconds": parts(ours, "import_cpu_seconds"),
            "matchsim_first_encode_cpu_seconds": parts(ours, "first_cpu_seconds"),
            "matchsim_records_per_second": n / seconds,
            "matchsim_round_seconds": [round(first_call(o)[0], 4) for o in ours],
            # numba compiling the kernels into an empty cache: once per install (or per change
            # of the kernels' sources), in the first process that encodes
            "matchsim_cold_cache_seconds": cold_seconds,
            "matchsim_cold_cache_cpu_seconds": cold_cpu,
            "cold_compile_seconds": cold_seconds - seconds,
            "clkhash_seconds": peer_seconds,
            "clkhash_cpu_seconds": peer_cpu,
            "clkhash_import_seconds": parts(theirs, "import_seconds") if theirs else None,
            "clkhash_first_encode_seconds": parts(theirs, "first_seconds") if theirs else None,
            "clkhash_import_cpu_seconds": parts(theirs, "import_cpu_seconds") if theirs else None,
            "clkhash_first_encode_cpu_seconds": parts(theirs, "first_cpu_seconds")
            if theirs
            else None,
            "clkhash_records_per_second": n / peer_seconds if peer_seconds else None,
            "clkhash_round_seconds": [round(first_call(t)[0], 4) for t in theirs],
            "clkhash_source": f"measured on the same {n:,} records in this run"
            if theirs
            else NO_PEER,
            "matchsim_tokens": inputs.tokens,
            "clkhash_tokens": theirs[-1]["tokens"] if theirs else None,
            "same_clks_every_process": len({o["digest"] for o in [cold, *ours]}) == 1
            and len({t["digest"] for t in theirs}) <= 1,
            "ratio": ratio,
            "cpu_ratio": peer_cpu / cpu if peer_cpu else None,
            "cold_cache_ratio": peer_seconds / cold_seconds if peer_seconds else None,
            "target_ratio": ENCODE_RATIO_TARGET if headline else None,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "other_processes_cores": measured.cores,
        }
    )
    assert all(o["single_core"] for o in [cold, *ours]), "matchsim's process was not on one core"
    assert all(o["records"] == n for o in [cold, *ours])
    assert len({o["digest"] for o in [cold, *ours]}) == 1, "matchsim's processes gave other bits"
    if ratio is None:
        print(f"\nencoding, fresh process: matchsim {seconds:.3f} s; no ratio: {NO_PEER}")
        return
    for t in theirs:
        check_same_inputs(inputs, t)
    assert len({t["digest"] for t in theirs}) == 1, "clkhash's processes gave other bits"
    print(
        f"\nencoding, fresh process: matchsim {seconds:.3f} s (cold cache {cold_seconds:.3f} s), "
        f"clkhash {peer_seconds:.3f} s, x{ratio:.1f}"
    )
    if bench_scale.full and headline:
        assert ratio >= ENCODE_RATIO_TARGET, (
            f"CLK encoding in a fresh process (import and first encode, one core) is {ratio:.1f}x "
            f"clkhash on the same {n:,} records; target {ENCODE_RATIO_TARGET:.0f}x"
        )


@pytest.mark.benchmark(group="pprl-encoding")
def test_encoding_throughput_against_clkhash(benchmark, bench_scale, encode_inputs):
    """A breakdown beside the headline: the steady state, both libraries already imported and
    warm, on the same records, the same tokens, one core each.

    Each side runs in its own fresh process pinned to one core (matchsim:
    ``benchmarks/_clk_child.py``; clkhash: ``_pprl_peer.py encode``): it imports its library
    and encodes once (that first call is what the headline times), then encodes the same
    records ``rounds`` more times; the figures are the medians of those rounds. What the
    steady state leaves out on both sides (imports, numba loading its kernels, clkhash's
    first call) is in the headline, ``test_encoding_fresh_process_against_clkhash``.
    """
    peer_python()  # fails here, not inside a timed round, where a peer is required
    inputs = encode_inputs
    n = inputs.records
    ours: dict = {}
    peers: list[dict | None] = []

    def run() -> None:
        ours.update(run_clk_child(inputs.columns, bench_scale.rounds))
        peers.append(run_pprl_peer("encode", str(inputs.rows), str(bench_scale.rounds)))

    with measure_contention() as measured:
        benchmark.pedantic(run, rounds=1, iterations=1)
    peer = peers[-1]
    seconds, cpu = ours["seconds"], ours["cpu_seconds"]
    peer_rate = n / peer["seconds"] if peer else None
    ratio = (n / seconds) / peer_rate if peer_rate else None
    benchmark.extra_info.update(
        {
            "what": "steady state: both libraries imported, one untimed first encode each",
            "records": n,
            "single_core": ours["single_core"],
            "rounds": len(ours["round_seconds"]),
            "kernel": ours["kernel"],
            # the first encode in these processes, left out of this figure (the headline has it)
            "matchsim_first_encode_seconds": ours["first_seconds"],
            "clkhash_first_encode_seconds": peer["first_seconds"] if peer else None,
            "matchsim_records_per_second": n / seconds,
            "matchsim_seconds": seconds,
            "matchsim_cpu_seconds": cpu,
            "matchsim_round_seconds": [round(x, 4) for x in ours["round_seconds"]],
            "clkhash_records_per_second": peer_rate,
            "clkhash_seconds": peer["seconds"] if peer else None,
            "clkhash_cpu_seconds": peer["cpu_seconds"] if peer else None,
            "clkhash_round_seconds": [round(x, 4) for x in peer["round_seconds"]] if peer else [],
            # CPU seconds: on one core, what each side takes on an idle core (a shared machine
            # stretches wall times; the wall-time ratio stays the figure).
            "cpu_ratio": peer["cpu_seconds"] / cpu if peer else None,
            "clkhash_records": peer["records"] if peer else None,
            "clkhash_source": f"measured on the same {n:,} records in this run"
            if peer
            else NO_PEER,
            "matchsim_tokens": inputs.tokens,
            "clkhash_tokens": peer["tokens"] if peer else None,
            "ratio": ratio,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "other_processes_cores": measured.cores,
        }
    )
    assert ours["single_core"] and ours["records"] == n
    if ratio is None:
        print(f"\nencoding, steady state: matchsim {n / seconds:,.0f} rec/s; no ratio: {NO_PEER}")
        return
    check_same_inputs(inputs, peer)
    print(
        f"\nencoding, steady state: matchsim {n / seconds:,.0f} rec/s, clkhash "
        f"{peer_rate:,.0f} rec/s, x{ratio:.1f}"
    )


def test_dice_throughput_against_anonlink(benchmark, bench_scale, records):
    clks = BloomEncoder(key=KEY).encode_fields(records)
    n_left, n_right = (2_000, 20_000) if bench_scale.full else (200, 2_000)
    n_right = min(n_right, len(clks) - n_left)
    left, right = clks[:n_left], clks[n_left : n_left + n_right]

    if HAVE_NUMBA:
        from matchsim.pprl.kernels import warm

        warm()  # compile outside the timed rounds

    def run() -> tuple:
        return dice_all_pairs(left, right, threshold=0.7)

    with one_core():
        i, _, _ = benchmark.pedantic(run, rounds=bench_scale.rounds, warmup_rounds=0, iterations=1)
    seconds = float(benchmark.stats.stats.median) if benchmark.stats else None
    ours = n_left * n_right / seconds
    with tempfile.TemporaryDirectory() as tmp:
        lp, rp = Path(tmp) / "l.bin", Path(tmp) / "r.bin"
        lp.write_bytes(np.ascontiguousarray(left).view(np.uint8).tobytes())
        rp.write_bytes(np.ascontiguousarray(right).view(np.uint8).tobytes())
        peer = run_pprl_peer("dice", str(lp), str(rp), "128", "0.7")
    if peer:
        assert peer["matches"] == len(i)  # same CLKs, same threshold, same answer
    peer_rate = peer["comparisons"] / peer["seconds"] if peer else None
    # Gathered candidate pairs (what a lookup scores) for comparison with the all-pairs kernel.
    rng = np.random.default_rng(0)
    pairs = 2_000_000 if bench_scale.full else 200_000
    li, ri = rng.integers(0, n_left, pairs), rng.integers(0, n_right, pairs)
    start = time.perf_counter()
    dice_pairs(left, right, li, ri)
    gathered = pairs / (time.perf_counter() - start)
    benchmark.extra_info.update(
        {
            "comparisons": n_left * n_right,
            "matchsim_comparisons_per_second": ours,
            "matchsim_candidate_pairs_per_second": gathered,
            "anonlink_comparisons_per_second": peer_rate,
            "anonlink_source": "measured in this run" if peer else NO_PEER,
            "kernel": "numba" if HAVE_NUMBA else "numpy",
            "ratio": ours / peer_rate if peer_rate else None,
        }
    )
    print(
        f"\nDice ({benchmark.extra_info['kernel']}): matchsim {ours / 1e6:,.1f}M/s all-pairs, "
        f"{gathered / 1e6:,.1f}M/s candidate pairs; "
        + (
            f"anonlink {peer_rate / 1e6:,.1f}M/s, ratio {ours / peer_rate:.2f}"
            if peer_rate
            else f"no ratio: {NO_PEER}"
        )
    )
    if peer_rate and bench_scale.full:
        assert ours >= peer_rate, (
            f"Dice: {ours / 1e6:.1f}M/s below anonlink's {peer_rate / 1e6:.1f}M/s in the same run"
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "--benchmark-only"]))
