"""Scenarios end to end: every shipped scenario, schema errors, atomic results, sweeps, report."""

from __future__ import annotations

import hashlib
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

from matchsim.cli import main
from matchsim.errors import ConfigError
from matchsim.scenario import RESULT_FILES, load_scenario
from matchsim.scenario.reference import reference_markdown

ROOT = Path(__file__).resolve().parents[2]
#: Each shipped scenario's outcomes at the reduced sizes below, as a digest: a refactoring must
#: leave them byte-identical. Rewritten with MATCHSIM_UPDATE_DIGESTS=1 after a change that is
#: meant to alter results (the diff then shows which scenarios moved, for the commit message).
DIGESTS = Path(__file__).with_name("outcome_digests.json")
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL = {
    "police-school-cohort": ["population.pupils=120000"],
    # The attack suite is covered by tests/pprl; here it only has to run.
    "pprl-home-office": [
        "population.pupils=20000",
        "privacy.attacks=[frequency, graph]",
        "privacy.attack_nodes=100",
        "privacy.attack_overlaps=[1.0]",
        "privacy.attack_record_level=false",
    ],
}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def outcome_digest(outcomes: pd.DataFrame, metrics: dict) -> str:
    """SHA-256 of every outcome row and the evaluation block, in a canonical text form
    (timings and the package version, which change between runs, are left out)."""
    text = outcomes.to_json(orient="split", index=False, double_precision=15)
    evaluation = json.dumps(metrics["evaluation"], sort_keys=True)
    return hashlib.sha256(f"{text}\n{evaluation}".encode()).hexdigest()


def check_outcome_digest(name: str, outcomes: pd.DataFrame, metrics: dict) -> None:
    digest = outcome_digest(outcomes, metrics)
    known = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if os.environ.get("MATCHSIM_UPDATE_DIGESTS") == "1":
        known[name] = digest
        DIGESTS.write_text(json.dumps(dict(sorted(known.items())), indent=2) + "\n")
        return
    assert known.get(name) == digest, (
        f"{name}: outcomes differ from tests/scenario/outcome_digests.json; if the change is "
        "meant to alter results, rerun with MATCHSIM_UPDATE_DIGESTS=1 and say why in the commit"
    )


def test_the_shipped_scenarios_are_all_here():
    names = {p.stem for p in SCENARIOS}
    assert names == {
        "home-office-lookup",
        "dwp-identity-check",
        "police-school-cohort",
        "npd-hospital-linkage",
        "twins",
        "common-names",
        "stale-addresses",
        "population-size",
        "pprl-home-office",
        "peers-compared",
    }
    for path in SCENARIOS:
        text = path.read_text()
        assert text.startswith("#"), f"{path.name} should open with a comment saying what it models"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_each_shipped_scenario_runs_at_reduced_size(path, tmp_path, capsys):
    overrides = SMALL.get(path.stem, ["population.pupils=20000"])
    spec = load_scenario(path)
    if spec.requests.profile != "police_cohort":
        overrides = [*overrides, f"requests.count={min(spec.requests.count or 400, 400)}"]
    args = ["run", str(path), "--out", str(tmp_path / "out"), "-q"]
    for item in overrides:
        args += ["--set", item]
    code, _, stderr = run(capsys, *args)
    assert code == 0, stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    metrics = json.loads((out / "metrics.json").read_text())
    counts = metrics["evaluation"]["counts"]
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert sum(counts.values()) == len(outcomes) == metrics["requests"]["count"]
    assert set(outcomes["outcome"]) <= {
        "correct_match",
        "false_match",
        "missed_match",
        "correct_non_match",
    }
    rate = metrics["evaluation"]["rates"]["false_match_rate"]
    assert rate["low"] <= rate["value"] <= rate["high"]
    check_outcome_digest(path.stem, outcomes, metrics)
    # The resolved scenario repeats the run exactly.
    again = tmp_path / "again"
    assert (
        run(capsys, "run", str(out / "scenario.resolved.yaml"), "--out", str(again), "-q")[0] == 0
    )
    assert pd.read_parquet(again / "outcomes.parquet").equals(outcomes)


def test_run_prints_a_summary(tmp_path, capsys):
    code, stdout, _ = run(
        capsys,
        "run",
        str(ROOT / "scenarios" / "stale-addresses.yaml"),
        "--set",
        "population.pupils=20000",
        "--set",
        "requests.count=300",
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 0
    for text in ("false match rate", "missed match rate", "report.html"):
        assert text in stdout


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "requests.errors.dob_day_month_swap=1.4",
            "requests.errors.dob_day_month_swap: 1.4 is not a probability (0–1)",
        ),
        ("lookup.matchr=x", "lookup.matchr: unknown key; did you mean 'matcher'?"),
        ("populaton.pupils=5", "populaton: unknown key; did you mean 'population'?"),
        ("population.pupils=-4", "population.pupils: -4 is not allowed"),
        ("lookup.decision=maybe", "lookup.decision: 'maybe' is not allowed"),
        ("requests.profile=mi5", "unknown profile 'mi5'"),
        ("novalue", "--set: 'novalue' is not KEY.PATH=VALUE"),
    ],
)
def test_schema_errors_name_the_key_path(tmp_path, capsys, override, expected):
    code, stdout, stderr = run(
        capsys,
        "run",
        str(ROOT / "scenarios" / "twins.yaml"),
        "--set",
        override,
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 2
    assert expected in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr + stdout
    assert not (tmp_path / "o").exists()


def test_missing_or_malformed_scenario_files(tmp_path, capsys):
    assert run(capsys, "run", str(tmp_path / "nope.yaml"))[0] == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("population: [1, 2\n")
    code, _, stderr = run(capsys, "run", str(bad))
    assert code == 2 and "not valid YAML" in stderr


def test_a_failed_run_leaves_no_result_directory(tmp_path, capsys, monkeypatch):
    import matchsim.report.html as report

    def broken(run):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report, "render_report", broken)
    import matchsim.report

    monkeypatch.setattr(matchsim.report, "render_report", broken)
    code, _, stderr = run(
        capsys,
        "run",
        str(ROOT / "scenarios" / "twins.yaml"),
        "--set",
        "population.pupils=5000",
        "--set",
        "requests.count=100",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 1
    assert "--debug" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in ("meta", "br", "circle", "line", "rect", "polyline", "img", "link"):
            self.open.append(tag)
        for name, value in attrs:
            # In-page links (the glossary's "#g-...") fetch nothing.
            if name in ("href", "src") and value and not value.startswith("#"):
                self.urls.append(value)

    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()


def test_report_is_self_contained_and_well_formed(tmp_path, capsys):
    out = tmp_path / "o"
    assert (
        run(
            capsys,
            "run",
            str(ROOT / "scenarios" / "twins.yaml"),
            "--set",
            "population.pupils=20000",
            "--set",
            "requests.count=500",
            "--out",
            str(out),
            "-q",
        )[0]
        == 0
    )
    page = (out / "report.html").read_text()
    parser = _Collector()
    parser.feed(page)
    assert parser.urls == []  # no scripts, stylesheets or images fetched from anywhere
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert parser.tags.count("svg") >= 4  # outcomes, subgroup rates, blocking trade-off
    assert parser.open == []  # every element closed
    for heading in (
        "Outcomes",
        "Who bears the errors",
        "Blocking: which children were compared",
        "How it went wrong",
        "Threshold and rule trade-offs",
        "Glossary",
    ):
        assert heading in page
    assert "Wrong children returned" in page


def test_sweep_is_resumable(tmp_path, capsys, monkeypatch):
    import matchsim.scenario.sweep as sweep

    calls: list[int] = []
    original = sweep.run_point

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(sweep, "run_point", counting)
    args = [
        "sweep",
        str(ROOT / "scenarios" / "population-size.yaml"),
        "--grid",
        "population.pupils=3000,6000",
        "--seeds",
        "2",
        "--workers",
        "1",
        "--set",
        "requests.count=200",
        "--out",
        str(tmp_path / "s"),
        "-q",
    ]
    assert run(capsys, *args)[0] == 0
    assert len(calls) == 4
    results = pd.read_csv(tmp_path / "s" / "results.csv")
    assert len(results) == 4 and set(results["population.pupils"]) == {3000, 6000}
    assert (tmp_path / "s" / "sweep.html").exists()
    # A rerun computes nothing; losing one point recomputes only that one.
    assert run(capsys, *args)[0] == 0
    assert len(calls) == 4
    next((tmp_path / "s" / "points").glob("*.json")).unlink()
    assert run(capsys, *args)[0] == 0
    assert len(calls) == 5
    assert pd.read_csv(tmp_path / "s" / "results.csv").equals(results)


def test_sweep_needs_something_to_vary(tmp_path, capsys):
    code, _, stderr = run(
        capsys, "sweep", str(ROOT / "scenarios" / "twins.yaml"), "--out", str(tmp_path / "s")
    )
    assert code == 2 and "nothing to vary" in stderr


def test_list_shows_every_registry(capsys):
    code, stdout, _ = run(capsys, "list")
    assert code == 0
    for name in (
        "sorted_neighbourhood",
        "fellegi_sunter",
        "police_cohort",
        "dob_day_month_swap",
        "date_of_birth",
    ):
        assert name in stdout


def test_reference_page_is_generated_from_the_schema():
    committed = (ROOT / "docs" / "scenario-reference.md").read_text()
    assert committed == reference_markdown(), (
        "regenerate: python -m matchsim.scenario.reference > docs/scenario-reference.md"
    )
    assert "`requests.errors`" in committed and "`population.pupils`" in committed


def test_load_scenario_from_data():
    spec = load_scenario(data={"population": {"pupils": 1000}})
    assert spec.population.pupils == 1000
    with pytest.raises(ConfigError, match=r"lookup\.threshold"):
        load_scenario(data={"lookup": {"threshold": -1}})


def test_sweep_over_mapping_values_groups_by_their_canonical_text(tmp_path, capsys):
    spec = tmp_path / "sweep.yaml"
    matchers = [
        {"name": "deterministic", "address": "none"},
        {"address": "postcode", "name": "deterministic"},
    ]
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "matcher-sweep",
                "seed": 3,
                "population": {"pupils": 3000},
                "requests": {"count": 50},
                "sweep": {"grid": {"lookup.matcher": matchers}, "seeds": 2, "workers": 1},
            }
        )
    )
    code, _, stderr = run(capsys, "sweep", str(spec), "--out", str(tmp_path / "s"), "-q")
    assert code == 0, stderr
    results = pd.read_csv(tmp_path / "s" / "results.csv")
    shown = [json.dumps(m, sort_keys=True, separators=(",", ":")) for m in matchers]
    assert sorted(results["lookup.matcher"]) == sorted(shown * 2)
    page = (tmp_path / "s" / "sweep.html").read_text()
    assert "address" in page and "postcode" in page
