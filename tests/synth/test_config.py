"""Invalid settings fail when the config is built, naming the field."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from matchsim.errors import UnknownNameError
from matchsim.synth import CensusConfig
from matchsim.synth.config import BirthsConfig, MobilityConfig, NamesConfig
from matchsim.synth.names import build_name_model
from matchsim.synth.origins import resolve_origin


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"pupils": 0}, "pupils"),
        ({"pupils": -5}, "pupils"),
        ({"birth_years": (2010, 2000)}, "birth_years"),
        ({"birth_years": (2022, 2023)}, "birth_years"),
        ({"names": {"origins": {"british": 0.5, "polish": 0.4}}}, "names.origins"),
        ({"names": {"origins": {}}}, "names.origins"),
        ({"names": {"middle_name_counts": (0.5, 0.5, 0.5)}}, "names.middle_name_counts"),
        ({"births": {"male_share": 1.5}}, "births.male_share"),
        ({"births": {"by_day": {"02-30": 1.0}}}, "births.by_day"),
        ({"mobility": {"same_district_share": 0.8, "same_area_share": 0.5}}, "mobility"),
        ({"schools": {"sixth_form_share": -0.1}}, "schools.sixth_form_share"),
        ({"families": {"children_per_mother": (0.5, 0.4)}}, "families.children_per_mother"),
        ({"families": {"children_per_mother": ()}}, "families.children_per_mother"),
        ({"families": {"children_per_mother": (1.5, -0.5)}}, "families.children_per_mother"),
        ({"families": {"children_per_mother": (0.05,) * 20}}, "families.children_per_mother"),
        ({"not_a_setting": 1}, "not_a_setting"),
    ],
)
def test_invalid_settings_name_their_field(settings, field):
    with pytest.raises(ValidationError) as info:
        CensusConfig.model_validate(settings)
    locations = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert any(loc.startswith(field) for loc in locations), locations


def test_configs_are_frozen():
    config = CensusConfig(pupils=10)
    with pytest.raises(ValidationError):
        config.pupils = 20  # type: ignore[misc]


def test_birth_years_must_have_reached_school_by_census_date():
    CensusConfig(birth_years=(2000, 2019))
    with pytest.raises(ValidationError, match="started school"):
        CensusConfig(census_date=dt.date(2010, 1, 1), birth_years=(2006, 2008))


def test_unknown_origin_lists_known_ones():
    with pytest.raises(UnknownNameError) as info:
        build_name_model(NamesConfig(origins={"british": 0.5, "klingon": 0.5}))
    assert "klingon" in str(info.value) and "pakistani" in str(info.value)


def test_faker_locale_can_be_an_origin():
    spec = resolve_origin("fr_FR")
    assert spec.forename_locales == ("fr_FR",)


def test_custom_by_day_profile_is_used():
    from matchsim.synth import generate_census

    # Only 1 March: every child is born on it.
    config = CensusConfig(
        pupils=300,
        births=BirthsConfig(
            by_day={
                "03-01": 1.0,
                **{
                    f"{m:02d}-{d:02d}": 0.0
                    for m in range(1, 13)
                    for d in range(1, 29)
                    if (m, d) != (3, 1)
                },
                **{
                    f"{m:02d}-{d}": 0.0
                    for m in range(1, 13)
                    for d in (29, 30, 31)
                    if not (m == 2 and d > 29) and not (m in (4, 6, 9, 11) and d == 31)
                },
            }
        ),
    )
    dob = generate_census(config, seed=1).pupils_frame["date_of_birth"]
    assert {(d.month, d.day) for d in dob} == {(3, 1)}


def test_mobility_can_be_switched_off():
    from matchsim.synth import generate_census

    config = CensusConfig(pupils=2_000, mobility=MobilityConfig(rates_by_age=((0.0, 0.0),)))
    census = generate_census(config, seed=1)
    assert census.addresses.num_rows == census.summary().households
    assert census.summary().moved_share == 0.0


def test_default_family_sizes_are_the_ons_completed_family_size_of_mothers():
    from matchsim.synth.config import FamiliesConfig

    families = FamiliesConfig()
    # Women born 1973: 1.89 children on average, 19% childless (ONS 2018), so 2.33 per mother.
    assert families.mean_children == pytest.approx(1.89 / 0.81, abs=0.02)
    assert families.children_per_mother[0] == pytest.approx(18 / 81, abs=0.005)
    assert families.children_per_mother[1] == pytest.approx(37 / 81, abs=0.005)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=1, max_size=12))
def test_families_draw_their_sizes_in_the_shares_given(weights):
    import numpy as np

    from matchsim.synth.census.families import draw_families
    from matchsim.synth.census.plan import build_plan
    from matchsim.synth.config import FamiliesConfig

    shares = tuple(w / sum(weights) for w in weights)
    shares = (*shares[:-1], 1.0 - sum(shares[:-1]))
    config = CensusConfig(
        pupils=1_000,
        birth_years=(2000, 2010),
        families=FamiliesConfig(children_per_mother=shares),
    )
    births = draw_families(build_plan(config, seed=1), np.random.default_rng(0), 20_000)
    sizes = np.bincount(births.family, minlength=20_000)
    drawn = np.bincount(sizes, minlength=len(shares) + 1)[1:] / 20_000
    assert len(drawn) == len(shares)
    np.testing.assert_allclose(drawn, shares, atol=0.015)


def test_the_replaced_children_mean_says_what_replaced_it():
    with pytest.raises(ValidationError, match="children_mean was replaced by children_per_mother"):
        CensusConfig(families={"children_mean": 1.7})
