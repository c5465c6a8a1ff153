"""Calibration of match probabilities: a reliability diagram and the expected calibration error.

A matcher's score is calibrated when, among the pairs it scores near p, a share p are true.
:func:`reliability` bins the scores, counts the true pairs in each bin, and gives each bin's
share true with its Wilson interval, so that a reader can see whether the share lies within
its interval around the bin's mean score. The expected calibration error (ECE, Naeini et al.,
AAAI 2015) is the mean, weighted by pairs, of |mean score - share true| over the bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matchsim.errors import ConfigError
from matchsim.evaluation.intervals import wilson_intervals

__all__ = ["Reliability", "reliability"]


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram: one row per non-empty bin of score."""

    low: np.ndarray  # bin edges (the last bin includes 1.0)
    high: np.ndarray
    pairs: np.ndarray  # pairs scored in the bin
    true: np.ndarray  # of which true
    mean_score: np.ndarray
    share_true: np.ndarray
    share_low: np.ndarray  # Wilson interval of share_true
    share_high: np.ndarray
    #: expected calibration error: sum over bins of pairs/total * |mean_score - share_true|
    ece: float
    #: the same, over the pairs scored at least 0.5 only (the pairs a decision looks at)
    ece_upper: float

    @property
    def within(self) -> np.ndarray:
        """Whether each bin's mean score lies within its share-true interval."""
        return (self.mean_score >= self.share_low) & (self.mean_score <= self.share_high)

    def rows(self) -> list[dict[str, float | int | bool]]:
        """The bins as rows (for tables and JSON)."""
        return [
            {
                "low": float(self.low[i]),
                "high": float(self.high[i]),
                "pairs": int(self.pairs[i]),
                "true": int(self.true[i]),
                "mean_score": float(self.mean_score[i]),
                "share_true": float(self.share_true[i]),
                "share_low": float(self.share_low[i]),
                "share_high": float(self.share_high[i]),
                "within": bool(self.within[i]),
            }
            for i in range(len(self.pairs))
        ]


def reliability(
    scores: npt.ArrayLike, is_true: npt.ArrayLike, bins: int = 10, confidence: float = 0.95
) -> Reliability:
    """Bin ``scores`` (probabilities in [0, 1]) into ``bins`` equal-width bins and compare each
    bin's mean score with the share of its pairs that are true (``is_true``).

    Examples
    --------
    >>> r = reliability([0.05, 0.1, 0.9, 0.95], [False, False, True, True], bins=2)
    >>> r.pairs.tolist(), r.share_true.tolist(), round(r.ece, 3)
    ([2, 2], [0.0, 1.0], 0.075)
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(is_true)
    if s.ndim != 1 or t.shape != s.shape:
        raise ConfigError("is_true", f"needs one flag per score: {t.shape} against {s.shape}")
    if t.dtype != np.bool_:
        if not np.isin(t, (0, 1)).all():
            raise ConfigError("is_true", "must hold true/false (or 0/1) flags")
        t = t.astype(bool)
    if len(s) and (not np.isfinite(s).all() or s.min() < 0 or s.max() > 1):
        raise ConfigError("scores", "must be probabilities in [0, 1]; rank scores cannot be binned")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ConfigError("bins", f"must be a whole number >= 1. Got {bins!r} instead.")
    which = np.minimum((s * bins).astype(np.int64), bins - 1)
    pairs = np.bincount(which, minlength=bins)
    true = np.bincount(which, weights=t, minlength=bins).astype(np.int64)
    total = np.bincount(which, weights=s, minlength=bins)
    keep = pairs > 0
    edges = np.arange(bins) / bins
    mean = total[keep] / pairs[keep]
    share = true[keep] / pairs[keep]
    low, high = wilson_intervals(true[keep], pairs[keep], confidence)
    gap = np.abs(mean - share) * pairs[keep]
    upper = edges[keep] >= 0.5
    n_upper = int(pairs[keep][upper].sum())
    return Reliability(
        low=edges[keep],
        high=edges[keep] + 1.0 / bins,
        pairs=pairs[keep],
        true=true[keep],
        mean_score=mean,
        share_true=share,
        share_low=low,
        share_high=high,
        ece=float(gap.sum() / len(s)) if len(s) else 0.0,
        ece_upper=float(gap[upper].sum() / n_upper) if n_upper else 0.0,
    )
