"""A self-contained HTML report of a scenario run: one page, inline CSS and SVG charts, no
network requests, readable offline and printable.

Charts are drawn as SVG by hand: a charting library would either pull scripts from the
network or add a heavy dependency for four simple figures.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from matchsim.scenario.runner import ScenarioRun

OUTCOME_COLOURS = {
    "correct_match": "#2e7d32",
    "false_match": "#c62828",
    "missed_match": "#ef6c00",
    "correct_non_match": "#607d8b",
}
OUTCOME_LABELS = {
    "correct_match": "Correct match",
    "false_match": "False match (wrong child returned)",
    "missed_match": "Missed match",
    "correct_non_match": "Correct non-match",
}

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.45;padding:0 1rem}
h1{margin-bottom:.2rem} h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
.lead{color:#555;margin-top:0} .kpis{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.kpi{border:1px solid #ddd;border-radius:8px;padding:.7rem 1rem;min-width:180px}
.kpi .v{font-size:1.6rem;font-weight:600} .kpi .l{color:#555;font-size:.85rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem} th,td{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top} th{background:#f5f5f5}
td.agree{background:#e8f5e9} td.differ{background:#ffebee} td.num{text-align:right}
.example{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;margin:1rem 0}
.errors{color:#6a1b9a;font-size:.85rem} .muted{color:#777;font-size:.85rem}
svg text{font-family:inherit}
"""


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return html.escape(str(value))


def _pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if 0 < abs(x) < 0.01 and digits < 2:
        digits = 2  # small rates matter here: 0.03% is not 0.0%
    return f"{100 * x:.{digits}f}%"


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------

#: Colours of successive series (distinct, print-safe).
PALETTE = ("#1565c0", "#6a1b9a", "#00838f", "#2e7d32", "#ef6c00", "#ad1457", "#4e342e", "#000000")


def svg_document(label: str, width: int, height: int, parts: list[str]) -> str:
    """A standalone SVG image (also valid inline in HTML) of the given elements."""
    return (
        f'<svg role="img" aria-label="{_e(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def outcome_chart(counts: dict[str, int]) -> str:
    total = max(sum(counts.values()), 1)
    width, bar_h, left = 720, 26, 250
    rows = []
    for i, (key, label) in enumerate(OUTCOME_LABELS.items()):
        n = counts.get(key, 0)
        w = (width - left - 90) * n / total
        y = 10 + i * (bar_h + 10)
        rows.append(
            f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" font-size="13">{_e(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{OUTCOME_COLOURS[key]}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 18}" font-size="13">{n:,} ({_pct(n / total)})</text>'
        )
    height = 20 + 4 * (bar_h + 10)
    return svg_document("Outcome breakdown", width, height, rows)


def interval_chart(frame: pd.DataFrame, rate: str, title: str) -> str:
    """Dot-and-whisker chart of one rate by group, with 95% Wilson intervals."""
    frame = frame[frame["requests"] > 0]
    if frame.empty:
        return ""
    width, row_h, left, right = 720, 24, 230, 60
    hi = max(float(np.nanmax(frame[f"{rate}_high"].to_numpy(dtype=float))), 0.01)
    scale = (width - left - right) / hi
    parts = [f'<text x="{left}" y="14" font-size="13" font-weight="600">{_e(title)}</text>']
    for i, row in enumerate(frame.itertuples(index=False)):
        y = 30 + i * row_h
        value = getattr(row, rate)
        low, high = getattr(row, f"{rate}_low"), getattr(row, f"{rate}_high")
        label = f"{row.group} (n={row.requests:,})"
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="12">{_e(label)}</text>'
        )
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        parts.append(
            f'<line x1="{left + low * scale:.1f}" x2="{left + high * scale:.1f}" y1="{y}" y2="{y}" '
            f'stroke="#555" stroke-width="2"/>'
            f'<circle cx="{left + value * scale:.1f}" cy="{y}" r="5" fill="#c62828"/>'
            f'<text x="{left + high * scale + 6:.1f}" y="{y + 4}" font-size="11">{_pct(value)}</text>'
        )
    axis_y = 30 + len(frame) * row_h
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}" stroke="#999"/>'
    )
    for k in range(5):
        x = left + (width - left - right) * k / 4
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">{_pct(hi * k / 4)}</text>'
        )
    height = axis_y + 24
    return svg_document(title, width, height, parts)


def tradeoff_chart(rows: list[dict[str, Any]]) -> str:
    """Candidate pairs (log scale) against pairs completeness, one point per blocking pass."""
    rows = [r for r in rows if r.get("pairs_completeness") is not None and r["candidate_pairs"] > 0]
    if not rows:
        return ""
    width, height, left, bottom, top = 720, 340, 60, 50, 20
    xs = [math.log10(r["candidate_pairs"]) for r in rows]
    x0, x1 = (
        math.floor(min(xs)),
        math.ceil(max(xs)) + (1 if math.ceil(max(xs)) == math.floor(min(xs)) else 0),
    )
    y0 = min(0.5, math.floor(min(r["pairs_completeness"] for r in rows) * 10) / 10)
    plot_w, plot_h = width - left - 220, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (1 - y0)) * plot_h

    parts = [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 10}" text-anchor="middle" font-size="12">'
        "candidate pairs (log scale)</text>",
        f'<text x="14" y="{top + plot_h / 2}" font-size="12" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle">pairs completeness</text>',
    ]
    for e in range(x0, x1 + 1):
        parts.append(
            f'<text x="{px(e):.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle">1e{e}</text>'
        )
    for k in range(6):
        y = y0 + (1 - y0) * k / 5
        parts.append(
            f'<text x="{left - 6}" y="{py(y) + 4:.1f}" font-size="10" text-anchor="end">{y:.2f}</text>'
        )
    for i, (r, x) in enumerate(zip(rows, xs, strict=True)):
        colour = PALETTE[i % len(PALETTE)] if i < len(rows) - 1 or len(rows) == 1 else "#000000"
        label = r["strategy"] if len(r["strategy"]) < 48 else r["strategy"][:45] + "…"
        if i == len(rows) - 1 and len(rows) > 1:
            label = "union of all passes"
        cy = py(r["pairs_completeness"])
        parts.append(f'<circle cx="{px(x):.1f}" cy="{cy:.1f}" r="6" fill="{colour}"/>')
        ly = top + 14 + i * 16
        parts.append(
            f'<circle cx="{width - 210}" cy="{ly - 4}" r="5" fill="{colour}"/>'
            f'<text x="{width - 200}" y="{ly}" font-size="10">{_e(label)}</text>'
        )
    return svg_document("Blocking trade-off", width, height, parts)


# --------------------------------------------------------------------------------------------
# Worked examples
# --------------------------------------------------------------------------------------------

EXAMPLE_FIELDS = [
    ("forename", "Forename"),
    ("middle_names", "Middle names"),
    ("surname", "Surname"),
    ("date_of_birth", "Date of birth"),
    ("sex", "Sex"),
    ("address_line", "Address"),
    ("postcode", "Postcode"),
]


def _norm(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip().upper()


def _example(row: pd.Series, returned: pd.Series | None, true: pd.Series | None) -> str:
    head = "<tr><th>Field</th><th>Request</th>"
    if returned is not None:
        head += "<th>Child returned</th>"
    if true is not None:
        head += "<th>True child</th>"
    lines = [head + "</tr>"]
    for key, label in EXAMPLE_FIELDS:
        cells = [f"<td>{_e(label)}</td>", f"<td>{_e(row.get(key))}</td>"]
        for record in (returned, true):
            if record is None:
                continue
            value = record.get(key)
            cls = "agree" if _norm(value) and _norm(value) == _norm(row.get(key)) else "differ"
            cells.append(f'<td class="{cls}">{_e(value)}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    errors = [
        f"{f.removeprefix('errors_')}: {row[f]}"
        for f in row.index
        if f.startswith("errors_") and row[f]
    ]
    error_text = "; ".join(errors) if errors else "none — the request matched the register exactly"
    twin = " The true child is a twin." if bool(row.get("true_is_twin")) else ""
    return (
        f'<table>{"".join(lines)}</table><p class="errors">Errors applied to the request: {_e(error_text)}.'
        f"{_e(twin)}</p>"
    )


def worked_examples(run: ScenarioRun, limit: int) -> str:
    outcomes = run.result.outcomes
    pupils = run.census.pupils
    want_ids: set[int] = set()
    false = outcomes[outcomes["outcome"] == "false_match"].head(limit)
    missed = outcomes[outcomes["outcome"] == "missed_match"].head(limit)
    for frame in (false, missed):
        for ids in frame["returned"]:
            want_ids.update(int(i) for i in ids)
        want_ids.update(int(i) for i in frame["true_pupil_id"].dropna())
    if not want_ids:
        return "<p>No false or missed matches in this run.</p>"
    import pyarrow.compute as pc

    mask = pc.is_in(pupils["pupil_id"], value_set=pa.array(sorted(want_ids), pa.int64()))
    records = pupils.filter(mask).to_pandas().set_index("pupil_id")
    for column in records.columns:
        if isinstance(records[column].dtype, pd.CategoricalDtype):
            records[column] = records[column].astype(str)
    parts = []
    for title, frame, explain in (
        (
            "False matches: a different child was returned",
            false,
            "The lookup returned a child who is not the person asked about. Green cells agree with the request.",
        ),
        (
            "Missed matches: the child is in the register but nothing came back",
            missed,
            "The person asked about is in the register, but the lookup found no clear match.",
        ),
    ):
        if frame.empty:
            continue
        parts.append(f"<h3>{_e(title)}</h3><p class='muted'>{_e(explain)}</p>")
        for _, row in frame.iterrows():
            returned = records.loc[int(row["returned"][0])] if len(row["returned"]) else None
            true = (
                records.loc[int(row["true_pupil_id"])] if pd.notna(row["true_pupil_id"]) else None
            )
            who = f"{row.get('forename')} {row.get('surname')}, born {row.get('date_of_birth')}"
            story = ""
            if returned is not None:
                story = (
                    f" returned {returned.get('forename')} {returned.get('surname')}, born "
                    f"{returned.get('date_of_birth')}, of {returned.get('postcode')}"
                )
                story += (
                    ""
                    if true is not None
                    else " — but the person asked about is not in the register"
                )
            parts.append(
                f'<div class="example"><b>Request {int(row["request_id"])}: {_e(who)}</b>{_e(story)}'
                f"{_example(row, returned, true)}</div>"
            )
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

RATE_LABELS = {
    "false_match_rate": "False matches, of all requests",
    "missed_match_rate": "Missed matches, of requests for people in the register",
    "correct_match_rate": "Correct matches, of requests for people in the register",
    "false_match_rate_not_in_register": "False matches, of requests for people not in the register",
    "returned_rate": "Requests that returned a child",
    "ambiguous_rate": "Ambiguous requests (several candidates)",
}


def render_report(run: ScenarioRun) -> str:
    from matchsim import __version__

    scenario = run.scenario
    evaluation = run.result.evaluation
    rates = evaluation.rates
    link = run.result.link
    n = run.requests.table.num_rows
    kpis = []
    for key in ("false_match_rate", "missed_match_rate", "returned_rate"):
        rate = rates[key]
        kpis.append(
            f'<div class="kpi"><div class="v">{_pct(rate.value)}</div><div class="l">{_e(RATE_LABELS[key])}<br>'
            f"95% CI {_pct(rate.low)}–{_pct(rate.high)} ({rate.numerator:,} of {rate.denominator:,})</div></div>"
        )
    rate_rows = "".join(
        f"<tr><td>{_e(RATE_LABELS.get(k, k))}</td><td class='num'>{_pct(r.value, 2)}</td>"
        f"<td class='num'>{_pct(r.low, 2)} – {_pct(r.high, 2)}</td>"
        f"<td class='num'>{r.numerator:,} / {r.denominator:,}</td></tr>"
        for k, r in rates.items()
        if k in RATE_LABELS
    )
    subgroups = []
    breakdown = evaluation.breakdown
    for group_by in breakdown["group_by"].unique():
        frame = breakdown[breakdown["group_by"] == group_by]
        subgroups.append(f"<h3>By {_e(group_by.replace('_', ' '))}</h3>")
        subgroups.append(
            interval_chart(frame, "false_match_rate", "False-match rate (of all requests)")
        )
        subgroups.append(
            interval_chart(
                frame,
                "missed_match_rate",
                "Missed-match rate (of requests for people in the register)",
            )
        )
    blocking = link.blocking
    summary = run.census.summary()
    pop = scenario.population
    window = (
        f"census on {pop.census_date}"
        if pop.birth_years is None
        else f"born {pop.birth_years[0]}-{pop.birth_years[1]}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(scenario.name)} — matchsim report</title><style>{CSS}</style></head>
<body>
<h1>{_e(scenario.name)}</h1>
<p class="lead">{_e(scenario.description)}</p>
<p class="muted">Synthetic data only: no real person appears anywhere in this report. matchsim {__version__},
seed {scenario.seed}. {n:,} requests ({_e(scenario.requests.profile)} profile) looked up in a register of
{summary.pupils:,} synthetic pupils with the rule <b>{_e(link.matcher.describe())}</b>, decision
<b>{_e(scenario.lookup.decision)}</b>, {_e(scenario.lookup.addresses)} addresses.</p>
<div class="kpis">{"".join(kpis)}</div>

<h2>Outcomes</h2>
{outcome_chart(evaluation.counts)}
<table><tr><th>Rate</th><th>Value</th><th>95% Wilson interval</th><th>Count</th></tr>{rate_rows}</table>

<h2>Who is most at risk</h2>
<p class="muted">Dots are rates, whiskers 95% Wilson intervals. Requests carrying several error types count
once in each of their groups.</p>
{"".join(subgroups)}

<h2>Blocking trade-off</h2>
<p>The lookup compared {blocking.candidate_pairs:,} candidate pairs (reduction ratio
{blocking.reduction_ratio:.6f}); {_pct(blocking.pairs_completeness, 2)} of the true pairs were among them
(pair quality {_pct(blocking.pair_quality, 3)}). Each blocking pass alone:</p>
{tradeoff_chart(run.tradeoff)}

{privacy_section(run)}
<h2>How it went wrong</h2>
{worked_examples(run, scenario.report.examples)}

<h2>The synthetic world</h2>
<table>
<tr><td>Register</td><td>{summary.pupils:,} pupils in {summary.households:,} households
({window})</td></tr>
<tr><td>Twins and triplets</td><td>{_pct(summary.twin_share, 2)}</td></tr>
<tr><td>Share sharing forename, surname and date of birth with another pupil</td>
<td>{_pct(summary.same_name_and_dob_share, 3)}</td></tr>
<tr><td>Moved house at least once</td><td>{_pct(summary.moved_share)}</td></tr>
<tr><td>Top forenames</td><td>{_e(", ".join(f"{a} {_pct(b, 2)}" for a, b in summary.top_forenames))}</td></tr>
<tr><td>Top surnames</td><td>{_e(", ".join(f"{a} {_pct(b, 2)}" for a, b in summary.top_surnames))}</td></tr>
</table>
{fidelity_section(run)}
<p class="muted">Every setting of this run is in scenario.resolved.yaml beside this report; every figure in
metrics.json.</p>
</body></html>
"""


def fidelity_section(run: ScenarioRun) -> str:
    """The register against published figures (as ``matchsim fidelity``, without requests)."""
    from matchsim.fidelity import fidelity_rows

    rows = "".join(
        f"<tr><td>{_e(r.group)}</td><td>{_e(r.measure)}</td><td class='num'>{_e(r.format(r.generated))}</td>"
        f"<td class='num'>{_e(r.format(r.published))}</td><td class='num'>{_e(r.tolerance_text)}</td>"
        f"<td>{_e(r.status)}</td><td class='muted'>{_e(r.source)}"
        f"{'; ' + _e(r.not_applicable) if r.not_applicable else ''}</td></tr>"
        for r in fidelity_rows(run.census, include_requests=False)
    )
    return f"""<h3>Generated against published</h3>
<p class="muted">Tolerances allow for sampling in a register of 200,000 or more; see docs/fidelity.md.</p>
<table><tr><th></th><th>Measure</th><th>Here</th><th>Published</th><th>Tolerance</th><th></th>
<th>Source</th></tr>{rows}</table>"""


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
    """Plaintext against encoded matching, QI uniqueness, the attack and the trade-off."""
    from matchsim.pprl.report import attacks_html

    privacy = getattr(run, "privacy", None)
    if not privacy:
        return ""
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
(Kuzu et al. 2011; Christen et al. 2017). Shares are of register records re-identified; in brackets, of the
most frequent encodings. This is a lower bound: pattern-mining attacks (Christen et al. 2018) do better.</p>
<table><tr><th>Hardening</th>{"".join(f"<th>{_e(f)} re-identified</th>" for f in fields)}<th>Pair F1</th>
<th>False-match rate</th></tr>{attack_rows}</table>
{privacy_tradeoff_chart(privacy["tradeoff"], "f1", "pair F1")}
{privacy_tradeoff_chart(privacy["tradeoff"], "false_match_rate", "false-match rate")}
{attacks_html(privacy)}
"""


def sweep_chart(summary: pd.DataFrame, x: str, rate: str, series: list[str]) -> str:
    """A rate against one swept setting, one line per combination of the other settings, with
    95% Wilson intervals as whiskers."""
    if summary.empty:
        return ""
    width, height, left, bottom, top, right = 720, 320, 70, 50, 30, 200
    xs = list(dict.fromkeys(summary[x].tolist()))
    hi = float(np.nanmax(summary[f"{rate}_high"].to_numpy(dtype=float))) or 0.01
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(value: Any) -> float:
        return left + (xs.index(value) + 0.5) / len(xs) * plot_w

    def py(y: float) -> float:
        return top + (1 - y / hi) * plot_h

    parts = [
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{_e(rate.replace("_", " "))} by {_e(x)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for value in xs:
        parts.append(
            f'<text x="{px(value):.1f}" y="{top + plot_h + 16}" font-size="10" '
            f'text-anchor="middle">{_e(value)}</text>'
        )
    for k in range(5):
        y = hi * k / 4
        parts.append(
            f'<text x="{left - 6}" y="{py(y) + 4:.1f}" font-size="10" text-anchor="end">{_pct(y)}</text>'
        )
    palette = ["#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"]
    groups = summary.groupby(series, sort=False) if series else [((), summary)]
    for i, (key, frame) in enumerate(groups):
        colour = palette[i % len(palette)]
        frame = frame.set_index(x).reindex(xs)
        points = [(px(v), py(r)) for v, r in zip(xs, frame[rate], strict=True) if pd.notna(r)]
        if len(points) > 1:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for v, row in frame.iterrows():
            if pd.isna(row[rate]):
                continue
            parts.append(
                f'<line x1="{px(v):.1f}" x2="{px(v):.1f}" y1="{py(row[f"{rate}_low"]):.1f}" '
                f'y2="{py(row[f"{rate}_high"]):.1f}" stroke="{colour}"/>'
                f'<circle cx="{px(v):.1f}" cy="{py(row[rate]):.1f}" r="4" fill="{colour}"/>'
            )
        label = ", ".join(
            f"{s}={k}"
            for s, k in zip(series, key if isinstance(key, tuple) else (key,), strict=False)
        )
        parts.append(
            f'<text x="{width - right + 10}" y="{top + 14 + 16 * i}" font-size="10" fill="{colour}">'
            f"{_e(label or 'all')}</text>"
        )
    return svg_document(f"{rate} by {x}", width, height, parts)


def render_sweep(
    name: str, description: str, summary: pd.DataFrame, grid: dict[str, list[Any]]
) -> str:
    keys = list(grid)
    charts = []
    for x in keys:
        others = [k for k in keys if k != x]
        for rate in ("false_match_rate", "missed_match_rate"):
            charts.append(sweep_chart(summary, x, rate, others))
    table = summary.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(name)} — matchsim sweep</title><style>{CSS}</style></head>
<body><h1>{_e(name)}</h1><p class="lead">{_e(description)}</p>
<p class="muted">Synthetic data only. Each point pools its seeds; whiskers are 95% Wilson intervals.</p>
{"".join(charts)}
<h2>Results</h2>{table}
</body></html>
"""
