"""Known-answer tests of the attacks on Bloom-filter encodings, and of the diffusion layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.pprl import BloomEncoder, unpack
from matchsim.pprl.attacks import (
    graph_matching_attack,
    overlap_list,
    pattern_mining_attack,
    sample_nodes,
    score,
    value_counts,
)
from matchsim.pprl.hardening import diffuse

KEY = "attack-test-key-0123"
NAMES = np.array(
    ["OLIVER", "AMELIA", "GEORGE", "ISLA", "HARRY", "AVA", "NOAH", "EMILY", "JACK", "SOPHIA",
     "LEO", "GRACE", "OSCAR", "LILY", "CHARLIE", "MIA", "JACOB", "ELLA", "ALFIE", "RUBY"],
    dtype=object,
)  # fmt: skip


def population(n: int, seed: int = 1) -> np.ndarray:
    """Record codes into NAMES with a Zipf-like, strictly decreasing frequency."""
    weights = 1.0 / np.arange(1, len(NAMES) + 1)
    return np.random.default_rng(seed).choice(len(NAMES), size=n, p=weights / weights.sum())


def field_filters(codes: np.ndarray, **hardening: object) -> np.ndarray:
    encoder = BloomEncoder(fields=[{"role": "forename", "q": 2, "k": 15}], key=KEY, **hardening)
    years = np.full(len(codes), 2005)
    return encoder.encode_codes({"forename": codes}, {"forename": NAMES}, years, stream=1)


def test_bit_pattern_attack_recovers_unhardened_names_with_the_registers_frequencies():
    codes = population(5000)
    filters = field_filters(codes)
    out = pattern_mining_attack(filters, codes, NAMES, value_counts(NAMES, codes))
    assert out.records == 5000
    assert out.records_share > 0.95
    assert out.values_share >= 0.9
    assert out.records_interval[0] <= out.records_share <= out.records_interval[1]


def test_bit_pattern_attack_decodes_names_it_never_aligned():
    # 400 ONS first names; only the 100 most frequent filters are aligned, so every name
    # decoded beyond 100 was read from its q-grams' bit positions.
    from matchsim.synth.ons_names import ons_forenames

    ons = ons_forenames()
    top = (
        ons[ons["year"] == 2005]
        .assign(name=lambda d: d["name"].astype(str).str.upper())
        .groupby("name")["n"]
        .sum()
        .nlargest(400)
    )
    texts = top.index.to_numpy(dtype=object)
    codes = np.random.default_rng(3).choice(len(texts), size=40_000, p=top / top.sum())
    encoder = BloomEncoder(fields=[{"role": "forename", "q": 2, "k": 15}], key=KEY)
    filters = encoder.encode_codes({"forename": codes}, {"forename": texts})
    out = pattern_mining_attack(filters, codes, texts, value_counts(texts, codes), aligned=100)
    assert out.values_share * out.values > 150


def test_salting_defeats_the_bit_pattern_attack():
    codes = population(5000)
    years = np.random.default_rng(2).integers(1990, 2013, size=len(codes))
    encoder = BloomEncoder(
        fields=[{"role": "forename", "q": 2, "k": 15}], key=KEY, salt="birth_year"
    )
    filters = encoder.encode_codes({"forename": codes}, {"forename": NAMES}, years)
    plain = pattern_mining_attack(field_filters(codes), codes, NAMES, value_counts(NAMES, codes))
    salted = pattern_mining_attack(filters, codes, NAMES, value_counts(NAMES, codes))
    assert salted.records_share < plain.records_share / 2


def ons_names(year: int, top: int) -> pd.Series:
    from matchsim.synth.ons_names import ons_forenames

    ons = ons_forenames()
    return (
        ons[ons["year"] == year]
        .assign(name=lambda d: d["name"].astype(str).str.upper())
        .groupby("name")["n"]
        .sum()
        .nlargest(top)
    )


def graph_setting(overlap: float, seed: int = 0) -> float:
    names = ons_names(2005, 3000)
    texts = names.index.to_numpy(dtype=object)
    codes = np.random.default_rng(seed).choice(len(texts), size=20_000, p=names / names.sum())
    encoder = BloomEncoder(fields=[{"role": "forename", "q": 2, "k": 15}], key=KEY)
    filters = encoder.encode_codes({"forename": codes}, {"forename": texts})
    other = ons_names(1997, 3000)  # another year's babies: the outside records
    outside = np.repeat(other.index.to_numpy(dtype=object), other.to_numpy() // 10 + 1)
    rows, plain, keys = sample_nodes(
        codes, texts, nodes=600, overlap=overlap, outside=outside, seed=seed
    )
    return graph_matching_attack(filters[rows], codes[rows], plain, keys).records_share


def test_graph_attack_needs_overlap():
    full, low = graph_setting(1.0), graph_setting(0.1)
    assert full > 0.5
    assert low < 0.1
    assert low < full / 5


def test_score_counts_values_by_majority_and_has_intervals():
    out = score("x", np.array([0, 0, 1, -1]), np.array([0, 0, 2, 2]), field="f",
                hardening="none", knowledge="k", seconds=0.0)  # fmt: skip
    assert out.records_share == 0.5
    assert out.values == 2 and out.values_share == 0.5
    low, high = out.values_interval
    assert 0 <= low < 0.5 < high <= 1


def test_overlap_list_keeps_the_size_and_mixes_by_share():
    register = pd.Series([600, 300, 100], index=["A", "B", "C"])
    outside = pd.Series([1000, 1000], index=["X", "Y"])
    full = overlap_list(register, outside, 1.0)
    assert full.to_dict() == register.to_dict()
    none = overlap_list(register, outside, 0.0)
    assert set(none.index) <= {"X", "Y"} and none.sum() == 1000
    half = overlap_list(register, outside, 0.5, seed=3)
    assert half.sum() == 1000 and half[["A", "B", "C"]].sum() == 500
    with pytest.raises(ConfigError, match="overlap"):
        overlap_list(register, outside, 1.5)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_diffusion_is_xor_of_taps(t, seed):
    rng = np.random.default_rng(seed)
    filters = rng.integers(0, 2**63, size=(7, 2), dtype=np.uint64)
    taps = np.stack([rng.choice(128, size=t, replace=False) for _ in range(128)])
    out = unpack(diffuse(filters, taps))
    bits = unpack(filters)
    expected = np.bitwise_xor.reduce(bits[:, taps], axis=2)
    assert np.array_equal(out, expected)


def test_diffusion_encoder_is_keyed_deterministic_and_checked():
    codes = population(200)
    a = field_filters(codes, diffusion=8)
    assert np.array_equal(a, field_filters(codes, diffusion=8))
    assert not np.array_equal(a, field_filters(codes))
    assert a.shape == field_filters(codes).shape
    with pytest.raises(ConfigError, match="diffusion"):
        BloomEncoder(key=KEY, diffusion=100)
    assert "diffusion t=8" in BloomEncoder(key=KEY, diffusion=8).describe()
