"""Property-based checks of the generator's building blocks against simple references."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.gb import upn as stdnum_upn

from matchsim.data import load_table
from matchsim.synth.calendar import (
    academic_cohort,
    date_to_days,
    reception_entry,
    year_group,
    year_month_day,
)
from matchsim.synth.census.upn import make_upns
from matchsim.synth.geography import Geography
from matchsim.synth.sampling import GroupedSampler, calibrate_zipf, zipf_mandelbrot

LA_NUMBERS = load_table("la_numbers")["la_number"].tolist()
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2150, 12, 31))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(LA_NUMBERS),
            st.integers(0, 9999),
            st.integers(0, 99),
            st.integers(1, 3298),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_every_generated_upn_validates_with_stdnum(fields):
    la, estab, year, serial = (np.array(col) for col in zip(*fields, strict=True))
    upns = make_upns(la, estab, year, serial).to_pylist()
    for upn, (la_i, estab_i, year_i, serial_i) in zip(upns, fields, strict=True):
        assert stdnum_upn.is_valid(upn), upn
        assert upn[1:10] == f"{la_i:03d}{estab_i:04d}{year_i:02d}"
        assert upn[-1].isdigit() == (serial_i <= 999)  # temporary UPNs end in a letter


@given(st.lists(dates, min_size=1, max_size=100))
def test_calendar_split_matches_datetime(values):
    days = np.array([date_to_days(d) for d in values])
    years, months, mdays = year_month_day(days)
    assert list(zip(years, months, mdays, strict=True)) == [
        (d.year, d.month, d.day) for d in values
    ]


@given(dates.filter(lambda d: 1901 <= d.year <= 2140))
def test_reception_entry_and_year_group(born):
    day = np.array([date_to_days(born)])
    entry = reception_entry(day)[0]
    fourth = dt.date(
        born.year + 4, born.month, 28 if (born.month, born.day) == (2, 29) else born.day
    )
    entry_date = dt.date(1970, 1, 1) + dt.timedelta(days=int(entry))
    assert (entry_date.month, entry_date.day) == (9, 1)
    assert fourth < entry_date <= dt.date(fourth.year + 1, 9, 1)
    # In the September of reception entry, the child is in year group 0.
    assert year_group(day, int(entry))[0] == 0
    assert academic_cohort(day)[0] == (born.year if born.month >= 9 else born.year - 1)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=8), min_size=1, max_size=5),
    st.integers(0, 2**32 - 1),
)
def test_grouped_sampler_draws_each_group_by_its_weights(groups, seed):
    sampler = GroupedSampler.from_groups(
        [(np.arange(len(w)) + 100 * g, np.array(w)) for g, w in enumerate(groups)]
    )
    rng = np.random.default_rng(seed)
    n = 40_000
    for g, weights in enumerate(groups):
        codes = sampler.draw(np.full(n, g), rng.random(n))
        assert ((codes >= 100 * g) & (codes < 100 * g + len(weights))).all()
        got = np.bincount(codes - 100 * g, minlength=len(weights)) / n
        expected = np.array(weights) / sum(weights)
        assert np.abs(got - expected).max() < 0.02


@settings(max_examples=20, deadline=None)
@given(st.integers(150, 3000), st.floats(0.5, 2.0), st.floats(0.0, 50.0))
def test_zipf_calibration_recovers_shares_of_a_zipf_law(n, exponent, offset):
    truth = zipf_mandelbrot(n, exponent, offset)
    targets = (float(truth[0]), float(truth[:10].sum()), float(truth[:100].sum()))
    fitted = zipf_mandelbrot(n, *calibrate_zipf(n, targets))
    assert np.isclose(fitted.sum(), 1.0)
    assert np.all(np.diff(fitted) <= 1e-15)  # frequencies fall with rank
    got = (fitted[0], fitted[:10].sum(), fitted[:100].sum())
    assert np.allclose(got, targets, rtol=0.05)


@given(st.integers(0, 5000), st.integers(0, 4095), st.integers(1, 511), st.integers(0, 15))
def test_address_slot_packing_round_trips(district, street, number, flat):
    slot = Geography.pack(
        np.array([district]), np.array([street]), np.array([number]), np.array([flat])
    )
    assert [int(x[0]) for x in Geography.unpack(slot)] == [district, street, number, flat]
