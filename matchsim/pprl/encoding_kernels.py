"""Compiled Bloom-filter encoding kernels (numba): q-grams cut and bits set in one pass each.

Why compiled code: the numpy path of :class:`matchsim.pprl.encoding.BloomEncoder` lists every
value's tokens in arrays, sorts them to find the distinct ones, builds one filter per distinct
token and ORs each value's token filters with ``np.bitwise_or.reduceat``. Those passes and
temporaries cost far more than the few bit writes each token needs. These kernels cut the
q-grams straight from the values' code points, number the distinct (salt, q-gram) pairs with
a hash table, and set each value's bits directly in its output row.

The keyed hash (HMAC-SHA256) is not here: it runs in Python on each distinct (salt, q-gram)
pair, between :func:`distinct_pairs` and :func:`set_bits`. Every kernel reproduces the numpy
path bit for bit (``tests/pprl/test_encoding_kernels.py`` checks them against each other on
hypothesis-generated values); :mod:`matchsim.pprl.encoding` loads this module only when the
numba kernel is chosen.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: The padding character that marks the start and end of a value (``#``).
PAD = 35
#: Bits per code point in a q-gram's code (a code point fits in 21 bits; three make 63).
_SHIFT = 21
#: Multiplier of the hash table's Fibonacci hashing (2**64 / golden ratio, odd).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(nogil=True, cache=True)
def cut_grams(points, starts, q):  # pragma: no cover
    """Codes of each value's q-grams, value by value, and where each value's run starts.

    ``points`` holds the values' code points one after another, value ``i`` at
    ``starts[i]:starts[i + 1]``. A non-empty value is padded with ``#`` at each end when
    ``q > 1``. With ``q == 1`` (no padding) trailing NUL characters are not part of a value,
    as in the numpy path, which reads values from fixed-width numpy strings.
    """
    n = starts.shape[0] - 1
    gram_starts = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        size = starts[i + 1] - starts[i]
        if q == 1:
            while size > 0 and points[starts[i] + size - 1] == 0:
                size -= 1
            grams = size
        else:
            grams = size + 3 - q if size > 0 else 0
        gram_starts[i + 1] = gram_starts[i] + grams
    codes = np.empty(gram_starts[n], dtype=np.int64)
    for i in range(n):
        first = starts[i]
        size = starts[i + 1] - first
        padded = size + 2 if q > 1 else size
        for g in range(gram_starts[i + 1] - gram_starts[i]):
            code = np.int64(0)
            for j in range(q):
                at = g + j  # position in the padded value
                if q > 1:
                    point = PAD if at == 0 or at == padded - 1 else points[first + at - 1]
                else:
                    point = points[first + at]
                code = (code << _SHIFT) | np.int64(point)
            codes[gram_starts[i] + g] = code
    return codes, gram_starts


@njit(nogil=True, cache=True)
def distinct_pairs(codes, gram_starts, salt_of):  # pragma: no cover
    """Number the distinct (salt, q-gram) pairs in order of first appearance.

    Returns the pair number of each q-gram (as listed by :func:`cut_grams`), and the salt
    and q-gram code of each distinct pair. An open-addressing hash table finds them in one
    pass; it doubles, between values, before it would be more than half full.
    """
    n = salt_of.shape[0]
    longest = 0
    for i in range(n):
        longest = max(longest, gram_starts[i + 1] - gram_starts[i])
    capacity = 1024
    while capacity // 2 < longest:
        capacity *= 2
    table = np.full(capacity, -1, dtype=np.int64)
    pair_salt = np.empty(capacity // 2, dtype=np.int64)
    pair_code = np.empty(capacity // 2, dtype=np.int64)
    pair_of = np.empty(codes.shape[0], dtype=np.int64)
    done, found = 0, 0
    while True:
        done, found = _insert(
            codes, gram_starts, salt_of, done, table, pair_salt, pair_code, found, pair_of
        )
        if done == n:
            return pair_of, pair_salt[:found].copy(), pair_code[:found].copy()
        capacity *= 2
        pair_salt = _grown(pair_salt, capacity // 2)
        pair_code = _grown(pair_code, capacity // 2)
        table = np.full(capacity, -1, dtype=np.int64)
        for pair in range(found):
            slot = _slot(pair_code[pair], pair_salt[pair], capacity - 1)
            while table[slot] >= 0:
                slot = (slot + 1) & (capacity - 1)
            table[slot] = pair


@njit(nogil=True, cache=True)
def _slot(code, salt, mask):  # pragma: no cover
    mixed = np.uint64(code) ^ (np.uint64(salt) * _GOLDEN)
    return np.int64((mixed * _GOLDEN) >> np.uint64(40)) & mask


@njit(nogil=True, cache=True)
def _insert(
    codes, gram_starts, salt_of, first, table, pair_salt, pair_code, found, pair_of
):  # pragma: no cover
    """Number the pairs of values ``first``, ``first + 1``, ... until the next value could
    fill the table more than half; returns the first value not done and the pairs found.
    (A loop that never replaces its arrays compiles to far faster code than one that may.)"""
    mask = table.shape[0] - 1
    limit = table.shape[0] // 2
    for i in range(first, salt_of.shape[0]):
        if found + gram_starts[i + 1] - gram_starts[i] > limit:
            return i, found
        salt = salt_of[i]
        for at in range(gram_starts[i], gram_starts[i + 1]):
            code = codes[at]
            slot = _slot(code, salt, mask)
            while True:
                pair = table[slot]
                if pair < 0:
                    pair = found
                    table[slot] = pair
                    pair_salt[pair] = salt
                    pair_code[pair] = code
                    found += 1
                    break
                if pair_code[pair] == code and pair_salt[pair] == salt:
                    break
                slot = (slot + 1) & mask
            pair_of[at] = pair
    return salt_of.shape[0], found


@njit(nogil=True, cache=True)
def _grown(values, size):  # pragma: no cover
    out = np.empty(size, dtype=values.dtype)
    out[: values.shape[0]] = values
    return out


@njit(nogil=True, cache=True)
def set_bits(gram_starts, pair_of, positions, out):  # pragma: no cover
    """Set the bits of each value's q-grams in its row of ``out`` (uint64 words whose bytes
    are the packed layout of the numpy path: bit ``i`` is bit ``7 - i % 8`` of byte
    ``i // 8``).

    When a row is no more than twice as many words as a q-gram sets bits, each distinct pair
    first gets its own filter and a value ORs whole words (which the compiler vectorises);
    otherwise each bit is set on its own.
    """
    k = positions.shape[1]
    words = out.shape[1]
    if words <= 2 * k:
        token = np.zeros((positions.shape[0], words), dtype=np.uint64)
        _set_positions(positions, token.view(np.uint8))
        for i in range(out.shape[0]):
            for at in range(gram_starts[i], gram_starts[i + 1]):
                pair = pair_of[at]
                for w in range(words):
                    out[i, w] |= token[pair, w]
    else:
        bytes_ = out.view(np.uint8)
        for i in range(out.shape[0]):
            for at in range(gram_starts[i], gram_starts[i + 1]):
                pair = pair_of[at]
                for j in range(k):
                    bit = positions[pair, j]
                    bytes_[i, bit >> 3] |= np.uint8(0x80 >> (bit & 7))


@njit(nogil=True, cache=True)
def _set_positions(positions, out):  # pragma: no cover
    """Row ``p`` of ``out`` (bytes) gets the bits ``positions[p]``."""
    for p in range(positions.shape[0]):
        for j in range(positions.shape[1]):
            bit = positions[p, j]
            out[p, bit >> 3] |= np.uint8(0x80 >> (bit & 7))


@njit(nogil=True, cache=True)
def or_rows(out, filters, rows):  # pragma: no cover
    """``out[i] |= filters[rows[i]]`` for every row ``i``: a record's CLK gathers a field."""
    words = out.shape[1]
    for i in range(out.shape[0]):
        row = rows[i]
        for w in range(words):
            out[i, w] |= filters[row, w]


_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(nogil=True, cache=True)
def blip_rows(as_bytes, record, key, below):  # pragma: no cover
    """BLIP's flips (:func:`matchsim.pprl.hardening.blip`), in place on a byte view of the
    filters (rows x bytes): bit ``j`` of row ``i`` (byte ``j // 8``, mask ``0x80 >> j % 8``)
    flips when SplitMix64 of counter ``record[i] * bits + j`` from ``key`` is below
    ``below``. One hash per bit, no temporaries: the numpy reference holds a rows x bits
    matrix of them."""
    n, width = as_bytes.shape
    bits = np.uint64(width * 8)
    one = np.uint64(1)
    for i in range(n):
        base = np.uint64(record[i]) * bits
        for byte in range(width):
            mask = 0
            for k in range(8):
                z = key + (base + np.uint64(byte * 8 + k) + one) * _GOLDEN
                z = (z ^ (z >> np.uint64(30))) * _MIX1
                z = (z ^ (z >> np.uint64(27))) * _MIX2
                z = z ^ (z >> np.uint64(31))
                if z < below:
                    mask |= 0x80 >> k
            as_bytes[i, byte] ^= np.uint8(mask)
