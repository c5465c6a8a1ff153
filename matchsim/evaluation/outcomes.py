"""Score matching decisions against ground truth: one outcome per request, rates, breakdowns.

Every request ends in exactly one :class:`Outcome`:

===================== ===========================================================
``correct_match``     something was returned, and every id returned is the true child
``false_match``       at least one id returned is not the person requested (whether or
                      not that person is in the register)
``missed_match``      nothing was returned, though the person is in the register
``correct_non_match`` nothing was returned, and the person is not in the register
===================== ===========================================================

Returning the true child together with a twin is a ``false_match``: the requester receives a
record of a child they did not ask about, which is the harm being measured. Duplicated ids in a
returned list count once.

Rates and the :class:`~matchsim.evaluation.rates.Evaluation` that holds them are in
:mod:`matchsim.evaluation.rates`, breakdowns in :mod:`matchsim.evaluation.breakdowns`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError
from matchsim.evaluation.breakdowns import (
    DEFAULT_BREAKDOWNS,
    ERROR_TYPES_BREAKDOWN,
    breakdown_frame,
    error_type_counts,
    error_type_labels,
    error_type_masks,
    group_counts,
)
from matchsim.evaluation.intervals import wilson_intervals
from matchsim.evaluation.rates import RATES, Evaluation, Rate, rate_columns

__all__ = ["OUTCOMES", "OUTCOME_DTYPE", "Outcome", "classify", "evaluate"]


class Outcome(StrEnum):
    """The four mutually exclusive outcomes of a request (see the module docstring)."""

    CORRECT_MATCH = "correct_match"
    FALSE_MATCH = "false_match"
    MISSED_MATCH = "missed_match"
    CORRECT_NON_MATCH = "correct_non_match"


#: Outcome names in their canonical order (the order of the categorical's categories).
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
#: dtype of :func:`classify`'s result and of ``Evaluation.per_request["outcome"]``.
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))

# Category codes; they follow OUTCOMES.
_CORRECT, _FALSE, _MISSED, _NON = range(4)


def _flatten_returned(returned: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Lists of returned ids -> (number of ids per request, all ids in request order).

    pyarrow converts the whole column in C++ (about 0.15 s for a million lists), which is the
    vectorised equivalent of exploding it; ``None``/NaN entries become empty lists.
    """
    try:
        arr = pa.array(returned, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(
            "returned", f"each entry must be a list or array of integer ids ({exc})"
        ) from None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if pa.types.is_null(arr.type):  # no request returned anything, or there are no requests
        return np.zeros(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    list_like = (
        pa.types.is_list(arr.type)
        or pa.types.is_large_list(arr.type)
        or pa.types.is_fixed_size_list(arr.type)
    )
    value_type = arr.type.value_type if list_like else None
    if value_type is None or not (pa.types.is_integer(value_type) or pa.types.is_null(value_type)):
        raise ConfigError(
            "returned",
            f"each entry must be a list or array of integer ids; got arrow type {arr.type}",
        )
    try:
        arr = arr.cast(pa.large_list(pa.int64()))  # safe cast: uint64 beyond int64 raises
    except pa.ArrowInvalid as exc:
        raise ConfigError("returned", f"ids must fit in int64 ({exc})") from None
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy().astype(np.int64)
    values = pc.list_flatten(arr)
    if values.null_count:
        raise ConfigError("returned", "lists must not contain missing ids")
    return lengths, values.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _true_ids(true_id: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Nullable true ids -> (ids with 0 where missing, in-register mask)."""
    if pd.api.types.is_bool_dtype(true_id) or pd.api.types.is_string_dtype(true_id):
        raise ConfigError("true_id", f"must hold integer ids or NA; got dtype {true_id.dtype}")
    try:
        ids = true_id.astype("Int64")
    except (TypeError, ValueError) as exc:
        raise ConfigError("true_id", f"must hold integer ids or NA ({exc})") from None
    in_register = ids.notna().to_numpy()
    return ids.to_numpy(dtype=np.int64, na_value=0), in_register


def _classify_arrays(
    lengths: np.ndarray, values: np.ndarray, true_ids: np.ndarray, in_register: np.ndarray
) -> np.ndarray:
    """Outcome code per request from flattened returned ids, without Python loops."""
    n = len(lengths)
    owner = np.repeat(np.arange(n), lengths)  # request index of each returned id
    # An id is wrong if it is not the true child; every id is wrong for an unregistered person.
    wrong = ~in_register[owner] | (values != true_ids[owner])
    any_wrong = np.bincount(owner[wrong], minlength=n) > 0
    return np.where(
        lengths == 0,
        np.where(in_register, _MISSED, _NON),
        np.where(any_wrong, _FALSE, _CORRECT),
    ).astype(np.int8)


def _distinct_counts(lengths: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Number of distinct ids each request returned (duplicates count once)."""
    distinct = lengths.astype(np.int64, copy=True)
    owner = np.repeat(np.arange(len(lengths)), lengths)
    # Only lists of two or more can hold duplicates, and they are few: sort just those ids
    # within their request (owner is ascending) and count the changes.
    several = (lengths > 1)[owner]
    owner, values = owner[several], values[several]
    order = np.lexsort((values, owner))
    owner, values = owner[order], values[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (owner[1:] != owner[:-1]) | (values[1:] != values[:-1])
    counted = np.bincount(owner[first], minlength=len(lengths))
    return np.where(lengths > 1, counted, distinct)


def _check_series(value: object, name: str) -> pd.Series:
    if not isinstance(value, pd.Series):
        raise ConfigError(name, f"must be a pandas Series; got {type(value).__name__}")
    return value


def classify(returned: pd.Series, true_id: pd.Series) -> pd.Series:
    """Give each request exactly one :class:`Outcome`.

    Parameters
    ----------
    returned
        For each request, the right-hand (register) ids the matcher returned: a list, tuple or
        array of integers (any order, duplicates allowed), empty (or ``None``) when nothing
        was returned. An Arrow list column (``pd.ArrowDtype(pa.list_(...))``) also works.
    true_id
        The register id of the person actually requested, NA when they are not in the
        register (nullable ``Int64``; any integer dtype, or integral floats with NaN, work).
        Must have the same index as ``returned``.

    Returns
    -------
    pandas.Series
        Categorical with categories :data:`OUTCOMES` (in that order), indexed like
        ``returned`` and named ``"outcome"``.

    Raises
    ------
    ConfigError
        If the inputs are not Series with the same index, or hold something other than
        integer ids.

    Notes
    -----
    The lists are flattened once (by pyarrow), each id is compared with its request's true
    id, and the comparisons are aggregated with :func:`numpy.bincount`, so a million requests
    take well under a second.

    Examples
    --------
    >>> returned = pd.Series([[7], [7, 8], [], [], [3]])
    >>> true_id = pd.Series([7, 7, 9, None, None], dtype="Int64")
    >>> classify(returned, true_id).tolist()
    ['correct_match', 'false_match', 'missed_match', 'correct_non_match', 'false_match']
    """
    returned = _check_series(returned, "returned")
    true_id = _check_series(true_id, "true_id")
    if not returned.index.equals(true_id.index):
        raise ConfigError(
            "true_id", "must have the same index as returned (one true id per request)"
        )
    lengths, values = _flatten_returned(returned)
    ids, in_register = _true_ids(true_id)
    codes = _classify_arrays(lengths, values, ids, in_register)
    return pd.Series(
        pd.Categorical.from_codes(codes, dtype=OUTCOME_DTYPE), index=returned.index, name="outcome"
    )


def _preview(ids: Iterable[object], total: int, limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in list(ids)[:limit])
    return f"{shown}, ... ({total} in all)" if total > limit else shown


def _require_columns(frame: object, name: str, columns: Iterable[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(name, f"must be a pandas DataFrame; got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            name,
            f"missing column(s) {', '.join(missing)}; has {', '.join(map(str, frame.columns))}",
        )
    ids = frame["request_id"]
    if ids.isna().any():
        raise ConfigError(name, "request_id must not be missing")
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise ConfigError(
            name,
            f"request_id must be unique; repeated: {_preview(repeated.unique(), repeated.nunique())}",
        )
    return frame


def _align(decisions: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Row of ``decisions`` for each row of ``truth``; ConfigError if either side lacks ids."""
    position = pd.Index(decisions["request_id"]).get_indexer(truth["request_id"])
    no_decision = truth["request_id"][position < 0]
    if len(no_decision):
        raise ConfigError(
            "decisions",
            f"no decision for {len(no_decision)} request(s) in truth; missing request_id "
            f"{_preview(no_decision, len(no_decision))}",
        )
    if len(decisions) == len(truth):  # ids are unique and all of truth's were found
        return position
    unknown = decisions["request_id"][~decisions["request_id"].isin(truth["request_id"])]
    if len(unknown):
        raise ConfigError(
            "truth",
            f"no ground truth for {len(unknown)} request(s) in decisions; missing request_id "
            f"{_preview(unknown, len(unknown))}",
        )
    return position


def _ambiguous(column: pd.Series) -> np.ndarray:
    try:
        flags = column.astype("boolean")
    except (TypeError, ValueError):
        raise ConfigError("ambiguous", f"must hold True/False; got dtype {column.dtype}") from None
    if flags.isna().any():
        raise ConfigError("ambiguous", "must not be missing")
    return flags.to_numpy(dtype=bool)


def _subsets(
    codes: np.ndarray, in_register: np.ndarray, distinct: np.ndarray, ambiguous: np.ndarray
) -> dict[str, np.ndarray]:
    """The request subsets that rate numerators and denominators refer to."""
    false = codes == _FALSE
    return {
        "all": np.ones(len(codes), dtype=bool),
        "in_register": in_register,
        "not_in_register": ~in_register,
        "returned": distinct > 0,
        "ambiguous": ambiguous,
        "correct_match": codes == _CORRECT,
        "false_match": false,
        "false_match_in_register": false & in_register,
        "false_match_not_in_register": false & ~in_register,
        "missed_match": codes == _MISSED,
        "correct_non_match": codes == _NON,
    }


def evaluate(
    decisions: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    breakdowns: Sequence[str] = DEFAULT_BREAKDOWNS,
    confidence: float = 0.95,
) -> Evaluation:
    """Score matching decisions against ground truth.

    Parameters
    ----------
    decisions
        One row per request: ``request_id``, ``returned`` (the register ids returned, a
        possibly empty list; see :func:`classify`) and ``ambiguous`` (bool, the matcher's own
        flag that it could not tell candidates apart).
    truth
        One row per request: ``request_id``, ``true_pupil_id`` (nullable integer, NA when the
        person is not in the register) and the breakdown columns, e.g. the ``table`` of a
        :class:`matchsim.requests.RequestSet` as pandas. If it has an ``in_register`` column,
        that must agree with ``true_pupil_id``.
    breakdowns
        Columns to break the rates down by. A name may also be one of ``per_request``'s own
        columns (``in_register``, ``ambiguous``, ``outcome``). The special name
        ``"error_types"`` groups requests by the error types recorded in the
        ``errors_<field>`` columns (";"-joined names, ``""`` for none): a request counts in
        the group of *each* error type it carries, and in the group ``"none"`` if it carries
        none, so these groups overlap.
    confidence
        Confidence level of the Wilson intervals, in (0, 1).

    Returns
    -------
    Evaluation

    Raises
    ------
    ConfigError
        For a missing column, a repeated or missing ``request_id``, a request present on one
        side only (the message names the first few such ids), an unknown breakdown, or a bad
        ``confidence``.

    Examples
    --------
    >>> decisions = pd.DataFrame({
    ...     "request_id": [1, 2, 3, 4],
    ...     "returned": [[10], [20, 21], [], [30]],
    ...     "ambiguous": [False, True, False, False],
    ... })
    >>> truth = pd.DataFrame({
    ...     "request_id": [1, 2, 3, 4],
    ...     "true_pupil_id": pd.array([10, 20, 40, None], dtype="Int64"),
    ...     "errors_forename": ["", "forename_typo", "", "forename_typo;forename_ocr"],
    ... })
    >>> result = evaluate(decisions, truth, breakdowns=["error_types"])
    >>> result.counts
    {'correct_match': 1, 'false_match': 2, 'missed_match': 1, 'correct_non_match': 0}
    >>> rate = result.rates["false_match_rate"]
    >>> rate.numerator, rate.denominator, rate.value
    (2, 4, 0.5)
    >>> result.breakdown.set_index("group")["requests"].to_dict()
    {'none': 2, 'forename_ocr': 1, 'forename_typo': 2}
    """
    _require_columns(decisions, "decisions", ("request_id", "returned", "ambiguous"))
    _require_columns(truth, "truth", ("request_id", "true_pupil_id"))
    if isinstance(breakdowns, str):
        breakdowns = (breakdowns,)
    breakdowns = tuple(breakdowns)
    repeated = sorted({b for b in breakdowns if breakdowns.count(b) > 1})
    if repeated:
        raise ConfigError("breakdowns", f"listed more than once: {', '.join(repeated)}")
    wilson_intervals(0, 0, confidence)  # validates confidence before any heavy work

    position = _align(decisions, truth)
    ids, in_register = _true_ids(truth["true_pupil_id"])
    if "in_register" in truth.columns:
        try:
            stated = truth["in_register"].astype("boolean").to_numpy(dtype=bool, na_value=False)
        except (TypeError, ValueError):
            raise ConfigError("truth", "in_register must hold True/False") from None
        disagree = truth["request_id"][stated != in_register]
        if len(disagree):
            raise ConfigError(
                "truth",
                "in_register disagrees with true_pupil_id for request_id "
                f"{_preview(disagree, len(disagree))}",
            )
    # Work in the decisions' own row order and reorder only the small per-request results:
    # taking the Python lists into truth's order first would scatter memory reads.
    n = len(position)
    truth_row = np.empty(n, dtype=np.int64)
    truth_row[position] = np.arange(n)  # position is a permutation: both sides hold the same ids
    lengths, values = _flatten_returned(decisions["returned"])
    codes = _classify_arrays(lengths, values, ids[truth_row], in_register[truth_row])[position]
    distinct = _distinct_counts(lengths, values)[position]
    ambiguous = _ambiguous(decisions["ambiguous"])[position]

    per_request = pd.DataFrame(
        {
            "request_id": truth["request_id"].reset_index(drop=True),
            "outcome": pd.Categorical.from_codes(codes, dtype=OUTCOME_DTYPE),
            "ambiguous": ambiguous,
            "in_register": in_register,
            "returned_count": distinct,
        }
    )
    subsets = _subsets(codes, in_register, distinct, ambiguous)

    tables = []
    for name in breakdowns:
        if name == ERROR_TYPES_BREAKDOWN:
            masks = error_type_masks(truth)
            per_request[name] = error_type_labels(masks, n)
            tables.append(error_type_counts(masks, subsets))
            continue
        if name not in per_request.columns:
            if name not in truth.columns:
                raise ConfigError(
                    "breakdowns",
                    f"unknown column {name!r}; truth has {', '.join(map(str, truth.columns))} "
                    f"(or use {ERROR_TYPES_BREAKDOWN!r})",
                )
            per_request[name] = truth[name].reset_index(drop=True)  # keeps the dtype
        tables.append(group_counts(name, per_request[name], subsets))

    breakdown = breakdown_frame(tables, confidence)
    totals = {name: np.array([np.count_nonzero(mask)]) for name, mask in subsets.items()}
    overall = rate_columns(totals, confidence)
    rates = {
        name: Rate(
            value=float(overall[name][0]),
            low=float(overall[f"{name}_low"][0]),
            high=float(overall[f"{name}_high"][0]),
            numerator=int(totals[rate.numerator][0]),
            denominator=int(totals[rate.denominator][0]),
        )
        for name, rate in RATES.items()
    }
    counts = dict(zip(OUTCOMES, np.bincount(codes, minlength=4).tolist(), strict=True))
    return Evaluation(
        per_request=per_request,
        counts=counts,
        rates=rates,
        breakdown=breakdown,
        confidence=float(confidence),
        breakdowns=breakdowns,
    )
