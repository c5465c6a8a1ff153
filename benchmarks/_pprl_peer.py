"""Run clkhash / anonlink on matchsim's benchmark inputs, in whatever interpreter has them.

clkhash and anonlink import ``pkg_resources``, so they need ``setuptools<81``; they usually
live in a side virtual environment, named by ``MATCHSIM_PPRL_PEER_PYTHON``. Usage::

    python _pprl_peer.py encode records.json     -> {"records": n, "seconds": s}
    python _pprl_peer.py dice left.bin right.bin BYTES THRESHOLD -> {"comparisons": n, "seconds": s, "matches": m}

Both run single-threaded (``max_workers=1``; anonlink's Dice kernel is single-threaded).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

#: A clkhash v3 schema with matchsim's default CLK fields: bigrams of names and postcode,
#: positional unigrams of the date, sex as one token; bits per token as matchsim's k.
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
        for name, n, k, pos in (
            ("forename", 2, 20, False),
            ("surname", 2, 20, False),
            ("date_of_birth", 1, 20, True),
            ("postcode", 2, 10, False),
            ("sex", 1, 5, False),
        )
    ],
}


def encode(path: str) -> dict:
    from clkhash import clk
    from clkhash.schema import from_json_dict

    records = json.loads(Path(path).read_text())
    schema = from_json_dict(SCHEMA)
    start = time.perf_counter()
    clk.generate_clks(records, schema, "benchmark-secret", validate=False, max_workers=1)
    return {"records": len(records), "seconds": time.perf_counter() - start}


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
        print(json.dumps(encode(sys.argv[2])))
    else:
        print(json.dumps(dice(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))))
