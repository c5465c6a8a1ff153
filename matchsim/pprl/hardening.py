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
  with probability f/2; here ``blip`` *is* the flip probability. A record's flips depend on
  the key, the party's stream and the record's row only, never on which other records are
  encoded with it: a lookup encodes only the register records its candidate pairs touch
  and gets the bits encoding the whole register would give them.

The salt is applied while hashing (:func:`matchsim.pprl.tokens.gram_positions` takes it);
the rest by :func:`harden_filters`, on the packed filters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchsim.errors import ConfigError
from matchsim.pprl.bits import CHUNK, pack, unpack
from matchsim.pprl.dice import use_numba
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
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Balancing, XOR-folding, diffusion and BLIP (as ``hardening`` says) applied to raw
    ``length``-bit filters, keyed by ``secret``; ``seed`` and ``stream`` key the BLIP flips
    (``stream`` separates those of different parties or tables) and ``rows`` numbers the
    filters' records for them (default ``0..n-1``: filter ``i`` is record ``i``).
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
        key = blip_key(secret, seed, stream)
        out = blip(out, h.blip, key, rows=rows, in_place=out is not filters)
    return np.ascontiguousarray(out)


def blip_key(secret: Secret, seed: int, stream: int) -> int:
    """The 64-bit key of one party's BLIP flips: keyed by the secret, so that knowing the
    settings and the seed does not give the flips away."""
    message = b"matchsim-blip:%d:%d" % (seed, stream)
    return int.from_bytes(secret.digest(message)[:8], "big")


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
    filters: np.ndarray,
    f: float,
    key: int,
    *,
    rows: np.ndarray | None = None,
    in_place: bool = False,
    kernel: str = "auto",
) -> np.ndarray:
    """Flip each bit independently with probability ``f`` (in ``filters`` itself with
    ``in_place``, else in a copy). ``kernel``: as :func:`matchsim.pprl.dice.use_numba` takes
    it (``numpy``: the reference, a rows x bits matrix of hashes at a time).

    Bit ``j`` of record ``r`` (``rows[i]`` for filter ``i``; ``i`` itself by default) flips
    when a 64-bit hash of ``(key, r, j)`` falls below ``f * 2**64``: a counter-based draw, so
    a record's flips are the same whichever records are encoded beside it, and the numba
    kernel and numpy give the same bits. The hash is SplitMix64's output function (Steele,
    Lea & Flood 2014) of ``key + (r * bits + j + 1) * golden``; no library offers a keyed
    counter-based Bernoulli draw over a bit matrix, and numpy's generators are sequential.
    """
    out = filters if in_place and filters.flags.c_contiguous else filters.copy()
    if f <= 0 or out.size == 0:
        return out
    n = len(out)
    record = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    if record.shape != (n,):
        raise ValueError(f"rows must give one record number per filter ({n}); got {record.shape}")
    as_bytes = out.view(np.uint8).reshape(n, -1)
    below = np.uint64(min(int(f * 2.0**64), 2**64 - 1))
    if use_numba(kernel):
        from matchsim.pprl.encoding_kernels import blip_rows  # numba: on use

        blip_rows(as_bytes, record, np.uint64(key), below)
    else:
        _blip_rows_numpy(as_bytes, record, np.uint64(key), below)
    return out


#: SplitMix64's constants (Steele, Lea & Flood 2014).
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
#: Records whose bits the numpy reference hashes at once (rows x bits uint64 temporaries).
BLIP_ROWS = 4096


def splitmix64(counter: np.ndarray, key: np.uint64) -> np.ndarray:
    """SplitMix64's output for each ``counter`` of the sequence started at ``key``."""
    with np.errstate(over="ignore"):
        z = key + (counter + np.uint64(1)) * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


def _blip_rows_numpy(
    as_bytes: np.ndarray, record: np.ndarray, key: np.uint64, below: np.uint64
) -> None:
    """The numpy reference of :func:`matchsim.pprl.encoding_kernels.blip_rows`."""
    bits = as_bytes.shape[1] * 8
    column = np.arange(bits, dtype=np.uint64)
    for lo in range(0, len(as_bytes), BLIP_ROWS):
        counter = record[lo : lo + BLIP_ROWS].astype(np.uint64)[:, None] * np.uint64(bits)
        flips = splitmix64(counter + column, key) < below
        as_bytes[lo : lo + BLIP_ROWS] ^= np.packbits(flips, axis=1, bitorder="big")
