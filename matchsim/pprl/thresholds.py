"""Dice thresholds chosen by one rule for every encoding setting, so that settings compare fairly.

One threshold for all settings misjudges hardening that shifts Dice (balancing sets half the
bits, so unrelated records score higher; diffusion and BLIP lower true matches' Dice). Two
rules, applied to the scored candidate pairs of each setting:

* ``oracle`` — the threshold with the best pair F1 against the ground truth. Only a
  simulation has the truth: it is the best any threshold could do, labelled as such.
* ``unsupervised`` — Otsu's threshold (Otsu 1979, "A threshold selection method from
  gray-level histograms"): the cut of the candidate pairs' Dice histogram that maximises the
  between-class variance, i.e. the valley between non-matches and matches. A data holder
  without labels can apply it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Histogram bins of Otsu's method over Dice in [0, 1].
OTSU_BINS = 200


def otsu_threshold(scores: np.ndarray, bins: int = OTSU_BINS) -> float:
    """The cut of ``scores`` in [0, 1] maximising the between-class variance (Otsu 1979)."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return 1.0
    hist, edges = np.histogram(scores, bins=bins, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    total = weight[-1]
    mass = np.cumsum(hist * centres)
    w0 = weight[:-1]
    w1 = total - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = mass[:-1] / w0
        mu1 = (mass[-1] - mass[:-1]) / w1
        between = w0 * w1 * (mu0 - mu1) ** 2
    between = np.where((w0 > 0) & (w1 > 0), between, -1.0)
    return float(edges[1:][int(np.argmax(between))])


def pair_quality(
    scores: np.ndarray, is_true: np.ndarray, true_total: int, threshold: float
) -> dict[str, float]:
    """Precision, recall and F1 of the pairs scoring at least ``threshold``."""
    chosen = scores >= threshold
    tp = int((chosen & is_true).sum())
    fp = int(chosen.sum()) - tp
    fn = true_total - tp
    return {
        "threshold": float(threshold),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / true_total if true_total else 1.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 1.0,
    }


def choose_thresholds(pairs: pd.DataFrame, true_links: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Quality at the oracle and the unsupervised threshold of scored candidate pairs.

    ``pairs`` has ``left_id``, ``right_id`` and ``score``; ``true_links`` the true
    ``(left id, right id)`` pairs (first two columns). True links blocking missed count as
    missed at every threshold.
    """
    truth = pd.DataFrame(
        {"left_id": true_links.iloc[:, 0].to_numpy(), "right_id": true_links.iloc[:, 1].to_numpy()}
    ).drop_duplicates()
    marked = pairs[["left_id", "right_id", "score"]].merge(
        truth.assign(_true=True), on=["left_id", "right_id"], how="left"
    )
    scores = marked["score"].to_numpy(np.float64)
    is_true = marked["_true"].fillna(False).to_numpy(bool)
    total = len(truth)
    # Best F1 over every distinct score as the cut (sorted once, cumulative counts).
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(is_true[order])
    fp = np.arange(1, len(order) + 1) - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + (total - tp), 1)
    last_of_score = np.r_[scores[order][1:] != scores[order][:-1], True]
    best = int(np.argmax(np.where(last_of_score, f1, -1.0))) if len(order) else -1
    oracle = scores[order][best] if best >= 0 else 1.0
    return {
        "oracle": pair_quality(scores, is_true, total, oracle),
        "unsupervised": pair_quality(scores, is_true, total, otsu_threshold(scores)),
    }


__all__ = ["choose_thresholds", "otsu_threshold", "pair_quality"]
