"""Running a blocking: chunks planned from pair counts, the pairs, and what they cost and missed."""

from __future__ import annotations

import itertools
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from matchsim.blocking.base import Blocker, distinct, oriented_pairs
from matchsim.blocking.union import Union, make_blocker
from matchsim.errors import ConfigError
from matchsim.records import LinkageData


@dataclass
class PairChunks:
    """The chunks of left rows a blocking run will process, and their pair counts."""

    chunks: list[np.ndarray]
    estimated_pairs: int
    counts: np.ndarray = field(repr=False)


def plan_chunks(blocker_: Blocker, data: LinkageData, max_pairs: int = 5_000_000) -> PairChunks:
    """Split the left records so that each chunk yields at most about ``max_pairs`` pairs.

    Examples
    --------
    The pairs are counted before any exists:

    >>> import pandas as pd
    >>> from matchsim.blocking import make_blocker, plan_chunks
    >>> from matchsim.records import prepare
    >>> left = pd.DataFrame({"sn": ["Khan", "Lee", "Khan"]})
    >>> right = pd.DataFrame({"sn": ["Khan", "Khan", "Lee", "Khan"]})
    >>> data = prepare(left, right, {"sn": "surname"})
    >>> plan = plan_chunks(make_blocker("exact:surname"), data, max_pairs=4)
    >>> plan.estimated_pairs, [rows.tolist() for rows in plan.chunks]
    (7, [[0, 1], [2]])
    """
    if not isinstance(max_pairs, int) or isinstance(max_pairs, bool) or max_pairs < 1:
        raise ConfigError("max_pairs", f"must be a whole number >= 1. Got {max_pairs!r} instead.")
    rows = np.arange(len(data.left))
    counts = blocker_.self_counts(data, rows) if data.self_join else blocker_.counts(data, rows)
    cum = np.cumsum(counts)
    bounds = (
        np.searchsorted(
            cum, np.arange(max_pairs, int(cum[-1]) + max_pairs, max_pairs), side="right"
        )
        if len(cum)
        else np.array([])
    )
    edges = np.unique(np.concatenate([[0], np.minimum(bounds, len(counts)), [len(counts)]]))
    chunks = [np.arange(a, b) for a, b in itertools.pairwise(edges) if b > a]
    return PairChunks(chunks=chunks, estimated_pairs=int(cum[-1]) if len(cum) else 0, counts=counts)


@dataclass(frozen=True)
class BlockingReport:
    """What a blocking run cost and what it missed.

    ``pairs_completeness`` (PC) is the share of true pairs among the candidates,
    ``reduction_ratio`` (RR) the share of all possible pairs not compared, and
    ``pair_quality`` (PQ) the share of candidates that are true pairs. PC and PQ need true
    links and are ``None`` without them.
    """

    strategy: str
    left_records: int
    right_records: int
    candidate_pairs: int
    true_pairs: int | None
    true_pairs_found: int | None
    pairs_completeness: float | None
    reduction_ratio: float
    pair_quality: float | None
    seconds: float
    peak_memory_mb: float | None
    #: given true links and several passes: per pass, its candidate pairs among the left
    #: records that have a true link, the true pairs it found, those it alone found and those
    #: it missed (see :func:`pass_report`)
    passes: tuple[dict[str, object], ...] | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def iter_pairs(
    blocker: Blocker, data: LinkageData, max_pairs: int = 5_000_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Candidate pairs chunk by chunk (chunks split the left records).

    On a self-join (``data.self_join``) each chunk holds (smaller, larger) row pairs; unless
    ``blocker.self_pairs_once``, a pair may come from the chunks of both its rows.
    """
    pairs = blocker.self_pairs if data.self_join else blocker.pairs
    for rows in plan_chunks(blocker, data, max_pairs).chunks:
        yield pairs(data, rows)


def run_blocking(
    blocker: Blocker | str | dict | list,
    data: LinkageData,
    true_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    max_pairs: int = 5_000_000,
    measure_memory: bool = False,
) -> tuple[tuple[np.ndarray, np.ndarray], BlockingReport]:
    """All candidate pairs (left rows, right rows) and a :class:`BlockingReport`.

    ``true_pairs`` are (left row, right row) index arrays of the true links, if known; on a
    self-join (``data.self_join``, deduplication) pairs of different rows in either order.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from matchsim.blocking import run_blocking
    >>> from matchsim.records import prepare
    >>> left = pd.DataFrame({"sn": ["Khan", "Lee"], "dob": ["2010-05-01", "2011-01-02"]})
    >>> right = pd.DataFrame({"sn": ["Khan", "Khan", "Lee"],
    ...                       "dob": ["2010-05-01", "2011-01-02", "2010-05-01"]})
    >>> data = prepare(left, right, {"sn": "surname", "dob": "date_of_birth"})
    >>> true_pairs = (np.array([0, 1]), np.array([0, 2]))  # (left row, right row) of true links
    >>> (left_rows, right_rows), report = run_blocking("exact:dob", data, true_pairs)
    >>> left_rows.tolist(), right_rows.tolist()
    ([0, 0, 1], [0, 2, 1])
    >>> report.candidate_pairs, report.pairs_completeness, report.reduction_ratio
    (3, 0.5, 0.5)
    """
    blocker = make_blocker(blocker)
    if measure_memory:
        tracemalloc.start()
    start = time.perf_counter()
    chunks = list(iter_pairs(blocker, data, max_pairs))
    left = np.concatenate([c[0] for c in chunks]) if chunks else np.array([], dtype=np.int64)
    right = np.concatenate([c[1] for c in chunks]) if chunks else np.array([], dtype=np.int64)
    if data.self_join and len(chunks) > 1 and not blocker.self_pairs_once:
        n = len(data.right)
        key = distinct(left.astype(np.int64) * n + right)
        left, right = key // n, key % n
    seconds = time.perf_counter() - start
    peak = None
    if measure_memory:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    report = blocking_report(blocker, data, left, right, true_pairs, seconds, peak)
    if true_pairs is not None and isinstance(blocker, Union):
        report = replace(report, passes=pass_report(blocker, data, true_pairs))
    return (left, right), report


def pass_report(
    blocker: Union, data: LinkageData, true_pairs: tuple[np.ndarray, np.ndarray]
) -> tuple[dict[str, object], ...]:
    """Which pass of a multi-pass blocking found the true pairs, and which lost them.

    Each pass is run on the left records that have a true link only (a few thousand rows
    however large the right side), so this costs a small share of the blocking itself. Per
    pass: ``pass`` (its description), ``true_pairs_found``, ``found_only_here`` (true pairs no
    other pass found) and ``missed`` (true pairs this pass lost; a pair every pass lost is
    counted in the last row, ``pass: "none (lost)"``).
    """
    n_r = len(data.right)
    if data.self_join:
        true_pairs = oriented_pairs(true_pairs[0], true_pairs[1], n_r)
    true_key = np.unique(true_pairs[0].astype(np.int64) * n_r + true_pairs[1])
    rows = np.unique(true_key // n_r)
    if data.self_join:  # a pair is listed from its smaller row, but either row may hold it
        rows = np.unique(np.r_[rows, true_key % n_r])
    found = np.zeros((len(blocker.blockers), len(true_key)), dtype=bool)
    out: list[dict[str, object]] = []
    for i, member in enumerate(blocker.blockers):
        if data.self_join:
            left, right = member.self_pairs(data, rows)
        else:
            left, right = member.pairs(data, rows)
        key = left.astype(np.int64) * n_r + right
        found[i] = np.isin(true_key, key)
        out.append({"pass": member.describe(), "candidate_pairs": len(key)})
    anywhere = found.sum(axis=0)
    for i, row in enumerate(out):
        row["true_pairs_found"] = int(found[i].sum())
        row["found_only_here"] = int((found[i] & (anywhere == 1)).sum())
        row["missed"] = int((~found[i]).sum())
    out.append(
        {
            "pass": "none (lost)",
            "candidate_pairs": 0,
            "true_pairs_found": 0,
            "found_only_here": 0,
            "missed": int((anywhere == 0).sum()),
        }
    )
    return tuple(out)


def blocking_report(
    blocker: Blocker,
    data: LinkageData,
    left: np.ndarray,
    right: np.ndarray,
    true_pairs: tuple[np.ndarray, np.ndarray] | None,
    seconds: float,
    peak: float | None = None,
) -> BlockingReport:
    """The report of candidate pairs (left rows, right rows) however they were found."""
    n_l, n_r = len(data.left), len(data.right)
    # A self-join can compare each unordered pair of different rows once.
    possible = n_l * (n_l - 1) // 2 if data.self_join else n_l * n_r
    found = total_true = None
    pc_ = pq = None
    if true_pairs is not None:
        if data.self_join:
            true_pairs = oriented_pairs(true_pairs[0], true_pairs[1], n_r)
        true_key = np.unique(true_pairs[0].astype(np.int64) * n_r + true_pairs[1])
        cand_key = left.astype(np.int64) * n_r + right
        total_true = len(true_key)
        # Look each candidate up among the (few, sorted) true keys: np.isin would sort the
        # millions of candidates instead, which took seconds for 2M pairs (numpy 2.4).
        pos = np.minimum(np.searchsorted(true_key, cand_key), max(total_true - 1, 0))
        hit = np.zeros(total_true, dtype=bool)
        if total_true:
            hit[pos[true_key[pos] == cand_key]] = True
        found = int(hit.sum())
        pc_ = found / total_true if total_true else 1.0
        pq = found / len(left) if len(left) else 0.0
    return BlockingReport(
        strategy=blocker.describe(),
        left_records=n_l,
        right_records=n_r,
        candidate_pairs=len(left),
        true_pairs=total_true,
        true_pairs_found=found,
        pairs_completeness=pc_,
        reduction_ratio=1.0 - len(left) / possible if possible else 1.0,
        pair_quality=pq,
        seconds=seconds,
        peak_memory_mb=peak,
    )
