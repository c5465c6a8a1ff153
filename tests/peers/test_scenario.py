"""One shipped scenario runs matchsim's Fellegi-Sunter and both peers on the same requests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matchsim.cli import main

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "peers-compared.yaml"


@pytest.mark.usefixtures("recordlinkage_installed", "splink_installed")
def test_peers_compared_sweeps_the_three_matchers_on_the_same_requests(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            str(SCENARIO),
            "--out",
            str(out),
            "-q",
            "--set",
            "population.pupils=15000",
            "--set",
            "requests.count=300",
        ]
    )
    assert code == 0, capsys.readouterr().err
    results = pd.read_parquet(out / "results.parquet")
    assert sorted(results["lookup.matcher"]) == ["fellegi_sunter", "recordlinkage", "splink"]
    # The same requests and register at every point: only the matcher differs.
    assert results["requests"].nunique() == 1 and results["register_pupils"].nunique() == 1
    assert results["seed"].nunique() == 1
    outcomes = ["correct_match", "false_match", "missed_match", "correct_non_match"]
    counts = results[[f"n_{o}" for o in outcomes]].sum(axis=1)
    assert (counts == 300).all()
    #: Each matcher's floor on the share of requests answered with the right child. The
    #: scenario compares the peers; it does not certify them, so a peer's floor only catches
    #: a broken adapter. recordlinkage's unsupervised ECM is the fragile one: 0.54 here in
    #: the world before families took ONS completed sizes, 0.38 after (more siblings, who
    #: share surname, address and postcode); matchsim 0.97 and Splink 0.96 in both.
    floors = {"fellegi_sunter": 0.9, "splink": 0.8, "recordlinkage": 0.25}
    for _, row in results.iterrows():
        assert row["false_match_rate"] < 0.05, row.to_dict()
        assert row["correct_match_rate"] > floors[row["lookup.matcher"]], row.to_dict()
