"""Running a scenario: register, requests, lookup, evaluation; and writing its results."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim.api import generate_census, generate_requests, lookup
from matchsim.blocking import Union, default_blocking, make_blocker, run_blocking
from matchsim.fidelity import FidelityRow
from matchsim.io import RESULT_MARKER, check_result_dir, result_dir
from matchsim.linkage import (
    LookupResult,
    prepare_register,
    refuse_unpartitionable,
    true_rows_of,
)
from matchsim.matchers import make_matcher
from matchsim.requests import RequestSet
from matchsim.scenario.schema import Scenario, resolved_yaml
from matchsim.synth import Census
from matchsim.world import CENSUS_PART, World, obtain_world

if TYPE_CHECKING:
    from matchsim.distributed import Executor

Stage = Callable[[str, int, int], None]  # (stage label, done, total)

RESULT_FILES = (
    "metrics.json",
    "outcomes.parquet",
    "blocking.json",
    "scenario.resolved.yaml",
    "report.html",
    RESULT_MARKER,
)


@dataclass
class ScenarioRun:
    """Everything a scenario run produced, in memory."""

    scenario: Scenario
    census: Census
    requests: RequestSet
    result: LookupResult
    tradeoff: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    #: the privacy section (encoded lookup, risk measures), when the scenario asks for it
    privacy: dict[str, Any] | None = None
    #: the register against published figures, when the world kept them (the report
    #: computes them otherwise)
    fidelity: tuple[FidelityRow, ...] | None = None
    #: what the run took beside what the up-front check estimated (:func:`run_resources`)
    resources: dict[str, Any] | None = None

    def metrics(self, version: str) -> dict[str, Any]:
        """Every figure of the run, JSON-serialisable (for ``metrics.json``)."""
        link = self.result.link
        matcher = link.matcher
        params = (
            matcher.parameters()
            if hasattr(matcher, "parameters") and hasattr(matcher, "m_")
            else None
        )
        return _clean(
            {
                "scenario": self.scenario.name,
                "description": self.scenario.description,
                "matchsim_version": version,
                "seed": self.scenario.seed,
                "population": self.census.summary().as_dict(),
                "requests": {
                    "profile": self.scenario.requests.profile,
                    "count": self.requests.table.num_rows,
                    "in_register": int(sum(self.requests.table["in_register"].to_pylist())),
                    "error_rates": self.requests.error_rates(),
                },
                "lookup": {
                    "matcher": matcher.describe(),
                    "threshold": link.threshold,
                    "decision": self.scenario.lookup.decision,
                    "addresses": self.scenario.lookup.addresses,
                },
                "evaluation": self.result.evaluation.as_dict(),
                "pair_metrics": link.pair_metrics,
                "blocking": link.blocking.as_dict(),
                "matcher_parameters": params,
                "timings_seconds": self.timings
                | {f"lookup_{k}": v for k, v in link.timings.items()},
                **({"privacy": self.privacy} if self.privacy is not None else {}),
                **({"resources": self.resources} if self.resources is not None else {}),
            }
        )


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_scenario(
    scenario: Scenario, stage: Stage | None = None, *, executor: Executor | None = None
) -> ScenarioRun:
    """Run every stage of a scenario in memory.

    With ``executor: processes`` or ``dask`` (or an ``executor`` passed in, e.g. a client of
    an existing cluster), the register is generated in partitions and, on Dask, looked up
    partition by partition; the results are those of a local run.
    """
    lk = scenario.lookup
    blocking = None if lk.blocking in (None, "default") else lk.blocking
    if executor.is_dask if executor is not None else scenario.executor == "dask":
        # Only Dask looks up partition by partition. Refused before any work: before a
        # cluster is started, and not after generation.
        refuse_unpartitionable(make_matcher(lk.matcher))
        if blocking is not None:
            from matchsim.distributed import check_partitionable

            check_partitionable(make_blocker(blocking))
    if executor is None and scenario.executor != "local":
        from matchsim.distributed import open_executor

        with open_executor(scenario.executor) as owned:
            return run_scenario(scenario, stage, executor=owned)
    notify = stage or (lambda label, done, total: None)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    register = index = world = None
    if executor is None or executor.kind == "local":
        world = _local_world(scenario, notify, timings)
        census, register, index = world.census, world.register, world.index
    else:
        from matchsim.distributed import generate_census_partitioned

        t0 = time.perf_counter()
        notify("Generating register", 0, 1)
        census = generate_census_partitioned(
            scenario.population, scenario.seed, executor, partitions=scenario.partitions
        )
        notify("Generating register", 1, 1)
        timings["register"] = time.perf_counter() - t0
    notify("Drawing requests", 0, 1)
    t0 = time.perf_counter()
    requests = generate_requests(census, scenario.requests, seed=scenario.seed + 1, index=index)
    timings["requests"] = time.perf_counter() - t0
    if world is not None:
        # The lookup reads the prepared register, not the census: the census pages the
        # requests touched (most of its 4.5 GB at national density) leave the process.
        world.release_pages(CENSUS_PART)
    notify("Drawing requests", 1, 1)
    notify("Looking up", 0, 2)
    t0 = time.perf_counter()
    if register is None:
        register = prepare_register(census, scenario.lookup.addresses)
    partitions = None
    if executor is not None and executor.is_dask:
        from matchsim.distributed import PartitionedRegister

        partitions = PartitionedRegister(register, executor, scenario.partitions)
    timings["register_index"] = timings.get("register_index", 0.0) + time.perf_counter() - t0
    notify("Looking up", 1, 2)
    t0 = time.perf_counter()
    result = lookup(
        census,
        requests,
        register=register,
        partitions=partitions,
        addresses=lk.addresses,
        blocking=blocking,
        comparisons=lk.comparisons,
        matcher=lk.matcher,
        decision=lk.decision,
        threshold=lk.threshold,
    )
    timings["lookup"] = time.perf_counter() - t0
    if world is not None:
        world.release_pages()  # the report reads a few rows of either, mapped in again
    notify("Looking up", 2, 2)
    tradeoff = _blocking_tradeoff(result, blocking) if scenario.report.blocking_tradeoff else []
    privacy = None
    if scenario.privacy is not None:
        from matchsim.pprl.scenario import run_privacy

        notify("Privacy-preserving matching", 0, 1)
        t0 = time.perf_counter()
        privacy = run_privacy(scenario, census, requests, register, result)
        timings["privacy"] = time.perf_counter() - t0
        notify("Privacy-preserving matching", 1, 1)
    fidelity = world.fidelity if world is not None else None
    resources = run_resources(scenario, time.perf_counter() - started)
    return ScenarioRun(
        scenario, census, requests, result, tradeoff, timings, privacy, fidelity, resources
    )


def run_resources(scenario: Scenario, seconds: float) -> dict[str, Any]:
    """The memory and time the up-front check estimated for ``scenario``
    (:func:`matchsim.scenario.capacity.scenario_estimate`) beside what the run took: its
    seconds, and the peak resident memory of this process so far (the run's own for
    ``matchsim run``; a process that ran more before reports the larger). The estimates are
    linear fits measured on one machine; a run that outgrows its estimate shows it here."""
    from matchsim.scenario.capacity import scenario_estimate

    estimate = scenario_estimate(scenario)
    return {
        "estimated_memory_gb": round(estimate.memory / 1e9, 2),
        "estimated_seconds": round(estimate.seconds, 1),
        "peak_memory_gb": _peak_memory_gb(),
        "seconds": round(seconds, 1),
    }


def _peak_memory_gb() -> float | None:
    """This process's peak resident set size so far, or None where the OS does not say."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return round(peak * (1 if sys.platform == "darwin" else 1024) / 1e9, 2)


def _local_world(scenario: Scenario, notify: Stage, timings: dict[str, float]) -> World:
    """The scenario's register, prepared register and request index: from the world cache
    (see :mod:`matchsim.world`) when it holds them, otherwise built and stored there."""
    from matchsim.version import __version__

    def build() -> Census:
        return generate_census(
            scenario.population,
            scenario.seed,
            progress=lambda d, t: notify("Generating register", d, t),
            workers=2,
        )

    notify("Loading register", 0, 1)
    world = obtain_world(
        scenario.population,
        scenario.seed,
        scenario.lookup.addresses,
        version=__version__,
        build=build,
    )
    notify("Loading register", 1, 1)
    timings |= world.timings
    return world


def _blocking_tradeoff(result: LookupResult, blocking: Any) -> list[dict[str, Any]]:
    """Candidate pairs against pairs completeness for each pass alone and for the union."""
    data = result.link.data
    blocker = make_blocker(blocking) if blocking is not None else default_blocking(data=data)
    passes = list(blocker.blockers) if isinstance(blocker, Union) else [blocker]
    truth = result.outcomes.dropna(subset=["true_pupil_id"])
    true_rows = true_rows_of(
        data, pd.DataFrame({"l": truth["request_id"], "r": truth["true_pupil_id"].astype("int64")})
    )
    rows = []
    for b in [*passes, *([blocker] if len(passes) > 1 else [])]:
        _, report = run_blocking(b, data, true_rows)
        rows.append(report.as_dict())
    return rows


def write_run(
    run: ScenarioRun,
    out_dir: Path | str,
    version: str,
    *,
    report_html: Callable[[ScenarioRun], str],
    create_parent: bool = False,
) -> Path:
    """Write the result files into ``out_dir`` atomically: a temporary sibling directory is
    filled, then swapped in, so an interrupted run never leaves a directory that looks complete.

    ``out_dir`` may be new, an empty directory or a result of ``matchsim run`` (it holds
    ``.matchsim-result``); anything else is refused (:func:`matchsim.io.check_result_dir`) and
    left untouched. With ``create_parent`` a missing parent directory is created.
    """
    out_dir = Path(out_dir)
    check_result_dir(out_dir, "out_dir", command="run", create_parent=create_parent)
    with result_dir(out_dir, "out_dir", command="run", scenario=run.scenario.name) as tmp:
        metrics = run.metrics(version)
        (tmp / "metrics.json").write_text(
            json.dumps(metrics, indent=2, allow_nan=False), encoding="utf-8"
        )
        (tmp / "blocking.json").write_text(
            json.dumps(_clean({"run": metrics["blocking"], "tradeoff": run.tradeoff}), indent=2),
            encoding="utf-8",
        )
        outcomes = run.result.outcomes.copy()
        outcomes["returned"] = outcomes["returned"].map(lambda ids: [int(i) for i in ids])
        pa_outcomes = pa.Table.from_pandas(outcomes, preserve_index=False)
        import pyarrow.parquet as pq

        pq.write_table(pa_outcomes, tmp / "outcomes.parquet", compression="zstd")
        (tmp / "scenario.resolved.yaml").write_text(
            resolved_yaml(run.scenario, version), encoding="utf-8"
        )
        (tmp / "report.html").write_text(report_html(run), encoding="utf-8")
    return out_dir
