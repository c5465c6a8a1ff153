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
