"""Blocking: the base every strategy subclasses, its registry, and the key join they share.

Every strategy answers two questions for a subset of left records:

* :meth:`Blocker.counts` — how many candidate pairs each left record has (cheap, exact for
  single passes, an upper bound for unions), so a plan can be costed and chunked before any
  pair exists;
* :meth:`Blocker.pairs` — the pairs themselves, as two index arrays.

Pairs are produced per chunk of left records, so peak memory depends on the chunk, not on the
size of the register.

On one table against itself (deduplication, ``data.self_join``) :meth:`Blocker.self_counts`
and :meth:`Blocker.self_pairs` answer the same questions for unordered pairs of different
rows, each listed with the smaller row on the left. Exact-key passes list only the pairs whose
left row is the smaller one, so neither order of a pair is built twice; other strategies list
their pairs as for two tables and orient them.

A strategy that joins on keys (the exact passes, MinHash bands, LSH bands over encodings)
subclasses :class:`KeyJoin` and says how to compute the left keys, the sorted right side and
which candidate pairs to keep; strategies defined outside this package (peers, privacy-
preserving linkage) use only the public names here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matchsim.records import MISSING, LinkageData
from matchsim.registry import Registry

#: Above this many pairs a full comparison is refused unless forced (16 bytes a pair for the
#: two index arrays alone, before any comparison level: 50M pairs is about 0.8 GB).
FULL_COMPARISON_LIMIT = 50_000_000
BYTES_PER_PAIR = 16

BLOCKERS: Registry[Blocker] = Registry("blocker", "blocking")
blocker = BLOCKERS.register
# Blockers of other packages, imported when first built: recordlinkage's Index (which loads
# recordlinkage itself only then) and blocking over encodings (privacy-preserving linkage).
BLOCKERS.add_lazy("recordlinkage", "matchsim.peers.recordlinkage_index:RecordLinkageIndex")
BLOCKERS.add_lazy("clk_lsh", "matchsim.pprl.lsh:ClkLSH")


class Blocker:
    """Base class; subclasses validate their parameters in ``__init__``."""

    name = "blocker"

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    #: Whether :meth:`self_pairs` lists each pair only from the chunk holding its smaller row,
    #: so that the chunks of a self-join need no deduplication across them.
    self_pairs_once = False

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        """An upper bound of each row's pairs in a self-join (to plan chunks)."""
        return self.counts(data, left_rows)

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of ``left_rows`` with other rows of the same table, as (smaller, larger) row.

        By default the two-table pairs, oriented, without self-pairs and repeats; a pair may
        come again from the chunk of its other row (see :attr:`self_pairs_once`).
        """
        left, right = self.pairs(data, left_rows)
        return oriented_pairs(left, right, len(data.right))

    def describe(self) -> str:
        return self.name

    def warm(self, data: LinkageData) -> None:
        """Compute now what this strategy keeps with the right records of ``data`` and
        reuses for every linkage against them (a prepared register, before its first lookup).
        By default nothing is kept."""


def combine_keys(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One 64-bit key per record from several int64 parts, and whether all parts are present.

    A polynomial hash (multiply by a large odd constant, add the next part) costs two
    operations a part; the rare collisions are removed when pairs are verified part by part.
    The hash of one part is the part itself, which is returned as it is (not copied: callers
    must not write into the keys).
    """
    from matchsim.blocking.kernels import combine_parts  # numba: on use

    n = len(parts[0])
    if any(len(part) != n for part in parts):  # the kernel does not check its bounds
        raise ValueError(f"key parts differ in length: {[len(part) for part in parts]}")
    if len(parts) == 1:
        part = np.asarray(parts[0], dtype=np.int64)
        return part, part != MISSING
    keys, ok = np.empty(n, dtype=np.uint64), np.empty(n, dtype=bool)
    as_bits = tuple(_read_only_bits(p) for p in parts)
    combine_parts(as_bits, HASH_MULTIPLIER, keys, ok)
    return keys.view(np.int64), ok


def _read_only_bits(part: np.ndarray) -> np.ndarray:
    """A part as contiguous uint64, read-only: one array type for every part (numba cannot
    index a tuple mixing writable and read-only arrays), which the kernel only reads."""
    view = np.ascontiguousarray(part, dtype=np.int64).view(np.uint64)
    view.flags.writeable = False
    return view


HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class SortedSide:
    """The right records of a key join that have every key part, sorted by key (a stable
    sort of ascending rows, so equal keys keep row order)."""

    keys: np.ndarray  # sorted keys of the right records that have all parts
    order: np.ndarray  # right row of each sorted key
    _places: np.ndarray | None = field(default=None, repr=False)
    _run_ends: np.ndarray | None = field(default=None, repr=False)

    def places(self, n_rows: int) -> np.ndarray:
        """Each row's place in the sorted order (-1 for rows left out). Equal keys keep row
        order (a stable sort of ascending rows), so within a key the rows after a row's place
        are exactly the larger rows: a self-join takes only those."""
        if self._places is None:
            places = np.full(n_rows, -1, dtype=np.int64)
            places[self.order] = np.arange(len(self.order))
            self._places = places
        return self._places

    def run_ends(self) -> np.ndarray:
        """For each place, the end (exclusive) of its run of equal keys."""
        if self._run_ends is None:
            n = len(self.keys)
            bounds = np.r_[np.flatnonzero(self.keys[1:] != self.keys[:-1]) + 1, n]
            self._run_ends = np.repeat(bounds, np.diff(np.r_[0, bounds]))
        return self._run_ends


@dataclass
class BlockingKeys:
    """Blocking work on one side's records that does not depend on the other side, kept with
    the records (``records.state(BlockingKeys)``): a prepared register's is computed once for
    all its linkages (see :meth:`Blocker.warm`)."""

    #: per tuple of key parts: the combined key of each record and whether it has every part
    combined: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: per key part: the hash of each record's (derived) text, comparable across roles
    text: dict[str, np.ndarray] = field(default_factory=dict)
    #: right sides sorted by a key that does not depend on the left side
    sorted: dict[object, SortedSide] = field(default_factory=dict)

    def stored(self) -> dict[tuple[str, object], object]:
        """Every kept value under a flat key (``("combined", parts)``, ``("text", part)``,
        ``("sorted", key)``), to store with a prepared register; see :meth:`restored`."""
        return {
            **{("combined", k): v for k, v in self.combined.items()},
            **{("text", k): v for k, v in self.text.items()},
            **{("sorted", k): v for k, v in self.sorted.items()},
        }

    @classmethod
    def restored(cls, stored: Mapping[tuple[str, object], object]) -> BlockingKeys:
        """The keys :meth:`stored` gave (entries of unknown kinds are left out)."""
        state = cls()
        for (kind, key), value in stored.items():
            if kind in ("combined", "text", "sorted"):
                getattr(state, kind)[key] = value
        return state


@dataclass
class BlockingWork:
    """Blocking work reused across the chunks of one linkage (``data.state(BlockingWork)``),
    keyed by each strategy's settings; it lives and dies with the linkage."""

    #: right sides sorted by key (they may depend on the left side: see ``ExactKeys``)
    sorted: dict[object, SortedSide] = field(default_factory=dict)
    #: all the pairs of a strategy that finds them in one go (each chunk takes its own)
    pairs: dict[object, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: anything else a strategy builds once per linkage (its passes, per-record keys)
    other: dict[object, object] = field(default_factory=dict)


class KeyJoin(Blocker):
    """A join on one 64-bit key per record: each left record is paired with the right
    records of the same key, found in the right side sorted by key (:class:`SortedSide`).

    Subclasses say how keys are made: :meth:`left_keys` (the keys of some left rows and
    whether each is present), :meth:`sorted_right` (the right side, kept between chunks) and
    :meth:`verify` (which pairs of equal keys to keep; by default all).
    """

    def left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def sorted_right(self, data: LinkageData) -> SortedSide:
        raise NotImplementedError

    def verify(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Which candidate pairs (of equal keys) to keep: all, unless keys are hashes of
        several parts whose rare collisions must be removed."""
        return np.ones(len(left), dtype=bool)

    def _ranges(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys, ok = self.left_keys(data, rows)
        right = self.sorted_right(data)
        lo = np.searchsorted(right.keys, keys, side="left")
        hi = np.searchsorted(right.keys, keys, side="right")
        hi = np.where(ok, hi, lo)
        return lo, hi

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        lo, hi = self._ranges(data, left_rows)
        return hi - lo

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._ranges(data, left_rows)
        return self._expand(data, left_rows, lo, hi)

    def _expand(
        self, data: LinkageData, left_rows: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each left row against the sorted right rows at places ``lo`` to ``hi``."""
        n = hi - lo
        left = np.repeat(left_rows, n)
        start = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        right = self.sorted_right(data).order[start + np.arange(int(n.sum()))]
        keep = self.verify(data, left, right)
        return left[keep], right[keep]

    # A row's key on the left equals its key on the right, so a self-join takes, in the row's
    # own run of equal keys, only the places after its own: the larger rows (see
    # SortedSide.places). Each pair is built once, from its smaller row.
    self_pairs_once = True

    def _self_ranges(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Every row with all key parts is on the sorted side, so its run of equal keys is
        # known from its place: no search (searchsorted of 100k keys was most of the time).
        side = self.sorted_right(data)
        places = side.places(len(data.right))[rows]
        on_side = places >= 0
        hi = np.where(on_side, side.run_ends()[np.maximum(places, 0)], 0)
        return np.where(on_side, places + 1, 0), hi

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        lo, hi = self._self_ranges(data, left_rows)
        return hi - lo

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._self_ranges(data, left_rows)
        return self._expand(data, left_rows, lo, hi)


def dedupe_pairs(
    parts: list[tuple[np.ndarray, np.ndarray]], n_right: int
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (left, right) pairs of several passes, sorted by left then right row."""
    if not parts:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    left = np.concatenate([p[0] for p in parts]).astype(np.int64)
    right = np.concatenate([p[1] for p in parts]).astype(np.int64)
    key = distinct(left * n_right + right)
    return key // n_right, key % n_right


def sum_counts(parts: Iterable[np.ndarray]) -> np.ndarray:
    """The per-row candidate counts of several passes added up (at least one pass): an upper
    bound for their union, since a pair two passes find counts twice."""
    total = sum(parts)
    if not isinstance(total, np.ndarray):
        raise ValueError("sum_counts needs at least one pass")
    return total


def oriented_pairs(
    left: np.ndarray, right: np.ndarray, n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows of one table as distinct (smaller, larger) pairs, without self-pairs."""
    low = np.minimum(left, right).astype(np.int64)
    high = np.maximum(left, right).astype(np.int64)
    keep = low != high
    key = distinct(low[keep] * n_rows + high[keep])
    return key // n_rows, key % n_rows


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-d array, as ``np.unique`` gives them.

    Since numpy 2.3 ``np.unique`` finds distinct int64 values with a hash table; for millions
    of pair keys that was 10-16 times slower than sorting (numpy 2.4.6: 8 s against 0.5 s for
    4M keys), so pair keys are sorted instead.
    """
    if len(values) == 0:
        return values.copy()
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
