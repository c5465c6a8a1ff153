"""Addresses a request error can put in a request, found at a cost in proportion to the requests.

A request about a person can carry an earlier or later address of the person's family, another
address in the same postcode district (a local move), or an unrelated address anywhere. The
first two need only the histories of the families asked about; the last two draw from every
address of the world. :class:`AddressSource` indexes one population's address history once (by
household and by postcode district), so that drawing requests never copies or scans it: a
national register's history has about 30 million rows, a batch of requests a few thousand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.synth.geography import DISTRICT_SHIFT

ADDRESS_COLUMNS = ("address_line", "town", "postcode")


def take(column: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> pa.Array:
    """``column[rows]``, touching only those rows.

    ``ChunkedArray.take`` concatenates every chunk first (Arrow 26), which costs the whole
    column; here each row is taken from its own chunk.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if isinstance(column, pa.Array) or column.num_chunks == 1:
        array = column if isinstance(column, pa.Array) else column.chunk(0)
        return array.take(pa.array(rows))
    lengths = np.array([len(c) for c in column.chunks], dtype=np.int64)
    ends = np.cumsum(lengths)
    chunk = np.searchsorted(ends, rows, side="right")
    parts, positions = [], []
    for c in np.unique(chunk):
        at = np.flatnonzero(chunk == c)
        parts.append(column.chunk(int(c)).take(pa.array(rows[at] - (ends[c] - lengths[c]))))
        positions.append(at)
    if not parts:
        return pa.array([], column.type)
    merged = pa.chunked_array(parts, column.type).combine_chunks()
    back = np.empty(len(rows), dtype=np.int64)
    back[np.concatenate(positions)] = np.arange(len(rows))
    return merged.take(pa.array(back))


def take_rows(column: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> np.ndarray:
    """``column[rows]`` as a numpy object array of strings (see :func:`take`)."""
    return _text(take(column, rows))


def _text(array: pa.Array) -> np.ndarray:
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    return array.to_numpy(zero_copy_only=False).astype(object)


def _int_column(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column.to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class DistrictIndex:
    """Rows of an address history grouped by postcode district."""

    codes: np.ndarray  # sorted distinct district codes
    start: np.ndarray  # per code: its first position in ``order``
    count: np.ndarray  # per code: how many rows
    order: np.ndarray  # history rows sorted by district (stable)

    @classmethod
    def build(cls, district: np.ndarray) -> DistrictIndex:
        # Few districts (about 3,000): sorting small integers is a radix sort, linear in rows.
        narrow = (
            district.astype(np.int16)
            if len(district) and district.min() >= -1 and district.max() < 2**15
            else district
        )
        order = np.argsort(narrow, kind="stable")
        codes, start, count = np.unique(district[order], return_index=True, return_counts=True)
        return cls(codes.astype(np.int64), start.astype(np.int64), count.astype(np.int64), order)

    def counts_of(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first position, number of rows) of each district code (0 rows when absent)."""
        at = np.minimum(np.searchsorted(self.codes, codes), max(len(self.codes) - 1, 0))
        found = (self.codes[at] == codes) if len(self.codes) else np.zeros(len(codes), bool)
        return np.where(found, self.start[at], 0), np.where(found, self.count[at], 0)


@dataclass(frozen=True)
class AddressSource:
    """One population's address history, indexed once: rows sorted by (household, sequence)."""

    household: np.ndarray  # household id of each history row, ascending
    district: DistrictIndex
    columns: dict[str, pa.ChunkedArray | pa.Array]  # address_line, town, postcode
    #: the district code of each row when it is not packed in an ``address_id`` column
    row_district: np.ndarray | None = None
    address_id: pa.ChunkedArray | pa.Array | None = None
    district_texts: pa.Array | None = None  # what unpacked district codes number

    def __len__(self) -> int:
        return len(self.household)

    def text(self, column: str, rows: np.ndarray) -> np.ndarray:
        return take_rows(self.columns[column], rows)

    def district_of(self, rows: np.ndarray) -> np.ndarray:
        """The postcode district code of some rows."""
        if self.row_district is not None:
            return self.row_district[rows]
        assert self.address_id is not None
        ids = take(self.address_id, rows).to_numpy(zero_copy_only=False)
        return ids.astype(np.int64) >> DISTRICT_SHIFT

    def household_rows(self, households: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first history row, number of rows) of each household."""
        first = np.searchsorted(self.household, households, side="left")
        return first, np.searchsorted(self.household, households, side="right") - first


def district_codes(
    history: pa.Table, districts: pa.Array | None = None
) -> tuple[np.ndarray, pa.Array | None]:
    """The postcode district of each history row as an integer code, and the district texts
    the codes number (``None`` when packed).

    A matchsim history packs the district in its ``address_id``; otherwise the outward code of
    the postcode is looked up in ``districts`` (texts), new ones numbered after them.
    """
    if "address_id" in history.column_names:
        return _int_column(history["address_id"]).astype(np.int64) >> DISTRICT_SHIFT, None
    outward = pc.replace_substring_regex(history["postcode"].cast(pa.string()), r" .*$", "")
    outward = outward.combine_chunks() if isinstance(outward, pa.ChunkedArray) else outward
    encoded = pc.dictionary_encode(outward)
    codes = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if districts is None:
        return codes, encoded.dictionary
    known = pc.index_in(encoded.dictionary, value_set=districts).fill_null(-1)
    known = known.to_numpy(zero_copy_only=False).astype(np.int64)
    fresh = np.cumsum(known < 0) - 1 + len(districts)
    texts = pa.concat_arrays([districts, encoded.dictionary.filter(pa.array(known < 0))])
    return np.where(known >= 0, known, fresh)[codes], texts


def history_of(pupils: pa.Table, history: pa.Table) -> pa.Table:
    """A population's address history sorted by (household, sequence); a register read without
    its history file gets each household's register address as its only one."""
    if history.num_rows == 0 or "address_line" not in history.column_names:
        _, first = np.unique(_int_column(pupils["household_id"]), return_index=True)
        history = pupils.take(pa.array(first)).select(["household_id", *ADDRESS_COLUMNS])
        history = history.append_column(
            "address_seq", pa.array(np.zeros(history.num_rows, dtype=np.int16))
        )
        if "address_id" in pupils.column_names:
            history = history.append_column(
                "address_id", pupils["address_id"].take(pa.array(first))
            )
    hh = _int_column(history["household_id"])
    seq = _int_column(history["address_seq"])
    in_order = len(hh) < 2 or bool(
        np.all((hh[1:] > hh[:-1]) | ((hh[1:] == hh[:-1]) & (seq[1:] > seq[:-1])))
    )
    return history if in_order else history.take(pa.array(np.lexsort((seq, hh))))


def address_source(
    history: pa.Table,
    order: DistrictIndex | None = None,
    like: AddressSource | None = None,
    household: np.ndarray | None = None,
) -> AddressSource:
    """Index a history sorted by :func:`history_of`. ``order`` and ``household``: its district
    index and household column kept from before (e.g. memory-mapped with a cached register);
    ``like``: a source whose district codes to share (the register, when indexing the people
    outside it)."""
    texts = like.district_texts if like is not None else None
    if (
        like is not None
        and like.district_texts is not None
        and "address_id" in history.column_names
    ):
        history = history.drop_columns(["address_id"])  # number districts by text, as ``like``
    packed = "address_id" in history.column_names
    district = None
    if order is None or not packed:
        district, texts = district_codes(history, texts)
        order = order if order is not None else DistrictIndex.build(district)
    return AddressSource(
        household=household
        if household is not None
        else _int_column(history["household_id"]).astype(np.int64, copy=False),
        district=order,
        columns={c: history[c] for c in ADDRESS_COLUMNS},
        row_district=district if not packed else None,
        address_id=history["address_id"] if packed else None,
        district_texts=texts,
    )


@dataclass(frozen=True)
class AddressContext:
    """Address histories of the families a request set is about, and the world's addresses.

    Context rows ``0 .. own-1`` are the families' own history rows, sorted by (household,
    address_seq): ``first_row[h]``/``rows[h]`` locate family ``h``'s rows (families are numbered
    0..H-1 in this context). Rows from ``own`` on stand for every address of the world's
    ``sources`` in turn (the register, then the people outside it), for local moves and
    unrelated addresses.
    """

    first_row: np.ndarray
    rows: np.ndarray
    own_source: np.ndarray  # per own row: which source it comes from
    own_row: np.ndarray  # per own row: its row in that source
    outward: np.ndarray  # postcode district code of each own row
    sources: tuple[AddressSource, ...]

    @property
    def own(self) -> int:
        return len(self.own_row)

    @property
    def world_rows(self) -> int:
        return sum(len(s) for s in self.sources)

    def text(self, column: str, rows: np.ndarray) -> np.ndarray:
        """Strings of the given context rows, as a numpy object array."""
        rows = np.asarray(rows, dtype=np.int64)
        source = np.empty(len(rows), dtype=np.int64)
        row = np.empty(len(rows), dtype=np.int64)
        own = rows < self.own
        source[own], row[own] = self.own_source[rows[own]], self.own_row[rows[own]]
        world = rows[~own] - self.own
        ends = np.cumsum([len(s) for s in self.sources])
        which = np.searchsorted(ends, world, side="right")
        source[~own], row[~own] = which, world - np.r_[0, ends][which]
        out = np.empty(len(rows), dtype=object)
        for s in np.unique(source):
            at = np.flatnonzero(source == s)
            out[at] = self.sources[int(s)].text(column, row[at])
        return out

    def local(self, codes: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A world address in each given postcode district, uniformly (``u`` in [0, 1))."""
        starts, counts = zip(*(s.district.counts_of(codes) for s in self.sources), strict=True)
        total = np.sum(counts, axis=0)
        pick = (u * total).astype(np.int64)
        out = np.full(len(codes), -1, dtype=np.int64)
        before, offset = np.zeros(len(codes), dtype=np.int64), self.own
        for source, start, count in zip(self.sources, starts, counts, strict=True):
            here = (pick >= before) & (pick < before + count)
            out[here] = offset + source.district.order[start[here] + pick[here] - before[here]]
            before, offset = before + count, offset + len(source)
        return out

    def anywhere(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` world addresses drawn uniformly."""
        return self.own + rng.integers(0, self.world_rows, n)


def request_context(
    sources: tuple[AddressSource, ...], households: list[np.ndarray]
) -> tuple[AddressContext, list[np.ndarray]]:
    """The context of a request set about families ``households[i]`` of ``sources[i]``, and
    each person's family number in it."""
    first_rows, counts, own_source, own_row, family = [], [], [], [], []
    base = 0
    for i, (source, hh) in enumerate(zip(sources, households, strict=True)):
        distinct, inverse = np.unique(hh, return_inverse=True)
        first, count = source.household_rows(distinct)
        first_rows.append(first)
        counts.append(count)
        own_source.append(np.full(int(count.sum()), i, dtype=np.int64))
        own_row.append(np.repeat(first, count) + _ranks(count))
        family.append(inverse.ravel() + base)
        base += len(distinct)
    count = np.concatenate(counts)
    rows = np.concatenate(own_row)
    src = np.concatenate(own_source)
    outward = np.empty(len(rows), dtype=np.int64)
    for i, source in enumerate(sources):
        at = np.flatnonzero(src == i)
        outward[at] = source.district_of(rows[at])
    context = AddressContext(
        first_row=np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64),
        rows=count.astype(np.int64),
        own_source=src,
        own_row=rows,
        outward=outward,
        sources=sources,
    )
    return context, family


def _ranks(count: np.ndarray) -> np.ndarray:
    """0..count[i]-1 for each i, concatenated."""
    total = int(count.sum())
    return np.arange(total) - np.repeat(np.cumsum(count) - count, count)
