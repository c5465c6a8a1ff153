"""Graph (similarity) matching attack on Bloom-filter encodings (Culnane, Rubinstein & Teague,
"Vulnerabilities in the use of similarity tables in combination with pseudonymisation to
preserve data privacy in the UK Office for National Statistics' PPRL", 2017; Vidanage,
Ranbaduge, Christen & Schnell, "Efficient pattern mining based cryptanalysis..." CIKM 2019 and
"A graph matching attack on privacy-preserving record linkage", CIKM 2020).

PPRL must preserve similarities, so the similarity graph of the encodings mirrors the
similarity graph of the plaintext. The attacker holds a plaintext list of records, some of
which (``overlap``) are the encoded ones, and:

1. builds both graphs over a sample of nodes: Dice of the filters; Dice of the q-gram sets;
2. puts both on one scale without ground truth: encoded similarities are mapped to plaintext
   ones by matching their quantiles (Vidanage et al. calibrate by regression instead);
3. describes every node by its similarity neighbourhood: the number of neighbours at or
   above each of several similarities (degree at thresholds, as in Vidanage et al. 2020),
   its highest similarities, sorted (its strongest edges), and its own size (set bits of a
   filter, q-grams of a value), by rank within its graph;
4. matches nodes one to one by feature distance: greedy on sorted distances (each node's
   64 nearest) (the "minimum
   weight" bipartite matching; Vidanage et al. also use the Hungarian method, which would
   need scipy and cubic time).

A record counts as re-identified when the plaintext node it is matched to carries its true
value (``keys``). With little overlap the two graphs share few nodes and the features stop
corresponding: success falls sharply, as Vidanage et al. (2020) and the PoPETS 2022 study
(Armknecht, Heng & Schnell) report.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from matchsim.errors import ConfigError
from matchsim.pprl.attacks.knowledge import AttackOutcome, score
from matchsim.pprl.bits import unpack
from matchsim.pprl.tokens import qgrams

#: Similarities at which node degrees are counted (plaintext Dice scale).
DEGREE_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Strongest edges kept per node as features.
TOP_EDGES = 10
#: Plaintext nodes nearest in features considered for each encoded node.
NEAREST = 64
#: Weight of a node's own size (rank of its set bits / q-gram count) among its features.
SIZE_WEIGHT = 2.0


def _dice_matrix(bits: np.ndarray) -> np.ndarray:
    """All-pairs Dice of bool rows (nodes x items), diagonal excluded (set to -1)."""
    m = bits.astype(np.float32)
    shared = m @ m.T
    sizes = m.sum(axis=1)
    total = sizes[:, None] + sizes[None, :]
    sim = np.where(total > 0, 2 * shared / np.maximum(total, 1), 0.0).astype(np.float32)
    np.fill_diagonal(sim, -1.0)
    return sim


def _token_matrix(token_sets: Sequence[Sequence[str]]) -> np.ndarray:
    index: dict[str, int] = {}
    rows, cols = [], []
    for i, tokens in enumerate(token_sets):  # the attacker's sample: a few thousand nodes
        for t in set(tokens):
            rows.append(i)
            cols.append(index.setdefault(t, len(index)))
    matrix = np.zeros((len(token_sets), max(len(index), 1)), dtype=bool)
    matrix[rows, cols] = True
    return matrix


def _features(sim: np.ndarray) -> np.ndarray:
    degrees = [np.log1p((sim >= t).sum(axis=1)) for t in DEGREE_THRESHOLDS]
    keep = min(TOP_EDGES, sim.shape[1])
    top = -np.partition(-sim, keep - 1, axis=1)[:, :keep]
    top = -np.sort(-top, axis=1)
    if top.shape[1] < TOP_EDGES:
        top = np.pad(top, ((0, 0), (0, TOP_EDGES - top.shape[1])))
    return np.column_stack([*degrees, 2.0 * top]).astype(np.float32)


def _rank(values: np.ndarray) -> np.ndarray:
    """Mid-ranks scaled to [0, 1]."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values))
    # Ties share their mean rank.
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse.ravel(), weights=ranks)
    return (sums / counts)[inverse.ravel()] / max(len(values) - 1, 1)


def _calibrate(encoded: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """Map encoded similarities onto the plaintext scale by matching quantiles."""
    levels = np.linspace(0, 1, 1001)
    rng = np.random.default_rng(0x0CA1)

    def off_diagonal(sim: np.ndarray) -> np.ndarray:
        # A sample of off-diagonal pairs is enough for 1,001 quantiles.
        n = len(sim)
        i, j = rng.integers(0, n, 200_000), rng.integers(0, n, 200_000)
        keep = i != j
        return sim[i[keep], j[keep]]

    qe = np.quantile(off_diagonal(encoded), levels)
    qp = np.quantile(off_diagonal(plain), levels)
    out = np.interp(encoded, qe, qp).astype(np.float32)
    np.fill_diagonal(out, -1.0)
    return out


def graph_matching_attack(
    encodings: np.ndarray,
    encoded_keys: np.ndarray,
    plaintext: Sequence[Sequence[str]],
    plaintext_keys: np.ndarray,
    *,
    field: str = "",
    hardening: str = "",
    knowledge: str = "",
    detail: dict[str, object] | None = None,
) -> AttackOutcome:
    """Match encoded nodes to the attacker's plaintext nodes by their similarity graphs.

    Parameters
    ----------
    encodings
        Packed filters of the encoded nodes (a sample of records).
    encoded_keys
        Each encoded node's true value (an integer key), used only to score.
    plaintext
        The attacker's nodes as token sets (q-grams of their values).
    plaintext_keys
        The value key of each plaintext node (what a match tells the attacker).
    """
    t0 = time.perf_counter()
    if len(encodings) < 2 or len(plaintext) < 2:
        raise ConfigError("nodes", "the graph attack needs at least 2 nodes on each side")
    sim_e = _dice_matrix(unpack(encodings))
    sim_p = _dice_matrix(_token_matrix(plaintext))
    feat_e = _features(_calibrate(sim_e, sim_p))
    feat_p = _features(sim_p)
    if SIZE_WEIGHT:
        # A node's own size: set bits of a filter track its q-gram count; compared by rank
        # within each graph, so neither scale matters.
        size_e = _rank(np.bitwise_count(encodings).sum(axis=1))
        size_p = _rank(np.array([len(set(t)) for t in plaintext]))
        feat_e = np.column_stack([feat_e, SIZE_WEIGHT * size_e]).astype(np.float32)
        feat_p = np.column_stack([feat_p, SIZE_WEIGHT * size_p]).astype(np.float32)
    distance = (
        (feat_e**2).sum(axis=1)[:, None] + (feat_p**2).sum(axis=1)[None, :] - 2 * feat_e @ feat_p.T
    )
    order = np.argsort(distance, axis=None, kind="stable")
    from matchsim.pprl.attacks.kernels import greedy_matching  # numba: loaded on use

    match = greedy_matching(order.astype(np.int64), len(feat_e), len(feat_p), len(feat_p))
    keys_p = np.asarray(plaintext_keys, dtype=np.int64)
    guesses = np.where(match >= 0, keys_p[np.maximum(match, 0)], -1)
    return score(
        "graph",
        guesses,
        np.asarray(encoded_keys, dtype=np.int64),
        field=field,
        hardening=hardening,
        knowledge=knowledge,
        seconds=time.perf_counter() - t0,
        detail=detail,
    )


def sample_nodes(
    codes: np.ndarray,
    texts: np.ndarray,
    *,
    nodes: int,
    overlap: float,
    outside: Sequence[str] | np.ndarray,
    q: int = 2,
    seed: int = 0,
) -> tuple[np.ndarray, list[list[str]], np.ndarray]:
    """A graph-attack setting over one field: ``nodes`` encoded records (rows), and the
    attacker's ``nodes`` plaintext records, a share ``overlap`` of them the same records,
    the rest values drawn from ``outside`` (another population's records).

    Returns the encoded rows, the attacker's q-gram sets and their value keys (codes into
    ``texts``; -1 for an outside value the register lacks).
    """
    if not 0.0 <= overlap <= 1.0:
        raise ConfigError("overlap", f"{overlap!r} is not a share in [0, 1]")
    codes = np.asarray(codes, dtype=np.int64)
    candidates = np.flatnonzero(codes >= 0)
    rng = np.random.default_rng([seed, 0x62A9])
    nodes = min(nodes, len(candidates))
    rows = np.sort(rng.choice(candidates, size=nodes, replace=False))
    shared = round(overlap * nodes)
    inside = rng.choice(rows, size=shared, replace=False)
    pool = np.asarray(outside, dtype=object)
    extra: np.ndarray | list[str] = (
        pool[rng.integers(0, len(pool), size=nodes - shared)] if len(pool) else []
    )
    index = {t: i for i, t in enumerate(texts)}
    plain_values = [str(texts[c]) for c in codes[inside]] + [str(v) for v in extra]
    keys = np.array([index.get(v, -1) for v in plain_values], dtype=np.int64)
    return rows, [qgrams(v, q) for v in plain_values], keys


__all__ = ["graph_matching_attack", "sample_nodes"]
