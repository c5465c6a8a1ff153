"""Exact-key blocking: records that agree on every key part (``exact``), on a phonetic code
(``phonetic``) or on one role's key against another's (``cross``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim.blocking.base import (
    BlockingKeys,
    BlockingWork,
    KeyJoin,
    SortedSide,
    blocker,
    combine_keys,
    oriented_pairs,
)
from matchsim.errors import ConfigError, UnknownNameError
from matchsim.records import MISSING, PHONETIC, LinkageData, Records, Vocabulary

#: Probe rather than sort the right side when it is this many times larger than the left.
_PROBE_RATIO = 16

KEY_PARTS = ("dob", "birth_year", "birth_month", "birth_day", "sex")


def validate_key(part: object) -> None:
    if not isinstance(part, str):
        raise ConfigError(
            "blocking.keys",
            f"{part!r} is not a key name (a string such as 'dob' or 'surname:soundex')",
        )
    if part in KEY_PARTS:
        return
    role, _, kind = part.partition(":")
    if role not in ("forename", "middle_names", "surname", "postcode", "address"):
        raise ConfigError(
            "blocking.keys",
            f"{part!r} is not a key; use a role (forename, surname, postcode, address, middle_names), "
            f"role:derived (e.g. surname:soundex, forename:initial, postcode:district) or one of "
            f"{', '.join(KEY_PARTS)}",
        )
    allowed = (*PHONETIC, "initial", "first3", "sector", "district", "area", "")
    if kind not in allowed:
        raise ConfigError(
            "blocking.keys",
            f"{part!r}: unknown derived key {kind!r}; allowed: {', '.join(a for a in allowed if a)}",
        )


@blocker("exact")
class ExactKeys(KeyJoin):
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
            validate_key(part)
        self.keys = tuple(keys)

    def describe(self) -> str:
        return "exact(" + " + ".join(self.keys) + ")"

    def left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [data.left.key(p, data.vocabularies)[rows] for p in self.keys]
        return combine_keys(parts)

    def sorted_right(self, data: LinkageData) -> SortedSide:
        # The sorted right side is reused for every chunk of the same linkage; it is kept on
        # the linkage itself, so it can never be confused with another linkage's.
        work = data.state(BlockingWork).sorted
        cache_key = ("exact", self.keys)
        cached = work.get(cache_key)
        if cached is None:
            if len(data.left) * _PROBE_RATIO < len(data.right):
                # A small batch against a big register (a lookup): probe the register's keys
                # against the batch's and sort only the rows that match, by counting. Keys a
                # warmed register keeps are probed as they are; otherwise they are combined
                # on the fly from the parts, never stored (a single batch would not reuse them).
                from matchsim.blocking.kernels import rows_with_wanted_keys  # numba: on use

                left_keys, left_ok = self.left_keys(data, np.arange(len(data.left)))
                wanted = np.unique(left_keys[left_ok])
                kept = data.right.state(BlockingKeys).combined.get(self.keys)
                keys, ok = kept if kept is not None else self._combined_right(data)
                cached = SortedSide(*rows_with_wanted_keys(keys, ok, wanted))
            else:
                keys, ok = self.right_keys(data)
                rows = np.flatnonzero(ok)
                order = np.argsort(keys[rows], kind="stable")
                cached = SortedSide(keys[rows][order], rows[order])
            work[cache_key] = cached
        return cached

    def right_keys(self, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
        """The right records' combined keys and whether each has every part, kept with the
        right records (a prepared register computes them once for all its lookups)."""
        kept = data.right.state(BlockingKeys).combined
        found = kept.get(self.keys)
        if found is None:
            found = kept[self.keys] = self._combined_right(data)
        return found

    def _combined_right(self, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
        return combine_keys([data.right.key(p, data.vocabularies) for p in self.keys])

    def warm(self, data: LinkageData) -> None:
        """Combine the right side's keys now (the sorted side depends on each left side)."""
        self.right_keys(data)

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

    def verify(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
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


def _derived_hashes(vocab: Vocabulary, kind: str) -> np.ndarray:
    """A 64-bit hash of each vocabulary value's derived key (``kind`` "" for the value itself).

    Codes of derived keys are local to one role's vocabulary, so a forename's Soundex code
    cannot be compared with a surname's; hashes of the derived text can. A register's hashes
    are kept on its own vocabulary and only the left side's extra values are hashed per linkage.
    """
    cache = vocab.kept("_derived_hashes")
    if kind not in cache:
        if vocab.base is not None:
            head = _derived_hashes(vocab.base, kind)
            tail = vocab.values.slice(len(vocab.base))
            cache[kind] = np.concatenate([head, _hash_text(vocab, kind, tail)])
        else:
            cache[kind] = _hash_text(vocab, kind, vocab.values)
    return cache[kind]


def _hash_text(vocab: Vocabulary, kind: str, values: pa.Array) -> np.ndarray:
    text = vocab.derive_text(kind, values) if kind else values
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
            validate_key(other)
            if (part in KEY_PARTS or other in KEY_PARTS) and part != other:
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
    def _part(records: Records, part: str, data: LinkageData) -> np.ndarray:
        if part in KEY_PARTS:
            return records.key(part, data.vocabularies)
        kept = records.state(BlockingKeys).text
        if part not in kept:
            role, _, kind = part.partition(":")
            if role not in records.codes:
                raise ConfigError(
                    "blocking", f"key {part!r} needs the role {role!r}, which is not mapped"
                )
            codes = records.codes[role]
            hashes = _derived_hashes(data.vocabularies[role], kind)
            kept[part] = np.where(codes >= 0, hashes[np.maximum(codes, 0)], MISSING)
        return kept[part]

    def left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return combine_keys([self._part(data.left, p, data)[rows] for p in self.keys])

    def warm(self, data: LinkageData) -> None:
        """Sort the right side's keys now (a prepared register, before its first lookup)."""
        self.sorted_right(data)

    def sorted_right(self, data: LinkageData) -> SortedSide:
        # The right side's keys do not depend on the left, so the sorted keys are kept with the
        # right records: a prepared register sorts them once for all its lookups.
        kept = data.right.state(BlockingKeys).sorted
        cache_key = ("cross", self.against)
        cached = kept.get(cache_key)
        if cached is None:
            keys, ok = combine_keys([self._part(data.right, p, data) for p in self.against])
            rows = np.flatnonzero(ok)
            order = np.argsort(keys[rows], kind="stable")
            cached = SortedSide(keys[rows][order], rows[order])
        kept[cache_key] = cached
        return cached

    def part_agreement(
        self, data: LinkageData, left_row: int, right_row: int
    ) -> list[tuple[str, bool]]:
        out = []
        for p, q in zip(self.keys, self.against, strict=True):
            a = self._part(data.left, p, data)[left_row]
            b = self._part(data.right, q, data)[right_row]
            out.append((f"{p} = {q}", bool(a != MISSING and b != MISSING and a == b)))
        return out

    def verify(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        keep = np.ones(len(left), dtype=bool)
        for p, q in zip(self.keys, self.against, strict=True):
            keep &= self._part(data.left, p, data)[left] == self._part(data.right, q, data)[right]
        return keep
