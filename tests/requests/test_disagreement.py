"""Realised request/register disagreement: the measure itself on known inputs, the new
surname_change error type, and the research_linkage profile against its published targets."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from matchsim.errors import ConfigError
from matchsim.requests import RequestConfig, generate_requests
from matchsim.requests.disagreement import RESEARCH_LINKAGE_TARGETS, field_disagreement
from matchsim.synth import CensusConfig, generate_census


def _pupils() -> pa.Table:
    return pa.table(
        {
            "pupil_id": [3, 1, 2],
            "forename": ["Amy", "Bob", "Cat"],
            "surname": ["Smith", "Jones", "Khan"],
            "sex": ["F", "M", "F"],
            "date_of_birth": pa.array([dt.date(2010, 1, 2)] * 3),
            "postcode": ["AB1 2CD", "EF3 4GH", "JK5 6LM"],
        }
    )


def test_disagreement_on_known_rows() -> None:
    requests = pa.table(
        {
            "true_pupil_id": pa.array([1, 2, 3, None], pa.int64()),
            "in_register": [True, True, True, False],
            "forename": ["bob ", "Kat", "Amy", "Zed"],
            "surname": ["Jones", "Khan", "Smith-Lee", "Zed"],
            "sex": pa.array(["M", None, "M", "F"]),
            "date_of_birth": pa.array([dt.date(2010, 1, 2), None, dt.date(2010, 1, 2), None]),
            "postcode": pa.array(["EF34GH", None, "AB1 2CE", "X"]),
        }
    )
    got = field_disagreement(requests, _pupils())
    # Case and spaces do not count; a missing postcode does, a missing sex or DOB does not.
    assert got["forename"] == pytest.approx(1 / 3)
    assert got["surname"] == pytest.approx(1 / 3)
    assert got["postcode"] == pytest.approx(2 / 3)
    assert got["sex"] == pytest.approx(1 / 3)
    assert got["sex_or_dob"] == pytest.approx(1 / 3)


def test_disagreement_refuses_foreign_pupils() -> None:
    requests = pa.table(
        {"true_pupil_id": pa.array([99], pa.int64()), "in_register": [True], "forename": ["A"]}
    )
    with pytest.raises(ConfigError, match="not in this register"):
        field_disagreement(requests, _pupils())


@pytest.fixture(scope="module")
def register():
    return generate_census(CensusConfig(pupils=200_000, birth_years=(1992, 2019)), seed=3)


def test_surname_change_replaces_the_surname_and_is_recorded(register) -> None:
    # Only surname_change: every other type of the profile set to 0.
    profile_errors = RequestConfig(profile="research_linkage").resolve()[1].errors
    config = RequestConfig(
        profile="research_linkage",
        count=2_000,
        errors=dict.fromkeys(profile_errors, 0.0) | {"surname_change": 1.0},
    )
    requests = generate_requests(register, config, seed=1).table
    got = field_disagreement(requests, register.pupils)
    assert got["surname"] > 0.95
    assert got["forename"] == 0.0 and got["postcode"] == 0.0
    labels = requests["errors_surname"].to_pylist()
    assert sum(label == "surname_change" for label in labels) / len(labels) > 0.95
    hyphenated = sum("-" in s for s in requests["surname"].to_pylist()) / requests.num_rows
    assert 0.15 < hyphenated < 0.4  # about a quarter double-barrel the old and new names


@pytest.mark.parametrize("seed", [5, 6])
def test_research_linkage_meets_published_disagreement(register, seed: int) -> None:
    requests = generate_requests(
        register, RequestConfig(profile="research_linkage", count=40_000), seed=seed
    )
    got = field_disagreement(requests.table, register.pupils)
    for key, target in RESEARCH_LINKAGE_TARGETS.items():
        assert abs(got[key] - target.value) <= target.tolerance, (key, got[key], target)
