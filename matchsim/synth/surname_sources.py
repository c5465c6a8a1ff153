"""The sourced figures and raw name lists that surname frequencies are built from.

Published counts and shares (:data:`ADULTS_1998`, :data:`MALE_SHARE`, the anchors in
``matchsim/data/surname_anchors.csv``, the national register heads in ``surname_heads.csv``,
the tradition shares in ``name_origin_shares.csv``), the assumptions that stand in where nothing
is published (each beside its value), and the readers of Faker's and the shipped surname lists.
:mod:`matchsim.synth.surnames` turns them into each tradition's list.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from matchsim.data import load_table

__all__ = [
    "ADULTS_1998",
    "ADULT_FEMALE_SHARE",
    "DEFAULT_TOP_SHARE",
    "HONORIFIC_SURNAMES",
    "MALE_SHARE",
    "SURNAME_SOURCES",
    "SURNAME_TAIL_EXPONENT",
    "SurnameSource",
    "adult_shares_1991",
    "anchor_rows",
    "anchored_shares",
    "default_honorific_rows",
    "extra_surnames",
    "faker_surnames",
    "honorific_rates",
    "national_heads",
    "pupil_origin_mix",
    "shipped_surnames",
]


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


# -- Faker and shipped lists -----------------------------------------------------------------------------


@cache
def faker_surnames(locale: str) -> tuple[tuple[str, ...], dict[str, float] | None]:
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
def shipped_surnames(list_name: str) -> tuple[str, ...]:
    path = resources.files("matchsim.data").joinpath(f"names/{list_name}.csv")
    with path.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, comment="#", keep_default_na=False)
    return tuple(table.loc[table["kind"] == "surname", "name"])


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


def anchor_rows() -> pd.DataFrame:
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
    for row in anchor_rows().itertuples():
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
    for row in anchor_rows().itertuples():
        if row.sex not in ("F", "M"):
            continue
        for origin in row.origins:
            rows.append((origin, row.sex, row.surname, round(anchors[origin][row.surname], 4)))
    return pd.DataFrame(rows, columns=["origin", "sex", "surname", "probability"])


@cache
def national_heads() -> dict[str, dict[str, float]]:
    table = load_table("surname_heads")
    out: dict[str, dict[str, float]] = {}
    for row in table.itertuples():
        out.setdefault(row.origin, {})[row.surname] = float(row.count) / float(row.population)
    return out


@cache
def extra_surnames() -> pd.DataFrame:
    path = resources.files("matchsim.data").joinpath("names/surname_extra.csv")
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#", keep_default_na=False)


def default_honorific_rows() -> tuple[tuple[str, str, str, float], ...]:
    table = load_table("honorific_surnames")
    return tuple((r.origin, r.sex, r.surname, float(r.probability)) for r in table.itertuples())
