"""What drawing requests needs from a register, computed once per register.

Drawing a batch of requests must cost in proportion to the batch, not to the register: a
national register holds 16 million pupils and 30 million address rows, a batch 1,500 requests.
:class:`RegisterIndex` holds the register's rows grouped by name origin (for origin-weighted
selection) and its address history indexed by household and postcode district; it is built in
one pass over the register and can be kept with it (see :mod:`matchsim.world`), after which
every request set only takes the rows it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.requests.addresses import AddressSource, DistrictIndex, address_source, history_of
from matchsim.synth import Census


@dataclass(frozen=True)
class RegisterIndex:
    """A register's rows grouped by name origin, and its indexed address history."""

    origins: tuple[str, ...]
    origin_start: np.ndarray  # per origin: first position in ``origin_rows``
    origin_count: np.ndarray
    origin_rows: np.ndarray  # register rows, grouped by origin (ascending within each)
    addresses: AddressSource
    #: whether the register's own address history was already in (household, sequence) order
    history_in_order: bool = True

    def arrays(self) -> dict[str, np.ndarray]:
        """The index as named arrays, to store beside the register (see :meth:`from_arrays`)."""
        d = self.addresses.district
        return {
            "origin_start": self.origin_start,
            "origin_count": self.origin_count,
            "origin_rows": self.origin_rows,
            "district_codes": d.codes,
            "district_start": d.start,
            "district_count": d.count,
            "district_order": d.order,
            "household": self.addresses.household,
        }

    @classmethod
    def from_arrays(
        cls, census: Census, origins: list[str], arrays: dict[str, np.ndarray]
    ) -> RegisterIndex:
        """The index of ``census`` from :meth:`arrays` (only a history that packs its
        districts in ``address_id`` is stored this way; others are indexed again). The
        history was sorted when the index was built, so it is not checked again here."""
        order = DistrictIndex(
            arrays["district_codes"],
            arrays["district_start"],
            arrays["district_count"],
            arrays["district_order"],
        )
        return cls(
            tuple(origins),
            arrays["origin_start"],
            arrays["origin_count"],
            arrays["origin_rows"],
            address_source(census.addresses, order, household=arrays["household"]),
        )

    @property
    def storable(self) -> bool:
        """Whether :meth:`arrays` holds the whole index (districts packed in address ids, and
        rows in the order of the register's own history)."""
        return self.addresses.row_district is None and self.history_in_order


def register_index(census: Census) -> RegisterIndex:
    """Index a register for drawing requests (one pass over it)."""
    origin = census.pupils["name_origin"]
    origin = origin.combine_chunks() if isinstance(origin, pa.ChunkedArray) else origin
    if not pa.types.is_dictionary(origin.type):
        origin = pc.dictionary_encode(origin.cast(pa.string()))
    codes = origin.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    names = [str(v) for v in origin.dictionary.to_pylist()]
    # Null origins (a register from elsewhere) form their own group, named "".
    codes = np.where(codes < 0, len(names), codes)
    names.append("")
    if len(names) >= 2**15:
        raise ValueError(f"{len(names)} name origins; at most 32,767 are supported")
    rows = np.argsort(codes.astype(np.int16), kind="stable")  # a radix sort: few origins
    count = np.bincount(codes, minlength=len(names)).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    dtype = np.int32 if len(codes) < 2**31 else np.int64
    history = history_of(census.pupils, census.addresses)
    return RegisterIndex(
        tuple(names),
        start,
        count,
        rows.astype(dtype),
        address_source(history),
        history_in_order=history is census.addresses,
    )


def select_weighted(
    index: RegisterIndex, weights: dict[str, float], n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` distinct register rows, each drawn with probability in proportion to its origin's
    weight among the rows not yet drawn (successive sampling, as a Gumbel top-k over every row
    would give), at a cost in proportion to ``n`` and the number of origins."""
    w = np.array([weights.get(o, 1.0) for o in index.origins], dtype=np.float64)
    available = index.origin_count.astype(np.float64)
    taken = np.zeros(len(w), dtype=np.int64)
    u = rng.random(n)
    # Which origin each successive draw falls in: the rows of one origin are exchangeable, so
    # only the counts drawn per origin matter; the rows are then a uniform subset per origin.
    for i in range(n):
        mass = np.cumsum(w * (available - taken))
        if mass[-1] <= 0:
            break
        taken[min(int(np.searchsorted(mass, u[i] * mass[-1], side="right")), len(w) - 1)] += 1
    if taken.sum() < n:
        from matchsim.errors import ConfigError

        raise ConfigError("origin_weights", "every origin in the register has weight 0")
    picked = []
    for o in np.flatnonzero(taken):
        within = rng.choice(int(index.origin_count[o]), int(taken[o]), replace=False)
        picked.append(index.origin_rows[index.origin_start[o] + within].astype(np.int64))
    return np.concatenate(picked) if picked else np.array([], dtype=np.int64)
