"""compare_pairs and prepare_table(rows=): preparing only the rows some pair touches gives
the levels (and the normalised values) that preparing the whole tables gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.comparison import compare, compare_pairs
from matchsim.errors import ConfigError
from matchsim.records import normalise_name, prepare, prepare_table

FORENAMES = ["Mohammed", "MOHAMED", "Zoë", "Zoe", "Łukasz", "Ştefan", "Olivia", "olivia ", None]
SURNAMES = ["Khan", "O'Neil-Smith", "O NEIL SMITH", "Smith", "Smyth", "Æsa", "", None, "de la Cruz"]
POSTCODES = ["LS12 4AB", "ls124ab", "M1 1AA", "M11AA", "SW1A 2AA", "B3 2XY", None, "b32xy"]
ROLES = {
    "fn": "forename",
    "sn": "surname",
    "dob": "date_of_birth",
    "sex": "sex",
    "pc": "postcode",
    "addr": "address",
}


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.to_datetime("2010-01-01") + pd.to_timedelta(rng.integers(0, 400, rows), unit="D")
    dob = pd.Series(dates).where(rng.random(rows) > 0.1)  # some missing
    return pd.DataFrame(
        {
            "fn": rng.choice(np.array(FORENAMES, dtype=object), rows),
            "sn": rng.choice(np.array(SURNAMES, dtype=object), rows),
            "dob": dob,
            "sex": rng.choice(np.array(["M", "F", None], dtype=object), rows),
            "pc": rng.choice(np.array(POSTCODES, dtype=object), rows),
            "addr": rng.choice(
                np.array(["1 High St", "1 HIGH STREET", "2 Église Rd", None], dtype=object), rows
            ),
        }
    )


def whole_table_levels(left, right, pairs):
    data = prepare(left, right, ROLES)
    return compare(data, pairs[0], pairs[1], workers=1)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("arrow", [False, True])
def test_levels_equal_those_of_the_whole_tables(seed, arrow):
    left, right = frame(300, seed), frame(2_000, seed + 100)
    rng = np.random.default_rng(seed)
    # Repeated rows, any order, and rows no pair touches.
    pairs = (rng.integers(0, 150, 500), rng.integers(0, 2_000, 500))
    expected = whole_table_levels(left, right, pairs)
    if arrow:
        left, right = pa.Table.from_pandas(left), pa.Table.from_pandas(right)
    got = compare_pairs(left, right, ROLES, pairs, workers=1)
    assert [c.name for c in got.comparisons] == [c.name for c in expected.comparisons]
    np.testing.assert_array_equal(got.levels, expected.levels)
    np.testing.assert_array_equal(got.left, pairs[0])
    np.testing.assert_array_equal(got.right, pairs[1])
    assert len(set(got.levels[:, 0].tolist())) > 1  # the levels are not all one value


def test_a_dictionary_column_gives_the_same_levels():
    left, right = frame(200, 7), frame(1_000, 8)
    pairs = (np.arange(200), np.arange(200) * 5)
    expected = whole_table_levels(left, right, pairs)
    arrow_right = pa.Table.from_pandas(right)
    for name in ("fn", "sn"):
        column = arrow_right[name].dictionary_encode()
        arrow_right = arrow_right.set_column(arrow_right.column_names.index(name), name, column)
    got = compare_pairs(left, arrow_right, ROLES, pairs, workers=1)
    np.testing.assert_array_equal(got.levels, expected.levels)


def test_prepared_rows_are_those_rows_of_the_whole_table():
    table = frame(1_000, 4)
    rows = np.array([5, 999, 5, 0, 321])
    whole = prepare_table(table, ROLES)
    part = prepare_table(table, ROLES, rows=rows)
    assert part.ids.tolist() == rows.tolist()  # no id role: the row positions
    for role, vocabulary in part.vocabularies.items():
        mine = [vocabulary.values[c].as_py() if c >= 0 else None for c in part.codes[role]]
        theirs = whole.vocabularies[role].values
        assert mine == [theirs[c].as_py() if c >= 0 else None for c in whole.codes[role][rows]]
    np.testing.assert_array_equal(part.dob, whole.dob[rows])
    np.testing.assert_array_equal(part.sex, whole.sex[rows])


def test_rows_whose_column_is_empty_are_no_error():
    """Only the chosen rows are read: their column may be empty where others are not."""
    table = frame(100, 5)
    table["fn"] = None
    table.loc[0, "fn"] = "Ann"
    part = prepare_table(table, ROLES, rows=np.array([3, 4]))
    assert part.codes["forename"].tolist() == [-1, -1]
    table["fn"] = None
    with pytest.raises(ConfigError) as err:
        prepare_table(table, ROLES, rows=np.array([3, 4]))
    assert err.value.field == "table.fn" and "entirely empty" in str(err.value)


def test_no_pairs_give_an_empty_result():
    result = compare_pairs(frame(10, 1), frame(10, 2), ROLES, ([], []), comparisons=["surname"])
    assert result.levels.shape == (0, 1) and len(result.left) == 0


@pytest.mark.parametrize(
    ("pairs", "says"),
    [
        (([0, 10], [0, 1]), "the left rows must lie in 0..9"),
        (([0, 1], [0, -1]), "the right rows must lie in 0..9"),
        (([0, 1], [0]), "2 left rows but 1 right rows"),
        (([0.5], [0]), "one-dimensional array of row positions"),
        ("pairs", "two arrays of row positions"),
    ],
)
def test_bad_pairs_are_refused_naming_the_parameter(pairs, says):
    with pytest.raises(ConfigError) as err:
        compare_pairs(frame(10, 1), frame(10, 2), ROLES, pairs)
    assert err.value.field == "pairs" and says in str(err.value)


def test_bad_rows_are_refused_naming_the_parameter():
    with pytest.raises(ConfigError) as err:
        prepare_table(frame(10, 1), ROLES, rows=np.array([3, 10]))
    assert err.value.field == "rows" and "0..9" in str(err.value)


# --------------------------------------------------------------------------------------------
# The shortcuts in normalising (values already clean) change no value and no code
# --------------------------------------------------------------------------------------------


def reference(values: list[str | None], role: str) -> tuple[list[str], list[int]]:
    """Normalised distinct values (in order of first appearance) and each record's code,
    computed value by value, as prepare_table did before it skipped clean values."""
    distinct: dict[str, int] = {}
    codes = []
    for value in values:
        if value is None:
            codes.append(-1)
            continue
        if role == "postcode":  # the expression prepare_table used before its shortcut
            upper = pc.utf8_upper(pa.array([value], pa.string()))
            norm = pc.replace_substring_regex(upper, r"[^A-Z0-9]", "")[0].as_py()
        else:
            norm = normalise_name(value)
        code = distinct.setdefault(norm, len(distinct))
        codes.append(-1 if norm == "" else code)
    return list(distinct), codes


TEXT = st.one_of(
    st.none(),
    st.text(alphabet="ABCLSM0129", max_size=8),  # often clean already
    st.text(alphabet="abcLS 12-'ÉéłŁ", max_size=8),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=25), st.sampled_from(["postcode", "surname"]))
def test_normalised_values_and_codes_equal_the_reference(values, role):
    if not any(v is not None for v in values):
        values = [*values, "A1"]
    table = pa.table({"x": pa.array(values, pa.string())})
    prepared = prepare_table(table, {"x": role})
    want_values, want_codes = reference(values, role)
    assert prepared.vocabularies[role].values.to_pylist() == want_values
    assert prepared.codes[role].tolist() == want_codes
    assert pc.count_distinct(prepared.vocabularies[role].values).as_py() == len(want_values)
