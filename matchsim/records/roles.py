"""Roles: the fields a linkage understands, how missing values are coded, and checking a
table's mapping of columns to roles."""

from __future__ import annotations

import ctypes
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

ROLES = ("id", "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "address")
NAME_ROLES = ("forename", "middle_names", "surname")
STRING_ROLES = ("forename", "middle_names", "surname", "postcode", "address")
#: Every role that holds a value about the person (all but ``id``), in ROLES order.
VALUE_ROLES = tuple(role for role in ROLES if role != "id")
#: The roles the peer engines compare and block on (middle names are left out, as matchsim's
#: default comparisons leave them out).
PEER_ROLES = tuple(role for role in VALUE_ROLES if role != "middle_names")
MISSING = -1
#: Missing date of birth. Not -1: that is 1969-12-31 in days since 1970.
MISSING_DATE = np.iinfo(np.int64).min // 4

#: The role mapping of matchsim's own registers and request sets.
MATCHSIM_ROLES = {
    "forename": "forename",
    "middle_names": "middle_names",
    "surname": "surname",
    "date_of_birth": "date_of_birth",
    "sex": "sex",
    "postcode": "postcode",
    "address_line": "address",
}


def table_column(
    table: pa.Table | pd.DataFrame,
    name: str,
    rows: np.ndarray | None = None,
    *,
    text: bool = False,
) -> pa.ChunkedArray | pa.Array:
    """One column as Arrow (only ``rows``, in that order, when given: the others are never
    converted). ``text``: the column holds a string role, so a pandas column of Python
    objects comes back dictionary-encoded, each value once (:func:`objects_as_dictionary`)."""
    if isinstance(table, pa.Table):
        column = table[name]
        if rows is not None:
            column = column.take(pa.array(rows, pa.int64()))
    else:
        if text and holds_text_objects(table, name):
            column = objects_as_dictionary(object_values(table, name), rows)
        else:
            series = table[name]
            if series.dtype.name == "category":
                series = series.astype(object)
            if rows is not None and isinstance(series.dtype, np.dtype):
                # numpy's gather: pandas' take builds an index and a Series around it as well
                column = pa.array(series.to_numpy()[rows], from_pandas=True)
            else:
                if rows is not None:
                    series = series.take(rows)
                column = pa.array(series, from_pandas=True)
    # pandas 3 strings arrive as large_string; one string type keeps vocabularies joinable.
    if pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    elif pa.types.is_dictionary(column.type) and pa.types.is_large_string(column.type.value_type):
        column = column.cast(pa.dictionary(column.type.index_type, pa.string()))
    return column


def holds_text_objects(table: pa.Table | pd.DataFrame, name: str) -> bool:
    """Whether a column is a pandas column of Python objects (or categories, read as their
    objects): :func:`table_column` reads such a column of a string role with
    :func:`objects_as_dictionary`, whose dictionary holds each value once."""
    if isinstance(table, pa.Table):
        return False
    dtype = table[name].dtype
    return dtype == np.dtype(object) or dtype.name == "category"


def object_values(table: pd.DataFrame, name: str) -> np.ndarray:
    """A pandas column of Python objects (categories as their objects) as its numpy array."""
    series = table[name]
    return (series.astype(object) if series.dtype.name == "category" else series).to_numpy()


def objects_as_dictionary(values: np.ndarray, rows: np.ndarray | None = None) -> pa.Array:
    """Python objects (only ``rows``, in that order, when given) as an Arrow dictionary
    array whose dictionary holds each value once.

    A pandas column of text holds one Python object per distinct value more often than not:
    pyarrow's ``to_pandas`` and pandas' CSV reader both reuse one string object for repeated
    values. The rows are grouped by object address (integers: no object is touched), each
    distinct object's text is read once and equal texts held by distinct objects are merged
    (``matchsim.records.kernels``). Missing values (None, NaN, pd.NA, NaT) become null
    indices. A column holding other objects (numbers among the text, say) goes through
    pyarrow's conversion, which reads them or says what it found mixed."""
    return objects_as_dictionaries([(values, rows)])[0]


def objects_as_dictionaries(
    columns: Sequence[tuple[np.ndarray, np.ndarray | None]],
) -> list[pa.Array]:
    """Several columns of Python objects (each with its ``rows``, or all of them), read as
    :func:`objects_as_dictionary` reads one, together: dictionary arrays over one dictionary
    (the same Arrow array), which holds each value of every column once. Two tables' names
    read so are linked without looking any value up."""
    from matchsim.records.kernels import distinct_texts_of_objects, group_by_address

    held = [np.ascontiguousarray(values, dtype=object) for values, _ in columns]
    # copies: the arrays in ``held`` keep every object alive while the addresses are read
    addresses = np.concatenate(
        [
            _object_addresses(values) if rows is None else _object_addresses(values)[rows]
            for values, (_, rows) in zip(held, columns, strict=True)
        ]
    )
    ends = np.cumsum([len(values) if rows is None else len(rows) for values, rows in columns])
    group, first = group_by_address(addresses)
    value_of_object, offsets, text = distinct_texts_of_objects(addresses[first])
    missing = value_of_object < 0
    if missing.any():
        objects = _objects_at(held, [rows for _, rows in columns], ends, first)
        if not _missing_objects(objects[missing]).all():
            return _objects_by_pyarrow(objects, group, ends)
    codes = value_of_object[group]
    dictionary = pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(text)
    ).cast(pa.string())
    return [
        pa.DictionaryArray.from_arrays(
            pa.array(part, mask=part < 0) if missing.any() else pa.array(part), dictionary
        )
        for part in np.split(codes, ends[:-1])
    ]


def _objects_at(
    held: list[np.ndarray], rows: list[np.ndarray | None], ends: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """The objects at ``positions`` of the columns laid end to end (each its ``rows``)."""
    objects = np.empty(len(positions), dtype=object)
    starts = np.concatenate([[0], ends[:-1]])
    column = np.searchsorted(ends, positions, side="right")
    for k, (values, chosen) in enumerate(zip(held, rows, strict=True)):
        at = np.flatnonzero(column == k)
        local = positions[at] - starts[k]
        objects[at] = values[local if chosen is None else chosen[local]]
    return objects


def _object_addresses(values: np.ndarray) -> np.ndarray:
    """The objects' addresses, a view of the array's buffer (each element a PyObject
    pointer, unique per live object): numpy refuses to view references as integers, ctypes
    reads the same buffer. Valid while ``values`` lives and is unchanged."""
    if not len(values):
        return np.empty(0, dtype=np.uint64)
    pointer = ctypes.cast(values.ctypes.data, ctypes.POINTER(ctypes.c_uint64))
    return np.ctypeslib.as_array(pointer, shape=(len(values),))


def _missing_objects(objects: np.ndarray) -> np.ndarray:
    """Which objects stand for a missing value (None, NaN, pd.NA, NaT)."""
    import pandas as pd

    return np.asarray(pd.isna(objects), dtype=bool)


def _objects_by_pyarrow(objects: np.ndarray, group: np.ndarray, ends: np.ndarray) -> list[pa.Array]:
    """The distinct objects converted by pyarrow (which reads numbers, or raises naming the
    kinds it found mixed), merged by value, as dictionary arrays over each column's rows."""
    converted = pc.dictionary_encode(pa.array(objects, from_pandas=True))
    parts = np.split(group, ends[:-1])
    if pa.types.is_null(converted.type.value_type):  # no value at all: as pa.array makes it
        return [pa.nulls(len(part)) for part in parts]
    value_of_object = converted.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    value_of_object = value_of_object.astype(np.int32)
    return [
        pa.DictionaryArray.from_arrays(
            pa.array(value_of_object[part], mask=value_of_object[part] < 0), converted.dictionary
        )
        for part in parts
    ]


def num_rows(table: pa.Table | pd.DataFrame) -> int:
    return table.num_rows if isinstance(table, pa.Table) else len(table)


def column_names(table: pa.Table | pd.DataFrame) -> list[str]:
    return (
        list(table.column_names) if isinstance(table, pa.Table) else [str(c) for c in table.columns]
    )


def check_mapping(table: pa.Table | pd.DataFrame, roles: Mapping[str, str], side: str) -> None:
    """Validate a role mapping's shape (known roles, existing columns, each role once, a
    usable role) and that the table has rows, naming the problem. Column types are not checked."""
    columns = column_names(table)
    if num_rows(table) == 0:
        raise ConfigError(side, "the table is empty")
    seen: dict[str, str] = {}
    for column, role in roles.items():
        if role not in ROLES:
            raise ConfigError(
                f"{side}.{column}", f"unknown role {role!r}; known roles: {', '.join(ROLES)}"
            )
        if column not in columns:
            raise ConfigError(
                f"{side}.{column}", f"no such column; columns are: {', '.join(columns)}"
            )
        if role in seen:
            raise ConfigError(
                f"{side}.{column}", f"role {role!r} is already mapped to {seen[role]!r}"
            )
        seen[role] = column
    usable = {"forename", "surname", "date_of_birth", "postcode", "address"} & set(roles.values())
    if not usable:
        raise ConfigError(
            side, "map at least one of forename, surname, date_of_birth, postcode, address"
        )


def check_roles(table: pa.Table | pd.DataFrame, roles: Mapping[str, str], side: str) -> None:
    """Validate a role mapping (column -> role) against a table, naming the problem."""
    check_mapping(table, roles, side)
    checked_columns(table, roles, side)


def checked_columns(
    table: pa.Table | pd.DataFrame,
    roles: Mapping[str, str],
    side: str,
    rows: np.ndarray | None = None,
    *,
    converted: Mapping[str, pa.Array] | None = None,
) -> dict[str, pa.ChunkedArray | pa.Array]:
    """The mapped columns as Arrow, each converted once and validated, naming the problem.

    With ``rows``, only those rows are converted and checked (a column must still hold some
    value somewhere in the table). ``converted``: columns already read (those rows), to
    check only."""
    converted = converted or {}
    columns = {}
    for column, role in roles.items():
        try:
            col = (
                converted[column]
                if column in converted
                else table_column(table, column, rows, text=role in STRING_ROLES)
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ConfigError(
                f"{side}.{column}",
                f"mixes kinds of value; a {role} column must hold text or dates ({str(exc).splitlines()[0]})",
            ) from None
        except UnicodeEncodeError as exc:
            raise ConfigError(
                f"{side}.{column}",
                f"holds text that is not valid Unicode ({exc.reason}: {exc.object[:40]!r}, as "
                "decoding with errors='surrogateescape' leaves); read the file with its real "
                "encoding",
            ) from None
        if _entirely_empty(table, column, col, rows):
            raise ConfigError(f"{side}.{column}", "the column is entirely empty")
        if pa.types.is_null(col.type):  # the chosen rows hold no value: no type to read
            col = col.cast(pa.date32() if role == "date_of_birth" else pa.string())
        if role == "date_of_birth" and not _is_datelike(col):
            raise ConfigError(
                f"{side}.{column}", f"a date_of_birth column must hold dates; got {col.type}"
            )
        if role == "date_of_birth":
            _check_date_strings(col, f"{side}.{column}")
        if role in STRING_ROLES and not (
            pa.types.is_string(col.type)
            or pa.types.is_large_string(col.type)
            or pa.types.is_dictionary(col.type)
            or pa.types.is_integer(col.type)  # e.g. numeric postcodes read from CSV
        ):
            raise ConfigError(f"{side}.{column}", f"a {role} column must hold text; got {col.type}")
        columns[column] = col
    return columns


def _entirely_empty(
    table: pa.Table | pd.DataFrame,
    name: str,
    col: pa.ChunkedArray | pa.Array,
    rows: np.ndarray | None,
) -> bool:
    """Whether the whole column (not only ``rows``) holds no value."""
    if col.null_count < len(col):
        return False
    if rows is None:
        return True
    # The chosen rows hold nothing: look at the rest (rarely reached, so the cost is rare).
    if isinstance(table, pa.Table):
        return table[name].null_count == table.num_rows
    return bool(table[name].isna().all())


def _is_datelike(col: pa.ChunkedArray | pa.Array) -> bool:
    t = col.type
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return True
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _check_date_strings(col: pa.ChunkedArray | pa.Array, field: str) -> None:
    """Every non-empty value must be a real YYYY-MM-DD date (no 30 February rolling over)."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return
    values = pc.utf8_trim_whitespace(pc.drop_null(col))
    values = values.filter(pc.not_equal(values, ""))
    try:
        parsed = pc.strptime(values, format="%Y-%m-%d", unit="s")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next((v for v in values.to_pylist() if not _is_iso_date(v)), None)
        raise ConfigError(field, f"{bad!r} is not a date YYYY-MM-DD") from None
    round_trip = pc.strftime(parsed, format="%Y-%m-%d")
    differs = pc.invert(pc.equal(round_trip, values))
    if pc.any(differs).as_py():
        bad = values.filter(differs)[0].as_py()
        raise ConfigError(field, f"{bad!r} is not a real date")


def _is_iso_date(value: str) -> bool:

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
