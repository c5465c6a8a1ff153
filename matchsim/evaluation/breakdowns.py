"""Breakdowns of an evaluation: rates per group of a column, and per error type.

An ordinary breakdown groups requests by the value of one column (``"<NA>"`` for a missing
value). The ``error_types`` breakdown groups them by the error types recorded in the
``errors_<field>`` columns; those groups overlap, since a request counts once in the group of
every error type it carries (and in ``"none"`` when it carries none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError
from matchsim.evaluation.rates import RATES, rate_columns

__all__ = [
    "DEFAULT_BREAKDOWNS",
    "ERROR_TYPES_BREAKDOWN",
    "NO_ERROR_GROUP",
    "breakdown_frame",
    "error_type_counts",
    "error_type_labels",
    "error_type_masks",
    "group_counts",
]

#: Breakdown name that groups requests by the error types they carry (groups overlap).
ERROR_TYPES_BREAKDOWN = "error_types"
#: The ``error_types`` group of requests that carry no error at all.
NO_ERROR_GROUP = "none"
#: Group label for a missing breakdown value.
_MISSING_GROUP = "<NA>"
_ERROR_PREFIX = "errors_"
_BITS = 62  # error types per int64 word when encoding a request's set of types
DEFAULT_BREAKDOWNS: tuple[str, ...] = (
    "true_name_origin",
    "sex",
    "true_is_twin",
    ERROR_TYPES_BREAKDOWN,
)


def _split_error_types(value: object) -> set[str]:
    return {t.strip() for t in str(value).split(";") if t.strip()}


def error_type_masks(truth: pd.DataFrame) -> dict[str, np.ndarray]:
    """Error type -> which requests carry it in any ``errors_<field>`` column.

    Each column has few distinct values (combinations of error types), so strings are split
    once per distinct value and mapped back through integer codes.
    """
    columns = [c for c in truth.columns if str(c).startswith(_ERROR_PREFIX)]
    if not columns:
        raise ConfigError(
            "breakdowns",
            f"{ERROR_TYPES_BREAKDOWN!r} needs columns named {_ERROR_PREFIX}<field> in truth; "
            "there are none",
        )
    masks: dict[str, np.ndarray] = {}
    for column in columns:
        codes, uniques = pd.factorize(truth[column], use_na_sentinel=True)
        types = [_split_error_types(u) for u in uniques]
        for name in set().union(*types):
            carries = np.array([name in t for t in types] + [False])
            hit = carries[codes]  # code -1 (missing) indexes the trailing False
            masks[name] = masks[name] | hit if name in masks else hit
    return masks


def group_counts(
    group_by: str,
    values: pd.Series,
    subsets: Mapping[str, np.ndarray],
) -> dict[str, Any]:
    """Counts of each subset within each group of an ordinary breakdown column."""
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    except TypeError:  # values of mixed, unorderable types: keep first-seen order
        codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    labels = [str(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(_MISSING_GROUP)
    k = len(labels)
    counts = {name: np.bincount(codes[mask], minlength=k) for name, mask in subsets.items()}
    return {"group_by": [group_by] * k, "group": labels, **counts}


def error_type_counts(
    masks: Mapping[str, np.ndarray], subsets: Mapping[str, np.ndarray]
) -> dict[str, Any]:
    """Counts of each subset within each (overlapping) error-type group, "none" first."""
    n = len(subsets["all"])
    carries_any = np.zeros(n, dtype=bool)
    for mask in masks.values():
        carries_any |= mask
    groups = {NO_ERROR_GROUP: ~carries_any, **{t: masks[t] for t in sorted(masks)}}
    counts = {
        name: np.array([np.count_nonzero(member & subset) for member in groups.values()])
        for name, subset in subsets.items()
    }
    return {"group_by": [ERROR_TYPES_BREAKDOWN] * len(groups), "group": list(groups), **counts}


def error_type_labels(masks: Mapping[str, np.ndarray], n: int) -> pd.Series:
    """Per request, its distinct error types sorted and joined by ";" ("" when none)."""
    names = sorted(masks)
    if not names:
        return pd.Series([""] * n, dtype=object)
    # Encode each request's set of types as bits (62 per int64 word, clear of the sign bit)
    # so that labels are built once per distinct combination rather than once per request.
    words = []
    for start in range(0, len(names), _BITS):
        word = np.zeros(n, dtype=np.int64)
        for bit, name in enumerate(names[start : start + _BITS]):
            word |= masks[name].astype(np.int64) << bit
        words.append(word)
    if len(words) == 1:  # the usual case; hashing one array is much faster than a MultiIndex
        codes, uniques = pd.factorize(words[0])
        combinations = [(u,) for u in uniques]
    else:
        codes, uniques = pd.MultiIndex.from_arrays(words).factorize()
        combinations = list(uniques)
    labels = np.array(
        [
            ";".join(t for i, t in enumerate(names) if int(combo[i // _BITS]) >> (i % _BITS) & 1)
            for combo in combinations
        ],
        dtype=object,
    )
    return pd.Series(labels[codes], dtype=object)


def breakdown_frame(tables: Sequence[Mapping[str, Any]], confidence: float) -> pd.DataFrame:
    columns = ["group_by", "group", "requests", "in_register"]
    for name in RATES:
        columns += [name, f"{name}_low", f"{name}_high"]
    frames = []
    for table in tables:
        frame = {
            "group_by": table["group_by"],
            "group": table["group"],
            "requests": table["all"],
            "in_register": table["in_register"],
            **rate_columns(table, confidence),
        }
        frames.append(pd.DataFrame(frame, columns=columns))
    if not frames:
        dtypes = {"group_by": str, "group": str, "requests": np.int64, "in_register": np.int64}
        return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, np.float64)) for c in columns})
    return pd.concat(frames, ignore_index=True)
