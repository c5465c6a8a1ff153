"""Quasi-identifier uniqueness: how many pupils a combination of fields singles out.

For each combination of quasi-identifiers (QIs), records are grouped into equivalence
classes of equal (normalised) values; a record in a class of size k is k-anonymous on those
QIs (Sweeney 2002). Unique records (k = 1) are the ones a linked or leaked table exposes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError
from matchsim.records import VALUE_ROLES, PreparedTable

QI_ROLES = (*VALUE_ROLES, "birth_year")

#: The combinations the report shows by default.
DEFAULT_QUASI_IDENTIFIERS = (
    ("forename", "surname", "date_of_birth"),
    ("date_of_birth", "postcode"),
    ("forename", "surname"),
    ("surname", "date_of_birth"),
    ("forename", "date_of_birth", "postcode"),
    ("date_of_birth", "sex", "postcode"),
    ("surname", "postcode"),
    ("surname", "birth_year", "sex"),
    ("date_of_birth",),
)

#: k-anonymity class bands reported (lower bounds).
K_BANDS = (1, 2, 5, 10)


def _column(table: PreparedTable, role: str) -> np.ndarray:
    if role == "date_of_birth":
        return table.dob
    if role == "birth_year":
        return table.dob.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    if role == "sex":
        return table.sex.astype(np.int64)
    if role not in table.codes:
        raise ConfigError("privacy.quasi_identifiers", f"the register has no {role!r}")
    return table.codes[role]


def qi_uniqueness(
    table: PreparedTable, combinations: Sequence[Sequence[str]] = DEFAULT_QUASI_IDENTIFIERS
) -> list[dict[str, object]]:
    """Per combination: the share of records unique on it and in each k-anonymity band."""
    rows = []
    for combo in combinations:
        for role in combo:
            if role not in QI_ROLES:
                raise ConfigError(
                    "privacy.quasi_identifiers",
                    f"{role!r} is not a quasi-identifier; allowed: {', '.join(QI_ROLES)}",
                )
        frame = pd.DataFrame({r: _column(table, r) for r in combo})
        class_id = frame.groupby(list(combo), sort=False).ngroup().to_numpy()
        sizes = np.bincount(class_id)
        k = sizes[class_id]
        n = len(k)
        bands = {}
        edges = [*K_BANDS, np.inf]
        for lo, hi in itertools.pairwise(edges):
            label = (
                f"k={lo}"
                if hi == lo + 1
                else (f"k={lo}-{int(hi) - 1}" if np.isfinite(hi) else f"k>={lo}")
            )
            bands[label] = float(np.mean((k >= lo) & (k < hi))) if n else 0.0
        rows.append(
            {
                "quasi_identifiers": " + ".join(combo),
                "records": n,
                "classes": len(sizes),
                "unique_share": float(np.mean(k == 1)) if n else 0.0,
                "k_bands": bands,
            }
        )
    return rows
