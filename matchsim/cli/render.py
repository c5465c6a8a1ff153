"""What the commands print: consoles, progress bars, tables and summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    if quiet:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@contextmanager
def stage_bars(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if quiet:
        yield None
        return
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def stage(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        yield stage


def print_run_summary(run: Any, target: Path) -> None:
    evaluation = run.result.evaluation
    table = Table(title=f"{run.scenario.name}: results in {target}/", show_header=True)
    table.add_column("outcome or rate")
    table.add_column("value", justify="right")
    table.add_column("95% interval", justify="right")
    for key in ("correct_match", "false_match", "missed_match", "correct_non_match"):
        table.add_row(key.replace("_", " "), f"{evaluation.counts.get(key, 0):,}", "")
    for key in ("false_match_rate", "missed_match_rate", "returned_rate"):
        rate = evaluation.rates[key]
        table.add_row(
            key.replace("_", " "), f"{rate.value:.2%}", f"{rate.low:.2%} – {rate.high:.2%}"
        )
    blocking = run.result.link.blocking
    table.add_row(
        "blocking: pairs / completeness",
        f"{blocking.candidate_pairs:,}",
        f"{blocking.pairs_completeness:.2%}" if blocking.pairs_completeness is not None else "",
    )
    console.print(table)
    console.print(f"Open {target / 'report.html'} for the charts and worked examples.")


def print_link_notes(result: Any) -> None:
    """Under the link summary: the blocking passes one a line, and what cleaning read as missing."""
    passes = result.blocking.strategy.split(" | ")  # a union describes itself as "a | b | c"
    found = result.blocking.passes  # given the truth: which pass found and lost the true pairs
    if len(passes) > 1:
        console.print("Blocking passes (the candidates are their union):", highlight=False)
        for i, line in enumerate(passes):
            if found is not None:
                row = found[i]
                line += (
                    f": {row['true_pairs_found']:,} true pairs found"
                    f" ({row['found_only_here']:,} by this pass alone), {row['missed']:,} missed"
                )
            console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)
        if found is not None:
            console.print(
                f"  lost by every pass: {found[-1]['missed']:,} true pairs", highlight=False
            )
    notes = result.quality.lines()
    if notes:
        console.print("Input data:", highlight=False)
        for column, text in notes:
            console.print(f"  {column}: {text}", soft_wrap=True, highlight=False, markup=False)


def with_options(registry: Any, name: str) -> str:
    from matchsim.registry import first_paragraph

    options = registry.options(name)
    text = first_paragraph(registry[name])
    if not options:
        return text
    shown = ", ".join(
        f"{o.name} (required)" if o.required else f"{o.name}={o.default}" for o in options
    )
    return f"{text}\nOptions: {shown}"


def list_sections(
    blockers: Any,
    comparisons: Any,
    matchers: Any,
    policies: dict[str, str],
    profiles: Any,
    error_types: Any,
    origins: Any,
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sections ``matchsim list`` prints: a title and (name, description) rows."""
    return [
        (
            "Blocking strategies (lookup.blocking)",
            [(k, with_options(blockers, k)) for k in sorted(blockers)],
        ),
        (
            "Comparisons (lookup.comparisons, by kind)",
            [(k, with_options(comparisons, k)) for k in sorted(comparisons)],
        ),
        ("Matchers (lookup.matcher)", [(k, with_options(matchers, k)) for k in sorted(matchers)]),
        ("Decision policies (lookup.decision)", list(policies.items())),
        (
            "Requester profiles (requests.profile)",
            [(k, v.description) for k, v in profiles.items()],
        ),
        (
            "Error types (requests.errors)",
            [(k, f"{', '.join(v.fields)}: {v.description}") for k, v in error_types.items()],
        ),
        (
            "Name origins (population.names.origins; any Faker locale with sexed names too)",
            [(k, origins[k].description) for k in sorted(origins)],
        ),
    ]


def print_request_summary(request_set: Any, out: Path) -> None:
    table = request_set.table
    n = table.num_rows
    in_register = sum(table["in_register"].to_pylist())
    summary = Table(title=f"{n:,} requests written to {out}", show_header=False)
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("profile", request_set.config.profile)
    summary.add_row("people in the register", f"{in_register:,} ({in_register / max(n, 1):.1%})")
    clean = sum(1 for e in table["n_errors"].to_pylist() if e == 0)
    summary.add_row("requests with no error", f"{clean:,} ({clean / max(n, 1):.1%})")
    rates = sorted(request_set.error_rates().items(), key=lambda kv: -kv[1])
    summary.add_row("commonest errors", ", ".join(f"{k} {v:.1%}" for k, v in rates[:5] if v > 0))
    console.print(summary)


def print_summary(summary: dict[str, Any], out: Path) -> None:
    table = Table(title=f"Synthetic register written to {out}", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("pupils", f"{summary['pupils']:,}")
    table.add_row("households", f"{summary['households']:,}")
    table.add_row("twins and triplets", f"{summary['twin_share']:.2%}")
    table.add_row("moved house at least once", f"{summary['moved_share']:.1%}")
    table.add_row(
        "share forename + surname + DOB with another pupil",
        f"{summary['same_name_and_dob_share']:.3%}",
    )
    table.add_row("top forenames", ", ".join(f"{n} {s:.2%}" for n, s in summary["top_forenames"]))
    table.add_row("top surnames", ", ".join(f"{n} {s:.2%}" for n, s in summary["top_surnames"]))
    console.print(table)


def print_fidelity(census: Any) -> None:
    """generate's fidelity section: the register's rows (requests are not drawn here)."""
    from matchsim.fidelity import fidelity_rows
    from matchsim.report.tables import fidelity_table

    rows = fidelity_rows(census, include_requests=False)
    console.print(fidelity_table(rows, "Fidelity: generated against published (matchsim fidelity)"))


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover
