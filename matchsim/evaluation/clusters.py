"""Clusters scored against true entities: pairwise and cluster-level measures.

Both labellings give one label per record. Everything is computed from the contingency table
of (predicted cluster, true entity) cells, so no pair of records is ever listed: a cluster of
``k`` records holds ``k (k - 1) / 2`` pairs, and a cell of ``c`` records ``c (c - 1) / 2``
pairs that the prediction and the truth both put together.

Definitions (see docs/dedupe.md):

* pairwise precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)``, F1
  ``2 TP / (2 TP + FP + FN)``, over the unordered pairs of records in the same predicted
  cluster (TP + FP) and in the same true entity (TP + FN);
* cluster precision: the share of predicted clusters that are exactly a true entity (same
  records, no more, no fewer); cluster recall: the share of true entities predicted exactly;
* wrongly merged clusters: predicted clusters holding records of two or more true entities;
  split entities: true entities whose records fall into two or more predicted clusters.

Empty sets follow :func:`matchsim.evaluation.pair_metrics`: a ratio whose denominator is zero
is 1.0 when both sides are empty and 0.0 otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError


def _codes(labels: object, name: str) -> np.ndarray:
    values = np.asarray(labels)
    if values.ndim != 1:
        raise ConfigError(name, "must be one label per record (a 1-d array)")
    if pd.isna(values).any():
        raise ConfigError(name, "has missing labels; give every record an entity label")
    codes, _ = pd.factorize(values, sort=False)
    return codes.astype(np.int64)


def _pairs(sizes: np.ndarray) -> int:
    sizes = sizes.astype(np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def _ratio(hits: int, total: int, other: int) -> float:
    if total == 0:
        return 1.0 if other == 0 else 0.0
    return hits / total


def cluster_metrics(predicted: object, truth: object) -> dict[str, float | int]:
    """Pairwise and cluster-level precision and recall of a clustering against true entities.

    Parameters
    ----------
    predicted, truth
        One cluster label per record, in the same record order (any hashable labels).

    Returns
    -------
    dict
        ``pairwise_precision``, ``pairwise_recall``, ``pairwise_f1``, ``true_positive_pairs``,
        ``predicted_pairs``, ``true_pairs``; ``cluster_precision``, ``cluster_recall``,
        ``cluster_f1``, ``exact_clusters``, ``predicted_clusters``, ``true_clusters``;
        the same cluster measures over clusters of two or more records
        (``duplicate_cluster_precision``, ``duplicate_cluster_recall``); and
        ``wrongly_merged_clusters``, ``split_entities``, ``records``.

    Examples
    --------
    >>> m = cluster_metrics([0, 0, 1, 2], ["a", "a", "a", "b"])
    >>> m["pairwise_precision"], m["pairwise_recall"], m["split_entities"]
    (1.0, 0.3333333333333333, 1)
    """
    pred = _codes(predicted, "predicted")
    true = _codes(truth, "truth")
    if len(pred) != len(true):
        raise ConfigError(
            "truth", f"has {len(true):,} labels for {len(pred):,} records; give one per record"
        )
    n = len(pred)
    n_pred = int(pred.max()) + 1 if n else 0
    n_true = int(true.max()) + 1 if n else 0
    pred_size = np.bincount(pred, minlength=n_pred)
    true_size = np.bincount(true, minlength=n_true)
    # Contingency cells: distinct (predicted, true) label pairs and their record counts.
    cells, cell_size = np.unique(pred * max(n_true, 1) + true, return_counts=True)
    cell_pred, cell_true = cells // max(n_true, 1), cells % max(n_true, 1)

    tp = _pairs(cell_size)
    predicted_pairs, true_pairs = _pairs(pred_size), _pairs(true_size)
    # A cell is an exact cluster when it is the whole of its predicted cluster and of its entity.
    exact = (cell_size == pred_size[cell_pred]) & (cell_size == true_size[cell_true])
    exact_clusters = int(exact.sum())
    exact_duplicates = int((exact & (cell_size >= 2)).sum())
    pred_duplicates = int((pred_size >= 2).sum())
    true_duplicates = int((true_size >= 2).sum())
    entities_per_cluster = np.bincount(cell_pred, minlength=n_pred)
    clusters_per_entity = np.bincount(cell_true, minlength=n_true)

    cluster_p = _ratio(exact_clusters, n_pred, n_true)
    cluster_r = _ratio(exact_clusters, n_true, n_pred)
    return {
        "records": n,
        "pairwise_precision": _ratio(tp, predicted_pairs, true_pairs),
        "pairwise_recall": _ratio(tp, true_pairs, predicted_pairs),
        "pairwise_f1": _ratio(2 * tp, predicted_pairs + true_pairs, 0),
        "true_positive_pairs": tp,
        "predicted_pairs": predicted_pairs,
        "true_pairs": true_pairs,
        "cluster_precision": cluster_p,
        "cluster_recall": cluster_r,
        "cluster_f1": _ratio(2 * exact_clusters, n_pred + n_true, 0),
        "exact_clusters": exact_clusters,
        "predicted_clusters": n_pred,
        "true_clusters": n_true,
        "duplicate_cluster_precision": _ratio(exact_duplicates, pred_duplicates, true_duplicates),
        "duplicate_cluster_recall": _ratio(exact_duplicates, true_duplicates, pred_duplicates),
        "wrongly_merged_clusters": int((entities_per_cluster >= 2).sum()),
        "split_entities": int((clusters_per_entity >= 2).sum()),
    }
