"""Comparisons: per-field agreement levels of candidate pairs (Splink-style ordered levels).

Public surface: the registry :data:`COMPARISONS`, the comparison classes, :func:`compare`,
:func:`compare_pairs`,
:func:`default_comparisons`, :func:`make_comparison`, :func:`warm_kernels` and
:data:`SIMILARITIES`.

Layout: :mod:`.base` (the :class:`Comparison` base, its result, the registry and the kernel
choice), one module per family (:mod:`.names`, :mod:`.dates`, :mod:`.postal`, :mod:`.sex`,
:mod:`.exact`)
over :mod:`.similarity` and :mod:`.codes`, the compiled :mod:`.kernels`, and :mod:`.engine`,
which runs them over candidate pairs.
"""

from __future__ import annotations

from matchsim.comparison.base import (
    COMPARISONS,
    Comparison,
    ComparisonResult,
    make_comparison,
)
from matchsim.comparison.dates import DateOfBirthComparison
from matchsim.comparison.engine import compare, default_comparisons, warm_kernels
from matchsim.comparison.exact import ExactComparison
from matchsim.comparison.names import NameComparison
from matchsim.comparison.pairs import compare_pairs
from matchsim.comparison.postal import AddressComparison, LocationComparison, PostcodeComparison
from matchsim.comparison.sex import SexComparison
from matchsim.comparison.similarity import SIMILARITIES, similarity_of_codes

__all__ = [
    "COMPARISONS",
    "SIMILARITIES",
    "AddressComparison",
    "Comparison",
    "ComparisonResult",
    "DateOfBirthComparison",
    "ExactComparison",
    "LocationComparison",
    "NameComparison",
    "PostcodeComparison",
    "SexComparison",
    "compare",
    "compare_pairs",
    "default_comparisons",
    "make_comparison",
    "similarity_of_codes",
    "warm_kernels",
]
