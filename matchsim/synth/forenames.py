"""First and middle names by birth year and sex, from the ONS full lists.

Every first name is drawn from the ONS "Baby names in England and Wales" list of the child's
birth year and sex (every name given to 3 or more babies, 1996-2020, with its count), so that
names, their spelling variants (Muhammad, Mohammed, Mohammad counted separately, as ONS does)
and the chance that two children of a cohort share a name follow the published counts.

*Years outside 1996-2020.* After 2020 the 2020 list is used (the nearest year). Before 1996,
ONS publishes only decade top-100 lists (1904, 1914, ..., 1994; ranks 1-95 in the file) without
counts: the head of a year's list is the nearest decade list (ties go to the later decade),
whose rank-``k`` name takes the share of the 1996 list's rank-``k`` name; the tail is the 1996
list without those names, scaled to the rest of the mass. 1990-1995 births therefore get the
1994 ranking (Thomas, James, Jack) with 1996's concentration.

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

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from matchsim.errors import DataIntegrityError
from matchsim.synth.names import GroupedSampler

#: Years of the full ONS lists shipped in ``ons_forenames.parquet``.
FULL_FIRST_YEAR, FULL_LAST_YEAR = 1996, 2020
#: Years of the decade top-100 lists (``ons_top100_1904_1994.csv``).
DECADE_YEARS = tuple(range(1904, 1995, 10))
SEXES = ("M", "F")

#: SHA-256 of the shipped tables; ``python -m matchsim.data.build_forenames`` prints them.
CHECKSUMS = {
    "ons_forenames.parquet": "80694660b2bff7c8903b31484da98b2b2113947ce79670fc65b99c72a45c4ea2",
    "ons_top100_1904_1994.csv": "83587fd421b73eb478dedff581fa69fcb06167980b1c29ae8520ca5fbb9792b0",
    "forename_origins.csv": "597a2daca21f1876099b4cacad99e63b780e0b04c1005aec073c72809f0ff7fe",
}
#: Rows and babies in the 1996-2020 lists (ONS: 294,801 name-sex-year rows).
ONS_ROWS = 294_801

#: Share of children with 0, 1 and 2 middle names. Source: Ancestry UK survey, 2013
#: ("80 per cent of children are now given a middle name ... 11 per cent have at least two";
#: reported by the Huffington Post and others, 14 August 2014). Three or more are folded into two.
DEFAULT_MIDDLE_NAME_COUNTS = (0.20, 0.69, 0.11)

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


def _read_checked(name: str) -> bytes:
    """The bytes of a shipped table, after checking its SHA-256 against :data:`CHECKSUMS`."""
    data = resources.files("matchsim.data").joinpath(f"names/{name}").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CHECKSUMS[name]:
        raise _fail(name, f"SHA-256 is {digest[:16]}..., expected {CHECKSUMS[name][:16]}...")
    return data


def _fail(name: str, problem: str) -> DataIntegrityError:
    return DataIntegrityError(
        f"matchsim/data/names/{name} is damaged: {problem}; reinstall matchsim"
    )


@cache
def ons_forenames() -> pd.DataFrame:
    """The ONS 1996-2020 lists: ``year``, ``sex`` (M/F), ``name``, ``n`` (babies), checked.

    Rows are sorted by year, sex and descending count; ``sex`` and ``name`` are categorical.
    Source: Office for National Statistics licensed under the Open Government Licence v3.0.
    """
    import io

    name = "ons_forenames.parquet"
    table = pq.read_table(io.BytesIO(_read_checked(name))).to_pandas()
    if list(table.columns) != ["year", "sex", "name", "n"]:
        raise _fail(name, f"columns {list(table.columns)}, expected year, sex, name, n")
    if len(table) != ONS_ROWS:
        raise _fail(name, f"{len(table)} rows, expected {ONS_ROWS}")
    years = set(table["year"].unique().tolist())
    if years != set(range(FULL_FIRST_YEAR, FULL_LAST_YEAR + 1)) or set(table["sex"]) != set(SEXES):
        raise _fail(name, "years or sexes missing")
    if (table["n"] < 3).any():
        raise _fail(name, "counts below 3 (ONS lists names given to 3 or more babies)")
    key = table["year"].to_numpy(np.int64) * 2 + (table["sex"] == "F").to_numpy()
    if (np.diff(key) < 0).any():
        raise _fail(name, "rows are not sorted by year and sex")
    return table


@cache
def ons_top100() -> pd.DataFrame:
    """The decade top-100 lists 1904-1994: ``year``, ``sex``, ``rank``, ``name``, checked."""
    import io

    name = "ons_top100_1904_1994.csv"
    table = pd.read_csv(io.BytesIO(_read_checked(name)), comment="#", keep_default_na=False)
    if list(table.columns) != ["year", "sex", "rank", "name"]:
        raise _fail(name, f"columns {list(table.columns)}, expected year, sex, rank, name")
    if set(table["year"]) != set(DECADE_YEARS) or (table["rank"] < 1).any():
        raise _fail(name, "years or ranks out of range")
    return table


@dataclass(frozen=True)
class _Lists:
    """Every list as codes into one vocabulary (ONS names, then decade-list and middle names)."""

    vocab: tuple[str, ...]
    index: dict[str, int]
    #: (list year, sex) -> (codes, probabilities), probabilities descending
    lists: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]


@cache
def _lists() -> _Lists:
    full = ons_forenames()
    vocab = list(full["name"].cat.categories)
    index = {n: i for i, n in enumerate(vocab)}

    def code(name: str) -> int:
        if name not in index:
            index[name] = len(vocab)
            vocab.append(name)
        return index[name]

    codes = full["name"].cat.codes.to_numpy(np.int32)
    counts = full["n"].to_numpy(np.float64)
    key = full["year"].to_numpy(np.int64) * 2 + (full["sex"] == "F").to_numpy()
    lists: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
    for year in range(FULL_FIRST_YEAR, FULL_LAST_YEAR + 1):
        for s, sex in enumerate(SEXES):
            lo, hi = np.searchsorted(key, [2 * year + s, 2 * year + s + 1])
            lists[(year, sex)] = (codes[lo:hi], counts[lo:hi] / counts[lo:hi].sum())
    top = ons_top100().sort_values(["year", "sex", "rank"], kind="stable")
    for (year, sex), head in top.groupby(["year", "sex"], sort=False):
        base_codes, base_p = lists[(FULL_FIRST_YEAR, str(sex))]
        head_codes = np.array([code(n) for n in dict.fromkeys(head["name"])], dtype=np.int32)
        head_p = base_p[: len(head_codes)]  # 1996's shares by rank (sorted descending)
        tail = ~np.isin(base_codes, head_codes)
        tail_p = base_p[tail] / base_p[tail].sum() * (1.0 - head_p.sum())
        lists[(int(year), str(sex))] = (
            np.concatenate([head_codes, base_codes[tail]]),
            np.concatenate([head_p, tail_p]),
        )
    for ranks in MIDDLE_NAME_HEAD.values():
        for tied in ranks:
            for name in tied:
                code(name)
    return _Lists(vocab=tuple(vocab), index=index, lists=lists)


@cache
def shipped_origin_lexicon() -> dict[str, tuple[str, ...]]:
    """ONS name -> the built-in origins whose lexicon holds it (``forename_origins.csv``)."""
    import io

    name = "forename_origins.csv"
    table = pd.read_csv(io.BytesIO(_read_checked(name)), comment="#", keep_default_na=False)
    if list(table.columns) != ["name", "origins"]:
        raise _fail(name, f"columns {list(table.columns)}, expected name, origins")
    return {n: tuple(o.split(";")) for n, o in zip(table["name"], table["origins"], strict=True)}


@cache
def _count_index() -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys ``(code * 32 + year - 1996) * 2 + sex`` of the full lists, and their counts."""
    full = ons_forenames()
    code = full["name"].cat.codes.to_numpy(np.int64)
    year = full["year"].to_numpy(np.int64) - FULL_FIRST_YEAR
    girl = (full["sex"] == "F").to_numpy(np.int64)
    key = (code * 32 + year) * 2 + girl
    order = np.argsort(key, kind="stable")
    return key[order], full["n"].to_numpy(np.int64)[order]


def ons_counts(names: Sequence[str], year: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Babies ONS counts with each name in each birth year (clamped to 1996-2020) and sex
    (0 M, 1 F, -1 either: both added); 0 where ONS does not list the name (fewer than 3)."""
    index = _lists().index
    n_full = len(ons_forenames()["name"].cat.categories)
    code = np.array([index.get(n, n_full) for n in names], dtype=np.int64)
    listed = code < n_full
    y = np.clip(np.asarray(year, dtype=np.int64), FULL_FIRST_YEAR, FULL_LAST_YEAR) - FULL_FIRST_YEAR
    keys, counts = _count_index()
    out = np.zeros(len(code), dtype=np.int64)
    sexes = np.asarray(sex, dtype=np.int64)
    for s in (0, 1):
        use = listed & ((sexes == s) | (sexes < 0))
        key = (code[use] * 32 + y[use]) * 2 + s
        at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        out[use] += np.where(keys[at] == key, counts[at], 0)
    return out


def lexicon_key(name: str) -> str:
    """Accent- and case-insensitive form used to match ONS names against lexicons."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(str.maketrans("łŁıİøØßđĐ", "lLiIoOsdD")).lower()


def origin_lexicons(origins: Sequence[str]) -> dict[str, frozenset[str]]:
    """Each origin's forename lexicon (its Faker locales and shipped romanised lists, boys and
    girls together), as :func:`lexicon_key` forms."""
    from matchsim.synth.names import origin_names  # names builds this module's model

    return {
        origin: frozenset(
            lexicon_key(n)
            for kind in ("forename_male", "forename_female")
            for n in origin_names(origin, kind)
        )
        for origin in origins
    }


def list_year(year: int) -> int:
    """The list a birth year draws from: itself in 1996-2020, 2020 after, the nearest decade
    list before (ties to the later decade)."""
    if year > FULL_LAST_YEAR:
        return FULL_LAST_YEAR
    if year >= FULL_FIRST_YEAR:
        return year
    return min(DECADE_YEARS, key=lambda d: (abs(d - year), -d))


def year_list(year: int, sex: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Names and probabilities (descending) that children born in ``year`` of ``sex`` are
    given (the list ``list_year(year)``; see the module docstring for years before 1996)."""
    data = _lists()
    codes, p = data.lists[(list_year(year), sex)]
    return tuple(data.vocab[c] for c in codes), p.copy()


def _middle_codes(year: int, sex: str) -> tuple[np.ndarray, np.ndarray]:
    data = _lists()
    ranks = MIDDLE_NAME_HEAD[sex]
    raw = np.array([1.0 / (r + 1) for r in range(len(ranks))])
    raw = raw / raw.sum() * MIDDLE_HEAD_SHARE
    head = [
        (data.index[n], share / len(tied))
        for tied, share in zip(ranks, raw, strict=True)
        for n in tied
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
    vocab = _lists().vocab
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
        middle = []
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
    from matchsim.synth.names import ORIGINS

    return frozenset(ORIGINS)


def build_forename_model(
    origins: Mapping[str, float], middle_name_counts: Sequence[float] = DEFAULT_MIDDLE_NAME_COUNTS
) -> ForenameModel:
    """Samplers for these origin shares (``british``, if present, is the catch-all origin).

    Examples
    --------
    >>> import numpy as np
    >>> model = build_forename_model({"british": 0.9, "pakistani": 0.1})
    >>> rng = np.random.default_rng(0)
    >>> codes = model.draw_first(rng, np.array([0, 1]), np.array([1996, 2019]), np.array([0, 0]))
    >>> len(model.names[codes])
    2
    """
    order = tuple(origins)
    weights = np.array([origins[o] for o in order], dtype=np.float64)
    data = _lists()
    years = _list_years()
    member = _memberships(data.vocab, order, weights)  # by code
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
                own_share[o, k, s] = min(1.0, mass / weights[o])
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
        names=np.array(data.vocab, dtype=object),
        list_years=np.array(years, dtype=np.int64),
        year_index=year_index,
        year_base=year_base,
        own_share=own_share,
        own=GroupedSampler.from_groups(own_list),
        shared=GroupedSampler.from_groups(shared_groups),
        middle=GroupedSampler.from_groups(middle_groups),
        middle_cumulative=np.cumsum(np.asarray(middle_name_counts, dtype=np.float64)),
    )


def ons_fidelity(
    forename: Sequence[str], sex: Sequence[str], year: Sequence[int], top: int = 100
) -> pd.DataFrame:
    """Generated first names against ONS, per birth year (1996-2020) and sex.

    Columns: ``year``, ``sex``, ``children``, ``tvd_top`` (total-variation distance over ONS's
    top ``top`` names of that year, both renormalised), ``top_name`` / ``ons_top_name`` and their
    shares, and ``sharing`` / ``ons_sharing`` (the chance that two children of that year and sex
    share a first name; the sample's is the unbiased estimate). A register's fidelity table
    (``matchsim fidelity``) can show these beside their source, ONS Baby names (OGL v3).
    """
    frame = pd.DataFrame(
        {"name": np.asarray(forename, dtype=object), "sex": np.asarray(sex, dtype=object)}
    )
    frame["year"] = np.asarray(year, dtype=np.int64)
    frame = frame[frame["year"].between(FULL_FIRST_YEAR, FULL_LAST_YEAR)]
    counts = frame.groupby(["year", "sex", "name"]).size()
    rows = []
    for (y, s), group in counts.groupby(level=[0, 1]):
        c = group.droplevel([0, 1]).sort_values(ascending=False)
        names, p = year_list(int(y), str(s))
        ons = pd.Series(p, index=names)
        head = ons.iloc[:top] / ons.iloc[:top].sum()
        got = c.reindex(head.index, fill_value=0).astype(np.float64)
        tvd = 0.5 * float(np.abs(got / max(got.sum(), 1.0) - head).sum())
        n = float(c.sum())
        values = c.to_numpy(np.float64)
        sharing = float((values * (values - 1)).sum() / (n * (n - 1))) if n > 1 else float("nan")
        rows.append(
            {
                "year": int(y),
                "sex": str(s),
                "children": int(n),
                "tvd_top": tvd,
                "top_name": str(c.index[0]),
                "top_share": float(c.iloc[0]) / n,
                "ons_top_name": names[0],
                "ons_top_share": float(p[0]),
                "sharing": sharing,
                "ons_sharing": float((p**2).sum()),
            }
        )
    return pd.DataFrame(rows)
