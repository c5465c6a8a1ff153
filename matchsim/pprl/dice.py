"""Dice coefficients of packed Bloom filters.

``dice(a, b) = 2 |a AND b| / (|a| + |b|)``; two empty filters score 0 (nothing agrees).
Filters are uint64 words (see :mod:`matchsim.pprl.encoding`). With numba installed the
kernels of :mod:`matchsim.pprl.kernels` run (POPCNT, no temporaries); without it numpy's
vectorised ``np.bitwise_count``. ``kernel`` chooses: ``auto``, ``numba`` or ``numpy``.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from matchsim.errors import ConfigError

#: Pairs scored per chunk of :func:`dice_pairs` (two gathered word matrices per chunk).
_PAIR_CHUNK = 1 << 18


KERNELS = ("auto", "numba", "numpy")

#: Default Dice coefficient at which two CLKs count as a match (the bloom_dice matcher and the
#: scenario's privacy.threshold). Source: clkhash's API tutorial, matching FEBRL4 CLKs with
#: anonlink (https://github.com/data61/clkhash, docs/tutorial_api.ipynb): at Dice 0.9 recall
#: is 0.812; at 0.8 precision is 1.000 and recall 0.993. Tune it per encoding: hardening
#: such as balancing shifts every pair's Dice.
DICE_THRESHOLD = 0.8

HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def use_numba(kernel: str) -> bool:
    """Whether ``kernel`` (one of :data:`KERNELS`) runs the numba kernels: ``auto`` when numba
    is installed; a ConfigError for an unknown kernel or ``numba`` without numba."""
    if kernel not in KERNELS:
        raise ConfigError("kernel", f"{kernel!r} is not allowed; allowed: {', '.join(KERNELS)}")
    if kernel == "numba" and not HAVE_NUMBA:
        raise ConfigError("kernel", "numba is not installed (pip install numba)")
    return kernel == "numba" or (kernel == "auto" and HAVE_NUMBA)


def popcounts(filters: np.ndarray) -> np.ndarray:
    """Set bits of each filter."""
    return np.bitwise_count(filters).sum(axis=1, dtype=np.int32)


def _ratio(intersection: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * intersection / np.maximum(total, 1), 0.0)


def dice_pairs(
    left: np.ndarray,
    right: np.ndarray,
    left_rows: np.ndarray,
    right_rows: np.ndarray,
    kernel: str = "auto",
) -> np.ndarray:
    """Dice coefficient of each pair (left_rows[i], right_rows[i]).

    Examples
    --------
    Filters are rows of 64-bit words (here one word each); the first pair shares 3 of 4 + 3
    set bits, 2*3/7:

    >>> import numpy as np
    >>> left = np.array([[0b1111]], dtype=np.uint64)
    >>> right = np.array([[0b0111], [0b1100_0000]], dtype=np.uint64)
    >>> dice_pairs(left, right, np.array([0, 0]), np.array([0, 1])).round(4).tolist()
    [0.8571, 0.0]
    """
    count_l, count_r = popcounts(left), popcounts(right)
    out = np.empty(len(left_rows), dtype=np.float64)
    if use_numba(kernel):
        from matchsim.pprl.kernels import dice_pairs_kernel

        dice_pairs_kernel(
            np.ascontiguousarray(left),
            np.ascontiguousarray(right),
            count_l.astype(np.int64),
            count_r.astype(np.int64),
            np.asarray(left_rows, dtype=np.int64),
            np.asarray(right_rows, dtype=np.int64),
            out,
        )
        return out
    for lo in range(0, len(left_rows), _PAIR_CHUNK):
        li, ri = left_rows[lo : lo + _PAIR_CHUNK], right_rows[lo : lo + _PAIR_CHUNK]
        words = np.take(left, li, axis=0)  # np.take: faster than fancy indexing here
        words &= np.take(right, ri, axis=0)
        counts = np.bitwise_count(words)
        # Column by column: numpy's reduction over a 16-wide inner axis is far slower.
        shared = counts[:, 0].astype(np.int32)
        for w in range(1, counts.shape[1]):
            shared += counts[:, w]
        out[lo : lo + len(li)] = _ratio(shared, count_l[li] + count_r[ri])
    return out


def dice_all_pairs(
    left: np.ndarray,
    right: np.ndarray,
    threshold: float = 0.0,
    block: int = 16,
    segment: int = 4096,
    kernel: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every left filter against every right filter: (left row, right row, Dice) of the pairs
    scoring at least ``threshold``.

    Works on a tile of ``block`` left x ``segment`` right filters at a time, one 64-bit word
    at a time, into preallocated buffers that stay in cache (AND, popcount, accumulate: three
    passes per word). Every pair is computed: none is skipped by popcount bounds, so
    throughput figures are honest all-pairs figures.
    """
    count_l, count_r = popcounts(left), popcounts(right)
    if use_numba(kernel):
        return _all_pairs_numba(left, right, count_l, count_r, threshold)
    right_t = np.ascontiguousarray(right.T)
    words = left.shape[1]
    and_buf = np.empty((block, segment), dtype=np.uint64)
    count_buf = np.empty((block, segment), dtype=np.uint8)
    shared_buf = np.empty((block, segment), dtype=np.uint16)
    rows_l, rows_r, scores = [], [], []
    for r0 in range(0, len(right), segment):
        tile_r = right_t[:, r0 : r0 + segment]
        m = tile_r.shape[1]
        for l0 in range(0, len(left), block):
            a = left[l0 : l0 + block]
            b = len(a)
            both, counted, shared = and_buf[:b, :m], count_buf[:b, :m], shared_buf[:b, :m]
            shared[...] = 0
            for w in range(words):
                np.bitwise_and(a[:, w, None], tile_r[w][None, :], out=both)
                np.bitwise_count(both, out=counted)
                np.add(shared, counted, out=shared)
            dice = _ratio(shared, count_l[l0 : l0 + b, None] + count_r[None, r0 : r0 + m])
            i, j = np.nonzero(dice >= threshold)
            rows_l.append(i + l0)
            rows_r.append(j + r0)
            scores.append(dice[i, j])
    if not rows_l:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    order_l, order_r = np.concatenate(rows_l), np.concatenate(rows_r)
    order = np.lexsort((order_r, order_l))
    return order_l[order], order_r[order], np.concatenate(scores)[order]


def _all_pairs_numba(
    left: np.ndarray, right: np.ndarray, count_l: np.ndarray, count_r: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from matchsim.pprl.kernels import dice_all_pairs_kernel

    args = (
        np.ascontiguousarray(left),
        np.ascontiguousarray(right),
        count_l.astype(np.int64),
        count_r.astype(np.int64),
        float(threshold),
    )
    capacity = max(1024, 4 * (len(left) + len(right)))
    while True:
        out_l, out_r = np.empty(capacity, np.int64), np.empty(capacity, np.int64)
        out_score = np.empty(capacity)
        found = dice_all_pairs_kernel(*args, out_l, out_r, out_score)
        if found <= capacity:
            return out_l[:found], out_r[:found], out_score[:found]
        capacity = found  # rare: many pairs over the threshold; run again with room for all
