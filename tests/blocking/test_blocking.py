"""Blocking strategies checked against brute-force references on small random tables."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.blocking import (
    BLOCKERS,
    FULL_COMPARISON_LIMIT,
    CrossKeys,
    ExactKeys,
    FullComparison,
    MinHashLSH,
    PhoneticKeys,
    SortedNeighbourhood,
    Union,
    default_blocking,
    distinct,
    iter_pairs,
    make_blocker,
    plan_chunks,
    run_blocking,
)
from matchsim.errors import ConfigError, PlanTooLargeError, UnknownNameError
from matchsim.records import PHONETIC, LinkageData, normalise_name, prepare

COLUMNS = ("forename", "surname", "dob", "postcode")
ROLES = {
    "forename": "forename",
    "surname": "surname",
    "dob": "date_of_birth",
    "postcode": "postcode",
}
# Every column needs one value: an all-empty column is (rightly) refused by prepare.
ANCHOR = ("Anchor", "Anchor", dt.date(2000, 1, 1), "ZZ1 1ZZ")

forenames = st.sampled_from(
    [
        "Oliver",
        "OLIVER",
        "olivér",
        "Olivia",
        "Amelia",
        "Mohammed",
        "Muhammad",
        "Jack",
        "Jak",
        "Zoë",
        "Zoe",
        "Ann-Marie",
        "ann marie",
        "O'Neil",
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
        "Müller",
        "Muller",
        "Khan",
        "Kahn",
        "Łukasz",
        "Lukasz",
        "O'Neil",
        "Oneil",
        "",
        None,
    ]
)
dobs = st.sampled_from(
    [
        dt.date(2010, 1, 2),
        dt.date(2010, 2, 1),
        dt.date(2010, 1, 3),
        dt.date(2011, 1, 2),
        dt.date(2011, 12, 25),
        None,
    ]
)
postcodes = st.sampled_from(
    [
        "LS12 3AB",
        "ls12 3ab",
        "LS12 3AD",
        "LS12 4XY",
        "LS1 1AA",
        "M1 1AE",
        "M11 1AE",
        "B1",
        "123",
        "",
        None,
    ]
)
records = st.lists(st.tuples(forenames, surnames, dobs, postcodes), max_size=10)


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([*rows, ANCHOR], columns=list(COLUMNS), dtype=object)


def linkage(
    left_rows: list[tuple], right_rows: list[tuple]
) -> tuple[LinkageData, pd.DataFrame, pd.DataFrame]:
    left, right = frame(left_rows), frame(right_rows)
    return prepare(left, right, ROLES), left, right


# --- brute-force references ------------------------------------------------------------------


def _text(row: pd.Series, role: str) -> str:
    value = row[role]
    if value is None or pd.isna(value):  # pandas 3 stores a missing string as NaN
        return ""
    if role == "postcode":
        return re.sub(r"[^A-Z0-9]", "", value.upper())
    return normalise_name(value)


def key_value(row: pd.Series, part: str) -> object:
    """The value of one blocking key part for one record, computed directly; None = missing."""
    if part == "dob":
        return None if pd.isna(row["dob"]) else row["dob"]
    if part == "birth_year":
        return row["dob"].year if not pd.isna(row["dob"]) else None
    role, _, kind = part.partition(":")
    text = _text(row, role)
    if not text:
        return None
    if kind in PHONETIC:
        text = PHONETIC[kind](text.split(" ")[0])
    elif kind == "initial":
        text = text[:1]
    elif kind == "first3":
        text = text[:3]
    elif kind == "sector":
        text = text[:-2]
    elif kind == "district":
        text = text[:-3]
    elif kind == "area":
        found = re.match(r"[A-Z]+", text)
        text = found.group() if found else ""
    return text or None


def reference_cross(
    left: pd.DataFrame, right: pd.DataFrame, keys: list[str], against: list[str]
) -> set[tuple[int, int]]:
    """Pairs whose left ``keys`` values equal the right record's ``against`` values."""

    def keyed(df: pd.DataFrame, parts: list[str]) -> list[tuple | None]:
        out = []
        for _, row in df.iterrows():
            values = tuple(key_value(row, p) for p in parts)
            out.append(None if any(v is None for v in values) else values)
        return out

    lk, rk = keyed(left, keys), keyed(right, against)
    return {(i, j) for i, a in enumerate(lk) for j, b in enumerate(rk) if a is not None and a == b}


def reference_exact(
    left: pd.DataFrame, right: pd.DataFrame, keys: list[str]
) -> set[tuple[int, int]]:
    return reference_cross(left, right, keys, keys)


def reference_sorted_neighbourhood(
    left: pd.DataFrame, right: pd.DataFrame, key: str, window: int
) -> set[tuple[int, int]]:
    """Sort every record with a key (left records first among equals), pair left with right
    records fewer than ``window`` places apart."""
    entries = []
    for side, df in ((0, left), (1, right)):
        for row_no, (_, row) in enumerate(df.iterrows()):
            value = key_value(row, key)
            if value is not None:
                entries.append((value, side, row_no))
    entries.sort()
    pairs = set()
    for p, (_, side_p, row_p) in enumerate(entries):
        for q in range(p + 1, min(p + window, len(entries))):
            _, side_q, row_q = entries[q]
            if side_p != side_q:
                pairs.add((row_p, row_q) if side_p == 0 else (row_q, row_p))
    return pairs


def as_set(pairs: tuple[np.ndarray, np.ndarray]) -> set[tuple[int, int]]:
    return set(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True))


def all_pairs(blocker, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
    return blocker.pairs(data, np.arange(len(data.left)))


EXACT_KEYS = [
    ["surname"],
    ["forename", "dob"],
    ["surname:soundex", "birth_year"],
    ["forename:metaphone"],
    ["surname:nysiis"],
    ["forename:match_rating"],
    ["forename:initial", "surname:first3"],
    ["postcode"],
    ["postcode:district"],
    ["postcode:sector", "dob"],
    ["postcode:area"],
]


# --- exact keys ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(left_rows=records, right_rows=records)
def test_exact_keys_return_exactly_the_pairs_agreeing_on_every_part(left_rows, right_rows):
    data, left, right = linkage(left_rows, right_rows)
    for keys in EXACT_KEYS:
        pairs = all_pairs(ExactKeys(keys), data)
        assert len(as_set(pairs)) == len(pairs[0]), "no pair twice"
        assert as_set(pairs) == reference_exact(left, right, keys), keys


def test_exact_keys_on_a_hand_example():
    data, _, _ = linkage(
        [("Ann", "Smith", dt.date(2010, 1, 2), "LS1 1AA"), ("Bob", "Jones", None, "LS1 1AA")],
        [("ANN", "smith", dt.date(2010, 1, 2), None), ("Bob", "Jones", dt.date(2010, 1, 2), None)],
    )
    pairs = all_pairs(make_blocker("exact:surname+dob"), data)
    # Anchors (row 2 on each side) agree with each other; Bob's missing DOB pairs with nothing.
    assert as_set(pairs) == {(0, 0), (2, 2)}


CROSS_KEYS = [
    (["forename:soundex", "surname:soundex"], ["surname:soundex", "forename:soundex"]),
    (["forename", "birth_year"], ["surname", "birth_year"]),
    (["surname:metaphone", "postcode:district"], ["forename:metaphone", "postcode:district"]),
]


@settings(max_examples=40, deadline=None)
@given(left_rows=records, right_rows=records)
def test_cross_keys_pair_left_keys_with_equal_right_keys_of_other_roles(left_rows, right_rows):
    data, left, right = linkage(left_rows, right_rows)
    for keys, against in CROSS_KEYS:
        blocker = CrossKeys(keys, against)
        pairs = all_pairs(blocker, data)
        assert len(as_set(pairs)) == len(pairs[0]), "no pair twice"
        assert as_set(pairs) == reference_cross(left, right, keys, against), (keys, against)
        counts = blocker.counts(data, np.arange(len(data.left)))
        assert (np.bincount(pairs[0], minlength=len(data.left)) == counts).all()


def test_default_blocking_adds_broad_passes_within_its_budget():
    roles = {**ROLES, "address": "address"}
    left = pd.DataFrame(
        [
            ("Amara", "Okafor", dt.date(2012, 3, 4), "LS12 3AB", "1 Oak Road"),
            ("Katarzyna", "Nowak", dt.date(2011, 5, 6), "M1 1AE", "9 Elm Street"),
        ],
        columns=[*COLUMNS, "address"],
    )
    right = pd.DataFrame(
        [
            # names swapped, birth date mistyped, same district
            ("Okafor", "Amara", dt.date(2012, 4, 3), "LS12 3AD", "7 Ash Lane"),
            # both names misspelt beyond Soundex, birth date missing, same home
            ("Kasia", "Nowakowska", None, "M1 1AE", "9 Elm St"),
        ],
        columns=[*COLUMNS, "address"],
    )
    data = prepare(left, right, roles)
    # Both pairs have errors in three fields, beyond the core passes' rule.
    core = default_blocking(data.roles)
    assert as_set(all_pairs(core, data)) == set()
    # Two records can afford blocking on the postcode alone: the second pair shares it. The
    # first (names swapped, date and postcode unit mistyped) is lost: no pass is kept for it.
    budgeted = default_blocking(data=data)
    assert "exact(postcode)" in budgeted.describe()
    assert as_set(all_pairs(budgeted, data)) == {(1, 1)}
    # With no budget to spare, no broad pass that adds pairs is taken.
    assert "exact(postcode)" not in default_blocking(data=data, budget=1e-9).describe()
    with pytest.raises(ConfigError, match="budget"):
        default_blocking(data=data, budget=0)


@pytest.mark.parametrize(
    ("keys", "against", "mentions"),
    [
        (["forename"], ["surname", "dob"], "one per key"),
        (["dob"], ["birth_year"], "match themselves only"),
        (["forename:soundex"], ["surname"], "same derived key"),
        (["forename"], ["shoe_size"], "not a key"),
    ],
)
def test_cross_keys_refuse_mismatched_parts(keys, against, mentions):
    with pytest.raises(ConfigError, match=mentions):
        make_blocker({"name": "cross", "keys": keys, "against": against})


def test_phonetic_is_exact_on_the_phonetic_code_and_birth_year():
    data, left, right = linkage(
        [
            ("Jack", "Smith", dt.date(2010, 1, 2), None),
            ("Jack", "Smyth", dt.date(2011, 1, 2), None),
        ],
        [("Jak", "Smyth", dt.date(2010, 5, 5), None), ("Jak", "Smith", dt.date(2012, 1, 2), None)],
    )
    pairs = all_pairs(PhoneticKeys("surname", "soundex"), data)
    assert as_set(pairs) == reference_exact(left, right, ["surname:soundex", "birth_year"])
    assert (0, 0) in as_set(pairs)  # Smith ~ Smyth, both born 2010
    without_year = all_pairs(PhoneticKeys("surname", "soundex", with_birth_year=False), data)
    assert {(0, 0), (0, 1), (1, 0), (1, 1)} <= as_set(without_year)


# --- union -----------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(left_rows=records, right_rows=records)
def test_union_is_the_set_union_without_duplicates(left_rows, right_rows):
    data, _, _ = linkage(left_rows, right_rows)
    specs = [["surname", "dob"], ["forename:soundex", "birth_year"], ["postcode:district"]]
    expected = set().union(*(as_set(all_pairs(ExactKeys(k), data)) for k in specs))
    pairs = all_pairs(Union([ExactKeys(k) for k in specs]), data)
    assert len(pairs[0]) == len(as_set(pairs)), "duplicates across passes are removed"
    assert as_set(pairs) == expected


def test_union_from_a_list_spec_and_default_blocking():
    blocker = make_blocker(["exact:surname", {"name": "phonetic", "field": "forename"}])
    assert isinstance(blocker, Union)
    assert len(blocker.blockers) == 2
    default = default_blocking()
    assert isinstance(default, Union)
    assert all(isinstance(b, ExactKeys) for b in default.blockers)


# --- sorted neighbourhood --------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(left_rows=records, right_rows=records)
def test_sorted_neighbourhood_pairs_exactly_the_records_within_the_window(left_rows, right_rows):
    data, left, right = linkage(left_rows, right_rows)
    for key in ("surname", "forename", "postcode", "dob"):
        for window in (2, 3, 5):
            pairs = all_pairs(SortedNeighbourhood(key, window), data)
            assert len(pairs[0]) == len(as_set(pairs))
            expected = reference_sorted_neighbourhood(left, right, key, window)
            assert as_set(pairs) == expected, (key, window)


def test_sorted_neighbourhood_hand_example():
    # Left rows 0-1 (not the left anchor) against every right record, sorted:
    # ANCHOR(R3) CARTER(L0) DAVIS(R0) ELLIS(L1) FOSTER(R1) GRANT(R2)
    data, _, _ = linkage(
        [("A", "Carter", None, None), ("A", "Ellis", None, None)],
        [("A", "Davis", None, None), ("A", "Foster", None, None), ("A", "Grant", None, None)],
    )
    left_rows = np.arange(2)
    pairs = SortedNeighbourhood("surname", 2).pairs(data, left_rows)
    assert as_set(pairs) == {(0, 3), (0, 0), (1, 0), (1, 1)}
    pairs = SortedNeighbourhood("surname", 3).pairs(data, left_rows)
    assert as_set(pairs) == {(0, 3), (0, 0), (1, 0), (1, 1), (1, 2)}


# --- MinHash ---------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(left_rows=records, right_rows=records)
def test_minhash_finds_every_pair_of_identical_names(left_rows, right_rows):
    data, left, right = linkage(left_rows, right_rows)
    for with_birth_year in (True, False):
        keys = ["surname", "birth_year"] if with_birth_year else ["surname"]
        identical = reference_exact(left, right, keys)
        pairs = all_pairs(MinHashLSH("surname", with_birth_year=with_birth_year), data)
        assert len(pairs[0]) == len(as_set(pairs))
        assert identical <= as_set(pairs)
        if with_birth_year:
            for i, j in as_set(pairs):
                assert left["dob"][i].year == right["dob"][j].year


def test_minhash_is_reproducible_and_pairs_similar_names():
    data, _, _ = linkage(
        [("A", "Featherstone", None, None)],
        [("A", "Featherston", None, None), ("A", "Okonkwo", None, None)],
    )
    blocker = {"name": "minhash", "with_birth_year": False, "bands": 20, "rows": 2}
    first = as_set(all_pairs(make_blocker(blocker), data))
    assert first == as_set(all_pairs(make_blocker(blocker), data))
    assert (0, 0) in first
    assert (0, 1) not in first


# --- full comparison -------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(left_rows=records, right_rows=records)
def test_full_comparison_is_the_cross_product(left_rows, right_rows):
    data, left, right = linkage(left_rows, right_rows)
    pairs = all_pairs(make_blocker("full"), data)
    assert as_set(pairs) == {(i, j) for i in range(len(left)) for j in range(len(right))}
    assert len(pairs[0]) == len(left) * len(right)


def test_full_comparison_above_its_limit_names_the_pairs_and_memory():
    data, _, _ = linkage([ANCHOR] * 3, [ANCHOR] * 3)  # 4 x 4 with the anchors
    with pytest.raises(PlanTooLargeError, match=r"16 pairs.*GB.*limit is 10"):
        run_blocking({"name": "full", "limit": 10}, data)
    (left, _), report = run_blocking({"name": "full", "limit": 10, "force": True}, data)
    assert len(left) == 16 and report.candidate_pairs == 16


def test_full_comparison_default_limit_refuses_before_building_any_pair():
    n = 7100  # 7,100 x 7,100 = 50.41M pairs, just over the default limit
    assert n * n > FULL_COMPARISON_LIMIT
    names = pd.DataFrame({"surname": [f"N{i}" for i in range(n)]})
    data = prepare(names, names, {"surname": "surname"})
    with pytest.raises(PlanTooLargeError) as info:
        run_blocking("full", data)
    message = str(info.value)
    assert "50,410,000 pairs" in message
    assert re.search(r"\d+(\.\d+)? GB", message)
    assert "force" in message
    # Forcing lifts the refusal (only the cheap per-record count is computed here).
    counts = FullComparison(force=True).counts(data, np.arange(3))
    assert counts.tolist() == [n, n, n]


# --- the report ------------------------------------------------------------------------------


def test_report_pc_rr_pq_on_a_hand_example():
    left = pd.DataFrame({"surname": ["Smith", "Jones", "Brown"]})
    right = pd.DataFrame({"surname": ["Smith", "SMITH", "Jones", "Patel"]})
    data = prepare(left, right, {"surname": "surname"})
    # Candidates: (0,0) (0,1) (1,2). True links: (0,0) found, (2,3) missed; (0,0) listed twice.
    true_pairs = (np.array([0, 2, 0]), np.array([0, 3, 0]))
    (lp, rp), report = run_blocking("exact:surname", data, true_pairs)
    assert as_set((lp, rp)) == {(0, 0), (0, 1), (1, 2)}
    assert report.left_records == 3 and report.right_records == 4
    assert report.candidate_pairs == 3
    assert report.true_pairs == 2 and report.true_pairs_found == 1
    assert report.pairs_completeness == pytest.approx(1 / 2)
    assert report.pair_quality == pytest.approx(1 / 3)
    assert report.reduction_ratio == pytest.approx(1 - 3 / 12)
    assert report.strategy == "exact(surname)"
    assert report.as_dict()["candidate_pairs"] == 3

    _, no_truth = run_blocking("exact:surname", data)
    assert no_truth.pairs_completeness is None and no_truth.pair_quality is None
    assert no_truth.true_pairs is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["ann", "bob", "cy", ""]), min_size=1, max_size=12),
    st.lists(st.sampled_from(["ann", "bob", "cy", "dee"]), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=15),
)
def test_report_counts_each_true_pair_found_once(left_names, right_names, truth):
    data = prepare(
        pd.DataFrame({"surname": left_names}),
        pd.DataFrame({"surname": right_names}),
        {"surname": "surname"},
    )
    truth = [(a, b) for a, b in truth if a < len(left_names) and b < len(right_names)]
    true_pairs = (np.array([a for a, _ in truth], dtype=np.int64), np.array([b for _, b in truth]))
    (lp, rp), report = run_blocking("exact:surname", data, true_pairs)
    found = set(truth) & as_set((lp, rp))
    assert report.true_pairs == len(set(truth))
    assert report.true_pairs_found == len(found)
    assert report.pair_quality == (len(found) / len(lp) if len(lp) else 0.0)


@given(st.lists(st.integers(-(2**62), 2**62), max_size=50))
def test_distinct_is_numpy_unique(values):
    array = np.array(values, dtype=np.int64)
    assert np.array_equal(distinct(array), np.unique(array))
    assert distinct(array).dtype == np.int64


# --- counts and chunking ---------------------------------------------------------------------


def strategies() -> list:
    """Fresh blockers of every kind (instances cache per linkage, so never share them)."""
    return [
        ExactKeys(["surname", "dob"]),
        ExactKeys(["postcode:district"]),
        PhoneticKeys("forename", "metaphone"),
        SortedNeighbourhood("surname", 3),
        MinHashLSH("surname", bands=4, rows=2),
        FullComparison(),
        Union([ExactKeys(["surname"]), PhoneticKeys("forename"), SortedNeighbourhood("dob", 2)]),
        default_blocking(tuple(ROLES.values())),
        CrossKeys(*CROSS_KEYS[0]),
    ]


@settings(max_examples=30, deadline=None)
@given(left_rows=records, right_rows=records)
def test_counts_bound_the_pairs_of_every_left_record(left_rows, right_rows):
    data, _, _ = linkage(left_rows, right_rows)
    rows = np.arange(len(data.left))
    for blocker in strategies():
        counts = blocker.counts(data, rows)
        actual = np.bincount(all_pairs(blocker, data)[0], minlength=len(rows))
        assert counts.shape == actual.shape
        assert (actual <= counts).all(), blocker.describe()
        if type(blocker) is ExactKeys:
            assert (actual == counts).all(), blocker.describe()


@settings(max_examples=30, deadline=None)
@given(left_rows=records, right_rows=records)
def test_chunking_gives_the_same_pairs_as_one_chunk(left_rows, right_rows):
    data, _, _ = linkage(left_rows, right_rows)
    for small, whole in zip(strategies(), strategies(), strict=True):
        if isinstance(small, SortedNeighbourhood) or (
            isinstance(small, Union)
            and any(isinstance(b, SortedNeighbourhood) for b in small.blockers)
        ):
            continue  # see test_sorted_neighbourhood_chunking_gives_the_same_pairs
        (cl, cr), _ = run_blocking(small, data, max_pairs=1)
        (wl, wr), _ = run_blocking(whole, data, max_pairs=10**9)
        assert as_set((cl, cr)) == as_set((wl, wr))
        assert len(cl) == len(wl)


def test_small_max_pairs_really_splits_the_left_records():
    data, _, _ = linkage([("A", "Smith", None, None)] * 5, [("A", "Smith", None, None)] * 2)
    plan = plan_chunks(ExactKeys(["surname"]), data, max_pairs=3)
    assert len(plan.chunks) > 1
    assert np.concatenate(plan.chunks).tolist() == list(range(len(data.left)))
    assert plan.estimated_pairs == 5 * 2 + 1  # the anchors pair with each other
    chunks = list(iter_pairs(ExactKeys(["surname"]), data, max_pairs=3))
    assert sum(len(c[0]) for c in chunks) == plan.estimated_pairs


def test_sorted_neighbourhood_chunking_gives_the_same_pairs():
    data, _, _ = linkage(
        [("A", "Lee", None, None), ("B", "Lee", None, None)],
        [("A", "Lee", None, None), ("B", "Lee", None, None)],
    )
    (cl, cr), _ = run_blocking(SortedNeighbourhood("surname", 2), data, max_pairs=1)
    (wl, wr), _ = run_blocking(SortedNeighbourhood("surname", 2), data, max_pairs=10**9)
    assert as_set((cl, cr)) == as_set((wl, wr))
    assert len(cl) == len(wl)


def test_a_blocker_reused_across_linkages_gives_each_its_own_pairs():
    first = prepare(frame([("X", "X", None, None)]), frame([("X", "X", None, None)] * 2), ROLES)
    second = prepare(
        frame([("B", "B", None, None)]),
        frame([("A", "A", None, None), ("B", "B", None, None), ("B", "B", None, None)]),
        ROLES,
    )
    blocker = ExactKeys(["surname"])
    for source in (first, second) * 3:
        # A fresh LinkageData per linkage, as link_tables and lookup make; freed afterwards.
        data = LinkageData(source.left, source.right, source.vocabularies)
        got = as_set(all_pairs(blocker, data))
        assert got == as_set(all_pairs(ExactKeys(["surname"]), data))
        del data


# --- building blockers -----------------------------------------------------------------------


def test_make_blocker_accepts_names_inline_keys_mappings_and_instances():
    exact = make_blocker("exact:surname:soundex+dob")
    assert isinstance(exact, ExactKeys)
    assert exact.keys == ("surname:soundex", "dob")
    instance = SortedNeighbourhood("dob", 4)
    assert make_blocker(instance) is instance
    minhash = make_blocker({"name": "minhash", "field": "forename", "bands": 3})
    assert isinstance(minhash, MinHashLSH) and minhash.bands == 3
    assert set(BLOCKERS) == {
        "exact",
        "phonetic",
        "sorted_neighbourhood",
        "minhash",
        "full",
        "union",
        "cross",
        "clk_lsh",
        "recordlinkage",  # recordlinkage's Index (matchsim.peers), registered with the others
    }


@pytest.mark.parametrize(
    ("spec", "error", "mentions"),
    [
        ("bogus", UnknownNameError, "sorted_neighbourhood"),
        ("phonetic:surname", ConfigError, "exact:KEY+KEY"),
        ("union:exact", ConfigError, "list"),
        (42, ConfigError, "42"),
        ({"keys": ["surname"]}, ConfigError, "name"),
        ("exact:shoe_size", ConfigError, "shoe_size"),
        ("exact:surname:bogus", ConfigError, "bogus"),
    ],
)
def test_make_blocker_rejects_bad_specs_by_name(spec, error, mentions):
    with pytest.raises(error, match=re.escape(mentions)):
        make_blocker(spec)
