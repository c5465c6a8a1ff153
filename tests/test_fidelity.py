"""The fidelity table on a 200,000-pupil register: every row sourced and toleranced, and the
rows whose generator is calibrated to its source pass at that size."""

from __future__ import annotations

import math

import pytest

from matchsim.fidelity import FidelityRow, fidelity_rows
from matchsim.synth import CensusConfig, generate_census


@pytest.fixture(scope="module")
def rows() -> list[FidelityRow]:
    census = generate_census(CensusConfig(pupils=200_000, birth_years=(1992, 2019)), seed=3)
    return fidelity_rows(census, seed=1)


def test_every_row_has_a_source_and_a_tolerance_or_says_why_not(rows) -> None:
    groups = {r.group for r in rows}
    assert groups == {"population", "moves", "forenames", "surnames", "request errors"}
    for r in rows:
        assert r.source.strip(), r
        assert math.isfinite(r.generated), r
        if r.status == "info":
            assert r.tolerance is None and not math.isfinite(r.published)
        else:
            assert r.tolerance is not None and r.tolerance > 0, r


# Rows calibrated to their sources in this package: moves, request errors and surnames (anchors
# carried to children). The first-name rows are judged per birth year and sex, about 4,000
# children each at 200k, too few for their 10% tolerances (tests/synth/test_forenames.py checks
# them at national cohort size). The register size row fails at 200k by design (national
# density is the default).
CALIBRATED = ("moves", "request errors", "surnames")
CALIBRATED_POPULATION = ("births by year", "births 26 Sep", "twins", "dependent children")


def test_calibrated_rows_pass_at_200k(rows) -> None:
    judged = [
        r
        for r in rows
        if r.group in CALIBRATED
        or (r.group == "population" and r.measure.startswith(CALIBRATED_POPULATION))
    ]
    assert len(judged) >= 14
    failing = [(r.measure, r.generated, r.published) for r in judged if r.status != "pass"]
    assert not failing


@pytest.fixture(scope="module")
def home_office_rows() -> dict[str, FidelityRow]:
    """The default national scenario's register (born 1990-2012), at 200,000 pupils."""
    census = generate_census(CensusConfig(pupils=200_000, birth_years=(1990, 2012)), seed=2015)
    return {r.measure: r for r in fidelity_rows(census, include_requests=False)}


def test_moves_at_0_5_pass_when_the_register_ends_before_the_window(home_office_rows) -> None:
    # Everyone born 2013-20 is missing from this register and young all through the window
    # (2010-20): the raw share of moves at ages 0-5 was 44% against 59%.
    row = home_office_rows["share of children's moves made at ages 0-5"]
    assert row.status == "pass", (row.generated, row.published)


def test_moves_in_the_last_year_count_every_age_1_17(home_office_rows) -> None:
    # At the 2024 census this register holds only children aged 11-17 (5.8% moved in the last
    # year); the year after its youngest child's birth holds every age 1-17.
    row = home_office_rows["children aged 1-17 who moved in the last year"]
    assert row.status == "pass", (row.generated, row.published)


def test_dependent_children_per_family_pass_on_the_registers_last_birthday(
    home_office_rows,
) -> None:
    # Counting every child a family has in the register compared sibling sets over 23 years
    # with ONS's count of dependent children on one day; blocks also dropped siblings and
    # families were given 1.7 children over their lives (1.42 against 1.7).
    row = next(r for m, r in home_office_rows.items() if m.startswith("dependent children"))
    assert "31 Dec 2012" in row.measure
    assert row.status == "pass", (row.generated, row.published)


def test_a_sparse_register_fails_the_density_row(rows) -> None:
    size = next(r for r in rows if r.measure.startswith("pupils"))
    assert size.status == "FAIL" and size.published > 10 * size.generated


def test_a_census_cannot_show_childhood_moves_of_adults_or_families_under_4() -> None:
    census = generate_census(CensusConfig(pupils=20_000), seed=2)
    rows = fidelity_rows(census, include_requests=False)
    moves = {r.measure: r for r in rows if r.group == "moves"}
    na = [r for r in moves.values() if r.status == "n/a"]
    # Pupils on roll are 4-18: no one under 4 for the one-year row, no adults for the SAIL rows.
    assert len(na) == 3 and all("lacks children" in r.not_applicable for r in na)
    assert all(r.status != "n/a" for r in moves.values() if r not in na)
    family = next(r for r in rows if r.measure.startswith("dependent children"))
    assert family.status == "n/a" and "lacks children" in family.not_applicable


def testname_stats_on_known_counts() -> None:
    from matchsim.fidelity import name_stats

    top1, top10, top100, collision = name_stats([5, 3, 2])
    assert (top1, top10, top100) == (0.5, 1.0, 1.0)
    # Two different children of ten share a name: (5*4 + 3*2 + 2*1) / (10*9).
    assert collision == 28 / 90


def test_status_follows_the_tolerance() -> None:
    def row(gen: float, tol: float | None, relative: bool = False) -> FidelityRow:
        return FidelityRow("g", "m", gen, 0.5, tol, relative, "s")

    assert row(0.52, 0.03).status == "pass"
    assert row(0.54, 0.03).status == "FAIL"
    assert row(0.54, 0.10, relative=True).status == "pass"
    assert row(0.56, 0.10, relative=True).status == "FAIL"
    assert FidelityRow("g", "m", 0.1, math.nan, None, False, "s").status == "info"


def test_household_sample_keeps_whole_families_and_the_shares() -> None:
    from matchsim.fidelity import household_sample
    from matchsim.synth.mobility import mover_statistics

    census = generate_census(CensusConfig(pupils=300_000, birth_years=(1992, 2019)), seed=4)
    sample = household_sample(census, 100_000)
    kept = set(sample.pupils["household_id"].to_pylist())
    everyone = census.pupils["household_id"].to_numpy()
    # Whole households: every pupil of a kept household is in the sample.
    assert sample.pupils.num_rows == sum(1 for h in everyone if h in kept)
    assert 100_000 <= sample.pupils.num_rows < 150_000
    whole = mover_statistics(census.pupils, census.addresses, census.config.census_date)
    part = mover_statistics(sample.pupils, sample.addresses, census.config.census_date)
    for key, value in whole.as_dict().items():
        assert abs(part.as_dict()[key] - value) < 0.02, key


def test_forename_reference_comes_from_the_ons_lists_when_shipped(monkeypatch) -> None:
    import pandas as pd

    import matchsim.fidelity as fidelity

    census = generate_census(CensusConfig(pupils=20_000, birth_years=(1996, 2012)), seed=1)
    # A stand-in for the ONS full lists: every cohort's names are Aa (60) and Bb (40).
    ons = pd.DataFrame(
        [
            (y, s, n, c)
            for y in range(1996, 2021)
            for s in "MF"
            for n, c in (("Aa", 60), ("Bb", 40))
        ],
        columns=["year", "sex", "name", "n"],
    )
    monkeypatch.setattr(fidelity, "ons_forenames", lambda: ons)
    rows = fidelity.forename_rows(census)
    years = {int(r.measure.split("born ")[1][:4]) for r in rows}
    assert years == {1996, 2004, 2012}  # first, middle and last cohorts of the register
    top = [r for r in rows if "top name's share" in r.measure]
    assert top and all(r.published == 0.6 for r in top)
    collision = [r for r in rows if "share a forename" in r.measure]
    assert all(r.published == pytest.approx((60 * 59 + 40 * 39) / (100 * 99)) for r in collision)
    assert all(r.status == "FAIL" for r in collision)  # the register's names are far more varied
