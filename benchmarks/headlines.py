"""The headline figures: one table, generated from the committed benchmark JSON.

The same table goes into the README's "Performance" section and into ``benchmarks/README.md``,
between ``<!-- bench:start -->`` and ``<!-- bench:end -->``; ``benchmarks/report.py`` writes
it and ``tests/test_benchmark_report.py`` fails when either copy differs from what the JSON
in ``benchmarks/results/`` gives. Nothing in the table is typed by hand: a figure that is not
in the JSON is shown as not measured.

Each row says what is compared, what equal work both sides do, the target, the figure and
whether the target is met, and which results file it comes from; below the table each file's
commit, time, scale, machine load and command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_START, BENCH_END = "<!-- bench:start -->", "<!-- bench:end -->"


def _f(value: Any, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,.0f}"


@dataclass(frozen=True)
class Headline:
    """One row: a benchmark and how to read its figures."""

    test: str  # fullname in the JSON
    what: str
    equal_work: str
    target: str
    #: extra_info -> (measured text, met: True/False, or None when there is no target)
    read: Callable[[Mapping[str, Any]], tuple[str, bool | None]]


def _compare(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    parts = info.get("matchsim_parts_seconds") or {}
    same = info.get("recordlinkage_agreements") == info.get("matchsim_agreements")
    text = (
        f"**{_f(info.get('ratio'))}×** on {_n(info.get('pairs'))} pairs: recordlinkage "
        f"{_f(info.get('recordlinkage_seconds'), 3)} s, matchsim "
        f"{_f(info.get('matchsim_seconds'), 3)} s (preparing the rows the pairs touch "
        f"{_f(_preparing(parts), 3)} s, "
        f"compare {_f(parts.get('compare'), 3)} s); median of {info.get('rounds')} alternating "
        f"rounds ({_f(info.get('lowest_round_ratio'))}–{_f(info.get('highest_round_ratio'))}×); "
        f"{_f(info.get('cpu_ratio'))}× in CPU time. "
        + _whole_tables(info)
        + (
            f"Same agreement counts on all {len(info.get('matchsim_agreements') or {})} shared levels"
            if same
            else "**agreement counts differ**"
        )
    )
    ratio = info.get("ratio")
    return text, None if ratio is None else ratio >= (info.get("ratio_target") or 10.0)


def _preparing(parts: Mapping[str, Any]) -> float:
    """Seconds spent preparing both tables: one step (``prepare``: read, normalised and
    linked together) or, in results before it, each table on its own."""
    if "prepare" in parts:
        return parts["prepare"] or 0.0
    return sum(parts.get(k) or 0.0 for k in ("prepare_left", "prepare_right"))


def _whole_tables(info: Mapping[str, Any]) -> str:
    """The breakdown beside the headline. Results with ``whole_tables_ratio`` have the touched
    rows as their headline and every row of both tables as the breakdown; results with
    ``touched_rows_ratio`` have it the other way round."""
    if "whole_tables_ratio" in info:
        richer = (
            f"With matchsim's own date and postcode comparisons (more levels): "
            f"{_f(info['richer_levels_ratio'])}×. "
            if "richer_levels_ratio" in info
            else ""
        )
        return (
            f"Preparing every row of both tables: {_f(info.get('whole_tables_ratio'))}×. " + richer
        )
    return f"Preparing only the rows the pairs touch: {_f(info.get('touched_rows_ratio'))}×. "


def _compare_arrow_strings(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    text, _ = _compare(info)
    return f"{text} (pandas dtype `{info.get('strings')}`; a variant, not the headline)", None


def _compare_threads(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    parts = info.get("matchsim_parts_seconds") or {}
    return (
        f"{_f(info.get('matchsim_seconds'), 3)} s on {info.get('threads')} threads for "
        f"{_n(info.get('pairs'))} pairs (compare {_f(parts.get('compare'), 3)} s); "
        "multi-threaded, so in no ratio",
        None,
    )


def _clk_fresh(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    ours = (
        f"matchsim {_f(info.get('matchsim_seconds'), 3)} s (import "
        f"{_f(info.get('matchsim_import_seconds'), 3)} s, first encode "
        f"{_f(info.get('matchsim_first_encode_seconds'), 3)} s)"
    )
    cold = (
        f"numba compiling the kernels into an empty cache (once per install) adds "
        f"{_f(info.get('cold_compile_seconds'))} s"
    )
    ratio = info.get("ratio")
    if ratio is None:
        return f"{ours}; {cold}; no ratio: {info.get('clkhash_source')}", None
    same = info.get("matchsim_tokens") == info.get("clkhash_tokens")
    text = (
        f"**{_f(ratio)}×** on the same {_n(info.get('records'))} records, import and first "
        f"encode in a fresh process: {ours}, clkhash {_f(info.get('clkhash_seconds'), 3)} s "
        f"(import {_f(info.get('clkhash_import_seconds'), 3)} s, first encode "
        f"{_f(info.get('clkhash_first_encode_seconds'), 3)} s); median of {info.get('rounds')} "
        f"alternating rounds; {_f(info.get('cpu_ratio'))}× in CPU time. {cold} "
        f"({_f(info.get('cold_cache_ratio'))}× in that first process). "
        + ("Same tokens per field" if same else "**token counts differ**")
        + (
            ", the same CLKs from every process"
            if info.get("same_clks_every_process")
            else ", **CLKs differ between processes**"
        )
    )
    target = info.get("target_ratio", 10.0)  # absent from runs before breakdown sizes
    return text, None if target is None else ratio >= target


def _clk(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    ratio = info.get("ratio")
    if ratio is None:
        return f"no ratio: {info.get('clkhash_source')}", None
    same = info.get("matchsim_tokens") == info.get("clkhash_tokens")
    text = (
        f"**{_f(ratio)}×** on the same {_n(info.get('records'))} records: matchsim "
        f"{_n(info.get('matchsim_records_per_second'))} records/s, clkhash "
        f"{_n(info.get('clkhash_records_per_second'))}; {_f(info.get('cpu_ratio'))}× in CPU "
        "time; " + ("same tokens per field" if same else "**token counts differ**")
    )
    return text, ratio >= (info.get("target_ratio") or 10.0)


def _dice(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    ratio = info.get("ratio")
    if ratio is None:
        return f"no ratio: {info.get('anonlink_source')}", None
    text = (
        f"**{_f(ratio)}×** on the same {_n(info.get('comparisons'))} CLK pairs: matchsim "
        f"{_n(info.get('matchsim_comparisons_per_second'))}/s, anonlink "
        f"{_n(info.get('anonlink_comparisons_per_second'))}/s; same matches"
    )
    return text, ratio >= 1.0


def _generate(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    return (
        f"**{_f(info.get('ratio'), 1)}×**: `matchsim generate --pupils "
        f"{_n(info.get('pupils'))}` {_f(info.get('matchsim_process_seconds'))} s "
        f"({_n(info.get('matchsim_records_per_s'))} records/s), Faker "
        f"{_n(info.get('faker_records'))} records {_f(info.get('faker_process_seconds'))} s "
        f"({_n(info.get('faker_records_per_s'))} records/s); {_f(info.get('cpu_ratio'), 1)}× in "
        "CPU time",
        None,
    )


def _national(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    ours, theirs = info.get("matchsim") or {}, info.get("splink") or {}
    ratio = info.get("ratio")
    text = (
        f"**{_f(ratio, 1)}×**: matchsim {_f(ours.get('seconds'), 1)} s, precision "
        f"{_f(ours.get('precision'), 3)}, recall {_f(ours.get('recall'), 3)}; Splink "
        f"{_f(theirs.get('seconds'), 1)} s, precision {_f(theirs.get('precision'), 3)}, recall "
        f"{_f(theirs.get('recall'), 3)} ({_n(info.get('requests'))} requests)"
    )
    if info.get("reduced"):
        return f"{text}; reduced census of {_n(info.get('pupils'))} pupils, not judged", None
    if ratio is None or ours.get("precision") is None or theirs.get("precision") is None:
        return text, None
    met = (
        ratio >= (info.get("speed_target") or 5.0)
        and ours["precision"] >= theirs["precision"]
        and ours["recall"] >= theirs["recall"]
    )
    return text, met


def _big_run(seconds: float, gigabytes: float) -> Callable[..., tuple[str, bool | None]]:
    def read(info: Mapping[str, Any]) -> tuple[str, bool | None]:
        s, peak = info.get("generate_seconds"), info.get("peak_rss_gb")
        text = f"{_f(s, 1)} s, {_f(peak)} GB peak, {_n(info.get('pupils'))} pupils"
        met = None if s is None or peak is None else s <= seconds and peak <= gigabytes
        return text, met

    return read


def _requests(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    s = info.get("seconds")
    text = f"{_f(s, 1)} s ({_n(info.get('requests_per_s'))} requests/s)"
    return text, None if s is None else s <= (info.get("target_seconds") or 20.0)


def _world(info: Mapping[str, Any]) -> tuple[str, bool | None]:
    return (
        f"{_f(info.get('wall_seconds'), 1)} s, {_f(info.get('peak_rss_gb'))} GB peak "
        f"(other processes used {_f(info.get('other_cores'))} cores)",
        None,
    )


HEADLINES = (
    Headline(
        "benchmarks/test_throughput.py::test_compare_equal_work",
        "Comparisons against recordlinkage `Compare`",
        "the same two tables (pandas, names normalised) and candidate pairs to the same six "
        "levels of every pair (forename and surname exact and Jaro-Winkler ≥ 0.85, date of "
        "birth and postcode exact); all preparation timed (matchsim's `compare_pairs`: the "
        "rows the pairs touch normalised and encoded, as recordlinkage reads only those rows); "
        "one core each",
        "≥ 10×",
        _compare,
    ),
    Headline(
        "benchmarks/test_throughput.py::test_compare_equal_work_arrow_strings",
        "The same, text as Arrow-backed pandas strings",
        "the row above with both tables' text in `pd.StringDtype(\"pyarrow\")` (pandas 3's "
        "default) rather than Python objects (pandas 2's, and recordlinkage 0.16 requires "
        "pandas < 3); recordlinkage is slower on them and matchsim faster",
        "",
        _compare_arrow_strings,
    ),
    Headline(
        "benchmarks/test_throughput.py::test_compare_equal_work_threads",
        "The same, matchsim on every core",
        "matchsim's side of the headline comparison (Python-object strings), not pinned",
        "",
        _compare_threads,
    ),
    Headline(
        "benchmarks/test_pprl.py::test_encoding_fresh_process_against_clkhash[1000000]",
        "CLK encoding against clkhash",
        "the same census records and count (a register-sized file), the same tokens (names "
        "and postcode padded bigrams; date as day, month, year; sex), 1,024 bits; each side "
        "in a fresh process from importing its library to the CLKs (numba's kernels from its "
        "cache, as after an install); one core each",
        "≥ 10×",
        _clk_fresh,
    ),
    Headline(
        "benchmarks/test_pprl.py::test_encoding_fresh_process_against_clkhash[100000]",
        "The same, a tenth of the records (a breakdown)",
        "as above on the first 100,000 records, where each side's start-up (importing, "
        "loading kernels) weighs ten times more",
        "",
        _clk_fresh,
    ),
    Headline(
        "benchmarks/test_pprl.py::test_encoding_throughput_against_clkhash",
        "The same, steady state (a breakdown)",
        "the same records and tokens, both libraries already imported and one first encode "
        "each left out; one core each",
        "",
        _clk,
    ),
    Headline(
        "benchmarks/test_pprl.py::test_dice_throughput_against_anonlink",
        "All-pairs Dice ≥ 0.7 against anonlink",
        "the same CLKs, the same threshold; one core each",
        "≥ 1×",
        _dice,
    ),
    Headline(
        "benchmarks/test_generation.py::test_generate_process_against_faker",
        "Census generation against Faker",
        "whole processes (start-up, model, records, Parquet file); one core each",
        "",
        _generate,
    ),
    Headline(
        "benchmarks/test_national.py::test_national_lookup_vs_splink",
        "National lookup against Splink (no EM)",
        "the same census and requests from Parquet on disk to one answer per request, "
        "scored against the same truth; one core each (DuckDB one thread)",
        "≥ 5×, precision and recall ≥ Splink's",
        _national,
    ),
    Headline(
        "benchmarks/test_generation.py::test_full_census",
        "The 9,092,073-pupil census, 2 threads",
        "in a fresh interpreter",
        "≤ 30 s, ≤ 6 GB",
        _big_run(30.0, 6.0),
    ),
    Headline(
        "benchmarks/test_generation.py::test_npd_register",
        "NPD-like register, births 1990–2020, 2 threads",
        "in a fresh interpreter",
        "≤ 90 s, ≤ 12 GB",
        _big_run(90.0, 12.0),
    ),
    Headline(
        "benchmarks/test_requests.py::test_requests_full_error_model",
        "1,000,000 requests, full error model, 2M register",
        "",
        "≤ 20 s",
        _requests,
    ),
    Headline(
        "benchmarks/test_world.py::test_main_command_cold_cache",
        "`matchsim run` at national density, cold world cache",
        "a whole process",
        "",
        _world,
    ),
    Headline(
        "benchmarks/test_world.py::test_main_command_warm_cache",
        "`matchsim run` at national density, warm world cache",
        "a whole process",
        "",
        _world,
    ),
)


def _verdict(met: bool | None, target: str, scale: str | None) -> str:
    if not target or met is None:
        return ""
    if scale != "full":
        return f"not judged ({scale} scale)"
    return "met" if met else "**missed**"


def headline_block(
    benchmarks: Mapping[str, Mapping[str, Any]],
    sources: Mapping[str, Mapping[str, Any]],
    link: Callable[[str], str],
) -> str:
    """The generated table (without the markers).

    ``benchmarks`` maps a fullname to its JSON entry; ``sources`` maps it to its file's
    details (``file``, ``commit``, ``dirty``, ``taken``, ``scale``, ``command``); ``link``
    turns a file's path into a link from the page the block goes on.
    """
    rows, files = [], {}
    for h in HEADLINES:
        bench = benchmarks.get(h.test)
        if bench is None:
            continue
        info = bench.get("extra_info") or {}
        source = sources[h.test]
        measured, met = h.read(info)
        load = info.get("loadavg_after") or info.get("load_average_before")
        if isinstance(load, list | tuple) and load:
            measured += f" (load {float(load[0]):.1f})"
        name = Path(source["file"]).name
        files.setdefault(name, source)
        rows.append(
            "| "
            + " | ".join(
                [
                    h.what,
                    h.equal_work,
                    h.target,
                    measured.replace("|", "\\|"),
                    _verdict(met, h.target, source.get("scale")),
                    f"[`{name}`]({link(source['file'])})",
                ]
            )
            + " |"
        )
    absent = [h.what for h in HEADLINES if h.test not in benchmarks]
    lines = [
        "<!-- Written by `python -m benchmarks.report` from benchmarks/results/*.json; "
        "do not edit by hand. -->",
        "",
        "| What | Same work on both sides | Target | Measured | | From |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    for name, source in files.items():
        commit = (source.get("commit") or "?")[:12]
        dirty = " with uncommitted changes" if source.get("dirty") else ""
        lines.append(
            f"- `{name}`: commit `{commit}`{dirty}, {source.get('taken', '?')}, scale "
            f"`{source.get('scale', '?')}`: `{source.get('command') or '(not recorded)'}`"
        )
    if rows:
        lines.append(
            "- *load*: the machine's 1-minute load average as the benchmark finished; above its "
            "core count, other processes competed for the cores and stretched the wall times "
            "(the CPU-time ratios are less affected)."
        )
    if absent:
        lines.append(
            "- Not in the committed results (no figure is shown for them): "
            + "; ".join(absent)
            + "."
        )
    return "\n".join(lines) + "\n"
