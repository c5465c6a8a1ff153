"""Per-value string edits the error model applies: typos, OCR and phonetic substitutions,
nicknames, transliterations, stripped accents and postcode slips.

Each takes one string (and a random generator where it draws) and returns the edited string;
the corruptors apply them only to the rows that drew an error.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache

import numpy as np
from nicknames import NickNamer

from matchsim.data import load_table
from matchsim.synth.ons_names import ons_counts

__all__ = [
    "keyboard_typo",
    "nicknames_of",
    "pick_by_ons_frequency",
    "postcode_typo",
    "qwerty_neighbours",
    "strip_accents",
    "substitute",
    "transliteration_variants",
]


_QWERTY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@cache
def qwerty_neighbours() -> dict[str, str]:
    """Keys next to each key on a UK QWERTY keyboard (same row, and the rows above and below)."""
    pos = {c: (r, i) for r, row in enumerate(_QWERTY_ROWS) for i, c in enumerate(row)}
    out: dict[str, str] = {}
    for c, (r, i) in pos.items():
        near = []
        for dr, di in ((0, -1), (0, 1), (-1, 0), (-1, 1), (1, -1), (1, 0)):
            rr, ii = r + dr, i + di
            if 0 <= rr < len(_QWERTY_ROWS) and 0 <= ii < len(_QWERTY_ROWS[rr]):
                near.append(_QWERTY_ROWS[rr][ii])
        out[c] = "".join(near)
    return out


def _match_case(template: str, ch: str) -> str:
    return ch.upper() if template.isupper() else ch


def keyboard_typo(value: str, rng: np.random.Generator) -> str:
    """One keystroke error: a neighbouring key instead, an extra neighbouring key, a dropped
    letter, or two letters swapped (the four classes Damerau 1964 found most common)."""
    letters = [i for i, c in enumerate(value) if c.isalnum()]
    if not letters:
        return value
    i = letters[int(rng.integers(len(letters)))]
    c = value[i]
    near = qwerty_neighbours().get(c.lower(), "")
    kind = int(rng.integers(4))
    if kind == 0 and near:
        return value[:i] + _match_case(c, near[int(rng.integers(len(near)))]) + value[i + 1 :]
    if kind == 1 and near:
        return value[: i + 1] + near[int(rng.integers(len(near)))] + value[i + 1 :]
    if kind == 2 and len(value) > 2:
        return value[:i] + value[i + 1 :]
    if i + 1 < len(value) and value[i + 1].lower() != c.lower():
        swapped = value[i + 1] + c
        if i == 0:
            swapped = swapped[0].upper() + swapped[1].lower()
        return value[:i] + swapped + value[i + 2 :]
    return value[:i] + _match_case(c, near[0] if near else c) + value[i + 1 :]


@cache
def _substitutions(table: str) -> tuple[tuple[str, str], ...]:
    t = load_table(table)
    return tuple(zip(t["from"].astype(str), t["to"].astype(str), strict=True))


def substitute(value: str, table: str, rng: np.random.Generator) -> str:
    """Replace one occurrence of one applicable pattern from a substitution table."""
    options = []
    lower = value.lower()
    for src, dst in _substitutions(table):
        start = lower.find(src.lower())
        while start >= 0:
            options.append((start, src, dst))
            start = lower.find(src.lower(), start + 1)
    if not options:
        return value
    start, src, dst = options[int(rng.integers(len(options)))]
    original = value[start : start + len(src)]
    if original[:1].isupper():
        dst = dst[:1].upper() + dst[1:]
    return value[:start] + dst + value[start + len(src) :]


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@cache
def nicknames_of(name: str) -> tuple[str, ...]:
    """Nicknames and short forms (the ``nicknames`` package's curated English list)."""
    found = _nicknamer().nicknames_of(name.lower())
    return tuple(sorted(n.title() for n in found if n.lower() != name.lower() and len(n) > 1))


@cache
def transliteration_variants() -> dict[str, tuple[str, ...]]:
    """Other spellings of each romanised name (``matchsim/data/names/transliteration_variants.csv``)."""
    from importlib import resources

    import pandas as pd

    path = resources.files("matchsim.data").joinpath("names/transliteration_variants.csv")
    with path.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, comment="#", keep_default_na=False)
    groups = table.groupby("group")["variant"].apply(tuple)
    out: dict[str, tuple[str, ...]] = {}
    for variants in groups:
        for v in variants:
            out[v] = tuple(x for x in variants if x != v)
    return out


_UNDECOMPOSABLE = str.maketrans("łŁıİøØßđĐ", "lLiIoOsdD")


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Letters that do not decompose (Polish l-stroke, Turkish dotless i).
    return stripped.translate(_UNDECOMPOSABLE)


def pick_by_ons_frequency(
    choices: Sequence[Sequence[str]], year: np.ndarray, sex: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One spelling from each row's ``choices``, weighted by how many babies of the row's birth
    year and sex ONS registered with it (Muhammad 3,604, Mohammed 1,752, Mohammad 807 and
    Muhammed 379 boys in 2019). A spelling ONS does not list that year (given to 0-2 babies)
    weighs 1, the middle of that range; so a group that ONS lacks entirely is drawn uniformly.
    Rows without choices get ``""``.
    """
    sizes = np.array([len(c) for c in choices], dtype=np.int64)
    owner = np.repeat(np.arange(len(choices)), sizes)
    flat = [v for c in choices for v in c]
    out = np.full(len(choices), "", dtype=object)
    if not flat:
        return out
    weight = ons_counts(flat, np.asarray(year)[owner], np.asarray(sex)[owner]).astype(np.float64)
    weight = np.where(weight > 0, weight, 1.0)
    cumulative = np.cumsum(weight)
    end = np.cumsum(sizes)
    start = end - sizes
    has = sizes > 0
    before = np.where(start > 0, cumulative[np.maximum(start - 1, 0)], 0.0)
    target = before + rng.random(len(choices)) * (cumulative[np.maximum(end - 1, 0)] - before)
    at = np.minimum(np.searchsorted(cumulative, target, side="right"), np.maximum(end - 1, 0))
    flat_arr = np.array(flat, dtype=object)
    out[has] = flat_arr[at[has]]
    return out


_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"


def postcode_typo(value: str, rng: np.random.Generator) -> str:
    """A character of the same class changed, two adjacent characters swapped, or the space lost."""
    chars = [i for i, c in enumerate(value) if c != " "]
    if not chars:
        return value
    kind = int(rng.integers(3))
    if kind == 2 and " " in value:
        return value.replace(" ", "")
    i = chars[int(rng.integers(len(chars)))]
    if kind == 1 and i + 1 < len(value) and value[i + 1] != " " and value[i + 1] != value[i]:
        return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    pool = "0123456789" if value[i].isdigit() else _LETTERS
    options = pool.replace(value[i], "")
    return value[:i] + options[int(rng.integers(len(options)))] + value[i + 1 :]
