"""The generated benchmark pages, from the committed benchmark JSON.

::

    python -m benchmarks.report [bench.json ...]            # write every generated file
    python -m benchmarks.report --check                      # write nothing; exit 1 if stale
    python -m benchmarks.report bench.json --readme PATH     # one page of every figure

Reads pytest-benchmark ``--benchmark-json`` files written by this suite (by default
``benchmarks/results/*.json``) and writes:

* ``benchmarks/RESULTS.md``, between ``<!-- generated:start -->`` and
  ``<!-- generated:end -->``: when, at what scale and with which command the figures were
  taken; the machine and library versions; how blocking cost grows with population size (a
  table, the growth exponent of time and pairs, and an SVG chart written beside the page);
  every benchmark of every file with its time, outcome and all of its ``extra_info``
  figures, and the benchmarks that did not produce figures (skipped or failed), with why;
* the headline table (``benchmarks/headlines.py``) in ``README.md`` and
  ``benchmarks/README.md``, between ``<!-- bench:start -->`` and ``<!-- bench:end -->``.

Everything outside the markers is hand-written and left as it is. ``--check`` fails when any
generated part differs from what the JSON gives. Files are written to a temporary file and
renamed, so an interrupted run leaves the old page whole. Several JSON files are merged (of
the same benchmark, the latest measurement wins), so suites run separately share one page.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._blocking_report import (
    blocking_points,
    blocking_table,
    growth_table,
    scaling_chart,
)
from benchmarks._tables import cell, escape, flatten, number, table
from benchmarks.headlines import BENCH_END, BENCH_START, headline_block
from matchsim.errors import ConfigError
from matchsim.io import atomic_path

START, END = "<!-- generated:start -->", "<!-- generated:end -->"
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "benchmarks" / "README.md"
CHART = ROOT / "benchmarks" / "blocking-scaling.svg"
RESULTS_DIR = ROOT / "benchmarks" / "results"
#: The page of every figure: its generated region is written from the JSON.
RESULTS_PAGE = ROOT / "benchmarks" / "RESULTS.md"
#: ``make bench`` runs this; the page shows it as the way to reproduce the figures.
MAKE_COMMAND = "make bench"
#: pytest-benchmark's reason for skipping a plain test under --benchmark-only: not news.
_NOT_A_BENCHMARK = "Skipping non-benchmark"

# --------------------------------------------------------------------------------------------
# Reading benchmark JSON
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One or more ``--benchmark-json`` files, merged."""

    sources: list[str] = field(default_factory=list)
    benchmarks: dict[str, dict[str, Any]] = field(default_factory=dict)  # by fullname
    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)  # by test node id
    commands: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    commit: dict[str, Any] = field(default_factory=dict)
    matchsim: dict[str, Any] = field(default_factory=dict)
    datetimes: list[str] = field(default_factory=list)
    #: every version of each library seen across the files (suites may run in different venvs)
    versions: dict[str, list[str]] = field(default_factory=dict)
    #: every commit the files were taken at, in order, with whether the tree had changes
    commits: list[tuple[str, bool]] = field(default_factory=list)
    #: per benchmark (fullname): the file it came from, with that file's commit, time, scale
    #: and command, so that each headline figure names its own run
    origin: dict[str, dict[str, Any]] = field(default_factory=dict)


#: Benchmarks that moved to another file, by the prefix of their test name: results taken
#: before the move (their JSON says the old file) are read under the new file's name.
MOVED = {
    "benchmarks/test_matching.py": {
        "test_compare_": "benchmarks/test_throughput.py",
        "test_lookup_": "benchmarks/test_end_to_end.py",
        "test_febrl4_": "benchmarks/test_accuracy.py",
    },
}


def current_name(node_id: str) -> str:
    """``node_id`` (a benchmark's fullname or test node id) under its file's current name."""
    file, sep, test = node_id.partition("::")
    for prefix, new_file in MOVED.get(file, {}).items():
        if test.startswith(prefix):
            return f"{new_file}{sep}{test}"
    return node_id


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("json", f"{str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError("json", f"{str(path)!r} is not readable JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ConfigError(
            "json",
            f"{str(path)!r} has no 'benchmarks' list; write it with pytest --benchmark-json",
        )
    return data


def load_runs(paths: Iterable[Path | str], *, by_time: bool = False) -> Run:
    """Merge JSON files; a benchmark in a later file replaces the same one in an earlier file.

    ``by_time`` orders the files by when they were taken (their ``datetime``) rather than as
    given, so that of several results files the latest measurement of a benchmark wins.
    """
    loaded = [(Path(p), _read(Path(p))) for p in paths]
    if by_time:
        loaded.sort(key=lambda item: str(item[1].get("datetime") or ""))
    run = Run()
    for path, data in loaded:
        run.sources.append(str(path))
        info = data.get("matchsim") or {}
        commit = data.get("commit_info") or {}
        origin = {
            "file": str(path),
            "commit": commit.get("id"),
            "dirty": bool(commit.get("dirty")),
            "taken": taken(data["datetime"]) if data.get("datetime") else "?",
            "scale": info.get("scale"),
            "command": info.get("command"),
        }
        for bench in data["benchmarks"]:
            name = current_name(bench["fullname"])
            run.benchmarks[name] = {**bench, "fullname": name}
            run.origin[name] = origin
        for node, outcome in (info.get("outcomes") or {}).items():
            run.outcomes[current_name(node)] = outcome
        if info.get("command"):
            run.commands.append(info["command"])
        run.machine = data.get("machine_info") or run.machine
        run.commit = data.get("commit_info") or run.commit
        if run.commit.get("id"):
            seen = (run.commit["id"][:12], bool(run.commit.get("dirty")))
            if seen not in run.commits:
                run.commits.append(seen)
        for name, version in (info.get("versions") or {}).items():
            seen = run.versions.setdefault(name, [])
            if version and version not in seen:
                seen.append(version)
        run.matchsim = {**run.matchsim, **info}
        if data.get("datetime"):
            run.datetimes.append(data["datetime"])
    return run


def file_of(node_id: str) -> str:
    return node_id.split("::", 1)[0]


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------


def machine_table(run: Run) -> str:
    m, info = run.machine, run.matchsim
    cpu = m.get("cpu") or {}
    memory = info.get("memory_gb")
    rows = [
        ["CPU", cell(cpu.get("brand_raw") or m.get("processor") or "—")],
        ["cores", number(info.get("cpus") or cpu.get("count"))],
        ["memory", f"{number(memory)} GB" if memory else "—"],
        ["system", cell(" ".join(str(m.get(k, "")) for k in ("system", "release", "machine")))],
        ["Python", cell(f"{m.get('python_implementation', '')} {m.get('python_version', '')}")],
    ]
    # Versions differ between files when suites ran in different environments (the peers pin
    # pandas < 3): each library lists every version seen.
    versions = run.versions or {
        k: [v] if v else [] for k, v in (info.get("versions") or {}).items()
    }
    installed = [f"{name} {' / '.join(v)}" for name, v in versions.items() if v]
    absent = [name for name, v in versions.items() if not v]
    rows.append(["libraries", cell(", ".join(installed)) or "—"])
    if absent:
        rows.append(["not installed", cell(", ".join(absent))])
    commits = run.commits or (
        [(run.commit["id"][:12], bool(run.commit.get("dirty")))] if run.commit.get("id") else []
    )
    if commits:
        shown = [f"`{c}`" + (" (uncommitted changes)" if dirty else "") for c, dirty in commits]
        rows.append(["commit" if len(shown) == 1 else "commits", ", ".join(shown)])
    return table(["", ""], rows)


def _warnings(run: Run) -> list[str]:
    info, notes = run.matchsim, []
    if info.get("scale") == "smoke":
        notes.append(
            "**Smoke scale**: tiny sizes that only show that every benchmark runs. "
            "Do not quote these figures."
        )
    if info.get("synth_changed_during_run") or info.get("matching_sources_changed_during_run"):
        notes.append("**The sources changed on disk during the run**: the figures mix versions.")
    return notes


def benchmark_sections(run: Run) -> str:
    files = sorted({file_of(n) for n in run.benchmarks} | {file_of(n) for n in run.outcomes})
    out = []
    for name in files:
        mine = {n: b for n, b in run.benchmarks.items() if file_of(n) == name}
        missing = {
            n: o
            for n, o in run.outcomes.items()
            if file_of(n) == name
            and n not in mine
            and not str(o.get("reason", "")).startswith(_NOT_A_BENCHMARK)
        }
        if not mine and not missing:
            continue
        out.append(f"#### `{name}`\n")
        rows = []
        for node, bench in mine.items():
            stats = bench.get("stats") or {}
            outcome = run.outcomes.get(node, {})
            status = outcome.get("outcome", "—")
            if status == "failed" and outcome.get("reason"):
                status += ": " + outcome["reason"]
            rows.append(
                [
                    f"`{cell(bench['name'])}`",
                    cell(status),
                    number(stats.get("rounds")),
                    number(stats.get("median")),
                ]
            )
        if rows:
            out.append(table(["benchmark", "outcome", "rounds", "median (s)"], rows, (2, 3)))
            out.append("")
        for node, outcome in missing.items():
            reason = f": {outcome['reason']}" if outcome.get("reason") else ""
            out.append(
                f"- `{cell(node.split('::', 1)[-1])}` has no figures: "
                f"{cell(outcome.get('outcome', '?'))} ({outcome.get('when', '?')}){cell(reason)}"
            )
        if missing:
            out.append("")
        for bench in mine.values():
            figures = flatten(bench.get("extra_info") or {})
            if not figures:
                continue
            out.append(
                f"<details><summary><code>{escape(bench['name'])}</code>: "
                f"{len(figures)} figures</summary>\n"
            )
            out.append(table(["figure", "value"], [[cell(k), number(v)] for k, v in figures]))
            out.append("\n</details>\n")
    return "\n".join(out)


def taken(stamp: str) -> str:
    """pytest-benchmark's ISO time stamp as ``2026-11-29 20:09 UTC``."""
    try:
        moment = datetime.fromisoformat(stamp).astimezone(UTC)
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def render(run: Run, chart_link: str | None) -> str:
    """The generated part of the page (without the markers)."""
    when = ", ".join(sorted({taken(d) for d in run.datetimes})) or "at an unknown time"
    lines = [
        "<!-- Written by `python -m benchmarks.report`; edit the text outside the markers. -->",
        "",
        "## Latest figures",
        "",
        f"Generated from {', '.join(f'`{Path(s).name}`' for s in run.sources)}, "
        f"taken {when} at scale `{run.matchsim.get('scale', '?')}`.",
        "",
        *[f"> {note}\n" for note in _warnings(run)],
        "**Reproduce:** "
        + (
            "these figures come from these commands"
            if len(run.commands) > 1
            else "these figures come from this command"
        )
        + f" (from the repository root); `{MAKE_COMMAND}` runs the whole suite and "
        "regenerates this page:",
        "",
        *[f"```sh\n{command}\n```\n" for command in run.commands or ["(not recorded)"]],
        "### Machine",
        "",
        machine_table(run),
        "",
    ]
    points = blocking_points(run.benchmarks)
    if points:
        lines += [
            "### Blocking: cost by population size",
            "",
            "One row per strategy and census size (see “Blocking” above for what each "
            "column measures). Times and memory are from one run each on a shared machine.",
            "",
            blocking_table(points),
            "",
            "How time and candidate pairs grow with the census. `k` is the slope of a "
            "least-squares line through log(figure) against log(pupils): 1 means linear.",
            "",
            growth_table(points),
            "",
        ]
        if chart_link:
            lines += [f"![Blocking cost by population size]({chart_link})", ""]
    lines += ["### Every benchmark, by file", "", benchmark_sections(run)]
    return "\n".join(lines).rstrip() + "\n"


def replace_region(text: str, generated: str, where: str = "README") -> str:
    """``text`` with everything between the markers replaced by ``generated``."""
    starts, ends = text.count(START), text.count(END)
    if starts != 1 or ends != 1 or text.index(START) > text.index(END):
        raise ConfigError(
            "--readme",
            f"{where} needs exactly one {START} followed by one {END} (found {starts} and {ends})",
        )
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{generated}{END}{tail}"


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def generated_page(run: Run, page: Path, chart: Path) -> tuple[str, str | None]:
    """``page``'s text with its generated region rendered from ``run``, and the chart's SVG
    (None when the run has no blocking figures, so no chart)."""
    try:
        text = page.read_text()
    except OSError as exc:
        raise ConfigError("--readme", f"{str(page)!r} cannot be read ({exc.strerror})") from None
    points = blocking_points(run.benchmarks)
    chart_link = os.path.relpath(chart, page.parent) if points else None
    svg = scaling_chart(points) + "\n" if points else None
    return replace_region(text, render(run, chart_link), str(page)), svg


def update_page(
    paths: list[Path | str],
    readme: Path | None = None,
    chart: Path = CHART,
    *,
    run: Run | None = None,
) -> str:
    """Rewrite ``readme``'s generated region (default: RESULTS.md) and ``chart`` from the
    JSON files."""
    run = run if run is not None else load_runs(paths)
    readme = readme if readme is not None else RESULTS_PAGE
    page, svg = generated_page(run, readme, chart)
    # The chart first: a page is never left pointing at a chart that failed to be written.
    if svg is not None:
        write_text(chart, svg)
    write_text(readme, page)
    return page


# --------------------------------------------------------------------------------------------
# The committed results: RESULTS.md and the headline tables of both READMEs
# --------------------------------------------------------------------------------------------

#: pages whose headline block (between BENCH_START and BENCH_END) the JSON writes
HEADLINE_PAGES = (ROOT / "README.md", README)
_RESULTS_HEAD = (
    "# Benchmark results\n\n"
    "Every figure of the committed benchmark JSON (`benchmarks/results/*.json`), written by "
    "`make bench-report` (`python -m benchmarks.report`). What each benchmark measures, and "
    "how, is in [README.md](README.md).\n\n"
)


def results_files(directory: Path = RESULTS_DIR) -> list[Path]:
    return sorted(directory.glob("*.json"))


def headline_text(run: Run, page: Path) -> str:
    """The headline block for ``page``, its links relative to that page."""

    def link(file: str) -> str:
        return Path(os.path.relpath(Path(file).resolve(), page.parent.resolve())).as_posix()

    return headline_block(run.benchmarks, run.origin, link)


def replace_block(text: str, block: str, where: str) -> str:
    """``text`` with the headline block between BENCH_START and BENCH_END replaced."""
    starts, ends = text.count(BENCH_START), text.count(BENCH_END)
    if starts != 1 or ends != 1 or text.index(BENCH_START) > text.index(BENCH_END):
        raise ConfigError(
            "page",
            f"{where} needs exactly one {BENCH_START} followed by one {BENCH_END} "
            f"(found {starts} and {ends})",
        )
    head, rest = text.split(BENCH_START, 1)
    _, tail = rest.split(BENCH_END, 1)
    return f"{head}{BENCH_START}\n{block}{BENCH_END}{tail}"


def stale_pages(
    paths: list[Path] | None = None,
    pages: tuple[Path, ...] = HEADLINE_PAGES,
    results_page: Path | None = RESULTS_PAGE,
    chart: Path = CHART,
) -> list[Path]:
    """The generated files that differ from what the JSON gives (none: all agree): each
    page's headline block, and ``results_page``'s generated region and its chart."""
    run = load_runs(paths if paths is not None else results_files(), by_time=True)
    stale = [
        page
        for page in pages
        if replace_block(page.read_text(), headline_text(run, page), str(page)) != page.read_text()
    ]
    if results_page is not None:
        page, svg = generated_page(run, results_page, chart)
        if page != results_page.read_text():
            stale.append(results_page)
        if svg is not None and (not chart.exists() or chart.read_text() != svg):
            stale.append(chart)
    return stale


def update_all(
    paths: list[Path] | None = None,
    results_page: Path = RESULTS_PAGE,
    chart: Path = CHART,
    pages: tuple[Path, ...] = HEADLINE_PAGES,
) -> list[Path]:
    """Write RESULTS.md (every figure), the chart, and the headline block of each page."""
    paths = paths if paths is not None else results_files()
    if not paths:
        raise ConfigError("json", f"no benchmark JSON given and none in {RESULTS_DIR}")
    run = load_runs(paths, by_time=True)
    if not results_page.exists():
        write_text(results_page, f"{_RESULTS_HEAD}{START}\n{END}\n")
    update_page(paths, results_page, chart, run=run)
    texts = {
        page: replace_block(page.read_text(), headline_text(run, page), str(page)) for page in pages
    }
    for page, text in texts.items():  # every block is built before any page is written
        write_text(page, text)
    return [results_page, *pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description=(
            "Regenerate benchmarks/RESULTS.md and the headline tables of README.md and "
            "benchmarks/README.md from benchmark JSON (default: benchmarks/results/*.json)."
        ),
    )
    parser.add_argument("json", nargs="*", type=Path, help="--benchmark-json output file(s)")
    parser.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="write only this page's generated region (the page of every figure), nothing else",
    )
    parser.add_argument("--chart", type=Path, default=CHART, help="SVG chart to write")
    parser.add_argument(
        "--check",
        action="store_true",
        help=(
            "write nothing; exit 1 when a README's headline table or RESULTS.md (and its "
            "chart) differs from what the JSON gives"
        ),
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_pages(args.json or None)
            for page in stale:
                print(f"{page}: differs from what the JSON gives", file=sys.stderr)
            return 1 if stale else 0
        if args.readme is not None:
            update_page(args.json, args.readme, args.chart)
            written = [args.readme]
        else:
            written = update_all(args.json or None, chart=args.chart)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"updated {', '.join(map(str, written))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
