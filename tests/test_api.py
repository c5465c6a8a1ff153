"""The facade, ``import matchsim as ms``: each function, overrides, errors naming parameters,
``Simulation.write``'s safety, the README's Python example and the docstring examples."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import matchsim as ms
from matchsim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "population": {"pupils": 3000}, "requests": {"count": 60}}


@pytest.fixture(scope="module")
def tiny_census():
    return ms.generate_census(pupils=3000, seed=3)


def test_importing_the_errors_loads_neither_pandas_nor_the_world():
    code = (
        "import sys, matchsim, matchsim.errors; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'matchsim.synth', 'matchsim.api') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_facade_names_are_its_functions_even_after_the_modules_are_imported():
    import matchsim.linkage.dedupe
    import matchsim.linkage.lookup  # noqa: F401
    from matchsim import api, simulation

    for name in ("link", "dedupe", "lookup", "generate_census", "generate_requests"):
        assert getattr(ms, name) is getattr(api, name)
    for name in ("simulate", "Simulation"):
        assert getattr(ms, name) is getattr(simulation, name)
    for name in ("simulate", "link", "dedupe", "lookup", "generate_census", "generate_requests"):
        assert callable(getattr(ms, name))
    assert set(api.__all__) - {"check_seed"} <= set(ms.__all__)
    assert set(simulation.__all__) <= set(ms.__all__)
    assert ms.Census is __import__("matchsim.synth", fromlist=["Census"]).Census
    with pytest.raises(AttributeError):
        ms.no_such_name  # noqa: B018


def test_simulate_applies_overrides_given_as_a_mapping_or_as_items():
    by_mapping = ms.simulate(TINY, overrides={"requests.count": 30, "lookup.matcher": "weighted"})
    by_items = ms.simulate(TINY, overrides=["requests.count=30", "lookup.matcher=weighted"])
    assert len(by_mapping.outcomes) == len(by_items.outcomes) == 30
    assert by_mapping.metrics["lookup"]["matcher"] == by_items.metrics["lookup"]["matcher"]
    assert "weighted" in by_mapping.metrics["lookup"]["matcher"]
    pd.testing.assert_frame_equal(by_mapping.outcomes, by_items.outcomes)


def test_simulate_takes_a_seed_and_a_scenario_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(TINY), encoding="utf-8")  # JSON is YAML
    run = ms.simulate(path, seed=5)
    assert run.metrics["seed"] == 5 and run.scenario.seed == 5
    same = ms.simulate(str(path), overrides={"seed": 5})
    pd.testing.assert_frame_equal(run.outcomes, same.outcomes)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: ms.simulate(TINY, seed=-1), "seed"),
        (lambda: ms.simulate(TINY, overrides="requests.count=3"), "overrides"),
        (lambda: ms.simulate(TINY, overrides=["requests.count"]), "overrides"),
        (lambda: ms.simulate(TINY, overrides={"requests.count": -3}), "requests.count"),
        (lambda: ms.simulate("no/such/scenario.yaml"), "scenario"),
        (lambda: ms.simulate(42), "scenario"),
        (lambda: ms.generate_census({"pupils": -3}), "config.pupils"),
        (lambda: ms.generate_census(pupils=0), "config.pupils"),
        (lambda: ms.generate_census(pupils=100, workers=0), "workers"),
        (lambda: ms.generate_census(pupils=100, seed=2**63), "seed"),
    ],
)
def test_errors_name_the_parameter(call, field):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert "--" not in info.value.field


def test_stage_errors_name_the_parameter(tiny_census):
    with pytest.raises(ConfigError, match=r"^config\.count: "):
        ms.generate_requests(tiny_census, {"count": -1})
    people = pd.DataFrame({"sn": ["Smith", "Smith"], "dob": ["2010-05-01", "2010-05-01"]})
    roles = {"sn": "surname", "dob": "date_of_birth"}
    with pytest.raises(ConfigError, match=r"^roles: "):
        ms.link(people, people)
    with pytest.raises(ConfigError, match=r"^threshold: "):
        ms.link(people, people, roles, matcher="weighted", threshold=2)
    with pytest.raises(ConfigError, match=r"^true_links: "):
        ms.link(people, people, roles, matcher="weighted", true_links=pd.DataFrame({"a": [1]}))
    with pytest.raises(ConfigError, match=r"^cluster_method: "):
        ms.dedupe(people, roles, cluster_method="nope")
    with pytest.raises(TypeError, match="blockin"):
        ms.link(people, people, roles, blockin="exact:dob")  # type: ignore[call-arg]


def test_each_stage_from_the_facade(tiny_census):
    requests = ms.generate_requests(tiny_census, {"count": 40, "profile": "immigration"}, seed=4)
    assert requests.table.num_rows == 40
    result = ms.lookup(tiny_census, requests, matcher="deterministic", decision="best")
    assert len(result.outcomes) == 40
    assert sum(result.evaluation.counts.values()) == 40
    pupils = tiny_census.pupils_frame.head(300)
    roles = {"pupil_id": "id", "forename": "forename", "surname": "surname"}
    roles |= {"date_of_birth": "date_of_birth"}
    linked = ms.link(
        pupils, pupils, roles, blocking="exact:dob", matcher="weighted", decision="best"
    )
    assert (linked.decisions["returned"].str.len() >= 1).all()
    deduped = ms.dedupe(pupils, roles, blocking="exact:dob", matcher="weighted")
    assert deduped.n_clusters <= len(pupils)


def test_write_is_atomic_and_refuses_what_matchsim_did_not_write(tmp_path):
    run = ms.simulate(TINY, overrides={"requests.count": 20})
    out = run.write(tmp_path / "result")
    assert {"metrics.json", "outcomes.parquet", "report.html", ".matchsim-result"} <= {
        p.name for p in out.iterdir()
    }
    assert json.loads((out / "metrics.json").read_text())["requests"]["count"] == 20
    run.write(out)  # its own result is replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]  # no temporary left
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^out_dir: "):
        run.write(theirs)
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"]
    with pytest.raises(ConfigError, match=r"^out_dir: "):
        run.write(tmp_path / "missing" / "result")
    assert (run.write(tmp_path / "made" / "result", create_parent=True) / "metrics.json").exists()


def readme_python_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Python\n", 1)[1].split("\n#", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_shows_the_main_job_in_five_lines_and_it_runs(tmp_path, monkeypatch, capsys):
    code = readme_python_example()
    assert len(code.strip().splitlines()) <= 5
    assert code.count('.yaml")') == 1
    # At reduced size: the README's run is the national register.
    code = code.replace('.yaml")', '.yaml", overrides={"population.pupils": 20000})')
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    rate = ast.literal_eval(capsys.readouterr().out)  # the printed false-match rate
    assert 0 <= rate["low"] <= rate["value"] <= rate["high"] <= 1
    result = tmp_path / "home-office-lookup"
    metrics = json.loads((result / "metrics.json").read_text())
    assert metrics["population"]["pupils"] == 20000
    assert metrics["evaluation"]["rates"]["false_match_rate"] == rate
