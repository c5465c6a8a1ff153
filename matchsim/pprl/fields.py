"""The fields of a CLK: which roles are encoded, with which q-gram length and bits per q-gram."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from matchsim.errors import ConfigError
from matchsim.records import VALUE_ROLES

#: Roles a CLK can encode. ``date_of_birth`` is encoded as day, month and year tokens, so a
#: slip in one part keeps the others; ``sex`` as one token; the rest as q-grams of the
#: normalised text.
ENCODABLE_ROLES = VALUE_ROLES
#: Roles encoded as whole tokens rather than q-grams (``q`` does not apply).
TOKEN_ROLES = ("date_of_birth", "sex")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a CLK: the role it encodes, its q-gram length and bits per q-gram."""

    role: str
    q: int = 2
    k: int = 20

    def __post_init__(self) -> None:
        if self.role not in ENCODABLE_ROLES:
            raise ConfigError(
                "pprl.fields",
                f"{self.role!r} is not encodable; allowed: {', '.join(ENCODABLE_ROLES)}",
            )
        for name, value, low, high in (("q", self.q, 1, 3), ("k", self.k, 1, 200)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"pprl.fields.{self.role}.{name}",
                    f"{value!r} is not allowed; must be a whole number from {low} to {high}",
                )


#: Default CLK fields and bits per q-gram. Names carry most of the identifying power, so
#: they get the most bits; k near 20-30 per field for 1,000-bit filters follows the
#: clkhash FEBRL schema and Schnell et al. (2009).
DEFAULT_FIELDS = (
    FieldSpec("forename", 2, 20),
    FieldSpec("surname", 2, 20),
    FieldSpec("date_of_birth", 1, 20),
    FieldSpec("postcode", 2, 10),
    FieldSpec("sex", 1, 5),
)


def field_specs(fields: object) -> tuple[FieldSpec, ...]:
    """Field specs from a list of roles, mappings ``{role, q, k}`` or a ``role -> {q, k}`` map."""
    if fields is None:
        return DEFAULT_FIELDS
    items: list[object]
    if isinstance(fields, Mapping):
        items = [{"role": r, **(v or {})} for r, v in fields.items()]
    elif isinstance(fields, list | tuple):
        items = list(fields)
    else:
        raise ConfigError("pprl.fields", f"must be a list of fields. Got {fields!r} instead.")
    specs = []
    for item in items:
        if isinstance(item, FieldSpec):
            specs.append(item)
        elif isinstance(item, str):
            specs.append(FieldSpec(item))
        elif isinstance(item, Mapping):
            unknown = set(item) - {"role", "q", "k"}
            if unknown or "role" not in item:
                raise ConfigError(
                    "pprl.fields", f"{dict(item)!r}: give role and optionally q and k"
                )
            specs.append(FieldSpec(**item))
        else:
            raise ConfigError("pprl.fields", f"{item!r} is not a field")
    if not specs:
        raise ConfigError("pprl.fields", "give at least one field")
    if len({s.role for s in specs}) != len(specs):
        raise ConfigError("pprl.fields", "a role is listed twice")
    return tuple(specs)
