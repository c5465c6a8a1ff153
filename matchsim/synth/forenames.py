"""First and middle names by birth year and sex, from the ONS full lists.

Every first name is drawn from the ONS "Baby names in England and Wales" list of the child's
birth year and sex (every name given to 3 or more babies, 1996-2020, with its count), so that
names, their spelling variants (Muhammad, Mohammed, Mohammad counted separately, as ONS does)
and the chance that two children of a cohort share a name follow the published counts.

The lists themselves, and how years outside 1996-2020 are served, are in
:mod:`matchsim.synth.ons_names`.

*Origin.* A family's name origin (``names.origins``) chooses among the ONS names, without
changing their national mixture. Each ONS name belongs to the origin lexicons that contain it
(``matchsim/data/names/forename_origins.csv``; a name in several lexicons is split between them
in proportion to the origins' configured shares; a name in none counts as ``british``). For a
cohort and sex, let ``m_O`` be the ONS mass of origin ``O``'s names and ``w_O`` its family
share. A child of a non-British origin draws from its origin's names (ONS weights,
renormalised) with probability ``q_O = min(1, m_O / w_O)``, and otherwise from the remaining
mass, which is also what ``british`` children draw from. The remaining mass is what the ONS
list has left after the origins' own draws, so the mixture over all children equals the ONS
list exactly, whatever the origin shares.

*Middle names* have their own distribution (see :func:`middle_name_probabilities`).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from matchsim.synth.config import NamesConfig
from matchsim.synth.ons_names import (
    DECADE_YEARS,
    FULL_FIRST_YEAR,
    FULL_LAST_YEAR,
    SEXES,
    fail,
    list_year,
    name_lists,
    read_checked,
)
from matchsim.synth.sampling import GroupedSampler

#: The commonest middle names in rank order (ties share a rank and split its weight).
#: Source: Ancestry UK, "Traditional choices top list of most popular middle names" (2013):
#: boys James, John, William, Thomas, David, Robert, Edward, Peter = Lee, Christopher = Alexander;
#: girls Louise, Rose, Grace, Jane = Elizabeth, Anne/Ann, May/Mae, Marie, Mary, Amy = Catherine.
MIDDLE_NAME_HEAD: dict[str, tuple[tuple[str, ...], ...]] = {
    "M": (
        ("James",),
        ("John",),
        ("William",),
        ("Thomas",),
        ("David",),
        ("Robert",),
        ("Edward",),
        ("Peter", "Lee"),
        ("Christopher", "Alexander"),
    ),
    "F": (
        ("Louise",),
        ("Rose",),
        ("Grace",),
        ("Jane", "Elizabeth"),
        ("Anne", "Ann"),
        ("May", "Mae"),
        ("Marie",),
        ("Mary",),
        ("Amy", "Catherine"),
    ),
}
#: Share of middle names taken by the head list, and how they fall off with rank (1/rank).
#: An assumption: Ancestry publishes ranks, not counts. Births announced in The Telegraph in 2010
#: (britishbabynames.com: 292 distinct girls' middle names, Rose 10%, Elizabeth 7%, Grace 6%)
#: put the top ten near 40% of girls' middle names; 35% is used for both sexes.
MIDDLE_HEAD_SHARE = 0.35
#: The rest are "names popular in our parents' or grandparents' generation" (Ancestry UK, 2013):
#: the first-name list of the birth year minus this many years (an assumption: the mean age of
#: mothers at birth in England and Wales is about 29-30, ONS birth characteristics).
MIDDLE_GENERATION_YEARS = 30


@cache
def shipped_origin_lexicon() -> dict[str, tuple[str, ...]]:
    """ONS name -> the built-in origins whose lexicon holds it (``forename_origins.csv``)."""
    name = "forename_origins.csv"
    table = pd.read_csv(io.BytesIO(read_checked(name)), comment="#", keep_default_na=False)
    if list(table.columns) != ["name", "origins"]:
        raise fail(name, f"columns {list(table.columns)}, expected name, origins")
    return {n: tuple(o.split(";")) for n, o in zip(table["name"], table["origins"], strict=True)}


def lexicon_key(name: str) -> str:
    """Accent- and case-insensitive form used to match ONS names against lexicons."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(str.maketrans("łŁıİøØßđĐ", "lLiIoOsdD")).lower()


def origin_lexicons(origins: Sequence[str]) -> dict[str, frozenset[str]]:
    """Each origin's forename lexicon (its Faker locales and shipped romanised lists, boys and
    girls together), as :func:`lexicon_key` forms."""
    from matchsim.synth.origins import origin_names

    return {
        origin: frozenset(
            lexicon_key(n)
            for kind in ("forename_male", "forename_female")
            for n in origin_names(origin, kind)
        )
        for origin in origins
    }


@cache
def vocabulary() -> tuple[tuple[str, ...], dict[str, int]]:
    """The names a code can stand for: every ONS list name, then the middle-name head names that
    no list holds (e.g. May), and each name's code."""
    vocab = list(name_lists().vocab)
    index = dict(name_lists().index)
    for ranks in MIDDLE_NAME_HEAD.values():
        for tied in ranks:
            for name in tied:
                if name not in index:
                    index[name] = len(vocab)
                    vocab.append(name)
    return tuple(vocab), index


def _middle_codes(year: int, sex: str) -> tuple[np.ndarray, np.ndarray]:
    data = name_lists()
    index = vocabulary()[1]
    ranks = MIDDLE_NAME_HEAD[sex]
    raw = np.array([1.0 / (r + 1) for r in range(len(ranks))])
    raw = raw / raw.sum() * MIDDLE_HEAD_SHARE
    head = [
        (index[n], share / len(tied)) for tied, share in zip(ranks, raw, strict=True) for n in tied
    ]
    parents, p = data.lists[(list_year(year - MIDDLE_GENERATION_YEARS), sex)]
    codes = np.concatenate([np.array([c for c, _ in head], dtype=np.int32), parents])
    weights = np.concatenate([[w for _, w in head], p * (1.0 - MIDDLE_HEAD_SHARE)])
    unique, inverse = np.unique(codes, return_inverse=True)
    summed = np.bincount(inverse, weights=weights)
    return unique.astype(np.int32), summed / summed.sum()


def middle_name_probabilities(year: int, sex: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Middle names of a child born in ``year``: the Ancestry UK head list (35%, by 1/rank),
    then the first names of the parents' generation (``year - 30``)."""
    codes, p = _middle_codes(year, sex)
    vocab = vocabulary()[0]
    return tuple(vocab[c] for c in codes), p


def _list_years() -> tuple[int, ...]:
    return DECADE_YEARS + tuple(range(FULL_FIRST_YEAR, FULL_LAST_YEAR + 1))


@dataclass(frozen=True)
class ForenameModel:
    """Samplers of first and middle names by (origin, birth year, sex).

    Groups are numbered by list index ``k`` (into :attr:`list_years`) and sex ``s`` (0 M, 1 F):
    ``shared`` and ``middle`` by ``2 k + s``, ``own`` by ``2 (K o + k) + s`` for origin ``o``.
    """

    #: vocabulary: a code is an index into it
    names: np.ndarray
    list_years: np.ndarray
    #: list index of each calendar year from ``year_base`` (a lookup table)
    year_index: np.ndarray
    year_base: int
    #: (origins, lists, 2): chance that a child draws from its origin's own names
    own_share: np.ndarray
    own: GroupedSampler
    shared: GroupedSampler
    middle: GroupedSampler
    #: cumulative chance of 0, 1 and 2 middle names
    middle_cumulative: np.ndarray

    def list_index(self, year: np.ndarray) -> np.ndarray:
        y = np.clip(np.asarray(year, dtype=np.int64) - self.year_base, 0, len(self.year_index) - 1)
        return self.year_index[y]

    def draw_first(
        self, rng: np.random.Generator, origin: np.ndarray, year: np.ndarray, sex: np.ndarray
    ) -> np.ndarray:
        """Codes of first names for children of these origin indices, birth years and sexes."""
        return self._draw(rng, origin, year, sex, self.shared)

    def draw_middle(
        self,
        rng: np.random.Generator,
        origin: np.ndarray,
        year: np.ndarray,
        sex: np.ndarray,
        forename: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Codes of first and second middle names (``-1`` for none), never equal to the first
        name or to each other."""
        n = len(origin)
        count = np.searchsorted(self.middle_cumulative, rng.random(n), side="right")
        middle: list[np.ndarray] = []
        for slot in (1, 2):
            taken = [forename, *middle]
            code = np.full(n, -1, dtype=np.int32)
            todo = np.flatnonzero(count >= slot)
            for _ in range(8):
                if not len(todo):
                    break
                code[todo] = self._draw(rng, origin[todo], year[todo], sex[todo], self.middle)
                clash = np.zeros(len(todo), dtype=bool)
                for other in taken:
                    clash |= code[todo] == other[todo]
                todo = todo[clash]
            code[todo] = -1  # still clashing after eight draws: go without
            middle.append(code)
        middle[1][middle[0] < 0] = -1  # a second middle name only after a first
        return middle[0], middle[1]

    def _draw(
        self,
        rng: np.random.Generator,
        origin: np.ndarray,
        year: np.ndarray,
        sex: np.ndarray,
        rest: GroupedSampler,
    ) -> np.ndarray:
        k = self.list_index(year)
        s = np.asarray(sex, dtype=np.int64)
        o = np.asarray(origin, dtype=np.int64)
        u = rng.random(len(k))
        code = rest.draw(2 * k + s, u).astype(np.int32)
        own = np.flatnonzero(rng.random(len(k)) < self.own_share[o, k, s])
        if len(own):
            group = 2 * (len(self.list_years) * o[own] + k[own]) + s[own]
            code[own] = self.own.draw(group, u[own])
        return code


def _memberships(vocab: Sequence[str], origins: Sequence[str], weights: np.ndarray) -> np.ndarray:
    """(names, origins): the share of each name that belongs to each origin, in proportion to
    the origins' weights among the lexicons holding it (rows sum to 1, or 0 for no lexicon)."""
    position = {o: i for i, o in enumerate(origins)}
    row_of = {n: i for i, n in enumerate(vocab)}
    member = np.zeros((len(vocab), len(origins)))
    for name, held_by in shipped_origin_lexicon().items():
        for origin in held_by:
            if origin in position and name in row_of:
                member[row_of[name], position[origin]] = 1.0
    extra = [o for o in origins if o not in _builtin_origins()]
    if extra:  # a Faker locale used as an origin: match its lexicon now
        keys = [lexicon_key(n) for n in vocab]
        for origin, words in origin_lexicons(extra).items():
            hit = [i for i, key in enumerate(keys) if key in words]
            member[hit, position[origin]] = 1.0
    member *= weights[None, :]
    total = member.sum(axis=1, keepdims=True)
    return np.divide(member, total, out=np.zeros_like(member), where=total > 0)


@cache
def _builtin_origins() -> frozenset[str]:
    from matchsim.synth.origins import ORIGINS

    return frozenset(ORIGINS)


def build_forename_model(
    origins: Mapping[str, float], middle_name_counts: Sequence[float] | None = None
) -> ForenameModel:
    """Samplers for these origin shares (``british``, if present, is the catch-all origin) and
    chances of 0, 1 and 2 middle names (default: ``NamesConfig.middle_name_counts``, sourced).

    Examples
    --------
    >>> import numpy as np
    >>> model = build_forename_model({"british": 0.9, "pakistani": 0.1})
    >>> rng = np.random.default_rng(0)
    >>> codes = model.draw_first(rng, np.array([0, 1]), np.array([1996, 2019]), np.array([0, 0]))
    >>> len(model.names[codes])
    2
    """
    if middle_name_counts is None:
        middle_name_counts = NamesConfig().middle_name_counts
    order = tuple(origins)
    weights = np.array([origins[o] for o in order], dtype=np.float64)
    data = name_lists()
    years = _list_years()
    member = _memberships(vocabulary()[0], order, weights)  # by code
    own_share = np.zeros((len(order), len(years), 2))
    shared_groups: list[tuple[np.ndarray, np.ndarray]] = []
    own_groups: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
    middle_groups: list[tuple[np.ndarray, np.ndarray]] = []
    for k, year in enumerate(years):
        for s, sex in enumerate(SEXES):
            c, p = data.lists[(year, sex)]
            rest = p.copy()
            for o, origin in enumerate(order):
                mass_by_name = p * member[c, o]
                mass = mass_by_name.sum()
                if origin == "british" or mass <= 0 or weights[o] <= 0:
                    continue
                # as min(1, mass / weight), without overflowing on a vanishing weight
                own_share[o, k, s] = 1.0 if mass >= weights[o] else mass / weights[o]
                keep = mass_by_name > 0
                own_groups[(o, k, s)] = (c[keep], mass_by_name[keep] / mass)
                rest -= mass_by_name * min(1.0, weights[o] / mass)
            rest = np.clip(rest, 0.0, None)
            if rest.sum() <= 1e-12:
                rest = p
            shared_groups.append((c, rest / rest.sum()))
            middle_groups.append(_middle_codes(year, sex))
    placeholder = (np.zeros(1, dtype=np.int32), np.ones(1))
    own_list = [
        own_groups.get((o, k, s), placeholder)
        for o in range(len(order))
        for k in range(len(years))
        for s in range(2)
    ]
    year_base = 1900
    year_index = np.array(
        [years.index(list_year(y)) for y in range(year_base, 2101)], dtype=np.int64
    )
    return ForenameModel(
        names=np.array(vocabulary()[0], dtype=object),
        list_years=np.array(years, dtype=np.int64),
        year_index=year_index,
        year_base=year_base,
        own_share=own_share,
        own=GroupedSampler.from_groups(own_list),
        shared=GroupedSampler.from_groups(shared_groups),
        middle=GroupedSampler.from_groups(middle_groups),
        middle_cumulative=np.cumsum(np.asarray(middle_name_counts, dtype=np.float64)),
    )
