"""Privacy-preserving matching benchmarks: CLK encoding against clkhash, Dice against anonlink.

Targets (asserted at full scale only, see ``conftest.py``):

* **encoding**: matchsim's ``BloomEncoder`` encodes census records (forename, surname, date
  of birth, postcode, sex; 1,024 bits) at least 10 times as fast per core as clkhash's
  ``generate_clks`` with ``max_workers=1`` on the same records and equivalent schema;
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from matchsim.pprl import BloomEncoder, dice_all_pairs, dice_pairs
from matchsim.pprl.dice import HAVE_NUMBA
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
        [python, str(PEER_SCRIPT), *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


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


def test_encoding_throughput_against_clkhash(benchmark, bench_scale, records):
    n = len(records["forename"])

    def run() -> np.ndarray:
        return BloomEncoder(key=KEY).encode_fields(records)

    clks = benchmark.pedantic(run, rounds=bench_scale.rounds, warmup_rounds=0, iterations=1)
    assert clks.shape == (n, 16)
    seconds = float(benchmark.stats.stats.median) if benchmark.stats else None
    ours = n / seconds
    sample = min(n, 50_000 if bench_scale.full else 5_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.json"
        rows = [
            [records[f][i] or "" for f in ("forename", "surname")]
            + [records["date_of_birth"][i].replace("-", "/")]
            + [records[f][i] or "" for f in ("postcode", "sex")]
            for i in range(sample)
        ]
        path.write_text(json.dumps(rows))
        peer = run_pprl_peer("encode", str(path))
    peer_rate = peer["records"] / peer["seconds"] if peer else None
    ratio = ours / peer_rate if peer_rate else None
    benchmark.extra_info.update(
        {
            "records": n,
            "matchsim_records_per_second": ours,
            "clkhash_records_per_second": peer_rate,
            "clkhash_source": f"measured on {sample:,} records in this run" if peer else NO_PEER,
            "ratio": ratio,
            "target_ratio": ENCODE_RATIO_TARGET,
        }
    )
    if ratio is None:
        print(f"\nencoding: matchsim {ours:,.0f} rec/s; no ratio: {NO_PEER}")
        return
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
