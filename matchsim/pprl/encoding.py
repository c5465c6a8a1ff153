"""Keyed Bloom-filter encodings: field-level filters and record-level CLKs, with hardening.

A value is split into q-grams (padded with ``#``); each q-gram sets ``k`` bits of an
``length``-bit filter, chosen by a keyed hash (HMAC-SHA256) of the field name, an optional
salt and the q-gram (Schnell, Bachteler & Reiher 2009). A record's CLK (cryptographic
long-term key) is the OR of its fields' filters, each field with its own ``k``.

Why it is fast without a per-record hash: names repeat heavily and their q-gram vocabulary
is small. Each *distinct* value is encoded once, each *distinct* (salt, q-gram) pair is
hashed once (the keyed hash is what keeps the key's protection, and it is still applied to
every q-gram), and records then gather their values' filters and OR them. With numba the
kernels of :mod:`matchsim.pprl.encoding_kernels` cut the q-grams and set each value's bits
directly; without it (or with ``kernel="numpy"``) numpy does, giving the same bits.

Bit positions (``hashing``):

* ``double`` — Schnell et al. (2009): ``g_i = (h1 + i * h2) mod length`` for ``i < k``,
  with ``h1``, ``h2`` the first two big-endian 64-bit words of one HMAC-SHA256 digest.
* ``random`` — random hashing (Schnell 2014, as in the R package PPRL; a defence against the
  double-hashing attack of Niedermeyer et al. 2014): the ``k`` positions are successive big-endian 32-bit
  words of HMAC-SHA256(key, message || block number), reduced modulo ``length``.

Filters are packed 64 bits to a ``uint64`` word; bit ``i`` is bit ``7 - i % 8`` of byte
``i // 8`` (``np.packbits``' big-endian order, as clkhash serialises CLKs).

Hardening, applied in this order after hashing (Schnell & Borgs 2016; Christen et al. 2018):

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
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim.errors import ConfigError
from matchsim.pprl.dice import HAVE_NUMBA, KERNELS
from matchsim.records import VALUE_ROLES

#: Environment variable read for the secret key when none is given.
KEY_ENV = "MATCHSIM_PPRL_KEY"

#: Roles a CLK can encode. ``date_of_birth`` is encoded as day, month and year tokens, so a
#: slip in one part keeps the others; ``sex`` as one token; the rest as q-grams of the
#: normalised text.
ENCODABLE_ROLES = VALUE_ROLES
HASHINGS = ("double", "random")
#: Roles encoded as whole tokens rather than q-grams (``q`` does not apply).
TOKEN_ROLES = ("date_of_birth", "sex")
SALTS = ("birth_year",)
MISSING_POLICIES = ("empty", "token")
#: The one token a missing value encodes under ``missing="token"`` (no q-gram can equal it).
MISSING_TOKEN = "<missing>"

#: Records encoded per chunk when bits are set (a bool matrix of chunk x length).
_CHUNK = 32_768


class Secret:
    """A secret key that never shows itself: its repr, str and pickles carry no key bytes."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if raw == b"<redacted>":
            raise ConfigError(
                "pprl.key",
                f"the key was redacted from this resolved scenario; set {KEY_ENV} (or key_env) instead",
            )
        if len(raw) < 8:
            raise ConfigError("pprl.key", "the secret key must be at least 8 bytes long")
        self._key = raw

    @classmethod
    def resolve(cls, key: bytes | str | Secret | None, key_env: str | None = KEY_ENV) -> Secret:
        """The key given, else the environment variable ``key_env``; a clear error otherwise."""
        if isinstance(key, Secret):
            return key
        if key is not None:
            return cls(key)
        value = os.environ.get(key_env or KEY_ENV)
        if not value:
            raise ConfigError(
                "pprl.key",
                f"no secret key: set the environment variable {key_env or KEY_ENV} "
                "(or pass key=... from Python)",
            )
        return cls(value)

    def digest(self, message: bytes) -> bytes:
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def digests(self, prefix: bytes, messages: Iterable[bytes]) -> bytes:
        """``digest(prefix + m)`` of each message, concatenated: the key and prefix are
        absorbed once and copied, not hashed again for every message."""
        start = hmac.new(self._key, prefix, hashlib.sha256)
        out = []
        for message in messages:
            h = start.copy()
            h.update(message)
            out.append(h.digest())
        return b"".join(out)

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # refuse to be pickled into a file with the key inside
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a CLK: the role it encodes, its q-gram length and bits per q-gram."""

    role: str
    q: int = 2
    k: int = 20

    def __post_init__(self) -> None:
        if self.role not in ENCODABLE_ROLES:
            raise ConfigError(
                "pprl.fields",
                f"{self.role!r} is not encodable; allowed: {', '.join(ENCODABLE_ROLES)}",
            )
        for name, value, low, high in (("q", self.q, 1, 3), ("k", self.k, 1, 200)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"pprl.fields.{self.role}.{name}",
                    f"{value!r} is not allowed; must be a whole number from {low} to {high}",
                )


#: Default CLK fields and bits per q-gram. Names carry most of the identifying power, so
#: they get the most bits; k near 20-30 per field for 1,000-bit filters follows the
#: clkhash FEBRL schema and Schnell et al. (2009).
DEFAULT_FIELDS = (
    FieldSpec("forename", 2, 20),
    FieldSpec("surname", 2, 20),
    FieldSpec("date_of_birth", 1, 20),
    FieldSpec("postcode", 2, 10),
    FieldSpec("sex", 1, 5),
)


def field_specs(fields: object) -> tuple[FieldSpec, ...]:
    """Field specs from a list of roles, mappings ``{role, q, k}`` or a ``role -> {q, k}`` map."""
    if fields is None:
        return DEFAULT_FIELDS
    items: list[object]
    if isinstance(fields, Mapping):
        items = [{"role": r, **(v or {})} for r, v in fields.items()]
    elif isinstance(fields, list | tuple):
        items = list(fields)
    else:
        raise ConfigError("pprl.fields", f"must be a list of fields. Got {fields!r} instead.")
    specs = []
    for item in items:
        if isinstance(item, FieldSpec):
            specs.append(item)
        elif isinstance(item, str):
            specs.append(FieldSpec(item))
        elif isinstance(item, Mapping):
            unknown = set(item) - {"role", "q", "k"}
            if unknown or "role" not in item:
                raise ConfigError(
                    "pprl.fields", f"{dict(item)!r}: give role and optionally q and k"
                )
            specs.append(FieldSpec(**item))
        else:
            raise ConfigError("pprl.fields", f"{item!r} is not a field")
    if not specs:
        raise ConfigError("pprl.fields", "give at least one field")
    if len({s.role for s in specs}) != len(specs):
        raise ConfigError("pprl.fields", "a role is listed twice")
    return tuple(specs)


# --------------------------------------------------------------------------------------------
# q-grams and their bit positions
# --------------------------------------------------------------------------------------------


def qgrams(text: str, q: int) -> list[str]:
    """Padded q-grams of one value (``#`` marks the start and end); none for an empty value."""
    if not text:
        return []
    padded = f"#{text}#" if q > 1 else text
    return [padded[i : i + q] for i in range(len(padded) - q + 1)]


def tokens(role: str, text: str, q: int) -> list[str]:
    """What one value of a role sets bits for: q-grams of text; for a date of birth
    (``YYYY-MM-DD``) its day, month and year as separate tokens, so a slip in one part keeps
    the other two; for sex the value itself."""
    if not text:
        return []
    if role == "sex" or text == MISSING_TOKEN:
        return [text]
    if role == "date_of_birth":
        year, month, day = text.split("-")
        return [f"D{day}", f"M{month}", f"Y{year}"]
    return qgrams(text, q)


def _value_grams(role: str, texts: Sequence[str], q: int) -> tuple[np.ndarray, list[str]]:
    """(owner, token code) of every token of every text, grouped by owner in order, and the
    distinct tokens. q-grams are cut with numpy from the texts' code points."""
    if role in TOKEN_ROLES:
        codes: dict[str, int] = {}
        owners: list[int] = []
        grams: list[int] = []
        for i, text in enumerate(texts):  # a few thousand dates at most
            for g in tokens(role, text, q):
                owners.append(i)
                grams.append(codes.setdefault(g, len(codes)))
        return np.array([owners, grams], dtype=np.int64).reshape(2, -1), list(codes)
    if not len(texts):
        return np.zeros((2, 0), dtype=np.int64), []
    padded = np.array([f"#{t}#" if (t and q > 1) else (t or "") for t in texts], dtype=str)
    width = max(padded.dtype.itemsize // 4, q)
    points = np.zeros((len(texts), width), dtype=np.int64)
    if padded.dtype.itemsize:
        raw = padded.view(np.uint32).reshape(len(texts), -1)
        points[:, : raw.shape[1]] = raw
    lengths = np.char.str_len(padded)
    per_row = width - q + 1
    # A code point fits in 21 bits, so up to three make one int64 token code.
    gram_codes = np.zeros((len(texts), per_row), dtype=np.int64)
    for j in range(q):
        gram_codes = (gram_codes << 21) | points[:, j : j + per_row]
    valid = np.arange(per_row)[None, :] < (lengths - q + 1)[:, None]
    owners_a = np.nonzero(valid)[0]
    distinct, inverse = np.unique(gram_codes[valid], return_inverse=True)
    grams_text = [_gram_code_text(int(c), q) for c in distinct]
    return np.stack([owners_a.astype(np.int64), inverse.ravel().astype(np.int64)]), grams_text


def gram_message(field: str, salt: str, gram: str) -> bytes:
    """What the keyed hash sees for one q-gram: field, salt and q-gram, unit-separated."""
    return f"{field}\x1f{salt}\x1f{gram}".encode()


def _gram_code_text(code: int, q: int) -> str:
    """The q-gram a code of :func:`_value_grams` (21 bits per code point) stands for."""
    mask = (1 << 21) - 1
    return "".join(chr((code >> (21 * (q - 1 - j))) & mask) for j in range(q))


def gram_positions(
    secret: Secret, field: str, salt: str, grams: Sequence[str], k: int, length: int, hashing: str
) -> np.ndarray:
    """Bit positions (grams x k) of each q-gram: one HMAC-SHA256 per q-gram (per block of 8
    positions for random hashing), the rest vectorised."""
    n = len(grams)
    if n == 0:
        return np.zeros((0, k), dtype=np.int64)
    prefix = gram_message(field, salt, "")
    if hashing == "double":
        digests = secret.digests(prefix, (g.encode() for g in grams))
        words = np.frombuffer(digests, dtype=">u8").reshape(n, 4)
        h1 = (words[:, 0] % np.uint64(length)).astype(np.int64)
        h2 = (words[:, 1] % np.uint64(length)).astype(np.int64)
        # (h1 + i*h2) mod L == (h1 mod L + i*(h2 mod L)) mod L, and stays within int64.
        return (h1[:, None] + np.arange(k)[None, :] * h2[:, None]) % length
    blocks = -(-k // 8)
    digests = secret.digests(
        prefix, (g.encode() + bytes([b]) for g in grams for b in range(blocks))
    )
    words = np.frombuffer(digests, dtype=">u4").reshape(n, blocks * 8)[:, :k]
    return (words % np.uint32(length)).astype(np.int64)


def _pack(bits: np.ndarray) -> np.ndarray:
    """A bool matrix (rows x length) as uint64 words in big-endian bit order."""
    packed = np.packbits(bits, axis=1, bitorder="big")
    return np.ascontiguousarray(packed).view(np.uint64)


def unpack(filters: np.ndarray) -> np.ndarray:
    """uint64 words back to a bool matrix (rows x length), bit ``i`` as in :func:`_pack`."""
    as_bytes = np.ascontiguousarray(filters).view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, bitorder="big").astype(bool)


def to_bytes(filters: np.ndarray) -> list[bytes]:
    """Each filter as bytes (clkhash's serialised order)."""
    as_bytes = np.ascontiguousarray(filters).view(np.uint8)
    return [row.tobytes() for row in as_bytes]


# --------------------------------------------------------------------------------------------
# The encoder
# --------------------------------------------------------------------------------------------


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


class BloomEncoder:
    """Encodes values and records into keyed Bloom filters (see the module docstring).

    Parameters
    ----------
    fields
        Field specs (see :func:`field_specs`); default :data:`DEFAULT_FIELDS`.
    length
        Filter length in bits before hardening, a multiple of 64 (128 with ``xor_fold``).
    key, key_env
        The secret: ``key`` if given, else the environment variable ``key_env``. Never
        stored anywhere but this object's :class:`Secret`, never in :meth:`describe`.
    hashing
        ``double`` or ``random``.
    salt
        Hardening: a stable field (``birth_year``) joins every q-gram's hash.
    balance
        Hardening: the filter and its keyed-permuted complement (length doubles).
    xor_fold
        Hardening: the two halves XOR-ed (length halves).
    blip
        Hardening: the probability, in [0, 0.5), that each bit is flipped.
    diffusion
        Hardening: bits XOR-ed into each output bit (Armknecht et al. 2022); 0 is off.
    missing
        ``empty``: a missing value sets no bits; ``token``: it sets the bits of a fixed token,
        so two missing values agree (usually unwanted: absence is not evidence).
    seed
        Seed of the BLIP flips.
    kernel
        ``auto`` (numba when installed), ``numba`` or ``numpy``: which implementation sets
        the bits. Both give the same filters.
    """

    def __init__(
        self,
        fields: object = None,
        length: int = 1024,
        key: bytes | str | Secret | None = None,
        key_env: str | None = KEY_ENV,
        hashing: str = "double",
        salt: str | None = None,
        balance: bool = False,
        xor_fold: bool = False,
        blip: float = 0.0,
        missing: str = "empty",
        seed: int = 0,
        diffusion: int = 0,
        kernel: str = "auto",
    ) -> None:
        self.fields = field_specs(fields)
        if kernel not in KERNELS:
            raise ConfigError("kernel", f"{kernel!r} is not allowed; allowed: {', '.join(KERNELS)}")
        if kernel == "numba" and not HAVE_NUMBA:
            raise ConfigError("kernel", "numba is not installed (pip install numba)")
        self.kernel = "numba" if kernel == "numba" or (kernel == "auto" and HAVE_NUMBA) else "numpy"
        step = 128 if xor_fold else 64
        if (
            isinstance(length, bool)
            or not isinstance(length, int)
            or not step <= length <= 65536
            or length % step
        ):
            raise ConfigError(
                "pprl.length",
                f"{length!r} is not allowed; must be a multiple of {step} from {step} to 65536",
            )
        if hashing not in HASHINGS:
            raise ConfigError(
                "pprl.hashing", f"{hashing!r} is not allowed; allowed: {', '.join(HASHINGS)}"
            )
        if missing not in MISSING_POLICIES:
            raise ConfigError(
                "pprl.missing",
                f"{missing!r} is not allowed; allowed: {', '.join(MISSING_POLICIES)}",
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("pprl.seed", f"must be a whole number. Got {seed!r} instead.")
        self.length, self.hashing, self.missing, self.seed = length, hashing, missing, seed
        self.hardening = Hardening(salt, bool(balance), bool(xor_fold), float(blip), diffusion)
        self._secret = Secret.resolve(key, key_env)
        self._positions: dict[tuple[str, str, str], np.ndarray] = {}

    # -- description (never the key) ----------------------------------------------------------

    @property
    def secret(self) -> Secret:
        """The key holder (it never shows the key), to build a sibling encoder with it."""
        return self._secret

    def describe(self) -> str:
        fields = ", ".join(
            f"{f.role}(k={f.k})" if f.role in TOKEN_ROLES else f"{f.role}(q={f.q}, k={f.k})"
            for f in self.fields
        )
        return (
            f"CLK {self.length} bits, {self.hashing} hashing, HMAC-SHA256; {fields}; "
            f"hardening: {self.hardening.label()}"
        )

    def settings(self) -> tuple[object, ...]:
        """Everything that determines the encodings except the key (a cache key)."""
        # A keyed fingerprint tells keys apart in memory without holding the key itself.
        fingerprint = self._secret.digest(b"matchsim-settings-fingerprint")[:8]
        return (
            self.fields,
            self.length,
            self.hashing,
            self.hardening,
            self.missing,
            self.seed,
            fingerprint,
        )

    def __repr__(self) -> str:
        return f"BloomEncoder({self.describe()})"

    # -- values --------------------------------------------------------------------------------

    def _gram_positions(self, spec: FieldSpec, salt: str, grams: list[str]) -> np.ndarray:
        """Positions of q-grams, hashing each (field, salt, q-gram) once per encoder."""
        out = np.empty((len(grams), spec.k), dtype=np.int64)
        todo = []
        for i, g in enumerate(grams):
            cached = self._positions.get((spec.role, salt, g))
            if cached is None:
                todo.append(i)
            else:
                out[i] = cached[: spec.k]
        if todo:
            fresh = gram_positions(
                self._secret,
                spec.role,
                salt,
                [grams[i] for i in todo],
                spec.k,
                self.length,
                self.hashing,
            )
            out[todo] = fresh
            for i, row in zip(todo, fresh, strict=True):
                self._positions[(spec.role, salt, grams[i])] = row
        return out

    def field_filters(
        self,
        spec: FieldSpec,
        texts: Sequence[str] | np.ndarray,
        salts: Sequence[str] | np.ndarray | None = None,
    ) -> np.ndarray:
        """Raw (unhardened) filters of values: uint64 (values x length/64).

        ``salts`` (one per value) salt each value's q-grams. Tokens are listed once per
        distinct text and hashed once per distinct (salt, token) pair.
        """
        n = len(texts)
        filters = np.zeros((n, self.length // 64), dtype=np.uint64)
        if n == 0:
            return filters
        if self.kernel == "numba":
            return self._field_filters_compiled(spec, texts, salts, filters)
        text_of, distinct_texts = pd.factorize(np.asarray(texts, dtype=object))
        salt_of, distinct_salts = pd.factorize(
            np.asarray([""] * n if salts is None else list(salts), dtype=object)
        )
        pairs, grams = _value_grams(spec.role, list(distinct_texts), spec.q)
        # Each value's tokens: the run of its text's tokens in ``pairs`` (listed text by text).
        per_text = np.bincount(pairs[0], minlength=len(distinct_texts))
        starts = np.concatenate([[0], np.cumsum(per_text)[:-1]])
        count = per_text[text_of]
        value_row = np.repeat(np.arange(n), count)
        offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        gram = pairs[1][np.repeat(starts[text_of], count) + offset]
        # Distinct (salt, token) pairs: the only place the keyed hash runs.
        pair_key = salt_of[value_row].astype(np.int64) * max(len(grams), 1) + gram
        distinct_pairs, pair_of = np.unique(pair_key, return_inverse=True)
        positions = np.empty((len(distinct_pairs), spec.k), dtype=np.int64)
        pair_salt, pair_gram = (
            distinct_pairs // max(len(grams), 1),
            distinct_pairs % max(len(grams), 1),
        )
        for s_code in np.unique(pair_salt):
            members = np.flatnonzero(pair_salt == s_code)
            positions[members] = self._gram_positions(
                spec, str(distinct_salts[s_code]), [grams[g] for g in pair_gram[members]]
            )
        # One filter per distinct (salt, token); a value's filter is the OR of its tokens'.
        token_filters = np.zeros((len(distinct_pairs), self.length // 64), dtype=np.uint64)
        for lo in range(0, len(distinct_pairs), _CHUNK):
            block = positions[lo : lo + _CHUNK]
            bits = np.zeros((len(block), self.length), dtype=bool)
            bits[np.repeat(np.arange(len(block)), spec.k), block.ravel()] = True
            token_filters[lo : lo + len(block)] = _pack(bits)
        has_tokens = np.flatnonzero(count > 0)
        run_starts = np.concatenate([[0], np.cumsum(count[has_tokens])[:-1]])
        for lo in range(0, len(has_tokens), _CHUNK):
            rows = has_tokens[lo : lo + _CHUNK]
            first = run_starts[lo : lo + _CHUNK]
            end = first[-1] + count[rows[-1]]
            gathered = np.take(token_filters, pair_of[first[0] : end], axis=0)
            filters[rows] = np.bitwise_or.reduceat(gathered, first - first[0], axis=0)
        return filters

    def _field_filters_compiled(
        self,
        spec: FieldSpec,
        texts: Sequence[str] | np.ndarray,
        salts: Sequence[str] | np.ndarray | None,
        filters: np.ndarray,
    ) -> np.ndarray:
        """:meth:`field_filters` by the numba kernels: each value's tokens are listed, the
        distinct (salt, token) pairs hashed, and the value's bits set in its row."""
        from matchsim.pprl import encoding_kernels as kernels

        n = len(texts)
        if salts is None:
            salt_of, distinct_salts = np.zeros(n, dtype=np.int64), np.array([""], dtype=object)
        else:
            salt_of, distinct_salts = pd.factorize(np.asarray(list(salts), dtype=object))
        names: list[str] = []  # the distinct tokens of a token role (q-grams come as codes)
        if spec.role in TOKEN_ROLES:
            text_of, distinct_texts = pd.factorize(np.asarray(texts, dtype=object))
            pairs, names = _value_grams(spec.role, list(distinct_texts), spec.q)
            # Each value's tokens: the run of its text's tokens in ``pairs``.
            per_text = np.bincount(pairs[0], minlength=len(distinct_texts))
            text_starts = np.zeros(len(per_text) + 1, dtype=np.int64)
            np.cumsum(per_text, out=text_starts[1:])
            count = per_text[text_of]
            gram_starts = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(count, out=gram_starts[1:])
            offset = np.arange(gram_starts[-1]) - np.repeat(gram_starts[:-1], count)
            codes = pairs[1][np.repeat(text_starts[:-1][text_of], count) + offset]
        else:
            points = np.frombuffer(
                "".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
            )
            starts = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=n), out=starts[1:])
            codes, gram_starts = kernels.cut_grams(points, starts, spec.q)
        pair_of, pair_salt, pair_code = kernels.distinct_pairs(
            codes, gram_starts, np.asarray(salt_of, dtype=np.int64)
        )
        positions = np.empty((len(pair_salt), spec.k), dtype=np.int64)
        for s_code in np.unique(pair_salt):
            members = np.flatnonzero(pair_salt == s_code)
            grams = [
                names[c] if spec.role in TOKEN_ROLES else _gram_code_text(c, spec.q)
                for c in pair_code[members].tolist()
            ]
            positions[members] = self._gram_positions(spec, str(distinct_salts[s_code]), grams)
        kernels.set_bits(gram_starts, pair_of, positions, filters)
        return filters

    # -- hardening -------------------------------------------------------------------------------

    def _balance_permutation(self) -> np.ndarray:
        seed = int.from_bytes(self._secret.digest(b"matchsim-balance-permutation")[:16], "big")
        return np.random.default_rng(seed).permutation(2 * self.length)

    def _diffusion_taps(self, length: int) -> np.ndarray:
        """The keyed tap positions (length x t): distinct input bits per output bit."""
        seed = int.from_bytes(self._secret.digest(b"matchsim-diffusion-taps")[:16], "big")
        rng = np.random.default_rng(seed)
        t = self.hardening.diffusion
        return np.stack([rng.choice(length, size=t, replace=False) for _ in range(length)])

    def harden(self, filters: np.ndarray, stream: int = 0) -> np.ndarray:
        """Balancing, XOR-folding and BLIP (as configured) applied to raw filters.

        ``stream`` separates the BLIP flips of different parties or tables.
        """
        h = self.hardening
        out = filters
        if h.balance:
            permutation = self._balance_permutation()
            parts = []
            for lo in range(0, len(out), _CHUNK):
                bits = unpack(out[lo : lo + _CHUNK])
                # np.take, not fancy indexing: an order of magnitude faster on wide bool rows.
                doubled = np.take(np.concatenate([bits, ~bits], axis=1), permutation, axis=1)
                parts.append(_pack(doubled))
            out = (
                np.concatenate(parts) if parts else np.zeros((0, 2 * self.length // 64), np.uint64)
            )
        if h.xor_fold:
            half = out.shape[1] // 2
            out = out[:, :half] ^ out[:, half:]
        if h.diffusion:
            out = diffuse(out, self._diffusion_taps(out.shape[1] * 64))
        if h.blip:
            out = blip(out, h.blip, np.random.default_rng([self.seed, stream, 0xB119]))
        return np.ascontiguousarray(out)

    # -- records ---------------------------------------------------------------------------------

    def encode_fields(
        self,
        values: Mapping[str, Sequence[str | None] | pa.Array | np.ndarray],
        birth_years: np.ndarray | None = None,
        stream: int = 0,
        *,
        harden: bool = True,
    ) -> np.ndarray:
        """CLKs of records given as already-normalised text per role (None or "" missing).

        Each distinct (salt, value) of a field is encoded once. Dates of birth are
        ``YYYY-MM-DD`` text.
        """
        n = None
        codes: dict[str, np.ndarray] = {}
        texts: dict[str, np.ndarray] = {}
        for spec in self.fields:
            if spec.role not in values:
                raise ConfigError("pprl.fields", f"no values given for the field {spec.role!r}")
            column = values[spec.role]
            array = pa.array(column, pa.string()) if not isinstance(column, pa.Array) else column
            encoded = array.dictionary_encode()
            idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            distinct = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
            empty = np.flatnonzero(distinct == "")
            if len(empty):  # "" is missing, as in matchsim's records
                idx = np.where(idx == empty[0], -1, idx)
            codes[spec.role] = idx
            texts[spec.role] = distinct
            n = len(idx) if n is None else n
            if len(idx) != n:
                raise ConfigError("pprl.fields", "every field needs one value per record")
        return self.encode_codes(codes, texts, birth_years, stream, harden=harden)

    def encode_codes(
        self,
        codes: Mapping[str, np.ndarray],
        texts: Mapping[str, np.ndarray],
        birth_years: np.ndarray | None = None,
        stream: int = 0,
        *,
        harden: bool = True,
    ) -> np.ndarray:
        """CLKs from per-role value codes (-1 missing) into per-role distinct texts."""
        n = len(next(iter(codes.values())))
        salted = self.hardening.salt == "birth_year"
        if salted and birth_years is None:
            raise ConfigError("pprl.salt", "salting by birth_year needs dates of birth")
        clk = np.zeros((n, self.length // 64), dtype=np.uint64)
        for spec in self.fields:
            code = codes[spec.role]
            if salted:
                years = np.asarray(birth_years, dtype=np.int64)
                key = np.where(code >= 0, code * 100_000 + np.maximum(years, 0), -1)
            else:
                key = code
            # pd.factorize hashes (no sort); missing (-1 keys) get the code -1 ...
            inverse, distinct = pd.factorize(np.where(key >= 0, key, -1), use_na_sentinel=False)
            distinct = np.asarray(distinct, dtype=np.int64)
            valid = distinct >= 0
            value_code = distinct // 100_000 if salted else distinct
            field_texts = np.full(len(distinct), "", dtype=object)
            field_texts[valid] = np.asarray(texts[spec.role], dtype=object)[value_code[valid]]
            salts = (distinct % 100_000).astype(str).astype(object) if salted else None
            filters = self.field_filters(spec, field_texts, salts)
            if self.missing == "token":
                filters[~valid] = self.field_filters(spec, [MISSING_TOKEN])[0]
            # ... whose empty text sets no bits: one gather-and-OR per field.
            if self.kernel == "numba":
                from matchsim.pprl.encoding_kernels import or_rows

                or_rows(clk, filters, np.asarray(inverse, dtype=np.int64))
            else:
                clk |= np.take(filters, inverse, axis=0)
        return self.harden(clk, stream) if harden else clk


def diffuse(filters: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """The diffusion layer: output bit ``j`` = XOR of the input bits ``taps[j]``."""
    out = np.zeros_like(filters)
    for lo in range(0, len(filters), 4096):
        bits = unpack(filters[lo : lo + 4096])
        mixed = np.zeros_like(bits)
        for column in taps.T:  # t passes, each a gather of every output bit's next tap
            mixed ^= np.take(bits, column, axis=1)
        out[lo : lo + len(bits)] = _pack(mixed)
    return out


def blip(filters: np.ndarray, f: float, rng: np.random.Generator) -> np.ndarray:
    """Flip each bit independently with probability ``f``.

    The flipped positions of the whole (rows x bits) stream are a Bernoulli process: gaps
    between flips are geometric, so only the ~f * bits flips are drawn, never a random number
    per bit.
    """
    out = filters.copy()
    if f <= 0 or out.size == 0:
        return out
    total = out.size * 64
    positions: list[np.ndarray] = []
    at = -1
    while True:
        gaps = rng.geometric(
            f, size=max(int(total * f * 1.1) - sum(len(p) for p in positions), 1024)
        )
        steps = at + np.cumsum(gaps)
        positions.append(steps[steps < total])
        if steps[-1] >= total:
            break
        at = int(steps[-1])
    flat = np.concatenate(positions)
    bits = out.view(np.uint8).reshape(-1)
    # Positions are sorted and distinct: the masks of one byte are distinct bits, so their sum
    # is their OR, and one XOR per touched byte applies them.
    byte = flat // 8
    mask = (np.uint8(0x80) >> (flat % 8).astype(np.uint8)).astype(np.uint8)
    starts = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]])) if len(byte) else byte
    if len(byte):
        bits[byte[starts]] ^= np.add.reduceat(mask, starts).astype(np.uint8)
    return out
