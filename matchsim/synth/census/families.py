"""Families: their maternities (how many, when, how many babies each), which children the
register keeps, and the addresses each family lives at over time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchsim.synth import calendar as cal
from matchsim.synth.census.plan import DAYS_PER_YEAR, CensusPlan
from matchsim.synth.mobility import cumulative_hazard, invert_hazard

_MAX_MOVES = 20


@dataclass
class Births:
    """Maternities of a block's families, one row each, in the order they were drawn."""

    family: np.ndarray  # family index per maternity
    day: np.ndarray  # birth day per maternity
    size: np.ndarray  # children per maternity (1, 2, 3)


def _draw_day_in_year(plan: CensusPlan, rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    """A birthday drawn from the births-by-day profile within each given year."""
    first_year = plan.ext_year_first
    clipped = np.clip(years, first_year, first_year + len(plan.ext_year_lo) - 1)
    lo = plan.ext_year_lo[clipped - first_year]
    hi = plan.ext_year_hi[clipped - first_year]
    c = plan.ext_cumulative
    lo_c = np.where(lo > 0, c[np.maximum(lo - 1, 0)], 0.0)
    u = lo_c + rng.random(len(years)) * (c[hi - 1] - lo_c)
    idx = np.clip(plan.ext_search.search(u), lo, hi - 1)
    day = plan.ext_days[idx]
    # Years beyond the extended window keep their day-of-year but move to the right year.
    shift = np.round((years - clipped) * DAYS_PER_YEAR).astype(np.int64)
    return day + shift


def draw_families(plan: CensusPlan, rng: np.random.Generator, n_families: int) -> Births:
    """Maternities of ``n_families`` new families: how many, when, and how many babies each."""
    fam = plan.config.families
    mb = plan.config.multiple_births
    # Maternities per family from mothers' completed family sizes (twins add about 1.5%).
    cumulative = np.cumsum(fam.children_per_mother)
    counts = 1 + np.searchsorted(cumulative / cumulative[-1], rng.random(n_families), side="right")
    counts = np.minimum(counts, len(cumulative))
    last = plan.ext_sampler.draw(np.zeros(n_families, dtype=np.int64), rng.random(n_families))
    families = [np.arange(n_families)]
    days = [last.copy()]
    min_gap_days = int(fam.min_gap_years * 365)
    for j in range(1, int(counts.max(initial=1))):
        alive = np.flatnonzero(counts > j)
        gap = fam.min_gap_years + rng.gamma(
            2.0, (fam.birth_gap_mean_years - fam.min_gap_years) / 2.0, len(alive)
        )
        target = last[alive] + np.round(gap * DAYS_PER_YEAR).astype(np.int64)
        year, _, _ = cal.year_month_day(target)
        # Re-draw the day within the target year so every birthday follows the by-day profile;
        # a draw too close to the previous birth moves to the next year.
        day = _draw_day_in_year(plan, rng, year)
        close = day - last[alive] < min_gap_days
        if close.any():
            day[close] = _draw_day_in_year(plan, rng, year[close] + 1)
        families.append(alive)
        days.append(day)
        last[alive] = day
    family = np.concatenate(families)
    day = np.concatenate(days)
    year, _, _ = cal.year_month_day(day)
    multiple = rng.random(len(day)) < cal.multiple_rate(mb, year)
    size = np.where(multiple, np.where(rng.random(len(day)) < mb.triplet_share, 3, 2), 1)
    return Births(family=family, day=day, size=size.astype(np.int64))


def select_children(
    plan: CensusPlan, rng: np.random.Generator, births: Births, target: int, quotas: np.ndarray
) -> np.ndarray | None:
    """Indices of the maternities kept so that each segment meets its children quota and the
    total is exactly ``target``; ``None`` when there are too few births to choose from."""
    offset = births.day - plan.calendar.window_start
    inside = (offset >= 0) & (offset < len(plan.calendar.days))
    eligible = np.flatnonzero(inside)
    eligible = eligible[plan.calendar.weight[offset[eligible]] > 0]
    if births.size[eligible].sum() < target * 1.1:
        return None
    segment = plan.calendar.segment[offset[eligible]]
    # One key per family, not per maternity: every segment keeps its families of lowest key, and
    # segments keep about the same share of what they are offered, so a family is kept or left
    # out whole, siblings together, rather than losing each maternity by a separate draw.
    key = rng.random(int(births.family.max(initial=-1)) + 1)[births.family[eligible]]
    # Segment then random key, in one sort: segment + key lies in [segment, segment + 1). The
    # sums are non-negative, so their bit patterns as int64 sort in the same order as the
    # floats do, and numpy sorts integers faster than floats.
    order = np.argsort((segment + key).view(np.int64))
    seg_sorted = segment[order]
    size_sorted = births.size[eligible][order]
    cum = np.cumsum(size_sorted)
    starts = np.searchsorted(seg_sorted, np.arange(len(quotas)), side="left")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    within = cum - before[seg_sorted]
    chosen = within <= quotas[seg_sorted]
    short = target - int(size_sorted[chosen].sum())
    if short < 0:  # pragma: no cover - quotas sum to target
        raise AssertionError("quota selection overshot")
    if short:
        # Fill the few places a twin or triplet could not take with singletons, in key order.
        spare = np.flatnonzero(~chosen & (size_sorted == 1))
        if len(spare) < short:
            return None
        spare = spare[np.argsort(key[order][spare], kind="stable")[:short]]
        chosen[spare] = True
    return np.sort(eligible[order[chosen]])


def draw_moves(
    plan: CensusPlan,
    rng: np.random.Generator,
    start: np.ndarray,
    district0: np.ndarray,
    origin: np.ndarray,
) -> dict[str, np.ndarray]:
    """Address history of each family from its first birth to the census day.

    Returns CSR-style arrays: ``offset[f]`` indexes the family's first row; rows are in time
    order with ``moved_in`` days and address ``slot``.
    """
    mob = plan.config.mobility
    geo = plan.geography
    n_fam = len(start)
    span = np.maximum(plan.census_day - start, 0) / DAYS_PER_YEAR
    hazard = cumulative_hazard(span, mob.rates_by_age)
    # Frailty: some families move far more than others (see MobilityConfig.frailty_shape).
    frailty = (
        rng.gamma(mob.frailty_shape, 1.0 / mob.frailty_shape, n_fam)
        if mob.frailty_shape is not None
        else np.ones(n_fam)
    )
    k = np.minimum(rng.poisson(hazard * frailty), _MAX_MOVES)
    owner = np.repeat(np.arange(n_fam), k)
    # Move times: uniform on the cumulative hazard, mapped back to the eldest child's age.
    years = invert_hazard(rng.random(len(owner)) * hazard[owner], mob.rates_by_age)
    when = start[owner] + np.floor(years * DAYS_PER_YEAR).astype(np.int64) + 1
    # Owners already ascend, so one stable sort of (owner, day) packed in an int64 orders the
    # moves as lexsort would.
    first_day = when.min(initial=0)
    order = np.argsort((owner << np.int64(32)) | (when - first_day), kind="stable")
    owner, when = owner[order], when[order]
    # Two moves drawn on the same day are one move.
    distinct = np.ones(len(owner), dtype=bool)
    distinct[1:] = (owner[1:] != owner[:-1]) | (when[1:] != when[:-1])
    owner, when = owner[distinct], when[distinct]
    k = np.bincount(owner, minlength=n_fam)

    kind = rng.random(len(owner))
    stay_district = kind < mob.same_district_share
    stay_area = ~stay_district & (kind < mob.same_district_share + mob.same_area_share)
    # Destination district: start from the family's own, then walk the moves in order.
    rows_per_family = k + 1
    offset = np.concatenate([[0], np.cumsum(rows_per_family)[:-1]])
    total = int(rows_per_family.sum())
    district = np.empty(total, dtype=np.int64)
    district[offset] = district0
    move_row = np.arange(len(owner)) + owner + 1  # row index in the history of each move
    far = plan.district_sampler.draw(origin[owner], rng.random(len(owner))).astype(np.int64)
    area_u = rng.random(len(owner))
    # Moves are sequential, but each depends only on the previous address: a move within the
    # district keeps it, a move within the area stays in the area of the last move that left it
    # (or of the first address), and a far move goes anywhere. So the area is carried forward
    # from the rows that set it, then the district from the rows that set that: no loop.
    rows = np.arange(total)
    sets_area = np.zeros(total, dtype=bool)
    sets_area[offset] = True
    sets_area[move_row] = ~stay_district & ~stay_area
    district[move_row] = far
    area = geo.district_area[district[np.maximum.accumulate(np.where(sets_area, rows, 0))]]
    in_area_row = move_row[stay_area]
    area_here = area[in_area_row]
    district[in_area_row] = geo.area_first_district[area_here] + (
        area_u[stay_area] * geo.area_district_count[area_here]
    ).astype(np.int64)
    sets_district = np.ones(total, dtype=bool)
    sets_district[move_row] = ~stay_district
    district = district[np.maximum.accumulate(np.where(sets_district, rows, 0))]
    slot = geo.draw_slots(rng, district)
    moved_in = np.empty(total, dtype=np.int64)
    moved_in[offset] = start
    moved_in[move_row] = when
    return {"offset": offset, "count": rows_per_family, "moved_in": moved_in, "slot": slot}


def address_at(history: dict[str, np.ndarray], family: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The history row of each family's address on each given day (vectorised)."""
    offset, count, moved_in = history["offset"], history["count"], history["moved_in"]
    # Rows are in time order within each family (moved_in strictly ascending), so the row is the
    # first one plus the number of later moves on or before the day: step each pupil forward
    # while its next row qualifies. Most families move at most once or twice.
    row = offset[family].copy()
    end = (offset + count)[family]
    # Before the earliest recorded day, any day counts as that day.
    threshold = np.maximum(day, moved_in.min(initial=0))
    active = np.flatnonzero(end - row > 1)
    while len(active):
        step = moved_in[row[active] + 1] <= threshold[active]
        active = active[step]
        row[active] += 1
        active = active[end[active] - row[active] > 1]
    return row
