"""Matchers: the base class every matcher subclasses, its registry and shared validators.

All follow scikit-learn conventions: ``__init__`` stores parameters, :meth:`fit` returns
``self``, learned state ends in ``_``, and scoring before fitting raises
:class:`NotFittedError`. Parameter errors name the parameter, what is allowed and what was
given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import numpy as np

from matchsim.comparison import ComparisonResult
from matchsim.errors import ConfigError, MatchsimError
from matchsim.records import LinkageData
from matchsim.registry import Registry

MATCHERS: Registry[Matcher] = Registry("matcher", "matcher")
# Matchers of other packages, imported when first built: the peer engines (which load their
# libraries only then) and the encoded (privacy-preserving) matcher.
MATCHERS.add_lazy("recordlinkage", "matchsim.peers.recordlinkage_matcher:RecordLinkageMatcher")
MATCHERS.add_lazy("splink", "matchsim.peers.splink_matcher:SplinkMatcher")
MATCHERS.add_lazy("bloom_dice", "matchsim.pprl.matcher:BloomDiceMatcher")


class NotFittedError(MatchsimError):
    """A matcher was asked to score before :meth:`Matcher.fit`."""


matcher = MATCHERS.register


def param_error(cls: str, param: str, allowed: str, given: object) -> ConfigError:
    """The error of a parameter ``param`` of ``cls`` that is not ``allowed``."""
    return ConfigError(f"{cls}.{param}", f"must be {allowed}. Got {given!r} instead.")


def probability(cls: str, param: str, value: object) -> float:
    """``value`` as a float, refused (naming ``cls.param``) unless a number in [0, 1]."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not 0.0 <= float(value) <= 1.0
    ):
        raise param_error(cls, param, "a number in [0, 1]", value)
    return float(value)


class Matcher:
    """Base class. ``tiered`` matchers (cascades) rank candidates by rule: a request's decision
    considers only its best tier."""

    name = "matcher"
    tiered = False
    #: Compare the address as well as the postcode by default (see default_comparisons).
    address_with_postcode = True
    #: the default decision threshold on :meth:`score`
    threshold: float = 0.5
    #: Scores from matchsim's comparison levels. When False (a peer engine such as Splink, or
    #: the encoded bloom_dice matcher), the pipeline skips matchsim's comparison stage and
    #: hands :meth:`fit` and :meth:`score` the candidate pairs (``result.left``/``right``)
    #: with no levels, and the records through ``data``; explicit comparisons are refused.
    needs_levels = True
    #: Can fit and score register partitions one at a time (on Dask workers) with the local
    #: outcome. False for matchers that need every candidate record in one process (a peer
    #: engine's database, BLIP flips drawn over the whole register, a secret key that must
    #: not be pickled): they are refused on partitions as a lookup.matcher error.
    partitionable = True

    def fit(
        self,
        result: ComparisonResult,
        data: LinkageData,
        true_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Matcher:
        return self

    def is_fitted(self) -> bool:
        """Whether :meth:`score` can run; rule-based matchers need no fitting."""
        return True

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless :meth:`is_fitted` (sklearn's convention)."""
        if not self.is_fitted():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first."
            )

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


def true_pair_mask(
    result: ComparisonResult, data: LinkageData, true_pairs: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Whether each compared pair is one of ``true_pairs`` (left rows, right rows)."""
    n_r = len(data.right)
    true_key = np.unique(true_pairs[0].astype(np.int64) * n_r + true_pairs[1])
    return np.isin(result.left.astype(np.int64) * n_r + result.right, true_key)


#: What a matcher parameter takes: a registry name, ``{"name": ..., **params}`` or an instance.
MatcherSpec: TypeAlias = "str | Mapping | Matcher"


def make_matcher(spec: MatcherSpec) -> Matcher:
    """A matcher from an instance, a registry name, or ``{"name": ..., **params}``.

    Examples
    --------
    >>> from matchsim.matchers import make_matcher
    >>> make_matcher("fellegi_sunter").describe()
    'fellegi_sunter(m=em, tf=forename+surname)'
    >>> make_matcher({"name": "weighted", "threshold": 0.9}).threshold
    0.9

    Parameters are checked when the matcher is built (``compare`` shows one fitted and scored):

    >>> make_matcher({"name": "weighted", "threshold": 2})
    Traceback (most recent call last):
    ...
    matchsim.errors.ConfigError: weighted.threshold: must be a number in [0, 1]. Got 2 instead.
    """
    if isinstance(spec, Matcher):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ConfigError("matcher", f"{spec!r} is not a matcher name or a mapping with a 'name'")
    params = dict(spec)
    return MATCHERS.create(params.pop("name"), params)
