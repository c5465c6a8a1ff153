"""The encoded matcher and blocker in lookups and scenarios; the key in no output."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml

from matchsim.cli import main
from matchsim.linkage import lookup, prepare_register
from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census

ROOT = Path(__file__).resolve().parents[2]
SECRET = "pprl-test-secret-7f3a9c2e51"


def _small_pprl_scenario(monkeypatch, *overrides: str):
    """The shipped pprl scenario on an 8,000-pupil register, with ``overrides``."""
    from matchsim.scenario import load_scenario

    monkeypatch.setenv("MATCHSIM_PPRL_KEY", SECRET)
    return load_scenario(
        ROOT / "scenarios" / "pprl-home-office.yaml", ["population.pupils=8000", *overrides]
    )


@pytest.fixture(scope="module")
def world():
    census = generate_census(CensusConfig(pupils=20_000, birth_years=(1995, 2010)), seed=5)
    requests = generate_requests(census, RequestConfig(profile="immigration", count=300), seed=6)
    return census, requests, prepare_register(census)


def test_encoded_lookup_is_close_to_plaintext_and_lsh_blocks_on_encodings(world):
    census, requests, register = world
    plain = lookup(census, requests, register=register, matcher="fellegi_sunter")
    matcher = {"name": "bloom_dice", "threshold": 0.85, "key": SECRET}
    encoded = lookup(census, requests, register=register, matcher=matcher)
    assert encoded.link.pair_metrics["f1"] > 0.85
    assert encoded.link.pair_metrics["f1"] <= plain.link.pair_metrics["f1"] + 0.02
    assert SECRET not in encoded.link.matcher.describe()
    lsh = lookup(
        census,
        requests,
        register=register,
        matcher=matcher,
        blocking={"name": "clk_lsh", "bands": 24, "bits": 24, "encoding": {"key": SECRET}},
    )
    assert lsh.link.blocking.pairs_completeness > 0.85
    assert lsh.link.blocking.reduction_ratio > 0.99


def _key_forms(key: str) -> list[bytes]:
    raw = key.encode()
    return [raw, raw.hex().encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw)]


def test_the_key_is_in_no_output_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MATCHSIM_PPRL_KEY", SECRET)
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(ROOT / "scenarios" / "pprl-home-office.yaml"),
            "--out",
            str(out),
            "-q",
            "--set",
            "population.pupils=20000",
            "--set",
            "requests.count=300",
            "--set",
            "privacy.attack_nodes=200",
            "--set",
            "privacy.attacks=[frequency]",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    files = list(out.iterdir())
    assert {p.name for p in files} >= {"metrics.json", "report.html", "scenario.resolved.yaml"}
    for path in files:
        data = path.read_bytes()
        for form in _key_forms(SECRET):
            assert form not in data, f"{path.name} holds the key"
    for form in _key_forms(SECRET):
        assert form.decode() not in printed.out + printed.err
    metrics = json.loads((out / "metrics.json").read_text())
    privacy = metrics["privacy"]
    assert privacy["key_source"] == "environment variable MATCHSIM_PPRL_KEY"
    assert [r["label"] for r in privacy["side_by_side"]] == ["plaintext", "encoded"]
    assert sum(privacy["side_by_side"][1]["counts"].values()) == metrics["requests"]["count"]
    by_label = {r["label"]: r for r in privacy["tradeoff"]}
    # Deterministic hardening leaves identical names identical; salting and BLIP break that.
    none = by_label["none"]["attack_success"]
    assert by_label["xor-fold"]["attack_success"] == none
    assert by_label["BLIP f=0.05"]["attack_success"] < none
    assert by_label["salt=birth_year"]["attack_success"] < none
    assert privacy["quasi_identifiers"][0]["unique_share"] > 0.5
    html = (out / "report.html").read_text()
    assert "Privacy-preserving matching" in html and "Privacy trade-off" in html


def test_an_inline_key_is_redacted_from_the_resolved_scenario(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(ROOT / "scenarios" / "twins.yaml"),
            "--out",
            str(out),
            "-q",
            "--set",
            "population.pupils=20000",
            "--set",
            "requests.count=100",
            "--set",
            f"lookup.matcher={{name: bloom_dice, key: {SECRET}}}",
        ]
    )
    assert code == 0, capsys.readouterr().err
    for path in out.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["lookup"]["matcher"]["key"] == "<redacted>"
    # Re-running the resolved copy asks for the key instead of using the placeholder.
    code = main(
        ["run", str(out / "scenario.resolved.yaml"), "--out", str(tmp_path / "again"), "-q"]
    )
    assert code == 2
    assert "redacted" in capsys.readouterr().err


def test_a_key_in_the_privacy_section_is_refused(tmp_path, capsys):
    code = main(
        [
            "run",
            str(ROOT / "scenarios" / "pprl-home-office.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--set",
            f"privacy.encoding.key={SECRET}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "privacy.encoding" in err and SECRET not in err


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("privacy.attacks=[frequency, rainbow]", "rainbow"),
        ("privacy.attack_overlaps=[1.5]", "overlap"),
        ("privacy.tradeoff=[{diffusion: 100}]", "diffusion"),
        ("privacy.tradeoff=[{pepper: 1}]", "pepper"),
    ],
)
def test_bad_attack_settings_are_refused_naming_the_field(tmp_path, capsys, setting, expected):
    out = tmp_path / "o"
    code = main(["run", str(ROOT / "scenarios" / "pprl-home-office.yaml"), "--out", str(out),
                 "--set", "population.pupils=3000", "--set", setting])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow  # the privacy section twice, attacks and trade-off included
def test_the_privacy_section_is_reproducible(monkeypatch):
    from matchsim.scenario.runner import run_scenario

    scenario = _small_pprl_scenario(
        monkeypatch,
        "requests.count=150",
        "privacy.tradeoff=[{}, {blip: 0.05}]",
        "privacy.blocking={name: clk_lsh, bands: 16, bits: 20}",
        "privacy.attack_nodes=150",
        "privacy.attack_overlaps=[1.0]",
    )
    first, second = (run_scenario(scenario).privacy for _ in range(2))
    for run in (first, second):
        run.pop("timings_seconds")
        for row in run["tradeoff"]:
            for outcome in row["attack_outcomes"]:
                outcome.pop("seconds")
    assert first == second
    assert first["blocking"] == "clk_lsh(16 bands x 20 bits)"


def test_attacks_see_a_seeded_sample_of_the_register(world):
    """At national size the attacks would unpack 16 GB of filter bits: they see a uniform
    sample of privacy.attack_records register records, the same for the same seed."""
    import numpy as np

    from matchsim.pprl.scenario import attacked_records

    _, _, register = world
    sample = attacked_records(register, 3000, seed=7)
    assert len(sample) == 3000
    assert np.all(np.diff(sample.ids) > 0)  # register order, no record twice
    rows = np.searchsorted(register.ids, sample.ids)
    assert np.array_equal(register.ids[rows], sample.ids)
    for role, codes in sample.codes.items():
        assert np.array_equal(codes, register.codes[role][rows])
        assert sample.vocabularies[role] is register.vocabularies[role]
    assert np.array_equal(sample.dob, register.dob[rows])
    assert np.array_equal(attacked_records(register, 3000, seed=7).ids, sample.ids)
    assert not np.array_equal(attacked_records(register, 3000, seed=8).ids, sample.ids)
    assert attacked_records(register, len(register), seed=7) is register


def test_the_privacy_section_says_how_many_records_were_attacked(monkeypatch):
    from matchsim.report.privacy import privacy_section
    from matchsim.scenario.runner import run_scenario

    scenario = _small_pprl_scenario(
        monkeypatch,
        "requests.count=100",
        "privacy.tradeoff=[{}]",
        "privacy.attacks=[frequency]",
        "privacy.attack_record_level=false",
        "privacy.attack_records=2500",
    )
    run = run_scenario(scenario)
    assert run.privacy["attacked_records"] == 2500
    assert run.privacy["attacker_reference_pupils"] == 2500  # as many as it attacks
    (row,) = run.privacy["tradeoff"]
    for attack in row["attacks"]:
        assert attack["records"] == 2500, attack
    assert run.privacy["register_records"] == 8000
    assert "a uniform sample of 2,500 of the register's 8,000 records" in privacy_section(run)


@pytest.mark.slow
def test_the_report_shows_each_attack_beside_linkage_quality(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(ROOT / "scenarios" / "pprl-home-office.yaml"),
            "--out",
            str(out),
            "-q",
            "--set",
            "population.pupils=10000",
            "--set",
            "requests.count=200",
            "--set",
            "privacy.tradeoff=[{}, {salt: birth_year}, {diffusion: 6}]",
            "--set",
            "privacy.attack_nodes=400",
            "--set",
            "privacy.attack_overlaps=[1.0, 0.1]",
        ]
    )
    assert code == 0, capsys.readouterr().err
    privacy = json.loads((out / "metrics.json").read_text())["privacy"]
    rows = {r["label"]: r for r in privacy["tradeoff"]}
    assert set(rows) == {"none", "salt=birth_year", "diffusion t=6"}
    for row in rows.values():
        oracle = row["thresholds"]["oracle"]
        for rule in ("unsupervised", "one_to_one"):  # the oracle is the best any cut does
            assert oracle["f1"] >= row["thresholds"][rule]["f1"]
        for a in row["attack_outcomes"]:
            low, high = a["records_interval"]
            assert low <= a["records_share"] <= high

    def success(label, attack, field, knowledge):
        (hit,) = [
            a["records_share"]
            for a in rows[label]["attack_outcomes"]
            if (a["attack"], a["field"], a["knowledge"]) == (attack, field, knowledge)
        ]
        return hit

    # Unhardened first names fall to the worst-case attacks; salting stops them.
    plain = success("none", "pattern_mining", "forename", "register")
    assert plain > 0.1
    assert success("salt=birth_year", "pattern_mining", "forename", "register") < plain / 5
    # The graph attack needs overlap.
    full = success("none", "graph", "forename", "overlap 1")
    assert full > 0.3 and success("none", "graph", "forename", "overlap 0.1") < full / 2
    html = (out / "report.html").read_text()
    assert "Privacy-utility frontier" in html and "bit pattern: forename, register" in html


def test_an_inline_key_is_in_no_output_of_a_sweep(tmp_path, capsys):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "key-sweep",
                "seed": 3,
                "population": {"pupils": 3000},
                "requests": {"count": 50},
                "sweep": {
                    "grid": {
                        "lookup.matcher": [
                            {"name": "bloom_dice", "key": SECRET, "threshold": 0.8},
                            {"name": "bloom_dice", "key": SECRET, "threshold": 0.9},
                        ]
                    },
                    "seeds": 1,
                },
            }
        )
    )
    out = tmp_path / "s"
    # Two worker processes: the key reaches them through the environment, never a payload.
    code = main(["sweep", str(spec), "--out", str(out), "--workers", "2", "-q"])
    assert code == 0, capsys.readouterr().err
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"results.csv", "results.parquet", "sweep.html"}
    assert len(list((out / "points").glob("*.json"))) == 2
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
        assert base64.b64encode(SECRET.encode()) not in path.read_bytes(), path
    results = json.loads(next((out / "points").glob("*.json")).read_text())
    assert json.loads(results["lookup.matcher"])["key"] == "<redacted>"
    assert SECRET not in capsys.readouterr().out
    assert not [k for k in os.environ if k.startswith("MATCHSIM_SWEEP_KEY_")]


def test_sweep_payloads_and_task_ids_hold_no_inline_key():
    from matchsim.scenario import sweep
    from matchsim.scenario.schema import Scenario

    base = Scenario.model_validate({"population": {"pupils": 3000}})
    settings = {"lookup.matcher": {"name": "bloom_dice", "key": SECRET}}
    scenario = sweep.point_scenario(base, settings, 1)
    variables: dict[str, str] = {}
    payload = sweep._payload(scenario, variables)
    assert SECRET not in payload and variables == {SECRET: "MATCHSIM_SWEEP_KEY_0"}
    assert json.loads(payload)["lookup"]["matcher"]["key_env"] == "MATCHSIM_SWEEP_KEY_0"
    shown = sweep.shown_settings(settings)
    assert SECRET not in json.dumps(shown)
    # Two points that differ only by their key would share a task id: refused.
    other = {"lookup.matcher": {"name": "bloom_dice", "key": SECRET + "x"}}
    assert sweep._task_id(shown, 1) == sweep._task_id(sweep.shown_settings(other), 1)


def test_the_encoded_matcher_runs_no_plaintext_comparison(world, monkeypatch):
    import matchsim.linkage.pipeline as linkage

    census, requests, register = world

    def no_plaintext(*args, **kwargs):
        raise AssertionError("bloom_dice must not compare plaintext")

    monkeypatch.setattr(linkage, "compare", no_plaintext)
    monkeypatch.setattr(linkage, "default_comparisons", no_plaintext)
    result = lookup(
        census,
        requests,
        register=register,
        matcher={"name": "bloom_dice", "key": SECRET},
    )
    assert result.link.comparison.levels.shape[1] == 0
    assert result.evaluation.counts["correct_match"] > 0


class _UnusedPartitions:
    def candidates(self, *args, **kwargs):
        raise AssertionError("a non-partitionable matcher must be refused before any partition")


@pytest.mark.parametrize("matcher", ["bloom_dice"])
def test_a_non_partitionable_matcher_is_refused_on_partitions(world, matcher):
    from matchsim.errors import ConfigError
    from matchsim.matchers import make_matcher

    census, requests, register = world
    model = make_matcher({"name": matcher, "key": SECRET})
    assert not model.partitionable and not model.needs_levels
    with pytest.raises(ConfigError, match=r"^lookup\.matcher: the bloom_dice matcher cannot run"):
        lookup(
            census,
            requests,
            register=register,
            partitions=_UnusedPartitions(),
            matcher={"name": matcher, "key": SECRET},
        )


def test_a_dask_scenario_refuses_the_encoded_matcher_before_any_work(monkeypatch):
    import matchsim.scenario.runner as runner
    from matchsim.distributed import Executor
    from matchsim.errors import ConfigError
    from matchsim.scenario.schema import Scenario

    def no_work(*args, **kwargs):
        raise AssertionError("refused too late: the register is being generated")

    monkeypatch.setattr(runner, "generate_census", no_work)
    monkeypatch.setattr("matchsim.distributed.generate_census_partitioned", no_work)
    spec = Scenario.model_validate(
        {"lookup": {"matcher": {"name": "bloom_dice", "key": SECRET}}, "executor": "dask"}
    )
    with pytest.raises(ConfigError, match=r"^lookup\.matcher: .*register partitions"):
        runner.run_scenario(spec, executor=Executor("dask", 1))
    # From the scenario's own executor setting: refused before a cluster is started.
    monkeypatch.setattr("matchsim.distributed.open_executor", no_work)
    with pytest.raises(ConfigError, match=r"^lookup\.matcher: .*register partitions"):
        runner.run_scenario(spec)


def test_one_dice_default_for_the_matcher_and_the_privacy_section():
    from matchsim.matchers import make_matcher
    from matchsim.pprl.dice import DICE_THRESHOLD
    from matchsim.pprl.scenario import PrivacyConfig

    assert make_matcher({"name": "bloom_dice", "key": SECRET}).threshold == DICE_THRESHOLD
    assert PrivacyConfig().threshold == DICE_THRESHOLD


def test_a_sweep_refuses_points_that_differ_only_by_their_key(tmp_path):
    from matchsim.errors import ConfigError
    from matchsim.scenario import sweep
    from matchsim.scenario.schema import Scenario

    base = Scenario.model_validate({"population": {"pupils": 3000}})
    keys = [{"name": "bloom_dice", "key": SECRET}, {"name": "bloom_dice", "key": SECRET + "x"}]
    with pytest.raises(ConfigError, match=r"^sweep\.grid: two points differ only by a secret"):
        sweep.run_sweep(base, {"lookup.matcher": keys}, 1, tmp_path / "s", workers=1)
    assert not list((tmp_path / "s" / "points").glob("*.json"))
