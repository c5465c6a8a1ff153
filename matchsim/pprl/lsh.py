"""Blocking on encodings alone: Hamming LSH (bit sampling) over CLKs.

Each of ``bands`` bands samples ``bits`` fixed bit positions (drawn from ``seed``); records
whose CLKs agree on every sampled bit of some band are paired. Two CLKs agreeing on a share
s of their bits collide in a band with probability s^bits, so in any band with
1 - (1 - s^bits)^bands (Indyk & Motwani 1998; as used for PPRL blocking by Durham 2012 and
Karapiperis & Verykios 2015). No plaintext field takes part.
"""

from __future__ import annotations

import numpy as np

from matchsim.blocking.base import (
    Blocker,
    BlockingWork,
    KeyJoin,
    SortedSide,
    blocker,
    dedupe_pairs,
    sum_counts,
)
from matchsim.errors import ConfigError
from matchsim.pprl.encoding import BloomEncoder
from matchsim.pprl.records import linkage_clks
from matchsim.records import LinkageData


def sampled_bits(filters: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """An int64 key per filter from the bits at ``positions`` (at most 62)."""
    as_bytes = np.ascontiguousarray(filters).view(np.uint8)
    key = np.zeros(len(filters), dtype=np.int64)
    for j, p in enumerate(positions):
        bit = (as_bytes[:, p // 8] >> np.uint8(7 - p % 8)) & np.uint8(1)
        key |= bit.astype(np.int64) << j
    return key


class _Band(KeyJoin):
    """One band: an exact join on its sampled-bits key (equal keys are what a band means, so
    every pair of equal keys is kept)."""

    name = "exact"

    def __init__(self, owner: ClkLSH, band: int) -> None:
        self.owner, self.band = owner, band
        self.keys = (f"clk-band{band}",)

    def _keys(self, data: LinkageData, side: str) -> np.ndarray:
        work = data.state(BlockingWork).other
        cache_key = ("clk-lsh", side, self.owner.settings(), self.band)
        if cache_key not in work:
            left, right = linkage_clks(self.owner.encoder, data)
            positions = self.owner.positions(left.shape[1] * 64)[self.band]
            work[cache_key] = sampled_bits(left if side == "left" else right, positions)
        return work[cache_key]  # type: ignore[return-value]  # as put there above

    def left_keys(self, data: LinkageData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._keys(data, "left")[rows], np.ones(len(rows), dtype=bool)

    def sorted_right(self, data: LinkageData) -> SortedSide:
        work = data.state(BlockingWork).sorted
        cache_key = ("clk-lsh-sorted", self.owner.settings(), self.band)
        if cache_key not in work:
            keys = self._keys(data, "right")
            order = np.argsort(keys, kind="stable")
            work[cache_key] = SortedSide(keys[order], order)
        return work[cache_key]

    def describe(self) -> str:
        return "exact(" + " + ".join(self.keys) + ")"


@blocker("clk_lsh")
class ClkLSH(Blocker):
    """Hamming LSH on keyed Bloom-filter encodings (CLKs) alone: records whose CLKs agree on
    every sampled bit of some band are paired.

    ``encoding`` holds the encoder settings (see ``matchsim.pprl.BloomEncoder``), which must
    equal the matcher's.

    Parameters
    ----------
    bands
        Bands of sampled bits (1-500); records agreeing on every bit of any band are paired.
    bits
        Bits sampled per band (1-62): more bits, fewer and closer pairs.
    seed
        Seed of the bit sampling.
    encoding
        The encoder settings (see the ``bloom_dice`` matcher); must equal the matcher's.
    """

    def __init__(
        self, bands: int = 24, bits: int = 24, seed: int = 1, encoding: dict | None = None
    ) -> None:
        for label, value, low, high in (("bands", bands, 1, 500), ("bits", bits, 1, 62)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"blocking.clk_lsh.{label}",
                    f"{value!r} is not allowed; must be a whole number from {low} to {high}",
                )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(
                "blocking.clk_lsh.seed", f"must be a whole number. Got {seed!r} instead."
            )
        if encoding is not None and not isinstance(encoding, dict):
            raise ConfigError("blocking.clk_lsh.encoding", "must be a mapping of encoder settings")
        self.bands, self.bits, self.seed = bands, bits, seed
        self.encoder = BloomEncoder(**(encoding or {}))
        self._bands = [_Band(self, b) for b in range(bands)]

    def settings(self) -> tuple[object, ...]:
        return (self.bands, self.bits, self.seed, self.encoder.settings())

    def positions(self, length: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return np.stack([rng.choice(length, self.bits, replace=False) for _ in range(self.bands)])

    def describe(self) -> str:
        return f"clk_lsh({self.bands} bands x {self.bits} bits)"

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum_counts(b.counts(data, left_rows) for b in self._bands)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dedupe_pairs([b.pairs(data, left_rows) for b in self._bands], len(data.right))
