"""matchsim link: link any two tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from matchsim.cli import render
from matchsim.cli.options import (
    BlockingOption,
    DateFormatOption,
    EncodingOption,
    FullComparisonForceOption,
    OverwriteOption,
    ThresholdOption,
    blocking_spec,
    parse_map,
    read_frame,
    read_records,
    refuse_same_file,
)
from matchsim.errors import ConfigError
from matchsim.io import check_writable


def link_command(
    left: Annotated[Path, typer.Argument(help="Left table (.csv or .parquet).")],
    right: Annotated[Path, typer.Argument(help="Right table (.csv or .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Scored pairs: .parquet or .csv.")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="LEFTCOL=ROLE, repeatable (roles: id, forename, middle_names, surname, "
            "date_of_birth, sex, postcode, address).",
        ),
    ] = None,
    right_map: Annotated[
        list[str] | None,
        typer.Option("--right-map", help="RIGHTCOL=ROLE for the right table (default: as --map)."),
    ] = None,
    blocking: BlockingOption = None,
    matcher: Annotated[
        str,
        typer.Option(
            help="fellegi_sunter (unsupervised), deterministic, cascade, weighted; with "
            "matchsim[peers]: recordlinkage, splink."
        ),
    ] = "fellegi_sunter",
    decision: Annotated[str, typer.Option(help="unique, best, all or one_to_one.")] = "unique",
    threshold: ThresholdOption = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Two-column file of true left/right id pairs: prints precision, recall, F1."
        ),
    ] = None,
    force: FullComparisonForceOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    overwrite: OverwriteOption = False,
    date_format: DateFormatOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Link any two tables: block, compare, score (unsupervised Fellegi-Sunter by default), decide."""
    import pandas as pd

    from matchsim.api import link

    check_writable(out, "--out", overwrite=overwrite)
    refuse_same_file(out, {"LEFT": left, "RIGHT": right, "--truth": truth})
    roles = parse_map(map_, "--map")
    if not roles:
        raise ConfigError("--map", "map at least one column to a role, e.g. --map surname=surname")
    right_roles = parse_map(right_map, "--right-map") or roles
    if threshold is not None and not 0 <= threshold <= 1 and matcher != "cascade":
        raise ConfigError("--threshold", f"{threshold} is not allowed; must be in [0, 1]")
    left_table = read_records(left, "LEFT", roles, "left", encoding, date_format)
    right_table = read_records(right, "RIGHT", right_roles, "right", encoding, date_format)
    true_links = None
    if truth is not None:
        truth_table = read_frame(truth, "--truth", encoding).to_pandas()
        if truth_table.shape[1] < 2:
            raise ConfigError("--truth", "needs two columns: left id and right id")
        true_links = truth_table.iloc[:, :2]
    result = link(
        left_table,
        right_table,
        blocking=blocking_spec(
            blocking, force, sorted(set(roles.values()) & set(right_roles.values()))
        ),
        matcher=matcher,
        decision=decision,
        threshold=threshold,
        true_links=true_links,
    )
    pairs = result.pairs()
    chosen = result.decisions.explode("returned").dropna(subset=["returned"])
    chosen_keys = set(zip(chosen["left_id"], chosen["returned"], strict=True))
    pairs["decision"] = [
        (a, b) in chosen_keys for a, b in zip(pairs["left_id"], pairs["right_id"], strict=True)
    ]
    import pyarrow as pa

    from matchsim.io import write_table

    write_table(
        pa.Table.from_pandas(pd.DataFrame(pairs), preserve_index=False), out, overwrite=overwrite
    )
    if not quiet:
        report = result.blocking
        table = Table(title=f"{len(pairs):,} scored pairs written to {out}", show_header=False)
        table.add_column("measure")
        table.add_column("value", justify="right")
        passes = report.strategy.count(" | ") + 1
        table.add_row(
            "blocking", f"{passes} passes, listed below" if passes > 1 else report.strategy
        )
        table.add_row(
            "candidate pairs",
            f"{report.candidate_pairs:,} (reduction ratio {report.reduction_ratio:.6f})",
        )
        table.add_row("matcher", result.matcher.describe())
        table.add_row(
            "left records matched",
            f"{int((result.decisions['returned'].str.len() > 0).sum()):,} of {len(result.decisions):,}",
        )
        if result.pair_metrics is not None:
            m = result.pair_metrics
            if report.pairs_completeness is not None:
                table.add_row("pairs completeness", f"{report.pairs_completeness:.4f}")
            table.add_row(
                "precision / recall / F1",
                f"{m['precision']:.4f} / {m['recall']:.4f} / {m['f1']:.4f}",
            )
            d = result.decision_metrics
            if d is not None:  # None when no decision was taken
                table.add_row(
                    f"returned links ({decision}): P / R / F1",
                    f"{d['precision']:.4f} / {d['recall']:.4f} / {d['f1']:.4f}",
                )
        render.console.print(table)
        render.print_link_notes(result)
