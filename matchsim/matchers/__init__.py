"""Matchers: scores for candidate pairs, from comparison levels.

Public surface: the registry :data:`MATCHERS`, the four matchers, :func:`make_matcher`,
:data:`LIBUY_RULES` and :class:`NotFittedError`. Matchers defined in other packages (the peer
engines ``recordlinkage`` and ``splink``, see :mod:`matchsim.peers`, and the encoded
``bloom_dice``) subclass :class:`~matchsim.matchers.base.Matcher` and are declared in
:data:`MATCHERS` by name; each is imported only when first built.

Modules: ``base`` (the base class, the registry and shared validators), ``deterministic``
(the deterministic lookup and the match-key cascade), ``weighted``, ``fellegi_sunter`` and
``places`` (the place strata Fellegi-Sunter measures chance agreement in).
"""

from __future__ import annotations

from matchsim.matchers.base import (
    MATCHERS,
    Matcher,
    MatcherSpec,
    NotFittedError,
    make_matcher,
    param_error,
    probability,
    true_pair_mask,
)
from matchsim.matchers.deterministic import LIBUY_RULES, CascadeMatcher, DeterministicMatcher
from matchsim.matchers.fellegi_sunter import FellegiSunter, right_term_counts
from matchsim.matchers.weighted import WeightedMatcher

__all__ = [
    "LIBUY_RULES",
    "MATCHERS",
    "CascadeMatcher",
    "DeterministicMatcher",
    "FellegiSunter",
    "Matcher",
    "MatcherSpec",
    "NotFittedError",
    "WeightedMatcher",
    "make_matcher",
    "param_error",
    "probability",
    "right_term_counts",
    "true_pair_mask",
]
