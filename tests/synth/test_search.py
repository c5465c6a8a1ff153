"""The generator's guided search gives numpy's answers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.synth.census.search import GuidedSearch


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 1e3), min_size=1, max_size=300).filter(lambda w: sum(w) > 0),
    seed=st.integers(0, 2**32 - 1),
)
def test_guided_search_is_searchsorted(weights, seed):
    cumulative = np.cumsum(weights)
    cumulative /= cumulative[-1]
    rng = np.random.default_rng(seed)
    # Random queries, the values themselves and their neighbours, and both ends.
    queries = np.concatenate(
        [
            rng.random(2000),
            cumulative,
            np.nextafter(cumulative, 0),
            np.nextafter(cumulative, 2),
            [0.0, 1.0],
        ]
    )
    queries = queries[(queries >= 0) & (queries <= 1)]
    search = GuidedSearch.build(cumulative)
    np.testing.assert_array_equal(
        search.search(queries), np.searchsorted(cumulative, queries, side="right")
    )
