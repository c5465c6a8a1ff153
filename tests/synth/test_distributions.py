"""The synthetic world keeps the real population's structure, within tolerances.

Each check compares the generated register with the sourced default it was built from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matchsim.synth import CensusConfig, generate_census
from matchsim.synth.calendar import default_day_profile
from matchsim.synth.config import MultipleBirthsConfig
from matchsim.synth.origins import origin_names


def test_twin_share_matches_ons_multiple_birth_rate(census):
    # ~15 multiple maternities per 1,000 -> about 3% of children are a twin or triplet.
    share = census.pupils_frame["multiple_birth_id"].notna().mean()
    assert 0.026 < share < 0.035


def test_twin_share_follows_configuration():
    config = CensusConfig(
        pupils=40_000, multiple_births=MultipleBirthsConfig(per_1000_by_year={2000: 100.0})
    )
    share = generate_census(config, seed=3).pupils_frame["multiple_birth_id"].notna().mean()
    # 10% of maternities multiple -> about 2 * 0.1 / 1.1 = 18% of children.
    assert 0.16 < share < 0.20


def test_births_peak_in_september_and_dip_at_christmas(census):
    dob = pd.to_datetime(census.pupils_frame["date_of_birth"])
    by_month = dob.dt.month.value_counts()
    days_in_month = {9: 30, 12: 31}
    september = by_month[9] / days_in_month[9]
    december = by_month[12] / days_in_month[12]
    profile = default_day_profile()
    # Expected ratio from the sourced profile (leap-year positions: Sep = 244..273, Dec = 335..365).
    expected = profile[244:274].mean() / profile[335:366].mean()
    assert september / december == pytest.approx(expected, rel=0.04)
    assert expected > 1.08
    boxing_day = ((dob.dt.month == 12) & (dob.dt.day == 26)).sum()
    mean_day = len(dob) / 365.25
    assert boxing_day / mean_day == pytest.approx(1359 / 1800, rel=0.15)


def test_day_profile_hits_published_anchors():
    profile = default_day_profile() * 1800
    assert profile.max() == pytest.approx(1974, rel=1e-6)
    assert int(np.argmax(profile)) == 269  # 26 September in a leap year
    assert profile[360] == pytest.approx(1359, rel=1e-6)  # 26 December
    assert profile[[359, 360, 0]].max() < profile.mean() * 0.85


def test_top_surnames_include_published_heads(census):
    frame = census.pupils_frame
    shares = frame["surname"].astype(str).value_counts(normalize=True)
    assert shares.index[0] == "Smith"
    british = (
        frame[frame["name_origin"] == "british"]["surname"].astype(str).value_counts(normalize=True)
    )
    assert british["Smith"] == pytest.approx(0.012, rel=0.15)
    for name in ("Khan", "Ali", "Ahmed", "Hussain", "Patel", "Singh", "Begum", "Kaur"):
        assert name in shares.index, name


def test_honorific_surnames_follow_sex(census):
    frame = census.pupils_frame
    for name, sex in (("Kaur", "F"), ("Begum", "F"), ("Bibi", "F")):
        holders = frame[frame["surname"] == name]
        assert len(holders) > 0, name
        assert (holders["sex"] == sex).all(), name
    sikh_boys = frame[(frame["name_origin"] == "punjabi_sikh") & (frame["sex"] == "M")]
    # Singh's 40,119 adults of 1998 over the Sikh men of the 1991 Census: about 44% of families.
    assert 0.30 < (sikh_boys["surname"] == "Singh").mean() < 0.58


def test_polish_girls_take_feminine_surnames(census):
    frame = census.pupils_frame
    polish = frame[frame["name_origin"] == "polish"]
    surnames = polish["surname"].astype(str)
    girls, boys = polish["sex"] == "F", polish["sex"] == "M"
    assert not surnames[girls].str.endswith("ski").any()
    assert surnames[boys].str.endswith("ski").any()
    assert surnames[girls].str.endswith("ska").any()


def test_origin_mix_follows_configuration(census):
    shares = census.pupils_frame["name_origin"].astype(str).value_counts(normalize=True)
    expected = census.config.names.origins
    for origin, share in expected.items():
        # Families, not children, draw an origin: allow for family-size noise.
        assert shares.get(origin, 0.0) == pytest.approx(share, abs=max(0.01, share * 0.25)), origin


def test_minority_origins_cluster_geographically(census):
    frame = census.pupils_frame
    district = frame["postcode"].str.split(" ").str[0]
    overall = district.value_counts(normalize=True)
    bangladeshi = district[frame["name_origin"] == "bangladeshi"].value_counts(normalize=True)
    # The top districts of a clustered origin hold far more of it than of everyone.
    top = bangladeshi.index[:10]
    assert bangladeshi[top].sum() > 3 * overall.reindex(top).fillna(0).sum()


def test_many_families_have_moved(census):
    # SAIL (IJPDS 2024): 58% of children moved at least once in ten years.
    moved = census.summary().moved_share
    assert 0.45 < moved < 0.8


def test_sibling_households_are_common(census):
    sizes = census.pupils_frame.groupby("household_id").size()
    # Mothers have 2.3 children on average (ONS completed family size), but a census of 14
    # cohorts cuts some off.
    assert 1.5 < sizes.mean() < 2.3
    assert sizes.max() <= 12


def test_shipped_name_lists_are_used():
    for origin in ("pakistani", "bangladeshi", "punjabi_sikh", "arabic", "somali"):
        assert len(origin_names(origin, "forename_male")) >= 100
        assert len(origin_names(origin, "surname")) >= 50
    assert origin_names("pakistani", "forename_male")[0] == "Muhammad"
    assert "Begum" not in origin_names("bangladeshi", "surname")


def test_same_name_and_birthday_collisions_grow_with_population():
    small = generate_census(CensusConfig(pupils=20_000), seed=1).summary()
    large = generate_census(CensusConfig(pupils=300_000), seed=1).summary()
    assert large.same_name_and_dob_share > small.same_name_and_dob_share
    assert large.same_name_and_dob_share > 0
