"""recordlinkage (the Python Record Linkage Toolkit) as a matcher.

Its ``Compare`` builds one feature per role on the candidate pairs, and one of its classifiers
turns the features into a match probability: the unsupervised ``ECMClassifier`` (Fellegi-Sunter
fitted by expectation-conditional maximisation) or, when the true links are given, the supervised
``LogisticRegressionClassifier``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from matchsim.comparison import ComparisonResult
from matchsim.errors import ConfigError, MatchsimError
from matchsim.matchers.base import MATCHERS, Matcher, probability, true_pair_mask
from matchsim.peers.tables import peer_roles, require, role_table
from matchsim.records import LinkageData

CLASSIFIERS = ("ecm", "logistic")
FIELD = "matcher.recordlinkage"


@MATCHERS.register("recordlinkage")
class RecordLinkageMatcher(Matcher):
    """recordlinkage's ``Compare`` and ``ECMClassifier`` (or ``LogisticRegressionClassifier``).

    Features, as recordlinkage's guides write them for person data: Jaro-Winkler similarity
    at or above ``string_threshold`` on forename and surname, Levenshtein similarity at or
    above it on the address line, exact agreement on date of birth, postcode and sex. Each is
    0 or 1 (missing counts as disagreement, recordlinkage's default).

    Parameters
    ----------
    classifier
        ``"ecm"`` (unsupervised) or ``"logistic"`` (supervised: needs the true links, e.g.
        ``link_tables(..., true_links=..., fit_true_links=True)``).
    threshold
        Match probability at or above which a pair is a match (recordlinkage's own cut: 0.5).
    string_threshold
        Similarity in (0, 1] at which a name or address counts as agreeing.
    """

    needs_levels = False
    partitionable = False

    def __init__(
        self,
        classifier: str = "ecm",
        threshold: float = 0.5,
        # recordlinkage's FEBRL4 guide "Link two datasets" compares surname (Jaro-Winkler)
        # and address_1 at threshold=0.85 (docs/guides/link_two_dataframes.rst in
        # https://github.com/J535D165/recordlinkage).
        string_threshold: float = 0.85,
    ) -> None:
        if classifier not in CLASSIFIERS:
            raise ConfigError(
                f"{FIELD}.classifier",
                f"must be one of {', '.join(CLASSIFIERS)}. Got {classifier!r} instead.",
            )
        self.classifier = classifier
        self.threshold = probability("recordlinkage", "threshold", threshold)
        if (
            isinstance(string_threshold, bool)
            or not isinstance(string_threshold, int | float)
            or not 0 < string_threshold <= 1
        ):
            raise ConfigError(
                f"{FIELD}.string_threshold",
                f"must be a number in (0, 1]. Got {string_threshold!r} instead.",
            )
        self.string_threshold = float(string_threshold)
        self._rl = require("recordlinkage", FIELD)

    def describe(self) -> str:
        return f"recordlinkage({self.classifier})"

    # -- features ---------------------------------------------------------------------------

    def compare(self, result: ComparisonResult, data: LinkageData) -> pd.DataFrame:
        """recordlinkage's feature vectors of the candidate pairs, one row per pair, in order."""
        roles = peer_roles(data, address_with_postcode=True)
        if not roles:
            raise ConfigError(FIELD, "the linkage has no role recordlinkage can compare")
        compare = self._rl.Compare()
        for role in roles:
            if role in ("forename", "surname"):
                compare.string(
                    role, role, method="jarowinkler", threshold=self.string_threshold, label=role
                )
            elif role == "address":
                compare.string(
                    role, role, method="levenshtein", threshold=self.string_threshold, label=role
                )
            else:
                compare.exact(role, role, label=role)
        pairs = pd.MultiIndex.from_arrays([result.left, result.right], names=["left", "right"])
        features = compare.compute(
            pairs,
            _frame(data.left, data, roles, result.left),
            _frame(data.right, data, roles, result.right),
        )
        # compute() keeps the pairs' order; reindex guards that contract.
        return features.reindex(pairs)

    # -- fitting and scoring ------------------------------------------------------------------

    def fit(
        self,
        result: ComparisonResult,
        data: LinkageData,
        true_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> RecordLinkageMatcher:
        features = self.compare(result, data)
        if self.classifier == "logistic":
            if true_pairs is None:
                raise ConfigError(
                    f"{FIELD}.classifier",
                    "'logistic' is supervised and needs the true links "
                    "(link_tables(..., true_links=..., fit_true_links=True)); use 'ecm' without them",
                )
            is_true = true_pair_mask(result, data, true_pairs)
            if is_true.all() or not is_true.any():
                raise ConfigError(
                    f"{FIELD}.classifier",
                    "'logistic' needs candidate pairs that are true links and pairs that are not",
                )
            model = self._rl.LogisticRegressionClassifier()
            model.fit(features, features.index[is_true])
        else:
            # The features are 0/1 already; binarize at recordlinkage's usual 0.8 changes nothing.
            model = self._rl.ECMClassifier(binarize=0.8)
            # A fitted probability of exactly 0 makes ECM log 0 while fitting (see _ecm_posterior).
            with np.errstate(divide="ignore", invalid="ignore"):
                model.fit(features)
        self.model_ = model
        self.features_ = features.columns.tolist()
        # The fitting pairs and their features, for the first score; None once scored.
        self._last: tuple[ComparisonResult, Any] | None = (result, features)
        return self

    def is_fitted(self) -> bool:
        return hasattr(self, "model_")

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        """recordlinkage's match probability of each pair."""
        self.check_fitted()
        cached = getattr(self, "_last", None)
        features = cached[1] if cached is not None and cached[0] is result else None
        self._last = None  # score once per fit from the cache; never keep the pairs around
        if features is None:
            features = self.compare(result, data)
        if features.columns.tolist() != self.features_:
            raise ConfigError(FIELD, "score linkages with the roles the model was fitted on")
        if self.classifier == "ecm":
            probability = _ecm_posterior(self.model_, features)
        else:
            probability = np.asarray(self.model_.prob(features), dtype=np.float64)
        if np.isnan(probability).any():
            raise MatchsimError(
                f"{FIELD}: the {self.classifier} classifier gave no probability for some pairs"
            )
        return probability

    def parameters(self) -> list[dict[str, Any]]:
        """m and u of each feature (ECM), or its coefficient (logistic), as rows."""
        self.check_fitted()
        if self.classifier == "logistic":
            coefficients = np.ravel(self.model_.coefficients)
            return [
                {"feature": f, "coefficient": float(c)}
                for f, c in zip(self.features_, coefficients, strict=True)
            ]
        m, u = self.model_.m_probs, self.model_.u_probs
        return [
            {"feature": f, "agrees": int(v), "m": float(m[f][v]), "u": float(u[f][v])}
            for f in self.features_
            for v in sorted(m[f])
        ]


def _ecm_posterior(model: Any, features: pd.DataFrame) -> np.ndarray:
    """P(match | features) from the ECM's fitted m, u and match share.

    The same posterior as ``ECMClassifier.prob``, which gives NaN for every pair once a fitted
    probability is exactly 0 (it multiplies 0 by log 0); here a zero-probability value only
    rules out the class for the pairs that have that value.
    """
    log_m = np.zeros(len(features))
    log_u = np.zeros(len(features))
    with np.errstate(divide="ignore"):
        for column in features.columns:
            values = features[column].to_numpy()
            for value, m in model.m_probs[column].items():
                at = values == value
                log_m[at] += np.log(m)
                log_u[at] += np.log(model.u_probs[column][value])
        match = np.log(model.p) + log_m
        non_match = np.log1p(-model.p) + log_u
    total = np.logaddexp(match, non_match)
    with np.errstate(invalid="ignore"):
        posterior = np.exp(match - total)
    # Both classes impossible (a value neither was seen with): no evidence of a match.
    return np.where(np.isfinite(total), posterior, 0.0)


def _frame(records: Any, data: LinkageData, roles: list[str], rows: np.ndarray) -> pd.DataFrame:
    """The records the pairs touch, indexed by row, as recordlinkage takes them."""
    needed = np.unique(rows)
    frame = role_table(records, data, roles, needed).to_pandas()
    frame.index = pd.Index(needed, name="row")
    return frame
