"""The numba encoding kernels against the numpy path they replace: the same bits, always.

The numpy path of :class:`BloomEncoder` (``kernel="numpy"``) is the reference; its bits are
pinned independently by the known answers of ``test_encoding.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matchsim.pprl.dice as dice
from matchsim.errors import ConfigError
from matchsim.pprl import BloomEncoder, FieldSpec

pytest.importorskip("numba")

KEY = b"kernel-equality-key"

#: Characters that stress tokenising: padding, NUL (trailing NULs are special under q=1),
#: space, accents and a character outside the Basic Multilingual Plane.
_ALPHABET = st.sampled_from([*"AB #-\x00é", "\U0001d538", "ß"])
_TEXT = st.text(_ALPHABET, max_size=12)
_DATE = st.dates().map(lambda d: d.isoformat())


def _pair(**settings_: object) -> tuple[BloomEncoder, BloomEncoder]:
    return (
        BloomEncoder(key=KEY, kernel="numba", **settings_),
        BloomEncoder(key=KEY, kernel="numpy", **settings_),
    )


@st.composite
def _records(draw):
    n = draw(st.integers(0, 25))
    roles = draw(
        st.lists(
            st.sampled_from(["forename", "surname", "postcode", "date_of_birth", "sex"]),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    fields = [FieldSpec(r, draw(st.integers(1, 3)), draw(st.integers(1, 30))) for r in roles]
    values = {}
    for role in roles:
        text = _DATE if role == "date_of_birth" else _TEXT
        values[role] = draw(st.lists(st.one_of(st.none(), text), min_size=n, max_size=n))
    years = np.array(draw(st.lists(st.integers(1990, 1993), min_size=n, max_size=n)))
    return fields, values, years


@settings(max_examples=150, deadline=None)
@given(
    _records(),
    st.sampled_from([64, 128, 1024]),
    st.sampled_from(["double", "random"]),
    st.sampled_from([None, "birth_year"]),
    st.sampled_from(["empty", "token"]),
)
def test_kernel_clks_equal_the_numpy_path(records, length, hashing, salt, missing):
    fields, values, years = records
    compiled, reference = _pair(
        fields=fields, length=length, hashing=hashing, salt=salt, missing=missing
    )
    got = compiled.encode_fields(values, years, harden=False)
    want = reference.encode_fields(values, years, harden=False)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(_TEXT, min_size=1, max_size=30),
    st.integers(1, 3),
    st.integers(1, 40),
    st.sampled_from(["double", "random"]),
    st.data(),
)
def test_kernel_field_filters_equal_the_numpy_path(texts, q, k, hashing, data):
    salts = data.draw(
        st.one_of(
            st.none(),
            st.lists(
                st.sampled_from(["", "2001", "2002"]), min_size=len(texts), max_size=len(texts)
            ),
        )
    )
    compiled, reference = _pair(hashing=hashing, length=256)
    spec = FieldSpec("surname", q, k)
    np.testing.assert_array_equal(
        compiled.field_filters(spec, texts, salts), reference.field_filters(spec, texts, salts)
    )


def test_kernel_hash_table_grows_with_many_pairs_and_long_values():
    """More distinct (salt, q-gram) pairs than the table's first size, and one value with
    more q-grams than it: the table must grow between values and start large enough."""
    rng = np.random.default_rng(7)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    texts = ["".join(rng.choice(letters, size=rng.integers(1, 9))) for _ in range(3000)]
    texts.append("".join(chr(0x4E00 + i) for i in range(2000)))  # 2,001 distinct bigrams
    salts = [str(1990 + i % 7) for i in range(len(texts))]
    compiled, reference = _pair(length=512)
    spec = FieldSpec("forename", 2, 9)
    np.testing.assert_array_equal(
        compiled.field_filters(spec, texts, salts), reference.field_filters(spec, texts, salts)
    )


def test_kernel_is_chosen_by_name_and_numba_stays_optional(monkeypatch):
    assert BloomEncoder(key=KEY).kernel == "numba"
    assert BloomEncoder(key=KEY, kernel="numpy").kernel == "numpy"
    with pytest.raises(ConfigError, match="kernel"):
        BloomEncoder(key=KEY, kernel="fortran")
    monkeypatch.setattr(dice, "HAVE_NUMBA", False)  # the flag every pprl kernel choice reads
    assert BloomEncoder(key=KEY).kernel == "numpy"  # auto falls back
    with pytest.raises(ConfigError, match="numba is not installed"):
        BloomEncoder(key=KEY, kernel="numba")
