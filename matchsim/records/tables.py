"""Records and tables, normalised and encoded for blocking and comparison.

Any pair of tables can be linked once their columns are mapped to **roles** (``id``,
``forename``, ``middle_names``, ``surname``, ``date_of_birth``, ``sex``, ``postcode``,
``address``). Each string role is normalised (case, accents, punctuation, spacing) and
dictionary-encoded with one vocabulary shared by both sides, so that:

* equal values have equal integer codes on both sides (exact agreement is an integer test);
* every derived key (phonetic codes, initials, postcode sector/district/area) is computed once
  per distinct value, not once per record;
* similarity scores are computed once per distinct pair of values, and names repeat heavily.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from matchsim import dates as cal
from matchsim.errors import ConfigError
from matchsim.records.normalise import normalised_strings, parse_dates, parse_sex, per_record
from matchsim.records.roles import (
    MISSING,
    MISSING_DATE,
    STRING_ROLES,
    check_mapping,
    checked_columns,
    column_names,
    holds_text_objects,
    num_rows,
    object_values,
    objects_as_dictionaries,
    table_column,
)
from matchsim.records.vocabulary import Vocabulary

#: A stage's state kept with records or a linkage (see :meth:`Records.state`)
S = TypeVar("S")


K = TypeVar("K")
V = TypeVar("V")


@dataclass
class KeptValues(Generic[K, V]):
    """A stage's values kept with records, one per key (e.g. per role); a stage subclasses it
    to own a typed state (``records.state(TermCounts)``). A prepared register's kept values are
    stored with it in the world cache: :meth:`stored` gives them as flat entries (every value
    an array, a tuple of arrays or a dataclass of arrays) and :meth:`restored` takes them back.
    """

    values: dict[K, V] = field(default_factory=dict)

    def stored(self) -> dict[Any, object]:
        return dict(self.values)

    @classmethod
    def restored(cls, stored: Mapping[Any, object]) -> KeptValues[K, V]:
        state = cls()
        state.values.update(stored)  # the keys and values stored() gave
        return state


@dataclass
class DerivedColumns:
    """What records derive from their own columns, kept with them (``records.state``): the
    blocking key of each part, the date-of-birth parts and how ids are looked up. The arrays
    are stored with a prepared register in the world cache (:meth:`stored`)."""

    #: per key part (``surname:soundex``, ``dob``, ...): an int64 key per record
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    #: year, month and day of each birth date (MISSING where unknown)
    dob_parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    #: a pandas index of the ids (rebuilt, not stored: pandas indexes are not arrays)
    id_index: pd.Index | None = None
    ids_ascending: bool | None = None

    def stored(self) -> dict[Any, object]:
        out: dict[Any, object] = {("key", part): key for part, key in self.keys.items()}
        if self.dob_parts is not None:
            out["dob_parts"] = self.dob_parts
        return out

    @classmethod
    def restored(cls, stored: Mapping[Any, object]) -> DerivedColumns:
        state = cls()
        for key, value in stored.items():
            if key == "dob_parts" and isinstance(value, tuple):
                state.dob_parts = value
            elif isinstance(key, tuple) and key[0] == "key" and isinstance(value, np.ndarray):
                state.keys[key[1]] = value
        return state


def _state(states: dict[type, object], kind: type[S]) -> S:
    # Keyed by the class itself: no two stages can share a key by accident.
    found = states.get(kind)
    if not isinstance(found, kind):  # not built yet (a class key only ever holds its instance)
        found = states[kind] = kind()
    return found


_DATE_SHIFT = 1_000_000  # days: keys of real dates from year -770 on are non-negative


@dataclass
class Records:
    """One side of a linkage: ids and encoded roles (codes index the shared vocabularies)."""

    ids: np.ndarray
    codes: dict[str, np.ndarray]  # role -> int64 codes, -1 when missing
    dob: np.ndarray  # int64 days since 1970-01-01, MISSING_DATE when missing
    sex: np.ndarray  # int8: 0 M, 1 F, -1 missing
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # passthrough columns
    #: derived arrays of these records, and each stage's state (:meth:`state`); a prepared
    #: register shares one across all its linkages, since its codes and derived keys never
    #: change between them. Stages use :meth:`state`; string keys here are read by
    #: ``matchsim.linkage``, ``matchsim.world``, ``matchsim.namesakes`` and
    #: ``matchsim.pprl.records`` only until they move to states of their own.
    states: dict[type, object] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def state(self, kind: type[S]) -> S:
        """The state a stage keeps with these records: the one instance of ``kind`` (a class
        the stage defines, built with no arguments on first use). A prepared register's
        records share theirs across all its linkages, so ``kind`` must hold only what
        depends on these records alone."""
        return _state(self.states, kind)

    def id_index(self) -> pd.Index:
        """A pandas index of the ids (built once: 9M ids take seconds)."""
        derived = self.state(DerivedColumns)
        if derived.id_index is None:
            derived.id_index = pd.Index(self.ids)
        return derived.id_index

    def ids_ascending(self) -> bool:
        """Whether the ids are integers in strictly ascending order (checked once)."""
        derived = self.state(DerivedColumns)
        if derived.ids_ascending is None:
            ids = self.ids
            derived.ids_ascending = bool(
                ids.dtype.kind in "iu" and (len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()))
            )
        return derived.ids_ascending

    @property
    def dob_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Year, month and day of each birth date (MISSING where unknown); kept."""
        derived = self.state(DerivedColumns)
        if derived.dob_parts is None:
            derived.dob_parts = self._dob_parts()
        return derived.dob_parts

    def _dob_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return cal.year_month_day(self.dob, missing=(MISSING_DATE, MISSING))

    def role_codes(
        self, role: str, vocabularies: Mapping[str, Vocabulary]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One role as (an int64 code per record, the distinct texts the codes index): codes
        are MISSING where the value is missing or the role is not mapped. Dates of birth are
        ISO texts (``2012-03-04``), sex ``M``/``F``."""
        if role == "date_of_birth":
            present = self.dob != MISSING_DATE
            distinct, inverse = np.unique(self.dob[present], return_inverse=True)
            codes = np.full(len(self), MISSING, dtype=np.int64)
            codes[present] = inverse.ravel()
            days = distinct.astype("datetime64[D]")
            return codes, np.datetime_as_string(days, unit="D").astype(object)
        if role == "sex":
            return self.sex.astype(np.int64), np.array(["M", "F"], dtype=object)
        if role in self.codes and role in vocabularies:
            return self.codes[role], vocabularies[role].text
        return np.full(len(self), MISSING, dtype=np.int64), np.array([], dtype=object)

    def key(self, part: str, vocabularies: Mapping[str, Vocabulary]) -> np.ndarray:
        """An int64 key per record for a blocking part such as ``surname:soundex`` or ``dob``."""
        keys = self.state(DerivedColumns).keys
        found = keys.get(part)
        if found is None:
            found = keys[part] = self._key(part, vocabularies)
        return found

    def _key(self, part: str, vocabularies: Mapping[str, Vocabulary]) -> np.ndarray:
        if part == "dob":
            # Shifted so that every real date is >= 0 and only a missing one is MISSING.
            return np.where(self.dob == MISSING_DATE, MISSING, self.dob + _DATE_SHIFT)
        if part in ("birth_year", "birth_month", "birth_day"):
            return _read_only(
                self.dob_parts[("birth_year", "birth_month", "birth_day").index(part)]
            )
        if part == "sex":
            return self.sex.astype(np.int64)
        role, _, kind = part.partition(":")
        if role not in self.codes:
            raise ConfigError(
                "blocking", f"key {part!r} needs the role {role!r}, which is not mapped"
            )
        codes = self.codes[role]
        if not kind:
            return _read_only(codes)
        # MISSING (-1) indexes the appended last entry, MISSING: one gather, no temporaries
        derived = np.append(vocabularies[role].derived(kind), np.int64(MISSING))
        return derived[codes]


def _read_only(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` that cannot be written: a key shares the records' own arrays (a
    copy cost 73 MB a part at national size) and no caller may change them through it."""
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass
class LinkageData:
    """Left and right records with their shared vocabularies.

    Each stage keeps the work it reuses across chunks of this linkage (sorted right-hand keys,
    for instance) in its own :meth:`state`; it lives and dies with the linkage, so no result
    can leak into another.
    """

    left: Records
    right: Records
    vocabularies: dict[str, Vocabulary]
    states: dict[type, object] = field(default_factory=dict, repr=False)
    #: one table against itself (deduplication, see :func:`self_linkage`): ``left`` and
    #: ``right`` are the same records, and a pair is an unordered pair of two different rows,
    #: listed once with the smaller row on the left
    self_join: bool = False

    def state(self, kind: type[S]) -> S:
        """The state a stage keeps for this linkage: the one instance of ``kind`` (a class
        the stage defines, built with no arguments on first use)."""
        return _state(self.states, kind)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(r for r in STRING_ROLES if r in self.vocabularies) + tuple(
            r for r in ("date_of_birth", "sex") if self._has(r)
        )

    def _has(self, role: str) -> bool:
        if role == "date_of_birth":
            return bool(
                (self.left.dob != MISSING_DATE).any() or (self.right.dob != MISSING_DATE).any()
            )
        return bool((self.left.sex != MISSING).any() or (self.right.sex != MISSING).any())


# --------------------------------------------------------------------------------------------
# Preparing tables
# --------------------------------------------------------------------------------------------


@dataclass
class PreparedTable:
    """One table normalised on its own: per role, distinct values and each record's index.

    Prepare a register once and link many request batches against it.
    """

    roles: dict[str, str]  # role -> column
    vocabularies: dict[str, Vocabulary]
    codes: dict[str, np.ndarray]
    ids: np.ndarray
    dob: np.ndarray
    sex: np.ndarray
    extra: dict[str, np.ndarray]
    #: shared by every linkage of this table as the right-hand side (see Records.state)
    right_states: dict[object, dict[type, object]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)


def prepare_table(
    table: pa.Table | pd.DataFrame,
    roles: Mapping[str, str],
    side: str = "table",
    *,
    keep: tuple[str, ...] = (),
    rows: np.ndarray | None = None,
) -> PreparedTable:
    """Validate the role mapping (column -> role) and normalise and encode the table.

    ``rows`` (positions in the table) prepares only those rows, in that order: record ``i`` of
    the result is row ``rows[i]``, and without an ``id`` role its id is that position. The
    other rows are never read, so comparing a few pairs of two big tables costs what the pairs
    touch (see :func:`matchsim.comparison.compare_pairs`).

    Examples
    --------
    >>> import pandas as pd
    >>> from matchsim.records import prepare_table
    >>> register = pd.DataFrame({"upn": [7, 8, 9], "first": ["John", "ann ", "John"],
    ...                          "dob": ["2010-05-01", "2011-01-02", None]})
    >>> table = prepare_table(register, {"upn": "id", "first": "forename", "dob": "date_of_birth"})
    >>> len(table), table.ids.tolist()
    (3, [7, 8, 9])
    >>> table.vocabularies["forename"].values.to_pylist()  # normalised, each value once
    ['JOHN', 'ANN']
    >>> table.codes["forename"].tolist()
    [0, 1, 0]
    >>> prepare_table(register, {"upn": "id", "first": "forename"}, rows=[2, 0]).ids.tolist()
    [9, 7]
    """
    check_mapping(table, roles, side)
    if rows is not None:
        rows = _positions(rows, num_rows(table), "rows")
    return _prepare_table(table, roles, side, keep=keep, rows=rows, read={})


#: A string role read with another table's (:func:`prepare_linkage`): the column as Arrow,
#: the vocabulary both tables share, and each of this table's records' codes in it.
SharedRole = tuple[pa.Array, Vocabulary, np.ndarray]


def _prepare_table(
    table: pa.Table | pd.DataFrame,
    roles: Mapping[str, str],
    side: str,
    *,
    keep: tuple[str, ...],
    rows: np.ndarray | None,
    read: Mapping[str, SharedRole],
) -> PreparedTable:
    """:func:`prepare_table` of a checked mapping; the columns in ``read`` are already read
    and encoded (they are still checked)."""
    columns = checked_columns(
        table, roles, side, rows, converted={c: shared[0] for c, shared in read.items()}
    )
    by_role = {role: col for col, role in roles.items()}
    n = num_rows(table) if rows is None else len(rows)
    vocabularies, codes = {}, {}
    string_roles = [r for r in STRING_ROLES if r in by_role and by_role[r] not in read]

    def normalised(role: str) -> tuple[pa.Array, np.ndarray]:
        col = columns[by_role[role]]
        if holds_text_objects(table, by_role[role]):  # one dictionary, each value once
            return normalised_strings(col, role, distinct=True)
        return normalised_strings(col if rows is None else _decoded_if_sparse(col, n), role)

    # Arrow releases the GIL: normalise the roles side by side, where there are cores to use
    # (on one core, starting threads costs more than it saves on a few thousand rows).
    threads = min(len(string_roles), _usable_cores())
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(normalised, string_roles))
    else:
        results = [normalised(role) for role in string_roles]
    for role, (values, idx) in zip(string_roles, results, strict=True):
        vocabularies[role] = Vocabulary(role, values)
        codes[role] = idx
    for role in STRING_ROLES:
        if role in by_role and by_role[role] in read:
            _, vocabularies[role], codes[role] = read[by_role[role]]
    if "id" in by_role:
        ids = np.asarray(columns[by_role["id"]].to_numpy(zero_copy_only=False))
    else:
        ids = np.arange(n) if rows is None else rows.copy()
    dob = (
        parse_dates(columns[by_role["date_of_birth"]])
        if "date_of_birth" in by_role
        else np.full(n, MISSING_DATE)
    )
    sex = (
        parse_sex(columns[by_role["sex"]])
        if "sex" in by_role
        else np.full(n, MISSING, dtype=np.int8)
    )
    extra = {
        k: np.asarray(table_column(table, k, rows).to_numpy(zero_copy_only=False))
        for k in keep
        if k in column_names(table)
    }
    return PreparedTable(by_role, vocabularies, codes, ids, dob.astype(np.int64), sex, extra)


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _positions(rows: object, count: int, name: str) -> np.ndarray:
    """``rows`` as int64 positions into a table of ``count`` rows, or a ConfigError."""
    array = np.asarray(rows)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ConfigError(name, f"must be a one-dimensional array of row positions; got {rows!r}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= count):
        raise ConfigError(
            name,
            f"row positions must lie in 0..{count - 1} (the table has {count:,} rows); "
            f"got {int(array.min())}..{int(array.max())}",
        )
    return array


def _decoded_if_sparse(col: pa.ChunkedArray | pa.Array, n: int) -> pa.ChunkedArray | pa.Array:
    """A dictionary column with more distinct values than the records kept, decoded: then
    normalising the records' own values costs less than normalising the whole dictionary."""
    if not pa.types.is_dictionary(col.type):
        return col
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if sum(len(c.dictionary) for c in chunks) <= n:
        return col
    return col.cast(col.type.value_type)


def link(left: PreparedTable, right: PreparedTable) -> LinkageData:
    """Put two prepared tables on shared vocabularies (roles both sides have).

    Examples
    --------
    >>> import pandas as pd
    >>> from matchsim.records import link, prepare_table
    >>> roles = {"fn": "forename"}
    >>> left = prepare_table(pd.DataFrame({"fn": ["Aisha", "Jon"]}), roles, "left")
    >>> right = prepare_table(pd.DataFrame({"fn": ["JON", "Ann"]}), roles, "right")
    >>> data = link(left, right)
    >>> data.vocabularies["forename"].values.to_pylist()  # the right's values, then the left's
    ['JON', 'ANN', 'AISHA']
    >>> data.left.codes["forename"].tolist(), data.right.codes["forename"].tolist()
    ([2, 0], [0, 1])
    """
    vocabularies: dict[str, Vocabulary] = {}
    codes_l: dict[str, np.ndarray] = {}
    codes_r: dict[str, np.ndarray] = {}
    for role in STRING_ROLES:
        if role not in left.vocabularies or role not in right.vocabularies:
            continue
        base = right.vocabularies[role]
        lvals = left.vocabularies[role].values
        # one vocabulary for both (prepare_linkage): every left value is where it is
        found = (
            np.arange(len(base), dtype=np.int64)
            if left.vocabularies[role] is base
            else base.lookup(lvals)
        )
        missing = np.flatnonzero(found < 0)
        mapping = found.copy()
        mapping[missing] = len(base) + np.arange(len(missing))
        values = pa.concat_arrays([base.values, lvals.take(pa.array(missing, pa.int64()))])
        vocabularies[role] = Vocabulary(role, values, base=base)
        lc = left.codes[role]
        # (an empty vocabulary: every value of the role missing on the left)
        codes_l[role] = mapping[np.maximum(lc, 0)] if len(mapping) else np.full(len(lc), MISSING)
        codes_l[role] = np.where(lc >= 0, codes_l[role], MISSING)
        codes_r[role] = right.codes[role]
    has_dob = "date_of_birth" in left.roles and "date_of_birth" in right.roles
    has_sex = "sex" in left.roles and "sex" in right.roles

    def records(
        t: PreparedTable, codes: dict[str, np.ndarray], states: dict[type, object]
    ) -> Records:
        n = len(t)
        return Records(
            ids=t.ids,
            codes=codes,
            dob=t.dob if has_dob else np.full(n, MISSING_DATE),
            sex=t.sex if has_sex else np.full(n, MISSING, dtype=np.int8),
            extra=t.extra,
            states=states,
        )

    # The right side's codes are its own (the shared vocabulary extends its vocabulary), so
    # its keys can be kept across linkages — unless a role is missing on one side.
    right_states = right.right_states.setdefault((has_dob, has_sex), {})
    return LinkageData(
        records(left, codes_l, {}), records(right, codes_r, right_states), vocabularies
    )


def prepare_linkage(
    left: pa.Table | pd.DataFrame,
    right: pa.Table | pd.DataFrame,
    left_roles: Mapping[str, str],
    right_roles: Mapping[str, str] | None = None,
    *,
    left_rows: np.ndarray | None = None,
    right_rows: np.ndarray | None = None,
) -> LinkageData:
    """``link(prepare_table(left, ...), prepare_table(right, ...))``, with ``rows`` as
    :func:`prepare_table` takes them, reading a string role once for both tables where both
    hold it as a pandas column of Python objects: one dictionary of the two sides' values,
    normalised once, so that linking looks no value up.

    Examples
    --------
    >>> import pandas as pd
    >>> from matchsim.records import prepare_linkage
    >>> roles = {"fn": "forename"}
    >>> left = pd.DataFrame({"fn": pd.Series(["Aisha", "Jon"], dtype=object)})
    >>> right = pd.DataFrame({"fn": pd.Series(["JON", "Ann"], dtype=object)})
    >>> data = prepare_linkage(left, right, roles)
    >>> data.vocabularies["forename"].values.to_pylist()  # the right's values, then the left's
    ['JON', 'ANN', 'AISHA']
    >>> data.left.codes["forename"].tolist(), data.right.codes["forename"].tolist()
    ([2, 0], [0, 1])
    """
    right_roles = left_roles if right_roles is None else right_roles
    check_mapping(left, left_roles, "left")
    check_mapping(right, right_roles, "right")
    if left_rows is not None:
        left_rows = _positions(left_rows, num_rows(left), "left_rows")
    if right_rows is not None:
        right_rows = _positions(right_rows, num_rows(right), "right_rows")
    left_read: dict[str, SharedRole] = {}
    right_read: dict[str, SharedRole] = {}
    left_by = {role: column for column, role in left_roles.items()}
    right_by = {role: column for column, role in right_roles.items()}
    for role in STRING_ROLES:
        if role not in left_by or role not in right_by:
            continue
        lcol, rcol = left_by[role], right_by[role]
        if not (holds_text_objects(left, lcol) and holds_text_objects(right, rcol)):
            continue
        try:
            # the right side's values first, as link() orders a shared vocabulary
            right_column, left_column = objects_as_dictionaries(
                [(object_values(right, rcol), right_rows), (object_values(left, lcol), left_rows)]
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
            continue  # each table reads it on its own, and says which holds what
        if not (
            pa.types.is_dictionary(left_column.type) and pa.types.is_dictionary(right_column.type)
        ):
            continue  # no text at all: each table says so on its own
        dictionary = right_column.dictionary
        values, code_of_value = normalised_strings(
            pa.DictionaryArray.from_arrays(pa.array(np.arange(len(dictionary))), dictionary),
            role,
            distinct=True,
        )
        vocabulary = Vocabulary(role, values)
        for read, column, arrow in (
            (left_read, lcol, left_column),
            (right_read, rcol, right_column),
        ):
            read[column] = (arrow, vocabulary, per_record(code_of_value, arrow.indices, MISSING))
    return link(
        _prepare_table(left, left_roles, "left", keep=(), rows=left_rows, read=left_read),
        _prepare_table(right, right_roles, "right", keep=(), rows=right_rows, read=right_read),
    )


def self_linkage(table: PreparedTable) -> LinkageData:
    """One prepared table against itself, to find duplicates within it.

    Both sides are the same :class:`Records` (one set of keys and caches), on the table's own
    vocabularies; blocking then lists each unordered pair of different rows once.
    """
    records = Records(
        ids=table.ids,
        codes=dict(table.codes),
        dob=table.dob,
        sex=table.sex,
        extra=table.extra,
        states={},
    )
    return LinkageData(records, records, dict(table.vocabularies), self_join=True)


def prepare(
    left: pa.Table | pd.DataFrame,
    right: pa.Table | pd.DataFrame,
    left_roles: Mapping[str, str],
    right_roles: Mapping[str, str] | None = None,
    *,
    keep: tuple[str, ...] = (),
) -> LinkageData:
    """Normalise, encode and link two tables (``right_roles`` defaults to ``left_roles``).

    Examples
    --------
    >>> import pandas as pd
    >>> left = pd.DataFrame({"fn": ["Mohammed"], "sn": ["Khan"]})
    >>> right = pd.DataFrame({"first": ["MOHAMMED", "Aisha"], "last": ["Khan", "Begum"]})
    >>> data = prepare(left, right, {"fn": "forename", "sn": "surname"}, {"first": "forename", "last": "surname"})
    >>> int(data.left.codes["forename"][0]) == int(data.right.codes["forename"][0])
    True
    """
    right_roles = left_roles if right_roles is None else right_roles
    return link(
        prepare_table(left, left_roles, "left", keep=keep),
        prepare_table(right, right_roles, "right", keep=keep),
    )
