"""The linkage pipeline on any two tables: block, compare, fit, score, decide and evaluate.

``link_tables`` works on anyone's data: two tables plus a mapping from their columns to roles
are enough to block, compare, fit, score, decide and (given true links) evaluate.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim.blocking import (
    Blocker,
    BlockingReport,
    BlockingSpec,
    default_blocking,
    make_blocker,
    run_blocking,
)
from matchsim.comparison import (
    Comparison,
    ComparisonResult,
    compare,
    default_comparisons,
)
from matchsim.decision import decide
from matchsim.errors import ConfigError
from matchsim.evaluation import pair_metrics
from matchsim.ingest import CleanTable, DataQuality, clean_table
from matchsim.matchers import CascadeMatcher, Matcher, MatcherSpec, make_matcher
from matchsim.records import (
    LinkageData,
    link,
    prepare_table,
)


class RegisterPartitions(Protocol):
    """Finds and scores candidate pairs partition by partition of the right-hand table."""

    def candidates(
        self,
        data: LinkageData,
        blocker: Blocker,
        comparisons: Sequence[Comparison | str | dict] | None,
        model: Matcher,
        refit: bool,
        fit_rows: tuple[np.ndarray, np.ndarray] | None,
        true_rows: tuple[np.ndarray, np.ndarray] | None,
        *,
        max_pairs: int,
    ) -> tuple[ComparisonResult, BlockingReport, np.ndarray | None, dict[str, float]]:
        """Candidates in local order, their blocking report, their scores if the partitions
        scored them (else ``None``: fit and score them here) and the time of each stage."""
        ...


@dataclass
class LinkResult:
    """Everything one linkage produced."""

    data: LinkageData
    comparison: ComparisonResult
    scores: np.ndarray
    matcher: Matcher
    threshold: float
    decisions: pd.DataFrame  # one row per left record (none with decision=None)
    blocking: BlockingReport
    timings: dict[str, float] = field(default_factory=dict)
    #: precision/recall/F1 of the pairs that clear the threshold (pair classification)
    pair_metrics: dict[str, float] | None = None
    #: precision/recall/F1 of the links the decision policy returned (what a user receives)
    decision_metrics: dict[str, float] | None = None
    #: values read as missing while cleaning the input tables, and how dates were read
    quality: DataQuality = field(default_factory=DataQuality)

    def pairs(self) -> pd.DataFrame:
        """Scored candidate pairs: left id, right id, score and whether it clears the bar."""
        return pd.DataFrame(
            {
                "left_id": self.data.left.ids[self.comparison.left],
                "right_id": self.data.right.ids[self.comparison.right],
                "score": self.scores,
                "match": self.scores >= self.threshold,
            }
        )


def true_rows_of(
    data: LinkageData, true_links: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """(left row, right row) of true links given as (left id, right id)."""
    if true_links is None:
        return None
    if true_links.shape[1] < 2:
        raise ConfigError("true_links", "needs two columns: left id and right id")
    left_ids = pd.Index(data.left.ids)
    li = left_ids.get_indexer(true_links.iloc[:, 0].to_numpy())
    if data.right.ids_ascending():
        # A matchsim register's ids ascend: a binary search per true link, no index of 16M ids.
        ids = data.right.ids
        wanted = true_links.iloc[:, 1].to_numpy().astype(ids.dtype, copy=False)
        if len(ids):
            at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            ri = np.where(ids[at] == wanted, at, -1)
        else:
            ri = np.full(len(wanted), -1, dtype=np.int64)
        ok = (li >= 0) & (ri >= 0)
        return li[ok], ri[ok]
    right_ids = data.right.id_index()
    if not right_ids.is_unique:
        # Several rows per right id (historical addresses): every row of the id is true.
        pos = pd.Series(np.arange(len(right_ids)), index=right_ids)
        frame = pd.DataFrame({"l": li, "rid": true_links.iloc[:, 1].to_numpy()})
        frame = frame[frame["l"] >= 0].merge(pos.rename("r"), left_on="rid", right_index=True)
        return frame["l"].to_numpy(), frame["r"].to_numpy()
    ri = right_ids.get_indexer(true_links.iloc[:, 1].to_numpy())
    ok = (li >= 0) & (ri >= 0)
    return li[ok], ri[ok]


def refuse_unpartitionable(model: Matcher) -> None:
    """Refuse, as a lookup.matcher error, a matcher that cannot score register partitions."""
    if not model.partitionable:
        raise ConfigError(
            "lookup.matcher",
            f"the {model.name} matcher cannot run on register partitions (it needs every "
            "candidate record in one process); use executor: local or processes",
        )


def link_prepared(
    data: LinkageData,
    *,
    blocking: BlockingSpec | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    matcher: MatcherSpec = "fellegi_sunter",
    decision: str | None = "unique",
    threshold: float | None = None,
    true_links: pd.DataFrame | None = None,
    max_pairs: int = 5_000_000,
    fit_true_links: bool = False,
    partitions: RegisterPartitions | None = None,
) -> LinkResult:
    """Block, compare, fit, score and decide on prepared data (see :func:`link_tables`).

    ``decision=None`` skips the answer per left record (``decisions`` is then empty).

    ``partitions`` finds and scores the candidates partition by partition of the right-hand
    table (e.g. on a Dask cluster, see :mod:`matchsim.distributed`); the result is the same.
    """
    timings: dict[str, float] = {}
    model = make_matcher(matcher)
    if threshold is not None:
        # Scores are probabilities in [0, 1], except a cascade's, which rank its rules 1..n.
        ceiling = float(len(model.rules)) if isinstance(model, CascadeMatcher) else 1.0
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 <= threshold <= ceiling
        ):
            raise ConfigError(
                "threshold", f"must be a number in [0, {ceiling:g}]. Got {threshold!r} instead."
            )
    t0 = time.perf_counter()
    blocker = make_blocker(blocking) if blocking is not None else default_blocking(data=data)
    true_rows = true_rows_of(data, true_links)
    # A matcher passed in already fitted (e.g. trained on an earlier batch) is reused.
    refit = not model.is_fitted() or isinstance(matcher, str | dict)
    fit_rows = true_rows if fit_true_links else None
    scores: np.ndarray | None = None
    if partitions is not None:
        refuse_unpartitionable(model)
    if not model.needs_levels:
        if comparisons is not None:
            raise ConfigError(
                "comparisons",
                f"the {model.name} matcher compares records with its own comparisons; "
                "leave comparisons unset",
            )
    elif comparisons is None:
        comparisons = default_comparisons(data, address_with_postcode=model.address_with_postcode)
    if partitions is None:
        (left, right), report = run_blocking(blocker, data, true_rows, max_pairs=max_pairs)
        timings["blocking"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if not model.needs_levels:
            # A peer engine or the encoded matcher compares the records itself: it gets the
            # pairs and no levels (no plaintext comparison is run for it).
            result = ComparisonResult(left, right, np.zeros((len(left), 0), dtype=np.int8), ())
        else:
            result = compare(data, left, right, comparisons)
        timings["comparison"] = time.perf_counter() - t0
    else:
        result, report, scores, part_timings = partitions.candidates(
            data, blocker, comparisons, model, refit, fit_rows, true_rows, max_pairs=max_pairs
        )
        refit = refit and scores is None
        left, right = result.left, result.right
        timings |= part_timings

    t0 = time.perf_counter()
    if scores is None and len(left):
        if refit:
            model.fit(result, data, fit_rows)
        scores = model.score(result, data)
    elif scores is None:
        scores = np.zeros(0)
    timings["matching"] = timings.get("matching", 0.0) + time.perf_counter() - t0

    t0 = time.perf_counter()
    bar = model.threshold if threshold is None else threshold
    if decision is None:
        # No answer per left record (deduplication clusters the pairs instead): the
        # decisions table stays empty, and so do the metrics of returned links.
        decisions = pd.DataFrame(columns=list(DECISION_COLUMNS))
    else:
        decisions = decide(
            data.left.ids, left, data.right.ids[right], scores, bar, decision, tiered=model.tiered
        )
    timings["decision"] = time.perf_counter() - t0

    metrics = decided = None
    if true_links is not None:
        predicted = pd.DataFrame(
            {
                "left_id": data.left.ids[left[scores >= bar]],
                "right_id": data.right.ids[right[scores >= bar]],
            }
        )
        truth = pd.DataFrame(
            {
                "left_id": true_links.iloc[:, 0].to_numpy(),
                "right_id": true_links.iloc[:, 1].to_numpy(),
            }
        )
        metrics = pair_metrics(predicted, truth)
        if decision is not None:
            returned = (
                decisions[["left_id", "returned"]].explode("returned").dropna(subset=["returned"])
            )
            decided = pair_metrics(returned.rename(columns={"returned": "right_id"}), truth)
    return LinkResult(
        data, result, scores, model, bar, decisions, report, timings, metrics, decided
    )


def link_tables(
    left: pd.DataFrame | pa.Table | CleanTable,
    right: pd.DataFrame | pa.Table | CleanTable,
    roles: Mapping[str, str] | None = None,
    right_roles: Mapping[str, str] | None = None,
    *,
    date_format: str | None = None,
    blocking: BlockingSpec | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    matcher: MatcherSpec = "fellegi_sunter",
    decision: str | None = "unique",
    threshold: float | None = None,
    true_links: pd.DataFrame | None = None,
    max_pairs: int = 5_000_000,
    fit_true_links: bool = False,
) -> LinkResult:
    """Link two tables.

    Parameters
    ----------
    left, right
        pandas DataFrames or Arrow tables (read files with :func:`matchsim.ingest.read_table`,
        which takes an ``encoding``), or tables already cleaned by
        :func:`matchsim.ingest.clean_table`. Each is cleaned (see docs/input-files.md): missing
        markers such as ``NULL`` and ``N/A`` become missing, dates of birth are read from
        dates, ``YYYYMMDD`` numbers or text, sex from M/F, Male/Female or 1/2. Values that
        cannot be read are missing for their record and counted in ``result.quality``.
    roles, right_roles
        Column name -> role (``id``, ``forename``, ``middle_names``, ``surname``,
        ``date_of_birth``, ``sex``, ``postcode``, ``address``); ``right_roles`` defaults to
        ``roles``. Without an ``id`` role, row numbers are the ids. Not needed for a
        :class:`~matchsim.ingest.CleanTable`, which carries its own.
    date_format
        strptime format of text dates of birth (e.g. ``"%d/%m/%Y"``); by default the format
        is detected, and a column that could be DD/MM or MM/DD is refused.
    blocking, comparisons, matcher, decision, threshold, true_links, max_pairs, fit_true_links
        ``blocking`` (default: multi-pass), ``comparisons``, ``matcher`` (default: unsupervised
        Fellegi-Sunter), ``decision`` (``unique``, ``best``, ``all``), ``threshold``,
        ``true_links`` (a two-column frame of true left/right ids, for precision, recall and F1);
        as for :func:`link_prepared`.

    Examples
    --------
    >>> import pandas as pd
    >>> left = pd.DataFrame({"id": [1], "fn": ["Jon"], "sn": ["Smith"], "dob": ["2010-05-01"]})
    >>> right = pd.DataFrame({"id": [7, 8], "fn": ["John", "Ann"], "sn": ["Smith", "Lee"],
    ...                       "dob": ["2010-05-01", "2011-01-02"]})
    >>> roles = {"id": "id", "fn": "forename", "sn": "surname", "dob": "date_of_birth"}
    >>> result = link_tables(left, right, roles, blocking="exact:dob", matcher="weighted")
    >>> [[int(i) for i in ids] for ids in result.decisions["returned"]]
    [[7]]
    """
    cleaned = []
    for table, side, mapping in ((left, "left", roles), (right, "right", right_roles or roles)):
        if not isinstance(table, CleanTable):
            if mapping is None:
                raise ConfigError("roles", "map columns to roles, e.g. {'surname': 'surname'}")
            table = clean_table(table, mapping, side, date_format=date_format)
        cleaned.append(table)
    data = link(*(prepare_table(c.table, c.roles, c.side) for c in cleaned))
    result = link_prepared(
        data,
        blocking=blocking,
        comparisons=comparisons,
        matcher=matcher,
        decision=decision,
        threshold=threshold,
        true_links=true_links,
        max_pairs=max_pairs,
        fit_true_links=fit_true_links,
    )
    result.quality = cleaned[0].quality.merged(cleaned[1].quality)
    return result


#: The columns of :attr:`LinkResult.decisions` (see :func:`matchsim.decision.decide`).
DECISION_COLUMNS = ("left_id", "returned", "ambiguous", "candidates", "best_score")
