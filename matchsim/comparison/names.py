"""Name comparisons: exact, similarity thresholds, phonetic keys, first letters, swapped names.

With numba, one compiled pass (:mod:`.kernels`) decides every pair whose similarity could not
change its level, and rapidfuzz scores only the others (:func:`.kernels.jaro_winkler_bound`
rules out the rest). The numpy path decides each distinct pair of values once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.comparison.base import Comparison, check_thresholds, comparison
from matchsim.comparison.codes import PairCodes, compact, pair_codes, string_buffers, unique_pairs
from matchsim.comparison.similarity import SIMILARITIES, pair_similarity, similarity_of_codes
from matchsim.errors import ConfigError, UnknownNameError
from matchsim.records import (
    PHONETIC,
    SOUNDEX_DIGIT,
    SOUNDEX_MAX_WORD,
    LinkageData,
    ValueBytes,
    Vocabulary,
    derived_keys,
)


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
        self.thresholds = check_thresholds(self.name, thresholds)
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

    def _levels(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        kernels: ModuleType | None,
    ) -> np.ndarray:
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
        ua, ub, inverse = unique_pairs(a, b)
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
        buffers = string_buffers(vocab.values)
        if buffers is None:
            return None
        offsets, text_bytes = buffers
        codes = pair_codes(kernels, data, self.role, left, right, 8 * kernels.NAME_FEATURES)
        used, rows = codes.used, codes.rows
        if not len(used):  # no pair has a value on either side
            return np.zeros(len(left), dtype=np.int8)
        table, *byte_keys = kernels.name_value_features(
            offsets, text_bytes, used, rows, codes.size, SOUNDEX_DIGIT, SOUNDEX_MAX_WORD
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
        codes: PairCodes,
        pairs: np.ndarray,
    ) -> np.ndarray:
        """:meth:`_swapped` of the pairs ``pairs`` (``codes``: this name's codes of every
        pair), by comparing the names' bytes in place."""
        other = "surname" if self.role == "forename" else "forename"
        if other not in data.vocabularies or not len(pairs):
            return np.zeros(len(pairs), dtype=bool)
        this_buffers = string_buffers(data.vocabularies[self.role].values)
        other_buffers = string_buffers(data.vocabularies[other].values)
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
        sims = pair_similarity(vocab.values, ua[open_], ub[open_], self.similarity)

        def reaches(t: float) -> Callable[[np.ndarray], np.ndarray]:
            return lambda i: sims[i] >= t

        rules = [(f"{self.similarity}>={self.thresholds[0]:g}", reaches(self.thresholds[0]))]
        keys_of = self._keys(vocab, ua[open_], ub[open_])
        if self.phonetic:
            rules.append((self.phonetic, keys_of(self.phonetic)))
        for t in self.thresholds[1:]:
            rules.append((f"{self.similarity}>={t:g}", reaches(t)))
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
        used, (pa_, pb_) = compact(a, b)
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
    used_a, (ia,) = compact(a)
    used_b, (ib,) = compact(b)
    ka = derived_keys(kind, ValueBytes(va.values, used_a))
    kb = derived_keys(kind, ValueBytes(vb.values, used_b))
    if ka is None or kb is None:  # not plain ASCII: no pre-filter, the text decides
        return np.ones(len(a), dtype=bool)
    return ka[ia] == kb[ib]
