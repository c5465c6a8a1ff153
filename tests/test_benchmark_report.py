"""The results-page generator (``benchmarks/report.py``) on small synthetic benchmark JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import report
from benchmarks._tables import cell, table
from benchmarks.report import END, START
from matchsim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"

HEAD = "# Benchmarks\n\nHand-written text | with a pipe.\n\n"
TAIL = "\n## After\n\nMore hand-written text.\n"


def blocking(strategy, pupils, label, **figures):
    node = f"benchmarks/test_blocking.py::test_blocking[{label}-{strategy}]"
    info = {
        "strategy_id": strategy,
        "pupils": pupils,
        "census_label": label,
        "left_records": 10_000,
        "right_records": pupils,
        **figures,
    }
    return {
        "name": node.split("::")[1],
        "fullname": node,
        "group": f"blocking-{label}",
        "params": None,
        "extra_info": info,
        "stats": {"median": 1.5, "rounds": 1},
    }


def ran(seconds, pairs, pc, pq, rr, peak=0.5):
    return {
        "status": "ran",
        "seconds": seconds,
        "cpu_seconds": seconds,
        "candidate_pairs": pairs,
        "pairs_per_request": pairs / 10_000,
        "pairs_completeness": pc,
        "reduction_ratio": rr,
        "pair_quality": pq,
        "blocking_peak_rss_gb": peak,
        "blocking_extra_rss_gb": 0.04,
        "process_peak_rss_gb": peak,
    }


def refused(pairs):
    return {
        "status": "refused",
        "estimated_pairs": pairs,
        "estimated_gb": pairs * 16 / 1e9,
        "blocking_peak_rss_gb": 0.3,
        "blocking_extra_rss_gb": 0.0,
        "process_peak_rss_gb": 0.3,
    }


def bench_json(**overrides):
    generation = {
        "name": "test_faker_per_record",
        "fullname": "benchmarks/test_generation.py::test_faker_per_record",
        "group": "generation-throughput",
        "params": None,
        "extra_info": {"records_per_s": 10303.2, "nested": {"a": 1}, "loadavg": [0.5, 1.25]},
        "stats": {"median": 0.4853, "rounds": 3},
    }
    data = {
        "machine_info": {
            "system": "Linux",
            "release": "6.1",
            "machine": "x86_64",
            "python_implementation": "CPython",
            "python_version": "3.11.7",
            "cpu": {"brand_raw": "Example CPU 9000", "count": 2},
        },
        "commit_info": {"id": "0123456789abcdef0123", "dirty": False},
        "datetime": "2026-11-29T20:09:59.791329+00:00",
        "benchmarks": [
            generation,
            blocking(
                "exact(surname:soundex+dob)",
                100_000,
                "100k",
                **ran(0.01, 1000, 0.92, 0.8, 0.999999),
            ),
            blocking(
                "exact(surname:soundex+dob)",
                1_000_000,
                "1M",
                **ran(0.1, 10_000, 0.93, 0.3, 0.9999999),
            ),
            blocking("full", 100_000, "100k", **refused(1_000_000_000)),
            blocking("full", 1_000_000, "1M", **refused(10_000_000_000)),
        ],
        "matchsim": {
            "scale": "full",
            "cpus": 2,
            "memory_gb": 25.28,
            "versions": {"numpy": "2.4.6", "recordlinkage": None},
            "command": "python -m pytest benchmarks --benchmark-only --benchmark-json=bench.json",
            "outcomes": {
                "benchmarks/test_generation.py::test_faker_per_record": {
                    "outcome": "passed",
                    "when": "call",
                },
                "benchmarks/test_throughput.py::test_compare_recordlinkage": {
                    "outcome": "skipped",
                    "when": "call",
                    "reason": "recordlinkage is not installed",
                },
                "benchmarks/test_blocking.py::test_plain": {
                    "outcome": "skipped",
                    "when": "setup",
                    "reason": "Skipping non-benchmark (--benchmark-only active).",
                },
            },
        },
    }
    data.update(overrides)
    return data


@pytest.fixture
def page(tmp_path):
    json_path = tmp_path / "bench.json"
    json_path.write_text(json.dumps(bench_json()))
    readme = tmp_path / "README.md"
    readme.write_text(f"{HEAD}{START}\nold figures\n{END}{TAIL}")
    return json_path, readme, tmp_path / "chart.svg"


def test_blocking_rows_refusals_and_growth(page):
    json_path, readme, chart = page
    text = report.update_page([json_path], readme, chart)
    assert (
        "| exact(surname:soundex+dob) | 100k | 100,000 | 1,000 | 0.1000 | 0.9200 | 0.999999 "
        "| 0.8000 | 0.01000 | 0.01000 | 0.50 | 0.04 | 0.50 |"
    ) in text
    assert "| exact(surname:soundex+dob) | 1M | 1,000,000 | 10,000 | 1.000 | 0.9300 |" in text
    assert "| full | 100k | 100,000 | refused (estimate 1,000,000,000 pairs, 16.0 GB) |" in text
    assert "| full | 1M | 1,000,000 | refused (estimate 10,000,000,000 pairs, 160.0 GB) |" in text
    # Ten times the pupils, ten times the time and the pairs: both grow as pupils^1.
    assert (
        "| exact(surname:soundex+dob) | 0.01000 | 0.1000 | 1.000 | 1,000 | 10,000 | 1.000 |" in text
    )
    assert "| full | refused | refused | — | refused | refused | — |" in text
    assert "![Blocking cost by population size](chart.svg)" in text


def test_machine_command_and_every_benchmark(page):
    json_path, readme, chart = page
    text = report.update_page([json_path], readme, chart)
    assert "taken 2026-11-29 20:09 UTC at scale `full`" in text
    assert "python -m pytest benchmarks --benchmark-only --benchmark-json=bench.json" in text
    assert "`make bench`" in text
    assert "| CPU | Example CPU 9000 |" in text and "| cores | 2 |" in text
    assert "| memory | 25.28 GB |" in text
    assert "| libraries | numpy 2.4.6 |" in text and "| not installed | recordlinkage |" in text
    assert "| commit | `0123456789ab` |" in text
    # Grouped by file, with every extra_info figure (nested ones flattened).
    assert "#### `benchmarks/test_generation.py`" in text
    assert "| `test_faker_per_record` | passed | 3 | 0.4853 |" in text
    assert "| records_per_s | 10,303 |" in text
    assert "| nested.a | 1 |" in text and "| loadavg | 0.5000, 1.250 |" in text
    # A skipped peer has no figures but is listed with the reason; plain tests are not.
    assert "#### `benchmarks/test_throughput.py`" in text
    assert (
        "- `test_compare_recordlinkage` has no figures: skipped (call): "
        "recordlinkage is not installed"
    ) in text
    assert "test_plain" not in text
    assert "Smoke scale" not in text


def test_keeps_hand_written_text_and_is_idempotent(page):
    json_path, readme, chart = page
    report.update_page([json_path], readme, chart)
    first = readme.read_text()
    assert first.startswith(f"{HEAD}{START}\n") and first.endswith(f"{END}{TAIL}")
    assert "old figures" not in first
    report.update_page([json_path], readme, chart)
    assert readme.read_text() == first


def test_smoke_runs_are_flagged(page, tmp_path):
    _, readme, chart = page
    smoke = bench_json()
    smoke["matchsim"]["scale"] = "smoke"
    path = tmp_path / "smoke.json"
    path.write_text(json.dumps(smoke))
    assert "Do not quote these figures" in report.update_page([path], readme, chart)


def test_later_files_replace_earlier_benchmarks(page, tmp_path):
    json_path, readme, chart = page
    newer = bench_json()
    newer["benchmarks"] = [newer["benchmarks"][0]]
    newer["benchmarks"][0]["extra_info"] = {"records_per_s": 99.5}
    newer["matchsim"]["command"] = "python -m pytest benchmarks/test_generation.py"
    newer_path = tmp_path / "newer.json"
    newer_path.write_text(json.dumps(newer))
    text = report.update_page([json_path, newer_path], readme, chart)
    assert "| records_per_s | 99.50 |" in text and "10,303" not in text
    assert "| exact(surname:soundex+dob) | 100k |" in text  # kept from the first file
    assert "python -m pytest benchmarks/test_generation.py" in text
    assert "--benchmark-json=bench.json" in text


def test_chart_is_well_formed_svg(page):
    json_path, readme, chart = page
    report.update_page([json_path], readme, chart)
    root = ET.fromstring(chart.read_text())
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    # Three panels; only the exact strategy ran at two sizes, so one line per panel.
    assert len(root.findall(f".//{SVG}polyline")) == 3
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"blocking time (s)", "candidate pairs", "pairs completeness"} <= set(texts)
    assert "full (refused at every size)" in texts
    for line in root.iter(f"{SVG}polyline"):
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        width, height = float(root.get("width")), float(root.get("height"))
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points)


def test_no_blocking_benchmarks_means_no_chart(page, tmp_path):
    _, readme, chart = page
    data = bench_json()
    data["benchmarks"] = data["benchmarks"][:1]
    path = tmp_path / "gen.json"
    path.write_text(json.dumps(data))
    text = report.update_page([path], readme, chart)
    assert "Blocking: cost by population size" not in text and not chart.exists()


def test_missing_markers_refused_and_page_untouched(page):
    json_path, readme, chart = page
    readme.write_text("# Only hand-written text\n" + START + "\n")
    with pytest.raises(ConfigError, match="exactly one"):
        report.update_page([json_path], readme, chart)
    assert readme.read_text() == "# Only hand-written text\n" + START + "\n"


def test_a_failed_write_leaves_the_old_page_whole(page, monkeypatch):
    json_path, readme, chart = page
    before = readme.read_text()
    real_write = Path.write_text

    def write_half_then_fail(self, text, *args, **kwargs):
        if self.name.startswith(".README.md."):
            real_write(self, text[: len(text) // 2])
            raise OSError("disk full")
        return real_write(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        report.update_page([json_path], readme, chart)
    assert readme.read_text() == before
    assert sorted(p.name for p in readme.parent.iterdir()) == [
        "README.md",
        "bench.json",
        "chart.svg",
    ]


def test_bad_json_is_a_one_line_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"{START}\n{END}\n")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"machine_info": {}}')
    for name, message in [
        ("missing.json", "does not exist"),
        ("bad.json", "is not readable JSON"),
        ("other.json", "has no 'benchmarks' list"),
    ]:
        result = subprocess.run(
            [
                *(sys.executable, "-m", "benchmarks.report", str(tmp_path / name)),
                *("--readme", str(readme), "--chart", str(tmp_path / "c.svg")),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert readme.read_text() == f"{START}\n{END}\n"


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_cells_never_break_a_table_row(values):
    row = table(["a"] * len(values), [[cell(v) for v in values]]).splitlines()[-1]
    assert "\n" not in row
    # Unescaped pipes delimit the columns: one more than there are cells.
    assert len(re.findall(r"(?<!\\)(?:\\\\)*\|", row)) == len(values) + 1


# --------------------------------------------------------------------------------------------
# The headline table: generated from the committed JSON, checked against both READMEs
# --------------------------------------------------------------------------------------------

EQUAL_WORK = "benchmarks/test_throughput.py::test_compare_equal_work"
LEVELS = {"forename.exact": 10, "date_of_birth.exact": 7}


def equal_work_json(
    ratio: float, *, scale="full", when="2026-12-06T23:00:00+00:00", commit="a" * 40
):
    data = bench_json()
    data["datetime"] = when
    data["commit_info"] = {"id": commit, "dirty": False}
    data["matchsim"]["scale"] = scale
    data["matchsim"]["command"] = "python -m pytest benchmarks/test_throughput.py -k equal_work"
    data["benchmarks"] = [
        {
            "name": "test_compare_equal_work",
            "fullname": EQUAL_WORK,
            "params": None,
            "extra_info": {
                "pairs": 206_573,
                "ratio": ratio,
                "ratio_target": 10.0,
                "recordlinkage_seconds": 0.43,
                "matchsim_seconds": 0.43 / ratio,
                "matchsim_parts_seconds": {
                    "prepare_left": 0.05,
                    "prepare_right": 0.3,
                    "compare": 0.02,
                },
                "rounds": 9,
                "lowest_round_ratio": ratio * 0.8,
                "highest_round_ratio": ratio * 1.2,
                "touched_rows_ratio": 2.2,
                "recordlinkage_agreements": LEVELS,
                "matchsim_agreements": LEVELS,
                "loadavg_after": [4.5, 4.4, 4.8],
            },
            "stats": {"median": 18.0, "rounds": 1},
        }
    ]
    return data


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def page_with_block(tmp_path, name="README.md"):
    page = tmp_path / name
    page.write_text(
        f"# Top\n\n{report.BENCH_START}\nhand-typed 34.5x\n{report.BENCH_END}\nAfter.\n"
    )
    return page


def test_headline_row_states_figure_target_verdict_and_run(tmp_path):
    run = report.load_runs([write(tmp_path, "compare.json", equal_work_json(0.91))], by_time=True)
    text = report.headline_text(run, tmp_path / "README.md")
    row = next(line for line in text.splitlines() if line.startswith("| Comparisons against"))
    assert "**0.91×** on 206,573 pairs" in row and "| ≥ 10× |" in row and "**missed**" in row
    assert "Same agreement counts on all 2 shared levels" in row and "(load 4.5)" in row
    assert "[`compare.json`](compare.json)" in row  # the file, linked from the page
    assert f"commit `{'a' * 12}`, 2026-12-06 23:00 UTC, scale `full`" in text
    assert "-k equal_work" in text
    # Rows whose benchmark is not in the JSON get no figure, only a mention.
    assert "Not in the committed results" in text and "CLK encoding against clkhash" in text
    assert "| CLK encoding" not in text


def test_the_breakdown_names_what_it_prepared(tmp_path):
    """Results from compare_pairs (touched rows the headline) show the whole-table breakdown;
    older results (whole tables the headline) keep showing their touched-rows breakdown."""
    data = equal_work_json(6.5)
    info = data["benchmarks"][0]["extra_info"]
    del info["touched_rows_ratio"]
    info["whole_tables_ratio"] = 0.75
    run = report.load_runs([write(tmp_path, "new.json", data)])
    text = report.headline_text(run, tmp_path / "README.md")
    assert "Preparing every row of both tables: 0.75×" in text and "touch: " not in text
    old = report.load_runs([write(tmp_path, "old.json", equal_work_json(0.91))])
    assert "Preparing only the rows the pairs touch: 2.20×" in report.headline_text(
        old, tmp_path / "README.md"
    )


def test_a_met_target_and_a_reduced_scale_run(tmp_path):
    met = report.load_runs([write(tmp_path, "a.json", equal_work_json(12.0))])
    assert "| met |" in report.headline_text(met, tmp_path / "README.md")
    smoke = report.load_runs([write(tmp_path, "b.json", equal_work_json(12.0, scale="smoke"))])
    assert "not judged (smoke scale)" in report.headline_text(smoke, tmp_path / "README.md")


def test_different_answers_are_shown(tmp_path):
    data = equal_work_json(3.0)
    data["benchmarks"][0]["extra_info"]["matchsim_agreements"] = {**LEVELS, "forename.exact": 9}
    run = report.load_runs([write(tmp_path, "c.json", data)])
    assert "**agreement counts differ**" in report.headline_text(run, tmp_path / "README.md")


def test_the_latest_measurement_wins_whatever_the_file_names(tmp_path):
    newer = write(tmp_path, "a-newer.json", equal_work_json(2.0, when="2026-12-07T01:00:00+00:00"))
    older = write(tmp_path, "z-older.json", equal_work_json(9.0, when="2026-12-05T01:00:00+00:00"))
    run = report.load_runs([newer, older], by_time=True)
    assert run.benchmarks[EQUAL_WORK]["extra_info"]["ratio"] == 2.0
    assert run.origin[EQUAL_WORK]["file"].endswith("a-newer.json")


def test_update_all_writes_results_and_every_block_and_check_catches_edits(tmp_path):
    json_path = write(tmp_path, "compare.json", equal_work_json(0.91))
    readme, bench_readme = page_with_block(tmp_path), page_with_block(tmp_path, "BENCH.md")
    results, chart = tmp_path / "RESULTS.md", tmp_path / "chart.svg"
    pages = (readme, bench_readme)
    assert report.stale_pages([json_path], pages, None) == list(pages)  # hand-typed figures
    report.update_all([json_path], results, chart, pages)
    assert "hand-typed" not in readme.read_text() and "**0.91×**" in readme.read_text()
    assert readme.read_text().endswith(f"{report.BENCH_END}\nAfter.\n")
    assert "#### `benchmarks/test_throughput.py`" in results.read_text()
    assert report.stale_pages([json_path], pages, results, chart) == []
    bench_readme.write_text(bench_readme.read_text().replace("0.91×", "30×"))
    results.write_text(results.read_text().replace("| 9 |", "| 10 |"))
    assert report.stale_pages([json_path], pages, results, chart) == [bench_readme, results]


def test_results_taken_before_a_benchmark_moved_file_read_under_its_new_file(tmp_path):
    """Committed JSON keeps the file a benchmark ran in; the page shows where it lives now,
    and its headline row is found under the new name."""
    data = equal_work_json(0.91)
    old = "benchmarks/test_matching.py::test_compare_equal_work"
    data["benchmarks"][0]["fullname"] = old
    data["matchsim"]["outcomes"] = {old: {"outcome": "passed", "when": "call"}}
    run = report.load_runs([write(tmp_path, "compare.json", data)])
    assert list(run.benchmarks) == [EQUAL_WORK] and list(run.outcomes) == [EQUAL_WORK]
    assert "**0.91×**" in report.headline_text(run, tmp_path / "README.md")
    assert report.current_name("benchmarks/test_matching.py::test_lookup_end_to_end") == (
        "benchmarks/test_end_to_end.py::test_lookup_end_to_end"
    )
    assert report.current_name("benchmarks/test_matching.py::test_febrl4_matchsim") == (
        "benchmarks/test_accuracy.py::test_febrl4_matchsim"
    )


def test_a_page_without_its_block_is_refused_untouched(tmp_path):
    json_path = write(tmp_path, "compare.json", equal_work_json(0.91))
    page = tmp_path / "README.md"
    page.write_text("# No block\n")
    with pytest.raises(ConfigError, match="exactly one"):
        report.update_all([json_path], tmp_path / "RESULTS.md", tmp_path / "c.svg", (page,))
    assert page.read_text() == "# No block\n"


def test_readmes_show_what_the_committed_json_gives():
    """The README's and benchmarks/README.md's headline tables are the committed JSON's:
    a hand-edited figure, or JSON committed without `make bench-report`, fails here."""
    files = report.results_files()
    assert files, "no benchmark JSON committed under benchmarks/results/"
    assert report.stale_pages(files) == [], "run `make bench-report` and commit the pages"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.report", "--check"], cwd=ROOT, capture_output=True
    )
    assert result.returncode == 0, result.stderr
