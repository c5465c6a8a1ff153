"""Surname frequencies by naming tradition, anchored to published counts.

Every tradition's list has three parts (docs/world.md (Surnames and name origins) gives each list's sources):

1. **Anchored names**, whose share among the tradition's children follows from a published adult
   count (``matchsim/data/surname_anchors.csv``: Smith 1.20% of adults, Patel 88,110 adults, ...)
   or a national register count (``surname_heads.csv``: Polish PESEL, Turkish NVIGM).
2. **Ranked names**, whose order but not frequency is known (a shipped list in order of commonness,
   a Faker list weighted by frequency).
3. **The rest**, placed in a stable hash order: Faker's unweighted lists are alphabetical, and an
   alphabetical rank would make "Aanei" the commonest Romanian surname.

Parts 2 and 3 share the mass the anchors leave, by a Zipf-Mandelbrot law
``p(r) ~ (r + q) ** -SURNAME_TAIL_EXPONENT`` whose offset ``q`` makes the tail continue below the
last anchored share (or, for a tradition with no anchor, start at an assumed top share).

**From adults to children.** The anchors count adults on the 1996-98 electoral registers. A
surname with ``count`` adults, carried by traditions ``T``, has the same share of adults in each
of them: ``count / (sum of a_o for o in T) / ADULTS_1998`` where ``a_o`` is tradition o's share of
adults (1991 Census, ``name_origin_shares.csv``). The assumption that carries it to children:
surnames pass from parents to children, so a surname's share *within a tradition* is the same
among children as among adults. What changes between the generations is the traditions' weights:
children come from the DfE 2024 pupil ethnicity shares. Relative to Smith, a surname's share among
children is therefore its published ratio times ``(c_o / a_o) / (c_british / a_british)`` (plus
any share it has in traditions absent from the 1998 registers, such as Somali Ali):
:func:`anchor_targets` computes both parts.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from matchsim.data import load_table
from matchsim.errors import ConfigError
from matchsim.synth.config import NamesConfig

#: Adults on the GB electoral roll of 1998 that the anchor counts are out of. Source: the GB 1998
#: electoral-roll CD "listing 42 million names" (Guild of One-Name Studies, "Electoral Rolls"); the
#: UK parliamentary electorate was 43,846,152 in 1997, of which Northern Ireland about 1.2 million.
ADULTS_1998 = 42_000_000

#: Share of births that are boys (ONS birth characteristics, about 105 boys per 100 girls); used to
#: turn the per-sex honorific rates into a tradition's share of children.
MALE_SHARE = 0.512

#: Share of the adults on the 1998 registers who are women (an assumption: the registers hold the
#: sexes about equally, as the adult population does).
ADULT_FEMALE_SHARE = 0.5

#: Exponent of the Zipf-Mandelbrot law over the unanchored part of every list. An assumption: the
#: published national lists (Polish PESEL, Turkish NVIGM, GB electoral roll) fall off with rank with
#: an exponent near 1 below their top few names.
SURNAME_TAIL_EXPONENT = 1.0

#: Honorifics recorded as surnames. They are applied per family and sex
#: (``honorific_surnames.csv``), never drawn as a family name, so that a boy is never "Begum" and
#: a girl never "Singh".
HONORIFIC_SURNAMES = frozenset({"Begum", "Bibi", "Kaur", "Khatun", "Singh"})


@dataclass(frozen=True)
class SurnameSource:
    """Where one tradition's surnames come from."""

    #: Faker locales whose ``last_names`` join the list (weighted ones count as ranked).
    locales: tuple[str, ...] = ()
    #: A shipped list in ``matchsim/data/names/`` (rows of kind ``surname``), in order of commonness.
    shipped_list: str | None = None
    #: Faker locales whose unweighted list is nevertheless in order of frequency.
    ranked_locales: tuple[str, ...] = ()
    #: For a tradition with no anchored name: the assumed share of its commonest surname.
    top_share: float | None = None
    #: Where that top share comes from.
    top_share_source: str = ""


#: The built-in traditions' surname sources. Any other origin is a Faker locale (validated by
#: :func:`matchsim.synth.origins.resolve_origin`) and uses that locale's list.
SURNAME_SOURCES: dict[str, SurnameSource] = {
    "british": SurnameSource(("en_GB", "en_NZ", "en_US", "en_IE")),
    "indian": SurnameSource(("en_IN",)),
    "pakistani": SurnameSource(("en_PK",), "pakistani"),
    "bangladeshi": SurnameSource((), "bangladeshi"),
    "punjabi_sikh": SurnameSource((), "punjabi_sikh"),
    "arabic": SurnameSource(
        (),
        "arabic",
        top_share=0.05,
        top_share_source="assumption: patronymic surnames (Ali, Hassan, Ahmed) cluster, "
        "but less than in the Pakistani list",
    ),
    "somali": SurnameSource(
        (),
        "somali",
        top_share=0.08,
        top_share_source="assumption: Somali surnames are fathers' given names, led by Mohamed",
    ),
    "polish": SurnameSource(("pl_PL",), ranked_locales=("pl_PL",)),
    "romanian": SurnameSource(
        ("ro_RO",),
        top_share=0.01,
        top_share_source="assumption: Popa, the commonest Romanian surname, near 1% as Nowak "
        "(0.53%) and Yilmaz (1.85%) in the neighbouring national registers",
    ),
    "turkish": SurnameSource(("tr_TR",)),
    "west_african": SurnameSource(
        ("yo_NG", "ig_NG", "ha_NG", "tw_GH", "en_NG"),
        top_share=0.01,
        top_share_source="assumption: Nigerian and Ghanaian surnames are many and diverse",
    ),
    "east_african": SurnameSource(
        ("en_KE", "sw"),
        top_share=0.012,
        top_share_source="Faker en_KE's own weight for Otieno (1.19%), unverified",
    ),
}

#: Default top share for a Faker locale used directly as an origin (an assumption).
DEFAULT_TOP_SHARE = 0.01


# -- sources -------------------------------------------------------------------------------------


@cache
def _faker_surnames(locale: str) -> tuple[tuple[str, ...], dict[str, float] | None]:
    """A Faker locale's surnames, and their weights where Faker weights them."""
    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ModuleNotFoundError:
        return (), None
    if locale == "pl_PL":
        # Faker's pl_PL keeps masculine forms apart; the feminine form is derived per child.
        return tuple(provider.male_last_names) + tuple(provider.unisex_last_names), None
    values = getattr(provider, "last_names", None) or ()
    if isinstance(values, dict):
        weights = {str(k): float(v) for k, v in values.items()}
        ordered = sorted(weights, key=lambda k: -weights[k])
        return tuple(ordered), weights
    return tuple(values), None


@cache
def _shipped_surnames(list_name: str) -> tuple[str, ...]:
    path = resources.files("matchsim.data").joinpath(f"names/{list_name}.csv")
    with path.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, comment="#", keep_default_na=False)
    return tuple(table.loc[table["kind"] == "surname", "name"])


def stable_rank_key(name: str, salt: int = 0) -> int:
    """A rank for names whose frequency no source gives: a hash, stable across runs and machines,
    and unrelated to the alphabet."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, salt=salt.to_bytes(8, "big"))
    return int.from_bytes(digest.digest(), "big")


def rank_correlation(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's rank correlation of two sequences without ties (0 for fewer than 3 items)."""
    xa, xb = np.asarray(a), np.asarray(b)
    if len(xa) < 3:
        return 0.0
    ra = np.argsort(np.argsort(xa, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(xb, kind="stable"), kind="stable").astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def hash_order(names: Sequence[str], max_alphabet_correlation: float = 0.1) -> list[str]:
    """``names`` in a stable hash order that does not follow the alphabet.

    A short list can fall near alphabetical order by chance (8 names do so often); the first salt
    whose order has a rank correlation with the alphabet below ``max_alphabet_correlation`` over
    the whole list, and below twice that over its first 40 names (where the frequency is), is
    used, so that no list's frequencies follow its spelling.
    """
    ordered = list(names)
    for salt in range(256):
        ordered = sorted(names, key=lambda n: stable_rank_key(n, salt))
        whole = abs(_alphabet_correlation(ordered))
        head = abs(_alphabet_correlation(ordered[:40]))
        # The head is short, so it may correlate twice as much by chance.
        if whole < max_alphabet_correlation and head < 2 * max_alphabet_correlation:
            break
    return ordered


def _alphabet_correlation(ordered: Sequence[str]) -> float:
    """Rank correlation between a list's order and the alphabetical order of its names."""
    alphabetical = np.argsort(np.argsort(np.array(ordered, dtype=object), kind="stable"))
    return rank_correlation(np.arange(len(ordered)), alphabetical)


def _clean(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for raw in names:
        name = str(raw).strip()
        # Faker lists hold a placeholder ("Doe"); honorifics are per family and sex, not drawn.
        if not name or name in seen or name == "Doe" or name in HONORIFIC_SURNAMES:
            continue
        seen.add(name)
        out.append(name)
    return out


def _interleave(lists: Sequence[Sequence[str]]) -> list[str]:
    merged: list[str] = []
    for i in range(max((len(x) for x in lists), default=0)):
        merged.extend(x[i] for x in lists if i < len(x))
    return merged


# -- populations: adults 1991 and pupils 2024 ----------------------------------------------------


@cache
def _population_shares(population: str) -> dict[str, float]:
    """Each tradition's share of ``population`` (pupils_2024 or adults_1991), unnormalised."""
    table = load_table("name_origin_shares")
    rows = table[(table["population"] == population) & (table["origin"] != "")]
    mass = rows["percent"].astype(float) * rows["fraction"].astype(float) / 100.0
    return {str(k): float(v) for k, v in mass.groupby(rows["origin"]).sum().items()}


def adult_shares_1991() -> dict[str, float]:
    """Each tradition's share of all adults, 1991 Census (standing in for the 1996-98 registers)."""
    return dict(_population_shares("adults_1991"))


def pupil_origin_mix() -> dict[str, float]:
    """The default name-origin mix: DfE 2024 pupil ethnicity mapped onto traditions, with groups
    that have no tradition in matchsim spread in proportion (i.e. renormalised)."""
    shares = _population_shares("pupils_2024")
    total = sum(shares.values())
    return {origin: share / total for origin, share in sorted(shares.items())}


# -- anchors -------------------------------------------------------------------------------------


def _anchor_rows() -> pd.DataFrame:
    table = load_table("surname_anchors").copy()
    table["origins"] = table["origins"].str.split()
    return table


@cache
def anchored_shares() -> dict[str, dict[str, float]]:
    """origin -> {surname: share of the tradition's adults (of the sex, for an honorific)}.

    A surname carried by several traditions has the same share in each: its count over their
    combined adults.
    """
    adults = adult_shares_1991()
    out: dict[str, dict[str, float]] = {}
    for row in _anchor_rows().itertuples():
        if row.unit == "percent":
            base = {o: adults[o] for o in row.origins}
            share_of_all = float(row.adults) / 100.0
            for origin in row.origins:
                out.setdefault(origin, {})[row.surname] = share_of_all / sum(base.values())
            continue
        sex_share = {"F": ADULT_FEMALE_SHARE, "M": 1 - ADULT_FEMALE_SHARE}.get(row.sex, 1.0)
        carriers = sum(adults[o] for o in row.origins) * ADULTS_1998 * sex_share
        for origin in row.origins:
            out.setdefault(origin, {})[row.surname] = float(row.adults) / carriers
    return out


def honorific_rates() -> pd.DataFrame:
    """The per-family honorific rates that follow from the anchors (origin, sex, surname,
    probability): e.g. Kaur's 33,892 adults over the Punjabi Sikh women of 1991.

    ``matchsim/data/honorific_surnames.csv`` holds these values (a test checks that it does).
    """
    anchors = anchored_shares()
    rows = []
    for row in _anchor_rows().itertuples():
        if row.sex not in ("F", "M"):
            continue
        for origin in row.origins:
            rows.append((origin, row.sex, row.surname, round(anchors[origin][row.surname], 4)))
    return pd.DataFrame(rows, columns=["origin", "sex", "surname", "probability"])


@cache
def _national_heads() -> dict[str, dict[str, float]]:
    table = load_table("surname_heads")
    out: dict[str, dict[str, float]] = {}
    for row in table.itertuples():
        out.setdefault(row.origin, {})[row.surname] = float(row.count) / float(row.population)
    return out


@cache
def _extra_surnames() -> pd.DataFrame:
    path = resources.files("matchsim.data").joinpath("names/surname_extra.csv")
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#", keep_default_na=False)


# -- one tradition's list ------------------------------------------------------------------------


@dataclass(frozen=True)
class SurnameList:
    """One tradition's surname list: names with the probabilities a family draws them with."""

    origin: str
    names: tuple[str, ...]
    #: probability that a family of this tradition draws each name (sums to 1)
    probs: np.ndarray
    #: how many leading names have a sourced share (anchors, national registers, Faker weights)
    sourced: int
    #: the fitted Zipf-Mandelbrot offset of the rest (exponent SURNAME_TAIL_EXPONENT)
    tail_offset: float
    #: what set the tail: "continues below the last sourced share" or the assumed top share
    tail_rule: str


def _vocabulary(origin: str) -> tuple[dict[str, float], list[str], list[str]]:
    """(sourced shares of the tradition's adults, ranked names, unranked names) for ``origin``."""
    source = SURNAME_SOURCES.get(origin, SurnameSource((origin,), top_share=DEFAULT_TOP_SHARE))
    sourced: dict[str, float] = {}
    sourced.update(_national_heads().get(origin, {}))
    if origin == "british":
        # Faker en_GB weights its 500 names in percent of the population (its own figures,
        # unverified); the published electoral-register shares replace its top five below.
        _, weights = _faker_surnames("en_GB")
        a_british = adult_shares_1991()["british"]
        sourced.update({n: w / 100.0 / a_british for n, w in (weights or {}).items()})
    sourced.update(anchored_shares().get(origin, {}))

    ranked_lists: list[list[str]] = []
    unranked: list[str] = []
    extra = _extra_surnames()
    extra = extra[extra["origin"] == origin]
    ranked_lists.append(list(extra.loc[extra["ranked"] == 1, "surname"]))
    unranked += list(extra.loc[extra["ranked"] != 1, "surname"])
    if source.shipped_list is not None:
        ranked_lists.append(list(_shipped_surnames(source.shipped_list)))
    faker_ranked = []
    for locale in source.locales:
        names, weights = _faker_surnames(locale)
        if weights is not None or locale in source.ranked_locales:
            faker_ranked.append(list(names))
        else:
            unranked += list(names)
    ranked = _clean([n for part in ranked_lists for n in part] + _interleave(faker_ranked))
    rest = hash_order(_clean(unranked))
    if origin == "british":
        # Faker en_GB weights count today's Britons, Patels and Khans included; those names belong
        # to the traditions the 1998 anchors assign them to.
        elsewhere = {
            n for o, names in anchored_shares().items() if o != "british" for n in names
        } | HONORIFIC_SURNAMES
        sourced = {n: s for n, s in sourced.items() if n not in elsewhere}
        ranked = [n for n in ranked if n not in elsewhere]
        rest = [n for n in rest if n not in elsewhere]
    head = set(sourced)
    ranked = [n for n in ranked if n not in head]
    in_ranked = set(ranked)
    rest = [n for n in rest if n not in head and n not in in_ranked]
    sourced = {n: s for n, s in sourced.items() if n not in HONORIFIC_SURNAMES}
    return sourced, ranked, rest


def _honorific_mass(origin: str, rows: Iterable[tuple[str, str, str, float]]) -> float:
    """Share of a tradition's children whose surname an honorific replaces."""
    by_sex = {"M": 0.0, "F": 0.0}
    for o, sex, _, p in rows:
        if o == origin:
            by_sex[sex] += float(p)
    return MALE_SHARE * by_sex["M"] + (1 - MALE_SHARE) * by_sex["F"]


def default_honorific_rows() -> tuple[tuple[str, str, str, float], ...]:
    table = load_table("honorific_surnames")
    return tuple((r.origin, r.sex, r.surname, float(r.probability)) for r in table.itertuples())


def zipf_tail(count: int, mass: float, first_at_most: float) -> tuple[np.ndarray, float]:
    """``count`` decreasing shares summing to ``mass``, Zipf-Mandelbrot with the smallest offset
    that keeps the first share at most ``first_at_most`` (nearly uniform when no offset can)."""
    ranks = np.arange(1, count + 1, dtype=np.float64)

    def shares(q: float) -> np.ndarray:
        w = (ranks + q) ** -SURNAME_TAIL_EXPONENT
        return w / w.sum() * mass

    if shares(0.0)[0] <= first_at_most:
        return shares(0.0), 0.0
    # The first share falls as the offset grows; bisect on log(offset).
    lo, hi = np.log(1e-6), np.log(1e9)
    if shares(float(np.exp(hi)))[0] > first_at_most:
        return shares(float(np.exp(hi))), float(np.exp(hi))
    for _ in range(80):
        mid = (lo + hi) / 2
        if shares(float(np.exp(mid)))[0] > first_at_most:
            lo = mid
        else:
            hi = mid
    q = float(np.exp(hi))
    return shares(q), q


def surname_list(
    origin: str,
    honorific_rows: Sequence[tuple[str, str, str, float]] | None = None,
    double_barrelled_share: float = 0.0,
) -> SurnameList:
    """The family-surname distribution of one tradition.

    A sourced name's share of the tradition's children must equal its share of adults. Children
    whose surname an honorific (or, for ``british``, a double-barrelled name) replaces do not
    draw from this list, so sourced names are drawn with their share divided by the share that
    does draw.
    """
    rows = default_honorific_rows() if honorific_rows is None else honorific_rows
    sourced, ranked, rest = _vocabulary(origin)
    drawing = (1 - _honorific_mass(origin, rows)) * (
        1 - (double_barrelled_share if origin == "british" else 0.0)
    )
    head_names = sorted(sourced, key=lambda n: -sourced[n])
    head = np.array([sourced[n] / max(drawing, 1e-12) for n in head_names], dtype=np.float64)
    mass = 1.0 - float(head.sum())
    if mass < 0:
        # Only an override can do this: honorifics so common that few children draw a family name.
        raise ConfigError(
            "names.honorific_surnames",
            f"the {origin!r} rates leave too few children drawing a family name to give its "
            "anchored surnames their published shares; lower the rates",
        )
    tail_names = ranked + rest
    source = SURNAME_SOURCES.get(origin, SurnameSource(top_share=DEFAULT_TOP_SHARE))
    if len(head):
        cap = float(head.min())
        rule = "continues below the last sourced share"
    else:
        cap = source.top_share if source.top_share is not None else DEFAULT_TOP_SHARE
        rule = f"top share {cap:g} ({source.top_share_source or 'assumption'})"
    tail, offset = zipf_tail(len(tail_names), mass, cap) if tail_names else (np.zeros(0), 0.0)
    probs = np.concatenate([head, tail])
    return SurnameList(
        origin=origin,
        names=tuple(head_names + tail_names),
        probs=probs / probs.sum(),
        sourced=len(head_names),
        tail_offset=float(offset),
        tail_rule=rule,
    )


def surname_vocabulary(origin: str) -> list[str]:
    """The tradition's family surnames, commonest first."""
    table = surname_list(origin)
    order = np.argsort(-table.probs, kind="stable")
    return [table.names[i] for i in order]


# -- what children end up with -------------------------------------------------------------------

_FEMININE_ENDINGS = (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka"))


def feminine_surname(origin: str, surname: str) -> str:
    """Polish adjectival surnames take a feminine ending (Kowalski -> Kowalska)."""
    if origin == "polish":
        for masc, fem in _FEMININE_ENDINGS:
            if surname.endswith(masc):
                return surname[: -len(masc)] + fem
    return surname


def child_surname_shares(
    origin: str, config: NamesConfig | None = None, double_barrelled_count: int = 3540
) -> pd.Series:
    """Expected share of each surname string among the tradition's children: the family draw,
    then feminine forms for girls, honorifics by sex, and double-barrelled names (``british``;
    spread over ``double_barrelled_count`` pairs)."""
    config = NamesConfig() if config is None else config
    rows = (
        default_honorific_rows() if config.honorific_surnames is None else config.honorific_surnames
    )
    dbl = config.double_barrelled_share if origin == "british" else 0.0
    table = surname_list(origin, rows, dbl)
    shares: dict[str, float] = {}
    for sex, p_sex in (("M", MALE_SHARE), ("F", 1 - MALE_SHARE)):
        hon = [(s, float(p)) for o, x, s, p in rows if o == origin and x == sex]
        keep = p_sex * (1 - sum(p for _, p in hon)) * (1 - dbl)
        for name, p in zip(table.names, table.probs, strict=True):
            key = feminine_surname(origin, name) if sex == "F" else name
            shares[key] = shares.get(key, 0.0) + keep * float(p)
        for name, p in hon:
            shares[name] = shares.get(name, 0.0) + p_sex * p
        if dbl:
            each = p_sex * (1 - sum(p for _, p in hon)) * dbl / double_barrelled_count
            shares.update({f"<double-barrelled {i}>": each for i in range(double_barrelled_count)})
    return pd.Series(shares).sort_values(ascending=False)


def effective_surname_counts(config: NamesConfig | None = None) -> dict[str, float]:
    """Effective number of surnames (1 / sum of squared shares) among each tradition's children.

    Public so that fidelity tables can report it; built from the same lists the generator draws.
    """
    config = NamesConfig() if config is None else config
    out = {}
    for origin in config.origins:
        shares = child_surname_shares(origin, config)
        out[origin] = float(1.0 / np.square(shares.to_numpy()).sum())
    return out


def anchor_targets(config: NamesConfig | None = None) -> pd.DataFrame:
    """Each anchored surname's expected share among all children relative to Smith's.

    Columns: ``published_ratio`` (adult count over Smith's adults, 1996-98), ``anchored_ratio``
    (its share from the traditions that carry it on the registers, scaled by their pupil-to-adult
    weights), ``other_ratio`` (its share in traditions absent from the registers' anchors, e.g. Ali
    in the Somali and Arabic lists), and ``target_ratio`` (the sum: what a generated register
    should show).
    """
    config = NamesConfig() if config is None else config
    weights = dict(config.origins)
    total = sum(weights.values())
    adults = adult_shares_1991()
    anchors = anchored_shares()
    rows_table = _anchor_rows()
    smith_adults = float(rows_table.set_index("surname").loc["Smith", "adults"]) / 100.0
    per_origin = {o: child_surname_shares(o, config) for o in weights}
    smith_child = sum(weights[o] / total * per_origin[o].get("Smith", 0.0) for o in weights)
    if smith_child <= 0:
        raise ConfigError(
            "names.origins", "the anchors are ratios to Smith; include the british origin"
        )
    records = []
    for row in rows_table.itertuples():
        if row.surname == "Smith":
            continue
        adults_share = (
            float(row.adults) / 100.0 if row.unit == "percent" else row.adults / ADULTS_1998
        )
        sex_share = {"F": 1 - MALE_SHARE, "M": MALE_SHARE}.get(row.sex, 1.0)
        anchored = sum(
            weights.get(o, 0.0) / total * anchors[o][row.surname] * sex_share for o in row.origins
        )
        every = sum(weights[o] / total * per_origin[o].get(row.surname, 0.0) for o in weights)
        records.append(
            {
                "surname": row.surname,
                "origins": " ".join(row.origins),
                "published_ratio": adults_share / smith_adults,
                "anchored_ratio": anchored / smith_child,
                "other_ratio": max(every - anchored, 0.0) / smith_child,
                "target_ratio": every / smith_child,
                "pupil_to_adult_factor": _factor(row.origins, weights, total, adults),
            }
        )
    return pd.DataFrame(records).set_index("surname")


def _factor(
    origins: Sequence[str], weights: Mapping[str, float], total: float, adults: Mapping[str, float]
) -> float:
    """(c_T / a_T) / (c_british / a_british) for the traditions T that carry a surname."""
    c = sum(weights.get(o, 0.0) for o in origins) / total
    a = sum(adults[o] for o in origins)
    c_b = weights.get("british", 0.0) / total
    return (c / a) / (c_b / adults["british"]) if c_b else float("nan")


def surname_list_summary(config: NamesConfig | None = None) -> pd.DataFrame:
    """One row per tradition: list length, sourced names, tail rule, top name and share among
    children, and effective number of surnames (for docs and fidelity tables)."""
    config = NamesConfig() if config is None else config
    records = []
    for origin in config.origins:
        table = surname_list(origin)
        shares = child_surname_shares(origin, config)
        records.append(
            {
                "origin": origin,
                "names": len(table.names),
                "sourced": table.sourced,
                "tail": table.tail_rule,
                "top": shares.index[0],
                "top_share": float(shares.iloc[0]),
                "effective": float(1.0 / np.square(shares.to_numpy()).sum()),
            }
        )
    return pd.DataFrame(records).set_index("origin")


def compare_anchor_ratios(
    surname_counts: Mapping[str, int] | pd.Series,
    config: NamesConfig | None = None,
    tolerance: float = 0.2,
    names: Sequence[str] = ("Patel", "Begum", "Khan", "Singh", "Hussain", "Ali", "Kaur", "Ahmed"),
) -> pd.DataFrame:
    """A register's surname counts against the anchors: each name's ratio to Smith, generated
    and target, and whether they agree within ``tolerance`` (relative).

    For fidelity tables. ``surname_counts`` maps surname -> pupils (e.g. a ``value_counts()``).
    """
    counts = pd.Series(surname_counts, dtype="float64")
    smith = float(counts.get("Smith", 0.0))
    if smith <= 0:
        raise ConfigError("surname_counts", "no Smith to compare against; pass a register's counts")
    targets = anchor_targets(config)
    table = targets.loc[list(names), ["published_ratio", "target_ratio"]].copy()
    table["generated_ratio"] = [float(counts.get(n, 0.0)) / smith for n in names]
    table["within_tolerance"] = (
        table["generated_ratio"] / table["target_ratio"] - 1
    ).abs() <= tolerance
    return table
