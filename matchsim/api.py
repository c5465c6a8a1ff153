"""The facade's stages: matchsim's jobs one function each (``import matchsim as ms``).

* :func:`link` and :func:`dedupe` run the linkage pipeline on anyone's tables;
* :func:`generate_census`, :func:`generate_requests` and :func:`lookup` are a scenario's
  stages one at a time (the scenario runner calls them too).

:func:`matchsim.simulation.simulate`, which runs a whole scenario, sits above the scenario
runner and the report (:mod:`matchsim.simulation`); ``ms.simulate`` reaches it.

Every error these raise on purpose is a :class:`matchsim.errors.MatchsimError`; a bad
argument raises :class:`matchsim.errors.ConfigError` naming the parameter (``seed: ...``,
``config.pupils: ...``). The heavy modules are imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from matchsim.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pydantic import BaseModel

    from matchsim.blocking import BlockingSpec
    from matchsim.comparison import Comparison
    from matchsim.ingest import CleanTable
    from matchsim.linkage import DedupeResult, LinkResult, LookupResult, RegisterPartitions
    from matchsim.matchers import MatcherSpec
    from matchsim.records import PreparedTable
    from matchsim.requests import RequestConfig, RequestSet
    from matchsim.requests.index import RegisterIndex
    from matchsim.synth import Census, CensusConfig

__all__ = [
    "check_seed",
    "dedupe",
    "generate_census",
    "generate_requests",
    "link",
    "lookup",
]

#: Seeds are whole numbers that numpy's SeedSequence takes and that stay exact as 64-bit
#: integers in JSON and Parquet, with room for the derived seeds (seed + 1, ...).
MAX_SEED = 2**63 - 1


def check_seed(seed: object, parameter: str = "seed") -> None:
    """Refuse a seed numpy and 64-bit JSON cannot both hold exactly, naming ``parameter``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(
            parameter, f"{seed!r} is not allowed; a seed is a whole number 0 to 2**63-1"
        )


_Config = TypeVar("_Config", bound="BaseModel")


def _validated(model: type[_Config], settings: Mapping[str, Any], parameter: str) -> _Config:
    """``settings`` as ``model``; a bad setting is named by its path under ``parameter``."""
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{parameter}.{path}" if path else parameter, message) from None


def link(
    left: pd.DataFrame | pa.Table | CleanTable,
    right: pd.DataFrame | pa.Table | CleanTable,
    roles: Mapping[str, str] | None = None,
    *,
    right_roles: Mapping[str, str] | None = None,
    blocking: BlockingSpec | None = None,
    matcher: MatcherSpec = "fellegi_sunter",
    decision: str | None = "unique",
    threshold: float | None = None,
    true_links: pd.DataFrame | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    date_format: str | None = None,
    max_pairs: int = 5_000_000,
    fit_true_links: bool = False,
) -> LinkResult:
    """Link two tables: block, compare, fit, score, decide and (given ``true_links``) evaluate.

    ``roles`` maps column names to roles (``id``, ``forename``, ``middle_names``, ``surname``,
    ``date_of_birth``, ``sex``, ``postcode``, ``address``); ``right_roles`` defaults to it.
    The rest are those of :func:`matchsim.linkage.link_tables`.

    Examples
    --------
    >>> import pandas as pd
    >>> import matchsim as ms
    >>> left = pd.DataFrame({"id": [1], "fn": ["Jon"], "sn": ["Smith"], "dob": ["2010-05-01"]})
    >>> right = pd.DataFrame({"id": [7, 8], "fn": ["John", "Ann"], "sn": ["Smith", "Lee"],
    ...                       "dob": ["2010-05-01", "2011-01-02"]})
    >>> roles = {"id": "id", "fn": "forename", "sn": "surname", "dob": "date_of_birth"}
    >>> result = ms.link(left, right, roles, blocking="exact:dob", matcher="weighted")
    >>> [[int(i) for i in ids] for ids in result.decisions["returned"]]
    [[7]]
    """
    from matchsim.linkage import link_tables

    return link_tables(
        left,
        right,
        roles,
        right_roles,
        date_format=date_format,
        blocking=blocking,
        comparisons=comparisons,
        matcher=matcher,
        decision=decision,
        threshold=threshold,
        true_links=true_links,
        max_pairs=max_pairs,
        fit_true_links=fit_true_links,
    )


def dedupe(
    table: pd.DataFrame | pa.Table | CleanTable,
    roles: Mapping[str, str] | None = None,
    *,
    blocking: BlockingSpec | None = None,
    matcher: MatcherSpec = "fellegi_sunter",
    threshold: float | None = None,
    cluster_method: str = "components",
    true_clusters: object = None,
    true_links: pd.DataFrame | Iterable[Sequence[object]] | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    date_format: str | None = None,
    max_pairs: int = 5_000_000,
    fit_true_links: bool = False,
) -> DedupeResult:
    """Find the duplicate records within one table and cluster them into entities.

    ``cluster_method`` is ``components`` (chains of matches are one entity) or
    ``one_to_one``; given ``true_clusters`` or ``true_links`` the clusters are scored. The
    rest are those of :func:`link` (see :func:`matchsim.linkage.dedupe_table`).

    Examples
    --------
    >>> import pandas as pd
    >>> import matchsim as ms
    >>> people = pd.DataFrame({"fn": ["Jon", "John", "Ann"], "sn": ["Smith", "Smith", "Lee"],
    ...                        "dob": ["2010-05-01", "2010-05-01", "2011-01-02"]})
    >>> roles = {"fn": "forename", "sn": "surname", "dob": "date_of_birth"}
    >>> ms.dedupe(people, roles, blocking="exact:dob", matcher="weighted").clusters.tolist()
    [0, 0, 1]
    """
    from matchsim.linkage import dedupe_table

    return dedupe_table(
        table,
        roles,
        blocking=blocking,
        comparisons=comparisons,
        matcher=matcher,
        threshold=threshold,
        cluster_method=cluster_method,
        true_clusters=true_clusters,
        true_links=true_links,
        max_pairs=max_pairs,
        fit_true_links=fit_true_links,
        date_format=date_format,
    )


def generate_census(
    config: CensusConfig | Mapping[str, Any] | None = None,
    seed: int = 0,
    *,
    pupils: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Census:
    """Generate a synthetic pupil register.

    ``config`` is a :class:`matchsim.synth.CensusConfig` or its settings as a mapping (see
    docs/census-config.md; default: the January 2024 census of England, 9,092,073 pupils);
    ``pupils`` sets its size. The same config and seed give the same register, whatever
    ``workers``.

    Examples
    --------
    >>> import matchsim as ms
    >>> census = ms.generate_census(pupils=2000, seed=7)
    >>> census.pupils.num_rows
    2000
    """
    from matchsim.synth import CensusConfig
    from matchsim.synth import generate_census as generate

    check_seed(seed)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers", f"{workers!r} is not allowed; must be at least 1")
    if config is None:
        config = (
            CensusConfig()
            if pupils is None
            else _validated(CensusConfig, {"pupils": pupils}, "config")
        )
    elif isinstance(config, Mapping):
        settings = dict(config) if pupils is None else {**config, "pupils": pupils}
        config = _validated(CensusConfig, settings, "config")
    elif pupils is not None:
        config = _validated(CensusConfig, {**config.model_dump(), "pupils": pupils}, "config")
    return generate(config, seed, workers=workers, progress=progress)


def generate_requests(
    census: Census,
    config: RequestConfig | Mapping[str, Any] | None = None,
    seed: int = 0,
    *,
    index: RegisterIndex | None = None,
) -> RequestSet:
    """Draw requests with ground truth from a register, for lookups to be scored against.

    ``config`` is a :class:`matchsim.requests.RequestConfig` or its settings as a mapping
    (``profile``, ``count``, ``in_register_share``, ``errors``, ...; default: a Home Office
    batch of 1,500).

    Examples
    --------
    >>> import matchsim as ms
    >>> census = ms.generate_census(pupils=2000, seed=7)
    >>> requests = ms.generate_requests(census, {"count": 25}, seed=8)
    >>> requests.table.num_rows
    25
    """
    from matchsim.requests import RequestConfig
    from matchsim.requests import generate_requests as generate

    check_seed(seed)
    if isinstance(config, Mapping):
        config = _validated(RequestConfig, config, "config")
    return generate(census, config, seed, index=index)


def lookup(
    census: Census,
    requests: RequestSet,
    *,
    register: PreparedTable | None = None,
    addresses: str = "current",
    blocking: BlockingSpec | None = None,
    matcher: MatcherSpec = "fellegi_sunter",
    decision: str | None = "unique",
    threshold: float | None = None,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    partitions: RegisterPartitions | None = None,
) -> LookupResult:
    """Look every request up in the register and score each outcome against the truth.

    ``register`` (from :func:`matchsim.linkage.prepare_register`) reuses an encoded register
    across request sets; ``addresses`` is ``current`` or ``history`` (any address the family
    lived at). The rest are those of :func:`link`.

    Examples
    --------
    >>> import matchsim as ms
    >>> census = ms.generate_census(pupils=2000, seed=7)
    >>> requests = ms.generate_requests(census, {"count": 25}, seed=8)
    >>> result = ms.lookup(census, requests, matcher="deterministic")
    >>> sum(result.evaluation.counts.values())
    25
    """
    from matchsim.linkage import lookup as run_lookup

    return run_lookup(
        census,
        requests,
        addresses=addresses,
        register=register,
        partitions=partitions,
        blocking=blocking,
        comparisons=comparisons,
        matcher=matcher,
        decision=decision,
        threshold=threshold,
    )
