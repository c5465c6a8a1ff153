"""HTML of the attack comparison in a scenario's privacy section: linkage quality per setting at
thresholds chosen by one rule, each attack's success per setting with intervals, and the
privacy-utility frontier as an inline SVG chart (also written to docs/pprl.md).

Input is the JSON-safe ``privacy`` dict of :func:`matchsim.pprl.scenario.run_privacy`.
"""

from __future__ import annotations

from html import escape
from typing import Any


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def _attack_name(a: dict[str, Any]) -> str:
    names = {
        "frequency": "frequency alignment",
        "pattern_mining": "bit pattern",
        "itemsets": "maximal itemsets",
        "graph": "graph matching",
    }
    return f"{names.get(a['attack'], a['attack'])}: {a['field']}, {a['knowledge']}"


def worst_case(row: dict[str, Any]) -> float | None:
    """The highest share of records any attack re-identified under one setting."""
    shares = [a["records_share"] for a in row.get("attack_outcomes", [])]
    return max(shares) if shares else None


def frontier_svg(rows: list[dict[str, Any]]) -> str:
    """Oracle pair F1 (y) against the worst attack's success (x), one point per setting; the
    settings no other beats on both axes are joined (the privacy-utility frontier)."""
    points: list[tuple[float, float, str]] = []
    for r in rows:
        worst = worst_case(r)
        if "thresholds" in r and worst is not None:
            points.append((worst, r["thresholds"]["oracle"]["f1"], r["label"]))
    if not points:
        return ""
    width, height, left, top, bottom, legend = 760, 320, 60, 20, 46, 250
    plot_w, plot_h = width - left - legend, height - top - bottom
    y0 = max(0.0, min(p[1] for p in points) - 0.05)

    def px(x: float) -> float:
        return left + x * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y0) / max(1 - y0, 1e-9)) * plot_h

    parts = [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" font-size="12">'
        "worst attack: share of records re-identified</text>",
        f'<text x="14" y="{top + plot_h / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">pair F1 (oracle threshold)</text>',
    ]
    for k in range(5):
        x, y = k / 4, y0 + (1 - y0) * k / 4
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" font-size="10" '
            f'text-anchor="middle">{_pct(x, 0)}</text>'
            f'<text x="{left - 6}" y="{py(y) + 4:.1f}" font-size="10" text-anchor="end">{y:.2f}</text>'
        )
    frontier = sorted(
        (p for p in points if not any(q[0] <= p[0] and q[1] > p[1] for q in points)),
        key=lambda p: p[0],
    )
    if len(frontier) > 1:
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in frontier)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="#888" stroke-dasharray="4 3"/>'
        )
    palette = ["#000000", "#1565c0", "#6a1b9a", "#00838f", "#2e7d32", "#ef6c00", "#ad1457"]
    for i, (x, y, label) in enumerate(points):
        colour = palette[i % len(palette)]
        shape = "rect" if i >= len(palette) else "circle"
        ly = top + 12 + i * 16
        mark = (
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="5" fill="{colour}"/>'
            if shape == "circle"
            else f'<rect x="{px(x) - 5:.1f}" y="{py(y) - 5:.1f}" width="10" height="10" fill="{colour}"/>'
        )
        key = (
            f'<circle cx="{width - legend + 20}" cy="{ly - 4}" r="5" fill="{colour}"/>'
            if shape == "circle"
            else f'<rect x="{width - legend + 15}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
        )
        parts.append(
            f"{mark}{key}"
            f'<text x="{width - legend + 30}" y="{ly}" font-size="10">{escape(label)}</text>'
        )
    return (
        f'<svg role="img" aria-label="Privacy-utility frontier" width="100%" '
        f'style="max-width:{width}px" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


#: The threshold rules of :func:`matchsim.pprl.thresholds.choose_thresholds`, as headed.
THRESHOLD_RULES = {
    "oracle": "Oracle",
    "one_to_one": "One request, one child",
    "unsupervised": "Otsu",
}


def attacks_html(privacy: dict[str, Any]) -> str:
    """The attack comparison (empty when the run has none)."""
    rows = [r for r in privacy.get("tradeoff", []) if r.get("attack_outcomes")]
    if not rows:
        return ""
    # Results written before the one-to-one rule existed have the other two only.
    rules = [rule for rule in THRESHOLD_RULES if all(rule in r["thresholds"] for r in rows)]
    quality = "".join(
        f"<tr><td>{escape(r['label'])}</td>"
        + "".join(
            f"<td class='num'>{r['thresholds'][rule]['threshold']:.3f}</td>"
            f"<td class='num'>{r['thresholds'][rule]['precision']:.3f}</td>"
            f"<td class='num'>{r['thresholds'][rule]['recall']:.3f}</td>"
            f"<td class='num'>{r['thresholds'][rule]['f1']:.3f}</td>"
            for rule in rules
        )
        + f"<td class='num'>{_pct(worst_case(r))}</td></tr>"
        for r in rows
    )
    names = list(dict.fromkeys(_attack_name(a) for r in rows for a in r["attack_outcomes"]))
    cells = []
    for name in names:
        line = [f"<td>{escape(name)}</td>"]
        for r in rows:
            a = next((a for a in r["attack_outcomes"] if _attack_name(a) == name), None)
            if a is None:
                line.append("<td>—</td>")
                continue
            lo, hi = a["records_interval"]
            line.append(
                f"<td class='num'>{_pct(a['records_share'])} "
                f"<span class='muted'>({_pct(lo)}–{_pct(hi)}); values {_pct(a['values_share'])}"
                "</span></td>"
            )
        cells.append(f"<tr>{''.join(line)}</tr>")
    heads = "".join(f"<th>{escape(r['label'])}</th>" for r in rows)
    rule_heads = "".join(f'<th colspan="4">{THRESHOLD_RULES[rule]}</th>' for rule in rules)
    return f"""<h3>Attacks from the literature, per encoding setting</h3>
<p class="muted">Field level: each name field's own filters. Frequency alignment (Kuzu et al. 2011);
bit-pattern attack (Christen, Schnell, Vatsalan &amp; Ranbaduge, PAKDD 2017): q-gram positions from the
frequent filters, then every filter decoded from the q-grams it contains; graph matching (Culnane,
Rubinstein &amp; Teague 2017; Vidanage et al. 2020) at each overlap share of the attacker's records.
Knowledge <i>register</i>: the register's own frequencies (worst case); <i>public</i>: an independent
population's. Record level: the CLKs used for linkage. Shares of records re-identified with 95% Wilson
intervals; "values": distinct values whose records are mostly decoded right.</p>
<h4>Linkage quality, each setting's Dice threshold chosen by the same rule</h4>
<p class="muted">Oracle: the best pair F1 on the ground truth (only a simulation can do this). One request,
one child (no labels): the cut leaving the most requests with exactly one candidate above it, less twice
those left with several. Otsu (no labels): the cut of the candidate pairs' Dice histogram maximising the
between-class variance.</p>
<div style="overflow-x:auto"><table><tr><th rowspan="2">Setting</th>{rule_heads}
<th rowspan="2">Worst attack</th></tr>
<tr>{"<th>Dice</th><th>P</th><th>R</th><th>F1</th>" * len(rules)}</tr>
{quality}</table></div>
{frontier_svg(rows)}
<h4>Share of records re-identified, by attack and setting</h4>
<div style="overflow-x:auto"><table><tr><th>Attack</th>{heads}</tr>{"".join(cells)}</table></div>
"""


__all__ = ["attacks_html", "frontier_svg", "worst_case"]
