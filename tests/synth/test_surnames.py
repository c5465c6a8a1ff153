"""Surname lists: no alphabet in the frequencies, sourced anchors carried to children, and the
origin mix from the DfE pupil ethnicity table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from faker.config import AVAILABLE_LOCALES
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.data import load_table
from matchsim.errors import ConfigError, UnknownNameError
from matchsim.synth.config import DEFAULT_ORIGIN_MIX, NamesConfig
from matchsim.synth.names import build_name_model
from matchsim.synth.origins import resolve_origin
from matchsim.synth.surname_sources import (
    ADULTS_1998,
    HONORIFIC_SURNAMES,
    MALE_SHARE,
    SURNAME_SOURCES,
    honorific_rates,
    pupil_origin_mix,
)
from matchsim.synth.surname_targets import (
    anchor_targets,
    child_surname_shares,
    compare_anchor_ratios,
    effective_surname_counts,
)
from matchsim.synth.surnames import (
    feminine_surname,
    hash_order,
    surname_list,
    surname_vocabulary,
    zipf_tail,
)

FACTS_ANCHORS = ("Patel", "Begum", "Khan", "Singh", "Hussain", "Ali", "Kaur", "Ahmed")


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def _alphabet_correlation(names, probs, top: int | None = None) -> float:
    order = np.argsort(-np.asarray(probs), kind="stable")[:top]
    chosen = [names[i] for i in order]
    alphabetical = np.argsort(np.argsort(np.array(chosen, dtype=object), kind="stable"))
    return _spearman(np.arange(len(chosen)), alphabetical)


@pytest.mark.parametrize("origin", list(SURNAME_SOURCES))
def test_no_list_follows_the_alphabet(origin):
    # Built-in traditions, with every Faker locale they use by default.
    table = surname_list(origin)
    assert abs(_alphabet_correlation(table.names, table.probs)) < 0.2, origin
    # The head too: the artefact was an alphabetical head ("Aanei" 14.7% of Romanians).
    assert abs(_alphabet_correlation(table.names, table.probs, top=40)) < 0.35, origin


def test_no_faker_locale_used_as_an_origin_follows_the_alphabet():
    checked = 0
    for locale in AVAILABLE_LOCALES:
        try:
            resolve_origin(locale)
        except UnknownNameError:
            continue
        table = surname_list(locale)
        if len(table.names) < 3:  # e.g. is_IS: patronymics, a rank correlation is undefined
            continue
        assert abs(_alphabet_correlation(table.names, table.probs)) < 0.2, locale
        assert abs(_alphabet_correlation(table.names, table.probs, top=40)) < 0.35, locale
        checked += 1
    assert checked > 50


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=3, max_size=300, unique=True))
def test_hash_order_is_stable_and_unrelated_to_the_alphabet(names):
    ordered = hash_order(names)
    assert sorted(ordered) == sorted(names)
    assert (
        hash_order(list(reversed(names))) == ordered
    )  # depends on the names, not their input order
    alphabetical = np.argsort(np.argsort(np.array(ordered, dtype=object), kind="stable"))
    assert abs(_spearman(np.arange(len(ordered)), alphabetical)) < 0.1 or len(names) < 10


def test_alphabetical_artefacts_are_gone():
    assert surname_vocabulary("romanian")[:2] == ["Popa", "Popescu"]
    assert surname_vocabulary("turkish")[0] == "Yılmaz"
    assert surname_vocabulary("polish")[0] == "Nowak"
    assert surname_vocabulary("indian")[0] == "Patel"
    romanian = surname_list("romanian")
    aanei = romanian.probs[romanian.names.index("Aanei")]
    assert aanei < 0.01


def _independent_factor(origins: list[str]) -> float:
    """(c_T / a_T) / (c_british / a_british) from the shipped tables, computed here again."""
    table = load_table("name_origin_shares")
    mass = table["percent"].astype(float) * table["fraction"].astype(float)
    adults = mass[table["population"] == "adults_1991"].groupby(table["origin"]).sum()
    pupils = pd.Series(DEFAULT_ORIGIN_MIX)
    c = pupils[origins].sum() / pupils["british"]
    a = adults[origins].sum() / adults["british"]
    return c / a


def test_anchored_ratios_are_the_published_ratios_scaled_to_pupils():
    targets = anchor_targets()
    anchors = load_table("surname_anchors").set_index("surname")
    smith_adults = 0.012 * ADULTS_1998
    for name in FACTS_ANCHORS:
        row = anchors.loc[name]
        published = float(row["adults"]) / smith_adults
        assert targets.loc[name, "published_ratio"] == pytest.approx(published, rel=1e-9)
        sex_share = {"F": 1 - MALE_SHARE, "M": MALE_SHARE}.get(row["sex"], 1.0)
        # Honorific counts are per adult of one sex, so their child share is per child of it.
        adult_sex_share = 0.5 if row["sex"] in ("F", "M") else 1.0
        expected = (
            published * _independent_factor(row["origins"].split()) * sex_share / adult_sex_share
        )
        # Smith among children is diluted by the 1% double-barrelled British families only if
        # the list did not compensate; it does, so the published ratio scales exactly.
        assert targets.loc[name, "anchored_ratio"] == pytest.approx(expected, rel=0.01), name
        # (the shipped honorific rates are rounded to 4 places)
        assert targets.loc[name, "target_ratio"] >= targets.loc[name, "anchored_ratio"] * 0.999


def test_pakistani_names_outnumber_their_adult_ratio_by_the_pupil_shift():
    # Pakistani and Bangladeshi families are about 7x more of pupils (2024) than of adults (1991),
    # relative to British ones, so Khan/Smith among children is about 7x its adult ratio.
    targets = anchor_targets()
    factor = targets.loc["Khan", "anchored_ratio"] / targets.loc["Khan", "published_ratio"]
    assert 5 < factor < 10


def _sample_children(model, n: int, seed: int) -> pd.Series:
    """Children's surnames, one child per family, by the census's own steps: origin, family
    surname, the feminine form for girls, then the honorific convention by sex."""
    rng = np.random.default_rng(seed)
    weights = model.origin_weights / model.origin_weights.sum()
    origin = np.searchsorted(np.cumsum(weights), rng.random(n), side="right")
    origin = np.minimum(origin, len(weights) - 1)
    surname = model.surname_sampler.draw(origin, rng.random(n))
    british = model.origins.index("british")
    double = (origin == british) & (rng.random(n) < NamesConfig().double_barrelled_share)
    pick = (rng.random(n) * len(model.double_barrelled)).astype(np.int64)
    surname = np.where(double, model.double_barrelled[pick], surname)
    sex = np.where(rng.random(n) < MALE_SHARE, 0, 1)
    surname = np.where(sex == 1, model.feminine[surname], surname)
    hu = rng.random(n)
    for oi, hsex, code, lo, hi in model.honorifics:
        m = (origin == oi) & (sex == (0 if hsex == "M" else 1)) & (hu >= lo) & (hu < hi)
        surname[m] = code
    return pd.Series(model.surnames[surname]).value_counts()


def test_sampled_ratios_to_smith_match_the_targets():
    model = build_name_model(NamesConfig())
    counts = _sample_children(model, 3_000_000, seed=3)
    targets = anchor_targets()
    for name in FACTS_ANCHORS:
        got = counts[name] / counts["Smith"]
        # 3M children: Smith about 28,000, the rarest anchor (Kaur) about 2,000: 2.5% s.e.
        assert got == pytest.approx(targets.loc[name, "target_ratio"], rel=0.08), name


def test_census_ratios_to_smith_match_the_targets(census):
    counts = census.pupils_frame["surname"].astype(str).value_counts()
    # 150,000 pupils in families: about 1,000 of each name, siblings sharing it.
    table = compare_anchor_ratios(
        counts, census.config.names, 0.2, ("Patel", "Khan", "Hussain", "Ali", "Ahmed", "Begum")
    )
    assert table["within_tolerance"].all(), table
    assert table.loc["Khan", "generated_ratio"] == pytest.approx(counts["Khan"] / counts["Smith"])
    # A register far from the anchors fails the comparison.
    skewed = counts.copy()
    skewed["Khan"] = skewed["Khan"] * 2
    assert not compare_anchor_ratios(skewed, census.config.names).loc["Khan", "within_tolerance"]
    with pytest.raises(ValueError, match="Smith"):
        compare_anchor_ratios(counts.drop("Smith"))


def test_sampler_draws_the_list_probabilities():
    config = NamesConfig(origins={"romanian": 0.5, "polish": 0.5})
    model = build_name_model(config)
    rng = np.random.default_rng(0)
    n = 400_000
    drawn = pd.Series(model.surnames[model.surname_sampler.draw(np.zeros(n, int), rng.random(n))])
    shares = drawn.value_counts(normalize=True)
    table = surname_list("romanian")
    for name, p in zip(table.names[:10], table.probs[:10], strict=True):
        assert shares.get(name, 0.0) == pytest.approx(p, rel=0.1), name


def test_effective_surname_counts_are_plausible():
    counts = effective_surname_counts()
    assert set(counts) == set(DEFAULT_ORIGIN_MIX)
    # Great Britain: Smith 1.2% and a long tail; Poland: Nowak 0.53% (PESEL).
    assert 500 < counts["british"] < 3000
    assert counts["polish"] > counts["british"]
    # British Pakistani and Bangladeshi surnames cluster (Khan 9% of adults of the two groups).
    assert 10 < counts["pakistani"] < 60
    assert 8 < counts["bangladeshi"] < 40
    # Singh and Kaur dominate, but no list collapses to a handful as the alphabetical lists did.
    assert min(counts.values()) > 5
    assert counts["romanian"] > 50 and counts["turkish"] > 50


def test_honorific_table_follows_the_anchors():
    shipped = load_table("honorific_surnames")
    derived = honorific_rates()
    merged = shipped.merge(derived, on=["origin", "sex", "surname"], suffixes=("", "_derived"))
    assert len(merged) == len(shipped) == len(derived)
    assert np.allclose(merged["probability"], merged["probability_derived"], atol=1e-4)


def test_honorifics_are_never_family_names():
    for origin in SURNAME_SOURCES:
        assert not HONORIFIC_SURNAMES & set(surname_vocabulary(origin)), origin


def test_honorific_shares_follow_sex_and_polish_girls_keep_feminine_forms():
    sikh = child_surname_shares("punjabi_sikh")
    rates = honorific_rates().set_index(["origin", "surname"])["probability"]
    assert sikh["Singh"] == pytest.approx(MALE_SHARE * rates[("punjabi_sikh", "Singh")])
    assert sikh["Kaur"] == pytest.approx((1 - MALE_SHARE) * rates[("punjabi_sikh", "Kaur")])
    polish = child_surname_shares("polish")
    assert feminine_surname("polish", "Kowalski") == "Kowalska"
    assert polish["Kowalska"] == pytest.approx(polish["Kowalski"] * (1 - MALE_SHARE) / MALE_SHARE)
    assert "Nowak" in polish  # uninflected names are shared by both sexes


def test_default_origin_mix_is_the_dfe_mapping():
    mapped = pupil_origin_mix()
    assert set(mapped) == set(DEFAULT_ORIGIN_MIX)
    for origin, share in mapped.items():
        assert DEFAULT_ORIGIN_MIX[origin] == pytest.approx(share, abs=2e-4), origin
    pupils = load_table("name_origin_shares").query("population == 'pupils_2024'")
    # Each ethnic group is given out whole, and the groups cover all pupils.
    assert np.allclose(pupils.groupby("category")["fraction"].sum(), 1.0)
    assert pupils.drop_duplicates("category")["percent"].sum() == pytest.approx(100.0, abs=0.05)


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 5000),
    mass=st.floats(0.01, 1.0),
    cap=st.floats(1e-5, 1.0),
)
def test_zipf_tail_is_decreasing_and_respects_the_cap(count, mass, cap):
    shares, offset = zipf_tail(count, mass, cap)
    assert shares.sum() == pytest.approx(mass)
    assert np.all(np.diff(shares) <= 1e-15)
    assert offset >= 0
    if mass / count <= cap * (1 - 1e-6):
        assert shares[0] <= cap * (1 + 1e-6)


def test_impossible_honorific_override_is_a_config_error():
    rows = (("pakistani", "F", "Begum", 1.0), ("pakistani", "M", "Khan", 1.0))
    with pytest.raises(ConfigError, match=r"names\.honorific_surnames"):
        build_name_model(NamesConfig(honorific_surnames=rows))
    with pytest.raises(ConfigError, match=r"names\.origins"):
        anchor_targets(NamesConfig(origins={"polish": 1.0}))
