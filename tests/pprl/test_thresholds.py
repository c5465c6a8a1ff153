"""Dice thresholds chosen per setting: the oracle, one request one child, and Otsu's cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.pprl.thresholds import (
    choose_thresholds,
    one_to_one_threshold,
    otsu_threshold,
    pair_quality,
)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.booleans(), min_size=60, max_size=60),
    st.floats(0, 1),
)
def test_the_oracle_is_at_least_as_good_as_any_threshold(scores, truth, other):
    n = len(scores)
    pairs = pd.DataFrame({"left_id": np.arange(n), "right_id": np.arange(n), "score": scores})
    is_true = np.asarray(truth[:n])
    links = pd.DataFrame({"l": np.arange(n)[is_true], "r": np.arange(n)[is_true]})
    # One true link blocking never proposed: missed at every threshold.
    links = pd.concat([links, pd.DataFrame({"l": [10_000], "r": [10_000]})])
    chosen = choose_thresholds(pairs, links)
    best = chosen["oracle"]["f1"]
    assert best >= chosen["unsupervised"]["f1"] - 1e-12
    assert best >= chosen["one_to_one"]["f1"] - 1e-12
    assert best >= pair_quality(np.asarray(scores), is_true, len(links), other)["f1"] - 1e-12
    assert chosen["oracle"]["recall"] < 1.0


def test_otsu_cuts_between_two_separated_clusters():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.uniform(0.2, 0.45, 5000), rng.uniform(0.85, 0.98, 300)])
    cut = otsu_threshold(scores)
    assert 0.45 <= cut <= 0.85
    assert otsu_threshold(np.array([])) == 1.0


def _brute_force_one_to_one(left, scores, cost):
    """The objective at every distinct score, counting candidates per request directly."""
    best = None
    for cut in sorted(set(scores)):
        above = pd.Series(left)[np.asarray(scores) >= cut].value_counts()
        value = (above == 1).sum() - cost * (above >= 2).sum()
        if best is None or value >= best[0]:
            best = (value, cut)
    return best


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.floats(0, 1, allow_nan=False)), min_size=1, max_size=40
    ),
    st.sampled_from([0.5, 1.0, 2.0, 5.0]),
)
def test_one_to_one_cut_maximises_clear_requests_less_ambiguous_ones(pairs, cost):
    left = np.array([p[0] for p in pairs])
    scores = np.array([p[1] for p in pairs])
    cut = one_to_one_threshold(left, scores, cost)
    value, brute_cut = _brute_force_one_to_one(left, scores, cost)
    above = pd.Series(left)[scores >= cut].value_counts()
    assert (above == 1).sum() - cost * (above >= 2).sum() == value
    # the objective only changes at a request's best score: the same maximum, and the highest
    # best score attaining it
    assert cut in set(pd.DataFrame({"l": left, "s": scores}).groupby("l").s.max())
    assert cut <= brute_cut


def test_one_to_one_cut_separates_a_true_match_from_namesakes():
    """Each in-register request has its match near 0.95 and namesakes near 0.75; the others
    only namesakes. Otsu's cut falls among the namesakes, which outnumber the matches; the
    one-to-one cut lies between."""
    rng = np.random.default_rng(1)
    left, scores = [], []
    for request in range(400):
        namesakes = rng.integers(3, 30)
        left += [request] * namesakes
        scores += list(rng.uniform(0.6, 0.82, namesakes))
        if request % 4 == 0:
            left.append(request)
            scores.append(rng.uniform(0.9, 1.0))
    left, scores = np.array(left), np.array(scores)
    cut = one_to_one_threshold(left, scores)
    assert 0.8 < cut <= 0.9
    assert otsu_threshold(scores) < 0.8
