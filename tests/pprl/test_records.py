"""CLKs for scoring pairs: only the records the pairs touch are encoded, with the bits that
encoding every record would give them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matchsim.pprl import BloomEncoder
from matchsim.pprl.dice import dice_pairs
from matchsim.pprl.records import (
    LEFT_STREAM,
    RIGHT_STREAM,
    RegisterClks,
    encode_records,
    linkage_clks,
    pair_clks,
)
from matchsim.records import link, prepare_table

KEY = b"k" * 32
ROLES = {"fn": "forename", "sn": "surname", "dob": "date_of_birth", "pc": "postcode"}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "fn": rng.choice(["ANN", "BO", "CY", "DEE", "MOHAMMED", "ZOE"], n),
            "sn": rng.choice(["LEE", "SMITH", "KHAN", "OKAFOR"], n),
            "dob": pd.to_datetime("2010-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
            "pc": rng.choice(["LS12AB", "M11AA", "B338TH"], n),
        }
    )


@pytest.mark.parametrize(
    "hardening", [{}, {"blip": 0.05}, {"balance": True, "blip": 0.1}, {"salt": "birth_year"}]
)
def test_pair_clks_score_as_encoding_every_record_does(hardening):
    data = link(prepare_table(_table(300, 1), ROLES), prepare_table(_table(2000, 2), ROLES))
    rng = np.random.default_rng(3)
    left, right = rng.integers(0, 300, 500), rng.integers(0, 2000, 500)
    encoder = BloomEncoder(list(ROLES.values()), key=KEY, length=512, **hardening)
    every_left = encode_records(encoder, data.left, data.vocabularies, LEFT_STREAM)
    every_right = encode_records(encoder, data.right, data.vocabularies, RIGHT_STREAM)
    expected = dice_pairs(every_left, every_right, left, right)
    lc, rc, left_at, right_at = pair_clks(encoder, data, left, right)
    assert len(rc) == len(np.unique(right)) < 2000  # only the touched register records
    assert np.array_equal(dice_pairs(lc, rc, left_at, right_at), expected)
    # once every record's CLKs are at hand (blocking on them), they are used as they are
    assert np.array_equal(linkage_clks(encoder, data)[1], every_right)
    lc, rc, left_at, right_at = pair_clks(encoder, data, left, right)
    assert len(rc) == 2000 and np.array_equal(dice_pairs(lc, rc, left_at, right_at), expected)
    assert data.right.state(RegisterClks).settings == encoder.settings()
