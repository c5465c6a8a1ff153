"""Chance agreement among people who live near each other: u conditional on the place.

Fellegi-Sunter multiplies the evidence of each field as if fields were independent among
non-matches. They are not where people share a place: two children at one address are
usually siblings, who share a surname and often a date of birth's year (twins share it all);
children in one postcode district share surnames far more often than random children do,
because families of one origin cluster. A model that ignores this scores a child's sibling
almost as high as the child (the national lookup's commonest false matches were siblings and
twins at the requested address: forename and date of birth different, surname and home the
same).

This module measures, from the right-hand table itself, how often the other fields agree
between two *different* records at each level of place agreement (same home, same postcode,
sector, district), by sampling uniformly random pairs of records that share the place. These
are the u-probabilities conditional on the place level; the model uses them for pairs that
agree on the place at that level (the chain rule ``P(all | U) = P(place | U) P(rest | place,
U)``, with the independence assumption kept only within a stratum). The same samples give the
chance of agreeing on the place at all: for one home among nine million pupils that is about
1e-7, far below what 100,000 random pairs can resolve.

The right-hand table is assumed to hold each person once (a register): pairs of its different
records are non-matches. On one table with duplicates (deduplication) this does not hold and
the strata are not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchsim.comparison import Comparison, compare
from matchsim.records import MISSING, KeptValues, LinkageData

#: Place keys from the finest to the coarsest; each is a set of blocking key parts.
#: (A sector's pairs are sampled among the district's: a district holds about ten sectors.)
PLACE_KEYS: tuple[tuple[str, ...], ...] = (
    ("address", "postcode"),
    ("postcode",),
    ("postcode:district",),
)

#: Places are grouped on a random share of them (whole places, chosen by a hash of the key)
#: holding about this many records, so a national register is not sorted three times over.
GROUPED_RECORDS = 1_000_000

_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class PlaceStrata:
    """u of each place level and of the other comparisons within it."""

    #: index of the place comparison among the comparisons
    place: int
    #: place level -> its chance agreement, where the random pairs could not resolve it
    place_u: dict[int, float]
    #: place level -> per comparison, the level frequencies among different records at that
    #: place level (``None`` for the place comparison itself)
    conditional: dict[int, list[np.ndarray | None]]
    #: pairs sampled at each place level (for reports)
    sampled: dict[int, int]


def place_comparison(comparisons: tuple[Comparison, ...]) -> int | None:
    """The index of the comparison judging where people live (location, else postcode)."""
    names = [c.name for c in comparisons]
    if "location" in names:
        return names.index("location")
    roles = [c.role for c in comparisons]
    return roles.index("postcode") if "postcode" in roles else None


def _group_key(data: LinkageData, parts: tuple[str, ...]) -> np.ndarray | None:
    """Each right-hand record's place key (the blocking keys' polynomial hash of the parts),
    MISSING where a part is."""
    from matchsim.blocking import combine_keys  # the blocking's own hash, compiled

    if any(part.split(":")[0] not in data.vocabularies for part in parts):
        return None
    key, ok = combine_keys([data.right.key(part, data.vocabularies) for part in parts])
    return np.where(ok, key, MISSING)  # not in place: one part's keys are the part itself


@dataclass(frozen=True)
class PlaceRuns:
    """A right-hand table's records grouped by one place key (see :func:`place_runs`)."""

    #: rows of the grouped places, sorted by place key
    order: np.ndarray
    #: start in ``order`` and size of each place holding two records or more
    starts: np.ndarray
    sizes: np.ndarray
    #: one place in this many was grouped (an array of one value, so it is stored as one)
    keep_one_in: np.ndarray


class KeptPlaceRuns(KeptValues[tuple[str, ...], PlaceRuns]):
    """Per place key (its parts): the register's rows grouped by place (:func:`place_runs`)."""


def place_runs(data: LinkageData, parts: tuple[str, ...]) -> PlaceRuns | None:
    """Rows sorted by place key, and the start and size of each run of two or more.

    Kept with the right-hand records: a prepared register is grouped once, when it is
    prepared (and stored with it in the world cache), for all of its batches.
    """
    kept = data.right.state(KeptPlaceRuns).values
    cached = kept.get(parts)
    if cached is None:
        key = _group_key(data, parts)
        if key is None:
            return None
        present = key != MISSING
        # Whole places, a random share 1/keep_one_in of them (pairs within a kept place are
        # as random as pairs within any place); the share of pairs is scaled back up.
        keep_one_in = max(1, int(present.sum()) // GROUPED_RECORDS)
        if keep_one_in > 1:
            with np.errstate(over="ignore"):
                mixed = (key.view(np.uint64) * _MIX) >> np.uint64(33)
            present &= mixed % np.uint64(keep_one_in) == 0
        rows = np.flatnonzero(present)
        order = rows[np.argsort(key[rows], kind="stable")]
        sorted_keys = key[order]
        bounds = np.r_[0, np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1, len(order)]
        starts, sizes = bounds[:-1], np.diff(bounds)
        shared = sizes > 1
        cached = PlaceRuns(
            order, starts[shared], sizes[shared], np.array([keep_one_in], dtype=np.int64)
        )
        kept[parts] = cached
    return cached


def sample_place_pairs(
    data: LinkageData, parts: tuple[str, ...], n_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Uniformly random pairs of different right-hand records sharing the place key, and the
    share of all pairs of different records that share it."""
    runs = place_runs(data, parts)
    if runs is None:
        return None
    order, starts, sizes = runs.order, runs.starts, runs.sizes
    keep_one_in = int(runs.keep_one_in[0])
    n = len(data.right)
    if len(sizes) == 0 or n < 2:
        return None
    weight = sizes.astype(np.float64) * (sizes - 1)
    share = float(weight.sum() * keep_one_in / (float(n) * (n - 1)))
    run = rng.choice(len(sizes), n_pairs, p=weight / weight.sum())
    size = sizes[run]
    first = rng.integers(0, size)
    second = (first + 1 + rng.integers(0, size - 1)) % size
    return order[starts[run] + first], order[starts[run] + second], share


def place_strata(
    comparisons: tuple[Comparison, ...],
    data: LinkageData,
    *,
    seed: int,
    pairs_per_key: int = 10_000,
    min_pairs: int = 200,
) -> PlaceStrata | None:
    """Sample pairs of different right-hand records that share a place, and measure the u of
    every comparison conditional on the level of place agreement (see the module notes).

    Returns ``None`` where there is no place comparison or no place is shared.
    """
    place = place_comparison(comparisons)
    if place is None or data.self_join:
        return None
    rng = np.random.default_rng(seed)
    n_levels = [c.n_levels for c in comparisons]
    counts = [np.zeros((comparisons[place].n_levels, n)) for n in n_levels]
    place_u: dict[int, float] = {}
    own = LinkageData(data.right, data.right, data.vocabularies)
    for parts in PLACE_KEYS:
        sample = sample_place_pairs(data, parts, pairs_per_key, rng)
        if sample is None:
            continue
        left, right, share = sample
        levels = compare(own, left, right, comparisons).levels.astype(np.int64)
        at = levels[:, place]
        observed = np.bincount(at, minlength=comparisons[place].n_levels) / len(at)
        for level in range(1, comparisons[place].n_levels):
            # Pairs sharing this key at this place level are a lower bound of all pairs at the
            # level; the finest key that holds most of them gives the estimate.
            place_u[level] = max(place_u.get(level, 0.0), share * float(observed[level]))
        for i in range(len(comparisons)):
            np.add.at(counts[i], (at, levels[:, i]), 1.0)
    if not place_u:
        return None
    sampled = {k: int(counts[place][k].sum()) for k in range(1, comparisons[place].n_levels)}
    conditional: dict[int, list[np.ndarray | None]] = {}
    for level, total in sampled.items():
        if total < min_pairs or level == comparisons[place].n_levels - 1:
            continue  # too few pairs, or "else" (no shared place): the unconditional u holds
        per: list[np.ndarray | None] = []
        for i in range(len(n_levels)):
            if i == place:
                per.append(None)
                continue
            row = counts[i][level].copy()
            row[1:] += 0.5  # additive smoothing, as for the unconditional u
            row[0] = 0.0  # missing carries no evidence
            per.append(row / row[1:].sum())
        conditional[level] = per
    return PlaceStrata(place, place_u, conditional, sampled)
