"""The scenario reference page, generated from the schema itself.

Each setting's description is the ``#:`` comment above its field in the source, so the page
and the code cannot drift apart; ``tests/scenario`` checks the committed page is current.

    python -m matchsim.scenario.reference > docs/scenario-reference.md
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
        out.append(
            (
                path,
                _type_name(field.annotation),
                _default(value),
                comments.get(name, (sub.__doc__ or "").strip().splitlines()[0] if sub else ""),
            )
        )
        if sub is not None:
            out.extend(rows(sub, f"{path}.", value if isinstance(value, BaseModel) else None))
    return out


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
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(reference_markdown(), end="")
