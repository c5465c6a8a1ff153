"""One registry helper for every pluggable stage (blockers, comparisons, matchers).

A registry maps names to classes, refuses duplicates, and builds instances so that an
unknown name lists the known ones and a bad parameter names itself — never a raw TypeError.
Each class's options (its constructor's keyword parameters) are described by
:meth:`Registry.options`, from the signature and the docstring's ``Parameters`` section, so
``matchsim list``, the scenario reference and the "did you mean" errors read one source.

A class defined outside a registry's package (a peer engine, a privacy-preserving blocker) is
declared by :meth:`Registry.add_lazy` as ``name -> "module:Class"`` in the registry's home
module: the name is listed from the start, and its module is imported the first time the
class itself is needed (built, or its options read). A package therefore never imports its
plugins, and listing the names loads no optional engine.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from matchsim.errors import ConfigError, UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class Option:
    """One constructor option of a registered class, as users write it in a scenario."""

    name: str
    type: str
    #: the default as text; "(required)" when the option has none
    default: str
    meaning: str

    @property
    def required(self) -> bool:
        return self.default == "(required)"


def did_you_mean(given: str, allowed: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest allowed name, else the list of them."""
    close = difflib.get_close_matches(given, allowed, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; allowed: {', '.join(allowed)}" if allowed else "; it takes no options"


def first_paragraph(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring, on one line, without reST markup."""
    paragraph = (obj.__doc__ or "").strip().split("\n\n")[0]
    return _plain(" ".join(paragraph.split()))


def _plain(text: str) -> str:
    # reST roles (:func:`x`) and literals (``x``) read as plain text in tables and errors
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")


def _docstring_parameters(doc: str | None) -> dict[str, str]:
    """``name -> meaning`` from a numpydoc ``Parameters`` section (``a, b`` lines share one)."""
    text = inspect.cleandoc(doc or "")
    match = re.search(r"^Parameters\n-+\n(.*?)(?:\n\S[^\n]*\n-+\n|\Z)", text, re.S | re.M)
    if match is None:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    lines: list[str] = []
    for line in [*match.group(1).splitlines(), ""]:
        if line and not line[0].isspace():
            for name in names:
                out[name] = " ".join(" ".join(lines).split())
            names, lines = [n.strip() for n in line.split(":")[0].split(",")], []
        elif line.strip():
            lines.append(line.strip())
        elif names and not line:
            lines.append("")
    for name in names:
        out[name] = " ".join(" ".join(lines).split())
    return {k: _plain(v) for k, v in out.items()}


def _type_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return str(text or annotation).replace("typing.", "")


def _default_text(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return "(required)"
    if isinstance(value, tuple):
        value = [list(v) if isinstance(v, tuple) else v for v in value]
    return (
        "null"
        if value is None
        else repr(value).replace("'", '"').replace("True", "true").replace("False", "false")
    )


@dataclass(frozen=True)
class _Lazy:
    """A registered name whose class is imported on first use, from ``module:attribute``."""

    target: str


class Registry(dict[str, type[T] | _Lazy], Generic[T]):
    """``name -> class``; ``field`` is how user errors refer to this stage (e.g. "blocking").

    Names declared with :meth:`add_lazy` are keys from the start (``in``, ``sorted``, ``len``
    see them); reading one's class (``registry[name]``, :meth:`get`, :meth:`values`,
    :meth:`items`, :meth:`create`, :meth:`options`) imports its module first.

    Examples
    --------
    >>> from matchsim.registry import Registry
    >>> SHAPES = Registry("shape", "geometry")
    >>> @SHAPES.register("square")
    ... class Square:
    ...     def __init__(self, side: float = 1.0) -> None:
    ...         self.side = side
    >>> sorted(SHAPES), SHAPES.create("square", {"side": 2.0}).side
    (['square'], 2.0)
    >>> [(o.name, o.type, o.default) for o in SHAPES.options("square")]
    [('side', 'float', '1.0')]
    >>> SHAPES.create("square", {"sied": 2.0})
    Traceback (most recent call last):
    ...
    matchsim.errors.ConfigError: geometry.square.sied: shape 'square' has no option 'sied';
    did you mean 'side'? (options: side)
    >>> SHAPES.create("circle")
    Traceback (most recent call last):
    ...
    matchsim.errors.UnknownNameError: geometry: unknown value 'circle'; known values: square
    """

    def __init__(self, kind: str, field: str, name_attribute: str = "name") -> None:
        super().__init__()
        self.kind, self.field, self.name_attribute = kind, field, name_attribute

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def add(cls: type[T]) -> type[T]:
            declared = self._declared(name)
            if name in self and not (
                isinstance(declared, _Lazy) and declared.target == _target_of(cls)
            ):
                raise ValueError(f"{self.kind} {name!r} registered twice")
            setattr(cls, self.name_attribute, name)
            self._store(name, cls)
            return cls

        return add

    def add_lazy(self, name: str, target: str) -> None:
        """Declare ``name`` as the class at ``target`` (``"package.module:Class"``), imported
        when first needed; the module may register the class itself (with :meth:`register`)
        or leave it to this registry."""
        module, _, attribute = target.partition(":")
        if not module or not attribute.isidentifier():
            raise ValueError(f"{self.kind} {name!r}: {target!r} is not 'package.module:Class'")
        if name in self:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._store(name, _Lazy(target))

    def _declared(self, name: str) -> type[T] | _Lazy | None:
        """What is stored under ``name``: its class, or where to import it from."""
        return super().get(name)

    def _store(self, name: str, value: type[T] | _Lazy) -> None:
        super().__setitem__(name, value)

    def is_loaded(self, name: str) -> bool:
        """Whether ``name``'s class has been imported (always, unless declared lazily)."""
        return not isinstance(self._declared(name), _Lazy)

    def _load(self, name: str) -> type[T]:
        declared = super().__getitem__(name)
        if not isinstance(declared, _Lazy):
            return declared
        module, _, attribute = declared.target.partition(":")
        try:
            cls: type[T] = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise ImportError(
                f"{self.kind} {name!r} is declared as {declared.target!r}, "
                f"which cannot be imported: {exc}"
            ) from exc
        if isinstance(self._declared(name), _Lazy):  # the module did not register it itself
            self.register(name)(cls)
        loaded = super().__getitem__(name)
        if loaded is not cls:
            raise ImportError(
                f"{self.kind} {name!r} is declared as {declared.target!r}, "
                f"but its module registered {_target_of(loaded)!r}"
            )
        return cls

    def __getitem__(self, name: str) -> type[T]:
        return self._load(name)

    def get(self, name: str, default: Any = None) -> Any:
        return self._load(name) if name in self else default

    def __iter__(self) -> Iterator[str]:
        # Defined so that dict(registry) and {**registry} go through __getitem__.
        return iter(dict.keys(self))

    def values(self) -> list[type[T]]:  # type: ignore[override]  # loaded classes, not a view
        return [self._load(name) for name in self]

    def items(self) -> list[tuple[str, type[T]]]:  # type: ignore[override]  # loaded, not a view
        return [(name, self._load(name)) for name in self]

    def options(self, name: str) -> tuple[Option, ...]:
        """The options ``name`` takes: every keyword of its constructor, with type, default
        and the meaning its docstring gives. A class whose constructor passes ``**kwargs`` on
        names where they go in ``extra_options`` (a class or function); their options follow."""
        cls = self[name]
        # A subclass's docstring describes its own options; a base class's, the shared ones
        # (e.g. every comparison's ``role`` and ``name``).
        merged: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            merged.update(_docstring_parameters(klass.__doc__))
        return tuple(
            Option(o.name, o.type, o.default, merged.get(o.name, o.meaning))
            for o in _options_of(cls.__init__, cls.__doc__, getattr(cls, "extra_options", None))
        )

    def accepts_any_option(self, name: str) -> bool:
        """Whether ``name`` takes keywords it does not list (``**kwargs`` with no source)."""
        cls = self[name]
        if getattr(cls, "extra_options", None) is not None:
            return False
        params = inspect.signature(cls.__init__).parameters.values()
        return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)

    def check(self, name: object, params: Mapping[str, Any], path: str | None = None) -> None:
        """Refuse an unknown name, an unknown option or a missing required one, naming the key
        path (``path``, default this registry's field) and what is allowed."""
        path = path or self.field
        if not isinstance(name, str) or name not in self:
            known = sorted(self)
            close = difflib.get_close_matches(name, known, n=1) if isinstance(name, str) else []
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                path, f"unknown {self.kind} {name!r}{hint} (known: {', '.join(known)})"
            )
        options = self.options(name)
        allowed = [o.name for o in options]
        if not self.accepts_any_option(name):
            for key in params:
                if key not in allowed:
                    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    listed = f"options: {', '.join(allowed)}" if allowed else "it takes none"
                    raise ConfigError(
                        f"{path}.{key}",
                        f"{self.kind} {name!r} has no option {key!r}{hint} ({listed})",
                    )
        for option in options:
            if option.required and option.name not in params:
                raise ConfigError(
                    f"{path}.{option.name}",
                    f"{self.kind} {name!r} needs the option {option.name!r} ({option.meaning or option.type})",
                )

    def create(self, name: object, params: Mapping[str, Any] | None = None) -> T:
        """An instance of ``name`` built with ``params``, with errors users can act on."""
        if not isinstance(name, str) or name not in self:
            raise UnknownNameError(self.field, str(name), self)
        self.check(name, params or {}, f"{self.field}.{name}")
        try:
            return self[name](**dict(params or {}))
        except TypeError as exc:
            # e.g. "__init__() got an unexpected keyword argument 'windw'"
            raise ConfigError(f"{self.field}.{name}", str(exc).split("() ")[-1]) from None


def _constructor(cls: type[object]) -> Callable[..., None]:
    """The ``__init__`` whose signature lists a class's options."""
    return cls.__init__


def _target_of(cls: Any) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _options_of(function: Any, doc: str | None, extra: Any) -> tuple[Option, ...]:
    meanings = _docstring_parameters(doc)
    if extra is not None:
        meanings = {**_docstring_parameters(getattr(extra, "__doc__", None)), **meanings}
    out: list[Option] = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        out.append(
            Option(
                parameter.name,
                _type_text(parameter.annotation),
                _default_text(parameter.default),
                meanings.get(parameter.name, ""),
            )
        )
    if extra is not None:
        init = _constructor(extra) if isinstance(extra, type) else extra
        names = {o.name for o in out}
        for option in _options_of(init, getattr(extra, "__doc__", None), None):
            if option.name not in names:
                out.append(Option(option.name, option.type, option.default, option.meaning))
    return tuple(out)
