"""The blocking part of the results page: cost by population size, as tables and a chart.

``benchmarks/test_blocking.py`` runs every strategy at several census sizes; each benchmark's
``extra_info`` holds its strategy, census size and figures (or its refusal).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchmarks._tables import cell, escape, fixed, number, table
from matchsim.report.charts import PALETTE, svg_document

BLOCKING_FILE = "benchmarks/test_blocking.py"


@dataclass(frozen=True)
class BlockingPoint:
    strategy: str
    pupils: int
    label: str
    info: Mapping[str, Any]

    @property
    def ran(self) -> bool:
        return self.info.get("status") == "ran"


def blocking_points(benchmarks: Mapping[str, Mapping[str, Any]]) -> list[BlockingPoint]:
    """The blocking benchmarks' figures among ``benchmarks`` (by fullname), in strategy order
    and then by census size."""
    points = []
    for name, bench in benchmarks.items():
        info = bench.get("extra_info") or {}
        in_file = name.split("::", 1)[0] == BLOCKING_FILE
        if not in_file or "strategy_id" not in info or "pupils" not in info:
            continue
        label = info.get("census_label") or number(info["pupils"])
        points.append(BlockingPoint(info["strategy_id"], int(info["pupils"]), label, info))
    strategy_order = list(dict.fromkeys(p.strategy for p in points))
    return sorted(points, key=lambda p: (strategy_order.index(p.strategy), p.pupils))


def refusal(info: Mapping[str, Any]) -> str:
    pairs, size = info.get("estimated_pairs"), info.get("estimated_gb")
    return f"refused (estimate {number(pairs)} pairs, {size:,.1f} GB)"


def growth_exponent(points: list[BlockingPoint], key: str) -> float | None:
    """Least-squares slope of log(figure) against log(pupils): cost grows as pupils^k."""
    xy = [
        (math.log(p.pupils), math.log(p.info[key]))
        for p in points
        if p.ran and isinstance(p.info.get(key), int | float) and p.info[key] > 0
    ]
    if len({x for x, _ in xy}) < 2:
        return None
    mx = sum(x for x, _ in xy) / len(xy)
    my = sum(y for _, y in xy) / len(xy)
    sxx = sum((x - mx) ** 2 for x, _ in xy)
    return sum((x - mx) * (y - my) for x, y in xy) / sxx


#: (title, extra_info key, formatter). RR is close to 1 at any size, hence six decimals.
BLOCKING_COLUMNS = [
    ("candidate pairs", "candidate_pairs", number),
    ("pairs / request", "pairs_per_request", number),
    ("PC", "pairs_completeness", fixed(4)),
    ("RR", "reduction_ratio", fixed(6)),
    ("PQ", "pair_quality", number),
    ("time (s)", "seconds", number),
    ("CPU (s)", "cpu_seconds", number),
    ("peak while blocking (GB)", "blocking_peak_rss_gb", fixed(2)),
    ("added by blocking (GB)", "blocking_extra_rss_gb", fixed(2)),
    ("process peak (GB)", "process_peak_rss_gb", fixed(2)),
]


def blocking_table(points: list[BlockingPoint]) -> str:
    rows = []
    for p in points:
        row = [cell(p.strategy), p.label, number(p.pupils)]
        figures = [show(p.info.get(key)) for _, key, show in BLOCKING_COLUMNS]
        if not p.ran:  # only memory was measured: the plan was refused before any pair
            figures = [refusal(p.info), *[""] * (len(figures) - 4), *figures[-3:]]
        row += figures
        rows.append(row)
    header = ["strategy", "census", "pupils", *(title for title, _, _ in BLOCKING_COLUMNS)]
    return table(header, rows, align_right=range(2, len(header)))


def growth_table(points: list[BlockingPoint]) -> str:
    sizes = sorted({(p.pupils, p.label) for p in points})
    by_strategy: dict[str, list[BlockingPoint]] = {}
    for p in points:
        by_strategy.setdefault(p.strategy, []).append(p)
    rows = []
    for strategy, mine in by_strategy.items():
        at = {p.pupils: p for p in mine}

        def figure(pupils: int, key: str, at: dict = at) -> str:
            p = at.get(pupils)
            if p is None:
                return ""
            return number(p.info.get(key)) if p.ran else "refused"

        k_time, k_pairs = growth_exponent(mine, "seconds"), growth_exponent(mine, "candidate_pairs")
        rows.append(
            [
                cell(strategy),
                *(figure(n, "seconds") for n, _ in sizes),
                number(k_time),
                *(figure(n, "candidate_pairs") for n, _ in sizes),
                number(k_pairs),
            ]
        )
    header = [
        "strategy",
        *(f"time (s), {label}" for _, label in sizes),
        "time ∝ pupils^k",
        *(f"pairs, {label}" for _, label in sizes),
        "pairs ∝ pupils^k",
    ]
    return table(header, rows, align_right=range(1, len(header)))


def _log_ticks(lo: float, hi: float) -> tuple[int, int]:
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    return (a, b) if b > a else (a, a + 1)


def series_style(index: int) -> tuple[str, str]:
    """SVG attributes of series ``index``'s line and markers: the palette, then dashed lines
    and hollow markers, so that up to twice as many series as colours stay distinct."""
    colour = PALETTE[index % len(PALETTE)]
    if index < len(PALETTE):
        return f'stroke="{colour}" stroke-width="2"', f'fill="{colour}"'
    return (
        f'stroke="{colour}" stroke-width="2" stroke-dasharray="5,3"',
        f'fill="#ffffff" stroke="{colour}" stroke-width="1.5"',
    )


def scaling_chart(points: list[BlockingPoint]) -> str:
    """Three panels against pupils (log scale): time and pairs (log), pairs completeness.

    One line per strategy; refused runs have no point. Drawn by hand as in
    ``matchsim.report.html``: one standalone SVG needs no plotting library.
    """
    panels = [
        ("blocking time (s)", "seconds", True),
        ("candidate pairs", "candidate_pairs", True),
        ("pairs completeness", "pairs_completeness", False),
    ]
    strategies = list(dict.fromkeys(p.strategy for p in points))
    ran = [p for p in points if p.ran]
    panel_w, panel_h, left, top, bottom, gap, legend_w = 250, 230, 58, 34, 46, 30, 300
    width = len(panels) * (left + panel_w) + (len(panels) - 1) * gap + legend_w
    height = top + panel_h + bottom + 20
    parts: list[str] = [f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    font = 'font-family="Helvetica, Arial, sans-serif"'
    pupils = [p.pupils for p in ran] or [1, 10]
    x0, x1 = _log_ticks(min(pupils), max(pupils))
    for index, (title, key, log_y) in enumerate(panels):
        ox = index * (left + panel_w + gap) + left
        values = [float(p.info[key]) for p in ran if isinstance(p.info.get(key), int | float)]
        if log_y:
            values = [v for v in values if v > 0] or [1.0]
            y0, y1 = _log_ticks(min(values), max(values))
        else:
            y0, y1 = min([*values, 1.0]), 1.0
            y0 = math.floor(y0 * 10) / 10 if y0 < 1 else 0.9

        def px(n: float, ox: float = ox) -> float:
            return ox + (math.log10(n) - x0) / (x1 - x0) * panel_w

        def py(v: float, log_y: bool = log_y, y0: float = y0, y1: float = y1) -> float:
            t = (math.log10(v) - y0) / (y1 - y0) if log_y else (v - y0) / (y1 - y0)
            return top + (1 - t) * panel_h

        parts.append(
            f'<rect x="{ox}" y="{top}" width="{panel_w}" height="{panel_h}" fill="none" '
            f'stroke="#999"/><text x="{ox + panel_w / 2}" y="{top - 12}" text-anchor="middle" '
            f'font-size="13" font-weight="600" {font}>{escape(title)}</text>'
            f'<text x="{ox + panel_w / 2}" y="{top + panel_h + 34}" text-anchor="middle" '
            f'font-size="11" {font}>pupils in the census (log scale)</text>'
        )
        for e in range(x0, x1 + 1):
            parts.append(
                f'<text x="{px(10**e):.1f}" y="{top + panel_h + 15}" font-size="10" '
                f'text-anchor="middle" {font}>1e{e}</text>'
            )
        y_ticks = (
            [(10**e, f"1e{e}") for e in range(int(y0), int(y1) + 1)]
            if log_y
            else [(y0 + (y1 - y0) * k / 4, f"{y0 + (y1 - y0) * k / 4:.2f}") for k in range(5)]
        )
        for value, text in y_ticks:
            parts.append(
                f'<line x1="{ox}" x2="{ox + panel_w}" y1="{py(value):.1f}" y2="{py(value):.1f}" '
                f'stroke="#eee"/><text x="{ox - 5}" y="{py(value) + 3:.1f}" font-size="10" '
                f'text-anchor="end" {font}>{text}</text>'
            )
        for i, strategy in enumerate(strategies):
            line_style, marker = series_style(i)
            line = [
                (px(p.pupils), py(float(p.info[key])))
                for p in ran
                if p.strategy == strategy
                and isinstance(p.info.get(key), int | float)
                and (p.info[key] > 0 or not log_y)
            ]
            if len(line) > 1:
                path = " ".join(f"{a:.1f},{b:.1f}" for a, b in line)
                parts.append(f'<polyline points="{path}" fill="none" {line_style}/>')
            parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" {marker}/>' for a, b in line]
    lx = width - legend_w + 16
    for i, strategy in enumerate(strategies):
        line_style, marker = series_style(i)
        refused = not any(p.ran for p in points if p.strategy == strategy)
        label = strategy if len(strategy) <= 44 else strategy[:43] + "…"
        label += " (refused at every size)" if refused else ""
        y = top + 4 + i * 17
        parts.append(
            f'<line x1="{lx}" x2="{lx + 22}" y1="{y}" y2="{y}" {line_style}/>'
            f'<circle cx="{lx + 11}" cy="{y}" r="3.5" {marker}/>'
            f'<text x="{lx + 28}" y="{y + 3.5}" font-size="10" {font}>{escape(label)}</text>'
        )
    return svg_document("Blocking cost by population size", width, height, parts)
