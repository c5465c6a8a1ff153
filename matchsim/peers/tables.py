"""What a peer engine is handed: each side's records as a plain table, one column per role.

The values are matchsim's normalised ones (upper case, accents and punctuation stripped,
street types expanded, postcodes without spaces), decoded from the linkage's shared
vocabularies. Every engine therefore starts from the same cleaned data, as a user of either
library would clean it first, and differences come from comparisons and models alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

import numpy as np
import pyarrow as pa

from matchsim.errors import ConfigError
from matchsim.records import MISSING_DATE, STRING_ROLES, LinkageData, Records

#: How to install the peers.
PEERS_EXTRA = "pip install 'matchsim[peers]'"


def require(module: str, field: str) -> ModuleType:
    """Import an optional peer library, or fail with one line naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        raise ConfigError(
            field,
            f"needs {module}, which is not installed (missing module {missing!r}); "
            f"install the peer engines with: {PEERS_EXTRA}",
        ) from None


def role_lists(value: object, field: str, allowed: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """A non-empty list of non-empty lists of roles from ``allowed`` (blocks, rules), or a
    one-line error naming ``field``."""
    if (
        not isinstance(value, list | tuple)
        or not value
        or any(not isinstance(roles, list | tuple) or not roles for roles in value)
    ):
        raise ConfigError(field, f"must be a non-empty list of role lists. Got {value!r} instead.")
    for roles in value:
        for role in roles:
            if role not in allowed:
                raise ConfigError(field, f"{role!r} is not a role; roles are {', '.join(allowed)}")
    return tuple(tuple(roles) for roles in value)


def role_table(
    records: Records,
    data: LinkageData,
    roles: Sequence[str],
    rows: np.ndarray | None = None,
    *,
    transform: Mapping[str, Callable[[pa.Array], pa.Array]] | None = None,
    row_column: str | None = None,
) -> pa.Table:
    """``records`` (or its ``rows``) as an Arrow table with one column per role.

    String roles hold the normalised text (null when missing), ``date_of_birth`` a date32,
    ``sex`` ``"M"``/``"F"``. ``transform`` maps a string role to a function applied once to
    its vocabulary (the distinct values), e.g. to write postcodes the way a peer expects.
    ``row_column`` adds each record's row number, a unique key even where ids repeat.
    """
    rows = np.arange(len(records)) if rows is None else np.asarray(rows, dtype=np.int64)
    transform = transform or {}
    columns: dict[str, pa.Array] = {}
    if row_column is not None:
        columns[row_column] = pa.array(rows, pa.int64())
    for role in roles:
        if role in STRING_ROLES:
            values = data.vocabularies[role].values
            if role in transform:
                values = transform[role](values)
            codes = records.codes[role][rows]
            columns[role] = values.take(pa.array(codes, pa.int64(), mask=codes < 0))
        elif role == "date_of_birth":
            days = records.dob[rows]
            missing = days == MISSING_DATE
            columns[role] = pa.array(
                np.where(missing, 0, days).astype(np.int32), pa.int32(), mask=missing
            ).cast(pa.date32())
        elif role == "sex":
            codes, texts = records.role_codes(role, data.vocabularies)
            codes = codes[rows]
            columns[role] = pa.array(texts[np.maximum(codes, 0)], pa.string(), mask=codes < 0)
        else:
            raise ConfigError("role", f"{role!r} is not a role a peer engine can compare")
    return pa.table(columns)


def peer_roles(data: LinkageData, *, address_with_postcode: bool) -> list[str]:
    """The roles both sides hold that a peer compares: those matchsim's default comparisons
    use (middle names are left out, as there), in matchsim's order."""
    roles: list[str] = [
        r for r in ("forename", "surname", "date_of_birth", "postcode") if r in data.roles
    ]
    if "address" in data.roles and (address_with_postcode or "postcode" not in data.roles):
        roles.append("address")
    if "sex" in data.roles:
        roles.append("sex")
    return roles
