"""Compiled clustering kernels (numba), loaded only when a clustering runs.

Both are sequential scans that numpy cannot express without a per-pair Python loop: a
union-find over the matched pairs, and a greedy pass over pairs in score order.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def component_roots(n, left, right):  # pragma: no cover
    """Union-find with path halving; each component's root is its smallest row."""
    parent = np.arange(n)
    for k in range(left.shape[0]):
        a = left[k]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        b = right[k]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    # A root is the smallest row of its component, so a row's parent chain only visits
    # smaller rows, whose roots are already final: one forward pass resolves every row.
    for i in range(n):
        parent[i] = parent[parent[i]]
    return parent


@njit(nogil=True, cache=True)
def greedy_one_to_one(order, left, right, n_left, n_right, shared):  # pragma: no cover
    """Pairs kept, in ``order``, when neither record is used yet (one table if ``shared``)."""
    used_left = np.zeros(n_left, dtype=np.bool_)
    used_right = used_left if shared else np.zeros(n_right, dtype=np.bool_)
    keep = np.zeros(left.shape[0], dtype=np.bool_)
    for k in order:
        a, b = left[k], right[k]
        if not used_left[a] and not used_right[b] and not (shared and a == b):
            used_left[a] = True
            used_right[b] = True
            keep[k] = True
    return keep
