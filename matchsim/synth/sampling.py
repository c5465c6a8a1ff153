"""Drawing names by frequency: Zipf-Mandelbrot weights by rank, and grouped alias tables for
categorical draws from many small distributions at once (one per origin and sex)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np


def zipf_mandelbrot(n: int, exponent: float, offset: float) -> np.ndarray:
    ranks = np.arange(1, n + 1, dtype=np.float64)
    w = (ranks + offset) ** (-exponent)
    return w / w.sum()


@cache
def calibrate_zipf(n: int, shares: tuple[float, float, float]) -> tuple[float, float]:
    """Zipf-Mandelbrot (exponent, offset) whose top-1/10/100 shares best match ``shares``.

    A coarse grid then a fine one; least squares on log shares. Cached: it depends only on
    the vocabulary size and the targets.
    """
    ranks = np.arange(1, n + 1, dtype=np.float64)
    cut = [0, min(9, n - 1), min(99, n - 1)]
    target = np.log(np.asarray(shares))
    best = (1.0, 0.0)
    exps = np.linspace(0.2, 3.0, 57)
    offs = np.concatenate([[0.0], np.geomspace(0.1, 200, 56)])
    for _ in range(3):
        e = exps[:, None, None]
        o = offs[None, :, None]
        w = (ranks[None, None, :] + o) ** (-e)
        c = np.cumsum(w, axis=2)
        got = np.log(c[:, :, cut] / c[:, :, -1:])
        err = ((got - target) ** 2).sum(axis=2)
        i, j = (int(k) for k in np.unravel_index(np.argmin(err), err.shape))
        best = (float(exps[i]), float(offs[j]))
        de = (exps[1] - exps[0]) * 2
        exps = np.linspace(max(0.05, best[0] - de), best[0] + de, 41)
        lo = offs[max(j - 2, 0)]
        hi = offs[min(j + 2, len(offs) - 1)]
        offs = np.linspace(lo, hi, 41)
    return best


def _alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction) for O(1) categorical draws.

    Written here because numpy's ``Generator.choice`` rebuilds its table on every call and
    cannot draw from many distributions in one vectorised call.
    """
    k = len(probs)
    # Python floats and lists: the same IEEE arithmetic as numpy scalars, several times faster
    # in this inherently sequential loop.
    scaled = (np.asarray(probs, dtype=np.float64) * k / np.sum(probs)).tolist()
    accept_list = [1.0] * k
    alias_list = list(range(k))
    small = [i for i in range(k) if scaled[i] < 1.0]
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept_list[s] = scaled[s]
        alias_list[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    accept = np.array(accept_list, dtype=np.float64)
    alias = np.array(alias_list, dtype=np.int64)
    return accept, alias


@dataclass(frozen=True)
class GroupedSampler:
    """O(1) draws from many categorical distributions at once (concatenated alias tables).

    A draw for group ``g`` with uniform ``u`` picks slot ``floor(u * size[g])`` of the group's
    table, and uses the fractional part of ``u * size[g]`` as the accept/alias coin.
    """

    offset: np.ndarray
    size: np.ndarray
    accept: np.ndarray
    alias: np.ndarray  # absolute index into ``codes``
    codes: np.ndarray

    @classmethod
    def from_groups(cls, groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> GroupedSampler:
        """``groups[g]`` is (codes, probabilities) of group ``g``."""
        sizes = np.array([len(c) for c, _ in groups], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        accepts, aliases = [], []
        for (_, probs), off in zip(groups, offsets, strict=True):
            accept, alias = _alias_table(probs)
            accepts.append(accept)
            aliases.append(alias + off)
        return cls(
            offset=offsets,
            size=sizes,
            accept=np.concatenate(accepts),
            alias=np.concatenate(aliases),
            codes=np.concatenate([np.asarray(c) for c, _ in groups]),
        )

    def draw(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        size = self.size[group]
        scaled = u * size
        slot = np.minimum(scaled.astype(np.int64), size - 1)
        coin = scaled - slot
        j = self.offset[group] + slot
        return self.codes[np.where(coin < self.accept[j], j, self.alias[j])]
