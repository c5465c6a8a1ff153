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

# Registers the peer engines' matchers (their libraries load only when one is built).
import matchsim.peers  # isort: skip

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

# The encoded (privacy-preserving) matcher registers itself on import.
import matchsim.pprl.matcher  # noqa: F401
