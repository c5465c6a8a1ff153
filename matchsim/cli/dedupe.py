"""matchsim dedupe: duplicate records within one table, as clusters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    import pandas as pd


def dedupe_command(
    file: Annotated[Path, typer.Argument(help="Table to deduplicate (.csv or .parquet).")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=ROLE, repeatable (roles: id, forename, middle_names, surname, "
            "date_of_birth, sex, postcode, address).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Scored pairs: .parquet or .csv.")
    ] = None,
    clusters_out: Annotated[
        Path | None,
        typer.Option("--clusters-out", help="One row per record: id, cluster, cluster_size."),
    ] = None,
    blocking: BlockingOption = None,
    matcher: Annotated[
        str, typer.Option(help="fellegi_sunter (unsupervised), deterministic, cascade, weighted.")
    ] = "fellegi_sunter",
    threshold: ThresholdOption = None,
    cluster: Annotated[
        str,
        typer.Option(
            "--cluster",
            help="components (chains of matches are one entity) or one_to_one (each record "
            "matched to at most one other).",
        ),
    ] = "components",
    truth: Annotated[
        Path | None,
        typer.Option(
            help="True entities: a file of (record id, entity) columns, or with --truth-pairs "
            "of (id, id) duplicate pairs. Prints pairwise and cluster metrics."
        ),
    ] = None,
    truth_pairs: Annotated[
        bool, typer.Option("--truth-pairs", help="--truth holds duplicate pairs (id, id).")
    ] = False,
    force: FullComparisonForceOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    overwrite: OverwriteOption = False,
    date_format: DateFormatOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Find duplicate records within one table and cluster them into entities."""
    import pyarrow as pa

    from matchsim.api import dedupe
    from matchsim.io import write_tables

    for path, option in ((out, "--out"), (clusters_out, "--clusters-out")):
        if path is not None:
            check_writable(path, option, overwrite=overwrite)
            refuse_same_file(path, {"FILE": file, "--truth": truth}, option)
    if out is not None and clusters_out is not None and out.resolve() == clusters_out.resolve():
        raise ConfigError("--clusters-out", "is the same file as --out; give two file names")
    roles = parse_map(map_, "--map")
    if not roles:
        raise ConfigError("--map", "map at least one column to a role, e.g. --map surname=surname")
    if threshold is not None and not 0 <= threshold <= 1 and matcher != "cascade":
        raise ConfigError("--threshold", f"{threshold} is not allowed; must be in [0, 1]")
    if truth_pairs and truth is None:
        raise ConfigError("--truth-pairs", "needs --truth FILE")
    table = read_records(file, "FILE", roles, "table", encoding, date_format)
    truth_options: dict[str, pd.DataFrame] = {}
    if truth is not None:
        truth_table = read_frame(truth, "--truth", encoding).to_pandas()
        if truth_table.shape[1] < 2:
            what = "two ids of duplicate records" if truth_pairs else "record id and entity"
            raise ConfigError("--truth", f"needs two columns: {what}")
        key = "true_links" if truth_pairs else "true_clusters"
        truth_options[key] = truth_table.iloc[:, :2]
    result = dedupe(
        table,
        None,
        blocking=blocking_spec(blocking, force, sorted(set(roles.values()))),
        matcher=matcher,
        threshold=threshold,
        cluster_method=cluster,
        true_clusters=truth_options.get("true_clusters"),
        true_links=truth_options.get("true_links"),
    )
    outputs = {}
    if out is not None:
        outputs[out] = pa.Table.from_pandas(result.pairs(), preserve_index=False)
    if clusters_out is not None:
        outputs[clusters_out] = pa.Table.from_pandas(result.cluster_table(), preserve_index=False)
    write_tables(outputs, overwrite=overwrite)
    if quiet:
        return
    report, link = result.link.blocking, result.link
    clusters = result.cluster_table()
    grouped = clusters[clusters["cluster_size"] >= 2]
    summary = Table(title=f"{len(result.ids):,} records deduplicated", show_header=False)
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("blocking", report.strategy)
    summary.add_row(
        "candidate pairs",
        f"{report.candidate_pairs:,} (reduction ratio {report.reduction_ratio:.6f})",
    )
    summary.add_row("matcher", link.matcher.describe())
    summary.add_row("pairs over the threshold", f"{int((link.scores >= link.threshold).sum()):,}")
    summary.add_row(
        f"clusters ({result.method})",
        f"{result.n_clusters:,}; {len(grouped):,} records in "
        f"{grouped['cluster'].nunique():,} clusters of 2+",
    )
    m = result.metrics
    if m is not None:
        if report.pairs_completeness is not None:
            summary.add_row("pairs completeness", f"{report.pairs_completeness:.4f}")
        if link.pair_metrics is not None:
            p = link.pair_metrics
            summary.add_row(
                "scored pairs: P / R / F1",
                f"{p['precision']:.4f} / {p['recall']:.4f} / {p['f1']:.4f}",
            )
        summary.add_row(
            "pairwise (clusters): P / R / F1",
            f"{m['pairwise_precision']:.4f} / {m['pairwise_recall']:.4f} / {m['pairwise_f1']:.4f}",
        )
        summary.add_row(
            "clusters: P / R / F1",
            f"{m['cluster_precision']:.4f} / {m['cluster_recall']:.4f} / {m['cluster_f1']:.4f}",
        )
        summary.add_row(
            "wrongly merged clusters / split entities",
            f"{m['wrongly_merged_clusters']:,} / {m['split_entities']:,}",
        )
    written = [str(p) for p in outputs]
    if written:
        summary.add_row("written", ", ".join(written))
    render.console.print(summary)
