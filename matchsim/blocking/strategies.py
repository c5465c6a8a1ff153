"""Blocking strategies: which (left, right) pairs are worth comparing.

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
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError, PlanTooLargeError, UnknownNameError
from matchsim.records import MISSING, PHONETIC, LinkageData
from matchsim.registry import Registry
from matchsim.synth.geography import splitmix64

#: Probe rather than sort the right side when it is this many times larger than the left.
_PROBE_RATIO = 16

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


def make_blocker(spec: str | dict | Blocker) -> Blocker:
    """A blocker from a registry name, a ``{"name": ..., **params}`` mapping, or an instance.

    Strings may carry keys after a colon: ``"exact:surname:soundex+dob"``.
    """
    if isinstance(spec, Blocker):
        return spec
    if isinstance(spec, str):
        name, _, rest = spec.partition(":")
        params: dict = {}
        if rest:
            if name in ("exact",):
                params["keys"] = rest.split("+")
            elif name == "union":
                raise ConfigError("blocking", "write unions as a list of blockers")
            else:
                raise ConfigError("blocking", f"{spec!r}: only 'exact:KEY+KEY' takes keys inline")
        spec = {"name": name, **params}
    if isinstance(spec, list):
        return Union([make_blocker(s) for s in spec])
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError("blocking", f"{spec!r} is not a blocker name or a mapping with a 'name'")
    params = dict(spec)
    name = params.pop("name")
    if name == "union":
        members = params.get("blockers", [])
        if not isinstance(members, list | tuple):
            raise ConfigError(
                "blocking.union.blockers", f"must be a list of blockers. Got {members!r} instead."
            )
        params["blockers"] = [make_blocker(b) for b in members]
    return BLOCKERS.create(name, params)


# --------------------------------------------------------------------------------------------
# Exact keys
# --------------------------------------------------------------------------------------------

_KEY_PARTS = ("dob", "birth_year", "birth_month", "birth_day", "sex")


def _validate_key(part: object) -> None:
    if not isinstance(part, str):
        raise ConfigError(
            "blocking.keys",
            f"{part!r} is not a key name (a string such as 'dob' or 'surname:soundex')",
        )
    if part in _KEY_PARTS:
        return
    role, _, kind = part.partition(":")
    if role not in ("forename", "middle_names", "surname", "postcode", "address"):
        raise ConfigError(
            "blocking.keys",
            f"{part!r} is not a key; use a role (forename, surname, postcode, address, middle_names), "
            f"role:derived (e.g. surname:soundex, forename:initial, postcode:district) or one of "
            f"{', '.join(_KEY_PARTS)}",
        )
    allowed = (*PHONETIC, "initial", "first3", "sector", "district", "area", "")
    if kind not in allowed:
        raise ConfigError(
            "blocking.keys",
            f"{part!r}: unknown derived key {kind!r}; allowed: {', '.join(a for a in allowed if a)}",
        )


def _combine(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One 64-bit key per record from several int64 parts, and whether all parts are present.

    A polynomial hash (multiply by a large odd constant, add the next part) costs two
    operations a part; the rare collisions are removed when pairs are verified part by part.
    """
    ok = np.ones(len(parts[0]), dtype=bool)
    acc = np.zeros(len(parts[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            ok &= part != MISSING
            acc = acc * _HASH_MULTIPLIER + part.astype(np.uint64)
    return acc.view(np.int64), ok


_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class _SortedSide:
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


@blocker("exact")
class ExactKeys(Blocker):
    """Pairs that agree exactly on every key part, e.g. ``["surname:soundex", "birth_year"]``.

    Parameters
    ----------
    keys
        Key parts, all of which must agree: a role (forename, surname, middle_names, postcode,
        address), a role with a derived key (``surname:soundex``, ``forename:initial``,
        ``surname:first3``, ``postcode:sector``, ``postcode:district``, ``postcode:area``...),
        or ``dob``, ``birth_year``, ``birth_month``, ``birth_day``, ``sex``.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list | tuple):
            raise ConfigError(
                "blocking.exact.keys", f"must be a list of key names. Got {keys!r} instead."
            )
        if not keys:
            raise ConfigError("blocking.exact.keys", "give at least one key")
        for part in keys:
            _validate_key(part)
        self.keys = tuple(keys)

    def describe(self) -> str:
        return "exact(" + " + ".join(self.keys) + ")"

    def _left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [data.left.key(p, data.vocabularies)[rows] for p in self.keys]
        return _combine(parts)

    def _right(self, data: LinkageData) -> _SortedSide:
        # The sorted right side is reused for every chunk of the same linkage; it is kept on
        # the linkage itself, so it can never be confused with another linkage's.
        cache_key = ("exact", self.keys)
        cached = data.cache.get(cache_key)
        if cached is None:
            combined = ("combined", self.keys)
            if combined not in data.right.cache:  # kept with a prepared register
                data.right.cache[combined] = _combine(
                    [data.right.key(p, data.vocabularies) for p in self.keys]
                )
            keys, ok = data.right.cache[combined]  # type: ignore[misc]
            if len(data.left) * _PROBE_RATIO < len(data.right):
                # A small batch against a big register (a lookup): probe the register's keys
                # against the batch's and sort only the rows that match, by counting.
                from matchsim.blocking.kernels import rows_with_wanted_keys  # numba: on use

                left_keys, left_ok = self._left_keys(data, np.arange(len(data.left)))
                wanted = np.unique(left_keys[left_ok])
                cached = _SortedSide(*rows_with_wanted_keys(keys, ok, wanted))
            else:
                rows = np.flatnonzero(ok)
                order = np.argsort(keys[rows], kind="stable")
                cached = _SortedSide(keys[rows][order], rows[order])
            data.cache[cache_key] = cached
        return cached  # type: ignore[return-value]

    def _ranges(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys, ok = self._left_keys(data, rows)
        right = self._right(data)
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
        right = self._right(data).order[start + np.arange(int(n.sum()))]
        keep = self._verify(data, left, right)
        return left[keep], right[keep]

    # A row's key on the left equals its key on the right, so a self-join takes, in the row's
    # own run of equal keys, only the places after its own: the larger rows (see
    # _SortedSide.places). Each pair is built once, from its smaller row.
    self_pairs_once = True

    def _self_ranges(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Every row with all key parts is on the sorted side, so its run of equal keys is
        # known from its place: no search (searchsorted of 100k keys was most of the time).
        side = self._right(data)
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

    def part_agreement(
        self, data: LinkageData, left_row: int, right_row: int
    ) -> list[tuple[str, bool]]:
        """Each key part and whether the two records share it (a missing part is not
        shared): why this pass did or did not pair them, for reports."""
        out = []
        for p in self.keys:
            a = data.left.key(p, data.vocabularies)[left_row]
            b = data.right.key(p, data.vocabularies)[right_row]
            out.append((p, bool(a != MISSING and b != MISSING and a == b)))
        return out

    def _verify(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        # Hash collisions are astronomically rare, but check the parts so results are exact.
        keep = np.ones(len(left), dtype=bool)
        for p in self.keys:
            keep &= (
                data.left.key(p, data.vocabularies)[left]
                == data.right.key(p, data.vocabularies)[right]
            )
        return keep


@blocker("phonetic")
class PhoneticKeys(ExactKeys):
    """A phonetic code of a name (Soundex, Metaphone, NYSIIS or Match Rating, via jellyfish),
    optionally with the year of birth.

    Parameters
    ----------
    field
        The name role coded: forename, surname or middle_names.
    algorithm
        soundex, metaphone, nysiis or match_rating.
    with_birth_year
        Also require the same year of birth.
    """

    def __init__(
        self, field: str = "surname", algorithm: str = "soundex", with_birth_year: bool = True
    ) -> None:
        if algorithm not in PHONETIC:
            raise UnknownNameError("blocking.phonetic.algorithm", algorithm, PHONETIC)
        if field not in ("forename", "surname", "middle_names"):
            raise ConfigError(
                "blocking.phonetic.field",
                f"{field!r} is not a name role (forename, surname, middle_names)",
            )
        super().__init__([f"{field}:{algorithm}", *(["birth_year"] if with_birth_year else [])])


def _derived_hashes(vocab, kind: str) -> np.ndarray:
    """A 64-bit hash of each vocabulary value's derived key (``kind`` "" for the value itself).

    Codes of derived keys are local to one role's vocabulary, so a forename's Soundex code
    cannot be compared with a surname's; hashes of the derived text can. A register's hashes
    are kept on its own vocabulary and only the left side's extra values are hashed per linkage.
    """
    cache = vocab.__dict__.setdefault("_derived_hashes", {})
    if kind not in cache:
        if vocab.base is not None:
            head = _derived_hashes(vocab.base, kind)
            tail = vocab.values.slice(len(vocab.base))
            cache[kind] = np.concatenate([head, _hash_text(vocab, kind, tail)])
        else:
            cache[kind] = _hash_text(vocab, kind, vocab.values)
    return cache[kind]


def _hash_text(vocab, kind: str, values) -> np.ndarray:
    text = vocab._derive_text(kind, values) if kind else values
    objects = text.to_numpy(zero_copy_only=False).astype(object)
    missing = pd.isna(objects) | (objects == "")
    hashed = pd.util.hash_array(np.where(missing, "", objects).astype(object), categorize=False)
    # Non-negative, so that only a missing value is MISSING (-1).
    keys = (hashed >> np.uint64(1)).astype(np.int64)
    return np.where(missing, MISSING, keys)


@blocker("cross")
class CrossKeys(ExactKeys):
    """Pairs whose left ``keys`` equal the right record's ``against`` keys, part by part, e.g.
    the left forename's Soundex against the right surname's: names written the wrong way round.

    Name parts are compared by their (derived) text, so different roles can be matched; date
    parts (``dob``, ``birth_year``...) must be the same part on both sides.

    Parameters
    ----------
    keys
        The left record's key parts (as for ``exact``).
    against
        The right record's key parts, one per left part, with the same derivation.
    """

    def __init__(self, keys: Sequence[str], against: Sequence[str]) -> None:
        super().__init__(keys)
        if isinstance(against, str):
            against = [against]
        if not isinstance(against, list | tuple) or len(against) != len(self.keys):
            raise ConfigError(
                "blocking.cross.against",
                f"must be a list of {len(self.keys)} key names, one per key. Got {against!r} instead.",
            )
        for part, other in zip(self.keys, against, strict=True):
            _validate_key(other)
            if (part in _KEY_PARTS or other in _KEY_PARTS) and part != other:
                raise ConfigError(
                    "blocking.cross.against",
                    f"{other!r} cannot stand against {part!r}: date and sex parts match themselves only",
                )
            if part.partition(":")[2] != other.partition(":")[2]:
                raise ConfigError(
                    "blocking.cross.against",
                    f"{other!r} against {part!r}: both sides need the same derived key",
                )
        self.against = tuple(against)
        # Symmetric when swapping the sides gives the same parts (forename = surname and
        # surname = forename): a pair found from one row is then also found from the other.
        parts = sorted(zip(self.keys, self.against, strict=True))
        self.self_pairs_once = parts == sorted(zip(self.against, self.keys, strict=True))

    def describe(self) -> str:
        return f"cross({' + '.join(self.keys)} = {' + '.join(self.against)})"

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return self.counts(data, left_rows)

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # A row's left and right keys differ here, so the place trick of exact keys does not
        # apply. A symmetric pass finds each pair from both rows: keep it from the smaller.
        left, right = self.pairs(data, left_rows)
        if self.self_pairs_once:
            keep = left < right
            return left[keep], right[keep]
        return oriented_pairs(left, right, len(data.right))

    @staticmethod
    def _part(records, part: str, data: LinkageData) -> np.ndarray:
        if part in _KEY_PARTS:
            return records.key(part, data.vocabularies)
        cache_key = ("text-key", part)
        if cache_key not in records.cache:
            role, _, kind = part.partition(":")
            if role not in records.codes:
                raise ConfigError(
                    "blocking", f"key {part!r} needs the role {role!r}, which is not mapped"
                )
            codes = records.codes[role]
            hashes = _derived_hashes(data.vocabularies[role], kind)
            records.cache[cache_key] = np.where(codes >= 0, hashes[np.maximum(codes, 0)], MISSING)
        return records.cache[cache_key]  # type: ignore[return-value]

    def _left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _combine([self._part(data.left, p, data)[rows] for p in self.keys])

    def warm(self, data: LinkageData) -> None:
        """Sort the right side's keys now (a prepared register, before its first lookup)."""
        self._right(data)

    def _right(self, data: LinkageData) -> _SortedSide:
        # The right side's keys do not depend on the left, so the sorted keys are kept with the
        # right records: a prepared register sorts them once for all its lookups.
        cache_key = ("cross", self.against)
        cached = data.right.cache.get(cache_key)
        if cached is None:
            keys, ok = _combine([self._part(data.right, p, data) for p in self.against])
            rows = np.flatnonzero(ok)
            order = np.argsort(keys[rows], kind="stable")
            cached = _SortedSide(keys[rows][order], rows[order])
            data.right.cache[cache_key] = cached
        return cached  # type: ignore[return-value]

    def part_agreement(
        self, data: LinkageData, left_row: int, right_row: int
    ) -> list[tuple[str, bool]]:
        out = []
        for p, q in zip(self.keys, self.against, strict=True):
            a = self._part(data.left, p, data)[left_row]
            b = self._part(data.right, q, data)[right_row]
            out.append((f"{p} = {q}", bool(a != MISSING and b != MISSING and a == b)))
        return out

    def _verify(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        keep = np.ones(len(left), dtype=bool)
        for p, q in zip(self.keys, self.against, strict=True):
            keep &= self._part(data.left, p, data)[left] == self._part(data.right, q, data)[right]
        return keep


# --------------------------------------------------------------------------------------------
# Sorted neighbourhood
# --------------------------------------------------------------------------------------------


@blocker("sorted_neighbourhood")
class SortedNeighbourhood(Blocker):
    """Sort left and right records together by a key; pair records within ``window`` places
    (Hernández & Stolfo 1995). The key is a role's value in alphabetical order, or ``dob``.

    Parameters
    ----------
    key
        The sort key: a role, a role with a derived key (e.g. ``surname:soundex``) or ``dob``.
    window
        Records at most this many places apart in the sorted order are paired (2 or more).
    """

    def __init__(self, key: str = "surname", window: int = 5) -> None:
        if not isinstance(window, int) or isinstance(window, bool) or window < 2:
            raise ConfigError(
                "blocking.sorted_neighbourhood.window", f"{window!r} must be a whole number >= 2"
            )
        if key != "dob":
            _validate_key(key)
        self.key, self.window = key, window

    def describe(self) -> str:
        return f"sorted_neighbourhood({self.key}, window={self.window})"

    def _sort_values(self, data: LinkageData, side: str) -> np.ndarray:
        records = data.left if side == "left" else data.right
        if self.key == "dob":
            return records.key("dob", data.vocabularies)
        role, _, kind = self.key.partition(":")
        codes = records.key(self.key, data.vocabularies)
        vocab = data.vocabularies[role]
        # Alphabetical rank of each value (codes are in order of first appearance).
        text = vocab.text if not kind else None
        if text is None:
            return codes
        rank = np.empty(len(text), dtype=np.int64)
        rank[np.argsort(text.astype(str), kind="stable")] = np.arange(len(text))
        return np.where(codes >= 0, rank[np.maximum(codes, 0)], MISSING)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The window runs over all records, so a chunk's pairs are those of the whole sort
        # that involve its left records: computed once per linkage, then filtered.
        cache_key = ("sorted_neighbourhood", self.key, self.window)
        if cache_key not in data.cache:
            data.cache[cache_key] = self._all_pairs(data)
        left, right = data.cache[cache_key]  # type: ignore[misc]
        keep = np.isin(left, left_rows)
        return left[keep], right[keep]

    def _all_pairs(self, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
        left_rows = np.arange(len(data.left))
        lv = self._sort_values(data, "left")
        rv = self._sort_values(data, "right")
        lrows = left_rows[lv != MISSING]
        rrows = np.flatnonzero(rv != MISSING)
        values = np.concatenate([lv[lv != MISSING], rv[rrows]])
        is_left = np.r_[np.ones(len(lrows), dtype=bool), np.zeros(len(rrows), dtype=bool)]
        row = np.concatenate([lrows, rrows])
        order = np.argsort(values, kind="stable")
        is_left, row = is_left[order], row[order]
        out_l, out_r = [], []
        for offset in range(1, self.window):
            a, b = np.arange(len(row) - offset), np.arange(offset, len(row))
            mixed = is_left[a] != is_left[b]
            a, b = a[mixed], b[mixed]
            left_first = is_left[a]
            out_l.append(np.where(left_first, row[a], row[b]))
            out_r.append(np.where(left_first, row[b], row[a]))
        left = np.concatenate(out_l) if out_l else np.array([], dtype=np.int64)
        right = np.concatenate(out_r) if out_r else np.array([], dtype=np.int64)
        return left, right

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        # Each left record meets at most (window - 1) neighbours on each side.
        return np.full(len(left_rows), 2 * (self.window - 1), dtype=np.int64)

    # On one table the window runs over its records sorted once (two copies of the table would
    # put each record beside its own copy and halve the window). A pair is listed in the chunk
    # of its smaller row.
    self_pairs_once = True

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cache_key = ("sorted_neighbourhood-self", self.key, self.window)
        if cache_key not in data.cache:
            values = self._sort_values(data, "left")
            rows = np.flatnonzero(values != MISSING)
            rows = rows[np.argsort(values[rows], kind="stable")]
            a = np.concatenate([rows[:-offset] for offset in range(1, self.window)])
            b = np.concatenate([rows[offset:] for offset in range(1, self.window)])
            data.cache[cache_key] = oriented_pairs(a, b, len(data.left))
        left, right = data.cache[cache_key]  # type: ignore[misc]
        keep = np.isin(left, left_rows)
        return left[keep], right[keep]


# --------------------------------------------------------------------------------------------
# MinHash LSH on q-grams
# --------------------------------------------------------------------------------------------


def _qgrams(text: str, q: int) -> list[str]:
    padded = f"#{text}#" if text else ""
    return [padded[i : i + q] for i in range(max(len(padded) - q + 1, 0))]


def _stable_hash(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")


@blocker("minhash")
class MinHashLSH(Blocker):
    """MinHash signatures of a name's q-grams, split into bands; records sharing any band
    (optionally within the same birth year) are paired. ``bands`` x ``rows`` hash functions;
    names with Jaccard similarity s collide in a band with probability 1 - (1 - s^rows)^bands.

    Parameters
    ----------
    field
        The text role hashed: forename, surname, middle_names or address.
    q
        Length of the q-grams (character substrings) the signature is taken over.
    bands, rows
        Bands of the signature, and hash functions per band.
    with_birth_year
        Also require the same year of birth.
    seed
        Seed of the hash functions.
    """

    def __init__(
        self,
        field: str = "surname",
        q: int = 2,
        bands: int = 8,
        rows: int = 3,
        with_birth_year: bool = True,
        seed: int = 1,
    ) -> None:
        if field not in ("forename", "surname", "middle_names", "address"):
            raise ConfigError("blocking.minhash.field", f"{field!r} is not a text role")
        for label, value, low in (("q", q, 1), ("bands", bands, 1), ("rows", rows, 1)):
            if not isinstance(value, int) or value < low:
                raise ConfigError(
                    f"blocking.minhash.{label}", f"{value!r} must be a whole number >= {low}"
                )
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(
                "blocking.minhash.seed", f"must be a whole number. Got {seed!r} instead."
            )
        self.field, self.q, self.bands, self.rows = field, q, bands, rows
        self.with_birth_year, self.seed = bool(with_birth_year), seed

    def describe(self) -> str:
        return f"minhash({self.field}, q={self.q}, {self.bands}x{self.rows})"

    def _signatures(self, data: LinkageData) -> np.ndarray:
        """Band hashes of every vocabulary value: shape (values, bands)."""
        vocab = data.vocabularies[self.field]
        cache = vocab.__dict__.setdefault("_minhash", {})
        key = (self.q, self.bands, self.rows, self.seed)
        if key not in cache:
            n_hash = self.bands * self.rows
            rng = np.random.default_rng(self.seed)
            salts = rng.integers(1, 2**63, n_hash, dtype=np.int64).astype(np.uint64)
            sig = np.full((len(vocab), n_hash), np.iinfo(np.uint64).max, dtype=np.uint64)
            gram_codes: dict[str, int] = {}
            owners, grams = [], []
            for i, text in enumerate(vocab.text):
                for g in _qgrams(text or "", self.q):
                    owners.append(i)
                    grams.append(gram_codes.setdefault(g, _stable_hash(g)))
            owners_a = np.array(owners, dtype=np.int64)
            grams_a = np.array(grams, dtype=np.uint64)
            # q-grams are listed value by value, so each value's grams are one contiguous run.
            has = np.bincount(owners_a, minlength=len(vocab)) > 0
            starts = np.searchsorted(owners_a, np.flatnonzero(has))
            for h in range(n_hash):
                if len(grams_a):
                    sig[has, h] = np.minimum.reduceat(splitmix64(grams_a ^ salts[h]), starts)
            bands = sig.reshape(len(vocab), self.bands, self.rows)
            band_hash = np.zeros((len(vocab), self.bands), dtype=np.uint64)
            for r in range(self.rows):
                band_hash = splitmix64(band_hash ^ bands[:, :, r])
            cache[key] = band_hash.view(np.int64)
        return cache[key]

    def _passes(self, data: LinkageData) -> list[ExactKeys]:
        cache_key = (
            "minhash",
            self.field,
            self.q,
            self.bands,
            self.rows,
            self.with_birth_year,
            self.seed,
        )
        cached = data.cache.get(cache_key)
        if cached is None:
            sig = self._signatures(data)
            cached = []
            for b in range(self.bands):
                band = _BandKey(self.field, sig[:, b], b)
                cached.append(_ExactOn([band, *(["birth_year"] if self.with_birth_year else [])]))
            data.cache[cache_key] = cached
        return cached  # type: ignore[return-value]

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum(p.counts(data, left_rows) for p in self._passes(data))

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _dedupe([p.pairs(data, left_rows) for p in self._passes(data)], len(data.right))

    self_pairs_once = True  # every band is an exact pass

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum(p.self_counts(data, left_rows) for p in self._passes(data))

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [p.self_pairs(data, left_rows) for p in self._passes(data)]
        return _dedupe(parts, len(data.right))


@dataclass(frozen=True)
class _BandKey:
    role: str
    band_hash: np.ndarray
    band: int

    def values(self, records, data: LinkageData) -> np.ndarray:
        codes = records.codes[self.role]
        return np.where(codes >= 0, self.band_hash[np.maximum(codes, 0)], MISSING)


class _ExactOn(ExactKeys):
    """Exact join on computed key arrays (used by MinHash bands)."""

    def __init__(self, parts: list) -> None:
        self.parts = parts
        self.keys = tuple(p if isinstance(p, str) else f"band{p.band}" for p in parts)

    def _part(self, records, part, data: LinkageData) -> np.ndarray:
        return (
            part.values(records, data)
            if isinstance(part, _BandKey)
            else records.key(part, data.vocabularies)
        )

    def _left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _combine([self._part(data.left, p, data)[rows] for p in self.parts])

    def _right(self, data: LinkageData) -> _SortedSide:
        band = next(p for p in self.parts if isinstance(p, _BandKey))
        cache_key = ("minhash-band", band.role, band.band, id(band.band_hash), self.keys)
        cached = data.cache.get(cache_key)
        if cached is None:
            keys, ok = _combine([self._part(data.right, p, data) for p in self.parts])
            rows = np.flatnonzero(ok)
            order = np.argsort(keys[rows], kind="stable")
            cached = _SortedSide(keys[rows][order], rows[order])
            data.cache[cache_key] = cached
        return cached  # type: ignore[return-value]

    def _verify(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        # Band keys are 64-bit hashes of signatures: equal keys are what a band means.
        return np.ones(len(left), dtype=bool)


# --------------------------------------------------------------------------------------------
# Full comparison and unions
# --------------------------------------------------------------------------------------------


@blocker("full")
class FullComparison(Blocker):
    """Every left record against every right record. Refused above ``limit`` pairs unless
    ``force`` is true, with the pair count and memory it would need.

    Parameters
    ----------
    force
        Compare every pair even above ``limit``.
    limit
        Most pairs compared without ``force`` (50 million: about the memory of a 9M register).
    """

    def __init__(self, force: bool = False, limit: int = FULL_COMPARISON_LIMIT) -> None:
        if not isinstance(force, bool):
            raise ConfigError(
                "blocking.full.force", f"must be true or false. Got {force!r} instead."
            )
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigError(
                "blocking.full.limit", f"must be a whole number >= 1. Got {limit!r} instead."
            )
        self.force, self.limit = force, limit

    def check(self, data: LinkageData) -> None:
        n = len(data.left)
        total = n * (n - 1) // 2 if data.self_join else n * len(data.right)
        if total > self.limit and not self.force:
            raise PlanTooLargeError(
                f"full comparison of {len(data.left):,} x {len(data.right):,} records is {total:,} pairs "
                f"(about {total * BYTES_PER_PAIR / 1e9:,.1f} GB for the pair indices alone); the limit is "
                f"{self.limit:,}. Use a blocking strategy, or force it (blocking: {{name: full, force: true}}).",
                pairs=total,
            )

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        self.check(data)
        return np.full(len(left_rows), len(data.right), dtype=np.int64)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.check(data)
        n_right = len(data.right)
        return np.repeat(left_rows, n_right), np.tile(np.arange(n_right), len(left_rows))

    self_pairs_once = True

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        self.check(data)
        return len(data.right) - 1 - left_rows.astype(np.int64)

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Row i against rows i+1 .. n-1 only.
        n = self.self_counts(data, left_rows)
        left = np.repeat(left_rows.astype(np.int64), n)
        first = np.repeat(left_rows + 1 - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        return left, first + np.arange(int(n.sum()))


def _dedupe(
    parts: list[tuple[np.ndarray, np.ndarray]], n_right: int
) -> tuple[np.ndarray, np.ndarray]:
    if not parts:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    left = np.concatenate([p[0] for p in parts]).astype(np.int64)
    right = np.concatenate([p[1] for p in parts]).astype(np.int64)
    key = distinct(left * n_right + right)
    return key // n_right, key % n_right


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


@blocker("union")
class Union(Blocker):
    """Several passes; their pairs are unioned and duplicates removed (multi-pass blocking).

    Parameters
    ----------
    blockers
        The passes: blocker names or mappings, as ``lookup.blocking`` takes them.
    """

    def __init__(self, blockers: Sequence[Blocker]) -> None:
        if not isinstance(blockers, list | tuple):
            raise ConfigError(
                "blocking.union.blockers", f"must be a list of blockers. Got {blockers!r} instead."
            )
        blockers = [make_blocker(b) for b in blockers]
        if not blockers:
            raise ConfigError("blocking.union.blockers", "give at least one blocker")
        self.blockers = blockers

    def describe(self) -> str:
        return " | ".join(b.describe() for b in self.blockers)

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum(b.counts(data, left_rows) for b in self.blockers)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _dedupe([b.pairs(data, left_rows) for b in self.blockers], len(data.right))

    @property
    def self_pairs_once(self) -> bool:  # type: ignore[override]
        return all(b.self_pairs_once for b in self.blockers)

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum(b.self_counts(data, left_rows) for b in self.blockers)

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [b.self_pairs(data, left_rows) for b in self.blockers]
        return _dedupe(parts, len(data.right))


#: Passes every error in one field, or in two fields of different kinds (a name, the date of
#: birth, the place, sex), leaves at least one of (tests/blocking/test_default_rule.py):
CORE_PASSES: tuple[tuple[str, ...], ...] = (
    ("surname:soundex", "dob"),  # forename, place or sex wrong
    ("forename:soundex", "dob"),  # surname wrong (with the place or sex)
    ("forename:soundex", "surname:soundex", "birth_year"),  # day or month wrong
    ("dob", "postcode:district"),  # both names wrong, transliterated or swapped
    ("postcode", "surname:soundex"),  # date of birth wrong (with the forename)
    ("postcode", "forename:soundex"),  # date of birth and surname wrong
    ("forename:soundex", "surname:soundex", "postcode:sector"),  # date and postcode unit
    ("address", "surname:soundex"),  # date of birth and postcode wrong
)

#: Broader passes, taken in this order while the blocking stays within its budget of pairs per
#: left record: affordable on a table of thousands (FEBRL: they take pair completeness from
#: 0.965-0.985 to 0.991-0.998), mostly not on a national register (one postcode holds about 15
#: pupils, one date of birth 1,800).
EXTRA_PASSES: tuple[tuple[str, ...], ...] = (
    ("postcode",),  # several fields wrong, the postcode kept
    ("address",),
    ("forename:soundex", "surname:soundex"),  # date of birth and the place both wrong, no address
    ("dob",),
)

#: Most candidate pairs per left record the default blocking plans for (issue 17).
DEFAULT_PAIR_BUDGET = 50


def default_blocking(
    roles: Sequence[str] | None = None,
    *,
    data: LinkageData | None = None,
    budget: float = DEFAULT_PAIR_BUDGET,
    sample: int = 2_000,
) -> Union:
    """Multi-pass blocking for name/DOB/address records, chosen from the roles present.

    The core passes (:data:`CORE_PASSES`) are those a true pair with an error in any one
    field, or in two fields of different kinds, survives; passes needing roles the tables do
    not both have are dropped. Given ``data``, broader passes (:data:`EXTRA_PASSES`) are added,
    in order, while the planned pairs per left record (the sum of every pass's pairs, an upper
    bound of their union, over a sample of ``sample`` left records) stay within ``budget``:
    a small table can afford to block on the postcode or date of birth alone, a national
    register cannot.

    Three passes added earlier for FEBRL4's own missed pairs (address + postcode, address +
    forename, swapped names in a district) are gone: the rule above does not call for them,
    and the budgeted passes recover more of FEBRL's pairs on every FEBRL dataset
    (docs/accuracy.md).

    With no core pass usable, the tables are blocked on the Soundex of whichever name they
    have, or on exact postcode, address or date of birth.
    """
    passes = [list(p) for p in CORE_PASSES]
    have = set(roles) if roles is not None else set(data.roles) if data is not None else None

    def usable(keys: Sequence[str]) -> bool:
        needed = {"date_of_birth" if k in _KEY_PARTS[:4] else k.split(":")[0] for k in keys}
        return have is None or needed <= have

    passes = [p for p in passes if usable(p)]
    if have is not None and not passes:
        fallback = [["surname:soundex"], ["forename:soundex"], ["postcode"], ["address"], ["dob"]]
        passes = [p for p in fallback if usable(p)][:1]
        if not passes:
            raise ConfigError(
                "blocking", "no role to block on; map a name, date of birth, postcode or address"
            )
    blockers: list[Blocker] = [ExactKeys(p) for p in passes]
    if data is not None and len(data.left):
        if isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0:
            raise ConfigError("budget", f"must be a number > 0. Got {budget!r} instead.")
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(len(data.left), min(sample, len(data.left)), replace=False))

        def cost(b: Blocker) -> float:
            counts = b.self_counts(data, rows) if data.self_join else b.counts(data, rows)
            return float(np.mean(counts))

        planned = sum(cost(b) for b in blockers)
        for keys in EXTRA_PASSES:
            if not usable(keys) or list(keys) in passes:
                continue
            extra = ExactKeys(list(keys))
            more = cost(extra)
            if planned + more <= budget:
                blockers.append(extra)
                planned += more
    return Union(blockers)


@dataclass
class PairChunks:
    """The chunks of left rows a blocking run will process, and their pair counts."""

    chunks: list[np.ndarray]
    estimated_pairs: int
    counts: np.ndarray = field(repr=False)


def plan_chunks(blocker_: Blocker, data: LinkageData, max_pairs: int = 5_000_000) -> PairChunks:
    """Split the left records so that each chunk yields at most about ``max_pairs`` pairs."""
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
