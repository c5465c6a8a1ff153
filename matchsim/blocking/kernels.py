"""Compiled blocking kernels (numba).

Why compiled code: a lookup batch of 10,000 requests against a national register probes every
register key against the batch's few thousand keys, once per blocking pass, and then sorts the
register rows that match. With pandas' hash index and numpy's ``argsort`` that took about 3 s
of a 5 s batch on the 9.1M census: a hash probe per register row through pandas' generic
index, and a comparison sort of up to millions of matching rows. Both are one pass here: a
small open-addressing table of the batch's keys, behind a bit filter that fits in the L1 cache,
and a counting sort by the
rank of each matched key, which keeps rows of equal keys in row order as a stable sort would.
numpy has no hash-set probe over int64 keys (``np.isin`` sorts both sides), and pandas' index
cannot hand back the rank the counting sort needs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matchsim.records.roles import MISSING

_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: spreads nearby keys apart
_MISSING_BITS = np.int64(MISSING).view(np.uint64)  # MISSING, as a part viewed as uint64


@njit(nogil=True, cache=True)
def combine_parts(parts, multiplier, keys, ok):  # pragma: no cover
    """``keys[i]``: the polynomial hash of row ``i``'s parts (``acc * multiplier + part``
    in 64-bit arithmetic that wraps, from 0); ``ok[i]``: whether no part is ``MISSING``.
    Parts and keys are int64 arrays viewed as uint64 (numba converts a negative int64 to
    uint64 by value, not by bits).

    One pass writing two arrays. numpy's expression of it (``combine_keys``' reference, in the
    tests) made four 73 MB temporaries a part at national size, each a fresh mapping whose
    pages the kernel zeroes on first touch: 0.3 s a blocking pass instead of 0.03 s.
    """
    for i in range(keys.shape[0]):
        acc = np.uint64(0)
        present = True
        for j in range(len(parts)):
            part = parts[j][i]
            present &= part != _MISSING_BITS
            acc = acc * multiplier + part
        keys[i] = acc
        ok[i] = present


@njit(nogil=True, cache=True)
def _table_bits(count):  # pragma: no cover
    """Bits of a table with at least twice ``count`` slots (and at least 2 bits)."""
    bits = 2
    while (1 << bits) < 2 * count:
        bits += 1
    return bits


@njit(nogil=True, inline="always")
def _slot(key, bits):  # pragma: no cover
    return np.int64((np.uint64(key) * _FIBONACCI) >> np.uint64(64 - bits))


@njit(nogil=True, cache=True)
def _build(wanted, bits):  # pragma: no cover
    """An open-addressing table of ``wanted`` (distinct keys): slot -> key and its rank."""
    size = 1 << bits
    slot_key = np.zeros(size, dtype=np.int64)
    slot_rank = np.full(size, -1, dtype=np.int64)
    for rank in range(wanted.shape[0]):
        key = wanted[rank]
        slot = _slot(key, bits)
        while slot_rank[slot] >= 0:
            slot = (slot + 1) & (size - 1)
        slot_key[slot] = key
        slot_rank[slot] = rank
    return slot_key, slot_rank


@njit(nogil=True, inline="always")
def _rank_of(key, slot_key, slot_rank, bits):  # pragma: no cover
    """The rank of ``key`` among the wanted keys, or -1."""
    mask = (1 << bits) - 1
    slot = _slot(key, bits)
    while slot_rank[slot] >= 0:
        if slot_key[slot] == key:
            return slot_rank[slot]
        slot = (slot + 1) & mask
    return -1


#: Bits of the filter in front of the table: 2^17 bits (16 KiB) stay in the L1 cache, and
#: with 10,000 wanted keys let through about 7% of the keys that are not wanted. Most register
#: keys are not wanted, and without the filter each of them cost a probe of the table (which
#: outgrows the L1 cache), so the kernel ran no faster than pandas' index.
_FILTER_BITS = 17


@njit(nogil=True, cache=True)
def _filter(wanted):  # pragma: no cover
    """A bit per hash value of the top ``_FILTER_BITS`` bits: set when a wanted key has it."""
    words = np.zeros(1 << (_FILTER_BITS - 6), dtype=np.uint64)
    for rank in range(wanted.shape[0]):
        bit = _slot(wanted[rank], _FILTER_BITS)
        words[bit >> 6] |= np.uint64(1) << np.uint64(bit & 63)
    return words


@njit(nogil=True, inline="always")
def _may_be_wanted(key, words):  # pragma: no cover
    bit = _slot(key, _FILTER_BITS)
    return (words[bit >> 6] >> np.uint64(bit & 63)) & np.uint64(1) != 0


@njit(nogil=True, cache=True)
def rows_with_wanted_keys(keys, ok, wanted):  # pragma: no cover
    """The rows ``i`` with ``ok[i]`` and ``keys[i]`` among ``wanted`` (distinct keys in
    ascending order), ordered by key and then by row; and each one's key.

    The same as ``rows = flatnonzero(ok & isin(keys, wanted))`` followed by a stable argsort
    of ``keys[rows]``: one pass counts the rows per wanted key, a second places them in row
    order (a counting sort, no comparison sort). Collecting the matches in the first pass
    instead, to skip the second, ran slower.
    """
    bits = _table_bits(wanted.shape[0])
    slot_key, slot_rank = _build(wanted, bits)
    words = _filter(wanted)
    start = np.zeros(wanted.shape[0] + 1, dtype=np.int64)
    for i in range(keys.shape[0]):
        if ok[i] and _may_be_wanted(keys[i], words):
            rank = _rank_of(keys[i], slot_key, slot_rank, bits)
            if rank >= 0:
                start[rank + 1] += 1
    for rank in range(wanted.shape[0]):
        start[rank + 1] += start[rank]
    found = start[wanted.shape[0]]
    rows = np.empty(found, dtype=np.int64)
    sorted_keys = np.empty(found, dtype=np.int64)
    for i in range(keys.shape[0]):
        if ok[i] and _may_be_wanted(keys[i], words):
            rank = _rank_of(keys[i], slot_key, slot_rank, bits)
            if rank >= 0:
                place = start[rank]
                rows[place] = i
                sorted_keys[place] = wanted[rank]
                start[rank] = place + 1
    return sorted_keys, rows
