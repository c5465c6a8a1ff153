"""Derived keys computed for a few values at a time agree with the whole-vocabulary path, and
comparison levels agree with a plain per-pair reading of their rules."""

from __future__ import annotations

import datetime as dt

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import JaroWinkler

from matchsim.comparison import DateOfBirthComparison, NameComparison, PostcodeComparison, compare
from matchsim.records import Vocabulary, encode_values, prepare

# Each test runs on the compiled kernels and on the numpy reference (conftest).

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Soundex's edge cases sit in H, W, vowels and repeated consonant groups.
words = st.text(alphabet=st.sampled_from(UPPER + "HHWWAEBFPV"), min_size=1, max_size=14)
names = st.builds(lambda a, b: a if b is None else f"{a} {b}", words, st.none() | words)
postcodes = st.from_regex(r"[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2}", fullmatch=True)
odd_text = st.text(alphabet=st.sampled_from("AÉBØ Ł-1ß"), min_size=0, max_size=12)


def same_grouping(expected: np.ndarray, got: np.ndarray) -> bool:
    """Equal keys exactly where the reference has equal codes, and missing in the same places."""
    if not np.array_equal(expected < 0, got < 0):
        return False
    pairs = set(zip(expected.tolist(), got.tolist(), strict=True))
    return len(pairs) == len(set(expected.tolist())) == len(set(got.tolist()))


def check_kinds(values: list[str], kinds: tuple[str, ...]) -> None:
    vocab = Vocabulary("surname", pa.array(sorted(set(values)), pa.string()))
    codes = np.arange(len(vocab))
    for kind in kinds:
        expected = encode_values(vocab.derive_text(kind, vocab.values))
        assert same_grouping(expected, vocab.keys(kind, codes)), kind
        subset = codes[::2]
        assert same_grouping(expected[subset], vocab.keys(kind, subset)), kind


@settings(max_examples=60, deadline=None)
@given(st.lists(names, min_size=1, max_size=40))
def test_name_keys_match_jellyfish_and_arrow(values):
    check_kinds(values, ("soundex", "initial", "first3", "metaphone"))


@settings(max_examples=40, deadline=None)
@given(st.lists(postcodes, min_size=1, max_size=40))
def test_postcode_keys_match_arrow(values):
    check_kinds(values, ("sector", "district", "area"))


@settings(max_examples=40, deadline=None)
@given(st.lists(odd_text, min_size=1, max_size=20))
def test_keys_of_values_outside_the_byte_rules_fall_back_to_text(values):
    check_kinds(values, ("soundex", "initial", "first3", "sector", "district", "area"))


def test_soundex_edge_cases_match_jellyfish():
    values = ["ASHCRAFT", "PFISTER", "TYMCZAK", "HONEYMAN", "CHC", "SWAHW", "WH", "A", "LEE"]
    vocab = Vocabulary("surname", pa.array(values))
    keys = vocab.keys("soundex", np.arange(len(values)))
    codes = [jellyfish.soundex(v) for v in values]
    for i in range(len(values)):
        for j in range(len(values)):
            assert (keys[i] == keys[j]) == (codes[i] == codes[j]), (values[i], values[j])


def reference_name_level(comparison: NameComparison, a: str, b: str, swapped: bool) -> str:
    """The name rules read one pair at a time, strongest first."""
    # In float32, as the vectorised path scores: a similarity that is exactly a threshold
    # (Jaro-Winkler of N and NAB is 0.8) can come out a hair below it in float64.
    sim = float(np.float32(JaroWinkler.normalized_similarity(a, b)))
    t = comparison.thresholds
    if a == b:
        return "exact"
    if sim >= t[0]:
        return f"jaro_winkler>={t[0]:g}"
    if jellyfish.soundex(a.split(" ")[0]) == jellyfish.soundex(b.split(" ")[0]):
        return "soundex"
    if sim >= t[1]:
        return f"jaro_winkler>={t[1]:g}"
    if a[:3] == b[:3]:
        return "first3"
    if swapped:
        return "swapped"
    if a[:1] == b[:1]:
        return "initial"
    return "else"


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(names, names), min_size=1, max_size=25),
    st.lists(st.tuples(names, names), min_size=1, max_size=25),
)
@example(left_names=[("N", "A")], right_names=[("NAB", "A")])
def test_name_levels_match_a_per_pair_reading(comparison_kernel, left_names, right_names):
    left = pd.DataFrame(left_names, columns=["fn", "sn"])
    right = pd.DataFrame(right_names, columns=["fn", "sn"])
    data = prepare(left, right, {"fn": "forename", "sn": "surname"})
    li = np.repeat(np.arange(len(left)), len(right))
    ri = np.tile(np.arange(len(right)), len(left))
    forename = NameComparison("forename")
    result = compare(data, li, ri, [forename], kernel=comparison_kernel)
    for k, (i, j) in enumerate(zip(li, ri, strict=True)):
        (lf, ls), (rf, rs) = left_names[i], right_names[j]
        expected = reference_name_level(forename, lf, rf, lf == rs and ls == rf)
        assert forename.level_names[result.levels[k, 0]] == expected, (lf, ls, rf, rs)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
        min_size=1,
        max_size=20,
    ),
    st.lists(
        st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
        min_size=1,
        max_size=20,
    ),
)
def test_date_levels_match_a_per_pair_reading(comparison_kernel, left_dates, right_dates):
    left = pd.DataFrame({"dob": [d.isoformat() for d in left_dates]})
    right = pd.DataFrame({"dob": [d.isoformat() for d in right_dates]})
    data = prepare(left, right, {"dob": "date_of_birth"})
    li = np.repeat(np.arange(len(left)), len(right))
    ri = np.tile(np.arange(len(right)), len(left))
    dob = DateOfBirthComparison(days=365)
    levels = compare(data, li, ri, [dob], kernel=comparison_kernel).levels[:, 0]
    for k, (i, j) in enumerate(zip(li, ri, strict=True)):
        a, b = left_dates[i], right_dates[j]
        sa, sb = a.strftime("%d%m%Y"), b.strftime("%d%m%Y")
        if a == b:
            expected = "exact"
        elif (a.day, a.month, a.year) == (b.month, b.day, b.year):
            expected = "day_month_swap"
        elif sum(x != y for x, y in zip(sa, sb, strict=True)) == 1:
            expected = "one_digit"
        elif (a.year, a.month) == (b.year, b.month):
            expected = "same_month_year"
        elif a.year == b.year:
            expected = "same_year"
        elif abs((a - b).days) <= 365:
            expected = "within_365_days"
        else:
            expected = "else"
        assert dob.level_names[levels[k]] == expected, (a, b)


@settings(max_examples=30, deadline=None)
@given(st.lists(postcodes, min_size=1, max_size=20), st.lists(postcodes, min_size=1, max_size=20))
def test_postcode_levels_match_a_per_pair_reading(comparison_kernel, left_codes, right_codes):
    data = prepare(
        pd.DataFrame({"pc": left_codes}), pd.DataFrame({"pc": right_codes}), {"pc": "postcode"}
    )
    li = np.repeat(np.arange(len(left_codes)), len(right_codes))
    ri = np.tile(np.arange(len(right_codes)), len(left_codes))
    postcode = PostcodeComparison()
    levels = compare(data, li, ri, [postcode], kernel=comparison_kernel).levels[:, 0]
    for k, (i, j) in enumerate(zip(li, ri, strict=True)):
        a, b = left_codes[i], right_codes[j]
        area = lambda p: p[: len(p) - len(p.lstrip(UPPER))]  # noqa: E731
        if a == b:
            expected = "full"
        elif a[:-2] == b[:-2]:
            expected = "sector"
        elif a[:-3] == b[:-3]:
            expected = "district"
        elif area(a) == area(b):
            expected = "area"
        else:
            expected = "else"
        assert postcode.level_names[levels[k]] == expected, (a, b)
