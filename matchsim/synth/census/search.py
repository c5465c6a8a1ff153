"""A searchsorted into a fixed cumulative distribution, through a guide table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GuidedSearch:
    """``np.searchsorted(values, u, side="right")`` for queries ``u`` in [0, 1] into a fixed
    ascending array in [0, 1], with a guide table instead of a binary search per query.

    Bucket ``j`` covers [j/K, (j+1)/K) (exact, K a power of two); the answer for any query in it
    lies between the answers for its two edges, which are stored, and is found in at most
    ``steps`` vectorised comparisons. The answers are exactly numpy's. Each step reads only
    the few values of its query's bucket, where a binary search over random queries reads
    values scattered across the whole array.
    """

    values: np.ndarray
    low: np.ndarray  # per bucket: searchsorted of its lower edge
    high: np.ndarray  # and of its upper edge
    steps: int

    BUCKETS = 1 << 16

    @classmethod
    def build(cls, values: np.ndarray) -> GuidedSearch:
        edges = np.arange(cls.BUCKETS + 2, dtype=np.float64) / cls.BUCKETS
        first = np.searchsorted(values, edges, side="right")
        low, high = first[:-1], first[1:]
        return cls(values, low, high, int((high - low).max(initial=0)))

    def search(self, u: np.ndarray) -> np.ndarray:
        bucket = np.minimum((u * self.BUCKETS).astype(np.int64), self.BUCKETS)
        idx, high = self.low[bucket], self.high[bucket]
        last = len(self.values) - 1
        for _ in range(self.steps):
            idx += (idx < high) & (self.values[np.minimum(idx, last)] <= u)
        return idx
