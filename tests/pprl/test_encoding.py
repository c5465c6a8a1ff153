"""Bloom-filter encoders: known answers computed independently, hardening statistics, keys."""

from __future__ import annotations

import hashlib
import hmac
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.pprl import BloomEncoder, FieldSpec, Secret, blip, unpack
from matchsim.pprl.tokens import qgrams

KEY = b"known-answer-key-0001"


def _hmac(message: bytes) -> bytes:
    return hmac.new(KEY, message, hashlib.sha256).digest()


def _expected_double(field: str, salt: str, grams: list[str], k: int, length: int) -> set[int]:
    """Schnell et al. (2009) double hashing, written out with the standard library only."""
    bits = set()
    for g in grams:
        d = _hmac(f"{field}\x1f{salt}\x1f{g}".encode())
        h1, h2 = int.from_bytes(d[:8], "big"), int.from_bytes(d[8:16], "big")
        bits |= {(h1 + i * h2) % length for i in range(k)}
    return bits


def _expected_random(field: str, grams: list[str], k: int, length: int) -> set[int]:
    bits = set()
    for g in grams:
        words = []
        block = 0
        while len(words) < k:
            d = _hmac(f"{field}\x1f\x1f{g}".encode() + bytes([block]))
            words += [int.from_bytes(d[i : i + 4], "big") for i in range(0, 32, 4)]
            block += 1
        bits |= {w % length for w in words[:k]}
    return bits


def _set_bits(filters: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(row).tolist()) for row in unpack(filters)]


def test_qgrams_are_padded():
    assert qgrams("ANN", 2) == ["#A", "AN", "NN", "N#"]
    assert qgrams("", 2) == []
    assert qgrams("AB", 1) == ["A", "B"]


@pytest.mark.parametrize("length", [64, 1024])
def test_double_hashing_known_answer(length):
    encoder = BloomEncoder([FieldSpec("surname", 2, 7)], length=length, key=KEY)
    filters = encoder.encode_fields({"surname": ["SMITH", "O BRIEN", None]})
    assert filters.shape == (3, length // 64) and filters.dtype == np.uint64
    got = _set_bits(filters)
    assert got[0] == _expected_double("surname", "", qgrams("SMITH", 2), 7, length)
    assert got[1] == _expected_double("surname", "", qgrams("O BRIEN", 2), 7, length)
    assert got[2] == set()  # missing sets nothing


def test_random_hashing_known_answer():
    encoder = BloomEncoder([FieldSpec("forename", 2, 11)], length=512, key=KEY, hashing="random")
    got = _set_bits(encoder.encode_fields({"forename": ["AISHA"]}))
    assert got[0] == _expected_random("forename", qgrams("AISHA", 2), 11, 512)


def test_clk_is_the_or_of_field_filters_and_dates_use_day_month_year_tokens():
    fields = [FieldSpec("forename", 2, 5), FieldSpec("date_of_birth", 1, 4), FieldSpec("sex", 1, 3)]
    encoder = BloomEncoder(fields, length=256, key=KEY)
    got = _set_bits(
        encoder.encode_fields({"forename": ["JO"], "date_of_birth": ["2010-05-01"], "sex": ["F"]})
    )
    expected = (
        _expected_double("forename", "", qgrams("JO", 2), 5, 256)
        | _expected_double("date_of_birth", "", ["D01", "M05", "Y2010"], 4, 256)
        | _expected_double("sex", "", ["F"], 3, 256)
    )
    assert got[0] == expected


def test_salting_by_birth_year_puts_the_year_in_every_hash():
    encoder = BloomEncoder([FieldSpec("surname", 2, 6)], length=256, key=KEY, salt="birth_year")
    filters = encoder.encode_fields(
        {"surname": ["KHAN", "KHAN", "KHAN"]}, birth_years=np.array([2001, 2001, 2002])
    )
    got = _set_bits(filters)
    assert got[0] == _expected_double("surname", "2001", qgrams("KHAN", 2), 6, 256)
    assert got[0] == got[1] and got[0] != got[2]


def test_the_key_changes_every_filter():
    values = {"surname": ["SMITH", "JONES", "PATEL"]}
    a = BloomEncoder(["surname"], key=KEY).encode_fields(values)
    b = BloomEncoder(["surname"], key=KEY + b"x").encode_fields(values)
    assert all((a[i] != b[i]).any() for i in range(3))


def test_missing_token_policy_makes_missing_values_agree():
    encoder = BloomEncoder(["surname"], length=128, key=KEY, missing="token")
    filters = encoder.encode_fields({"surname": [None, ""]})
    assert (filters[0] == filters[1]).all() and unpack(filters).sum() > 0


def test_balancing_sets_exactly_half_the_bits_and_doubles_the_length():
    encoder = BloomEncoder(length=256, key=KEY, balance=True)
    values = {
        "forename": ["ADAM", "ZARA", None],
        "surname": ["NOWAK", "BEGUM", None],
        "date_of_birth": ["2011-09-26", "2009-01-01", None],
        "postcode": ["B11AA", None, None],
        "sex": ["M", "F", None],
    }
    bits = unpack(encoder.encode_fields(values))
    assert bits.shape == (3, 512)
    assert (bits.sum(axis=1) == 256).all()
    raw = unpack(BloomEncoder(length=256, key=KEY).encode_fields(values))
    # The balanced filter holds the raw bits: same count of set bits among the permuted copy.
    assert (bits.sum(axis=1) - raw.sum(axis=1) == 256 - raw.sum(axis=1)).all()


def test_xor_folding_halves_the_length_and_is_the_xor_of_the_halves():
    values = {"surname": ["WILLIAMS", "LEE"]}
    raw = unpack(BloomEncoder(["surname"], length=256, key=KEY).encode_fields(values))
    folded = unpack(
        BloomEncoder(["surname"], length=256, key=KEY, xor_fold=True).encode_fields(values)
    )
    assert folded.shape == (2, 128)
    assert (folded == (raw[:, :128] ^ raw[:, 128:])).all()


@pytest.mark.parametrize("f", [0.01, 0.05, 0.2])
def test_blip_flips_each_bit_with_probability_f(f):
    rng = np.random.default_rng(3)
    filters = rng.integers(0, 2**63, size=(2000, 16), dtype=np.uint64)
    flipped = blip(filters, f, 4)
    share = (unpack(flipped) != unpack(filters)).mean()
    n = filters.size * 64
    assert abs(share - f) < 5 * np.sqrt(f * (1 - f) / n)


def test_blip_streams_differ_and_are_reproducible():
    values = {"surname": ["SMITH"] * 50}
    encoder = BloomEncoder(["surname"], key=KEY, blip=0.05, seed=9)
    a, b = encoder.encode_fields(values, stream=1), encoder.encode_fields(values, stream=2)
    assert not (a == b).all()
    assert (
        a == BloomEncoder(["surname"], key=KEY, blip=0.05, seed=9).encode_fields(values, stream=1)
    ).all()


def test_secret_never_shows_itself(monkeypatch):
    secret = Secret(KEY)
    encoder = BloomEncoder(key=secret)
    for text in (repr(secret), str(secret), repr(encoder), encoder.describe()):
        assert KEY.decode() not in text
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    monkeypatch.setenv("SOME_KEY_VAR", "from-the-environment")
    assert (
        BloomEncoder(key_env="SOME_KEY_VAR")
        .encode_fields(
            {
                "forename": ["A"],
                "surname": ["B"],
                "date_of_birth": [None],
                "postcode": [None],
                "sex": [None],
            }
        )
        .any()
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"length": 100}, "pprl.length"),
        ({"xor_fold": True, "length": 192}, "pprl.length"),
        ({"hashing": "triple"}, "pprl.hashing"),
        ({"blip": 0.7}, "pprl.blip"),
        ({"salt": "postcode"}, "pprl.salt"),
        ({"fields": [{"role": "surname", "k": 0}]}, "pprl.fields.surname.k"),
        ({"fields": ["shoe_size"]}, "pprl.fields"),
        ({"key": "short"}, "pprl.key"),
        ({"key": "<redacted>"}, "pprl.key"),
    ],
)
def test_bad_settings_name_themselves(kwargs, field):
    with pytest.raises(ConfigError) as info:
        BloomEncoder(**{"key": KEY, **kwargs})
    assert str(info.value).startswith(field + ":")


def test_no_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("MATCHSIM_PPRL_KEY", raising=False)
    with pytest.raises(ConfigError, match="MATCHSIM_PPRL_KEY"):
        BloomEncoder()


def test_role_codes_give_each_role_as_codes_into_distinct_texts():
    import pandas as pd

    from matchsim.records import MISSING, prepare

    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "sn": ["Khan", None, "Khan"],
            "dob": ["2012-03-04", None, "2011-01-02"],
            "sex": ["F", None, "m"],
        }
    )
    roles = {"id": "id", "sn": "surname", "dob": "date_of_birth", "sex": "sex"}
    data = prepare(frame, frame, roles)
    records, vocabularies = data.left, data.vocabularies

    def decoded(role: str) -> list:
        codes, texts = records.role_codes(role, vocabularies)
        return [texts[c] if c != MISSING else None for c in codes]

    assert decoded("surname") == ["KHAN", None, "KHAN"]
    assert decoded("date_of_birth") == ["2012-03-04", None, "2011-01-02"]
    assert decoded("sex") == ["F", None, "M"]
    assert decoded("forename") == [None, None, None]  # a role the linkage lacks


def test_peer_role_lists_are_checked_in_one_place():
    from matchsim.peers.tables import role_lists
    from matchsim.records import PEER_ROLES

    assert role_lists([["surname", "date_of_birth"]], "x", PEER_ROLES) == (
        ("surname", "date_of_birth"),
    )
    with pytest.raises(ConfigError, match=r"^x: 'middle_names' is not a role; roles are forename"):
        role_lists([["middle_names"]], "x", PEER_ROLES)
    with pytest.raises(ConfigError, match=r"^x: must be a non-empty list of role lists"):
        role_lists([[]], "x", PEER_ROLES)


_texts = st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(_texts)
def test_factorize_gives_pandas_codes_for_text(values):
    import pandas as pd

    from matchsim.pprl.encoding import arrow_array, factorize

    array = arrow_array(values)
    array.validate(full=True)
    assert array.to_pylist() == values
    codes, distinct = factorize(values)
    expected_codes, expected = pd.factorize(np.array(values, dtype=object))
    np.testing.assert_array_equal(codes, expected_codes)
    assert list(distinct) == list(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), max_size=40))
def test_factorize_gives_pandas_codes_for_integers(values):
    import pandas as pd

    from matchsim.pprl.encoding import factorize

    codes, distinct = factorize(np.array(values, dtype=np.int64))
    expected_codes, expected = pd.factorize(np.array(values, dtype=np.int64))
    np.testing.assert_array_equal(codes, expected_codes)
    np.testing.assert_array_equal(distinct, expected)


def test_encoding_in_a_fresh_process_does_not_import_pandas():
    """Importing pandas is a tenth of a second of every process that only encodes."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from matchsim.pprl import BloomEncoder\n"
        "clks = BloomEncoder(key=b'k' * 32).encode_fields({'forename': ['ANNA', None],"
        " 'surname': ['SMITH', 'JONES'], 'date_of_birth': ['2010-01-02', ''],"
        " 'postcode': ['AB1 2CD', 'ZZ9 9ZZ'], 'sex': ['F', 'M']})\n"
        "assert clks.shape[0] == 2\n"
        "print(sorted(m for m in ('pandas', 'matchsim.records.tables') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.001, 0.45),
    st.integers(0, 2**64 - 1),
    st.lists(st.integers(0, 10**9), min_size=1, max_size=40, unique=True),
    st.sampled_from([1, 2, 16, 32]),
)
def test_blip_flips_depend_on_the_record_not_on_its_neighbours(f, key, records, words):
    """A record's flips come from (key, record, bit) alone: flipping a few records numbered
    as in their table gives what flipping them among all the others gives, and the numba
    kernel and the numpy reference flip the same bits."""
    from matchsim.pprl import hardening

    rng = np.random.default_rng(len(records))
    filters = rng.integers(0, 2**63, (len(records), words), dtype=np.uint64)
    rows = np.array(records, dtype=np.int64)
    alone = [
        hardening.blip(filters[i : i + 1], f, key, rows=rows[i : i + 1]) for i in range(len(rows))
    ]
    together = hardening.blip(filters, f, key, rows=rows)
    assert np.array_equal(np.concatenate(alone), together)
    reference = hardening.blip(filters, f, key, rows=rows, kernel="numpy")
    assert np.array_equal(reference, together)


@pytest.mark.parametrize("f", [0.02, 0.3])
def test_blip_flips_about_f_of_the_bits_of_a_large_table(f):
    filters = np.random.default_rng(1).integers(0, 2**63, (20_000, 16), dtype=np.uint64)
    flipped = blip(filters, f, 31)
    assert abs(np.unpackbits((flipped ^ filters).view(np.uint8)).mean() - f) < 0.01
    # another key, other flips (of the same share)
    other = blip(filters, f, 32)
    assert not np.array_equal(other, flipped)
    assert abs(np.unpackbits((other ^ flipped).view(np.uint8)).mean() - 2 * f * (1 - f)) < 0.01


def test_encoding_some_records_gives_their_clks_from_encoding_all():
    """What a lookup relies on to encode only the register records its pairs touch: every
    hardening, BLIP included, gives a record the same CLK whichever records are encoded."""
    from matchsim.pprl.records import RIGHT_STREAM, encode_records
    from matchsim.records import Records, prepare_table

    table = pd.DataFrame(
        {
            "fn": ["ANN", "BO", "CY", "ANN", "DEE", "ED"] * 50,
            "sn": ["LEE", "SMITH", "JONES", "LEE", "KHAN", "OKAFOR"] * 50,
            "dob": pd.to_datetime(["2010-01-02", "2011-03-04", "2012-05-06"] * 100),
        }
    )
    prepared = prepare_table(table, {"fn": "forename", "sn": "surname", "dob": "date_of_birth"})
    records = Records(ids=prepared.ids, codes=prepared.codes, dob=prepared.dob, sex=prepared.sex)
    rows = np.array([299, 3, 150, 7, 8])
    for hardening in (
        {"blip": 0.05},
        {"balance": True, "blip": 0.1},
        {"salt": "birth_year", "blip": 0.02},
        {"diffusion": 4, "blip": 0.05},
    ):
        encoder = BloomEncoder(
            ["forename", "surname", "date_of_birth"], key=KEY, length=256, **hardening
        )
        every = encode_records(encoder, records, prepared.vocabularies, RIGHT_STREAM)
        some = encode_records(encoder, records, prepared.vocabularies, RIGHT_STREAM, rows=rows)
        assert np.array_equal(some, every[rows]), hardening
        # the same values in other rows get other flips
        assert not np.array_equal(every[0], every[6])


def test_blip_changes_the_filters_given_only_in_place():
    from matchsim.pprl import hardening

    filters = np.random.default_rng(2).integers(0, 2**63, (1_000, 16), dtype=np.uint64)
    kept = filters.copy()
    copied = hardening.blip(filters, 0.1, 5)
    assert np.array_equal(filters, kept) and not np.array_equal(copied, kept)
    flipped = hardening.blip(filters, 0.1, 5, in_place=True)
    assert flipped is filters and np.array_equal(filters, copied)
