"""Date-of-birth comparison: exact, day and month swapped, one digit, month, year, within N days."""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np

from matchsim import dates as cal
from matchsim.comparison.base import Comparison, comparison
from matchsim.errors import ConfigError
from matchsim.records import MISSING_DATE, LinkageData


@comparison("date_of_birth")
class DateOfBirthComparison(Comparison):
    """Exact, day and month swapped, one digit different (DD/MM/YYYY), same month and year,
    same year, and within a number of days (``days``).

    Parameters
    ----------
    days
        The widest gap, in days, of the last level (1 or more).
    """

    def __init__(
        self, role: str = "date_of_birth", *, name: str | None = None, days: int = 365
    ) -> None:
        super().__init__(role, name or "date_of_birth")
        if not isinstance(days, int) or days < 1:
            raise ConfigError(
                f"comparison.{self.name}.days", f"{days!r} must be a whole number >= 1"
            )
        self.days = days
        self.levels = (
            "exact",
            "day_month_swap",
            "one_digit",
            "same_month_year",
            "same_year",
            f"within_{days}_days",
        )

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
        if kernels is not None:
            levels, inside = kernels.date_of_birth_levels(
                data.left.dob,
                left,
                kernels.gather_values(data.right.dob, right),
                MISSING_DATE,
                cal.TABLE_START,
                _calendar_words(),
                self.days,
            )
            if inside:
                return levels
            # A date outside the calendar table: the numpy path raises the calendar's error.
        a, b = data.left.dob[left], data.right.dob[right]
        level = np.full(len(a), self.n_levels - 1, dtype=np.int8)
        missing = (a == MISSING_DATE) | (b == MISSING_DATE)
        exact = a == b
        level[exact] = 1
        # The other rules only for the pairs that differ, strongest first.
        todo = np.flatnonzero(~exact & ~missing)
        if len(todo):
            da, db = a[todo], b[todo]
            ya, ma, dya = cal.year_month_day(da)
            yb, mb, dyb = cal.year_month_day(db)
            rules = [
                lambda i: (dya[i] == mb[i]) & (ma[i] == dyb[i]) & (ya[i] == yb[i]),
                lambda i: _digits_differing(ya[i], ma[i], dya[i], yb[i], mb[i], dyb[i]) == 1,
                lambda i: (ya[i] == yb[i]) & (ma[i] == mb[i]),
                lambda i: ya[i] == yb[i],
                lambda i: np.abs(da[i] - db[i]) <= self.days,
            ]
            open_ = np.arange(len(todo))
            for pos, rule in enumerate(rules, start=2):
                if not len(open_):
                    break
                hit = rule(open_)
                level[todo[open_[hit]]] = pos
                open_ = open_[~hit]
        level[missing] = 0
        return level


#: Differing decimal digits of every pair of numbers below 100.
_TWO_DIGITS = np.arange(100)
_DIGIT_DIFF = ((_TWO_DIGITS[:, None] % 10) != (_TWO_DIGITS[None, :] % 10)).astype(np.int64) + (
    (_TWO_DIGITS[:, None] // 10) != (_TWO_DIGITS[None, :] // 10)
)


@functools.cache
def _calendar_words() -> np.ndarray:
    """The calendar table as the date kernel reads it, one word per day: its DDMMYYYY digits
    (4 bits each) in bits 0-31, then day, month and year from bits 32, 40 and 48."""
    year = cal.TABLE_YEAR.astype(np.int64)
    month = cal.TABLE_MONTH.astype(np.int64)
    day = cal.TABLE_MDAY.astype(np.int64)
    digits = (
        *(day // 10, day % 10, month // 10, month % 10),
        *(year // 1000 % 10, year // 100 % 10, year // 10 % 10, year % 10),
    )
    words = (day << 32) | (month << 40) | (year << 48)
    for place, digit in enumerate(digits):
        words |= digit << (4 * place)
    return words


def _digits_differing(
    ya: np.ndarray, ma: np.ndarray, da: np.ndarray, yb: np.ndarray, mb: np.ndarray, db: np.ndarray
) -> np.ndarray:
    """Number of differing digits between two dates written DDMMYYYY (by table: two digits at
    a time)."""
    return (
        _DIGIT_DIFF[da, db]
        + _DIGIT_DIFF[ma, mb]
        + _DIGIT_DIFF[ya % 100, yb % 100]
        + _DIGIT_DIFF[ya // 100 % 100, yb // 100 % 100]
    )
