"""Multi-pass blocking (a union of passes) and building any blocker from its specification."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

from matchsim.blocking.base import BLOCKERS, Blocker, blocker, dedupe_pairs, sum_counts
from matchsim.errors import ConfigError
from matchsim.records import LinkageData

#: What a blocking parameter takes: a registry name, ``{"name": ..., **params}``, an instance,
#: or a list of these (their union).
BlockingSpec: TypeAlias = "str | dict | list | Blocker"


def make_blocker(spec: BlockingSpec) -> Blocker:
    """A blocker from a registry name, a ``{"name": ..., **params}`` mapping, an instance, or
    a list of these (their union).

    Strings may carry keys after a colon: ``"exact:surname:soundex+dob"``.

    Examples
    --------
    >>> from matchsim.blocking import make_blocker
    >>> make_blocker("exact:surname:soundex+dob").describe()
    'exact(surname:soundex + dob)'
    >>> make_blocker(["exact:dob", {"name": "sorted_neighbourhood", "window": 3}]).describe()
    'exact(dob) | sorted_neighbourhood(surname, window=3)'

    A blocker counts each left record's pairs before listing them:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from matchsim.records import prepare
    >>> left = pd.DataFrame({"sn": ["Khan", "Lee"], "dob": ["2010-05-01", "2011-01-02"]})
    >>> right = pd.DataFrame({"sn": ["Khan", "Khan", "Lee"],
    ...                       "dob": ["2010-05-01", "2011-01-02", "2010-05-01"]})
    >>> data = prepare(left, right, {"sn": "surname", "dob": "date_of_birth"})
    >>> blocker = make_blocker("exact:dob")
    >>> blocker.counts(data, np.arange(2)).tolist()
    [2, 1]
    >>> left_rows, right_rows = blocker.pairs(data, np.arange(2))
    >>> left_rows.tolist(), right_rows.tolist()
    ([0, 0, 1], [0, 2, 1])

    Unknown names fail with the names known:

    >>> make_blocker("exct")
    Traceback (most recent call last):
    ...
    matchsim.errors.UnknownNameError: blocking: unknown value 'exct'; known values: ..., exact, ...
    """
    if isinstance(spec, Blocker):
        return spec
    if isinstance(spec, str):
        name, _, rest = spec.partition(":")
        params: dict = {}
        if rest:
            if name in ("exact",):
                params["keys"] = rest.split("+")
            elif name == "union":
                raise ConfigError("blocking", "write unions as a list of blockers")
            else:
                raise ConfigError("blocking", f"{spec!r}: only 'exact:KEY+KEY' takes keys inline")
        spec = {"name": name, **params}
    if isinstance(spec, list):
        return Union([make_blocker(s) for s in spec])
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError("blocking", f"{spec!r} is not a blocker name or a mapping with a 'name'")
    params = dict(spec)
    name = params.pop("name")
    if name == "union":
        members = params.get("blockers", [])
        if not isinstance(members, list | tuple):
            raise ConfigError(
                "blocking.union.blockers", f"must be a list of blockers. Got {members!r} instead."
            )
        params["blockers"] = [make_blocker(b) for b in members]
    return BLOCKERS.create(name, params)


@blocker("union")
class Union(Blocker):
    """Several passes; their pairs are unioned and duplicates removed (multi-pass blocking).

    Parameters
    ----------
    blockers
        The passes: blocker names or mappings, as ``lookup.blocking`` takes them.
    """

    def __init__(self, blockers: Sequence[Blocker]) -> None:
        if not isinstance(blockers, list | tuple):
            raise ConfigError(
                "blocking.union.blockers", f"must be a list of blockers. Got {blockers!r} instead."
            )
        blockers = [make_blocker(b) for b in blockers]
        if not blockers:
            raise ConfigError("blocking.union.blockers", "give at least one blocker")
        self.blockers = blockers

    def describe(self) -> str:
        return " | ".join(b.describe() for b in self.blockers)

    def warm(self, data: LinkageData) -> None:
        for member in self.blockers:
            member.warm(data)

    def counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum_counts(b.counts(data, left_rows) for b in self.blockers)

    def pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dedupe_pairs([b.pairs(data, left_rows) for b in self.blockers], len(data.right))

    @property
    def self_pairs_once(self) -> bool:  # type: ignore[override]  # read-only: from its members
        return all(b.self_pairs_once for b in self.blockers)

    def self_counts(self, data: LinkageData, left_rows: np.ndarray) -> np.ndarray:
        return sum_counts(b.self_counts(data, left_rows) for b in self.blockers)

    def self_pairs(self, data: LinkageData, left_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [b.self_pairs(data, left_rows) for b in self.blockers]
        return dedupe_pairs(parts, len(data.right))
