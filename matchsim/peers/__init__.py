"""Peer record-linkage engines as matchsim matchers: recordlinkage and Splink.

Each peer scores the pipeline's candidate pairs with its *own* comparisons and model, written
as a user of that library writes them (see ``docs/peers.md`` for the role -> comparison
mapping), so one scenario can put matchsim's matchers and the peers side by side on the same
requests, the same candidate pairs and the same ground truth.

Both are declared in :data:`matchsim.matchers.MATCHERS` (``recordlinkage``, ``splink``), and
recordlinkage's ``Index`` in :data:`matchsim.blocking.BLOCKERS` (``recordlinkage``), by name:
these modules are imported only when one is built, and listed whether or not the libraries
are installed; building one without them raises a one-line
:class:`~matchsim.errors.ConfigError` naming what to install (``pip install 'matchsim[peers]'``).
"""

from __future__ import annotations

from matchsim.peers.recordlinkage_index import RecordLinkageIndex
from matchsim.peers.recordlinkage_matcher import RecordLinkageMatcher
from matchsim.peers.splink_matcher import SplinkMatcher
from matchsim.peers.tables import PEERS_EXTRA, require, role_table

__all__ = [
    "PEERS_EXTRA",
    "RecordLinkageIndex",
    "RecordLinkageMatcher",
    "SplinkMatcher",
    "require",
    "role_table",
]
