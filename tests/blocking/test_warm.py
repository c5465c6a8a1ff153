"""Blocker.warm: a prepared register's blocking keys computed once, before any lookup, and
each stage's state kept with the records it belongs to."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matchsim.blocking import (
    BlockingKeys,
    BlockingWork,
    CrossKeys,
    ExactKeys,
    Union,
    default_blocking,
    run_blocking,
)
from matchsim.records import link, prepare_table

ROLES = {"fn": "forename", "sn": "surname", "dob": "date_of_birth", "pc": "postcode"}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "fn": rng.choice(["Oliver", "Olivia", "Amelia", "Jack", "Mohammed"], n),
            "sn": rng.choice(["Smith", "Smyth", "Khan", "Jones", "Brown"], n),
            "dob": pd.to_datetime("2012-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
            "pc": rng.choice(["LS1 1AA", "LS1 1AB", "M1 2BB"], n),
        }
    )


def _pairs(blocker, data):
    (left, right), _ = run_blocking(blocker, data)
    return sorted(zip(left.tolist(), right.tolist(), strict=True))


def test_warming_a_register_keeps_its_keys_for_every_later_linkage():
    register = prepare_table(_table(300, 1), ROLES, "register")
    as_right = link(register, register)
    blocker = default_blocking(as_right.roles)
    assert isinstance(blocker, Union)
    blocker.warm(as_right)
    kept = as_right.right.state(BlockingKeys)
    exact = [b for b in blocker.blockers if type(b) is ExactKeys]
    cross = [b for b in blocker.blockers if isinstance(b, CrossKeys)]
    assert exact and {b.keys for b in exact} <= set(kept.combined)
    assert {("cross", b.against) for b in cross} <= set(kept.sorted)

    # A later linkage against the same register finds the keys computed, and blocks as an
    # unwarmed register does.
    batch = prepare_table(_table(40, 2), ROLES, "batch")
    data = link(batch, register)
    assert data.right.state(BlockingKeys) is kept
    before = {k: v[0] for k, v in kept.combined.items()}
    warmed = _pairs(blocker, data)
    assert all(kept.combined[k][0] is v for k, v in before.items())  # reused, not rebuilt
    cold = link(prepare_table(_table(40, 2), ROLES, "batch"), prepare_table(_table(300, 1), ROLES))
    assert warmed == _pairs(default_blocking(cold.roles), cold)


def test_work_for_one_linkage_stays_with_it():
    register = prepare_table(_table(200, 3), ROLES, "register")
    first = link(prepare_table(_table(30, 4), ROLES, "batch"), register)
    second = link(prepare_table(_table(30, 5), ROLES, "batch"), register)
    blocker = ExactKeys(["surname", "dob"])
    _pairs(blocker, first)
    assert ("exact", blocker.keys) in first.state(BlockingWork).sorted
    assert second.state(BlockingWork).sorted == {}
    # ... while the register's combined keys are shared by both linkages.
    assert blocker.keys in second.right.state(BlockingKeys).combined


def test_a_state_is_made_once_per_kind():
    register = prepare_table(_table(10, 6), ROLES, "register")
    data = link(register, register)
    assert data.right.state(BlockingKeys) is data.right.state(BlockingKeys)
    assert data.state(BlockingWork) is data.state(BlockingWork)
    assert data.left.state(BlockingKeys) is not data.right.state(BlockingKeys)


def test_kept_keys_round_trip_through_their_stored_form():
    register = prepare_table(_table(50, 7), ROLES, "register")
    data = link(register, register)
    default_blocking(data.roles).warm(data)
    CrossKeys(["forename"], ["surname"]).warm(data)
    kept = data.right.state(BlockingKeys)
    stored = kept.stored()
    assert {kind for kind, _ in stored} == {"combined", "text", "sorted"}
    again = BlockingKeys.restored({**stored, ("unknown", "x"): 1})
    assert again.combined.keys() == kept.combined.keys()
    assert again.sorted.keys() == kept.sorted.keys()
    assert again.text.keys() == kept.text.keys()
    assert all(again.combined[k] is v for k, v in kept.combined.items())
