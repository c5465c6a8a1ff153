"""Requests with ground truth: profiles, look-alikes, errors and their bookkeeping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from matchsim.errors import ConfigError
from matchsim.requests import ERROR_TYPES, PROFILES, RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

CLEAN = dict.fromkeys(ERROR_TYPES, 0.0)


@pytest.fixture(scope="module")
def small_census():
    return generate_census(CensusConfig(pupils=40_000), seed=21)


def frame(request_set) -> pd.DataFrame:
    return request_set.table.to_pandas()


def test_request_fields_follow_the_mou(small_census):
    result = frame(
        generate_requests(small_census, RequestConfig(profile="immigration", count=300), seed=1)
    )
    for column in (
        "case_id",
        "forename",
        "middle_names",
        "surname",
        "sex",
        "date_of_birth",
        "address_line",
        "postcode",
        "nationality",
        "true_pupil_id",
        "in_register",
    ):
        assert column in result.columns
    assert result["case_id"].str.fullmatch(r"HO-\d{7}").all()
    assert result["request_id"].tolist() == list(range(1, 301))
    assert len(result) == 300
    assert result["in_register"].sum() == 75  # 25% of 300


def test_error_free_request_equals_its_pupils_record(small_census):
    config = RequestConfig(
        count=500, in_register_share=1.0, errors=CLEAN, known={"middle_names": 1, "sex": 1}
    )
    requests = frame(generate_requests(small_census, config, seed=2))
    pupils = small_census.pupils_frame.set_index("pupil_id")
    truth = pupils.loc[requests["true_pupil_id"]]
    for column in ("forename", "middle_names", "surname", "address_line", "postcode", "town"):
        assert (requests[column].to_numpy() == truth[column].astype(str).to_numpy()).all(), column
    assert (requests["date_of_birth"].to_numpy() == truth["date_of_birth"].to_numpy()).all()
    assert (requests["sex"].to_numpy() == truth["sex"].astype(str).to_numpy()).all()
    assert (requests["n_errors"] == 0).all()


def test_requests_without_recorded_errors_match_the_register(small_census):
    """With the default error model, any in-register request that records no error is exact."""
    requests = frame(
        generate_requests(small_census, RequestConfig(count=3000, in_register_share=1.0), seed=3)
    )
    clean = requests[(requests["n_errors"] == 0)]
    assert len(clean) > 100
    truth = small_census.pupils_frame.set_index("pupil_id").loc[clean["true_pupil_id"]]
    for column in ("forename", "surname", "address_line", "postcode"):
        assert (clean[column].to_numpy() == truth[column].astype(str).to_numpy()).all(), column
    assert (clean["date_of_birth"].to_numpy() == truth["date_of_birth"].to_numpy()).all()


def test_people_outside_the_register_are_lookalikes(small_census):
    requests = frame(
        generate_requests(small_census, RequestConfig(count=4000, in_register_share=0.0), seed=4)
    )
    assert requests["true_pupil_id"].isna().all()
    pupils = small_census.pupils_frame
    # Same name vocabularies and the same birth window as the register.
    shared_surnames = set(requests["surname"]) & set(pupils["surname"].astype(str))
    assert len(shared_surnames) > 200
    exact_dob = requests["errors_date_of_birth"] == ""
    dob = pd.to_datetime(requests.loc[exact_dob, "date_of_birth"])
    assert dob.min() >= pd.Timestamp("2004-09-01") and dob.max() <= pd.Timestamp("2019-08-31")
    # Even a mistyped date of birth is never after the day of the request.
    assert pd.to_datetime(requests["date_of_birth"].dropna()).max() <= pd.Timestamp("2024-01-18")
    # They live in the same streets: some share a postcode district with register pupils.
    districts = set(pupils["postcode"].str.split(" ").str[0])
    share = requests["postcode"].str.split(" ").str[0].isin(districts).mean()
    assert share > 0.8


def test_same_seed_same_requests(small_census):
    config = RequestConfig(count=400)
    a = generate_requests(small_census, config, seed=7).table
    b = generate_requests(small_census, config, seed=7).table
    c = generate_requests(small_census, config, seed=8).table
    assert a.equals(b)
    assert not a.equals(c)


def test_benefit_fraud_profile_defaults(small_census):
    requests = frame(
        generate_requests(small_census, RequestConfig(profile="benefit_fraud"), seed=1)
    )
    assert len(requests) == 185
    assert requests["in_register"].sum() == 1
    assert "nationality" not in requests.columns
    assert requests["case_id"].str.startswith("DWP-").all()


def test_research_linkage_profile_is_mostly_in_register(small_census):
    requests = frame(
        generate_requests(
            small_census, RequestConfig(profile="research_linkage", count=2000), seed=1
        )
    )
    assert requests["in_register"].mean() == pytest.approx(0.97, abs=0.001)
    assert requests["middle_names"].isna().all()  # hospital records hold no middle names


def test_police_cohort_selects_one_school(register):
    config = RequestConfig(
        profile="police_cohort",
        options={"dob_years": (1995, 1997), "attendance_years": (2008, 2010)},
    )
    requests = frame(generate_requests(register, config, seed=1))
    assert len(requests) > 20
    assert requests["in_register"].all()
    pupils = register.pupils_frame.set_index("pupil_id").loc[requests["true_pupil_id"]]
    assert pupils["school_id"].nunique() == 1
    born = pd.to_datetime(pupils["date_of_birth"]).dt.year
    entry = pd.to_datetime(pupils["entry_date"]).dt.year
    leaving = pd.to_datetime(pupils["leaving_date"]).dt.year.fillna(9999)
    assert (born.between(1995, 1997) | ((entry + 7 <= 2010) & (leaving >= 2008))).all()
    assert {"entry_date", "leaving_date"} <= set(requests.columns)


def test_police_cohort_on_a_census_without_those_years_is_refused(small_census):
    with pytest.raises(ConfigError, match="birth-years"):
        generate_requests(small_census, RequestConfig(profile="police_cohort"), seed=1)


@pytest.mark.parametrize("years", [1995, "1995-1997", [1995, 1996, 1997]])
def test_police_cohort_years_must_be_a_pair(small_census, years):
    config = RequestConfig(profile="police_cohort", options={"dob_years": years})
    with pytest.raises(ConfigError, match="dob_years must be a pair of years"):
        generate_requests(small_census, config, seed=1)


def test_more_register_people_than_exist_is_refused(small_census):
    with pytest.raises(ConfigError, match="holds only"):
        generate_requests(small_census, RequestConfig(count=50_000, in_register_share=1.0), seed=1)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"errors": {"dob_swap": 0.1}}, "unknown error type 'dob_swap'"),
        ({"errors": {"dob_day_month_swap": 1.5}}, "less than or equal to 1"),
        ({"errors": {"sex_wrong": -0.1}}, "greater than or equal to 0"),
        ({"profile": "mi5"}, "unknown profile 'mi5'"),
        ({"count": 0}, "greater than or equal to 1"),
        ({"in_register_share": 2}, "less than or equal to 1"),
        ({"error_multipliers": {"nope": {"*": 1.0}}}, "unknown error type 'nope'"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_invalid_request_settings_are_clear(settings, message):
    with pytest.raises(ValidationError, match=message):
        RequestConfig.model_validate(settings)


def test_unknown_profile_option_is_refused(small_census):
    with pytest.raises(ConfigError, match="not known to profile"):
        generate_requests(small_census, RequestConfig(options={"school_id": 3}), seed=1)


def test_every_profile_is_registered_with_a_source():
    assert set(PROFILES) == {"immigration", "benefit_fraud", "police_cohort", "research_linkage"}
    for profile in PROFILES.values():
        assert profile.source and profile.description
        assert set(profile.errors) == set(ERROR_TYPES)


def test_transliteration_multiplier_confines_it_to_romanised_origins(small_census):
    config = RequestConfig(count=6000, errors={**CLEAN, "forename_transliteration": 1.0})
    requests = frame(generate_requests(small_census, config, seed=5))
    hit = requests["errors_forename"].str.contains("forename_transliteration")
    assert hit.any()
    assert set(requests.loc[hit, "true_name_origin"]) <= {
        "pakistani",
        "bangladeshi",
        "arabic",
        "somali",
        "punjabi_sikh",
        "indian",
    }


def test_error_scale_zero_gives_clean_requests(small_census):
    requests = frame(
        generate_requests(small_census, RequestConfig(count=500, error_scale=0.0), seed=1)
    )
    assert (requests["n_errors"] == 0).all()
    assert (requests.filter(like="errors_") == "").all().all()


def test_write_parquet_and_csv(small_census, tmp_path):
    request_set = generate_requests(small_census, RequestConfig(count=100), seed=1)
    request_set.write(tmp_path / "r.parquet")
    request_set.write(tmp_path / "r.csv")
    parquet = pd.read_parquet(tmp_path / "r.parquet")
    csv = pd.read_csv(tmp_path / "r.csv", keep_default_na=False)
    assert len(parquet) == len(csv) == 100
    assert list(parquet.columns) == list(csv.columns)
    assert np.array_equal(parquet["request_id"], csv["request_id"])
