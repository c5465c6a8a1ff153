"""Sorted-neighbourhood blocking: records near each other in one sort order are paired."""

from __future__ import annotations

import numpy as np

from matchsim.blocking.base import Blocker, BlockingWork, blocker, oriented_pairs
from matchsim.blocking.keys import validate_key
from matchsim.errors import ConfigError
from matchsim.records import MISSING, LinkageData


@blocker("sorted_neighbourhood")
class SortedNeighbourhood(Blocker):
    """Sort left and right records together by a key; pair records within ``window`` places
    (Hernández & Stolfo 1995). The key is a role's value in alphabetical order, or ``dob``.

    Parameters
    ----------
    key
        The sort key: a role, a role with a derived key (e.g. ``surname:soundex``) or ``dob``.
    window
        Records at most this many places apart in the sorted order are paired (2 or more).
    """

    def __init__(self, key: str = "surname", window: int = 5) -> None:
        if not isinstance(window, int) or isinstance(window, bool) or window < 2:
            raise ConfigError(
                "blocking.sorted_neighbourhood.window", f"{window!r} must be a whole number >= 2"
            )
        if key != "dob":
            validate_key(key)
        self.key, self.window = key, window

    def describe(self) -> str:
        return f"sorted_neighbourhood({self.key}, window={self.window})"

    def _sort_values(self, data: LinkageData, side: str) -> np.ndarray:
        records = data.left if side == "left" else data.right
        if self.key == "dob":
            return records.key("dob", data.vocabularies)
        role, _, kind = self.key.partition(":")
        codes = records.key(self.key, data.vocabularies)
        vocab = data.vocabularies[role]
        # Alphabetical rank of each value (codes are in order of first appearance).
        text = vocab.text if not kind else None
        if text is None:
            return codes
        rank = np.empty(len(text), dtype=np.int64)
        rank[np.argsort(text.astype(str), kind="stable")] = np.arange(len(text))
        return np.where(codes >= 0, rank[np.maximum(codes, 0)], MISSING)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The window runs over all records, so a chunk's pairs are those of the whole sort
        # that involve its left records: computed once per linkage, then filtered.
        work = data.state(BlockingWork).pairs
        cache_key = ("sorted_neighbourhood", self.key, self.window)
        if cache_key not in work:
            work[cache_key] = self._all_pairs(data)
        left, right = work[cache_key]
        keep = np.isin(left, left_rows)
        return left[keep], right[keep]

    def _all_pairs(self, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
        left_rows = np.arange(len(data.left))
        lv = self._sort_values(data, "left")
        rv = self._sort_values(data, "right")
        lrows = left_rows[lv != MISSING]
        rrows = np.flatnonzero(rv != MISSING)
        values = np.concatenate([lv[lv != MISSING], rv[rrows]])
        is_left = np.r_[np.ones(len(lrows), dtype=bool), np.zeros(len(rrows), dtype=bool)]
        row = np.concatenate([lrows, rrows])
        order = np.argsort(values, kind="stable")
        is_left, row = is_left[order], row[order]
        out_l, out_r = [], []
        for offset in range(1, self.window):
            a, b = np.arange(len(row) - offset), np.arange(offset, len(row))
            mixed = is_left[a] != is_left[b]
            a, b = a[mixed], b[mixed]
            left_first = is_left[a]
            out_l.append(np.where(left_first, row[a], row[b]))
            out_r.append(np.where(left_first, row[b], row[a]))
        left = np.concatenate(out_l) if out_l else np.array([], dtype=np.int64)
        right = np.concatenate(out_r) if out_r else np.array([], dtype=np.int64)
        return left, right

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        # Each left record meets at most (window - 1) neighbours on each side.
        return np.full(len(left_rows), 2 * (self.window - 1), dtype=np.int64)

    # On one table the window runs over its records sorted once (two copies of the table would
    # put each record beside its own copy and halve the window). A pair is listed in the chunk
    # of its smaller row.
    self_pairs_once = True

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        work = data.state(BlockingWork).pairs
        cache_key = ("sorted_neighbourhood-self", self.key, self.window)
        if cache_key not in work:
            values = self._sort_values(data, "left")
            rows = np.flatnonzero(values != MISSING)
            rows = rows[np.argsort(values[rows], kind="stable")]
            a = np.concatenate([rows[:-offset] for offset in range(1, self.window)])
            b = np.concatenate([rows[offset:] for offset in range(1, self.window)])
            work[cache_key] = oriented_pairs(a, b, len(data.left))
        left, right = work[cache_key]
        keep = np.isin(left, left_rows)
        return left[keep], right[keep]
