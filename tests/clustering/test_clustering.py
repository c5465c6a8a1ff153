"""Clustering matched pairs: connected components and one-to-one links against references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.clustering import cluster, connected_components, one_to_one
from matchsim.errors import ConfigError, UnknownNameError


@st.composite
def graphs(draw, max_rows: int = 30, max_pairs: int = 40):
    n = draw(st.integers(1, max_rows))
    pairs = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=max_pairs)
    )
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = np.array([p[1] for p in pairs], dtype=np.int64)
    return n, left, right


def reference_components(n: int, left: np.ndarray, right: np.ndarray) -> list[int]:
    """Labels by graph search, numbered in order of each component's first row."""
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    labels = [-1] * n
    next_label = 0
    for start in range(n):
        if labels[start] >= 0:
            continue
        stack = [start]
        labels[start] = next_label
        while stack:
            for other in neighbours[stack.pop()]:
                if labels[other] < 0:
                    labels[other] = next_label
                    stack.append(other)
        next_label += 1
    return labels


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_components_match_a_graph_search(graph):
    n, left, right = graph
    assert connected_components(n, left, right).tolist() == reference_components(n, left, right)


def test_components_of_a_long_chain_in_any_order():
    # A chain 0-1-2-...-9999 given in shuffled order, both ways round: one component.
    rng = np.random.default_rng(0)
    a = np.arange(9_999)
    order = rng.permutation(len(a))
    flip = rng.random(len(a)) < 0.5
    left = np.where(flip, a + 1, a)[order]
    right = np.where(flip, a, a + 1)[order]
    labels = connected_components(10_001, left, right)
    assert (labels[:10_000] == 0).all() and labels[10_000] == 1


def reference_one_to_one(left, right, scores, shared):
    order = sorted(range(len(left)), key=lambda k: (-scores[k], left[k], right[k]))
    used_left, used_right = set(), set()
    if shared:
        used_right = used_left
    keep = [False] * len(left)
    for k in order:
        a, b = int(left[k]), int(right[k])
        if a in used_left or b in used_right or (shared and a == b):
            continue
        used_left.add(a)
        used_right.add(b)
        keep[k] = True
    return keep


@settings(max_examples=200, deadline=None)
@given(graphs(max_rows=12), st.booleans(), st.data())
def test_one_to_one_is_greedy_by_score(graph, shared, data):
    n, left, right = graph
    levels = st.sampled_from([0.2, 0.5, 0.9, 1.0])  # ties are common: the order must hold
    scores = np.array(data.draw(st.lists(levels, min_size=len(left), max_size=len(left))))
    keep = one_to_one(left, right, scores, n, None if shared else n)
    assert keep.tolist() == reference_one_to_one(left, right, scores, shared)
    # Each record is used at most once (on its side, or at all in one table).
    if shared:
        used = np.concatenate([left[keep], right[keep]])
        assert len(used) == len(set(used.tolist()))
    else:
        assert len(set(left[keep].tolist())) == keep.sum() == len(set(right[keep].tolist()))
    # Maximal: every pair left out touches a record taken by a pair scoring at least as high.
    for k in np.flatnonzero(~keep):
        if shared and left[k] == right[k]:
            continue
        rivals = keep & (scores >= scores[k])
        if shared:
            touches = np.isin(np.r_[left[rivals], right[rivals]], [left[k], right[k]])
        else:
            touches = np.r_[left[rivals] == left[k], right[rivals] == right[k]]
        assert touches.any()


def test_cluster_methods():
    left, right = np.array([0, 1, 3]), np.array([1, 2, 4])
    scores = np.array([0.95, 0.99, 0.5])
    assert cluster(5, left, right, scores, 0.9).tolist() == [0, 0, 0, 1, 2]
    # One-to-one: 1-2 scores higher than 0-1, so 0 stays alone.
    assert cluster(5, left, right, scores, 0.9, "one_to_one").tolist() == [0, 1, 1, 2, 3]
    assert cluster(5, left, right, scores, 0.4).tolist() == [0, 0, 0, 1, 1]


def test_bad_arguments_name_the_parameter():
    with pytest.raises(UnknownNameError, match=r"^cluster: unknown value 'louvain'"):
        cluster(3, np.array([0]), np.array([1]), np.array([1.0]), 0.5, "louvain")
    with pytest.raises(ConfigError, match=r"^pairs: rows must lie in"):
        connected_components(2, np.array([0]), np.array([2]))
    with pytest.raises(ConfigError, match=r"^scores:"):
        one_to_one(np.array([0]), np.array([1]), np.array([0.5, 0.2]), 2)
