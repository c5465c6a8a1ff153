"""The whole pipeline: hand-built cases with known answers, bad input, every registry entry
with bad arguments, and lookups of generated requests in a generated register."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from matchsim.blocking import BLOCKERS, make_blocker, run_blocking
from matchsim.comparison import COMPARISONS, compare, default_comparisons, make_comparison
from matchsim.decision import POLICIES, decide
from matchsim.errors import ConfigError, UnknownNameError
from matchsim.evaluation import OUTCOMES
from matchsim.linkage import link_tables, lookup, prepare_register, register_table
from matchsim.matchers import MATCHERS, make_matcher
from matchsim.records import MATCHSIM_ROLES, normalise_name, prepare
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

COLUMNS = ["id", "forename", "surname", "sex", "date_of_birth", "address_line", "postcode"]
ROLES = {
    "id": "id",
    "forename": "forename",
    "surname": "surname",
    "sex": "sex",
    "date_of_birth": "date_of_birth",
    "address_line": "address",
    "postcode": "postcode",
}


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# Register records (ids 9000xx) and the requests about them (ids 8000xx).
HAND_REGISTER = [
    # twins: same surname, DOB and address, different forenames
    (900001, "Amelia", "Featherstonehaugh", "F", day("2012-03-04"), "14 Quarry Lane", "LS12 3AB"),
    (900002, "Isabella", "Featherstonehaugh", "F", day("2012-03-04"), "14 Quarry Lane", "LS12 3AB"),
    # two children with the same name and DOB at different addresses
    (900003, "Oliver", "Quennell", "M", day("2013-06-21"), "3 Mill Street", "BD7 1AA"),
    (900004, "Oliver", "Quennell", "M", day("2013-06-21"), "77 Park Road", "NE4 9ZZ"),
    # the register holds a transliteration the requester spells differently
    (900005, "Muhammad", "Zubairi", "M", day("2011-07-19"), "5 Elm Grove", "B10 0AB"),
    # the requester swaps the day and month
    (900006, "Tallulah", "Wetherspoon", "F", day("2011-04-07"), "9 Canal Side", "M4 6EE"),
]
HAND_REQUESTS = [
    (800001, "Amelia", "Featherstonehaugh", "F", day("2012-03-04"), "14 Quarry Lane", "LS12 3AB"),
    (800002, "Isabella", "Featherstonehaugh", "F", day("2012-03-04"), "14 Quarry Lane", "LS12 3AB"),
    (800003, "Oliver", "Quennell", "M", day("2013-06-21"), "3 Mill Street", "BD7 1AA"),
    (800005, "Mohammed", "Zubairi", "M", day("2011-07-19"), "5 Elm Grove", "B10 0AB"),
    (800006, "Tallulah", "Wetherspoon", "F", day("2011-07-04"), "9 Canal Side", "M4 6EE"),
]
TWIN, OTHER_TWIN, OLIVER, OTHER_OLIVER, MUHAMMAD, TALLULAH = range(900001, 900007)


@pytest.fixture(scope="module")
def census():
    return generate_census(CensusConfig(pupils=3000), seed=3)


@pytest.fixture(scope="module")
def tables(census):
    """A synthetic register with the hand cases inserted, and a few hundred generated requests
    (so that Fellegi-Sunter has enough to train on) plus the hand requests."""
    register = census.pupils_frame.rename(columns={"pupil_id": "id"})[COLUMNS]
    requests = generate_requests(
        census, RequestConfig(profile="research_linkage", count=300), seed=4
    ).table.to_pandas()
    truth = requests[["request_id", "true_pupil_id"]].dropna()
    requests = requests.rename(columns={"request_id": "id"})[COLUMNS]
    right = pd.concat([register, pd.DataFrame(HAND_REGISTER, columns=COLUMNS)], ignore_index=True)
    left = pd.concat([requests, pd.DataFrame(HAND_REQUESTS, columns=COLUMNS)], ignore_index=True)
    hand_truth = pd.DataFrame(
        {
            "request_id": [r[0] for r in HAND_REQUESTS],
            "true_pupil_id": [TWIN, OTHER_TWIN, OLIVER, MUHAMMAD, TALLULAH],
        }
    )
    return left, right, pd.concat([truth, hand_truth], ignore_index=True)


def answers(result) -> dict[int, list[int]]:
    decisions = result.decisions
    return {
        int(i): sorted(int(x) for x in r)
        for i, r in zip(decisions["left_id"], decisions["returned"], strict=True)
    }


def ambiguous(result) -> dict[int, bool]:
    d = result.decisions
    return dict(zip(d["left_id"].astype(int), d["ambiguous"], strict=True))


@pytest.fixture(scope="module")
def deterministic(tables):
    left, right, _ = tables
    return link_tables(left, right, ROLES, matcher="deterministic")


@pytest.fixture(scope="module")
def name_and_dob_only(tables):
    left, right, _ = tables
    return link_tables(left, right, ROLES, matcher={"name": "deterministic", "address": "none"})


@pytest.fixture(scope="module")
def weighted(tables):
    left, right, _ = tables
    return link_tables(left, right, ROLES, matcher="weighted")


@pytest.fixture(scope="module")
def fellegi_sunter(tables):
    left, right, truth = tables
    return link_tables(
        left, right, ROLES, matcher="fellegi_sunter", decision="best", true_links=truth
    )


# --- hand-built cases with known answers -----------------------------------------------------


def test_twins_deterministic_returns_the_twin_asked_for(deterministic):
    got = answers(deterministic)
    assert got[800001] == [TWIN]
    assert got[800002] == [OTHER_TWIN]


def test_twins_fellegi_sunter_returns_the_twin_asked_for(fellegi_sunter):
    got = answers(fellegi_sunter)
    assert got[800001] == [TWIN]
    assert got[800002] == [OTHER_TWIN]
    # The twin asked for outweighs the other twin (whose forename disagrees).
    pairs = fellegi_sunter.pairs()
    weights = fellegi_sunter.matcher.match_weights(fellegi_sunter.comparison, fellegi_sunter.data)
    w = dict(zip(zip(pairs["left_id"], pairs["right_id"], strict=True), weights, strict=True))
    assert w[(800001, TWIN)] > w[(800001, OTHER_TWIN)] + 5
    assert w[(800002, OTHER_TWIN)] > w[(800002, TWIN)] + 5


def test_twins_fellegi_sunter_never_returns_the_other_twin_alone(fellegi_sunter):
    result = fellegi_sunter
    left_ids = result.data.left.ids
    unique = decide(
        left_ids,
        result.comparison.left,
        result.data.right.ids[result.comparison.right],
        result.scores,
        result.threshold,
        "unique",
    )
    got = dict(zip(unique["left_id"], unique["returned"], strict=True))
    assert OTHER_TWIN not in list(got[800001])
    assert TWIN not in list(got[800002])


def test_same_name_and_dob_at_different_addresses(deterministic, name_and_dob_only, tables):
    assert answers(deterministic)[800003] == [OLIVER]
    assert answers(name_and_dob_only)[800003] == []
    assert ambiguous(name_and_dob_only)[800003]
    assert name_and_dob_only.decisions.set_index("left_id").loc[800003, "candidates"] == 2
    left, right, _ = tables
    rule = {"forename": "exact", "surname": "exact", "date_of_birth": "exact"}
    cascade = link_tables(left, right, ROLES, matcher={"name": "cascade", "rules": [rule]})
    assert answers(cascade)[800003] == []
    assert ambiguous(cascade)[800003]


def test_transliterated_name_missed_by_deterministic_found_by_fuzzy_matchers(
    deterministic, weighted, fellegi_sunter
):
    assert answers(deterministic)[800005] == []
    assert answers(weighted)[800005] == [MUHAMMAD]
    assert answers(fellegi_sunter)[800005] == [MUHAMMAD]
    frame = fellegi_sunter.comparison.frame(fellegi_sunter.data)
    level = frame.query("left_id == 800005 and right_id == @MUHAMMAD")["forename"].iloc[0]
    assert level not in ("exact", "else", "missing")


def test_day_month_swap_missed_by_deterministic_found_by_fuzzy_matchers(
    deterministic, weighted, fellegi_sunter
):
    assert answers(deterministic)[800006] == []
    assert answers(weighted)[800006] == [TALLULAH]
    assert answers(fellegi_sunter)[800006] == [TALLULAH]
    frame = weighted.comparison.frame(weighted.data)
    level = frame.query("left_id == 800006 and right_id == @TALLULAH")["date_of_birth"].iloc[0]
    assert level == "day_month_swap"


def test_link_result_reports_blocking_timings_and_pair_metrics(fellegi_sunter, tables):
    result = fellegi_sunter
    left, right, _ = tables
    assert len(result.decisions) == len(left)
    assert result.blocking.left_records == len(left)
    assert result.blocking.right_records == len(right)
    assert 0.9 < result.blocking.pairs_completeness <= 1.0
    assert set(result.timings) == {"blocking", "comparison", "matching", "decision"}
    metrics = result.pair_metrics
    assert metrics is not None
    assert 0.0 < metrics["precision"] <= 1.0
    assert 0.95 < metrics["recall"] <= 1.0
    pairs = result.pairs()
    assert list(pairs.columns) == ["left_id", "right_id", "score", "match"]
    assert pairs["score"].between(0, 1).all()


def test_a_sibling_with_another_forename_and_birth_date_is_not_a_match(fellegi_sunter):
    frame = fellegi_sunter.comparison.frame(fellegi_sunter.data)
    frame["score"] = fellegi_sunter.scores
    siblings = frame[(frame["forename"] == "else") & (frame["date_of_birth"] == "else")]
    assert len(siblings) > 10  # the generated register has plenty of siblings
    assert (siblings["score"] < fellegi_sunter.threshold).all()


# --- bad input to link_tables ----------------------------------------------------------------

L = pd.DataFrame(
    {
        "id": [1, 2],
        "fn": ["Ann", "Bob"],
        "sn": ["Lee", "Ng"],
        "dob": ["2010-01-02", "2011-02-03"],
        "pc": ["LS1 1AA", "M1 1AE"],
    }
)
R = pd.DataFrame(
    {
        "id": [7, 8, 9],
        "fn": ["Ann", "Bob", "Cy"],
        "sn": ["Lee", "Ng", "Ox"],
        "dob": ["2010-01-02", "2011-02-03", "2012-01-01"],
        "pc": ["LS1 1AA", "M1 1AE", "B1 1AA"],
    }
)
R_ROLES = {"id": "id", "fn": "forename", "sn": "surname", "dob": "date_of_birth", "pc": "postcode"}
FAST = {"blocking": "exact:dob", "matcher": "deterministic"}


def test_the_small_tables_link():
    result = link_tables(L, R, R_ROLES, **FAST)
    assert answers(result) == {1: [7], 2: [8]}


BAD_INPUT = [
    pytest.param(
        L.drop(columns="sn"), R, R_ROLES, {}, ["left.sn", "no such column"], id="missing-column"
    ),
    pytest.param(
        L,
        R.drop(columns="pc"),
        R_ROLES,
        {},
        ["right.pc", "no such column"],
        id="missing-right-column",
    ),
    pytest.param(
        L.assign(dob=[1, 2]),
        R,
        R_ROLES,
        {},
        ["left.dob", "not dates", "date_format"],
        id="dob-ints-not-yyyymmdd",
    ),
    pytest.param(
        L.assign(dob=["02/01/2010", "03/02/2011"]),
        R,
        R_ROLES,
        {},
        ["left.dob", "'02/01/2010'", "DD/MM/YYYY or MM/DD/YYYY", "date_format"],
        id="dob-day-month-ambiguous",
    ),
    pytest.param(
        L.assign(fn=[1.5, 2.5]), R, R_ROLES, {}, ["left.fn", "text", "double"], id="forename-floats"
    ),
    pytest.param(
        L, R.assign(sn=[1.0, 2.0, 3.0]), R_ROLES, {}, ["right.sn", "text"], id="surname-floats"
    ),
    pytest.param(
        L, R.assign(sn=[True, False, True]), R_ROLES, {}, ["right.sn", "text"], id="surname-bools"
    ),
    pytest.param(L.iloc[:0], R, R_ROLES, {}, ["left", "empty"], id="empty-left"),
    pytest.param(L, R.iloc[:0], R_ROLES, {}, ["right", "empty"], id="empty-right"),
    pytest.param(
        L.assign(sn=[None, None]), R, R_ROLES, {}, ["left.sn", "entirely empty"], id="null-surname"
    ),
    pytest.param(
        L.assign(fn=[np.nan, np.nan]),
        R,
        R_ROLES,
        {},
        ["left.fn", "entirely empty"],
        id="nan-forename",
    ),
    pytest.param(
        L, R.assign(dob=None), R_ROLES, {}, ["right.dob", "entirely empty"], id="null-dob"
    ),
    pytest.param(
        L, R, {**R_ROLES, "pc": "zip"}, {}, ["left.pc", "'zip'", "postcode"], id="unknown-role"
    ),
    pytest.param(
        L, R, {**R_ROLES, "sn": "forename"}, {}, ["sn", "already mapped"], id="role-twice"
    ),
    pytest.param(L, R, {"id": "id"}, {}, ["left", "map at least one"], id="no-usable-role"),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"blocking": "soundex"},
        ["blocking", "'soundex'", "exact, full, minhash"],
        id="unknown-blocking",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"matcher": "ml"},
        ["matcher", "'ml'", "cascade, deterministic"],
        id="unknown-matcher",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"decision": "first"},
        ["decision", "'first'", "all, best, one_to_one, unique"],
        id="unknown-decision",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"comparisons": ["dob"]},
        ["comparison", "'dob'", "date_of_birth"],
        id="unknown-comparison",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"matcher": {"name": "weighted", "threshold": 1.5}},
        ["weighted.threshold", "1.5"],
        id="weighted-threshold",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"matcher": {"name": "fellegi_sunter", "threshold": -0.1}},
        ["FellegiSunter.threshold"],
        id="fs-threshold",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"true_links": pd.DataFrame({"a": [1]})},
        ["true_links", "two columns"],
        id="truth-one-column",
    ),
    pytest.param(
        L.assign(fn=["Ann", 5]),
        R,
        R_ROLES,
        {},
        ["left.fn", "text"],
        id="forename-mixed-types",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"threshold": 1.5},
        ["threshold"],
        id="threshold-above-1",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"threshold": -0.5},
        ["threshold"],
        id="threshold-negative",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"threshold": float("nan")},
        ["threshold"],
        id="threshold-nan",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"threshold": "high"},
        ["threshold"],
        id="threshold-text",
    ),
    pytest.param(
        L,
        R,
        R_ROLES,
        {"max_pairs": 0},
        ["max_pairs"],
        id="max-pairs-0",
    ),
]


@pytest.mark.parametrize(("left", "right", "roles", "options", "mentions"), BAD_INPUT)
def test_bad_input_names_the_column_or_parameter(left, right, roles, options, mentions):
    with pytest.raises(ConfigError) as info:
        link_tables(left, right, roles, **{**FAST, **options})
    for text in mentions:
        assert text in str(info.value)


def test_an_unknown_option_is_refused_by_name():
    # The options are typed keywords: a misspelt one fails as any Python call does.
    with pytest.raises(TypeError, match="blockin"):
        link_tables(L, R, R_ROLES, **{**FAST, "blockin": "exact:dob"})


def test_a_bad_date_after_the_first_hundred_rows_names_the_column():
    left = pd.DataFrame(
        {
            "id": range(120),
            "fn": ["Ann"] * 120,
            "sn": ["Lee"] * 120,
            "dob": ["2010-01-02"] * 119 + ["02/01/2010"],
            "pc": ["LS1 1AA"] * 120,
        }
    )
    with pytest.raises(ConfigError, match=r"left\.dob"):
        link_tables(left, R, R_ROLES, **FAST)


def test_an_impossible_date_is_not_silently_another_day():
    left = L.assign(dob=["2010-02-30", "2011-02-03"])
    right = R.assign(dob=["2010-03-02", "2011-02-03", "2012-01-01"])
    try:
        result, message = link_tables(left, right, R_ROLES, **FAST), ""
    except ConfigError as exc:  # refusing the date is as good as not matching it
        result, message = None, str(exc)
    if result is None:
        assert "left.dob" in message
    else:
        assert answers(result)[1] == []


def test_a_birth_date_of_31_december_1969_is_not_missing():
    born = dt.date(1969, 12, 31)
    left = pd.DataFrame({"fn": ["Ann"], "sn": ["Lee"], "dob": [born]})
    right = pd.DataFrame(
        {"fn": ["Ann", "Bob"], "sn": ["Lee", "Ng"], "dob": [born, dt.date(1970, 1, 1)]}
    )
    roles = {"fn": "forename", "sn": "surname", "dob": "date_of_birth"}
    result = link_tables(
        left,
        right,
        roles,
        blocking="exact:dob",
        matcher={"name": "deterministic", "address": "none"},
    )
    assert answers(result) == {0: [0]}


def test_other_date_types_are_accepted():
    for dob in (
        pd.to_datetime(L["dob"]),
        pd.to_datetime(L["dob"]).dt.date,
        pd.to_datetime(L["dob"]).dt.tz_localize("Europe/London"),
    ):
        assert answers(link_tables(L.assign(dob=dob), R, R_ROLES, **FAST)) == {1: [7], 2: [8]}


# --- every registry entry with bad arguments -------------------------------------------------


@pytest.fixture(scope="module")
def small(census):
    """A small register-like linkage with every role, and its candidate pairs."""
    pupils = census.pupils_frame.iloc[:60]
    roles = {**MATCHSIM_ROLES, "pupil_id": "id"}
    data = prepare(pupils.iloc[:20], pupils, roles)
    (left, right), _ = run_blocking("exact:dob", data)
    return data, left, right


def use_blocker(name, params, data, left, right):
    run_blocking(make_blocker({"name": name, **params}), data)


def use_comparison(name, params, data, left, right):
    compare(data, left, right, [{"kind": name, **params}])


def use_matcher(name, params, data, left, right):
    matcher = make_matcher({"name": name, **params})
    result = compare(data, left, right, default_comparisons(data))
    matcher.fit(result, data)
    matcher.score(result, data)


def use_policy(name, params, data, left, right):
    scores = np.ones(len(left))
    decide(data.left.ids, left, data.right.ids[right], scores, policy=name, **params)


NOT_NAMED = "make_* turn a TypeError from __init__ into a ConfigError whose message is the raw "
NOT_NAMED += "TypeError text ('int' object is not iterable), not naming the parameter"

REGISTRY_CASES = [
    # blockers
    ("blocking", "exact", {}, "keys"),
    ("blocking", "recordlinkage", {"block": []}, "block"),
    ("blocking", "recordlinkage", {"block": [["shoe_size"]]}, "shoe_size"),
    ("blocking", "recordlinkage", {"window": 3}, "window"),
    ("blocking", "exact", {"keys": []}, "keys"),
    ("blocking", "exact", {"keys": ["shoe_size"]}, "shoe_size"),
    ("blocking", "exact", {"keys": ["surname:bogus"]}, "bogus"),
    ("blocking", "exact", {"keyz": ["surname"]}, "keyz"),
    ("blocking", "cross", {"keys": ["forename"]}, "against"),
    ("blocking", "cross", {"keys": ["forename"], "against": ["shoe_size"]}, "shoe_size"),
    ("blocking", "cross", {"keys": ["forename"], "against": ["surname", "dob"]}, "one per key"),
    pytest.param(
        "blocking",
        "exact",
        {"keys": 5},
        "keys",
    ),
    pytest.param(
        "blocking",
        "exact",
        {"keys": [5]},
        "keys",
    ),
    ("blocking", "phonetic", {"algorithm": "caverphone"}, "soundex"),
    ("blocking", "phonetic", {"field": "postcode"}, "phonetic.field"),
    ("blocking", "phonetic", {"with_year": True}, "with_year"),
    ("blocking", "sorted_neighbourhood", {"window": 1}, "window"),
    ("blocking", "sorted_neighbourhood", {"window": "5"}, "window"),
    ("blocking", "sorted_neighbourhood", {"window": 2.5}, "window"),
    ("blocking", "sorted_neighbourhood", {"key": "shoe_size"}, "shoe_size"),
    ("blocking", "sorted_neighbourhood", {"size": 3}, "size"),
    pytest.param(
        "blocking",
        "sorted_neighbourhood",
        {"key": 5},
        "key",
    ),
    ("blocking", "minhash", {"field": "date_of_birth"}, "minhash.field"),
    ("blocking", "minhash", {"q": 0}, "minhash.q"),
    ("blocking", "minhash", {"bands": "8"}, "minhash.bands"),
    ("blocking", "minhash", {"rows": 0}, "minhash.rows"),
    ("blocking", "minhash", {"shingles": 2}, "shingles"),
    pytest.param(
        "blocking",
        "minhash",
        {"seed": "x"},
        "seed",
    ),
    ("blocking", "full", {"forced": True}, "forced"),
    pytest.param(
        "blocking",
        "full",
        {"limit": "many"},
        "limit",
    ),
    pytest.param(
        "blocking",
        "full",
        {"force": "false"},
        "force",
    ),
    ("blocking", "clk_lsh", {"bands": 0}, "clk_lsh.bands"),
    ("blocking", "clk_lsh", {"bits": 63}, "clk_lsh.bits"),
    ("blocking", "clk_lsh", {"encoding": 5}, "clk_lsh.encoding"),
    ("blocking", "clk_lsh", {"encoding": {"key": "a-test-key", "length": 100}}, "pprl.length"),
    ("blocking", "union", {"blockers": []}, "blockers"),
    ("blocking", "union", {"blockers": ["bogus"]}, "bogus"),
    ("blocking", "union", {"passes": []}, "passes"),
    pytest.param(
        "blocking",
        "union",
        {"blockers": 5},
        "blockers",
    ),
    # comparisons
    ("comparison", "name", {"role": "date_of_birth"}, "role"),
    ("comparison", "name", {"similarity": "cosine"}, "jaro_winkler"),
    ("comparison", "name", {"phonetic": "caverphone"}, "soundex"),
    ("comparison", "name", {"thresholds": [1.5]}, "thresholds"),
    ("comparison", "name", {"thresholds": [0.8, 0.9]}, "decreasing"),
    ("comparison", "name", {"thresholds": [0.9333334, 0.9333333]}, "six significant digits"),
    ("comparison", "name", {"thresholds": [0.9, 0.9]}, "both be the level '>=0.9'"),
    ("comparison", "name", {"thresholds": [1 - i / 1000 for i in range(101)]}, "at most 100"),
    ("comparison", "name", {"thresholds": [0]}, "thresholds"),
    ("comparison", "name", {"fuzzy": True}, "fuzzy"),
    pytest.param(
        "comparison",
        "name",
        {"thresholds": 5},
        "thresholds",
    ),
    pytest.param(
        "comparison",
        "name",
        {"thresholds": "high"},
        "thresholds",
    ),
    pytest.param(
        "comparison",
        "name",
        {"thresholds": []},
        "thresholds",
    ),
    ("comparison", "date_of_birth", {"days": 0}, "days"),
    ("comparison", "date_of_birth", {"days": "365"}, "days"),
    ("comparison", "date_of_birth", {"window": 3}, "window"),
    ("comparison", "postcode", {"levels": 3}, "levels"),
    pytest.param(
        "comparison",
        "postcode",
        {"role": "shoe_size"},
        "shoe_size",
    ),
    ("comparison", "address", {"thresholds": [2]}, "thresholds"),
    ("comparison", "address", {"similarity": "jaro"}, "similarity"),
    pytest.param(
        "comparison",
        "address",
        {"role": "shoe_size"},
        "shoe_size",
    ),
    ("comparison", "sex", {"values": "MF"}, "values"),
    ("comparison", "exact", {"role": "shoe_size"}, "shoe_size"),
    ("comparison", "exact", {"levels": 2}, "levels"),
    ("comparison", "location", {"address_threshold": 1.5}, "location.thresholds"),
    ("comparison", "location", {"address_threshold": "near"}, "location.thresholds"),
    # matchers
    ("matcher", "deterministic", {"address": "street"}, "address"),
    ("matcher", "deterministic", {"postcodes": True}, "postcodes"),
    ("matcher", "cascade", {"rules": []}, "rules"),
    ("matcher", "cascade", {"rules": [{}]}, "rules[0]"),
    ("matcher", "cascade", {"rules": ["forename"]}, "rules[0]"),
    ("matcher", "cascade", {"rules": [{"forename": "exactish"}]}, "exactish"),
    ("matcher", "cascade", {"rules": [{"shoe_size": "exact"}]}, "shoe_size"),
    pytest.param(
        "matcher",
        "cascade",
        {"rules": 5},
        "rules",
    ),
    ("matcher", "weighted", {"threshold": 1.5}, "threshold"),
    ("matcher", "weighted", {"threshold": "high"}, "threshold"),
    ("matcher", "weighted", {"missing_score": -1}, "missing_score"),
    ("matcher", "weighted", {"weights": {"surname": -1}}, "weights.surname"),
    ("matcher", "weighted", {"weights": {"shoe_size": 1}}, "weights"),
    pytest.param(
        "matcher",
        "weighted",
        {"weights": 5},
        "weights",
    ),
    ("matcher", "bloom_dice", {"threshold": 1.5, "key": "a-test-key"}, "threshold"),
    ("matcher", "bloom_dice", {"key": "a-test-key", "blip": 0.9}, "pprl.blip"),
    ("matcher", "bloom_dice", {"key": "a-test-key", "fields": ["shoe_size"]}, "shoe_size"),
    ("matcher", "bloom_dice", {"key": "a-test-key", "salted": True}, "salted"),
    ("matcher", "fellegi_sunter", {"m_method": "bayes"}, "m_method"),
    ("matcher", "fellegi_sunter", {"m_method": "oracle"}, "true links"),
    ("matcher", "fellegi_sunter", {"threshold": 1.2}, "threshold"),
    ("matcher", "fellegi_sunter", {"training_blocks": []}, "training_blocks"),
    pytest.param(
        "matcher",
        "fellegi_sunter",
        {"training_blocks": [["shoe_size"]]},
        "shoe_size",
    ),
    ("matcher", "fellegi_sunter", {"training_sample": 5}, "training_sample"),
    ("matcher", "fellegi_sunter", {"random_pairs": 10}, "random_pairs"),
    ("matcher", "fellegi_sunter", {"iterations": 10}, "iterations"),
    pytest.param(
        "matcher",
        "fellegi_sunter",
        {"tol": "tiny"},
        "tol",
    ),
    pytest.param(
        "matcher",
        "fellegi_sunter",
        {"seed": "x"},
        "seed",
    ),
    # peer engines: parameters are checked before the optional library is imported
    ("matcher", "recordlinkage", {"classifier": "svm"}, "classifier"),
    ("matcher", "recordlinkage", {"threshold": 2}, "threshold"),
    ("matcher", "recordlinkage", {"string_threshold": 0}, "string_threshold"),
    ("matcher", "splink", {"recall": 0}, "recall"),
    ("matcher", "splink", {"training_blocks": [["shoe_size"]]}, "shoe_size"),
    ("matcher", "splink", {"deterministic_rules": []}, "deterministic_rules"),
    ("matcher", "splink", {"u_max_pairs": 10}, "u_max_pairs"),
    ("matcher", "splink", {"tf_adjust": ["postcode"]}, "tf_adjust"),
    ("matcher", "splink", {"max_pairs": 10}, "max_pairs"),
    ("matcher", "splink", {"address_with_postcode": "yes"}, "address_with_postcode"),
    # decision policies: the threshold is their argument
    *(
        pytest.param(
            "decision",
            policy,
            {"threshold": "high"},
            "threshold",
        )
        for policy in POLICIES
    ),
]
USE = {
    "blocking": use_blocker,
    "comparison": use_comparison,
    "matcher": use_matcher,
    "decision": use_policy,
}
REGISTRIES = {
    "blocking": BLOCKERS,
    "comparison": COMPARISONS,
    "matcher": MATCHERS,
    "decision": POLICIES,
}


def _case_values(case) -> tuple:
    return tuple(case.values) if hasattr(case, "values") else case


def test_every_registry_entry_has_bad_argument_cases():
    covered = {(c[0], c[1]) for c in map(_case_values, REGISTRY_CASES)}
    for registry, names in REGISTRIES.items():
        for name in names:
            assert (registry, name) in covered, (registry, name)


@pytest.mark.parametrize(("registry", "name", "params", "mentions"), REGISTRY_CASES)
def test_bad_arguments_give_a_clear_config_error(small, registry, name, params, mentions):
    data, left, right = small
    with pytest.raises(ConfigError) as info:
        USE[registry](name, params, data, left, right)
    assert mentions in str(info.value)


def test_a_rule_on_middle_names_needs_them_compared(census):
    """The default comparisons compare middle names where both sides have them; a rule that
    requires them is refused, by name, where the linkage has none."""
    pupils = census.pupils_frame.iloc[:60]
    roles = {**MATCHSIM_ROLES, "pupil_id": "id"}
    with_middle = prepare(pupils.iloc[:20], pupils, roles)
    (left, right), _ = run_blocking("exact:dob", with_middle)
    rule = make_matcher({"name": "deterministic", "middle_names": True})
    compared = compare(with_middle, left, right, default_comparisons(with_middle))
    assert rule.fit(compared, with_middle).score(compared, with_middle).sum() >= 1  # itself
    no_middle = prepare(
        pupils.iloc[:20], pupils, {k: v for k, v in roles.items() if v != "middle_names"}
    )
    (left, right), _ = run_blocking("exact:dob", no_middle)
    result = compare(no_middle, left, right, default_comparisons(no_middle))
    assert "middle_names" not in [c.name for c in result.comparisons]
    with pytest.raises(ConfigError, match="middle_names"):
        rule.fit(result, no_middle).score(result, no_middle)


@pytest.mark.parametrize(
    ("make", "known"),
    [
        (lambda: make_blocker("bogus"), BLOCKERS),
        (lambda: make_comparison({"kind": "bogus"}), COMPARISONS),
        (lambda: make_matcher("bogus"), MATCHERS),
        (lambda: make_matcher({"name": "bogus"}), MATCHERS),
        (
            lambda: decide(
                np.array([1]), np.array([0]), np.array([1]), np.array([1.0]), 0.5, "bogus"
            ),
            POLICIES,
        ),
    ],
    ids=["blocker", "comparison", "matcher", "matcher-mapping", "policy"],
)
def test_unknown_names_list_the_known_ones(make, known):
    with pytest.raises(UnknownNameError) as info:
        make()
    assert info.value.given == "bogus"
    assert info.value.known == sorted(known)
    for name in known:
        assert name in str(info.value)


# --- lookups of generated requests -----------------------------------------------------------


@pytest.fixture(scope="module")
def clean_requests(census):
    return generate_requests(
        census, RequestConfig(profile="immigration", count=300, error_scale=0), seed=5
    )


@pytest.fixture(scope="module")
def clean_lookup(census, clean_requests):
    return lookup(census, clean_requests, matcher="deterministic")


def _key(forename, surname, dob, postcode) -> tuple:
    return (
        normalise_name(str(forename)),
        normalise_name(str(surname)),
        pd.Timestamp(dob).date(),
        str(postcode).replace(" ", "").upper(),
    )


def test_every_request_has_exactly_one_outcome(census, clean_requests, clean_lookup):
    for result in (clean_lookup, lookup(census, clean_requests)):  # deterministic, fellegi_sunter
        outcomes = result.outcomes
        ids = clean_requests.table["request_id"].to_pylist()
        assert len(outcomes) == len(ids)
        assert sorted(outcomes["request_id"]) == sorted(ids)
        assert outcomes["outcome"].notna().all()
        assert set(outcomes["outcome"].astype(str)) <= set(OUTCOMES)
        assert sum(result.evaluation.counts.values()) == len(ids)


def test_clean_requests_with_the_deterministic_matcher(census, clean_lookup):
    pupils = census.pupils_frame
    keys = [
        _key(*row)
        for row in pupils[["forename", "surname", "date_of_birth", "postcode"]].itertuples(
            index=False
        )
    ]
    by_id = dict(zip(pupils["pupil_id"], keys, strict=True))
    key_counts = pd.Series(keys).value_counts()
    outcomes = clean_lookup.outcomes
    assert outcomes["in_register"].any() and (~outcomes["in_register"]).any()
    for row in outcomes.itertuples(index=False):
        request = _key(row.forename, row.surname, row.date_of_birth, row.postcode)
        if row.in_register:
            assert by_id[row.true_pupil_id] == request  # no errors were applied
            if key_counts[request] == 1:
                assert row.outcome == "correct_match", row.request_id
            else:  # a look-alike shares name, DOB and postcode: ambiguous, nothing returned
                assert row.outcome == "missed_match" and row.ambiguous
        elif row.outcome == "false_match":
            # Someone not in the register collided with a pupil on every field compared.
            assert all(by_id[int(p)] == request for p in row.returned)
        else:
            assert row.outcome == "correct_non_match", row.request_id


def test_history_addresses_count_each_pupil_once(census, clean_requests):
    history = register_table(census, "history")
    assert history.num_rows > census.pupils.num_rows  # families moved
    result = lookup(census, clean_requests, addresses="history", matcher="deterministic")
    for returned in result.outcomes["returned"]:
        assert len(set(returned)) == len(returned)
    in_register = result.outcomes[result.outcomes["in_register"]]
    assert (in_register["outcome"] == "correct_match").mean() > 0.95


def test_a_prepared_register_gives_the_same_outcomes(census, clean_requests, clean_lookup):
    register = prepare_register(census)
    again = lookup(census, clean_requests, register=register, matcher="deterministic")
    pd.testing.assert_series_equal(
        again.outcomes["outcome"].reset_index(drop=True),
        clean_lookup.outcomes["outcome"].reset_index(drop=True),
    )
    with pytest.raises(ConfigError, match="addresses"):
        register_table(census, "previous")


def test_a_one_call_lookup_scores_as_a_warmed_register_does(census):
    """lookup() without a register prepares one for that call alone, unwarmed (nothing is
    kept for later batches): the same pairs, scores and answers as a warmed register gives."""
    requests = generate_requests(census, RequestConfig(profile="immigration", count=300), seed=5)
    alone = lookup(census, requests)
    warmed = lookup(census, requests, register=prepare_register(census))
    np.testing.assert_array_equal(alone.link.scores, warmed.link.scores)
    pd.testing.assert_frame_equal(alone.outcomes, warmed.outcomes)


def test_lookup_runs_for_a_profile_without_middle_names(census):
    # research_linkage requests never carry middle names: that column is entirely null.
    requests = generate_requests(
        census, RequestConfig(profile="research_linkage", count=50), seed=6
    )
    result = lookup(census, requests, matcher="deterministic")
    assert len(result.outcomes) == 50


def test_a_fitted_matcher_is_reused_across_batches():
    from matchsim.linkage import lookup, prepare_register
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import CensusConfig, generate_census

    census = generate_census(CensusConfig(pupils=20_000), seed=31)
    register = prepare_register(census)
    first = lookup(
        census,
        generate_requests(census, RequestConfig(count=400), seed=1),
        register=register,
        matcher="fellegi_sunter",
    )
    model = first.link.matcher
    m_before = [m.copy() for m in model.m_]
    second = lookup(
        census,
        generate_requests(census, RequestConfig(count=400), seed=2),
        register=register,
        matcher=model,
    )
    assert second.link.matcher is model
    assert all(np.array_equal(a, b) for a, b in zip(m_before, model.m_, strict=True))
    assert sum(second.evaluation.counts.values()) == 400


def test_decision_metrics_score_what_was_returned():
    left = pd.DataFrame({"id": [1], "fn": ["Ann"], "sn": ["Lee"], "dob": ["2010-05-01"]})
    right = pd.DataFrame(
        {
            "id": [7, 8],
            "fn": ["Ann", "Ann"],
            "sn": ["Lee", "Lee"],
            "dob": ["2010-05-01", "2010-05-01"],
        }
    )
    roles = {"id": "id", "fn": "forename", "sn": "surname", "dob": "date_of_birth"}
    truth = pd.DataFrame({"left": [1], "right": [7]})
    result = link_tables(
        left,
        right,
        roles,
        blocking="exact:dob",
        matcher={"name": "deterministic", "address": "none"},
        decision="unique",
        true_links=truth,
    )
    # Both look-alikes clear the bar: the pair metrics count one true pair among two...
    assert result.pair_metrics["precision"] == 0.5 and result.pair_metrics["recall"] == 1.0
    # ...but a "unique" lookup returns nothing, so nothing true was returned.
    assert result.decisions["returned"].tolist() == [[]]
    assert result.decision_metrics["recall"] == 0.0
