"""matchsim never deletes or replaces anything it did not write (docs/outputs.md).

Each data-loss case: the user's files are byte-identical afterwards, the command exits 2 with
one line and no traceback, and nothing is left behind. Also: replacing matchsim's own results,
default directories, sweeps that fail or are interrupted, and Ctrl-C.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import matchsim
from matchsim.cli import main
from matchsim.cli.run import default_run_dir
from matchsim.errors import ConfigError
from matchsim.io import RESULT_MARKER, WRITTEN_BY_KEY, is_result_dir, write_table

ROOT = Path(__file__).resolve().parents[1]
TWINS = str(ROOT / "scenarios" / "twins.yaml")
SIZES = str(ROOT / "scenarios" / "population-size.yaml")
TINY = ["--set", "population.pupils=2000", "--set", "requests.count=50", "-q"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones too): file bytes, or None for a directory."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


def refused(code: int, stdout: str, stderr: str, *words: str) -> None:
    assert code == 2, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("error: ")
    assert "Traceback" not in stdout + stderr
    for word in words:
        assert word in stderr


@pytest.fixture
def user_files(tmp_path):
    """A user's file and a user's directory with a nested file."""
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "userdir" / "sub").mkdir(parents=True)
    (tmp_path / "userdir" / "keep.txt").write_text("keep me\n")
    (tmp_path / "userdir" / "sub" / "k2.txt").write_text("me too\n")
    return tmp_path


# --- result directories: run ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.txt", "userdir", "userdir/sub"])
def test_run_never_replaces_a_users_file_or_directory(user_files, capsys, name):
    before = snapshot(user_files)
    result = run(capsys, "run", TWINS, *TINY, "--out", str(user_files / name))
    refused(*result, "--out", "give a new")
    assert snapshot(user_files) == before


@pytest.mark.parametrize("out", [".", "..", "{cwd}"])
def test_out_as_the_current_directory_or_a_parent_is_refused(user_files, capsys, monkeypatch, out):
    monkeypatch.chdir(user_files / "userdir")
    parent_before = snapshot(user_files)
    result = run(capsys, "run", TWINS, *TINY, "--out", out.format(cwd=Path.cwd()))
    refused(*result, "current directory")
    assert snapshot(user_files) == parent_before  # and no stray '..old.*' directory


def test_a_directory_with_an_unreadable_marker_is_still_the_users(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / RESULT_MARKER).write_text("not json")
    (mine / "data.txt").write_text("data")
    before = snapshot(tmp_path)
    refused(*run(capsys, "run", TWINS, *TINY, "--out", str(mine)), "no .matchsim-result")
    assert snapshot(tmp_path) == before


def test_a_symbolic_link_as_out_is_refused(user_files, capsys):
    (user_files / "link").symlink_to(user_files / "userdir")
    before = snapshot(user_files)
    refused(*run(capsys, "run", TWINS, *TINY, "--out", str(user_files / "link")), "link")
    assert snapshot(user_files) == before


@pytest.mark.parametrize("name", ["../victim", "/tmp/victim", ".hidden", "a/b", "a b", ""])
def test_a_scenario_name_cannot_steer_writes_outside_results(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "data.txt").write_text("precious\n")
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        (ROOT / "scenarios" / "twins.yaml")
        .read_text()
        .replace("name: twins", f"name: {json.dumps(name)}")
    )
    before = snapshot(tmp_path)
    refused(*run(capsys, "run", str(evil), *TINY), "name:", "letters, digits")
    assert snapshot(tmp_path) == before  # no results/ either


def test_run_replaces_its_own_result_and_an_empty_directory(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()  # an empty directory may be used
    assert run(capsys, "run", TWINS, *TINY, "--out", str(out))[0] == 0
    assert is_result_dir(out, "run")
    marker = json.loads((out / RESULT_MARKER).read_text())
    assert marker["command"] == "run" and marker["scenario"] == "twins"
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    first = json.loads((out / "metrics.json").read_text())
    resolved = (out / "scenario.resolved.yaml").read_text()
    assert f"\nmatchsim_version: {matchsim.__version__}\n" in resolved
    assert run(capsys, "run", TWINS, *TINY, "--seed", "8", "--out", str(out))[0] == 0
    second = json.loads((out / "metrics.json").read_text())
    assert (first["seed"], second["seed"]) == (7, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary or old copy


def test_a_result_holding_a_users_file_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(capsys, "run", TWINS, *TINY, "--out", str(out))[0] == 0
    (out / "my-notes.txt").write_text("what I found\n")
    before = snapshot(tmp_path)
    refused(*run(capsys, "run", TWINS, *TINY, "--out", str(out)), "my-notes.txt", "move them")
    assert snapshot(tmp_path) == before


def test_a_sweep_directory_is_not_replaced_by_a_run(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    (out / RESULT_MARKER).write_text(json.dumps({"matchsim_version": "0", "command": "sweep"}))
    (out / "points").mkdir()
    (out / "points" / "a.json").write_text("{}")
    before = snapshot(tmp_path)
    refused(*run(capsys, "run", TWINS, *TINY, "--out", str(out)), "another command")
    assert snapshot(tmp_path) == before


def test_a_run_with_another_seed_or_settings_gets_its_own_default_directory(
    tmp_path, capsys, monkeypatch
):
    assert default_run_dir("twins", None, []) == Path("results/twins")
    assert default_run_dir("twins", 7, []) == Path("results/twins-seed7")
    a = default_run_dir("twins", None, ["population.pupils=2000"])
    assert a == default_run_dir("twins", None, ["population.pupils=2000"])  # stable
    assert a != default_run_dir("twins", None, ["population.pupils=3000"])
    assert a.parent == Path("results") and a.name.startswith("twins-")
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "run", TWINS, *TINY)[0] == 0
    assert run(capsys, "run", TWINS, *TINY, "--seed", "9")[0] == 0
    plain = default_run_dir("twins", None, TINY[1:4:2])
    seeded = default_run_dir("twins", 9, TINY[1:4:2])
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == sorted(
        [plain.name, seeded.name]
    )
    assert json.loads((plain / "metrics.json").read_text())["seed"] == 7
    assert json.loads((seeded / "metrics.json").read_text())["seed"] == 9


def test_a_result_changed_during_the_run_is_not_replaced(tmp_path, capsys, monkeypatch):
    """The check is repeated at the swap: a user's file that appeared meanwhile survives."""
    import matchsim.report

    out = tmp_path / "out"
    original = matchsim.report.render_report

    def render_and_meddle(scenario_run):
        out.mkdir()
        (out / "mine.txt").write_text("arrived during the run")
        return original(scenario_run)

    monkeypatch.setattr(matchsim.report, "render_report", render_and_meddle)
    code, _, stderr = run(capsys, "run", TWINS, *TINY, "--out", str(out))
    assert code == 2 and "Traceback" not in stderr
    assert snapshot(tmp_path) == {"out": None, "out/mine.txt": b"arrived during the run"}


# --- file outputs: generate, requests, link -----------------------------------------------


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    path = tmp_path_factory.mktemp("register") / "census.parquet"
    assert main(["generate", "--pupils", "1500", "--seed", "1", "--out", str(path), "-q"]) == 0
    return path


def _people(path: Path) -> None:
    path.write_text("id,forename,surname\n1,Ann,Lee\n2,Bob,Kay\n")


def _commands(register: Path, tmp_path: Path) -> dict[str, list[str]]:
    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    _people(left)
    _people(right)
    return {
        "generate": ["generate", "--pupils", "300", "-q"],
        "requests": ["requests", "--census", str(register), "--count", "20", "-q"],
        "link": [
            "link",
            str(left),
            str(right),
            "--map",
            "id=id",
            "--map",
            "forename=forename",
            "--map",
            "surname=surname",
            "--blocking",
            "full",
            "-q",
        ],
    }


@pytest.mark.parametrize("command", ["generate", "requests", "link"])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_file_outputs_replace_a_users_file_only_with_overwrite(
    register, tmp_path, capsys, command, suffix
):
    args = _commands(register, tmp_path)[command]
    out = tmp_path / f"theirs{suffix}"
    if suffix == ".parquet":  # a Parquet file matchsim did not write
        pq.write_table(pa.table({"x": [1, 2]}), out)
    else:
        out.write_text("x\n1\n2\n")
    before = snapshot(tmp_path)
    refused(*run(capsys, *args, "--out", str(out)), "--overwrite", "theirs")
    assert snapshot(tmp_path) == before
    assert run(capsys, *args, "--out", str(out), "--overwrite")[0] == 0
    assert out.read_bytes() != before[out.name]


@pytest.mark.parametrize("command", ["generate", "requests", "link"])
def test_matchsim_replaces_a_parquet_file_it_wrote(register, tmp_path, capsys, command):
    args = _commands(register, tmp_path)[command]
    out = tmp_path / "mine.parquet"
    assert run(capsys, *args, "--out", str(out))[0] == 0
    metadata = pq.read_schema(out).metadata
    assert metadata[WRITTEN_BY_KEY].startswith(b"matchsim ")
    assert run(capsys, *args, "--out", str(out))[0] == 0  # no --overwrite needed


def test_a_csv_output_is_plain_csv_and_rewritten_only_with_overwrite(tmp_path, capsys):
    out = tmp_path / "c.csv"
    args = ["generate", "--pupils", "300", "-q", "--out", str(out)]
    assert run(capsys, *args)[0] == 0
    assert out.read_text().startswith('"pupil_id",')  # the header row: no comment line
    refused(*run(capsys, *args), "carries no mark", "--overwrite")
    assert run(capsys, *args, "--overwrite")[0] == 0


def test_generate_refuses_a_users_address_history_file(tmp_path, capsys):
    history = tmp_path / "c.addresses.parquet"
    pq.write_table(pa.table({"x": [1]}), history)
    before = snapshot(tmp_path)
    refused(*run(capsys, "generate", "--pupils", "300", "--out", str(tmp_path / "c.parquet")))
    assert snapshot(tmp_path) == before


def test_an_output_never_replaces_the_commands_input(register, tmp_path, capsys):
    before = register.read_bytes()
    result = run(capsys, "requests", "--census", str(register), "--out", str(register))
    refused(*result, "is also --census")
    assert register.read_bytes() == before
    left = tmp_path / "left.csv"
    _people(left)
    args = ["link", str(left), str(left), "--map", "id=id", "--map", "surname=surname"]
    refused(*run(capsys, *args, "--out", str(left), "--overwrite"), "is also LEFT")
    assert left.read_text().startswith("id,forename")


def test_the_library_refuses_a_users_file_naming_the_parameter(tmp_path):
    out = tmp_path / "theirs.parquet"
    pq.write_table(pa.table({"x": [1]}), out)
    before = out.read_bytes()
    with pytest.raises(ConfigError, match=r"^out: .*overwrite=True"):
        write_table(pa.table({"y": [2]}), out)
    assert out.read_bytes() == before
    write_table(pa.table({"y": [2]}), out, overwrite=True)
    assert pq.read_table(out).column_names == ["y"]


def test_generate_partitions_only_replace_a_dataset_matchsim_wrote(user_files, capsys):
    args = ["generate", "--pupils", "2000", "--partitions", "2", "--workers", "1", "-q"]
    before = snapshot(user_files)
    for name in ("notes.txt", "userdir"):
        refused(*run(capsys, *args, "--out", str(user_files / name), "--overwrite"), "--out")
    assert snapshot(user_files) == before
    out = user_files / "register"
    assert run(capsys, *args, "--out", str(out))[0] == 0
    assert is_result_dir(out, "generate")
    assert run(capsys, *args, "--seed", "3", "--out", str(out))[0] == 0
    info = json.loads((out / "_matchsim.json").read_text())
    assert info["seed"] == 3
    assert sorted(p.name for p in user_files.iterdir()) == ["notes.txt", "register", "userdir"]


# --- sweeps ---------------------------------------------------------------------------------


SWEEP = [
    "sweep",
    SIZES,
    "--set",
    "requests.count=40",
    "--seeds",
    "1",
    "--workers",
    "1",
    "-q",
]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--grid", "bogus.key=1,2"], "bogus: unknown key"),
        (["--grid", "population.pupils=2000", "--seeds", "0"], "seeds"),
        (["--grid", "lookup.matcher=splink"], "pip install"),
    ],
)
def test_a_sweep_that_fails_validation_leaves_nothing(
    tmp_path, capsys, monkeypatch, extra, expected
):
    if "splink" in extra[1] and importlib.util.find_spec("splink") is not None:
        pytest.skip("splink is installed here, so it is not missing")
    monkeypatch.chdir(tmp_path)
    refused(*run(capsys, *SWEEP, *extra), expected)  # default directory: results/NAME-sweep
    refused(*run(capsys, *SWEEP, *extra, "--out", "s"), expected)
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_on_a_read_only_file_system_is_refused(tmp_path, capsys, monkeypatch):
    """Simulated: tests run as root, for whom permission bits do not stop writes."""
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **k: False if mode == os.W_OK else real_access(p, mode)
    )
    refused(*run(capsys, *SWEEP, "--out", str(tmp_path / "s")), "not writable")
    monkeypatch.setattr(os, "access", real_access)

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", read_only)
    refused(*run(capsys, *SWEEP, "--out", str(tmp_path / "s")), "Read-only file system")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_read_only_default_directory_is_refused_before_any_work(
    tmp_path, capsys, monkeypatch, command
):
    import matchsim.scenario.runner as runner

    def no_work(*args, **kwargs):
        raise AssertionError("work started")

    monkeypatch.setattr(runner, "generate_census", no_work)
    monkeypatch.chdir(tmp_path)  # results/ does not exist: '.' would hold it
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **k: False if mode == os.W_OK else real_access(p, mode)
    )
    args = [*SWEEP, "--grid", "population.pupils=2000"] if command == "sweep" else ["run", TWINS]
    refused(*run(capsys, *args), "'.' is not writable")
    assert list(tmp_path.iterdir()) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_sweep_points_are_strict_json_with_the_usual_mode(tmp_path, capsys):
    # Nobody asked is in the register: the missed-match rate is 0/0, which used to be NaN.
    args = [*SWEEP, "--set", "requests.in_register_share=0", "--grid", "population.pupils=2000"]
    assert run(capsys, *args, "--out", str(tmp_path / "s"))[0] == 0
    points = list((tmp_path / "s" / "points").glob("*.json"))
    assert len(points) == 1

    def not_json(constant):
        raise ValueError(f"{constant} is not JSON")

    point = json.loads(points[0].read_text(), parse_constant=not_json)
    assert point["missed_match_rate"] is None
    assert points[0].stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert is_result_dir(tmp_path / "s", "sweep")


def test_a_sweep_rerun_with_other_settings_reuses_no_stale_point(tmp_path, capsys, monkeypatch):
    import pandas as pd

    import matchsim.scenario.sweep as sweep

    original = sweep.run_point
    calls: list[int] = []

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(sweep, "run_point", counting)
    args = [*SWEEP, "--grid", "population.pupils=2000", "--out", str(tmp_path / "s")]
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args)[0] == 0  # resumed: nothing to compute
    assert len(calls) == 1
    assert run(capsys, *args, "--set", "requests.count=30")[0] == 0
    assert len(calls) == 2
    assert pd.read_csv(tmp_path / "s" / "results.csv")["requests"].tolist() == [30]


def test_a_sweep_refuses_a_users_directory(user_files, capsys):
    before = snapshot(user_files)
    args = [*SWEEP, "--grid", "population.pupils=2000"]
    refused(*run(capsys, *args, "--out", str(user_files / "userdir")), "did not write")
    refused(*run(capsys, *args, "--out", str(user_files / "notes.txt")), "existing file")
    assert snapshot(user_files) == before


# --- Ctrl-C ---------------------------------------------------------------------------------


def test_ctrl_c_during_a_run_says_nothing_was_written(tmp_path, capsys, monkeypatch):
    import matchsim.scenario.runner as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "generate_requests", interrupted)
    code, _, stderr = run(capsys, "run", TWINS, *TINY, "--out", str(tmp_path / "out"))
    assert code == 130
    assert stderr.strip() == "interrupted: nothing written"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_writing_keeps_the_previous_result(tmp_path, capsys, monkeypatch):
    import matchsim.report

    out = tmp_path / "out"
    assert run(capsys, "run", TWINS, *TINY, "--out", str(out))[0] == 0
    before = snapshot(tmp_path)

    def interrupted(scenario_run):
        raise KeyboardInterrupt

    monkeypatch.setattr(matchsim.report, "render_report", interrupted)
    code, _, stderr = run(capsys, "run", TWINS, *TINY, "--seed", "3", "--out", str(out))
    assert (code, stderr.strip()) == (130, "interrupted: nothing written")
    assert snapshot(tmp_path) == before  # no temporary directory, old result intact


def test_ctrl_c_while_generating_leaves_no_file(tmp_path, capsys, monkeypatch):
    import matchsim.io

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(matchsim.io.pq, "write_table", interrupted)
    code, _, stderr = run(capsys, "generate", "--pupils", "300", "--out", str(tmp_path / "c.pq"))
    assert (code, stderr.strip()) == (130, "interrupted: nothing written")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_a_sweep_counts_the_saved_points_and_resumes(tmp_path, capsys, monkeypatch):
    import matchsim.scenario.sweep as sweep

    original = sweep.run_point
    calls: list[int] = []

    def interrupted_at_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(sweep, "run_point", interrupted_at_second)
    out = tmp_path / "s"
    args = [*SWEEP, "--grid", "population.pupils=2000,2500,3000", "--out", str(out)]
    code, _, stderr = run(capsys, *args)
    assert code == 130
    assert stderr.strip() == (
        f"interrupted: 1 of 3 points saved in {out}; run the same command to resume"
    )
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [RESULT_MARKER]
    assert len(list((out / "points").iterdir())) == 1  # no temporary files
    monkeypatch.setattr(sweep, "run_point", original)
    assert run(capsys, *args)[0] == 0
    assert len(list((out / "points").iterdir())) == 3


def test_ctrl_c_before_the_first_sweep_point_leaves_nothing(tmp_path, capsys, monkeypatch):
    import matchsim.scenario.sweep as sweep

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "run_point", interrupted)
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run(capsys, *SWEEP, "--grid", "population.pupils=2000,2500")
    assert (code, stderr.strip()) == (130, "interrupted: nothing written")
    assert list(tmp_path.iterdir()) == []  # not even results/
