"""Vocabularies: each role's distinct normalised values, their codes, and keys derived per
value (phonetic codes, initials, postcode sectors), computed once per distinct value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError
from matchsim.hashing import HashIndex
from matchsim.records.normalise import per_record
from matchsim.records.roles import MISSING

PHONETIC = {
    "soundex": jellyfish.soundex,
    "metaphone": jellyfish.metaphone,
    "nysiis": jellyfish.nysiis,
    "match_rating": jellyfish.match_rating_codex,
}


@dataclass
class Vocabulary:
    """Normalised distinct values of one role, shared by both sides.

    ``values`` lists the right side's distinct values first, then the left side's values that
    the right side lacks, so that a prepared register keeps its codes in every linkage and its
    derived keys are computed once (``base``, the register's own vocabulary, caches them).
    """

    role: str
    values: pa.Array  # string, distinct
    base: Vocabulary | None = None  # the right side's vocabulary, a prefix of this one

    def __len__(self) -> int:
        return len(self.values)

    #: The per-value key caches a vocabulary keeps: derived key codes (:meth:`derived`), the
    #: blocking module's hashes of derived keys, derived texts (Arrow arrays) and the hash
    #: index of :meth:`lookup`.
    KEY_CACHES = ("_derived", "_derived_hashes", "_derived_text", "_lookup_index")

    def stored_keys(self) -> dict[str, dict[str, np.ndarray | pa.Array]]:
        """The derived keys computed so far, to store with a prepared register."""
        return {c: dict(self.__dict__.get(c, {})) for c in self.KEY_CACHES}

    def restore_keys(self, stored: Mapping[str, Mapping[str, np.ndarray | pa.Array]]) -> None:
        """Put back keys from :meth:`stored_keys` (of the same values)."""
        for cache, keys in stored.items():
            if cache in self.KEY_CACHES:
                self.__dict__.setdefault(cache, {}).update(keys)

    @cached_property
    def text(self) -> np.ndarray:
        return self.values.to_numpy(zero_copy_only=False).astype(object)

    @cached_property
    def _index(self) -> pd.Index:
        # Built once per vocabulary (a register's is reused by every linkage against it).
        return pd.Index(self.text)

    def lookup(self, values: pa.Array) -> np.ndarray:
        """Position of each value in this vocabulary (-1 when absent)."""
        if len(values) * 50 < len(self):
            if "hashes" in self.__dict__.get("_lookup_index", {}):
                # A few values against a big vocabulary: probe the hash index kept on it (a
                # warmed register's, or a cached one's, so no process rebuilds it).
                return self.hash_index().find(self.values, values)
            # No index kept (a register prepared for one batch): hash the vocabulary once
            # against the few values, rather than build an index of millions to probe it.
            return index_in_few(values, self.values)
        if _plain_strings(values) and _plain_strings(self.values):
            # Two vocabularies of like size (a batch's and a table's): a compiled table of
            # the strings' bytes. 3.9 ms against Arrow's 3.3-8.9 ms (it varies with the
            # process's memory) for 32,352 postcodes among 85,141; Arrow stays for the few
            # against millions above, where it hashes long values twice as fast.
            return positions_in(values, self.values)
        return index_in(values, self.values)

    def hash_index(self) -> HashIndex:
        """Sorted hashes of the values, built once (see :mod:`matchsim.hashing`)."""
        stored = self.__dict__.setdefault("_lookup_index", {})
        if "hashes" not in stored:
            built = HashIndex.build(self.values)
            stored |= {"hashes": built.hashes, "order": built.order}
        return HashIndex(stored["hashes"], stored["order"])

    def derived(self, kind: str) -> np.ndarray:
        """Integer codes of a derived key for each value (equal key -> equal code).

        Kinds: any of :data:`PHONETIC`, ``initial``, ``first3``, and for postcodes
        ``sector``, ``district``, ``area``. Missing values map to -1.
        """
        cache = self.__dict__.setdefault("_derived", {})
        if kind in cache:
            return cache[kind]
        if self.base is None:
            cache[kind] = encode_values(self.derive_text(kind, self.values))
            return cache[kind]
        # Extend the register's cached codes with the few values only the left side has.
        base_codes = self.base.derived(kind)
        base_text = self.base.__dict__.setdefault("_derived_text", {})
        if kind not in base_text:
            base_text[kind] = pc.dictionary_encode(
                self.base.derive_text(kind, self.base.values)
            ).dictionary
        extra = self.derive_text(kind, self.values.slice(len(self.base)))
        known = index_in(extra, base_text[kind])
        new = pc.dictionary_encode(extra)
        new_codes = new.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) + len(
            base_text[kind]
        )
        extra_codes = np.where(known >= 0, known, new_codes)
        extra_codes = np.where(
            pc.is_valid(extra).to_numpy(zero_copy_only=False), extra_codes, MISSING
        )
        cache[kind] = np.concatenate([base_codes, extra_codes])
        return cache[kind]

    def keys(self, kind: str, codes: np.ndarray, view: ValueBytes | None = None) -> np.ndarray:
        """Integer keys of a derived value (as :meth:`derived`) for the given codes only.

        Equal keys mean equal derived values among the codes of one call (-1: missing). A
        comparison needs keys only for the values its pairs hold, often a small share of the
        vocabulary, so this avoids deriving the whole vocabulary as :meth:`derived` does.
        ``view`` (the bytes of those codes) can be shared by several kinds of key.
        """
        cached = self.__dict__.get("_derived", {}).get(kind)
        if cached is not None:
            return cached[codes]
        fast = derived_keys(kind, view if view is not None else ValueBytes(self.values, codes))
        if fast is not None:
            return fast
        return encode_values(self.derive_text(kind, self.values.take(pa.array(codes))))

    def derive_text(self, kind: str, v: pa.Array) -> pa.Array:
        """The text of derived key ``kind`` (e.g. ``soundex``, ``sector``) of each value."""
        if kind in PHONETIC:
            fn = PHONETIC[kind]
            # Phonetic code of the first word (the family or given name proper).
            return pa.array(
                [fn(t.split(" ")[0]) if t else None for t in v.to_pylist()], pa.string()
            )
        if kind == "initial":
            return pc.utf8_slice_codeunits(v, 0, 1)
        if kind == "first3":
            return pc.utf8_slice_codeunits(v, 0, 3)
        if kind == "sector":  # all but the unit letters: "LS124"
            return pc.utf8_slice_codeunits(v, 0, -2)
        if kind == "district":  # outward code: "LS12"
            return pc.utf8_slice_codeunits(v, 0, -3)
        if kind == "area":  # leading letters: "LS"
            return pc.extract_regex(v, r"^(?P<area>[A-Z]+)").field("area")
        raise ConfigError("key", f"unknown derived key {kind!r}")

    def kept(self, name: str) -> dict:
        """The per-value cache ``name`` (one of :attr:`KEY_CACHES`, or a stage's own) that
        this vocabulary keeps, created empty on first use."""
        return self.__dict__.setdefault(name, {})


# --------------------------------------------------------------------------------------------
# Derived keys of a few values at a time
# --------------------------------------------------------------------------------------------

#: Soundex digit of each ASCII byte: 1-6 for the consonant groups, -1 for H and W (which do not
#: separate equal digits), 0 for everything else (vowels, which do).
SOUNDEX_DIGIT = np.zeros(256, dtype=np.int8)
for _letters, _digit in (("BFPV", 1), ("CGJKQSXZ", 2), ("DT", 3), ("L", 4), ("MN", 5), ("R", 6)):
    SOUNDEX_DIGIT[np.frombuffer(_letters.encode(), dtype=np.uint8)] = _digit
SOUNDEX_DIGIT[[ord("H"), ord("W")]] = -1
#: Longest first word whose Soundex code is computed here; longer ones take jellyfish's own.
SOUNDEX_MAX_WORD = 48
# The private spellings matchsim.comparison imports (until it imports the public names).


class ValueBytes:
    """The UTF-8 bytes of some vocabulary values (``values[codes]``) as a zero-padded matrix,
    built once and shared by every key derived from them."""

    _PAD = 64  # bytes of zeros after the data, so that any row's window stays inside

    def __init__(self, values: pa.Array, codes: np.ndarray) -> None:
        self.usable = pa.types.is_string(values.type) and not values.null_count
        self.codes = codes
        self._matrix = np.zeros((len(codes), 0), dtype=np.uint8)
        if not self.usable:
            return
        offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
            values.offset : values.offset + len(values) + 1
        ]
        self.start = offsets[codes].astype(np.int64)
        self.length = (offsets[codes + 1] - self.start).astype(np.int64)
        data = values.buffers()[2]
        self._raw = (
            np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        )

    @cached_property
    def _data(self) -> np.ndarray:
        return np.concatenate([self._raw, np.zeros(self._PAD, dtype=np.uint8)])

    @cached_property
    def word(self) -> np.ndarray:
        """The first 8 bytes of each value as one little-endian uint64 (byte i in bits 8i to
        8i+7), zero past the value's end. Read in place: no copy of the data."""
        raw, n = self._raw, len(self.start)
        eight = np.zeros((n, 8), dtype=np.uint8)
        near_end = self.start > len(raw) - 8
        inside = np.flatnonzero(~near_end)
        if len(inside):
            windows = np.lib.stride_tricks.sliding_window_view(raw, 8)
            eight[inside] = windows[self.start[inside]]
        for row in np.flatnonzero(near_end):  # the last few values of the buffer only
            tail = raw[self.start[row] : self.start[row] + 8]
            eight[row, : len(tail)] = tail
        word = eight.view("<u8").ravel()
        return word & _low_bytes(self.length)

    @cached_property
    def word_plain(self) -> np.ndarray:
        """Per value: its bytes within the first 8 are ASCII with no NUL."""
        return _plain_bytes(self.word, self.length)

    def plain(self, width: int) -> bool:
        """Whether every value's first ``width`` bytes are ASCII with no NUL (the byte rules
        hold for them)."""
        checked = self.__dict__.setdefault("_plain", {})
        if width not in checked:
            m = self.matrix(width)
            inside = np.arange(width) < self.length[:, None]
            checked[width] = not ((m >= 128) | ((m == 0) & inside)).any()
        return checked[width]

    def matrix(self, width: int) -> np.ndarray:
        """The first ``width`` (at most 64) bytes of each value, zero padded."""
        if self._matrix.shape[1] < width:
            windows = np.lib.stride_tricks.sliding_window_view(self._data, width)
            m = windows[self.start]
            m[np.arange(width) >= self.length[:, None]] = 0
            self._matrix = m
        return self._matrix[:, :width]


def _low_bytes(count: np.ndarray) -> np.ndarray:
    """A uint64 mask of the low ``count`` bytes (all 8 from 8 up, none from 0 down)."""
    bits = np.clip(count, 0, 8).astype(np.uint64) * np.uint64(8)
    with np.errstate(over="ignore"):
        return np.where(
            bits >= 64, np.uint64(0xFFFF_FFFF_FFFF_FFFF), (np.uint64(1) << (bits % 64)) - 1
        ).astype(np.uint64)


def _plain_bytes(word: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per word: its low ``keep`` bytes are ASCII and none is NUL."""
    ones, highs = np.uint64(0x0101_0101_0101_0101), np.uint64(0x8080_8080_8080_8080)
    inside = _low_bytes(keep)
    kept = word & inside
    x = kept | (~inside & ones)  # bytes not kept count as 0x01, so only kept NULs show
    with np.errstate(over="ignore"):
        has_zero = (x - ones) & ~x & highs  # the classic "some byte is zero" test
    return ((kept & highs) == 0) & (has_zero == 0)


def _word_keys(view: ValueBytes, keep: np.ndarray) -> np.ndarray:
    """The first ``keep`` bytes (1 to 8) of each value as an int64 key; -1 where none."""
    return np.where(keep > 0, (view.word & _low_bytes(keep)).astype(np.int64), MISSING)


def _pack(matrix: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The first ``keep[i]`` bytes of each row (at most 8, none zero) as one int64: equal keys
    if and only if equal prefixes; -1 where nothing is kept."""
    wide = np.zeros((len(matrix), 8), dtype=np.uint8)
    width = min(8, matrix.shape[1])
    wide[:, :width] = matrix[:, :width]
    packed = wide.view("<i8").ravel()  # byte i is bits 8i..8i+7: a prefix is the low bits
    low_bits = np.where(keep >= 8, np.int64(-1), (np.int64(1) << np.clip(keep, 0, 7) * 8) - 1)
    return np.where(keep > 0, packed & low_bits, MISSING)


def _soundex_keys(matrix: np.ndarray, word_length: np.ndarray) -> np.ndarray:
    """Soundex of each row's first ``word_length`` bytes (upper-case ASCII letters), packed as
    first letter and three digits; the same codes as ``jellyfish.soundex`` (a test checks)."""
    n = len(matrix)
    digits = np.zeros((n, 3), dtype=np.int64)
    count = np.ones(n, dtype=np.int64)  # characters of the code so far (the letter is one)
    last = np.maximum(SOUNDEX_DIGIT[matrix[:, 0]], 0).astype(np.int64) if n else count
    rows = np.arange(n)
    for k in range(1, matrix.shape[1]):
        live = (count < 4) & (k < word_length)
        if not live.any():
            break
        d = SOUNDEX_DIGIT[matrix[:, k]].astype(np.int64)
        emit = live & (d > 0) & (d != last)
        digits[rows[emit], count[emit] - 1] = d[emit]
        count += emit
        last = np.where(live & (d > 0), d, np.where(live & (d == 0), 0, last))
    first = matrix[:, 0].astype(np.int64) if n else count
    return (first << 24) | (digits[:, 0] << 16) | (digits[:, 1] << 8) | digits[:, 2]


def derived_keys(kind: str, view: ValueBytes) -> np.ndarray | None:
    """Integer keys of a derived value for the values of ``view`` (equal keys if and only if
    equal derived values; -1 missing), computed on their bytes; ``None`` when a value falls
    outside what the byte rules cover (not ASCII, too long), so that the caller derives the
    text instead."""
    if not view.usable:
        return None
    length = view.length
    if kind in ("initial", "first3"):
        keep = np.minimum(length, 1 if kind == "initial" else 3)
        # Only the kept bytes must be plain: the key is a prefix of them.
        if not _plain_bytes(view.word, keep).all():
            return None
        return _word_keys(view, keep)
    if kind in ("sector", "district", "area"):
        if (length > 8).any() or not view.word_plain.all():
            return None
        if kind == "area":  # the leading letters
            keep = np.zeros(len(length), dtype=np.int64)
            leading = np.ones(len(length), dtype=bool)
            for k in range(8):
                byte = (view.word >> np.uint64(8 * k)) & np.uint64(0xFF)
                leading &= (byte >= ord("A")) & (byte <= ord("Z"))
                keep += leading
        else:
            keep = length - (2 if kind == "sector" else 3)
        return _word_keys(view, keep)
    if kind == "soundex":
        width = min(int(length.max(initial=1)), SOUNDEX_MAX_WORD) + 1
        matrix = view.matrix(width)
        space = matrix == ord(" ")
        word = np.where(space.any(axis=1), np.argmax(space, axis=1), np.minimum(length, width))
        letters = (matrix >= ord("A")) & (matrix <= ord("Z"))
        if (
            (word > SOUNDEX_MAX_WORD).any()
            or (word == 0).any()
            or (~letters & (np.arange(width) < word[:, None])).any()
        ):
            return None
        return _soundex_keys(matrix, word)
    return None


def index_in(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Position of each value in ``value_set`` (-1 when absent), via Arrow's hash lookup."""
    return (
        pc.index_in(values, value_set=value_set)
        .fill_null(-1)
        .to_numpy(zero_copy_only=False)
        .astype(np.int64)
    )


def positions_in(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Position of each string of ``values`` in ``value_set`` (its first, for a value the set
    holds twice; -1 when absent or null), by a compiled hash table of the set's bytes: what
    Arrow's ``index_in`` gives. For two vocabularies of like size it takes about Arrow's time
    in a fresh process and half of it in one holding big tables (32,352 postcodes among
    85,141: 3.5-4.9 ms against 3.3-8.9 ms); Arrow hashes long values faster, so probing
    millions of addresses stays with it."""
    from matchsim.records.kernels import positions_of_texts  # numba: on use

    return positions_of_texts(*_string_buffers(value_set), *_string_buffers(values))


def _string_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A string array's int64 offsets, bytes and validity, as numpy."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    n = len(values)
    large = pa.types.is_large_string(values.type)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64 if large else np.int32)[
        values.offset : values.offset + n + 1
    ].astype(np.int64)
    buffer = values.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    valid = (
        values.is_valid().to_numpy(zero_copy_only=False)
        if values.null_count
        else np.ones(n, dtype=np.bool_)
    )
    return offsets, data, valid


def _plain_strings(values: pa.Array) -> bool:
    kind = values.type
    return (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and not values.null_count


def index_in_few(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """:func:`index_in` for a few ``values`` against a big ``value_set`` of distinct values:
    the set's values are looked up among the few (a small hash table), and the matches
    turned round."""
    distinct = pc.dictionary_encode(values)
    found = index_in(value_set, distinct.dictionary)  # per set value: which distinct value
    at = np.flatnonzero(found >= 0)
    position = np.full(len(distinct.dictionary), -1, dtype=np.int64)
    position[found[at[::-1]]] = at[::-1]  # a value repeated in the set: its first place
    return per_record(position, distinct.indices, -1)


def encode_values(values: pa.Array) -> np.ndarray:
    """Codes of equal values (``MISSING`` for null and empty text), in first-seen order."""
    encoded = pc.dictionary_encode(values)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(pc.is_null(encoded.indices).to_numpy(zero_copy_only=False), MISSING, codes)
    empty = pc.equal(values, "").fill_null(False).to_numpy(zero_copy_only=False)
    return np.where(empty, MISSING, codes).astype(np.int64)
