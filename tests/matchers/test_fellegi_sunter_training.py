"""Fellegi-Sunter training: the match share EM may find in a session is bounded by how many
true matches a left record can have."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matchsim.matchers import FellegiSunter
from matchsim.matchers.fellegi_sunter import most_matches_per_left
from matchsim.records import prepare, prepare_table, self_linkage

ROLES = {"id": "id", "fn": "forename", "sn": "surname"}


def _frame(ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "fn": ["ANN"] * len(ids), "sn": ["SMITH"] * len(ids)})


def test_a_left_record_matches_at_most_each_entity_once():
    left = _frame([1, 2])
    assert most_matches_per_left(prepare(left, _frame([10, 11, 12]), ROLES)) == 1.0
    # a register with its address history: an entity has one row per address
    assert most_matches_per_left(prepare(left, _frame([10, 10, 10, 11]), ROLES)) == 3.0
    # deduplicating one table: a record's duplicates are not bounded
    alone = self_linkage(prepare_table(_frame([1, 2, 3]), ROLES, "table"))
    assert most_matches_per_left(alone) == np.inf


def test_em_keeps_the_match_share_within_its_bound():
    """Pairs whose levels do not follow u (as namesakes' dates of birth do not follow random
    pairs'): unbounded, EM explains them as nearly all matches; bounded, it cannot."""
    rng = np.random.default_rng(0)
    levels = rng.choice([1, 2, 3], size=(20_000, 1), p=[0.02, 0.48, 0.50])
    u = [np.array([0.0, 0.001, 0.009, 0.99])]
    model = FellegiSunter()
    _, free = model._em(levels, [4], u, start_prior=0.01)
    m, bounded = model._em(levels, [4], u, start_prior=0.01, max_prior=0.03)
    assert free > 0.4
    assert bounded <= 0.03 + 1e-12
    assert np.isclose(m[0][1:].sum(), 1.0)
