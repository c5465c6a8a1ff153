"""recordlinkage's ``Index`` as a blocking strategy.

``blocking: recordlinkage`` pairs records as a recordlinkage user does: an ``Index`` with one
``block()`` per list of roles, whose pairs are unioned. Its default is the usual person-data
set-up of recordlinkage's guides, one block per field: forename, surname, date of birth and
postcode. recordlinkage builds the pairs of all left records in one go (a pandas merge per
block), so this strategy does not chunk them; for national-scale registers prefer matchsim's
own passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from matchsim.blocking.base import (
    BLOCKERS,
    BYTES_PER_PAIR,
    FULL_COMPARISON_LIMIT,
    Blocker,
    BlockingWork,
)
from matchsim.blocking.keys import ExactKeys
from matchsim.errors import ConfigError, PlanTooLargeError
from matchsim.peers.tables import require, role_lists, role_table
from matchsim.records import PEER_ROLES, LinkageData

FIELD = "blocking.recordlinkage"
#: matchsim's exact-key name of each role whose key name differs from it
_EXACT_KEY = {"date_of_birth": "dob"}
DEFAULT_BLOCKS = (("forename",), ("surname",), ("date_of_birth",), ("postcode",))


@BLOCKERS.register("recordlinkage")
class RecordLinkageIndex(Blocker):
    """The union of recordlinkage ``Index.block()`` passes, one per list of roles.

    Blocks on roles the linkage lacks are dropped; with none left the linkage is refused.

    Parameters
    ----------
    block
        One ``Index.block()`` pass per list of roles; a pair is a candidate when it agrees
        exactly on every role of some pass.
    force, limit
        As for the ``full`` blocker: refuse more than ``limit`` pairs unless ``force``.
    """

    def __init__(
        self,
        block: Sequence[Sequence[str]] = DEFAULT_BLOCKS,
        force: bool = False,
        limit: int = FULL_COMPARISON_LIMIT,
    ) -> None:
        if not isinstance(force, bool):
            raise ConfigError(f"{FIELD}.force", f"must be true or false. Got {force!r} instead.")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigError(
                f"{FIELD}.limit", f"must be a whole number >= 1. Got {limit!r} instead."
            )
        self.block = role_lists(block, f"{FIELD}.block", PEER_ROLES)
        self.force, self.limit = force, limit
        self._rl = require("recordlinkage", FIELD)

    def describe(self) -> str:
        return "recordlinkage.Index(" + ", ".join("+".join(b) for b in self.block) + ")"

    def _all_pairs(self, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
        """Every pair recordlinkage's Index yields, sorted by left row (cached per linkage)."""
        work = data.state(BlockingWork).pairs
        key = ("recordlinkage_index", self.block)
        if key in work:
            return work[key]
        blocks = [b for b in self.block if set(b) <= set(data.roles)]
        if not blocks:
            raise ConfigError(
                f"{FIELD}.block",
                f"every block needs a role this linkage lacks (roles: {', '.join(data.roles)})",
            )
        self._check_size(data, blocks)
        roles = sorted({role for b in blocks for role in b})
        frames = []
        for records in (data.left, data.right):
            frame = role_table(records, data, roles).to_pandas()
            frame.index = pd.RangeIndex(len(frame))
            frames.append(frame)
        indexer = self._rl.Index()
        for keys in blocks:
            indexer.block(left_on=list(keys), right_on=list(keys))
        pairs = indexer.index(*frames)
        left = pairs.get_level_values(0).to_numpy().astype(np.int64)
        right = pairs.get_level_values(1).to_numpy().astype(np.int64)
        order = np.lexsort((right, left))
        work[key] = (left[order], right[order])
        return work[key]

    def _check_size(self, data: LinkageData, blocks: list[tuple[str, ...]]) -> None:
        """Refuse, before recordlinkage builds them all at once, more pairs than ``limit``.

        recordlinkage merges whole tables per block, so a single-field block on a common
        forename at national scale would need tens of GB. matchsim's own exact keys count each
        block's pairs cheaply; their sum bounds the union recordlinkage would build.
        """
        every_left = np.arange(len(data.left))
        estimate = sum(
            int(
                ExactKeys([_EXACT_KEY.get(role, role) for role in b]).counts(data, every_left).sum()
            )
            for b in blocks
        )
        if estimate > self.limit and not self.force:
            raise PlanTooLargeError(
                f"recordlinkage's Index would build up to {estimate:,} pairs at once (about "
                f"{estimate * BYTES_PER_PAIR / 1e9:,.1f} GB for the pair indices alone, more in "
                f"pandas); the limit is {self.limit:,}. Use matchsim's blocking, narrower "
                "blocks, or force it (blocking: {name: recordlinkage, force: true}).",
                pairs=estimate,
            )

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        left, _ = self._all_pairs(data)
        per_left = np.bincount(left, minlength=len(data.left))
        return per_left[left_rows].astype(np.int64)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left, right = self._all_pairs(data)
        keep = np.isin(left, left_rows)
        return left[keep], right[keep]
