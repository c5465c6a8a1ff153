"""Keyed Bloom-filter encodings: field-level filters and record-level CLKs, with hardening.

A value is split into tokens (:mod:`matchsim.pprl.tokens`: q-grams, or a date's parts), each
token sets ``k`` bits chosen by a keyed hash, and a record's CLK (cryptographic long-term key)
is the OR of its fields' filters, each field with its own ``k`` (:mod:`matchsim.pprl.fields`),
then hardened (:mod:`matchsim.pprl.hardening`). Filters are packed in ``uint64`` words
(:mod:`matchsim.pprl.bits`); the key is held by :class:`matchsim.pprl.secret.Secret`.

Why it is fast without a per-record hash: names repeat heavily and their q-gram vocabulary
is small. Each *distinct* value is encoded once, each *distinct* (salt, q-gram) pair is
hashed once (the keyed hash is what keeps the key's protection, and it is still applied to
every q-gram), and records then gather their values' filters and OR them. With numba the
kernels of :mod:`matchsim.pprl.encoding_kernels` cut the q-grams and set each value's bits
directly; without it (or with ``kernel="numpy"``) numpy does, giving the same bits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from matchsim.errors import ConfigError
from matchsim.pprl.bits import CHUNK, pack
from matchsim.pprl.dice import use_numba
from matchsim.pprl.fields import TOKEN_ROLES, FieldSpec, field_specs
from matchsim.pprl.hardening import Hardening, harden_filters
from matchsim.pprl.secret import KEY_ENV, Secret
from matchsim.pprl.tokens import (
    HASHINGS,
    MISSING_TOKEN,
    gram_code_text,
    gram_positions,
    value_grams,
)

MISSING_POLICIES = ("empty", "token")


def factorize(values: np.ndarray | Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Each value's code into the distinct values (strings or integers), which come in order
    of first appearance: ``pandas.factorize`` by Arrow's hash table. Nulls get the code -1.

    Arrow's results are read from their buffers, not through ``to_numpy``, which (like
    ``pa.array``, see :func:`arrow_array`) imports pandas."""
    encoded = arrow_array(values).dictionary_encode()
    codes = array_values(encoded.indices)
    distinct = encoded.dictionary
    if pa.types.is_integer(distinct.type):
        return codes, array_values(distinct)
    return codes, np.array(distinct.to_pylist(), dtype=object)


def array_values(array: pa.Array) -> np.ndarray:
    """An integer Arrow array as int64 (nulls -1), from its buffers."""
    width = array.type.bit_width // 8
    data = array.buffers()[1]
    values = np.frombuffer(data, dtype=f"<i{width}", count=len(array), offset=array.offset * width)
    values = values.astype(np.int64)
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(array.buffers()[0], np.uint8), bitorder="little")
        values[bits[array.offset : array.offset + len(array)] == 0] = -1
    return values


def arrow_array(values: np.ndarray | Sequence[str | None]) -> pa.Array:
    """An Arrow array of integers or strings (``None`` null), built from its buffers.

    ``pa.array`` imports pandas on its first call (pyarrow's pandas shim checks every input
    for pandas types), which is a tenth of a second or more of every process that encodes
    and does not otherwise need pandas; building the buffers does not.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        ints = np.ascontiguousarray(values, dtype=np.int64)
        return pa.Array.from_buffers(pa.int64(), len(ints), [None, pa.py_buffer(ints)])
    texts = ["" if v is None else v for v in values]
    nulls = [i for i, v in enumerate(values) if v is None]
    joined = "".join(texts)
    if joined.isascii():  # one byte a character: the offsets are the lengths' running sums
        data = joined.encode("ascii")
        lengths = np.fromiter(map(len, texts), dtype=np.int32, count=len(texts))
    else:
        encoded = [t.encode("utf-8") for t in texts]
        data = b"".join(encoded)
        lengths = np.fromiter(map(len, encoded), dtype=np.int32, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    validity = None
    if nulls:
        valid = np.ones(len(texts), dtype=bool)
        valid[nulls] = False
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), len(texts), [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


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
        self.kernel = "numba" if use_numba(kernel) else "numpy"
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
        text_of, distinct_texts = factorize(np.asarray(texts, dtype=object))
        salt_of, distinct_salts = factorize(
            np.asarray([""] * n if salts is None else list(salts), dtype=object)
        )
        pairs, grams = value_grams(spec.role, list(distinct_texts), spec.q)
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
        for lo in range(0, len(distinct_pairs), CHUNK):
            block = positions[lo : lo + CHUNK]
            bits = np.zeros((len(block), self.length), dtype=bool)
            bits[np.repeat(np.arange(len(block)), spec.k), block.ravel()] = True
            token_filters[lo : lo + len(block)] = pack(bits)
        has_tokens = np.flatnonzero(count > 0)
        run_starts = np.concatenate([[0], np.cumsum(count[has_tokens])[:-1]])
        for lo in range(0, len(has_tokens), CHUNK):
            rows = has_tokens[lo : lo + CHUNK]
            first = run_starts[lo : lo + CHUNK]
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
            salt_of, distinct_salts = factorize(np.asarray(list(salts), dtype=object))
        names: list[str] = []  # the distinct tokens of a token role (q-grams come as codes)
        if spec.role in TOKEN_ROLES:
            text_of, distinct_texts = factorize(np.asarray(texts, dtype=object))
            pairs, names = value_grams(spec.role, list(distinct_texts), spec.q)
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
                names[c] if spec.role in TOKEN_ROLES else gram_code_text(c, spec.q)
                for c in pair_code[members].tolist()
            ]
            positions[members] = self._gram_positions(spec, str(distinct_salts[s_code]), grams)
        kernels.set_bits(gram_starts, pair_of, positions, filters)
        return filters

    # -- hardening -------------------------------------------------------------------------------

    def harden(
        self, filters: np.ndarray, stream: int = 0, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Balancing, XOR-folding and BLIP (as configured) applied to raw filters.

        ``stream`` separates the BLIP flips of different parties or tables; ``rows`` numbers
        the filters' records in their table (default ``0..n-1``), so that a record gets the
        same flips however many of the table's records are encoded with it.
        """
        return harden_filters(
            filters, self.hardening, self._secret, self.length, self.seed, stream, rows
        )

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
            array = column if isinstance(column, pa.Array) else arrow_array(column)
            encoded = array.dictionary_encode()
            idx = array_values(encoded.indices)
            distinct = np.array(encoded.dictionary.to_pylist(), dtype=object)
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
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """CLKs from per-role value codes (-1 missing) into per-role distinct texts; ``rows``
        as in :meth:`harden`."""
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
            # factorize hashes (no sort); missing (-1 keys) share one distinct value, -1 ...
            inverse, distinct = factorize(np.where(key >= 0, key, -1))
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
        return self.harden(clk, stream, rows) if harden else clk
