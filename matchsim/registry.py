"""One registry helper for every pluggable stage (blockers, comparisons, matchers).

A registry maps names to classes, refuses duplicates, and builds instances so that an
unknown name lists the known ones and a bad parameter names itself — never a raw TypeError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from matchsim.errors import ConfigError, UnknownNameError

T = TypeVar("T")


class Registry(dict[str, type[T]], Generic[T]):
    """``name -> class``; ``field`` is how user errors refer to this stage (e.g. "blocking")."""

    def __init__(self, kind: str, field: str, name_attribute: str = "name") -> None:
        super().__init__()
        self.kind, self.field, self.name_attribute = kind, field, name_attribute

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def add(cls: type[T]) -> type[T]:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            setattr(cls, self.name_attribute, name)
            self[name] = cls
            return cls

        return add

    def create(self, name: object, params: Mapping[str, Any] | None = None) -> T:
        """An instance of ``name`` built with ``params``, with errors users can act on."""
        if not isinstance(name, str) or name not in self:
            raise UnknownNameError(self.field, str(name), self)
        try:
            return self[name](**dict(params or {}))
        except TypeError as exc:
            # e.g. "__init__() got an unexpected keyword argument 'windw'"
            raise ConfigError(f"{self.field}.{name}", str(exc).split("() ")[-1]) from None
