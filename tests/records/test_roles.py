"""Reading a role's column: a pandas column of Python objects (pandas 2's strings) must
prepare to what the same values prepare to from Arrow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.records import prepare_table
from matchsim.records.roles import objects_as_dictionary, table_column

ROLES = {"fn": "forename", "pc": "postcode"}
TEXT = st.one_of(
    st.none(),
    st.sampled_from(["Zoë", "ZOE", " zoe", "Mohammed", "", "LS12 4AB", "ls124ab", "O'Neil"]),
    st.text(max_size=6),
)


def objects(values: list) -> pd.Series:
    return pd.Series(np.array(values, dtype=object), dtype=object)


def prepared_values(table, rows=None) -> dict[str, list]:
    prepared = prepare_table(table, ROLES, "t", rows=rows)
    return {
        role: [None if c < 0 else vocabulary.values[c].as_py() for c in prepared.codes[role]]
        for role, vocabulary in prepared.vocabularies.items()
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=30), st.data())
def test_object_columns_prepare_as_arrow_columns_do(rows, data):
    forenames, postcodes = (list(c) for c in zip(*rows, strict=True))
    if all(v in (None, "") for v in forenames) or all(v in (None, "") for v in postcodes):
        return  # an entirely empty column is refused (tested below)
    frame = pd.DataFrame({"fn": objects(forenames), "pc": objects(postcodes)})
    assert frame["fn"].dtype == object
    arrow = pa.table({"fn": pa.array(forenames, pa.string()), "pc": pa.array(postcodes)})
    chosen = data.draw(
        st.lists(st.integers(0, len(rows) - 1), max_size=2 * len(rows)).map(np.array)
    )
    assert prepared_values(frame) == prepared_values(arrow)
    if len(chosen) and any(forenames[i] not in (None, "") for i in chosen):
        assert prepared_values(frame, chosen) == prepared_values(arrow, chosen)


def test_missing_markers_of_an_object_column_are_nulls():
    column = table_column(
        pd.DataFrame({"fn": objects(["Ann", None, float("nan"), pd.NA, "Ann"])}), "fn"
    )
    assert column.to_pylist() == ["Ann", None, None, None, "Ann"]


def test_numeric_object_postcodes_are_read_as_text():
    frame = pd.DataFrame({"fn": objects(["Ann", "Bo"]), "pc": objects([12345, 12345])})
    prepared = prepare_table(frame, ROLES, "t")
    assert prepared.vocabularies["postcode"].values.to_pylist() == ["12345"]
    assert prepared.codes["postcode"].tolist() == [0, 0]


def test_an_object_column_mixing_kinds_is_refused_naming_it():
    frame = pd.DataFrame({"fn": objects(["Ann", 3.5, "Bo"]), "pc": objects(["M1 1AA"] * 3)})
    with pytest.raises(ConfigError, match=r"t\.fn.*mixes kinds of value"):
        prepare_table(frame, ROLES, "t")


def test_an_entirely_empty_object_column_is_refused_even_among_chosen_rows():
    frame = pd.DataFrame({"fn": objects([None, None]), "pc": objects(["M1 1AA", None])})
    with pytest.raises(ConfigError, match=r"t\.fn.*entirely empty"):
        prepare_table(frame, ROLES, "t", rows=np.array([1]))


MISSING_MARKERS = st.sampled_from([None, np.nan, pd.NA, pd.NaT]) | st.builds(float, st.just("nan"))


@settings(max_examples=120, deadline=None)
@given(st.lists(TEXT | MISSING_MARKERS, max_size=40), st.data())
def test_objects_as_dictionary_decodes_to_the_values_however_they_share_objects(values, data):
    # Equal strings as one shared object or as distinct objects (a copy of each string), and
    # every missing marker pandas may hold (a fresh NaN object among them): grouping by
    # object must never merge distinct values nor lose a row, and equal texts become one
    # dictionary value.
    copies = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    held = [
        "".join(list(v)) if copy and isinstance(v, str) else v
        for v, copy in zip(values, copies, strict=True)
    ]
    texts = [v if isinstance(v, str) else None for v in held]
    array = np.array(held, dtype=object)
    rows = np.array(data.draw(st.lists(st.integers(0, max(len(held) - 1, 0)), max_size=50)))
    rows = rows.astype(np.int64) if len(held) else np.zeros(0, np.int64)
    for chosen, expected in ((None, texts), (rows, [texts[r] for r in rows])):
        encoded = objects_as_dictionary(array, chosen)
        assert encoded.to_pylist() == expected
        if pa.types.is_dictionary(encoded.type):
            assert encoded.dictionary.null_count == 0  # missing rows are null indices
            dictionary = encoded.dictionary.to_pylist()
            assert sorted(dictionary) == sorted({v for v in expected if v is not None})


def test_a_shared_object_is_read_once_and_copies_are_one_value():
    ann = "Ann"
    held = np.array([ann, ann, "".join(["A", "nn"]), None, ann, "Zoë"], dtype=object)
    encoded = objects_as_dictionary(held)
    assert encoded.dictionary.to_pylist() == ["Ann", "Zoë"]  # two objects, one value
    assert encoded.indices.to_pylist() == [0, 0, 0, None, 0, 1]
    assert objects_as_dictionary(held, np.array([5, 3, 2])).to_pylist() == ["Zoë", None, "Ann"]
    prepared = prepare_table(pd.DataFrame({"fn": held}), {"fn": "forename"}, "t")
    assert prepared.vocabularies["forename"].values.to_pylist() == ["ANN", "ZOE"]
    assert prepared.codes["forename"].tolist() == [0, 0, 0, -1, 0, 1]


def test_string_subclasses_are_read_as_text():
    held = np.array([np.str_("Ann"), "Ann", np.str_("Bo")], dtype=object)
    assert objects_as_dictionary(held).to_pylist() == ["Ann", "Ann", "Bo"]


def test_text_that_is_not_valid_unicode_is_refused_naming_the_column():
    frame = pd.DataFrame({"fn": objects(["Ann", "B\ud800o"]), "pc": objects(["M1 1AA"] * 2)})
    with pytest.raises(ConfigError, match=r"t\.fn"):
        prepare_table(frame, ROLES, "t")


def test_many_distinct_values_grow_the_table_and_keep_each_value_once():
    # More values than the merging table first makes room for (it doubles as they arrive),
    # each held by two objects, in an order that spreads them.
    count = 300_000
    texts = [f"V{i * 7919 % count}" for i in range(count)]
    held = np.array(texts + ["".join(["V", t[1:]]) for t in texts], dtype=object)
    encoded = objects_as_dictionary(held)
    assert len(encoded.dictionary) == count
    assert encoded.dictionary.to_pylist() == texts
    assert encoded.indices.to_numpy().tolist() == list(range(count)) * 2
