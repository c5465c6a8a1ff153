"""Compiled text kernels for normalising a register's values (numba).

Why compiled code: an address is normalised by turning every run of characters other than
A-Z and 0-9 into one space. As an Arrow regular expression (``replace_substring_regex``) that
took 0.9 s on the 2.3 million distinct address lines of a national register, most of a
lookup's address preparation; Arrow has no per-byte translate-and-squeeze, and numpy cannot
shorten strings by different amounts without a loop. Here it is one pass over the bytes.
Postcodes take the same pass with no gap (every other character deleted).
"""

from __future__ import annotations

import ctypes

import numpy as np
import pyarrow as pa
from numba import njit

#: The bytes kept: A-Z and 0-9 (the text is upper case already).
_KEPT = np.zeros(256, dtype=np.bool_)
_KEPT[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)] = True


@njit(nogil=True, cache=True)
def _squeeze(data, offsets, kept, gap_byte):  # pragma: no cover
    """Each string's bytes with every run of bytes not ``kept`` made one ``gap_byte`` (none
    when it is negative), and none at either end: the new bytes and offsets."""
    out = np.empty(data.shape[0], dtype=np.uint8)
    new_offsets = np.empty(offsets.shape[0], dtype=np.int64)
    new_offsets[0] = 0
    at = 0
    for s in range(offsets.shape[0] - 1):
        gap = False  # a run of other bytes since the last kept one
        start = at
        for i in range(offsets[s], offsets[s + 1]):
            byte = data[i]
            if kept[byte]:
                if gap and at > start and gap_byte >= 0:
                    out[at] = gap_byte
                    at += 1
                gap = False
                out[at] = byte
                at += 1
            else:
                gap = True
        new_offsets[s + 1] = at
    return out[:at], new_offsets


def squeeze_to_letters_and_digits(text: pa.Array, gap: str = " ") -> pa.Array:
    """``replace_substring_regex(text, "[^A-Z0-9]+", gap)`` then trimming spaces, for upper-case
    text: every run of other characters (a multi-byte character is such a run) becomes
    ``gap`` (one space, or nothing for ``""``), and none is left at either end. Nulls stay
    null."""
    if not len(text):
        return text
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        text = text.cast(pa.string())  # a string view, say: the buffers below are offsets'
    if text.offset:  # a slice: buffers from its first value, so the validity bits line up
        text = pa.concat_arrays([text])
    large = pa.types.is_large_string(text.type)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[: len(text) + 1].astype(np.int64)
    buffer = text.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    gap_byte = ord(gap) if gap else -1
    squeezed, new_offsets = _squeeze(data, offsets, _KEPT, gap_byte)
    out = pa.LargeStringArray.from_buffers(
        len(text),
        pa.py_buffer(new_offsets),
        pa.py_buffer(squeezed),
        text.buffers()[0],
        text.null_count,
        0,
    )
    return out if large else out.cast(pa.string())


# --------------------------------------------------------------------------------------------
# Python strings to a dictionary-encoded Arrow array (pandas' object columns)
# --------------------------------------------------------------------------------------------
# Why compiled code: pandas holds text as one Python object per cell, and pyarrow converts
# each cell in turn, hashing nothing (about 100 ns a string: 10.6 ms for the 85,141 distinct
# postcodes 200,000 candidate pairs touch in a million-row register, then Arrow hashes them
# again to encode them). Here the cells are grouped by object first (by address: integers,
# no object touched), each distinct object's UTF-8 text is read once through CPython's
# public C API (``PyUnicode_AsUTF8AndSize``, which pyarrow's conversion calls too) and equal
# texts held by distinct objects are merged in the same pass over the bytes.

#: Fibonacci hashing's multiplier (2**64 / golden ratio), spreading addresses and hashes.
_SPREAD = np.uint64(0x9E3779B97F4A7C15)


@njit(nogil=True, cache=True)
def _table_bits(count):  # pragma: no cover
    """log2 of an open-addressing table's size: at least 1.5 slots per key."""
    bits = 4
    while (1 << bits) * 2 < 3 * count:
        bits += 1
    return bits


@njit(nogil=True, cache=True)
def group_by_address(addresses):  # pragma: no cover
    """Each row's group (rows holding the same object, by address) and each group's first
    row, groups numbered in order of first appearance."""
    n = addresses.shape[0]
    bits = _table_bits(n)
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    slot_group = np.full(1 << bits, -1, dtype=np.int32)
    slot_address = np.empty(1 << bits, dtype=np.uint64)
    group = np.empty(n, dtype=np.int32)
    first = np.empty(n, dtype=np.int64)
    groups = 0
    for row in range(n):
        address = addresses[row]
        # objects are 16-byte aligned: the low bits carry nothing
        slot = np.int64(((address >> np.uint64(4)) * _SPREAD) >> shift)
        while True:
            found = slot_group[slot]
            if found < 0:
                slot_group[slot] = groups
                slot_address[slot] = address
                first[groups] = row
                group[row] = groups
                groups += 1
                break
            if slot_address[slot] == address:
                group[row] = found
                break
            slot = (slot + 1) & mask
    return group, first[:groups]


@njit(cache=True)  # holds the GIL: it calls the C API
def read_texts(addresses, as_utf8, clear_error, copy):  # pragma: no cover
    """The UTF-8 bytes of the string objects at ``addresses`` (kept alive by the caller),
    packed, and each one's start and end in them; ``failed`` marks the objects that are not
    strings (or not valid Unicode), whose start and end are equal.

    ``as_utf8`` is ``PyUnicode_AsUTF8AndSize``, ``clear_error`` ``PyErr_Clear`` and ``copy``
    ``memmove``, passed in so that the compiled code can be cached. The bytes are copied in a
    second pass: the first only asks each object where its text is, so that the reads of
    objects scattered over memory overlap."""
    n = addresses.shape[0]
    size = np.zeros(1, dtype=np.int64)
    pointer = np.zeros(n, dtype=np.uint64)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    failed = np.zeros(n, dtype=np.bool_)
    at = 0
    for i in range(n):
        p = as_utf8(addresses[i], size.ctypes.data)
        starts[i] = at
        if p == 0:
            clear_error()
            failed[i] = True
        else:
            pointer[i] = p
            at += size[0]
        ends[i] = at
    data = np.empty(at, dtype=np.uint8)
    base = data.ctypes.data
    for i in range(n):
        if ends[i] > starts[i]:
            copy(base + starts[i], pointer[i], ends[i] - starts[i])
    return data, starts, ends, failed


#: Values :func:`distinct_texts` first makes room for; its table doubles as more arrive, so
#: that many objects holding few values keep a table that stays in cache (two million name
#: objects holding 200,000 names: 0.36 s sized for every object, 0.13 s grown).
_FIRST_VALUES = 1 << 17


@njit(nogil=True, cache=True)
def distinct_texts(data, starts, ends, skip):  # pragma: no cover
    """Merge equal byte strings (string ``i`` is ``data[starts[i]:ends[i]]``; those marked
    ``skip`` are left out, as value -1): each string's value number (values in order of first
    appearance) and the values' Arrow buffers (int64 offsets, bytes). The text is hashed
    (FNV-1a) where it lies and copied out only when it is new; the table grows with the
    values (``_FIRST_VALUES``)."""
    n = starts.shape[0]
    bits = _table_bits(min(n, _FIRST_VALUES))
    slot_value = np.full(1 << bits, -1, dtype=np.int32)
    value_hash = np.empty(max(n, 1), dtype=np.uint64)
    value_of = np.full(n, -1, dtype=np.int32)
    out = np.empty(data.shape[0], dtype=np.uint8)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    values = 0
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    for i in range(n):
        if skip[i]:
            continue
        if 3 * values >= 2 * (1 << bits):  # two thirds full: twice the slots
            bits += 1
            slot_value = _rehashed(value_hash, values, bits)
            mask = (1 << bits) - 1
            shift = np.uint64(64 - bits)
        start, end = starts[i], ends[i]
        length = end - start
        h = np.uint64(0xCBF29CE484222325)
        for j in range(start, end):
            h = (h ^ np.uint64(data[j])) * np.uint64(0x100000001B3)
        slot = np.int64((h * _SPREAD) >> shift)
        while True:
            found = slot_value[slot]
            if found < 0:  # a new value
                slot_value[slot] = values
                value_hash[values] = h
                at = offsets[values]
                for k in range(length):
                    out[at + k] = data[start + k]
                offsets[values + 1] = at + length
                value_of[i] = values
                values += 1
                break
            if value_hash[found] == h and offsets[found + 1] - offsets[found] == length:
                a = offsets[found]
                same = True
                for k in range(length):
                    if out[a + k] != data[start + k]:
                        same = False
                        break
                if same:
                    value_of[i] = found
                    break
            slot = (slot + 1) & mask
    return value_of, offsets[: values + 1], out[: offsets[values]]


@njit(nogil=True, cache=True)
def _rehashed(value_hash, values, bits):  # pragma: no cover
    """A table of ``2**bits`` slots holding the values so far, each at its hash's slot."""
    slot_value = np.full(1 << bits, -1, dtype=np.int32)
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    for v in range(values):
        slot = np.int64((value_hash[v] * _SPREAD) >> shift)
        while slot_value[slot] >= 0:
            slot = (slot + 1) & mask
        slot_value[slot] = v
    return slot_value


def distinct_texts_of_objects(
    addresses: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct texts of the string objects at ``addresses``: each object's value number
    (-1: not a string, or not valid Unicode) and the values' Arrow buffers (int64 offsets,
    UTF-8 bytes). :func:`read_texts` with CPython's functions, then :func:`distinct_texts`."""
    data, starts, ends, failed = read_texts(addresses, _AS_UTF8, _CLEAR_ERROR, ctypes.memmove)
    return distinct_texts(data, starts, ends, failed)


_AS_UTF8 = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
    ("PyUnicode_AsUTF8AndSize", ctypes.pythonapi)
)
_CLEAR_ERROR = ctypes.CFUNCTYPE(None)(("PyErr_Clear", ctypes.pythonapi))


@njit(nogil=True, cache=True)
def bytes_within(offsets, data, allowed, spaced):  # pragma: no cover
    """Whether every byte of every string (``data[offsets[i]:offsets[i + 1]]``) is
    ``allowed``, and with ``spaced``, whether no string starts or ends with a space or holds
    two in a row: one pass over the bytes, stopping at the first that fails."""
    space = np.uint8(32)
    for i in range(offsets.shape[0] - 1):
        start, end = offsets[i], offsets[i + 1]
        if spaced and end > start and (data[start] == space or data[end - 1] == space):
            return False
        previous_space = False
        for j in range(start, end):
            byte = data[j]
            if not allowed[byte]:
                return False
            if spaced:
                if byte == space and previous_space:
                    return False
                previous_space = byte == space
    return True


#: The multiplier of :func:`_hash_bytes` (SplitMix64's second: odd, well mixed).
_MIX = np.uint64(0x94D049BB133111EB)


@njit(nogil=True, inline="always")
def _hash_bytes(data, start, end):  # pragma: no cover
    """A 64-bit hash of ``data[start:end]``, eight bytes a step (the byte loop compiles to one
    load), each word mixed in by a multiply and a shift: long values (addresses) hash at
    several bytes a cycle. For hash tables, never stored."""
    h = np.uint64(end - start) * _SPREAD
    j = start
    while j + 8 <= end:
        word = np.uint64(0)
        for k in range(8):
            word |= np.uint64(data[j + k]) << np.uint64(8 * k)
        h = (h ^ word) * _MIX
        h ^= h >> np.uint64(29)
        j += 8
    word = np.uint64(0)
    for k in range(end - j):
        word |= np.uint64(data[j + k]) << np.uint64(8 * k)
    h = (h ^ word) * _MIX
    return h ^ (h >> np.uint64(32))


@njit(nogil=True, inline="always")
def _same_bytes(a_data, a, b_data, b, length):  # pragma: no cover
    for k in range(length):
        if a_data[a + k] != b_data[b + k]:
            return False
    return True


@njit(nogil=True, inline="always")
def _slot_of_text(
    slot_entry, entry_hash, set_offsets, set_data, data, start, end, h, bits
):  # pragma: no cover
    """The slot of ``data[start:end]`` (hash ``h``) in a table of the set's entries: the one
    holding an equal entry, or the empty one where it would go."""
    mask = (1 << bits) - 1
    slot = np.int64((h * _SPREAD) >> np.uint64(64 - bits))
    while True:
        found = slot_entry[slot]
        if found < 0:
            return slot
        f_start = set_offsets[found]
        if (
            entry_hash[found] == h
            and set_offsets[found + 1] - f_start == end - start
            and _same_bytes(set_data, f_start, data, start, end - start)
        ):
            return slot
        slot = (slot + 1) & mask


@njit(nogil=True, cache=True)
def positions_of_texts(set_offsets, set_data, set_valid, offsets, data, valid):  # pragma: no cover
    """Position of each string ``i`` (``data[offsets[i]:offsets[i + 1]]``, where ``valid``)
    among the strings of the set (its first, for one the set holds twice), or -1."""
    m, n = set_offsets.shape[0] - 1, offsets.shape[0] - 1
    bits = _table_bits(m)
    slot_entry = np.full(1 << bits, -1, dtype=np.int32)
    entry_hash = np.empty(max(m, 1), dtype=np.uint64)
    for e in range(m):
        if not set_valid[e]:
            continue
        start, end = set_offsets[e], set_offsets[e + 1]
        h = _hash_bytes(set_data, start, end)
        entry_hash[e] = h
        slot = _slot_of_text(
            slot_entry, entry_hash, set_offsets, set_data, set_data, start, end, h, bits
        )
        if slot_entry[slot] < 0:  # a value seen twice keeps its first position
            slot_entry[slot] = e
    out = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if valid[i]:
            start, end = offsets[i], offsets[i + 1]
            h = _hash_bytes(data, start, end)
            slot = _slot_of_text(
                slot_entry, entry_hash, set_offsets, set_data, data, start, end, h, bits
            )
            out[i] = slot_entry[slot]  # -1: an empty slot, no such value
    return out
