"""Integer and string hashes (matchsim.hashing)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from matchsim.hashing import hash_strings, splitmix64


def test_splitmix64_gives_the_reference_outputs():
    # The first outputs of SplitMix64 seeded with 0 and 1 (Steele, Lea and Flood 2014).
    got = splitmix64(np.array([0, 1], dtype=np.int64))
    assert got.dtype == np.uint64
    assert got.tolist() == [0xE220A8397B1DCDAF, 0x910A2DEC89025CC1]


def test_string_hashes_follow_the_text_and_nulls_hash_as_empty():
    hashes = hash_strings(pa.array(["SMITH", "SMITH", "SMYTH", None, ""]))
    assert hashes[0] == hashes[1] != hashes[2]
    assert hashes[3] == hashes[4]
