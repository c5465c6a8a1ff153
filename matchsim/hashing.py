"""64-bit hashes: of integers (:func:`splitmix64`) and of Arrow strings, on their bytes.

A national register's address vocabulary holds millions of values. Finding a batch's few
values in it through a pandas index first turns every value into a Python object and hashes it
(seconds, in every process); hashing the Arrow buffers in compiled code takes a fraction of
that, and a sorted array of the hashes can be kept on disk with the register.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pyarrow as pa


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A fast, well-mixed 64-bit integer hash (Steele et al., SplitMix64), vectorised.

    Written here because no maintained numpy library offers a vectorised integer hash.
    """
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@cache
def _fnv1a() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """The compiled kernel, built on first use (importing numba costs a second)."""
    import numba

    offset, prime = _FNV_OFFSET, _FNV_PRIME

    @numba.njit(cache=True, nogil=True)
    def fnv1a(offsets: np.ndarray, data: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
        for i in range(len(out)):
            h = offset
            for j in range(offsets[i], offsets[i + 1]):
                h = (h ^ np.uint64(data[j])) * prime
            out[i] = h

    return fnv1a


def hash_strings(values: pa.Array) -> np.ndarray:
    """The FNV-1a hash of each string's UTF-8 bytes (uint64); nulls hash as the empty string."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + n + 1
    ]
    buffer = values.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    out = np.empty(n, dtype=np.uint64)
    _fnv1a()(offsets.astype(np.int64), data, out)
    return out


class HashIndex:
    """Positions of strings in a fixed array of distinct strings, by sorted hashes."""

    def __init__(self, hashes: np.ndarray, order: np.ndarray) -> None:
        self.hashes = hashes  # sorted
        self.order = order  # position of each sorted hash in the indexed array

    @classmethod
    def build(cls, values: pa.Array) -> HashIndex:
        hashes = hash_strings(values)
        order = np.argsort(hashes, kind="stable")
        return cls(hashes[order], order.astype(np.int64))

    def find(self, indexed: pa.Array, wanted: pa.Array) -> np.ndarray:
        """Position of each wanted value in ``indexed`` (-1 when absent); a hash shared by two
        indexed values is resolved by comparing the strings."""
        h = hash_strings(wanted)
        lo = np.searchsorted(self.hashes, h, side="left")
        hi = np.searchsorted(self.hashes, h, side="right")
        out = np.full(len(h), -1, dtype=np.int64)
        valid = wanted.is_valid().to_numpy(zero_copy_only=False)
        text = wanted.to_numpy(zero_copy_only=False)
        for k in range(int((hi - lo).max(initial=0))):
            at = np.flatnonzero(valid & (out < 0) & (lo + k < hi))
            if not len(at):
                break
            pos = self.order[lo[at] + k]
            same = indexed.take(pa.array(pos)).to_numpy(zero_copy_only=False) == text[at]
            out[at[same]] = pos[same]
        return out
