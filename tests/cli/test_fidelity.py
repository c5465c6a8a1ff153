"""matchsim fidelity, matchsim calibrate and generate's fidelity section, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matchsim.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fidelity_on_a_generated_register(tmp_path, capsys):
    out = tmp_path / "rows.json"
    code, stdout, _ = run(
        capsys, "fidelity", "--pupils", "20000", "--seed", "1", "--json", str(out)
    )
    assert code == 0
    for text in ("population", "moves", "forenames", "surnames", "request errors", "[1]"):
        assert text in stdout
    rows = json.loads(out.read_text())
    assert {r["status"] for r in rows} <= {"pass", "FAIL", "n/a", "info"}
    assert all(r["source"] for r in rows)


def test_fidelity_on_a_census_file(tmp_path, capsys):
    census = tmp_path / "c.parquet"
    assert run(capsys, "generate", "--pupils", "3000", "--out", str(census), "-q")[0] == 0
    code, stdout, _ = run(capsys, "fidelity", "--census", str(census), "--no-requests")
    assert code == 0 and "3,000" in stdout and "request errors" not in stdout


def test_fidelity_refuses_conflicting_options(tmp_path, capsys):
    code, _, err = run(capsys, "fidelity", "--census", "x.parquet", "--pupils", "10")
    assert code == 2 and "--census" in err and "Traceback" not in err


def test_generate_prints_the_fidelity_section(tmp_path, capsys):
    code, stdout, _ = run(
        capsys, "generate", "--pupils", "3000", "--out", str(tmp_path / "c.parquet")
    )
    assert code == 0 and "generated against published" in stdout


def test_calibrate_prints_and_writes_json(tmp_path, capsys):
    out = tmp_path / "cal.json"
    scenario = str(ROOT / "scenarios" / "home-office-lookup.yaml")
    args = ["calibrate", scenario, "--set", "population.pupils=20000", "--requests", "400"]
    code, stdout, _ = run(capsys, *args, "-q", "--json", str(out))
    assert code == 0
    for text in ("In-register share", "Independent checks", "1,500", "police"):
        assert text in stdout
    data = json.loads(out.read_text())
    assert [p["period"] for p in data["periods"]] == ["Jul 2015 - Sep 2016", "Oct 2016 - Sep 2022"]
    # An existing file is never replaced.
    code, _, err = run(capsys, *args, "-q", "--json", str(out))
    assert code == 2 and "already exists" in err


@pytest.mark.slow  # the twins scenario at its shipped, national size: over a minute
def test_the_run_report_carries_the_fidelity_section(tmp_path, capsys):
    scenario = str(ROOT / "scenarios" / "twins.yaml")
    out = tmp_path / "twins"
    code, _, err = run(capsys, "run", scenario, "--out", str(out), "-q")
    assert code == 0, err
    html = (out / "report.html").read_text()
    assert "Generated against published" in html and "North et al." in html
