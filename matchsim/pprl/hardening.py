"""Hardening of Bloom-filter encodings, applied in this order after hashing (Schnell & Borgs
2016; Christen et al. 2018):

* ``salt`` — a stable field (``birth_year``) joins every q-gram's hash, so a name gets a
  different filter in each birth year (defeats frequency alignment across years; an error
  in the salt field makes the whole field disagree);
* ``balance`` — the filter and its complement, concatenated and permuted by a keyed
  permutation: length doubles and exactly half the bits are set;
* ``xor_fold`` — the two halves XOR-ed: length halves;
* ``diffusion`` — a linear diffusion layer (Armknecht, Heng & Schnell, "Strengthening
  privacy-preserving record linkage using diffusion", PoPETS 2022): output bit ``j`` is the
  XOR of ``t`` input bits at keyed random positions, so no output bit reveals one q-gram
  and the bit patterns pattern-mining and graph attacks read are mixed; length unchanged;
* ``blip`` — every bit flipped independently with probability ``f`` (each party draws its
  own flips). Note Alaggan et al.'s BLIP randomises a bit with probability f, which flips it
  with probability f/2; here ``blip`` *is* the flip probability.

The salt is applied while hashing (:func:`matchsim.pprl.tokens.gram_positions` takes it);
the rest by :func:`harden_filters`, on the packed filters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchsim.errors import ConfigError
from matchsim.pprl.bits import CHUNK, pack, unpack
from matchsim.pprl.secret import Secret

SALTS = ("birth_year",)


@dataclass(frozen=True)
class Hardening:
    """Hardening settings (see the module docstring)."""

    salt: str | None = None
    balance: bool = False
    xor_fold: bool = False
    blip: float = 0.0
    #: bits XOR-ed into each output bit by the diffusion layer (0: off)
    diffusion: int = 0

    def __post_init__(self) -> None:
        if (
            isinstance(self.diffusion, bool)
            or not isinstance(self.diffusion, int)
            or not 0 <= self.diffusion <= 64
        ):
            raise ConfigError(
                "pprl.diffusion",
                f"{self.diffusion!r} is not allowed; give the bits per output bit, 0 to 64",
            )
        if self.salt is not None and self.salt not in SALTS:
            raise ConfigError(
                "pprl.salt", f"{self.salt!r} is not allowed; allowed: {', '.join(SALTS)}"
            )
        if (
            isinstance(self.blip, bool)
            or not isinstance(self.blip, int | float)
            or not 0 <= self.blip < 0.5
        ):
            raise ConfigError("pprl.blip", f"{self.blip!r} is not a flip probability in [0, 0.5)")

    def label(self) -> str:
        parts = []
        if self.salt:
            parts.append(f"salt={self.salt}")
        if self.balance:
            parts.append("balance")
        if self.xor_fold:
            parts.append("xor-fold")
        if self.diffusion:
            parts.append(f"diffusion t={self.diffusion}")
        if self.blip:
            parts.append(f"BLIP f={self.blip:g}")
        return ", ".join(parts) or "none"


def balance_permutation(secret: Secret, length: int) -> np.ndarray:
    """The keyed permutation of a filter and its complement (``2 * length`` bits)."""
    seed = int.from_bytes(secret.digest(b"matchsim-balance-permutation")[:16], "big")
    return np.random.default_rng(seed).permutation(2 * length)


def diffusion_taps(secret: Secret, length: int, t: int) -> np.ndarray:
    """The keyed tap positions (length x t): distinct input bits per output bit."""
    seed = int.from_bytes(secret.digest(b"matchsim-diffusion-taps")[:16], "big")
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(length, size=t, replace=False) for _ in range(length)])


def harden_filters(
    filters: np.ndarray,
    hardening: Hardening,
    secret: Secret,
    length: int,
    seed: int,
    stream: int = 0,
) -> np.ndarray:
    """Balancing, XOR-folding, diffusion and BLIP (as ``hardening`` says) applied to raw
    ``length``-bit filters, keyed by ``secret``; ``seed`` and ``stream`` seed the BLIP flips
    (``stream`` separates those of different parties or tables).
    """
    h = hardening
    out = filters
    if h.balance:
        permutation = balance_permutation(secret, length)
        # Written into one array chunk by chunk: a national register's balanced filters are
        # 4 GB, and a list of parts concatenated held them twice.
        balanced = np.empty((len(out), 2 * length // 64), dtype=np.uint64)
        for lo in range(0, len(out), CHUNK):
            bits = unpack(out[lo : lo + CHUNK])
            # np.take, not fancy indexing: an order of magnitude faster on wide bool rows.
            doubled = np.take(np.concatenate([bits, ~bits], axis=1), permutation, axis=1)
            balanced[lo : lo + len(bits)] = pack(doubled)
        out = balanced
    if h.xor_fold:
        half = out.shape[1] // 2
        out = out[:, :half] ^ out[:, half:]
    if h.diffusion:
        out = diffuse(out, diffusion_taps(secret, out.shape[1] * 64, h.diffusion))
    if h.blip:
        # Flipped in place when ``out`` is this function's own array (the caller's filters
        # are never changed): one copy of a national register's filters fewer.
        rng = np.random.default_rng([seed, stream, 0xB119])
        out = blip(out, h.blip, rng, in_place=out is not filters)
    return np.ascontiguousarray(out)


def diffuse(filters: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """The diffusion layer: output bit ``j`` = XOR of the input bits ``taps[j]``."""
    out = np.zeros_like(filters)
    for lo in range(0, len(filters), 4096):
        bits = unpack(filters[lo : lo + 4096])
        mixed = np.zeros_like(bits)
        for column in taps.T:  # t passes, each a gather of every output bit's next tap
            mixed ^= np.take(bits, column, axis=1)
        out[lo : lo + len(bits)] = pack(mixed)
    return out


def blip(
    filters: np.ndarray, f: float, rng: np.random.Generator, *, in_place: bool = False
) -> np.ndarray:
    """Flip each bit independently with probability ``f`` (in ``filters`` itself with
    ``in_place``, else in a copy).

    The flipped positions of the whole (rows x bits) stream are a Bernoulli process: gaps
    between flips are geometric, so only the ~f * bits flips are drawn, never a random number
    per bit. They are drawn and applied in batches of at most :data:`BLIP_BATCH` flips: a
    national register at f = 0.05 flips 780 million bits, whose positions held at once took
    20 GB. The gaps are consumed in order whatever the batch, so the flips are the same.
    """
    out = filters if in_place and filters.flags.c_contiguous else filters.copy()
    if f <= 0 or out.size == 0:
        return out
    total = out.size * 64
    bits = out.view(np.uint8).reshape(-1)
    expected = int(total * f * 1.1)
    drawn, at = 0, -1
    while True:
        gaps = rng.geometric(f, size=min(max(expected - drawn, 1024), BLIP_BATCH))
        drawn += len(gaps)
        steps = at + np.cumsum(gaps)
        _flip(bits, steps[steps < total])
        if steps[-1] >= total:
            break
        at = int(steps[-1])
    return out


#: Most flips drawn and applied at once by :func:`blip` (about 0.2 GB of temporaries).
BLIP_BATCH = 8_000_000


def _flip(bits: np.ndarray, flat: np.ndarray) -> None:
    """XOR the bits at sorted, distinct positions ``flat`` of a byte view."""
    if not len(flat):
        return
    # The masks of one byte are distinct bits, so their sum is their OR, and one XOR per
    # touched byte applies them.
    byte = flat // 8
    mask = (np.uint8(0x80) >> (flat % 8).astype(np.uint8)).astype(np.uint8)
    starts = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
    bits[byte[starts]] ^= np.add.reduceat(mask, starts).astype(np.uint8)
