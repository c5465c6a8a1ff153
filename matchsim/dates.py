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


def year_month_day(
    days: np.ndarray, missing: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised calendar split of day numbers (1800-2199) into int64 arrays. With
    ``missing=(day, marker)``, the day number ``day`` stands for an unknown date, and its
    year, month and day are ``marker``."""
    i = np.asarray(days, dtype=np.int64) - TABLE_START
    tables = _TABLES_INT64
    if missing is not None:
        # The unknown date indexes one entry past the calendar, which holds the marker.
        i = np.where(i == missing[0] - TABLE_START, len(TABLE_YEAR), i)
        tables = tuple(np.append(t, np.int64(missing[1])) for t in tables)
        if i.size and (i.min() < 0 or i.max() > len(TABLE_YEAR)):
            raise ValueError("dates must fall between 1800 and 2199")
    elif i.size and (i.min() < 0 or i.max() >= len(TABLE_YEAR)):
        raise ValueError("dates must fall between 1800 and 2199")
    year, month, mday = tables
    return year[i], month[i], mday[i]


#: The tables as int64, so that a split is one gather per part, not a gather and a widening.
_TABLES_INT64 = tuple(t.astype(np.int64) for t in (TABLE_YEAR, TABLE_MONTH, TABLE_MDAY))
