"""Comparison levels: properties on random records, and the hand cases each level exists for."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.comparison import (
    COMPARISONS,
    AddressComparison,
    ComparisonResult,
    DateOfBirthComparison,
    NameComparison,
    PostcodeComparison,
    SexComparison,
    compare,
    default_comparisons,
    make_comparison,
)
from matchsim.errors import ConfigError, UnknownNameError
from matchsim.records import prepare

COLUMNS = ("forename", "surname", "dob", "postcode", "address", "sex")
ROLES = {
    "forename": "forename",
    "surname": "surname",
    "dob": "date_of_birth",
    "postcode": "postcode",
    "address": "address",
    "sex": "sex",
}
ANCHOR = ("Anchor", "Anchor", dt.date(2000, 1, 1), "ZZ1 1ZZ", "1 Anchor Road", "M")

forenames = st.sampled_from(
    [
        "Oliver",
        "OLIVER",
        "Olivia",
        "Mohammed",
        "Muhammad",
        "Mohamed",
        "Jack",
        "Jak",
        "Zoë",
        "Zoe",
        "Smith",
        "Ann-Marie",
        "Anne",
        "123",
        "",
        None,
    ]
)
surnames = st.sampled_from(
    [
        "Smith",
        "SMITH",
        "Smyth",
        "Jones",
        "Oliver",
        "Müller",
        "Muller",
        "Khan",
        "Kahn",
        "Smithson",
        "",
        None,
    ]
)
dobs = st.one_of(
    st.none(),
    st.sampled_from([dt.date(2010, 1, 2), dt.date(2010, 2, 1), dt.date(2011, 1, 2)]),
    st.dates(min_value=dt.date(2008, 1, 1), max_value=dt.date(2013, 12, 31)),
)
postcodes = st.sampled_from(
    ["LS12 3AB", "ls12 3ab", "LS12 3AD", "LS12 4XY", "LS1 1AA", "M1 1AE", "B1", "", None]
)
addresses = st.sampled_from(
    [
        "12 High Rd",
        "12 High Road",
        "12 HIGH ROAD",
        "12a High Road",
        "Flat 2, 12 High Road",
        "7 Mill Lane",
        "7 Mill Ln",
        "Mill Lane",
        "",
        None,
    ]
)
sexes = st.sampled_from(["M", "F", "m", "female", "X", "", None])
records = st.lists(
    st.tuples(forenames, surnames, dobs, postcodes, addresses, sexes), min_size=1, max_size=8
)


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([*rows, ANCHOR], columns=list(COLUMNS), dtype=object)


def all_comparisons() -> tuple:
    return (
        NameComparison("forename"),
        NameComparison("surname"),
        NameComparison("forename", name="forename_levenshtein", similarity="levenshtein"),
        DateOfBirthComparison(),
        DateOfBirthComparison(name="dob_30", days=30),
        PostcodeComparison(),
        AddressComparison(),
        SexComparison(),
    )


def cross(n_left: int, n_right: int) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(n_left), n_right), np.tile(np.arange(n_right), n_left)


def level_of(comparison, left: dict, right: dict, kernel: str) -> str:
    """The level name of one hand-made pair (only the columns given are mapped)."""
    roles = {k: v for k, v in ROLES.items() if k in left}
    anchor = dict(zip(COLUMNS, ANCHOR, strict=True))  # so no column is entirely empty
    left_table = pd.DataFrame([left, {k: anchor[k] for k in left}], dtype=object)
    right_table = pd.DataFrame([right, {k: anchor[k] for k in right}], dtype=object)
    data = prepare(left_table, right_table, roles)
    result = compare(data, np.array([0]), np.array([0]), [comparison], kernel=kernel)
    return comparison.level_names[int(result.levels[0, 0])]


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(a=records, b=records)
def test_levels_are_in_range_and_symmetric(comparison_kernel, a, b):
    left, right = frame(a), frame(b)
    forward = prepare(left, right, ROLES)
    backward = prepare(right, left, ROLES)
    li, ri = cross(len(left), len(right))
    comparisons = all_comparisons()
    ab = compare(forward, li, ri, comparisons, kernel=comparison_kernel)
    ba = compare(backward, ri, li, comparisons, kernel=comparison_kernel)
    for k, c in enumerate(comparisons):
        assert ab.levels[:, k].min() >= 0
        assert ab.levels[:, k].max() < c.n_levels, c.name
        np.testing.assert_array_equal(ab.levels[:, k], ba.levels[:, k], err_msg=c.name)


@settings(max_examples=40, deadline=None)
@given(a=records)
def test_identity_scores_the_strongest_level_and_missing_scores_level_0(comparison_kernel, a):
    table = frame(a)
    data = prepare(table, table, ROLES)
    rows = np.arange(len(table))
    comparisons = all_comparisons()
    result = compare(data, rows, rows, comparisons, kernel=comparison_kernel)
    present = {
        "forename": data.left.codes["forename"] >= 0,
        "surname": data.left.codes["surname"] >= 0,
        "date_of_birth": data.left.dob >= 0,
        "postcode": data.left.codes["postcode"] >= 0,
        "address": data.left.codes["address"] >= 0,
        "sex": data.left.sex >= 0,
    }
    for k, c in enumerate(comparisons):
        expected = np.where(present[c.role], 1, 0)
        np.testing.assert_array_equal(result.levels[:, k], expected, err_msg=c.name)
        assert c.level_names[1] in ("exact", "full")


@settings(max_examples=40, deadline=None)
@given(a=records, b=records)
def test_a_value_missing_on_either_side_gives_level_0_and_only_then(comparison_kernel, a, b):
    left, right = frame(a), frame(b)
    data = prepare(left, right, ROLES)
    li, ri = cross(len(left), len(right))
    comparisons = all_comparisons()
    result = compare(data, li, ri, comparisons, kernel=comparison_kernel)

    def present(records, role: str) -> np.ndarray:
        if role == "date_of_birth":
            return records.dob >= 0
        if role == "sex":
            return records.sex >= 0
        return records.codes[role] >= 0

    for k, c in enumerate(comparisons):
        both = present(data.left, c.role)[li] & present(data.right, c.role)[ri]
        np.testing.assert_array_equal(result.levels[:, k] == 0, ~both, err_msg=c.name)


# --- hand cases ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (dt.date(2011, 4, 7), dt.date(2011, 4, 7), "exact"),
        (dt.date(2011, 4, 7), dt.date(2011, 7, 4), "day_month_swap"),
        (dt.date(2011, 4, 7), dt.date(2011, 4, 8), "one_digit"),
        (dt.date(2011, 4, 7), dt.date(2011, 4, 17), "one_digit"),
        (dt.date(2011, 4, 7), dt.date(2012, 4, 7), "one_digit"),
        (dt.date(2011, 4, 7), dt.date(2011, 4, 28), "same_month_year"),
        (dt.date(2011, 4, 7), dt.date(2011, 11, 30), "same_year"),
        (dt.date(2011, 12, 20), dt.date(2012, 3, 25), "within_365_days"),
        (dt.date(2011, 4, 7), dt.date(2014, 9, 30), "else"),
        (dt.date(2011, 4, 7), None, "missing"),
    ],
)
def test_date_of_birth_levels(comparison_kernel, left, right, expected):
    level = level_of(
        DateOfBirthComparison(),
        {"forename": "A", "dob": left},
        {"forename": "A", "dob": right},
        comparison_kernel,
    )
    assert level == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("Mohammed", "Mohammed", {"exact"}),
        ("mohammed ", "MOHAMMED", {"exact"}),
        ("Zoë", "Zoe", {"exact"}),  # accents are normalised away
        ("Mohammed", "Muhammad", {"jaro_winkler>=0.92", "soundex", "jaro_winkler>=0.8"}),
        ("Mohammed", "Mohamed", {"jaro_winkler>=0.92", "soundex", "jaro_winkler>=0.8"}),
        ("Catherine", "Katherine", {"jaro_winkler>=0.92", "soundex", "jaro_winkler>=0.8"}),
        ("Samantha", "Samuel", {"first3"}),
        ("Oliver", "Oscar", {"initial"}),
        ("Oliver", "Zachary", {"else"}),
        ("Oliver", "", {"missing"}),
    ],
)
def test_forename_levels(comparison_kernel, left, right, expected):
    level = level_of(
        NameComparison("forename"),
        {"forename": left, "surname": "Brown"},
        {"forename": right, "surname": "Brown"},
        comparison_kernel,
    )
    assert level in expected


def test_forename_and_surname_swapped(comparison_kernel):
    left = {"forename": "Brown", "surname": "Olivia"}
    right = {"forename": "Olivia", "surname": "Brown"}
    assert level_of(NameComparison("forename"), left, right, comparison_kernel) == "swapped"
    # Swapped is a forename level; the surname comparison does not have it by default.
    assert "swapped" not in NameComparison("surname").levels
    assert level_of(NameComparison("surname"), left, right, comparison_kernel) == "else"
    # With only one of the two names on each side a swap cannot be seen.
    assert level_of(
        NameComparison("forename"), {"forename": "Brown"}, {"forename": "Olivia"}, comparison_kernel
    ) == ("else")


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("LS12 3AB", "LS12 3AB", "full"),
        ("LS12 3AB", "ls123ab", "full"),
        ("LS12 3AB", "LS12 3AD", "sector"),
        ("LS12 3AB", "LS12 4XY", "district"),
        ("LS12 3AB", "LS1 1AA", "area"),
        ("LS12 3AB", "M1 1AE", "else"),
        ("LS12 3AB", None, "missing"),
    ],
)
def test_postcode_levels(comparison_kernel, left, right, expected):
    level = level_of(
        PostcodeComparison(),
        {"forename": "A", "postcode": left},
        {"forename": "A", "postcode": right},
        comparison_kernel,
    )
    assert level == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("12 High Rd", "12 High Road", "exact"),
        ("12, high rd.", "12 HIGH ROAD", "exact"),
        ("7 Mill Ln", "7 Mill Lane", "exact"),
        ("Flat 2, 12 High Road", "12 High Road", "token_set>=0.9"),
        ("12 High Road", "12 High Street", "token_set>=0.7"),
        ("12 High Road", "7 Mill Lane", "else"),
        ("12 High Road", "", "missing"),
    ],
)
def test_address_levels(comparison_kernel, left, right, expected):
    level = level_of(
        AddressComparison(),
        {"forename": "A", "address": left},
        {"forename": "A", "address": right},
        comparison_kernel,
    )
    assert level == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [("M", "m", "exact"), ("F", "Female", "exact"), ("M", "F", "else"), ("M", None, "missing")],
)
def test_sex_levels(comparison_kernel, left, right, expected):
    level = level_of(
        SexComparison(),
        {"forename": "A", "sex": left},
        {"forename": "A", "sex": right},
        comparison_kernel,
    )
    assert level == expected


def test_level_names_start_with_missing_and_end_with_else():
    for c in all_comparisons():
        assert c.level_names[0] == "missing" and c.level_names[-1] == "else"
        assert c.n_levels == len(c.level_names)
        assert c.describe().startswith(f"{c.name}: missing > ")
    assert set(COMPARISONS) == {
        "name",
        "date_of_birth",
        "postcode",
        "address",
        "location",
        "sex",
        "exact",
    }


def test_comparison_result_column_and_frame(comparison_kernel):
    data = prepare(frame([]), frame([]), ROLES)
    result = compare(data, np.array([0]), np.array([0]), kernel=comparison_kernel)
    assert isinstance(result, ComparisonResult)
    assert [c.name for c in result.comparisons] == [c.name for c in default_comparisons(data)]
    assert result.column("postcode").tolist() == [1]
    with pytest.raises(UnknownNameError, match="forename"):
        result.column("shoe_size")
    table = result.frame(data)
    assert table.loc[0, "surname"] == "exact" and table.loc[0, "postcode"] == "full"


def test_default_comparisons_follow_the_roles_both_sides_have():
    left = pd.DataFrame({"fn": ["Ann"], "sn": ["Lee"], "pc": ["LS1 1AA"]})
    right = pd.DataFrame({"fn": ["Ann"], "sn": ["Lee"]})
    data = prepare(
        left,
        right,
        {"fn": "forename", "sn": "surname", "pc": "postcode"},
        {
            "fn": "forename",
            "sn": "surname",
        },
    )
    assert [c.name for c in default_comparisons(data)] == ["forename", "surname"]
    with pytest.raises(ConfigError, match="postcode"):
        compare(data, np.array([0]), np.array([0]), ["postcode"])


def test_make_comparison_from_names_and_mappings():
    middle = make_comparison("middle_names")
    assert isinstance(middle, NameComparison) and not middle.swapped
    custom = make_comparison({"kind": "name", "role": "surname", "thresholds": [0.95]})
    assert custom.levels == ("exact", "jaro_winkler>=0.95", "soundex", "first3", "initial")
    dob = make_comparison({"kind": "date_of_birth", "days": 30})
    assert dob.levels[-1] == "within_30_days"
    with pytest.raises(UnknownNameError, match="date_of_birth, forename"):
        make_comparison("dob")
    with pytest.raises(
        UnknownNameError, match="address, date_of_birth, exact, location, name, postcode, sex"
    ):
        make_comparison({"kind": "phone"})
