"""MinHash LSH blocking on a name's q-grams: records sharing a band of the signature pair."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from matchsim.blocking.base import (
    Blocker,
    BlockingWork,
    KeyJoin,
    SortedSide,
    blocker,
    combine_keys,
    dedupe_pairs,
    sum_counts,
)
from matchsim.errors import ConfigError
from matchsim.hashing import splitmix64
from matchsim.records import MISSING, LinkageData, Records


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
        cache = vocab.kept("_minhash")
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

    def _passes(self, data: LinkageData) -> list[_BandJoin]:
        cache_key = (
            "minhash",
            self.field,
            self.q,
            self.bands,
            self.rows,
            self.with_birth_year,
            self.seed,
        )
        work = data.state(BlockingWork).other
        cached = work.get(cache_key)
        if cached is None:
            sig = self._signatures(data)
            passes: list[_BandJoin] = []
            for b in range(self.bands):
                band = _BandKey(self.field, sig[:, b], b)
                passes.append(_BandJoin([band, *(["birth_year"] if self.with_birth_year else [])]))
            work[cache_key] = cached = passes
        return cached  # type: ignore[return-value]  # the work holds what this method put there

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum_counts(p.counts(data, left_rows) for p in self._passes(data))

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dedupe_pairs([p.pairs(data, left_rows) for p in self._passes(data)], len(data.right))

    self_pairs_once = True  # every band is an exact pass

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum_counts(p.self_counts(data, left_rows) for p in self._passes(data))

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [p.self_pairs(data, left_rows) for p in self._passes(data)]
        return dedupe_pairs(parts, len(data.right))


@dataclass(frozen=True)
class _BandKey:
    role: str
    band_hash: np.ndarray
    band: int

    def values(self, records: Records, data: LinkageData) -> np.ndarray:
        codes = records.codes[self.role]
        return np.where(codes >= 0, self.band_hash[np.maximum(codes, 0)], MISSING)


class _BandJoin(KeyJoin):
    """Exact join on computed key arrays (used by MinHash bands). Band keys are 64-bit hashes
    of signatures: equal keys are what a band means, so every pair of equal keys is kept."""

    name = "exact"

    def __init__(self, parts: list[_BandKey | str]) -> None:
        self.parts = parts
        self.keys = tuple(p if isinstance(p, str) else f"band{p.band}" for p in parts)

    def _part(self, records: Records, part: _BandKey | str, data: LinkageData) -> np.ndarray:
        return (
            part.values(records, data)
            if isinstance(part, _BandKey)
            else records.key(part, data.vocabularies)
        )

    def left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return combine_keys([self._part(data.left, p, data)[rows] for p in self.parts])

    def sorted_right(self, data: LinkageData) -> SortedSide:
        band = next(p for p in self.parts if isinstance(p, _BandKey))
        cache_key = ("minhash-band", band.role, band.band, id(band.band_hash), self.keys)
        work = data.state(BlockingWork).sorted
        cached = work.get(cache_key)
        if cached is None:
            keys, ok = combine_keys([self._part(data.right, p, data) for p in self.parts])
            rows = np.flatnonzero(ok)
            order = np.argsort(keys[rows], kind="stable")
            cached = SortedSide(keys[rows][order], rows[order])
            work[cache_key] = cached
        return cached

    def describe(self) -> str:
        return "exact(" + " + ".join(self.keys) + ")"
