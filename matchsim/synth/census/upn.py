"""Unique Pupil Numbers: check letter, LA, establishment, year of entry and serial, written
straight into Arrow string buffers; and the (reception school, entry year) keys that serials
are numbered within."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# UPN alphabet (DfE "Unique Pupil Numbers" guidance; the same as stdnum.gb.upn): the check
# letter is one of its first 23 letters, indexed by the weighted sum of characters 2-13.
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"
_UPN_LETTERS = np.frombuffer(UPN_ALPHABET[:23].encode(), dtype=np.uint8)


def _digit_table(width: int) -> np.ndarray:
    """ASCII digits of 0 .. 10**width - 1, zero padded: shape (10**width, width)."""
    values = np.arange(10**width)
    return np.stack([(values // 10 ** (width - 1 - k)) % 10 for k in range(width)], axis=1) + ord(
        "0"
    )


_DIGITS = {w: _digit_table(w).astype(np.uint8) for w in (2, 3, 4)}


def _weighted(width: int, first_weight: int) -> np.ndarray:
    """Check-sum contribution of every value of a digit field starting at ``first_weight``.

    Digits sit after the 23 check letters in the UPN alphabet, so digit d has index 23 + d,
    which is d modulo 23.
    """
    digits = _DIGITS[width].astype(np.int64) - ord("0")
    return (digits * np.arange(first_weight, first_weight + width)).sum(axis=1)


_CHECK_LA, _CHECK_ESTAB, _CHECK_YEAR, _CHECK_SERIAL = (
    _weighted(3, 2),
    _weighted(4, 5),
    _weighted(2, 9),
    _weighted(3, 11),
)


def _packed_digits(width: int) -> np.ndarray:
    """ASCII digits of 0 .. 10**width - 1 packed little-endian in a uint64 (first digit lowest)."""
    digits = _DIGITS[width].astype(np.uint64)
    return (
        (digits << (np.arange(width, dtype=np.uint64) * np.uint64(8))).sum(axis=1).astype(np.uint64)
    )


_PACKED = {w: _packed_digits(w) for w in (2, 3, 4)}
_UPN_CHECK_LETTERS = _UPN_LETTERS.astype(np.uint64)


def _permanent_upns(
    la: np.ndarray, estab: np.ndarray, year: np.ndarray, serial: np.ndarray
) -> pa.Array:
    """:func:`make_upns` when every serial is at most 999: each UPN's 13 bytes are written as
    two 64-bit words from packed digit tables (1-D gathers, not row copies)."""
    n = len(la)
    check = _CHECK_LA[la] + _CHECK_ESTAB[estab] + _CHECK_YEAR[year] + _CHECK_SERIAL[serial]
    words = np.empty((n, 2), dtype=np.uint64)
    words[:, 0] = (
        _UPN_CHECK_LETTERS[check % 23]
        | (_PACKED[3][la] << np.uint64(8))
        | (_PACKED[4][estab] << np.uint64(32))
    )
    words[:, 1] = _PACKED[2][year] | (_PACKED[3][serial] << np.uint64(16))
    chars = words.astype("<u8", copy=False).view(np.uint8).reshape(n, 16)[:, :13]
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    offsets = pa.py_buffer(np.arange(0, 13 * (n + 1), 13, dtype=np.int32).tobytes())
    return pa.StringArray.from_buffers(n, offsets, data)


def make_upns(la: np.ndarray, estab: np.ndarray, year: np.ndarray, serial: np.ndarray) -> pa.Array:
    """Vectorised UPNs: check letter, LA (3), establishment (4), year (2), serial (3).

    Serials past 999 in one school and year become temporary UPNs (two digits and a final
    letter), as DfE allows when a permanent number cannot be issued.
    """
    n = len(la)
    if (serial <= 999).all():
        return _permanent_upns(la, estab, year, serial)
    chars = np.empty((n, 13), dtype=np.uint8)
    chars[:, 1:4] = _DIGITS[3][la]
    chars[:, 4:8] = _DIGITS[4][estab]
    chars[:, 8:10] = _DIGITS[2][year]
    check = _CHECK_LA[la] + _CHECK_ESTAB[estab] + _CHECK_YEAR[year]
    permanent = serial <= 999
    if permanent.all():
        chars[:, 10:13] = _DIGITS[3][serial]
        check = check + _CHECK_SERIAL[serial]
    else:
        temp = np.where(permanent, 0, serial - 1000)
        if (temp >= 100 * 23).any():
            raise ValueError(
                "more than 3,299 pupils in one school intake: too few schools for this size"
            )
        two = _DIGITS[2][temp // 23]
        letter = temp % 23
        chars[:, 10:13] = np.where(
            permanent[:, None],
            _DIGITS[3][np.minimum(serial, 999)],
            np.concatenate([two, _UPN_LETTERS[letter][:, None]], axis=1),
        )
        temp_check = (two.astype(np.int64) - ord("0")) @ np.array([11, 12]) + 13 * letter
        check = check + np.where(permanent, _CHECK_SERIAL[np.minimum(serial, 999)], temp_check)
    chars[:, 0] = _UPN_LETTERS[check % 23]
    data = pa.py_buffer(chars.tobytes())
    offsets = pa.py_buffer(np.arange(0, 13 * (n + 1), 13, dtype=np.int32).tobytes())
    return pa.StringArray.from_buffers(n, offsets, data)


#: Calendar years per school in a serial key: ``school * SERIAL_KEY_YEARS + year``.
SERIAL_KEY_YEARS = 10_000


def serial_keys(first_school: np.ndarray, entry_year: np.ndarray) -> np.ndarray:
    """One integer per (reception school, calendar year of entry)."""
    return first_school.astype(np.int64) * SERIAL_KEY_YEARS + entry_year
