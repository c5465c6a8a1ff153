"""Name origins: where each origin's names come from (Faker locales and shipped romanised
lists in ``matchsim/data/names/``), and each origin's ordered vocabularies.

Any Faker locale with sexed first names and last names can also be used as an origin by its
locale code (e.g. ``fr_FR``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd
from faker.config import AVAILABLE_LOCALES

from matchsim.errors import UnknownNameError
from matchsim.synth.surnames import surname_vocabulary


@dataclass(frozen=True)
class OriginSpec:
    """Where an origin's names come from: Faker locales and/or shipped romanised lists."""

    forename_locales: tuple[str, ...] = ()
    surname_locales: tuple[str, ...] = ()
    shipped_list: str | None = None
    # Faker locales whose lists are weighted (OrderedDict of name -> frequency) sort by weight.
    description: str = ""


#: The built-in origins. Keys are the values of the ``name_origin`` column.
ORIGINS: dict[str, OriginSpec] = {
    "british": OriginSpec(
        ("en_GB", "en_IE", "en_NZ", "en_US"),
        ("en_GB", "en_IE", "en_NZ", "en_US"),
        description="English-language names (Faker en_GB, extended by en_IE, en_NZ and en_US "
        "for the long tail); forenames headed by the ONS 2011 top names",
    ),
    "indian": OriginSpec(("en_IN",), ("en_IN",), description="Faker en_IN"),
    "pakistani": OriginSpec(
        (),
        ("en_PK",),
        "pakistani",
        "shipped romanised Urdu/Punjabi list; Faker en_PK surnames in the tail",
    ),
    "bangladeshi": OriginSpec((), (), "bangladeshi", "shipped romanised Bengali/Sylheti list"),
    "punjabi_sikh": OriginSpec((), (), "punjabi_sikh", "shipped romanised Punjabi list"),
    "arabic": OriginSpec((), (), "arabic", "shipped romanised Arabic list"),
    "somali": OriginSpec((), (), "somali", "shipped romanised Somali list"),
    "polish": OriginSpec(("pl_PL",), ("pl_PL",), description="Faker pl_PL, feminine surname forms"),
    "romanian": OriginSpec(("ro_RO",), ("ro_RO",), description="Faker ro_RO"),
    "turkish": OriginSpec(("tr_TR",), ("tr_TR",), description="Faker tr_TR"),
    "west_african": OriginSpec(
        ("en_NG", "yo_NG", "ig_NG", "ha_NG", "tw_GH"),
        ("yo_NG", "ig_NG", "ha_NG", "tw_GH", "en_NG"),
        description="Faker en_NG, yo_NG, ig_NG, ha_NG and tw_GH",
    ),
    "east_african": OriginSpec(("en_KE", "sw"), ("en_KE", "sw"), description="Faker en_KE and sw"),
}


def known_origins() -> list[str]:
    return sorted(ORIGINS)


def resolve_origin(name: str, field: str = "names.origins") -> OriginSpec:
    """The spec of a built-in origin, or of a Faker locale used directly as an origin."""
    if name in ORIGINS:
        return ORIGINS[name]
    if name in AVAILABLE_LOCALES and _faker_person(name) is not None:
        provider = _faker_person(name)
        if _names_of(provider, "first_names_male") and _names_of(provider, "last_names"):
            return OriginSpec((name,), (name,), description=f"Faker {name}")
    raise UnknownNameError(field, name, [*ORIGINS, "<any Faker locale with sexed names>"])


@cache
def _faker_person(locale: str) -> type | None:
    try:
        return importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ModuleNotFoundError:
        return None


def _names_of(provider: type | None, attr: str) -> list[str]:
    """A Faker list in frequency order when Faker weights it, else in Faker's own order."""
    if provider is None:
        return []
    values = getattr(provider, attr, None)
    if values is None:
        return []
    if isinstance(values, dict):
        return [k for k, _ in sorted(values.items(), key=lambda kv: -float(kv[1]))]
    return list(values)


def _faker_list(locales: Iterable[str], kind: str) -> list[str]:
    """Interleave the locales' lists so that each contributes to the head, not only the tail."""
    lists: list[list[str]] = []
    for locale in locales:
        provider = _faker_person(locale)
        if kind == "surname":
            names = _names_of(provider, "last_names")
            if locale == "pl_PL":
                names = _names_of(provider, "male_last_names") + _names_of(
                    provider, "unisex_last_names"
                )
        else:
            attr = "first_names_male" if kind == "forename_male" else "first_names_female"
            names = _names_of(provider, attr)
        lists.append(names)
    merged: list[str] = []
    for i in range(max((len(x) for x in lists), default=0)):
        merged.extend(x[i] for x in lists if i < len(x))
    return merged


@cache
def _shipped(list_name: str) -> pd.DataFrame:
    path = resources.files("matchsim.data").joinpath(f"names/{list_name}.csv")
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#", keep_default_na=False)


def _dedupe(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for raw in names:
        name = raw.strip()
        # Faker lists include a few placeholders and non-Latin entries; a romanised school
        # record would not hold them.
        if not name or name in seen or name == "Doe":
            continue
        seen.add(name)
        out.append(name)
    return out


def origin_names(origin: str, kind: str) -> list[str]:
    """Ordered vocabulary (most common first) for one origin and kind.

    ``kind`` is ``forename_male``, ``forename_female`` or ``surname``.
    """
    spec = resolve_origin(origin)
    if kind == "surname":
        # Surname lists, their order and frequencies live in matchsim.synth.surnames.
        return surname_vocabulary(origin)
    names: list[str] = []
    if origin == "british":
        top = _shipped("ons_top_forenames")
        names += top.loc[top["kind"] == kind, "name"].tolist()
    if spec.shipped_list is not None:
        table = _shipped(spec.shipped_list)
        names += table.loc[table["kind"] == kind, "name"].tolist()
    locales = spec.surname_locales if kind == "surname" else spec.forename_locales
    names += _faker_list(locales, kind)
    return _dedupe(names)
