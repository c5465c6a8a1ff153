"""Blocking: candidate pairs, their cost before running, and how much they miss.

Public surface: the registry :data:`BLOCKERS`, :func:`make_blocker`, :func:`default_blocking`,
:func:`run_blocking` and :class:`BlockingReport`. Strategies defined in other packages
subclass :class:`~matchsim.blocking.base.Blocker` (or its key join,
:class:`~matchsim.blocking.base.KeyJoin`) and are declared in :data:`BLOCKERS` by name.

Modules: ``base`` (the base classes, the registry and the helpers strategies share), ``keys``
(exact, phonetic and cross keys), ``neighbourhood`` (sorted neighbourhood), ``minhash``,
``full``, ``union`` (multi-pass, and :func:`make_blocker`), ``default`` (the default
multi-pass blocking) and ``run`` (chunk planning, :func:`run_blocking` and its report).
"""

from __future__ import annotations

from matchsim.blocking.base import (
    BLOCKERS,
    BYTES_PER_PAIR,
    FULL_COMPARISON_LIMIT,
    Blocker,
    BlockingKeys,
    BlockingWork,
    KeyJoin,
    SortedSide,
    combine_keys,
    dedupe_pairs,
    distinct,
    oriented_pairs,
    sum_counts,
)
from matchsim.blocking.default import (
    CORE_PASSES,
    DEFAULT_PAIR_BUDGET,
    EXTRA_PASSES,
    default_blocking,
)
from matchsim.blocking.full import FullComparison
from matchsim.blocking.keys import CrossKeys, ExactKeys, PhoneticKeys
from matchsim.blocking.minhash import MinHashLSH
from matchsim.blocking.neighbourhood import SortedNeighbourhood
from matchsim.blocking.run import (
    BlockingReport,
    PairChunks,
    blocking_report,
    iter_pairs,
    pass_report,
    plan_chunks,
    run_blocking,
)
from matchsim.blocking.union import BlockingSpec, Union, make_blocker

__all__ = [
    "BLOCKERS",
    "BYTES_PER_PAIR",
    "CORE_PASSES",
    "DEFAULT_PAIR_BUDGET",
    "EXTRA_PASSES",
    "FULL_COMPARISON_LIMIT",
    "Blocker",
    "BlockingKeys",
    "BlockingReport",
    "BlockingSpec",
    "BlockingWork",
    "CrossKeys",
    "ExactKeys",
    "FullComparison",
    "KeyJoin",
    "MinHashLSH",
    "PairChunks",
    "PhoneticKeys",
    "SortedNeighbourhood",
    "SortedSide",
    "Union",
    "blocking_report",
    "combine_keys",
    "dedupe_pairs",
    "default_blocking",
    "distinct",
    "iter_pairs",
    "make_blocker",
    "oriented_pairs",
    "pass_report",
    "plan_chunks",
    "run_blocking",
    "sum_counts",
]
