"""Run clkhash / anonlink on matchsim's benchmark inputs, in whatever interpreter has them.

clkhash and anonlink import ``pkg_resources``, so they need ``setuptools<81``; they usually
live in a side virtual environment, named by ``MATCHSIM_PPRL_PEER_PYTHON``. Usage::

    python _pprl_peer.py encode records.json [ROUNDS] -> {"records": n, "first_seconds": s, ...}
    python _pprl_peer.py dice left.bin right.bin BYTES THRESHOLD -> {"comparisons": n, "seconds": s, "matches": m}

Both run single-threaded (``max_workers=1``; anonlink's Dice kernel is single-threaded).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

#: A clkhash v3 schema that tokenises as matchsim's default CLK fields do: padded bigrams of
#: names and postcode (clkhash pads with a space, matchsim with ``#``: the same tokens, one more
#: at each end), the date of birth as three whole tokens (day, month, year; clkhash's ``exact``
#: comparison, three features), sex as one whole token; bits per token as matchsim's k.
SCHEMA = {
    "version": 3,
    "clkConfig": {
        "l": 1024,
        "kdf": {"type": "HKDF", "hash": "SHA256", "keySize": 64},
    },
    "features": [
        {
            "identifier": name,
            "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {
                "comparison": {"type": "ngram", "n": n, **({"positional": True} if pos else {})},
                "strategy": {"bitsPerToken": k},
                "hash": {"type": "doubleHash"},
            },
        }
        for name, n, k, pos in (("forename", 2, 20, False), ("surname", 2, 20, False))
    ]
    + [
        {
            "identifier": name,
            "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {
                "comparison": {"type": "exact"},
                "strategy": {"bitsPerToken": 20},
                "hash": {"type": "doubleHash"},
            },
        }
        for name in ("dob_day", "dob_month", "dob_year")
    ]
    + [
        {
            "identifier": "postcode",
            "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {
                "comparison": {"type": "ngram", "n": 2},
                "strategy": {"bitsPerToken": 10},
                "hash": {"type": "doubleHash"},
            },
        },
        {
            "identifier": "sex",
            "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {
                "comparison": {"type": "exact"},
                "strategy": {"bitsPerToken": 5},
                "hash": {"type": "doubleHash"},
            },
        },
    ],
}
#: The record layout :func:`encode` reads: one list per record, in the schema's order.
COLUMNS = ("forename", "surname", "dob_day", "dob_month", "dob_year", "postcode", "sex")


def encode(path: str, rounds: int = 1) -> dict:
    """clkhash's side of the CLK encoding benchmarks, in the three timed steps of matchsim's
    (``benchmarks/_clk_child.py``): importing clkhash, its first ``generate_clks`` call
    (parsing the schema included) and ``rounds`` more calls (the steady state). Reading the
    records is not timed; nor is counting their tokens and hashing the CLKs afterwards."""
    import hashlib
    import os
    import statistics

    records = json.loads(Path(path).read_text())

    def clock() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def since(start: tuple[float, float]) -> tuple[float, float]:
        wall, cpu = clock()
        return wall - start[0], cpu - start[1]

    start = clock()
    from clkhash import clk
    from clkhash.schema import from_json_dict

    import_seconds, import_cpu = since(start)

    def generate(schema: object) -> list:
        return clk.generate_clks(records, schema, "benchmark-secret", validate=False, max_workers=1)

    start = clock()
    schema = from_json_dict(SCHEMA)
    clks = generate(schema)
    first_seconds, first_cpu = since(start)
    times, cpu = [], []
    for _ in range(rounds):
        start = clock()
        clks = generate(from_json_dict(SCHEMA))
        wall, used = since(start)
        times.append(wall)
        cpu.append(used)
    assert len(clks) == len(records)
    # Tokens per field (not timed), so that the caller can check the tokenisation is matchsim's.
    tokens = {
        field.identifier: sum(
            len(list(field.hashing_properties.comparator.tokenize(record[i]))) for record in records
        )
        for i, field in enumerate(schema.fields)
    }
    return {
        "records": len(records),
        "single_core": len(os.sched_getaffinity(0)) == 1,
        "import_seconds": import_seconds,
        "import_cpu_seconds": import_cpu,
        "first_seconds": first_seconds,
        "first_cpu_seconds": first_cpu,
        "round_seconds": times,
        "round_cpu_seconds": cpu,
        "seconds": statistics.median(times) if times else None,
        "cpu_seconds": statistics.median(cpu) if cpu else None,
        "tokens": tokens,
        "digest": hashlib.sha256(b"".join(c.tobytes() for c in clks)).hexdigest()[:16],
    }


def dice(left_path: str, right_path: str, width: int, threshold: float) -> dict:
    from anonlink.similarities import dice_coefficient_accelerated
    from bitarray import bitarray

    def load(path: str) -> list:
        raw = Path(path).read_bytes()
        out = []
        for i in range(0, len(raw), width):
            b = bitarray()
            b.frombytes(raw[i : i + width])
            out.append(b)
        return out

    left, right = load(left_path), load(right_path)
    start = time.perf_counter()
    result = dice_coefficient_accelerated([left, right], threshold=threshold)
    seconds = time.perf_counter() - start
    return {"comparisons": len(left) * len(right), "seconds": seconds, "matches": len(result[0])}


if __name__ == "__main__":
    task = sys.argv[1]
    if task == "encode":
        print(json.dumps(encode(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)))
    else:
        print(json.dumps(dice(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))))
