"""Namesakes in a register: how many pupils share a pupil's values of some fields.

A report explains a wrong child returned with how often two different children share what
the two share (first name, surname, birthday, postcode). Over a national register (15M rows)
that is a group-by per combination of fields, about half a second each; the combinations of
:data:`NAMESAKE_ROLES` are few (15), so a prepared register counts them all once, when it is
built, and keeps the counts with its other right-hand keys (see
:func:`matchsim.linkage.warm_register`). What a single pupil shares is a few comparisons over
the register and is computed when asked.

A register of address histories holds a pupil once per address: a pupil is counted once per
distinct combination of values, and the share of pupils with a namesake is over each pupil's
first row with every value present.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from matchsim.records import MISSING, MISSING_DATE, KeptValues, Records

__all__ = [
    "NAMESAKE_ROLES",
    "count_all_namesakes",
    "namesake_counts",
    "namesake_role_sets",
    "namesakes_of",
]

#: Fields whose exact agreement a report names; counts are kept for every combination of them.
NAMESAKE_ROLES: tuple[str, ...] = ("forename", "surname", "date_of_birth", "postcode")

# Keys folded together stay below this (int64 headroom for one more multiply-add).
_KEY_LIMIT = 2**62


def _canonical(roles: Sequence[str]) -> tuple[str, ...]:
    order = {r: i for i, r in enumerate(NAMESAKE_ROLES)}
    return tuple(sorted(set(roles), key=lambda r: (order.get(r, len(order)), r)))


def _values(records: Records, role: str) -> tuple[np.ndarray, int]:
    if role == "date_of_birth":
        return records.dob, MISSING_DATE
    return records.codes[role], MISSING


def _has(records: Records, role: str) -> bool:
    return role == "date_of_birth" or role in records.codes


def namesake_role_sets(records: Records) -> list[tuple[str, ...]]:
    """Every non-empty combination of :data:`NAMESAKE_ROLES` these records hold."""
    held = [r for r in NAMESAKE_ROLES if _has(records, r)]
    return [c for k in range(1, len(held) + 1) for c in combinations(held, k)]


def _ids_unique_ascending(ids: np.ndarray) -> bool:
    return len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1]))


class NamesakeCounts(KeptValues[tuple[str, ...], np.ndarray]):
    """Per set of roles: ``[pupils with a namesake, pupils]`` (see :func:`namesake_counts`)."""


def namesake_counts(records: Records, roles: Sequence[str]) -> tuple[int, int]:
    """``(pupils with a namesake, pupils)`` on ``roles``: the pupils with every value of
    ``roles`` present, and how many of them share all those values with another pupil.

    Kept with the records (a prepared register's are stored with it).
    """
    roles = _canonical(roles)
    kept = records.state(NamesakeCounts).values
    counts = kept.get(roles)
    if counts is None:
        counts = kept[roles] = np.asarray(
            _count(records, [_column(records, r) for r in roles]), np.int64
        )
    return int(counts[0]), int(counts[1])


def count_all_namesakes(records: Records) -> None:
    """:func:`namesake_counts` of every combination of :data:`NAMESAKE_ROLES`, each role's
    values read once."""
    columns: dict[str, tuple[np.ndarray, np.ndarray, int, int]] = {}
    kept = records.state(NamesakeCounts).values
    for roles in namesake_role_sets(records):
        if roles not in kept:
            for role in roles:
                if role not in columns:
                    columns[role] = _column(records, role)
            kept[roles] = np.asarray(_count(records, [columns[r] for r in roles]), np.int64)


def _column(records: Records, role: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A role as (present, its values, least and number of present values); no copy."""
    values, missing = _values(records, role)
    ok = values != missing
    if not ok.any():
        return ok, values, 0, 1
    bounds = np.iinfo(values.dtype)
    low = int(values.min(where=ok, initial=bounds.max))
    return ok, values, low, int(values.max(where=ok, initial=bounds.min)) - low + 1


def _count(
    records: Records, columns: list[tuple[np.ndarray, np.ndarray, int, int]]
) -> tuple[int, int]:
    present = columns[0][0].copy()
    for ok, *_ in columns[1:]:
        present &= ok
    ids = records.ids[present]
    pupils = len(ids)
    if pupils == 0:
        return 0, 0
    history = not _ids_unique_ascending(ids) and not pd.Index(ids).is_unique
    rows = np.flatnonzero(present)
    key = np.zeros(len(rows), dtype=np.int64)
    span = 1  # key < span
    for _, values, low, width in columns:
        if span * width >= _KEY_LIMIT:
            if not history:
                # Only records with a namesake on the fields so far can have one on all of
                # them: go on with those (every member of a shared group is among them).
                kept = _repeated(key)
                rows, key = rows[kept], key[kept]
            key, span = _dense(key)
        key *= width
        key += values[rows]
        key -= low
        span *= width
    if history:
        # Address histories: a pupil once per distinct combination of values.
        keep = ~pd.DataFrame({"id": ids, "key": key}).duplicated().to_numpy()
        ids, key = ids[keep], key[keep]
        first = ~pd.Index(ids).duplicated()  # each pupil by its first row
        groups, _ = pd.factorize(key)
        sizes = np.bincount(groups)[groups]
        return int((sizes[first] > 1).sum()), int(first.sum())
    if len(key) == 0:
        return 0, pupils
    if span <= 4 * len(key):  # few possible keys: count them directly
        counts = np.bincount(key)
        return int(counts[counts > 1].sum()), pupils
    # Sorting plain integers (vectorised) is many times faster than hashing 15M keys; a
    # record has a namesake where its sorted key equals a neighbour's.
    del rows
    ordered = key
    ordered.sort()  # in place: the key is this function's own
    same = ordered[1:] == ordered[:-1]
    shared = np.zeros(len(ordered), dtype=bool)
    shared[1:] = same
    shared[:-1] |= same
    return int(shared.sum()), pupils


def _repeated(key: np.ndarray) -> np.ndarray:
    """Whether each key occurs more than once."""
    ordered = np.sort(key)
    values = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(values) == 0:
        return np.zeros(len(key), dtype=bool)
    return pd.Index(np.unique(values)).get_indexer(key) >= 0


def _dense(key: np.ndarray) -> tuple[np.ndarray, int]:
    """Each key's rank among the distinct keys, and how many there are."""
    order = np.argsort(key)
    ordered = key[order]
    ranks = np.empty(len(key), dtype=np.int64)
    ranks[order] = np.r_[0, np.cumsum(ordered[1:] != ordered[:-1])]
    return ranks, int(ranks.max(initial=-1)) + 1


def namesakes_of(records: Records, roles: Sequence[str], pupil_id: int) -> int:
    """How many pupils (the pupil included) hold exactly the pupil's values of ``roles``;
    1 where the pupil has no row with every value present."""
    rows = np.flatnonzero(records.ids == pupil_id)
    columns = [_values(records, role) for role in _canonical(roles)]
    for row in rows:
        if all(values[row] != missing for values, missing in columns):
            same = np.ones(len(records.ids), dtype=bool)
            for values, _ in columns:
                same &= values == values[row]
            return len(np.unique(records.ids[same]))
    return 1
