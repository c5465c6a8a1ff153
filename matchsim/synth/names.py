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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matchsim.synth.config import NamesConfig
from matchsim.synth.forenames import ForenameModel, build_forename_model
from matchsim.synth.origins import resolve_origin
from matchsim.synth.sampling import GroupedSampler, zipf_mandelbrot
from matchsim.synth.surname_sources import HONORIFIC_SURNAMES, default_honorific_rows
from matchsim.synth.surnames import feminine_surname, surname_list

#: Surnames that are honorifics given to women and girls, never a family name a son inherits.
FEMALE_HONORIFICS = HONORIFIC_SURNAMES - {"Singh"}


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
