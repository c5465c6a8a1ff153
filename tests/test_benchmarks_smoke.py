"""The benchmark suites run at smoke scale with the tests, so they never rot unnoticed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks._peers import recordlinkage_or_none
from benchmarks.test_blocking import PEER_BLOCKERS, strategies
from matchsim.blocking import BLOCKERS, make_blocker

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # every benchmark, in a subprocess: minutes
def test_benchmarks_run_at_smoke_scale(tmp_path):
    bench_json = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "benchmarks",
            "-p",
            "no:cacheprovider",
            "--benchmark-only",
            "--bench-scale=smoke",
            "-q",
            "--benchmark-disable-gc",
            f"--benchmark-json={bench_json}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout

    # The results page builds from what the suite wrote (on a copy of the page).
    readme, chart = tmp_path / "README.md", tmp_path / "blocking-scaling.svg"
    shutil.copy(ROOT / "benchmarks" / "RESULTS.md", readme)
    page = report.update_page([bench_json], readme, chart)
    run = json.loads(bench_json.read_text())
    assert run["matchsim"]["scale"] == "smoke" and "Do not quote these figures" in page
    blocked = {
        b["extra_info"]["registry_name"]
        for b in run["benchmarks"]
        if b["fullname"].startswith("benchmarks/test_blocking.py::")
    }
    # Peer blockers run where their extra is installed (CI's peers environment requires it).
    expected = (
        set(BLOCKERS) if recordlinkage_or_none() is not None else set(BLOCKERS) - PEER_BLOCKERS
    )
    assert blocked == expected
    for strategy in strategies():
        if strategy.registry_name not in expected:
            continue
        assert f"| {strategy.id} | 2k |" in page and f"| {strategy.id} | 20k |" in page
    # At smoke scale the full comparison runs on the small census and is refused on the big one.
    assert "| full | 2k | 2,000 | 5,200,000 |" in page
    assert "| full | 20k | 20,000 | refused (estimate 52,000,000 pairs, 0.8 GB) |" in page
    assert chart.read_text().startswith("<svg")


def test_blocking_benchmark_builds_every_registered_strategy(monkeypatch):
    """A strategy registered later is benchmarked with its defaults: they must build."""
    # The benchmark's child interpreters set this key for blocking over keyed encodings.
    monkeypatch.setenv("MATCHSIM_PPRL_KEY", "test key")
    built = strategies()
    assert {s.registry_name for s in built} == set(BLOCKERS)
    for strategy in built:
        if strategy.registry_name in PEER_BLOCKERS and recordlinkage_or_none() is None:
            continue  # needs matchsim[peers]; CI's peers environment builds it
        if strategy.spec != "default":
            assert make_blocker(strategy.spec).name == strategy.registry_name


def _pprl_smoke(tmp_path, **env: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    import os

    bench_json = tmp_path / "pprl.json"
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MATCHSIM_PPRL_PEER_PYTHON", "MATCHSIM_REQUIRE_PEERS")
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "benchmarks/test_pprl.py",
            "-p",
            "no:cacheprovider",
            "--benchmark-only",
            "--bench-scale=smoke",
            "-q",
            f"--benchmark-json={bench_json}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**environment, **env},
    )
    return result, json.loads(bench_json.read_text()) if bench_json.exists() else None


@pytest.mark.slow  # the PPRL benchmarks twice, in subprocesses
def test_pprl_ratios_need_a_peer_measured_in_the_same_run(tmp_path):
    result, run = _pprl_smoke(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert run is not None
    for bench in run["benchmarks"]:
        info = bench["extra_info"]
        assert info["ratio"] is None  # never against a remembered figure
        source = info.get("clkhash_source") or info.get("anonlink_source")
        assert "MATCHSIM_PPRL_PEER_PYTHON is not set" in source
    required, _ = _pprl_smoke(tmp_path, MATCHSIM_REQUIRE_PEERS="1")
    assert required.returncode != 0
    assert "MATCHSIM_REQUIRE_PEERS=1 but MATCHSIM_PPRL_PEER_PYTHON is not set" in required.stdout


def test_a_single_core_child_runs_on_one_core_with_one_thread_everywhere():
    """The headline ratios' children: pinned before they start, every thread setting at one."""
    import os

    from benchmarks._single_core import run_child

    probe = (
        "import json, os; from benchmarks._single_core import configure_child; "
        "single = configure_child(); import pyarrow as pa; "
        "print(json.dumps({'single': single, 'cores': len(os.sched_getaffinity(0)), "
        "'arrow': pa.cpu_count(), 'numba': os.environ.get('NUMBA_NUM_THREADS'), "
        "'omp': os.environ.get('OMP_NUM_THREADS')}))"
    )
    pinned = run_child(["-c", probe], single_core=True)
    assert pinned == {"single": True, "cores": 1, "arrow": 1, "numba": "1", "omp": "1"}
    free = run_child(["-c", probe], single_core=False)
    assert not free["single"] and free["cores"] == len(os.sched_getaffinity(0))
