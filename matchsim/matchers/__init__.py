"""Matchers: scores for candidate pairs, from comparison levels.

Public surface: the registry :data:`MATCHERS`, the four matchers, :func:`make_matcher`,
:data:`LIBUY_RULES` and :class:`NotFittedError`. The peer engines (``recordlinkage``,
``splink``, see :mod:`matchsim.peers`) and the encoded matcher (``bloom_dice``) are declared in
the registry and imported only when one is built.
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
