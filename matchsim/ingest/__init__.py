"""Reading and cleaning the tables a user brings to a linkage.

Files nobody cleaned hold dates as ``YYYYMMDD`` numbers or ``DD/MM/YYYY`` text, years typed as
1679, ``NULL`` and ``N/A`` for missing values, sex as ``Female`` or ``2``, and Latin-1 bytes.
:func:`read_table` reads a CSV or Parquet file (naming the encoding to use when the file is
not UTF-8) and :func:`clean_table` turns each mapped column into what
:func:`matchsim.records.prepare_table` expects: names and addresses as NFC text with missing
markers as nulls, dates of birth as ``date32``, sex as ``M``/``F``. A value that cannot be
read is missing for its record and counted in a :class:`DataQuality` report; only a column
that is mostly unreadable, or a date column whose order (DD/MM or MM/DD) cannot be told, is
refused with one :class:`~matchsim.errors.ConfigError`.

Every step is vectorised. Dates and sex codes are read once per distinct value (dictionary
encoding: a column of millions of records holds a few thousand); text is cleaned by Arrow
kernels over the records, or over the dictionary of a dictionary-encoded column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from matchsim.errors import ConfigError
from matchsim.ingest.common import (
    FIRST_YEAR,
    LAST_YEAR,
    MISSING_MARKERS,
    DataQuality,
    Finding,
)
from matchsim.ingest.dates import DATE_DIRECTIVES, parse_dates
from matchsim.ingest.files import read_table
from matchsim.ingest.text import SEX_CODES, clean_text, parse_sex
from matchsim.records import STRING_ROLES, check_mapping

__all__ = [
    "DATE_DIRECTIVES",
    "FIRST_YEAR",
    "LAST_YEAR",
    "MISSING_MARKERS",
    "SEX_CODES",
    "CleanTable",
    "DataQuality",
    "Finding",
    "clean_table",
    "clean_text",
    "parse_dates",
    "parse_sex",
    "read_table",
]


@dataclass
class CleanTable:
    """A table cleaned for linkage (see :func:`clean_table`), with its data-quality report."""

    table: pa.Table
    roles: dict[str, str]
    side: str
    quality: DataQuality


def clean_table(
    table: pa.Table | pd.DataFrame,
    roles: Mapping[str, str],
    side: str = "table",
    *,
    date_format: str | None = None,
    date_format_option: str = "date_format",
) -> CleanTable:
    """Check a role mapping (column -> role) and clean each mapped column for linkage.

    Text roles: trimmed, Unicode NFC, :data:`MISSING_MARKERS` as null. ``date_of_birth``: see
    :func:`parse_dates` (``date_format`` in strptime syntax, else detected). ``sex``: see
    :func:`parse_sex`. The ``id`` column is kept as it is. Unmapped columns are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> from matchsim.ingest import clean_table
    >>> raw = pd.DataFrame({"id": [1, 2, 3], "fn": ["  Zoë ", "N/A", "Ann"],
    ...                     "dob": ["31/01/2010", "02/03/2011", "not a date"],
    ...                     "sex": ["F", "m", "U"]})
    >>> roles = {"id": "id", "fn": "forename", "dob": "date_of_birth", "sex": "sex"}
    >>> clean = clean_table(raw, roles)
    >>> clean.table.column("fn").to_pylist(), clean.table.column("sex").to_pylist()
    (['Zoë', None, 'Ann'], ['F', 'M', None])
    >>> [str(day) for day in clean.table.column("dob").to_pylist()]
    ['2010-01-31', '2011-03-02', 'None']
    >>> for column, what in clean.quality.lines():
    ...     print(column, what, sep=": ")
    table.dob: dates read as DD/MM/YYYY (detected)
    table.fn: 1 value read as missing (e.g. 'N/A')
    table.dob: 1 date of birth that is not a real date treated as missing (e.g. 'not a date')
    """
    check_mapping(table, roles, side)
    names = list(table.column_names) if isinstance(table, pa.Table) else list(table.columns)
    for column in roles:
        if names.count(column) > 1:
            raise ConfigError(
                f"{side}.{column}",
                f"the table has {names.count(column)} columns named {column!r}; rename all but one",
            )
    if date_format is not None and not isinstance(date_format, str):
        raise ConfigError(
            date_format_option, f"must be text such as '%d/%m/%Y'; got {date_format!r}"
        )
    quality = DataQuality()
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for column, role in roles.items():
        name = f"{side}.{column}"
        values = _arrow_column(table, column, role, name)
        if values.null_count == len(values):
            raise ConfigError(name, "the column is entirely empty")
        if role == "id":
            columns[column] = values
            continue
        if role == "date_of_birth":
            values, findings, how = parse_dates(
                values, name, date_format=date_format, option=date_format_option
            )
            if how:
                quality.date_formats[name] = how
        elif role == "sex":
            values, findings = parse_sex(values, name)
        elif role in STRING_ROLES:
            values, findings = clean_text(values, name, role)
        else:  # pragma: no cover - check_mapping refuses unknown roles
            raise ConfigError(name, f"unknown role {role!r}")
        quality.findings.extend(findings)
        columns[column] = values
    return CleanTable(pa.table(columns), dict(roles), side, quality)


def _arrow_column(
    table: pa.Table | pd.DataFrame, column: str, role: str, name: str
) -> pa.Array | pa.ChunkedArray:
    if isinstance(table, pa.Table):
        return table[column]
    series = table[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ConfigError(
            name,
            f"mixes kinds of value (e.g. numbers and text); a {role} column must hold one kind "
            f"({str(exc).splitlines()[0]})",
        ) from None
