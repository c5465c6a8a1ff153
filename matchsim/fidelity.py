"""How closely a synthetic register matches the published figures it is meant to reproduce.

:func:`fidelity_rows` measures a register (and, optionally, requests drawn from it) and sets
each figure beside its published counterpart, with the source and a tolerance, and a verdict:

``pass``/``FAIL``
    within / outside the tolerance;
``n/a``
    the register cannot show it (e.g. a census of pupils on roll holds no adults' childhood
    moves, or no cohort of the reference year);
``info``
    no published figure to compare with: shown for what it is.

Tolerances allow for sampling at a register of about 200,000 pupils or more; smaller registers
fail some rows by chance alone. ``matchsim fidelity`` renders the table, ``matchsim generate``
prints it after its summary, and the HTML report carries it (see docs/fidelity.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.synth import Census
from matchsim.synth import calendar as cal
from matchsim.synth.census.plan import register_size
from matchsim.synth.config import BirthsConfig, MultipleBirthsConfig
from matchsim.synth.mobility import MOVER_TARGETS, mover_statistics
from matchsim.synth.surname_targets import anchor_targets

_DAY = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class FidelityRow:
    """One measure: generated beside published."""

    group: str
    measure: str
    generated: float
    published: float
    #: allowed difference: absolute (same unit as the values) or relative (a share of published)
    tolerance: float | None
    relative: bool
    source: str
    unit: str = "share"  # share | ratio | count | number
    #: why the row cannot be judged, if it cannot ("n/a")
    not_applicable: str = ""

    @property
    def status(self) -> str:
        if self.not_applicable:
            return "n/a"
        if self.tolerance is None or not np.isfinite(self.published):
            return "info"
        if not np.isfinite(self.generated):
            return "n/a"
        allowed = self.tolerance * abs(self.published) if self.relative else self.tolerance
        return "pass" if abs(self.generated - self.published) <= allowed else "FAIL"

    @property
    def tolerance_text(self) -> str:
        if self.tolerance is None:
            return "-"
        if self.relative:
            return f"±{self.tolerance:.0%}"
        if self.unit == "share":
            return f"±{100 * self.tolerance:.2g} pts"
        return "±" + self.format(self.tolerance)

    def format(self, value: float) -> str:
        if not np.isfinite(value):
            return "-"
        if self.unit == "count":
            return f"{value:,.0f}"
        if self.unit == "ratio":
            return f"{value:.3g}"
        if self.unit == "number":
            return f"{value:.2f}"
        return f"{value:.2%}" if abs(value) < 0.1 else f"{value:.1%}"

    def as_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "measure": self.measure,
            "generated": self.generated,
            "published": self.published,
            "tolerance": self.tolerance,
            "relative": self.relative,
            "status": self.status,
            "source": self.source,
            "note": self.not_applicable,
        }


# Published figures not held in a shipped table (each with its source; see docs/fidelity.md).
NATIONAL_PUPILS_SOURCE = "DfE, Schools, pupils and their characteristics, Jan 2024 (9,092,073)"
BIRTHS_SOURCE = "ONS live births, England and Wales (matchsim/data/births_by_year.csv)"
DAY_PEAK, DAY_TROUGH = 1974.0, 1359.0  # 26 Sep and 26 Dec, average births, ONS 1995-2014
DAY_SOURCE = "ONS births by day 1995-2014: 26 Sep about 1,974, Boxing Day about 1,359"
MULTIPLE_SOURCE = "ONS birth characteristics (multiple maternities per 1,000)"
FAMILY_SIZE = 1.7
FAMILY_SOURCE = (
    "ONS Families and Households 2012: 1.7 dependent children (under 16, or 16-18 in full-time "
    "education) per family with dependent children"
)
#: Ages of dependent children in ONS's definition: under 16, or 16-18 in full-time education.
DEPENDENT_UNDER, EDUCATION_UNDER = 16, 19
# ONS baby names 2008 (FACTS): top 1, 10 and 100 names' shares, boys and girls.
FORENAME_2008 = {"M": (0.022, 0.164, 0.577), "F": (0.015, 0.128, 0.474)}
# Chance two boys of one cohort share a forename (issue 15, from the ONS full lists).
BOYS_COLLISION = {1996: 0.0113, 2011: 0.0058}
FORENAME_SOURCE = "ONS baby names, England and Wales"
SMITH_ADULTS = 0.012
#: The FACTS anchors compared (adults on the GB 1998 electoral roll, Tucker, Nomina 27, 2004).
ANCHOR_NAMES = ("Patel", "Begum", "Khan", "Singh", "Hussain", "Ali", "Kaur", "Ahmed")
SURNAME_SOURCE = "1996-98 electoral registers: Smith 1.20% of adults; counts of 42M adults"


@cache
def ons_forenames() -> pd.DataFrame | None:
    """ONS full baby-name lists 1996-2020 (year, sex, name, n) if the package ships them."""
    path = resources.files("matchsim.data").joinpath("names/ons_forenames.parquet")
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    with resources.as_file(path) as real:
        table = pq.read_table(real, columns=["year", "sex", "name", "n"])
    frame = table.to_pandas()
    frame["sex"] = frame["sex"].astype(str)
    return frame


def name_stats(counts: np.ndarray) -> tuple[float, float, float, float]:
    """Top-1, top-10 and top-100 shares and the same-name probability of a count vector."""
    counts = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    total = counts.sum()
    if total < 2:
        return (float("nan"),) * 4
    shares = np.cumsum(counts) / total
    # Unbiased: the chance two different children drawn without replacement share the name.
    collision = float((counts * (counts - 1)).sum() / (total * (total - 1)))
    return (
        float(shares[0]),
        float(shares[min(9, len(shares) - 1)]),
        float(shares[min(99, len(shares) - 1)]),
        collision,
    )


def _row(
    group: str,
    measure: str,
    gen: float,
    pub: float,
    tol: float | None,
    rel: bool,
    source: str,
    unit: str = "share",
    na: str = "",
) -> FidelityRow:
    return FidelityRow(group, measure, float(gen), float(pub), tol, rel, source, unit, na)


def population_rows(census: Census) -> list[FidelityRow]:
    p = census.pupils
    config = census.config
    national = register_size(config.model_copy(update={"pupils": None}))
    source = (
        NATIONAL_PUPILS_SOURCE
        if config.birth_years is None
        else BIRTHS_SOURCE + (", born in the register's years and at school by the census date")
    )
    rows = [
        _row(
            "population",
            "pupils (national density)",
            p.num_rows,
            national,
            0.05,
            True,
            source,
            "count",
        )
    ]
    born = p["date_of_birth"]
    birth_year, month, mday = (
        fn(born).to_numpy(zero_copy_only=False) for fn in (pc.year, pc.month, pc.day)
    )
    years = np.array([birth_year.min(), birth_year.max()])
    census_year = config.census_date.year
    if config.birth_years is None:
        # Whole calendar years of compulsory school age on the census day (ages 5-15).
        full = np.arange(census_year - 15, census_year - 5)
    else:
        first, last = config.birth_years
        full = np.arange(first, min(last, census_year - 5) + 1)
    full = full[(full > years[0]) & (full < years[1])]
    if len(full) >= 2:
        inside = birth_year[(birth_year >= full[0]) & (birth_year <= full[-1])] - full[0]
        gen = np.bincount(inside, minlength=len(full)).astype(float)
        pub = cal.year_weights(BirthsConfig(), full)
        deviation = np.max(np.abs((gen / gen.sum()) / (pub / pub.sum()) - 1))
        rows.append(
            _row(
                "population",
                f"births by year {full[0]}-{full[-1]}: largest relative gap",
                deviation,
                0.0,
                0.05,
                False,
                BIRTHS_SOURCE,
            )
        )
    peak = np.count_nonzero((month == 9) & (mday == 26))
    trough = np.count_nonzero((month == 12) & (mday == 26))
    rows.append(
        _row(
            "population",
            "births 26 Sep / 26 Dec",
            peak / trough if trough else np.nan,
            DAY_PEAK / DAY_TROUGH,
            0.15,
            True,
            DAY_SOURCE,
            "ratio",
        )
    )
    span = np.arange(years[0], years[1] + 1)
    weights = cal.year_weights(BirthsConfig(), span)
    mb = MultipleBirthsConfig()
    rate = cal.multiple_rate(mb, span)
    per_child = rate * (2 + mb.triplet_share) / (1 + rate * (1 + mb.triplet_share))
    twins = p["multiple_birth_id"].is_valid().to_numpy(zero_copy_only=False).mean()
    rows.append(
        _row(
            "population",
            "twins and triplets",
            twins,
            float((per_child * weights).sum() / weights.sum()),
            0.10,
            True,
            MULTIPLE_SOURCE,
        )
    )
    rows.append(dependent_children_row(p))
    # Depends on density, so on the whole register. The summary computes it once (vectorised,
    # on integer codes) and caches it.
    rows.append(
        _row(
            "population",
            "pupils sharing forename, surname and DOB",
            census.summary().same_name_and_dob_share,
            np.nan,
            None,
            False,
            "no published figure (issue 15 measured 0.85% at 16M pupils on main)",
        )
    )
    return rows


def dependent_children_row(pupils: pa.Table) -> FidelityRow:
    """Dependent children per family with dependent children on one day, as ONS counts them.

    The day is the register's last birthday, the latest day on which a register of birth years
    holds every child of a dependent age (everyone born later is missing); a child is dependent
    when under 16, or 16-18 and still on the school roll (ONS also counts 16-18-year-olds at
    college, whom the register does not hold, so this is a slight undercount). Counting every
    child a family has in the register instead compares completed sibling sets over twenty-odd
    years with ONS's snapshot of one day. ``n/a`` when the register lacks an age 0-18 on that
    day (a census of pupils on roll holds no one under 4).
    """
    measure = "dependent children per family with any, on the last birthday"
    dob = pupils["date_of_birth"].cast(pa.int32()).to_numpy().astype(np.int64)
    if not len(dob):
        return _row("population", measure, np.nan, FAMILY_SIZE, 0.10, True, FAMILY_SOURCE, "number")
    day = int(dob.max())
    age = (day - dob) / 365.25
    dependent = age < DEPENDENT_UNDER
    if "leaving_date" in pupils.column_names:
        leaving = pupils["leaving_date"].cast(pa.int32()).to_numpy(zero_copy_only=False)
        on_roll = np.isnan(leaving.astype(np.float64)) | (leaving > day)
        dependent |= (age < EDUCATION_UNDER) & on_roll
    sizes = np.bincount(pupils["household_id"].to_numpy()[dependent])
    na = ""
    if age.max() < EDUCATION_UNDER:
        na = "register lacks children of some ages 0-18 on its last birthday"
    on = _DAY + dt.timedelta(days=day)
    return _row(
        "population",
        f"{measure} ({on:%d %b %Y})",
        sizes[sizes > 0].mean(),
        FAMILY_SIZE,
        # Sampling moves it by about 0.01 at 200,000 pupils.
        0.10,
        True,
        FAMILY_SOURCE,
        "number",
        na,
    )


def mover_rows(census: Census) -> list[FidelityRow]:
    p, a = census.pupils, census.addresses
    if a.num_rows == 0 or "moved_in" not in a.column_names:
        return []
    births = census.config.births
    stats = mover_statistics(
        p, a, census.config.census_date, lambda years: cal.year_weights(births, years)
    ).as_dict()
    # The ten-year window ends 4 years before the census. Children under 18 for all of it were
    # born 22-32 years before the census (ten_year). The share of moves at ages 0-5 weights the
    # register's moves per child-year at each age 0-17 in the window by everyone's child-years
    # at that age, so it needs children of every age in it, down to those aged 17 at its end,
    # born 21 years before the census. A register without them (a census of pupils on roll)
    # cannot show these two measures.
    dob_min = _DAY + dt.timedelta(days=int(pc.min(p["date_of_birth"].cast(pa.int32())).as_py()))
    day = census.config.census_date
    need = {"ten_year": 22, "moves_age_0_5": 21}
    rows = []
    for key, target in MOVER_TARGETS.items():
        na = ""
        if key in need and dob_min > day.replace(year=day.year - need[key], day=min(day.day, 28)):
            na = f"register lacks children born {need[key]}+ years before the census"
        elif key == "one_year" and not np.isfinite(stats[key]):
            na = "register lacks children of some ages 1-17 on any day"
        rows.append(
            _row(
                "moves",
                target.name,
                stats[key],
                target.value,
                target.tolerance,
                False,
                target.source,
                na=na,
            )
        )
    return rows


def forename_rows(census: Census, cohorts: int = 3) -> list[FidelityRow]:
    p = census.pupils
    keys = pa.table(
        {
            "year": pc.year(p["date_of_birth"]),
            "sex": p["sex"].cast(pa.string()),
            "name": p["forename"].cast(pa.string()),
        }
    )
    # Arrow's hash aggregation: one multi-threaded pass, no Python per pupil.
    grouped = keys.group_by(["year", "sex", "name"]).aggregate([([], "count_all")]).to_pandas()
    generated = grouped.set_index(["year", "sex", "name"])["count_all"].sort_index()
    ons = ons_forenames()
    present = sorted(set(generated.index.get_level_values(0)))
    rows = []
    if ons is not None:
        years = [y for y in present if 1996 <= y <= 2020]
        picks = sorted({years[0], years[len(years) // 2], years[-1]}) if years else []
        source = FORENAME_SOURCE + " (full lists, matchsim/data/names/ons_forenames.parquet)"
        reference = {
            (y, s): name_stats(ons.loc[(ons["year"] == y) & (ons["sex"] == s), "n"].to_numpy())
            for y in picks[:cohorts]
            for s in ("M", "F")
        }
    else:
        picks = [y for y in (1996, 2008, 2011) if y in present]
        source = FORENAME_SOURCE
        reference = {}
        for y in picks:
            for s in ("M", "F"):
                top = FORENAME_2008.get(s) if y == 2008 else None
                coll = BOYS_COLLISION.get(y) if s == "M" else None
                reference[(y, s)] = (
                    *(top if top else (np.nan,) * 3),
                    coll if coll is not None else np.nan,
                )
    labels = (
        "top name's share",
        "top 10 names' share",
        "top 100 names' share",
        "chance two share a forename",
    )
    tolerances = (0.15, 0.10, 0.10, 0.10)
    for (year, sex), ref in reference.items():
        try:
            counts = generated.loc[(year, sex)].to_numpy()
        except KeyError:
            continue
        gen = name_stats(counts)
        who = "boys" if sex == "M" else "girls"
        for label, g, r, tol in zip(labels, gen, ref, tolerances, strict=True):
            if not np.isfinite(r):
                continue
            rows.append(
                _row(
                    "forenames", f"{who} born {year}: {label}", g, r, tol, True, f"{source} {year}"
                )
            )
    return rows


def surname_rows(census: Census) -> list[FidelityRow]:
    sur = census.pupils["surname"].cast(pa.string())
    counts = pc.value_counts(sur)
    names = counts.field("values").to_pylist()
    n = dict(zip(names, counts.field("counts").to_numpy(), strict=True))
    total = census.pupils.num_rows
    smith = n.get("Smith", 0)
    rows = [
        _row("surnames", "Smith's share", smith / total, SMITH_ADULTS, 0.30, True, SURNAME_SOURCE)
    ]
    # The anchors are adults' counts; children of minority traditions are a larger share of
    # pupils than of 1998's adults, so each is compared with its ratio carried to the children
    # (matchsim.synth.surname_targets.anchor_targets, docs/world.md "The anchors").
    targets = anchor_targets(census.config.names)
    for name in ANCHOR_NAMES:
        if name not in targets.index:
            continue
        published = float(targets.loc[name, "target_ratio"])
        gen = n.get(name, 0) / smith if smith else np.nan
        rows.append(
            _row(
                "surnames",
                f"{name} per Smith (children)",
                gen,
                published,
                0.20,
                True,
                SURNAME_SOURCE + "; Tucker, Nomina 27 (2004); carried to children by each "
                "tradition's pupil/adult share (DfE 2024, 1991 Census)",
                "ratio",
            )
        )
    return rows


def request_rows(census: Census, seed: int = 0) -> list[FidelityRow]:
    """Realised disagreement of research_linkage requests against Hagger-Johnson and ALSPAC."""
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.requests.disagreement import RESEARCH_LINKAGE_TARGETS, field_disagreement

    count = min(10_000, census.pupils.num_rows // 2)
    if count < 100:
        return []
    requests = generate_requests(
        census, RequestConfig(profile="research_linkage", count=count), seed=seed
    )
    got = field_disagreement(requests.table, census.pupils)
    return [
        _row(
            "request errors",
            f"research_linkage: {t.field}",
            got[key],
            t.value,
            t.tolerance,
            False,
            t.source,
        )
        for key, t in RESEARCH_LINKAGE_TARGETS.items()
    ]


#: Sections measured on the whole register, and on a sample of whole households.
WHOLE: dict[str, Callable[[Census], list[FidelityRow]]] = {"population": population_rows}
SAMPLED: dict[str, Callable[[Census], list[FidelityRow]]] = {
    "moves": mover_rows,
    "forenames": forename_rows,
    "surnames": surname_rows,
}
#: Pupils the sampled sections measure at most: plenty for shares of a few per cent, and keeps
#: the table to seconds on a national register.
MAX_SAMPLE = 1_000_000
_SAMPLED_COLUMNS = ["household_id", "date_of_birth", "sex", "forename", "surname"]


def household_sample(census: Census, max_pupils: int = MAX_SAMPLE) -> Census:
    """The register's first households holding about ``max_pupils`` pupils, with their address
    histories. Households are numbered block by block and every block is a small register of
    the same make-up, so a prefix of households is a representative sample (whole families,
    so siblings and moves stay intact)."""
    if census.pupils.num_rows <= max_pupils:
        return census
    head = census.pupils.slice(0, max_pupils)["household_id"]
    last = pc.max(head).as_py()
    # Only the columns the sampled sections read: filtering every text column would cost more
    # than the measures.
    pupils = census.pupils.select(_SAMPLED_COLUMNS)
    addresses = census.addresses
    if addresses.num_rows:
        addresses = addresses.select(["household_id", "address_seq", "moved_in"])
        addresses = addresses.filter(pc.less_equal(addresses["household_id"], last))
    return Census(
        pupils=pupils.filter(pc.less_equal(pupils["household_id"], last)),
        addresses=addresses,
        config=census.config,
        seed=census.seed,
    )


def fidelity_rows(
    census: Census, *, include_requests: bool = True, seed: int = 0, max_sample: int = MAX_SAMPLE
) -> list[FidelityRow]:
    """Every fidelity row of a register (vectorised; request rows draw 10,000 requests).

    Population rows use the whole register; moves and names a sample of at most
    ``max_sample`` pupils in whole households (:func:`household_sample`)."""
    sample = household_sample(census, max_sample)
    rows = [row for section in WHOLE.values() for row in section(census)]
    rows += [row for section in SAMPLED.values() for row in section(sample)]
    if include_requests:
        rows += request_rows(census, seed=seed)
    return rows
