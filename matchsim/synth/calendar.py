"""Births by year and by day, and the school calendar that decides who is on roll.

Dates are ``int64`` day numbers (:mod:`matchsim.dates`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from matchsim.data import load_table
from matchsim.dates import date_to_days, to_days, year_month_day
from matchsim.synth.config import BirthsConfig, CensusConfig, MultipleBirthsConfig

# A leap year, so that every month-day (including 29 Feb) has a slot in the profile.
_PROFILE_YEAR = 2000
_PROFILE_DAYS = np.arange(
    np.datetime64(f"{_PROFILE_YEAR}-01-01"), np.datetime64(f"{_PROFILE_YEAR + 1}-01-01")
)

# Daily births, England and Wales, 1995-2014 averages (ONS "How popular is your birthday?",
# as quoted in shared FACTS.md): about 1,800 a day on average, a late-September peak of about
# 1,974 on 26 September, and lows on 25-26 December and 1 January (Boxing Day about 1,359).
_MEAN_DAILY = 1800.0
_PEAK_DAY = (9, 26)
_PEAK_DAILY = 1974.0
# Holiday troughs relative to the mean. Boxing Day is the published figure; Christmas Day and
# New Year's Day are set just above it (ONS lists them among the three lowest; unverified values),
# and the days either side are dampened because planned deliveries are moved off holidays.
_HOLIDAY_RELATIVE = {
    (12, 24): 0.90,
    (12, 25): 0.77,
    (12, 26): 1359.0 / _MEAN_DAILY,
    (12, 27): 0.92,
    (12, 31): 0.93,
    (1, 1): 0.80,
    (1, 2): 0.93,
}


def default_day_profile() -> np.ndarray:
    """Relative births for each day of a leap year (366 values, mean 1 over a leap year)."""
    doy = np.arange(366, dtype=np.float64)
    peak = (
        np.datetime64(f"{_PROFILE_YEAR}-{_PEAK_DAY[0]:02d}-{_PEAK_DAY[1]:02d}") - _PROFILE_DAYS[0]
    )
    peak = float(peak.astype(np.int64))
    # A broad annual cycle (summer-autumn high, spring low) plus the sharper late-September
    # peak: conceptions over the Christmas holidays.
    cycle = 0.03 * np.cos(2 * np.pi * (doy - (peak - 20)) / 366.0)
    bump = np.exp(-0.5 * ((doy - peak) / 14.0) ** 2)
    profile = 1.0 + cycle
    # Scale the bump so the peak day reaches the published figure after normalising.
    _, months, mdays = year_month_day(to_days(_PROFILE_DAYS))
    holiday = np.ones(366)
    for (m, d), rel in _HOLIDAY_RELATIVE.items():
        holiday[(months == m) & (mdays == d)] = rel
    target_peak = _PEAK_DAILY / _MEAN_DAILY
    holiday_mask = holiday != 1.0
    profile = profile / profile.mean()
    # Alternate between pinning the holidays and solving for the bump height that puts the
    # peak at its published level; both hold to <0.1% after a few rounds.
    for _ in range(8):
        h = (target_peak * profile.mean() - profile[int(peak)]) / (
            bump[int(peak)] - target_peak * bump.mean()
        )
        profile = profile + h * bump
        profile = profile / profile.mean()
        profile[holiday_mask] = holiday[holiday_mask]
    return profile / profile.mean()


def day_profile(config: BirthsConfig) -> np.ndarray:
    if config.by_day is None:
        return default_day_profile()
    _, months, mdays = year_month_day(to_days(_PROFILE_DAYS))
    profile = np.ones(366)
    for key, weight in config.by_day.items():
        profile[(months == int(key[:2])) & (mdays == int(key[3:]))] = weight
    if profile.sum() <= 0:
        raise ValueError("births.by_day gives every day zero weight")
    return profile / profile.mean()


def births_by_year(config: BirthsConfig) -> dict[int, float]:
    if config.by_year is not None:
        return dict(config.by_year)
    table = load_table("births_by_year")
    return dict(zip(table["year"].astype(int), table["births"].astype(float), strict=True))


def year_weights(config: BirthsConfig, years: np.ndarray) -> np.ndarray:
    """Births for each year; years outside the table take the nearest year's value."""
    table = births_by_year(config)
    known = np.array(sorted(table))
    clipped = np.clip(years, known[0], known[-1])
    lookup = np.array([table[int(y)] for y in known])
    # Years missing in the middle of a user table are interpolated.
    return np.interp(clipped, known, lookup)


def multiple_rate(config: MultipleBirthsConfig, years: np.ndarray) -> np.ndarray:
    """Probability that a maternity in each year is a multiple birth."""
    if config.per_1000_by_year is not None:
        table = config.per_1000_by_year
    else:
        t = load_table("multiple_maternities")
        table = dict(zip(t["year"].astype(int), t["multiple_per_1000"].astype(float), strict=True))
    known = np.array(sorted(table), dtype=np.float64)
    values = np.array([table[int(k)] for k in sorted(table)])
    years = np.asarray(years, dtype=np.int64)
    if not years.size:
        return np.zeros(0)
    # Once per distinct year (a few dozen), then gathered: the same values as per birth.
    first = int(years.min())
    span = np.arange(first, int(years.max()) + 1, dtype=np.float64)
    return (np.interp(span, known, values) / 1000.0)[years - first]


@dataclass(frozen=True)
class BirthCalendar:
    """Daily target density of the register's births, and each day's school status.

    ``days`` covers the register's birth window; ``weight[i]`` is proportional to the number of
    register members born on ``days[i]`` (births that day times the share on roll), and
    ``segment[i]`` groups days whose members share a birth year and a year group, which is the
    unit the generator's quotas are set on.
    """

    days: np.ndarray
    weight: np.ndarray
    segment: np.ndarray
    window_start: int
    window_end: int


def academic_cohort(days: np.ndarray) -> np.ndarray:
    """The calendar year in which a child's school cohort starts (born 1 Sep Y .. 31 Aug Y+1)."""
    years, months, _ = year_month_day(days)
    return np.where(months >= 9, years, years - 1)


def sep1(years: np.ndarray) -> np.ndarray:
    """Day number of 1 September of each year."""
    months = (np.asarray(years, dtype=np.int64) - 1970) * 12 + 8
    return to_days(months.astype("datetime64[M]"))


def reception_entry(days: np.ndarray) -> np.ndarray:
    """1 September of the reception year: the first September after the 4th birthday."""
    return sep1(academic_cohort(days) + 5)


def year_group(days: np.ndarray, census_day: int) -> np.ndarray:
    """National curriculum year at the census (0 = reception, 13 = upper sixth)."""
    return academic_cohort(np.array([census_day]))[0] - academic_cohort(days) - 5


def profile_index(months: np.ndarray, mdays: np.ndarray) -> np.ndarray:
    """Position of each month-day in the 366-day profile."""
    return _MONTH_START_LEAP[months - 1] + mdays - 1


_MONTH_START_LEAP = np.array([0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])
_FEB29 = 59


def build_calendar(config: CensusConfig) -> BirthCalendar:
    """The register's birth window, daily target weights and quota segments."""
    census_day = date_to_days(config.census_date)
    if config.birth_years is None:
        # Pupils on roll: reception (cohort A-5) up to upper sixth (cohort A-18).
        academic_year = int(academic_cohort(np.array([census_day]))[0])
        start = date_to_days(dt.date(academic_year - 18, 9, 1))
        end = date_to_days(dt.date(academic_year - 4, 9, 1))
    else:
        start = date_to_days(dt.date(config.birth_years[0], 1, 1))
        end = date_to_days(dt.date(config.birth_years[1] + 1, 1, 1))
    days = np.arange(start, end, dtype=np.int64)
    years, months, mdays = year_month_day(days)
    profile = day_profile(config.births)
    day_w = profile[profile_index(months, mdays)]
    is_leap = ((years % 4 == 0) & (years % 100 != 0)) | (years % 400 == 0)
    # Each year's births are spread over its own days by the profile.
    year_total = profile.sum() - np.where(is_leap, 0.0, profile[_FEB29])
    per_day = year_weights(config.births, years) * day_w / year_total
    if config.birth_years is None:
        groups = year_group(days, census_day)
        share = np.where(groups <= 11, 1.0, config.schools.sixth_form_share)
        share = np.where((groups < 0) | (groups > 13), 0.0, share)
        segment_key = years * 100 + groups
    else:
        share = (reception_entry(days) <= census_day).astype(np.float64)
        segment_key = years * 100 + share.astype(np.int64)
    _, segment = np.unique(segment_key, return_inverse=True)
    return BirthCalendar(
        days=days,
        weight=per_day * share,
        segment=segment.astype(np.int64),
        window_start=int(start),
        window_end=int(end),
    )
