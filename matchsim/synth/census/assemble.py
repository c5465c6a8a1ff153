"""From a drawn block to its rows of the pupil and address-history tables.

Two steps per block. :func:`finish_block` renders what depends on the block alone (address
text, middle names, each pupil's UPN key and rank). :func:`block_tables` then needs the
block's :class:`Offsets`, the counts of every earlier block (ids, UPN serials, multiple-birth
ids), which :class:`matchsim.synth.census.schedule.BlockScheduler` assigns in block order.
A partition of the register starts from the counts of the partitions before it
(:class:`PartitionStart`, :func:`partition_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.synth import calendar as cal
from matchsim.synth.census.blocks import Block
from matchsim.synth.census.plan import CensusPlan
from matchsim.synth.census.upn import SERIAL_KEY_YEARS, make_upns, serial_keys
from matchsim.synth.names import NameModel


@dataclass(frozen=True)
class Vocabularies:
    """The strings that a block's codes index, shared by every block of a run."""

    #: the forenames, then "" for a missing middle name (index ``len(forenames)``)
    middle: pa.Array
    #: the dictionary of each dictionary-encoded column of the pupil table
    columns: dict[str, pa.Array]

    @classmethod
    def of(cls, names: NameModel) -> Vocabularies:
        return cls(
            middle=pa.array(np.append(names.forenames, ""), pa.string()),
            columns={
                "forename": pa.array(names.forenames, pa.string()),
                "surname": pa.array(names.surnames, pa.string()),
                "sex": pa.array(["M", "F"], pa.string()),
                "origin": pa.array(list(names.origins), pa.string()),
            },
        )


@dataclass
class FinishedBlock:
    """A block with its text columns rendered, ready to be joined to the others.

    Everything here depends on the block alone, so it is built in the worker thread that
    drew the block. Only ids and UPN serials need counts from earlier blocks: they are added
    in a second per-block pass (:func:`block_tables`).
    """

    block: Block
    pupil_text: dict[str, pa.Array]
    history_text: dict[str, pa.Array]
    entry_year: np.ndarray
    #: distinct (reception school, entry year) keys, each pupil's index into them, the count of
    #: each key and each pupil's 0-based rank among its block's pupils with the same key
    upn_keys: np.ndarray
    upn_inverse: np.ndarray
    upn_counts: np.ndarray
    upn_rank: np.ndarray
    #: 1, 2, ... for each multiple maternity of the block, in order; 0 for singletons
    multiple_local: np.ndarray
    n_multiples: int


_POSITION_BITS = 17  # a block's pupil positions fit: BLOCK_PUPILS <= 1 << 17


def finish_block(plan: CensusPlan, block: Block, middle_text: pa.Array) -> FinishedBlock:
    """Render ``block``'s text and number what it can number alone (``middle_text``:
    :attr:`Vocabularies.middle`)."""
    p = block.pupil
    history_text = plan.geography.render(block.history["slot"])
    rows = pa.array(p["address_row"])
    pupil_text = {k: v.take(rows) for k, v in history_text.items()}
    # Arrow gathers the strings: no Python string objects per pupil.
    blank = len(middle_text) - 1
    m1, m2 = p["middle1"], p["middle2"]
    first_middle = middle_text.take(np.where(m1 >= 0, m1, blank))
    second = m2 >= 0
    pupil_text["middle_names"] = pc.if_else(
        second,
        pc.binary_join_element_wise(
            first_middle, middle_text.take(np.where(second, m2, blank)), " "
        ),
        first_middle,
    )
    entry_year = cal.year_month_day(p["entry"])[0]
    # Rank within each (school, year) in pupil order: sort (key, position) packed in one
    # int64: a plain sort of distinct values, which orders equal keys by position as a stable
    # sort of the keys would.
    key = p["first_school"].astype(np.int64) * plan.entry_years + (
        entry_year - plan.entry_year_first
    )
    n = len(key)
    packed = np.sort((key << np.int64(_POSITION_BITS)) | np.arange(n, dtype=np.int64))
    order = packed & ((1 << _POSITION_BITS) - 1)
    sorted_keys = packed >> np.int64(_POSITION_BITS)
    new_key = np.ones(n, dtype=bool)
    new_key[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(new_key)
    group_sorted = np.cumsum(new_key) - 1
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[group_sorted]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_sorted
    # Maternity numbers ascend through the block, so numbering multiples 1..M is a running count.
    maternity = p["maternity"]
    multiple = maternity >= 0
    m = maternity[multiple]
    local = np.zeros(n, dtype=np.int64)
    local[multiple] = np.cumsum(np.r_[True, m[1:] != m[:-1]]) if len(m) else m
    return FinishedBlock(
        block=block,
        pupil_text=pupil_text,
        history_text=history_text,
        entry_year=entry_year,
        upn_keys=sorted_keys[starts],
        upn_inverse=inverse,
        upn_counts=np.diff(np.r_[starts, n]),
        upn_rank=rank,
        multiple_local=local,
        n_multiples=int(local.max(initial=0)),
    )


@dataclass(frozen=True)
class Offsets:
    """Where a block's rows and ids start in the whole register."""

    pupil: int
    family: int
    multiple: int
    #: per UPN key of the block, how many pupils of earlier blocks have it: a pupil's serial is
    #: 1 + that + its rank within the block, which numbers 1, 2, ... within each (reception
    #: school, year of entry) in pupil order, as one global stable sort would
    serial: np.ndarray


def _date32(days: np.ndarray) -> pa.Array:
    mask = days < 0 if days.dtype.kind == "i" and (days == -1).any() else None
    arr = pa.array(days.astype(np.int32), pa.int32(), mask=mask)
    return arr.cast(pa.date32())


def _dictionary(codes: np.ndarray, vocab: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), vocab)


def block_tables(
    plan: CensusPlan, f: FinishedBlock, at: Offsets, vocab: dict[str, pa.Array]
) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """The block's rows of the pupil table and of the address-history table (``vocab``:
    :attr:`Vocabularies.columns`)."""
    p, b = f.block.pupil, f.block
    first_school = p["first_school"]
    upn = make_upns(
        plan.school_la[first_school],
        plan.school_estab[first_school],
        f.entry_year % 100,
        at.serial[f.upn_inverse] + f.upn_rank + 1,
    )
    n = len(first_school)
    multiple = f.multiple_local > 0
    school, group = p["school"], p["year_group"]
    pupils = pa.record_batch(
        {
            "pupil_id": np.arange(at.pupil + 1, at.pupil + n + 1, dtype=np.int64),
            "upn": upn,
            "forename": _dictionary(p["forename"], vocab["forename"]),
            "middle_names": f.pupil_text["middle_names"],
            "surname": _dictionary(p["surname"], vocab["surname"]),
            "sex": _dictionary(p["sex"], vocab["sex"]),
            "date_of_birth": _date32(p["dob"]),
            "name_origin": _dictionary(p["origin"], vocab["origin"]),
            "household_id": p["family"] + (at.family + 1),
            "multiple_birth_id": pa.array(
                f.multiple_local + at.multiple, pa.int64(), mask=~multiple
            ),
            "address_id": p["address_slot"],
            "address_line": f.pupil_text["address_line"],
            "town": f.pupil_text["town"],
            "postcode": f.pupil_text["postcode"],
            "school_id": school + 1,
            "first_school_id": first_school + 1,
            "la_number": plan.school_la[school],
            "entry_date": _date32(p["entry"]),
            "leaving_date": _date32(p["leaving"]),
            "year_group": pa.array(group, pa.int8(), mask=group < 0),
        }
    )
    h = b.history
    family = np.repeat(np.arange(b.n_families), h["count"])
    moved_in = h["moved_in"]
    # Families never span blocks, so a block's last row is its last family's last address.
    last_row = np.r_[family[1:] != family[:-1], True]
    moved_out = np.where(last_row, -1, np.r_[moved_in[1:], 0])
    history = pa.record_batch(
        {
            "household_id": family + (at.family + 1),
            "address_seq": (np.arange(len(family)) - h["offset"][family]).astype(np.int16),
            "moved_in": _date32(moved_in),
            "moved_out": _date32(moved_out),
            "address_id": h["slot"],
            "address_line": f.history_text["address_line"],
            "town": f.history_text["town"],
            "postcode": f.history_text["postcode"],
        }
    )
    return pupils, history


@dataclass
class PartitionStart:
    """What the blocks before a partition used up: pupils, families, multiple births and UPN
    serials per (reception school, entry year) key (see :func:`serial_keys`)."""

    pupils: int = 0
    families: int = 0
    multiples: int = 0
    serial_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    serial_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def serials_by_key(self, plan: CensusPlan) -> np.ndarray:
        """The serials already issued, indexed as :attr:`FinishedBlock.upn_keys` are
        (``school * entry_years + entry year - entry_year_first``); zeros for no keys."""
        serials = np.zeros(len(plan.school_la) * plan.entry_years, dtype=np.int64)
        if len(self.serial_keys):
            school, year = np.divmod(self.serial_keys, SERIAL_KEY_YEARS)
            np.add.at(
                serials,
                school * plan.entry_years + (year - plan.entry_year_first),
                self.serial_counts,
            )
        return serials


def partition_counts(blocks: list[Block]) -> PartitionStart:
    """What these blocks use up (summed over earlier partitions, the next one's start)."""
    runs = 0
    keys = []
    for b in blocks:
        m = b.pupil["maternity"][b.pupil["maternity"] >= 0]
        runs += int(np.count_nonzero(np.r_[True, m[1:] != m[:-1]])) if len(m) else 0
        keys.append(serial_keys(b.pupil["first_school"], cal.year_month_day(b.pupil["entry"])[0]))
    uniq, counts = np.unique(
        np.concatenate(keys) if keys else np.zeros(0, np.int64), return_counts=True
    )
    return PartitionStart(
        pupils=sum(len(b.pupil["family"]) for b in blocks),
        families=sum(b.n_families for b in blocks),
        multiples=runs,
        serial_keys=uniq.astype(np.int64),
        serial_counts=counts.astype(np.int64),
    )
