"""matchsim's own registers and requests: a request set looked up in a register, every request
scored against its ground truth.

The engine does not import the simulator: what a lookup reads of a register and a request set
is described by the protocols :class:`Register` and :class:`Requests`, which
:class:`matchsim.synth.Census` and :class:`matchsim.requests.RequestSet` satisfy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matchsim import dates as cal
from matchsim.blocking import (
    BlockingSpec,
    default_blocking,
)
from matchsim.comparison import (
    Comparison,
    warm_kernels,
)
from matchsim.errors import ConfigError
from matchsim.evaluation import Evaluation, evaluate
from matchsim.linkage.pipeline import (
    LinkResult,
    RegisterPartitions,
    link_prepared,
)
from matchsim.matchers import MatcherSpec, right_term_counts
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


class RegisterConfig(Protocol):
    """What a lookup reads of a register's settings."""

    @property
    def census_date(self) -> dt.date: ...


class Register(Protocol):
    """What a lookup reads of a register (e.g. :class:`matchsim.synth.Census`): its pupils,
    one row each, the families' address history and the census day."""

    @property
    def pupils(self) -> pa.Table: ...

    @property
    def addresses(self) -> pa.Table: ...

    @property
    def config(self) -> RegisterConfig: ...


class Requests(Protocol):
    """What a lookup reads of a request set (e.g. :class:`matchsim.requests.RequestSet`): one
    row per request with its fields and ground truth (``request_id``, ``true_pupil_id``, ...)."""

    @property
    def table(self) -> pa.Table: ...


REGISTER_ADDRESSES = ("current", "history")


def register_table(census: Register, addresses: str = "current") -> pa.Table:
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
    census: Register, addresses: str = "current", *, warm: bool = True
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
    from matchsim.blocking import EXTRA_PASSES, ExactKeys
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
        states=register.right_states.setdefault((has_dob, has_sex), {}),
    )
    data = LinkageData(right, right, dict(register.vocabularies))
    # Reports count the register's namesakes and Fellegi-Sunter's place strata group it by
    # place: both over every record, both the same for every batch. First, while few keys are
    # held yet: their temporary arrays then add least to the peak memory.
    count_all_namesakes(right)
    for parts in PLACE_KEYS:
        place_runs(data, parts)
    default_blocking(data.roles).warm(data)
    # The broader passes are costed on every lookup (default_blocking with data), and the
    # costing reads their register keys.
    for keys in [*EXTRA_PASSES, ("dob",), ("forename", "surname")]:
        if all(k.split(":")[0] in (*data.vocabularies, "dob", "birth_year") for k in keys):
            ExactKeys(list(keys)).warm(data)
    _ = right.dob_parts
    # How a batch's true links and values are found in the register: ascending ids are
    # searched (else a pandas index, whose duplicate check costs seconds at national size),
    # values through each vocabulary's hash index. Both are kept with a cached register.
    if not right.ids_ascending():
        _ = right.id_index().is_unique
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
    census: Register,
    requests: Requests,
    *,
    addresses: str = "current",
    register: PreparedTable | None = None,
    partitions: RegisterPartitions | None = None,
    blocking: BlockingSpec | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    matcher: MatcherSpec = "fellegi_sunter",
    decision: str | None = "unique",
    threshold: float | None = None,
    max_pairs: int = 5_000_000,
    fit_true_links: bool = False,
) -> LookupResult:
    """Look every request up in the register and score the outcomes.

    ``blocking``, ``comparisons``, ``matcher``, ``decision``, ``threshold``, ``max_pairs`` and
    ``fit_true_links`` are those of :func:`~matchsim.linkage.pipeline.link_prepared`. Pass
    ``register`` (from :func:`prepare_register`) to reuse an encoded register across request
    sets, and ``partitions`` (a :class:`matchsim.distributed.PartitionedRegister` of it) to look
    up on a cluster.
    """
    if register is None:
        # Prepared for this one call: warming builds what later batches would reuse (every
        # namesake count, every place's runs, the broad passes' keys), which one batch does
        # not need; what it needs is built as it goes. The answers are the same.
        register = prepare_register(census, addresses, warm=False)
    req = requests.table
    data, true_links = request_linkage(req, register)
    result = link_prepared(
        data,
        true_links=true_links,
        partitions=partitions,
        blocking=blocking,
        comparisons=comparisons,
        matcher=matcher,
        decision=decision,
        threshold=threshold,
        max_pairs=max_pairs,
        fit_true_links=fit_true_links,
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
