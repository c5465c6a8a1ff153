"""Preparing two tables together (matchsim.records.prepare_linkage): what preparing each on
its own and linking them gives, with the text columns read once for both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.records import link, prepare_linkage, prepare_table

ROLES = {"fn": "forename", "sn": "surname", "pc": "postcode", "dob": "date_of_birth"}
TEXT = st.one_of(
    st.none(),
    st.sampled_from(["Zoë", "ZOE", " zoe", "Mohammed", "", "LS12 4AB", "ls124ab", "Smith"]),
    st.text(max_size=5),
)
ROW = st.tuples(TEXT, TEXT, TEXT, st.sampled_from(["2010-05-01", "2011-01-02", None]))


def frame(rows: list[tuple], arrow_strings: bool) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True))
    text = pd.StringDtype("pyarrow") if arrow_strings else object
    return pd.DataFrame(
        {
            "fn": pd.Series(columns[0], dtype=text),
            "sn": pd.Series(columns[1], dtype=text),
            "pc": pd.Series(columns[2], dtype=text),
            "dob": pd.to_datetime(pd.Series(columns[3])),
        }
    )


def record_values(data) -> tuple[dict, dict]:
    """Each side's value of each record, per string role, read through the shared vocabulary."""

    def side(records) -> dict:
        return {
            role: [
                None if c < 0 else data.vocabularies[role].values[c].as_py()
                for c in records.codes[role]
            ]
            for role in data.vocabularies
        } | {"dob": records.dob.tolist()}

    return side(data.left), side(data.right)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(ROW, min_size=1, max_size=12),
    st.lists(ROW, min_size=1, max_size=12),
    st.booleans(),
    st.data(),
)
def test_preparing_together_gives_what_preparing_apart_and_linking_gives(
    left_rows, right_rows, arrow_strings, data
):
    left, right = frame(left_rows, arrow_strings), frame(right_rows, arrow_strings)
    chosen = {
        name: np.array(
            data.draw(st.lists(st.integers(0, len(t) - 1), min_size=1, max_size=15)),
            dtype=np.int64,
        )
        for name, t in (("left", left), ("right", right))
    }

    def prepared(how):
        try:
            return how()
        except ConfigError as error:
            return str(error)  # an entirely empty column: the same refusal either way

    together = prepared(
        lambda: prepare_linkage(
            left, right, ROLES, left_rows=chosen["left"], right_rows=chosen["right"]
        )
    )
    apart = prepared(
        lambda: link(
            prepare_table(left, ROLES, "left", rows=chosen["left"]),
            prepare_table(right, ROLES, "right", rows=chosen["right"]),
        )
    )
    if isinstance(apart, str):
        assert together == apart
        return
    assert record_values(together) == record_values(apart)
    for vocabulary in together.vocabularies.values():
        assert len(set(vocabulary.values.to_pylist())) == len(vocabulary)  # each value once


def test_object_text_is_read_once_for_both_tables_and_linked_without_lookups():
    left = pd.DataFrame({"fn": pd.Series(["Aisha", "Jon", None], dtype=object)})
    right = pd.DataFrame({"fn": pd.Series(["JON", "Ann", "jon"], dtype=object)})
    data = prepare_linkage(left, right, {"fn": "forename"})
    # the right side's values first, as link() orders them
    assert data.vocabularies["forename"].values.to_pylist() == ["JON", "ANN", "AISHA"]
    assert data.left.codes["forename"].tolist() == [2, 0, -1]
    assert data.right.codes["forename"].tolist() == [0, 1, 0]


def test_a_table_mixing_kinds_is_named_when_read_with_another():
    left = pd.DataFrame({"fn": pd.Series(["Ann", "Bo"], dtype=object)})
    right = pd.DataFrame({"fn": pd.Series(["Ann", 3.5], dtype=object)})
    with pytest.raises(ConfigError, match=r"right\.fn.*mixes kinds of value"):
        prepare_linkage(left, right, {"fn": "forename"})


def test_row_positions_outside_a_table_are_refused_naming_them():
    table = pd.DataFrame({"fn": pd.Series(["Ann"], dtype=object)})
    with pytest.raises(ConfigError, match=r"right_rows.*0\.\.0"):
        prepare_linkage(table, table, {"fn": "forename"}, right_rows=np.array([3]))


def test_arrow_tables_are_prepared_as_before():
    left = pa.table({"fn": ["Ann", "Bo"]})
    right = pa.table({"fn": ["BO", "Cy"]})
    data = prepare_linkage(left, right, {"fn": "forename"})
    assert data.vocabularies["forename"].values.to_pylist() == ["BO", "CY", "ANN"]
    assert data.left.codes["forename"].tolist() == [2, 0]
