"""Dates of birth as files hold them: dates, ``YYYYMMDD`` numbers, ISO, DD/MM or MM/DD text,
or any strptime format given."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError
from matchsim.ingest.common import (
    FIRST_YEAR,
    LAST_YEAR,
    MOSTLY_UNREADABLE,
    Finding,
    as_text,
    distinct_values,
    marker_findings,
    missing_mask,
    whole_numbers,
)

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
        values = whole_numbers(values, name, "date_of_birth")
        t = values.type
    numeric = pa.types.is_integer(t)
    if not (
        numeric or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
    ):
        raise ConfigError(
            name, f"a date_of_birth column must hold dates, text or YYYYMMDD numbers; got {t}"
        )
    distinct, indices, rows = distinct_values(values)
    text = pc.utf8_trim_whitespace(as_text(distinct, name))
    missing = missing_mask(text)
    findings = marker_findings(name, text, missing, rows)
    if date_format is not None:
        # Values in the given format, and any in the unambiguous YYYY-MM-DD or YYYYMMDD beside
        # them: a column mixing ISO dates with a few DD/MM ones can always be read, and one
        # format serves both tables when the other side holds ISO dates.
        ymd = _read_format(text, date_format, option)
        for pattern in (_ISO, _COMPACT):
            other = _fields(text, pattern, ("y", "m", "d"))
            use = (ymd[0] < 0) & (other[0] >= 0)
            y, m, d = (np.where(use, o, f) for o, f in zip(other, ymd, strict=True))
            ymd = (y, m, d)
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
    pieces, i = ["^"], 0
    groups: set[str] = set()
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
