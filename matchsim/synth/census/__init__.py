"""The synthetic register: families, births, names, addresses, moves, schools and UPNs.

How it is drawn, in one pass of numpy per block:

1. Families get a number of maternities (geometric, mean from ONS), a first birth from the
   births-by-day density over an extended window, and later births after realistic gaps.
   Some maternities are twins or triplets (ONS rates by year).
2. Children born inside the register's window are kept to exact quotas per birth year and
   year group, so births by year, by day and by school cohort follow their sources exactly
   while siblings stay together.
3. Each family gets a naming origin, a surname, an address, and a history of moves; each child
   a sex, forenames, a school and a UPN.

Reproducibility: the population is cut into fixed blocks of ``BLOCK_PUPILS`` whose random
streams are derived from (seed, block index). ``chunk_size`` and ``workers`` only decide how
blocks are scheduled, so they never change the output.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.synth import calendar as cal
from matchsim.synth.config import NATIONAL_PUPILS_2024, CensusConfig, NamesConfig
from matchsim.synth.geography import Geography, build_geography
from matchsim.synth.mobility import cumulative_hazard, invert_hazard
from matchsim.synth.names import GroupedSampler, NameModel, build_name_model

BLOCK_PUPILS = 1 << 16
_DAYS_PER_YEAR = 365.2425
# Families may start up to this long before the register's first birthday, so that the
# earliest cohorts have older siblings as later ones do.
_SIBLING_WINDOW_YEARS = 14
_OVERSAMPLE = 1.3
_MAX_MATERNITIES = 12
_MAX_MOVES = 20
_SEED_GEOGRAPHY, _SEED_BLOCK, _SEED_CLUSTER = 0, 1, 2

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class _GuidedSearch:
    """``np.searchsorted(values, u, side="right")`` for queries ``u`` in [0, 1] into a fixed
    ascending array in [0, 1], with a guide table instead of a binary search per query.

    Bucket ``j`` covers [j/K, (j+1)/K) (exact, K a power of two); the answer for any query in it
    lies between the answers for its two edges, which are stored, and is found in at most
    ``steps`` vectorised comparisons. The answers are exactly numpy's. Written here because
    numpy's binary search over random queries misses the cache on every step.
    """

    values: np.ndarray
    low: np.ndarray  # per bucket: searchsorted of its lower edge
    high: np.ndarray  # and of its upper edge
    steps: int

    BUCKETS = 1 << 16

    @classmethod
    def build(cls, values: np.ndarray) -> _GuidedSearch:
        edges = np.arange(cls.BUCKETS + 2, dtype=np.float64) / cls.BUCKETS
        first = np.searchsorted(values, edges, side="right")
        low, high = first[:-1], first[1:]
        return cls(values, low, high, int((high - low).max(initial=0)))

    def search(self, u: np.ndarray) -> np.ndarray:
        bucket = np.minimum((u * self.BUCKETS).astype(np.int64), self.BUCKETS)
        idx, high = self.low[bucket], self.high[bucket]
        last = len(self.values) - 1
        for _ in range(self.steps):
            idx += (idx < high) & (self.values[np.minimum(idx, last)] <= u)
        return idx


@dataclass(frozen=True)
class _Plan:
    """Everything blocks share; built once per run."""

    config: CensusConfig
    seed: int
    pupils: int
    calendar: cal.BirthCalendar
    segment_share: np.ndarray
    census_day: int
    ext_days: np.ndarray
    ext_cumulative: np.ndarray
    ext_search: _GuidedSearch  # searchsorted into ext_cumulative
    ext_sampler: GroupedSampler
    ext_year_first: int
    ext_year_lo: np.ndarray  # first index into ext_days of each year
    ext_year_hi: np.ndarray  # one past the last
    names: NameModel
    geography: Geography
    district_sampler: GroupedSampler  # group = origin index
    school_offset: np.ndarray  # (districts, 2 phases) first school id
    school_count: np.ndarray  # (districts, 2 phases)
    school_la: np.ndarray  # LA number per school id
    school_estab: np.ndarray  # 4-digit establishment number per school id
    block_targets: np.ndarray
    block_quotas: np.ndarray  # (blocks, segments)
    entry_year_first: int  # earliest reception-entry year of anyone in the register
    entry_years: int  # how many entry years the register spans


def _largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    raw = shares / shares.sum() * total
    out = np.floor(raw).astype(np.int64)
    short = total - int(out.sum())
    if short:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def register_size(config: CensusConfig, calendar: cal.BirthCalendar | None = None) -> int:
    """How many pupils ``config`` makes (its ``pupils``, or what its birth years imply)."""
    if config.pupils is not None:
        return config.pupils
    if config.birth_years is None:
        return NATIONAL_PUPILS_2024
    calendar = calendar if calendar is not None else cal.build_calendar(config)
    return round(float(calendar.weight.sum()))


def block_count(config: CensusConfig) -> int:
    """How many blocks of ``BLOCK_PUPILS`` the register of ``config`` is drawn in."""
    return max(1, math.ceil(register_size(config) / BLOCK_PUPILS))


_NAME_MODELS: dict[str, NameModel] = {}
_NAME_MODELS_LOCK = threading.Lock()


def _name_model(config: NamesConfig) -> NameModel:
    """The vocabularies and samplers of a names configuration, built once per process.

    They depend on nothing but the configuration (Faker's lists and the project's tables), as a
    Faker instance's providers do, and take a tenth of a second of pure Python to build. Their
    arrays are made read-only, so sharing them between runs cannot leak state.
    """
    key = config.model_dump_json()
    with _NAME_MODELS_LOCK:
        model = _NAME_MODELS.get(key)
        if model is None:
            model = build_name_model(config)
            for value in _arrays_of(model):
                value.setflags(write=False)
            if len(_NAME_MODELS) >= 8:
                _NAME_MODELS.clear()
            _NAME_MODELS[key] = model
        return model


def _arrays_of(obj: object) -> list[np.ndarray]:
    found = []
    for value in vars(obj).values():
        if isinstance(value, np.ndarray):
            found.append(value)
        elif hasattr(value, "__dataclass_fields__"):
            found.extend(_arrays_of(value))
    return found


def _plan(
    config: CensusConfig, seed: int, world_seed: int | None = None, world_pupils: int | None = None
) -> _Plan:
    """Shared state of a run. ``world_seed`` and ``world_pupils`` fix the geography and schools,
    so that a second population (people outside the register) can live in the same world."""
    calendar = cal.build_calendar(config)
    pupils = register_size(config, calendar)
    segment_weight = np.bincount(calendar.segment, weights=calendar.weight)
    segment_share = segment_weight / segment_weight.sum()

    n_blocks = max(1, math.ceil(pupils / BLOCK_PUPILS))
    targets = np.full(n_blocks, BLOCK_PUPILS, dtype=np.int64)
    targets[-1] = pupils - BLOCK_PUPILS * (n_blocks - 1)
    quotas = np.stack([_largest_remainder(int(t), segment_share) for t in targets])

    # Births density over the extended window (no school filter): where family births fall.
    ext_start = calendar.window_start - int(_SIBLING_WINDOW_YEARS * _DAYS_PER_YEAR)
    ext_days = np.arange(ext_start, calendar.window_end, dtype=np.int64)
    years, months, mdays = cal.year_month_day(ext_days)
    profile = cal.day_profile(config.births)
    density = cal.year_weights(config.births, years) * profile[cal.profile_index(months, mdays)]
    ext_cumulative = np.cumsum(density)
    ext_cumulative /= ext_cumulative[-1]
    all_years = np.arange(years[0], years[-1] + 1)
    year_lo = np.searchsorted(years, all_years, side="left")
    year_hi = np.searchsorted(years, all_years, side="right")

    names = _name_model(config.names)
    world_seed = seed if world_seed is None else world_seed
    world_pupils = pupils if world_pupils is None else world_pupils
    expected_households = int(world_pupils / config.families.children_mean * 2)
    geography = build_geography(
        np.random.SeedSequence(world_seed, spawn_key=(_SEED_GEOGRAPHY,)), expected_households
    )
    geography.warm_text()  # once here, not raced by the worker threads' first blocks

    cluster_rng = np.random.default_rng(
        np.random.SeedSequence(world_seed, spawn_key=(_SEED_CLUSTER,))
    )
    groups = []
    for origin in names.origins:
        sigma = 0.0 if origin == "british" else config.names.origin_clustering
        w = geography.district_weight * np.exp(
            sigma * cluster_rng.standard_normal(geography.n_districts)
        )
        groups.append((np.arange(geography.n_districts), w))
    district_sampler = GroupedSampler.from_groups(groups)

    # Schools: enough in each district for its expected pupils (DfE average sizes).
    sf = config.schools
    # Seven primary year groups against five to seven secondary ones.
    sixth = sf.sixth_form_share if config.birth_years is None else 0.0
    primary_frac = 7 / (12 + 2 * sixth)
    expected = world_pupils * geography.district_weight
    count = np.stack(
        [
            np.maximum(1, np.round(expected * primary_frac / sf.pupils_per_primary)),
            np.maximum(1, np.round(expected * (1 - primary_frac) / sf.pupils_per_secondary)),
        ],
        axis=1,
    ).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(count.ravel())[:-1]]).reshape(count.shape)
    school_district = np.repeat(np.arange(geography.n_districts), count.sum(axis=1))
    school_phase = np.repeat(np.tile([0, 1], len(count)), count.ravel())
    school_la = geography.district_la[school_district]
    # DfE establishment numbers: 2xxx primary, 4xxx secondary, numbered within each LA.
    order = np.lexsort((np.arange(len(school_la)), school_phase, school_la))
    key = school_la[order].astype(np.int64) * 2 + school_phase[order]
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    rank = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    estab = np.empty(len(school_la), dtype=np.int64)
    estab[order] = np.where(school_phase[order] == 0, 2000, 4000) + rank
    if rank.max(initial=0) >= 2000:
        raise ValueError(
            "too many schools in one local authority for 4-digit establishment numbers"
        )

    entry_years = cal.year_month_day(
        cal.reception_entry(np.array([calendar.window_start, calendar.window_end - 1]))
    )[0]
    return _Plan(
        config=config,
        seed=seed,
        pupils=pupils,
        calendar=calendar,
        segment_share=segment_share,
        census_day=cal.date_to_days(config.census_date),
        ext_days=ext_days,
        ext_cumulative=ext_cumulative,
        ext_search=_GuidedSearch.build(ext_cumulative),
        ext_sampler=GroupedSampler.from_groups([(ext_days, density)]),
        ext_year_first=int(years[0]),
        ext_year_lo=year_lo,
        ext_year_hi=year_hi,
        names=names,
        geography=geography,
        district_sampler=district_sampler,
        school_offset=offset,
        school_count=count,
        school_la=school_la.astype(np.int32),
        school_estab=estab,
        block_targets=targets,
        block_quotas=quotas,
        entry_year_first=int(entry_years[0]),
        entry_years=int(entry_years[1] - entry_years[0] + 1),
    )


# --------------------------------------------------------------------------------------------
# Families and births
# --------------------------------------------------------------------------------------------


@dataclass
class _Births:
    family: np.ndarray  # family index per maternity
    day: np.ndarray  # birth day per maternity
    size: np.ndarray  # children per maternity (1, 2, 3)


def _draw_day_in_year(plan: _Plan, rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
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
    shift = np.round((years - clipped) * _DAYS_PER_YEAR).astype(np.int64)
    return day + shift


def _draw_families(plan: _Plan, rng: np.random.Generator, n_families: int) -> _Births:
    """Maternities of ``n_families`` new families: how many, when, and how many babies each."""
    fam = plan.config.families
    mb = plan.config.multiple_births
    # Mean maternities per family so that mean children per family is ``children_mean``
    # (about 1.5% of maternities are multiple).
    mean_maternities = max(fam.children_mean / 1.015, 1.0)
    counts = np.minimum(rng.geometric(1.0 / mean_maternities, n_families), _MAX_MATERNITIES)
    last = plan.ext_sampler.draw(np.zeros(n_families, dtype=np.int64), rng.random(n_families))
    families = [np.arange(n_families)]
    days = [last.copy()]
    min_gap_days = int(fam.min_gap_years * 365)
    for j in range(1, int(counts.max(initial=1))):
        alive = np.flatnonzero(counts > j)
        gap = fam.min_gap_years + rng.gamma(
            2.0, (fam.birth_gap_mean_years - fam.min_gap_years) / 2.0, len(alive)
        )
        target = last[alive] + np.round(gap * _DAYS_PER_YEAR).astype(np.int64)
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
    return _Births(family=family, day=day, size=size.astype(np.int64))


def _select_children(
    plan: _Plan, rng: np.random.Generator, births: _Births, target: int, quotas: np.ndarray
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
    key = rng.random(len(eligible))
    # Segment then random key, in one sort: segment + key lies in [segment, segment + 1). The
    # sums are non-negative, so their bit patterns as int64 sort in the same order, and numpy
    # sorts integers faster than floats.
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


# --------------------------------------------------------------------------------------------
# One block
# --------------------------------------------------------------------------------------------


@dataclass
class _Block:
    """Columns of one block (numpy, block-local ids)."""

    pupil: dict[str, np.ndarray] = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    n_families: int = 0
    n_maternities: int = 0


def _generate_block(plan: _Plan, block: int) -> _Block:
    rng = np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(_SEED_BLOCK, block)))
    target = int(plan.block_targets[block])
    quotas = plan.block_quotas[block]
    window_years = (plan.calendar.window_end - plan.calendar.window_start) / _DAYS_PER_YEAR
    share_inside = window_years / (window_years + _SIBLING_WINDOW_YEARS)
    n_families = (
        int(target * _OVERSAMPLE / (plan.config.families.children_mean * share_inside)) + 64
    )
    births = _draw_families(plan, rng, n_families)
    chosen = _select_children(plan, rng, births, target, quotas)
    while chosen is None:
        extra = _draw_families(plan, rng, n_families // 2 + 64)
        births = _Births(
            family=np.concatenate([births.family, extra.family + n_families]),
            day=np.concatenate([births.day, extra.day]),
            size=np.concatenate([births.size, extra.size]),
        )
        n_families += n_families // 2 + 64
        chosen = _select_children(plan, rng, births, target, quotas)

    # Renumber the families that keep at least one child: 0..F-1 in order of first appearance.
    # (Family numbers are dense, so a presence mask does what np.unique would, without a sort.)
    present = np.zeros(n_families, dtype=bool)
    present[births.family[chosen]] = True
    kept_family = np.flatnonzero(present)
    family_local = (np.cumsum(present) - 1)[births.family[chosen]]
    n_fam = len(kept_family)
    first_birth = np.full(n_families, np.iinfo(np.int64).max)
    np.minimum.at(first_birth, births.family, births.day)
    family_start = first_birth[kept_family]

    maternity_size = births.size[chosen]
    maternity_day = births.day[chosen]
    child_maternity = np.repeat(np.arange(len(chosen)), maternity_size)
    child_family = family_local[child_maternity]
    n = len(child_maternity)
    dob = maternity_day[child_maternity]
    # position of the child within its maternity (0 for the first-born of twins)
    birth_order = np.arange(n) - np.repeat(
        np.cumsum(maternity_size) - maternity_size, maternity_size
    )

    names = plan.names
    config = plan.config

    # -- families: origin, surname, honorific convention, addresses and moves -----------------
    origin = np.searchsorted(
        np.cumsum(names.origin_weights) / names.origin_weights.sum(),
        rng.random(n_fam),
        side="right",
    ).astype(np.int16)
    origin = np.minimum(origin, len(names.origins) - 1)
    surname = names.surname_sampler.draw(origin, rng.random(n_fam))
    if len(names.double_barrelled):
        double = (origin == names.origins.index("british")) & (
            rng.random(n_fam) < config.names.double_barrelled_share
        )
        pick = (rng.random(n_fam) * len(names.double_barrelled)).astype(np.int64)
        surname = np.where(double, names.double_barrelled[pick], surname).astype(np.int32)
    district0 = plan.district_sampler.draw(origin, rng.random(n_fam)).astype(np.int64)
    honorific_u = rng.random(n_fam)
    history = _moves(plan, rng, family_start, district0, origin)

    # -- children: sex, names -------------------------------------------------------------------
    mb = config.multiple_births
    sex_first = rng.random(n) < config.births.male_share
    identical = rng.random(n) < mb.monozygotic_share
    lead = np.cumsum(maternity_size)[child_maternity] - maternity_size[child_maternity]
    is_male = np.where((birth_order > 0) & identical, sex_first[lead], sex_first)
    sex = np.where(is_male, 0, 1).astype(np.int8)  # 0 = M, 1 = F

    child_origin = origin[child_family]
    birth_year = cal.year_month_day(dob)[0]
    forename = _draw_forenames(names, rng, child_origin, sex, birth_year, child_family)
    middle1, middle2 = names.forename_model.draw_middle(
        rng, child_origin, birth_year, sex, forename
    )

    child_surname = surname[child_family]
    child_surname = np.where(sex == 1, names.feminine[child_surname], child_surname)
    hu = honorific_u[child_family]
    for oi, hsex, code, lo, hi in names.honorifics:
        m = (child_origin == oi) & (sex == (0 if hsex == "M" else 1)) & (hu >= lo) & (hu < hi)
        child_surname[m] = code

    # -- school career ----------------------------------------------------------------------------
    entry = cal.reception_entry(dob)
    cohort = cal.academic_cohort(dob)
    if config.birth_years is None:
        leaving = np.full(n, -1, dtype=np.int64)
        group = cal.year_group(dob, plan.census_day)
    else:
        stays = rng.random(n) < config.schools.sixth_form_share
        leave_year = cohort + np.where(stays, 19, 17)
        leaving = cal.sep1(leave_year) - 32  # 31 July of the leaving year
        on_roll = leaving > plan.census_day
        leaving = np.where(on_roll, -1, leaving)
        group = np.where(on_roll, cal.year_group(dob, plan.census_day), -1)
    # The register holds the address of the pupil's last census: today, or when they left.
    as_of = np.where(leaving >= 0, np.minimum(leaving, plan.census_day), plan.census_day)
    address_row = _address_at(history, child_family, as_of)
    address_slot = history["slot"][address_row]
    entry_slot = history["slot"][
        _address_at(history, child_family, np.minimum(entry, plan.census_day))
    ]
    geography = plan.geography
    phase = np.where((group >= 0) & (group <= 6), 0, 1)
    school = _school(plan, geography.district_of(address_slot), phase, child_family, block)
    first_school = _school(
        plan, geography.district_of(entry_slot), np.zeros(n, dtype=np.int64), child_family, block
    )

    multiple = maternity_size[child_maternity] > 1
    result = _Block(n_families=n_fam, n_maternities=len(chosen))
    result.pupil = {
        "family": child_family.astype(np.int64),
        "maternity": np.where(multiple, child_maternity, -1).astype(np.int64),
        "forename": forename,
        "middle1": middle1.astype(np.int32),
        "middle2": middle2.astype(np.int32),
        "surname": child_surname,
        "sex": sex,
        "dob": dob,
        "origin": child_origin,
        "address_slot": address_slot,
        "address_row": address_row,
        "school": school,
        "first_school": first_school,
        "entry": entry,
        "leaving": leaving,
        "year_group": group.astype(np.int16),
    }
    result.history = history
    return result


def _draw_forenames(
    names: NameModel,
    rng: np.random.Generator,
    origin: np.ndarray,
    sex: np.ndarray,
    year: np.ndarray,
    family: np.ndarray,
) -> np.ndarray:
    """Forenames by origin, birth year and sex (ONS lists), re-drawn where a sibling already
    has the same one (parents rarely repeat).

    A child is a repeat when an earlier child (in pupil order) of its family has its name.
    Siblings sit together once sorted by family (stably, so in pupil order), so each child is
    compared with the siblings just before it, one distance at a time, rather than sorting
    every (family, name) pair again on each round.
    """
    draw = names.forename_model.draw_first
    forename = draw(rng, origin, year, sex)
    order = np.argsort(family, kind="stable")
    fam = family[order]
    same_family = []  # per distance d: positions i whose family continues at i + d
    for d in range(1, len(fam)):
        pairs = np.flatnonzero(fam[d:] == fam[:-d])
        if not len(pairs):  # families are contiguous: none this far apart, none further
            break
        same_family.append(pairs)
    for _ in range(8):
        name = forename[order]
        dup = np.zeros(len(family), dtype=bool)
        for d, pairs in enumerate(same_family, start=1):
            later = pairs + d
            dup[order[later[name[later] == name[pairs]]]] = True
        if not dup.any():
            break
        idx = np.flatnonzero(dup)
        forename[idx] = draw(rng, origin[idx], year[idx], sex[idx])
    return forename


def _moves(
    plan: _Plan,
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
    span = np.maximum(plan.census_day - start, 0) / _DAYS_PER_YEAR
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
    when = start[owner] + np.floor(years * _DAYS_PER_YEAR).astype(np.int64) + 1
    # Owners already ascend, so one stable sort of (owner, day) packed in an int64 orders the
    # moves as lexsort would, in fewer passes.
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


def _address_at(history: dict[str, np.ndarray], family: np.ndarray, day: np.ndarray) -> np.ndarray:
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


def _school(
    plan: _Plan, district: np.ndarray, phase: np.ndarray, family: np.ndarray, block: int
) -> np.ndarray:
    """Siblings in one phase and district go to the same school (hash of family and phase)."""
    from matchsim.synth.geography import splitmix64

    fam_key = (np.int64(block) << np.int64(32)) | family.astype(np.int64)
    h = splitmix64(
        splitmix64(fam_key.astype(np.uint64) ^ np.uint64(plan.geography.salt))
        ^ phase.astype(np.uint64)
    )
    count = plan.school_count[district, phase]
    return (
        plan.school_offset[district, phase] + (h % count.astype(np.uint64)).astype(np.int64)
    ).astype(np.int32)


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------

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


@dataclass
class _Finished:
    """A block with its text columns rendered, ready to be joined to the others.

    Everything here depends on the block alone, so it is built in the worker thread that
    drew the block. Only ids and UPN serials need counts from earlier blocks: they are added
    in a second per-block pass (:func:`_block_tables`).
    """

    block: _Block
    pupil_text: dict[str, pa.Array]
    history_text: dict[str, pa.Array]
    entry_year: np.ndarray
    #: distinct (reception school, entry year) keys, each pupil's index into them, the count of
    #: each key and each pupil's 0-based rank among its block's pupils with the same key
    upn_keys: np.ndarray
    upn_inverse: np.ndarray
    upn_counts: np.ndarray
    upn_rank: np.ndarray
    #: 1, 2, ... for each multiple maternity of the block, in order; 0 for singletons
    multiple_local: np.ndarray
    n_multiples: int


_POSITION_BITS = 17  # a block's pupil positions fit: BLOCK_PUPILS <= 1 << 17


def _finish_block(plan: _Plan, block: _Block, middle_text: pa.Array) -> _Finished:
    p = block.pupil
    history_text = plan.geography.render(block.history["slot"])
    rows = pa.array(p["address_row"])
    pupil_text = {k: v.take(rows) for k, v in history_text.items()}
    # Arrow gathers the strings: no Python string objects per pupil.
    blank = len(middle_text) - 1
    m1, m2 = p["middle1"], p["middle2"]
    first_middle = middle_text.take(np.where(m1 >= 0, m1, blank))
    second = m2 >= 0
    pupil_text["middle_names"] = pc.if_else(
        second,
        pc.binary_join_element_wise(
            first_middle, middle_text.take(np.where(second, m2, blank)), " "
        ),
        first_middle,
    )
    entry_year = cal.year_month_day(p["entry"])[0]
    # Rank within each (school, year) in pupil order: sort (key, position) packed in one
    # int64, which is a stable sort of the keys without numpy's slower stable argsort.
    key = p["first_school"].astype(np.int64) * plan.entry_years + (
        entry_year - plan.entry_year_first
    )
    n = len(key)
    packed = np.sort((key << np.int64(_POSITION_BITS)) | np.arange(n, dtype=np.int64))
    order = packed & ((1 << _POSITION_BITS) - 1)
    sorted_keys = packed >> np.int64(_POSITION_BITS)
    new_key = np.ones(n, dtype=bool)
    new_key[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(new_key)
    group_sorted = np.cumsum(new_key) - 1
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[group_sorted]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_sorted
    # Maternity numbers ascend through the block, so numbering multiples 1..M is a running count.
    maternity = p["maternity"]
    multiple = maternity >= 0
    m = maternity[multiple]
    local = np.zeros(n, dtype=np.int64)
    local[multiple] = np.cumsum(np.r_[True, m[1:] != m[:-1]]) if len(m) else m
    return _Finished(
        block=block,
        pupil_text=pupil_text,
        history_text=history_text,
        entry_year=entry_year,
        upn_keys=sorted_keys[starts],
        upn_inverse=inverse,
        upn_counts=np.diff(np.r_[starts, n]),
        upn_rank=rank,
        multiple_local=local,
        n_multiples=int(local.max(initial=0)),
    )


@dataclass(frozen=True)
class _Offsets:
    """Where a block's rows and ids start in the whole register."""

    pupil: int
    family: int
    multiple: int
    #: per UPN key of the block, how many pupils of earlier blocks have it: a pupil's serial is
    #: 1 + that + its rank within the block, which numbers 1, 2, ... within each (reception
    #: school, year of entry) in pupil order, as one global stable sort would
    serial: np.ndarray


def _date32(days: np.ndarray) -> pa.Array:
    mask = days < 0 if days.dtype.kind == "i" and (days == -1).any() else None
    arr = pa.array(days.astype(np.int32), pa.int32(), mask=mask)
    return arr.cast(pa.date32())


def _dictionary(codes: np.ndarray, vocab: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), vocab)


def _block_tables(
    plan: _Plan, f: _Finished, at: _Offsets, vocab: dict[str, pa.Array]
) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """The block's rows of the pupil table and of the address-history table."""
    p, b = f.block.pupil, f.block
    first_school = p["first_school"]
    upn = make_upns(
        plan.school_la[first_school],
        plan.school_estab[first_school],
        f.entry_year % 100,
        at.serial[f.upn_inverse] + f.upn_rank + 1,
    )
    n = len(first_school)
    multiple = f.multiple_local > 0
    school, group = p["school"], p["year_group"]
    pupils = pa.record_batch(
        {
            "pupil_id": np.arange(at.pupil + 1, at.pupil + n + 1, dtype=np.int64),
            "upn": upn,
            "forename": _dictionary(p["forename"], vocab["forename"]),
            "middle_names": f.pupil_text["middle_names"],
            "surname": _dictionary(p["surname"], vocab["surname"]),
            "sex": _dictionary(p["sex"], vocab["sex"]),
            "date_of_birth": _date32(p["dob"]),
            "name_origin": _dictionary(p["origin"], vocab["origin"]),
            "household_id": p["family"] + (at.family + 1),
            "multiple_birth_id": pa.array(
                f.multiple_local + at.multiple, pa.int64(), mask=~multiple
            ),
            "address_id": p["address_slot"],
            "address_line": f.pupil_text["address_line"],
            "town": f.pupil_text["town"],
            "postcode": f.pupil_text["postcode"],
            "school_id": school + 1,
            "first_school_id": first_school + 1,
            "la_number": plan.school_la[school],
            "entry_date": _date32(p["entry"]),
            "leaving_date": _date32(p["leaving"]),
            "year_group": pa.array(group, pa.int8(), mask=group < 0),
        }
    )
    h = b.history
    family = np.repeat(np.arange(b.n_families), h["count"])
    moved_in = h["moved_in"]
    # Families never span blocks, so a block's last row is its last family's last address.
    last_row = np.r_[family[1:] != family[:-1], True]
    moved_out = np.where(last_row, -1, np.r_[moved_in[1:], 0])
    history = pa.record_batch(
        {
            "household_id": family + (at.family + 1),
            "address_seq": (np.arange(len(family)) - h["offset"][family]).astype(np.int16),
            "moved_in": _date32(moved_in),
            "moved_out": _date32(moved_out),
            "address_id": h["slot"],
            "address_line": f.history_text["address_line"],
            "town": f.history_text["town"],
            "postcode": f.history_text["postcode"],
        }
    )
    return pupils, history


@dataclass
class PartitionStart:
    """What the blocks before a partition used up: pupils, families, multiple births and UPN
    serials per (reception school, entry year) key (see :func:`serial_keys`)."""

    pupils: int = 0
    families: int = 0
    multiples: int = 0
    serial_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    serial_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def serial_base(self, first_school: np.ndarray, entry_year: np.ndarray) -> np.ndarray:
        """UPN serials already issued, before this partition, to each pupil's key."""
        if not len(self.serial_keys):
            return np.zeros(len(first_school), np.int64)
        keys = serial_keys(first_school, entry_year)
        pos = np.minimum(np.searchsorted(self.serial_keys, keys), len(self.serial_keys) - 1)
        return np.where(self.serial_keys[pos] == keys, self.serial_counts[pos], 0)


_SERIAL_KEY_YEARS = 10_000


def serial_keys(first_school: np.ndarray, entry_year: np.ndarray) -> np.ndarray:
    """One integer per (reception school, calendar year of entry)."""
    return first_school.astype(np.int64) * _SERIAL_KEY_YEARS + entry_year


def generate_blocks(
    config: CensusConfig, seed: int, block_range: range, **world: int | None
) -> list[_Block]:
    """The blocks of one partition (``world``: ``world_seed``/``world_pupils``, as above)."""
    plan = _plan(config, seed, world.get("world_seed"), world.get("world_pupils"))
    return [_generate_block(plan, b) for b in block_range]


def partition_counts(blocks: list[_Block]) -> PartitionStart:
    """What these blocks use up (summed over earlier partitions, the next one's start)."""
    runs = 0
    keys = []
    for b in blocks:
        m = b.pupil["maternity"][b.pupil["maternity"] >= 0]
        runs += int(np.count_nonzero(np.r_[True, m[1:] != m[:-1]])) if len(m) else 0
        keys.append(serial_keys(b.pupil["first_school"], cal.year_month_day(b.pupil["entry"])[0]))
    uniq, counts = np.unique(
        np.concatenate(keys) if keys else np.zeros(0, np.int64), return_counts=True
    )
    return PartitionStart(
        pupils=sum(len(b.pupil["family"]) for b in blocks),
        families=sum(b.n_families for b in blocks),
        multiples=runs,
        serial_keys=uniq.astype(np.int64),
        serial_counts=counts.astype(np.int64),
    )


def generate_census_tables(
    config: CensusConfig,
    seed: int,
    *,
    chunk_size: int,
    workers: int,
    progress: ProgressCallback | None,
    world_seed: int | None = None,
    world_pupils: int | None = None,
    block_range: range | None = None,
    start: PartitionStart | None = None,
    prebuilt: list[_Block] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Build the pupil table and the address-history table (see :func:`matchsim.synth.generate_census`).

    Each block is drawn and rendered (addresses, middle names) in a worker thread, then turned
    into record batches in a second parallel pass once the ids of earlier blocks are known.
    The tables are those batches, one per block, so joining the blocks copies nothing.

    ``block_range`` builds only those blocks: one partition of the register, whose ids, UPN
    serials and multiple-birth ids continue from ``start`` (the counts of earlier blocks, see
    :func:`partition_counts`), so that partitions concatenated equal the whole register.
    ``prebuilt`` passes that partition's blocks when they were already generated.
    """
    plan = _plan(config, seed, world_seed, world_pupils)
    names = plan.names
    wanted = range(len(plan.block_targets)) if block_range is None else block_range
    if start is None and len(wanted) and wanted[0] > 0:
        # Ids, UPN serials and multiple-birth ids would restart from 1: duplicates, silently.
        raise ValueError(
            f"block_range starting at block {wanted[0]} needs start= (the counts of the earlier "
            "blocks, see partition_counts)"
        )
    if prebuilt is not None and len(prebuilt) != len(wanted):
        raise ValueError(f"prebuilt holds {len(prebuilt)} blocks but block_range has {len(wanted)}")
    start = start if start is not None else PartitionStart()
    n_blocks = len(wanted)
    finished: list[_Finished | None] = [None] * n_blocks
    # Extra stages after the blocks: ids and UPNs, then the tables.
    total_steps = n_blocks + 2
    done = 0

    def step(k: int = 1) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total_steps)

    per_chunk = max(1, chunk_size // BLOCK_PUPILS)
    chunks = [list(range(i, min(i + per_chunk, n_blocks))) for i in range(0, n_blocks, per_chunk)]
    middle_text = pa.array(np.append(names.forenames, ""), pa.string())
    vocab = {
        "forename": pa.array(names.forenames, pa.string()),
        "surname": pa.array(names.surnames, pa.string()),
        "sex": pa.array(["M", "F"], pa.string()),
        "origin": pa.array(list(names.origins), pa.string()),
    }

    # Units of work are handed out in order. A block's tables need the counts of every earlier
    # block (ids, UPN serials), so as soon as the blocks before it are drawn its offsets are
    # set and its tables become a task, which threads take before drawing further blocks.
    cond = threading.Condition()
    next_chunk = 0
    failed = False
    ready: deque[int] = deque()
    prefix = 0  # blocks 0 .. prefix-1 have their offsets
    offsets: list[_Offsets | None] = [None] * n_blocks
    batches: list[tuple[pa.RecordBatch, pa.RecordBatch] | None] = [None] * n_blocks
    serial_running = np.zeros(len(plan.school_la) * plan.entry_years, dtype=np.int64)
    if len(start.serial_keys):  # serials issued by earlier partitions
        school, year = np.divmod(start.serial_keys, _SERIAL_KEY_YEARS)
        np.add.at(
            serial_running,
            school * plan.entry_years + (year - plan.entry_year_first),
            start.serial_counts,
        )
    # pupils, families, multiple maternities before block ``prefix``
    running = [start.pupils, start.families, start.multiples]

    def release_offsets() -> None:
        nonlocal prefix
        while prefix < n_blocks and finished[prefix] is not None:
            f = finished[prefix]
            assert f is not None
            offsets[prefix] = _Offsets(*running, serial_running[f.upn_keys].copy())
            serial_running[f.upn_keys] += f.upn_counts
            running[0] += len(f.upn_inverse)
            running[1] += f.block.n_families
            running[2] += f.n_multiples
            ready.append(prefix)
            prefix += 1
        cond.notify_all()

    def next_task() -> tuple[int | None, list[int] | None]:
        nonlocal next_chunk
        with cond:
            while True:
                if failed:
                    return None, None
                if ready:
                    return ready.popleft(), None
                if next_chunk < len(chunks):
                    next_chunk += 1
                    return None, chunks[next_chunk - 1]
                if prefix >= n_blocks:
                    return None, None
                cond.wait()  # blocks still being drawn will release more tables

    def work() -> None:
        nonlocal failed
        try:
            while True:
                table_block, chunk = next_task()
                if table_block is not None:
                    f, at = finished[table_block], offsets[table_block]
                    assert f is not None and at is not None
                    batches[table_block] = _block_tables(plan, f, at, vocab)
                    finished[table_block] = None  # its offsets are set: nothing else reads it
                elif chunk is not None:
                    for b in chunk:
                        block = (
                            prebuilt[b]
                            if prebuilt is not None
                            else _generate_block(plan, wanted[b])
                        )
                        drawn = _finish_block(plan, block, middle_text)
                        with cond:
                            finished[b] = drawn
                            release_offsets()
                    events.put(len(chunk))
                else:
                    return
        except BaseException:
            with cond:
                failed = True
                cond.notify_all()
            raise

    # Progress is reported from this thread only, as the workers finish units.
    events: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(work) for _ in range(workers)]
            for future in futures:
                future.add_done_callback(lambda _: events.put(None))
            running_workers = workers
            while running_workers:
                event = events.get()
                if event is None:
                    running_workers -= 1
                else:
                    step(event)
            for future in futures:
                future.result()
    else:
        work()
        while not events.empty():
            event = events.get()
            if event is not None:
                step(event)
    step()
    tables = [b for b in batches if b is not None]
    pupils = pa.Table.from_batches([b[0] for b in tables])
    addresses = pa.Table.from_batches([b[1] for b in tables])
    step()
    return pupils, addresses
