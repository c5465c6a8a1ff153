"""One block of the register: its families, children, names, addresses and schools, drawn
from the block's own random stream as numpy columns with block-local ids."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matchsim.hashing import splitmix64
from matchsim.synth import calendar as cal
from matchsim.synth.census.families import (
    Births,
    address_at,
    draw_families,
    draw_moves,
    select_children,
)
from matchsim.synth.census.plan import (
    DAYS_PER_YEAR,
    SEED_BLOCK,
    SIBLING_WINDOW_YEARS,
    CensusPlan,
    build_plan,
)
from matchsim.synth.config import CensusConfig
from matchsim.synth.names import NameModel

#: Families drawn for a block, as a multiple of what its target needs on average, so that its
#: quotas can usually be met from the first draw (more families are drawn when they cannot).
_OVERSAMPLE = 1.3


@dataclass
class Block:
    """Columns of one block (numpy, block-local ids)."""

    pupil: dict[str, np.ndarray] = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    n_families: int = 0
    n_maternities: int = 0


def generate_block(plan: CensusPlan, block: int) -> Block:
    """Block ``block`` of the run: every draw comes from the stream of (seed, block), so a
    block is the same whichever thread or process draws it, and in whatever order."""
    rng = np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(SEED_BLOCK, block)))
    target = int(plan.block_targets[block])
    quotas = plan.block_quotas[block]
    window_years = (plan.calendar.window_end - plan.calendar.window_start) / DAYS_PER_YEAR
    share_inside = window_years / (window_years + SIBLING_WINDOW_YEARS)
    n_families = (
        int(target * _OVERSAMPLE / (plan.config.families.mean_children * share_inside)) + 64
    )
    births = draw_families(plan, rng, n_families)
    chosen = select_children(plan, rng, births, target, quotas)
    while chosen is None:
        extra = draw_families(plan, rng, n_families // 2 + 64)
        births = Births(
            family=np.concatenate([births.family, extra.family + n_families]),
            day=np.concatenate([births.day, extra.day]),
            size=np.concatenate([births.size, extra.size]),
        )
        n_families += n_families // 2 + 64
        chosen = select_children(plan, rng, births, target, quotas)

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
    history = draw_moves(plan, rng, family_start, district0, origin)

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
    address_row = address_at(history, child_family, as_of)
    address_slot = history["slot"][address_row]
    entry_slot = history["slot"][
        address_at(history, child_family, np.minimum(entry, plan.census_day))
    ]
    geography = plan.geography
    phase = np.where((group >= 0) & (group <= 6), 0, 1)
    school = _school(plan, geography.district_of(address_slot), phase, child_family, block)
    first_school = _school(
        plan, geography.district_of(entry_slot), np.zeros(n, dtype=np.int64), child_family, block
    )

    multiple = maternity_size[child_maternity] > 1
    result = Block(n_families=n_fam, n_maternities=len(chosen))
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


def generate_blocks(
    config: CensusConfig, seed: int, block_range: range, **world: int | None
) -> list[Block]:
    """The blocks of one partition (``world``: ``world_seed``/``world_pupils``, as in
    :func:`matchsim.synth.census.plan.build_plan`)."""
    plan = build_plan(config, seed, world.get("world_seed"), world.get("world_pupils"))
    return [generate_block(plan, b) for b in block_range]


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


def _school(
    plan: CensusPlan, district: np.ndarray, phase: np.ndarray, family: np.ndarray, block: int
) -> np.ndarray:
    """Siblings in one phase and district go to the same school (hash of family and phase)."""
    fam_key = (np.int64(block) << np.int64(32)) | family.astype(np.int64)
    h = splitmix64(
        splitmix64(fam_key.astype(np.uint64) ^ np.uint64(plan.geography.salt))
        ^ phase.astype(np.uint64)
    )
    count = plan.school_count[district, phase]
    return (
        plan.school_offset[district, phase] + (h % count.astype(np.uint64)).astype(np.int64)
    ).astype(np.int32)
