"""A frequency-alignment attack on field-level Bloom-filter encodings.

The attacker holds the encoded register (one field-level filter per record, say of the
surname) but not the key, and a public list of name frequencies. Identical names give
identical filters, so the filters' frequency ranking mirrors the names' ranking: the attack
guesses that the r-th most frequent filter encodes the r-th most frequent public name
(Kuzu, Kantarcioglu, Durham & Malin 2011, simplified to its frequency-alignment core as in
Christen, Ranbaduge, Vatsalan & Schnell 2017). A record is re-identified when the name its
filter is aligned to is its true name.

This is a lower bound on the risk: pattern-mining attacks (Christen et al. 2018) also
reconstruct rare names from q-gram bit patterns and survive hardening that defeats this one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class AttackResult:
    """What the attack recovered."""

    field: str
    hardening: str
    records: int
    distinct_encodings: int
    distinct_values: int
    #: share of records whose aligned guess is their true value
    reidentified_share: float
    #: of the ``top`` most frequent encodings, the share guessed correctly
    top_correct_share: float
    top: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _align(
    rows: np.ndarray, texts: np.ndarray, public_frequencies: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct filter, the guessed code (-2: none), each row's distinct filter, and the
    distinct filters from most to least frequent."""
    n = len(rows)
    as_keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, inverse, counts = np.unique(as_keys, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    # Ties in frequency are broken by first appearance: the attacker has nothing better.
    first_seen = np.full(len(counts), n, dtype=np.int64)
    np.minimum.at(first_seen, inverse, np.arange(n))
    order = np.lexsort((first_seen, -counts))
    public = public_frequencies.sort_values(ascending=False, kind="stable")
    # Public names as codes of the same vocabulary (-1: a name no record has).
    public_codes = pd.Index(texts).get_indexer(np.asarray(public.index, dtype=object))
    guesses = np.full(len(counts), -2, dtype=np.int64)  # -2: no guess, equal to no code
    aligned = min(len(public_codes), len(counts))
    guesses[order[:aligned]] = public_codes[:aligned]
    return guesses, inverse, order


def frequency_guesses(
    encodings: np.ndarray, texts: np.ndarray, public_frequencies: pd.Series
) -> np.ndarray:
    """Each row's guessed value code (into ``texts``; negative: none) by frequency alignment."""
    rows = np.ascontiguousarray(encodings)
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    guesses, inverse, _ = _align(rows, np.asarray(texts, dtype=object), public_frequencies)
    return guesses[inverse]


def frequency_alignment_attack(
    encodings: np.ndarray,
    codes: np.ndarray,
    texts: np.ndarray,
    public_frequencies: pd.Series,
    *,
    field: str = "",
    hardening: str = "",
    top: int = 100,
) -> AttackResult:
    """Align encodings with ``public_frequencies`` (value -> count or share) by rank.

    ``codes`` are the records' plaintext values as positions in the distinct ``texts`` (a
    vocabulary; negative when missing), used only to score the guesses; records with a
    missing or empty value are left out. Everything per record is integer work.
    """
    codes = np.asarray(codes, dtype=np.int64)
    texts = np.asarray(texts, dtype=object)
    nonempty = pd.Series(texts, dtype="string").str.len().fillna(0).to_numpy(np.int64) > 0
    present = np.zeros(len(codes), dtype=bool)
    if len(texts):
        present = (codes >= 0) & nonempty[np.maximum(codes, 0)]
    rows = np.ascontiguousarray(encodings[present])
    values = codes[present]
    n = len(rows)
    if n == 0:
        return AttackResult(field, hardening, 0, 0, 0, 0.0, 0.0, top)
    guesses, inverse, order = _align(rows, texts, public_frequencies)
    correct = guesses[inverse] == values
    # The true value of each of the top encodings: the commonest plaintext among its records
    # (all of them, unless hardening made two values share a filter).
    head = order[: min(top, len(order))]
    in_head = np.isin(inverse, head)
    sizes = (
        pd.DataFrame({"enc": inverse[in_head], "value": values[in_head]})
        .groupby(["enc", "value"], sort=False)
        .size()
        .sort_values(ascending=False, kind="stable")
    )
    mode = sizes[~sizes.index.get_level_values("enc").duplicated()]
    truth = pd.Series(
        mode.index.get_level_values("value"), index=mode.index.get_level_values("enc")
    )
    top_correct = (
        float(np.mean(guesses[head] == truth.reindex(head).to_numpy())) if len(head) else 0.0
    )
    return AttackResult(
        field=field,
        hardening=hardening,
        records=n,
        distinct_encodings=len(guesses),
        distinct_values=int(np.unique(values).size),
        reidentified_share=float(correct.mean()),
        top_correct_share=top_correct,
        top=top,
    )
