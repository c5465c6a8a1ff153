"""Full comparison: every left record against every right record, within a limit."""

from __future__ import annotations

import numpy as np

from matchsim.blocking.base import BYTES_PER_PAIR, FULL_COMPARISON_LIMIT, Blocker, blocker
from matchsim.errors import ConfigError, PlanTooLargeError
from matchsim.records import LinkageData


@blocker("full")
class FullComparison(Blocker):
    """Every left record against every right record. Refused above ``limit`` pairs unless
    ``force`` is true, with the pair count and memory it would need.

    Parameters
    ----------
    force
        Compare every pair even above ``limit``.
    limit
        Most pairs compared without ``force`` (50 million: about the memory of a 9M register).
    """

    def __init__(self, force: bool = False, limit: int = FULL_COMPARISON_LIMIT) -> None:
        if not isinstance(force, bool):
            raise ConfigError(
                "blocking.full.force", f"must be true or false. Got {force!r} instead."
            )
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigError(
                "blocking.full.limit", f"must be a whole number >= 1. Got {limit!r} instead."
            )
        self.force, self.limit = force, limit

    def check(self, data: LinkageData) -> None:
        n = len(data.left)
        total = n * (n - 1) // 2 if data.self_join else n * len(data.right)
        if total > self.limit and not self.force:
            raise PlanTooLargeError(
                f"full comparison of {len(data.left):,} x {len(data.right):,} records is {total:,} pairs "
                f"(about {total * BYTES_PER_PAIR / 1e9:,.1f} GB for the pair indices alone); the limit is "
                f"{self.limit:,}. Use a blocking strategy, or force it (blocking: {{name: full, force: true}}).",
                pairs=total,
            )

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        self.check(data)
        return np.full(len(left_rows), len(data.right), dtype=np.int64)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.check(data)
        n_right = len(data.right)
        return np.repeat(left_rows, n_right), np.tile(np.arange(n_right), len(left_rows))

    self_pairs_once = True

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        self.check(data)
        return len(data.right) - 1 - left_rows.astype(np.int64)

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Row i against rows i+1 .. n-1 only.
        n = self.self_counts(data, left_rows)
        left = np.repeat(left_rows.astype(np.int64), n)
        first = np.repeat(left_rows + 1 - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        return left, first + np.arange(int(n.sum()))
