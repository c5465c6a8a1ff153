"""First and middle names against the ONS lists they are drawn from (issue 15, points 2, 4, 5)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import DataIntegrityError
from matchsim.requests.edits import pick_by_ons_frequency, transliteration_variants
from matchsim.synth import CensusConfig, generate_census, ons_names
from matchsim.synth import forenames as fn
from matchsim.synth.config import DEFAULT_ORIGIN_MIX

YEARS = range(ons_names.FULL_FIRST_YEAR, ons_names.FULL_LAST_YEAR + 1)
SEXES = (0, 1)


def _ons(year: int, sex: int) -> pd.Series:
    """ONS shares of a year and sex, straight from the shipped table (not the sampler)."""
    full = ons_names.ons_forenames()
    rows = full[(full["year"] == year) & (full["sex"] == ons_names.SEXES[sex])]
    counts = rows.set_index(rows["name"].astype(str))["n"].astype(float)
    return counts / counts.sum()


@cache
def _model() -> fn.ForenameModel:
    return fn.build_forename_model(DEFAULT_ORIGIN_MIX)


@cache
def _cohort(year: int, sex: int) -> pd.Series:
    """Names of one national cohort of one sex (about 300,000), origins at their default shares."""
    rng = np.random.default_rng(year * 2 + sex)
    n = 300_000
    weights = np.array(list(DEFAULT_ORIGIN_MIX.values()))
    origin = np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(n), side="right")
    origin = np.minimum(origin, len(weights) - 1)
    model = _model()
    codes = model.draw_first(rng, origin, np.full(n, year), np.full(n, sex))
    return pd.Series(model.names[codes]).value_counts()


def _tvd(counts: pd.Series, ons: pd.Series) -> float:
    sample = counts / counts.sum()
    both = sample.index.union(ons.index)
    return 0.5 * float(
        np.abs(sample.reindex(both, fill_value=0) - ons.reindex(both, fill_value=0)).sum()
    )


def _sharing(counts: pd.Series) -> float:
    """Unbiased chance that two children drawn without replacement share a name."""
    c = counts.to_numpy(np.float64)
    return float((c * (c - 1)).sum() / (c.sum() * (c.sum() - 1)))


# -- the shipped data ------------------------------------------------------------------------


def test_shipped_lists_hold_the_published_counts():
    full = ons_names.ons_forenames()
    assert len(full) == ons_names.ONS_ROWS
    boys_2019 = full[(full["year"] == 2019) & (full["sex"] == "M")].set_index("name")["n"]
    spellings = ("Muhammad", "Mohammed", "Mohammad", "Muhammed")
    assert [int(boys_2019[n]) for n in spellings] == [3604, 1752, 807, 379]
    assert _ons(1996, 0).index[0] == "Jack"
    assert _ons(1996, 0).iloc[0] == pytest.approx(0.034, abs=0.001)
    assert list(_ons(1996, 1).index[:5]) == ["Sophie", "Chloe", "Jessica", "Emily", "Lauren"]


def test_a_damaged_table_fails_loudly(monkeypatch):
    ons_names.ons_forenames.cache_clear()
    monkeypatch.setitem(ons_names.CHECKSUMS, "ons_forenames.parquet", "0" * 64)
    try:
        with pytest.raises(DataIntegrityError, match=r"ons_forenames\.parquet is damaged"):
            ons_names.ons_forenames()
    finally:
        ons_names.ons_forenames.cache_clear()


def test_years_outside_the_full_lists_use_the_documented_lists():
    assert ons_names.list_year(2023) == 2020
    assert (
        ons_names.list_year(1995) == 1994
        and ons_names.list_year(1990) == 1994
        and ons_names.list_year(1989) == 1994
    )
    assert ons_names.list_year(1988) == 1984
    names, p = ons_names.year_list(1992, "M")
    assert names[:3] == ("Thomas", "James", "Jack")  # ONS 1994 ranking
    assert p.sum() == pytest.approx(1.0)
    # 1996's concentration: the rank-k share is 1996's rank-k share.
    assert p[0] == pytest.approx(ons_names.year_list(1996, "M")[1][0])
    assert len(set(names)) == len(names)


# -- first names by birth year and sex, at national cohort size --------------------------------


@pytest.mark.parametrize("sex", SEXES)
@pytest.mark.parametrize("year", YEARS)
def test_national_cohort_is_close_to_ons(year, sex):
    counts, ons = _cohort(year, sex), _ons(year, sex)
    assert _tvd(counts, ons) <= 0.06
    assert counts.index[0] == ons.index[0]
    assert counts.iloc[0] / counts.sum() == pytest.approx(ons.iloc[0], rel=0.15)
    assert _sharing(counts) == pytest.approx(float((ons**2).sum()), rel=0.10)
    assert set(counts.index) <= set(ons.index)  # no name ONS never recorded that year


def test_sharing_a_name_is_as_likely_as_in_ons():
    """The headline artefact of the old lists: boys of one cohort shared names too rarely."""
    assert _sharing(_cohort(1996, 0)) == pytest.approx(0.0113, rel=0.1)
    assert _sharing(_cohort(2011, 0)) == pytest.approx(0.0058, rel=0.1)


# -- on a generated register of a million pupils ---------------------------------------------


@pytest.fixture(scope="module")
def million() -> pd.DataFrame:
    census = generate_census(
        CensusConfig(pupils=1_000_000, birth_years=(1996, 2020), census_date=dt.date(2026, 1, 15)),
        seed=3,
        workers=2,
    )
    frame = census.pupils.select(
        ["forename", "middle_names", "sex", "date_of_birth", "name_origin"]
    ).to_pandas()
    frame["year"] = pd.to_datetime(frame["date_of_birth"]).dt.year
    for column in ("forename", "sex", "name_origin"):
        frame[column] = frame[column].astype(str)
    return frame


def test_register_top_100_per_year_and_sex_is_close_to_ons(million):
    assert len(million) >= 1_000_000
    for (year, sex), group in million.groupby(["year", "sex"]):
        if year not in YEARS:
            continue
        ons = _ons(year, ons_names.SEXES.index(sex))
        top = ons.iloc[:100] / ons.iloc[:100].sum()
        counts = group["forename"].value_counts().reindex(top.index, fill_value=0)
        assert len(group) > 15_000, (year, sex)
        assert _tvd(counts, top) <= 0.06, (year, sex)


def test_fidelity_table_agrees_with_the_reference_computation(million):
    table = ons_names.ons_fidelity(million["forename"], million["sex"], million["year"])
    assert len(table) == 2 * len(YEARS)
    row = table[(table["year"] == 2005) & (table["sex"] == "F")].iloc[0]
    group = million[(million["year"] == 2005) & (million["sex"] == "F")]
    ons = _ons(2005, 1)
    top = ons.iloc[:100] / ons.iloc[:100].sum()
    counts = group["forename"].value_counts()
    assert row["tvd_top"] == pytest.approx(_tvd(counts.reindex(top.index, fill_value=0), top))
    assert row["sharing"] == pytest.approx(_sharing(counts))
    assert row["ons_sharing"] == pytest.approx(float((ons**2).sum()))
    assert row["top_name"] == counts.index[0] and row["ons_top_name"] == ons.index[0]
    assert (table["tvd_top"] <= 0.06).all()
    # Same-name chance per year and sex in the register (about 20,000 a group) within 10% of ONS.
    assert (table["sharing"] / table["ons_sharing"] - 1).abs().max() <= 0.10


def test_register_names_are_all_in_the_ons_list_of_their_year(million):
    full = ons_names.ons_forenames()[["year", "sex", "name"]].astype({"sex": str, "name": str})
    rows = million.loc[million["year"].isin(YEARS), ["year", "sex", "forename"]]
    found = rows.merge(
        full, left_on=["year", "sex", "forename"], right_on=["year", "sex", "name"], how="left"
    )
    assert len(found) == len(rows) and found["name"].notna().all()


def test_name_origin_follows_the_names_drawn(million):
    """Families of an origin draw from the ONS names of its lexicon (renormalised)."""
    muhammad = ("Muhammad", "Mohammed", "Mohammad", "Muhammed", "Mohammod", "Mohamed")
    boys = million[million["sex"] == "M"]
    share = boys["forename"].isin(muhammad).groupby(boys["name_origin"]).mean()
    assert share["pakistani"] > 0.15 and share["bangladeshi"] > 0.15 and share["arabic"] > 0.15
    assert share["british"] < 0.01 and share["polish"] < 0.01 and share["west_african"] < 0.01
    # Polish names enter the ONS lists after 2004 (EU accession), so test cohorts from 2010.
    lexicon = fn.shipped_origin_lexicon()
    for origin in ("polish", "indian", "romanian"):
        rows = million[(million["name_origin"] == origin) & (million["year"] >= 2010)]
        own = rows["forename"].map(lambda n, o=origin: o in lexicon.get(n, ()))
        assert own.mean() > 0.3, origin


def test_middle_names_have_their_own_distribution(million):
    pupils = million.iloc[:300_000]  # ample for shares to +-0.002
    parts = pupils["middle_names"].str.split(" ")
    count = np.where(pupils["middle_names"] == "", 0, parts.str.len())
    assert (count == 0).mean() == pytest.approx(0.20, abs=0.01)  # Ancestry UK 2013: 80% have one
    assert (count >= 2).mean() == pytest.approx(0.11, abs=0.01)  # 11% two or more
    assert not (parts.str[0] == pupils["forename"]).any()
    assert not ((count == 2) & (parts.str[0] == parts.str[-1])).any()
    for sex, classics in (("M", ("James", "John", "William")), ("F", ("Louise", "Rose", "Grace"))):
        rows = pupils[(pupils["sex"] == sex) & (count > 0)]
        middle = parts[rows.index].str[0].value_counts(normalize=True)
        first = rows["forename"].value_counts(normalize=True)
        assert list(middle.index[:3]) == list(classics), sex
        # Not the first-name pool: the two distributions are far apart.
        assert _tvd(middle, first) > 0.4, sex


# -- spelling variants by ONS frequency ---------------------------------------------------------


def test_transliteration_picks_variants_by_ons_counts():
    rows = 200_000
    choices = [transliteration_variants()["Muhammad"]] * rows
    picked = pd.Series(
        pick_by_ons_frequency(
            choices, np.full(rows, 2019), np.zeros(rows, dtype=np.int8), np.random.default_rng(1)
        )
    ).value_counts()
    listed = ("Mohammed", "Mohammad", "Muhammed")
    ons = np.array([1752, 807, 379], dtype=float)
    for name, share in zip(listed, ons / ons.sum(), strict=True):
        got = picked[name] / picked[list(listed)].sum()
        assert got == pytest.approx(share, abs=0.01), name
    # A spelling ONS lacks that year (fewer than 3 babies) weighs 1 against Mohammed's 1,752.
    unlisted = [v for v in choices[0] if ons_names.ons_counts([v], [2019], [0])[0] == 0]
    assert unlisted and all(picked.get(v, 0) < rows * 0.01 for v in unlisted)


def test_transliteration_without_any_ons_spelling_is_uniform():
    choices = [("Zzqa", "Zzqb")] * 10_000
    picked = pick_by_ons_frequency(
        choices, np.full(10_000, 2010), np.full(10_000, -1), np.random.default_rng(2)
    )
    assert (picked == "Zzqa").mean() == pytest.approx(0.5, abs=0.03)
    assert set(
        pick_by_ons_frequency([(), ("Ali",)], [2010, 2010], [0, 0], np.random.default_rng(0))
    ) == {
        "",
        "Ali",
    }


def test_transliteration_error_type_uses_ons_weights():
    from matchsim.requests import ERROR_TYPES
    from matchsim.requests.draft import RequestDraft
    from matchsim.synth.calendar import date_to_days

    n = 50_000
    names = np.array(["Muhammad"] * (n - 1) + ["Oliver"], dtype=object)
    blank = np.full(n, "", dtype=object)
    draft = RequestDraft(
        forename=names.copy(),
        middle_names=blank.copy(),
        surname=blank.copy(),
        dob=np.full(n, date_to_days(dt.date(2019, 5, 1))),
        dob_missing=np.zeros(n, dtype=bool),
        sex=np.zeros(n, dtype=np.int8),
        address_line=blank.copy(),
        town=blank.copy(),
        postcode=blank.copy(),
        origin=np.full(n, "pakistani", dtype=object),
        household=np.arange(n),
        address_seq=np.zeros(n, dtype=np.int64),
        context=None,  # type: ignore[arg-type]
    )
    applied = ERROR_TYPES["forename_transliteration"].apply(
        draft, np.arange(n), np.random.default_rng(4)
    )
    assert applied[:-1].all() and not applied[-1]  # Oliver has no other spelling
    assert draft.forename[-1] == "Oliver"
    shares = pd.Series(draft.forename[:-1]).value_counts(normalize=True)
    variants = transliteration_variants()["Muhammad"]
    weight = ons_names.ons_counts(variants, np.full(len(variants), 2019), np.zeros(len(variants)))
    expected = np.where(weight > 0, weight, 1) / np.where(weight > 0, weight, 1).sum()
    for name, share in zip(variants, expected, strict=True):
        assert shares.get(name, 0.0) == pytest.approx(share, abs=0.01), name
    assert shares["Mohammed"] > shares["Mohammad"] > shares["Muhammed"]


def _probabilities(sampler, group: int, size: int) -> np.ndarray:
    """The distribution an alias-table group draws from, by code."""
    lo, n = int(sampler.offset[group]), int(sampler.size[group])
    accept = sampler.accept[lo : lo + n]
    p = np.zeros(size)
    np.add.at(p, sampler.codes[lo : lo + n], accept / n)
    np.add.at(p, sampler.codes[sampler.alias[lo : lo + n]], (1 - accept) / n)
    return p


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda w: sum(w) > 0.05),
    st.sampled_from([1996, 2004, 2013, 2020]),
    st.sampled_from([0, 1]),
)
def test_origin_mixture_is_exactly_the_ons_list(raw, year, sex):
    """Whatever the origin shares, the children's names taken together follow ONS exactly."""
    origins = ("british", "pakistani", "polish", "west_african")
    weights = np.array(raw) / sum(raw)
    model = fn.build_forename_model(dict(zip(origins, weights, strict=True)))
    k = int(model.list_index(np.array([year]))[0])
    size = len(model.names)
    shared = _probabilities(model.shared, 2 * k + sex, size)
    mixture = np.zeros(size)
    for o, w in enumerate(weights):
        q = model.own_share[o, k, sex]
        own = _probabilities(model.own, 2 * (len(model.list_years) * o + k) + sex, size)
        mixture += w * (q * own + (1 - q) * shared)
    names, p = ons_names.year_list(year, ons_names.SEXES[sex])
    code = {name: i for i, name in enumerate(model.names)}
    ons = np.zeros(size)
    ons[[code[n] for n in names]] = p
    assert np.abs(mixture - ons).max() < 1e-9


def test_a_faker_locale_origin_draws_from_its_own_lexicon():
    model = fn.build_forename_model({"british": 0.9, "fr_FR": 0.1})
    rng = np.random.default_rng(5)
    n = 40_000
    origin = np.repeat([0, 1], n // 2)
    codes = model.draw_first(rng, origin, np.full(n, 2015), np.zeros(n, dtype=np.int64))
    french = fn.origin_lexicons(["fr_FR"])["fr_FR"]
    in_lexicon = np.array([fn.lexicon_key(x) in french for x in model.names[codes]])
    assert in_lexicon[n // 2 :].mean() > 2 * in_lexicon[: n // 2].mean()
