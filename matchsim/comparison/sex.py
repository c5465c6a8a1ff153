"""Sex comparison: exact, or not."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from matchsim.comparison.base import Comparison, comparison
from matchsim.records import MISSING, LinkageData


@comparison("sex")
class SexComparison(Comparison):
    """Exact, or not."""

    def __init__(self, role: str = "sex", *, name: str | None = None) -> None:
        super().__init__(role, name)
        self.levels = ("exact",)

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
        a, b = data.left.sex[left], data.right.sex[right]
        level = np.where(a == b, 1, 2).astype(np.int16)
        level[(a == MISSING) | (b == MISSING)] = 0
        return level
