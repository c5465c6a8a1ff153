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

from matchsim.blocking.strategies import BLOCKERS, Blocker
from matchsim.errors import ConfigError
from matchsim.peers.tables import require, role_table
from matchsim.records import LinkageData

FIELD = "blocking.recordlinkage"
BLOCKABLE = ("forename", "surname", "date_of_birth", "postcode", "address", "sex")
DEFAULT_BLOCKS = (("forename",), ("surname",), ("date_of_birth",), ("postcode",))


@BLOCKERS.register("recordlinkage")
class RecordLinkageIndex(Blocker):
    """The union of recordlinkage ``Index.block()`` passes, one per list of roles.

    Blocks on roles the linkage lacks are dropped; with none left the linkage is refused.
    """

    def __init__(self, block: Sequence[Sequence[str]] = DEFAULT_BLOCKS) -> None:
        if (
            not isinstance(block, list | tuple)
            or not block
            or any(not isinstance(b, list | tuple) or not b for b in block)
        ):
            raise ConfigError(
                f"{FIELD}.block", f"must be a non-empty list of role lists. Got {block!r} instead."
            )
        for keys in block:
            for role in keys:
                if role not in BLOCKABLE:
                    raise ConfigError(
                        f"{FIELD}.block",
                        f"{role!r} is not a role; roles are {', '.join(BLOCKABLE)}",
                    )
        self.block = tuple(tuple(b) for b in block)
        self._rl = require("recordlinkage", FIELD)

    def describe(self) -> str:
        return "recordlinkage.Index(" + ", ".join("+".join(b) for b in self.block) + ")"

    def _all_pairs(self, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
        """Every pair recordlinkage's Index yields, sorted by left row (cached per linkage)."""
        key = ("recordlinkage_index", self.block)
        if key in data.cache:
            return data.cache[key]  # type: ignore[return-value]
        blocks = [b for b in self.block if set(b) <= set(data.roles)]
        if not blocks:
            raise ConfigError(
                f"{FIELD}.block",
                f"every block needs a role this linkage lacks (roles: {', '.join(data.roles)})",
            )
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
        data.cache[key] = (left[order], right[order])
        return data.cache[key]  # type: ignore[return-value]

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        left, _ = self._all_pairs(data)
        per_left = np.bincount(left, minlength=len(data.left))
        return per_left[left_rows].astype(np.int64)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left, right = self._all_pairs(data)
        keep = np.isin(left, left_rows)
        return left[keep], right[keep]
