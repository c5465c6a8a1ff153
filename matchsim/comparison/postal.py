"""Where a record lives: postcode, address line, and the two judged together."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import numpy as np

from matchsim.comparison.base import Comparison, check_thresholds, comparison
from matchsim.comparison.codes import compact, pair_codes, string_buffers
from matchsim.comparison.similarity import similarity_of_codes
from matchsim.errors import ConfigError
from matchsim.records import LinkageData, ValueBytes


@comparison("postcode")
class PostcodeComparison(Comparison):
    """Full postcode, then sector, district and area."""

    relative_cost = 2.0

    def __init__(self, role: str = "postcode", *, name: str | None = None) -> None:
        super().__init__(role, name)
        if role != "postcode":
            raise ConfigError(
                f"comparison.{self.name}.role", f"must be 'postcode'. Got {role!r} instead."
            )
        self.levels = ("full", "sector", "district", "area")

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
        vocab = data.vocabularies[self.role]
        buffers = string_buffers(vocab.values) if kernels is not None else None
        if kernels is not None and buffers is not None:
            codes = pair_codes(kernels, data, self.role, left, right, 8)  # a word a postcode
            if not len(codes.used):
                return np.zeros(len(left), dtype=np.int8)
            words, covered = kernels.postcode_words(*buffers, codes.used, codes.rows, codes.size)
            if covered:
                return kernels.postcode_levels(codes.left_rows, codes.left, codes.right_rows, words)
        a, b = data.left.codes[self.role][left], data.right.codes[self.role][right]
        level = np.full(len(a), self.n_levels - 1, dtype=np.int8)
        present = (a >= 0) & (b >= 0)
        full = present & (a == b)
        level[full] = 1
        # Sector, district and area keys only for the postcodes of the pairs still open.
        todo = np.flatnonzero(present & ~full)
        if len(todo):
            used, (ia, ib) = compact(a[todo], b[todo])
            view = ValueBytes(vocab.values, used)
            open_ = np.arange(len(todo))
            for pos, kind in ((2, "sector"), (3, "district"), (4, "area")):
                if not len(open_):
                    break
                keys = vocab.keys(kind, used, view)
                ka = keys[ia[open_]]
                hit = (ka == keys[ib[open_]]) & (ka >= 0)
                level[todo[open_[hit]]] = pos
                open_ = open_[~hit]
        level[~present] = 0
        return level


@comparison("address")
class AddressComparison(Comparison):
    """Exact, then token-set similarity thresholds after normalising abbreviations (rapidfuzz).

    Parameters
    ----------
    thresholds
        Token-set similarity levels, highest first, each in (0, 1].
    """

    relative_cost = 4.0

    def __init__(
        self,
        role: str = "address",
        *,
        name: str | None = None,
        thresholds: Sequence[float] = (0.9, 0.7),
    ) -> None:
        super().__init__(role, name)
        if role not in ("address", "forename", "surname", "middle_names"):
            raise ConfigError(
                f"comparison.{self.name}.role",
                f"must be a text role such as 'address'. Got {role!r} instead.",
            )
        self.thresholds = check_thresholds(self.name, thresholds)
        self.levels = ("exact", *(f"token_set>={t:g}" for t in self.thresholds))

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
        vocab = data.vocabularies[self.role]
        a, b = data.left.codes[self.role][left], data.right.codes[self.role][right]
        level = np.full(len(a), self.n_levels - 1, dtype=np.int16)
        present = (a >= 0) & (b >= 0)
        idx = np.flatnonzero(present & (a != b))
        if len(idx):
            sims = similarity_of_codes(vocab.values, a[idx], b[idx], "token_set")
            sub = np.full(len(idx), self.n_levels - 1, dtype=np.int16)
            for pos in range(len(self.thresholds), 0, -1):
                sub[sims >= self.thresholds[pos - 1]] = pos + 1
            level[idx] = sub
        level[present & (a == b)] = 1
        level[~present] = 0
        return level


@comparison("location")
class LocationComparison(Comparison):
    """Postcode and address judged together, so one shared home counts once.

    A model that multiplies independent evidence would otherwise count an identical address
    twice (postcode and address line agree together), and a sibling would look like the child
    asked about.

    Parameters
    ----------
    role
        The postcode role (the address line is the ``address`` role).
    address_threshold
        Token-set similarity at or above which two address lines count as the same home.
    """

    relative_cost = 5.0

    def __init__(
        self, role: str = "postcode", *, name: str | None = None, address_threshold: float = 0.9
    ) -> None:
        super().__init__("postcode", name or "location")
        (self.address_threshold,) = check_thresholds(self.name, [address_threshold])
        self.levels = (
            "address_and_postcode",
            "address",
            "postcode_and_similar_address",
            "postcode",
            "similar_address",
            "sector",
            "district",
        )
        self._postcode = PostcodeComparison()
        self._address = AddressComparison(thresholds=(self.address_threshold,))

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
        has_address = "address" in data.vocabularies
        pc_level = self._postcode._levels(
            data, left, right, kernels
        )  # 0 missing, 1 full, 2 sector, 3 district
        # 0 missing, 1 exact, 2 similar (no address role: always missing)
        ad_level = (
            self._address._levels(data, left, right, kernels)
            if has_address
            else np.zeros(len(left), dtype=np.int16)
        )
        out = np.full(len(left), self.n_levels - 1, dtype=np.int16)
        rules = [  # weakest first, so stronger levels overwrite
            (pc_level == 3, "district"),
            (pc_level == 2, "sector"),
            (ad_level == 2, "similar_address"),
            (pc_level == 1, "postcode"),
            ((pc_level == 1) & (ad_level == 2), "postcode_and_similar_address"),
            (ad_level == 1, "address"),
            ((pc_level == 1) & (ad_level == 1), "address_and_postcode"),
        ]
        for mask, level in rules:
            out[mask] = 1 + self.levels.index(level)
        out[(pc_level == 0) & (ad_level == 0)] = 0
        return out
