"""Pairwise scoring: precision, recall and F1 of predicted links against the true links."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError

__all__ = ["pair_metrics"]


def _pairs(frame: object, name: str) -> pd.DataFrame:
    checked = _check_frame(frame, name)
    missing = [c for c in ("left_id", "right_id") if c not in checked.columns]
    if missing:
        raise ConfigError(name, f"missing column(s) {', '.join(missing)}; needs left_id, right_id")
    pairs = checked[["left_id", "right_id"]]
    if pairs.isna().any().any():
        raise ConfigError(name, "left_id and right_id must not be missing")
    # Ids may be integers or strings (e.g. FEBRL's "rec-12-org"); integers stored as floats
    # (a nullable column read back from Parquet) are made integers so 3.0 matches 3.
    columns = {}
    for column in ("left_id", "right_id"):
        values = pairs[column]
        if values.dtype.kind == "f" and (values % 1 == 0).all():
            values = values.astype(np.int64)
        columns[column] = values.to_numpy()
    return pd.DataFrame(columns).drop_duplicates(ignore_index=True)


def _check_frame(frame: object, name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(name, f"must be a pandas DataFrame; got {type(frame).__name__}")
    return frame


def pair_metrics(predicted: pd.DataFrame, true_pairs: pd.DataFrame) -> dict[str, float | int]:
    """Precision, recall and F1 of predicted links against the true links.

    Parameters
    ----------
    predicted, true_pairs
        Frames with columns ``left_id`` and ``right_id`` (integer or string ids), one row per
        link (other columns are ignored). Repeated pairs count once.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (floats) and ``true_positives``,
        ``false_positives``, ``false_negatives`` (ints).

    Notes
    -----
    Conventions for empty sets: a ratio whose denominator is zero is 1.0 when both sets are
    empty (nothing to find and nothing claimed: perfect agreement) and 0.0 otherwise. So with
    nothing predicted but true links present, precision, recall and F1 are all 0.0; with
    predictions but no true links, all three are 0.0; with neither, all three are 1.0. F1 is
    computed as ``2 TP / (2 TP + FP + FN)``, which agrees with the harmonic mean whenever
    that is defined.

    Examples
    --------
    >>> predicted = pd.DataFrame({"left_id": [1, 2, 3], "right_id": [10, 20, 99]})
    >>> true_pairs = pd.DataFrame({"left_id": [1, 2, 3, 4], "right_id": [10, 20, 30, 40]})
    >>> m = pair_metrics(predicted, true_pairs)
    >>> m["true_positives"], m["false_positives"], m["false_negatives"]
    (2, 1, 2)
    >>> round(m["precision"], 4), m["recall"], round(m["f1"], 4)
    (0.6667, 0.5, 0.5714)
    """
    pred = _pairs(predicted, "predicted")
    true = _pairs(true_pairs, "true_pairs")
    tp = len(pred.merge(true, on=["left_id", "right_id"], how="inner"))
    fp = len(pred) - tp
    fn = len(true) - tp
    both_empty = len(pred) == 0 and len(true) == 0

    def ratio(num: int, den: int) -> float:
        if den == 0:
            return 1.0 if both_empty else 0.0
        return num / den

    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }
