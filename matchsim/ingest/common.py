"""What the cleaning steps share: missing markers, the data-quality report and helpers over
a column's distinct values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError

#: Years a date of birth may fall in: the span of matchsim's calendar tables
#: (matchsim.dates). A date outside it is a typo in a birth date, read as missing.
FIRST_YEAR, LAST_YEAR = 1800, 2199

#: Values read as missing in any mapped column, compared after trimming and upper-casing.
#: "NA" is missing only as "NA" or "na": "Na" is a surname (Korean 나, Chinese 那).
MISSING_MARKERS = ("NULL", "N/A", "NONE", "NAN", "NAT", "#N/A", "-", "--", "?", ".")
NA_FORMS = ("NA", "na")

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


def distinct_values(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Distinct values, each record's index into them (-1 null) and records per value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    encoded = pc.dictionary_encode(values)
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    rows = np.bincount(indices[indices >= 0], minlength=len(encoded.dictionary))
    return encoded.dictionary, indices, rows


def as_text(values: pa.Array, name: str) -> pa.Array:
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


def missing_mask(text: pa.Array) -> np.ndarray:
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
            pc.is_in(short, value_set=pa.array(NA_FORMS)),
        )
        missing[rows] = marker.to_numpy(zero_copy_only=False)
    return missing


def marker_findings(
    name: str, text: pa.Array, missing: np.ndarray, rows: np.ndarray
) -> list[Finding]:
    words = missing & (pc.utf8_length(text).fill_null(0).to_numpy(zero_copy_only=False) > 0)
    count = int(rows[words].sum())
    if not count:
        return []
    examples = tuple(text.filter(pa.array(words)).to_pylist()[:3])
    return [Finding(name, "missing_marker", count, examples)]


def whole_numbers(values: pa.Array, name: str, role: str) -> pa.Array:
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
