"""Compiled comparison kernels (numba): one pass over the candidate pairs per comparison.

Why compiled code: the numpy implementation of the comparison families makes a
dozen passes over the pairs per field (gathers, masks, one pass per level) and builds every
derived key over whole arrays. At a few nanoseconds of work per pair, memory traffic and
temporaries dominate. A compiled loop decides
each pair's level in one pass, reading the values' bytes straight from the Arrow buffers.

String similarity itself stays with rapidfuzz: the kernels only rule out the pairs whose
Jaro-Winkler score could not change their level (an upper bound from letter counts, lengths
and the common prefix, :func:`jaro_winkler_bound`, under every threshold that would place
them above what their keys give), and rapidfuzz scores the rest.

Per-value features live in arrays indexed by vocabulary code (one row per code for names,
one word per code for postcodes), so that a pair reads them with no lookup in between.

Every kernel reproduces its numpy counterpart exactly (``tests/comparison`` checks them
against each other on hypothesis-generated data). Kernels say when their byte rules do not
cover a value (not ASCII, too long) with a ``False`` flag or a key column of ``-2``, and the
caller then takes the numpy path, which falls back to text.

Each kernel runs on one thread and releases the GIL (``nogil``); ``compare`` runs the
comparisons side by side on Python threads. Parallel numba would need a threading layer that
is not safe with every executor matchsim runs under (forked worker processes, Dask threads).

Why one module of about 540 lines: it holds every compiled loop of the comparison stage and
nothing else. The families share private helpers that numba inlines at compile time
(``_popcount``, ``_rule``, ``_where``), the module's public jitted functions are exactly what
:func:`matchsim.comparison.engine.warm_kernels` must compile before the first batch (a test
walks this module to check that none compiles later), and ``cache=True`` keys each kernel's
on-disk cache by this file. Splitting it by family would make those helpers public across
modules and scatter the set the test checks, for files of 50 to 300 lines.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

#: A pair whose level depends on its similarity score, which the caller computes.
NEEDS_SIMILARITY = -1

#: A Jaro-Winkler bound this close under a threshold still counts as reaching it (floating
#: point rounding in the bound must never rule out a pair rapidfuzz would place above it).
_BOUND_SLACK = 1e-9


@intrinsic
def _popcount(typingctx, word):
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


# Levels are chosen by arithmetic, never by ``a if c else b``: LLVM compiles those to branches,
# and with pairs in no predictable order each mispredicted branch costs more than the rest of
# the pair's work.
_NEVER = 128  # added to a rule's level when it does not hit: above every int8 level


@njit(nogil=True, inline="always")
def _rule(level, hit):
    """``level`` when ``hit``, else a level min() never picks."""
    return level + _NEVER * (1 - np.int64(hit))


@njit(nogil=True, inline="always")
def _where(condition, value, otherwise):
    """``value`` when ``condition``, else ``otherwise``, without a branch."""
    return otherwise + np.int64(condition) * (value - otherwise)


# --------------------------------------------------------------------------------------------
# Codes of the pairs
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def gather_codes(left_codes, right_codes, left, right, seen):  # pragma: no cover
    """The right-side code of each pair, marking ``seen[code]`` for every code a pair uses on
    either side. The left side's codes stay where they are (``left_codes[left[i]]``): the
    left rows are few and the pairs come in their order, so the kernels read them in place.

    Two loops, so that no mark's store waits on a load from the register: the first only
    gathers, the second marks from the left codes and the gathered ones.
    """
    n = right.shape[0]
    b = np.empty(n, dtype=np.int64)
    for i in range(n):
        b[i] = right_codes[right[i]]
    for i in range(n):
        x = left_codes[left[i]]
        y = b[i]
        if x >= 0:
            seen[x] = True
        if y >= 0:
            seen[y] = True
    return b


@njit(nogil=True, cache=True)
def gather_values(right_values, right):  # pragma: no cover
    """The right-side value of each pair."""
    n = right.shape[0]
    b = np.empty(n, dtype=right_values.dtype)
    for i in range(n):
        b[i] = right_values[right[i]]
    return b


# --------------------------------------------------------------------------------------------
# Name values: features for the bound, and derived keys
# --------------------------------------------------------------------------------------------


#: Columns of a name value's feature row (:func:`name_value_features`): one 64-byte row per
#: vocabulary code (per used value when the vocabulary dwarfs the pairs), so that a pair's
#: bound and keys cost two cache lines, read by code with no lookup in between (a column per
#: feature would cost a cache line per feature, and a code-to-position array a lookup).
LENGTH, ONCE_TWICE, THRICE_FOUR, PREFIX, BOUNDED, FIRST_KEY = 0, 1, 2, 3, 4, 5
NAME_FEATURES = 8  # columns: the five features, then three key columns
KEY_COLUMNS = NAME_FEATURES - FIRST_KEY


@njit(nogil=True, cache=True)
def name_value_features(
    offsets, data, used, rows, size, soundex_digit, max_word
):  # pragma: no cover
    """Per used value: its length and letter-count masks for the Jaro-Winkler bound, its first
    eight bytes, and its Soundex, first-three-letters and initial keys by the byte rules of
    :func:`matchsim.records.derived_keys`.

    The features of value ``used[u]`` go into row ``rows[u]`` of a (``size``,
    :data:`NAME_FEATURES`) table (the masks and prefix as their bits); other rows stay zero,
    and the key columns are the caller's to fill. The keys come back per used value.

    ``BOUNDED`` is 0 where the bound does not apply (not ASCII, or a letter five times or
    more); a key column is all ``-2`` when some value falls outside its byte rules, so that the
    caller derives that kind for every value the slow way (keys must agree across values).
    """
    n = used.shape[0]
    table = np.zeros((size, NAME_FEATURES), dtype=np.int64)
    soundex = np.empty(n, dtype=np.int64)
    first3 = np.empty(n, dtype=np.int64)
    initial = np.empty(n, dtype=np.int64)
    soundex_ok = True
    prefix_ok = True
    counts = np.zeros(32, dtype=np.int64)
    for u in range(n):
        start = offsets[used[u]]
        size_ = offsets[used[u] + 1] - start
        row = rows[u]
        counts[:] = 0
        once_twice = np.uint64(0)  # bit c: letter bucket c at least once; 32+c: twice
        thrice_four = np.uint64(0)  # bit c: at least three times; 32+c: four times
        prefix = np.uint64(0)
        bounded = True
        for k in range(size_):
            byte = data[start + k]
            if byte >= 128 or byte == 0:
                bounded = False
            # Buckets merge upper and lower case and some punctuation with letters: merging
            # can only raise a count, so the bound stays an upper bound.
            c = byte & 31
            counts[c] += 1
            seen = counts[c]
            if seen == 1:
                once_twice |= np.uint64(1) << np.uint64(c)
            elif seen == 2:
                once_twice |= np.uint64(1) << np.uint64(32 + c)
            elif seen == 3:
                thrice_four |= np.uint64(1) << np.uint64(c)
            elif seen == 4:
                thrice_four |= np.uint64(1) << np.uint64(32 + c)
            else:
                bounded = False
            if k < 8:
                prefix |= np.uint64(byte) << np.uint64(8 * k)
        table[row, LENGTH] = size_
        table[row, ONCE_TWICE] = np.int64(once_twice)
        table[row, THRICE_FOUR] = np.int64(thrice_four)
        table[row, PREFIX] = np.int64(prefix)
        table[row, BOUNDED] = bounded
        # first3 and initial: the first 3 (1) bytes, which must be plain ASCII.
        keep3 = min(size_, 3)
        ok3 = True
        for k in range(keep3):
            byte = data[start + k]
            if byte >= 128 or byte == 0:
                ok3 = False
        if not ok3:
            prefix_ok = False
        first3[u] = np.int64(prefix & ((np.uint64(1) << np.uint64(8 * keep3)) - np.uint64(1)))
        initial[u] = np.int64(prefix & np.uint64(0xFF)) if size_ > 0 else -1
        if keep3 == 0:
            first3[u] = -1
        # Soundex of the first word: upper-case ASCII letters only, 1 to max_word of them.
        word = size_
        for k in range(size_):
            if data[start + k] == 32:
                word = k
                break
        valid = 0 < word <= max_word
        if valid:
            for k in range(word):
                byte = data[start + k]
                if byte < 65 or byte > 90:
                    valid = False
                    break
        if not valid:
            soundex_ok = False
            soundex[u] = -2
            continue
        first = data[start]
        last = max(soundex_digit[first], 0)
        key = np.int64(first) << 24
        count = 1
        for k in range(1, word):
            if count >= 4:
                break
            d = soundex_digit[data[start + k]]
            if d > 0 and d != last:
                key |= np.int64(d) << (8 * (3 - count))
                count += 1
            if d > 0:
                last = d
            elif d == 0:
                last = 0
        soundex[u] = key
    if not soundex_ok:
        soundex[:] = -2
    if not prefix_ok:
        first3[:] = -2
        initial[:] = -2
    return table, soundex, first3, initial


@njit(nogil=True, inline="always")
def _trailing_zero_bytes(word):
    """Whole zero bytes at the low end of ``word`` (8 when it is zero), without a branch."""
    below_lowest_one = (word & (~word + np.uint64(1))) - np.uint64(1)
    return np.int64(_popcount(below_lowest_one)) // 8


@njit(nogil=True, inline="always")
def jaro_winkler_bound(la, lb, once_a, once_b, thrice_a, thrice_b, prefix_a, prefix_b):
    """An upper bound of rapidfuzz's Jaro-Winkler similarity of two ASCII strings.

    Jaro is (m/la + m/lb + (m - t)/m) / 3 for m matching characters and t transpositions (0
    when m is 0); m is at most the letters the two strings share, counted with multiplicity
    and ignoring Jaro's match window, and t at least 0. Winkler's boost (0.1 per common prefix
    character, at most four, when Jaro exceeds 0.7) grows with Jaro, so the bound of Jaro
    bounds it too. No branch: pairs arrive in no predictable order.
    """
    shared = np.int64(_popcount(once_a & once_b)) + np.int64(_popcount(thrice_a & thrice_b))
    m = min(shared, la, lb)
    jaro = (m / la + m / lb + 1.0) / 3.0  # 1/3 when m is 0: still at least the true 0
    common = min(_trailing_zero_bytes(prefix_a ^ prefix_b), 4, la, lb)
    boost = common * 0.1 * (1.0 - jaro)
    return jaro + boost * np.float64(jaro > 0.7)


@njit(nogil=True, inline="always")
def _bound_of_rows(table, u, v):
    """:func:`jaro_winkler_bound` of the values whose feature rows are ``u`` and ``v``."""
    return jaro_winkler_bound(
        table[u, LENGTH],
        table[v, LENGTH],
        np.uint64(table[u, ONCE_TWICE]),
        np.uint64(table[v, ONCE_TWICE]),
        np.uint64(table[u, THRICE_FOUR]),
        np.uint64(table[v, THRICE_FOUR]),
        np.uint64(table[u, PREFIX]),
        np.uint64(table[v, PREFIX]),
    )


@njit(nogil=True, inline="always")
def _key_level(table, u, v, key_level, else_level):
    """The strongest level the three key columns give rows ``u`` and ``v`` (``key_level[k]``
    for a hit on column ``k``; unused columns carry ``else_level``), unrolled into three
    straight-line reads (no loop over the columns)."""
    first = table[u, FIRST_KEY]
    second = table[u, FIRST_KEY + 1]
    third = table[u, FIRST_KEY + 2]
    return min(
        np.int64(else_level),
        _rule(key_level[0], (first >= 0) & (first == table[v, FIRST_KEY])),
        _rule(key_level[1], (second >= 0) & (second == table[v, FIRST_KEY + 1])),
        _rule(key_level[2], (third >= 0) & (third == table[v, FIRST_KEY + 2])),
    )


@njit(nogil=True, cache=True)
def name_pair_levels(
    left_rows, left, right_rows, table, key_level, worth_scoring, exact_level, else_level
):  # pragma: no cover
    """Level of each pair of table rows, ``left_rows[left[i]]`` and ``right_rows[i]`` (-1:
    missing; equal rows: equal values), or :data:`NEEDS_SIMILARITY` where its similarity
    score could change it.

    ``table`` holds each value's feature row (:func:`name_value_features`, key columns
    filled); a hit on key column ``k`` gives level ``key_level[k]``.
    ``worth_scoring[level]`` is the lowest threshold of the similarity levels stronger than
    ``level`` (above 1 when there is none): a pair is scored only when its bound reaches that
    of the level its keys give it (a Soundex match is scored only to see whether it reaches
    the top threshold). Every rule is evaluated, so that the loop has no data-dependent
    branch: a mispredicted branch costs more than the few loads it would save.
    """
    n = right_rows.shape[0]
    out = np.empty(n, dtype=np.int8)
    # First the pairs settled by their codes alone (missing, exact: about half of them), and
    # the list of the others, kept without a branch (always write, advance when open).
    open_ = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        x = left_rows[left[i]]
        y = right_rows[i]
        absent = (x < 0) | (y < 0)
        out[i] = _where(absent, 0, exact_level)
        open_[count] = i
        count += ~absent & (x != y)
    for j in range(count):
        i = open_[j]
        u = left_rows[left[i]]
        v = right_rows[i]
        level = _key_level(table, u, v, key_level, else_level)
        # Compared as the scores are (float32): rounding keeps order, so a score cannot
        # round above a threshold its bound rounds below.
        bound = np.float32(_bound_of_rows(table, u, v) + _BOUND_SLACK)
        scored = (bound >= worth_scoring[level]) | ~(
            (table[u, BOUNDED] != 0) & (table[v, BOUNDED] != 0)
        )
        out[i] = _where(scored, NEEDS_SIMILARITY, level)
    return out


@njit(nogil=True, cache=True)
def name_levels_by_similarity(
    pairs,
    left_rows,
    left,
    right_rows,
    table,
    similarity,
    key_level,
    threshold,
    threshold_level,
    else_level,
    out,
):  # pragma: no cover
    """Levels of the pairs ``pairs`` into ``out``: their keys' level (as in
    :func:`name_pair_levels`), or ``threshold_level[t]`` when ``similarity`` reaches
    ``threshold[t]`` and that is stronger."""
    for p in range(pairs.shape[0]):
        i = pairs[p]
        level = _key_level(table, left_rows[left[i]], right_rows[i], key_level, else_level)
        for t in range(threshold.shape[0]):
            level = min(level, _rule(np.int64(threshold_level[t]), similarity[p] >= threshold[t]))
        out[i] = level


@njit(nogil=True, inline="always")
def _same_text(offsets_a, data_a, x, offsets_b, data_b, y):
    start_a = offsets_a[x]
    size = offsets_a[x + 1] - start_a
    start_b = offsets_b[y]
    if offsets_b[y + 1] - start_b != size:
        return False
    for k in range(size):
        if data_a[start_a + k] != data_b[start_b + k]:
            return False
    return True


@njit(nogil=True, cache=True)
def swapped_names(
    pairs,
    left_this,
    b,
    left,
    right,
    left_other,
    right_other,
    this_offsets,
    this_data,
    other_offsets,
    other_data,
):  # pragma: no cover
    """Per pair of ``pairs``: this name on the left (code ``left_this[left[i]]``) is the other
    name on the right and the other way round (byte-equal text: the two names have separate
    vocabularies). ``b``: this name's code on the right, per pair."""
    out = np.zeros(pairs.shape[0], dtype=np.bool_)
    for p in range(pairs.shape[0]):
        i = pairs[p]
        lt = left_this[left[i]]
        rt = b[i]
        lo = left_other[left[i]]
        if lt < 0 or lo < 0 or rt < 0:
            continue
        # The left side's other name first: the left rows are few and read in order, while
        # the right side's other name is a random read into the register, needed only for
        # the rare pairs that pass.
        if not _same_text(other_offsets, other_data, lo, this_offsets, this_data, rt):
            continue
        ro = right_other[right[i]]
        if ro >= 0 and _same_text(this_offsets, this_data, lt, other_offsets, other_data, ro):
            out[p] = True
    return out


# --------------------------------------------------------------------------------------------
# Exact agreement
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def exact_levels(left_values, left, right_values, right, missing):  # pragma: no cover
    """Levels of :class:`ExactComparison` of the pairs (``left_values[left[i]]``,
    ``right_values[right[i]]``): 0 missing, 1 equal, 2 not, in one pass without a branch."""
    n = right.shape[0]
    out = np.empty(n, dtype=np.int8)
    for i in range(n):
        x = left_values[left[i]]
        y = right_values[right[i]]
        out[i] = _where((x == missing) | (y == missing), 0, _where(x == y, 1, 2))
    return out


# --------------------------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def date_of_birth_levels(
    left_dates, left, b, missing, first_day, calendar, days
):  # pragma: no cover
    """Levels of :class:`DateOfBirthComparison` of the date pairs (``left_dates[left[i]]``,
    ``b[i]``), without a data-dependent branch.

    ``calendar[d]`` describes day ``first_day + d`` in one word: its DDMMYYYY digits (4 bits
    each) in bits 0-31, then day, month and year from bits 32, 40 and 48. Returns
    (levels, False) when a date falls outside the table (the caller raises the calendar's
    error). The register's dates come gathered (:func:`gather_values`), so that this loop's
    loads are sequential and the random ones happen in a loop of their own.
    """
    n = b.shape[0]
    out = np.empty(n, dtype=np.int8)
    inside = True
    last_day = first_day + calendar.shape[0] - 1
    nibble_low_bits = np.uint64(0x11111111)
    for i in range(n):
        x = left_dates[left[i]]
        y = b[i]
        absent = (x == missing) | (y == missing)
        inside &= absent | ((x >= first_day) & (y >= first_day) & (x <= last_day) & (y <= last_day))
        date_a = calendar[min(max(x, first_day), last_day) - first_day]
        date_b = calendar[min(max(y, first_day), last_day) - first_day]
        same_year = (date_a >> 48) == (date_b >> 48)
        same_month = (date_a >> 40) == (date_b >> 40)
        day_a, month_a = (date_a >> 32) & 255, (date_a >> 40) & 255
        day_b, month_b = (date_b >> 32) & 255, (date_b >> 40) & 255
        swapped = same_year & (day_a == month_b) & (month_a == day_b)
        differ = np.uint64((date_a ^ date_b) & 0xFFFFFFFF)
        differ = (
            differ | (differ >> np.uint64(1)) | (differ >> np.uint64(2)) | (differ >> np.uint64(3))
        ) & nibble_low_bits
        one_digit = _popcount(differ) == 1
        level = min(
            7,
            _rule(6, abs(x - y) <= days),
            _rule(5, same_year),
            _rule(4, same_month),
            _rule(3, one_digit),
            _rule(2, swapped),
            _rule(1, x == y),
        )
        out[i] = _where(absent, 0, level)
    return out, inside


# --------------------------------------------------------------------------------------------
# Postcodes
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def postcode_words(offsets, data, used, rows, size):  # pragma: no cover
    """Each used postcode's bytes as one little-endian word, the word of ``used[u]`` at
    ``rows[u]`` of an array of ``size``; (..., False) when one is longer than 8 bytes or not plain ASCII without NUL,
    for the caller to take the text path. Its length and leading letters (the area) follow
    from the word: :func:`postcode_levels` derives them rather than read them."""
    word = np.zeros(size, dtype=np.uint64)
    for u in range(used.shape[0]):
        start = offsets[used[u]]
        length = offsets[used[u] + 1] - start
        if length > 8:
            return word, False
        value = np.uint64(0)
        for k in range(length):
            byte = data[start + k]
            if byte >= 128 or byte == 0:
                return word, False
            value |= np.uint64(byte) << np.uint64(8 * k)
        word[rows[u]] = value
    return word, True


@njit(nogil=True, inline="always")
def _low_bytes(count):
    """A word's low ``count`` bytes (none below 0, all from 8) as a mask."""
    full = np.uint64(0) - np.uint64(count >= 8)  # all ones from 8 bytes up
    return (np.uint64(1) << np.uint64(8 * min(max(count, 0), 7))) - np.uint64(1) | full


_HIGH_BITS = np.uint64(0x8080808080808080)
_LOW_SEVEN = np.uint64(0x7F7F7F7F7F7F7F7F)
_TO_A = np.uint64(0x3F3F3F3F3F3F3F3F)  # 0x80 - ord("A") per byte
_PAST_Z = np.uint64(0x2525252525252525)  # 0x80 - (ord("Z") + 1) per byte


@njit(nogil=True, inline="always")
def _word_length(word):
    """Bytes of a word of ASCII text: its non-zero bytes (text has no NUL)."""
    non_zero = (word | ((word & _LOW_SEVEN) + _LOW_SEVEN)) & _HIGH_BITS
    return np.int64(_popcount(non_zero))


@njit(nogil=True, inline="always")
def _leading_letters(word):
    """Leading A-Z bytes of a word of ASCII text (bytes below 0x80: adding keeps to each byte)."""
    letters = (word + _TO_A) & ~(word + _PAST_Z) & _HIGH_BITS
    return _trailing_zero_bytes(~letters & _HIGH_BITS)


@njit(nogil=True, cache=True)
def postcode_levels(left_rows, left, right_rows, word):  # pragma: no cover
    """Levels of :class:`PostcodeComparison` of the pairs of rows (``left_rows[left[i]]``,
    ``right_rows[i]``) of ``word`` (:func:`postcode_words`): full, sector (all but the two
    unit letters), district (the outward code), area (the leading letters), without a
    data-dependent branch. ``word`` must be non-empty."""
    n = right_rows.shape[0]
    out = np.empty(n, dtype=np.int8)
    for i in range(n):
        x = left_rows[left[i]]
        y = right_rows[i]
        word_a = word[max(x, 0)]
        word_b = word[max(y, 0)]
        differ = word_a ^ word_b
        size = _word_length(word_a)
        same_size = size == _word_length(word_b)
        sector = same_size & (size > 2) & ((differ & _low_bytes(size - 2)) == 0)
        district = same_size & (size > 3) & ((differ & _low_bytes(size - 3)) == 0)
        letters = _leading_letters(word_a)
        same_area = (
            (letters > 0)
            & (letters == _leading_letters(word_b))
            & ((differ & _low_bytes(letters)) == 0)
        )
        level = min(5, _rule(4, same_area), _rule(3, district), _rule(2, sector), _rule(1, x == y))
        out[i] = _where((x < 0) | (y < 0), 0, level)
    return out
