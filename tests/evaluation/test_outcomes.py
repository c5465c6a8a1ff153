"""Outcomes, rates and breakdowns of matching decisions, scored against ground truth."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.evaluation import (
    OUTCOMES,
    RATES,
    Evaluation,
    Outcome,
    classify,
    evaluate,
    pair_metrics,
)
from matchsim.evaluation import outcomes as outcomes_module
from matchsim.evaluation import pairs as pairs_module
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

TWIN_A, TWIN_B, OTHER = 101, 102, 555  # TWIN_A and TWIN_B share name, DOB and address


def outcome_list(returned: list, true: list) -> list[str]:
    return classify(pd.Series(returned, dtype=object), pd.Series(true, dtype="Int64")).tolist()


def frames(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(returned, ambiguous, true id) per request -> decisions, truth (request ids from 1)."""
    ids = list(range(1, len(rows) + 1))
    decisions = pd.DataFrame(
        {
            "request_id": ids,
            "returned": pd.Series([r[0] for r in rows], dtype=object),
            "ambiguous": [r[1] for r in rows],
        }
    )
    truth = pd.DataFrame(
        {"request_id": ids, "true_pupil_id": pd.array([r[2] for r in rows], dtype="Int64")}
    )
    return decisions, truth


def reference_outcome(returned: list[int], true: int | None) -> str:
    """The definitions, spelled out one request at a time."""
    if not returned:
        return "missed_match" if true is not None else "correct_non_match"
    if true is not None and set(returned) == {true}:
        return "correct_match"
    return "false_match"


# --- the four outcomes, by hand ---------------------------------------------------------------


def test_outcome_names_and_order():
    assert [o.value for o in Outcome] == list(OUTCOMES)
    assert OUTCOMES == ("correct_match", "false_match", "missed_match", "correct_non_match")
    assert Outcome.FALSE_MATCH == "false_match"


@pytest.mark.parametrize(
    ("returned", "true", "expected"),
    [
        pytest.param([TWIN_A], TWIN_A, "correct_match", id="only the true child"),
        pytest.param([TWIN_A, TWIN_A], TWIN_A, "correct_match", id="true child twice"),
        pytest.param([TWIN_B], TWIN_A, "false_match", id="twin instead of the child"),
        pytest.param([TWIN_A, TWIN_B], TWIN_A, "false_match", id="child and twin"),
        pytest.param([OTHER], None, "false_match", id="someone for a person not registered"),
        pytest.param([], TWIN_A, "missed_match", id="nothing for a registered child"),
        pytest.param([], None, "correct_non_match", id="nothing for a person not registered"),
    ],
)
def test_each_outcome_by_hand(returned, true, expected):
    assert outcome_list([returned], [true]) == [expected]


def test_classify_returns_an_ordered_set_of_categories_on_the_input_index():
    index = pd.Index([30, 10, 20], name="request_id")
    result = classify(
        pd.Series([[1], [], [3]], index=index, dtype=object),
        pd.Series([1, 2, None], index=index, dtype="Int64"),
    )
    assert result.index.equals(index)
    assert result.name == "outcome"
    assert list(result.cat.categories) == list(OUTCOMES)
    assert result.tolist() == ["correct_match", "missed_match", "false_match"]


def test_classify_accepts_arrays_none_arrow_lists_and_float_ids():
    true = pd.Series([1.0, np.nan, 3.0])  # how pyarrow's nullable ints arrive in pandas
    as_arrays = pd.Series([np.array([1], dtype=np.int32), None, np.array([], dtype=np.int64)])
    as_arrow = pd.Series([[1], None, []], dtype=pd.ArrowDtype(pa.list_(pa.int64())))
    expected = ["correct_match", "correct_non_match", "missed_match"]
    assert classify(as_arrays, true).tolist() == expected
    assert classify(as_arrow, true).tolist() == expected


def test_classify_handles_no_requests_and_nothing_returned():
    assert classify(pd.Series([], dtype=object), pd.Series([], dtype="Int64")).tolist() == []
    assert outcome_list([[], []], [1, None]) == ["missed_match", "correct_non_match"]


@pytest.mark.parametrize(
    ("returned", "true", "field"),
    [
        ([[1.5]], [1], "returned"),
        ([["a"]], [1], "returned"),
        ([[None]], [1], "returned"),
        ([[True]], [1], "returned"),
        ([3], [1], "returned"),
        ([[1]], ["1"], "true_id"),
        ([[1]], [1.5], "true_id"),
    ],
)
def test_classify_rejects_values_that_are_not_ids(returned, true, field):
    with pytest.raises(ConfigError, match=rf"^{field}: "):
        classify(pd.Series(returned, dtype=object), pd.Series(true))


def test_classify_needs_aligned_series():
    with pytest.raises(ConfigError, match=r"^true_id: must have the same index"):
        classify(pd.Series([[1]], index=[5]), pd.Series([1], index=[6], dtype="Int64"))
    with pytest.raises(ConfigError, match=r"^returned: must be a pandas Series"):
        classify([[1]], pd.Series([1], dtype="Int64"))


# --- properties ---------------------------------------------------------------------------------

# A small id space makes collisions (the interesting cases) common.
ids = st.integers(0, 6)
requests = st.lists(
    st.tuples(st.lists(ids, max_size=4), st.one_of(st.none(), ids), st.booleans()),
    max_size=40,
)


@given(requests)
def test_every_request_gets_exactly_the_defined_outcome(rows):
    result = classify(
        pd.Series([r[0] for r in rows], dtype=object),
        pd.Series([r[1] for r in rows], dtype="Int64"),
    )
    assert len(result) == len(rows)
    assert result.notna().all()
    assert result.tolist() == [reference_outcome(r[0], r[1]) for r in rows]


@given(requests, st.randoms(use_true_random=False))
def test_classify_ignores_order_and_duplicates_of_returned_ids(rows, random):
    true = pd.Series([r[1] for r in rows], dtype="Int64")
    original = classify(pd.Series([r[0] for r in rows], dtype=object), true)
    shuffled = []
    for returned, _, _ in rows:
        doubled = returned + random.sample(returned, k=random.randint(0, len(returned)))
        random.shuffle(doubled)
        shuffled.append(doubled)
    assert classify(pd.Series(shuffled, dtype=object), true).tolist() == original.tolist()


@settings(max_examples=60, deadline=None)
@given(requests, st.sampled_from([0.8, 0.95, 0.99]))
def test_counts_and_rates_are_consistent(rows, confidence):
    rows = [(r[0], r[2], r[1]) for r in rows]  # frames() takes (returned, ambiguous, true)
    decisions, truth = frames(rows)
    result = evaluate(decisions, truth, breakdowns=(), confidence=confidence)

    assert sum(result.counts.values()) == len(rows)
    assert list(result.counts) == list(OUTCOMES)
    assert result.per_request["outcome"].value_counts().to_dict() == result.counts
    in_register = sum(r[2] is not None for r in rows)
    for name, rate in result.rates.items():
        assert 0 <= rate.numerator <= rate.denominator, name
        if rate.denominator:
            assert rate.value == pytest.approx(rate.numerator / rate.denominator)
            assert rate.low <= rate.value <= rate.high, name
        else:
            assert np.isnan(rate.value) and (rate.low, rate.high) == (0.0, 1.0)
    assert result.rates["correct_match_rate"].denominator == in_register
    # In the register a request is correct, missed or false; outside it, non-match or false.
    r = {name: rate.numerator for name, rate in result.rates.items()}
    assert (
        r["correct_match_rate"] + r["missed_match_rate"] + r["false_match_rate_in_register"]
        == in_register
    )
    assert r["correct_non_match_rate"] + r["false_match_rate_not_in_register"] == len(rows) - (
        in_register
    )


# --- evaluate -----------------------------------------------------------------------------------


def test_evaluate_scores_twins_and_strangers():
    decisions, truth = frames(
        [
            ([TWIN_A], False, TWIN_A),  # correct
            ([TWIN_B], False, TWIN_A),  # the twin instead of the child
            ([TWIN_A, TWIN_B], True, TWIN_A),  # both twins, flagged ambiguous
            ([OTHER], False, None),  # someone returned for a person not registered
            ([], False, TWIN_B),  # missed
            ([], False, None),  # correct non-match
        ]
    )
    result = evaluate(decisions, truth, breakdowns=())

    assert isinstance(result, Evaluation)
    assert result.per_request["outcome"].tolist() == [
        "correct_match",
        "false_match",
        "false_match",
        "false_match",
        "missed_match",
        "correct_non_match",
    ]
    assert result.per_request["returned_count"].tolist() == [1, 1, 2, 1, 0, 0]
    assert result.per_request["in_register"].tolist() == [True] * 3 + [False, True, False]
    assert result.counts == {
        "correct_match": 1,
        "false_match": 3,
        "missed_match": 1,
        "correct_non_match": 1,
    }
    rates = result.rates
    assert (rates["false_match_rate"].numerator, rates["false_match_rate"].denominator) == (3, 6)
    assert rates["missed_match_rate"].value == pytest.approx(1 / 4)
    assert rates["correct_match_rate"].value == pytest.approx(1 / 4)
    assert rates["false_match_rate_not_in_register"].value == pytest.approx(1 / 2)
    assert rates["false_match_share_of_returned"].value == pytest.approx(3 / 4)
    assert rates["returned_rate"].value == pytest.approx(4 / 6)
    assert rates["ambiguous_rate"].value == pytest.approx(1 / 6)
    assert set(RATES) == set(rates)


def test_per_request_follows_truth_order_whatever_the_decision_order():
    decisions, truth = frames([([1], False, 1), ([], False, 2), ([9], True, None)])
    shuffled = decisions.iloc[[2, 0, 1]].reset_index(drop=True)
    result = evaluate(shuffled, truth, breakdowns=())
    assert result.per_request["request_id"].tolist() == [1, 2, 3]
    assert result.per_request["outcome"].tolist() == [
        "correct_match",
        "missed_match",
        "false_match",
    ]
    assert result.per_request["ambiguous"].tolist() == [False, False, True]


def test_error_types_groups_overlap():
    decisions, truth = frames(
        [
            ([1], False, 1),  # no errors: correct
            ([9], False, 2),  # forename typo and stale address: false
            ([], False, 3),  # typo in both names: missed
            ([4], False, 4),  # address error recorded against two fields: correct
        ]
    )
    truth["errors_forename"] = ["", "forename_typo", "name_typo", ""]
    truth["errors_surname"] = ["", "", "name_typo", None]
    truth["errors_address"] = ["", "address_stale", "", "address_stale"]
    truth["errors_postcode"] = ["", "", "", "address_stale"]
    result = evaluate(decisions, truth, breakdowns=["error_types"])

    groups = result.breakdown.set_index("group")
    assert (result.breakdown["group_by"] == "error_types").all()
    assert list(groups.index) == ["none", "address_stale", "forename_typo", "name_typo"]
    # Request 2 is in two groups; requests 3 and 4 count once despite two fields each.
    assert groups["requests"].to_dict() == {
        "none": 1,
        "address_stale": 2,
        "forename_typo": 1,
        "name_typo": 1,
    }
    assert groups["requests"].sum() > len(truth)
    assert groups.loc["address_stale", "false_match_rate"] == pytest.approx(1 / 2)
    assert groups.loc["name_typo", "missed_match_rate"] == 1.0
    assert result.per_request["error_types"].tolist() == [
        "",
        "address_stale;forename_typo",
        "name_typo",
        "address_stale",
    ]


def test_ordinary_breakdowns_label_groups_as_strings():
    decisions, truth = frames([([1], False, 1), ([2], False, 3), ([], False, None)])
    truth["sex"] = ["F", None, "F"]
    truth["true_is_twin"] = [False, True, False]
    result = evaluate(decisions, truth, breakdowns=("sex", "true_is_twin", "in_register"))

    table = result.breakdown.set_index(["group_by", "group"])
    assert table["requests"].to_dict() == {
        ("sex", "F"): 2,
        ("sex", "<NA>"): 1,
        ("true_is_twin", "False"): 2,
        ("true_is_twin", "True"): 1,
        ("in_register", "False"): 1,
        ("in_register", "True"): 2,
    }
    assert table.loc[("true_is_twin", "True"), "false_match_rate"] == 1.0
    # No unregistered twin: the rate is undefined and its interval is all of [0, 1].
    twin = table.loc[("true_is_twin", "True")]
    assert np.isnan(twin["correct_non_match_rate"])
    assert (twin["correct_non_match_rate_low"], twin["correct_non_match_rate_high"]) == (0, 1)
    for name in RATES:
        defined = table[name].notna()
        assert (table.loc[defined, f"{name}_low"] <= table.loc[defined, name]).all()
        assert (table.loc[defined, name] <= table.loc[defined, f"{name}_high"]).all()
    assert {"sex", "true_is_twin"} <= set(result.per_request.columns)


def test_as_dict_is_plain_json_and_summary_table_lists_every_rate():
    decisions, truth = frames([([1], False, 1), ([], True, 2)])
    truth["sex"] = ["M", "F"]
    result = evaluate(decisions, truth, breakdowns=["sex"])

    data = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    assert data["requests"] == 2 and data["in_register"] == 2
    assert data["counts"]["missed_match"] == 1
    assert data["rates"]["false_match_rate_not_in_register"]["value"] is None  # 0 / 0
    assert data["rates"]["missed_match_rate"] == {
        "value": 0.5,
        "low": pytest.approx(result.rates["missed_match_rate"].low),
        "high": pytest.approx(result.rates["missed_match_rate"].high),
        "numerator": 1,
        "denominator": 2,
    }
    assert data["breakdown"]["sex"]["F"]["rates"]["missed_match_rate"]["value"] == 1.0

    table = result.summary_table()
    assert list(table.index) == list(RATES)
    assert list(table.columns) == [
        "description",
        "numerator",
        "denominator",
        "value",
        "low",
        "high",
    ]


def test_evaluate_scores_a_generated_request_set():
    """Truth straight from matchsim.requests works as is, with every default breakdown."""
    census = generate_census(CensusConfig(pupils=3_000), seed=3)
    truth = generate_requests(census, RequestConfig(count=300), seed=4).table.to_pandas()
    registered = truth["true_pupil_id"].notna()
    decisions = pd.DataFrame(
        {
            "request_id": truth["request_id"],
            # A lookup that finds every registered child, plus pupil 1 for every third request.
            "returned": [
                ([int(t)] if ok else []) + ([1] if i % 3 == 0 else [])
                for i, (t, ok) in enumerate(zip(truth["true_pupil_id"], registered, strict=True))
            ],
            "ambiguous": False,
        }
    )
    result = evaluate(decisions, truth)

    assert set(result.breakdown["group_by"]) == {
        "true_name_origin",
        "sex",
        "true_is_twin",
        "error_types",
    }
    expected = [
        reference_outcome(r, None if pd.isna(t) else int(t))
        for r, t in zip(decisions["returned"], truth["true_pupil_id"], strict=True)
    ]
    assert result.per_request["outcome"].tolist() == expected
    assert result.counts["missed_match"] == 0
    errors = result.breakdown[result.breakdown["group_by"] == "error_types"]
    assert (
        errors.loc[errors["group"] == "none", "requests"].item() == (truth["n_errors"] == 0).sum()
    )
    for group_by, table in result.breakdown.groupby("group_by"):
        if group_by != "error_types":
            assert table["requests"].sum() == len(truth)


# --- bad input ----------------------------------------------------------------------------------


def test_missing_request_ids_are_named():
    decisions, truth = frames([([1], False, 1)] * 8)
    with pytest.raises(
        ConfigError, match=r"^decisions: no decision for 7 .* 2, 3, 4, 5, 6, \.\.\."
    ):
        evaluate(decisions.iloc[:1], truth, breakdowns=())
    with pytest.raises(ConfigError, match=r"^truth: no ground truth for 2 .*request_id 7, 8$"):
        evaluate(decisions, truth.iloc[:6], breakdowns=())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d, t: (d.drop(columns="ambiguous"), t),
            r"^decisions: missing column\(s\) ambiguous",
        ),
        (
            lambda d, t: (d, t.drop(columns="true_pupil_id")),
            r"^truth: missing column\(s\) true_pup",
        ),
        (lambda d, t: (d.assign(request_id=[1, 1]), t), r"^decisions: request_id must be unique"),
        (lambda d, t: (d.assign(ambiguous=["yes", "no"]), t), r"^ambiguous: must hold True/False"),
        (lambda d, t: (d.assign(ambiguous=[True, None]), t), r"^ambiguous: must not be missing"),
        (lambda d, t: (d, t.assign(in_register=[True, True])), r"^truth: in_register disagrees"),
        (lambda d, t: (d.to_dict(), t), r"^decisions: must be a pandas DataFrame"),
    ],
)
def test_malformed_frames_are_config_errors(change, message):
    decisions, truth = change(*frames([([1], False, 1), ([], False, None)]))
    with pytest.raises(ConfigError, match=message):
        evaluate(decisions, truth, breakdowns=())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"breakdowns": ["postcode"]}, r"^breakdowns: unknown column 'postcode'"),
        ({"breakdowns": ["error_types"]}, r"^breakdowns: 'error_types' needs columns"),
        ({"breakdowns": ["sex", "sex"]}, r"^breakdowns: listed more than once: sex"),
        ({"confidence": 95}, r"^confidence: "),
    ],
)
def test_bad_options_are_config_errors(kwargs, message):
    decisions, truth = frames([([1], False, 1)])
    truth["sex"] = ["F"]
    with pytest.raises(ConfigError, match=message):
        evaluate(decisions, truth, **kwargs)


# --- pair metrics -------------------------------------------------------------------------------


def pairs(*links: tuple[int, int]) -> pd.DataFrame:
    return pd.DataFrame(list(links), columns=["left_id", "right_id"], dtype="int64")


def test_pair_metrics_by_hand():
    predicted = pairs((1, 10), (2, 20), (3, 99), (1, 10))  # the repeat counts once
    true = pairs((1, 10), (2, 20), (3, 30), (4, 40))
    m = pair_metrics(predicted, true)
    assert (m["true_positives"], m["false_positives"], m["false_negatives"]) == (2, 1, 2)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(4 / 7)


@pytest.mark.parametrize(
    ("predicted", "true", "expected"),
    [
        (pairs(), pairs(), 1.0),
        (pairs(), pairs((1, 1)), 0.0),
        (pairs((1, 1)), pairs(), 0.0),
    ],
)
def test_pair_metrics_empty_set_conventions(predicted, true, expected):
    m = pair_metrics(predicted, true)
    assert (m["precision"], m["recall"], m["f1"]) == (expected, expected, expected)


def test_pair_metrics_needs_both_id_columns():
    with pytest.raises(ConfigError, match=r"^predicted: missing column\(s\) right_id"):
        pair_metrics(pd.DataFrame({"left_id": [1]}), pairs())
    with pytest.raises(ConfigError, match=r"^true_pairs: left_id and right_id must not be"):
        pair_metrics(pairs(), pd.DataFrame({"left_id": [1], "right_id": [None]}))


def test_docstring_examples_run():
    assert doctest.testmod(outcomes_module).failed == 0
    assert doctest.testmod(pairs_module).failed == 0


def test_error_type_labels_with_more_types_than_fit_in_one_word():
    types = [f"type_{i:03d}" for i in range(70)]
    decisions, truth = frames([([1], False, 1)] * 3)
    truth["errors_forename"] = [";".join(types[:40]), "type_069", ""]
    truth["errors_surname"] = [";".join(types[40:]), "type_000", ""]
    result = evaluate(decisions, truth, breakdowns=["error_types"])
    assert result.per_request["error_types"].tolist() == [
        ";".join(types),
        "type_000;type_069",
        "",
    ]
    groups = result.breakdown.set_index("group")["requests"]
    assert groups["none"] == 1 and groups["type_000"] == 2 and groups["type_050"] == 1


def test_evaluate_with_no_requests():
    decisions, truth = frames([])
    truth["sex"] = pd.Series([], dtype=str)
    result = evaluate(decisions, truth, breakdowns=["sex"])
    assert result.counts == dict.fromkeys(OUTCOMES, 0)
    assert result.breakdown.empty
    assert np.isnan(result.rates["false_match_rate"].value)
    assert json.loads(json.dumps(result.as_dict(), allow_nan=False))["requests"] == 0
