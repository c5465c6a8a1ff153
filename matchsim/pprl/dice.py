"""Dice coefficients of packed Bloom filters, with numpy's vectorised popcount.

``dice(a, b) = 2 |a AND b| / (|a| + |b|)``; two empty filters score 0 (nothing agrees).
Filters are uint64 words (see :mod:`matchsim.pprl.encoding`); ``np.bitwise_count`` counts
the bits of every word at once.
"""

from __future__ import annotations

import numpy as np

#: Pairs scored per chunk of :func:`dice_pairs` (two gathered word matrices per chunk).
_PAIR_CHUNK = 1 << 18


def popcounts(filters: np.ndarray) -> np.ndarray:
    """Set bits of each filter."""
    return np.bitwise_count(filters).sum(axis=1, dtype=np.int32)


def _ratio(intersection: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * intersection / np.maximum(total, 1), 0.0)


def dice_pairs(
    left: np.ndarray, right: np.ndarray, left_rows: np.ndarray, right_rows: np.ndarray
) -> np.ndarray:
    """Dice coefficient of each pair (left_rows[i], right_rows[i])."""
    count_l, count_r = popcounts(left), popcounts(right)
    out = np.empty(len(left_rows), dtype=np.float64)
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
    left: np.ndarray, right: np.ndarray, threshold: float = 0.0, block: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every left filter against every right filter: (left row, right row, Dice) of the pairs
    scoring at least ``threshold``.

    Works a block of left filters at a time, one 64-bit word column at a time, so the
    intermediate arrays stay small (block x right) and no pair matrix of words is built. Pairs
    whose popcounts alone rule out ``threshold`` (Dice <= 2 min / (|a| + |b|)) still count as
    compared; they are not skipped, so throughput figures are honest all-pairs figures.
    """
    count_l, count_r = popcounts(left), popcounts(right)
    rows_l, rows_r, scores = [], [], []
    words = left.shape[1]
    right_t = np.ascontiguousarray(right.T)
    for lo in range(0, len(left), block):
        a = left[lo : lo + block]
        shared = np.zeros((len(a), len(right)), dtype=np.uint16)
        for w in range(words):
            shared += np.bitwise_count(a[:, w, None] & right_t[w][None, :])
        dice = _ratio(shared, count_l[lo : lo + block, None] + count_r[None, :])
        i, j = np.nonzero(dice >= threshold)
        rows_l.append(i + lo)
        rows_r.append(j)
        scores.append(dice[i, j])
    if not rows_l:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    return np.concatenate(rows_l), np.concatenate(rows_r), np.concatenate(scores)
