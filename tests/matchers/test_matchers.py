"""Matchers: deterministic rules, cascades, weighted scores and Fellegi-Sunter."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest

from matchsim.comparison import (
    ComparisonResult,
    DateOfBirthComparison,
    NameComparison,
    PostcodeComparison,
    compare,
    make_comparison,
)
from matchsim.errors import ConfigError, MatchsimError
from matchsim.matchers import (
    LIBUY_RULES,
    MATCHERS,
    CascadeMatcher,
    DeterministicMatcher,
    FellegiSunter,
    NotFittedError,
    WeightedMatcher,
    make_matcher,
)
from matchsim.records import prepare
from matchsim.synth import CensusConfig, generate_census

NAMES = ("forename", "surname", "middle_names", "date_of_birth", "postcode", "address", "sex")


def comparisons(names=NAMES) -> tuple:
    return tuple(make_comparison(n) for n in names)


def levels(*rows: dict, names=NAMES) -> ComparisonResult:
    """Pairs with the given level names; a comparison left out is at its strongest level."""
    comps = comparisons(names)
    table = np.array(
        [[c.level_names.index(row.get(c.name, c.level_names[1])) for c in comps] for row in rows],
        dtype=np.int8,
    )
    n = len(rows)
    return ComparisonResult(np.arange(n), np.arange(n), table, comps)


# --- deterministic ---------------------------------------------------------------------------

ADDRESS_CASES = [
    # pair levels, then the score under address = postcode, address, either, both, none
    ({}, (1, 1, 1, 1, 1)),
    ({"address": "else"}, (1, 0, 1, 0, 1)),
    ({"postcode": "else"}, (0, 1, 1, 0, 1)),
    ({"postcode": "sector", "address": "token_set>=0.9"}, (0, 0, 0, 0, 1)),
    ({"postcode": "missing", "address": "missing"}, (0, 0, 0, 0, 1)),
    ({"forename": "soundex"}, (0, 0, 0, 0, 0)),
    ({"surname": "jaro_winkler>=0.92"}, (0, 0, 0, 0, 0)),
    ({"date_of_birth": "day_month_swap"}, (0, 0, 0, 0, 0)),
    ({"date_of_birth": "missing"}, (0, 0, 0, 0, 0)),
    ({"sex": "else", "middle_names": "else"}, (1, 1, 1, 1, 1)),
]


def test_deterministic_address_variants():
    result = levels(*(row for row, _ in ADDRESS_CASES))
    for k, address in enumerate(("postcode", "address", "either", "both", "none")):
        matcher = DeterministicMatcher(address=address)
        assert matcher.fit(result, None) is matcher
        expected = [scores[k] for _, scores in ADDRESS_CASES]
        assert matcher.score(result, None).tolist() == expected, address


def test_deterministic_middle_names():
    result = levels(
        {}, {"middle_names": "else"}, {"middle_names": "missing"}, {"middle_names": "initial"}
    )
    assert DeterministicMatcher().score(result, None).tolist() == [1, 1, 1, 1]
    strict = DeterministicMatcher(middle_names=True)
    assert strict.score(result, None).tolist() == [1, 0, 0, 0]
    assert "middle names" in strict.describe()
    no_middle = levels({}, names=("forename", "surname", "date_of_birth", "postcode"))
    with pytest.raises(ConfigError, match="middle_names"):
        strict.score(no_middle, None)


def test_deterministic_needs_the_comparisons_it_reads():
    result = levels({}, names=("forename", "surname", "date_of_birth", "postcode"))
    assert DeterministicMatcher("postcode").score(result, None).tolist() == [1]
    with pytest.raises(ConfigError, match="'address'"):
        DeterministicMatcher("address").score(result, None)
    with pytest.raises(ConfigError, match="address"):
        DeterministicMatcher("street")


# --- cascade ---------------------------------------------------------------------------------


def test_cascade_first_rule_that_fires_wins():
    strict = {"forename": "exact", "surname": "exact", "date_of_birth": "exact"}
    loose = {"forename": "initial", "date_of_birth": "same_year"}
    result = levels(
        {},  # both rules: the first fires
        {"forename": "soundex"},  # only the loose rule
        {"forename": "else"},  # neither
        {"date_of_birth": "missing"},  # missing never counts as agreement
    )
    cascade = CascadeMatcher([strict, loose])
    assert cascade.fit(result, None) is cascade
    assert cascade.rule_index(result).tolist() == [0, 1, -1, -1]
    assert cascade.score(result, None).tolist() == [2, 1, 0, 0]
    # In the other order the loose rule fires first for every pair it covers.
    assert CascadeMatcher([loose, strict]).rule_index(result).tolist() == [0, 0, -1, -1]


def test_libuy_rules_are_the_default_and_valid_against_default_comparisons():
    cascade = CascadeMatcher()
    assert cascade.rules == LIBUY_RULES
    result = levels(
        {},
        {"postcode": "else"},
        {"date_of_birth": "same_year"},
        {"sex": "else"},
        {"date_of_birth": "same_month_year", "postcode": "else"},
        {"forename": "soundex", "surname": "soundex"},
        {"forename": "initial", "surname": "first3"},
    )
    assert cascade.rule_index(result).tolist() == [0, 3, -1, 4, 5, 1, 2]
    assert cascade.tiered and not DeterministicMatcher.tiered


@pytest.mark.parametrize("request_dob", ["2012-04-07", "2011-07-04"], ids=["year", "day-month"])
def test_same_month_year_rule_needs_the_same_month_and_year(request_dob):
    register = pd.DataFrame(
        {"fn": ["Ann"], "sn": ["Lee"], "sex": ["F"], "dob": ["2011-04-07"], "pc": ["LS1 1AA"]}
    )
    request = register.assign(dob=[request_dob], pc=["M1 1AE"])
    roles = {
        "fn": "forename",
        "sn": "surname",
        "sex": "sex",
        "dob": "date_of_birth",
        "pc": "postcode",
    }
    data = prepare(request, register, roles)
    result = compare(
        data,
        np.array([0]),
        np.array([0]),
        ["forename", "surname", "date_of_birth", "sex", "postcode"],
    )
    assert result.frame()["date_of_birth"][0] in ("one_digit", "day_month_swap")
    # Only the last rule (forename, surname, sex exact; DOB same month and year) could apply,
    # and the month or the year differs.
    assert CascadeMatcher().rule_index(result).tolist() == [-1]


@pytest.mark.parametrize(
    ("rule", "mentions"),
    [
        ({"forename": "exactish"}, "exactish"),
        ({"forename": "exact", "shoe_size": "exact"}, "shoe_size"),
        ({"postcode": "exact"}, "'exact'"),  # postcodes agree in full, not exact
    ],
)
def test_cascade_rules_naming_unknown_levels_or_comparisons_are_refused(rule, mentions):
    cascade = CascadeMatcher([{"forename": "exact"}, rule])
    with pytest.raises(ConfigError, match=mentions) as info:
        cascade.score(levels({}), None)
    assert "rules[1]" in str(info.value)


@pytest.mark.parametrize("rules", [[], [{}], ["forename"]])
def test_cascade_needs_rules(rules):
    with pytest.raises(ConfigError, match="rules"):
        CascadeMatcher(rules)


# --- weighted --------------------------------------------------------------------------------


def test_weighted_scores_from_all_agree_to_all_disagree():
    names = ("forename", "surname", "date_of_birth", "postcode")
    all_else = dict.fromkeys(names, "else")
    all_missing = dict.fromkeys(names, "missing")
    result = levels({}, all_else, all_missing, {"forename": "soundex"}, names=names)
    matcher = WeightedMatcher(missing_score=0.25)
    assert matcher.fit(result, None) is matcher
    scores = matcher.score(result, None)
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(0.0)
    assert scores[2] == pytest.approx(0.25)
    assert 0.8 < scores[3] < 1.0
    # Only the weighted comparisons count.
    only_dob = WeightedMatcher(weights={"date_of_birth": 1.0})
    assert only_dob.score(result, None).tolist() == pytest.approx([1.0, 0.0, 0.25 * 2, 1.0])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"threshold": 1.5}, "weighted.threshold"),
        ({"threshold": -0.01}, "weighted.threshold"),
        ({"threshold": "0.8"}, "weighted.threshold"),
        ({"threshold": True}, "weighted.threshold"),
        ({"threshold": None}, "weighted.threshold"),
        ({"missing_score": 2}, "weighted.missing_score"),
        ({"weights": {"surname": -1}}, "weighted.weights.surname"),
        ({"weights": {"surname": "heavy"}}, "weighted.weights.surname"),
    ],
)
def test_weighted_validates_its_parameters(params, field):
    with pytest.raises(ConfigError, match=f"^{field}: .*Got") as info:
        WeightedMatcher(**params)
    assert info.value.field == field


def test_weighted_threshold_bounds_are_allowed():
    assert WeightedMatcher(threshold=0).threshold == 0.0
    assert WeightedMatcher(threshold=1).threshold == 1.0


def test_weighted_needs_a_positive_weight_on_some_comparison():
    matcher = WeightedMatcher(weights={"shoe_size": 1.0, "surname": 0})
    with pytest.raises(ConfigError, match="positive weight"):
        matcher.score(levels({}), None)


# --- Fellegi-Sunter: fitting -----------------------------------------------------------------

TRUE_M = {"forename": 0.9, "surname": 0.8, "date_of_birth": 0.95, "postcode": 0.7}


@pytest.fixture(scope="module")
def simulated():
    """Left record i is a noisy copy of right record i: it agrees on each field with a known
    probability m, and otherwise takes another value of the field; values are drawn uniformly
    from vocabularies of random strings, so random pairs agree with a known probability u."""
    rng = np.random.default_rng(7)
    n = 3000

    def words(k: int) -> np.ndarray:
        out: set[str] = set()
        while len(out) < k:
            out.add("".join(rng.choice(list(string.ascii_uppercase), 7)))
        return np.array(sorted(out))

    def postcodes(k: int) -> np.ndarray:
        out: set[str] = set()
        while len(out) < k:
            letters = "".join(rng.choice(list("ABDEFGHJ"), 4))
            out.add(f"{letters[:2]}{rng.integers(1, 99)} {rng.integers(1, 9)}{letters[2:]}")
        return np.array(sorted(out))

    vocab = {
        "forename": words(200),
        "surname": words(300),
        "date_of_birth": np.arange(14000, 15500),
        "postcode": postcodes(400),
    }
    right = {k: rng.choice(v, n) for k, v in vocab.items()}
    left = {}
    for k, v in vocab.items():
        other = rng.choice(v, n)
        clash = other == right[k]
        while clash.any():
            other[clash] = rng.choice(v, int(clash.sum()))
            clash = other == right[k]
        left[k] = np.where(rng.random(n) < TRUE_M[k], right[k], other)

    def table(cols: dict) -> pd.DataFrame:
        out = pd.DataFrame({k: cols[k] for k in ("forename", "surname", "postcode")})
        out["date_of_birth"] = pd.to_datetime(cols["date_of_birth"], unit="D").date
        return out

    roles = {k: k for k in ("forename", "surname", "postcode", "date_of_birth")}
    data = prepare(table(left), table(right), roles)

    def exact_only(role: str) -> NameComparison:
        # No fuzzy, phonetic or partial levels: random strings would land in them by chance.
        return NameComparison(
            role, thresholds=(0.99,), phonetic=None, first3=False, initial=False, swapped=False
        )

    comps = [
        exact_only("forename"),
        exact_only("surname"),
        DateOfBirthComparison(),
        PostcodeComparison(),
    ]
    rows = np.arange(n)
    result = compare(data, rows, rows, comps)
    # u of exact agreement: the chance that a left and a right record that are not the same
    # person agree (all agreeing pairs less the agreeing true pairs, row i with row i).
    u = {}
    for k in vocab:
        lv, lc = np.unique(left[k], return_counts=True)
        rv, rc = np.unique(right[k], return_counts=True)
        _, li, ri = np.intersect1d(lv, rv, return_indices=True)
        agreeing = float((lc[li] * rc[ri]).sum()) - float((left[k] == right[k]).sum())
        u[k] = agreeing / (n * n - n)
    return data, result, u


def test_em_recovers_known_m_and_u(simulated):
    data, result, u = simulated
    model = FellegiSunter(tf_adjust=())
    assert model.fit(result, data) is model
    for i, name in enumerate(model.comparisons_):
        exact = model.m_[i][1]
        assert exact == pytest.approx(TRUE_M[name], abs=0.03), name
        assert model.u_[i][1] == pytest.approx(u[name], rel=0.25), name
        assert model.m_[i].sum() == pytest.approx(1.0)
        assert model.m_[i][0] == 0.0  # missing carries no evidence
    # Exactly one true match per left record.
    assert model.lambda_ == pytest.approx(1 / len(data.right), rel=0.2)
    assert {tuple(s["keys"]) for s in model.sessions_} == {("dob",), ("forename", "surname")}
    scores = model.score(result, data)
    assert np.median(scores) > 0.9


def test_oracle_fit_counts_m_on_the_true_pairs(simulated):
    data, result, _ = simulated
    n = len(data.left)
    truth = (np.arange(n), np.arange(n))
    model = FellegiSunter(m_method="oracle", tf_adjust=()).fit(result, data, truth)
    for i, name in enumerate(model.comparisons_):
        assert model.m_[i][1] == pytest.approx(TRUE_M[name], abs=0.03)
    assert model.lambda_ == pytest.approx(1 / n)


def test_oracle_needs_the_true_links(simulated):
    data, result, _ = simulated
    with pytest.raises(ConfigError, match=r"oracle.*true links") as info:
        FellegiSunter(m_method="oracle").fit(result, data)
    assert info.value.field == "FellegiSunter.m_method"
    nowhere = (np.array([0]), np.array([1]))  # not among the candidate pairs
    with pytest.raises(ConfigError, match="no candidate pair"):
        FellegiSunter(m_method="oracle").fit(result, data, nowhere)


def test_scoring_before_fit_says_to_fit_first(simulated):
    data, result, _ = simulated
    model = FellegiSunter()
    for method in (
        lambda: model.score(result, data),
        lambda: model.match_weights(result, data),
        model.parameters,
    ):
        with pytest.raises(NotFittedError, match=r"not fitted.*'fit'"):
            method()
    assert issubclass(NotFittedError, MatchsimError)


def test_scoring_with_other_comparisons_is_refused(simulated):
    data, result, _ = simulated
    model = FellegiSunter(tf_adjust=()).fit(result, data)
    other = compare(data, result.left[:5], result.right[:5], ["forename", "surname"])
    with pytest.raises(ConfigError, match="comparisons the model was fitted on"):
        model.score(other, data)
    rows = model.parameters()
    assert {r["comparison"] for r in rows} == set(model.comparisons_)
    assert all(r["bayes_factor"] is None for r in rows if r["level"] == "missing")


# --- Fellegi-Sunter: term frequencies --------------------------------------------------------


@pytest.fixture(scope="module")
def copies():
    """A synthetic register and exact copies of some of its records (common and rare surnames)."""
    census = generate_census(CensusConfig(pupils=2000), seed=21)
    right = census.pupils_frame[["forename", "surname", "date_of_birth", "postcode"]].astype(
        {"forename": object, "surname": object}
    )
    counts = right["surname"].value_counts()
    common = counts.index[0]
    rare = counts.index[counts == 1][0]
    rng = np.random.default_rng(3)
    rows = np.unique(
        np.r_[
            rng.choice(len(right), 300, replace=False),
            np.flatnonzero(right["surname"] == common)[:3],
            np.flatnonzero(right["surname"] == rare),
        ]
    )
    left = right.iloc[rows].reset_index(drop=True)
    roles = {k: k for k in right.columns}
    data = prepare(left, right, roles)
    comps = ["forename", "surname", "date_of_birth", "postcode"]
    result = compare(data, np.arange(len(rows)), rows, comps)
    return data, result, left["surname"].to_numpy(), common, rare


def test_term_frequency_gives_a_rare_surname_more_weight_than_a_common_one(copies):
    data, result, surnames, common, rare = copies
    assert (result.levels == 1).all()  # every pair agrees exactly on everything
    adjusted = FellegiSunter(tf_adjust=("surname",)).fit(result, data)
    weights = adjusted.match_weights(result, data)
    w_common = weights[surnames == common]
    w_rare = weights[surnames == rare]
    assert len(w_common) >= 2 and len(w_rare) == 1
    assert np.allclose(w_common, w_common[0])
    assert w_rare[0] > w_common.max() + 1  # more than one bit stronger
    # Without the adjustment the same levels give the same weight whatever the name.
    flat = FellegiSunter(tf_adjust=()).fit(result, data).match_weights(result, data)
    assert np.allclose(flat, flat[0])


# --- construction ----------------------------------------------------------------------------


def test_make_matcher_from_names_mappings_and_instances():
    assert set(MATCHERS) == {
        "deterministic",
        "cascade",
        "weighted",
        "fellegi_sunter",
        "bloom_dice",
        "recordlinkage",  # the peer engines (matchsim.peers) register themselves too
        "splink",
    }
    assert isinstance(make_matcher("weighted"), WeightedMatcher)
    fs = make_matcher({"name": "fellegi_sunter", "threshold": 0.5, "tf_adjust": ["surname"]})
    assert isinstance(fs, FellegiSunter) and fs.threshold == 0.5 and fs.tf_adjust == ("surname",)
    instance = CascadeMatcher()
    assert make_matcher(instance) is instance
    assert "fellegi_sunter" in fs.describe()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"m_method": "bayes"}, "FellegiSunter.m_method"),
        ({"threshold": 1.2}, "FellegiSunter.threshold"),
        ({"training_blocks": []}, "FellegiSunter.training_blocks"),
        ({"training_blocks": [["dob"], []]}, "FellegiSunter.training_blocks"),
        ({"training_sample": 5}, "FellegiSunter.training_sample"),
        ({"training_pairs": 10}, "FellegiSunter.training_pairs"),
        ({"max_iter": 0}, "FellegiSunter.max_iter"),
        ({"random_pairs": 10}, "FellegiSunter.random_pairs"),
        ({"random_pairs": True}, "FellegiSunter.random_pairs"),
    ],
)
def test_fellegi_sunter_validates_its_parameters(params, field):
    with pytest.raises(ConfigError) as info:
        FellegiSunter(**params)
    assert info.value.field == field
    assert "Got" in str(info.value)


def test_a_single_tf_adjust_name_is_not_split_into_letters():
    try:
        model = FellegiSunter(tf_adjust="surname")
    except ConfigError:
        return
    assert model.tf_adjust == ("surname",)


def test_weight_terms_add_up_to_the_match_weight(simulated):
    data, result, _ = simulated
    model = FellegiSunter(tf_adjust=("forename", "surname")).fit(result, data)
    weights, adjusted = model.weight_terms(result, data)
    assert weights.shape == adjusted.shape == (len(result.left), len(result.comparisons))
    total = model.prior_weight() + weights.sum(axis=1)
    np.testing.assert_allclose(total, model.match_weights(result, data), rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.score(result, data), 1 / (1 + np.exp2(-total)), atol=1e-12)
    # Only exact agreement on a tf-adjusted comparison is adjusted; missing weighs nothing.
    for i, name in enumerate(model.comparisons_):
        exact = result.levels[:, i] == 1
        assert (adjusted[:, i] == (exact if name in model.tf_ else False)).all(), name
        assert (weights[result.levels[:, i] == 0, i] == 0).all()
    assert model.prior_weight() == pytest.approx(np.log2(model.lambda_ / (1 - model.lambda_)))


def test_weighted_score_terms_add_up_to_the_score(simulated):
    data, result, _ = simulated
    model = WeightedMatcher()
    terms = model.score_terms(result, data)
    np.testing.assert_allclose(terms.sum(axis=1), model.score(result, data), atol=1e-12)
    assert (terms >= 0).all()
