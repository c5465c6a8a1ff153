"""Threshold and rule trade-offs against brute force: decide() and classify() at each threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.decision import decide
from matchsim.errors import ConfigError
from matchsim.evaluation import classify, pair_metrics
from matchsim.evaluation.tradeoffs import per_10000, threshold_tradeoffs


def brute_force(req, rec, scores, true_record, t, policy, tiered):
    n = len(true_record)
    decisions = decide(np.arange(n), req, rec, scores, t, policy, tiered=tiered)
    true_id = pd.Series(np.where(true_record >= 0, true_record, -1), dtype="Int64")
    true_id[true_record < 0] = pd.NA
    outcome = classify(decisions["returned"], true_id).value_counts()
    returned = decisions[["left_id", "returned"]].explode("returned").dropna()
    truth = pd.DataFrame({"left_id": np.flatnonzero(true_record >= 0)})
    truth["right_id"] = true_record[truth["left_id"]]
    metrics = pair_metrics(returned.rename(columns={"returned": "right_id"}), truth)
    return outcome, metrics, len(returned)


@st.composite
def scored_pairs(draw):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(0, 25))
    req = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)), dtype=np.int64)
    rec = np.array(draw(st.lists(st.integers(0, 5), min_size=k, max_size=k)), dtype=np.int64)
    # Few distinct scores, so that ties (at the top and elsewhere) are common.
    scores = np.array(
        draw(st.lists(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9, 1.0]), min_size=k, max_size=k))
    )
    true_record = np.array(
        draw(st.lists(st.integers(-1, 5), min_size=n, max_size=n)), dtype=np.int64
    )
    return req, rec, scores, true_record


@settings(max_examples=50, deadline=None)
@given(scored_pairs(), st.booleans())
def test_every_policy_and_threshold_agrees_with_deciding_again(case, tiered) -> None:
    req, rec, scores, true_record = case
    curve = threshold_tradeoffs(req, rec, scores, true_record, tiered=tiered)
    n_in = int((true_record >= 0).sum())
    for row in curve.itertuples(index=False):
        outcome, metrics, n_returned = brute_force(
            req, rec, scores, true_record, row.threshold, row.policy, tiered
        )
        for name in ("correct_match", "false_match", "missed_match", "correct_non_match"):
            assert getattr(row, name) == outcome.get(name, 0), (row, name)
        tp = metrics["true_positives"]
        assert row.recall == pytest.approx(tp / n_in if n_in else np.nan, nan_ok=True)
        if n_returned:
            assert row.precision == pytest.approx(metrics["precision"]), row
        else:
            assert np.isnan(row.precision)


def test_default_thresholds_are_every_distinct_score_and_zero() -> None:
    curve = threshold_tradeoffs([0, 0, 1], [5, 6, 7], [0.2, 0.9, 0.9], np.array([5, -1]))
    assert sorted(curve.loc[curve["policy"] == "all", "threshold"]) == [0.0, 0.2, 0.9]


def test_a_twin_pair_under_each_policy() -> None:
    # One request, its true record 5 at 0.8 and the twin 6 at 0.9.
    curve = threshold_tradeoffs([0, 0], [5, 6], [0.8, 0.9], np.array([5]), thresholds=[0.85])
    got = curve.set_index("policy")
    assert got.loc["unique", "false_match"] == 1  # only the twin clears 0.85
    assert got.loc["best", "false_match"] == 1
    assert got.loc["all", "false_match"] == 1
    low = threshold_tradeoffs([0, 0], [5, 6], [0.8, 0.9], np.array([5]), thresholds=[0.5])
    got = low.set_index("policy")
    assert got.loc["unique", "missed_match"] == 1  # two clear it: no clear match
    assert got.loc["best", "false_match"] == 1
    assert got.loc["all", "false_match"] == 1 and got.loc["all", "recall"] == 1.0
    assert got.loc["all", "precision"] == 0.5


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(ConfigError, match="policies"):
        threshold_tradeoffs([], [], [], np.array([1]), policies=["one_to_one"])
    with pytest.raises(ConfigError, match="pair_request"):
        threshold_tradeoffs([3], [1], [0.5], np.array([1]))


def test_per_10000() -> None:
    assert per_10000(0.0123, 0.01, 0.015) == pytest.approx((123.0, 100.0, 150.0))
