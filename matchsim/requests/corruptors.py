"""The error model: a registry of error types, each corrupting one field of a request.

Like GeCo, FEBRL's dsgen and pseudopeople, each error type has a probability per record and
the types compose in a fixed order. Unlike them, selection, bookkeeping and every numeric
field are vectorised; only string edits of the (few) rows that draw an error run per value,
because no maintained library offers vectorised typo, OCR or phonetic injection.

Every applied error is recorded in a per-field bitmask, so each request carries the list of
errors that made it differ from the true record.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim import dates as cal
from matchsim.requests.draft import FIELDS, ErrorFunction, ErrorType, RequestDraft
from matchsim.requests.edits import (
    keyboard_typo,
    nicknames_of,
    pick_by_ons_frequency,
    postcode_typo,
    strip_accents,
    substitute,
    transliteration_variants,
)

#: Every error type, in the fixed order they compose (the order of registration below).
ERROR_TYPES: dict[str, ErrorType] = {}


def error_type(
    name: str, fields: tuple[str, ...], description: str
) -> Callable[[ErrorFunction], ErrorFunction]:
    """Register an error type. The function receives the rows that drew the error and returns
    a boolean array (same length) saying where it could be applied."""

    def register(fn: ErrorFunction) -> ErrorFunction:
        if name in ERROR_TYPES:
            raise ValueError(f"error type {name!r} registered twice")
        for f in fields:
            if f not in FIELDS:
                raise ValueError(f"error type {name!r} names unknown field {f!r}")
        ERROR_TYPES[name] = ErrorType(name, fields, description, fn)
        return fn

    return register


def _per_value(values: np.ndarray, fn: Callable[[str], str]) -> tuple[np.ndarray, np.ndarray]:
    new = np.array([fn(v) for v in values], dtype=object)
    return new, new != values


def _per_distinct(values: np.ndarray, fn: Callable[[str], str]) -> tuple[np.ndarray, np.ndarray]:
    """Apply a deterministic string function once per distinct value (names repeat heavily)."""
    encoded = pc.dictionary_encode(pa.array(values, pa.string()))
    mapped = np.array([fn(v) for v in encoded.dictionary.to_pylist()], dtype=object)
    new = mapped[encoded.indices.to_numpy()]
    return new, new != values


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@error_type("name_swap", ("forename", "surname"), "forename and surname swapped")
def _name_swap(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = d.forename[rows] != d.surname[rows]
    r = rows[ok]
    d.forename[r], d.surname[r] = d.surname[r].copy(), d.forename[r].copy()
    return ok


@error_type("middle_as_forename", ("forename", "middle_names"), "known by a middle name")
def _middle_as_forename(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = d.middle_names[rows] != ""
    r = rows[ok]
    parts = [m.split(" ", 1) for m in d.middle_names[r]]
    d.forename[r] = np.array([p[0] for p in parts], dtype=object)
    d.middle_names[r] = np.array([p[1] if len(p) > 1 else "" for p in parts], dtype=object)
    return ok


def _map_names(
    d: RequestDraft,
    column: str,
    rows: np.ndarray,
    rng: np.random.Generator,
    options: Callable[[str], tuple[str, ...]],
) -> np.ndarray:
    values = getattr(d, column)[rows]
    choices = [options(v) for v in values]
    ok = np.array([len(c) > 0 for c in choices], dtype=bool)
    picks = rng.random(len(rows))
    new = [c[int(u * len(c))] if c else v for c, u, v in zip(choices, picks, values, strict=True)]
    getattr(d, column)[rows[ok]] = np.array(new, dtype=object)[ok]
    return ok


@error_type("forename_nickname", ("forename",), "a nickname or short form (William -> Bill)")
def _nickname(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _map_names(d, "forename", rows, rng, nicknames_of)


@error_type(
    "forename_transliteration", ("forename",), "another romanisation (Mohammed -> Muhammad)"
)
def _forename_translit(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    variants = transliteration_variants()
    choices = [variants.get(v, ()) for v in d.forename[rows]]
    ok = np.array([len(c) > 0 for c in choices], dtype=bool)
    year = cal.year_month_day(d.dob[rows])[0]
    picked = pick_by_ons_frequency(choices, year, d.sex[rows], rng)
    d.forename[rows[ok]] = picked[ok]
    return ok


@error_type("surname_transliteration", ("surname",), "another romanisation (Hussain -> Hussein)")
def _surname_translit(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    variants = transliteration_variants()
    return _map_names(d, "surname", rows, rng, lambda v: variants.get(v, ()))


@error_type("surname_hyphen_reduced", ("surname",), "a double-barrelled surname cut to one part")
def _hyphen_reduced(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    values = d.surname[rows]
    parts = [re.split(r"[- ]", v) for v in values]
    ok = np.array([len(p) > 1 for p in parts], dtype=bool)
    picks = rng.integers(0, 2, len(rows))
    new = [p[-1] if (k and len(p) > 1) else p[0] for p, k in zip(parts, picks, strict=True)]
    d.surname[rows[ok]] = np.array(new, dtype=object)[ok]
    return ok


@error_type("middle_missing", ("middle_names",), "middle names left out")
def _middle_missing(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = d.middle_names[rows] != ""
    d.middle_names[rows[ok]] = ""
    return ok


@error_type("accents_stripped", ("forename", "surname"), "diacritics dropped (Wójcik -> Wojcik)")
def _accents(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f_new, f_changed = _per_distinct(d.forename[rows], strip_accents)
    s_new, s_changed = _per_distinct(d.surname[rows], strip_accents)
    d.forename[rows], d.surname[rows] = f_new, s_new
    return f_changed | s_changed


def _string_error(column: str, fn: Callable[[str, np.random.Generator], str]) -> ErrorFunction:
    def apply(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        values = getattr(d, column)[rows]
        new, changed = _per_value(values, lambda v: fn(v, rng))
        getattr(d, column)[rows] = new
        return changed

    return apply


for _col in ("forename", "surname"):
    error_type(
        f"{_col}_typo",
        (_col,),
        "a keyboard slip (QWERTY neighbour, extra, missing or swapped letter)",
    )(_string_error(_col, keyboard_typo))
    error_type(f"{_col}_ocr", (_col,), "an OCR confusion (rn -> m, l -> 1, O -> 0)")(
        _string_error(_col, lambda v, rng: substitute(v, "ocr_confusions", rng))
    )
    error_type(f"{_col}_phonetic", (_col,), "a spelling that sounds the same (ph -> f, ie -> y)")(
        _string_error(_col, lambda v, rng: substitute(v, "phonetic_substitutions", rng))
    )


# --------------------------------------------------------------------------------------------
# Date of birth
# --------------------------------------------------------------------------------------------


def _live_dob(d: RequestDraft, rows: np.ndarray) -> np.ndarray:
    return ~d.dob_missing[rows]


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    base = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month - 1]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return base + ((month == 2) & leap)


def _to_day(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    months = (year - 1970) * 12 + (month - 1)
    return cal.to_days(months.astype("datetime64[M]")) + (day - 1)


@error_type("dob_day_month_swap", ("date_of_birth",), "day and month swapped (only where valid)")
def _dob_swap(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y, m, dd = cal.year_month_day(d.dob[rows])
    ok = _live_dob(d, rows) & (dd <= 12) & (dd != m)
    d.dob[rows[ok]] = _to_day(y[ok], dd[ok], m[ok])
    return ok


@error_type(
    "dob_digit_typo", ("date_of_birth",), "one digit of DD/MM/YYYY mistyped (valid dates only)"
)
def _dob_digit(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y, m, dd = cal.year_month_day(d.dob[rows])
    ok = _live_dob(d, rows)
    done = np.zeros(len(rows), dtype=bool)
    for _ in range(6):
        todo = np.flatnonzero(ok & ~done)
        if len(todo) == 0:
            break
        # digit positions: 0-1 day, 2-3 month, 6-7 year (the century is rarely mistyped)
        pos = rng.choice(np.array([0, 1, 2, 3, 6, 7]), len(todo))
        digit = rng.integers(0, 10, len(todo))
        ny, nm, nd = y[todo].copy(), m[todo].copy(), dd[todo].copy()
        tens = pos % 2 == 0
        for sel, arr in (((pos <= 1), nd), ((pos >= 2) & (pos <= 3), nm)):
            arr[sel & tens] = digit[sel & tens] * 10 + arr[sel & tens] % 10
            arr[sel & ~tens] = (arr[sel & ~tens] // 10) * 10 + digit[sel & ~tens]
        ysel = pos >= 6
        ny[ysel & tens] = (
            (ny[ysel & tens] // 100) * 100 + digit[ysel & tens] * 10 + ny[ysel & tens] % 10
        )
        ny[ysel & ~tens] = (ny[ysel & ~tens] // 10) * 10 + digit[ysel & ~tens]
        valid = (nm >= 1) & (nm <= 12) & (nd >= 1)
        valid &= nd <= _days_in_month(ny, np.clip(nm, 1, 12))
        valid &= (ny != y[todo]) | (nm != m[todo]) | (nd != dd[todo])
        valid &= ny >= 1900
        new_day = _to_day(ny, np.clip(nm, 1, 12), np.clip(nd, 1, 31))
        valid &= new_day <= d.request_day
        hit = todo[valid]
        d.dob[rows[hit]] = new_day[valid]
        done[hit] = True
    return done


@error_type("dob_jan1_default", ("date_of_birth",), "defaulted to 1 January of the birth year")
def _dob_jan1(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y, m, dd = cal.year_month_day(d.dob[rows])
    ok = _live_dob(d, rows) & ~((m == 1) & (dd == 1))
    d.dob[rows[ok]] = _to_day(
        y[ok], np.ones(ok.sum(), dtype=np.int64), np.ones(ok.sum(), dtype=np.int64)
    )
    return ok


@error_type("dob_year_off_by_one", ("date_of_birth",), "birth year one too high or too low")
def _dob_year(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y, m, dd = cal.year_month_day(d.dob[rows])
    ok = _live_dob(d, rows)
    ny = y + np.where(rng.random(len(rows)) < 0.5, -1, 1)
    nd = np.minimum(dd, _days_in_month(ny, m))
    d.dob[rows[ok]] = _to_day(ny[ok], m[ok], nd[ok])
    return ok


@error_type("dob_missing", ("date_of_birth",), "date of birth not given")
def _dob_missing(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = _live_dob(d, rows)
    d.dob_missing[rows[ok]] = True
    return ok


# --------------------------------------------------------------------------------------------
# Sex
# --------------------------------------------------------------------------------------------


@error_type("sex_wrong", ("sex",), "sex recorded wrongly")
def _sex_wrong(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = d.sex[rows] >= 0
    d.sex[rows[ok]] = 1 - d.sex[rows[ok]]
    return ok


@error_type("sex_missing", ("sex",), "sex not given")
def _sex_missing(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = d.sex[rows] >= 0
    d.sex[rows[ok]] = -1
    return ok


# --------------------------------------------------------------------------------------------
# Address
# --------------------------------------------------------------------------------------------


def _set_address(d: RequestDraft, rows: np.ndarray, history_rows: np.ndarray) -> None:
    ctx = d.context
    d.address_line[rows] = ctx.text("address_line", history_rows)
    d.town[rows] = ctx.text("town", history_rows)
    d.postcode[rows] = ctx.text("postcode", history_rows)
    if d.address_replaced is None:
        d.address_replaced = np.zeros(len(d), dtype=bool)
    d.address_replaced[rows] = True


def _not_replaced(d: RequestDraft, rows: np.ndarray) -> np.ndarray:
    if d.address_replaced is None:
        return np.ones(len(rows), dtype=bool)
    return ~d.address_replaced[rows]


@error_type(
    "address_stale", ("address", "postcode"), "an earlier address from the family's history"
)
def _address_stale(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = _not_replaced(d, rows) & (d.address_seq[rows] > 0)
    r = rows[ok]
    # The address before the current one: what an out-of-date record holds.
    _set_address(d, r, d.context.first_row[d.household[r]] + d.address_seq[r] - 1)
    return ok


@error_type(
    "address_new", ("address", "postcode"), "an address the family moved to after the census"
)
def _address_new(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ctx = d.context
    ok = _not_replaced(d, rows)
    r = rows[ok]
    later = d.address_seq[r] + 1 < ctx.rows[d.household[r]]
    target = ctx.first_row[d.household[r]] + d.address_seq[r] + 1
    # Without a later address in the history, the family moves locally: to another address
    # in its postcode district (ONS: most moves are short).
    current = ctx.first_row[d.household[r]] + d.address_seq[r]
    local = ctx.local(ctx.outward[current], rng.random(len(r)))
    chosen = np.where(later, target, local)
    moved = ctx.text("address_line", chosen) != d.address_line[r]
    _set_address(d, r[moved], chosen[moved])
    out = np.zeros(len(rows), dtype=bool)
    out[np.flatnonzero(ok)[moved]] = True
    return out


@error_type("address_unrelated", ("address", "postcode"), "an unrelated address")
def _address_unrelated(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok = _not_replaced(d, rows)
    r = rows[ok]
    _set_address(d, r, d.context.anywhere(rng, len(r)))
    return ok


# Royal Mail / PAF-style abbreviations of street types.
ABBREVIATIONS = {
    "Road": "Rd",
    "Street": "St",
    "Avenue": "Ave",
    "Lane": "Ln",
    "Drive": "Dr",
    "Close": "Cl",
    "Crescent": "Cres",
    "Gardens": "Gdns",
    "Place": "Pl",
    "Court": "Ct",
    "Terrace": "Terr",
    "Square": "Sq",
    "Grove": "Gr",
    "Park": "Pk",
}
_ABBREVIATION_RE = re.compile(r"\b(" + "|".join(ABBREVIATIONS) + r")\b")


@error_type("address_abbreviated", ("address",), "street type abbreviated (Road -> Rd)")
def _abbreviated(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    new, changed = _per_distinct(
        d.address_line[rows], lambda v: _ABBREVIATION_RE.sub(lambda m: ABBREVIATIONS[m.group(1)], v)
    )
    d.address_line[rows] = new
    return changed


_NUMBER_RE = re.compile(r"^(Flat \d+, )?\d+[A-Za-z]? ")


@error_type("house_number_missing", ("address",), "house number or flat left out")
def _number_missing(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    new, changed = _per_distinct(d.address_line[rows], lambda v: _NUMBER_RE.sub("", v, count=1))
    d.address_line[rows] = new
    return changed


error_type(
    "postcode_typo", ("postcode",), "a postcode character mistyped, swapped or its space lost"
)(_string_error("postcode", postcode_typo))


# --------------------------------------------------------------------------------------------
# Family change (registered last: each type's random stream is keyed by its registration
# index, so a type appended at the end leaves every earlier type's stream and edits unchanged;
# it replaces the surname, so it follows the spelling errors that may have hit it)
# --------------------------------------------------------------------------------------------


@error_type(
    "surname_change",
    ("surname",),
    "a family change: the surname of a step-parent, new spouse or adoptive family, or the old "
    "surname double-barrelled with it",
)
def _surname_change(d: RequestDraft, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(d)
    if n < 2 or not len(rows):
        return np.zeros(len(rows), dtype=bool)
    # The new family's surname: another requested person's, so it follows the batch's own mix
    # of origins (an assumption; a step-parent's origin is not modelled).
    other = (rows + 1 + (rng.random(len(rows)) * (n - 1)).astype(np.int64)) % n
    new = d.surname[other]
    # Courts often settle on a double-barrelled compromise (old-new); a quarter of changes do
    # here (an assumption: no count is published).
    joined = rng.random(len(rows)) < 0.25
    combined = np.char.add(np.char.add(d.surname[rows].astype(str), "-"), new.astype(str))
    new = np.where(joined, combined.astype(object), new)
    ok = new != d.surname[rows]
    d.surname[rows[ok]] = new[ok]
    return ok
