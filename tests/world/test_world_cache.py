"""The world cache: built once, checked before reuse, identical results cold and warm."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matchsim.cli import main
from matchsim.errors import CacheWarning
from matchsim.scenario import load_scenario
from matchsim.scenario.runner import run_scenario
from matchsim.synth import CensusConfig, generate_census
from matchsim.world import (
    CACHE_ENV,
    clear_worlds,
    list_worlds,
    obtain_world,
    world_key,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "home-office-lookup.yaml"
SMALL = ["population.pupils=6000", "requests.count=300"]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    return root


def _world(root: Path, config: CensusConfig, seed: int = 3):
    calls: list[int] = []

    def build():
        calls.append(1)
        return generate_census(config, seed)

    world = obtain_world(config, seed, "current", version="test", build=build, root=root)
    return world, len(calls)


def test_a_scenario_gives_identical_results_with_a_cold_and_a_warm_cache(cache):
    spec = load_scenario(SCENARIO, SMALL)
    cold = run_scenario(spec)
    assert len(list_worlds(cache)) == 1
    warm = run_scenario(spec)
    pd.testing.assert_frame_equal(cold.result.outcomes, warm.result.outcomes)
    assert cold.requests.table.equals(warm.requests.table)
    assert cold.census.summary() == warm.census.summary()

    def strip(metrics: dict) -> dict:  # what a run measures of itself varies
        return {
            k: v
            for k, v in metrics.items()
            if k not in ("timings_seconds", "blocking", "resources")
        }

    assert strip(cold.metrics("x")) == strip(warm.metrics("x"))
    # The warm run read the register and its index from the cache: it built neither.
    assert "request_index" in cold.timings and "request_index" not in warm.timings


def test_a_second_call_builds_nothing(tmp_path):
    config = CensusConfig(pupils=3000)
    first, builds = _world(tmp_path, config)
    assert builds == 1 and set(first.built) == {"census", "register-current"}
    # A first call goes on with the stored copies, memory-mapped, as a second call does: the
    # arrays it built are freed before any request is drawn.
    assert isinstance(first.register.ids, np.memmap) or isinstance(
        first.register.ids.base, np.memmap
    )
    second, builds = _world(tmp_path, config)
    assert builds == 0 and second.built == ()
    assert second.census.pupils.equals(first.census.pupils)
    np.testing.assert_array_equal(second.register.ids, first.register.ids)
    for role, codes in first.register.codes.items():
        np.testing.assert_array_equal(second.register.codes[role], codes)


def test_the_fidelity_rows_are_computed_once_and_kept_with_the_world(tmp_path, monkeypatch):
    """A warm world carries the fidelity rows its build computed (2.3 s of a warm national
    run otherwise): the same rows the register gives now, and the report uses them."""
    import dataclasses
    import html
    import json

    from matchsim import fidelity
    from matchsim.report.html import fidelity_section
    from matchsim.scenario.runner import ScenarioRun
    from matchsim.world import obtain

    def text(rows) -> list[str]:  # NaN (a row the register cannot show) compares equal
        return [json.dumps(dataclasses.asdict(row)) for row in rows]

    config = CensusConfig(pupils=3000)
    first, _ = _world(tmp_path, config)
    want = text(fidelity.fidelity_rows(first.census, include_requests=False))
    assert text(first.fidelity) == want
    monkeypatch.setattr(fidelity, "fidelity_rows", _never)
    monkeypatch.setattr(obtain, "fidelity_rows", _never)
    second, builds = _world(tmp_path, config)
    assert builds == 0 and text(second.fidelity) == want
    run = ScenarioRun(None, second.census, None, None, [], fidelity=second.fidelity)  # type: ignore[arg-type]
    section = fidelity_section(run)
    assert all(html.escape(row.measure) in section for row in second.fidelity)
    # A part stored before its manifest kept the rows: they are computed, not refused.
    manifest = tmp_path / second.key / "census" / "manifest.json"
    stored = json.loads(manifest.read_text())
    del stored["fidelity"]
    manifest.write_text(json.dumps(stored))
    monkeypatch.undo()
    third, builds = _world(tmp_path, config)
    assert builds == 0 and text(third.fidelity) == want


def _never(*args, **kwargs):
    raise AssertionError("the fidelity rows were computed again")


def test_the_key_is_config_seed_and_version():
    config = CensusConfig(pupils=3000)
    key = world_key(config, 1, "1.0")
    assert key == world_key(CensusConfig(pupils=3000), 1, "1.0")
    assert key != world_key(config, 2, "1.0")
    assert key != world_key(config, 1, "1.1")
    assert key != world_key(CensusConfig(pupils=3001), 1, "1.0")


@pytest.mark.parametrize("part", ["census", "register-current"])
def test_a_damaged_part_is_rebuilt(tmp_path, part):
    config = CensusConfig(pupils=3000)
    first, _ = _world(tmp_path, config)
    # Copies: the cached files are memory-mapped, and this test damages them in place.
    pupils = first.census.pupils.to_pandas()
    codes = {role: np.array(c) for role, c in first.register.codes.items()}
    del first
    directory = tmp_path / world_key(config, 3, "test") / part
    victim = max(directory.iterdir(), key=lambda p: p.stat().st_size)
    data = victim.read_bytes()
    victim.unlink()  # replaced by a copy cut short (mappings of the old file stay valid)
    victim.write_bytes(data[: len(data) // 2])
    again, builds = _world(tmp_path, config)
    assert again.built == (part,)
    assert builds == (1 if part == "census" else 0)
    pd.testing.assert_frame_equal(again.census.pupils.to_pandas(), pupils)
    for role, expected in codes.items():
        np.testing.assert_array_equal(again.register.codes[role], expected)
    # and the rebuilt part is whole again
    _, builds = _world(tmp_path, config)
    assert builds == 0


def test_a_missing_manifest_means_rebuild(tmp_path):
    config = CensusConfig(pupils=3000)
    first, _ = _world(tmp_path, config)
    (tmp_path / first.key / "census" / "manifest.json").unlink()
    # Without its manifest the directory may be anyone's: it is not used, and not deleted.
    with pytest.warns(CacheWarning, match="census is in the way.*move or delete"):
        _, builds = _world(tmp_path, config)
    assert builds == 1
    assert (tmp_path / first.key / "census" / "pupils.arrow").exists()


def test_cache_list_and_clear_touch_only_matchsim_worlds(cache, capsys):
    config = CensusConfig(pupils=3000)
    world, _ = _world(cache, config)
    other, _ = _world(cache, config, seed=4)
    mine = cache / "notes.txt"
    mine.write_text("a user's file")
    foreign = cache / ("0" * 20)
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not matchsim's")
    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert world.key in out and other.key in out and "3,000" in out and "MB" in out
    assert main(["cache", "clear", world.key]) == 0
    assert "deleted 1 world" in capsys.readouterr().out
    assert not (cache / world.key).exists() and (cache / other.key).exists()
    assert main(["cache", "clear", "f" * 20]) == 2
    assert "no cached world" in capsys.readouterr().err
    assert main(["cache", "clear"]) == 0
    assert [w.key for w in list_worlds(cache)] == []
    assert mine.read_text() == "a user's file"
    assert (foreign / "keep.txt").exists()


def test_an_interrupted_build_leaves_nothing_that_looks_complete(tmp_path):
    config = CensusConfig(pupils=2000)

    def broken():
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        obtain_world(config, 1, "current", version="t", build=broken, root=tmp_path)
    assert list_worlds(tmp_path) == []
    key = world_key(config, 1, "t")
    # a temporary directory left by a killed process is not a world, and clear removes it
    leftover = tmp_path / key / ".tmp-census.x"
    leftover.mkdir(parents=True)
    (leftover / "pupils.arrow").write_bytes(b"half")
    hour_ago = time.time() - 3600  # untouched since: its writer is gone
    for path in (leftover / "pupils.arrow", leftover):
        os.utime(path, (hour_ago, hour_ago))
    calls = []
    obtain_world(
        config,
        1,
        "current",
        version="t",
        build=lambda: calls.append(1) or generate_census(config, 1),
        root=tmp_path,
    )
    assert calls == [1]
    clear_worlds(root=tmp_path)
    assert not (tmp_path / key).exists()


def test_a_part_another_process_stored_meanwhile_is_kept(tmp_path):
    from matchsim.world.parts import TMP_PREFIX, store_part

    first, _ = _world(tmp_path, CensusConfig(pupils=3000))
    entry = tmp_path / first.key
    manifest = (entry / "census" / "manifest.json").read_text()
    # A second builder finishing later must not swap the part under a process reading it.
    store_part(tmp_path, entry, "census", lambda d: (d / "manifest.json").write_text("{}"))
    assert (entry / "census" / "manifest.json").read_text() == manifest
    assert not [p for p in entry.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_a_cache_that_cannot_be_written_costs_a_rebuild_not_the_run(tmp_path):
    config = CensusConfig(pupils=3000)
    stored, _ = _world(tmp_path / "cache", config)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache should be")
    with pytest.warns(CacheWarning, match="could not be kept") as said:
        unstored, builds = _world(blocked, config)
    assert len(said) == 1  # once, though neither part could be kept
    assert builds == 1 and blocked.read_text() == "a file where the cache should be"
    assert unstored.census.pupils.equals(stored.census.pupils)
    np.testing.assert_array_equal(unstored.index.origin_rows, stored.index.origin_rows)
    for role, codes in stored.register.codes.items():
        np.testing.assert_array_equal(unstored.register.codes[role], codes)


def test_a_failed_index_leaves_no_temporary_part(tmp_path, monkeypatch):
    import matchsim.world.obtain as obtain
    from matchsim.world.parts import TMP_PREFIX

    def broken(census):
        raise RuntimeError("killed while indexing")

    monkeypatch.setattr(obtain, "register_index", broken)
    with pytest.raises(RuntimeError, match="indexing"):
        _world(tmp_path, CensusConfig(pupils=2000))
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(TMP_PREFIX)]
    assert list_worlds(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="Linux: reads /proc/self/maps")
def test_released_pages_leave_the_process_and_read_back_unchanged(tmp_path):
    import pyarrow as pa

    from matchsim.world.parts import read_table, release_mapped_pages, write_table

    def mapped_bytes() -> int:
        status = Path("/proc/self/status").read_text().splitlines()
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("RssFile"))

    values = np.arange(8_000_000, dtype=np.int64)  # 64 MB
    write_table(tmp_path / "t.arrow", pa.table({"v": values}))
    table = read_table(tmp_path / "t.arrow")
    before = mapped_bytes()
    total = pa.compute.sum(table["v"]).as_py()  # reads every page
    touched = mapped_bytes()
    assert touched - before > 48_000_000
    assert release_mapped_pages(tmp_path) >= 64_000_000
    assert touched - mapped_bytes() > 48_000_000
    assert pa.compute.sum(table["v"]).as_py() == total == int(values.sum())
    # other files' mappings and anonymous memory are never advised
    assert release_mapped_pages(tmp_path / "elsewhere") == 0


def test_building_a_world_evicts_the_least_recently_used_beyond_the_budget(tmp_path, monkeypatch):
    from matchsim.world import BUDGET_ENV

    config = CensusConfig(pupils=2000)
    monkeypatch.setenv(BUDGET_ENV, "unlimited")
    old, _ = _world(tmp_path, config, seed=1)
    used, _ = _world(tmp_path, config, seed=2)
    size = max(w.bytes for w in list_worlds(tmp_path))
    # seed 1 was used an hour ago, seed 2 a minute ago
    for world, ago in ((old, 3600), (used, 60)):
        marker = tmp_path / world.key / "last-used"
        stamp = marker.stat().st_mtime - ago
        os.utime(marker, (stamp, stamp))
    foreign = tmp_path / ("0" * 20)
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not matchsim's")
    # room for two worlds: building a third deletes the least recently used, not the others
    monkeypatch.setenv(BUDGET_ENV, str(2.5 * size / 1e9))
    new, builds = _world(tmp_path, config, seed=3)
    assert builds == 1
    assert {w.key for w in list_worlds(tmp_path)} == {used.key, new.key}
    assert not (tmp_path / old.key).exists()
    assert (foreign / "keep.txt").exists()
    # a warm run builds nothing and deletes nothing, however small the budget
    monkeypatch.setenv(BUDGET_ENV, "0")
    _, builds = _world(tmp_path, config, seed=2)
    assert builds == 0 and len(list_worlds(tmp_path)) == 2
    # a budget smaller than the world being built keeps that world
    _, builds = _world(tmp_path, config, seed=4)
    assert builds == 1 and len(list_worlds(tmp_path)) == 1


def test_a_world_another_matchsim_built_is_evicted_first(tmp_path, monkeypatch):
    from matchsim.synth import generate_census as generate
    from matchsim.world import BUDGET_ENV

    config = CensusConfig(pupils=2000)
    monkeypatch.setenv(BUDGET_ENV, "unlimited")
    mine, _ = _world(tmp_path, config, seed=1)
    theirs = obtain_world(
        config, 1, "current", version="other", build=lambda: generate(config, 1), root=tmp_path
    )  # used after mine, but built by other code: this version never reads it
    size = max(w.bytes for w in list_worlds(tmp_path))
    monkeypatch.setenv(BUDGET_ENV, str(2.5 * size / 1e9))
    new, _ = _world(tmp_path, config, seed=2)
    assert {w.key for w in list_worlds(tmp_path)} == {mine.key, new.key}
    assert not (tmp_path / theirs.key).exists()


@pytest.mark.parametrize("value", ["lots", "-3", "nan"])
def test_a_bad_budget_is_refused_before_building(tmp_path, monkeypatch, value):
    from matchsim.errors import ConfigError
    from matchsim.world import BUDGET_ENV

    monkeypatch.setenv(BUDGET_ENV, value)
    with pytest.raises(ConfigError, match="MATCHSIM_CACHE_MAX_GB") as caught:
        _world(tmp_path, CensusConfig(pupils=2000))
    assert "unlimited" in str(caught.value) and not any(tmp_path.iterdir())


def test_the_command_line_says_once_in_one_line_that_the_world_was_not_kept(
    tmp_path, monkeypatch, capsys
):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache should be")
    monkeypatch.setenv(CACHE_ENV, str(blocked))
    argv = ["run", str(SCENARIO), "--set", SMALL[0], "--set", SMALL[1], "-q"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "Not a directory" in notes[0] and "MATCHSIM_CACHE_DIR" in notes[0]
    assert "Traceback" not in err and "CacheWarning" not in err
    assert (tmp_path / "out" / "metrics.json").exists()


def test_listing_and_evicting_survive_other_processes_renaming_parts_meanwhile(tmp_path):
    """A sweep's workers build the same world at once: one lists the cache (to keep its
    budget) while another renames its temporary part into place. Nothing vanishing during
    the listing may fail the run."""
    import threading

    from matchsim.world.cache import evict_worlds

    world, _ = _world(tmp_path, CensusConfig(pupils=2000))
    entry = tmp_path / world.key
    (entry / "last-used").unlink()  # a world whose marker is not written yet
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            tmp = entry / f".tmp-register-x.{n}"
            tmp.mkdir()
            for i in range(20):
                (tmp / f"f{i}").write_bytes(b"x" * 100)
            done = entry / f"gone.{n}"
            os.replace(tmp, done)
            for f in done.iterdir():
                f.unlink()
            done.rmdir()
            n += 1

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(300):
            (listed,) = list_worlds(tmp_path)
            assert listed.key == world.key and "census" in listed.parts
            evict_worlds("f" * 20, tmp_path)  # a budget of 20 GB: nothing to evict
    finally:
        stop.set()
        worker.join()


def test_a_world_another_run_is_building_is_neither_evicted_nor_cleared(tmp_path, monkeypatch):
    from matchsim.world import BUDGET_ENV
    from matchsim.world.cache import BUILDING_SECONDS, evict_worlds

    config = CensusConfig(pupils=2000)
    monkeypatch.setenv(BUDGET_ENV, "unlimited")
    busy, _ = _world(tmp_path, config, seed=1)
    tmp = tmp_path / busy.key / ".tmp-register-old.abc"
    tmp.mkdir()
    (tmp / "half-written.arrow").write_bytes(b"x" * 1000)
    # it is the least recently used, and over budget, but a run is writing its part now
    monkeypatch.setenv(BUDGET_ENV, "0")
    assert evict_worlds("f" * 20, tmp_path) == []
    assert clear_worlds(busy.key, tmp_path)  # its finished parts go; the part being written stays
    assert (tmp / "half-written.arrow").exists()
    assert not (tmp_path / busy.key / "census").exists()
    # a temporary part untouched for longer was left by a run that died: it is removed
    stale = (tmp / "half-written.arrow").stat().st_mtime - BUILDING_SECONDS - 1
    for path in (tmp / "half-written.arrow", tmp):
        os.utime(path, (stale, stale))
    evict_worlds("f" * 20, tmp_path)
    assert not (tmp_path / busy.key).exists()
