"""A short, printable summary of a register: size, twins, top names and name/DOB collisions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class CensusSummary:
    pupils: int
    households: int
    twin_share: float
    top_forenames: list[tuple[str, float]]
    top_surnames: list[tuple[str, float]]
    #: share of pupils who share forename, surname and date of birth with at least one other
    same_name_and_dob_share: float
    #: share of pupils who have lived at more than one address
    moved_share: float

    def as_dict(self) -> dict[str, object]:
        return {
            "pupils": self.pupils,
            "households": self.households,
            "twin_share": self.twin_share,
            "top_forenames": self.top_forenames,
            "top_surnames": self.top_surnames,
            "same_name_and_dob_share": self.same_name_and_dob_share,
            "moved_share": self.moved_share,
        }


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and vocabulary of a (possibly chunked, possibly plain) string column."""
    combined = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(combined.type):
        combined = pc.dictionary_encode(combined)
    return combined.indices.to_numpy(zero_copy_only=False), np.asarray(
        combined.dictionary.to_pylist(), dtype=object
    )


def _top(codes: np.ndarray, vocab: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
    counts = np.bincount(codes, minlength=len(vocab))
    order = np.argsort(-counts, kind="stable")[:k]
    return [(str(vocab[i]), float(counts[i] / len(codes))) for i in order if counts[i] > 0]


def _singletons(sorted_keys: np.ndarray) -> int:
    """How many values occur exactly once in a sorted array."""
    if len(sorted_keys) < 2:
        return len(sorted_keys)
    new = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    ends = np.r_[sorted_keys[1:] != sorted_keys[:-1], True]
    return int(np.count_nonzero(new & ends))


def summarise(pupils: pa.Table, addresses: pa.Table | None = None) -> CensusSummary:
    n = pupils.num_rows
    if n == 0:
        return CensusSummary(0, 0, 0.0, [], [], 0.0, 0.0)
    fore, fore_vocab = _codes(pupils["forename"])
    sur, sur_vocab = _codes(pupils["surname"])
    dob = pupils["date_of_birth"].cast("int32").to_numpy().astype(np.int64)
    key = (fore.astype(np.int64) * len(sur_vocab) + sur) * (1 << 20) + (dob - dob.min())
    shared = 1.0 - _singletons(np.sort(key)) / n
    twins = float(pupils["multiple_birth_id"].is_valid().to_numpy(zero_copy_only=False).mean())
    household = pupils["household_id"].to_numpy()
    households = int(np.count_nonzero(np.bincount(household)))
    moved = 0.0
    if addresses is not None and addresses.num_rows:
        movers = np.zeros(household.max() + 1, dtype=bool)
        later = addresses["address_seq"].to_numpy() > 0
        hh = addresses["household_id"].to_numpy()[later]
        movers[hh[hh <= household.max()]] = True
        moved = float(movers[household].mean())
    return CensusSummary(
        pupils=n,
        households=households,
        twin_share=twins,
        top_forenames=_top(fore, fore_vocab),
        top_surnames=_top(sur, sur_vocab),
        same_name_and_dob_share=shared,
        moved_share=moved,
    )
