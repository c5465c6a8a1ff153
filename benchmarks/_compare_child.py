"""Equal work, in one child process: from the same two tables and candidate pairs to the
comparison levels of every pair, in recordlinkage and in matchsim.

::

    python -m benchmarks._compare_child DIR ROUNDS MODE [STRINGS]

``DIR`` holds ``left.parquet`` and ``right.parquet`` (forename, surname, date_of_birth,
postcode) and ``pairs.npz`` (the row of each candidate pair on each side). ``MODE`` is
``paired`` (both libraries, rounds alternating which goes first) or ``matchsim`` (matchsim
alone, for the multi-threaded figure). ``STRINGS`` is how the DataFrames hold text:
``object`` (Python strings, pandas 2's default and recordlinkage's: the headline) or
``arrow`` (``pd.StringDtype("pyarrow")``, pandas 3's default; recordlinkage 0.16 requires
pandas < 3, where it is opt-in). The parent (``benchmarks/test_throughput.py``) pins the
process to one core for the headline figure (``benchmarks/_single_core.py``).

What each side is timed for, per round, from the same pandas DataFrames (recordlinkage's
own input; loading them from Parquet is common set-up and not timed):

* **recordlinkage**: the candidate pairs as the ``MultiIndex`` it takes, then
  ``Compare.compute``: exact and Jaro-Winkler >= 0.85 on forename and on surname, exact date
  of birth, exact postcode. The tables' names are already normalised as matchsim
  normalises them (upper-case letters, single spaces) and postcodes carry no spaces, so that
  recordlinkage needs no cleaning step to give the same answers;
* **matchsim**: ``compare_pairs`` (``matchsim.comparison``) on the same tables and pair rows:
  it prepares (validates, normalises, encodes) only the rows some pair touches, as
  recordlinkage's ``Compare`` reads only those rows, links their vocabularies and runs
  ``compare`` with the same six levels (names exact and Jaro-Winkler >= 0.85, date of birth
  and postcode exact: ``ExactComparison``);
* **breakdowns** beside the headline, in the same rounds: the same steps one by one
  (``prepare_linkage(..., left_rows=..., right_rows=...)``, which reads, normalises and
  encodes both tables' touched rows on shared vocabularies, then ``compare``), to time each
  part; matchsim preparing the *whole* tables (every row) before the same ``compare``; and
  ``compare_pairs`` with matchsim's own date-of-birth and postcode comparisons, whose levels
  include the exact ones and more (more work than recordlinkage's, so in no headline).

Each side's agreement counts on the levels both compute are returned, and the parent
asserts that they are equal: the two libraries gave the same answers.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from benchmarks._single_core import configure_child

SINGLE = configure_child()  # before numpy/pyarrow start any pool of their own

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from matchsim.comparison import (  # noqa: E402
    DateOfBirthComparison,
    ExactComparison,
    NameComparison,
    PostcodeComparison,
    compare,
    compare_pairs,
)
from matchsim.records import prepare_linkage  # noqa: E402

#: The Jaro-Winkler level both libraries compute on names.
JW = 0.85
COLUMNS = ("forename", "surname", "date_of_birth", "postcode")
ROLES = {c: c for c in COLUMNS}
#: shared level -> (matchsim comparison index, matchsim levels that count as agreeing)
SHARED = {
    "forename.exact": (0, (1,)),
    f"forename.jaro_winkler>={JW:g}": (0, (1, 2)),
    "surname.exact": (1, (1,)),
    f"surname.jaro_winkler>={JW:g}": (1, (1, 2)),
    "date_of_birth.exact": (2, (1,)),
    "postcode.full": (3, (1,)),
}


def matchsim_comparisons(levels: str = "same") -> list:
    """matchsim's comparisons: ``same``, exactly recordlinkage's six levels (names exact or
    Jaro-Winkler >= 0.85; date of birth and postcode exact), the headline's equal work; or
    ``richer``, its own date-of-birth and postcode comparisons, whose levels include those
    and more (day and month swapped, one digit, within a year; sector, district, area), a
    breakdown timed in the same rounds."""
    names = {"phonetic": None, "first3": False, "initial": False, "swapped": False}
    same_levels = levels == "same"
    return [
        NameComparison("forename", thresholds=(JW,), **names),
        NameComparison("surname", thresholds=(JW,), **names),
        ExactComparison("date_of_birth") if same_levels else DateOfBirthComparison(),
        ExactComparison("postcode") if same_levels else PostcodeComparison(),
    ]


def recordlinkage_compare(rl):
    c = rl.Compare()
    for role in ("forename", "surname"):
        c.exact(role, role, label=f"{role}.exact")
        c.string(
            role, role, method="jarowinkler", threshold=JW, label=f"{role}.jaro_winkler>={JW:g}"
        )
    c.exact("date_of_birth", "date_of_birth", label="date_of_birth.exact")
    c.exact("postcode", "postcode", label="postcode.full")
    return c


def run_recordlinkage(rl, left_df, right_df, left, right):
    start, cpu = time.perf_counter(), time.process_time()
    pairs = pd.MultiIndex.from_arrays([left, right])
    features = recordlinkage_compare(rl).compute(pairs, left_df, right_df)
    seconds = time.perf_counter() - start
    CPU["recordlinkage"] = time.process_time() - cpu
    counts = {label: int(features[label].sum()) for label in SHARED}
    return seconds, counts


#: CPU seconds of the last call of each side (the process's, all threads: on one core, what
#: the call would take on an idle core, whatever other processes do meanwhile)
CPU: dict[str, float] = {}


def agreement_counts(levels: np.ndarray) -> dict[str, int]:
    return {
        label: int(np.isin(levels[:, column], agree).sum())
        for label, (column, agree) in SHARED.items()
    }


def run_compare_pairs(left_df, right_df, left, right, *, workers, levels="same"):
    """The headline: the public call, from the tables and pair rows to every pair's levels
    (``levels``: see :func:`matchsim_comparisons`)."""
    chosen = matchsim_comparisons(levels)
    start, cpu = time.perf_counter(), time.process_time()
    result = compare_pairs(
        left_df, right_df, ROLES, (left, right), comparisons=chosen, workers=workers
    )
    seconds = time.perf_counter() - start
    CPU["matchsim"] = time.process_time() - cpu
    return seconds, agreement_counts(result.levels)


def run_matchsim(left_df, right_df, left, right, *, workers, touched=False):
    """The same work step by step, each timed: with ``touched``, what ``compare_pairs`` does
    (only the rows some pair reads); without, the whole tables prepared."""
    times = {}
    start, cpu = time.perf_counter(), time.process_time()
    left_rows = right_rows = None
    if touched:  # only the rows some pair reads; pairs renumbered into them
        left_rows, left = np.unique(left, return_inverse=True)
        right_rows, right = np.unique(right, return_inverse=True)
        times["rows"] = time.perf_counter() - start
    mark = time.perf_counter()
    # both tables read, normalised and encoded, on shared vocabularies (as compare_pairs does)
    data = prepare_linkage(left_df, right_df, ROLES, left_rows=left_rows, right_rows=right_rows)
    times["prepare"] = time.perf_counter() - mark
    mark = time.perf_counter()
    result = compare(data, left, right, matchsim_comparisons(), workers=workers)
    times["compare"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    times["cpu"] = time.process_time() - cpu
    return seconds, agreement_counts(result.levels), times


def read_frame(path: Path, strings: str) -> pd.DataFrame:
    """A table as pandas holds it, text as Python objects or as Arrow-backed strings."""
    import pyarrow as pa

    mapper = {pa.string(): pd.StringDtype("pyarrow")}.get if strings == "arrow" else None
    return pq.read_table(path).to_pandas(date_as_object=False, types_mapper=mapper)


def main(directory: str, rounds: int, mode: str, strings: str = "object") -> dict:
    if strings not in ("object", "arrow"):
        raise SystemExit(f"STRINGS must be object or arrow, not {strings!r}")
    path = Path(directory)
    left_df = read_frame(path / "left.parquet", strings)
    right_df = read_frame(path / "right.parquet", strings)
    with np.load(path / "pairs.npz") as saved:
        left, right = saved["left"], saved["right"]
    workers = 1 if SINGLE else None
    text = left_df["forename"].dtype
    dtype = f"{text.name}[{text.storage}]" if isinstance(text, pd.StringDtype) else str(text)
    out: dict = {"single_core": SINGLE, "pairs": len(left), "mode": mode, "strings": dtype}
    if mode == "matchsim":
        run_compare_pairs(left_df, right_df, left, right, workers=workers)  # warm-up
        seconds, times = [], []
        for _ in range(rounds):
            gc.collect()
            s, counts = run_compare_pairs(left_df, right_df, left, right, workers=workers)
            seconds.append(s)
            times.append(
                run_matchsim(left_df, right_df, left, right, workers=workers, touched=True)[2]
            )
        return {**out, "matchsim_seconds": seconds, "matchsim_parts": times, "counts": counts}

    import recordlinkage as rl

    # Warm-up, not timed: imports, numba's cached kernels, pandas' first-use costs.
    run_recordlinkage(rl, left_df, right_df, left, right)
    run_compare_pairs(left_df, right_df, left, right, workers=workers)
    run_matchsim(left_df, right_df, left, right, workers=workers)
    rows = []
    for i in range(rounds):
        order = ("rl", "ms", "parts", "whole", "richer")
        row: dict = {}
        for which in order if i % 2 == 0 else order[::-1]:
            gc.collect()  # each timed call starts with no garbage from the other's
            if which == "rl":
                row["recordlinkage"], row["recordlinkage_counts"] = run_recordlinkage(
                    rl, left_df, right_df, left, right
                )
                row["recordlinkage_cpu"] = CPU["recordlinkage"]
            elif which == "ms":
                row["matchsim"], row["matchsim_counts"] = run_compare_pairs(
                    left_df, right_df, left, right, workers=workers
                )
                row["matchsim_cpu"] = CPU["matchsim"]
            elif which == "parts":
                _, row["parts_counts"], row["matchsim_parts"] = run_matchsim(
                    left_df, right_df, left, right, workers=workers, touched=True
                )
            elif which == "richer":
                row["richer"], row["richer_counts"] = run_compare_pairs(
                    left_df, right_df, left, right, workers=workers, levels="richer"
                )
            else:
                row["whole"], row["whole_counts"], row["whole_parts"] = run_matchsim(
                    left_df, right_df, left, right, workers=workers
                )
        rows.append(row)
    return {**out, "rounds": rows}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:5])))
