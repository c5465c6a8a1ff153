"""Inline SVG charts for the reports: drawn by hand, so that a page needs no script and makes
no network request (a charting library would do one or the other, for a few simple figures).

Axes use round ticks (1, 2 or 5 times a power of ten); series differ by colour *and* marker
shape, so that they stay apart in print and for readers who do not see every colour.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "PALETTE",
    "Bar",
    "Dot",
    "Series",
    "bar_chart",
    "dot_chart",
    "line_chart",
    "log_scatter",
    "marker",
    "nice_ticks",
    "svg_document",
    "waterfall_chart",
]

#: Distinct colours (Paul Tol's "muted" scheme, then black and orange): readable in print and
#: for common colour-vision deficiencies.
PALETTE = (
    "#332288",
    "#117733",
    "#CC6677",
    "#88CCEE",
    "#999933",
    "#882255",
    "#44AA99",
    "#DDCC77",
    "#AA4499",
    "#000000",
    "#EE7733",
    "#0077BB",
)
SHAPES = ("circle", "square", "triangle", "diamond")


def _e(value: Any) -> str:
    return html.escape(str(value))


def svg_document(label: str, width: int, height: int, parts: Sequence[str]) -> str:
    """A standalone SVG image (also valid inline in HTML) of the given elements. It scales
    down with its container (``max-width: 100%``), so it never widens the page."""
    return (
        f'<svg role="img" aria-label="{_e(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="max-width:100%;height:auto" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    digits = max(0, 2 - math.floor(math.log10(step)))  # enough to hold the step exactly
    ticks = []
    k = 0
    while True:
        value = first + k * step
        ticks.append(round(value, digits))
        if value >= high - 1e-9 * step:
            break
        k += 1
    return ticks


def marker(shape: str, x: float, y: float, colour: str, size: float = 5) -> str:
    """A marker of one of :data:`SHAPES` centred at (x, y)."""
    if shape == "square":
        return (
            f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:.1f}" '
            f'height="{2 * size:.1f}" fill="{colour}"/>'
        )
    if shape == "triangle":
        return (
            f'<polygon points="{x:.1f},{y - size * 1.2:.1f} {x - size * 1.1:.1f},{y + size * 0.9:.1f} '
            f'{x + size * 1.1:.1f},{y + size * 0.9:.1f}" fill="{colour}"/>'
        )
    if shape == "diamond":
        s = size * 1.25
        return (
            f'<polygon points="{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} '
            f'{x - s:.1f},{y:.1f}" fill="{colour}"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" fill="{colour}"/>'


def style_of(i: int) -> tuple[str, str]:
    """Colour and marker shape of the i-th series: no two of the first 48 are alike."""
    return PALETTE[i % len(PALETTE)], SHAPES[(i // len(PALETTE) + i) % len(SHAPES)]


# --------------------------------------------------------------------------------------------
# dot-and-whisker
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dot:
    """One group of a dot-and-whisker chart. ``n`` is the rate's denominator."""

    label: str
    value: float
    low: float
    high: float
    n: int


def dot_chart(
    dots: Sequence[Dot],
    title: str,
    *,
    unit: str = "per 10,000 requests",
    min_n: int = 30,
    n_label: str = "requests",
    colour: str = "#c62828",
) -> str:
    """Rates by group with their intervals. A group with fewer than ``min_n`` requests in the
    denominator is named with its count and "too few to estimate", not drawn as a bare dot."""
    if not dots:
        return ""
    width, row_h, left, right, top = 760, 26, 250, 150, 34
    shown = [d for d in dots if d.n >= min_n and math.isfinite(d.value)]
    hi = max([d.high for d in shown] + [0.0])
    ticks = nice_ticks(0.0, hi if hi > 0 else 1.0)
    span = ticks[-1] or 1.0
    plot_w = width - left - right

    def px(v: float) -> float:
        return left + v / span * plot_w

    parts = [f'<text x="{left}" y="16" font-size="13" font-weight="600">{_e(title)}</text>']
    for i, d in enumerate(dots):
        y = top + 10 + i * row_h
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="12">'
            f"{_e(d.label)} ({n_label} n={d.n:,})</text>"
        )
        if d.n < min_n or not math.isfinite(d.value):
            why = "no requests" if d.n == 0 else f"too few {n_label} to estimate a rate"
            parts.append(
                f'<text x="{left + 4}" y="{y + 4}" font-size="11" fill="#666" '
                f'font-style="italic">{_e(why)}</text>'
            )
            continue
        parts.append(
            f'<line x1="{px(d.low):.1f}" x2="{px(d.high):.1f}" y1="{y}" y2="{y}" '
            f'stroke="#555" stroke-width="2"/>'
            f'<line x1="{px(d.low):.1f}" x2="{px(d.low):.1f}" y1="{y - 4}" y2="{y + 4}" stroke="#555"/>'
            f'<line x1="{px(d.high):.1f}" x2="{px(d.high):.1f}" y1="{y - 4}" y2="{y + 4}" stroke="#555"/>'
            f'<circle cx="{px(d.value):.1f}" cy="{y}" r="5" fill="{colour}"/>'
            f'<text x="{width - right + 8}" y="{y + 4}" font-size="11">{_fmt(d.value)} '
            f"({_fmt(d.low)}–{_fmt(d.high)})</text>"
        )
    axis_y = top + 10 + len(dots) * row_h - 8
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{axis_y}" y2="{axis_y}" stroke="#999"/>'
    )
    for t in ticks:
        parts.append(
            f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top}" y2="{axis_y}" stroke="#eee"/>'
            f'<text x="{px(t):.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">'
            f"{_fmt(t)}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 30}" font-size="11" '
        f'text-anchor="middle">{_e(unit)}</text>'
    )
    # grid lines first, so that dots sit on top
    grid = [p for p in parts if 'stroke="#eee"' in p]
    rest = [p for p in parts if 'stroke="#eee"' not in p]
    return svg_document(title, width, axis_y + 40, grid + rest)


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.2f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------------------------
# bars
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""


def bar_chart(bars: Sequence[Bar], title: str, axis: str, *, width: int = 640) -> str:
    """Horizontal bars from zero, positive right (green) and negative left (red): match
    weights of comparison levels."""
    if not bars:
        return ""
    row_h, left, right, top = 24, 200, 190, 30
    lo = min([b.value for b in bars] + [0.0])
    hi = max([b.value for b in bars] + [0.0])
    ticks = nice_ticks(lo, hi if hi > lo else lo + 1)
    t0, t1 = ticks[0], ticks[-1]
    plot_w = width - left - right

    def px(v: float) -> float:
        return left + (v - t0) / (t1 - t0) * plot_w

    parts = [f'<text x="4" y="16" font-size="13" font-weight="600">{_e(title)}</text>']
    axis_y = top + len(bars) * row_h + 4
    for t in ticks:
        parts.append(
            f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top - 4}" y2="{axis_y}" stroke="#eee"/>'
            f'<text x="{px(t):.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">'
            f"{_fmt(t)}</text>"
        )
    parts.append(
        f'<line x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{top - 4}" y2="{axis_y}" stroke="#777"/>'
    )
    for i, b in enumerate(bars):
        y = top + i * row_h
        x0, x1 = sorted((px(0), px(b.value)))
        colour = "#2e7d32" if b.value >= 0 else "#c62828"
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12">{_e(b.label)}</text>'
            f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 8}" '
            f'fill="{colour}"/>'
            f'<text x="{left + plot_w + 8}" y="{y + 14}" font-size="11">{b.value:+.2f} '
            f"{_e(b.note)}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 30}" font-size="11" '
        f'text-anchor="middle">{_e(axis)}</text>'
    )
    return svg_document(title, width, axis_y + 38, parts)


def waterfall_chart(prior: float, terms: Sequence[tuple[str, float]], title: str) -> str:
    """Splink's waterfall: the prior match weight, each comparison's weight added in turn,
    and the final match weight (log2 odds)."""
    width, row_h, left, right, top = 520, 22, 190, 60, 26
    steps = [("prior", prior), *terms]
    cum = [0.0]
    for _, w in steps:
        cum.append(cum[-1] + w)
    total = cum[-1]
    ticks = nice_ticks(min(cum), max(cum))
    t0, t1 = ticks[0], ticks[-1]
    plot_w = width - left - right

    def px(v: float) -> float:
        return left + (v - t0) / (t1 - t0) * plot_w

    parts = [f'<text x="4" y="16" font-size="12" font-weight="600">{_e(title)}</text>']
    rows = len(steps) + 1
    axis_y = top + rows * row_h + 4
    for t in ticks:
        parts.append(
            f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top - 4}" y2="{axis_y}" stroke="#eee"/>'
            f'<text x="{px(t):.1f}" y="{axis_y + 13}" font-size="10" text-anchor="middle">'
            f"{_fmt(t)}</text>"
        )
    parts.append(
        f'<line x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{top - 4}" y2="{axis_y}" stroke="#777"/>'
    )
    for i, (label, w) in enumerate(steps):
        y = top + i * row_h
        a, b = sorted((px(cum[i]), px(cum[i + 1])))
        colour = "#555" if i == 0 else ("#2e7d32" if w >= 0 else "#c62828")
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11">{_e(label)}</text>'
            f'<rect x="{a:.1f}" y="{y + 3}" width="{max(b - a, 1.5):.1f}" height="{row_h - 7}" '
            f'fill="{colour}"/>'
            f'<text x="{left + plot_w + 6}" y="{y + 14}" font-size="11">{w:+.2f}</text>'
        )
    y = top + len(steps) * row_h
    a, b = sorted((px(0), px(total)))
    parts.append(
        f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11" font-weight="600">'
        f"final match weight</text>"
        f'<rect x="{a:.1f}" y="{y + 3}" width="{max(b - a, 1.5):.1f}" height="{row_h - 7}" '
        f'fill="#1565c0"/>'
        f'<text x="{left + plot_w + 6}" y="{y + 14}" font-size="11" font-weight="600">'
        f"{total:+.2f}</text>"
        f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 27}" font-size="10" '
        f'text-anchor="middle">match weight (log2 odds)</text>'
    )
    return svg_document(title, width, axis_y + 33, parts)


# --------------------------------------------------------------------------------------------
# lines and scatter
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    label: str
    xs: Sequence[float] | np.ndarray
    ys: Sequence[float] | np.ndarray
    #: Whiskers: sequences, not arrays (``high or []`` tests them for truth).
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None


def line_chart(
    series: Sequence[Series],
    title: str,
    x_label: str,
    y_label: str,
    *,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    y_format: Any = None,
    mark_x: float | None = None,
    mark_label: str = "",
    width: int = 560,
    height: int = 300,
    dodge: bool = False,
    y_max: float | None = None,
    x_range: tuple[float, float] | None = None,
) -> str:
    """Lines with markers, a legend naming each series, optional whiskers (``low``/``high``)
    and a vertical marker (the scenario's threshold). ``dodge`` shifts series sideways a
    little, so that identical series stay visible side by side."""
    fmt = y_format or _fmt
    left, right, top, bottom = 64, 20, 28, 52
    per_row = 2 if width >= 640 and max(len(s.label) for s in series) <= 40 else 1
    legend_h = 16 * ((len(series) + per_row - 1) // per_row)
    plot_w, plot_h = width - left - right, height - top - bottom
    xs_all = [x for s in series for x in s.xs if math.isfinite(x)]
    ys_all = [
        y for s in series for y in [*s.ys, *(s.high or [])] if y is not None and math.isfinite(y)
    ]
    if not xs_all:
        return ""
    x0, x1 = min(xs_all), max(xs_all)
    if x_ticks:
        x0, x1 = min(x0, x_ticks[0][0]), max(x1, x_ticks[-1][0])
    if x_range is not None:
        x0, x1 = x_range
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    top_value = y_max if y_max is not None else max([*ys_all, 0.0]) * 1.05
    y_ticks = nice_ticks(0.0, top_value if top_value > 0 else 1.0)
    y1 = y_ticks[-1]

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (1 - y / y1) * plot_h

    parts = [
        f'<text x="4" y="16" font-size="13" font-weight="600">{_e(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for t in y_ticks:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{py(t) + 4:.1f}" font-size="10" text-anchor="end">{fmt(t)}</text>'
        )
    for x, label in x_ticks or [(t, _fmt(t)) for t in nice_ticks(x0, x1) if x0 <= t <= x1]:
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 14}" font-size="10" '
            f'text-anchor="middle">{_e(label)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" font-size="11" '
        f'text-anchor="middle">{_e(x_label)}</text>'
        f'<text x="12" y="{top + plot_h / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{_e(y_label)}</text>'
    )
    if mark_x is not None and x0 <= mark_x <= x1:
        parts.append(
            f'<line x1="{px(mark_x):.1f}" x2="{px(mark_x):.1f}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="#000" stroke-dasharray="4 3"/>'
            f'<text x="{px(mark_x) + 4:.1f}" y="{top + 12}" font-size="10">{_e(mark_label)}</text>'
        )
    step = plot_w / max(len(xs_all), 1)
    for i, s in enumerate(series):
        colour, shape = style_of(i)
        shift = (i - (len(series) - 1) / 2) * min(6.0, step / 4) if dodge else 0.0
        points = [
            (px(x) + shift, py(y))
            for x, y in zip(s.xs, s.ys, strict=True)
            if y is not None and math.isfinite(y)
        ]
        if len(points) > 1:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
            dash = "" if i % 2 == 0 else ' stroke-dasharray="6 3"'
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
        if s.low is not None and s.high is not None:
            for x, lo, hi in zip(s.xs, s.low, s.high, strict=True):
                if math.isfinite(lo) and math.isfinite(hi):
                    parts.append(
                        f'<line x1="{px(x) + shift:.1f}" x2="{px(x) + shift:.1f}" '
                        f'y1="{py(lo):.1f}" y2="{py(hi):.1f}" stroke="{colour}"/>'
                    )
        if len(points) <= 40:
            parts.extend(marker(shape, a, b, colour, 4) for a, b in points)
        lx = left + (i % per_row) * plot_w / 2
        ly = top + plot_h + 46 + 16 * (i // per_row)
        parts.append(
            marker(shape, lx + 5, ly - 4, colour, 4)
            + f'<text x="{lx + 14}" y="{ly}" font-size="11">{_e(s.label)}</text>'
        )
    return svg_document(title, width, height + legend_h, parts)


def log_scatter(
    points: Sequence[tuple[str, float, float]], title: str, x_label: str, y_label: str
) -> tuple[str, list[tuple[str, str, str]]]:
    """Points on a log x axis (candidate pairs) against a share (pairs completeness), each
    numbered; returns the SVG and the legend rows (number, colour, shape) for the page."""
    pts = [(label, x, y) for label, x, y in points if x > 0 and y is not None]
    if not pts:
        return "", []
    width, height, left, bottom, top, right = 720, 330, 64, 46, 16, 24
    xs = [math.log10(x) for _, x, _ in pts]
    e0, e1 = math.floor(min(xs)), math.ceil(max(xs))
    if e1 == e0:
        e1 += 1
    y_ticks = nice_ticks(min(0.5, min(y for _, _, y in pts)), 1.0)
    y0, y1 = y_ticks[0], max(y_ticks[-1], 1.0)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(e: float) -> float:
        return left + (e - e0) / (e1 - e0) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" font-size="12">'
        f"{_e(x_label)}</text>",
        f'<text x="14" y="{top + plot_h / 2}" font-size="12" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle">{_e(y_label)}</text>',
    ]
    for e in range(e0, e1 + 1):
        parts.append(
            f'<line x1="{px(e):.1f}" x2="{px(e):.1f}" y1="{top}" y2="{top + plot_h}" stroke="#eee"/>'
            f'<text x="{px(e):.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle">'
            f"{10**e:,}</text>"
        )
    for t in y_ticks:
        parts.append(
            f'<text x="{left - 6}" y="{py(t) + 4:.1f}" font-size="10" text-anchor="end">'
            f"{100 * t:.0f}%</text>"
        )
    legend = []
    for i, ((label, _, y), x) in enumerate(zip(pts, xs, strict=True)):
        colour, shape = style_of(i)
        cx, cy = px(x), py(y)
        parts.append(
            marker(shape, cx, cy, colour, 6)
            + f'<text x="{cx + 8:.1f}" y="{cy - 6:.1f}" font-size="10">{i + 1}</text>'
        )
        legend.append(
            (str(i + 1), label, svg_document("", 14, 14, [marker(shape, 7, 7, colour, 5)]))
        )
    return svg_document(title, width, height, parts), legend
