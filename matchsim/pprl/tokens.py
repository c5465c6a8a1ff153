"""What a value sets bits for, and where: its tokens (q-grams, or date parts) and their keyed
bit positions.

A value is split into q-grams (padded with ``#``); each q-gram sets ``k`` bits of an
``length``-bit filter, chosen by a keyed hash (HMAC-SHA256) of the field name, an optional
salt and the q-gram (Schnell, Bachteler & Reiher 2009).

Bit positions (``hashing``):

* ``double`` — Schnell et al. (2009): ``g_i = (h1 + i * h2) mod length`` for ``i < k``,
  with ``h1``, ``h2`` the first two big-endian 64-bit words of one HMAC-SHA256 digest.
* ``random`` — random hashing (Schnell 2014, as in the R package PPRL; a defence against the
  double-hashing attack of Niedermeyer et al. 2014): the ``k`` positions are successive big-endian 32-bit
  words of HMAC-SHA256(key, message || block number), reduced modulo ``length``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matchsim.pprl.fields import TOKEN_ROLES
from matchsim.pprl.secret import Secret

#: How a q-gram's k bit positions are drawn (see the module docstring).
HASHINGS = ("double", "random")
#: The one token a missing value encodes under ``missing="token"`` (no q-gram can equal it).
MISSING_TOKEN = "<missing>"


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


def value_grams(role: str, texts: Sequence[str], q: int) -> tuple[np.ndarray, list[str]]:
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
    grams_text = [gram_code_text(int(c), q) for c in distinct]
    return np.stack([owners_a.astype(np.int64), inverse.ravel().astype(np.int64)]), grams_text


def gram_message(field: str, salt: str, gram: str) -> bytes:
    """What the keyed hash sees for one q-gram: field, salt and q-gram, unit-separated."""
    return f"{field}\x1f{salt}\x1f{gram}".encode()


def gram_code_text(code: int, q: int) -> str:
    """The q-gram a code of :func:`value_grams` (21 bits per code point) stands for."""
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
