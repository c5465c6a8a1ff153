"""House moves of families with children: the age profile of moving, and how it is measured.

Families move at a rate that depends on the age of their eldest child (a piecewise-constant
hazard, :data:`DEFAULT_MOVE_RATES_BY_AGE`). The same module measures what a register realises
(:func:`mover_statistics`) so that the generator, its tests and ``matchsim fidelity`` compare
like with like against the published figures in :data:`MOVER_TARGETS`.

Published figures used (see docs/fidelity.md):

* North et al., IJPDS 2025 (SAIL, Wales, 2015-19): 40.1%, 29.4% and 23.6% of children aged
  0-4, 5-9 and 10-13 on 1 Jan 2015 moved at least once in the following five years; 32.1%
  overall, 9.1% more than once.
* Davies et al., IJPDS 2024 (SAIL, Wales, 2012-22): 58% of children and young people under 18
  moved at least once; 59% of their 1,209,102 moves were at ages 0-5.
* 2011 Census: 14% of under-65s had a different address a year before (ONS, "Internal and
  international migration of older residents", 2011 Census analysis). Children move less than
  the young adults who dominate that figure; no published single-year-of-age table for children
  was found, so the children's one-year target is derived from North et al.: 32.1% moving at
  least once and 9.1% more than once in five years is about 0.45 moves per child over five
  years, about 9% a year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from matchsim.dates import date_to_days, year_month_day

_DAYS_PER_YEAR = 365.25
#: Ages 0-17: the children SAIL counted (Davies et al. 2024: "children and young people under 18").
_CHILD_AGES = 18

#: Moves per family-year by age of the eldest child, as (from age in years, rate) pairs.
#: Fitted by hand (measured with :func:`mover_statistics` on 300,000-pupil registers born
#: 1992-2019 and 1990-2012, with the default frailty shape 1.5 and families of ONS completed
#: sizes) so that the realised five-year shares by age match North et al., IJPDS 2025 (40.1% /
#: 29.4% / 23.6% for ages 0-4 / 5-9 / 10-13; realised 42% / 29-30% / 24-25%) and 59% of moves
#: fall at ages 0-5 (Davies et al., IJPDS 2024; realised 57%). The shape (highest in infancy,
#: falling through childhood) is the one both studies report; the break points are an
#: assumption. The two studies do not quite agree: North's five-year shares and repeat-move
#: share imply about 52% of children moving in ten years, against SAIL's 58%; the ten-year
#: tolerance below says so rather than bending the by-age fit.
DEFAULT_MOVE_RATES_BY_AGE: tuple[tuple[float, float], ...] = (
    (0.0, 0.36),
    (1.0, 0.22),
    (6.0, 0.105),
    (11.0, 0.075),
    (18.0, 0.04),
)


@dataclass(frozen=True)
class MoverTarget:
    name: str
    value: float
    tolerance: float  # absolute, as a share
    source: str


#: Published (or, where stated, derived) mover figures, with the tolerance a register of
#: 200,000 or more should meet.
MOVER_TARGETS: dict[str, MoverTarget] = {
    "one_year": MoverTarget(
        "children aged 1-17 who moved in the last year",
        0.09,
        0.03,
        "derived from North et al., IJPDS 2025 (about 0.45 moves per child in 5 years); "
        "below the 14% of under-65s of the 2011 Census",
    ),
    "five_year_0_4": MoverTarget(
        "aged 0-4 five years ago: moved in the 5 years since",
        0.401,
        0.05,
        "North et al., IJPDS 2025 (SAIL, Wales 2015-19)",
    ),
    "five_year_5_9": MoverTarget(
        "aged 5-9 five years ago: moved in the 5 years since",
        0.294,
        0.05,
        "North et al., IJPDS 2025 (SAIL, Wales 2015-19)",
    ),
    "five_year_10_13": MoverTarget(
        "aged 10-13 five years ago: moved in the 5 years since",
        0.236,
        0.05,
        "North et al., IJPDS 2025 (SAIL, Wales 2015-19)",
    ),
    "ten_year": MoverTarget(
        "under 18 for a whole ten-year window: moved in it",
        0.58,
        0.08,
        "Davies et al., IJPDS 2024 (SAIL, Wales 2012-22)",
    ),
    "moves_age_0_5": MoverTarget(
        "share of children's moves made at ages 0-5",
        0.59,
        0.05,
        "Davies et al., IJPDS 2024 (SAIL, Wales 2012-22)",
    ),
}


def cumulative_hazard(years: np.ndarray, ages_rates: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Expected moves from the eldest child's birth to ``years`` later (vectorised)."""
    starts, rates, cum = _segments(ages_rates)
    seg = np.searchsorted(starts, years, side="right") - 1
    return cum[seg] + rates[seg] * (years - starts[seg])


def invert_hazard(h: np.ndarray, ages_rates: tuple[tuple[float, float], ...]) -> np.ndarray:
    """The age (years) at which the cumulative hazard reaches ``h``: draws move times."""
    starts, rates, cum = _segments(ages_rates)
    # side="right" skips zero-rate segments, whose cumulative hazard does not grow.
    seg = np.searchsorted(cum, h, side="right") - 1
    seg = np.clip(seg, 0, len(starts) - 1)
    return starts[seg] + (h - cum[seg]) / np.maximum(rates[seg], 1e-12)


def _segments(
    ages_rates: tuple[tuple[float, float], ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts = np.array([a for a, _ in ages_rates], dtype=np.float64)
    rates = np.array([r for _, r in ages_rates], dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(starts))])
    return starts, rates, cum


@dataclass(frozen=True)
class MoverStatistics:
    """Mover shares a register realises, measured as the published studies measured them."""

    one_year: float
    five_year_0_4: float
    five_year_5_9: float
    five_year_10_13: float
    ten_year: float
    moves_age_0_5: float
    #: children counted in the ten-year window (small counts make the shares noisy)
    ten_year_children: int

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in MOVER_TARGETS}


def mover_statistics(
    pupils: pa.Table,
    addresses: pa.Table,
    census_date: dt.date,
    births_by_year: Callable[[np.ndarray], np.ndarray] | None = None,
) -> MoverStatistics:
    """Mover shares of the children in a register (vectorised over pupils and moves).

    A child "moves" when its household's address history has a row moving in on that day.
    The one-year share counts children aged 1-17 on the last day the register holds all of
    them: the census day, or the first birthday of its youngest child if that comes first; NaN
    when the register lacks some of those ages then (a census of pupils on roll has no one
    under 4).
    The ten-year window is the ten years ending four years before the census date, so that
    every child born in it is old enough to be in the register (SAIL covered 2012-22).

    The share of moves made at ages 0-5 is the share SAIL would count among every child under
    18 in the window: the register's moves per child-year at each age 0-17, weighted by the
    child-years everyone born lives at that age in the window. ``births_by_year`` gives the
    births of each calendar year (relative; :func:`matchsim.fidelity.mover_rows` passes the
    register's ONS series); ``None`` takes every year's births as equal. A register's birth
    years need not cover everyone under 18 in the window (one born 1990-2012 holds no one born
    after 2012, young all through a window ending in 2020, so the raw share of its children's
    moves at 0-5 is 14 points low), but the rates by age do not depend on which cohorts are
    present. NaN when some age 0-17 has no child-years in the window.
    """
    census = (census_date - dt.date(1970, 1, 1)).days
    dob = pupils["date_of_birth"].cast(pa.int32()).to_numpy().astype(np.int64)
    household = pupils["household_id"].to_numpy().astype(np.int64)
    seq = addresses["address_seq"].to_numpy()
    move_hh = addresses["household_id"].to_numpy().astype(np.int64)[seq > 0]
    move_day = addresses["moved_in"].cast(pa.int32()).to_numpy().astype(np.int64)[seq > 0]
    # Histories are written household by household in time order; sort only if they are not.
    if len(move_hh) > 1 and not bool(np.all(np.diff(move_hh) >= 0)):
        order = np.lexsort((move_day, move_hh))
        move_hh, move_day = move_hh[order], move_day[order]
    year = _DAYS_PER_YEAR

    # Every (child, move of the child's household) pair, once: each measure is then a mask
    # over the pairs and a count per child, with no per-child Python.
    first = np.searchsorted(move_hh, household, side="left")
    n_moves = np.searchsorted(move_hh, household, side="right") - first
    child = np.repeat(np.arange(len(dob)), n_moves)
    offset = np.repeat(first - (np.cumsum(n_moves) - n_moves), n_moves)
    day = move_day[offset + np.arange(len(child))]

    def share(eligible: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int) -> float:
        """Share of eligible children whose household moved in (lo, hi]."""
        if not eligible.any():
            return float("nan")
        lo_c = np.broadcast_to(np.asarray(lo), dob.shape)[child]
        hi_c = np.broadcast_to(np.asarray(hi), dob.shape)[child]
        hit = eligible[child] & (day > lo_c) & (day <= hi_c)
        moved = np.bincount(child[hit], minlength=len(dob)) > 0
        return float(moved[eligible].mean())

    # The last year on which the register holds every age 1-17: up to the census, or to the
    # first birthday of its youngest child if that comes first (a register of birth years
    # ending before the census holds no one born after them).
    one_year_end = min(census, int(dob.max()) + round(year)) if len(dob) else census
    age = (one_year_end - dob) / year
    one_year = (
        share((age >= 1) & (age < 18), one_year_end - round(year), one_year_end)
        if len(dob) and age.max() >= 18
        else float("nan")
    )
    five = census - round(5 * year)
    age5 = (five - dob) / year
    f04 = share((age5 >= 0) & (age5 < 5), five, census)
    f59 = share((age5 >= 5) & (age5 < 10), five, census)
    f1013 = share((age5 >= 10) & (age5 < 14), five, census)

    # SAIL-style window: ten years ending four years before the census.
    w_end = census - round(4 * year)
    w_start = w_end - round(10 * year)
    adult = dob + round(18 * year)
    in_window = (dob <= w_end) & (adult > w_start)
    # The ten-year share counts children under 18 for the whole window (born in the 8 years
    # before it starts), who were followed for all ten years.
    whole = (dob <= w_start) & (adult >= w_end)
    ten = share(whole, w_start, w_end)

    # Moves made while under 18 in the window, by single year of age, over the child-years
    # register children lived at each age in it: a rate per age, weighted by the child-years
    # everyone born in England and Wales lived at that age in the window.
    live = (
        in_window[child]
        & (day > np.maximum(dob, w_start)[child])
        & (day <= np.minimum(adult, w_end)[child])
    )
    move_age = np.minimum((day[live] - dob[child[live]]) // year, _CHILD_AGES - 1).astype(np.int64)
    moves = np.bincount(move_age, minlength=_CHILD_AGES)[:_CHILD_AGES]
    young = _standardised_young_share(
        moves, _exposure_by_age(dob[in_window], w_start, w_end), w_start, w_end, births_by_year
    )
    rows = np.flatnonzero(in_window)
    return MoverStatistics(
        one_year=one_year,
        five_year_0_4=f04,
        five_year_5_9=f59,
        five_year_10_13=f1013,
        ten_year=ten,
        moves_age_0_5=young,
        ten_year_children=len(rows),
    )


def _exposure_by_age(dob: np.ndarray, w_start: int, w_end: int) -> np.ndarray:
    """Days each single year of age 0-17 of these children falls in the window (w_start, w_end]."""
    exposure = np.zeros(_CHILD_AGES)
    for age in range(_CHILD_AGES):  # one vector step per age, not per child
        lo = np.maximum(dob + round(age * _DAYS_PER_YEAR), w_start)
        hi = np.minimum(dob + round((age + 1) * _DAYS_PER_YEAR), w_end)
        exposure[age] = np.maximum(hi - lo, 0).sum()
    return exposure


def _national_exposure_by_age(
    w_start: int, w_end: int, births_by_year: Callable[[np.ndarray], np.ndarray] | None
) -> np.ndarray:
    """Child-days lived at each age 0-17 in the window by everyone born (each year's births
    spread evenly over its days), up to a constant factor."""
    first = int(year_month_day(np.array([w_start - round(_CHILD_AGES * _DAYS_PER_YEAR)]))[0][0])
    last = int(year_month_day(np.array([w_end]))[0][0])
    years = np.arange(first, last + 1)
    per_year = births_by_year(years) if births_by_year is not None else np.ones(len(years))
    days = np.arange(date_to_days(dt.date(first, 1, 1)), w_end + 1)
    weight = np.asarray(per_year, dtype=np.float64)[year_month_day(days)[0] - first]
    return np.array(
        [
            (
                weight * np.maximum(np.minimum(days + e, w_end) - np.maximum(days + s, w_start), 0)
            ).sum()
            for s, e in (
                (round(a * _DAYS_PER_YEAR), round((a + 1) * _DAYS_PER_YEAR))
                for a in range(_CHILD_AGES)
            )
        ]
    )


def _standardised_young_share(
    moves: np.ndarray,
    exposure: np.ndarray,
    w_start: int,
    w_end: int,
    births_by_year: Callable[[np.ndarray], np.ndarray] | None,
) -> float:
    """Share of moves at ages 0-5 among all children's moves in the window, from the moves and
    child-days by age 0-17 of the register's children, re-weighted to everyone born."""
    if not (exposure > 0).all():
        return float("nan")
    expected = moves / exposure * _national_exposure_by_age(w_start, w_end, births_by_year)
    total = expected.sum()
    return float(expected[:6].sum() / total) if total > 0 else float("nan")
