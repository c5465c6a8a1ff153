"""Building a register's tables from its blocks on a pool of threads.

:func:`generate_census_tables` is the entry point; :class:`BlockScheduler` runs the blocks.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from matchsim.synth.census.assemble import (
    FinishedBlock,
    Offsets,
    PartitionStart,
    Vocabularies,
    block_tables,
    finish_block,
)
from matchsim.synth.census.blocks import Block, generate_block
from matchsim.synth.census.plan import BLOCK_PUPILS, CensusPlan, build_plan
from matchsim.synth.config import CensusConfig

ProgressCallback = Callable[[int, int], None]
BlockTables = tuple[pa.RecordBatch, pa.RecordBatch]


class BlockScheduler:
    """Draws, renders and assembles the blocks of one partition on a pool of threads.

    There are two kinds of unit of work:

    - a *chunk*: consecutive blocks, each drawn (``draw(b)``) and finished
      (:func:`~matchsim.synth.census.assemble.finish_block`), which needs nothing but the block;
    - a *table task*: one block's record batches
      (:func:`~matchsim.synth.census.assemble.block_tables`), which needs the block's
      :class:`~matchsim.synth.census.assemble.Offsets`: the counts of every block before it.

    Invariants:

    - **Output does not depend on thread timing.** A block's draws come from its own random
      stream, and finishing reads only the block. Offsets are assigned under the lock, strictly
      in block order: block ``b`` gets them once blocks ``0 .. b`` are all finished, from the
      running totals of blocks ``0 .. b-1`` (and of the partition's ``start``). Each block's
      batches go to its own slot, and :meth:`run` returns them in block order.
    - **Ordering.** Chunks are handed out in block order. A thread asking for work takes a
      ready table task before a new chunk, so a finished block becomes tables (and its
      columns are freed) as soon as its offsets are set, not after every block is drawn.
    - **Threads.** The scheduling state (next chunk, ready tasks, the released prefix, the
      running totals, ``failed``) is read and written only under ``_cond``. A block's slots are
      used by one thread at a time: ``_finished[b]`` is set under the lock by the thread that
      drew it, read and cleared by the thread that takes its table task (which exists only once
      its offsets are set), and ``_batches[b]`` is written only by that thread.
    - **Progress** is reported only from the thread that calls :meth:`run`, as workers finish
      chunks.
    - **Failure.** A worker that raises sets ``failed`` and wakes the others, which stop at
      their next request for work; :meth:`run` re-raises the error.

    A scheduler runs once.
    """

    def __init__(
        self,
        plan: CensusPlan,
        draw: Callable[[int], Block],
        n_blocks: int,
        *,
        chunk_size: int,
        start: PartitionStart,
    ) -> None:
        self.plan = plan
        self._draw = draw
        self._n_blocks = n_blocks
        per_chunk = max(1, chunk_size // BLOCK_PUPILS)
        self._chunks = [
            list(range(i, min(i + per_chunk, n_blocks))) for i in range(0, n_blocks, per_chunk)
        ]
        self._vocab = Vocabularies.of(plan.names)
        self._cond = threading.Condition()
        self._next_chunk = 0
        self._failed = False
        self._ready: deque[int] = deque()
        self._prefix = 0  # blocks 0 .. prefix-1 have their offsets
        self._finished: list[FinishedBlock | None] = [None] * n_blocks
        self._offsets: list[Offsets | None] = [None] * n_blocks
        self._batches: list[BlockTables | None] = [None] * n_blocks
        # Running totals before block ``prefix``: UPN serials per key, pupils, families and
        # multiple maternities.
        self._serials = start.serials_by_key(plan)
        self._pupils, self._families, self._multiples = (
            start.pupils,
            start.families,
            start.multiples,
        )
        # Chunks finished (a count of blocks) or a worker done (None), for the calling thread.
        self._events: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def run(self, workers: int, step: Callable[[int], None]) -> list[BlockTables]:
        """Every block's (pupils, history) batches, in block order; ``step(k)`` reports ``k``
        more blocks drawn."""
        if workers > 1 and len(self._chunks) > 1:
            with ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(self._work) for _ in range(workers)]
                for future in futures:
                    future.add_done_callback(lambda _: self._events.put(None))
                running_workers = workers
                while running_workers:
                    event = self._events.get()
                    if event is None:
                        running_workers -= 1
                    else:
                        step(event)
                for future in futures:
                    future.result()
        else:
            self._work()
            while not self._events.empty():
                event = self._events.get()
                if event is not None:
                    step(event)
        return [b for b in self._batches if b is not None]

    def _release_offsets(self) -> None:
        """Give offsets to every block whose predecessors are all finished (lock held)."""
        while self._prefix < self._n_blocks and self._finished[self._prefix] is not None:
            f = self._finished[self._prefix]
            assert f is not None
            self._offsets[self._prefix] = Offsets(
                pupil=self._pupils,
                family=self._families,
                multiple=self._multiples,
                serial=self._serials[f.upn_keys].copy(),
            )
            self._serials[f.upn_keys] += f.upn_counts
            self._pupils += len(f.upn_inverse)
            self._families += f.block.n_families
            self._multiples += f.n_multiples
            self._ready.append(self._prefix)
            self._prefix += 1
        self._cond.notify_all()

    def _next_task(self) -> tuple[int | None, list[int] | None]:
        """A table task (block index), else a chunk, else (None, None) when there is no more."""
        with self._cond:
            while True:
                if self._failed:
                    return None, None
                if self._ready:
                    return self._ready.popleft(), None
                if self._next_chunk < len(self._chunks):
                    self._next_chunk += 1
                    return None, self._chunks[self._next_chunk - 1]
                if self._prefix >= self._n_blocks:
                    return None, None
                self._cond.wait()  # blocks still being drawn will release more tables

    def _work(self) -> None:
        try:
            while True:
                table_block, chunk = self._next_task()
                if table_block is not None:
                    f, at = self._finished[table_block], self._offsets[table_block]
                    assert f is not None and at is not None
                    self._batches[table_block] = block_tables(self.plan, f, at, self._vocab.columns)
                    self._finished[table_block] = None  # its offsets are set: nothing else reads it
                elif chunk is not None:
                    for b in chunk:
                        drawn = finish_block(self.plan, self._draw(b), self._vocab.middle)
                        with self._cond:
                            self._finished[b] = drawn
                            self._release_offsets()
                    self._events.put(len(chunk))
                else:
                    return
        except BaseException:
            with self._cond:
                self._failed = True
                self._cond.notify_all()
            raise


def generate_census_tables(
    config: CensusConfig,
    seed: int,
    *,
    chunk_size: int,
    workers: int,
    progress: ProgressCallback | None,
    world_seed: int | None = None,
    world_pupils: int | None = None,
    block_range: range | None = None,
    start: PartitionStart | None = None,
    prebuilt: list[Block] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Build the pupil table and the address-history table (see :func:`matchsim.synth.generate_census`).

    Each block is drawn and rendered (addresses, middle names) in a worker thread, then turned
    into record batches in a second parallel pass once the ids of earlier blocks are known
    (:class:`BlockScheduler`). The tables are those batches, one per block, so joining the
    blocks copies nothing.

    ``block_range`` builds only those blocks: one partition of the register, whose ids, UPN
    serials and multiple-birth ids continue from ``start`` (the counts of earlier blocks, see
    :func:`~matchsim.synth.census.assemble.partition_counts`), so that partitions concatenated
    equal the whole register. ``prebuilt`` passes that partition's blocks when they were
    already generated.
    """
    plan = build_plan(config, seed, world_seed, world_pupils)
    wanted = range(len(plan.block_targets)) if block_range is None else block_range
    if start is None and len(wanted) and wanted[0] > 0:
        # Ids, UPN serials and multiple-birth ids would restart from 1: duplicates, silently.
        raise ValueError(
            f"block_range starting at block {wanted[0]} needs start= (the counts of the earlier "
            "blocks, see partition_counts)"
        )
    if prebuilt is not None and len(prebuilt) != len(wanted):
        raise ValueError(f"prebuilt holds {len(prebuilt)} blocks but block_range has {len(wanted)}")
    start = start if start is not None else PartitionStart()
    n_blocks = len(wanted)
    # Extra stages after the blocks: ids and UPNs, then the tables.
    total_steps = n_blocks + 2
    done = 0

    def step(k: int = 1) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total_steps)

    def draw(b: int) -> Block:
        return prebuilt[b] if prebuilt is not None else generate_block(plan, wanted[b])

    scheduler = BlockScheduler(plan, draw, n_blocks, chunk_size=chunk_size, start=start)
    tables = scheduler.run(workers, step)
    step()
    pupils = pa.Table.from_batches([b[0] for b in tables])
    addresses = pa.Table.from_batches([b[1] for b in tables])
    step()
    return pupils, addresses
