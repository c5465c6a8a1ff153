"""What every block of a run shares: the calendar, births density, names, geography, schools
and each block's size and quotas, built once per run by :func:`build_plan`.

Random streams: every draw of a run comes from ``SeedSequence(seed, spawn_key=(stream, ...))``
with one of the ``SEED_*`` streams below, so the streams never overlap, and a block's draws
depend only on (seed, block index) (see :func:`matchsim.synth.census.blocks.generate_block`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from matchsim.synth import calendar as cal
from matchsim.synth.census.search import GuidedSearch
from matchsim.synth.config import NATIONAL_PUPILS_2024, CensusConfig, NamesConfig
from matchsim.synth.geography import Geography, build_geography
from matchsim.synth.names import NameModel, build_name_model
from matchsim.synth.sampling import GroupedSampler

#: Pupils per block: the unit of randomness (one stream each) and of work.
BLOCK_PUPILS = 1 << 16
DAYS_PER_YEAR = 365.2425
#: Families may start up to this long before the register's first birthday, so that the
#: earliest cohorts have older siblings as later ones do.
SIBLING_WINDOW_YEARS = 14
#: Spawn keys of the run's random streams: the geography, one per block, the origins'
#: clustering over districts.
SEED_GEOGRAPHY, SEED_BLOCK, SEED_CLUSTER = 0, 1, 2


@dataclass(frozen=True)
class CensusPlan:
    """Everything blocks share; built once per run and only read afterwards."""

    config: CensusConfig
    seed: int
    pupils: int
    calendar: cal.BirthCalendar
    segment_share: np.ndarray
    census_day: int
    ext_days: np.ndarray
    ext_cumulative: np.ndarray
    ext_search: GuidedSearch  # searchsorted into ext_cumulative
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


def name_model(config: NamesConfig) -> NameModel:
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


def build_plan(
    config: CensusConfig, seed: int, world_seed: int | None = None, world_pupils: int | None = None
) -> CensusPlan:
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
    ext_start = calendar.window_start - int(SIBLING_WINDOW_YEARS * DAYS_PER_YEAR)
    ext_days = np.arange(ext_start, calendar.window_end, dtype=np.int64)
    years, months, mdays = cal.year_month_day(ext_days)
    profile = cal.day_profile(config.births)
    density = cal.year_weights(config.births, years) * profile[cal.profile_index(months, mdays)]
    ext_cumulative = np.cumsum(density)
    ext_cumulative /= ext_cumulative[-1]
    all_years = np.arange(years[0], years[-1] + 1)
    year_lo = np.searchsorted(years, all_years, side="left")
    year_hi = np.searchsorted(years, all_years, side="right")

    names = name_model(config.names)
    world_seed = seed if world_seed is None else world_seed
    world_pupils = pupils if world_pupils is None else world_pupils
    expected_households = int(world_pupils / config.families.mean_children * 2)
    geography = build_geography(
        np.random.SeedSequence(world_seed, spawn_key=(SEED_GEOGRAPHY,)), expected_households
    )
    geography.warm_text()  # once here, not raced by the worker threads' first blocks

    cluster_rng = np.random.default_rng(
        np.random.SeedSequence(world_seed, spawn_key=(SEED_CLUSTER,))
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
    return CensusPlan(
        config=config,
        seed=seed,
        pupils=pupils,
        calendar=calendar,
        segment_share=segment_share,
        census_day=cal.date_to_days(config.census_date),
        ext_days=ext_days,
        ext_cumulative=ext_cumulative,
        ext_search=GuidedSearch.build(ext_cumulative),
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
