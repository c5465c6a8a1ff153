"""The block scheduler: thread timing never changes the tables, failures stop every worker,
and progress is reported from the calling thread."""

from __future__ import annotations

import threading
import time

import pytest

from matchsim.synth import CensusConfig
from matchsim.synth.census.assemble import PartitionStart
from matchsim.synth.census.blocks import generate_block
from matchsim.synth.census.plan import BLOCK_PUPILS, build_plan
from matchsim.synth.census.schedule import BlockScheduler


@pytest.fixture(scope="module")
def drawn():
    plan = build_plan(CensusConfig(pupils=3 * BLOCK_PUPILS - 1000), seed=3)
    return plan, [generate_block(plan, b) for b in range(len(plan.block_targets))]


def _run(plan, draw, n_blocks, workers, step=lambda k: None):
    scheduler = BlockScheduler(
        plan, draw, n_blocks, chunk_size=BLOCK_PUPILS, start=PartitionStart()
    )
    return scheduler.run(workers, step)


def _in_thread(target, timeout=120):
    """Run ``target`` in a daemon thread; what it returned or raised (a hang fails the test)."""
    outcome: dict = {}

    def call():
        try:
            outcome["value"] = target()
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the scheduler hung"
    return outcome


def test_blocks_finished_out_of_order_give_the_same_tables(drawn):
    plan, blocks = drawn
    reference = _run(plan, blocks.__getitem__, len(blocks), workers=1)

    def first_block_last(b):
        if b == 0:
            time.sleep(0.5)  # blocks 1 and 2 are finished first and wait for their offsets
        return blocks[b]

    other = _in_thread(lambda: _run(plan, first_block_last, len(blocks), workers=3))["value"]
    assert len(other) == len(reference) == 3
    for (pupils, history), (pupils_ref, history_ref) in zip(other, reference, strict=True):
        assert pupils.equals(pupils_ref)
        assert history.equals(history_ref)


@pytest.mark.parametrize("workers", [1, 3])
def test_a_failed_block_stops_every_worker_and_is_raised(drawn, workers):
    plan, blocks = drawn

    def first_block_fails(b):
        if b == 0:
            time.sleep(0.3)  # the other workers are waiting for block 0's offsets by now
            raise RuntimeError("block 0 failed")
        return blocks[b]

    outcome = _in_thread(lambda: _run(plan, first_block_fails, len(blocks), workers))
    assert isinstance(outcome.get("error"), RuntimeError)
    assert "block 0 failed" in str(outcome["error"])


def test_progress_is_reported_from_the_calling_thread(drawn):
    plan, blocks = drawn
    caller = threading.get_ident()
    steps = []
    _run(
        plan, blocks.__getitem__, len(blocks), 2, lambda k: steps.append((k, threading.get_ident()))
    )
    assert sum(k for k, _ in steps) == len(blocks)
    assert {ident for _, ident in steps} == {caller}
