"""Comparison levels of given pairs of rows of two tables, from the tables themselves.

Where the candidate pairs come from elsewhere (another library's blocking, a review list, a
benchmark's pair index), :func:`compare_pairs` prepares only the rows the pairs touch: the
other rows are never converted, normalised or encoded, so its cost follows the pairs rather
than the tables. Every comparison reads only the two records of a pair, so the levels are
those that preparing the whole tables would give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim.comparison.base import Comparison, ComparisonResult, Kernel
from matchsim.comparison.engine import compare
from matchsim.errors import ConfigError
from matchsim.records import prepare_linkage


def compare_pairs(
    left: pa.Table | pd.DataFrame,
    right: pa.Table | pd.DataFrame,
    left_roles: Mapping[str, str],
    pairs: tuple[np.ndarray, np.ndarray] | Sequence[np.ndarray],
    right_roles: Mapping[str, str] | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    *,
    workers: int | None = None,
    kernel: Kernel = "auto",
) -> ComparisonResult:
    """Levels of each pair ``(pairs[0][i], pairs[1][i])`` of row positions (left, right).

    The result's ``left`` and ``right`` are those positions, in the order given, one row of
    ``levels`` per pair. ``right_roles`` defaults to ``left_roles``; ``comparisons`` to one
    per role both sides map. Only the rows some pair touches are read (and checked).
    ``workers`` and ``kernel`` are :func:`~matchsim.comparison.compare`'s.

    Examples
    --------
    >>> import pandas as pd
    >>> left = pd.DataFrame({"fn": ["Mohammed", "Aisha"], "sn": ["Khan", "Begum"]})
    >>> right = pd.DataFrame({"fn": ["MOHAMED", "Ayesha", "Aisha"], "sn": ["KHAN", "Begum", "Begum"]})
    >>> roles = {"fn": "forename", "sn": "surname"}
    >>> result = compare_pairs(left, right, roles, ([0, 1], [0, 2]), comparisons=["surname"])
    >>> result.levels[:, 0].tolist()  # both surnames agree exactly (level 1)
    [1, 1]
    """
    right_roles = left_roles if right_roles is None else right_roles
    left_rows, right_rows = _pair_rows(pairs, _rows(left), _rows(right))
    left_kept, left_local = _touched(left_rows, _rows(left))
    right_kept, right_local = _touched(right_rows, _rows(right))
    data = prepare_linkage(
        left, right, left_roles, right_roles, left_rows=left_kept, right_rows=right_kept
    )
    local = compare(data, left_local, right_local, comparisons, workers=workers, kernel=kernel)
    return ComparisonResult(
        left=left_rows, right=right_rows, levels=local.levels, comparisons=local.comparisons
    )


def _rows(table: pa.Table | pd.DataFrame) -> int:
    return table.num_rows if isinstance(table, pa.Table) else len(table)


def _pair_rows(
    pairs: tuple[np.ndarray, np.ndarray] | Sequence[np.ndarray], n_left: int, n_right: int
) -> tuple[np.ndarray, np.ndarray]:
    """The two int64 arrays of row positions, checked against the tables' sizes."""
    if isinstance(pairs, np.ndarray) and pairs.ndim == 2 and pairs.shape[0] == 2:
        pairs = (pairs[0], pairs[1])
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence) or len(pairs) != 2:
        raise ConfigError(
            "pairs", "must be two arrays of row positions (left rows, right rows) of equal length"
        )
    out = []
    for side, values, count in (("left", pairs[0], n_left), ("right", pairs[1], n_right)):
        array = np.asarray(values)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise ConfigError(
                "pairs", f"the {side} rows must be a one-dimensional array of row positions"
            )
        array = array.astype(np.int64, copy=False)
        if array.size and (array.min() < 0 or array.max() >= count):
            raise ConfigError(
                "pairs",
                f"the {side} rows must lie in 0..{count - 1} (the {side} table has "
                f"{count:,} rows); got {int(array.min())}..{int(array.max())}",
            )
        out.append(array)
    if len(out[0]) != len(out[1]):
        raise ConfigError(
            "pairs",
            f"{len(out[0]):,} left rows but {len(out[1]):,} right rows; give one of each per pair",
        )
    return out[0], out[1]


def _touched(rows: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows, ascending, and each pair's position among them (O(table), no sort).

    With no pairs the first row stands in, so that the tables are still checked and the
    comparisons chosen."""
    seen = np.zeros(count, dtype=np.bool_)
    seen[rows] = True
    if not len(rows):
        seen[0] = True
    kept = np.flatnonzero(seen)
    # int32: half the pages of a big table's position array to fault in (a table of more
    # than 2**31 rows is beyond one process)
    position = np.empty(count, dtype=np.int32)
    position[kept] = np.arange(len(kept), dtype=np.int32)
    return kept, position[rows].astype(np.int64)
