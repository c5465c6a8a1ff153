"""The default blocking: multi-pass exact keys chosen from the roles present and a budget."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matchsim.blocking.base import Blocker
from matchsim.blocking.keys import KEY_PARTS, ExactKeys
from matchsim.blocking.union import Union
from matchsim.errors import ConfigError
from matchsim.records import LinkageData

#: Passes every error in one field, or in two fields of different kinds (a name, the date of
#: birth, the place, sex), leaves at least one of (tests/blocking/test_default_rule.py):
CORE_PASSES: tuple[tuple[str, ...], ...] = (
    ("surname:soundex", "dob"),  # forename, place or sex wrong
    ("forename:soundex", "dob"),  # surname wrong (with the place or sex)
    ("forename:soundex", "surname:soundex", "birth_year"),  # day or month wrong
    ("dob", "postcode:district"),  # both names wrong, transliterated or swapped
    ("postcode", "surname:soundex"),  # date of birth wrong (with the forename)
    ("postcode", "forename:soundex"),  # date of birth and surname wrong
    ("forename:soundex", "surname:soundex", "postcode:sector"),  # date and postcode unit
    ("address", "surname:soundex"),  # date of birth and postcode wrong
)

#: Broader passes, taken in this order while the blocking stays within its budget of pairs per
#: left record: affordable on a table of thousands (FEBRL: they take pair completeness from
#: 0.965-0.985 to 0.991-0.998), mostly not on a national register (one postcode holds about 15
#: pupils, one date of birth 1,800).
EXTRA_PASSES: tuple[tuple[str, ...], ...] = (
    ("postcode",),  # several fields wrong, the postcode kept
    ("address",),
    ("forename:soundex", "surname:soundex"),  # date of birth and the place both wrong, no address
    ("dob",),
)

#: Most candidate pairs per left record the default blocking plans for (issue 17).
DEFAULT_PAIR_BUDGET = 50


def default_blocking(
    roles: Sequence[str] | None = None,
    *,
    data: LinkageData | None = None,
    budget: float = DEFAULT_PAIR_BUDGET,
    sample: int = 2_000,
) -> Union:
    """Multi-pass blocking for name/DOB/address records, chosen from the roles present.

    The core passes (:data:`CORE_PASSES`) are those a true pair with an error in any one
    field, or in two fields of different kinds, survives; passes needing roles the tables do
    not both have are dropped. Given ``data``, broader passes (:data:`EXTRA_PASSES`) are added,
    in order, while the planned pairs per left record (the sum of every pass's pairs, an upper
    bound of their union, over a sample of ``sample`` left records) stay within ``budget``:
    a small table can afford to block on the postcode or date of birth alone, a national
    register cannot.

    Three passes added earlier for FEBRL4's own missed pairs (address + postcode, address +
    forename, swapped names in a district) are gone: the rule above does not call for them,
    and the budgeted passes recover more of FEBRL's pairs on every FEBRL dataset
    (docs/accuracy.md).

    With no core pass usable, the tables are blocked on the Soundex of whichever name they
    have, or on exact postcode, address or date of birth.
    """
    passes = [list(p) for p in CORE_PASSES]
    have = set(roles) if roles is not None else set(data.roles) if data is not None else None

    def usable(keys: Sequence[str]) -> bool:
        needed = {"date_of_birth" if k in KEY_PARTS[:4] else k.split(":")[0] for k in keys}
        return have is None or needed <= have

    passes = [p for p in passes if usable(p)]
    if have is not None and not passes:
        fallback = [["surname:soundex"], ["forename:soundex"], ["postcode"], ["address"], ["dob"]]
        passes = [p for p in fallback if usable(p)][:1]
        if not passes:
            raise ConfigError(
                "blocking", "no role to block on; map a name, date of birth, postcode or address"
            )
    blockers: list[Blocker] = [ExactKeys(p) for p in passes]
    if data is not None and len(data.left):
        if isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0:
            raise ConfigError("budget", f"must be a number > 0. Got {budget!r} instead.")
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(len(data.left), min(sample, len(data.left)), replace=False))

        def cost(b: Blocker) -> float:
            counts = b.self_counts(data, rows) if data.self_join else b.counts(data, rows)
            return float(np.mean(counts))

        planned = sum(cost(b) for b in blockers)
        for keys in EXTRA_PASSES:
            if not usable(keys) or list(keys) in passes:
                continue
            extra = ExactKeys(list(keys))
            more = cost(extra)
            if planned + more <= budget:
                blockers.append(extra)
                planned += more
    return Union(blockers)
