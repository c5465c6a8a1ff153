"""Drawing requests through a register index: same requests, cost of the batch only."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.hashing import HashIndex
from matchsim.records import index_in
from matchsim.requests import RequestConfig, generate_requests
from matchsim.requests.addresses import (
    DistrictIndex,
    address_source,
    history_of,
    request_context,
)
from matchsim.requests.index import register_index, select_weighted


@pytest.mark.parametrize("profile", ["immigration", "research_linkage", "benefit_fraud"])
def test_requests_are_the_same_with_a_kept_index(register, profile):
    config = RequestConfig(profile=profile, count=300)
    index = register_index(register)
    with_index = generate_requests(register, config, seed=4, index=index)
    without = generate_requests(register, config, seed=4)
    assert with_index.table.equals(without.table)


def test_weighted_selection_follows_origin_weights(register):
    index = register_index(register)
    rng = np.random.default_rng(1)
    origins = register.pupils["name_origin"].cast(pa.string()).to_numpy(zero_copy_only=False)
    rows = select_weighted(index, {"british": 0.0, "polish": 5.0}, 3000, rng)
    assert len(np.unique(rows)) == 3000  # without replacement
    assert not (origins[rows] == "british").any()
    # Small draws (so that drawing without replacement hardly depletes any origin): Polish
    # rows come up five times as often as the others, in expectation.
    drawn = np.concatenate(
        [
            origins[select_weighted(index, {"british": 0.0, "polish": 5.0}, 50, rng)]
            for _ in range(40)
        ]
    )
    polish = (origins == "polish").sum()
    others = ((origins != "polish") & (origins != "british")).sum()
    share = 5 * polish / (5 * polish + others)
    expected = share * len(drawn)
    assert abs((drawn == "polish").sum() - expected) < 5 * np.sqrt(expected * (1 - share))


def test_local_moves_stay_in_the_district_and_unrelated_addresses_span_the_world(register):
    history = history_of(register.pupils, register.addresses)
    source = address_source(history)
    households = register.pupils["household_id"].to_numpy()[:200]
    context, (family,) = request_context((source,), [households])
    assert len(family) == 200 and family.max() < len(context.rows)
    codes = context.outward[context.first_row[family]]
    rng = np.random.default_rng(0)
    local = context.local(codes, rng.random(len(codes)))
    got = source.district_of(local - context.own)
    np.testing.assert_array_equal(got, codes)
    anywhere = context.anywhere(rng, 5000)
    assert anywhere.min() >= context.own and anywhere.max() < context.own + len(source)
    # every context row's text is the source row's text
    rows = np.arange(context.own)
    np.testing.assert_array_equal(
        context.text("postcode", rows),
        history["postcode"].take(pa.array(context.own_row)).to_numpy(zero_copy_only=False),
    )


def test_district_index_counts():
    index = DistrictIndex.build(np.array([5, 3, 5, 9, 3, 5]))
    start, count = index.counts_of(np.array([3, 5, 9, 4]))
    np.testing.assert_array_equal(count, [2, 3, 1, 0])
    np.testing.assert_array_equal(index.order[start[1] : start[1] + 3], [0, 2, 5])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.text(max_size=12), min_size=1, max_size=60, unique=True),
    st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30),
)
def test_hash_index_finds_what_arrow_finds(values, wanted):
    vocabulary = pa.array(values, pa.string())
    probe = pa.array(wanted, pa.string())
    found = HashIndex.build(vocabulary).find(vocabulary, probe)
    np.testing.assert_array_equal(found, index_in(probe, vocabulary))
