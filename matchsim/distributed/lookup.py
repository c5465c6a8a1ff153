"""Lookups against a register split into row partitions (on a Dask cluster, one or more per
worker), with exactly the local outcomes.

What is global is done once, here: the register is normalised and encoded on one set of
vocabularies. Vocabularies go to every worker once; each partition keeps its own blocking keys
between lookups.

Per lookup, the requests (encoded on the register's vocabularies), the blocker and comparisons
are broadcast. Each partition blocks and compares its rows (and scores them, for a matcher that
needs no fitting); the candidates come back with register-wide row numbers, sorted into the
order a local run yields. Fellegi-Sunter is then fitted and scores here, on the gathered
candidates and the whole register, as a local lookup does: its lambda is estimated on the
candidate pairs and each request's candidates are scored together. The decision runs over all
of them.

Only blockers that pair a request with register rows by the rows' own keys partition exactly
(exact, phonetic, minhash, full comparison, and unions of them). Sorted neighbourhood pairs
records by their neighbours in one sorted list of the whole register, so it is refused.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from matchsim.blocking import (
    Blocker,
    BlockingReport,
    ExactKeys,
    FullComparison,
    MinHashLSH,
    Union,
    blocking_report,
    run_blocking,
)
from matchsim.comparison import Comparison, ComparisonResult, compare
from matchsim.distributed.executors import Executor
from matchsim.errors import ConfigError
from matchsim.linkage import refuse_unpartitionable, warm_register
from matchsim.matchers import Matcher
from matchsim.records import (
    MISSING,
    MISSING_DATE,
    LinkageData,
    PreparedTable,
    Records,
    Vocabulary,
)

#: Blockers whose candidates for a register row depend on that row alone.
PARTITIONABLE = (ExactKeys, MinHashLSH, FullComparison)


def check_partitionable(blocker: Blocker, data: LinkageData | None = None) -> None:
    """Refuse blockers whose candidates would change if the register were split."""
    if isinstance(blocker, Union):
        for part in blocker.blockers:
            check_partitionable(part, data)
        return
    if not isinstance(blocker, PARTITIONABLE):
        raise ConfigError(
            "lookup.blocking",
            f"{blocker.describe()} cannot run on register partitions: its candidates depend on "
            "records beyond each register row (e.g. neighbours in one sorted list); use exact, "
            "phonetic or minhash blocking, or executor: local",
        )
    if isinstance(blocker, FullComparison) and data is not None:
        blocker.check(data)  # the limit applies to the whole register, not to one partition


def fits_on_register(model: Matcher, refit: bool) -> bool:
    """Whether the model can be fitted before any candidate is found (so partitions can score).

    Rule-based matchers need no fit. Fellegi-Sunter does not qualify: it re-estimates lambda
    on the candidate pairs and scores each request's candidates together (one match per
    request), so it is fitted and scores once all partitions' candidates are gathered.
    """
    return not refit or type(model).fit is Matcher.fit


def _slice(register: PreparedTable, lo: int, hi: int) -> PreparedTable:
    """Rows lo..hi of a prepared register, without its vocabularies (they travel once)."""
    return PreparedTable(
        roles=register.roles,
        vocabularies={},
        codes={role: codes[lo:hi] for role, codes in register.codes.items()},
        ids=register.ids[lo:hi],
        dob=register.dob[lo:hi],
        sex=register.sex[lo:hi],
        extra={k: v[lo:hi] for k, v in register.extra.items()},
    )


def _attach(part: PreparedTable, vocabularies: dict[str, Vocabulary]) -> PreparedTable:
    if not part.vocabularies:
        part.vocabularies = vocabularies
    return part


def _warm_partition(part: PreparedTable, vocabularies: dict[str, Vocabulary]) -> int:
    warm_register(_attach(part, vocabularies))
    return len(part)


def _partition_candidates(
    part: PreparedTable,
    vocabularies: dict[str, Vocabulary],
    offset: int,
    batch: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, float, float, float]:
    """Block, compare (and score) the broadcast requests against one register partition."""
    part = _attach(part, vocabularies)
    shared = {}
    for role, extra in batch["extra_values"].items():
        base = vocabularies[role]
        # The same vocabulary link() builds: the register's values, then the requests' others.
        shared[role] = Vocabulary(role, pa.concat_arrays([base.values, extra]), base=base)
    has_dob, has_sex = batch["has"]
    n = len(part)
    right = Records(
        ids=part.ids,
        codes={role: part.codes[role] for role in shared},
        dob=part.dob if has_dob else np.full(n, MISSING_DATE),
        sex=part.sex if has_sex else np.full(n, MISSING, dtype=np.int8),
        extra=part.extra,
        states=part.right_states.setdefault((has_dob, has_sex), {}),
    )
    data = LinkageData(replace(batch["left"], states={}), right, shared)
    t0 = time.perf_counter()
    (left, right_rows), _ = run_blocking(batch["blocker"], data, None, max_pairs=batch["max_pairs"])
    t1 = time.perf_counter()
    result = compare(data, left, right_rows, batch["comparisons"])
    t2 = time.perf_counter()
    model = batch["model"]
    scores = model.score(result, data) if model is not None and len(left) else None
    t3 = time.perf_counter()
    return left, right_rows + offset, result.levels, scores, t1 - t0, t2 - t1, t3 - t2


class PartitionedRegister:
    """A prepared register split into ``partitions`` row ranges on ``executor``'s workers.

    Pass it as ``partitions=`` to :func:`matchsim.linkage.lookup` (with ``register=`` the same
    prepared register) to look up request sets partition by partition.
    """

    def __init__(
        self, register: PreparedTable, executor: Executor, partitions: int | None = None
    ) -> None:
        if executor.kind == "processes":
            # A process pool keeps nothing between tasks: every lookup would ship the register.
            raise ConfigError(
                "executor", "register partitions live on Dask workers; use dask (or local)"
            )
        k = partitions if partitions is not None else executor.workers
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ConfigError("partitions", f"{k!r} must be a whole number >= 1")
        k = max(1, min(k, len(register)))
        edges = np.linspace(0, len(register), k + 1).round().astype(np.int64)
        self.register = register
        self.executor = executor
        self.offsets = [int(e) for e in edges[:-1]]
        self.sizes = [int(b - a) for a, b in itertools.pairwise(edges)]
        self._vocabularies = executor.scatter(register.vocabularies, broadcast=True)
        slices = [_slice(register, int(a), int(b)) for a, b in itertools.pairwise(edges)]
        if executor.client is not None:
            # One scatter call spreads the partitions over the workers.
            self._parts = executor.client.scatter(slices, hash=False)
        else:
            self._parts = slices
        warmed = [executor.submit(_warm_partition, p, self._vocabularies) for p in self._parts]
        for future in warmed:
            future.result()

    def __len__(self) -> int:
        return len(self.sizes)

    def _batch(
        self,
        data: LinkageData,
        blocker: Blocker,
        comparisons: Sequence[Comparison | str | dict],
        model: Matcher | None,
        max_pairs: int,
    ) -> dict[str, Any]:
        has = next(
            (
                key
                for key, cache in self.register.right_states.items()
                if cache is data.right.states
            ),
            None,
        )
        if has is None:
            raise ConfigError(
                "partitions", "look up against the register this PartitionedRegister was made of"
            )
        left = data.left
        return {
            "left": Records(left.ids, left.codes, left.dob, left.sex, left.extra),
            "extra_values": {
                role: vocab.values[len(self.register.vocabularies[role]) :]
                for role, vocab in data.vocabularies.items()
            },
            "has": has,
            "blocker": blocker,
            "comparisons": list(comparisons),
            "model": model,
            "max_pairs": max_pairs,
        }

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
        """See :class:`matchsim.linkage.RegisterPartitions`."""
        refuse_unpartitionable(model)
        check_partitionable(blocker, data)
        timings: dict[str, float] = {}
        empty = np.zeros(0, dtype=np.int64)
        chosen = compare(data, empty, empty, comparisons).comparisons
        scorer: Matcher | None = None
        if fits_on_register(model, refit):
            t0 = time.perf_counter()
            if refit:
                # Fitted once on the whole register, as a local lookup fits it.
                model.fit(compare(data, empty, empty, chosen), data, fit_rows)
            scorer = model
            timings["matching_fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        batch = self.executor.scatter(
            self._batch(data, blocker, chosen, scorer, max_pairs), broadcast=True
        )
        futures = [
            self.executor.submit(_partition_candidates, part, self._vocabularies, offset, batch)
            for part, offset in zip(self._parts, self.offsets, strict=True)
        ]
        pieces = [f.result() for f in futures]
        wall = time.perf_counter() - t0
        left = np.concatenate([p[0] for p in pieces]).astype(np.int64)
        right = np.concatenate([p[1] for p in pieces]).astype(np.int64)
        levels = np.concatenate([p[2] for p in pieces]) if pieces else np.zeros((0, len(chosen)))
        # A local run yields pairs ordered by request, then register row.
        order = np.lexsort((right, left))
        left, right, levels = left[order], right[order], levels[order]
        scores = None
        if scorer is not None:
            parts = [p[3] if p[3] is not None else np.zeros(0) for p in pieces]
            scores = np.concatenate(parts)[order] if parts else np.zeros(0)
        result = ComparisonResult(left=left, right=right, levels=levels, comparisons=chosen)
        timings["partitions_wall"] = wall
        timings["blocking"] = sum(p[4] for p in pieces)
        timings["comparison"] = sum(p[5] for p in pieces)
        timings["matching"] = sum(p[6] for p in pieces)
        report = blocking_report(blocker, data, left, right, true_rows, timings["blocking"])
        return result, report, scores, timings
