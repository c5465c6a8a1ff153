"""The privacy-preserving matching section of a scenario report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matchsim.report.text import e as _e
from matchsim.report.text import pct as _pct

if TYPE_CHECKING:
    from matchsim.scenario.runner import ScenarioRun

__all__ = ["privacy_section", "privacy_tradeoff_chart"]


# --------------------------------------------------------------------------------------------
# Privacy-preserving matching
# --------------------------------------------------------------------------------------------


def privacy_tradeoff_chart(rows: list[dict[str, Any]], metric: str, label: str) -> str:
    """One point per hardening setting: attack success (x) against an accuracy figure (y)."""
    rows = [r for r in rows if r.get(metric) is not None and r.get("attack_success") is not None]
    if not rows:
        return ""
    width, height, left, bottom, top = 720, 300, 60, 46, 20
    plot_w, plot_h = width - left - 230, height - top - bottom
    x1 = max(0.05, max(r["attack_success"] for r in rows) * 1.1)
    ys = [r[metric] for r in rows]
    y0, y1 = min(ys), max(ys)
    pad = max((y1 - y0) * 0.15, 0.01)
    y0, y1 = max(0.0, y0 - pad), min(1.0, y1 + pad) if metric == "f1" else y1 + pad

    def px(x: float) -> float:
        return left + x / x1 * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" font-size="12">'
        "attack success: share of register records re-identified</text>",
        f'<text x="14" y="{top + plot_h / 2}" font-size="12" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle">{_e(label)}</text>',
    ]
    for k in range(5):
        x, y = x1 * k / 4, y0 + (y1 - y0) * k / 4
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle">{_pct(x)}</text>'
            f'<text x="{left - 6}" y="{py(y) + 4:.1f}" font-size="10" text-anchor="end">'
            f"{(f'{y:.2f}' if metric == 'f1' else _pct(y, 2))}</text>"
        )
    palette = [
        "#000000",
        "#1565c0",
        "#6a1b9a",
        "#00838f",
        "#2e7d32",
        "#ef6c00",
        "#ad1457",
        "#4e342e",
    ]
    for i, r in enumerate(rows):
        colour = palette[i % len(palette)]
        ly = top + 14 + i * 16
        parts.append(
            f'<circle cx="{px(r["attack_success"]):.1f}" cy="{py(r[metric]):.1f}" r="6" fill="{colour}"/>'
            f'<circle cx="{width - 220}" cy="{ly - 4}" r="5" fill="{colour}"/>'
            f'<text x="{width - 210}" y="{ly}" font-size="10">{_e(r["label"])}</text>'
        )
    return (
        f'<svg role="img" aria-label="Privacy trade-off: {_e(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _score(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def privacy_section(run: ScenarioRun) -> str:
    """Plaintext against encoded matching, QI uniqueness, the attacks and the trade-off."""
    from matchsim.pprl.report import attacks_html

    privacy = getattr(run, "privacy", None)
    if not privacy:
        return ""
    count, whole = privacy.get("attacked_records"), privacy.get("register_records")
    attacked = (
        "the register's records"
        if count is None or count == whole
        else f"a uniform sample of {count:,} of the register's {whole:,} records "
        "(privacy.attack_records)"
    )
    side = "".join(
        f"<tr><td>{_e(r['label'])}</td><td>{_e(r['matcher'])}</td>"
        f"<td class='num'>{_pct(r['false_match_rate'], 2)}</td><td class='num'>{_pct(r['missed_match_rate'], 2)}</td>"
        f"<td class='num'>{_score(r['f1'])}</td>"
        f"<td class='num'>{r['candidate_pairs']:,}</td><td class='num'>{_pct(r['pairs_completeness'], 2)}</td></tr>"
        for r in privacy["side_by_side"]
    )
    qi = "".join(
        f"<tr><td>{_e(r['quasi_identifiers'])}</td><td class='num'>{_pct(r['unique_share'], 2)}</td>"
        + "".join(f"<td class='num'>{_pct(v, 2)}</td>" for v in r["k_bands"].values())
        + f"<td class='num'>{r['classes']:,}</td></tr>"
        for r in privacy["quasi_identifiers"]
    )
    bands = list(privacy["quasi_identifiers"][0]["k_bands"]) if privacy["quasi_identifiers"] else []
    band_heads = "".join(f"<th>{_e(b)}</th>" for b in bands)
    attack_rows = "".join(
        f"<tr><td>{_e(r['label'])}</td>"
        + "".join(
            f"<td class='num'>{_pct(a['reidentified_share'], 2)} "
            f"({_pct(a['top_correct_share'], 0)} of top {a['top']})</td>"
            for a in r["attacks"]
        )
        + f"<td class='num'>{_score(r['f1'])}</td>"
        f"<td class='num'>{_pct(r['false_match_rate'], 2)}</td></tr>"
        for r in privacy["tradeoff"]
    )
    fields = [a["field"] for a in privacy["tradeoff"][0]["attacks"]] if privacy["tradeoff"] else []
    return f"""<h2>Privacy-preserving matching</h2>
<p>The same requests matched on keyed Bloom-filter encodings (CLKs) instead of plaintext:
<b>{_e(privacy["encoder"])}</b>; a pair matches at Dice &ge; {privacy["threshold"]:g}; blocking
{_e(privacy["blocking"])}. Key: {_e(privacy["key_source"])} (the key itself is in no output).</p>
<table><tr><th>Lookup</th><th>Rule</th><th>False-match rate</th><th>Missed-match rate</th><th>Pair F1</th>
<th>Candidate pairs</th><th>Pairs completeness</th></tr>{side}</table>
<h3>Quasi-identifier uniqueness in the register</h3>
<p class="muted">Share of pupils in equivalence classes of each size k on normalised values (k = 1: unique).</p>
<table><tr><th>Quasi-identifiers</th><th>Unique</th>{band_heads}<th>Classes</th></tr>{qi}</table>
<h3>Frequency-alignment attack and the accuracy it costs to resist it</h3>
<p class="muted">The attacker ranks the register's field-level encodings by frequency and aligns them with
name frequencies from an independent synthetic population of {privacy["attacker_reference_pupils"]:,} pupils
(Kuzu et al. 2011; Christen et al. 2017). Every attack sees {attacked}; shares are of those records
re-identified; in brackets, of the most frequent encodings. This is a lower bound: pattern-mining
attacks (Christen et al. 2018) do better.</p>
<table><tr><th>Hardening</th>{"".join(f"<th>{_e(f)} re-identified</th>" for f in fields)}<th>Pair F1</th>
<th>False-match rate</th></tr>{attack_rows}</table>
{privacy_tradeoff_chart(privacy["tradeoff"], "f1", "pair F1")}
{privacy_tradeoff_chart(privacy["tradeoff"], "false_match_rate", "false-match rate")}
{attacks_html(privacy)}
"""
