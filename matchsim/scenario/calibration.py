"""What the published Home Office figures can and cannot tell about a lookup.

DfE published how many people the Home Office asked about and how many were "matched and
returned", never how many of them were really in the National Pupil Database. A simulated
lookup gives, for people who are in the register and for people who are not, the share that
get a child back. The published returned share ``R`` is then a mixture:

    R = s * r_in + (1 - s) * r_out

where ``s`` is the share of requested people who are in the register, ``r_in`` the share of
them returned a child (correctly or not) and ``r_out`` the share of the others returned a child
(necessarily the wrong one). So ``s = (R - r_out) / (r_in - r_out)``: solved here separately for
each published period, with an interval that carries the binomial uncertainty of the published
counts and of the simulated rates (Jeffreys Beta draws, propagated by simulation).

What this cannot tell: the returned share is dominated by correct returns, so it pins down
``s`` but hardly the false-match rate; the false and missed rates are therefore reported across
the whole band of ``s`` that the published figures allow, per 1,500 requests (the MOU's
monthly batch) and per year at the realised volume. Independent checks (the police and DWP
requests, the trend between periods) are listed with a verdict each. See docs/calibration.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError
from matchsim.scenario.runner import Stage, run_scenario
from matchsim.scenario.schema import Scenario

if TYPE_CHECKING:
    from matchsim.distributed import Executor


@dataclass(frozen=True)
class PublishedPeriod:
    label: str
    requested: int
    returned: int
    source: str

    @property
    def share(self) -> float:
        return self.returned / self.requested


#: Published Home Office lookups. The second period is the 2015-22 total less 2015-16.
HOME_OFFICE_PERIODS: tuple[PublishedPeriod, ...] = (
    PublishedPeriod(
        "Jul 2015 - Sep 2016",
        2_461,
        531,
        "Written statement HCWS272 (27 Nov 2017); PQs 48634 and 52645",
    ),
    PublishedPeriod(
        "Oct 2016 - Sep 2022",
        6_883 - 2_461,
        1_780 - 531,
        "DfE external data shares, Dec 2022 (6,883 requested, 1,780 returned in 2015-22), "
        "less HCWS272's 2015-16 figures",
    ),
)
#: Requests in one MOU batch: "in the region of 1,500 individuals" a month (MOU, Dec 2015).
MONTHLY_BATCH = 1_500
#: Requests a year at the realised volume: 6,883 over the seven years 2015-22 (DfE, Dec 2022).
REQUESTS_PER_YEAR = 6_883 / 7
#: The police request of Nov 2019 (DfE FOI 2020-0041447): pupils of one school.
POLICE_COHORT = 2_136
#: The DWP check of Apr 2018 (DfE data register): 185 identities, 1 positive match.
DWP_IDENTITIES, DWP_MATCHES = 185, 1


@dataclass(frozen=True)
class SimulatedRates:
    """Outcome counts of a simulated lookup, split by whether the person is registered."""

    n_in: int
    correct_in: int
    false_in: int
    missed_in: int
    n_out: int
    false_out: int

    @property
    def returned_in(self) -> int:
        return self.correct_in + self.false_in

    @classmethod
    def from_outcomes(cls, outcome: np.ndarray, in_register: np.ndarray) -> SimulatedRates:
        outcome = np.asarray(outcome).astype(str)
        in_register = np.asarray(in_register, dtype=bool)

        def count(name: str, mask: np.ndarray) -> int:
            return int(np.count_nonzero((outcome == name) & mask))

        return cls(
            n_in=int(in_register.sum()),
            correct_in=count("correct_match", in_register),
            false_in=count("false_match", in_register),
            missed_in=count("missed_match", in_register),
            n_out=int((~in_register).sum()),
            false_out=count("false_match", ~in_register),
        )


@dataclass(frozen=True)
class SolvedShare:
    period: PublishedPeriod
    share: float  # point estimate of s (may fall outside 0-1: then no s fits)
    low: float
    high: float

    @property
    def feasible(self) -> bool:
        return self.high >= 0.0 and self.low <= 1.0


def solve_in_register_share(returned: float, r_in: float, r_out: float) -> float:
    """The in-register share ``s`` with ``returned = s*r_in + (1-s)*r_out``.

    >>> round(solve_in_register_share(0.25, 0.9, 0.02), 4)
    0.2614
    """
    if not r_in > r_out:
        raise ConfigError(
            "r_in",
            f"{r_in:.4g} must exceed r_out {r_out:.4g}: a lookup that returns registered "
            "people no more often than others cannot be calibrated",
        )
    return (returned - r_out) / (r_in - r_out)


def _beta(rng: np.random.Generator, k: int, n: int, draws: int) -> np.ndarray:
    # Jeffreys posterior of a binomial share: the interval keeps some width at k = 0.
    return rng.beta(k + 0.5, n - k + 0.5, draws)


def solve_period(
    period: PublishedPeriod,
    sim: SimulatedRates,
    *,
    draws: int = 20_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> SolvedShare:
    """``s`` for one published period with its interval (published and simulated uncertainty)."""
    if sim.n_in == 0 or sim.n_out == 0:
        raise ConfigError(
            "requests",
            "the simulation needs requests both in and out of the register "
            f"(got {sim.n_in} in, {sim.n_out} out)",
        )
    r_in, r_out = sim.returned_in / sim.n_in, sim.false_out / sim.n_out
    point = solve_in_register_share(period.share, r_in, r_out)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(period.requested,)))
    big_r = _beta(rng, period.returned, period.requested, draws)
    d_in = _beta(rng, sim.returned_in, sim.n_in, draws)
    d_out = _beta(rng, sim.false_out, sim.n_out, draws)
    s = (big_r - d_out) / np.maximum(d_in - d_out, 1e-12)
    tail = (1 - confidence) / 2
    low, high = np.quantile(s, [tail, 1 - tail])
    return SolvedShare(period, float(point), float(low), float(high))


@dataclass(frozen=True)
class RatesAtShare:
    """What one in-register share implies, per request, with 95% intervals from the
    simulated counts (Jeffreys Beta draws)."""

    share: float
    returned: float
    false_match: float  # wrong child returned, share of all requests
    false_match_low: float
    false_match_high: float
    missed: float  # registered person returned nothing, share of all requests
    missed_low: float
    missed_high: float
    false_of_returned: float

    def per(self, volume: float) -> dict[str, float]:
        return {
            k: getattr(self, k) * volume
            for k in (
                "returned",
                "false_match",
                "false_match_low",
                "false_match_high",
                "missed",
                "missed_low",
                "missed_high",
            )
        }


def rates_at_share(
    sim: SimulatedRates, s: float, *, draws: int = 20_000, seed: int = 0
) -> RatesAtShare:
    """Returned, false and missed rates per request if a share ``s`` is in the register."""
    s = min(max(s, 0.0), 1.0)
    f_in, f_out = sim.false_in / sim.n_in, sim.false_out / sim.n_out
    ret = s * sim.returned_in / sim.n_in + (1 - s) * f_out
    false = s * f_in + (1 - s) * f_out
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    false_draws = s * _beta(rng, sim.false_in, sim.n_in, draws) + (1 - s) * _beta(
        rng, sim.false_out, sim.n_out, draws
    )
    missed_draws = s * _beta(rng, sim.missed_in, sim.n_in, draws)
    f_lo, f_hi = np.quantile(false_draws, [0.025, 0.975])
    m_lo, m_hi = np.quantile(missed_draws, [0.025, 0.975])
    return RatesAtShare(
        share=s,
        returned=ret,
        false_match=false,
        false_match_low=float(f_lo),
        false_match_high=float(f_hi),
        missed=s * sim.missed_in / sim.n_in,
        missed_low=float(m_lo),
        missed_high=float(m_hi),
        false_of_returned=false / ret if ret > 0 else float("nan"),
    )


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str  # "consistent", "inconsistent" or "cannot tell"
    detail: str
    source: str


@dataclass
class CalibrationReport:
    scenario: str
    sim: SimulatedRates
    solved: list[SolvedShare]
    band: tuple[float, float]
    band_rates: list[RatesAtShare]
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "simulated": asdict(self.sim),
            "periods": [
                {
                    "period": s.period.label,
                    "requested": s.period.requested,
                    "returned": s.period.returned,
                    "returned_share": s.period.share,
                    "source": s.period.source,
                    "in_register_share": s.share,
                    "low": s.low,
                    "high": s.high,
                }
                for s in self.solved
            ],
            "band": list(self.band),
            "band_rates": [
                asdict(r)
                | {
                    "per_batch": r.per(MONTHLY_BATCH),
                    "per_year": r.per(REQUESTS_PER_YEAR),
                }
                for r in self.band_rates
            ],
            "volumes": {"batch": MONTHLY_BATCH, "per_year": REQUESTS_PER_YEAR},
            "checks": [asdict(c) for c in self.checks],
        }


def trend_check(solved: list[SolvedShare]) -> Check:
    """Can one fixed in-register share produce both periods' returned shares?"""
    first, second = solved[0], solved[1]
    overlap = first.high >= second.low and second.high >= first.low
    return Check(
        "one in-register share for both periods",
        "consistent" if overlap else "inconsistent",
        f"{first.period.label}: {first.low:.1%}-{first.high:.1%}; "
        f"{second.period.label}: {second.low:.1%}-{second.high:.1%}"
        + ("" if overlap else "; the mix of requests (or the lookup) changed between periods"),
        "HCWS272; DfE external data shares, Dec 2022",
    )


def sensitivity_check(sim: SimulatedRates, solved: list[SolvedShare]) -> Check:
    """Would the published returned share notice if false matches doubled?"""
    s = solved[-1].share
    base = rates_at_share(sim, s)
    doubled = base.returned + base.false_match  # every false match counted twice
    period = solved[-1].period
    half_width = 1.96 * np.sqrt(period.share * (1 - period.share) / period.requested)
    shift = doubled - base.returned
    return Check(
        "returned share reveals the false-match rate",
        "cannot tell" if shift < half_width else "consistent",
        f"doubling false matches moves the returned share by {shift:.2%}, against "
        f"±{half_width:.2%} sampling error in the published {period.label} share",
        "HCWS272; DfE external data shares, Dec 2022",
    )


def dwp_check(sim: SimulatedRates) -> Check:
    """185 identities, one positive: how likely under the simulated false-match rate?"""
    r_out = sim.false_out / sim.n_out
    r_in = sim.returned_in / sim.n_in
    # The profile's reading: one of the 185 was a real pupil, the rest were not registered.
    expected = (DWP_IDENTITIES - 1) * r_out + r_in
    k = np.arange(DWP_MATCHES + 1)
    p_at_most = float(np.sum(np.exp(-expected) * expected**k / np.cumprod(np.r_[1, k[1:]])))
    return Check(
        "DWP: 185 identities, 1 match",
        "consistent" if p_at_most >= 0.05 else "inconsistent",
        f"expected {expected:.2f} returned; P(at most {DWP_MATCHES}) = {p_at_most:.2f}",
        "DfE data register, Apr 2018",
    )


def police_check(pupils: pa.Table) -> Check:
    """The police asked for 2,136 pupils of one school: does the register hold a school that big?"""
    born = pc.year(pupils["date_of_birth"]).to_numpy(zero_copy_only=False)
    entry = pc.year(pupils["entry_date"]).to_numpy(zero_copy_only=False)
    leaving = (
        pc.fill_null(pc.year(pupils["leaving_date"]), 9999).to_numpy(zero_copy_only=False)
        if "leaving_date" in pupils.column_names
        else np.full(len(born), 9999)
    )
    school = pupils["school_id"].to_numpy(zero_copy_only=False)
    # As profiles.select_school_cohort: born 1992-95, or at secondary school in 2006-09.
    wanted = ((born >= 1992) & (born <= 1995)) | ((entry + 7 <= 2009) & (leaving >= 2006))
    if not wanted.any():
        return Check(
            "police: 2,136 pupils of one school",
            "cannot tell",
            "the register holds no pupil born 1992-95 or at secondary school in 2006-09",
            "DfE FOI 2020-0041447",
        )
    largest = int(np.bincount(school[wanted]).max())
    return Check(
        "police: 2,136 pupils of one school",
        "consistent" if largest >= POLICE_COHORT else "inconsistent",
        f"largest such school in the register: {largest:,} pupils"
        + ("" if largest >= POLICE_COHORT else "; the register is too sparse for this request"),
        "DfE FOI 2020-0041447",
    )


def calibrate_from(
    scenario: str,
    outcome: np.ndarray,
    in_register: np.ndarray,
    pupils: pa.Table | None = None,
    *,
    seed: int = 0,
    periods: tuple[PublishedPeriod, ...] = HOME_OFFICE_PERIODS,
) -> CalibrationReport:
    """The calibration report from one simulated run's outcomes (both groups of requests)."""
    sim = SimulatedRates.from_outcomes(outcome, in_register)
    solved = [solve_period(p, sim, seed=seed) for p in periods]
    lo = max(0.0, min(s.low for s in solved))
    hi = min(1.0, max(s.high for s in solved))
    # The band's ends and each period's own solution.
    steps = np.unique(np.r_[[lo, hi], [s.share for s in solved]].clip(lo, hi))
    checks = []
    if len(solved) >= 2:
        checks.append(trend_check(solved))
    checks.append(sensitivity_check(sim, solved))
    checks.append(dwp_check(sim))
    if pupils is not None and {"school_id", "entry_date"} <= set(pupils.column_names):
        checks.append(police_check(pupils))
    return CalibrationReport(
        scenario=scenario,
        sim=sim,
        solved=solved,
        band=(lo, hi),
        band_rates=[rates_at_share(sim, float(s), seed=seed) for s in steps],
        checks=checks,
    )


def calibrate_scenario(
    scenario: Scenario,
    stage: Stage | None = None,
    *,
    in_register_share: float = 0.5,
    count: int | None = None,
    executor: Executor | None = None,
) -> CalibrationReport:
    """Run ``scenario`` once with ``in_register_share`` of its requests in the register (both
    groups then carry enough requests to estimate their rates) and calibrate from it.
    ``count`` overrides the scenario's number of requests (more narrows the intervals)."""
    if scenario.requests.profile != "immigration":
        raise ConfigError(
            "requests.profile",
            f"calibrate compares with the published Home Office lookups, so it needs the "
            f"immigration profile (got {scenario.requests.profile!r})",
        )
    if not 0.0 < in_register_share < 1.0:
        raise ConfigError(
            "in_register_share", f"{in_register_share} must be strictly between 0 and 1"
        )
    update: dict[str, Any] = {"in_register_share": in_register_share}
    if count is not None:
        if count < 2:
            raise ConfigError("count", f"{count} requests cannot hold both groups; use at least 2")
        update["count"] = count
    requests = scenario.requests.model_copy(update=update)
    run = run_scenario(scenario.model_copy(update={"requests": requests}), stage, executor=executor)
    per_request = run.result.evaluation.per_request
    return calibrate_from(
        scenario.name,
        per_request["outcome"].to_numpy(),
        per_request["in_register"].to_numpy(dtype=bool),
        run.census.pupils,
        seed=scenario.seed,
    )
