"""Census generation in partitions of whole blocks, on processes or a Dask cluster.

Blocks are seeded from (scenario seed, block index), so a partition (a range of blocks) is
seeded by the seed and its index. What ties partitions together (pupil and family ids, UPN
serials per school and year, multiple-birth ids) continues from the counts of the partitions
before it: a first pass generates each partition's blocks and counts them, a second turns
them into tables from those starting points. Concatenated in order, the partitions are the
local register row for row, whatever their number.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from matchsim.distributed.executors import Executor
from matchsim.errors import ConfigError
from matchsim.io import check_result_dir, result_dir, write_tables
from matchsim.synth import (
    ADDRESSES_DIR,
    DATASET_INFO,
    METADATA_KEY,
    PUPILS_DIR,
    Census,
    CensusConfig,
    census_provenance,
    stored_pupils,
)
from matchsim.synth.census.assemble import PartitionStart, partition_counts
from matchsim.synth.census.blocks import generate_blocks
from matchsim.synth.census.plan import BLOCK_PUPILS, block_count
from matchsim.synth.census.schedule import generate_census_tables


def partition_ranges(n_blocks: int, partitions: int) -> list[range]:
    """``partitions`` contiguous, near-equal ranges of blocks (fewer if there are fewer blocks)."""
    if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1:
        raise ConfigError("partitions", f"{partitions!r} must be a whole number >= 1")
    k = min(partitions, n_blocks)
    edges = [round(i * n_blocks / k) for i in range(k + 1)]
    return [range(a, b) for a, b in itertools.pairwise(edges)]


def starts_of(counts: list[PartitionStart]) -> list[PartitionStart]:
    """Each partition's start: the sum of what the partitions before it used."""
    starts = [PartitionStart()]
    for c in counts[:-1]:
        prev = starts[-1]
        keys = np.concatenate([prev.serial_keys, c.serial_keys])
        weights = np.concatenate([prev.serial_counts, c.serial_counts])
        uniq, inverse = np.unique(keys, return_inverse=True)
        starts.append(
            PartitionStart(
                pupils=prev.pupils + c.pupils,
                families=prev.families + c.families,
                multiples=prev.multiples + c.multiples,
                serial_keys=uniq,
                serial_counts=np.bincount(inverse, weights=weights, minlength=len(uniq)).astype(
                    np.int64
                ),
            )
        )
    return starts


def _count_partition(config: CensusConfig, seed: int, blocks: range) -> PartitionStart:
    # On processes the blocks cannot stay in the worker between passes: count, then rebuild.
    return partition_counts(generate_blocks(config, seed, blocks))


def _build_partition(
    config: CensusConfig,
    seed: int,
    blocks: range,
    start: PartitionStart,
    prebuilt: list | None,
    out_dir: str | None,
    index: int,
) -> tuple[pa.Table, pa.Table] | int:
    """One partition's tables; written as part ``index`` of the dataset when ``out_dir`` is set."""
    pupils, addresses = generate_census_tables(
        config,
        seed,
        chunk_size=BLOCK_PUPILS,
        workers=1,
        progress=None,
        block_range=blocks,
        start=start,
        prebuilt=prebuilt,
    )
    if out_dir is None:
        return pupils, addresses
    root = Path(out_dir)
    name = f"part-{index:05d}.parquet"
    stored = stored_pupils(pupils)  # as Census.write stores them
    write_tables({root / PUPILS_DIR / name: stored, root / ADDRESSES_DIR / name: addresses})
    return pupils.num_rows


def _run_partitions(
    config: CensusConfig,
    seed: int,
    executor: Executor,
    partitions: int | None,
    out_dir: str | None,
) -> list[Any]:
    n_blocks = block_count(config)
    ranges = partition_ranges(n_blocks, partitions or max(executor.workers, 1))
    if executor.kind == "local":
        blocks = [generate_blocks(config, seed, r) for r in ranges]
        starts = starts_of([partition_counts(b) for b in blocks])
        return [
            _build_partition(config, seed, r, s, b, out_dir, i)
            for i, (r, s, b) in enumerate(zip(ranges, starts, blocks, strict=True))
        ]
    if executor.is_dask:
        # The blocks stay on the worker that drew them; only their counts travel.
        blocks = [executor.submit(generate_blocks, config, seed, r) for r in ranges]
        counts = executor.client.gather([executor.submit(partition_counts, b) for b in blocks])
        built = [
            executor.submit(_build_partition, config, seed, r, s, b, out_dir, i)
            for i, (r, s, b) in enumerate(zip(ranges, starts_of(counts), blocks, strict=True))
        ]
        return executor.client.gather(built)
    counts = [
        f.result() for f in [executor.submit(_count_partition, config, seed, r) for r in ranges]
    ]
    built = [
        executor.submit(_build_partition, config, seed, r, s, None, out_dir, i)
        for i, (r, s) in enumerate(zip(ranges, starts_of(counts), strict=True))
    ]
    return [f.result() for f in built]


def generate_census_partitioned(
    config: CensusConfig, seed: int, executor: Executor, *, partitions: int | None = None
) -> Census:
    """The register :func:`matchsim.synth.generate_census` gives, built in ``partitions``
    partitions (default: one per worker) on ``executor`` and gathered here."""
    parts = _run_partitions(config, seed, executor, partitions, None)
    pupils = pa.concat_tables([p for p, _ in parts])
    addresses = pa.concat_tables([a for _, a in parts])
    pupils = pupils.replace_schema_metadata(
        {METADATA_KEY: census_provenance(config, seed, pupils.num_rows)}
    )
    return Census(pupils=pupils, addresses=addresses, config=config, seed=seed)


def write_census_dataset(
    config: CensusConfig,
    seed: int,
    out_dir: Path | str,
    executor: Executor,
    *,
    partitions: int | None = None,
) -> int:
    """Write the register as a Parquet dataset, one file per partition, by the workers; return
    the number of partitions written (at most one per block of the register).

    ``out_dir/pupils/part-NNNNN.parquet`` read in order is the local register row for row
    (``out_dir/addresses/`` likewise its address history); ``out_dir/_matchsim.json`` records
    config, seed and size, and :func:`matchsim.synth.load_census` reads it back. On a cluster,
    ``out_dir`` must be a path every worker can write. The parts are written into a temporary
    sibling directory swapped in for ``out_dir`` at the end, so a failed run leaves nothing to
    delete by hand. ``out_dir`` may be new, empty, or a dataset matchsim wrote (it holds
    ``.matchsim-result``); anything else is refused before any work.
    """
    out = Path(out_dir)
    check_result_dir(out, "out", command="generate")
    # Beside the target, so on the path the workers share and on the same file system.
    with result_dir(out, "out", command="generate") as tmp:
        for sub in (PUPILS_DIR, ADDRESSES_DIR):
            (tmp / sub).mkdir()
        rows = _run_partitions(config, seed, executor, partitions, str(tmp.resolve()))
        info = json.loads(census_provenance(config, seed, int(sum(rows))))
        info["partitions"] = len(rows)
        (tmp / DATASET_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return len(rows)
