"""Finding values in a vocabulary (matchsim.records.vocabulary)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.records.vocabulary import positions_in


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
