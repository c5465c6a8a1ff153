"""Splink 5 (DuckDB) as a matcher: prior from deterministic rules, u from random sampling, EM
sessions for m, term-frequency adjusted names, scored on the pipeline's candidate pairs."""

from __future__ import annotations

import numpy as np
import pytest

from matchsim.errors import ConfigError
from matchsim.linkage import link_prepared, lookup
from matchsim.matchers import NotFittedError
from matchsim.peers import SplinkMatcher
from matchsim.requests import RequestConfig, generate_requests

pytestmark = pytest.mark.usefixtures("splink_installed")


@pytest.fixture(scope="module")
def splink_lookup(splink_installed, world):
    census, requests, register = world
    return lookup(census, requests, register=register, matcher={"name": "splink", "seed": 3})


def test_splink_finds_the_true_links(world, splink_lookup):
    census, requests, _ = world
    link_ = splink_lookup.link
    assert link_.matcher.describe() == "splink(duckdb, em, tf=forename+surname)"
    assert link_.pair_metrics["f1"] >= 0.9, link_.pair_metrics
    assert link_.decision_metrics["precision"] >= 0.97, link_.decision_metrics
    assert len(link_.scores) == len(link_.comparison.left)
    assert ((link_.scores >= 0) & (link_.scores <= 1)).all()
    # The prior from deterministic rules is near the true share of matching pairs.
    in_register = int(requests.table["in_register"].to_numpy(zero_copy_only=False).sum())
    true_share = in_register / (requests.table.num_rows * census.pupils.num_rows)
    assert true_share / 3 < link_.matcher.lambda_ < true_share * 3


def test_the_model_is_splinks_usual_one(splink_lookup):
    matcher = splink_lookup.link.matcher
    assert matcher.sessions_ == [["date_of_birth"], ["forename", "surname"]]
    comparisons = {c["output_column_name"]: c for c in matcher.model_["comparisons"]}
    # matchsim's default fields, each with Splink's comparison for it; the address line is left
    # to the postcode, as Splink advises for a field another one predicts
    assert list(comparisons) == ["forename", "surname", "date_of_birth", "postcode", "sex"]

    def tf_columns(name):
        levels = comparisons[name]["comparison_levels"]
        return {lv.get("tf_adjustment_column") for lv in levels} - {None}

    assert tf_columns("forename") == {"forename"} and tf_columns("surname") == {"surname"}
    assert tf_columns("date_of_birth") == set()
    labels = [lv.get("label_for_charts") for lv in comparisons["postcode"]["comparison_levels"]]
    assert "Exact match on sector" in labels and "Exact match on district" in labels
    # Random sampling gave every level a u, EM every comparison an m (Splink leaves m unset on
    # a level no training pair reached), and exact agreement far outweighs chance.
    rows = matcher.parameters()
    assert all(r["u"] is not None for r in rows)
    assert {r["comparison"] for r in rows if r["m"] is not None} == set(comparisons)
    exact = {r["comparison"]: r for r in rows if r["level"].lower().startswith("exact match")}
    for name in ("forename", "surname", "date_of_birth"):
        assert exact[name]["bayes_factor"] > 10, exact[name]


def test_sector_level_is_reached_with_spaced_postcodes(splink_lookup):
    # Without the space Splink's sector regex matches nothing and every near miss is "else";
    # its u must then be the share of random pairs in one sector, well above zero.
    rows = [r for r in splink_lookup.link.matcher.parameters() if r["comparison"] == "postcode"]
    sector = next(r for r in rows if r["level"] == "Exact match on sector")
    assert sector["u"] > 0 and sector["m"] > sector["u"]


def test_same_seed_same_scores(world, splink_lookup):
    census, requests, register = world
    again = lookup(census, requests, register=register, matcher={"name": "splink", "seed": 3})
    assert np.array_equal(again.link.scores, splink_lookup.link.scores)


def test_a_fitted_model_scores_a_new_batch(world, splink_lookup):
    census, _, register = world
    matcher = splink_lookup.link.matcher
    batch = generate_requests(census, RequestConfig(profile="research_linkage", count=150), seed=99)
    result = lookup(census, batch, register=register, matcher=matcher)
    assert result.link.matcher is matcher and len(result.link.scores) == len(
        result.link.comparison.left
    )
    assert result.link.pair_metrics["f1"] >= 0.85


def test_the_address_can_be_compared_beside_the_postcode(world, splink_lookup):
    census, requests, register = world
    matcher = {"name": "splink", "address_with_postcode": True}
    result = lookup(census, requests, register=register, matcher=matcher).link
    names = [c["output_column_name"] for c in result.matcher.model_["comparisons"]]
    assert names == ["forename", "surname", "date_of_birth", "postcode", "address", "sex"]
    # The same pairs, scored with the home counted twice: siblings who share the child's
    # surname and home score higher, never lower, than without the address.
    assert result.pair_metrics["recall"] >= splink_lookup.link.pair_metrics["recall"] - 0.01
    assert (
        result.pair_metrics["false_positives"] >= splink_lookup.link.pair_metrics["false_positives"]
    )


def test_training_blocks_that_leave_nothing_to_estimate_are_refused(splink_lookup):
    data = splink_lookup.link.data
    everything = [["forename", "surname", "date_of_birth", "postcode", "sex"]]
    with pytest.raises(ConfigError, match="training_blocks: no session can run"):
        link_prepared(data, matcher={"name": "splink", "training_blocks": everything})


def test_scoring_before_fitting_is_refused(splink_lookup):
    link_ = splink_lookup.link
    with pytest.raises(NotFittedError):
        SplinkMatcher().score(link_.comparison, link_.data)


def test_untrained_splink_runs_no_em_session(world):
    census, requests, register = world
    result = lookup(census, requests, register=register, matcher={"name": "splink", "em": False})
    assert result.link.matcher.sessions_ == []
    assert result.link.matcher.describe().startswith("splink(duckdb, untrained")
    assert result.link.pair_metrics["f1"] >= 0.5, result.link.pair_metrics


def test_splink_em_must_be_a_flag():
    with pytest.raises(ConfigError, match="em"):
        SplinkMatcher(em="no")  # type: ignore[arg-type]
