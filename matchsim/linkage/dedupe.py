"""Deduplication: the records of one table that are the same entity, as clusters.

``dedupe_table`` runs the linkage pipeline of :func:`matchsim.linkage.link_prepared` on one
table against itself (:func:`matchsim.records.self_linkage`): blocking lists each unordered
pair of different rows once, the comparisons and the unsupervised Fellegi-Sunter matcher are
those of ``link``, and the pairs over the threshold are clustered
(:mod:`matchsim.clustering`). Given the true entities it scores the clusters
(:func:`matchsim.evaluation.cluster_metrics`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim.blocking import BlockingSpec
from matchsim.clustering import CLUSTER_METHODS, cluster, connected_components
from matchsim.comparison import Comparison
from matchsim.errors import ConfigError, UnknownNameError
from matchsim.evaluation import cluster_metrics
from matchsim.ingest import CleanTable, clean_table
from matchsim.linkage.pipeline import LinkResult, link_prepared
from matchsim.matchers import MatcherSpec
from matchsim.records import prepare_table, self_linkage

#: Above this many true pairs (e.g. one huge true entity) the blocking report does not list
#: them to measure pairs completeness; the cluster metrics never list pairs.
TRUE_PAIR_LIMIT = 20_000_000


@dataclass
class DedupeResult:
    """Scored pairs of one table, its clusters and, given the truth, how good they are."""

    link: LinkResult  # pairs (smaller row on the left), scores, matcher, blocking report
    clusters: np.ndarray  # a cluster label per row: 0, 1, ... in order of first row
    method: str
    #: :func:`matchsim.evaluation.cluster_metrics` of the clusters, given the truth
    metrics: dict[str, float | int] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ids(self) -> np.ndarray:
        return self.link.data.left.ids

    def pairs(self) -> pd.DataFrame:
        """Scored candidate pairs (``left_id`` is the record in the earlier row), whether the
        pair clears the threshold and whether its records ended in one cluster."""
        frame = self.link.pairs()
        comparison = self.link.comparison
        frame["same_cluster"] = self.clusters[comparison.left] == self.clusters[comparison.right]
        return frame

    def cluster_table(self) -> pd.DataFrame:
        """One row per record: its id, cluster label and the size of its cluster."""
        sizes = np.bincount(self.clusters)
        return pd.DataFrame(
            {"id": self.ids, "cluster": self.clusters, "cluster_size": sizes[self.clusters]}
        )

    @property
    def n_clusters(self) -> int:
        return int(self.clusters.max()) + 1 if len(self.clusters) else 0


def entity_labels(ids: np.ndarray, truth: object) -> np.ndarray:
    """A true entity label per record from ``truth``: one label per record (in row order), or
    a two-column frame of (record id, entity label) covering every record."""
    n = len(ids)
    if isinstance(truth, pd.DataFrame | pa.Table):
        frame = truth.to_pandas() if isinstance(truth, pa.Table) else truth
        if frame.shape[1] < 2:
            raise ConfigError("true_clusters", "needs two columns: record id and entity label")
        if frame.iloc[:, 0].duplicated().any():
            dup = _plain(frame.iloc[:, 0][frame.iloc[:, 0].duplicated()].iloc[0])
            raise ConfigError("true_clusters", f"gives record {dup!r} more than one entity")
        position = pd.Index(frame.iloc[:, 0].to_numpy()).get_indexer(ids)
        if (position < 0).any():
            missing = int((position < 0).sum())
            raise ConfigError(
                "true_clusters",
                f"{missing:,} of {n:,} records (e.g. id {_plain(ids[position < 0][0])!r}) have no "
                "entity label; label every record (a record alone is its own entity)",
            )
        labels = frame.iloc[:, 1].to_numpy()[position]
    else:
        labels = np.asarray(truth)
        if labels.ndim != 1 or len(labels) != n:
            raise ConfigError(
                "true_clusters",
                f"must be one label per record ({n:,}) or a (record id, entity) frame",
            )
    if pd.isna(labels).any():
        raise ConfigError("true_clusters", "has missing entity labels; label every record")
    return pd.factorize(labels, sort=False)[0].astype(np.int64)


def entities_from_links(
    ids: np.ndarray, links: pd.DataFrame | Iterable[Sequence[object]]
) -> np.ndarray:
    """True entity labels from true duplicate links: a frame or sequence of (id, id) pairs.
    Records joined by a chain of links are one entity; ids absent from ``ids`` are ignored."""
    frame = pd.DataFrame(list(links)) if not isinstance(links, pd.DataFrame) else links
    if frame.shape[1] < 2:
        raise ConfigError("true_links", "needs two columns: the ids of two duplicate records")
    index = pd.Index(ids)
    a = index.get_indexer(frame.iloc[:, 0].to_numpy())
    b = index.get_indexer(frame.iloc[:, 1].to_numpy())
    ok = (a >= 0) & (b >= 0)
    return connected_components(len(ids), a[ok], b[ok])


def within_entity_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair of rows with the same label, as (smaller row, larger row)."""
    order = np.argsort(labels, kind="stable")  # rows ascend within each label
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sizes = np.diff(np.r_[starts, len(labels)])
    # The record at offset o of a group of k pairs with the k - 1 - o records after it.
    offset = np.arange(len(labels)) - np.repeat(starts, sizes)
    after = np.repeat(sizes, sizes) - 1 - offset
    first = np.repeat(np.arange(len(labels)), after)
    cum = np.cumsum(after) - after
    second = first + 1 + (np.arange(int(after.sum())) - np.repeat(cum, after))
    return order[first], order[second]


def dedupe_table(
    table: pd.DataFrame | pa.Table | CleanTable,
    roles: Mapping[str, str] | None,
    *,
    blocking: BlockingSpec | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    matcher: MatcherSpec = "fellegi_sunter",
    threshold: float | None = None,
    cluster_method: str = "components",
    true_clusters: object = None,
    true_links: pd.DataFrame | Iterable[Sequence[object]] | None = None,
    max_pairs: int = 5_000_000,
    fit_true_links: bool = False,
    date_format: str | None = None,
) -> DedupeResult:
    """Find the duplicate records within one table and cluster them into entities.

    Parameters
    ----------
    table
        A pandas DataFrame or Arrow table, cleaned as :func:`matchsim.linkage.link_tables`
        cleans its inputs (missing markers, date formats, sex codes: docs/input-files.md), or
        a :class:`~matchsim.ingest.CleanTable` already cleaned (then ``roles`` may be None).
    roles
        Column name -> role, as for :func:`matchsim.linkage.link_tables`. Ids must be unique;
        without an ``id`` role, row numbers are the ids.
    date_format
        strptime format of text dates of birth (default: detected).
    blocking, comparisons, matcher, threshold, max_pairs, fit_true_links
        As for :func:`matchsim.linkage.link_prepared` (default: the multi-pass blocking of
        the roles mapped, and unsupervised Fellegi-Sunter at its threshold).
    cluster_method
        ``components`` (records joined by a chain of matched pairs are one entity) or
        ``one_to_one`` (each record matched to at most one other, best scores first).
    true_clusters, true_links
        The truth, if known: an entity label per record or a (record id, entity) frame; or
        the true duplicate pairs as (id, id). Adds pairwise and cluster metrics.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"fn": ["Jon", "John", "Ann"], "sn": ["Smith", "Smith", "Lee"],
    ...                        "dob": ["2010-05-01", "2010-05-01", "2011-01-02"]})
    >>> roles = {"fn": "forename", "sn": "surname", "dob": "date_of_birth"}
    >>> result = dedupe_table(people, roles, blocking="exact:dob", matcher="weighted")
    >>> result.clusters.tolist()
    [0, 0, 1]
    """
    if cluster_method not in CLUSTER_METHODS:
        raise UnknownNameError("cluster_method", str(cluster_method), CLUSTER_METHODS)
    if true_clusters is not None and true_links is not None:
        raise ConfigError("true_links", "give the truth once: true_clusters or true_links")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if not isinstance(table, CleanTable):
        if roles is None:
            raise ConfigError("roles", "map columns to roles, e.g. {'surname': 'surname'}")
        table = clean_table(table, roles, "table", date_format=date_format)
    prepared = prepare_table(table.table, table.roles, table.side)
    ids = prepared.ids
    index = pd.Index(ids)
    if not index.is_unique:
        dup = _plain(index[index.duplicated()][0])
        raise ConfigError(
            "roles",
            f"id {dup!r} appears more than once; deduplication needs one id per record "
            "(leave the id role unmapped to use row numbers)",
        )
    data = self_linkage(prepared)
    timings["preparation"] = time.perf_counter() - t0

    labels = None
    if true_clusters is not None:
        labels = entity_labels(ids, true_clusters)
    elif true_links is not None:
        labels = entities_from_links(ids, true_links)
    truth_pairs = None
    if labels is not None and _pair_count(labels) <= TRUE_PAIR_LIMIT:
        first, second = within_entity_pairs(labels)
        truth_pairs = pd.DataFrame({"left_id": ids[first], "right_id": ids[second]})

    result = link_prepared(
        data,
        blocking=blocking,
        comparisons=comparisons,
        matcher=matcher,
        decision=None,  # the pairs are clustered instead
        threshold=threshold,
        true_links=truth_pairs,
        max_pairs=max_pairs,
        fit_true_links=fit_true_links,
    )
    result.quality = table.quality
    timings |= result.timings
    t0 = time.perf_counter()
    clusters = cluster(
        len(ids),
        result.comparison.left,
        result.comparison.right,
        result.scores,
        result.threshold,
        cluster_method,
    )
    timings["clustering"] = time.perf_counter() - t0
    metrics = cluster_metrics(clusters, labels) if labels is not None else None
    return DedupeResult(result, clusters, cluster_method, metrics, timings)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds, for messages (1, not np.int64(1))."""
    return value.item() if isinstance(value, np.generic) else value


def _pair_count(labels: np.ndarray) -> int:
    sizes = np.bincount(labels).astype(np.int64)
    return int((sizes * (sizes - 1) // 2).sum())
