"""Reading CSV and Parquet files for linkage, naming the encoding when a file is not UTF-8."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from matchsim.errors import ConfigError

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
_DELIMITERS = (",", ";", "\t", "|")


def read_table(
    path: Path | str,
    field: str = "path",
    *,
    encoding: str | None = None,
    text_columns: tuple[str, ...] = (),
    encoding_option: str = "encoding",
) -> pa.Table:
    """Read a CSV or Parquet file (by extension) for linkage.

    ``encoding`` is the CSV's text encoding (default UTF-8; a byte-order mark is skipped).
    ``text_columns`` are read as text, not inferred, so that a date column of ``YYYYMMDD``
    numbers, a sex column of 1/2 codes or a postcode column is never cut short by a value that
    does not fit the type inferred from the first rows. Errors name ``field`` (and
    ``encoding_option`` when the file is not in the expected encoding).
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(field, f"{str(path)!r} has an unknown extension; use .parquet or .csv")
    if not path.is_file():
        raise ConfigError(field, f"{str(path)!r} does not exist")
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ConfigError(
                encoding_option,
                f"unknown encoding {encoding!r}; e.g. utf-8, latin-1, cp1252, utf-16",
            ) from None
    try:
        table = pq.read_table(path) if fmt == "parquet" else _read_csv(path, encoding, text_columns)
    except (pa.ArrowInvalid, OSError, UnicodeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Empty CSV file" in message:
            raise ConfigError(field, f"{str(path)!r} is empty (no header, no rows)") from None
        if isinstance(exc, UnicodeError) or "UTF8" in message or "codec" in message:
            column = re.search(r"column #(\d+)", message)
            where = f" in column {int(column[1]) + 1}" if column else ""
            raise ConfigError(
                field,
                f"{str(path)!r} is not {encoding or 'UTF-8'} text (bytes that are not "
                f"{encoding or 'UTF-8'}{where}); give its encoding, e.g. {encoding_option} "
                "latin-1 (or cp1252 for Windows files)",
            ) from None
        raise ConfigError(field, f"{str(path)!r} could not be read as {fmt}: {message}") from None
    if fmt == "csv" and encoding is None:
        _refuse_bytes(table, path, field, encoding_option)
    if table.num_rows == 0:
        raise ConfigError(field, f"{str(path)!r} has a header but no rows")
    return table


def _read_csv(path: Path, encoding: str | None, text_columns: tuple[str, ...]) -> pa.Table:
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        encoding = None  # a byte-order mark says UTF-8 whatever encoding was given for the rest
    elif encoding is None and head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"  # Excel's "Unicode text" files carry this mark
    first_line, newline, _ = head.partition(b"\n")
    if encoding is None and newline:
        first_line.decode("utf-8")  # column names that are not UTF-8: the caller names the file
    text = head.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff")
    header = text.splitlines()[0] if text.strip() else ""
    delimiter = max(_DELIMITERS, key=header.count) if header else ","
    read_options = pacsv.ReadOptions(encoding=encoding or "utf8")
    # Quoted values may hold line breaks (addresses exported from spreadsheets do).
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(text_columns, pa.string()))
    return pacsv.read_csv(
        path,
        read_options=read_options,
        parse_options=parse_options,
        convert_options=convert,
    )


def _refuse_bytes(table: pa.Table, path: Path, field: str, encoding_option: str) -> None:
    """Arrow reads a CSV column that is not valid UTF-8 as bytes: name the file and the way out."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            example = _first_undecodable(column)
            raise ConfigError(
                field,
                f"{str(path)!r} is not UTF-8 text (column {name!r} holds {example!r}); "
                f"give its encoding, e.g. {encoding_option} latin-1 (or cp1252 for Windows files)",
            )


def _first_undecodable(column: pa.ChunkedArray) -> bytes:
    # Only on the error path, and it stops at the first value that is not UTF-8.
    for chunk in column.chunks:
        for value in chunk.to_pylist():
            if value is not None:
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    return value
    return b""
