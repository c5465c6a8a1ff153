"""Console tables (rich) for the calibration report, the fidelity table and sweeps.

Kept apart from the CLI so that the same rendering serves ``matchsim calibrate``,
``matchsim fidelity`` and ``generate``'s summary; each table fits 80 columns (long text wraps).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from matchsim.fidelity import FidelityRow
from matchsim.scenario.calibration import MONTHLY_BATCH, REQUESTS_PER_YEAR, CalibrationReport


def calibration_tables(report: CalibrationReport) -> list[Table | Text]:
    sim = report.sim
    simulated = Table(title=f"{report.scenario}: the simulated lookup", title_justify="left")
    simulated.add_column("requested people")
    simulated.add_column("n", justify="right")
    simulated.add_column("got a child", justify="right")
    simulated.add_column("wrong child", justify="right")
    simulated.add_column("nothing", justify="right")
    simulated.add_row(
        "in the register",
        f"{sim.n_in:,}",
        f"{sim.returned_in:,}",
        f"{sim.false_in:,}",
        f"{sim.missed_in:,}",
    )
    simulated.add_row(
        "not in the register",
        f"{sim.n_out:,}",
        f"{sim.false_out:,}",
        f"{sim.false_out:,}",
        f"{sim.n_out - sim.false_out:,}",
    )

    solved = Table(
        title="In-register share solved from the published returned share (95% interval)",
        title_justify="left",
    )
    solved.add_column("period")
    solved.add_column("asked", justify="right")
    solved.add_column("returned", justify="right")
    solved.add_column("in register", justify="right")
    for s in report.solved:
        solved.add_row(
            s.period.label,
            f"{s.period.requested:,}",
            f"{s.period.returned:,} ({s.period.share:.1%})",
            f"{s.share:.1%} ({s.low:.1%}-{s.high:.1%})",
        )
    sources = Text("\n".join(f"{s.period.label}: {s.period.source}" for s in report.solved))

    band = Table(
        title=(
            f"Across the band {report.band[0]:.1%}-{report.band[1]:.1%}: per {MONTHLY_BATCH:,} "
            f"requests (a month's batch) and per year ({REQUESTS_PER_YEAR:,.0f} requests)"
        ),
        title_justify="left",
    )
    band.add_column("in register", justify="right")
    band.add_column("wrong child /batch", justify="right")
    band.add_column("/year", justify="right")
    band.add_column("missed /batch", justify="right")
    band.add_column("/year", justify="right")
    for r in report.band_rates:
        b, y = r.per(MONTHLY_BATCH), r.per(REQUESTS_PER_YEAR)
        band.add_row(
            f"{r.share:.1%}",
            f"{b['false_match']:.1f} ({b['false_match_low']:.1f}-{b['false_match_high']:.1f})",
            f"{y['false_match']:.1f}",
            f"{b['missed']:.1f} ({b['missed_low']:.1f}-{b['missed_high']:.1f})",
            f"{y['missed']:.1f}",
        )

    checks = Table(title="Independent checks", title_justify="left")
    checks.add_column("check")
    checks.add_column("verdict")
    checks.add_column("detail (source)", overflow="fold")
    for c in report.checks:
        checks.add_row(c.name, c.verdict, f"{c.detail} ({c.source})")
    return [simulated, solved, sources, band, checks]


def fidelity_table(rows: list[FidelityRow], title: str = "Fidelity") -> Group:
    """Generated against published, one row per measure; sources as numbered notes below
    (so the table fits 80 columns)."""
    notes: dict[str, int] = {}
    table = Table(title=title, title_justify="left")
    table.add_column("measure", overflow="fold")
    table.add_column("here", justify="right")
    table.add_column("published", justify="right")
    table.add_column("tol.", justify="right")
    table.add_column("", justify="center")
    table.add_column("src", justify="right")
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            table.add_row(f"[bold]{group}[/bold]", "", "", "", "", "")
        ref = notes.setdefault(row.source, len(notes) + 1)
        status = {"FAIL": "[red]FAIL[/red]", "pass": "[green]pass[/green]"}.get(
            row.status, row.status
        )
        table.add_row(
            "  " + escape(row.measure),
            row.format(row.generated),
            row.format(row.published),
            row.tolerance_text,
            status,
            f"[{ref}]",
        )
    lines = [f"[{n}] {escape(text)}" for text, n in notes.items()]
    for row in rows:
        if row.not_applicable:
            lines.append(f"n/a: {escape(row.measure)}: {escape(row.not_applicable)}")
    return Group(table, Text.from_markup("\n".join(lines)))


def sweep_table(summary: pd.DataFrame, grid: Sequence[str], title: str) -> Table:
    """A sweep's summary, one row per point: each rate with its pooled 95% Wilson interval.

    Rates never wrap; setting names break at their dots and values fold, so the table fits
    the console's width (80 columns and up) without cutting a name or a figure.
    """
    seeds = summary["seeds"].unique() if "seeds" in summary else []
    same_seeds = len(seeds) == 1
    if same_seeds:
        title += f" ({int(seeds[0])} seed{'s' if seeds[0] != 1 else ''} a point)"
    table = Table(title=title, title_justify="left")
    for key in grid:
        table.add_column(escape(str(key)).replace(".", ".\n"), overflow="fold")
    if not same_seeds:
        table.add_column("seeds", justify="right")
    for label in ("wrong child\nreturned", "missed"):
        table.add_column(f"{label}\n(95% interval)", justify="right", no_wrap=True)
    for values in summary.to_dict("records"):
        table.add_row(
            *[escape(str(values[k])) for k in grid],
            *([] if same_seeds else [str(values["seeds"])]),
            *(
                f"{_rate(values[r])}\n({_rate(values[f'{r}_low'], False)}-{_rate(values[f'{r}_high'])})"
                for r in ("false_match_rate", "missed_match_rate")
            ),
        )
    return table


def _rate(x: float, sign: bool = True) -> str:
    if x is None or x != x:
        return "-"
    text = f"{100 * x:.3f}" if 0 < x < 0.01 else f"{100 * x:.2f}"
    return text + ("%" if sign else "")
