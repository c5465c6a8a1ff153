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

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from matchsim.errors import ConfigError
from matchsim.records import STRING_ROLES, check_mapping

#: Years a date of birth may fall in: the span of matchsim's calendar tables
#: (matchsim.synth.calendar). A date outside it is a typo in a birth date, read as missing.
FIRST_YEAR, LAST_YEAR = 1800, 2199

#: Values read as missing in any mapped column, compared after trimming and upper-casing.
#: "NA" is missing only as "NA" or "na": "Na" is a surname (Korean 나, Chinese 那).
MISSING_MARKERS = ("NULL", "N/A", "NONE", "NAN", "NAT", "#N/A", "-", "--", "?", ".")
_NA_FORMS = ("NA", "na")

#: Sex codes understood, after trimming and upper-casing. The digits follow ISO/IEC 5218
#: ("Codes for the representation of human sexes": 0 not known, 1 male, 2 female, 9 not
#: applicable), which the NHS Data Dictionary's Sex vocabulary cites (0 not known, 1 male,
#: 2 female, 9 not specified; https://data.developer.nhs.uk/dms/mim/6.3.01/Vocabulary/Sex.htm).
#: The letters follow HL7 v2 table 0001 (F, M, U unknown) and the NHS's X (not known).
SEX_CODES: dict[str, str | None] = {
    "M": "M",
    "MALE": "M",
    "MAN": "M",
    "BOY": "M",
    "1": "M",
    "F": "F",
    "FEMALE": "F",
    "WOMAN": "F",
    "GIRL": "F",
    "2": "F",
    "U": None,
    "UNKNOWN": None,
    "NOT KNOWN": None,
    "NOT SPECIFIED": None,
    "NOT STATED": None,
    "I": None,
    "INDETERMINATE": None,
    "X": None,
    "0": None,
    "9": None,
}

#: Directives a ``date_format`` may use (strptime syntax); times and zones are read and ignored.
DATE_DIRECTIVES = ("%Y", "%y", "%m", "%d", "%b", "%B", "%H", "%I", "%M", "%S", "%f", "%p", "%z")

_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_ISO = rf"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){_TIME}$"
_COMPACT = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\.0*)?$"  # YYYYMMDD; "19900101.0" too
_DAY_MONTH = rf"^(?P<a>\d{{1,2}})[-/.](?P<b>\d{{1,2}})[-/.](?P<y>\d{{4}}){_TIME}$"
_TWO_DIGIT_YEAR = r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}$"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

#: A column whose non-missing values are more than this share unreadable is refused: it is
#: more likely read with the wrong format (or mapped to the wrong role) than full of typos.
MOSTLY_UNREADABLE = 0.5


#: What each kind of finding says after its count (one record, several records).
_OUTSIDE = f"outside {FIRST_YEAR}–{LAST_YEAR} treated as missing"
FINDING_TEXT = {
    "date_out_of_range": (f"date of birth {_OUTSIDE}", f"dates of birth {_OUTSIDE}"),
    "date_unreadable": (
        "date of birth that is not a real date treated as missing",
        "dates of birth that are not real dates treated as missing",
    ),
    "sex_unrecognised": (
        "sex value not understood treated as missing",
        "sex values not understood treated as missing",
    ),
    "missing_marker": ("value read as missing", "values read as missing"),
}


@dataclass(frozen=True)
class Finding:
    """Records of one column whose value was read as missing, for one reason."""

    field: str  # side.column, e.g. "left.dob"
    kind: str  # date_out_of_range, date_unreadable, sex_unrecognised or missing_marker
    count: int  # records
    examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        examples = f" (e.g. {', '.join(map(repr, self.examples))})" if self.examples else ""
        return f"{self.count:,} {FINDING_TEXT[self.kind][self.count != 1]}{examples}"


@dataclass
class DataQuality:
    """What cleaning changed: values read as missing, and how each date column was read."""

    findings: list[Finding] = field(default_factory=list)
    #: side.column -> how its dates were read, e.g. "%d/%m/%Y (detected)"
    date_formats: dict[str, str] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        """Records affected by findings of one kind, over all columns."""
        return sum(f.count for f in self.findings if f.kind == kind)

    def merged(self, other: DataQuality) -> DataQuality:
        return DataQuality(
            [*self.findings, *other.findings], {**self.date_formats, **other.date_formats}
        )

    def lines(self) -> list[tuple[str, str]]:
        """(column, what happened) for a summary: date formats first, then findings."""
        formats = [(name, f"dates read as {how}") for name, how in self.date_formats.items()]
        return formats + [(f.field, str(f)) for f in self.findings]


@dataclass
class CleanTable:
    """A table cleaned for linkage (see :func:`clean_table`), with its data-quality report."""

    table: pa.Table
    roles: dict[str, str]
    side: str
    quality: DataQuality


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------

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
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Empty CSV file" in message:
            raise ConfigError(field, f"{str(path)!r} is empty (no header, no rows)") from None
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in message or "codec" in message:
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
    text = head.decode(encoding or "utf-8", errors="replace")
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
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


# --------------------------------------------------------------------------------------------
# Cleaning tables
# --------------------------------------------------------------------------------------------


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


def _distinct(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Distinct values, each record's index into them (-1 null) and records per value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    encoded = pc.dictionary_encode(values)
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    rows = np.bincount(indices[indices >= 0], minlength=len(encoded.dictionary))
    return encoded.dictionary, indices, rows


def _as_text(values: pa.Array, name: str) -> pa.Array:
    if pa.types.is_large_string(values.type):
        return values.cast(pa.string())
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        try:
            return values.cast(pa.string())
        except pa.ArrowInvalid:
            raise ConfigError(
                name,
                "holds bytes that are not UTF-8 text; decode the file with its encoding "
                "(e.g. encoding='latin-1' or cp1252)",
            ) from None
    return values.cast(pa.string())


def _missing_mask(text: pa.Array) -> np.ndarray:
    """Per (trimmed) value: null, empty or a missing marker."""
    valid = pc.is_valid(text).to_numpy(zero_copy_only=False)
    length = pc.utf8_length(text).fill_null(0).to_numpy(zero_copy_only=False)
    missing = ~valid
    # Only values as short as a marker can be one: upper-case and look up just those.
    rows = np.flatnonzero(valid & (length <= max(map(len, MISSING_MARKERS))))
    if len(rows):
        short = text.take(pa.array(rows))
        marker = pc.or_(
            pc.is_in(pc.utf8_upper(short), value_set=pa.array(("", *MISSING_MARKERS))),
            pc.is_in(short, value_set=pa.array(_NA_FORMS)),
        )
        missing[rows] = marker.to_numpy(zero_copy_only=False)
    return missing


def _marker_finding(
    name: str, text: pa.Array, missing: np.ndarray, rows: np.ndarray
) -> list[Finding]:
    words = missing & (pc.utf8_length(text).fill_null(0).to_numpy(zero_copy_only=False) > 0)
    count = int(rows[words].sum())
    if not count:
        return []
    examples = tuple(text.filter(pa.array(words)).to_pylist()[:3])
    return [Finding(name, "missing_marker", count, examples)]


def clean_text(
    values: pa.Array | pa.ChunkedArray, name: str, role: str = "forename"
) -> tuple[pa.Array, list[Finding]]:
    """Trimmed NFC text with empty values and :data:`MISSING_MARKERS` as null.

    Whole numbers (e.g. postcodes read as numbers) are kept as they are.
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.string()), []
    if pa.types.is_integer(values.type):
        return values, []
    if not (
        pa.types.is_string(values.type)
        or pa.types.is_large_string(values.type)
        or pa.types.is_binary(values.type)
        or pa.types.is_large_binary(values.type)
        or (pa.types.is_dictionary(values.type))
    ):
        raise ConfigError(name, f"a {role} column must hold text; got {values.type}")
    if pa.types.is_dictionary(values.type):
        # Clean each distinct value once and keep the records' indices.
        text = pc.utf8_normalize(pc.utf8_trim_whitespace(_as_text(values.dictionary, name)), "NFC")
        indices = values.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        rows = np.bincount(indices[indices >= 0], minlength=len(text))
        missing = _missing_mask(text)
        findings = _marker_finding(name, text, missing, rows)
        drop = (indices < 0) | missing[np.maximum(indices, 0)]
        return pa.DictionaryArray.from_arrays(pa.array(indices, mask=drop), text), findings
    # Plain text: Arrow kernels over every record. Hashing millions of distinct addresses to
    # clean each value once costs more than cleaning each record (2M addresses: 1.1 s vs 0.3 s).
    text = pc.utf8_normalize(pc.utf8_trim_whitespace(_as_text(values, name)), "NFC")
    missing = _missing_mask(text)
    words = missing & (pc.utf8_length(text).fill_null(0).to_numpy(zero_copy_only=False) > 0)
    findings = []
    if words.any():
        examples = tuple(pc.unique(text.filter(pa.array(words))).to_pylist()[:3])
        findings.append(Finding(name, "missing_marker", int(words.sum()), examples))
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text), findings


# --------------------------------------------------------------------------------------------
# Sex
# --------------------------------------------------------------------------------------------


def parse_sex(values: pa.Array | pa.ChunkedArray, name: str) -> tuple[pa.Array, list[Finding]]:
    """``M``, ``F`` or null per record from the codes in :data:`SEX_CODES` (any case).

    Values not understood are missing and counted; a column mostly of such values is refused
    with the list of codes understood.
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_null(values.type) or values.null_count == len(values):
        return pa.nulls(len(values), pa.string()), []
    if pa.types.is_floating(values.type):
        values = _whole_numbers(values, name, "sex")
    if pa.types.is_boolean(values.type):
        raise ConfigError(name, _sex_allowed("true/false"))
    distinct, indices, rows = _distinct(values)
    text = pc.utf8_upper(pc.utf8_trim_whitespace(_as_text(distinct, name)))
    missing = _missing_mask(text)
    words = text.to_pylist()  # distinct values only: a handful
    mapped = [SEX_CODES.get(w) if w is not None else None for w in words]
    unknown = np.array(
        [not m and w not in SEX_CODES for w, m in zip(words, missing, strict=True)], dtype=bool
    )
    findings = _marker_finding(name, text, missing, rows)
    bad = int(rows[unknown].sum())
    examples = tuple(distinct.filter(pa.array(unknown)).to_pylist()[:2]) if bad else ()
    present = int(rows[~missing].sum())
    if bad and bad > MOSTLY_UNREADABLE * present:
        raise ConfigError(name, _sex_allowed(" and ".join(map(repr, examples))))
    if bad:
        findings.append(Finding(name, "sex_unrecognised", bad, examples))
    codes = pa.array(mapped, pa.string())
    return pc.take(codes, pa.array(indices, mask=indices < 0)), findings


def _sex_allowed(given: str) -> str:
    return (
        f"sex values such as {given} are not understood; use M/F, Male/Female, 1/2 "
        "(ISO/IEC 5218: 1 male, 2 female) in any case, with U, Unknown, 0, 9 or X for not known"
    )


def _whole_numbers(values: pa.Array, name: str, role: str) -> pa.Array:
    """Whole-number floats (pandas' integers with a missing value) as int64."""
    finite = pc.drop_null(values).to_numpy(zero_copy_only=False)
    finite = finite[~np.isnan(finite)]
    fractional = finite[finite != np.round(finite)]
    if len(fractional):
        raise ConfigError(
            name, f"a {role} column cannot hold fractional numbers such as {fractional[0]!r}"
        )
    if (np.abs(finite) > 2**62).any():
        raise ConfigError(name, f"a {role} column holds numbers too large to be codes or dates")
    as_float = values.to_numpy(zero_copy_only=False)
    return pa.array(
        np.where(np.isnan(as_float), 0, as_float).astype(np.int64), mask=np.isnan(as_float)
    )


# --------------------------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------------------------


def parse_dates(
    values: pa.Array | pa.ChunkedArray,
    name: str,
    *,
    date_format: str | None = None,
    option: str = "date_format",
) -> tuple[pa.Array, list[Finding], str]:
    """Dates of birth as ``date32`` (null where missing), the findings and how they were read.

    Accepted without ``date_format``: date and timestamp columns; ``YYYYMMDD`` as numbers or
    text; ``YYYY-MM-DD`` (also with ``/`` or ``.``, and with a time after it); ``DD/MM/YYYY``
    or ``MM/DD/YYYY`` (also with ``-`` or ``.``) when some value settles the order, i.e. has a
    day over 12. ``date_format`` (strptime directives in :data:`DATE_DIRECTIVES`) reads every
    value with that format instead. Dates outside :data:`FIRST_YEAR`-:data:`LAST_YEAR` and
    values that are not real dates are missing and counted.
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_null(values.type) or values.null_count == len(values):
        return pa.nulls(len(values), pa.date32()), [], ""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    t = values.type
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        days = values.cast(pa.date32()) if not pa.types.is_date32(t) else values
        number = days.cast(pa.int32()).to_numpy(zero_copy_only=False)
        valid = pc.is_valid(days).to_numpy(zero_copy_only=False)
        number = np.where(valid, number, 0).astype(np.int64)
        years = number.astype("M8[D]").astype("M8[Y]").astype(np.int64) + 1970
        outside = valid & ((years < FIRST_YEAR) | (years > LAST_YEAR))
        findings = []
        if outside.any():
            examples = tuple(str(d) for d in number[outside][:2].astype("M8[D]"))
            findings.append(Finding(name, "date_out_of_range", int(outside.sum()), examples))
        return pa.array(number.astype(np.int32), pa.date32(), mask=~valid | outside), findings, ""
    if pa.types.is_floating(t):
        values = _whole_numbers(values, name, "date_of_birth")
        t = values.type
    numeric = pa.types.is_integer(t)
    if not (
        numeric or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
    ):
        raise ConfigError(
            name, f"a date_of_birth column must hold dates, text or YYYYMMDD numbers; got {t}"
        )
    distinct, indices, rows = _distinct(values)
    text = pc.utf8_trim_whitespace(_as_text(distinct, name))
    missing = _missing_mask(text)
    findings = _marker_finding(name, text, missing, rows)
    if date_format is not None:
        # Values in the given format, and any in the unambiguous YYYY-MM-DD or YYYYMMDD beside
        # them: a column mixing ISO dates with a few DD/MM ones can always be read, and one
        # format serves both tables when the other side holds ISO dates.
        ymd = _read_format(text, date_format, option)
        for pattern in (_ISO, _COMPACT):
            other = _fields(text, pattern, ("y", "m", "d"))
            use = (ymd[0] < 0) & (other[0] >= 0)
            ymd = tuple(np.where(use, o, f) for o, f in zip(other, ymd, strict=True))
        how = f"{date_format} (given)"
    else:
        ymd, how = _detect(text, missing, rows, name, option, numeric)
    days, real = _days(*ymd)
    year = ymd[0]
    in_range = real & (year >= FIRST_YEAR) & (year <= LAST_YEAR)
    unreadable = ~missing & ~real
    outside = real & ~in_range & ~missing
    present = int(rows[~missing].sum())
    bad = int(rows[unreadable].sum())
    examples = tuple(text.filter(pa.array(unreadable)).to_pylist()[:2])
    if bad and bad > MOSTLY_UNREADABLE * present:
        given = " and ".join(map(repr, examples))
        if date_format is not None:
            raise ConfigError(
                name,
                f"{bad:,} of {present:,} dates do not match {option} {date_format!r} "
                f"(e.g. {given}); give the format the column uses",
            )
        raise ConfigError(
            name,
            f"{bad:,} of {present:,} values are not dates this reader knows (e.g. {given}); "
            f"give the format with {option}, e.g. '%d %b %Y'",
        )
    if outside.any():
        out_examples = tuple(text.filter(pa.array(outside)).to_pylist()[:2])
        findings.append(Finding(name, "date_out_of_range", int(rows[outside].sum()), out_examples))
    if bad:
        findings.append(Finding(name, "date_unreadable", bad, examples))
    keep = in_range & ~missing
    record_ok = (indices >= 0) & keep[np.maximum(indices, 0)]
    per_record = np.where(record_ok, days[np.maximum(indices, 0)], 0).astype(np.int32)
    return pa.array(per_record, pa.date32(), mask=~record_ok), findings, how


def _fields(text: pa.Array, pattern: str, names: tuple[str, ...]) -> list[np.ndarray]:
    """Integer fields of a regex match per value; -1 where the value does not match."""
    found = pc.extract_regex(text, pattern)
    matched = found.is_valid().to_numpy(zero_copy_only=False)
    out = []
    for part in names:
        digits = pc.if_else(found.is_valid(), found.field(part), pa.scalar(None, pa.string()))
        number = pc.cast(pc.if_else(pc.equal(digits, ""), None, digits), pa.int64())
        out.append(np.where(matched, number.fill_null(-1).to_numpy(zero_copy_only=False), -1))
    return out


def _detect(
    text: pa.Array,
    missing: np.ndarray,
    rows: np.ndarray,
    name: str,
    option: str,
    numeric: bool,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], str]:
    """Year, month, day per distinct value from the unambiguous forms, and how it was read."""
    y, m, d = _fields(text, _COMPACT, ("y", "m", "d"))
    if numeric:
        return (y, m, d), "YYYYMMDD numbers"
    iso = _fields(text, _ISO, ("y", "m", "d"))
    take = iso[0] >= 0
    y, m, d = (np.where(take, a, b) for a, b in zip(iso, (y, m, d), strict=True))
    a, b, year = _fields(text, _DAY_MONTH, ("a", "b", "y"))
    has_ab = year >= 0
    forms = []
    if (take & ~missing).any():
        forms.append("YYYY-MM-DD")
    if (~take & (y >= 0) & ~missing).any():
        forms.append("YYYYMMDD")
    if has_ab.any():
        _, dmy_real = _days(year, b, a)
        _, mdy_real = _days(year, a, b)
        only_dmy = int(rows[has_ab & dmy_real & ~mdy_real].sum())
        only_mdy = int(rows[has_ab & mdy_real & ~dmy_real].sum())
        differ = has_ab & (a != b) & dmy_real & mdy_real
        if only_dmy == only_mdy and (only_dmy or differ.any()):
            examples = text.filter(pa.array(differ if differ.any() else has_ab)).to_pylist()[:2]
            sep = _separator(examples[0])
            raise ConfigError(
                name,
                f"dates such as {' and '.join(map(repr, examples))} could be DD{sep}MM{sep}YYYY "
                f"or MM{sep}DD{sep}YYYY; give the format with {option} "
                f"'%d{sep}%m{sep}%Y' or '%m{sep}%d{sep}%Y'",
            )
        day_first = only_dmy >= only_mdy
        first, second = (b, a) if day_first else (a, b)
        y, m, d = (
            np.where(has_ab, p, q) for p, q in zip((year, first, second), (y, m, d), strict=True)
        )
        sep = _separator(text.filter(pa.array(has_ab))[0].as_py())
        forms.append(f"DD{sep}MM{sep}YYYY" if day_first else f"MM{sep}DD{sep}YYYY")
    unmatched = ~missing & (y < 0)
    if unmatched.any():
        two_digit = pc.match_substring_regex(text, _TWO_DIGIT_YEAR).fill_null(False)
        two = int(rows[two_digit.to_numpy(zero_copy_only=False) & unmatched].sum())
        if two > MOSTLY_UNREADABLE * int(rows[~missing].sum()):
            example = text.filter(two_digit)[0].as_py()
            sep = _separator(example)
            raise ConfigError(
                name,
                f"dates such as {example!r} have two-digit years, which could fall in either "
                f"century; give the format with {option}, e.g. '%d{sep}%m{sep}%y' (strptime's rule: "
                "00-68 are 2000-2068, 69-99 are 1969-1999)",
            )
    return (y, m, d), " and ".join(forms) + " (detected)" if forms else "(no dates)"


def _separator(example: str) -> str:
    return next((c for c in example if c in "-/."), "/")


def _read_format(
    text: pa.Array, date_format: str, option: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day per value read with a strptime format; -1 where it does not match."""
    pattern, groups = _format_regex(date_format, option)
    found = pc.extract_regex(text, pattern)
    matched = found.is_valid().to_numpy(zero_copy_only=False)
    n = len(text)

    def part(group: str) -> pa.Array:
        return pc.if_else(found.is_valid(), found.field(group), pa.scalar(None, pa.string()))

    def number(group: str) -> np.ndarray:
        return pc.cast(part(group), pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)

    year = number("y") if "y" in groups else np.full(n, -1)
    if "yy" in groups:  # strptime's rule for two-digit years
        yy = number("yy")
        year = np.where(yy < 0, -1, np.where(yy <= 68, 2000 + yy, 1900 + yy))
    if "m" in groups:
        month = number("m")
    else:
        words = pc.utf8_lower(part("mon")).to_pylist()  # distinct values: few
        month = np.array([_month(w, "B" in groups) for w in words], dtype=np.int64)
    day = number("d")
    ok = matched & (year >= 0) & (month >= 0) & (day >= 0)
    return np.where(ok, year, -1), np.where(ok, month, -1), np.where(ok, day, -1)


def _month(word: str | None, full: bool) -> int:
    if not word:
        return -1
    if full:
        return next((i + 1 for i, m in enumerate(_MONTH_NAMES) if m == word), -1)
    return _MONTHS.index(word) + 1 if word in _MONTHS else -1


_LITERAL = re.compile(r"[.^$*+?()\[\]{}|\\]")


def _format_regex(date_format: str, option: str) -> tuple[str, set[str]]:
    """An RE2 pattern for a strptime format with named groups y/yy, m or mon, d."""
    pieces, groups, i = ["^"], set(), 0
    directive_patterns = {
        "Y": ("y", r"(?P<y>\d{4})"),
        "y": ("yy", r"(?P<yy>\d{2})"),
        "m": ("m", r"(?P<m>\d{1,2})"),
        "d": ("d", r"(?P<d>\d{1,2})"),
        "b": ("mon", r"(?P<mon>[A-Za-z]{3})"),
        "B": ("mon", r"(?P<mon>[A-Za-z]+)"),
        "H": ("", r"\d{1,2}"),
        "I": ("", r"\d{1,2}"),
        "M": ("", r"\d{1,2}"),
        "S": ("", r"\d{1,2}"),
        "f": ("", r"\d{1,9}"),
        "p": ("", r"(?:AM|PM|am|pm)"),
        "z": ("", r"(?:Z|[+-]\d{2}:?\d{2})"),
        "%": ("", "%"),
    }
    while i < len(date_format):
        c = date_format[i]
        if c == "%":
            code = date_format[i + 1 : i + 2]
            if code not in directive_patterns:
                raise ConfigError(
                    option,
                    f"{date_format!r}: %{code} is not supported; use strptime directives "
                    f"{', '.join(DATE_DIRECTIVES)}",
                )
            group, regex = directive_patterns[code]
            if group:
                if group in groups or (group in ("y", "yy") and groups & {"y", "yy"}):
                    raise ConfigError(option, f"{date_format!r} gives %{code} twice")
                groups.add(group)
                if code == "B":
                    groups.add("B")
            pieces.append(regex)
            i += 2
        elif c.isspace():
            pieces.append(r"\s+")
            i += 1
        else:
            pieces.append("\\" + c if _LITERAL.match(c) else c)
            i += 1
    missing = [
        need
        for need, have in (("%Y or %y", {"y", "yy"}), ("%m, %b or %B", {"m", "mon"}), ("%d", {"d"}))
        if not groups & have
    ]
    if missing:
        raise ConfigError(option, f"{date_format!r} needs {' and '.join(missing)}")
    return "".join(pieces) + "$", groups


def _days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 and whether (year, month, day) is a real date (no 30 February)."""
    shape = (year >= 0) & (year <= 9999) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    y = np.where(shape, year, 1970)
    m = np.where(shape, month, 1)
    start = ((y - 1970) * 12 + (m - 1)).astype("M8[M]")
    first_day = start.astype("M8[D]").astype(np.int64)
    length = (start + 1).astype("M8[D]").astype(np.int64) - first_day
    real = shape & (day <= length)
    return np.where(real, first_day + day - 1, 0), real
