"""The generated register: schema, identifiers, structure, reproducibility."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from stdnum.gb import upn as stdnum_upn

from matchsim.synth import BLOCK_PUPILS, CensusConfig, generate_census
from matchsim.synth.calendar import reception_entry, to_days

EXPECTED_SCHEMA = {
    "pupil_id": pa.int64(),
    "upn": pa.string(),
    "forename": pa.dictionary(pa.int32(), pa.string()),
    "middle_names": pa.string(),
    "surname": pa.dictionary(pa.int32(), pa.string()),
    "sex": pa.dictionary(pa.int32(), pa.string()),
    "date_of_birth": pa.date32(),
    "name_origin": pa.dictionary(pa.int32(), pa.string()),
    "household_id": pa.int64(),
    "multiple_birth_id": pa.int64(),
    "address_id": pa.int64(),
    "address_line": pa.string(),
    "town": pa.dictionary(pa.int32(), pa.string()),
    "postcode": pa.string(),
    "school_id": pa.int32(),
    "first_school_id": pa.int32(),
    "la_number": pa.int32(),
    "entry_date": pa.date32(),
    "leaving_date": pa.date32(),
    "year_group": pa.int8(),
}

# Royal Mail's format, as in the UK government's published postcode pattern (without GIR 0AA).
POSTCODE = r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][ABD-HJLNP-UW-Z]{2}$"


def test_schema_and_dtypes(census):
    assert {f.name: f.type for f in census.pupils.schema} == EXPECTED_SCHEMA
    assert census.pupils.num_rows == 150_000
    frame = census.pupils_frame
    assert frame["pupil_id"].is_unique
    assert frame["upn"].is_unique
    assert frame["forename"].notna().all() and frame["surname"].notna().all()
    assert set(frame["sex"].astype(str)) == {"M", "F"}
    # 20% have no middle name by default (Ancestry UK 2013); the rest one or two.
    assert abs((frame["middle_names"] == "").mean() - 0.20) < 0.01


def test_upns_are_valid(census):
    upns = census.pupils["upn"].to_pylist()
    assert all(len(u) == 13 for u in upns)
    sample = np.random.default_rng(0).choice(len(upns), 5_000, replace=False)
    invalid = [upns[i] for i in sample if not stdnum_upn.is_valid(upns[i])]
    assert invalid == []


def test_postcodes_are_valid_uk_format(census):
    postcodes = census.pupils_frame["postcode"]
    assert postcodes.str.match(POSTCODE).all()
    history = census.addresses_frame["postcode"]
    assert history.str.match(POSTCODE).all()


def test_twins_share_birthday_household_and_address(census):
    frame = census.pupils_frame
    multiples = frame.dropna(subset=["multiple_birth_id"])
    groups = multiples.groupby("multiple_birth_id")
    assert (groups.size() >= 2).all()
    for column in ("date_of_birth", "household_id", "address_id", "school_id"):
        assert (groups[column].nunique() == 1).all(), column
    # Same-sex twins of one family share a surname (feminine forms and honorifics follow sex).
    same_sex = groups.filter(lambda g: g["sex"].nunique() == 1)
    assert (same_sex.groupby("multiple_birth_id")["surname"].nunique() == 1).all()
    # Parents do not give twins the same forename.
    assert (groups["forename"].nunique() == groups.size()).all()


def test_siblings_share_address_and_british_siblings_share_surname(census):
    frame = census.pupils_frame
    by_household = frame.groupby("household_id")
    assert (by_household["address_id"].nunique() == 1).all()
    british = frame[frame["name_origin"] == "british"].groupby("household_id")
    assert (british["surname"].nunique() == 1).all()
    sizes = by_household.size()
    assert (sizes > 1).mean() > 0.2, "too few households hold siblings"


def test_census_cohorts_are_reception_to_year_13(census):
    frame = census.pupils_frame
    assert frame["year_group"].between(0, 13).all()
    assert frame["leaving_date"].isna().all()
    counts = frame["year_group"].value_counts().sort_index()
    # Years 12 and 13 hold only the sixth-form share of a cohort.
    ratio = counts.loc[[12, 13]].mean() / counts.loc[1:11].mean()
    assert 0.2 < ratio < 0.4
    dob = pd.to_datetime(frame["date_of_birth"])
    assert dob.min() >= pd.Timestamp("2004-09-01")
    assert dob.max() <= pd.Timestamp("2019-08-31")


def test_entry_date_is_september_after_fourth_birthday(census):
    frame = census.pupils_frame.sample(2_000, random_state=1)
    dob = frame["date_of_birth"].to_numpy().astype("datetime64[D]")
    expected = reception_entry(to_days(dob))
    assert (to_days(frame["entry_date"].to_numpy().astype("datetime64[D]")) == expected).all()
    for born, entry in zip(frame["date_of_birth"], frame["entry_date"], strict=True):
        fourth = dt.date(born.year + 4, born.month, min(born.day, 28))
        assert entry.month == 9 and entry.day == 1 and entry > fourth
        assert (entry - fourth).days <= 366


def test_register_has_former_and_current_pupils(register):
    frame = register.pupils_frame
    assert len(frame) == 60_000
    born = pd.to_datetime(frame["date_of_birth"]).dt.year
    assert born.between(1992, 2012).all()
    former = frame["leaving_date"].notna()
    assert 0.3 < former.mean() < 0.95
    # Former pupils have no year group; current ones do.
    assert frame.loc[former, "year_group"].isna().all()
    assert frame.loc[~former, "year_group"].notna().all()
    assert (frame.loc[former, "leaving_date"] > frame.loc[former, "entry_date"]).all()
    leaving = pd.to_datetime(frame.loc[former, "leaving_date"])
    assert ((leaving.dt.month == 7) & (leaving.dt.day == 31)).all()


def test_address_history_is_ordered_and_contains_current_address(census):
    history = census.addresses_frame
    assert (
        history.groupby("household_id")["address_seq"]
        .apply(lambda s: list(s) == list(range(len(s))))
        .all()
    )
    moved = history.dropna(subset=["moved_out"])
    assert (moved["moved_out"] > moved["moved_in"]).all()
    current = history[history["moved_out"].isna()][["household_id", "address_id", "postcode"]]
    merged = census.pupils_frame.merge(current, on="household_id", suffixes=("", "_history"))
    assert len(merged) == census.pupils.num_rows
    assert (merged["address_id"] == merged["address_id_history"]).all()
    assert (merged["postcode"] == merged["postcode_history"]).all()


def test_register_keeps_the_address_of_the_last_census(register):
    """A former pupil's register address is where they lived when they left, not later."""
    frame = register.pupils_frame
    history = register.addresses_frame
    former = frame[frame["leaving_date"].notna()].merge(
        history, on="household_id", suffixes=("", "_h")
    )
    at_leaving = former[
        (former["moved_in"] <= former["leaving_date"])
        & (former["moved_out"].isna() | (former["moved_out"] > former["leaving_date"]))
    ]
    assert (at_leaving["address_id"] == at_leaving["address_id_h"]).all()
    assert at_leaving["pupil_id"].nunique() == (frame["leaving_date"].notna()).sum()


def test_same_seed_same_output_and_different_seed_differs():
    a = generate_census(CensusConfig(pupils=3_000), seed=4)
    b = generate_census(CensusConfig(pupils=3_000), seed=4)
    c = generate_census(CensusConfig(pupils=3_000), seed=5)
    assert a.pupils.equals(b.pupils) and a.addresses.equals(b.addresses)
    assert not a.pupils.equals(c.pupils)


def test_output_does_not_depend_on_chunk_size_or_workers():
    config = CensusConfig(pupils=2 * BLOCK_PUPILS + 1_234)
    reference = generate_census(config, seed=9, chunk_size=10 * BLOCK_PUPILS, workers=1)
    for chunk_size, workers in ((BLOCK_PUPILS, 1), (BLOCK_PUPILS, 2), (1, 2)):
        other = generate_census(config, seed=9, chunk_size=chunk_size, workers=workers)
        assert other.pupils.equals(reference.pupils), (chunk_size, workers)
        assert other.addresses.equals(reference.addresses), (chunk_size, workers)


@pytest.mark.parametrize("pupils", [1, 2, 17, 1_000])
def test_tiny_registers_have_exact_size(pupils):
    census = generate_census(CensusConfig(pupils=pupils), seed=1)
    assert census.pupils.num_rows == pupils
    assert census.summary().pupils == pupils


def test_write_parquet_and_csv_with_address_history(tmp_path):
    census = generate_census(CensusConfig(pupils=500), seed=2)
    parquet, history = census.write(tmp_path / "c.parquet")
    assert history.name == "c.addresses.parquet"
    assert pd.read_parquet(parquet)["upn"].tolist() == census.pupils["upn"].to_pylist()
    csv, csv_history = census.write(tmp_path / "c.csv")
    frame = pd.read_csv(csv)
    assert list(frame.columns) == list(EXPECTED_SCHEMA)
    assert len(pd.read_csv(csv_history)) == census.addresses.num_rows
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c.addresses.csv",
        "c.addresses.parquet",
        "c.csv",
        "c.parquet",
    ]


def test_a_parquet_register_stores_its_text_once_per_distinct_value(tmp_path):
    """Postcodes, address lines and middle names are stored dictionary-encoded in one row
    group: the file reads back as the same values, every batch on one shared dictionary, so
    that preparing the register hashes each distinct value once, not every row."""
    import pyarrow.parquet as pq

    from matchsim.records.normalise import shares_one_dictionary
    from matchsim.synth import STORED_AS_DICTIONARY, load_census

    census = generate_census(CensusConfig(pupils=150_000), seed=2)  # Arrow reads 2 batches
    path, _ = census.write(tmp_path / "c.parquet")
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    loaded = load_census(path, history=False).pupils
    for name in STORED_AS_DICTIONARY:
        column = loaded[name]
        assert pa.types.is_dictionary(column.type) and column.num_chunks > 1, name
        assert shares_one_dictionary(column.chunks), name
        assert column.to_pylist() == census.pupils[name].to_pylist(), name


def test_a_block_keeps_families_whole_when_it_meets_its_quotas():
    """Blocks draw more families than their quotas need and keep some of their maternities.
    Kept families keep their siblings born in the register's window: a block used to keep each
    maternity by its own draw, and a quarter of the families it kept lost a sibling."""
    from matchsim.synth.census.families import draw_families, select_children
    from matchsim.synth.census.plan import build_plan

    plan = build_plan(CensusConfig(pupils=200_000, birth_years=(1990, 2012)), seed=5)
    rng = np.random.default_rng(1)
    target, quotas = int(plan.block_targets[0]), plan.block_quotas[0]
    births = draw_families(plan, rng, 90_000)
    chosen = select_children(plan, rng, births, target, quotas)
    assert chosen is not None
    offset = births.day - plan.calendar.window_start
    inside = (offset >= 0) & (offset < len(plan.calendar.days))
    eligible = np.zeros(len(offset), dtype=bool)
    eligible[inside] = plan.calendar.weight[offset[inside]] > 0
    families = births.family.max() + 1
    kept = np.bincount(births.family[chosen], minlength=families)
    born = np.bincount(births.family[eligible], minlength=families)
    assert kept.sum() < born.sum() * 0.9  # the block did leave families out
    present = kept > 0
    assert np.mean(kept[present] < born[present]) < 0.05


def _with_stored_config(path, change) -> None:
    """Rewrite a stored register's config metadata as another matchsim version might have."""
    import json

    import pyarrow.parquet as pq

    from matchsim.synth import METADATA_KEY

    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    info = json.loads(meta[METADATA_KEY])
    change(info["config"])
    meta[METADATA_KEY] = json.dumps(info).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def test_a_register_stored_by_another_version_is_read_with_its_settings_mended(tmp_path):
    from matchsim.errors import ProvenanceWarning
    from matchsim.synth import load_census

    census = generate_census(CensusConfig(pupils=1500, birth_years=(2005, 2009)), seed=3)
    path, _ = census.write(tmp_path / "old.parquet")
    _with_stored_config(path, lambda c: c["families"].update(children_mean=1.7))
    with pytest.warns(ProvenanceWarning, match="families do not fit"):
        loaded = load_census(path)
    assert loaded.pupils.equals(pa.parquet.read_table(path))  # the rows, as they were
    assert loaded.config.birth_years == (2005, 2009)  # what still fits is kept
    assert loaded.config.families == CensusConfig().families


def test_stored_settings_that_do_not_fit_are_named_and_take_defaults(tmp_path):
    from matchsim.errors import ProvenanceWarning
    from matchsim.synth import load_census

    census = generate_census(CensusConfig(pupils=1500), seed=3)
    path, _ = census.write(tmp_path / "odd.parquet")
    _with_stored_config(path, lambda c: c.update(birth_years=[2012, 1990], extra=1))
    with pytest.warns(ProvenanceWarning, match="birth_years, extra do not fit"):
        loaded = load_census(path)
    assert loaded.pupils.num_rows == census.pupils.num_rows
    assert loaded.config.birth_years == CensusConfig().birth_years


def test_a_register_read_without_its_history_looks_up_current_addresses_alike(tmp_path):
    from matchsim.linkage import lookup
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import load_census

    census = generate_census(CensusConfig(pupils=3000), seed=4)
    path, _ = census.write(tmp_path / "c.parquet")
    whole, pupils_only = load_census(path), load_census(path, history=False)
    assert whole.addresses.num_rows > 0 and pupils_only.addresses.num_rows == 0
    assert pupils_only.pupils.equals(whole.pupils)
    requests = generate_requests(whole, RequestConfig(profile="immigration", count=200), seed=5)
    a, b = lookup(whole, requests), lookup(pupils_only, requests)
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes)
