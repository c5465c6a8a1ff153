"""Cluster metrics: properties and a brute-force reference over every pair of records."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.evaluation import cluster_metrics

RATIOS = (
    "pairwise_precision",
    "pairwise_recall",
    "pairwise_f1",
    "cluster_precision",
    "cluster_recall",
    "cluster_f1",
    "duplicate_cluster_precision",
    "duplicate_cluster_recall",
)


@st.composite
def labellings(draw, max_records: int = 25):
    n = draw(st.integers(0, max_records))
    labels = st.lists(st.integers(0, 6), min_size=n, max_size=n)
    return np.array(draw(labels), dtype=np.int64), np.array(draw(labels), dtype=np.int64)


@settings(max_examples=200, deadline=None)
@given(labellings())
def test_pairwise_counts_agree_with_every_pair(labelling):
    predicted, truth = labelling
    m = cluster_metrics(predicted, truth)
    same_pred = same_true = both = 0
    for i, j in itertools.combinations(range(len(predicted)), 2):
        p, t = predicted[i] == predicted[j], truth[i] == truth[j]
        same_pred += p
        same_true += t
        both += p and t
    assert (m["predicted_pairs"], m["true_pairs"], m["true_positive_pairs"]) == (
        same_pred,
        same_true,
        both,
    )
    if same_pred:
        assert m["pairwise_precision"] == pytest.approx(both / same_pred)
    if same_true:
        assert m["pairwise_recall"] == pytest.approx(both / same_true)
    # Clusters and entities counted directly.
    pred_sets = {
        frozenset(np.flatnonzero(predicted == c).tolist()) for c in set(predicted.tolist())
    }
    true_sets = {frozenset(np.flatnonzero(truth == c).tolist()) for c in set(truth.tolist())}
    assert m["exact_clusters"] == len(pred_sets & true_sets)
    assert m["wrongly_merged_clusters"] == sum(
        len(set(truth[list(s)].tolist())) >= 2 for s in pred_sets
    )
    assert m["split_entities"] == sum(len(set(predicted[list(s)].tolist())) >= 2 for s in true_sets)


@settings(max_examples=200, deadline=None)
@given(labellings())
def test_ratios_lie_in_the_unit_interval(labelling):
    m = cluster_metrics(*labelling)
    for name in RATIOS:
        assert 0.0 <= m[name] <= 1.0, name


@settings(max_examples=100, deadline=None)
@given(labellings(), st.integers(0, 1000))
def test_perfect_prediction_scores_one_everywhere(labelling, offset):
    _, truth = labelling
    # Different label values, same partition: still perfect.
    m = cluster_metrics(truth * 7 + offset, truth)
    for name in RATIOS:
        assert m[name] == 1.0, name
    assert m["wrongly_merged_clusters"] == m["split_entities"] == 0


@settings(max_examples=200, deadline=None)
@given(labellings(), st.data())
def test_merging_two_pure_clusters_of_different_entities_adds_a_wrong_merge(labelling, data):
    predicted, truth = labelling
    before = cluster_metrics(predicted, truth)
    # Predicted clusters that hold one entity only, by entity.
    pure = {}
    for c in np.unique(predicted).tolist():
        entities = np.unique(truth[predicted == c])
        if len(entities) == 1:
            pure.setdefault(int(entities[0]), c)
    if len(pure) < 2:
        return
    first, second = data.draw(
        st.lists(st.sampled_from(sorted(pure)), min_size=2, max_size=2, unique=True)
    )
    merged = np.where(predicted == pure[second], pure[first], predicted)
    after = cluster_metrics(merged, truth)
    assert after["wrongly_merged_clusters"] == before["wrongly_merged_clusters"] + 1
    assert after["pairwise_precision"] < 1.0
    assert after["true_positive_pairs"] == before["true_positive_pairs"]  # no true pair added


def test_definitions_on_a_worked_example():
    # Truth: {0,1,2} {3,4} {5}. Prediction: {0,1} {2} {3,4,5}.
    m = cluster_metrics([0, 0, 1, 2, 2, 2], ["a", "a", "a", "b", "b", "c"])
    assert m["true_positive_pairs"] == 2  # (0,1) and (3,4)
    assert m["predicted_pairs"] == 4 and m["true_pairs"] == 4
    assert m["pairwise_f1"] == 0.5
    assert m["exact_clusters"] == 0 and m["cluster_precision"] == 0.0
    assert m["wrongly_merged_clusters"] == 1  # {3,4,5}
    assert m["split_entities"] == 1  # {0,1,2}


def test_mismatched_lengths_and_missing_labels_are_refused():
    with pytest.raises(ConfigError, match=r"^truth: has 2 labels for 3 records"):
        cluster_metrics([0, 1, 2], [0, 1])
    with pytest.raises(ConfigError, match=r"^truth: has missing labels"):
        cluster_metrics([0, 1], [0, None])
