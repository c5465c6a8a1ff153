"""The scenario schema: population, requests, lookup rule and report, validated by pydantic.

Errors give the key path, the value given and what is allowed; unknown keys are rejected with
the nearest valid key suggested.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from matchsim.errors import ConfigError
from matchsim.pprl.scenario import PrivacyConfig
from matchsim.requests import RequestConfig
from matchsim.synth import CensusConfig

#: A scenario name: one path component, never ``.``, ``..`` or hidden.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LookupConfig(_Strict):
    """The lookup rule: which register addresses count, blocking, comparisons, matcher, decision."""

    #: ``current``: the address the register holds; ``history``: any address the family had.
    addresses: Literal["current", "history"] = "current"
    #: ``default`` (multi-pass), a blocker name, a mapping ``{name: ..., ...}`` or a list (union).
    blocking: Any = "default"
    #: Comparison specs; default: one per role both sides have (postcode and address judged
    #: together as the location; middle names exact, near-exact or by initial).
    comparisons: list[Any] | None = None
    #: ``deterministic``, ``cascade``, ``weighted``, ``fellegi_sunter`` or a mapping with params.
    matcher: Any = "deterministic"
    decision: Literal["unique", "best", "all", "one_to_one"] = "unique"
    #: Score needed to match; default: the matcher's own.
    threshold: float | None = None

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 100:
            raise ValueError(
                f"{value} is not a threshold (0-1 for scores; cascade ranks are whole numbers)"
            )
        return value

    @model_validator(mode="after")
    def _strategies(self) -> LookupConfig:
        # Unknown strategies and options are refused here, when the scenario is loaded, with
        # the key path below ``lookup`` carried to :func:`explain` in the error's context.
        from matchsim.scenario.strategies import check_lookup

        try:
            check_lookup(self.blocking, self.comparisons, self.matcher)
        except ConfigError as exc:
            message = str(exc).removeprefix(f"{exc.field}: ")
            raise PydanticCustomError(
                "strategy_option", "{message}", {"message": message, "at": exc.field}
            ) from None
        return self


class ReportConfig(_Strict):
    """What the report shows."""

    #: Worked examples of false and missed matches in "how it went wrong".
    examples: int = Field(6, ge=0, le=100)
    #: Subgroup breakdowns (request columns; ``error_types`` splits by error type).
    breakdowns: list[str] = Field(
        default_factory=lambda: ["true_name_origin", "true_is_twin", "sex", "error_types"]
    )
    #: Also run each blocking pass alone, for the blocking trade-off chart.
    blocking_tradeoff: bool = True


class SweepConfig(_Strict):
    """A grid of settings (dotted keys, e.g. ``population.pupils``) times several seeds."""

    #: Dotted setting -> values to try, e.g. ``population.pupils: [25000, 100000]``.
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    #: Seeds per point (the scenario seed, seed + 1, ...); intervals pool them.
    seeds: int = Field(3, ge=1, le=1000)
    #: Local processes running points in parallel (workers of the local Dask cluster with
    #: ``executor: dask`` and no ``--scheduler``).
    workers: int = Field(2, ge=1, le=256)


class Scenario(_Strict):
    """A complete, runnable question: who is in the register, who asks, and by which rule.

    Examples
    --------
    >>> Scenario.model_validate({"population": {"pupils": 5000}, "requests": {"count": 100}}).seed
    2024
    """

    #: Short name; results go to results/NAME by default.
    name: str = "scenario"
    #: One or two sentences shown at the top of the report.
    description: str = ""
    #: Written into resolved scenarios; informational only.
    matchsim_version: str | None = None
    #: Seed of the whole run; the register, the requests and the matcher derive theirs from it.
    seed: int = Field(2024, ge=0, le=2**63 - 1)
    #: The register. Default: national density, the whole January 2024 census (9,092,073
    #: pupils; with ``birth_years``, every child born in those years who had started school).
    #: A smaller ``pupils`` is a sparser register than England's: it understates how often a
    #: lookup returns the wrong child.
    population: CensusConfig = CensusConfig()
    requests: RequestConfig = RequestConfig()
    lookup: LookupConfig = LookupConfig()
    report: ReportConfig = ReportConfig()
    #: Only for ``matchsim sweep``: what to vary.
    sweep: SweepConfig | None = None
    #: Where the work runs: ``local`` (this process), ``processes`` (register partitions and
    #: sweep points on local processes) or ``dask`` (register partitions, lookups and sweep
    #: points on a Dask cluster: ``--scheduler ADDRESS``, else a local one; needs
    #: ``pip install 'matchsim[dask]'``). Results are identical whichever runs them.
    executor: Literal["local", "processes", "dask"] = "local"
    #: Register partitions for ``processes``/``dask`` (default: one per worker).
    partitions: int | None = Field(None, ge=1, le=100_000)
    #: Privacy-preserving matching beside the lookup, and its privacy risk (see docs/pprl.md).
    privacy: PrivacyConfig | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # The name becomes the directory results/NAME: a scenario file shared by someone else
        # must not steer writes elsewhere (``../victim``, ``/tmp/x``).
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                "a name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or "
                "digit (it names the directory results/NAME)"
            )
        return value


def _nearest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"


def _model_at(path: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in path:
        if model is None:
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return model


def _annotation_at(loc: tuple[Any, ...], root: type[BaseModel]) -> Any:
    """The annotation of the field a validation error points at (through models and dicts)."""
    from typing import get_args, get_origin

    annotation: Any = root
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
            metadata = field.metadata
            if metadata:
                annotation = (annotation, metadata)
            continue
        base: Any = annotation[0] if isinstance(annotation, tuple) else annotation
        args = [a for a in get_args(base) if a is not type(None)]
        # Optional[X] -> X; dict[K, V] -> V
        while args and get_origin(base) is not dict and len(args) == 1:
            base = args[0]
            args = [a for a in get_args(base) if a is not type(None)]
        if get_origin(base) is dict:
            annotation = get_args(base)[1]
        elif isinstance(base, type) and issubclass(base, BaseModel):
            annotation = base
            field = base.model_fields.get(str(part))
            if field is None:
                return None
            annotation = (field.annotation, field.metadata) if field.metadata else field.annotation
        else:
            return None
    return annotation


def _is_probability(loc: tuple[Any, ...], root: type[BaseModel]) -> bool:
    """Whether the field is constrained to [0, 1]."""
    from typing import get_args

    annotation = _annotation_at(loc, root)
    if isinstance(annotation, tuple):
        metadata = list(annotation[1])
    else:
        metadata = list(getattr(annotation, "__metadata__", ()))
        for arg in get_args(annotation):  # Optional[Annotated[float, ...]]
            metadata += list(getattr(arg, "__metadata__", ()))
    bounds = {}
    for item in metadata:
        for meta in getattr(item, "metadata", [item]):
            for name in ("ge", "le"):
                if getattr(meta, name, None) is not None:
                    bounds[name] = getattr(meta, name)
    return bounds.get("ge") == 0 and bounds.get("le") == 1


def explain(
    exc: ValidationError, root: type[BaseModel] | None = None, aliases: dict[str, str] | None = None
) -> ConfigError:
    """The first validation error as one line: key path, value given, what is allowed.

    ``root`` is the model validated (default :class:`Scenario`; e.g. ``CensusConfig`` for a
    census ``--config``); ``aliases`` renames key paths (e.g. ``pupils`` to ``--pupils``).
    """
    root = root if root is not None else Scenario
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc) or ("scenario" if root is Scenario else "config")
    path = (aliases or {}).get(path, path)
    given = error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "strategy_option":
        at = error.get("ctx", {}).get("at", "")
        return ConfigError(".".join(p for p in (path, at) if p), error["ctx"]["message"])
    if error["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1], root)
        allowed = sorted(parent.model_fields) if parent is not None else []
        return ConfigError(path, f"unknown key{_nearest(str(loc[-1]), allowed)}")
    if error["type"] in ("less_than_equal", "greater_than_equal") and _is_probability(loc, root):
        return ConfigError(path, f"{given} is not a probability (0–1)")
    if given is not None and not isinstance(given, dict | list):
        return ConfigError(path, f"{given!r} is not allowed: {message[0].lower()}{message[1:]}")
    return ConfigError(path, message)


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c = value`` inside nested dicts (creating levels)."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``key.path=value`` with the value read as YAML (numbers, lists, mappings, strings)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            "overrides", f"{text!r} is not KEY.PATH=VALUE (e.g. population.pupils=100000)"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_scenario(
    path: Path | str | None = None,
    overrides: list[str] | None = None,
    data: dict[str, Any] | None = None,
) -> Scenario:
    """Read and validate a scenario file, applying ``--set`` style overrides."""
    raw: dict[str, Any] = dict(data or {})
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError("scenario", f"{str(path)!r} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(
                "scenario", f"{str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}"
            ) from None
        if not isinstance(loaded, dict):
            raise ConfigError("scenario", f"{str(path)!r} must hold a mapping of settings")
        raw = {**loaded, **raw}
    for item in overrides or []:
        key, value = parse_override(item)
        set_path(raw, key, value)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise explain(exc) from None


REDACTED = "<redacted>"


def redact_keys(value: Any) -> Any:
    """A secret key given inline to a matcher or blocker (``key:``) is never written out."""
    if isinstance(value, dict):
        return {
            k: REDACTED if k == "key" and v is not None else redact_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_keys(v) for v in value]
    return value


def resolved_yaml(scenario: Scenario, version: str) -> str:
    """Every setting filled in, with the matchsim version: enough to repeat the run exactly."""
    body = redact_keys(scenario.model_dump(mode="json"))
    body.pop("matchsim_version", None)  # the version writing it, not the one read in
    header = (
        f"# Resolved scenario written by matchsim {version}.\n"
        "# Run it again with: matchsim run scenario.resolved.yaml\n"
    )
    return header + yaml.safe_dump(
        {"matchsim_version": version, **body}, sort_keys=False, allow_unicode=True
    )
