"""One side of the national lookup against Splink, in its own process::

    python -m benchmarks._national_child DIR matchsim|splink

``DIR`` holds ``census.parquet`` (with its address history) and ``requests-1.parquet`` (an
immigration request set with its ground truth: ``true_pupil_id``, ``in_register``). Each side
is timed from the Parquet files on disk to one answer per request, and scored against the
truth the same way: precision (right answers among the answers given) and recall (right
answers among the requests whose pupil is in the register).

* **matchsim**: ``load_census``, ``prepare_register(warm=False)`` (one batch, as ``lookup``
  prepares a register for one call), ``lookup`` with its defaults (blocking,
  comparisons, Fellegi-Sunter, the ``unique`` decision);
* **Splink 5 on DuckDB, no EM** (its fastest setting): the register and the requests read
  into DuckDB, Jaro-Winkler names with term frequencies, date of birth, postcode, sex;
  blocking on date of birth or surname and birth year; u by random sampling; lambda from a
  deterministic rule (same forename, surname and date of birth); pairs with a match
  probability of at least 0.5, and per request the most probable one.

The parent pins the process to one core (``benchmarks/_single_core.py``) and DuckDB is set
to one thread, so that both sides are single-threaded.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from benchmarks._single_core import configure_child

SINGLE = configure_child()

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

FIELDS = ("forename", "surname", "date_of_birth", "postcode", "sex")
THRESHOLD = 0.5


def score(answers: dict, requests: pa.Table) -> dict:
    """Precision and recall of one answer (a register id, or none) per request."""
    truth = dict(
        zip(
            requests["request_id"].to_pylist(),
            [
                t if inside else None
                for t, inside in zip(
                    requests["true_pupil_id"].to_pylist(),
                    requests["in_register"].to_pylist(),
                    strict=True,
                )
            ],
            strict=True,
        )
    )
    given = {r: a for r, a in answers.items() if a is not None}
    right = sum(1 for r, a in given.items() if truth.get(r) == a)
    inside = sum(1 for t in truth.values() if t is not None)
    precision = right / len(given) if given else None
    recall = right / inside if inside else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {
        "answers": len(given),
        "right": right,
        "in_register": inside,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def run_matchsim(directory: Path) -> dict:
    from matchsim.linkage import lookup, prepare_register
    from matchsim.requests import RequestConfig, RequestSet
    from matchsim.synth import load_census

    times = {}
    start = time.perf_counter()
    # A lookup on current addresses reads the pupils only, as Splink's side reads its columns.
    census = load_census(directory / "census.parquet", history=False)
    table = pq.read_table(directory / "requests-1.parquet")
    requests = RequestSet(table, RequestConfig(profile="immigration", count=table.num_rows), 0)
    times["load"] = time.perf_counter() - start
    mark = time.perf_counter()
    # One batch: the register is prepared for it alone, as ``lookup(census, requests)`` does
    # (warming builds what later batches would reuse; the answers are the same).
    register = prepare_register(census, warm=False)
    times["prepare"] = time.perf_counter() - mark
    mark = time.perf_counter()
    out = lookup(census, requests, register=register)
    times["lookup"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    decisions = out.link.decisions
    answers = {
        left: (
            returned[0]
            if isinstance(returned, list | tuple | np.ndarray) and len(returned)
            else None
        )
        for left, returned in zip(decisions["left_id"], decisions["returned"], strict=True)
    }
    return {"seconds": seconds, "parts": times, **score(answers, table)}


def _splink_table(table: pa.Table, id_column: str) -> pa.Table:
    columns = {"unique_id": table[id_column].cast(pa.string())}
    for field in FIELDS:
        values = table[field].combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        columns[field] = values
    columns["birth_year"] = pc.year(columns["date_of_birth"])
    return pa.table(columns)


def run_splink(directory: Path) -> dict:
    import duckdb
    import splink
    import splink.comparison_library as cl
    from splink import block_on

    times = {}
    start = time.perf_counter()
    census = pq.read_table(directory / "census.parquet", columns=[*FIELDS, "pupil_id"])
    table = pq.read_table(directory / "requests-1.parquet")
    register, requests = _splink_table(census, "pupil_id"), _splink_table(table, "request_id")
    times["load"] = time.perf_counter() - start
    mark = time.perf_counter()
    db_api = splink.DuckDBAPI(connection=duckdb.connect(config={"threads": 1}))
    settings = splink.SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("forename").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("date_of_birth"),
            block_on("surname", "birth_year"),
        ],
        retain_matching_columns=False,
    )
    inputs = [
        db_api.register(requests, dataset_display_name="requests"),
        db_api.register(register, dataset_display_name="register"),
    ]
    linker = splink.Linker(inputs, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    times["prepare"] = time.perf_counter() - mark
    mark = time.perf_counter()
    predictions = linker.inference.predict(
        threshold_match_probability=THRESHOLD
    ).as_pandas_dataframe()
    times["predict"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    left_is_request = predictions["source_dataset_l"] == "requests"
    request = np.where(left_is_request, predictions["unique_id_l"], predictions["unique_id_r"])
    pupil = np.where(left_is_request, predictions["unique_id_r"], predictions["unique_id_l"])
    best = (
        predictions.assign(request=request, pupil=pupil)
        .sort_values("match_probability", ascending=False)
        .drop_duplicates("request")
    )
    answers = dict(zip(best["request"], best["pupil"], strict=True))
    table = table.set_column(
        table.schema.get_field_index("request_id"),
        "request_id",
        table["request_id"].cast(pa.string()),
    )
    table = table.set_column(
        table.schema.get_field_index("true_pupil_id"),
        "true_pupil_id",
        table["true_pupil_id"].cast(pa.string()),
    )
    return {"seconds": seconds, "parts": times, "pairs": len(predictions), **score(answers, table)}


if __name__ == "__main__":
    where, side = Path(sys.argv[1]), sys.argv[2]
    result = run_matchsim(where) if side == "matchsim" else run_splink(where)
    result["single_core"] = SINGLE
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    print(json.dumps(result))
