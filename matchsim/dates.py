"""Dates as ``int64`` day numbers since 1970-01-01, and their calendar split.

Every stage handles dates as day numbers so that each step is a numpy vector operation; this
module converts to and from them. It sits below the engine and the generator alike.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = np.datetime64("1970-01-01", "D")


def to_days(dates: np.ndarray) -> np.ndarray:
    """``datetime64`` -> int64 days since 1970-01-01."""
    return (dates.astype("datetime64[D]") - EPOCH).astype(np.int64)


def date_to_days(value: dt.date) -> int:
    return int((np.datetime64(value, "D") - EPOCH).astype(np.int64))


# Calendar lookup tables over 1800-2200: splitting day numbers into year, month and day by
# indexing is many times faster than numpy's datetime64 conversions. Day number ``d`` is at
# position ``d - TABLE_START``.
TABLE_START = int((np.datetime64("1800-01-01") - EPOCH).astype(np.int64))
_TABLE_DAYS = np.arange(np.datetime64("1800-01-01"), np.datetime64("2200-01-01"))
TABLE_YEAR = (_TABLE_DAYS.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int16)
TABLE_MONTH = (_TABLE_DAYS.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int8)
TABLE_MDAY = ((_TABLE_DAYS - _TABLE_DAYS.astype("datetime64[M]")).astype(np.int64) + 1).astype(
    np.int8
)


def year_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised calendar split of day numbers (1800-2199)."""
    i = np.asarray(days, dtype=np.int64) - TABLE_START
    if i.size and (i.min() < 0 or i.max() >= len(TABLE_YEAR)):
        raise ValueError("dates must fall between 1800 and 2199")
    return (
        TABLE_YEAR[i].astype(np.int64),
        TABLE_MONTH[i].astype(np.int64),
        TABLE_MDAY[i].astype(np.int64),
    )
