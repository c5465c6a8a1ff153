"""The ONS first-name lists shipped with matchsim, checked on load, as lists by birth year.

``matchsim/data/names/ons_forenames.parquet`` holds every first name given to 3 or more babies of
one sex in one year in England and Wales, 1996-2020, with its count;
``ons_top100_1904_1994.csv`` the decade top-100 lists before that (ranks only). Source: Office
for National Statistics licensed under the Open Government Licence v3.0 (see the folder's
README). Every load checks the files' SHA-256, columns, row count, years and counts, so a damaged
install fails with :class:`~matchsim.errors.DataIntegrityError`.

*Years outside 1996-2020* (:func:`list_year`, :func:`year_list`). After 2020 the 2020 list is
used (the nearest year). Before 1996, the head of a year's list is the nearest decade list (ties
go to the later decade), whose rank-``k`` name takes the share of the 1996 list's rank-``k``
name; the tail is the 1996 list without those names, scaled to the rest of the mass. 1990-1995
births therefore get the 1994 ranking (Thomas, James, Jack) with 1996's concentration.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from matchsim.errors import DataIntegrityError

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
#: Name-sex-year rows in the 1996-2020 lists.
ONS_ROWS = 294_801


def read_checked(name: str) -> bytes:
    """The bytes of a shipped table, after checking its SHA-256 against :data:`CHECKSUMS`."""
    data = resources.files("matchsim.data").joinpath(f"names/{name}").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CHECKSUMS[name]:
        raise fail(name, f"SHA-256 is {digest[:16]}..., expected {CHECKSUMS[name][:16]}...")
    return data


def fail(name: str, problem: str) -> DataIntegrityError:
    """The error for a shipped names table that fails a check."""
    return DataIntegrityError(
        f"matchsim/data/names/{name} is damaged: {problem}; reinstall matchsim"
    )


@cache
def ons_forenames() -> pd.DataFrame:
    """The ONS 1996-2020 lists: ``year``, ``sex`` (M/F), ``name``, ``n`` (babies), checked.

    Rows are sorted by year, sex and descending count; ``sex`` and ``name`` are categorical.
    Source: Office for National Statistics licensed under the Open Government Licence v3.0.
    """
    name = "ons_forenames.parquet"
    table = pq.read_table(io.BytesIO(read_checked(name))).to_pandas()
    if list(table.columns) != ["year", "sex", "name", "n"]:
        raise fail(name, f"columns {list(table.columns)}, expected year, sex, name, n")
    if len(table) != ONS_ROWS:
        raise fail(name, f"{len(table)} rows, expected {ONS_ROWS}")
    years = set(table["year"].unique().tolist())
    if years != set(range(FULL_FIRST_YEAR, FULL_LAST_YEAR + 1)) or set(table["sex"]) != set(SEXES):
        raise fail(name, "years or sexes missing")
    if (table["n"] < 3).any():
        raise fail(name, "counts below 3 (ONS lists names given to 3 or more babies)")
    key = table["year"].to_numpy(np.int64) * 2 + (table["sex"] == "F").to_numpy()
    if (np.diff(key) < 0).any():
        raise fail(name, "rows are not sorted by year and sex")
    return table


@cache
def ons_top100() -> pd.DataFrame:
    """The decade top-100 lists 1904-1994: ``year``, ``sex``, ``rank``, ``name``, checked."""
    name = "ons_top100_1904_1994.csv"
    table = pd.read_csv(io.BytesIO(read_checked(name)), comment="#", keep_default_na=False)
    if list(table.columns) != ["year", "sex", "rank", "name"]:
        raise fail(name, f"columns {list(table.columns)}, expected year, sex, rank, name")
    if set(table["year"]) != set(DECADE_YEARS) or (table["rank"] < 1).any():
        raise fail(name, "years or ranks out of range")
    return table


@dataclass(frozen=True)
class NameLists:
    """Every list as codes into one vocabulary (the ONS 1996-2020 names, then decade-list ones)."""

    vocab: tuple[str, ...]
    index: dict[str, int]
    #: (list year, sex) -> (codes, probabilities), probabilities descending
    lists: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]


@cache
def name_lists() -> NameLists:
    """All lists (1996-2020 and the decade lists) as codes into one vocabulary, built once."""
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
    return NameLists(vocab=tuple(vocab), index=index, lists=lists)


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
    index = name_lists().index
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
    data = name_lists()
    codes, p = data.lists[(list_year(year), sex)]
    return tuple(data.vocab[c] for c in codes), p.copy()


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
