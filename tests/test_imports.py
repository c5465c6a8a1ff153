"""Every public module, imported first in a fresh interpreter, registers every plugin.

The registries are filled by imports at the bottom of ``matchsim.blocking`` and
``matchsim.matchers`` (peers, encodings), which import those packages' submodules back: a
cycle that holds only while each module imports submodules and the bottom imports come after
every name is bound. An import order that breaks it shows up here as a missing name or an
ImportError. The optional engines must not be imported just to register their names.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

MODULES = (
    "matchsim",
    "matchsim.blocking",
    "matchsim.blocking.strategies",
    "matchsim.matchers",
    "matchsim.matchers.matchers",
    "matchsim.comparison",
    "matchsim.peers",
    "matchsim.peers.recordlinkage_index",
    "matchsim.peers.splink_matcher",
    "matchsim.peers.tables",
    "matchsim.pprl",
    "matchsim.pprl.lsh",
    "matchsim.pprl.matcher",
    "matchsim.pprl.records",
    "matchsim.pprl.scenario",
    "matchsim.distributed",
    "matchsim.ingest",
    "matchsim.linkage",
    "matchsim.linkage.dedupe",
    "matchsim.clustering",
    "matchsim.records",
    "matchsim.scenario",
    "matchsim.synth.census",
    "matchsim.cli",
)
#: Heavy or optional libraries that registering a name must not import.
LAZY = ("numba", "recordlinkage", "splink", "duckdb", "dask", "distributed")

SCRIPT = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
from matchsim.blocking.strategies import BLOCKERS
from matchsim.comparison import COMPARISONS
from matchsim.matchers.matchers import MATCHERS
print(json.dumps({
    "blockers": sorted(BLOCKERS),
    "matchers": sorted(MATCHERS),
    "comparisons": sorted(COMPARISONS),
    "loaded": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules),
}))
"""


def _registries_after_importing(module: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, module, json.dumps(LAZY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def everything() -> dict:
    return _registries_after_importing("matchsim.cli")


def test_the_full_registries_hold_the_plugins(everything):
    assert {"clk_lsh", "recordlinkage", "exact", "union"} <= set(everything["blockers"])
    assert {"bloom_dice", "recordlinkage", "splink", "fellegi_sunter"} <= set(
        everything["matchers"]
    )


@pytest.mark.parametrize("module", MODULES)
def test_importing_one_module_first_registers_every_plugin(module, everything):
    seen = _registries_after_importing(module)
    assert seen["blockers"] == everything["blockers"]
    assert seen["matchers"] == everything["matchers"]
    assert seen["comparisons"] == everything["comparisons"]
    assert seen["loaded"] == []
