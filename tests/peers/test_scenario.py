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
    for _, row in results.iterrows():
        assert row["false_match_rate"] < 0.05, row.to_dict()
        assert row["correct_match_rate"] > 0.5, row.to_dict()
