"""Dice thresholds chosen by one rule for every encoding setting, so that settings compare fairly.

One threshold for all settings misjudges hardening that shifts Dice (balancing sets half the
bits, so unrelated records score higher; diffusion and BLIP lower true matches' Dice). Two
rules, applied to the scored candidate pairs of each setting:

* ``oracle`` — the threshold with the best pair F1 against the ground truth. Only a
  simulation has the truth: it is the best any threshold could do, labelled as such.
* ``unsupervised`` — Otsu's threshold (Otsu 1979, "A threshold selection method from
  gray-level histograms"): the cut of the candidate pairs' Dice histogram that maximises the
  between-class variance, i.e. the valley between non-matches and matches. A data holder
  without labels can apply it. At national density it fails: millions of namesake pairs fill
  the histogram, and its cut falls among them (precision about 1%).
* ``one_to_one`` — a request names one child, so a data holder without labels can judge a cut
  by the requests it leaves with exactly one candidate at or above it (a clear answer) against
  those it leaves with two or more (an ambiguity, and a risk of the wrong child): the cut
  maximising ``clear - ONE_TO_ONE_AMBIGUITY_COST * ambiguous``. Only each request's best and
  second-best Dice matter. The cost of 2 was chosen on four settings of the national run
  (none, balance, BLIP 0.05, diffusion; costs 2 to 5 gave the same cuts within 0.02);
  docs/pprl.md reports the other settings and the 200,000-pupil register as holdouts.
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


#: What a request left with two or more candidates above a cut costs it, in requests with
#: exactly one (:func:`one_to_one_threshold`).
ONE_TO_ONE_AMBIGUITY_COST = 2.0


def one_to_one_threshold(
    left_ids: np.ndarray, scores: np.ndarray, cost: float = ONE_TO_ONE_AMBIGUITY_COST
) -> float:
    """The cut maximising the requests (``left_ids``) with exactly one candidate scoring at
    or above it, less ``cost`` times those with two or more; the highest such cut on a tie.

    A request's count at cut ``t`` depends on its best score ``s1`` and second-best ``s2``
    only: one candidate when ``s1 >= t > s2``, several when ``s2 >= t``. So the objective is
    ``#(s1 >= t) - (1 + cost) * #(s2 >= t)``, evaluated at every distinct best score.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return 1.0
    codes = pd.factorize(np.asarray(left_ids))[0]
    # Each request's two best scores: sort by (request, score descending).
    order = np.lexsort((-scores, codes))
    sorted_codes, sorted_scores = codes[order], scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    best = sorted_scores[starts]
    has_second = np.r_[starts[1:], len(order)] - starts >= 2
    second = sorted_scores[starts[has_second] + 1]
    cuts = np.unique(best)  # ascending
    at_least_best = len(best) - np.searchsorted(np.sort(best), cuts, side="left")
    at_least_second = len(second) - np.searchsorted(np.sort(second), cuts, side="left")
    objective = at_least_best - (1.0 + cost) * at_least_second
    top = np.flatnonzero(objective == objective.max())
    return float(cuts[top[-1]])


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
    one_to_one = one_to_one_threshold(marked["left_id"].to_numpy(), scores)
    return {
        "oracle": pair_quality(scores, is_true, total, oracle),
        "unsupervised": pair_quality(scores, is_true, total, otsu_threshold(scores)),
        "one_to_one": pair_quality(scores, is_true, total, one_to_one),
    }


__all__ = ["choose_thresholds", "one_to_one_threshold", "otsu_threshold", "pair_quality"]
