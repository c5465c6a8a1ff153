"""Day numbers and their calendar split (matchsim.dates) against Python's own calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.dates import TABLE_START, date_to_days, to_days, year_month_day

calendar_dates = st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2199, 12, 31))


@given(st.lists(calendar_dates, min_size=1, max_size=20))
def test_day_numbers_split_into_their_year_month_and_day(dates):
    days = np.array([date_to_days(d) for d in dates])
    np.testing.assert_array_equal(days, to_days(np.array(dates, dtype="datetime64[D]")))
    years, months, mdays = year_month_day(days)
    split = zip(years, months, mdays, strict=True)
    assert [dt.date(int(y), int(m), int(d)) for y, m, d in split] == dates


def test_the_table_starts_on_1_january_1800_and_refuses_dates_outside_it():
    assert date_to_days(dt.date(1800, 1, 1)) == TABLE_START
    assert date_to_days(dt.date(1970, 1, 1)) == 0
    for outside in (dt.date(1799, 12, 31), dt.date(2200, 1, 1)):
        with pytest.raises(ValueError, match="1800 and 2199"):
            year_month_day(np.array([date_to_days(outside)]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(None), calendar_dates)))
def test_the_calendar_split_marks_unknown_dates(dates):
    from matchsim.records import MISSING, MISSING_DATE

    days = np.array([MISSING_DATE if d is None else date_to_days(d) for d in dates], dtype=np.int64)
    year, month, day = year_month_day(days, missing=(MISSING_DATE, MISSING))
    want = [(MISSING,) * 3 if d is None else (d.year, d.month, d.day) for d in dates]
    assert list(zip(year.tolist(), month.tolist(), day.tolist(), strict=True)) == want
    assert year.dtype == np.int64
