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

#: Peak bytes per register row of the privacy section (``privacy:``) at 1,024-bit
#: encodings, on top of the run's own: every trade-off setting encodes the whole register in
#: turn (CLKs, 128 bytes a record at 1,024 bits, twice that balanced, and each field's
#: filters with their q-gram temporaries), one at a time. Measured on 7 Dec 2026:
#: ``pprl-home-office`` at national density (15,285,244 pupils, nine settings) peaked at
#: 15.7 GB resident (11.3 GB anonymous) against the run's 5.5 GB, 612 bytes a row more.
PRIVACY_BYTES_PER_ROW = 700
#: Bits of the encodings PRIVACY_BYTES_PER_ROW was measured at; longer ones cost more in
#: proportion (shorter ones are not assumed cheaper: the temporaries do not shrink).
PRIVACY_MEASURED_BITS = 1024
#: Seconds per register row of the privacy section (the same run: 509 s, 33 µs a row; its
#: attacks see a sample, so most of it is the nine settings' encoded lookups).
PRIVACY_SECONDS_PER_ROW = 35e-6


def privacy_bytes(scenario: Scenario, rows: int) -> int:
    """Peak bytes the privacy section adds to a run on ``rows`` register rows (0 without
    ``privacy:``): the register's encodings, and the attacks' sample with every bit of a
    (balanced, so twice as long) filter unpacked to a byte."""
    privacy = scenario.privacy
    if privacy is None:
        return 0
    bits = int(privacy.encoding.get("length", PRIVACY_MEASURED_BITS))
    scale = max(bits, PRIVACY_MEASURED_BITS) / PRIVACY_MEASURED_BITS
    attacked = min(privacy.attack_records, rows)
    return int(rows * PRIVACY_BYTES_PER_ROW * scale) + attacked * 2 * bits


def scenario_estimate(scenario: Scenario, points: int = 1) -> Estimate:
    """Peak memory and time of ``points`` runs of ``scenario`` at once (a sweep's parallel
    points); with ``executor: dask`` the register is held a partition at a time. A lookup on
    every address a family had (``lookup.addresses: history``) and the privacy section cost
    more per register row than a plain lookup."""
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
    if scenario.privacy is not None:
        estimate = replace(
            estimate,
            memory=estimate.memory + privacy_bytes(scenario, estimate.rows),
            seconds=estimate.seconds + PRIVACY_SECONDS_PER_ROW * estimate.rows,
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
