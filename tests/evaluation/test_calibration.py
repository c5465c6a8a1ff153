"""The reliability diagram and expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.evaluation import reliability


def test_calibrated_scores_have_small_error_and_shares_within_their_intervals():
    rng = np.random.default_rng(1)
    scores = rng.random(200_000)
    truth = rng.random(len(scores)) < scores  # true with the probability the score says
    r = reliability(scores, truth)
    assert r.ece < 0.01
    assert r.within.sum() >= 9  # 95% intervals: at most one of ten bins out by chance
    assert r.pairs.sum() == len(scores)


def test_overconfident_scores_are_flagged():
    rng = np.random.default_rng(2)
    truth = rng.random(50_000) < 0.5
    scores = np.where(truth, 0.99, 0.97)  # all near 1, only half true
    r = reliability(scores, truth)
    assert r.ece > 0.4
    assert r.ece_upper == pytest.approx(r.ece)
    assert not r.within.any()


def test_bins_hold_their_scores_and_one_is_in_the_last_bin():
    r = reliability([0.0, 0.1, 0.55, 1.0], [False, False, True, True], bins=10)
    assert r.low.tolist() == pytest.approx([0.0, 0.1, 0.5, 0.9])
    assert r.true.tolist() == [0, 0, 1, 1]
    assert r.rows()[-1]["high"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("scores", "truth", "bins", "field"),
    [
        ([0.5, 1.5], [True, False], 10, "scores"),
        ([0.5], [True, False], 10, "is_true"),
        ([0.5], [2], 10, "is_true"),
        ([0.5], [True], 0, "bins"),
    ],
)
def test_bad_input_names_the_parameter(scores, truth, bins, field):
    with pytest.raises(ConfigError) as err:
        reliability(scores, truth, bins=bins)
    assert err.value.field == field


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 1.0, allow_nan=False), st.booleans()), min_size=1, max_size=200
    ),
    st.integers(1, 20),
)
def test_error_is_a_weighted_mean_gap(pairs, bins):
    scores = np.array([p[0] for p in pairs])
    truth = np.array([p[1] for p in pairs])
    r = reliability(scores, truth, bins=bins)
    assert 0.0 <= r.ece <= 1.0
    assert r.pairs.sum() == len(scores) and r.true.sum() == truth.sum()
    gap = (np.abs(r.mean_score - r.share_true) * r.pairs).sum() / len(scores)
    assert r.ece == pytest.approx(gap)
    assert (r.share_low <= r.share_true + 1e-12).all() and (
        r.share_true <= r.share_high + 1e-12
    ).all()
