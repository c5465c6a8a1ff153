"""Normalising values: names, addresses, dates and sex as the linkage compares them."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.records.roles import MISSING, MISSING_DATE, NAME_ROLES

ADDRESS_ABBREVIATIONS = {
    "RD": "ROAD",
    "ST": "STREET",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "LN": "LANE",
    "DR": "DRIVE",
    "CL": "CLOSE",
    "CRES": "CRESCENT",
    "GDNS": "GARDENS",
    "PL": "PLACE",
    "CT": "COURT",
    "TERR": "TERRACE",
    "TER": "TERRACE",
    "SQ": "SQUARE",
    "GR": "GROVE",
    "PK": "PARK",
}


_UNDECOMPOSABLE = str.maketrans({"Ł": "L", "Ø": "O", "Đ": "D", "Æ": "AE", "Œ": "OE", "Þ": "TH"})


def normalise_name(value: str) -> str:
    """Upper case, accents stripped, letters only, single spaces (hyphens become spaces)."""
    decomposed = unicodedata.normalize("NFKD", value.upper())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(
        _UNDECOMPOSABLE
    )
    return " ".join(re.sub(r"[^A-Z ]+", " ", letters.replace("-", " ")).split())


# Letters that NFKD does not split into a base letter and an accent.
_LETTER_REPLACEMENTS = {
    "Ł": "L",
    "Ø": "O",
    "Đ": "D",
    "ß": "SS",
    "ẞ": "SS",
    "Æ": "AE",
    "Œ": "OE",
    "Þ": "TH",
}


def normalise_names(values: pa.Array) -> pa.Array:
    """:func:`normalise_name` for a whole array, in Arrow (no Python loop)."""
    text = normalise_names_letters(values)
    text = pc.replace_substring_regex(text, r"[^A-Z]+", " ")
    return pc.utf8_trim_whitespace(text)


def normalise_names_letters(values: pa.Array) -> pa.Array:
    """Upper case with accents stripped and letters NFKD cannot split spelled out."""
    text = pc.utf8_normalize(pc.utf8_upper(values), "NFKD")
    text = pc.replace_substring_regex(text, r"\p{Mn}+", "")
    for src, dst in _LETTER_REPLACEMENTS.items():
        text = pc.replace_substring(text, src, dst)
    return text


def normalised_strings(
    col: pa.ChunkedArray | pa.Array, role: str, *, distinct: bool = False
) -> tuple[pa.Array, np.ndarray]:
    """Distinct normalised values and, per record, the index of its value (-1 missing).

    ``distinct``: ``col`` is one dictionary array whose dictionary holds each value once (as
    :func:`matchsim.records.roles.objects_as_dictionary` makes it), so where normalising
    changes nothing its codes stand without hashing the values again."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if pa.types.is_dictionary(col.type) and not shares_one_dictionary(chunks):
        if sum(len(c.dictionary) for c in chunks) > len(col) // 2:
            # Many row groups' dictionaries of millions of distinct values: unifying them
            # would hash more strings than the rows hold.
            col = col.cast(col.type.value_type)
        else:
            chunks = col.unify_dictionaries().chunks
    if pa.types.is_dictionary(col.type):
        # Already encoded (a matchsim register's names, a census file's dictionary pages):
        # keep its codes, on one dictionary, rather than decode and hash millions of strings.
        if chunks:
            indices = pa.concat_arrays([c.indices.cast(pa.int64()) for c in chunks])
            encoded = pa.DictionaryArray.from_arrays(
                indices, chunks[0].dictionary.cast(pa.string())
            )
        else:
            encoded = pc.dictionary_encode(pa.array([], pa.string()))
    else:
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_integer(col.type):
            col = col.cast(pa.string())
        encoded = pc.dictionary_encode(col)
    raw = encoded.dictionary
    if role in NAME_ROLES:
        norm = normalise_name_values(raw)
    elif role == "postcode":
        # Already upper-case letters and digits (a clean file): nothing to replace.
        clean = _bytes_within(raw, _POSTCODE_BYTES)
        if clean:
            norm = raw
        else:
            from matchsim.records.kernels import squeeze_to_letters_and_digits  # numba: on use

            norm = squeeze_to_letters_and_digits(pc.utf8_upper(raw), gap="")
    else:
        norm = normalise_addresses(raw)
    # A dictionary given with the column may repeat a value; one Arrow built holds each once.
    one_dictionary = isinstance(col, pa.Array) or len(chunks) == 1
    encoded_here = not pa.types.is_dictionary(col.type)
    if (encoded_here or (distinct and one_dictionary)) and _unchanged(norm, raw):  # codes stand
        values, remap = raw, np.arange(len(raw), dtype=np.int64)
    else:
        # Normalising can merge values ("Smith" and "SMITH"): re-encode so values stay distinct.
        merged = pc.dictionary_encode(norm)
        values = merged.dictionary
        remap = merged.indices.fill_null(MISSING).to_numpy(zero_copy_only=False).astype(np.int64)
    if not len(values):  # every value missing (possible among a few chosen rows)
        return values, np.full(len(encoded), MISSING, dtype=np.int64)
    # Each raw value's code (MISSING for one that normalises to nothing), then one gather over
    # the records: the per-value work is done on the dictionary (the record-sized temporaries
    # of the obvious numpy cost 0.8 s on 9 million addresses).
    empty = pc.equal(values, "").fill_null(True).to_numpy(zero_copy_only=False)
    code_of = remap.copy()
    code_of[(code_of >= 0) & empty[np.maximum(code_of, 0)]] = MISSING
    return values, per_record(code_of, encoded.indices, MISSING)


def shares_one_dictionary(chunks: list[pa.DictionaryArray]) -> bool:
    """Whether every chunk holds the very same dictionary, in memory (the batches of one
    Parquet row group, or a table built on one vocabulary): then its codes stand as they are.
    Buffers are compared by address, never read."""
    if len(chunks) < 2:
        return True

    def where(array: pa.Array) -> list[tuple[int, int] | None]:
        return [None if b is None else (b.address, b.size) for b in array.buffers()]

    first = where(chunks[0].dictionary)
    return all(
        c.dictionary.offset == chunks[0].dictionary.offset
        and len(c.dictionary) == len(chunks[0].dictionary)
        and where(c.dictionary) == first
        for c in chunks[1:]
    )


#: The bytes a normalised postcode holds: upper-case ASCII letters and digits.
_POSTCODE_BYTES = np.zeros(256, dtype=np.bool_)
_POSTCODE_BYTES[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)] = True


#: The bytes a normalised name holds: upper-case ASCII letters and single inner spaces.
_NAME_BYTES = np.zeros(256, dtype=np.bool_)
_NAME_BYTES[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ ", dtype=np.uint8)] = True


def _already_normal_names(values: pa.Array) -> bool:
    """Whether every value is what :func:`normalise_name` makes of it: upper-case letters
    and single spaces, none at either end (no nulls). Checking the bytes costs a fraction of
    normalising (Unicode decomposition and a dozen passes over the text)."""
    return _bytes_within(values, _NAME_BYTES, spaced=True)


def _bytes_within(values: pa.Array, allowed: np.ndarray, *, spaced: bool = False) -> bool:
    """Whether every byte of every value (a string array with no nulls) is ``allowed`` (and
    with ``spaced``, no value starts or ends with a space or holds two in a row)."""
    if not pa.types.is_string(values.type) or values.null_count:
        return False
    if not len(values):
        return True
    from matchsim.records.kernels import bytes_within  # numba: on use

    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    data = values.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return True
    return bool(bytes_within(offsets, np.frombuffer(data, dtype=np.uint8), allowed, spaced))


def _unchanged(norm: pa.Array, raw: pa.Array) -> bool:
    """Whether normalising left every value as it was (no nulls on either side)."""
    if norm is raw:
        return True
    if norm.null_count or raw.null_count or len(norm) != len(raw):
        return False
    return bool(pc.all(pc.equal(norm, raw)).as_py() is not False)


def normalise_name_values(raw: pa.Array) -> pa.Array:
    """:func:`normalise_name` of each value: ASCII values in Arrow (where the two agree by
    construction), the others (few) in Python. A national register has about 600,000 distinct
    middle names. Values already in normal form (a clean file's) come back as they are."""
    if _already_normal_names(raw):
        return raw
    norm = normalise_names(raw)
    other = np.flatnonzero(~pc.string_is_ascii(raw).fill_null(True).to_numpy(zero_copy_only=False))
    if not len(other):
        return norm
    fixed = pa.array(
        [normalise_name(v) for v in raw.take(pa.array(other)).to_pylist()], pa.string()
    )
    position = np.arange(len(raw), dtype=np.int64)
    position[other] = len(raw) + np.arange(len(other))
    return pa.concat_arrays([norm, fixed]).take(pa.array(position))


_ABBREVIATION_PATTERN = r"\b(" + "|".join(ADDRESS_ABBREVIATIONS) + r")\b"


def normalise_addresses(raw: pa.Array) -> pa.Array:
    """Upper case, accents stripped, punctuation to spaces, street-type abbreviations expanded,
    single spaces."""
    text = pc.utf8_upper(raw)
    # Accented letters become their base letters ("Église" = "EGLISE"), as in names, rather
    # than spaces; only values with a non-ASCII character pay for it.
    accented = pc.invert(pc.string_is_ascii(text)).fill_null(False)
    if pc.any(accented).as_py():
        text = pc.replace_with_mask(text, accented, normalise_names_letters(text.filter(accented)))
    from matchsim.records.kernels import squeeze_to_letters_and_digits  # numba: on use

    text = squeeze_to_letters_and_digits(text)  # [^A-Z0-9]+ to one space, none at the ends
    # Expanding abbreviations takes one pass per form: run it only on values that have one.
    has = pc.match_substring_regex(text, _ABBREVIATION_PATTERN).fill_null(False)
    if pc.any(has).as_py():
        rows = np.flatnonzero(has.to_numpy(zero_copy_only=False))
        subset = text.take(pa.array(rows))
        for short, long in ADDRESS_ABBREVIATIONS.items():
            subset = pc.replace_substring_regex(subset, rf"\b{short}\b", long)
        # Put the expanded values back in place, in Arrow (millions of distinct addresses in
        # a national register: no Python string per value).
        position = np.arange(len(text), dtype=np.int64)
        position[rows] = len(text) + np.arange(len(rows))
        text = pa.concat_arrays([text, subset]).take(pa.array(position))
    return pc.utf8_trim_whitespace(text)


def parse_dates(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = pc.utf8_trim_whitespace(col)
        col = pc.strptime(pc.if_else(pc.equal(text, ""), None, text), format="%Y-%m-%d", unit="s")
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.date32())
    days = (
        col.cast(pa.int32()).cast(pa.int64()).fill_null(MISSING_DATE).to_numpy(zero_copy_only=False)
    )
    return days.astype(np.int64)


def parse_sex(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """0 for a value starting with M or m, 1 for F or f, MISSING otherwise (int8). Parsed
    once per distinct value: a column holds a handful of them, a register millions of rows."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    encoded = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
    text = pc.utf8_upper(encoded.dictionary.cast(pa.string()))
    first = pc.utf8_slice_codeunits(text, 0, 1).to_numpy(zero_copy_only=False)
    code_of = np.where(first == "M", 0, np.where(first == "F", 1, MISSING)).astype(np.int8)
    return per_record(code_of, encoded.indices, MISSING)


def per_record(per_value: np.ndarray, indices: pa.Array, null: int) -> np.ndarray:
    """``per_value[indices]``, with ``null`` where an index is null: one gather over the
    records, the null taking an entry appended after the values."""
    table = np.append(per_value, np.array(null, dtype=per_value.dtype))
    if indices.null_count:
        indices = indices.fill_null(len(per_value))
    return table[indices.to_numpy(zero_copy_only=False)]
