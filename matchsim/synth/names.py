"""Name vocabularies by origin and sex, with heavy-tailed frequencies.

Faker supplies the vocabularies (its person providers' name lists); where Faker only has
native script or no locale (Arabic, Somali, Bengali/Sylheti, Punjabi, Pakistani Urdu/Punjabi),
matchsim ships romanised lists in ``matchsim/data/names/``. Faker's lists are mostly
unweighted, so frequencies are imposed by rank: a Zipf-Mandelbrot law, calibrated for the
majority origin to the published ONS top-1/10/100 shares.

Any Faker locale with sexed first names and last names can also be used as an origin by its
locale code (e.g. ``fr_FR``).

First names are not drawn from these lists: :mod:`matchsim.synth.forenames` draws them from the
ONS lists by birth year and sex, and uses the forename lists here only as lexicons (which ONS
names belong to which origin).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from faker.config import AVAILABLE_LOCALES

from matchsim.errors import UnknownNameError
from matchsim.synth.config import NamesConfig
from matchsim.synth.surnames import (
    HONORIFIC_SURNAMES,
    default_honorific_rows,
    feminine_surname,
    surname_list,
    surname_vocabulary,
)

if TYPE_CHECKING:
    from matchsim.synth.forenames import ForenameModel

#: Surnames that are honorifics given to women and girls, never a family name a son inherits.
FEMALE_HONORIFICS = HONORIFIC_SURNAMES - {"Singh"}


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


def zipf_mandelbrot(n: int, exponent: float, offset: float) -> np.ndarray:
    ranks = np.arange(1, n + 1, dtype=np.float64)
    w = (ranks + offset) ** (-exponent)
    return w / w.sum()


@cache
def calibrate_zipf(n: int, shares: tuple[float, float, float]) -> tuple[float, float]:
    """Zipf-Mandelbrot (exponent, offset) whose top-1/10/100 shares best match ``shares``.

    A coarse grid then a fine one; least squares on log shares. Cached: it depends only on
    the vocabulary size and the targets.
    """
    ranks = np.arange(1, n + 1, dtype=np.float64)
    cut = [0, min(9, n - 1), min(99, n - 1)]
    target = np.log(np.asarray(shares))
    best = (1.0, 0.0)
    exps = np.linspace(0.2, 3.0, 57)
    offs = np.concatenate([[0.0], np.geomspace(0.1, 200, 56)])
    for _ in range(3):
        e = exps[:, None, None]
        o = offs[None, :, None]
        w = (ranks[None, None, :] + o) ** (-e)
        c = np.cumsum(w, axis=2)
        got = np.log(c[:, :, cut] / c[:, :, -1:])
        err = ((got - target) ** 2).sum(axis=2)
        i, j = (int(k) for k in np.unravel_index(np.argmin(err), err.shape))
        best = (float(exps[i]), float(offs[j]))
        de = (exps[1] - exps[0]) * 2
        exps = np.linspace(max(0.05, best[0] - de), best[0] + de, 41)
        lo = offs[max(j - 2, 0)]
        hi = offs[min(j + 2, len(offs) - 1)]
        offs = np.linspace(lo, hi, 41)
    return best


def origin_probabilities(
    origin: str, kind: str, names: Sequence[str], config: NamesConfig
) -> np.ndarray:
    """Frequencies for an ordered vocabulary (first names come from
    :mod:`matchsim.synth.forenames` instead, by birth year)."""
    n = len(names)
    if kind == "surname":
        table = surname_list(origin, _honorific_rows(config), config.double_barrelled_share)
        lookup = dict(zip(table.names, table.probs, strict=True))
        probs = np.array([lookup.get(name, 0.0) for name in names])
        return probs / probs.sum()
    return zipf_mandelbrot(n, config.zipf_exponent, 1.0)


def _alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction) for O(1) categorical draws.

    Written here because numpy's ``Generator.choice`` rebuilds its table on every call and
    cannot draw from many distributions in one vectorised call.
    """
    k = len(probs)
    # Python floats and lists: the same IEEE arithmetic as numpy scalars, several times faster
    # in this inherently sequential loop.
    scaled = (np.asarray(probs, dtype=np.float64) * k / np.sum(probs)).tolist()
    accept_list = [1.0] * k
    alias_list = list(range(k))
    small = [i for i in range(k) if scaled[i] < 1.0]
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept_list[s] = scaled[s]
        alias_list[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    accept = np.array(accept_list, dtype=np.float64)
    alias = np.array(alias_list, dtype=np.int64)
    return accept, alias


@dataclass(frozen=True)
class GroupedSampler:
    """O(1) draws from many categorical distributions at once (concatenated alias tables).

    A draw for group ``g`` with uniform ``u`` picks slot ``floor(u * size[g])`` of the group's
    table, and uses the fractional part of ``u * size[g]`` as the accept/alias coin.
    """

    offset: np.ndarray
    size: np.ndarray
    accept: np.ndarray
    alias: np.ndarray  # absolute index into ``codes``
    codes: np.ndarray

    @classmethod
    def from_groups(cls, groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> GroupedSampler:
        """``groups[g]`` is (codes, probabilities) of group ``g``."""
        sizes = np.array([len(c) for c, _ in groups], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        accepts, aliases = [], []
        for (_, probs), off in zip(groups, offsets, strict=True):
            accept, alias = _alias_table(probs)
            accepts.append(accept)
            aliases.append(alias + off)
        return cls(
            offset=offsets,
            size=sizes,
            accept=np.concatenate(accepts),
            alias=np.concatenate(aliases),
            codes=np.concatenate([np.asarray(c) for c, _ in groups]),
        )

    def draw(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        size = self.size[group]
        scaled = u * size
        slot = np.minimum(scaled.astype(np.int64), size - 1)
        coin = scaled - slot
        j = self.offset[group] + slot
        return self.codes[np.where(coin < self.accept[j], j, self.alias[j])]


@dataclass(frozen=True)
class NameModel:
    """All vocabularies for one configuration: shared forename and surname lists and, per
    origin, samplers for forenames by sex and for surnames."""

    origins: tuple[str, ...]
    origin_weights: np.ndarray
    forenames: np.ndarray
    surnames: np.ndarray
    #: first and middle names by origin, birth year and sex (codes index ``forenames``)
    forename_model: ForenameModel
    #: group = origin index
    surname_sampler: GroupedSampler
    #: surname code -> the code of its feminine form (identity for most names)
    feminine: np.ndarray
    #: rows (origin index, sex, surname code, cumulative lower, cumulative upper)
    honorifics: tuple[tuple[int, str, int, float, float], ...]
    #: codes of double-barrelled surnames ("Smith-Jones"); empty without the british origin
    double_barrelled: np.ndarray


def _honorific_rows(config: NamesConfig) -> tuple[tuple[str, str, str, float], ...]:
    """The configured honorific conventions, or the shipped ones."""
    if config.honorific_surnames is None:
        return default_honorific_rows()
    return tuple(config.honorific_surnames)


def build_name_model(config: NamesConfig) -> NameModel:
    from matchsim.synth.forenames import build_forename_model  # it uses GroupedSampler

    origins = tuple(config.origins)
    for origin in origins:
        resolve_origin(origin)
    forename_model = build_forename_model(config.origins, config.middle_name_counts)
    surname_index: dict[str, int] = {}

    def codes_for(index: dict[str, int], names: Sequence[str]) -> np.ndarray:
        return np.array([index.setdefault(n, len(index)) for n in names], dtype=np.int32)

    honorific_rows = _honorific_rows(config)
    surname_groups: list[tuple[np.ndarray, np.ndarray]] = []
    feminine_pairs: list[tuple[str, str]] = []
    for origin in origins:
        surnames = surname_list(origin, honorific_rows, config.double_barrelled_share)
        names = list(surnames.names)
        surname_groups.append((codes_for(surname_index, names), surnames.probs))
        feminine_pairs += [(n, feminine_surname(origin, n)) for n in names]
    for _, fem in feminine_pairs:
        surname_index.setdefault(fem, len(surname_index))

    honorifics = []
    running: dict[tuple[str, str], float] = {}
    for origin, sex, surname, probability in honorific_rows:
        if origin not in origins:
            continue
        lower = running.get((origin, sex), 0.0)
        upper = lower + probability
        if upper > 1 + 1e-9:
            raise ValueError(f"honorific surname probabilities for {origin}/{sex} sum above 1")
        running[(origin, sex)] = upper
        code = surname_index.setdefault(surname, len(surname_index))
        honorifics.append((origins.index(origin), sex, code, lower, upper))

    double: list[int] = []
    if "british" in origins:
        # Pairs of the 60 commonest British surnames; a family picks one uniformly.
        british = surname_list("british", honorific_rows, config.double_barrelled_share)
        top = [british.names[i] for i in np.argsort(-british.probs, kind="stable")[:60]]
        double = [
            surname_index.setdefault(f"{a}-{b}", len(surname_index))
            for a in top
            for b in top
            if a != b
        ]

    feminine = np.arange(len(surname_index), dtype=np.int32)
    for masc, fem in feminine_pairs:
        feminine[surname_index[masc]] = surname_index[fem]

    return NameModel(
        origins=origins,
        origin_weights=np.array([config.origins[o] for o in origins]),
        forenames=forename_model.names,
        surnames=np.array(list(surname_index), dtype=object),
        forename_model=forename_model,
        surname_sampler=GroupedSampler.from_groups(surname_groups),
        feminine=feminine,
        honorifics=tuple(honorifics),
        double_barrelled=np.array(double, dtype=np.int32),
    )
