"""Blocking one table against itself: each unordered pair of different rows exactly once.

The reference is the same blocker run on two copies of the table (the two-table code path,
tested against brute force in test_blocking.py), its pairs oriented as (smaller, larger) row
without self-pairs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from matchsim.blocking import (
    CrossKeys,
    ExactKeys,
    FullComparison,
    MinHashLSH,
    PhoneticKeys,
    SortedNeighbourhood,
    Union,
    default_blocking,
    make_blocker,
    oriented_pairs,
    run_blocking,
)
from matchsim.errors import PlanTooLargeError
from matchsim.records import prepare, prepare_table, self_linkage

from .test_blocking import ROLES, frame, records

BLOCKERS = {
    "exact dob": lambda: ExactKeys(["dob"]),
    "exact surname soundex + year": lambda: ExactKeys(["surname:soundex", "birth_year"]),
    "phonetic forename": lambda: PhoneticKeys("forename", "metaphone", with_birth_year=False),
    "postcode district": lambda: ExactKeys(["postcode:district"]),
    "default": lambda: default_blocking(ROLES.values()),
    "cross symmetric": lambda: CrossKeys(
        ["forename:soundex", "surname:soundex"], ["surname:soundex", "forename:soundex"]
    ),
    "cross one way": lambda: CrossKeys(["forename:soundex"], ["surname:soundex"]),
    "full": lambda: FullComparison(),
    "minhash": lambda: MinHashLSH("surname", bands=4, rows=2, with_birth_year=False),
    "sorted neighbourhood": lambda: SortedNeighbourhood("surname", window=3),
    "union with a one-way cross": lambda: Union(
        [ExactKeys(["dob"]), CrossKeys(["forename:soundex"], ["surname:soundex"])]
    ),
}


def _reference(blocker_factory, table) -> set[tuple[int, int]]:
    data = prepare(table, table, ROLES)
    (left, right), _ = run_blocking(blocker_factory(), data)
    low, high = oriented_pairs(left, right, len(table))
    return set(zip(low.tolist(), high.tolist(), strict=True))


@pytest.mark.parametrize("name", BLOCKERS)
@settings(max_examples=40, deadline=None)
@given(rows=records)
def test_self_join_lists_each_pair_of_different_rows_once(name, rows):
    table = frame(rows + rows[:3])  # repeated rows: exact duplicates must pair
    data = self_linkage(prepare_table(table, ROLES))
    for max_pairs in (5_000_000, 2):  # one chunk, and a chunk every few rows
        (left, right), report = run_blocking(BLOCKERS[name](), data, max_pairs=max_pairs)
        assert (left < right).all()
        pairs = list(zip(left.tolist(), right.tolist(), strict=True))
        assert len(pairs) == len(set(pairs))
        if name == "sorted neighbourhood":
            continue  # a window over the table, not over two copies of it: checked below
        assert set(pairs) == _reference(BLOCKERS[name], table), max_pairs
        possible = len(table) * (len(table) - 1) // 2
        expected_rr = 1 - len(pairs) / possible if possible else 1.0
        assert report.reduction_ratio == pytest.approx(expected_rr)


def test_exact_self_join_never_builds_both_orders():
    # 299 identical surnames (and the anchor): 44,551 unordered pairs, where the two-table
    # join would build 89,401 (both orders and the self-pairs) to filter.
    table = frame([("Ann", "Lee", None, None)] * 299)
    data = self_linkage(prepare_table(table, ROLES))
    blocker = ExactKeys(["surname"])
    rows = np.arange(len(table))
    counts = blocker.self_counts(data, rows)
    assert counts.tolist() == [*range(298, -1, -1), 0]  # each row counts only larger rows
    left, right = blocker.self_pairs(data, rows[:10])  # a chunk: its rows' pairs only
    assert len(left) == counts[:10].sum() and (left < right).all()
    left, _ = blocker.self_pairs(data, rows)
    assert len(left) == 299 * 298 // 2


def test_sorted_neighbourhood_self_join_pairs_neighbours_in_the_sort():
    table = frame([("A", name, None, None) for name in ("Cole", "Abbot", "Bell", "Dunn")])
    data = self_linkage(prepare_table(table, ROLES))
    (left, right), _ = run_blocking(SortedNeighbourhood("surname", window=3), data)
    pairs = set(zip(left.tolist(), right.tolist(), strict=True))
    # Sorted: Abbot(1) Anchor(4) Bell(2) Cole(0) Dunn(3); each copy meets the other copies
    # within the window, so Abbot and Bell (two apart) are paired, Abbot and Dunn are not.
    assert (1, 2) in pairs
    assert (1, 3) not in pairs


def test_full_comparison_self_join_counts_unordered_pairs():
    table = frame([("A", f"N{i}", None, None) for i in range(99)])  # 100 rows with the anchor
    data = self_linkage(prepare_table(table, ROLES))
    (left, _), report = run_blocking(make_blocker({"name": "full", "limit": 4950}), data)
    assert len(left) == 4950 and report.reduction_ratio == 0.0
    with pytest.raises(PlanTooLargeError):
        run_blocking(make_blocker({"name": "full", "limit": 4949}), data)


def test_self_join_report_measures_completeness_on_unordered_true_pairs():
    table = frame(
        [("Ann", "Lee", None, None), ("Ann", "Lee", None, None), ("Bo", "Ng", None, None)]
    )
    data = self_linkage(prepare_table(table, ROLES))
    # The true pair given in either order, and once more: one true pair, found.
    truth = (np.array([1, 0, 2]), np.array([0, 1, 0]))
    _, report = run_blocking(ExactKeys(["surname"]), data, truth)
    assert report.true_pairs == 2 and report.true_pairs_found == 1
