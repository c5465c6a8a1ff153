"""Text for the generated benchmark pages: figures, Markdown table cells and tables."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def escape(value: object) -> str:
    """Text for the page, escaped for HTML; a missing value reads as a dash."""
    return "—" if value is None else html.escape(str(value))


def number(value: Any) -> str:
    """A figure as the page shows it: thousands separated, about four significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1e-4:
            digits = max(0, 3 - math.floor(math.log10(abs(value))))
            return f"{value:.{digits}f}"
        return f"{value:.3g}"
    return cell(value)


def cell(value: Any) -> str:
    """Text that cannot break a Markdown table row."""
    one_line = " ".join(str(value).splitlines())  # every kind of line break, not only newlines
    return one_line.replace("\\", "\\\\").replace("|", "\\|")


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts and lists as (dotted key, scalar) pairs; lists of scalars stay one value."""
    if isinstance(value, Mapping):
        out = []
        for key, item in value.items():
            out += flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return [(prefix, ", ".join(number(v) for v in value))]
        out = []
        for i, item in enumerate(value):
            out += flatten(item, f"{prefix}.{i}")
        return out
    return [(prefix, value)]


def table(header: list[str], rows: list[list[str]], align_right: Iterable[int] = ()) -> str:
    right = set(align_right)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fixed(digits: int) -> Callable[[Any], str]:
    """A formatter with a fixed number of decimals (None shows as a dash)."""
    return lambda value: "—" if value is None else f"{value:.{digits}f}"
