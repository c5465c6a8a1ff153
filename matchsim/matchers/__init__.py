"""Matchers: scores for candidate pairs, from comparison levels.

Public surface: the registry :data:`MATCHERS`, the four matchers, :func:`make_matcher`,
:data:`LIBUY_RULES` and :class:`NotFittedError`. The peer engines (``recordlinkage``,
``splink``, see :mod:`matchsim.peers`) register themselves here too; their libraries are
imported only when one is built.
"""

from __future__ import annotations

from matchsim.matchers.matchers import (
    LIBUY_RULES,
    MATCHERS,
    CascadeMatcher,
    DeterministicMatcher,
    FellegiSunter,
    Matcher,
    NotFittedError,
    WeightedMatcher,
    make_matcher,
)

__all__ = [
    "LIBUY_RULES",
    "MATCHERS",
    "CascadeMatcher",
    "DeterministicMatcher",
    "FellegiSunter",
    "Matcher",
    "NotFittedError",
    "WeightedMatcher",
    "make_matcher",
]

# Matchers defined elsewhere register themselves on import: the peer engines (their libraries
# load only when one is built) and the encoded (privacy-preserving) matcher.
import matchsim.peers
import matchsim.pprl.matcher  # noqa: F401
