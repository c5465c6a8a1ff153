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
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

_DAYS_PER_YEAR = 365.25

#: Moves per family-year by age of the eldest child, as (from age in years, rate) pairs.
#: Fitted by hand (measured with :func:`mover_statistics` on a 200,000-pupil 1992-2019 register,
#: with the default frailty shape 1.5) so that the realised five-year shares by age match North
#: et al., IJPDS 2025 (40.1% / 29.4% / 23.6% for ages 0-4 / 5-9 / 10-13; realised 43% / 30% /
#: 25%) and 59% of moves fall at ages 0-5 (Davies et al., IJPDS 2024; realised 58%). The shape
#: (highest in infancy, falling through childhood) is the one both studies report; the break
#: points are an assumption. The two studies do not quite agree: North's five-year shares and
#: repeat-move share imply about 52% of children moving in ten years, against SAIL's 58%; the
#: ten-year tolerance below says so rather than bending the by-age fit.
DEFAULT_MOVE_RATES_BY_AGE: tuple[tuple[float, float], ...] = (
    (0.0, 0.35),
    (1.0, 0.20),
    (6.0, 0.10),
    (11.0, 0.07),
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
    pupils: pa.Table, addresses: pa.Table, census_date: dt.date
) -> MoverStatistics:
    """Mover shares of the children in a register (vectorised over pupils and moves).

    A child "moves" when its household's address history has a row moving in on that day.
    The ten-year window is the ten years ending four years before the census date, so that
    every child born in it is old enough to be in the register (SAIL covered 2012-22).
    """
    census = (census_date - dt.date(1970, 1, 1)).days
    dob = pupils["date_of_birth"].cast(pa.int32()).to_numpy().astype(np.int64)
    household = pupils["household_id"].to_numpy().astype(np.int64)
    seq = addresses["address_seq"].to_numpy()
    move_hh = addresses["household_id"].to_numpy().astype(np.int64)[seq > 0]
    move_day = addresses["moved_in"].cast(pa.int32()).to_numpy().astype(np.int64)[seq > 0]
    order = np.lexsort((move_day, move_hh))
    move_hh, move_day = move_hh[order], move_day[order]
    year = _DAYS_PER_YEAR

    def moved_between(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Whether each pupil's household moved in (lo, hi]: count moves by two searches."""
        hh = household[rows]
        # Moves are sorted by (household, day): the position of (hh, day) in that order.
        key = move_hh * (1 << 32) + (move_day - move_day.min(initial=0))
        base = move_day.min(initial=0)
        lo_key = hh * (1 << 32) + (lo - base)
        hi_key = hh * (1 << 32) + (hi - base)
        return np.searchsorted(key, hi_key, side="right") > np.searchsorted(
            key, lo_key, side="right"
        )

    age = (census - dob) / year

    def share(mask: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int) -> float:
        rows = np.flatnonzero(mask)
        if not len(rows):
            return float("nan")
        lo_a = np.broadcast_to(np.asarray(lo), mask.shape)[rows]
        hi_a = np.broadcast_to(np.asarray(hi), mask.shape)[rows]
        return float(moved_between(rows, lo_a, hi_a).mean())

    one_year = share((age >= 1) & (age < 18), census - round(year), census)
    five = census - round(5 * year)
    age5 = (five - dob) / year
    f04 = share((age5 >= 0) & (age5 < 5), five, census)
    f59 = share((age5 >= 5) & (age5 < 10), five, census)
    f1013 = share((age5 >= 10) & (age5 < 14), five, census)

    # SAIL-style window: children under 18 at some point in it, moves while under 18.
    w_end = census - round(4 * year)
    w_start = w_end - round(10 * year)
    adult = dob + round(18 * year)
    in_window = (dob <= w_end) & (adult > w_start)
    # The ten-year share counts children under 18 for the whole window (born in the 8 years
    # before it starts), who were followed for all ten years.
    whole = (dob <= w_start) & (adult >= w_end)
    ten = share(whole, w_start, w_end)

    # Ages at each move for every child in the window: pair moves with the household's children.
    rows = np.flatnonzero(in_window)
    hh = household[rows]
    first = np.searchsorted(move_hh, hh, side="left")
    last = np.searchsorted(move_hh, hh, side="right")
    n_moves = last - first
    child = np.repeat(rows, n_moves)
    idx = np.repeat(first - np.cumsum(n_moves) + n_moves, n_moves) + np.arange(n_moves.sum())
    day = move_day[idx]
    live = (day > np.maximum(dob[child], w_start)) & (day <= np.minimum(adult[child], w_end))
    move_age = (day[live] - dob[child][live]) / year
    young = float((move_age < 6).mean()) if len(move_age) else float("nan")
    return MoverStatistics(
        one_year=one_year,
        five_year_0_4=f04,
        five_year_5_9=f59,
        five_year_10_13=f1013,
        ten_year=ten,
        moves_age_0_5=young,
        ten_year_children=len(rows),
    )
