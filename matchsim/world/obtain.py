"""Obtaining a world: its cache key, and reading it from the cache or building and storing it."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from matchsim.errors import ConfigError
from matchsim.fidelity import FidelityRow, fidelity_rows
from matchsim.linkage import REGISTER_ADDRESSES, prepare_register, warm_register
from matchsim.records import PreparedTable
from matchsim.requests.index import RegisterIndex, register_index
from matchsim.synth import Census, CensusConfig
from matchsim.world.cache import cache_budget, evict_worlds
from matchsim.world.parts import (
    CENSUS_PART,
    cache_dir,
    commit_part,
    discard_part,
    libc,
    mark_used,
    open_part,
    release_mapped_pages,
    store_part,
    warn_not_kept,
)
from matchsim.world.register import (
    read_census,
    read_register,
    write_census_index,
    write_census_tables,
    write_register,
)


def release_freed_memory() -> None:
    """Give the pages of freed arrays back to the operating system.

    Arrow's allocator (mimalloc) and glibc's malloc keep freed memory for reuse, so a process
    that has just dropped a 5 GB census would otherwise carry it as resident memory while the
    next stage allocates its own. Without glibc (another C library) only Arrow's is released.
    """
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    library = libc()
    return None if library is None else getattr(library, "malloc_trim", None)


def world_key(config: CensusConfig, seed: int, version: str) -> str:
    """The cache key of a world: a hash of its census config, its seed and matchsim's version.

    The version includes a digest of matchsim's own source and data files
    (:func:`code_digest`), so that an edited or upgraded installation whose version number did
    not change never reuses a world that other code built.
    """
    text = json.dumps(
        {
            "config": config.model_dump(mode="json"),
            "seed": seed,
            "version": version,
            "code": code_digest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@functools.cache
def code_digest() -> str:
    """SHA-256 of every file of the installed ``matchsim`` package (sources and data)."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(package)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class World:
    """A register with what lookups and requests need, from the cache or built now."""

    key: str
    census: Census
    register: PreparedTable
    index: RegisterIndex
    #: which parts were built by this call (the others were read from the cache)
    built: tuple[str, ...]
    timings: dict[str, float]
    #: where its parts are kept
    directory: Path
    #: the register against published figures (``matchsim.fidelity``, without requests),
    #: computed once when the census part is built and kept in its manifest
    fidelity: tuple[FidelityRow, ...]

    def release_pages(self, part: str | None = None) -> None:
        """Drop the pages of the stored tables this process has read (of one part, or of
        all), once a stage is done with them; see :func:`release_mapped_pages`. Reading them
        again later works as before."""
        release_mapped_pages(self.directory / part if part else self.directory)


def obtain_world(
    config: CensusConfig,
    seed: int,
    addresses: str,
    *,
    version: str,
    build: Callable[[], Census],
    root: Path | None = None,
) -> World:
    """The world of ``config`` and ``seed``, read from the cache when a checked copy is there,
    otherwise built (``build()`` generates the census) and stored."""
    if addresses not in REGISTER_ADDRESSES:
        raise ConfigError(
            "lookup.addresses", f"{addresses!r} is not one of {', '.join(REGISTER_ADDRESSES)}"
        )
    root = root if root is not None else cache_dir()
    cache_budget()  # a bad budget is refused before a minute of building, not after
    key = world_key(config, seed, version)
    entry = root / key
    timings: dict[str, float] = {}
    built: list[str] = []
    not_kept: list[OSError] = []  # why a part could not be stored: said once, at the end
    t0 = time.perf_counter()
    stored_census = read_census(entry / CENSUS_PART, key, config, seed)
    fidelity: tuple[FidelityRow, ...] | None = None
    if stored_census is None:
        census = build()
        timings["register"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        tmp = open_part(entry, CENSUS_PART, not_kept.append)
        if tmp is not None:
            try:
                # Go on with the written tables, memory-mapped, and free the generated ones
                # (about 5 GB at national density) before indexing: the index, the summary
                # and the register's preparation then hold only what they read.
                census = write_census_tables(tmp, census)
                release_freed_memory()
            except OSError as exc:
                discard_part(tmp)
                not_kept.append(exc)
                tmp = None
        timings["store_census"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            index = register_index(census)
        except BaseException:
            if tmp is not None:
                discard_part(tmp)
            raise
        timings["request_index"] = time.perf_counter() - t0
        release_freed_memory()  # indexing's temporaries (about 2 GB at national density)
        t0 = time.perf_counter()
        fidelity = tuple(fidelity_rows(census, include_requests=False))
        timings["fidelity"] = time.perf_counter() - t0
        built.append(CENSUS_PART)
        if tmp is not None:
            try:
                write_census_index(tmp, key, version, census, index, fidelity)
            except OSError as exc:
                discard_part(tmp)
                not_kept.append(exc)
            else:
                commit_part(tmp, entry, CENSUS_PART, not_kept.append)
                # The index as stored, memory-mapped too (0.7 GB at national density).
                stored = read_census(entry / CENSUS_PART, key, config, seed)
                if stored is not None:
                    census, index = stored.census, stored.index
                    release_freed_memory()
    else:
        census, index, fidelity = stored_census.census, stored_census.index, stored_census.fidelity
        timings["register"] = time.perf_counter() - t0
        if fidelity is None:  # a part stored before its manifest kept them
            fidelity = tuple(fidelity_rows(census, include_requests=False))
    t0 = time.perf_counter()
    part = f"register-{addresses}"
    register = read_register(entry / part, key)
    if register is None:
        register = prepare_register(census, addresses, warm=False)
        # What preparing read of the census (1.2 GB of pages at national density) is not
        # read again by warming, nor are its temporaries.
        release_mapped_pages(entry / CENSUS_PART)
        release_freed_memory()
        warm_register(register)
        prepared = register
        t1 = time.perf_counter()
        store_part(
            root, entry, part, lambda d: write_register(d, key, version, prepared), not_kept.append
        )
        timings["store_register"] = time.perf_counter() - t1
        built.append(part)
        # As with the census: the lookups read the stored copy, memory-mapped, as a warm run
        # does, so the prepared arrays (about 5 GB) are freed before requests are drawn.
        stored_register = read_register(entry / part, key)
        if stored_register is not None:
            del prepared
            register = stored_register
            release_freed_memory()
            warm_register(register)
    else:
        warm_register(register)  # the indexes kept in memory only, and the compiled kernels
    timings["register_index"] = time.perf_counter() - t0
    if not_kept:
        warn_not_kept(entry, not_kept[0])
    if entry.is_dir():
        mark_used(entry)
        if built:  # the cache grew: the least recently used other worlds make room
            evict_worlds(key, root)
    return World(key, census, register, index, tuple(built), timings, entry, fidelity)
