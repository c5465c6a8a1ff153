"""Two tables of records, normalised and encoded for blocking and comparison.

Any pair of tables can be linked once their columns are mapped to **roles** (``id``,
``forename``, ``middle_names``, ``surname``, ``date_of_birth``, ``sex``, ``postcode``,
``address``). Each string role is normalised (case, accents, punctuation, spacing) and
dictionary-encoded with one vocabulary shared by both sides, so that:

* equal values have equal integer codes on both sides (exact agreement is an integer test);
* every derived key (phonetic codes, initials, postcode sector/district/area) is computed once
  per distinct value, not once per record;
* similarity scores are computed once per distinct pair of values, and names repeat heavily.

Modules: ``roles`` (the roles, missing-value codes and checking a table's mapping),
``normalise`` (names, addresses, dates, sex), ``vocabulary`` (distinct values and the keys
derived from them) and ``tables`` (:class:`Records`, :class:`LinkageData`, preparing and
linking tables).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matchsim.records.normalise import (
        ADDRESS_ABBREVIATIONS,
        normalise_addresses,
        normalise_name,
        normalise_name_values,
        normalise_names,
        normalise_names_letters,
    )
    from matchsim.records.roles import (
        MATCHSIM_ROLES,
        MISSING,
        MISSING_DATE,
        NAME_ROLES,
        PEER_ROLES,
        ROLES,
        STRING_ROLES,
        VALUE_ROLES,
        check_mapping,
        check_roles,
        checked_columns,
    )
    from matchsim.records.tables import (
        DerivedColumns,
        KeptValues,
        LinkageData,
        PreparedTable,
        Records,
        link,
        prepare,
        prepare_linkage,
        prepare_table,
        self_linkage,
    )
    from matchsim.records.vocabulary import (
        PHONETIC,
        SOUNDEX_DIGIT,
        SOUNDEX_MAX_WORD,
        ValueBytes,
        Vocabulary,
        derived_keys,
        encode_values,
        index_in,
    )

__all__ = [
    "ADDRESS_ABBREVIATIONS",
    "MATCHSIM_ROLES",
    "MISSING",
    "MISSING_DATE",
    "NAME_ROLES",
    "PEER_ROLES",
    "PHONETIC",
    "ROLES",
    "SOUNDEX_DIGIT",
    "SOUNDEX_MAX_WORD",
    "STRING_ROLES",
    "VALUE_ROLES",
    "DerivedColumns",
    "KeptValues",
    "LinkageData",
    "PreparedTable",
    "Records",
    "ValueBytes",
    "Vocabulary",
    "check_mapping",
    "check_roles",
    "checked_columns",
    "derived_keys",
    "encode_values",
    "index_in",
    "link",
    "normalise_addresses",
    "normalise_name",
    "normalise_name_values",
    "normalise_names",
    "normalise_names_letters",
    "prepare",
    "prepare_linkage",
    "prepare_table",
    "self_linkage",
]

#: Where ``__getattr__`` looks a name up, cheapest first.
_SUBMODULES = ("roles", "normalise", "vocabulary", "tables")


def __getattr__(name: str) -> Any:
    """A public name, imported on first use (PEP 562) rather than with the package: a caller
    that needs only the roles (CLK encoding, say) does not pay for pandas and the tables."""
    if name in __all__:
        for submodule in _SUBMODULES:
            module = importlib.import_module(f"{__name__}.{submodule}")
            if hasattr(module, name):
                value = getattr(module, name)
                globals()[name] = value  # later lookups skip __getattr__
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
