"""recordlinkage as a matcher: its Compare features, ECM unsupervised, logistic regression on
true links, through lookup / link_prepared like any matcher."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matchsim.blocking import CORE_PASSES, make_blocker, run_blocking
from matchsim.comparison import ComparisonResult
from matchsim.errors import ConfigError, PlanTooLargeError
from matchsim.linkage import link_prepared, lookup, true_rows_of
from matchsim.matchers import NotFittedError
from matchsim.peers import RecordLinkageMatcher, role_table

pytestmark = pytest.mark.usefixtures("recordlinkage_installed")


def test_ecm_finds_the_true_links(world):
    census, requests, register = world
    # The core passes only: on 8,000 pupils the default blocking also affords the postcode and
    # date of birth alone, and ECM, fitted on every candidate pair, is unstable on that broader
    # set (F1 0.71; docs/accuracy.md). matchsim's own matcher is checked on both.
    core = [{"name": "exact", "keys": list(keys)} for keys in CORE_PASSES]
    result = lookup(census, requests, register=register, matcher="recordlinkage", blocking=core)
    link_ = result.link
    assert link_.matcher.describe() == "recordlinkage(ecm)"
    assert link_.comparison.levels.shape == (len(link_.comparison.left), 0)  # no matchsim levels
    assert link_.pair_metrics["f1"] >= 0.9, link_.pair_metrics
    assert link_.decision_metrics["precision"] >= 0.97, link_.decision_metrics
    assert ((link_.scores >= 0) & (link_.scores <= 1)).all()
    # ECM learns that agreeing on the fields that tell a child from its siblings is likelier
    # among matches (surname and home are shared by the siblings among the candidates).
    rows = {(p["feature"], p["agrees"]): p for p in link_.matcher.parameters()}
    for feature in ("forename", "date_of_birth"):
        assert rows[(feature, 1)]["m"] > rows[(feature, 1)]["u"], feature


def test_features_follow_the_role_mapping(world):
    census, requests, register = world
    data = lookup(census, requests, register=register, matcher="weighted").link.data
    left, right = true_rows_of(data, _truth(requests))
    pairs = ComparisonResult(left, right, np.zeros((len(left), 0), np.int8), ())
    features = RecordLinkageMatcher().compare(pairs, data)
    assert features.columns.tolist() == [
        "forename",
        "surname",
        "date_of_birth",
        "postcode",
        "address",
        "sex",
    ]
    # Each feature says whether that role agrees: compare with the normalised values.
    for role in ("forename", "surname", "postcode", "address"):
        a, b = data.left.codes[role][left], data.right.codes[role][right]
        exact = (a >= 0) & (a == b)
        assert (features[role].to_numpy()[exact] == 1).all(), role
        assert (features[role].to_numpy()[(a < 0) | (b < 0)] == 0).all(), role  # missing: 0
    same_dob = data.left.dob[left] == data.right.dob[right]
    assert (features["date_of_birth"].to_numpy() == same_dob).all()
    assert features["forename"].sum() < len(features)  # some requests misspell the forename


def test_logistic_regression_learns_from_the_true_links(world):
    census, requests, register = world
    ecm = lookup(census, requests, register=register, matcher="recordlinkage").link
    logistic = link_prepared(
        ecm.data,
        matcher={"name": "recordlinkage", "classifier": "logistic"},
        true_links=_truth(requests),
        fit_true_links=True,
    )
    assert logistic.matcher.describe() == "recordlinkage(logistic)"
    assert logistic.pair_metrics["f1"] >= 0.9, logistic.pair_metrics
    coefficients = {p["feature"]: p["coefficient"] for p in logistic.matcher.parameters()}
    assert coefficients["date_of_birth"] > 0 and coefficients["surname"] > 0


def test_logistic_regression_without_labels_is_refused(world):
    census, requests, register = world
    with pytest.raises(ConfigError, match="'logistic' is supervised"):
        lookup(
            census,
            requests,
            register=register,
            matcher={"name": "recordlinkage", "classifier": "logistic"},
        )


def test_scoring_before_fitting_is_refused(world):
    census, requests, register = world
    result = lookup(census, requests, register=register, matcher="recordlinkage").link
    with pytest.raises(NotFittedError):
        RecordLinkageMatcher().score(result.comparison, result.data)


def _truth(requests) -> pd.DataFrame:
    table = requests.table.to_pandas()
    table = table[table["true_pupil_id"].notna()]
    return pd.DataFrame(
        {"left_id": table["request_id"], "right_id": table["true_pupil_id"].astype("int64")}
    )


# --- its Index, as a blocking strategy ----------------------------------------------------------


def test_index_gives_recordlinkages_own_pairs(world):
    import recordlinkage

    census, requests, register = world
    data = lookup(census, requests, register=register, matcher="weighted").link.data
    (left, right), report = run_blocking(
        "recordlinkage", data, true_rows_of(data, _truth(requests))
    )
    assert report.strategy == "recordlinkage.Index(forename, surname, date_of_birth, postcode)"
    # The same pairs as recordlinkage's Index on the role columns, written directly.
    roles = ["forename", "surname", "date_of_birth", "postcode"]
    frames = [role_table(r, data, roles).to_pandas() for r in (data.left, data.right)]
    indexer = recordlinkage.Index()
    for role in roles:
        indexer.block(role)
    expected = indexer.index(*frames)
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == set(expected.tolist())
    # One block per field finds nearly every true pair, at many more pairs than matchsim's.
    assert report.pairs_completeness >= 0.99
    # Chunked runs return the same pairs.
    (chunked_left, chunked_right), _ = run_blocking("recordlinkage", data, max_pairs=1000)
    assert np.array_equal(chunked_left, left) and np.array_equal(chunked_right, right)


def test_index_blocks_on_the_roles_given(world):
    census, requests, register = world
    data = lookup(census, requests, register=register, matcher="weighted").link.data
    blocker = make_blocker({"name": "recordlinkage", "block": [["surname", "date_of_birth"]]})
    left, right = blocker.pairs(data, np.arange(len(data.left)))
    assert len(left) > 0
    assert (data.left.codes["surname"][left] == data.right.codes["surname"][right]).all()
    assert (data.left.dob[left] == data.right.dob[right]).all()


def test_index_refuses_more_pairs_than_its_limit_with_an_estimate(world):
    census, requests, register = world

    def fresh_linkage():  # the pairs are cached per linkage once built
        return lookup(census, requests, register=register, matcher="weighted").link.data

    data = fresh_linkage()
    every_left = np.arange(len(data.left))
    built = make_blocker("recordlinkage").pairs(data, every_left)[0]
    # The estimate (the sum of the blocks' pairs) bounds the union recordlinkage builds.
    small = make_blocker({"name": "recordlinkage", "limit": len(built) // 2})
    with pytest.raises(PlanTooLargeError, match=r"up to [\d,]+ pairs at once.*force"):
        small.pairs(fresh_linkage(), every_left)
    forced = make_blocker({"name": "recordlinkage", "limit": len(built) // 2, "force": True})
    assert len(forced.pairs(fresh_linkage(), every_left)[0]) == len(built)
    for bad in ({"force": "yes"}, {"limit": 0}):
        with pytest.raises(ConfigError, match=r"blocking\.recordlinkage\.(force|limit)"):
            make_blocker({"name": "recordlinkage", **bad})
