"""executor: dask on a 2-worker LocalCluster gives exactly the local results."""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np
import pytest
from distributed import Client, LocalCluster

from matchsim.distributed import (
    PartitionedRegister,
    generate_census_partitioned,
    open_executor,
    write_census_dataset,
)
from matchsim.distributed.census import partition_ranges
from matchsim.errors import ConfigError
from matchsim.io import decoded_table
from matchsim.linkage import lookup, prepare_register
from matchsim.requests import RequestConfig, generate_requests
from matchsim.scenario import Scenario, run_scenario
from matchsim.scenario.schema import load_scenario
from matchsim.scenario.sweep import run_sweep
from matchsim.synth import BLOCK_PUPILS, CensusConfig, generate_census, load_census

# Three blocks and a bit: partitions of uneven size, and a partition boundary inside families.
PUPILS = 3 * BLOCK_PUPILS + 1_234


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(scope="module")
def dask_executor(client):
    executor = open_executor(client=client)
    assert executor.is_dask and executor.workers == 2
    return executor


@pytest.fixture(scope="module")
def small_census():
    return generate_census(CensusConfig(pupils=PUPILS), seed=31)


@pytest.mark.parametrize("partitions", [1, 2, 3, 4, 9])
def test_census_partitions_equal_the_local_register(small_census, partitions):
    with open_executor("local") as executor:
        census = generate_census_partitioned(
            CensusConfig(pupils=PUPILS), 31, executor, partitions=partitions
        )
    assert census.pupils.equals(small_census.pupils)
    assert census.addresses.equals(small_census.addresses)
    assert census.pupils.schema.metadata == small_census.pupils.schema.metadata


def test_npd_like_register_partitions_equal_the_local_register():
    config = CensusConfig(pupils=3 * BLOCK_PUPILS - 77, birth_years=(1994, 2012))
    local = generate_census(config, seed=12)
    with open_executor("local") as executor:
        census = generate_census_partitioned(config, 12, executor, partitions=3)
    assert census.pupils.equals(local.pupils)
    assert census.addresses.equals(local.addresses)
    assert census.pupils["multiple_birth_id"].null_count < census.pupils.num_rows


def test_census_partitions_on_local_processes_equal_the_local_register(small_census):
    with open_executor("processes", workers=2) as executor:
        census = generate_census_partitioned(
            CensusConfig(pupils=PUPILS), 31, executor, partitions=3
        )
    assert census.pupils.equals(small_census.pupils)
    assert census.addresses.equals(small_census.addresses)


@pytest.mark.slow  # on the 2-worker LocalCluster
def test_census_dataset_written_by_dask_workers_equals_the_local_register(
    small_census, dask_executor, tmp_path
):
    out = tmp_path / "register"
    written = write_census_dataset(
        CensusConfig(pupils=PUPILS), 31, out, dask_executor, partitions=3
    )
    assert written == 3
    assert len(list((out / "pupils").glob("part-*.parquet"))) == 3
    census = load_census(out)
    # The same rows (the parts store their text columns on dictionaries of their own).
    assert decoded_table(census.pupils).equals(decoded_table(small_census.pupils))
    assert census.addresses.equals(small_census.addresses)
    assert json.loads((out / "_matchsim.json").read_text())["pupils"] == PUPILS


def test_partition_ranges_cover_every_block_once():
    for n_blocks in (1, 5, 17):
        for k in (1, 2, 3, 40):
            ranges = partition_ranges(n_blocks, k)
            assert [b for r in ranges for b in r] == list(range(n_blocks))
    with pytest.raises(ConfigError, match="partitions"):
        partition_ranges(3, 0)


@pytest.fixture(scope="module")
def lookup_world():
    census = generate_census(CensusConfig(pupils=40_000), seed=8)
    requests = generate_requests(census, RequestConfig(count=600), seed=9)
    return census, requests


@pytest.mark.slow  # on the 2-worker LocalCluster
@pytest.mark.parametrize(
    ("matcher", "blocking"),
    [
        ("fellegi_sunter", None),
        ("fellegi_sunter", {"name": "minhash"}),
        ("deterministic", "exact:dob"),
        # m from the true links among the candidates: fitted and scored after the merge.
        ({"name": "fellegi_sunter", "m_method": "oracle"}, None),
    ],
)
def test_dask_lookup_outcomes_equal_local_request_for_request(
    lookup_world, dask_executor, matcher, blocking
):
    census, requests = lookup_world
    options = {"matcher": matcher, "blocking": blocking, "fit_true_links": True}
    local = lookup(census, requests, register=prepare_register(census), **options)
    register = prepare_register(census)
    parts = PartitionedRegister(register, dask_executor, 3)
    distributed = lookup(census, requests, register=register, partitions=parts, **options)
    assert local.outcomes.equals(distributed.outcomes)
    np.testing.assert_array_equal(local.link.scores, distributed.link.scores)
    np.testing.assert_array_equal(local.link.comparison.right, distributed.link.comparison.right)
    assert local.link.blocking.pairs_completeness == distributed.link.blocking.pairs_completeness
    assert local.link.blocking.candidate_pairs == distributed.link.blocking.candidate_pairs > 0
    if matcher == "fellegi_sunter":
        # One model for the whole register, term frequencies included.
        assert local.link.matcher.parameters() == distributed.link.matcher.parameters()
        for name, (_, tf) in local.link.matcher.tf_.items():
            np.testing.assert_array_equal(tf, distributed.link.matcher.tf_[name][1])


def test_register_partitions_need_workers_that_keep_them(lookup_world):
    census, _ = lookup_world
    with (
        open_executor("processes", workers=1) as executor,
        pytest.raises(ConfigError, match="Dask workers"),
    ):
        PartitionedRegister(prepare_register(census, warm=False), executor)


def test_partitions_refuse_cross_record_blocking(lookup_world):
    census, requests = lookup_world
    register = prepare_register(census)
    with open_executor("local") as executor:
        parts = PartitionedRegister(register, executor, 2)
        with pytest.raises(ConfigError, match="cannot run on register partitions"):
            lookup(
                census,
                requests,
                register=register,
                partitions=parts,
                blocking={"name": "sorted_neighbourhood"},
            )


@pytest.mark.slow  # on the 2-worker LocalCluster
def test_scenario_on_dask_equals_local(dask_executor):
    spec = {"population": {"pupils": 30_000}, "requests": {"count": 300}, "seed": 3}
    local = run_scenario(Scenario.model_validate(spec))
    on_dask = run_scenario(
        Scenario.model_validate({**spec, "executor": "dask", "partitions": 2}),
        executor=dask_executor,
    )
    assert local.census.pupils.equals(on_dask.census.pupils)
    assert local.result.outcomes.equals(on_dask.result.outcomes)
    assert local.result.evaluation.as_dict() == on_dask.result.evaluation.as_dict()


SWEEP_BASE = {
    "population": {"pupils": 8_000},
    "requests": {"count": 150},
    "report": {"blocking_tradeoff": False},
    "seed": 5,
}
SWEEP_GRID = {"lookup.matcher": ["deterministic", "fellegi_sunter"], "requests.count": [100, 150]}


@pytest.mark.slow  # on the 2-worker LocalCluster
def test_dask_sweep_equals_local_sweep(dask_executor, tmp_path):
    base = Scenario.model_validate(SWEEP_BASE)
    local = run_sweep(base, SWEEP_GRID, 1, tmp_path / "local", workers=1)
    on_dask = run_sweep(base, SWEEP_GRID, 1, tmp_path / "dask", executor=dask_executor)
    assert local.equals(on_dask)
    with open_executor("processes", workers=2) as executor:
        on_processes = run_sweep(base, SWEEP_GRID, 1, tmp_path / "processes", executor=executor)
    assert local.equals(on_processes)


@pytest.mark.slow  # on the 2-worker LocalCluster
def test_worker_killed_mid_sweep_keeps_finished_points(client, dask_executor, tmp_path):
    base = Scenario.model_validate(SWEEP_BASE)
    out = tmp_path / "sweep"
    pids = list(client.run(os.getpid).values())
    saved_at_kill: dict[str, str] = {}

    def kill_after_first(done: int, total: int) -> None:
        if done >= 1 and not saved_at_kill:
            for path in (out / "points").glob("*.json"):
                saved_at_kill[path.name] = path.read_text()
            os.kill(pids[0], signal.SIGKILL)  # the nanny restarts it; its task is re-run

    results = run_sweep(base, SWEEP_GRID, 2, out, executor=dask_executor, progress=kill_after_first)
    assert len(results) == 8 and saved_at_kill
    for name, text in saved_at_kill.items():
        assert (out / "points" / name).read_text() == text  # never recomputed nor lost

    calls = []
    again = run_sweep(
        base, SWEEP_GRID, 2, out, executor=dask_executor, progress=lambda d, t: calls.append(d)
    )
    assert calls == [8]  # a re-run resumes: every point was already there
    assert again.equals(results)


def test_dask_without_dask_installed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"pip install 'matchsim\[dask\]'"):
        open_executor("dask")


def test_unknown_executor_is_a_config_error():
    with pytest.raises(ConfigError, match="executor"):
        open_executor("spark")
    with pytest.raises(ConfigError, match="executor"):
        load_scenario(data={"executor": "spark"})


@pytest.mark.slow  # on the 2-worker LocalCluster
def test_cli_run_joins_a_cluster_with_scheduler(client, tmp_path, capsys):
    from matchsim.cli import main

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "population: {pupils: 20000}\nrequests: {count: 200}\nreport: {blocking_tradeoff: false}\n"
    )
    outs = {}
    for label, extra in (("local", []), ("dask", ["--scheduler", client.scheduler.address])):
        code = main(["run", str(scenario), "--out", str(tmp_path / label), "--quiet", *extra])
        assert code == 0, capsys.readouterr().err
        outs[label] = json.loads((tmp_path / label / "metrics.json").read_text())
    assert outs["local"]["evaluation"] == outs["dask"]["evaluation"]
    assert "lookup_partitions_wall" in outs["dask"]["timings_seconds"]


@pytest.mark.slow  # waits for the connection to time out
def test_cli_unreachable_scheduler_is_a_one_line_error(tmp_path, capsys):
    from matchsim.cli import main

    scenario = tmp_path / "s.yaml"
    scenario.write_text("population: {pupils: 5000}\nrequests: {count: 50}\n")
    code = main(["run", str(scenario), "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "--scheduler" in err and "Traceback" not in err


def test_cli_generate_partitions_writes_the_register_as_a_dataset(tmp_path, capsys):
    from matchsim.cli import main

    single, dataset = tmp_path / "census.parquet", tmp_path / "census"
    assert main(["generate", "--out", str(single), "--pupils", "70000", "--seed", "4", "-q"]) == 0
    args = ["generate", "--out", str(dataset), "--pupils", "70000", "--seed", "4"]
    assert main([*args, "--partitions", "2", "--workers", "2", "-q"]) == 0
    # The same rows (the parts' text columns are encoded on dictionaries of their own).
    assert decoded_table(load_census(dataset).pupils).equals(
        decoded_table(load_census(single).pupils)
    )
    # A directory that is a register is accepted wherever a register file is.
    requests_out = tmp_path / "requests.parquet"
    code = main(
        ["requests", "--census", str(dataset), "--count", "50", "--out", str(requests_out), "-q"]
    )
    assert code == 0 and requests_out.exists()
    assert main([*args[:3], "--scheduler", "tcp://127.0.0.1:9", "-q"]) != 0
    assert "--partitions" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter running three scenarios
def test_local_and_processes_run_without_dask_installed(tmp_path):
    import subprocess

    script = f"""
import sys
sys.modules["dask"] = sys.modules["distributed"] = None  # as if not installed
from matchsim.cli import main
from matchsim.scenario import Scenario, run_scenario
spec = {{"population": {{"pupils": 5000}}, "requests": {{"count": 50}}}}
run_scenario(Scenario.model_validate(spec))
run_scenario(Scenario.model_validate({{**spec, "executor": "processes"}}))
code = main(["run", "-q", "--out", r"{tmp_path / "out"}", "--set", "executor=dask",
             "--set", "population.pupils=5000", r"{tmp_path / "s.yaml"}"])
assert code == 2, code
"""
    (tmp_path / "s.yaml").write_text("requests: {count: 50}\n")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'matchsim[dask]'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # on the 2-worker LocalCluster
def test_dask_scenario_refuses_sorted_neighbourhood_before_any_work(dask_executor):
    spec = Scenario.model_validate(
        {"lookup": {"blocking": {"name": "sorted_neighbourhood"}}, "executor": "dask"}
    )
    with pytest.raises(ConfigError, match="cannot run on register partitions"):
        run_scenario(spec, executor=dask_executor)


def test_cli_generate_reports_the_partitions_actually_written(tmp_path, capsys):
    from matchsim.cli import main

    out = tmp_path / "census"
    args = ["generate", "--out", str(out), "--pupils", "3000", "--partitions", "8"]
    assert main([*args, "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "in 1 partition to" in printed  # 3,000 pupils are one block: one part, not 8
    assert len(list((out / "pupils").glob("part-*.parquet"))) == 1
    assert json.loads((out / "_matchsim.json").read_text())["partitions"] == 1


def test_a_failed_dataset_write_leaves_nothing_behind(tmp_path, monkeypatch):
    import matchsim.distributed.census as dataset

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost")

    out = tmp_path / "register"
    original = dataset._build_partition
    monkeypatch.setattr(dataset, "_build_partition", broken)
    with pytest.raises(RuntimeError, match="worker lost"):
        write_census_dataset(CensusConfig(pupils=3000), 4, out, open_executor("local"))
    assert list(tmp_path.iterdir()) == []  # no part files, no temporary directory
    monkeypatch.setattr(dataset, "_build_partition", original)
    assert write_census_dataset(CensusConfig(pupils=3000), 4, out, open_executor("local")) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["register"]
    assert load_census(out).pupils.num_rows == 3000


def test_census_tables_refuse_a_later_block_range_without_its_start():
    from matchsim.synth.census.blocks import generate_blocks
    from matchsim.synth.census.schedule import generate_census_tables

    config = CensusConfig(pupils=3000)
    options = {"chunk_size": BLOCK_PUPILS, "workers": 1, "progress": None}
    with pytest.raises(ValueError, match="needs start="):
        generate_census_tables(config, 4, block_range=range(1, 2), **options)
    blocks = generate_blocks(config, 4, range(1))
    with pytest.raises(ValueError, match="prebuilt holds 2 blocks but block_range has 1"):
        generate_census_tables(config, 4, block_range=range(1), prebuilt=blocks * 2, **options)
