"""The report's computations and pieces, without a browser (tests/report/browser opens the pages)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from rich.console import Console

from matchsim.report.charts import Dot, dot_chart, nice_ticks
from matchsim.report.examples import _cell
from matchsim.report.glossary import GLOSSARY, glossary_section, term
from matchsim.report.tables import sweep_table


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-6, 1e6, allow_nan=False),
)
def test_ticks_are_round_and_cover_the_range(low, span) -> None:
    assume(span >= 1e-6 * max(1.0, abs(low)))  # charts span more than float rounding
    high = low + span
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low + 1e-9 * span and ticks[-1] >= high - 1e-9 * span
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0], rtol=1e-6)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
    assert 2 <= len(ticks) <= 12


def test_percent_ticks_land_on_round_values() -> None:
    assert nice_ticks(0, 0.167) == [0, 0.05, 0.1, 0.15, 0.2]


def test_a_group_with_too_few_requests_says_so_in_words() -> None:
    svg = dot_chart(
        [Dot("male", 120.0, 80.0, 170.0, 500), Dot("sex wrong", 0.0, 0.0, 9000.0, 1)],
        "Wrong children returned, per 10,000 requests",
    )
    assert "too few requests to estimate a rate" in svg
    assert "sex wrong (requests n=1)" in svg
    assert svg.count("<circle") == 1  # only the group with enough requests gets a dot


def test_missing_on_both_sides_is_not_a_disagreement() -> None:
    assert 'class="missing"' in _cell(None, None, None)
    assert 'class="missing"' in _cell("", float("nan"), "missing")
    assert "—" in _cell(None, None, None)
    assert 'class="agree"' in _cell("Smith", "SMITH", "exact")
    assert 'class="near"' in _cell("Smith", "Smyth", "soundex")
    assert 'class="differ"' in _cell("Smith", "Jones", "else")


def test_every_term_links_to_its_entry() -> None:
    section = glossary_section()
    for key in GLOSSARY:
        assert f'id="g-{key}"' in section
        assert f'href="#g-{key}"' in term(key)
    with pytest.raises(KeyError):
        term("no-such-term")


def _summary() -> pd.DataFrame:
    rows = []
    for size in (25_000, 100_000, 400_000, 1_600_000):
        for decision in ("unique", "best", "all"):
            rows.append(
                {
                    "population.pupils": size,
                    "lookup.matcher.name": "fellegi_sunter",
                    "lookup.decision": decision,
                    "seeds": 3,
                    "false_match_rate": 0.0123,
                    "false_match_rate_low": 0.0101,
                    "false_match_rate_high": 0.0150,
                    "missed_match_rate": 0.00047,
                    "missed_match_rate_low": 0.0001,
                    "missed_match_rate_high": 0.0021,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("width", [80, 120])
def test_the_terminal_sweep_table_fits_and_shows_intervals(width: int) -> None:
    console = Console(width=width, record=True, color_system=None)
    grid = ["population.pupils", "lookup.matcher.name", "lookup.decision"]
    console.print(sweep_table(_summary(), grid, "population-size: 36 runs in results/x/"))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text  # nothing cut off
    for part in ("population.", "pupils", "lookup.", "decision", "3 seeds", "interval"):
        assert part in text
    assert re.search(r"1\.23%", text) and "(1.01-1.50%)" in text
    assert "0.047%" in text and "(0.010-0.210%)" in text


@pytest.fixture(scope="module")
def twins_run(tmp_path_factory: pytest.TempPathFactory):
    from matchsim.scenario import load_scenario
    from matchsim.scenario.runner import run_scenario

    spec = load_scenario("scenarios/twins.yaml", ["population.pupils=1500", "requests.count=300"])
    with pytest.MonkeyPatch.context() as mp:
        # Any cache of generated worlds stays in the test's own directory.
        mp.setenv("MATCHSIM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return run_scenario(spec)


def test_the_trade_off_curve_reproduces_the_run_at_its_threshold(twins_run) -> None:
    from matchsim.report.analysis import tradeoff_frame

    frame = tradeoff_frame(twins_run)
    link = twins_run.result.link
    at = frame[(frame["policy"] == "all") & (frame["threshold"] == link.threshold)]
    assert len(at) == 1
    for outcome, count in twins_run.result.evaluation.counts.items():
        assert int(at[outcome].iloc[0]) == count, outcome


def test_the_report_explains_each_wrong_child(twins_run) -> None:
    from matchsim.report import render_report

    page = render_report(twins_run)
    assert "the request matched the register exactly" not in page
    assert page.count('class="example"') > 0
    # Each example's first record column is a wrong child; the true child is marked.
    for example in page.split('<div class="example"')[1:]:
        heads = re.findall(r"<th class='(wrong|true)'>", example)
        if "false match" in example.split("</p>")[0]:
            assert heads[0] == "wrong" and "true" in heads
    assert "true child&#x27;s" in page or "true child's" in page


def test_a_request_for_someone_not_registered_is_never_said_to_match() -> None:
    from matchsim.report.examples import _errors_line

    row = pd.Series({"in_register": False, "errors_forename": "", "errors_surname": ""})
    text = _errors_line(row)
    assert "not in the register" in text and "exactly" not in text
    row = pd.Series({"in_register": True, "errors_forename": "", "true_is_twin": False})
    assert "holds the register's details" in _errors_line(row)
    row = pd.Series({"in_register": True, "errors_forename": "forename_nickname;forename_typo"})
    assert "forename nickname, forename typo" in _errors_line(row)


@pytest.mark.parametrize("history", [False, True])
@pytest.mark.parametrize("key_limit", [2**62, 8])
def test_namesake_counts_equal_a_plain_count_over_the_register(history, key_limit, monkeypatch):
    """The vectorised counts equal a plain count over the register, missing values apart; a
    register of address histories counts a pupil once, by its first row with the values.
    A small key limit makes the fields' codes overflow it, as a national register's four
    fields do, so that the key is folded (and narrowed to the records with a namesake so far)."""
    from matchsim import namesakes
    from matchsim.namesakes import (
        NamesakeCounts,
        count_all_namesakes,
        namesake_counts,
        namesake_role_sets,
        namesakes_of,
    )
    from matchsim.records import MISSING, MISSING_DATE, Records

    monkeypatch.setattr(namesakes, "_KEY_LIMIT", key_limit)

    rng = np.random.default_rng(3)
    n = 2_000
    forename = rng.integers(0, 5, n)
    forename[:20] = MISSING
    dob = rng.integers(0, 30, n).astype(np.int64)
    dob[20:30] = MISSING_DATE
    ids = np.arange(10, 10 + n)
    if history:  # every pupil twice, the second time with another forename
        ids = np.repeat(ids, 2)
        forename = np.stack([forename, rng.integers(0, 5, n)], axis=1).ravel()
        dob = np.repeat(dob, 2)
    right = Records(ids=ids, codes={"forename": forename}, dob=dob, sex=np.zeros(len(ids)))
    assert namesake_role_sets(right) == [
        ("forename",),
        ("date_of_birth",),
        ("forename", "date_of_birth"),
    ]
    present = (forename != MISSING) & (dob != MISSING_DATE)
    first: dict[int, int] = {}
    for row in np.flatnonzero(present):
        first.setdefault(int(ids[row]), int(row))
    with_namesake = 0
    for pupil, row in first.items():
        same = present & (forename == forename[row]) & (dob == dob[row])
        size = len(set(ids[same].tolist()))
        with_namesake += size > 1
        if pupil < 210:
            assert namesakes_of(right, ("date_of_birth", "forename"), pupil) == size
    counts = namesake_counts(right, ("date_of_birth", "forename"))
    assert counts == (with_namesake, len(first))
    assert right.state(NamesakeCounts).values[("forename", "date_of_birth")].tolist() == list(
        counts
    )
    if not history:  # pupil 10 has no forename: no namesake is counted
        assert namesakes_of(right, ("forename",), 10) == 1
    fresh = Records(ids=ids, codes={"forename": forename}, dob=dob, sex=np.zeros(len(ids)))
    count_all_namesakes(fresh)
    for roles in namesake_role_sets(right):
        assert fresh.state(NamesakeCounts).values[roles].tolist() == list(
            namesake_counts(right, roles)
        )
