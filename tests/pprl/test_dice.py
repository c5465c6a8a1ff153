"""Dice on packed bits against a naive reference, and the attack and risk measures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.pprl import BloomEncoder, dice_all_pairs, dice_pairs, unpack
from matchsim.pprl.attacks import frequency_alignment_attack
from matchsim.pprl.risk import qi_uniqueness
from matchsim.records import prepare_table


def _naive_dice(a: np.ndarray, b: np.ndarray) -> float:
    x, y = [int(v) for v in a], [int(v) for v in b]
    shared = sum(1 for p, q in zip(x, y, strict=True) if p and q)
    total = sum(x) + sum(y)
    return 2 * shared / total if total else 0.0


filters = st.integers(1, 4).flatmap(
    lambda words: st.tuples(
        st.lists(
            st.lists(st.integers(0, 2**64 - 1), min_size=words, max_size=words),
            min_size=1,
            max_size=6,
        ),
        st.lists(
            st.lists(st.integers(0, 2**64 - 1), min_size=words, max_size=words),
            min_size=1,
            max_size=6,
        ),
        st.floats(0, 1),
    )
)


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
@settings(max_examples=60, deadline=None)
@given(case=filters)
def test_dice_matches_a_naive_reference(kernel, case):
    left_words, right_words, threshold = case
    left = np.array(left_words, dtype=np.uint64)
    right = np.array(right_words, dtype=np.uint64)
    bits_l, bits_r = unpack(left), unpack(right)
    rows_l = np.repeat(np.arange(len(left)), len(right))
    rows_r = np.tile(np.arange(len(right)), len(left))
    got = dice_pairs(left, right, rows_l, rows_r, kernel=kernel)
    want = [_naive_dice(bits_l[i], bits_r[j]) for i, j in zip(rows_l, rows_r, strict=True)]
    assert np.allclose(got, want)
    i, j, score = dice_all_pairs(left, right, threshold, block=2, segment=3, kernel=kernel)
    expected = {(a, b) for a, b, w in zip(rows_l, rows_r, want, strict=True) if w >= threshold}
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    assert np.allclose(
        score, [_naive_dice(bits_l[a], bits_r[b]) for a, b in zip(i, j, strict=True)]
    )


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_empty_filters_score_zero(kernel):
    empty = np.zeros((1, 2), dtype=np.uint64)
    assert dice_pairs(empty, empty, np.array([0]), np.array([0]), kernel=kernel)[0] == 0.0


def test_all_pairs_over_the_first_buffer_are_all_returned():
    filters = np.full((70, 2), np.uint64(2**64 - 1), dtype=np.uint64)  # 4,900 pairs at Dice 1
    i, _, score = dice_all_pairs(filters, filters, 0.5, kernel="numba")
    assert len(i) == 4900 and (score == 1.0).all()


def test_an_unknown_kernel_is_a_clear_error():
    with pytest.raises(ConfigError, match="kernel"):
        dice_pairs(np.zeros((1, 1), np.uint64), np.zeros((1, 1), np.uint64), [0], [0], kernel="gpu")


def _skewed_names(n: int, seed: int) -> np.ndarray:
    names = np.array(
        [f"NAME{chr(65 + i % 26)}{chr(65 + i // 26)}" for i in range(200)], dtype=object
    )
    p = 1 / np.arange(1, 201) ** 1.1
    return np.random.default_rng(seed).choice(names, size=n, p=p / p.sum())


def test_frequency_attack_reidentifies_unhardened_encodings_and_blip_defeats_it():
    names = _skewed_names(20_000, 1)
    public = pd.Series(_skewed_names(50_000, 2)).value_counts()
    plain = BloomEncoder(["surname"], key=b"attack-test-key").encode_fields(
        {"surname": list(names)}
    )
    noisy = BloomEncoder(["surname"], key=b"attack-test-key", blip=0.05).encode_fields(
        {"surname": list(names)}
    )
    texts, codes = np.unique(names, return_inverse=True)
    hit = frequency_alignment_attack(plain, codes, texts, public, top=10)
    miss = frequency_alignment_attack(noisy, codes, texts, public, top=10)
    assert hit.top_correct_share >= 0.9  # the ten commonest names are clearly separated
    assert hit.reidentified_share > 0.3
    assert miss.reidentified_share < 0.01
    # Deterministic hardening keeps identical names identical: no protection here.
    folded = BloomEncoder(["surname"], key=b"attack-test-key", xor_fold=True).encode_fields(
        {"surname": list(names)}
    )
    assert (
        frequency_alignment_attack(folded, codes, texts, public, top=10).reidentified_share
        == hit.reidentified_share
    )


def test_qi_uniqueness_matches_pandas():
    frame = pd.DataFrame(
        {
            "forename": ["Ann", "Ann", "Bob", "Cy", "Cy", "Cy"],
            "surname": ["Lee", "Lee", "Lee", "Ng", "Ng", "Ox"],
            "date_of_birth": [
                "2010-01-01",
                "2010-01-01",
                "2010-01-01",
                "2011-02-02",
                "2011-02-02",
                "2011-02-02",
            ],
            "postcode": ["A1", "A2", "A1", "B1", "B1", "B1"],
        }
    )
    table = prepare_table(frame, {c: c for c in frame.columns})
    rows = qi_uniqueness(
        table, [("forename", "surname", "date_of_birth"), ("date_of_birth", "postcode")]
    )
    size = frame.groupby(["forename", "surname", "date_of_birth"])["postcode"].transform("size")
    assert rows[0]["unique_share"] == (size == 1).mean() == 2 / 6
    assert rows[1]["unique_share"] == 1 / 6
    assert rows[1]["k_bands"]["k=2-4"] == 5 / 6


def test_frequency_attack_scores_codes_and_leaves_missing_values_out():
    texts = np.array(["SMITH", "", "JONES"], dtype=object)
    codes = np.array([0, 0, 0, 2, 2, 1, -1, -1])
    encodings = np.array([[1], [1], [1], [2], [2], [3], [4], [4]], dtype=np.uint8)
    public = pd.Series({"SMITH": 90, "JONES": 10, "TAYLOR": 5})
    result = frequency_alignment_attack(encodings, codes, texts, public, top=2)
    # Only the five records with a name count; both encodings are aligned to the right name.
    assert (result.records, result.distinct_encodings, result.distinct_values) == (5, 2, 2)
    assert result.reidentified_share == 1.0 and result.top_correct_share == 1.0
    swapped = pd.Series({"JONES": 90, "SMITH": 10})
    assert frequency_alignment_attack(encodings, codes, texts, swapped).reidentified_share == 0.0
