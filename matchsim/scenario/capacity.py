"""Whether a scenario fits this machine: its register, requests and lookup, estimated from
the measured per-row costs of :mod:`matchsim.synth.plan`, checked before any work."""

from __future__ import annotations

from dataclasses import replace

from matchsim.scenario.schema import Scenario
from matchsim.synth.plan import (
    HISTORY_RUN_BYTES_PER_ROW,
    HISTORY_RUN_SECONDS_PER_ROW,
    REQUEST_BYTES_PER_ROW,
    RUN_BYTES_PER_ROW,
    RUN_SECONDS_PER_ROW,
    RUN_WAYS_OUT,
    Estimate,
    MachineMemory,
    check_plan,
    check_structure,
    estimate_run,
)

#: Peak bytes per register row of the privacy section (``privacy:``), on top of the run's
#: own: grouping the register by each quasi-identifier combination (about 3 GB at 15.3
#: million rows). The encoded lookups encode only the records their candidate pairs touch,
#: and the attacks see a sample (below), so neither grows with the register.
PRIVACY_BYTES_PER_ROW = 200
#: The attacker's public name list: an independent synthetic population as large as the
#: sample attacked (200,000 by default), generated with its own name model.
PRIVACY_FIXED_BYTES = 1_000_000_000
#: Seconds of the privacy section per register row (the quasi-identifier grouping: 26 s at
#: 15.3 million rows) and per trade-off setting for every 200,000 records attacked (the
#: attacks and the encoded lookup: 265 s for nine settings). Measured on 7 Dec 2026:
#: ``pprl-home-office`` at national density (15,285,244 pupils) took 357 s and peaked at
#: 8.56 GB resident (6.31 GB anonymous, building the world) against the run's 5.5 GB.
PRIVACY_SECONDS_PER_ROW = 2e-6
PRIVACY_SECONDS_PER_SETTING = 30.0


def privacy_bytes(scenario: Scenario, rows: int) -> int:
    """Peak bytes the privacy section adds to a run on ``rows`` register rows (0 without
    ``privacy:``): the quasi-identifier grouping, the attacker's reference population, and
    the attacks' sample with every bit of a (balanced, so twice as long) filter unpacked to
    a byte."""
    privacy = scenario.privacy
    if privacy is None:
        return 0
    bits = int(privacy.encoding.get("length", 1024))
    attacked = min(privacy.attack_records, rows)
    return rows * PRIVACY_BYTES_PER_ROW + PRIVACY_FIXED_BYTES + attacked * 2 * bits


def privacy_seconds(scenario: Scenario, rows: int) -> float:
    """Seconds the privacy section adds to a run on ``rows`` register rows."""
    privacy = scenario.privacy
    if privacy is None:
        return 0.0
    attacked = min(privacy.attack_records, rows)
    settings = len(privacy.tradeoff)
    return rows * PRIVACY_SECONDS_PER_ROW + settings * PRIVACY_SECONDS_PER_SETTING * (
        attacked / 200_000
    )


#: Extra peak bytes per register row of a lookup scored by Splink (``lookup.matcher: splink``):
#: Splink copies both sides into an in-memory DuckDB database and trains on it. Measured on
#: 7 Dec 2026: ``peers-compared`` with ``lookup.matcher=splink`` at national density
#: (9,092,073 pupils, 5,000 requests) peaked at 6.98 GB against 3.33 GB for matchsim's own
#: matcher on the same run, 401 bytes a row more.
SPLINK_BYTES_PER_ROW = 500
#: Seconds per register row and per 1,000 requests of Splink's training: its EM session
#: blocked on date of birth pairs every request with every pupil born that day. The same
#: run took 1,381 s to match (one DuckDB thread, for reproducible scores): 30 µs a row per
#: 1,000 requests.
SPLINK_SECONDS_PER_ROW_PER_1000_REQUESTS = 30e-6


def matcher_name(scenario: Scenario) -> str:
    """The name of the scenario's matcher (given as a name or as a mapping with ``name``)."""
    matcher = scenario.lookup.matcher
    if isinstance(matcher, dict):
        return str(matcher.get("name", ""))
    return matcher if isinstance(matcher, str) else type(matcher).__name__


def scenario_estimate(scenario: Scenario, points: int = 1) -> Estimate:
    """Peak memory and time of ``points`` runs of ``scenario`` at once (a sweep's parallel
    points); with ``executor: dask`` the register is held a partition at a time. A lookup on
    every address a family had (``lookup.addresses: history``), Splink as the matcher and the
    privacy section cost more per register row than a plain lookup."""
    partitions = (scenario.partitions or 2) if scenario.executor == "dask" else None
    requests = scenario.requests.resolve()[1].count or 0  # 0: the profile derives it
    history = scenario.lookup.addresses == "history"
    estimate = estimate_run(
        scenario.population,
        partitions,
        requests,
        bytes_per_row=HISTORY_RUN_BYTES_PER_ROW if history else RUN_BYTES_PER_ROW,
        seconds_per_row=HISTORY_RUN_SECONDS_PER_ROW if history else RUN_SECONDS_PER_ROW,
    )
    if matcher_name(scenario) == "splink":
        per_thousand = max(estimate.requests, 1000) / 1000
        estimate = replace(
            estimate,
            memory=estimate.memory + SPLINK_BYTES_PER_ROW * estimate.rows,
            seconds=estimate.seconds
            + SPLINK_SECONDS_PER_ROW_PER_1000_REQUESTS * estimate.rows * per_thousand,
        )
    if scenario.privacy is not None:
        estimate = replace(
            estimate,
            memory=estimate.memory + privacy_bytes(scenario, estimate.rows),
            seconds=estimate.seconds + privacy_seconds(scenario, estimate.rows),
        )
    if points > 1:
        estimate = replace(
            estimate, memory=estimate.memory * points, processes=estimate.processes * points
        )
    return estimate


def check_scenario_fits(
    scenario: Scenario,
    *,
    on_cluster: bool = False,
    force: bool = False,
    points: int = 1,
    memory: MachineMemory | None = None,
) -> None:
    """Refuse a scenario that cannot run here, naming the setting that drives the estimate
    (``population.pupils`` or ``requests.count``). On an existing cluster the memory is the
    workers', so only the structural limits are checked."""
    check_structure(scenario.population, "population.pupils")
    if on_cluster:
        return
    estimate = scenario_estimate(scenario, points)
    # The setting to name is the one behind most of one run's memory.
    requests_bytes = REQUEST_BYTES_PER_ROW * estimate.requests
    by_requests = requests_bytes > scenario_estimate(scenario).memory - requests_bytes
    parameter = "requests.count" if by_requests else "population.pupils"
    check_plan(estimate, parameter, force=force, memory=memory, ways_out=RUN_WAYS_OUT)
