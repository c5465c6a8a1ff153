"""A weighted fuzzy score: comparison levels scored and weighted, against a threshold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from matchsim.comparison import ComparisonResult
from matchsim.errors import ConfigError
from matchsim.matchers.base import Matcher, matcher, param_error, probability
from matchsim.records import LinkageData


@matcher("weighted")
class WeightedMatcher(Matcher):
    """A weighted mean of per-comparison agreement scores, against a threshold.

    Each level scores from 1 (strongest) falling evenly to 0 (``else``); ``missing`` scores
    ``missing_score``. ``weights`` default to forename 1, surname 1.5, date of birth 2,
    postcode 1, address 0.5, sex 0.25 (an assumption: the fields' usual discriminating power).

    Parameters
    ----------
    weights
        Weight of each comparison, by name (default above).
    threshold
        Weighted mean score at or above which a pair is a match, in [0, 1].
    missing_score
        Score of a comparison where either value is missing, in [0, 1].
    """

    DEFAULT_WEIGHTS: ClassVar[dict[str, float]] = {
        "forename": 1.0,
        "surname": 1.5,
        "date_of_birth": 2.0,
        "postcode": 1.0,
        "address": 0.5,
        "sex": 0.25,
        "middle_names": 0.5,
    }

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        threshold: float = 0.8,
        missing_score: float = 0.5,
    ) -> None:
        if weights is not None and not isinstance(weights, Mapping):
            raise param_error(
                "weighted", "weights", "a mapping of comparison name to weight", weights
            )
        self.weights = dict(weights) if weights is not None else None
        if self.weights is not None:
            for k, w in self.weights.items():
                if not isinstance(w, int | float) or w < 0:
                    raise param_error("weighted", f"weights.{k}", "a number >= 0", w)
        self.threshold = probability("weighted", "threshold", threshold)
        self.missing_score = probability("weighted", "missing_score", missing_score)

    def _level_scores(
        self, result: ComparisonResult
    ) -> tuple[list[tuple[int, float, np.ndarray]], float]:
        """(comparison index, weight, score of each level) of the weighted comparisons, and
        the total weight."""
        weights = self.weights if self.weights is not None else self.DEFAULT_WEIGHTS
        out = []
        for i, c in enumerate(result.comparisons):
            w = float(weights.get(c.name, 0.0))
            if w == 0:
                continue
            n = c.n_levels
            # level k (1..n-1): 1 at the strongest, 0 at else
            per_level = np.r_[self.missing_score, 1.0 - (np.arange(1, n) - 1) / max(n - 2, 1)]
            out.append((i, w, per_level))
        denom = sum(w for _, w, _ in out)
        if denom == 0:
            raise ConfigError("matcher.weighted.weights", "no comparison has a positive weight")
        return out, denom

    def score_terms(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        """What each comparison adds to each pair's score: ``terms[p, i]`` is comparison
        ``i``'s weight times its level's score over the total weight, so a row sums to the
        pair's :meth:`score` (up to rounding)."""
        terms = np.zeros((len(result.left), len(result.comparisons)))
        levels, denom = self._level_scores(result)
        for i, w, per_level in levels:
            terms[:, i] = w * per_level[result.levels[:, i]] / denom
        return terms

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        total = np.zeros(len(result.left))
        levels, denom = self._level_scores(result)
        for i, w, per_level in levels:
            total += w * per_level[result.levels[:, i]]
        return total / denom
