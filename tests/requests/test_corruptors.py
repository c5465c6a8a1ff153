"""Each error type does what it says, and only where it can; rates come out as configured."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.dates import date_to_days, year_month_day
from matchsim.requests import ERROR_TYPES, RequestConfig, error_type, generate_requests
from matchsim.requests.draft import RequestDraft
from matchsim.requests.edits import (
    keyboard_typo,
    nicknames_of,
    postcode_typo,
    strip_accents,
    transliteration_variants,
)
from matchsim.synth import CensusConfig, generate_census

CLEAN = dict.fromkeys(ERROR_TYPES, 0.0)
FIELD_COLUMNS = {
    "forename": ["forename"],
    "middle_names": ["middle_names"],
    "surname": ["surname"],
    "date_of_birth": ["date_of_birth"],
    "sex": ["sex"],
    "address": ["address_line", "town", "postcode"],
    "postcode": ["postcode"],
}


@pytest.fixture(scope="module")
def census():
    return generate_census(CensusConfig(pupils=30_000), seed=8)


def _only(name: str, p: float = 1.0, count: int = 3000, census=None, seed: int = 1) -> pd.DataFrame:
    config = RequestConfig(
        count=count,
        in_register_share=1.0,
        errors={**CLEAN, name: p},
        known={"middle_names": 1, "sex": 1},
        error_multipliers={name: {"*": 1.0}},
    )
    return generate_requests(census, config, seed=seed).table.to_pandas()


@pytest.mark.parametrize("name", list(ERROR_TYPES))
def test_each_error_type_changes_only_its_fields_where_recorded(census, name):
    requests = _only(name, census=census)
    truth = census.pupils_frame.set_index("pupil_id").loc[requests["true_pupil_id"]].reset_index()
    et = ERROR_TYPES[name]
    recorded = requests[f"errors_{et.fields[0]}"].str.contains(name, regex=False).to_numpy()
    assert recorded.any(), f"{name} never applied at probability 1"
    changed = np.zeros(len(requests), dtype=bool)
    for fld in et.fields:
        for column in FIELD_COLUMNS[fld]:
            got = requests[column].astype(object).where(requests[column].notna(), None)
            want = truth[column].astype(object)
            if column == "sex":
                want = want.astype(str)
            changed |= got.to_numpy() != want.to_numpy()
    # Recorded rows changed; unrecorded rows are untouched (every field, not only this one).
    assert changed[recorded].all(), name
    untouched = ~recorded
    for column in ("forename", "surname", "address_line", "postcode"):
        assert (
            requests.loc[untouched, column].to_numpy()
            == truth.loc[untouched, column].astype(str).to_numpy()
        ).all()
    assert (requests.loc[untouched, "n_errors"] == 0).all()


_ALWAYS_APPLICABLE = [
    "forename_typo",
    "surname_typo",
    "dob_missing",
    "dob_year_off_by_one",
    "sex_wrong",
    "sex_missing",
    "address_unrelated",
    "postcode_typo",
    "dob_digit_typo",
]


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(_ALWAYS_APPLICABLE), st.floats(0.02, 0.6), st.integers(0, 1000))
def test_realised_rates_match_configured_ones(census, name, p, seed):
    requests = _only(name, p=p, count=2500, census=census, seed=seed)
    field = ERROR_TYPES[name].fields[0]
    realised = requests[f"errors_{field}"].str.contains(name, regex=False).mean()
    sigma = np.sqrt(p * (1 - p) / len(requests))
    # dob_digit_typo gives up on the rare draws that cannot make a valid past date
    assert abs(realised - p) < 5 * sigma + (0.01 if name == "dob_digit_typo" else 0.0)


def test_rates_scale_with_origin_multipliers(census):
    config = RequestConfig(
        count=4000,
        in_register_share=1.0,
        errors={**CLEAN, "sex_wrong": 0.1},
        error_multipliers={"sex_wrong": {"british": 0.0, "*": 5.0}},
    )
    requests = generate_requests(census, config, seed=2).table.to_pandas()
    hit = requests["errors_sex"] == "sex_wrong"
    british = requests["true_name_origin"] == "british"
    assert not hit[british].any()
    assert hit[~british].mean() == pytest.approx(0.5, abs=0.06)


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2023, 12, 31)))
def test_day_month_swap_is_valid_and_only_where_it_can_be(day):
    draft = _draft_with_dob(day)
    applied = ERROR_TYPES["dob_day_month_swap"].apply(
        draft, np.array([0]), np.random.default_rng(0)
    )
    y, m, d = (int(x[0]) for x in year_month_day(draft.dob))
    dt.date(y, m, d)  # always a real date
    if day.day <= 12 and day.day != day.month:
        assert applied[0] and (m, d) == (day.day, day.month)
    else:
        assert not applied[0] and (y, m, d) == (day.year, day.month, day.day)


@given(
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2023, 12, 31)), st.integers(0, 2**31)
)
def test_dob_digit_typo_gives_a_real_past_date_one_digit_away(day, seed):
    draft = _draft_with_dob(day, request_day=date_to_days(dt.date(2024, 1, 18)))
    applied = ERROR_TYPES["dob_digit_typo"].apply(draft, np.array([0]), np.random.default_rng(seed))
    y, m, d = (int(x[0]) for x in year_month_day(draft.dob))
    new = dt.date(y, m, d)
    if applied[0]:
        assert new <= dt.date(2024, 1, 18)
        before, after = day.strftime("%d%m%Y"), new.strftime("%d%m%Y")
        assert sum(a != b for a, b in zip(before, after, strict=True)) == 1
    else:
        assert new == day


def _draft_with_dob(day: dt.date, request_day: int = 2**40) -> RequestDraft:
    one = np.array(["x"], dtype=object)
    return RequestDraft(
        forename=one.copy(),
        middle_names=one.copy(),
        surname=one.copy(),
        dob=np.array([date_to_days(day)]),
        dob_missing=np.array([False]),
        sex=np.array([0], dtype=np.int8),
        address_line=one.copy(),
        town=one.copy(),
        postcode=one.copy(),
        origin=one.copy(),
        household=np.array([0]),
        address_seq=np.array([0]),
        context=None,  # type: ignore[arg-type]
        request_day=request_day,
    )


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12), st.integers(0, 2**31)
)
def test_keyboard_typo_is_one_keystroke(name, seed):
    word = name.title()
    typo = keyboard_typo(word, np.random.default_rng(seed))
    assert abs(len(typo) - len(word)) <= 1
    assert typo != word


@given(st.sampled_from(["SW1A 1AA", "LS12 4QP", "B1 2TT", "M60 9ZZ"]), st.integers(0, 2**31))
def test_postcode_typo_changes_the_postcode(postcode, seed):
    assert postcode_typo(postcode, np.random.default_rng(seed)) != postcode


def test_name_tables():
    assert "Bill" in nicknames_of("William")
    assert "Muhammad" in transliteration_variants()["Mohammed"]
    assert "Mohammed" not in transliteration_variants()["Mohammed"]
    assert strip_accents("Wójcik Łukasz Çelik Ştefan") == "Wojcik Lukasz Celik Stefan"


def test_registry_rejects_duplicates_and_unknown_fields():
    with pytest.raises(ValueError, match="registered twice"):
        error_type("sex_wrong", ("sex",), "again")(lambda d, rows, rng: rows)
    with pytest.raises(ValueError, match="unknown field"):
        error_type("eye_colour_wrong", ("eyes",), "no such field")(lambda d, rows, rng: rows)
    assert "eye_colour_wrong" not in ERROR_TYPES


@pytest.mark.parametrize("name", list(ERROR_TYPES))
@pytest.mark.parametrize("bad", [-0.1, 1.1, "often", None])
def test_every_error_type_rejects_bad_probabilities(name, bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        RequestConfig(errors={name: bad})
    assert f"errors.{name}" in str(info.value)
