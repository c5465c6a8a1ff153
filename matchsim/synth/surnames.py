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

The sourced figures and raw lists are in :mod:`matchsim.synth.surname_sources`; what the lists
imply for children, and the anchor targets a register is checked against, are in
:mod:`matchsim.synth.surname_targets`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from matchsim.errors import ConfigError
from matchsim.synth.surname_sources import (
    DEFAULT_TOP_SHARE,
    HONORIFIC_SURNAMES,
    MALE_SHARE,
    SURNAME_SOURCES,
    SURNAME_TAIL_EXPONENT,
    SurnameSource,
    adult_shares_1991,
    anchored_shares,
    default_honorific_rows,
    extra_surnames,
    faker_surnames,
    national_heads,
    shipped_surnames,
)

__all__ = [
    "SurnameList",
    "feminine_surname",
    "hash_order",
    "rank_correlation",
    "stable_rank_key",
    "surname_list",
    "surname_vocabulary",
    "zipf_tail",
]


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
    sourced.update(national_heads().get(origin, {}))
    if origin == "british":
        # Faker en_GB weights its 500 names in percent of the population (its own figures,
        # unverified); the published electoral-register shares replace its top five below.
        _, weights = faker_surnames("en_GB")
        a_british = adult_shares_1991()["british"]
        sourced.update({n: w / 100.0 / a_british for n, w in (weights or {}).items()})
    sourced.update(anchored_shares().get(origin, {}))

    ranked_lists: list[list[str]] = []
    unranked: list[str] = []
    extra = extra_surnames()
    extra = extra[extra["origin"] == origin]
    ranked_lists.append(list(extra.loc[extra["ranked"] == 1, "surname"]))
    unranked += list(extra.loc[extra["ranked"] != 1, "surname"])
    if source.shipped_list is not None:
        ranked_lists.append(list(shipped_surnames(source.shipped_list)))
    faker_ranked = []
    for locale in source.locales:
        names, weights = faker_surnames(locale)
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
