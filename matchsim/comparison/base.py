"""Field comparisons as ordered levels, in the style of Splink: the base, its result and the
registry.

A comparison turns each candidate pair into a level index: level 0 is always ``missing``
(either side null), the last is always ``else``; the levels between run from the strongest
agreement to the weakest. Matchers then give each level its own weight.

Two implementations give the same levels. With numba (a dependency), name, date-of-birth and
postcode comparisons decide each pair in one compiled pass (:mod:`.kernels`); the numpy
implementation is the reference the kernels are tested against, and the fallback wherever
their byte rules do not cover the data. The caller chooses per call (``compare(...,
kernel=...)``): ``auto`` (numba when installed), ``numba`` or ``numpy``.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError, UnknownNameError
from matchsim.records import LinkageData
from matchsim.registry import Registry

#: Which implementation compares: ``auto`` (numba when installed), ``numba`` or ``numpy``.
Kernel = Literal["auto", "numba", "numpy"]
KERNELS: tuple[Kernel, ...] = ("auto", "numba", "numpy")
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def kernel_module(kernel: Kernel = "auto") -> ModuleType | None:
    """The compiled kernels module for ``kernel``, or None for the numpy implementation."""
    if not isinstance(kernel, str) or kernel not in KERNELS:
        raise ConfigError("kernel", f"must be one of {', '.join(KERNELS)}. Got {kernel!r} instead.")
    if kernel == "numpy" or (kernel == "auto" and not _HAVE_NUMBA):
        return None
    if not _HAVE_NUMBA:
        raise ConfigError("kernel", "'numba' needs numba, which is not installed")
    from matchsim.comparison import kernels

    return kernels


class Comparison:
    """Base class. Subclasses set ``levels`` (names, strongest first, without the implicit
    ``missing`` and ``else``) in ``__init__`` and implement :meth:`_levels`, which is given
    the compiled kernels module (None: the numpy implementation).

    Parameters
    ----------
    role
        The role compared (a column mapped to it on both sides).
    name
        The comparison's name in results and in matcher settings (default: the role).
    """

    kind = "comparison"
    #: Rough work per pair, relative to one pass over the pairs: the order in which
    #: :func:`compare` hands comparisons to its threads (longest first).
    relative_cost = 1.0

    def __init__(self, role: str, name: str | None = None) -> None:
        self.role = role
        self.name = name or role
        self.levels: tuple[str, ...] = ()

    @property
    def level_names(self) -> tuple[str, ...]:
        return ("missing", *self.levels, "else")

    @property
    def n_levels(self) -> int:
        return len(self.levels) + 2

    def compute(
        self, data: LinkageData, left: np.ndarray, right: np.ndarray, kernel: Kernel = "auto"
    ) -> np.ndarray:
        """Level index (int8) of each pair: 0 missing, 1.. the agreement levels, last else.

        ``kernel`` chooses the implementation (see :data:`KERNELS`); both give the same levels.
        """
        out = self._levels(data, left, right, kernel_module(kernel))
        return out.astype(np.int8)

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name}: " + " > ".join(self.level_names)


COMPARISONS: Registry[Comparison] = Registry("comparison", "comparison.kind", name_attribute="kind")
comparison = COMPARISONS.register


@dataclass(frozen=True)
class ComparisonResult:
    """Levels of every candidate pair: one int8 column per comparison."""

    left: np.ndarray
    right: np.ndarray
    levels: np.ndarray  # (pairs, comparisons) int8
    comparisons: tuple[Comparison, ...]

    def column(self, name: str) -> np.ndarray:
        names = [c.name for c in self.comparisons]
        if name not in names:
            raise UnknownNameError("comparison", name, names)
        return self.levels[:, names.index(name)]

    def frame(self, data: LinkageData | None = None) -> pd.DataFrame:
        """Pairs with each comparison's level name (and ids, when ``data`` is given)."""
        out = pd.DataFrame({"left": self.left, "right": self.right})
        if data is not None:
            out["left_id"] = data.left.ids[self.left]
            out["right_id"] = data.right.ids[self.right]
        for i, c in enumerate(self.comparisons):
            out[c.name] = pd.Categorical.from_codes(
                self.levels[:, i], categories=list(c.level_names)
            )
        return out


def make_comparison(spec: str | dict | Comparison) -> Comparison:
    """A comparison from an instance, a role name (default settings) or a mapping
    ``{"kind": "name", "role": "forename", ...}``.

    Examples
    --------
    >>> from matchsim.comparison import make_comparison
    >>> make_comparison("postcode").level_names
    ('missing', 'full', 'sector', 'district', 'area', 'else')
    >>> make_comparison({"kind": "name", "role": "forename", "thresholds": [0.9, 0.8]}).describe()
    'forename: missing > exact > jaro_winkler>=0.9 > soundex > jaro_winkler>=0.8 > first3 >
     swapped > initial > else'
    """
    if isinstance(spec, Comparison):
        return spec
    if isinstance(spec, str):
        defaults: dict[str, tuple[str, dict[str, Any]]] = {
            "forename": ("name", {"role": "forename"}),
            "surname": ("name", {"role": "surname"}),
            "middle_names": ("name", {"role": "middle_names", "swapped": False}),
            "date_of_birth": ("date_of_birth", {}),
            "postcode": ("postcode", {}),
            "address": ("address", {}),
            "sex": ("sex", {}),
        }
        if spec not in defaults:
            raise UnknownNameError("comparison", spec, defaults)
        kind, params = defaults[spec]
        return COMPARISONS[kind](**params)
    params = dict(spec)
    return COMPARISONS.create(params.pop("kind", None), params)


#: Levels are stored as int8, and the kernels' ``min()`` over ``level + 128 * missed`` needs
#: every level below 128.
MAX_THRESHOLDS = 100


def check_thresholds(name: str, thresholds: Sequence[float]) -> tuple[float, ...]:
    """The similarity thresholds of comparison ``name``, checked: numbers in (0, 1], strictly
    decreasing, distinct when printed, at most :data:`MAX_THRESHOLDS`."""
    field = f"comparison.{name}.thresholds"
    if not isinstance(thresholds, list | tuple) or not thresholds:
        raise ConfigError(
            field, f"must be a non-empty list of numbers in (0, 1]. Got {thresholds!r} instead."
        )
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in thresholds):
        raise ConfigError(field, f"must be numbers in (0, 1]. Got {list(thresholds)!r} instead.")
    values = tuple(float(t) for t in thresholds)
    for t in values:
        if not 0.0 < t <= 1.0:
            raise ConfigError(f"comparison.{name}.thresholds", f"{t} must be in (0, 1]")
    if list(values) != sorted(values, reverse=True):
        raise ConfigError(
            f"comparison.{name}.thresholds", f"{list(values)} must be in decreasing order"
        )
    # Each threshold names a level (``jaro_winkler>=0.92``): two that print alike would be
    # one level in every report and table.
    for higher, lower in itertools.pairwise(values):
        if f"{higher:g}" == f"{lower:g}":
            raise ConfigError(
                field,
                f"{higher} and {lower} would both be the level '>={lower:g}': thresholds must "
                "differ in their first six significant digits",
            )
    if len(values) > MAX_THRESHOLDS:
        raise ConfigError(field, f"at most {MAX_THRESHOLDS} thresholds. Got {len(values)}.")
    return values
