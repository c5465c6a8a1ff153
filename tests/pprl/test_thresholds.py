"""Dice thresholds chosen per setting: the oracle and Otsu's unsupervised cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.pprl.thresholds import choose_thresholds, otsu_threshold, pair_quality


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
    assert best >= pair_quality(np.asarray(scores), is_true, len(links), other)["f1"] - 1e-12
    assert chosen["oracle"]["recall"] < 1.0


def test_otsu_cuts_between_two_separated_clusters():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.uniform(0.2, 0.45, 5000), rng.uniform(0.85, 0.98, 300)])
    cut = otsu_threshold(scores)
    assert 0.45 <= cut <= 0.85
    assert otsu_threshold(np.array([])) == 1.0
