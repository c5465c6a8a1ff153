"""Privacy-preserving matching benchmarks: CLK encoding against clkhash, Dice against anonlink.

Targets (asserted at full scale only, see ``conftest.py``):

* **encoding**: matchsim's ``BloomEncoder`` encodes census records (forename, surname, date
  of birth, postcode, sex; 1,024 bits) at least 10 times as fast as clkhash's
  ``generate_clks`` with ``max_workers=1``, both pinned to one core, on the same records
  (the same first 100,000 of the census on both sides) and the same tokens (counted per
  field on both sides and required equal);
* **Dice**: all-pairs Dice at threshold 0.7 over real CLKs, at least anonlink's
  ``dice_coefficient_accelerated`` comparisons per second on the same CLKs.

clkhash and anonlink break on current setuptools (they import ``pkg_resources``), so they are
run in a side interpreter named by ``MATCHSIM_PPRL_PEER_PYTHON`` (a venv with
``pip install 'setuptools<81' clkhash anonlink``; ``make pprl-peer-venv`` makes one).
Without it matchsim's own throughput is still recorded, but the ratio is ``null`` with the
reason in ``extra_info`` and no target is asserted: a target is a ratio against a peer
measured in the same run, never against a remembered figure. ``MATCHSIM_REQUIRE_PEERS=1``
turns a missing peer interpreter into a failure. One process, numpy single-threaded: the
figures are per core.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from benchmarks._single_core import ONE_THREAD, chosen_core
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
#: Records both encoders get at full scale.
ENCODE_RECORDS = 100_000
KEY = b"benchmark-only-key-not-secret"


def run_pprl_peer(*args: str) -> dict | None:
    """The peer script's result from the clkhash/anonlink interpreter, or None without one
    (a failure instead where the peers are required)."""
    python = os.environ.get(PEER_ENV)
    if not python:
        if os.environ.get(REQUIRE_PEERS_ENV) == "1":
            pytest.fail(f"{REQUIRE_PEERS_ENV}=1 but {NO_PEER}")
        return None
    done = subprocess.run(
        [python, str(PEER_SCRIPT), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **ONE_THREAD},
        preexec_fn=lambda: os.sched_setaffinity(0, {chosen_core()}),  # one core, as ours
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


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


def test_encoding_throughput_against_clkhash(benchmark, bench_scale, records):
    """CLK encoding on one core, the same records and count and the same tokens on both sides.

    matchsim's ``BloomEncoder().encode_fields`` (default fields, 1,024 bits, no hardening)
    and clkhash's ``generate_clks(max_workers=1)`` with a schema that tokenises the same way
    (``_pprl_peer.SCHEMA``) encode the same first records of the census, each from Python
    lists of strings. Both run pinned to one core (``_single_core``), clkhash in its own
    interpreter. The tokens each side makes are counted per field and must be equal.
    """
    n = encode_count(bench_scale)
    subset = {role: values[:n] for role, values in records.items()}

    cpu: list[float] = []

    def run() -> np.ndarray:
        start = time.process_time()
        encoded = BloomEncoder(key=KEY).encode_fields(subset)
        cpu.append(time.process_time() - start)
        return encoded

    with one_core():
        clks = benchmark.pedantic(run, rounds=bench_scale.rounds, warmup_rounds=1, iterations=1)
    assert clks.shape == (n, 16)
    seconds = float(benchmark.stats.stats.median) if benchmark.stats else None
    ours = n / seconds
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.json"
        path.write_text(json.dumps(clkhash_rows(records, n)))
        peer = run_pprl_peer("encode", str(path), str(bench_scale.rounds))
    peer_rate = peer["records"] / peer["seconds"] if peer else None
    ratio = ours / peer_rate if peer_rate else None
    own_tokens = matchsim_tokens(records, n)
    benchmark.extra_info.update(
        {
            "records": n,
            "single_core": True,
            "matchsim_records_per_second": ours,
            "matchsim_seconds": seconds,
            "clkhash_records_per_second": peer_rate,
            "clkhash_seconds": peer["seconds"] if peer else None,
            # CPU seconds: on one core, what each side takes on an idle core (a shared machine
            # stretches wall times; the wall-time ratio stays the headline).
            "matchsim_cpu_seconds": statistics.median(cpu[1:] or cpu),
            "clkhash_cpu_seconds": peer.get("cpu_seconds") if peer else None,
            "cpu_ratio": peer["cpu_seconds"] / statistics.median(cpu[1:] or cpu)
            if peer and peer.get("cpu_seconds")
            else None,
            "clkhash_records": peer["records"] if peer else None,
            "clkhash_source": f"measured on the same {n:,} records in this run"
            if peer
            else NO_PEER,
            "matchsim_tokens": own_tokens,
            "clkhash_tokens": peer["tokens"] if peer else None,
            "ratio": ratio,
            "target_ratio": ENCODE_RATIO_TARGET,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }
    )
    if ratio is None:
        print(f"\nencoding: matchsim {ours:,.0f} rec/s; no ratio: {NO_PEER}")
        return
    assert peer["records"] == n
    assert peer["tokens"] == own_tokens, "clkhash and matchsim tokenised the records differently"
    print(f"\nencoding: matchsim {ours:,.0f} rec/s, clkhash {peer_rate:,.0f} rec/s, x{ratio:.1f}")
    if bench_scale.full:
        assert ratio >= ENCODE_RATIO_TARGET


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
