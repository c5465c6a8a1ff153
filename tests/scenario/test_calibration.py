"""The in-register share solver on inputs with known answers, the checks' verdicts, and one
tiny end-to-end calibration of a scenario."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.scenario import load_scenario
from matchsim.scenario.calibration import (
    HOME_OFFICE_PERIODS,
    PublishedPeriod,
    SimulatedRates,
    calibrate_from,
    calibrate_scenario,
    dwp_check,
    police_check,
    rates_at_share,
    solve_in_register_share,
    solve_period,
    trend_check,
)


@settings(max_examples=80, deadline=None)
@given(
    s=st.floats(0.0, 1.0),
    r_in=st.floats(0.5, 1.0),
    r_out=st.floats(0.0, 0.2),
)
def test_solver_inverts_the_mixture(s: float, r_in: float, r_out: float) -> None:
    returned = s * r_in + (1 - s) * r_out
    assert solve_in_register_share(returned, r_in, r_out) == pytest.approx(s, abs=1e-9)


def test_solver_refuses_a_lookup_that_cannot_separate_the_groups() -> None:
    with pytest.raises(ConfigError, match="r_in"):
        solve_in_register_share(0.2, 0.1, 0.1)


def _sim(n_in: int, returned_in: int, false_in: int, n_out: int, false_out: int) -> SimulatedRates:
    return SimulatedRates(
        n_in=n_in,
        correct_in=returned_in - false_in,
        false_in=false_in,
        missed_in=n_in - returned_in,
        n_out=n_out,
        false_out=false_out,
    )


def test_from_outcomes_counts_each_group() -> None:
    outcome = np.array(
        ["correct_match", "false_match", "missed_match", "false_match", "correct_non_match"]
    )
    in_register = np.array([True, True, True, False, False])
    sim = SimulatedRates.from_outcomes(outcome, in_register)
    assert sim == _sim(3, 2, 1, 2, 1)
    assert sim.returned_in == 2


def test_known_share_is_recovered_with_an_interval_that_holds_it() -> None:
    # Lookup: 90% of registered people returned, 1% of others. True share 0.25 gives 23.25%.
    sim = _sim(100_000, 90_000, 500, 100_000, 1_000)
    period = PublishedPeriod("test", 40_000, round(40_000 * (0.25 * 0.9 + 0.75 * 0.01)), "x")
    solved = solve_period(period, sim, seed=1)
    assert solved.share == pytest.approx(0.25, abs=0.002)
    assert solved.low < 0.25 < solved.high
    # Fewer published requests: a wider interval around the same point.
    small = PublishedPeriod("small", 400, round(400 * period.share), "x")
    wide = solve_period(small, sim, seed=1)
    assert (wide.high - wide.low) > 5 * (solved.high - solved.low)


def test_rates_at_share_mix_the_groups() -> None:
    sim = _sim(1_000, 900, 10, 1_000, 20)
    r = rates_at_share(sim, 0.5)
    assert r.returned == pytest.approx(0.5 * 0.9 + 0.5 * 0.02)
    assert r.false_match == pytest.approx(0.5 * 0.01 + 0.5 * 0.02)
    assert r.missed == pytest.approx(0.5 * 0.1)
    assert r.false_match_low < r.false_match < r.false_match_high
    assert r.per(1_500)["false_match"] == pytest.approx(1_500 * r.false_match)


def test_trend_check_tells_one_share_from_two() -> None:
    sim = _sim(50_000, 45_000, 50, 50_000, 500)
    same = [solve_period(PublishedPeriod(str(i), 5_000, 1_200, "x"), sim, seed=i) for i in range(2)]
    assert trend_check(same).verdict == "consistent"
    apart = [solve_period(p, sim) for p in HOME_OFFICE_PERIODS]
    assert trend_check(apart).verdict == "inconsistent"


def test_dwp_check_flags_a_lookup_that_returns_many_strangers() -> None:
    assert dwp_check(_sim(1_000, 900, 0, 1_000, 1)).verdict == "consistent"
    assert dwp_check(_sim(1_000, 900, 0, 1_000, 100)).verdict == "inconsistent"


def test_police_check_needs_a_big_enough_school() -> None:
    n = 3_000
    pupils = pa.table(
        {
            "school_id": np.r_[np.zeros(2_200, int), np.ones(n - 2_200, int)],
            "date_of_birth": pa.array([dt.date(1993, 5, 1)] * n),
            "entry_date": pa.array([dt.date(1997, 9, 1)] * n),
            "leaving_date": pa.array([dt.date(2009, 7, 20)] * n),
        }
    )
    assert police_check(pupils).verdict == "consistent"
    assert police_check(pupils.slice(0, 2_000)).verdict == "inconsistent"
    later = pupils.set_column(1, "date_of_birth", pa.array([dt.date(2005, 5, 1)] * n))
    later = later.set_column(2, "entry_date", pa.array([dt.date(2009, 9, 1)] * n))
    assert police_check(later).verdict == "cannot tell"


def test_calibrate_from_band_spans_both_periods() -> None:
    outcome = np.array(["correct_match"] * 900 + ["missed_match"] * 100 + ["correct_non_match"] * 990
                       + ["false_match"] * 10)  # fmt: skip
    in_register = np.r_[np.ones(1_000, bool), np.zeros(1_000, bool)]
    report = calibrate_from("t", outcome, in_register)
    lo, hi = report.band
    for solved in report.solved:
        assert lo <= solved.low and solved.high <= hi
    shares = [r.share for r in report.band_rates]
    assert shares[0] == pytest.approx(lo) and shares[-1] == pytest.approx(hi)
    assert {c.name for c in report.checks} >= {
        "one in-register share for both periods",
        "DWP: 185 identities, 1 match",
    }
    assert report.as_dict()["volumes"]["batch"] == 1_500


def test_tiny_end_to_end_calibration() -> None:
    scenario = load_scenario(
        "scenarios/home-office-lookup.yaml",
        ["population.pupils=20000", "report.examples=0"],
    )
    report = calibrate_scenario(scenario, count=400)
    sim = report.sim
    assert sim.n_in == 200 and sim.n_out == 200
    for solved in report.solved:
        # The solution reproduces the published share with the simulated rates.
        r = rates_at_share(sim, solved.share)
        assert r.returned == pytest.approx(solved.period.share, abs=1e-9)
    assert any(c.name.startswith("police") for c in report.checks)


def test_in_register_share_must_leave_both_groups() -> None:
    scenario = load_scenario("scenarios/home-office-lookup.yaml", ["population.pupils=2000"])
    with pytest.raises(ConfigError, match="in_register_share"):
        calibrate_scenario(scenario, in_register_share=1.0)


def test_calibrate_needs_the_home_office_profile() -> None:
    scenario = load_scenario("scenarios/twins.yaml", ["population.pupils=2000"])
    with pytest.raises(ConfigError, match="immigration profile"):
        calibrate_scenario(scenario)
