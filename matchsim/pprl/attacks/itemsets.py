"""Pattern-mining cryptanalysis of Bloom filters by maximal frequent itemsets of bit
positions (Christen, Vidanage, Ranbaduge & Schnell, "Pattern-mining based cryptanalysis of
Bloom filters for privacy-preserving record linkage", PAKDD 2018, LNAI 10939).

Unlike the 2017 bit-pattern attack (:mod:`matchsim.pprl.attacks.pattern_mining`) it needs no
repeated filter: it works when every filter is unique. The attacker holds a plaintext list of
values with counts and knows q; nothing of the key, k or the hashing.

1. **Mining.** Every position a q-gram hashes to is set in every filter holding the q-gram,
   so the q-gram's positions form an itemset whose support is (about) the q-gram's
   frequency. From the most frequent position not yet mined, the itemset grows greedily:
   each step adds the position set in most of the filters holding all positions chosen so
   far. The support falls while filters holding the start by collision are shed, stays flat
   (within ``keep``) over one q-gram's positions, then drops at the first foreign one; the
   flat run is the q-gram's core. Positions whose removal lets more than ``1/keep`` times the
   filters in are shed (a co-occurring q-gram's, such as ``#C`` in the filters of ``CO``),
   then every position set in ``keep`` of the core's filters joins: the maximal frequent
   itemset. Its filters are those holding all its positions; an itemset reached again from
   another start is kept once, and one under ten records (or ``min_support``) is dropped.
2. **Assignment** of itemsets to the attacker's q-grams, the step where near-equally frequent
   q-grams (``E#`` and ``A#`` in first names) get swapped when frequency alone decides. An
   itemset and a q-gram are compared by a profile: the itemset's support against the
   q-gram's frequency, plus, for every pair assigned so far (anchors), the share of filters
   holding both itemsets against the share of the attacker's records holding both q-grams.
   A pair is assigned only when each is the other's best and the runner-up for the itemset
   is worse by ``separation`` (a share of the itemset's support); rounds repeat as anchors
   accumulate. Itemsets that never separate stay unassigned: no guess rather than a wrong one.
3. **Re-identification.** A filter *contains* an identified q-gram when all its positions are
   set. A value is a candidate when its identified q-grams are exactly those the filter
   contains; among candidates the commonest in the attacker's list wins. With no exact
   candidate, the value with the most identified q-grams all contained is taken.

Cost: filters are held as column bitsets (one uint64 word per 64 records and position); each
growth step is one compiled popcount pass over the filters still in the itemset
(:mod:`matchsim.pprl.attacks.kernels`), and re-identification works per distinct profile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError
from matchsim.pprl.attacks.knowledge import AttackLabels, AttackOutcome, score
from matchsim.pprl.bits import unpack
from matchsim.pprl.tokens import qgrams


@dataclass(frozen=True)
class Itemsets:
    """Mined itemsets and the q-grams assigned to them."""

    #: bit positions of each mined itemset
    positions: list[np.ndarray]
    #: distinct filters holding all of an itemset's positions: (itemsets x words) bitsets
    rows: np.ndarray
    #: distinct filters the bitsets cover
    filters: int
    #: q-gram -> index of its itemset (assigned ones only)
    assigned: dict[str, int]
    #: each record's distinct filter
    inverse: np.ndarray


def _columns(encodings: np.ndarray) -> np.ndarray:
    """(row words x positions) column bitsets: bit r % 64 of word r // 64 is record r."""
    n = len(encodings)
    length = encodings.shape[1] * 64
    words = -(-n // 64)
    out = np.zeros((words, length), dtype=np.uint64)
    block = 64 * 1024
    for lo in range(0, n, block):
        bits = unpack(encodings[lo : lo + block])
        pad = (-len(bits)) % 64
        if pad:
            bits = np.pad(bits, ((0, pad), (0, 0)))
        packed = np.packbits(bits, axis=0, bitorder="little")  # (rows/8, length)
        packed = packed.reshape(-1, 8, length).transpose(0, 2, 1)
        out[lo // 64 : lo // 64 + len(packed)] = np.ascontiguousarray(packed).view(np.uint64)[
            :, :, 0
        ]
    return out


def _popcount(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum())


def _plateau(curve: list[int], keep: float) -> tuple[int, int]:
    """The longest run of growth steps over which the support stays within ``keep`` of its
    value at the run's start (ties: the first): the q-gram's own positions."""
    best = (0, 0)
    lo = 0
    for hi in range(1, len(curve)):
        if curve[hi] < keep * curve[lo]:
            lo = hi
        if hi - lo > best[1] - best[0]:
            best = (lo, hi)
    return best


def _shed_foreign(cols: np.ndarray, positions: np.ndarray, keep: float) -> np.ndarray:
    """Drop positions whose removal lets many more records in: they belong to a q-gram that
    co-occurs with this one (``#C`` in the records of ``CO``), not to it."""
    while len(positions) > 1:
        sub = cols[:, positions]
        ones = np.full((len(sub), 1), ~np.uint64(0))
        before = np.hstack([ones, np.bitwise_and.accumulate(sub, axis=1)[:, :-1]])
        after = np.hstack([np.bitwise_and.accumulate(sub[:, ::-1], axis=1)[:, ::-1][:, 1:], ones])
        without = np.bitwise_count(before & after).sum(axis=0)
        support = _popcount(np.bitwise_and.reduce(sub, axis=1))
        worst = int(np.argmax(without))
        if without[worst] * keep <= support:
            break
        positions = np.delete(positions, worst)
    return positions


def mine_itemsets(
    encodings: np.ndarray,
    *,
    min_support: float = 0.002,
    max_itemsets: int = 400,
    keep: float = 0.95,
    min_positions: int = 5,
    max_growth: int = 64,
    max_barren: int = 128,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Maximal frequent itemsets of bit positions (step 1 of the module docstring): their
    positions and their records as (itemsets x words) bitsets."""
    from matchsim.pprl.attacks.kernels import masked_counts  # numba: loaded on use

    n = len(encodings)
    cols = _columns(np.ascontiguousarray(encodings))
    freq = np.bitwise_count(cols).sum(axis=0).astype(np.int64)
    # Below ten records an itemset's support and co-occurrences are too coarse to tell
    # q-grams apart (a lone chance record changes them by a tenth).
    floor = max(10, int(np.ceil(min_support * n)))
    used = np.zeros(cols.shape[1], dtype=bool)
    found_pos: list[np.ndarray] = []
    found_rows: list[np.ndarray] = []
    sizes: list[int] = []
    # Starts that found nothing new in a row before mining stops: frequent positions are
    # tried first, so a long barren run means the q-grams left are too rare (or, under
    # BLIP, that flips have broken the itemsets): trying every position costs minutes.
    barren = 0
    while len(found_pos) < max_itemsets and barren < max_barren:
        barren += 1
        free = np.where(used, -1, freq)
        start = int(np.argmax(free))
        if free[start] < floor:
            break
        order = [start]
        rows = np.ascontiguousarray(cols[:, start])
        curve = [_popcount(rows)]
        chosen = np.zeros(cols.shape[1], dtype=bool)
        chosen[start] = True
        # Greedy growth: always the position set in most of the current records. The
        # support falls while records holding the start by collision are shed, then stays
        # flat over the q-gram's own positions, then drops at the first foreign position.
        while len(order) < max_growth:
            counts = masked_counts(cols, rows)
            counts[chosen] = -1
            best = int(np.argmax(counts))
            if counts[best] < floor:
                break
            lo, hi = _plateau(curve, keep)
            # The first plateau long enough is the q-gram: stop at the drop after it.
            current = hi == len(curve) - 1 and hi - lo + 1 >= min_positions
            if current and counts[best] < keep * curve[lo]:
                break
            chosen[best] = True
            order.append(best)
            rows = rows & cols[:, best]
            curve.append(_popcount(rows))
        lo, hi = _plateau(curve, keep)
        # Positions before the plateau may be foreign (the start can be another q-gram's,
        # set in part of this one's records): the plateau's own positions define the
        # records, and every position set in nearly all of them joins.
        core = _shed_foreign(cols, np.array(order[lo + 1 : hi + 1] or order[:1]), keep)
        rows = np.bitwise_and.reduce(cols[:, core], axis=1)
        counts = masked_counts(cols, rows)
        chosen = counts >= keep * _popcount(rows)
        chosen[core] = True
        rows = np.bitwise_and.reduce(cols[:, chosen], axis=1)
        support = _popcount(rows)
        used[start] = True
        if support < floor or chosen.sum() < min_positions:
            continue
        used[chosen] = True
        # The same q-gram reached again from another start (a position it shares by
        # collision), or a part of one mined already: kept once.
        if any(
            _popcount(rows & r) >= 0.8 * max(support, s)
            or np.isin(np.flatnonzero(chosen), p).mean() >= 0.5
            for r, s, p in zip(found_rows, sizes, found_pos, strict=True)
        ):
            continue
        barren = 0
        found_pos.append(np.flatnonzero(chosen))
        found_rows.append(rows)
        sizes.append(support)
    # Every q-gram sets k positions (fewer only by collision): an itemset with far fewer
    # than the typical one is a fragment, a q-gram's positions cut by a co-occurring one's.
    if found_pos:
        typical = np.median([len(p) for p in found_pos])
        whole = [i for i, p in enumerate(found_pos) if len(p) >= 0.6 * typical]
        found_pos = [found_pos[i] for i in whole]
        found_rows = [found_rows[i] for i in whole]
    words = cols.shape[0]
    matrix = np.array(found_rows, dtype=np.uint64).reshape(len(found_rows), words)
    return found_pos, matrix


def _gram_incidence(values: list[str], q: int) -> tuple[list[str], np.ndarray]:
    index: dict[str, int] = {}
    rows, cols = [], []
    for i, v in enumerate(values):  # the attacker's distinct values
        for g in set(qgrams(v, q)):
            rows.append(i)
            cols.append(index.setdefault(g, len(index)))
    matrix = np.zeros((len(values), len(index)), dtype=bool)
    matrix[rows, cols] = True
    return list(index), matrix


def assign_qgrams(
    rows: np.ndarray,
    records: int,
    attacker: pd.Series,
    *,
    q: int = 2,
    separation: float = 0.05,
    support_tolerance: float = 0.3,
) -> dict[str, int]:
    """Assign mined itemsets (their record bitsets) to the attacker's q-grams by frequency
    and co-occurrence profiles (step 2 of the module docstring): q-gram -> itemset."""
    m = len(rows)
    values = [str(v) for v in attacker.index]
    grams, incidence = _gram_incidence(values, q)
    if m == 0 or not grams:
        return {}
    weights = attacker.to_numpy(np.float64)
    total = weights.sum()
    inc = incidence.astype(np.float64)
    freq = weights @ inc / total
    joint_plain = (inc * weights[:, None]).T @ inc / total  # q-grams x q-grams
    support = np.bitwise_count(rows).sum(axis=1) / records
    cost = np.abs(support[:, None] - freq[None, :])  # itemsets x q-grams
    plausible = cost <= support_tolerance * np.maximum(support[:, None], freq[None, :])
    free_sets = np.ones(m, dtype=bool)
    free_grams = np.ones(len(grams), dtype=bool)
    out: dict[str, int] = {}
    while True:
        live = np.where(plausible & free_sets[:, None] & free_grams[None, :], cost, np.inf)
        new: list[tuple[int, int]] = []
        for a in np.flatnonzero(free_sets):
            order = np.argsort(live[a], kind="stable")[:2]
            g = int(order[0])
            if not np.isfinite(live[a, g]) or int(np.argmin(live[:, g])) != a:
                continue
            second = live[a, order[1]] if len(order) > 1 else np.inf
            if second - live[a, g] > separation * support[a]:
                new.append((int(a), g))
        if not new:
            return out
        for anchor, g in new:
            out[grams[g]] = anchor
            free_sets[anchor] = False
            free_grams[g] = False
            # The new anchor sharpens every remaining profile.
            joint = np.bitwise_count(rows & rows[anchor]).sum(axis=1) / records
            cost += np.abs(joint[:, None] - joint_plain[g][None, :])


def _bitsets(matrix: np.ndarray) -> np.ndarray:
    packed = np.packbits(matrix, axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    packed = np.pad(packed, ((0, 0), (0, pad))) if pad else packed
    return np.ascontiguousarray(packed).view(np.uint64)


def _reidentify(
    itemset_rows: np.ndarray, records: int, assigned: dict[str, int], attacker: pd.Series, q: int
) -> np.ndarray:
    """Each record's guess: an index into ``attacker``'s values, -1 none."""
    if not assigned:
        return np.full(records, -1, dtype=np.int64)
    grams = list(assigned)
    bits = np.unpackbits(
        itemset_rows[[assigned[g] for g in grams]].view(np.uint8), axis=1, bitorder="little"
    )[:, :records]
    profiles = _bitsets(np.ascontiguousarray(bits.T))  # records x words of q-gram flags
    where = {g: j for j, g in enumerate(grams)}
    values = [str(v) for v in attacker.index]
    value_sets = np.zeros((len(values), len(grams)), dtype=bool)
    for i, v in enumerate(values):  # the attacker's distinct values
        for g in set(qgrams(v, q)):
            j = where.get(g)
            if j is not None:
                value_sets[i, j] = True
    vbits = _bitsets(value_sets)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(-attacker.to_numpy(), kind="stable")] = np.arange(len(values))
    dtype = np.dtype((np.void, vbits.dtype.itemsize * vbits.shape[1]))
    pkeys = np.ascontiguousarray(profiles).view(dtype).ravel()
    uniq, pfirst, inverse = np.unique(pkeys, return_index=True, return_inverse=True)
    # Exact profile: the commonest value whose identified q-grams are exactly the filter's.
    exact = pd.Series(np.arange(len(values)), index=vbits.view(dtype).ravel().tolist())
    exact = exact.iloc[np.argsort(rank[exact.to_numpy()], kind="stable")]
    exact = exact[~exact.index.duplicated()]
    best = exact.reindex(uniq.tolist()).to_numpy()
    missing = np.isnan(best)
    best = np.where(missing, -1, np.nan_to_num(best)).astype(np.int64)
    if missing.any():
        from matchsim.pprl.attacks.kernels import best_candidates  # numba: loaded on use

        sizes = value_sets.sum(axis=1).astype(np.int64)
        best[missing] = best_candidates(profiles[pfirst[missing]], vbits, sizes, rank)
    return best[inverse.ravel()]


def _check(
    min_support: float, max_itemsets: int, keep: float, separation: float, tolerance: float
) -> None:
    for name, share in (("min_support", min_support), ("keep", keep)):
        if not 0 < share <= 1:
            raise ConfigError(name, f"{share!r} is not a share in (0, 1]")
    if separation < 0:
        raise ConfigError("separation", f"{separation!r} must be a share >= 0")
    if tolerance <= 0:
        raise ConfigError("support_tolerance", f"{tolerance!r} must be a share > 0")
    if max_itemsets < 1:
        raise ConfigError("max_itemsets", f"{max_itemsets!r} must be a whole number >= 1")


def itemset_attack(
    encodings: np.ndarray,
    codes: np.ndarray,
    texts: np.ndarray,
    attacker: pd.Series,
    *,
    q: int = 2,
    min_support: float = 0.002,
    max_itemsets: int = 400,
    keep: float = 0.95,
    separation: float = 0.05,
    support_tolerance: float = 0.3,
    field: str = "",
    hardening: str = "",
    knowledge: str = "",
) -> AttackOutcome:
    """Re-identify the values behind Bloom filters by maximal frequent itemsets (module
    docstring; Christen, Vidanage, Ranbaduge & Schnell, PAKDD 2018).

    Parameters
    ----------
    encodings
        Packed filters, one per record (uint64 words).
    codes, texts
        The records' true values as codes into ``texts`` (-1 missing): used only to score.
    attacker
        The attacker's plaintext list: value -> count (see
        :mod:`matchsim.pprl.attacks.knowledge`); its q-gram frequencies set the supports.
    q
        q-gram length the attacker assumes (the encoding's).
    min_support
        Smallest share of records an itemset (a q-gram) must hold to be mined.
    max_itemsets
        Itemsets mined at most.
    keep
        Share of the itemset's records a position must be set in to join it.
    separation
        Lead (share of the itemset's support) the best q-gram's profile distance needs over
        the runner-up's before the itemset is assigned.
    support_tolerance
        Largest relative gap between an itemset's support and a q-gram's frequency.
    """
    _check(min_support, max_itemsets, keep, separation, support_tolerance)
    t0 = time.perf_counter()
    codes = np.asarray(codes, dtype=np.int64)
    texts = np.asarray(texts, dtype=object)
    present = codes >= 0
    if len(texts):
        lengths = pd.Series(texts, dtype="string").str.len().fillna(0).to_numpy()
        present &= lengths[np.maximum(codes, 0)] > 0
    rows = np.ascontiguousarray(encodings[present])
    truth = codes[present]
    attacker = attacker[(attacker > 0) & (attacker.index.astype(str) != "")]
    labels: AttackLabels = {"field": field, "hardening": hardening, "knowledge": knowledge}
    if len(rows) == 0 or len(attacker) == 0:
        return score("itemsets", np.zeros(0), np.zeros(0), seconds=0.0, **labels)
    found = identify_qgrams_by_itemsets(
        rows,
        attacker,
        q=q,
        min_support=min_support,
        max_itemsets=max_itemsets,
        keep=keep,
        separation=separation,
        support_tolerance=support_tolerance,
    )
    decoded = _reidentify(found.rows, found.filters, found.assigned, attacker, q)[found.inverse]
    value_codes = pd.Index(texts).get_indexer(attacker.index.to_numpy(dtype=object))
    guesses = np.where(decoded >= 0, value_codes[np.maximum(decoded, 0)], -1)
    return score(
        "itemsets",
        guesses,
        truth,
        seconds=time.perf_counter() - t0,
        detail={
            "itemsets_mined": len(found.positions),
            "qgrams_identified": len(found.assigned),
            "distinct_encodings": found.filters,
        },
        **labels,
    )


def identify_qgrams_by_itemsets(
    encodings: np.ndarray,
    attacker: pd.Series,
    *,
    q: int = 2,
    min_support: float = 0.002,
    max_itemsets: int = 400,
    keep: float = 0.95,
    separation: float = 0.05,
    support_tolerance: float = 0.3,
) -> Itemsets:
    """Steps 1 and 2 alone (parameters as :func:`itemset_attack`): the itemsets mined over
    the distinct filters and the q-grams assigned to them.

    Supports count distinct filters, and q-gram frequencies the attacker's distinct values:
    counted over records, a popular name's filter would form one itemset of all its q-grams'
    positions, as frequent as a q-gram (``ALEX`` for ``X#``).
    """
    _check(min_support, max_itemsets, keep, separation, support_tolerance)
    encodings = np.ascontiguousarray(encodings)
    keys = encodings.view(np.dtype((np.void, encodings.dtype.itemsize * encodings.shape[1])))
    _, first, inverse = np.unique(keys.ravel(), return_index=True, return_inverse=True)
    distinct = encodings[first]
    positions, rows = mine_itemsets(
        distinct,
        min_support=min_support,
        max_itemsets=max_itemsets,
        keep=keep,
    )
    assigned = assign_qgrams(
        rows,
        len(distinct),
        pd.Series(1, index=attacker.index[attacker > 0]),
        q=q,
        separation=separation,
        support_tolerance=support_tolerance,
    )
    return Itemsets(
        positions=positions,
        rows=rows,
        filters=len(distinct),
        assigned=assigned,
        inverse=inverse.ravel(),
    )


__all__ = [
    "Itemsets",
    "assign_qgrams",
    "identify_qgrams_by_itemsets",
    "itemset_attack",
    "mine_itemsets",
]
