"""Escaping and number formats shared by the report pages."""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["e", "pct"]


def e(value: Any) -> str:
    """HTML-escaped text; a missing value shows as "—" (explained on the page)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return html.escape(str(value))


def pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if 0 < abs(x) < 0.01 and digits < 2:
        digits = 2  # small rates matter here: 0.03% is not 0.0%
    return f"{100 * x:.{digits}f}%"
