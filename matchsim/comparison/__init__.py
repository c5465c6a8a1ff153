"""Comparisons: per-field agreement levels of candidate pairs (Splink-style ordered levels).

Public surface: the registry :data:`COMPARISONS`, the comparison classes, :func:`compare`,
:func:`compare_pairs`,
:func:`default_comparisons`, :func:`make_comparison`, :func:`warm_kernels` and
:data:`SIMILARITIES`.
"""

from __future__ import annotations

from matchsim.comparison.comparisons import (
    COMPARISONS,
    SIMILARITIES,
    AddressComparison,
    Comparison,
    ComparisonResult,
    DateOfBirthComparison,
    LocationComparison,
    NameComparison,
    PostcodeComparison,
    SexComparison,
    compare,
    default_comparisons,
    make_comparison,
    similarity_of_codes,
    warm_kernels,
)
from matchsim.comparison.pairs import compare_pairs

__all__ = [
    "COMPARISONS",
    "SIMILARITIES",
    "AddressComparison",
    "Comparison",
    "ComparisonResult",
    "DateOfBirthComparison",
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
