"""The whole pipeline on any two tables, and on matchsim's own registers and requests.

``link_tables`` works on anyone's data: two tables plus a mapping from their columns to roles
are enough to block, compare, fit, score, decide and (given true links) evaluate.
``lookup`` runs a request set against a register and scores every request against its ground
truth.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.blocking import (
    Blocker,
    BlockingReport,
    CrossKeys,
    default_blocking,
    make_blocker,
    run_blocking,
)
from matchsim.comparison import (
    Comparison,
    ComparisonResult,
    compare,
    default_comparisons,
    warm_kernels,
)
from matchsim.decision import decide
from matchsim.errors import ConfigError
from matchsim.evaluation import Evaluation, evaluate, pair_metrics
from matchsim.ingest import CleanTable, DataQuality, clean_table
from matchsim.matchers import CascadeMatcher, Matcher, make_matcher, right_term_counts
from matchsim.matchers.places import PLACE_KEYS, place_runs
from matchsim.namesakes import count_all_namesakes
from matchsim.records import (
    MATCHSIM_ROLES,
    LinkageData,
    PreparedTable,
    Records,
    link,
    prepare_table,
)
from matchsim.requests import RequestSet
from matchsim.synth import Census
from matchsim.synth import calendar as cal


class RegisterPartitions(Protocol):
    """Finds and scores candidate pairs partition by partition of the right-hand table."""

    def candidates(
        self,
        data: LinkageData,
        blocker: Blocker,
        comparisons: Sequence[Comparison | str | dict],
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
        raise ConfigError("truth", "needs two columns: left id and right id")
    left_ids = pd.Index(data.left.ids)
    li = left_ids.get_indexer(true_links.iloc[:, 0].to_numpy())
    if _ids_ascending(data.right):
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
    if "id_index" not in data.right.cache:  # 9M ids: index them once per register
        data.right.cache["id_index"] = pd.Index(data.right.ids)
    right_ids = data.right.cache["id_index"]
    if not right_ids.is_unique:
        # Several rows per right id (historical addresses): every row of the id is true.
        pos = pd.Series(np.arange(len(right_ids)), index=right_ids)
        frame = pd.DataFrame({"l": li, "rid": true_links.iloc[:, 1].to_numpy()})
        frame = frame[frame["l"] >= 0].merge(pos.rename("r"), left_on="rid", right_index=True)
        return frame["l"].to_numpy(), frame["r"].to_numpy()
    ri = right_ids.get_indexer(true_links.iloc[:, 1].to_numpy())
    ok = (li >= 0) & (ri >= 0)
    return li[ok], ri[ok]


def _ids_ascending(records: Records) -> bool:
    """Whether the records' ids strictly ascend (checked once per register, then kept)."""
    cached = records.cache.get("ids_ascending")
    if cached is None:
        ids = records.ids
        cached = np.array(
            ids.dtype.kind in "iu" and (len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()))
        )
        records.cache["ids_ascending"] = cached
    return bool(cached)


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
    blocking: object = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    matcher: object = "fellegi_sunter",
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
    **options: object,
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
    **options
        ``blocking`` (default: multi-pass), ``comparisons``, ``matcher`` (default: unsupervised
        Fellegi-Sunter), ``decision`` (``unique``, ``best``, ``all``), ``threshold``,
        ``true_links`` (a two-column frame of true left/right ids, for precision, recall and F1).

    Examples
    --------
    >>> import pandas as pd
    >>> left = pd.DataFrame({"id": [1], "fn": ["Jon"], "sn": ["Smith"], "dob": ["2010-05-01"]})
    >>> right = pd.DataFrame({"id": [7, 8], "fn": ["John", "Ann"], "sn": ["Smith", "Lee"],
    ...                       "dob": ["2010-05-01", "2011-01-02"]})
    >>> roles = {"id": "id", "fn": "forename", "sn": "surname", "dob": "date_of_birth"}
    >>> result = link_tables(left, right, roles, blocking="exact:dob", matcher="weighted")
    >>> result.decisions["returned"].tolist()
    [[7]]
    """
    unknown = sorted(set(options) - LINK_OPTIONS)
    if unknown:
        raise ConfigError(
            unknown[0], f"unknown option; options are {', '.join(sorted(LINK_OPTIONS))}"
        )
    cleaned = []
    for table, side, mapping in ((left, "left", roles), (right, "right", right_roles or roles)):
        if not isinstance(table, CleanTable):
            if mapping is None:
                raise ConfigError("roles", "map columns to roles, e.g. {'surname': 'surname'}")
            table = clean_table(table, mapping, side, date_format=date_format)
        cleaned.append(table)
    data = link(*(prepare_table(c.table, c.roles, c.side) for c in cleaned))
    result = link_prepared(data, **options)  # type: ignore[arg-type]
    result.quality = cleaned[0].quality.merged(cleaned[1].quality)
    return result


#: The columns of :attr:`LinkResult.decisions` (see :func:`matchsim.decision.decide`).
DECISION_COLUMNS = ("left_id", "returned", "ambiguous", "candidates", "best_score")

LINK_OPTIONS = frozenset(
    {
        "blocking",
        "comparisons",
        "matcher",
        "decision",
        "threshold",
        "true_links",
        "max_pairs",
        "fit_true_links",
    }
)


# --------------------------------------------------------------------------------------------
# matchsim registers and requests
# --------------------------------------------------------------------------------------------

REGISTER_ADDRESSES = ("current", "history")


def register_table(census: Census, addresses: str = "current") -> pa.Table:
    """The register as a lookup sees it.

    ``current``: one row per pupil with the address the register holds. ``history``: one row per
    pupil and address the family lived at up to the pupil's last census, so a lookup can match
    any historical address (ids repeat; decisions count each pupil once).
    """
    if addresses not in REGISTER_ADDRESSES:
        raise ConfigError(
            "addresses", f"{addresses!r} is not one of {', '.join(REGISTER_ADDRESSES)}"
        )
    pupils = census.pupils
    if addresses == "current" or "address_line" not in census.addresses.column_names:
        return pupils
    hist = census.addresses
    census_day = cal.date_to_days(census.config.census_date)
    leaving = (
        pupils["leaving_date"].cast(pa.int32()).fill_null(census_day).to_numpy().astype(np.int64)
    )
    as_of = np.minimum(leaving, census_day)
    hh_p = pupils["household_id"].to_numpy()
    hh_h = hist["household_id"].to_numpy()
    first = np.searchsorted(hh_h, hh_p, side="left")
    count = np.searchsorted(hh_h, hh_p, side="right") - first
    p_rows = np.repeat(np.arange(len(hh_p)), count)
    h_rows = np.repeat(first, count) + (
        np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    )
    moved_in = hist["moved_in"].cast(pa.int32()).to_numpy().astype(np.int64)[h_rows]
    keep = moved_in <= as_of[p_rows]
    p_rows, h_rows = p_rows[keep], h_rows[keep]
    base = pupils.drop_columns(["address_line", "town", "postcode", "address_id"]).take(
        pa.array(p_rows)
    )
    for name in ("address_line", "town", "postcode"):
        base = base.append_column(name, hist[name].take(pa.array(h_rows)))
    return base


@dataclass
class LookupResult:
    """A request set looked up in a register, with every request scored against ground truth."""

    link: LinkResult
    evaluation: Evaluation
    outcomes: pd.DataFrame


def prepare_register(
    census: Census, addresses: str = "current", *, warm: bool = True
) -> PreparedTable:
    """Normalise and encode a register once, to look many request sets up in it.

    ``warm`` also builds, up front, what every lookup against it reuses: the blocking keys of
    the default passes and of Fellegi-Sunter's training sessions, birth-date parts, the id
    index and hash indexes of its vocabularies, and it loads the compiled comparison kernels.
    The first batch is then as fast as the rest.
    """
    prepared = prepare_table(
        register_table(census, addresses), {**MATCHSIM_ROLES, "pupil_id": "id"}, "register"
    )
    if warm:
        warm_register(prepared)
    return prepared


def warm_register(register: PreparedTable) -> None:
    """Fill a prepared register's shared caches (see :func:`prepare_register`)."""
    from matchsim.blocking import EXTRA_PASSES
    from matchsim.blocking import combine_keys as _combine
    from matchsim.blocking.kernels import rows_with_wanted_keys

    # The register as the right side of a linkage, on its own vocabularies (which every
    # linkage's shared vocabulary extends), with the cache its linkages share.
    has_dob, has_sex = "date_of_birth" in register.roles, "sex" in register.roles
    right = Records(
        ids=register.ids,
        codes=register.codes,
        dob=register.dob,
        sex=register.sex,
        extra=register.extra,
        cache=register.right_cache.setdefault((has_dob, has_sex), {}),
    )
    data = LinkageData(right, right, dict(register.vocabularies))
    # Reports count the register's namesakes and Fellegi-Sunter's place strata group it by
    # place: both over every record, both the same for every batch. First, while few keys are
    # held yet: their temporary arrays then add least to the peak memory.
    count_all_namesakes(right)
    for parts in PLACE_KEYS:
        place_runs(data, parts)
    blocker = default_blocking(data.roles)
    for member in blocker.blockers:
        if isinstance(member, CrossKeys):
            member.warm(data)
    exact = [b.keys for b in blocker.blockers if not isinstance(b, CrossKeys)]
    # The broader passes are costed on every lookup (default_blocking with data), and the
    # costing reads their register keys.
    for keys in [*exact, *EXTRA_PASSES, ("dob",), ("forename", "surname")]:
        if all(k.split(":")[0] in (*data.vocabularies, "dob", "birth_year") for k in keys):
            combined = ("combined", tuple(keys))
            if combined not in right.cache:
                right.cache[combined] = _combine([right.key(k, data.vocabularies) for k in keys])
    _ = right.dob_parts
    # How a batch's true links and values are found in the register: ascending ids are
    # searched (else a pandas index, whose duplicate check costs seconds at national size),
    # values through each vocabulary's hash index. Both are kept with a cached register.
    if not _ids_ascending(right):
        right.cache["id_index"] = pd.Index(right.ids)
        _ = right.cache["id_index"].is_unique
    for vocabulary in register.vocabularies.values():
        vocabulary.hash_index()
    # Term frequencies, which Fellegi-Sunter's fit reads for every batch.
    for role in right.codes:
        right_term_counts(right, role)
    # Load (or, on a first run, compile) the comparison and blocking kernels now: about half
    # a second a process, which would otherwise fall on the first batch.
    warm_kernels()
    rows_with_wanted_keys(np.zeros(1, np.int64), np.ones(1, np.bool_), np.zeros(1, np.int64))


def request_linkage(
    requests: pa.Table, register: PreparedTable
) -> tuple[LinkageData, pd.DataFrame]:
    """A request table linked to a prepared register, and its true links (request id, pupil id)."""
    # A field no request supplies (e.g. hospital records hold no middle names) is left out.
    roles = {
        column: role
        for column, role in {**MATCHSIM_ROLES, "request_id": "id"}.items()
        if column in requests.column_names and requests[column].null_count < requests.num_rows
    }
    data = link(prepare_table(requests, roles, "requests"), register)
    truth_mask = pc.is_valid(requests["true_pupil_id"]).to_numpy(zero_copy_only=False)
    true_links = pd.DataFrame(
        {
            "left_id": requests["request_id"].to_numpy()[truth_mask],
            "right_id": requests["true_pupil_id"]
            .to_numpy(zero_copy_only=False)[truth_mask]
            .astype(np.int64),
        }
    )
    return data, true_links


def lookup(
    census: Census,
    requests: RequestSet,
    *,
    addresses: str = "current",
    register: PreparedTable | None = None,
    partitions: RegisterPartitions | None = None,
    **options: object,
) -> LookupResult:
    """Look every request up in the register and score the outcomes.

    ``options`` are those of :func:`link_prepared` (``blocking``, ``comparisons``, ``matcher``,
    ``decision``, ``threshold``). Pass ``register`` (from :func:`prepare_register`) to reuse an
    encoded register across request sets, and ``partitions`` (a
    :class:`matchsim.distributed.PartitionedRegister` of it) to look up on a cluster.
    """
    register = register if register is not None else prepare_register(census, addresses)
    req = requests.table
    data, true_links = request_linkage(req, register)
    result = link_prepared(
        data,
        true_links=true_links,
        partitions=partitions,
        **options,  # type: ignore[arg-type]
    )
    decisions = result.decisions.rename(columns={"left_id": "request_id"})
    truth_columns = ["request_id", "true_pupil_id", "true_name_origin", "sex", "true_is_twin"] + [
        c for c in req.column_names if c.startswith("errors_")
    ]
    truth = req.select([c for c in truth_columns if c in req.column_names]).to_pandas()
    truth["true_pupil_id"] = truth["true_pupil_id"].astype("Int64")
    evaluation = evaluate(decisions[["request_id", "returned", "ambiguous"]], truth)
    outcomes = req.to_pandas().merge(
        decisions[["request_id", "returned", "ambiguous", "candidates", "best_score"]],
        on="request_id",
    )
    outcomes = outcomes.merge(evaluation.per_request[["request_id", "outcome"]], on="request_id")
    return LookupResult(result, evaluation, outcomes)
