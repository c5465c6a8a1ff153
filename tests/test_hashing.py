"""Integer and string hashes (matchsim.hashing)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.hashing import hash_strings, positions_in, splitmix64


def test_splitmix64_gives_the_reference_outputs():
    # The first outputs of SplitMix64 seeded with 0 and 1 (Steele, Lea and Flood 2014).
    got = splitmix64(np.array([0, 1], dtype=np.int64))
    assert got.dtype == np.uint64
    assert got.tolist() == [0xE220A8397B1DCDAF, 0x910A2DEC89025CC1]


def test_string_hashes_follow_the_text_and_nulls_hash_as_empty():
    hashes = hash_strings(pa.array(["SMITH", "SMITH", "SMYTH", None, ""]))
    assert hashes[0] == hashes[1] != hashes[2]
    assert hashes[3] == hashes[4]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(max_size=5) | st.none(), max_size=40),
    st.lists(st.text(max_size=5) | st.none(), max_size=40),
    st.booleans(),
)
def test_positions_in_finds_what_a_python_dictionary_finds(values, value_set, large):
    kind = pa.large_string() if large else pa.string()
    first = {}
    for i, v in enumerate(value_set):
        if v is not None:
            first.setdefault(v, i)
    expected = [-1 if v is None else first.get(v, -1) for v in values]
    # a slice, so that offsets that do not start at the buffer's start are read right
    sliced = pa.array([None, *values], kind).slice(1)
    assert positions_in(sliced, pa.array(value_set, kind)).tolist() == expected


def test_positions_in_tells_apart_strings_whose_hashes_collide_in_the_table():
    value_set = pa.array([f"V{i}" for i in range(5000)])
    wanted = pa.array(["V4999", "V0", "nope", "V250", "V25"])
    assert positions_in(wanted, value_set).tolist() == [4999, 0, -1, 250, 25]
