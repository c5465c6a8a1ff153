"""Compiled loops of the attacks (numba), imported only when an attack runs: registering the
scenario schema must not load numba (tests/test_imports.py)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=False, nogil=True)
def best_candidates(filter_sets, value_sets, value_sizes, value_rank):  # pragma: no cover
    """For each filter's q-gram bitset, the value whose q-gram bitset it contains with the
    most q-grams (ties: the lowest rank, i.e. the commonest value); -1 when none."""
    out = np.full(filter_sets.shape[0], -1, dtype=np.int64)
    words = filter_sets.shape[1]
    for i in range(filter_sets.shape[0]):
        best, best_size, best_rank = -1, 0, 1 << 62
        for v in range(value_sets.shape[0]):
            size = value_sizes[v]
            if size < best_size or (size == best_size and value_rank[v] >= best_rank):
                continue
            ok = True
            for w in range(words):
                if value_sets[v, w] & ~filter_sets[i, w]:
                    ok = False
                    break
            if ok:
                best, best_size, best_rank = v, size, value_rank[v]
        out[i] = best
    return out


@njit(cache=False, nogil=True)
def greedy_matching(order, n_left, n_right, width):  # pragma: no cover
    """One-to-one matching from pairs sorted by distance (flat index = i * width + j)."""
    left = np.full(n_left, -1, dtype=np.int64)
    used = np.zeros(n_right, dtype=np.bool_)
    matched = 0
    for flat in order:
        i, j = flat // width, flat % width
        if left[i] < 0 and not used[j]:
            left[i] = j
            used[j] = True
            matched += 1
            if matched == min(n_left, n_right):
                break
    return left


@njit(cache=False, nogil=True)
def masked_counts(columns, rows):  # pragma: no cover
    """Per bit position, the records in ``rows`` (a row bitset) with the position set:
    ``columns`` are (row words x positions) column bitsets."""
    out = np.zeros(columns.shape[1], dtype=np.int64)
    m1 = np.uint64(0x5555555555555555)
    m2 = np.uint64(0x3333333333333333)
    m4 = np.uint64(0x0F0F0F0F0F0F0F0F)
    h01 = np.uint64(0x0101010101010101)
    for w in range(columns.shape[0]):
        mask = rows[w]
        if mask == 0:
            continue
        for p in range(columns.shape[1]):
            x = columns[w, p] & mask
            if x == 0:
                continue
            x = x - ((x >> np.uint64(1)) & m1)
            x = (x & m2) + ((x >> np.uint64(2)) & m2)
            x = (x + (x >> np.uint64(4))) & m4
            out[p] += np.int64((x * h01) >> np.uint64(56))
    return out
