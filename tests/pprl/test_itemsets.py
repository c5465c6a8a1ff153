"""Known-answer tests of the maximal-frequent-itemset attack (Christen, Vidanage, Ranbaduge &
Schnell, PAKDD 2018) on lists of names whose filters are all unique."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matchsim.errors import ConfigError
from matchsim.pprl import BloomEncoder
from matchsim.pprl.attacks import (
    identify_qgrams_by_itemsets,
    itemset_attack,
    pattern_mining_attack,
    value_counts,
)
from matchsim.pprl.tokens import qgrams
from matchsim.synth.ons_names import ons_forenames

KEY = "itemset-test-key-0123"


def ons_top(count: int) -> list[str]:
    ons = ons_forenames()
    top = (
        ons[ons["year"] == 2005]
        .assign(name=lambda d: d["name"].astype(str).str.upper())
        .groupby("name")["n"]
        .sum()
        .nlargest(count)
    )
    return [str(v) for v in top.index]


def encode(texts: np.ndarray, **hardening: object) -> np.ndarray:
    """One record per name: every filter is a different name's."""
    encoder = BloomEncoder(fields=[{"role": "forename", "q": 2, "k": 15}], key=KEY, **hardening)
    codes = np.arange(len(texts))
    years = 1990 + codes % 20
    return encoder.encode_codes({"forename": codes}, {"forename": texts}, years)


def all_unique(filters: np.ndarray) -> bool:
    return len(np.unique(filters, axis=0)) == len(filters)


def equal_endings() -> np.ndarray:
    """ONS names with exactly as many ending in A as in E: ``A#`` and ``E#`` tie."""
    names = ons_top(1000)
    a = [v for v in names if v.endswith("A")]
    e = [v for v in names if v.endswith("E")]
    rest = [v for v in names if not v.endswith(("A", "E"))]
    both = min(len(a), len(e))
    return np.array(rest + a[:both] + e[:both], dtype=object)


def assignment_errors(texts: np.ndarray, filters: np.ndarray) -> tuple[dict[str, int], list]:
    """Assigned q-grams, and those whose itemset's records are not those of the q-gram they
    match best (the highest Jaccard index over every q-gram of the list): wrong labels."""
    found = identify_qgrams_by_itemsets(filters, value_counts(texts, np.arange(len(texts))))
    rows = np.unpackbits(found.rows.view(np.uint8), axis=1, bitorder="little")[:, : found.filters]
    rows = rows[:, found.inverse]  # per record
    holders: dict[str, np.ndarray] = {}
    for i, v in enumerate(texts):
        for g in set(qgrams(v, 2)):
            holders.setdefault(g, np.zeros(len(texts), dtype=bool))[i] = True
    wrong = []
    for gram, a in found.assigned.items():
        mined = rows[a].astype(bool)
        jaccard = {g: (mined & h).sum() / (mined | h).sum() for g, h in holders.items()}
        truest = max(jaccard, key=jaccard.__getitem__)
        if truest != gram or jaccard[gram] < 0.8:
            wrong.append((gram, truest, round(float(jaccard[gram]), 2)))
    return found.assigned, wrong


def test_itemset_attack_reidentifies_names_whose_filters_are_all_unique():
    texts = np.array(ons_top(1000), dtype=object)
    filters = encode(texts)
    assert all_unique(filters)
    codes = np.arange(len(texts))
    out = itemset_attack(filters, codes, texts, value_counts(texts, codes))
    assert out.records == 1000
    assert out.records_share > 0.9
    assert out.detail["qgrams_identified"] > 100
    # The 2017 bit-pattern attack aligns repeated filters: here there are none.
    old = pattern_mining_attack(filters, codes, texts, value_counts(texts, codes))
    assert old.records_share < 0.05


def test_near_equal_qgrams_are_never_swapped():
    texts = equal_endings()
    counts = {g: sum(g in qgrams(v, 2) for v in texts) for g in ("A#", "E#")}
    assert counts["A#"] == counts["E#"] >= 50  # the tie the frequency alone cannot break
    filters = encode(texts)
    assert all_unique(filters)
    assigned, wrong = assignment_errors(texts, filters)
    assert wrong == []
    assert {"A#", "E#"} <= set(assigned)
    assert len(assigned) > 100


def test_salting_lowers_the_itemset_attacks_success():
    texts = np.array(ons_top(1000), dtype=object)
    codes = np.arange(len(texts))
    attacker = value_counts(texts, codes)
    plain = itemset_attack(encode(texts), codes, texts, attacker)
    salted = itemset_attack(encode(texts, salt="birth_year"), codes, texts, attacker)
    assert salted.records_share < plain.records_share / 3


def test_itemset_attack_with_no_attacker_list_or_records_guesses_nothing():
    texts = np.array(["ANNA", "BEN"], dtype=object)
    filters = encode(texts)
    out = itemset_attack(filters, np.array([0, 1]), texts, pd.Series(dtype=np.int64))
    assert out.records == 0 and out.records_share == 0.0


@pytest.mark.parametrize(
    ("option", "value"),
    [("min_support", 0.0), ("keep", 1.5), ("separation", -1.0), ("max_itemsets", 0)],
)
def test_bad_itemset_settings_are_refused_naming_the_parameter(option, value):
    texts = np.array(["ANNA", "BEN"], dtype=object)
    with pytest.raises(ConfigError) as err:
        itemset_attack(
            encode(texts),
            np.array([0, 1]),
            texts,
            value_counts(texts, np.array([0, 1])),
            **{option: value},
        )
    assert err.value.field == option


def test_repeated_names_are_mined_as_qgrams_not_as_whole_names():
    # 20,000 records of 500 names by their ONS frequencies: a popular name's filter repeats
    # thousands of times, yet the itemsets are q-grams (mined over distinct filters).
    names = ons_forenames()
    top = (
        names[names["year"] == 2005]
        .assign(name=lambda d: d["name"].astype(str).str.upper())
        .groupby("name")["n"]
        .sum()
        .nlargest(500)
    )
    texts = top.index.to_numpy(dtype=object)
    codes = np.random.default_rng(5).choice(len(texts), size=20_000, p=top / top.sum())
    encoder = BloomEncoder(fields=[{"role": "forename", "q": 2, "k": 20}], key=KEY)
    filters = encoder.encode_codes({"forename": codes}, {"forename": texts})
    out = itemset_attack(filters, codes, texts, value_counts(texts, codes))
    assert out.detail["distinct_encodings"] == len(np.unique(codes))
    assert out.records_share > 0.9
    assert out.values_share > 0.8
