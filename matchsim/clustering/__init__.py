"""From matched pairs to entities: connected components, or one-to-one links.

* :func:`connected_components` puts two records in one cluster when a chain of matched pairs
  joins them (the transitive closure that deduplication needs);
* :func:`one_to_one` keeps each record in at most one link, taking pairs greedily by
  descending score: between two tables (each side used once), or within one table (each record
  paired at most once, so clusters of one or two records).

Why numba rather than ``scipy.sparse.csgraph``: scipy is not a matchsim dependency, and numba
already is (the comparison and blocking kernels). A union-find over the pairs is one pass,
almost linear in the pairs, with no graph matrix built; the greedy one-to-one selection is a
sequential scan in score order, which numpy cannot express without a loop.
"""

from __future__ import annotations

import numpy as np

from matchsim.errors import ConfigError, UnknownNameError

#: How :func:`cluster` turns matched pairs of one table into clusters.
CLUSTER_METHODS = ("components", "one_to_one")


def _check_pairs(n: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    if left.shape != right.shape or left.ndim != 1:
        raise ConfigError("pairs", "left and right must be 1-d arrays of the same length")
    if len(left) and (min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= n):
        raise ConfigError("pairs", f"rows must lie in [0, {n - 1}]")
    return left, right


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A cluster label per row (0, 1, ... in order of each cluster's first row) such that
    the rows of every pair share a label, and rows joined by no chain of pairs do not.

    Examples
    --------
    >>> connected_components(5, np.array([0, 3]), np.array([2, 2])).tolist()
    [0, 1, 0, 0, 2]
    """
    left, right = _check_pairs(n, left, right)
    from matchsim.clustering.kernels import component_roots  # numba: loaded on use

    roots = component_roots(n, left, right)
    # Roots are first rows and ascend with their clusters' first rows: renumber them 0, 1, ...
    is_root = roots == np.arange(n)
    return (np.cumsum(is_root) - 1)[roots]


def one_to_one(
    left: np.ndarray,
    right: np.ndarray,
    scores: np.ndarray,
    n_left: int,
    n_right: int | None = None,
) -> np.ndarray:
    """Which pairs to keep so that each record is in at most one kept pair.

    Pairs are taken by descending score (ties by left row, then right row, so the answer is
    reproducible); a pair is kept when neither record is taken yet. With ``n_right`` the two
    sides are different tables; without it both index one table (deduplication), so a record
    is used once whichever side it is on.

    Examples
    --------
    Left record 1's best pair takes right record 1, so left record 0 keeps its second best:

    >>> keep = one_to_one(np.array([0, 0, 1]), np.array([1, 0, 1]), np.array([0.9, 0.8, 0.95]),
    ...                   n_left=2, n_right=2)
    >>> keep.tolist()
    [False, True, True]
    """
    shared = n_right is None
    n_right_ = n_left if n_right is None else n_right
    left, right = _check_pairs(max(n_left, n_right_), left, right)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != left.shape:
        raise ConfigError("scores", "must hold one score per pair")
    if len(left) and (left.max() >= n_left or right.max() >= n_right_):
        raise ConfigError("pairs", "a row lies outside its table")
    from matchsim.clustering.kernels import greedy_one_to_one  # numba: loaded on use

    order = np.lexsort((right, left, -scores))
    return greedy_one_to_one(order, left, right, n_left, n_right_, shared)


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    method: str = "components",
) -> np.ndarray:
    """Cluster labels of the ``n`` rows of one table from its scored pairs.

    Pairs scoring at least ``threshold`` are matches; ``method`` is ``components`` (every
    chain of matches is one entity) or ``one_to_one`` (each record joins at most one other,
    best scores first).

    Examples
    --------
    >>> left, right = np.array([0, 1, 2]), np.array([1, 2, 3])
    >>> scores = np.array([0.9, 0.4, 0.8])  # the pair (1, 2) is under the threshold
    >>> cluster(5, left, right, scores, threshold=0.5).tolist()
    [0, 0, 1, 1, 2]
    >>> scores = np.array([0.9, 0.7, 0.8])  # now a chain 0-1-2-3, or two pairs one to one
    >>> cluster(5, left, right, scores, threshold=0.5).tolist()
    [0, 0, 0, 0, 1]
    >>> cluster(5, left, right, scores, threshold=0.5, method="one_to_one").tolist()
    [0, 0, 1, 1, 2]
    """
    if method not in CLUSTER_METHODS:
        raise UnknownNameError("cluster", str(method), CLUSTER_METHODS)
    scores = np.asarray(scores, dtype=np.float64)
    over = scores >= threshold
    left, right, scores = np.asarray(left)[over], np.asarray(right)[over], scores[over]
    if method == "one_to_one":
        keep = one_to_one(left, right, scores, n)
        left, right = left[keep], right[keep]
    return connected_components(n, left, right)
