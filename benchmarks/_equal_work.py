"""The parent's side of the equal-work comparison benchmark (``benchmarks/_compare_child.py``):
the inputs both libraries start from, and the figures of a paired run."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

#: The four fields both libraries compare, as a recordlinkage user holds them.
PEER_COLUMNS = ["forename", "surname", "date_of_birth", "postcode"]


def _normalised(column: Any, role: str) -> Any:
    """A column as matchsim's ``prepare_table`` normalises it (names: upper-case letters and
    single spaces; postcodes: upper case without spaces), empty values as nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from matchsim.records import normalise_name

    values = column.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    if role == "postcode":
        text = pc.replace_substring_regex(pc.utf8_upper(values), r"[^A-Z0-9]", "")
    else:
        encoded = pc.dictionary_encode(values)
        distinct = [
            None if v is None else normalise_name(v) for v in encoded.dictionary.to_pylist()
        ]
        text = pa.array(distinct, pa.string()).take(encoded.indices)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def write_equal_work_inputs(
    left_table: Any, right_table: Any, left: np.ndarray, right: np.ndarray, directory: str
) -> None:
    """The two tables both libraries start from (the four fields, names normalised), and the
    candidate pairs (``left``/``right``: each pair's row on each side), for the child."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for table, name in ((left_table, "left"), (right_table, "right")):
        columns = {
            role: _normalised(table[role], role) for role in ("forename", "surname", "postcode")
        }
        columns["date_of_birth"] = table["date_of_birth"].combine_chunks().cast(pa.date32())
        pq.write_table(
            pa.table({c: columns[c] for c in PEER_COLUMNS}), f"{directory}/{name}.parquet"
        )
    np.savez(f"{directory}/pairs.npz", left=left, right=right)


def equal_work_figures(child: dict[str, Any]) -> dict[str, Any]:
    """Medians, ratios and the same-answers check of a paired child run."""
    rounds = child["rounds"]
    theirs = [r["recordlinkage"] for r in rounds]
    ours = [r["matchsim"] for r in rounds]
    whole = [r["whole"] for r in rounds]
    richer = [r["richer"] for r in rounds]

    def medians(key: str) -> dict[str, float]:
        return {k: statistics.median(r[key][k] for r in rounds) for k in rounds[0][key]}

    round_ratios = [t / o for t, o in zip(theirs, ours, strict=True)]
    their_cpu = statistics.median(r["recordlinkage_cpu"] for r in rounds)
    our_cpu = statistics.median(r["matchsim_cpu"] for r in rounds)
    return {
        "pairs": child["pairs"],
        "single_core": child["single_core"],
        "rounds": len(rounds),
        "matchsim_call": "compare_pairs (prepares only the rows the pairs touch)",
        "recordlinkage_seconds": statistics.median(theirs),
        "matchsim_seconds": statistics.median(ours),
        # compare_pairs' steps run one by one in the same rounds, each timed
        "matchsim_parts_seconds": medians("matchsim_parts"),
        # The headline statistic, fixed before any run: median time against median time.
        "ratio": statistics.median(theirs) / statistics.median(ours),
        "lowest_round_ratio": min(round_ratios),
        "highest_round_ratio": max(round_ratios),
        "recordlinkage_round_seconds": [round(t, 4) for t in theirs],
        "matchsim_round_seconds": [round(o, 4) for o in ours],
        # CPU seconds: on one core, what each side takes on an idle core (a shared machine
        # stretches wall times; the wall-time ratio above stays the headline).
        "recordlinkage_cpu_seconds": their_cpu,
        "matchsim_cpu_seconds": our_cpu,
        "cpu_ratio": their_cpu / our_cpu,
        # Breakdown: every row of both tables prepared, then the same link and compare.
        "whole_tables_seconds": statistics.median(whole),
        "whole_tables_parts_seconds": medians("whole_parts"),
        "whole_tables_ratio": statistics.median(theirs) / statistics.median(whole),
        # Breakdown: compare_pairs with matchsim's own date and postcode comparisons (more
        # levels than recordlinkage computes, so more work than the headline's)
        "richer_levels_seconds": statistics.median(richer),
        "richer_levels_ratio": statistics.median(theirs) / statistics.median(richer),
        "recordlinkage_agreements": rounds[-1]["recordlinkage_counts"],
        "matchsim_agreements": rounds[-1]["matchsim_counts"],
        "breakdowns_agree": all(
            r["parts_counts"] == r["matchsim_counts"] == r["whole_counts"] == r["richer_counts"]
            for r in rounds
        ),
    }
