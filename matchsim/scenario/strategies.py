"""Checks a scenario's lookup strategies (blocking, comparisons, matcher) when it is loaded.

Every blocker, comparison and matcher is named, and every option it is given is one its
class takes: a typo ("windw", "require") is refused with the key path and a "did you mean"
before any register is generated, instead of a TypeError minutes into a run. Values are
checked by the classes themselves when the run builds them.
"""

from __future__ import annotations

from typing import Any

from matchsim.blocking import BLOCKERS
from matchsim.comparison import COMPARISONS
from matchsim.errors import ConfigError
from matchsim.matchers import MATCHERS
from matchsim.registry import did_you_mean

#: role names a comparison may be given as, with the role's default settings
COMPARISON_ROLES = (
    "forename",
    "surname",
    "middle_names",
    "date_of_birth",
    "postcode",
    "address",
    "sex",
)


def check_blocking(spec: Any, path: str) -> None:
    """A blocker name (``exact:KEY+KEY`` too), a mapping with ``name``, or a list (a union)."""
    if spec is None or spec == "default":
        return
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(path, "an empty list of blockers; give at least one, or 'default'")
        for i, item in enumerate(spec):
            check_blocking(item, f"{path}.{i}")
        return
    if isinstance(spec, str):
        name, _, rest = spec.partition(":")
        if rest and name != "exact":
            raise ConfigError(path, f"{spec!r}: only 'exact:KEY+KEY' takes keys inline")
        BLOCKERS.check(name, {"keys": rest} if rest else {}, path)
        return
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError(path, f"{spec!r} is not a blocker name or a mapping with a 'name'")
    params = {k: v for k, v in spec.items() if k != "name"}
    BLOCKERS.check(spec["name"], params, path)
    if spec["name"] == "union":
        members = params.get("blockers")
        if not isinstance(members, list):
            raise ConfigError(f"{path}.blockers", "must be a list of blockers")
        for i, item in enumerate(members):
            check_blocking(item, f"{path}.blockers.{i}")


def check_comparisons(specs: list[Any] | None, path: str) -> None:
    """Role names (default settings) or mappings ``{kind: ..., ...options}``."""
    for i, spec in enumerate(specs or []):
        at = f"{path}.{i}"
        if isinstance(spec, str):
            if spec not in COMPARISON_ROLES:
                raise ConfigError(
                    at,
                    f"unknown comparison {spec!r}{did_you_mean(spec, list(COMPARISON_ROLES))}"
                    f"; give a role ({', '.join(COMPARISON_ROLES)}) or a mapping with 'kind'",
                )
            continue
        if not isinstance(spec, dict) or "kind" not in spec:
            raise ConfigError(at, f"{spec!r} is not a role name or a mapping with a 'kind'")
        params = {k: v for k, v in spec.items() if k != "kind"}
        COMPARISONS.check(spec["kind"], params, at)


def check_matcher(spec: Any, path: str) -> None:
    """A matcher name or a mapping ``{name: ..., ...options}``."""
    if isinstance(spec, str):
        MATCHERS.check(spec, {}, path)
        return
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError(path, f"{spec!r} is not a matcher name or a mapping with a 'name'")
    MATCHERS.check(spec["name"], {k: v for k, v in spec.items() if k != "name"}, path)


def check_lookup(blocking: Any, comparisons: list[Any] | None, matcher: Any) -> None:
    """All three, with key paths relative to ``lookup``."""
    check_blocking(blocking, "blocking")
    check_comparisons(comparisons, "comparisons")
    check_matcher(matcher, "matcher")
