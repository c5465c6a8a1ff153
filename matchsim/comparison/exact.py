"""Exact agreement on any one field: the level recordlinkage's ``Compare.exact`` and Splink's
``ExactMatch`` give, for a field whose near misses carry no evidence of their own (a school
number, a sex code) or for comparing like with like against those libraries."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from matchsim.comparison.base import Comparison, comparison
from matchsim.errors import ConfigError
from matchsim.records import MISSING, MISSING_DATE, VALUE_ROLES, LinkageData


@comparison("exact")
class ExactComparison(Comparison):
    """The same value on both sides, or not (after normalising: names and postcodes as
    prepared, dates as days).

    Parameters
    ----------
    role
        Any role but id: forename, middle_names, surname, date_of_birth, sex, postcode or
        address.
    """

    def __init__(self, role: str = "date_of_birth", *, name: str | None = None) -> None:
        super().__init__(role, name)
        if role not in VALUE_ROLES:
            raise ConfigError(
                f"comparison.{self.name}.role",
                f"{role!r} is not a role an exact comparison reads; one of {', '.join(VALUE_ROLES)}",
            )
        self.levels = ("exact",)

    def _values(self, data: LinkageData) -> tuple[np.ndarray, np.ndarray, int]:
        """Each side's value per record as integers (codes, days, sex), and the missing one."""
        if self.role == "date_of_birth":
            return data.left.dob, data.right.dob, int(MISSING_DATE)
        if self.role == "sex":
            return data.left.sex, data.right.sex, MISSING
        return data.left.codes[self.role], data.right.codes[self.role], MISSING

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
        a_values, b_values, missing = self._values(data)
        if kernels is not None:
            return kernels.exact_levels(a_values, left, b_values, right, missing)
        a, b = a_values[left], b_values[right]
        level = np.where(a == b, 1, 2).astype(np.int8)
        level[(a == missing) | (b == missing)] = 0
        return level
