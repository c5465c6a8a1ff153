"""The vocabulary codes of candidate pairs, as the comparisons read them.

Every string role is a vocabulary of distinct values plus one code per row (-1: missing), so
a comparison decides a pair from two codes. These helpers find the distinct code pairs (names
repeat heavily: each is decided once), the values a batch of pairs uses, and the layout the
compiled kernels read.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim.records import LinkageData


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) code pairs and each input pair's index into them (hash-based)."""
    key = a.astype(np.int64) * np.int64(1 << 31) + b.astype(np.int64)
    inverse, uniques = pd.factorize(key)
    return (uniques // (1 << 31)).astype(np.int64), (uniques % (1 << 31)).astype(np.int64), inverse


def compact(*codes: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct codes among ``codes`` (ascending) and each array's positions in them."""
    size = int(max((c.max(initial=-1) for c in codes), default=-1)) + 1
    seen = np.zeros(size, dtype=bool)
    for c in codes:
        seen[c] = True
    used = np.flatnonzero(seen)
    position = np.cumsum(seen) - 1
    return used, [position[c] for c in codes]


@dataclass(frozen=True)
class PairCodes:
    """A role's codes for the kernels. Pair ``i`` has code ``left_codes[left[i]]`` on the left
    and ``b[i]`` on the right; ``used`` lists the codes the pairs use (ascending).

    The kernels keep a used value's features in a table of ``size`` rows: the value
    ``used[u]`` at row ``rows[u]``, and pair ``i``'s at rows ``left_rows[left[i]]`` and
    ``right_rows[i]`` (-1 stays missing)."""

    left_codes: np.ndarray
    left: np.ndarray
    b: np.ndarray
    used: np.ndarray
    left_rows: np.ndarray
    right_rows: np.ndarray
    rows: np.ndarray
    size: int

    def a(self, pairs: np.ndarray) -> np.ndarray:
        """The left-side codes of ``pairs``."""
        return self.left_codes[self.left[pairs]]


#: Feature tables have a row per vocabulary code while that takes at most 64 bytes a pair plus
#: 4 MiB: a pair then reads its features by code. A larger vocabulary (millions of distinct
#: names against a small batch) gets a row per used value instead, found through a position
#: array (8 bytes a code, as for the ``seen`` marks' byte), so that no table grows with the
#: vocabulary.
TABLE_BYTES_PER_PAIR, TABLE_FLOOR_BYTES = 64, 1 << 22


def pair_codes(
    kernels: ModuleType,
    data: LinkageData,
    role: str,
    left: np.ndarray,
    right: np.ndarray,
    row_bytes: int,
) -> PairCodes:
    """The codes of ``role`` for pairs ``(left[i], right[i])``, for a feature table of
    ``row_bytes`` a row."""
    left_codes = data.left.codes[role]
    seen = np.zeros(len(data.vocabularies[role]), dtype=np.bool_)
    b = kernels.gather_codes(left_codes, data.right.codes[role], left, right, seen)
    used = np.flatnonzero(seen)
    if len(seen) * row_bytes <= TABLE_BYTES_PER_PAIR * len(left) + TABLE_FLOOR_BYTES:
        return PairCodes(left_codes, left, b, used, left_codes, b, used, len(seen))
    position = np.zeros(len(seen), dtype=np.int64)
    position[used] = np.arange(len(used))
    if len(left_codes) > 4 * len(left):
        # A register on the left (u among its own records): rows only for the records the
        # pairs use, not an expression over all nine million of them for every comparison.
        left_rows = np.full(len(left_codes), -1, dtype=np.int64)
        records = np.unique(left)
        codes = left_codes[records]
        left_rows[records] = np.where(codes >= 0, position[np.maximum(codes, 0)], -1)
    else:
        left_rows = np.where(left_codes >= 0, position[np.maximum(left_codes, 0)], -1)
    right_rows = np.where(b >= 0, position[np.maximum(b, 0)], -1)
    return PairCodes(
        left_codes,
        left,
        b,
        used,
        left_rows,
        right_rows,
        np.arange(len(used)),
        len(used),
    )


def string_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """The offsets and bytes of a string array without nulls, read in place (None for any
    other layout: the caller takes the numpy path)."""
    if not (pa.types.is_string(values.type) and values.null_count == 0):
        return None
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    return offsets, data if data is not None else np.zeros(0, dtype=np.uint8)
