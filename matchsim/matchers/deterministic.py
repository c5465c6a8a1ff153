"""Rule-based matchers: a DfE-style deterministic lookup and a match-key cascade."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from matchsim.comparison import ComparisonResult
from matchsim.errors import ConfigError
from matchsim.matchers.base import Matcher, matcher, param_error
from matchsim.records import MISSING, PHONETIC, LinkageData


def _levels_of(
    result: ComparisonResult, name: str, field: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    names = [c.name for c in result.comparisons]
    if name not in names:
        raise ConfigError(
            field, f"needs a comparison named {name!r}; the comparisons are {', '.join(names)}"
        )
    c = result.comparisons[names.index(name)]
    return result.levels[:, names.index(name)], c.level_names


def _exact(result: ComparisonResult, name: str) -> np.ndarray:
    """Whether each pair agrees exactly on the comparison ``name`` (its level 1)."""
    return _levels_of(result, name, "matcher.deterministic")[0] == 1


def _at_least(levels: np.ndarray, names: tuple[str, ...], weakest: str, field: str) -> np.ndarray:
    """Pairs whose level is ``weakest`` or a stronger level that *implies* it.

    Levels are ordered by strength, but a stronger level does not always imply a weaker one:
    a day/month swap is stronger evidence than "same month and year" yet has neither. So a
    rule naming a level accepts it and the stronger levels that entail it (see IMPLIES).
    """
    if weakest not in names:
        raise ConfigError(field, f"unknown level {weakest!r}; levels are {', '.join(names)}")
    pos = names.index(weakest)
    accepted = [
        i
        for i in range(1, pos + 1)
        if names[i] == weakest or weakest not in NOT_IMPLIED_BY.get(names[i], ())
    ]
    return np.isin(levels, accepted)


def _agrees(
    result: ComparisonResult, data: LinkageData | None, name: str, level: str, field: str
) -> np.ndarray:
    """Pairs that satisfy a match key such as "surname agrees on Soundex".

    Where the key is an exact agreement on something the data holds (a name, its phonetic
    code, first three letters or initial; a date, its month and year or year; a postcode or
    its sector, district or area; sex), it is tested directly, as a match-key cascade does.
    Fuzzy levels fall back to the comparison's ordering of levels.
    """
    levels, names = _levels_of(result, name, field)
    comparison = result.comparisons[[c.name for c in result.comparisons].index(name)]
    if level not in names:
        raise ConfigError(field, f"unknown level {level!r}; levels are {', '.join(names)}")
    if data is not None:
        left, right = result.left, result.right
        role = comparison.role
        if role in data.vocabularies and (
            level in ("exact", "full")
            or level in PHONETIC
            or level in ("first3", "initial", "sector", "district", "area")
        ):
            a, b = data.left.codes[role][left], data.right.codes[role][right]
            if level in ("exact", "full"):
                return (a >= 0) & (a == b)
            derived = data.vocabularies[role].derived(level)
            da, db = derived[np.maximum(a, 0)], derived[np.maximum(b, 0)]
            return (a >= 0) & (b >= 0) & (da >= 0) & (da == db)
        if role == "date_of_birth" and level in ("exact", "same_month_year", "same_year"):
            ya, ma, _ = (x[left] for x in data.left.dob_parts)
            yb, mb, _ = (x[right] for x in data.right.dob_parts)
            present = (ya != MISSING) & (yb != MISSING)
            if level == "exact":
                return present & (data.left.dob[left] == data.right.dob[right])
            if level == "same_month_year":
                return present & (ya == yb) & (ma == mb)
            return present & (ya == yb)
        if role == "sex" and level == "exact":
            a, b = data.left.sex[result.left], data.right.sex[result.right]
            return (a != MISSING) & (a == b)
    return _at_least(levels, names, level, field)


#: Stronger levels that do not entail a given weaker one: a pair at the key's level need not
#: satisfy any level in its value.
NOT_IMPLIED_BY: dict[str, tuple[str, ...]] = {
    # date of birth: a swap or a one-digit slip keeps neither the month nor (for a slip) the year
    "day_month_swap": ("same_month_year", "one_digit"),
    "one_digit": ("same_month_year", "same_year", "day_month_swap"),
    # names: a fuzzy or phonetic agreement does not share the first three letters or initial,
    # and a swap agrees on neither name in place
    "jaro_winkler>=0.92": ("soundex", "first3", "initial"),
    # a Soundex code keeps the first letter, so it does imply the initial
    "soundex": ("jaro_winkler>=0.8", "first3"),
    "jaro_winkler>=0.8": ("first3", "initial"),
    "first3": (),
    "swapped": ("initial",),
}


# --------------------------------------------------------------------------------------------
# a. DfE-style deterministic lookup
# --------------------------------------------------------------------------------------------


@matcher("deterministic")
class DeterministicMatcher(Matcher):
    """The simplest reading of "a match based on name, date of birth and address": normalised
    forename, surname and date of birth all exact, and the address exact.

    Parameters
    ----------
    address
        ``"postcode"`` (postcode only), ``"address"`` (the address line), ``"either"`` or
        ``"both"``. Whether the register's *current* or *any historical* address counts is a
        choice of right-hand table (see :func:`matchsim.linkage.register_table`).
    middle_names
        Also require the middle names to agree (needs a ``middle_names`` comparison).
    """

    threshold = 1.0

    def __init__(self, address: str = "postcode", middle_names: bool = False) -> None:
        if address not in ("postcode", "address", "either", "both", "none"):
            raise param_error(
                "deterministic", "address", "one of postcode, address, either, both, none", address
            )
        self.address = address
        self.middle_names = bool(middle_names)

    def describe(self) -> str:
        return f"deterministic(name + DOB + {self.address}{' + middle names' if self.middle_names else ''})"

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        ok = np.ones(len(result.left), dtype=bool)
        needed = ["forename", "surname", "date_of_birth"] + (
            ["middle_names"] if self.middle_names else []
        )
        for name in needed:
            levels, names = _levels_of(result, name, "matcher.deterministic")
            ok &= levels == names.index("exact")
        if self.address != "none":
            if self.address == "postcode":
                ok &= _exact(result, "postcode")
            elif self.address == "address":
                ok &= _exact(result, "address")
            elif self.address == "either":
                ok &= _exact(result, "postcode") | _exact(result, "address")
            else:
                ok &= _exact(result, "postcode") & _exact(result, "address")
        return ok.astype(np.float64)


# --------------------------------------------------------------------------------------------
# b. Deterministic match-key cascade
# --------------------------------------------------------------------------------------------

#: The cascade of Libuy et al. (IJPDS 2021), NPD to hospital records, as rules on levels: each
#: maps a comparison to the weakest level that still counts as agreement.
LIBUY_RULES: tuple[dict[str, str], ...] = (
    {
        "forename": "exact",
        "surname": "exact",
        "date_of_birth": "exact",
        "sex": "exact",
        "postcode": "full",
    },
    {
        "forename": "soundex",
        "surname": "soundex",
        "date_of_birth": "exact",
        "sex": "exact",
        "postcode": "full",
    },
    {
        "forename": "initial",
        "surname": "first3",
        "date_of_birth": "exact",
        "sex": "exact",
        "postcode": "full",
    },
    {"forename": "exact", "surname": "exact", "date_of_birth": "exact", "sex": "exact"},
    {"forename": "exact", "surname": "exact", "date_of_birth": "exact", "postcode": "full"},
    {"forename": "exact", "surname": "exact", "date_of_birth": "same_month_year", "sex": "exact"},
)


@matcher("cascade")
class CascadeMatcher(Matcher):
    """Ordered deterministic rules; the first rule a pair satisfies gives its score.

    A pair satisfying rule ``i`` (0-based) of ``n`` scores ``n - i``; one satisfying none
    scores 0. Decisions look only at each request's best tier, so a strong rule's unique
    match is not spoiled by weaker rules' candidates.

    Parameters
    ----------
    rules
        Rules, strongest first: each maps a comparison to the weakest level that satisfies it,
        e.g. ``{forename: exact, surname: exact, date_of_birth: exact}``. Default: the Libuy
        et al. (2021) cascade, adapted to the comparisons the linkage has.
    """

    tiered = True
    threshold = 1.0

    def __init__(self, rules: Sequence[Mapping[str, str]] | None = None) -> None:
        # Without explicit rules, the Libuy cascade is used and adapted to the comparisons a
        # linkage has (a condition on an absent field is dropped); explicit rules are strict.
        self.adapt = rules is None
        rules = LIBUY_RULES if rules is None else rules
        if not isinstance(rules, list | tuple):
            raise param_error(
                "cascade", "rules", "a list of {comparison: weakest level} mappings", rules
            )
        if not rules:
            raise param_error(
                "cascade", "rules", "a non-empty list of {comparison: weakest level}", rules
            )
        for i, rule in enumerate(rules):
            if not isinstance(rule, Mapping) or not rule:
                raise param_error(
                    "cascade", f"rules[{i}]", "a mapping of comparison name to level", rule
                )
        self.rules = tuple(dict(r) for r in rules)

    def describe(self) -> str:
        return f"cascade({len(self.rules)} rules)"

    def rule_index(self, result: ComparisonResult, data: LinkageData | None = None) -> np.ndarray:
        """The first rule each pair satisfies (-1 for none)."""
        first = np.full(len(result.left), -1, dtype=np.int64)
        present = {c.name for c in result.comparisons}
        for i, rule in enumerate(self.rules):
            ok = np.ones(len(result.left), dtype=bool)
            conditions = {k: v for k, v in rule.items() if k in present} if self.adapt else rule
            for name, weakest in conditions.items():
                ok &= _agrees(result, data, name, weakest, f"matcher.cascade.rules[{i}].{name}")
            first[(first < 0) & ok] = i
        return first

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        first = self.rule_index(result, data)
        return np.where(first >= 0, len(self.rules) - first, 0).astype(np.float64)
