"""Linkage: the pipeline on any two tables, and lookups in matchsim's own registers.

* :mod:`~matchsim.linkage.pipeline`: :func:`link_tables` and :func:`link_prepared` block,
  compare, fit, score, decide and (given true links) evaluate on any two tables.
* :mod:`~matchsim.linkage.lookup`: :func:`lookup` runs a request set against a register
  (:func:`prepare_register` encodes it once) and scores every request against its truth.
* :mod:`~matchsim.linkage.dedupe`: :func:`dedupe_table` links one table with itself and
  clusters the matches into entities.
"""

from __future__ import annotations

from matchsim.linkage.dedupe import DedupeResult, dedupe_table
from matchsim.linkage.lookup import (
    REGISTER_ADDRESSES,
    LookupResult,
    Register,
    Requests,
    lookup,
    prepare_register,
    register_table,
    request_linkage,
    warm_register,
)
from matchsim.linkage.pipeline import (
    DECISION_COLUMNS,
    LinkResult,
    RegisterPartitions,
    link_prepared,
    link_tables,
    refuse_unpartitionable,
    true_rows_of,
)

__all__ = [
    "DECISION_COLUMNS",
    "REGISTER_ADDRESSES",
    "DedupeResult",
    "LinkResult",
    "LookupResult",
    "Register",
    "RegisterPartitions",
    "Requests",
    "dedupe_table",
    "link_prepared",
    "link_tables",
    "lookup",
    "prepare_register",
    "refuse_unpartitionable",
    "register_table",
    "request_linkage",
    "true_rows_of",
    "warm_register",
]
