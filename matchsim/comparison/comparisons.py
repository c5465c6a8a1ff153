"""Field comparisons as ordered levels, in the style of Splink.

A comparison turns each candidate pair into a level index: level 0 is always ``missing``
(either side null), the last is always ``else``; the levels between run from the strongest
agreement to the weakest. Matchers then give each level its own weight.

String similarities are computed once per distinct pair of values and reused for every pair
that shares it (names repeat heavily), with rapidfuzz's batch ``cpdist``.

Two implementations give the same levels. With numba (a dependency), name, date-of-birth and
postcode comparisons decide each pair in one compiled pass (:mod:`.kernels`) and ask
rapidfuzz only for the name pairs whose Jaro-Winkler score could reach a threshold. The numpy
implementation is the reference the kernels are tested against, and the fallback wherever
their byte rules do not cover the data. ``KERNEL`` chooses: ``auto``, ``numba`` or ``numpy``.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import distance, fuzz, process

from matchsim import dates as cal
from matchsim.errors import ConfigError, UnknownNameError
from matchsim.records import (
    _MAX_WORD,
    _SOUNDEX_DIGIT,
    MISSING,
    MISSING_DATE,
    PHONETIC,
    LinkageData,
    ValueBytes,
    Vocabulary,
    derived_keys,
    prepare,
)
from matchsim.registry import Registry

_NATIVE = {"token_set": (fuzz.token_set_ratio, 0.01)}

#: Below this many pairs, comparisons run one after the other: threads cost more than they save.
_PAIRS_PER_THREAD = 20_000

KERNELS = ("auto", "numba", "numpy")
#: Which implementation compares: ``auto`` (numba when installed), ``numba`` or ``numpy``.
#: The environment variable ``MATCHSIM_COMPARISON_KERNEL`` sets it at import.
KERNEL = os.environ.get("MATCHSIM_COMPARISON_KERNEL", "auto")
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _kernels() -> ModuleType | None:
    """The compiled kernels module, or None for the numpy implementation."""
    if KERNEL not in KERNELS:
        raise ConfigError(
            "MATCHSIM_COMPARISON_KERNEL", f"must be one of {', '.join(KERNELS)}. Got {KERNEL!r}."
        )
    if KERNEL == "numpy" or (KERNEL == "auto" and not _HAVE_NUMBA):
        return None
    if not _HAVE_NUMBA:
        raise ConfigError("MATCHSIM_COMPARISON_KERNEL", "numba is not installed")
    from matchsim.comparison import kernels

    return kernels


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _helper_pool(size: int) -> ThreadPoolExecutor:
    """Helper threads kept for the process's life (per process id: a forked child must not
    inherit its parent's pool, whose threads it does not have)."""
    key = (os.getpid(), size)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = ThreadPoolExecutor(size, thread_name_prefix="matchsim-compare")
    return pool


def warm_kernels() -> None:
    """Load the compiled kernels (compiling them on a first run) by comparing a few made-up
    records that reach every kernel, with the argument types real linkages pass."""
    if _kernels() is None:
        return
    rows = [
        ("OLIVER", "SMITH", "2010-01-02", "LS12 3AB"),
        ("SMITH", "OLIVER", "2010-02-01", "LS12 3AD"),
        ("OLIVIA", "SMYTH", "2011-01-02", "LS1 1AA"),
        ("ZOË", "KHAN", None, None),
    ]
    table = pd.DataFrame(rows, columns=["fn", "sn", "dob", "pc"], dtype=object)
    data = prepare(
        table, table, {"fn": "forename", "sn": "surname", "dob": "date_of_birth", "pc": "postcode"}
    )
    left = np.repeat(np.arange(len(rows), dtype=np.int64), len(rows))
    right = np.tile(np.arange(len(rows), dtype=np.int64), len(rows))
    compare(data, left, right, ["forename", "surname", "date_of_birth", "postcode"], workers=1)


@dataclass(frozen=True)
class _PairCodes:
    """A role's codes for the kernels. Pair ``i`` has code ``left_codes[left[i]]`` on the left
    and ``b[i]`` on the right; ``used`` lists the codes the pairs use (ascending).

    The kernels keep a used value's features in a table of ``size`` rows: the value
    ``used[u]`` at row ``rows[u]``, and pair ``i``'s at rows ``left_rows[left[i]]`` and
    ``right_rows[i]`` (-1 stays missing)."""

    left_codes: np.ndarray
    left: np.ndarray
    b: np.ndarray
    used: np.ndarray
    left_rows: np.ndarray
    right_rows: np.ndarray
    rows: np.ndarray
    size: int

    def a(self, pairs: np.ndarray) -> np.ndarray:
        """The left-side codes of ``pairs``."""
        return self.left_codes[self.left[pairs]]


#: Feature tables have a row per vocabulary code while that takes at most 64 bytes a pair plus
#: 4 MiB: a pair then reads its features by code. A larger vocabulary (millions of distinct
#: names against a small batch) gets a row per used value instead, found through a position
#: array (8 bytes a code, as for the ``seen`` marks' byte), so that no table grows with the
#: vocabulary.
_TABLE_BYTES_PER_PAIR, _TABLE_FLOOR_BYTES = 64, 1 << 22


def _pair_codes(
    kernels: ModuleType,
    data: LinkageData,
    role: str,
    left: np.ndarray,
    right: np.ndarray,
    row_bytes: int,
) -> _PairCodes:
    left_codes = data.left.codes[role]
    seen = np.zeros(len(data.vocabularies[role]), dtype=np.bool_)
    b = kernels.gather_codes(left_codes, data.right.codes[role], left, right, seen)
    used = np.flatnonzero(seen)
    if len(seen) * row_bytes <= _TABLE_BYTES_PER_PAIR * len(left) + _TABLE_FLOOR_BYTES:
        return _PairCodes(left_codes, left, b, used, left_codes, b, used, len(seen))
    position = np.zeros(len(seen), dtype=np.int64)
    position[used] = np.arange(len(used))
    left_rows = np.where(left_codes >= 0, position[np.maximum(left_codes, 0)], -1)
    right_rows = np.where(b >= 0, position[np.maximum(b, 0)], -1)
    return _PairCodes(
        left_codes,
        left,
        b,
        used,
        left_rows,
        right_rows,
        np.arange(len(used)),
        len(used),
    )


def _string_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """The offsets and bytes of a string array without nulls, read in place (None for any
    other layout: the caller takes the numpy path)."""
    if not (pa.types.is_string(values.type) and values.null_count == 0):
        return None
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    return offsets, data if data is not None else np.zeros(0, dtype=np.uint8)


COMPARISONS: Registry[Comparison] = Registry("comparison", "comparison.kind", name_attribute="kind")
comparison = COMPARISONS.register

SIMILARITIES: dict[str, Callable[..., float]] = {
    "jaro_winkler": distance.JaroWinkler.normalized_similarity,
    "jaro": distance.Jaro.normalized_similarity,
    "levenshtein": distance.Levenshtein.normalized_similarity,
    "damerau_levenshtein": distance.DamerauLevenshtein.normalized_similarity,
    "token_set": lambda a, b, **kw: fuzz.token_set_ratio(a, b, **kw) / 100.0,
}


class Comparison:
    """Base class. Subclasses set ``levels`` (names, strongest first, without the implicit
    ``missing`` and ``else``) in ``__init__`` and implement :meth:`_levels`.

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

    def compute(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Level index (int8) of each pair: 0 missing, 1.. the agreement levels, last else."""
        out = self._levels(data, left, right)
        return out.astype(np.int8)

    def _levels(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name}: " + " > ".join(self.level_names)


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) code pairs and each input pair's index into them (hash-based)."""
    key = a.astype(np.int64) * np.int64(1 << 31) + b.astype(np.int64)
    inverse, uniques = pd.factorize(key)
    return (uniques // (1 << 31)).astype(np.int64), (uniques % (1 << 31)).astype(np.int64), inverse


def similarity_of_codes(
    values: pa.Array | np.ndarray, a: np.ndarray, b: np.ndarray, scorer: str, workers: int = 1
) -> np.ndarray:
    """Similarity of vocabulary values ``a[i]`` and ``b[i]``, once per distinct pair."""
    ua, ub, inverse = _unique_pairs(a, b)
    return _pair_similarity(values, ua, ub, scorer, workers=workers)[inverse]


def _compact(*codes: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct codes among ``codes`` (ascending) and each array's positions in them."""
    size = int(max((c.max(initial=-1) for c in codes), default=-1)) + 1
    seen = np.zeros(size, dtype=bool)
    for c in codes:
        seen[c] = True
    used = np.flatnonzero(seen)
    position = np.cumsum(seen) - 1
    return used, [position[c] for c in codes]


def _pair_similarity(
    values: pa.Array | np.ndarray,
    ua: np.ndarray,
    ub: np.ndarray,
    scorer: str,
    *,
    workers: int = 1,
) -> np.ndarray:
    """Similarity of each (``values[ua[i]]``, ``values[ub[i]]``)."""
    if not len(ua):
        return np.zeros(0, dtype=np.float32)
    # Python strings only for the values these pairs use, not the whole vocabulary.
    used, (pa_, pb_) = _compact(ua, ub)
    if isinstance(values, np.ndarray):
        text = values[used]
    else:
        text = values.take(pa.array(used)).to_numpy(zero_copy_only=False)
    # rapidfuzz's own scorers run in C++; token_set is on a 0-100 scale, so it is called
    # directly and rescaled rather than wrapped in a Python lambda (one call per pair).
    native, scale = _NATIVE.get(scorer, (SIMILARITIES[scorer], 1.0))
    # (No score_cutoff: rapidfuzz's Jaro-Winkler then drops scores equal to the cutoff.)
    sims = process.cpdist(text[pa_], text[pb_], scorer=native, workers=workers, dtype=np.float32)
    return np.asarray(sims, dtype=np.float32) * np.float32(scale)


def _check_thresholds(name: str, thresholds: Sequence[float]) -> tuple[float, ...]:
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
    if len(values) > _MAX_THRESHOLDS:
        raise ConfigError(field, f"at most {_MAX_THRESHOLDS} thresholds. Got {len(values)}.")
    return values


#: Levels are stored as int8, and the kernels' ``min()`` over ``level + 128 * missed`` needs
#: every level below 128.
_MAX_THRESHOLDS = 100


@comparison("name")
class NameComparison(Comparison):
    """Exact, then fuzzy thresholds, phonetic equality, the first three letters, the forename
    and surname swapped (forenames), and the initial only.

    Parameters
    ----------
    role
        forename, surname or middle_names.
    similarity
        jaro_winkler, jaro, levenshtein, damerau_levenshtein or token_set (rapidfuzz).
    thresholds
        Similarity levels, highest first, each in (0, 1].
    phonetic
        Phonetic code whose equality is a level (soundex, metaphone, nysiis, match_rating),
        or null for none.
    first3
        A level for the same first three letters.
    initial
        A level for the same initial.
    swapped
        A level for the forename equal to the other record's surname (default: on for
        forenames only).
    """

    relative_cost = 3.0

    def __init__(
        self,
        role: str = "surname",
        *,
        name: str | None = None,
        similarity: str = "jaro_winkler",
        thresholds: Sequence[float] = (0.92, 0.8),
        phonetic: str | None = "soundex",
        first3: bool = True,
        initial: bool = True,
        swapped: bool | None = None,
    ) -> None:
        super().__init__(role, name)
        if role not in ("forename", "surname", "middle_names"):
            raise ConfigError(f"comparison.{self.name}.role", f"{role!r} is not a name role")
        if similarity not in SIMILARITIES:
            raise UnknownNameError(f"comparison.{self.name}.similarity", similarity, SIMILARITIES)
        if phonetic is not None and phonetic not in PHONETIC:
            raise UnknownNameError(f"comparison.{self.name}.phonetic", phonetic, PHONETIC)
        self.similarity = similarity
        self.thresholds = _check_thresholds(self.name, thresholds)
        self.phonetic = phonetic
        self.initial = initial
        self.first3 = first3
        self.swapped = (role == "forename") if swapped is None else swapped
        levels = ["exact"]
        levels += [f"{similarity}>={t:g}" for t in self.thresholds[:1]]
        if phonetic:
            levels.append(f"{phonetic}")
        levels += [f"{similarity}>={t:g}" for t in self.thresholds[1:]]
        if first3:
            levels.append("first3")
        if self.swapped:
            levels.append("swapped")
        if initial:
            levels.append("initial")
        self.levels = tuple(levels)

    def _levels(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        kernels = _kernels()
        if kernels is not None:
            compiled = self._levels_compiled(kernels, data, left, right)
            if compiled is not None:
                return compiled
        vocab = data.vocabularies[self.role]
        a = data.left.codes[self.role][left]
        b = data.right.codes[self.role][right]
        present = (a >= 0) & (b >= 0)
        everywhere = bool(present.all())
        if not everywhere:
            a, b = a[present], b[present]
        # Every level but ``swapped`` depends on the two values alone: decide it once per
        # distinct pair of values and gather (names repeat heavily).
        ua, ub, inverse = _unique_pairs(a, b)
        sub = self._value_pair_levels(vocab, ua, ub)[inverse]
        if self.swapped:
            pos = 1 + self.levels.index("swapped")
            weaker = np.flatnonzero(sub > pos)
            where = weaker if everywhere else np.flatnonzero(present)[weaker]
            sub[weaker[self._swapped(data, left[where], right[where])]] = pos
        if everywhere:
            return sub
        level = np.zeros(len(present), dtype=np.int8)
        level[present] = sub
        return level

    def _levels_compiled(
        self, kernels: ModuleType, data: LinkageData, left: np.ndarray, right: np.ndarray
    ) -> np.ndarray | None:
        """The levels by :mod:`.kernels`: one pass decides every pair whose similarity
        could not change its level; rapidfuzz scores the others."""
        vocab = data.vocabularies[self.role]
        buffers = _string_buffers(vocab.values)
        if buffers is None:
            return None
        offsets, text_bytes = buffers
        codes = _pair_codes(kernels, data, self.role, left, right, 8 * kernels.NAME_FEATURES)
        used, rows = codes.used, codes.rows
        if not len(used):  # no pair has a value on either side
            return np.zeros(len(left), dtype=np.int8)
        table, *byte_keys = kernels.name_value_features(
            offsets, text_bytes, used, rows, codes.size, _SOUNDEX_DIGIT, _MAX_WORD
        )
        if self.similarity not in ("jaro_winkler", "jaro"):
            # The bound is Jaro-Winkler's (and so Jaro's); other similarities: score all.
            table[rows, kernels.BOUNDED] = 0
        by_kind = dict(zip(("soundex", "first3", "initial"), byte_keys, strict=True))
        kinds = [k for k in (self.phonetic, "first3", "initial") if k and k in self.levels]
        for j, kind in enumerate(kinds):
            column = by_kind.get(kind)
            if column is None or (len(column) and column[0] == -2):
                column = vocab.keys(kind, used)  # outside the byte rules: derive the text
            table[rows, kernels.FIRST_KEY + j] = column
        exact_level, else_level = 1 + self.levels.index("exact"), self.n_levels - 1
        key_level = np.full(kernels.KEY_COLUMNS, else_level, dtype=np.int64)
        threshold, threshold_level = [], []
        thresholds = iter(self.thresholds)  # the similarity levels, strongest first
        for level, name in enumerate(self.levels, start=1):
            if name in kinds:
                key_level[kinds.index(name)] = level
            elif name not in ("exact", "swapped"):
                threshold.append(next(thresholds))
                threshold_level.append(level)
        # Per level: the lowest threshold that would place a pair above it (2: none).
        worth_scoring = np.full(self.n_levels, 2.0, dtype=np.float32)
        for t, level in zip(threshold, threshold_level, strict=True):
            worth_scoring[level + 1 :] = np.minimum(worth_scoring[level + 1 :], t)
        pair_rows = (codes.left_rows, codes.left, codes.right_rows)
        levels = kernels.name_pair_levels(
            *pair_rows, table, key_level, worth_scoring, exact_level, else_level
        )
        scored = np.flatnonzero(levels == kernels.NEEDS_SIMILARITY)
        if len(scored):
            similarity = similarity_of_codes(
                vocab.values, codes.a(scored), codes.b[scored], self.similarity
            )
            kernels.name_levels_by_similarity(
                scored,
                *pair_rows,
                table,
                similarity,
                key_level,
                np.array(threshold, dtype=np.float32),
                np.array(threshold_level, dtype=np.int64),
                else_level,
                levels,
            )
        if self.swapped:
            pos = 1 + self.levels.index("swapped")
            weaker = np.flatnonzero(levels > pos)
            swapped = self._swapped_compiled(kernels, data, right, codes, weaker)
            levels[weaker[swapped]] = pos
        return levels

    def _swapped_compiled(
        self,
        kernels: ModuleType,
        data: LinkageData,
        right: np.ndarray,
        codes: _PairCodes,
        pairs: np.ndarray,
    ) -> np.ndarray:
        """:meth:`_swapped` of the pairs ``pairs`` (``codes``: this name's codes of every
        pair), by comparing the names' bytes in place."""
        other = "surname" if self.role == "forename" else "forename"
        if other not in data.vocabularies or not len(pairs):
            return np.zeros(len(pairs), dtype=bool)
        this_buffers = _string_buffers(data.vocabularies[self.role].values)
        other_buffers = _string_buffers(data.vocabularies[other].values)
        if this_buffers is None or other_buffers is None:
            return self._swapped(data, codes.left[pairs], right[pairs])
        return kernels.swapped_names(
            pairs,
            codes.left_codes,
            codes.b,
            codes.left,
            right,
            data.left.codes[other],
            data.right.codes[other],
            *this_buffers,
            *other_buffers,
        )

    def _value_pair_levels(self, vocab: Vocabulary, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
        """Level of each distinct value pair, ignoring ``swapped``: each rule runs only on the
        pairs that no stronger rule has placed."""
        level = np.full(len(ua), self.n_levels - 1, dtype=np.int8)
        open_ = np.flatnonzero(ua != ub)
        level[ua == ub] = 1 + self.levels.index("exact")
        sims = _pair_similarity(vocab.values, ua[open_], ub[open_], self.similarity)
        rules: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = []
        rules.append(
            (f"{self.similarity}>={self.thresholds[0]:g}", lambda i: sims[i] >= self.thresholds[0])
        )
        keys_of = self._keys(vocab, ua[open_], ub[open_])
        if self.phonetic:
            rules.append((self.phonetic, keys_of(self.phonetic)))
        for t in self.thresholds[1:]:
            rules.append((f"{self.similarity}>={t:g}", lambda i, t=t: sims[i] >= t))
        if self.first3:
            rules.append(("first3", keys_of("first3")))
        if self.initial:
            rules.append(("initial", keys_of("initial")))
        todo = np.arange(len(open_))
        for name, rule in rules:
            if not len(todo):
                break
            hit = rule(todo)
            level[open_[todo[hit]]] = 1 + self.levels.index(name)
            todo = todo[~hit]
        return level

    @staticmethod
    def _keys(
        vocab: Vocabulary, a: np.ndarray, b: np.ndarray
    ) -> Callable[[str], Callable[[np.ndarray], np.ndarray]]:
        """Rules "same derived key" on pairs (a[i], b[i]), deriving keys only for their values
        and only once a rule is reached."""
        used, (pa_, pb_) = _compact(a, b)
        view = ValueBytes(vocab.values, used)

        def rule(kind: str) -> Callable[[np.ndarray], np.ndarray]:
            keys: list[np.ndarray] = []

            def agree(i: np.ndarray) -> np.ndarray:
                if not keys:
                    keys.append(vocab.keys(kind, used, view))
                k = keys[0]
                ka = k[pa_[i]]
                return (ka == k[pb_[i]]) & (ka >= 0)

            return agree

        return rule

    def _swapped(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Forename and surname swapped: this name on the left is the other name on the right,
        and the other way round."""
        other = "surname" if self.role == "forename" else "forename"
        if other not in data.vocabularies or not len(left):
            return np.zeros(len(left), dtype=bool)
        this_v, other_v = data.vocabularies[self.role], data.vocabularies[other]
        lt, lo = data.left.codes[self.role][left], data.left.codes[other][left]
        rt, ro = data.right.codes[self.role][right], data.right.codes[other][right]
        ok = np.flatnonzero((lt >= 0) & (lo >= 0) & (rt >= 0) & (ro >= 0))
        out = np.zeros(len(left), dtype=bool)
        if not len(ok):
            return out
        # Compare first letters (cheap keys of the few values involved), then the full text
        # of the few pairs whose letters cross over.
        crossing = ok[
            _cross_equal(this_v, lt[ok], other_v, ro[ok], "initial")
            & _cross_equal(other_v, lo[ok], this_v, rt[ok], "initial")
        ]
        if len(crossing):
            text = (
                this_v.values.take(pa.array(lt[crossing])),
                other_v.values.take(pa.array(ro[crossing])),
            )
            back = (
                other_v.values.take(pa.array(lo[crossing])),
                this_v.values.take(pa.array(rt[crossing])),
            )
            same = pc.and_(pc.equal(*text), pc.equal(*back)).to_numpy(zero_copy_only=False)
            out[crossing[same]] = True
        return out


def _cross_equal(
    va: Vocabulary, a: np.ndarray, vb: Vocabulary, b: np.ndarray, kind: str
) -> np.ndarray:
    """Whether derived keys of ``va`` values ``a[i]`` and ``vb`` values ``b[i]`` agree (two
    vocabularies: keys are compared only where both come from the byte rules)."""
    used_a, (ia,) = _compact(a)
    used_b, (ib,) = _compact(b)
    ka = derived_keys(kind, ValueBytes(va.values, used_a))
    kb = derived_keys(kind, ValueBytes(vb.values, used_b))
    if ka is None or kb is None:  # not plain ASCII: no pre-filter, the text decides
        return np.ones(len(a), dtype=bool)
    return ka[ia] == kb[ib]


@comparison("date_of_birth")
class DateOfBirthComparison(Comparison):
    """Exact, day and month swapped, one digit different (DD/MM/YYYY), same month and year,
    same year, and within a number of days (``days``).

    Parameters
    ----------
    days
        The widest gap, in days, of the last level (1 or more).
    """

    def __init__(
        self, role: str = "date_of_birth", *, name: str | None = None, days: int = 365
    ) -> None:
        super().__init__(role, name or "date_of_birth")
        if not isinstance(days, int) or days < 1:
            raise ConfigError(
                f"comparison.{self.name}.days", f"{days!r} must be a whole number >= 1"
            )
        self.days = days
        self.levels = (
            "exact",
            "day_month_swap",
            "one_digit",
            "same_month_year",
            "same_year",
            f"within_{days}_days",
        )

    def _levels(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        kernels = _kernels()
        if kernels is not None:
            levels, inside = kernels.date_of_birth_levels(
                data.left.dob,
                left,
                kernels.gather_values(data.right.dob, right),
                MISSING_DATE,
                cal.TABLE_START,
                _calendar_words(),
                self.days,
            )
            if inside:
                return levels
            # A date outside the calendar table: the numpy path raises the calendar's error.
        a, b = data.left.dob[left], data.right.dob[right]
        level = np.full(len(a), self.n_levels - 1, dtype=np.int8)
        missing = (a == MISSING_DATE) | (b == MISSING_DATE)
        exact = a == b
        level[exact] = 1
        # The other rules only for the pairs that differ, strongest first.
        todo = np.flatnonzero(~exact & ~missing)
        if len(todo):
            da, db = a[todo], b[todo]
            ya, ma, dya = cal.year_month_day(da)
            yb, mb, dyb = cal.year_month_day(db)
            rules = [
                lambda i: (dya[i] == mb[i]) & (ma[i] == dyb[i]) & (ya[i] == yb[i]),
                lambda i: _digits_differing(ya[i], ma[i], dya[i], yb[i], mb[i], dyb[i]) == 1,
                lambda i: (ya[i] == yb[i]) & (ma[i] == mb[i]),
                lambda i: ya[i] == yb[i],
                lambda i: np.abs(da[i] - db[i]) <= self.days,
            ]
            open_ = np.arange(len(todo))
            for pos, rule in enumerate(rules, start=2):
                if not len(open_):
                    break
                hit = rule(open_)
                level[todo[open_[hit]]] = pos
                open_ = open_[~hit]
        level[missing] = 0
        return level


#: Differing decimal digits of every pair of numbers below 100.
_TWO_DIGITS = np.arange(100)
_DIGIT_DIFF = ((_TWO_DIGITS[:, None] % 10) != (_TWO_DIGITS[None, :] % 10)).astype(np.int64) + (
    (_TWO_DIGITS[:, None] // 10) != (_TWO_DIGITS[None, :] // 10)
)


@functools.cache
def _calendar_words() -> np.ndarray:
    """The calendar table as the date kernel reads it, one word per day: its DDMMYYYY digits
    (4 bits each) in bits 0-31, then day, month and year from bits 32, 40 and 48."""
    year = cal.TABLE_YEAR.astype(np.int64)
    month = cal.TABLE_MONTH.astype(np.int64)
    day = cal.TABLE_MDAY.astype(np.int64)
    digits = (day // 10, day % 10, month // 10, month % 10)
    digits += (year // 1000 % 10, year // 100 % 10, year // 10 % 10, year % 10)
    words = (day << 32) | (month << 40) | (year << 48)
    for place, digit in enumerate(digits):
        words |= digit << (4 * place)
    return words


def _digits_differing(ya, ma, da, yb, mb, db) -> np.ndarray:
    """Number of differing digits between two dates written DDMMYYYY (by table: two digits at
    a time)."""
    return (
        _DIGIT_DIFF[da, db]
        + _DIGIT_DIFF[ma, mb]
        + _DIGIT_DIFF[ya % 100, yb % 100]
        + _DIGIT_DIFF[ya // 100 % 100, yb // 100 % 100]
    )


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

    def _levels(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        vocab = data.vocabularies[self.role]
        kernels = _kernels()
        buffers = _string_buffers(vocab.values) if kernels is not None else None
        if buffers is not None:
            codes = _pair_codes(kernels, data, self.role, left, right, 8)  # a word a postcode
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
            used, (ia, ib) = _compact(a[todo], b[todo])
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
        self.thresholds = _check_thresholds(self.name, thresholds)
        self.levels = ("exact", *(f"token_set>={t:g}" for t in self.thresholds))

    def _levels(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
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
        (self.address_threshold,) = _check_thresholds(self.name, [address_threshold])
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

    def _levels(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        has_address = "address" in data.vocabularies
        pc_level = self._postcode._levels(
            data, left, right
        )  # 0 missing, 1 full, 2 sector, 3 district
        # 0 missing, 1 exact, 2 similar (no address role: always missing)
        ad_level = (
            self._address._levels(data, left, right)
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


@comparison("sex")
class SexComparison(Comparison):
    """Exact, or not."""

    def __init__(self, role: str = "sex", *, name: str | None = None) -> None:
        super().__init__(role, name)
        self.levels = ("exact",)

    def _levels(self, data: LinkageData, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        a, b = data.left.sex[left], data.right.sex[right]
        level = np.where(a == b, 1, 2).astype(np.int16)
        level[(a == MISSING) | (b == MISSING)] = 0
        return level


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


def default_comparisons(
    data: LinkageData | None = None, *, address_with_postcode: bool = True
) -> tuple[Comparison, ...]:
    """A comparison for every role the linkage has (all of them when ``data`` is None).

    ``address_with_postcode=False`` judges postcode and address together (one
    :class:`LocationComparison`): a model that multiplies independent evidence
    (Fellegi-Sunter) would otherwise count one shared home twice, and a sibling would look
    like the child asked about.
    """
    roles = (
        set(data.roles)
        if data is not None
        else {
            "forename",
            "surname",
            "date_of_birth",
            "postcode",
            "address",
            "sex",
        }
    )
    out: list[Comparison] = []
    if "forename" in roles:
        out.append(NameComparison("forename"))
    if "surname" in roles:
        out.append(NameComparison("surname"))
    if "date_of_birth" in roles:
        out.append(DateOfBirthComparison())
    if "postcode" in roles and "address" in roles and not address_with_postcode:
        out.append(LocationComparison())
    else:
        if "postcode" in roles:
            out.append(PostcodeComparison())
        if "address" in roles:
            out.append(AddressComparison())
    if "sex" in roles:
        out.append(SexComparison())
    return tuple(out)


def make_comparison(spec: str | dict | Comparison) -> Comparison:
    """A comparison from an instance, a role name (default settings) or a mapping
    ``{"kind": "name", "role": "forename", ...}``."""
    if isinstance(spec, Comparison):
        return spec
    if isinstance(spec, str):
        defaults = {
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


def compare(
    data: LinkageData,
    left: np.ndarray,
    right: np.ndarray,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    *,
    workers: int | None = None,
) -> ComparisonResult:
    """Levels of every candidate pair for every comparison.

    The comparisons run side by side on ``workers`` threads (default: one per core, at most
    one per comparison): the compiled kernels and rapidfuzz release the GIL, and each
    comparison writes its own column, so the result does not depend on ``workers``.
    """
    chosen = (
        tuple(make_comparison(c) for c in comparisons) if comparisons else default_comparisons(data)
    )
    for c in chosen:
        if (
            c.role in ("forename", "surname", "middle_names", "postcode", "address")
            and c.role not in data.vocabularies
        ):
            raise ConfigError("comparison", f"{c.name} needs the role {c.role!r} on both sides")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise ConfigError("workers", f"must be a whole number >= 1. Got {workers!r} instead.")
    if workers is not None and workers < 1:
        raise ConfigError("workers", f"must be a whole number >= 1. Got {workers!r} instead.")
    levels = np.empty((len(left), len(chosen)), dtype=np.int8)
    threads = min(workers or os.cpu_count() or 1, len(chosen))
    if threads <= 1 or len(left) < _PAIRS_PER_THREAD:
        for i, c in enumerate(chosen):
            levels[:, i] = c.compute(data, left, right)
    else:
        # Longest first, so that the short ones fill in at the end (names and addresses call
        # rapidfuzz; dates and sex are one pass). The calling thread takes its share rather
        # than wait, and the helpers outlive the call (no thread start per call). Splitting
        # each comparison's pairs between the threads, so that a thread slowed by other work
        # on its core would take fewer parts, measured slower: each part derives its values'
        # features and scores its distinct name pairs again.
        queue = iter(sorted(range(len(chosen)), key=lambda i: -chosen[i].relative_cost))
        lock = threading.Lock()

        def work() -> list[tuple[int, np.ndarray]]:
            done = []
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return done
                done.append((i, chosen[i].compute(data, left, right)))

        pool = _helper_pool(threads - 1)
        helpers = [pool.submit(work) for _ in range(threads - 1)]
        columns = work()
        for helper in helpers:
            columns += helper.result()
        for i, column in columns:
            levels[:, i] = column
    return ComparisonResult(left=left, right=right, levels=levels, comparisons=chosen)
