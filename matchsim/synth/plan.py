"""Will it fit? Memory and time estimates for generating a register and running a scenario.

A register too large for the machine used to run for a minute and die with ``MemoryError``
(``generate --pupils 60000000``: 57 s, 9.2 GB), or fail deep inside generation on a
structural limit. :func:`check_generation` (and, for scenarios,
:func:`matchsim.scenario.capacity.check_scenario_fits`) refuse such a plan before any work
starts, with the estimate, the machine's memory and the ways out.

The per-row costs below were measured on this project's 2-core, 24 GB machine (Linux,
Python 3.11, the dependencies installed on 6 Dec 2026) as the peak resident set size
(``/usr/bin/time -f "%e %M"``) and wall time of the command, at several sizes:

``matchsim generate --pupils N --out g.parquet --quiet``
    N = 100k: 1.43 s, 315 MB; 300k: 2.04 s, 407 MB; 1M: 5.94 s, 567 MB; 2M: 7.73 s, 848 MB.
    Slope 1M to 2M: 281 bytes a pupil; the published 9,092,073-pupil census (2.64 GB) and
    19,830,357-individual NPD-like register (5.69 GB) of benchmarks/HISTORY.md give 258 and
    272 bytes above the same fixed part. Time on the shared machine: about 3 µs a pupil
    (0.9 µs on a quiet one: 8.4 s for the national census).

``matchsim run scenarios/home-office-lookup.yaml --set population.pupils=N --quiet``
    (1,500 requests, Fellegi-Sunter, default blocking, an empty world cache; re-measured on
    7 Dec 2026 after the world cache, dictionary-encoded census files and prepared registers
    read from the cache had halved the 6 Dec slope of 690-923 bytes) N = 1M: 9.7 s, 0.83 GB;
    4M: 16.0 s, 1.84 GB; 15,285,244 (national density): 41.6 s, 5.50 GB (5.65 GB in
    benchmarks/results/world.json). Slope 336 bytes a pupil. With the world cached, the
    same runs peak 5-7% lower. ``lookup.addresses: history``: 1,150-1,160 bytes a pupil
    (:data:`HISTORY_RUN_BYTES_PER_ROW`).

``matchsim requests --census c.parquet --profile immigration --in-register-share 0.05
--count N --quiet`` on a 200,000-pupil register
    N = 100k: 4.2 s, 492 MB; 1M: 20.5 s, 1,837 MB; 2M: 60.3 s, 3,332 MB. Slope 1,495 bytes a
    request (people outside the register are generated as a population of their own) and
    20-40 µs a request on the busy machine.

Estimates round these up (the larger slope, a fixed part above the measured intercept), so
they err towards refusing; ``force`` overrides an estimate above the memory available now,
never one above the machine's total memory or a structural limit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from matchsim.errors import ConfigError
from matchsim.synth.census.plan import register_size
from matchsim.synth.config import CensusConfig

#: Peak bytes per register row while generating and writing it (measured 258-281, above;
#: 297 from 1M (0.66 GB) to 12M (3.95 GB) with ONS names by year, sourced surnames and moves).
GENERATE_BYTES_PER_ROW = 300
#: Memory of the interpreter, libraries, calendar and geography before any row (measured
#: intercept about 290 MB).
GENERATE_FIXED_BYTES = 320_000_000
#: Seconds per register row while generating and writing (3 µs measured on the busy machine).
GENERATE_SECONDS_PER_ROW = 3e-6
GENERATE_FIXED_SECONDS = 1.5

#: Peak bytes per register row of a scenario run with the register's current addresses:
#: generating the register (or reading the world cache), preparing it, the candidate pairs and
#: the outcomes. Measured on 7 Dec 2026 (``home-office-lookup``, Fellegi-Sunter, cold world
#: cache): 1M pupils 0.83 GB, 4M 1.84 GB, 15,285,244 (national density) 5.50-5.65 GB, a slope
#: of 336-337 bytes a row on both spans above an intercept of 0.49 GB; ``common-names``,
#: ``twins``, ``dwp-identity-check``, ``npd-hospital-linkage`` and ``stale-addresses`` at
#: national density (9,092,073 pupils) 2.9-3.4 GB. 380 leaves about an eighth in hand.
RUN_BYTES_PER_ROW = 380
#: The same with ``lookup.addresses: history`` (one register row per pupil and address the
#: family had, built from the world's address history): ``police-school-cohort`` 2.80 GB at
#: 2M pupils and 10.4 GB at 8,617,440 (cascade), ``home-office-lookup`` 2.83 GB at 2M
#: (Fellegi-Sunter): 1,150-1,160 bytes a row.
HISTORY_RUN_BYTES_PER_ROW = 1300
RUN_FIXED_BYTES = 500_000_000
RUN_SECONDS_PER_ROW = 6e-6
RUN_FIXED_SECONDS = 4.0
#: Seconds per register row with ``lookup.addresses: history`` and an empty world cache:
#: ``police-school-cohort`` took 218 s at 8,617,440 rows and 52 s at 2M (building the world's
#: address history most of it; 3-12 s with the world kept).
HISTORY_RUN_SECONDS_PER_ROW = 26e-6

#: Peak bytes and seconds per request drawn (measured 1,495 bytes, 20-40 µs, above).
REQUEST_BYTES_PER_ROW = 1600
REQUEST_SECONDS_PER_ROW = 4e-5

#: DfE establishment numbers have four digits: 2000-3999 for primaries and 4000-5999 for
#: secondaries within a local authority, so at most 2,000 schools of a phase per LA.
MAX_SCHOOLS_PER_LA = 2000
#: Largest share of all pupils that the synthetic geography gives one local authority:
#: measured 0.0071-0.0080 over seeds 0-39 of ``build_geography`` (152 LAs); 0.009 leaves room.
MAX_LA_SHARE = 0.009


@dataclass(frozen=True)
class MachineMemory:
    """Bytes of memory in total and available now (``None`` where the OS does not say)."""

    total: int | None
    available: int | None


def machine_memory() -> MachineMemory:
    """The machine's memory, from ``/proc/meminfo`` on Linux, else ``os.sysconf``.

    psutil would do this everywhere, but it is only a dependency of the ``dask`` extra; the
    kernel's own ``MemAvailable`` (free memory plus reclaimable caches) is what psutil reports.
    """
    fields: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    fields[name] = int(parts[0]) * 1024  # kB
    except OSError:
        pass
    total, available = fields.get("MemTotal"), fields.get("MemAvailable")
    if total is None:
        try:
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return MachineMemory(None, None)
    return MachineMemory(total, available)


@dataclass(frozen=True)
class Estimate:
    """What a plan is expected to take at its peak."""

    #: register rows (individuals)
    rows: int
    memory: int
    seconds: float
    #: rows generated by one process at a time (the register, or one partition of it)
    rows_per_process: int
    processes: int
    #: requests drawn (and looked up, in a run)
    requests: int = 0


def estimate_generation(
    config: CensusConfig, partitions: int | None = None, workers: int = 1
) -> Estimate:
    """Peak memory and time of generating and writing ``config``'s register.

    With ``partitions``, each of ``min(workers, partitions)`` processes holds one partition
    at a time (blocks of 65,536 rows), so memory follows the partition, not the register.
    """
    rows = register_size(config)
    parts = max(1, min(partitions or 1, math.ceil(rows / 65_536)))
    per_process = math.ceil(rows / parts)
    processes = min(max(workers, 1), parts) if partitions else 1
    memory = processes * (GENERATE_FIXED_BYTES + GENERATE_BYTES_PER_ROW * per_process)
    seconds = GENERATE_FIXED_SECONDS + GENERATE_SECONDS_PER_ROW * rows / processes
    return Estimate(rows, memory, seconds, per_process, processes)


def estimate_run(
    config: CensusConfig,
    partitions: int | None = None,
    requests: int = 0,
    *,
    bytes_per_row: int = RUN_BYTES_PER_ROW,
    seconds_per_row: float = RUN_SECONDS_PER_ROW,
) -> Estimate:
    """Peak memory and time of a scenario run on ``config``'s register: generating it,
    preparing it for lookups and looking ``requests`` requests up, at ``bytes_per_row`` and
    ``seconds_per_row`` (the ``HISTORY_`` rates for a lookup on every address a family had).

    With ``partitions`` (``executor: processes`` or ``dask``) the register is generated and
    looked up a partition at a time; on a local cluster two workers hold one each.
    """
    rows = register_size(config)
    parts = max(1, partitions or 1)
    per_process = math.ceil(rows / parts)
    processes = min(2, parts) if partitions else 1
    memory = processes * (RUN_FIXED_BYTES + bytes_per_row * per_process)
    memory += REQUEST_BYTES_PER_ROW * requests
    seconds = RUN_FIXED_SECONDS + seconds_per_row * rows / processes
    seconds += REQUEST_SECONDS_PER_ROW * requests
    return Estimate(rows, memory, seconds, per_process, processes, requests)


def estimate_requests(requests: int, register_rows: int) -> Estimate:
    """Peak memory and time of drawing ``requests`` requests from a register read from disk."""
    memory = (
        GENERATE_FIXED_BYTES
        + GENERATE_BYTES_PER_ROW * register_rows
        + REQUEST_BYTES_PER_ROW * requests
    )
    seconds = GENERATE_FIXED_SECONDS + REQUEST_SECONDS_PER_ROW * requests
    return Estimate(register_rows, memory, seconds, register_rows, 1, requests)


def max_pupils_for_schools(config: CensusConfig) -> int:
    """The largest register whose busiest local authority still fits its schools in 2,000
    establishment numbers per phase (about 110 million with the default school sizes)."""
    schools = config.schools
    sixth = schools.sixth_form_share if config.birth_years is None else 0.0
    primary_share = 7 / (12 + 2 * sixth)  # as the generator splits pupils between phases
    per_phase = min(
        schools.pupils_per_primary / primary_share,
        schools.pupils_per_secondary / (1 - primary_share),
    )
    return int(MAX_SCHOOLS_PER_LA * per_phase / MAX_LA_SHARE)


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


#: Share of the memory available now that a plan may take without --force. Other processes
#: grow while a long job runs, and the estimates are linear fits: ``generate --pupils
#: 60000000`` (about 18.3 GB at the measured 297 bytes a pupil, 1M-12M) was allowed with 20 GB
#: available and was killed by the kernel's out-of-memory killer.
AVAILABLE_HEADROOM = 0.85


def check_plan(
    estimate: Estimate,
    parameter: str = "pupils",
    *,
    force: bool = False,
    memory: MachineMemory | None = None,
    ways_out: str = "use fewer pupils, --partitions N, or executor: dask",
) -> None:
    """Refuse ``estimate`` when it exceeds the memory available (unless ``force``) or the
    machine's total memory (always), naming ``parameter``."""
    memory = memory if memory is not None else machine_memory()
    asked = f" and {estimate.requests:,} requests" if estimate.requests else ""
    need = (
        f"{estimate.rows:,} individuals{asked} need about {_gb(estimate.memory)} of memory "
        f"and {_duration(estimate.seconds)}"
    )
    if memory.total is not None and estimate.memory > memory.total:
        raise ConfigError(
            parameter,
            f"{need}, more than this machine's {_gb(memory.total)} in total; {ways_out}",
        )
    if (
        not force
        and memory.available is not None
        and estimate.memory > AVAILABLE_HEADROOM * memory.available
    ):
        raise ConfigError(
            parameter,
            f"{need}; this machine has {_gb(memory.available)} available "
            f"(of {_gb(memory.total or 0)}); {ways_out}, or --force to try anyway",
        )


def check_structure(config: CensusConfig, parameter: str = "pupils") -> None:
    """Refuse a register larger than the school numbering can hold (no override)."""
    rows = register_size(config)
    limit = max_pupils_for_schools(config)
    if rows > limit:
        raise ConfigError(
            parameter,
            f"{rows:,} individuals is more than the {limit:,} whose schools fit the 4-digit DfE "
            f"establishment numbers ({MAX_SCHOOLS_PER_LA:,} a phase in one local authority); "
            "use fewer pupils or larger schools (schools.pupils_per_primary)",
        )


def check_generation(
    config: CensusConfig,
    *,
    partitions: int | None = None,
    workers: int = 1,
    force: bool = False,
    parameter: str = "pupils",
    memory: MachineMemory | None = None,
) -> Estimate:
    """Refuse, before any work, a register that cannot be generated here; return the estimate."""
    check_structure(config, parameter)
    estimate = estimate_generation(config, partitions, workers)
    ways_out = "use fewer pupils or more --partitions" if partitions else None
    check_plan(
        estimate,
        parameter,
        force=force,
        memory=memory,
        **({"ways_out": ways_out} if ways_out else {}),
    )
    return estimate


#: What to do about a scenario too large for the machine.
RUN_WAYS_OUT = "use fewer pupils or requests, or executor: dask (partitions: N) on a cluster"
