"""Compiled Dice kernels (numba, a dependency of matchsim; numpy is the fallback without it).

Why compiled code: numpy needs three passes over memory per 64-bit word (AND, popcount,
accumulate), which caps all-pairs Dice at roughly a third of anonlink's C++ kernel. numba
compiles the loop to the CPU's POPCNT instruction (LLVM ``ctpop``) with no temporary
arrays. :mod:`matchsim.pprl.dice` falls back to numpy without numba; both are tested
against the same naive reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _popcount(typingctx, word):
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(nogil=True, cache=False)
def dice_pairs_kernel(left, right, count_l, count_r, rows_l, rows_r, out):  # pragma: no cover
    words = left.shape[1]
    for p in range(rows_l.shape[0]):
        i, j = rows_l[p], rows_r[p]
        shared = 0
        for w in range(words):
            shared += _popcount(left[i, w] & right[j, w])
        total = count_l[i] + count_r[j]
        out[p] = 2.0 * shared / total if total > 0 else 0.0


@njit(nogil=True, cache=False)
def dice_all_pairs_kernel(
    left, right, count_l, count_r, threshold, out_l, out_r, out_score
):  # pragma: no cover
    """Pairs at or above ``threshold`` into the out arrays; returns how many there were
    (more than the arrays hold means: call again with larger arrays)."""
    words = left.shape[1]
    found = 0
    capacity = out_l.shape[0]
    for i in range(left.shape[0]):
        for j in range(right.shape[0]):
            shared = 0
            for w in range(words):
                shared += _popcount(left[i, w] & right[j, w])
            total = count_l[i] + count_r[j]
            score = 2.0 * shared / total if total > 0 else 0.0
            if score >= threshold:
                if found < capacity:
                    out_l[found] = i
                    out_r[found] = j
                    out_score[found] = score
                found += 1
    return found


def warm() -> None:
    """Compile both kernels on tiny inputs (about a second, once per process)."""
    one = np.zeros((1, 1), dtype=np.uint64)
    counts = np.zeros(1, dtype=np.int64)
    rows = np.zeros(1, dtype=np.int64)
    dice_pairs_kernel(one, one, counts, counts, rows, rows, np.zeros(1))
    dice_all_pairs_kernel(one, one, counts, counts, 0.5, rows.copy(), rows.copy(), np.zeros(1))
