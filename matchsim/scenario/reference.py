"""The scenario reference and census-config pages, generated from the code itself.

Each setting's description is the ``#:`` comment above its field in the source, and each
strategy option's is its class's docstring (see :meth:`matchsim.registry.Registry.options`),
so the pages and the code cannot drift apart; tests check the committed pages are current.

    python -m matchsim.scenario.reference > docs/scenario-reference.md
    python -m matchsim.scenario.reference census > docs/census-config.md
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from matchsim.scenario.schema import Scenario


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """``#:`` comment lines directly above each field of a model class."""
    out: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            lines = inspect.getsource(cls).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("#:"):
                pending.append(stripped[2:].strip())
                continue
            match = re.match(r"(\w+)\s*:", stripped)
            if match and pending:
                out[match.group(1)] = " ".join(pending)
            if not stripped.startswith("#"):
                pending = []
    return out


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        text = getattr(annotation, "__name__", str(annotation))
    else:
        text = str(annotation).replace("typing.", "")
    # Annotated[float, FieldInfo(...)] -> float (the constraints are in the meaning column)
    while "Annotated[" in text:
        text = re.sub(
            r"Annotated\[(\w+), FieldInfo\([^()]*(?:\([^()]*\)[^()]*)*\)\]", r"\1", text, count=1
        )
        if "Annotated[" in text and not re.search(r"Annotated\[(\w+), FieldInfo", text):
            break
    return text.replace("NoneType", "null").replace("datetime.date", "date")


def _default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "(see below)"
    text = json.dumps(value, default=str)
    return text if len(text) < 120 else text[:117] + "..."


def rows(
    model: type[BaseModel], prefix: str = "", defaults: BaseModel | None = None
) -> list[tuple[str, str, str, str]]:
    defaults = defaults if defaults is not None else model()
    comments = _comments(model)
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        value = getattr(defaults, name)
        sub = _submodel(field.annotation)
        text = comments.get(name, (sub.__doc__ or "").strip().splitlines()[0] if sub else "")
        own = field.get_default(call_default_factory=True)
        if sub is None and value != own:
            # The enclosing setting's default overrides this field's own (e.g. a scenario's
            # requests or lookup setting a different default from the standalone one).
            text += (
                f" In a scenario the default is {_default(value)} (set by"
                f" `{prefix.rstrip('.')}`); the default described above, {_default(own)},"
                " applies where the setting stands alone (e.g. `matchsim generate`)."
            )
        out.append((path, _type_name(field.annotation), _default(value), text))
        if sub is not None:
            out.extend(rows(sub, f"{path}.", value if isinstance(value, BaseModel) else None))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text.replace('|', '∣')}`"


def options_markdown() -> list[str]:
    """One table per blocker, comparison and matcher: its options, types, defaults, meanings."""
    from matchsim.blocking import BLOCKERS
    from matchsim.comparison import COMPARISONS
    from matchsim.decision import POLICY_DESCRIPTIONS
    from matchsim.matchers import MATCHERS
    from matchsim.registry import first_paragraph
    from matchsim.scenario.strategies import COMPARISON_ROLES

    lines = [
        "",
        "## Strategies and their options",
        "",
        "`lookup.blocking`, `lookup.comparisons` and `lookup.matcher` take a name, or a mapping",
        "of the name and options, e.g. `matcher: {name: weighted, threshold: 0.7}` or",
        "`comparisons: [{kind: name, role: forename, thresholds: [0.95, 0.85]}, surname]`.",
        "`lookup.blocking` also takes a list (a union of passes) and `exact:KEY+KEY`;",
        f"a comparison may be a role name ({', '.join(COMPARISON_ROLES)}) with default options.",
        "An unknown name or option is refused when the scenario is loaded, with the nearest",
        "valid one. `matchsim list` shows the same names and defaults.",
    ]
    sections = (
        ("Blockers (`lookup.blocking`)", "name", BLOCKERS),
        ("Comparisons (`lookup.comparisons`)", "kind", COMPARISONS),
        ("Matchers (`lookup.matcher`)", "name", MATCHERS),
    )
    for title, key, registry in sections:
        lines += ["", f"### {title}"]
        for name in sorted(registry):  # registration order follows import order
            lines += ["", f"#### `{key}: {name}`", "", _cell(first_paragraph(registry[name]))]
            options = registry.options(name)
            if not options:
                lines += ["", "No options."]
                continue
            lines += ["", "| option | type | default | meaning |", "|---|---|---|---|"]
            for o in options:
                lines.append(
                    f"| `{o.name}` | {_code(o.type)} | {_code(o.default)} | {_cell(o.meaning)} |"
                )
    lines += [
        "",
        "### Decision policies (`lookup.decision`)",
        "",
        "| name | returns |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {_cell(v)} |" for k, v in POLICY_DESCRIPTIONS.items()]
    return lines


def reference_markdown() -> str:
    lines = [
        "# Scenario reference",
        "",
        "Every setting of a scenario file, its type, its default and where the default comes from.",
        "Generated from the schema (`python -m matchsim.scenario.reference`); do not edit by hand.",
        "Set any of them on the command line with `--set key.path=value`.",
        "",
        "| key | type | default | meaning and source |",
        "|---|---|---|---|",
    ]
    for path, type_name, default, text in rows(Scenario):
        cell = text.replace("|", "\\|")
        lines.append(
            f"| `{path}` | `{type_name.replace('|', '∣')}` | `{default.replace('|', '∣')}` | {cell} |"
        )
    lines += options_markdown()
    return "\n".join(lines) + "\n"


def census_markdown() -> str:
    """docs/census-config.md: every :class:`CensusConfig` field, for ``generate --config``."""
    from matchsim.synth import CensusConfig

    lines = [
        "# Census configuration",
        "",
        "Every setting of a synthetic register: what `matchsim generate --config FILE.yaml`",
        "reads, and what a scenario's `population:` holds. Each default carries its published",
        "source or is marked an assumption.",
        "Generated from `matchsim/synth/config.py` (`python -m matchsim.scenario.reference",
        "census`); do not edit by hand.",
        "",
        "```yaml",
        "# census.yaml: matchsim generate --config census.yaml --out c.parquet",
        "pupils: 500000",
        "census_date: 2025-01-16",
        "names:",
        "  origins: {british: 0.8, pakistani: 0.1, polish: 0.1}",
        "mobility:",
        "  same_district_share: 0.6",
        "```",
        "",
        "Command-line options override the file: `--pupils`, `--birth-years`, `--census-date`,",
        "`--origins`. An unknown key is refused with its key path and the nearest valid key",
        "(`names.origns: unknown key; did you mean 'origins'?`). A register too large for the",
        "machine is refused before any work with an estimate of its memory and time",
        "(`--force` overrides an estimate above the memory available now, never the machine's",
        "total memory).",
        "",
        "| key | type | default | meaning and source |",
        "|---|---|---|---|",
    ]
    for path, type_name, default, text in rows(CensusConfig):
        lines.append(f"| `{path}` | {_code(type_name)} | {_code(default)} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    page = sys.argv[1] if len(sys.argv) > 1 else "scenario"
    print(census_markdown() if page == "census" else reference_markdown(), end="")
