"""Bit-pattern cryptanalysis of Bloom filters: q-grams identified from co-occurring bit
positions, then values re-identified from the q-grams a filter contains (Christen, Schnell,
Vatsalan & Ranbaduge, "Efficient cryptanalysis of Bloom filters for privacy-preserving
record linkage", PAKDD 2017, LNCS 10234).

Every bit position a q-gram hashes to is set in *every* filter of a value containing that
q-gram. The attacker holds a list of plaintext values with counts (``attacker``), knows q,
and nothing of the key, k or the hashing.

1. **Identification**: the most frequent filters are aligned by rank with the attacker's most
   frequent values; a q-gram's positions are those set in every aligned filter whose value
   contains it.
2. **Re-identification** of *every* filter, including the rare and unique ones the alignment
   never saw: a filter *contains* an identified q-gram when all its positions are set; its
   candidate values are the attacker's values all of whose identified q-grams it contains;
   the guess is the candidate with the most identified q-grams (ties: the commonest).

So one alignment of the frequent head decodes the long tail: the attack is the reason the
frequency-alignment figures are a lower bound. It needs frequent filters to start from:
salting and BLIP make every filter rare and defeat it. The maximal-frequent-itemset attack
of Christen, Vidanage, Ranbaduge & Schnell (PAKDD 2018, LNAI 10939), which mines the
positions without aligned filters, is :mod:`matchsim.pprl.attacks.itemsets`.

Cost: identification touches ``aligned`` filters; re-identification is one AND of column
bitsets per q-gram over all distinct filters and a compiled subset search over distinct
q-gram profiles, so 200,000 records take seconds (``benchmarks/test_pprl_attacks.py``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError
from matchsim.pprl.attacks.knowledge import AttackOutcome, score
from matchsim.pprl.bits import unpack
from matchsim.pprl.tokens import qgrams


def _gram_matrix(values: list[str], q: int) -> tuple[list[str], np.ndarray]:
    """Distinct q-grams and a (values x q-grams) bool incidence matrix."""
    index: dict[str, int] = {}
    rows, cols = [], []
    for i, v in enumerate(values):  # the attacker's distinct values: tens of thousands at most
        for g in set(qgrams(v, q)):
            rows.append(i)
            cols.append(index.setdefault(g, len(index)))
    matrix = np.zeros((len(values), len(index)), dtype=bool)
    matrix[rows, cols] = True
    return list(index), matrix


def identify_qgrams(
    bits: np.ndarray,
    weights: np.ndarray,
    attacker: pd.Series,
    *,
    q: int = 2,
    aligned: int = 200,
    min_support: int = 2,
    min_positions: int = 3,
) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """The bit positions of q-grams (Christen, Schnell, Vatsalan & Ranbaduge, PAKDD 2017),
    and the alignment they came from (distinct filter rows, and their aligned values).

    ``bits`` are distinct filters (rows x length, bool) and ``weights`` how many records hold
    each. The ``aligned`` most frequent filters are aligned by rank with the attacker's most
    frequent values (filters held by one record only are never aligned: their rank says
    nothing); a q-gram's positions are then those set in *every* aligned filter whose value
    contains the q-gram (a position unset in one of them cannot be the q-gram's). A q-gram
    needs ``min_support`` aligned filters.
    """
    weights = np.asarray(weights)
    order = np.argsort(-weights, kind="stable")[:aligned]
    # A filter seen once carries no frequency information: it is never aligned.
    order = order[weights[order] >= 2]
    values = [str(v) for v in attacker.sort_values(ascending=False, kind="stable").index]
    top = min(len(order), len(values))
    grams, incidence = _gram_matrix(values[:top], q)
    top_bits = bits[order[:top]]
    found: dict[str, np.ndarray] = {}
    for j, g in enumerate(grams):
        holders = np.flatnonzero(incidence[:, j])
        if len(holders) < min_support:
            continue
        shared = top_bits[holders].all(axis=0)
        # Positions also set in an aligned filter without the q-gram belong (at least) to
        # another q-gram: leave them out unless too few would remain.
        pure = shared & ~top_bits[~incidence[:, j]].any(axis=0)
        positions = np.flatnonzero(pure if pure.sum() >= min_positions else shared)
        if len(positions):
            found[g] = positions
    return found, order[:top], values[:top]


def _decode(
    distinct: np.ndarray,
    positions: dict[str, np.ndarray],
    values: list[str],
    rank: np.ndarray,
    q: int,
    match_share: float,
) -> np.ndarray:
    """Each distinct filter's guess (an index into ``values``; -1 none) from the q-grams it
    contains: at least ``match_share`` of a q-gram's positions set (alignment errors add a
    few stray positions to a q-gram's set)."""
    identified = list(positions)
    if not identified:
        return np.full(len(distinct), -1, dtype=np.int64)
    contains = np.zeros((len(distinct), len(identified)), dtype=bool)
    for lo in range(0, len(distinct), 16_384):
        block = unpack(distinct[lo : lo + 16_384])
        for j, g in enumerate(identified):
            hits = block[:, positions[g]].sum(axis=1)
            contains[lo : lo + len(block), j] = hits >= match_share * len(positions[g])
    where = {g: j for j, g in enumerate(identified)}
    value_sets = np.zeros((len(values), len(identified)), dtype=bool)
    for i, v in enumerate(values):  # the attacker's distinct values
        for g in set(qgrams(v, q)):
            column = where.get(g)
            if column is not None:
                value_sets[i, column] = True
    sizes = value_sets.sum(axis=1).astype(np.int64)
    # Each distinct profile of contained q-grams is solved once.
    profiles = _bitsets(contains)
    pkeys = profiles.view(np.dtype((np.void, profiles.dtype.itemsize * profiles.shape[1])))
    _, pfirst, pinverse = np.unique(pkeys.ravel(), return_index=True, return_inverse=True)
    from matchsim.pprl.attacks.kernels import best_candidates  # numba: loaded on use

    best = best_candidates(profiles[pfirst], _bitsets(value_sets), sizes, rank)
    return best[pinverse.ravel()]


def _bitsets(matrix: np.ndarray) -> np.ndarray:
    packed = np.packbits(matrix, axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    packed = np.pad(packed, ((0, 0), (0, pad))) if pad else packed
    return np.ascontiguousarray(packed).view(np.uint64)


def pattern_mining_attack(
    encodings: np.ndarray,
    codes: np.ndarray,
    texts: np.ndarray,
    attacker: pd.Series,
    *,
    q: int = 2,
    aligned: int = 200,
    min_support: int = 2,
    match_share: float = 0.75,
    field: str = "",
    hardening: str = "",
    knowledge: str = "",
) -> AttackOutcome:
    """Re-identify the values behind Bloom filters from their bit patterns (module docstring).

    Parameters
    ----------
    encodings
        Packed filters, one per record (uint64 words): field-level filters or record-level CLKs.
    codes, texts
        The records' true values as codes into ``texts`` (-1 missing): used only to score.
    attacker
        The attacker's plaintext list: value -> count (their knowledge; see
        :mod:`matchsim.pprl.attacks.knowledge`).
    q
        q-gram length the attacker assumes (the encoding's).
    aligned
        Frequent filters aligned with frequent values to identify q-gram positions.
    min_support
        Aligned filters a q-gram needs before its positions are trusted.
    match_share
        Share of a q-gram's identified positions a filter must have set to contain it.
    """
    if not 0 < match_share <= 1:
        raise ConfigError("match_share", f"{match_share!r} is not a share in (0, 1]")
    if aligned < 1 or min_support < 1:
        raise ConfigError("aligned", "aligned and min_support must be whole numbers >= 1")
    t0 = time.perf_counter()
    codes = np.asarray(codes, dtype=np.int64)
    texts = np.asarray(texts, dtype=object)
    present = codes >= 0
    if len(texts):
        present &= (
            pd.Series(texts, dtype="string").str.len().fillna(0).to_numpy()[np.maximum(codes, 0)]
            > 0
        )
    rows = np.ascontiguousarray(encodings[present])
    truth = codes[present]
    attacker = attacker[(attacker > 0) & (attacker.index.astype(str) != "")]
    if len(rows) == 0 or len(attacker) == 0:
        return score(
            "pattern_mining",
            np.zeros(0),
            np.zeros(0),
            field=field,
            hardening=hardening,
            knowledge=knowledge,
            seconds=0.0,
        )
    # Distinct filters (identical filters decode identically).
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    distinct = rows[first]
    weights = np.bincount(inverse.ravel(), minlength=len(distinct))
    positions, head_rows, head_values = identify_qgrams(
        unpack(distinct), weights, attacker, q=q, aligned=aligned, min_support=min_support
    )
    values = [str(v) for v in attacker.index]
    rank = np.empty(len(values), dtype=np.int64)  # attacker's list, commonest first
    rank[np.argsort(-attacker.to_numpy(), kind="stable")] = np.arange(len(values))
    value_codes = pd.Index(texts).get_indexer(np.asarray(values, dtype=object))
    head_index = pd.Index(values).get_indexer(np.asarray(head_values, dtype=object))
    decoded = _decode(distinct, positions, values, rank, q, match_share)
    decoded[head_rows] = head_index
    per_filter = np.where(decoded >= 0, value_codes[np.maximum(decoded, 0)], -1)
    guesses = per_filter[inverse.ravel()]
    identified = positions
    return score(
        "pattern_mining",
        guesses,
        truth,
        field=field,
        hardening=hardening,
        knowledge=knowledge,
        seconds=time.perf_counter() - t0,
        detail={"qgrams_identified": len(identified), "distinct_encodings": len(distinct)},
    )


__all__ = ["identify_qgrams", "pattern_mining_attack"]
