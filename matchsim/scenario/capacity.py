"""Whether a scenario fits this machine: its register, requests and lookup, estimated from
the measured per-row costs of :mod:`matchsim.synth.plan`, checked before any work."""

from __future__ import annotations

from dataclasses import replace

from matchsim.scenario.schema import Scenario
from matchsim.synth.plan import (
    REQUEST_BYTES_PER_ROW,
    RUN_BYTES_PER_ROW,
    RUN_WAYS_OUT,
    Estimate,
    MachineMemory,
    check_plan,
    check_structure,
    estimate_run,
)


def scenario_estimate(scenario: Scenario, points: int = 1) -> Estimate:
    """Peak memory and time of ``points`` runs of ``scenario`` at once (a sweep's parallel
    points); with ``executor: dask`` the register is held a partition at a time."""
    partitions = (scenario.partitions or 2) if scenario.executor == "dask" else None
    requests = scenario.requests.resolve()[1].count or 0  # 0: the profile derives it
    estimate = estimate_run(scenario.population, partitions, requests)
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
    by_requests = REQUEST_BYTES_PER_ROW * estimate.requests > RUN_BYTES_PER_ROW * estimate.rows
    parameter = "requests.count" if by_requests else "population.pupils"
    check_plan(estimate, parameter, force=force, memory=memory, ways_out=RUN_WAYS_OUT)
