"""The compiled blocking kernel against numpy, and the lookup path that uses it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from matchsim.blocking import default_blocking, run_blocking
from matchsim.blocking import keys as exact_keys
from matchsim.blocking.base import combine_keys
from matchsim.blocking.kernels import rows_with_wanted_keys
from matchsim.records import MISSING, prepare

int64s = st.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max)
# Few distinct values, so that keys repeat and many rows match; and the extremes.
keys_drawn = st.one_of(st.integers(-3, 12), st.sampled_from([np.iinfo(np.int64).min, -1]), int64s)


def reference(keys: np.ndarray, ok: np.ndarray, wanted: np.ndarray):
    rows = np.flatnonzero(ok & np.isin(keys, wanted))
    order = np.argsort(keys[rows], kind="stable")
    return keys[rows][order], rows[order]


@settings(max_examples=300, deadline=None)
@given(
    keys=arrays(np.int64, st.integers(0, 60), elements=keys_drawn),
    ok_seed=st.integers(0, 2**32 - 1),
    wanted=st.lists(keys_drawn, max_size=20),
)
def test_rows_with_wanted_keys_is_filter_then_stable_sort(keys, ok_seed, wanted):
    ok = np.random.default_rng(ok_seed).random(len(keys)) < 0.8
    wanted = np.unique(np.array(wanted, dtype=np.int64))
    got_keys, got_rows = rows_with_wanted_keys(keys, ok, wanted)
    want_keys, want_rows = reference(keys, ok, wanted)
    np.testing.assert_array_equal(got_rows, want_rows)
    np.testing.assert_array_equal(got_keys, want_keys)


def combined_reference(parts):
    """combine_keys in numpy: the definition the compiled kernel must equal bit for bit."""
    ok = np.ones(len(parts[0]), dtype=bool)
    acc = np.zeros(len(parts[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            ok &= part != MISSING
            acc = acc * np.uint64(0x9E3779B97F4A7C15) + part.astype(np.uint64)
    return acc.view(np.int64), ok


@settings(max_examples=200, deadline=None)
@given(n_parts=st.integers(1, 4), rows=st.integers(0, 80), seed=st.integers(0, 2**32 - 1))
def test_combined_keys_are_the_polynomial_hash_of_the_parts(n_parts, rows, seed):
    rng = np.random.default_rng(seed)
    # Few values, MISSING among them, and the int64 extremes (the hash wraps in 64 bits).
    pool = np.array([MISSING, 0, 1, 2, 7, np.iinfo(np.int64).max, np.iinfo(np.int64).min])
    parts = [rng.choice(pool, rows) for _ in range(n_parts)]
    keys, ok = combine_keys(parts)
    want_keys, want_ok = combined_reference(parts)
    np.testing.assert_array_equal(ok, want_ok)
    np.testing.assert_array_equal(keys[ok], want_keys[ok])  # a key without every part is unused
    # non-contiguous and narrower parts are read as int64
    sliced = [np.repeat(p, 2)[::2].astype(np.int32) for p in parts]
    if all(((p >= -(2**31)) & (p < 2**31)).all() for p in parts):
        np.testing.assert_array_equal(combine_keys(sliced)[0][ok], keys[ok])


def test_many_wanted_keys_and_rows_fill_the_table_without_losing_any():
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 5_000, 200_000) * 1_000_003  # multiples of one number: clustered
    ok = rng.random(len(keys)) < 0.9
    wanted = np.unique(rng.choice(keys, 3_000))
    got = rows_with_wanted_keys(keys, ok, wanted)
    want = reference(keys, ok, wanted)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])


@pytest.fixture
def small_batch_and_register():
    rng = np.random.default_rng(3)
    names = ["OLIVER", "OLIVIA", "JACK", "AMELIA", "MOHAMMED", "ISLA", "NOAH", "AVA"]
    surnames = ["SMITH", "KHAN", "PATEL", "JONES", "WILLIAMS", "BROWN", "TAYLOR", "LI"]
    n = 4_000
    register = pd.DataFrame(
        {
            "fn": rng.choice(names, n),
            "sn": rng.choice(surnames, n),
            "dob": [
                f"2010-{m:02d}-{d:02d}"
                for m, d in zip(rng.integers(1, 13, n), rng.integers(1, 29, n), strict=True)
            ],
            "pc": rng.choice(["LS1 1AA", "LS1 1AB", "M1 2CD", "B2 3EF"], n),
        }
    )
    batch = register.sample(120, random_state=4).reset_index(drop=True)
    batch.loc[::7, "sn"] = "SMYTH"  # some keys the register lacks
    roles = {"fn": "forename", "sn": "surname", "dob": "date_of_birth", "pc": "postcode"}
    return batch, register, roles


def test_a_lookup_batch_gets_the_pairs_a_full_sort_would_give(
    small_batch_and_register, monkeypatch
):
    """The probe-and-count path (a small batch against a big register) and the sort path
    give the same candidate pairs, in the same order."""
    batch, register, roles = small_batch_and_register
    results = []
    for ratio in (0, 10**9):  # 0: always probe the register; 10**9: always sort it
        monkeypatch.setattr(exact_keys, "_PROBE_RATIO", ratio)
        data = prepare(batch, register, roles)
        (left, right), _ = run_blocking(default_blocking(data.roles), data)
        results.append((left, right))
    assert len(results[0][0]) > 0
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_key_parts_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        combine_keys([np.arange(3), np.arange(4)])
