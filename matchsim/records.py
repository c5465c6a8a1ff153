"""Two tables of records, normalised and encoded for blocking and comparison.

Any pair of tables can be linked once their columns are mapped to **roles** (``id``,
``forename``, ``middle_names``, ``surname``, ``date_of_birth``, ``sex``, ``postcode``,
``address``). Each string role is normalised (case, accents, punctuation, spacing) and
dictionary-encoded with one vocabulary shared by both sides, so that:

* equal values have equal integer codes on both sides (exact agreement is an integer test);
* every derived key (phonetic codes, initials, postcode sector/district/area) is computed once
  per distinct value, not once per record;
* similarity scores are computed once per distinct pair of values, and names repeat heavily.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError
from matchsim.hashing import HashIndex
from matchsim.synth import calendar as cal

#: A stage's state kept with records or a linkage (see :meth:`Records.state`)
S = TypeVar("S")


def _state(cache: dict[object, object], kind: type[S]) -> S:
    # Keyed by the class itself: no two stages can share a key by accident.
    found = cache.get(kind)
    if found is None:
        found = cache[kind] = kind()
    return found  # type: ignore[return-value]


ROLES = ("id", "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "address")
NAME_ROLES = ("forename", "middle_names", "surname")
STRING_ROLES = ("forename", "middle_names", "surname", "postcode", "address")
#: Every role that holds a value about the person (all but ``id``), in ROLES order.
VALUE_ROLES = tuple(role for role in ROLES if role != "id")
#: The roles the peer engines compare and block on (middle names are left out, as matchsim's
#: default comparisons leave them out).
PEER_ROLES = tuple(role for role in VALUE_ROLES if role != "middle_names")
MISSING = -1
#: Missing date of birth. Not -1: that is 1969-12-31 in days since 1970.
MISSING_DATE = np.iinfo(np.int64).min // 4
_DATE_SHIFT = 1_000_000  # days: keys of real dates from year -770 on are non-negative

#: Street-type abbreviations expanded before addresses are compared (Royal Mail PAF forms).
ADDRESS_ABBREVIATIONS = {
    "RD": "ROAD",
    "ST": "STREET",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "LN": "LANE",
    "DR": "DRIVE",
    "CL": "CLOSE",
    "CRES": "CRESCENT",
    "GDNS": "GARDENS",
    "PL": "PLACE",
    "CT": "COURT",
    "TERR": "TERRACE",
    "TER": "TERRACE",
    "SQ": "SQUARE",
    "GR": "GROVE",
    "PK": "PARK",
}

PHONETIC = {
    "soundex": jellyfish.soundex,
    "metaphone": jellyfish.metaphone,
    "nysiis": jellyfish.nysiis,
    "match_rating": jellyfish.match_rating_codex,
}

_UNDECOMPOSABLE = str.maketrans({"Ł": "L", "Ø": "O", "Đ": "D", "Æ": "AE", "Œ": "OE", "Þ": "TH"})


def normalise_name(value: str) -> str:
    """Upper case, accents stripped, letters only, single spaces (hyphens become spaces)."""
    decomposed = unicodedata.normalize("NFKD", value.upper())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(
        _UNDECOMPOSABLE
    )
    return " ".join(re.sub(r"[^A-Z ]+", " ", letters.replace("-", " ")).split())


# Letters that NFKD does not split into a base letter and an accent.
_LETTER_REPLACEMENTS = {
    "Ł": "L",
    "Ø": "O",
    "Đ": "D",
    "ß": "SS",
    "ẞ": "SS",
    "Æ": "AE",
    "Œ": "OE",
    "Þ": "TH",
}


def normalise_names(values: pa.Array) -> pa.Array:
    """:func:`normalise_name` for a whole array, in Arrow (no Python loop)."""
    text = normalise_names_letters(values)
    text = pc.replace_substring_regex(text, r"[^A-Z]+", " ")
    return pc.utf8_trim_whitespace(text)


def normalise_names_letters(values: pa.Array) -> pa.Array:
    """Upper case with accents stripped and letters NFKD cannot split spelled out."""
    text = pc.utf8_normalize(pc.utf8_upper(values), "NFKD")
    text = pc.replace_substring_regex(text, r"\p{Mn}+", "")
    for src, dst in _LETTER_REPLACEMENTS.items():
        text = pc.replace_substring(text, src, dst)
    return text


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
            # A few values against a big vocabulary: probe a hash index kept on the vocabulary
            # (and stored with a cached register, so a new process does not rebuild it).
            return self.hash_index().find(self.values, values)
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
            cache[kind] = _encode(self.derive_text(kind, self.values))
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
        return _encode(self.derive_text(kind, self.values.take(pa.array(codes))))

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

    # The private spelling tests/comparison/test_keys.py uses (until it uses derive_text).
    _derive_text = derive_text

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
_SOUNDEX_DIGIT, _MAX_WORD = SOUNDEX_DIGIT, SOUNDEX_MAX_WORD


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


def _encode(values: pa.Array) -> np.ndarray:
    encoded = pc.dictionary_encode(values)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(pc.is_null(encoded.indices).to_numpy(zero_copy_only=False), MISSING, codes)
    empty = pc.equal(values, "").fill_null(False).to_numpy(zero_copy_only=False)
    return np.where(empty, MISSING, codes).astype(np.int64)


@dataclass
class Records:
    """One side of a linkage: ids and encoded roles (codes index the shared vocabularies)."""

    ids: np.ndarray
    codes: dict[str, np.ndarray]  # role -> int64 codes, -1 when missing
    dob: np.ndarray  # int64 days since 1970-01-01, MISSING_DATE when missing
    sex: np.ndarray  # int8: 0 M, 1 F, -1 missing
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # passthrough columns
    #: derived arrays of these records, and each stage's state (:meth:`state`); a prepared
    #: register shares one across all its linkages, since its codes and derived keys never
    #: change between them. Stages use :meth:`state`; string keys here are read by
    #: ``matchsim.linkage``, ``matchsim.world``, ``matchsim.namesakes`` and
    #: ``matchsim.pprl.records`` only until they move to states of their own.
    cache: dict[object, object] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def state(self, kind: type[S]) -> S:
        """The state a stage keeps with these records: the one instance of ``kind`` (a class
        the stage defines, built with no arguments on first use). A prepared register's
        records share theirs across all its linkages, so ``kind`` must hold only what
        depends on these records alone."""
        return _state(self.cache, kind)

    def id_index(self) -> pd.Index:
        """A pandas index of the ids (built once: 9M ids take seconds)."""
        index = self.cache.get("id_index")
        if index is None:
            index = self.cache["id_index"] = pd.Index(self.ids)
        return index  # type: ignore[return-value]

    def ids_ascending(self) -> bool:
        """Whether the ids are integers in strictly ascending order (checked once)."""
        cached = self.cache.get("ids_ascending")
        if cached is None:
            ids = self.ids
            cached = np.array(
                ids.dtype.kind in "iu" and (len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()))
            )
            self.cache["ids_ascending"] = cached
        return bool(cached)

    @property
    def dob_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Year, month and day of each birth date (MISSING where unknown); cached."""
        if "dob_parts" not in self.cache:
            self.cache["dob_parts"] = self._dob_parts()
        return self.cache["dob_parts"]  # type: ignore[return-value]

    def _dob_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ok = self.dob != MISSING_DATE
        y, m, d = cal.year_month_day(np.where(ok, self.dob, 0))
        return np.where(ok, y, MISSING), np.where(ok, m, MISSING), np.where(ok, d, MISSING)

    def role_codes(
        self, role: str, vocabularies: Mapping[str, Vocabulary]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One role as (an int64 code per record, the distinct texts the codes index): codes
        are MISSING where the value is missing or the role is not mapped. Dates of birth are
        ISO texts (``2012-03-04``), sex ``M``/``F``."""
        if role == "date_of_birth":
            present = self.dob != MISSING_DATE
            distinct, inverse = np.unique(self.dob[present], return_inverse=True)
            codes = np.full(len(self), MISSING, dtype=np.int64)
            codes[present] = inverse.ravel()
            days = distinct.astype("datetime64[D]")
            return codes, np.datetime_as_string(days, unit="D").astype(object)
        if role == "sex":
            return self.sex.astype(np.int64), np.array(["M", "F"], dtype=object)
        if role in self.codes and role in vocabularies:
            return self.codes[role], vocabularies[role].text
        return np.full(len(self), MISSING, dtype=np.int64), np.array([], dtype=object)

    def key(self, part: str, vocabularies: Mapping[str, Vocabulary]) -> np.ndarray:
        """An int64 key per record for a blocking part such as ``surname:soundex`` or ``dob``."""
        cache_key = ("key", part)
        if cache_key not in self.cache:
            self.cache[cache_key] = self._key(part, vocabularies)
        return self.cache[cache_key]  # type: ignore[return-value]

    def _key(self, part: str, vocabularies: Mapping[str, Vocabulary]) -> np.ndarray:
        if part == "dob":
            # Shifted so that every real date is >= 0 and only a missing one is MISSING.
            return np.where(self.dob == MISSING_DATE, MISSING, self.dob + _DATE_SHIFT)
        if part in ("birth_year", "birth_month", "birth_day"):
            return self.dob_parts[("birth_year", "birth_month", "birth_day").index(part)].copy()
        if part == "sex":
            return self.sex.astype(np.int64)
        role, _, kind = part.partition(":")
        if role not in self.codes:
            raise ConfigError(
                "blocking", f"key {part!r} needs the role {role!r}, which is not mapped"
            )
        codes = self.codes[role]
        if not kind:
            return codes.copy()
        derived = vocabularies[role].derived(kind)
        return np.where(codes >= 0, derived[np.maximum(codes, 0)], MISSING)


@dataclass
class LinkageData:
    """Left and right records with their shared vocabularies.

    Each stage keeps the work it reuses across chunks of this linkage (sorted right-hand keys,
    for instance) in its own :meth:`state`; it lives and dies with the linkage, so no result
    can leak into another.
    """

    left: Records
    right: Records
    vocabularies: dict[str, Vocabulary]
    cache: dict[object, object] = field(default_factory=dict, repr=False)
    #: one table against itself (deduplication, see :func:`self_linkage`): ``left`` and
    #: ``right`` are the same records, and a pair is an unordered pair of two different rows,
    #: listed once with the smaller row on the left
    self_join: bool = False

    def state(self, kind: type[S]) -> S:
        """The state a stage keeps for this linkage: the one instance of ``kind`` (a class
        the stage defines, built with no arguments on first use)."""
        return _state(self.cache, kind)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(r for r in STRING_ROLES if r in self.vocabularies) + tuple(
            r for r in ("date_of_birth", "sex") if self._has(r)
        )

    def _has(self, role: str) -> bool:
        if role == "date_of_birth":
            return bool(
                (self.left.dob != MISSING_DATE).any() or (self.right.dob != MISSING_DATE).any()
            )
        return bool((self.left.sex != MISSING).any() or (self.right.sex != MISSING).any())


# --------------------------------------------------------------------------------------------
# Preparing tables
# --------------------------------------------------------------------------------------------


def _column(
    table: pa.Table | pd.DataFrame, name: str, rows: np.ndarray | None = None
) -> pa.ChunkedArray | pa.Array:
    """One column as Arrow (only ``rows``, in that order, when given: the others are never
    converted)."""
    if isinstance(table, pa.Table):
        column = table[name]
        if rows is not None:
            column = column.take(pa.array(rows, pa.int64()))
    else:
        series = table[name]
        if rows is not None:
            series = series.take(rows)
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        column = pa.array(series, from_pandas=True)
    # pandas 3 strings arrive as large_string; one string type keeps vocabularies joinable.
    if pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    elif pa.types.is_dictionary(column.type) and pa.types.is_large_string(column.type.value_type):
        column = column.cast(pa.dictionary(column.type.index_type, pa.string()))
    return column


def _num_rows(table: pa.Table | pd.DataFrame) -> int:
    return table.num_rows if isinstance(table, pa.Table) else len(table)


def _names(table: pa.Table | pd.DataFrame) -> list[str]:
    return (
        list(table.column_names) if isinstance(table, pa.Table) else [str(c) for c in table.columns]
    )


def check_mapping(table: pa.Table | pd.DataFrame, roles: Mapping[str, str], side: str) -> None:
    """Validate a role mapping's shape (known roles, existing columns, each role once, a
    usable role) and that the table has rows, naming the problem. Column types are not checked."""
    columns = _names(table)
    if _num_rows(table) == 0:
        raise ConfigError(side, "the table is empty")
    seen: dict[str, str] = {}
    for column, role in roles.items():
        if role not in ROLES:
            raise ConfigError(
                f"{side}.{column}", f"unknown role {role!r}; known roles: {', '.join(ROLES)}"
            )
        if column not in columns:
            raise ConfigError(
                f"{side}.{column}", f"no such column; columns are: {', '.join(columns)}"
            )
        if role in seen:
            raise ConfigError(
                f"{side}.{column}", f"role {role!r} is already mapped to {seen[role]!r}"
            )
        seen[role] = column
    usable = {"forename", "surname", "date_of_birth", "postcode", "address"} & set(roles.values())
    if not usable:
        raise ConfigError(
            side, "map at least one of forename, surname, date_of_birth, postcode, address"
        )


def check_roles(table: pa.Table | pd.DataFrame, roles: Mapping[str, str], side: str) -> None:
    """Validate a role mapping (column -> role) against a table, naming the problem."""
    check_mapping(table, roles, side)
    checked_columns(table, roles, side)


def checked_columns(
    table: pa.Table | pd.DataFrame,
    roles: Mapping[str, str],
    side: str,
    rows: np.ndarray | None = None,
) -> dict[str, pa.ChunkedArray | pa.Array]:
    """The mapped columns as Arrow, each converted once and validated, naming the problem.

    With ``rows``, only those rows are converted and checked (a column must still hold some
    value somewhere in the table)."""
    columns = {}
    for column, role in roles.items():
        try:
            col = _column(table, column, rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ConfigError(
                f"{side}.{column}",
                f"mixes kinds of value; a {role} column must hold text or dates ({str(exc).splitlines()[0]})",
            ) from None
        if _entirely_empty(table, column, col, rows):
            raise ConfigError(f"{side}.{column}", "the column is entirely empty")
        if pa.types.is_null(col.type):  # the chosen rows hold no value: no type to read
            col = col.cast(pa.date32() if role == "date_of_birth" else pa.string())
        if role == "date_of_birth" and not _is_datelike(col):
            raise ConfigError(
                f"{side}.{column}", f"a date_of_birth column must hold dates; got {col.type}"
            )
        if role == "date_of_birth":
            _check_date_strings(col, f"{side}.{column}")
        if role in STRING_ROLES and not (
            pa.types.is_string(col.type)
            or pa.types.is_large_string(col.type)
            or pa.types.is_dictionary(col.type)
            or pa.types.is_integer(col.type)  # e.g. numeric postcodes read from CSV
        ):
            raise ConfigError(f"{side}.{column}", f"a {role} column must hold text; got {col.type}")
        columns[column] = col
    return columns


def _entirely_empty(
    table: pa.Table | pd.DataFrame,
    name: str,
    col: pa.ChunkedArray | pa.Array,
    rows: np.ndarray | None,
) -> bool:
    """Whether the whole column (not only ``rows``) holds no value."""
    if col.null_count < len(col):
        return False
    if rows is None:
        return True
    # The chosen rows hold nothing: look at the rest (rarely reached, so the cost is rare).
    if isinstance(table, pa.Table):
        return table[name].null_count == table.num_rows
    return bool(table[name].isna().all())


def _is_datelike(col: pa.ChunkedArray | pa.Array) -> bool:
    t = col.type
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return True
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _check_date_strings(col: pa.ChunkedArray | pa.Array, field: str) -> None:
    """Every non-empty value must be a real YYYY-MM-DD date (no 30 February rolling over)."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return
    values = pc.utf8_trim_whitespace(pc.drop_null(col))
    values = values.filter(pc.not_equal(values, ""))
    try:
        parsed = pc.strptime(values, format="%Y-%m-%d", unit="s")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next((v for v in values.to_pylist() if not _is_iso_date(v)), None)
        raise ConfigError(field, f"{bad!r} is not a date YYYY-MM-DD") from None
    round_trip = pc.strftime(parsed, format="%Y-%m-%d")
    differs = pc.invert(pc.equal(round_trip, values))
    if pc.any(differs).as_py():
        bad = values.filter(differs)[0].as_py()
        raise ConfigError(field, f"{bad!r} is not a real date")


def _is_iso_date(value: str) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _normalised_strings(col: pa.ChunkedArray | pa.Array, role: str) -> tuple[pa.Array, np.ndarray]:
    """Distinct normalised values and, per record, the index of its value (-1 missing)."""
    if pa.types.is_dictionary(col.type):
        # Already encoded (a matchsim register's names): keep its codes, on one dictionary,
        # rather than decode and hash millions of strings again.
        chunks = col.unify_dictionaries().chunks if isinstance(col, pa.ChunkedArray) else [col]
        if chunks:
            indices = pa.concat_arrays([c.indices.cast(pa.int64()) for c in chunks])
            encoded = pa.DictionaryArray.from_arrays(
                indices, chunks[0].dictionary.cast(pa.string())
            )
        else:
            encoded = pc.dictionary_encode(pa.array([], pa.string()))
    else:
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_integer(col.type):
            col = col.cast(pa.string())
        encoded = pc.dictionary_encode(col)
    raw = encoded.dictionary
    if role in NAME_ROLES:
        norm = normalise_name_values(raw)
    elif role == "postcode":
        # Already upper-case letters and digits (a clean file): nothing to replace.
        clean = _bytes_within(raw, _POSTCODE_BYTES)
        norm = raw if clean else pc.replace_substring_regex(pc.utf8_upper(raw), r"[^A-Z0-9]", "")
    else:
        norm = normalise_addresses(raw)
    # A dictionary given with the column may repeat a value; one Arrow built holds each once.
    if not pa.types.is_dictionary(col.type) and _unchanged(norm, raw):  # the codes stand
        values, remap = raw, np.arange(len(raw), dtype=np.int64)
    else:
        # Normalising can merge values ("Smith" and "SMITH"): re-encode so values stay distinct.
        merged = pc.dictionary_encode(norm)
        values = merged.dictionary
        remap = merged.indices.fill_null(MISSING).to_numpy(zero_copy_only=False).astype(np.int64)
    if not len(values):  # every value missing (possible among a few chosen rows)
        return values, np.full(len(encoded), MISSING, dtype=np.int64)
    nulls = pc.is_null(encoded.indices).to_numpy(zero_copy_only=False)
    idx = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(nulls, MISSING, remap[idx])
    empty = pc.equal(values, "").fill_null(True).to_numpy(zero_copy_only=False)
    codes = np.where((codes >= 0) & empty[np.maximum(codes, 0)], MISSING, codes)
    return values, codes.astype(np.int64)


#: The bytes a normalised postcode holds: upper-case ASCII letters and digits.
_POSTCODE_BYTES = np.zeros(256, dtype=np.bool_)
_POSTCODE_BYTES[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)] = True


def _bytes_within(values: pa.Array, allowed: np.ndarray) -> bool:
    """Whether every byte of every value (a string array with no nulls) is ``allowed``."""
    if not pa.types.is_string(values.type) or values.null_count:
        return False
    if not len(values):
        return True
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    data = values.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return True
    return bool(allowed[np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]].all())


def _unchanged(norm: pa.Array, raw: pa.Array) -> bool:
    """Whether normalising left every value as it was (no nulls on either side)."""
    if norm is raw:
        return True
    if norm.null_count or raw.null_count or len(norm) != len(raw):
        return False
    return bool(pc.all(pc.equal(norm, raw)).as_py() is not False)


def normalise_name_values(raw: pa.Array) -> pa.Array:
    """:func:`normalise_name` of each value: ASCII values in Arrow (where the two agree by
    construction), the others (few) in Python. A national register has about 600,000 distinct
    middle names."""
    norm = normalise_names(raw)
    other = np.flatnonzero(~pc.string_is_ascii(raw).fill_null(True).to_numpy(zero_copy_only=False))
    if not len(other):
        return norm
    fixed = pa.array(
        [normalise_name(v) for v in raw.take(pa.array(other)).to_pylist()], pa.string()
    )
    position = np.arange(len(raw), dtype=np.int64)
    position[other] = len(raw) + np.arange(len(other))
    return pa.concat_arrays([norm, fixed]).take(pa.array(position))


_ABBREVIATION_PATTERN = r"\b(" + "|".join(ADDRESS_ABBREVIATIONS) + r")\b"


def normalise_addresses(raw: pa.Array) -> pa.Array:
    """Upper case, accents stripped, punctuation to spaces, street-type abbreviations expanded,
    single spaces."""
    text = pc.utf8_upper(raw)
    # Accented letters become their base letters ("Église" = "EGLISE"), as in names, rather
    # than spaces; only values with a non-ASCII character pay for it.
    accented = pc.invert(pc.string_is_ascii(text)).fill_null(False)
    if pc.any(accented).as_py():
        text = pc.replace_with_mask(text, accented, normalise_names_letters(text.filter(accented)))
    text = pc.replace_substring_regex(text, r"[^A-Z0-9]+", " ")
    # Expanding abbreviations takes one pass per form: run it only on values that have one.
    has = pc.match_substring_regex(text, _ABBREVIATION_PATTERN).fill_null(False)
    if pc.any(has).as_py():
        rows = np.flatnonzero(has.to_numpy(zero_copy_only=False))
        subset = text.take(pa.array(rows))
        for short, long in ADDRESS_ABBREVIATIONS.items():
            subset = pc.replace_substring_regex(subset, rf"\b{short}\b", long)
        # Put the expanded values back in place, in Arrow (millions of distinct addresses in
        # a national register: no Python string per value).
        position = np.arange(len(text), dtype=np.int64)
        position[rows] = len(text) + np.arange(len(rows))
        text = pa.concat_arrays([text, subset]).take(pa.array(position))
    return pc.utf8_trim_whitespace(text)


def _dates(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = pc.utf8_trim_whitespace(col)
        col = pc.strptime(pc.if_else(pc.equal(text, ""), None, text), format="%Y-%m-%d", unit="s")
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.date32())
    days = (
        col.cast(pa.int32()).cast(pa.int64()).fill_null(MISSING_DATE).to_numpy(zero_copy_only=False)
    )
    return days.astype(np.int64)


def _sex(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    text = pc.utf8_upper(col.cast(pa.string()))
    first = pc.utf8_slice_codeunits(text, 0, 1).to_numpy(zero_copy_only=False)
    return np.where(first == "M", 0, np.where(first == "F", 1, MISSING)).astype(np.int8)


@dataclass
class PreparedTable:
    """One table normalised on its own: per role, distinct values and each record's index.

    Prepare a register once and link many request batches against it.
    """

    roles: dict[str, str]  # role -> column
    vocabularies: dict[str, Vocabulary]
    codes: dict[str, np.ndarray]
    ids: np.ndarray
    dob: np.ndarray
    sex: np.ndarray
    extra: dict[str, np.ndarray]
    #: shared by every linkage of this table as the right-hand side (see Records.cache)
    right_cache: dict[object, object] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)


def prepare_table(
    table: pa.Table | pd.DataFrame,
    roles: Mapping[str, str],
    side: str = "table",
    *,
    keep: tuple[str, ...] = (),
    rows: np.ndarray | None = None,
) -> PreparedTable:
    """Validate the role mapping (column -> role) and normalise and encode the table.

    ``rows`` (positions in the table) prepares only those rows, in that order: record ``i`` of
    the result is row ``rows[i]``, and without an ``id`` role its id is that position. The
    other rows are never read, so comparing a few pairs of two big tables costs what the pairs
    touch (see :func:`matchsim.comparison.compare_pairs`).
    """
    check_mapping(table, roles, side)
    if rows is not None:
        rows = _positions(rows, _num_rows(table), "rows")
    columns = checked_columns(table, roles, side, rows)
    by_role = {role: col for col, role in roles.items()}
    n = _num_rows(table) if rows is None else len(rows)
    vocabularies, codes = {}, {}
    string_roles = [r for r in STRING_ROLES if r in by_role]

    def normalised(role: str) -> tuple[pa.Array, np.ndarray]:
        col = columns[by_role[role]]
        return _normalised_strings(col if rows is None else _decoded_if_sparse(col, n), role)

    # Arrow releases the GIL: normalise the roles side by side, where there are cores to use
    # (on one core, starting threads costs more than it saves on a few thousand rows).
    threads = min(len(string_roles), _usable_cores())
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(normalised, string_roles))
    else:
        results = [normalised(role) for role in string_roles]
    for role, (values, idx) in zip(string_roles, results, strict=True):
        vocabularies[role] = Vocabulary(role, values)
        codes[role] = idx
    if "id" in by_role:
        ids = np.asarray(columns[by_role["id"]].to_numpy(zero_copy_only=False))
    else:
        ids = np.arange(n) if rows is None else rows.copy()
    dob = (
        _dates(columns[by_role["date_of_birth"]])
        if "date_of_birth" in by_role
        else np.full(n, MISSING_DATE)
    )
    sex = _sex(columns[by_role["sex"]]) if "sex" in by_role else np.full(n, MISSING, dtype=np.int8)
    extra = {
        k: np.asarray(_column(table, k, rows).to_numpy(zero_copy_only=False))
        for k in keep
        if k in _names(table)
    }
    return PreparedTable(by_role, vocabularies, codes, ids, dob.astype(np.int64), sex, extra)


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _positions(rows: object, count: int, name: str) -> np.ndarray:
    """``rows`` as int64 positions into a table of ``count`` rows, or a ConfigError."""
    array = np.asarray(rows)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ConfigError(name, f"must be a one-dimensional array of row positions; got {rows!r}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= count):
        raise ConfigError(
            name,
            f"row positions must lie in 0..{count - 1} (the table has {count:,} rows); "
            f"got {int(array.min())}..{int(array.max())}",
        )
    return array


def _decoded_if_sparse(col: pa.ChunkedArray | pa.Array, n: int) -> pa.ChunkedArray | pa.Array:
    """A dictionary column with more distinct values than the records kept, decoded: then
    normalising the records' own values costs less than normalising the whole dictionary."""
    if not pa.types.is_dictionary(col.type):
        return col
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if sum(len(c.dictionary) for c in chunks) <= n:
        return col
    return col.cast(col.type.value_type)


def link(left: PreparedTable, right: PreparedTable) -> LinkageData:
    """Put two prepared tables on shared vocabularies (roles both sides have)."""
    vocabularies: dict[str, Vocabulary] = {}
    codes_l: dict[str, np.ndarray] = {}
    codes_r: dict[str, np.ndarray] = {}
    for role in STRING_ROLES:
        if role not in left.vocabularies or role not in right.vocabularies:
            continue
        base = right.vocabularies[role]
        lvals = left.vocabularies[role].values
        found = base.lookup(lvals)
        missing = np.flatnonzero(found < 0)
        mapping = found.copy()
        mapping[missing] = len(base) + np.arange(len(missing))
        values = pa.concat_arrays([base.values, lvals.take(pa.array(missing, pa.int64()))])
        vocabularies[role] = Vocabulary(role, values, base=base)
        lc = left.codes[role]
        # (an empty vocabulary: every value of the role missing on the left)
        codes_l[role] = mapping[np.maximum(lc, 0)] if len(mapping) else np.full(len(lc), MISSING)
        codes_l[role] = np.where(lc >= 0, codes_l[role], MISSING)
        codes_r[role] = right.codes[role]
    has_dob = "date_of_birth" in left.roles and "date_of_birth" in right.roles
    has_sex = "sex" in left.roles and "sex" in right.roles

    def records(
        t: PreparedTable, codes: dict[str, np.ndarray], cache: dict[object, object]
    ) -> Records:
        n = len(t)
        return Records(
            ids=t.ids,
            codes=codes,
            dob=t.dob if has_dob else np.full(n, MISSING_DATE),
            sex=t.sex if has_sex else np.full(n, MISSING, dtype=np.int8),
            extra=t.extra,
            cache=cache,
        )

    # The right side's codes are its own (the shared vocabulary extends its vocabulary), so
    # its keys can be kept across linkages — unless a role is missing on one side.
    right_cache = right.right_cache.setdefault((has_dob, has_sex), {})
    return LinkageData(
        records(left, codes_l, {}), records(right, codes_r, right_cache), vocabularies
    )


def self_linkage(table: PreparedTable) -> LinkageData:
    """One prepared table against itself, to find duplicates within it.

    Both sides are the same :class:`Records` (one set of keys and caches), on the table's own
    vocabularies; blocking then lists each unordered pair of different rows once.
    """
    records = Records(
        ids=table.ids,
        codes=dict(table.codes),
        dob=table.dob,
        sex=table.sex,
        extra=table.extra,
        cache={},
    )
    return LinkageData(records, records, dict(table.vocabularies), self_join=True)


def prepare(
    left: pa.Table | pd.DataFrame,
    right: pa.Table | pd.DataFrame,
    left_roles: Mapping[str, str],
    right_roles: Mapping[str, str] | None = None,
    *,
    keep: tuple[str, ...] = (),
) -> LinkageData:
    """Normalise, encode and link two tables (``right_roles`` defaults to ``left_roles``).

    Examples
    --------
    >>> import pandas as pd
    >>> left = pd.DataFrame({"fn": ["Mohammed"], "sn": ["Khan"]})
    >>> right = pd.DataFrame({"first": ["MOHAMMED", "Aisha"], "last": ["Khan", "Begum"]})
    >>> data = prepare(left, right, {"fn": "forename", "sn": "surname"}, {"first": "forename", "last": "surname"})
    >>> int(data.left.codes["forename"][0]) == int(data.right.codes["forename"][0])
    True
    """
    right_roles = left_roles if right_roles is None else right_roles
    return link(
        prepare_table(left, left_roles, "left", keep=keep),
        prepare_table(right, right_roles, "right", keep=keep),
    )


#: The role mapping of matchsim's own registers and request sets.
MATCHSIM_ROLES = {
    "forename": "forename",
    "middle_names": "middle_names",
    "surname": "surname",
    "date_of_birth": "date_of_birth",
    "sex": "sex",
    "postcode": "postcode",
    "address_line": "address",
}
