"""Decision policies: from scored candidate pairs to one answer per request."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.decision import POLICIES, decide
from matchsim.errors import ConfigError, UnknownNameError

LEFT_IDS = np.array([100, 200, 300])


def run(pairs: list[tuple[int, int, float]], policy: str, threshold: float = 0.5, **kw):
    """pairs: (left row, right id, score)."""
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = np.array([p[1] for p in pairs], dtype=np.int64)
    scores = np.array([p[2] for p in pairs], dtype=np.float64)
    return decide(LEFT_IDS, left, right, scores, threshold, policy, **kw)


def returned(frame) -> list[list[int]]:
    return [sorted(int(x) for x in r) for r in frame["returned"]]


# --- unique ----------------------------------------------------------------------------------


def test_unique_returns_a_record_only_when_it_alone_clears_the_bar():
    out = run(
        [
            (0, 7, 0.9),  # request 0: one record over the bar, one under
            (0, 8, 0.4),
            (1, 7, 0.9),  # request 1: two records over the bar
            (1, 9, 0.6),
            (2, 5, 0.1),  # request 2: nothing over the bar
        ],
        "unique",
    )
    assert out["left_id"].tolist() == LEFT_IDS.tolist()
    assert returned(out) == [[7], [], []]
    assert out["ambiguous"].tolist() == [False, True, False]
    assert out["candidates"].tolist() == [1, 2, 0]
    assert out["best_score"][:2].tolist() == [0.9, 0.9]
    assert math.isnan(out["best_score"][2])


def test_the_bar_is_inclusive():
    out = run([(0, 7, 0.5), (1, 7, 0.4999)], "unique", threshold=0.5)
    assert returned(out) == [[7], [], []]


def test_unique_on_a_tie_is_ambiguous():
    out = run([(0, 7, 0.9), (0, 8, 0.9)], "unique")
    assert returned(out) == [[], [], []]
    assert out["ambiguous"].tolist() == [True, False, False]


# --- best ------------------------------------------------------------------------------------


def test_best_returns_the_top_candidate_and_nothing_on_a_tie():
    out = run(
        [
            (0, 7, 0.9),  # request 0: a clear top
            (0, 8, 0.6),
            (1, 7, 0.8),  # request 1: tied at the top
            (1, 8, 0.8),
            (1, 9, 0.6),
        ],
        "best",
    )
    assert returned(out) == [[7], [], []]
    assert out["ambiguous"].tolist() == [True, True, False]  # several records cleared the bar
    assert out["candidates"].tolist() == [2, 3, 0]


# --- all -------------------------------------------------------------------------------------


def test_all_returns_every_candidate_over_the_bar():
    out = run([(0, 7, 0.9), (0, 8, 0.6), (0, 9, 0.2), (1, 7, 0.7)], "all")
    assert returned(out) == [[7, 8], [7], []]
    assert out["ambiguous"].tolist() == [True, False, False]


# --- repeated right ids ----------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_history_expanded_right_ids_count_once_at_their_best_score(policy):
    # Record 7 appears three times (one row per historical address).
    out = run([(0, 7, 0.9), (0, 7, 0.6), (0, 7, 0.95), (1, 7, 0.9), (1, 7, 0.9)], policy)
    # One-to-one links record 7 once, to the request that scores it highest.
    assert returned(out) == ([[7], [], []] if policy == "one_to_one" else [[7], [7], []])
    assert out["candidates"].tolist() == [1, 1, 0]
    assert out["ambiguous"].tolist() == [False, False, False]
    assert out["best_score"][0] == 0.95


def test_a_repeated_id_does_not_hide_a_second_record():
    out = run([(0, 7, 0.9), (0, 7, 0.9), (0, 8, 0.7)], "unique")
    assert returned(out) == [[], [], []]
    assert out["candidates"].tolist() == [2, 0, 0]


# --- tiers -----------------------------------------------------------------------------------


def test_tiered_decisions_look_only_at_the_best_tier():
    # Cascade scores: request 0 has one rule-3 match and two rule-1 matches.
    pairs = [(0, 7, 3.0), (0, 8, 1.0), (0, 9, 1.0), (1, 7, 2.0), (1, 8, 2.0)]
    tiered = run(pairs, "unique", threshold=1.0, tiered=True)
    assert returned(tiered) == [[7], [], []]
    assert tiered["ambiguous"].tolist() == [False, True, False]
    assert tiered["candidates"].tolist() == [1, 2, 0]
    flat = run(pairs, "unique", threshold=1.0)
    assert returned(flat) == [[], [], []]


# --- edge cases ------------------------------------------------------------------------------


def test_no_pairs_at_all():
    empty = np.array([], dtype=np.int64)
    out = decide(LEFT_IDS, empty, empty, np.array([], dtype=np.float64), 0.5, "unique")
    assert returned(out) == [[], [], []]
    assert out["candidates"].tolist() == [0, 0, 0]
    assert not out["ambiguous"].any()


def test_an_unknown_policy_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        run([(0, 7, 0.9)], "first")
    assert isinstance(info.value, ConfigError)
    assert info.value.known == sorted(POLICIES)
    assert "'first'" in str(info.value) and "all, best, one_to_one, unique" in str(info.value)


# --- one to one ------------------------------------------------------------------------------


def test_one_to_one_links_each_record_on_either_side_once():
    out = run([(0, 7, 0.9), (0, 8, 0.95), (1, 8, 0.99), (1, 9, 0.6), (2, 9, 0.7)], "one_to_one")
    # 1-8 (0.99) first; request 0 then takes 7; 2-9 (0.7) beats 1-9, whose request is taken.
    assert returned(out) == [[7], [8], [9]]
    assert out["ambiguous"].tolist() == [True, True, False]


# --- against a reference ---------------------------------------------------------------------


def reference(pairs, n_left: int, threshold: float, policy: str, tiered: bool):
    """Per request: (returned ids, ambiguous, candidates), spelled out one request at a time."""
    out = []
    linked: dict[int, int] = {}
    if policy == "one_to_one":
        # Greedy over every request's candidates at once: best score first, ties to the
        # earlier request and then the smaller id; a request or record is linked once.
        per_request = reference(pairs, n_left, threshold, "all", tiered)
        candidates = []
        for i, (ids, _, _) in enumerate(per_request):
            for right in ids:
                score = max(s for left, r, s in pairs if left == i and r == right)
                candidates.append((-score, i, right))
        for _, i, right in sorted(candidates):
            if i not in linked and right not in linked.values():
                linked[i] = right
    for i in range(n_left):
        best: dict[int, float] = {}
        for left, right, score in pairs:
            if left == i and score >= threshold:
                best[right] = max(score, best.get(right, -math.inf))
        if tiered and best:
            top = max(best.values())
            best = {r: s for r, s in best.items() if s == top}
        top = max(best.values()) if best else None
        at_top = sorted(r for r, s in best.items() if s == top)
        if policy == "all":
            chosen = sorted(best)
        elif policy == "best":
            chosen = at_top if len(at_top) == 1 else []
        elif policy == "one_to_one":
            chosen = [linked[i]] if i in linked else []
        else:
            chosen = sorted(best) if len(best) == 1 else []
        out.append((chosen, len(best) > 1, len(best)))
    return out


pair_lists = st.lists(
    st.tuples(
        st.integers(0, 2), st.integers(1, 5), st.sampled_from([0.0, 0.3, 0.5, 0.7, 0.9, 1.0])
    ),
    max_size=15,
)


@settings(max_examples=150, deadline=None)
@given(
    pairs=pair_lists,
    threshold=st.sampled_from([0.0, 0.5, 0.7, 1.0]),
    policy=st.sampled_from(POLICIES),
    tiered=st.booleans(),
)
def test_decide_matches_the_reference(pairs, threshold, policy, tiered):
    out = run(pairs, policy, threshold, tiered=tiered)
    expected = reference(pairs, len(LEFT_IDS), threshold, policy, tiered)
    assert returned(out) == [e[0] for e in expected]
    assert out["ambiguous"].tolist() == [e[1] for e in expected]
    assert out["candidates"].tolist() == [e[2] for e in expected]
    for i, row in out.iterrows():
        over = [s for left, _, s in pairs if left == i and s >= threshold]
        if over:
            assert row["best_score"] == max(over)
        else:
            assert math.isnan(row["best_score"])
