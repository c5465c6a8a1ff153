"""A self-contained HTML report of a scenario run, and the page of a sweep: one page each,
inline CSS and SVG charts, no script and no network request, readable offline and printable.

The sections live in their own modules: worked examples (:mod:`.examples`), trade-offs, the
model and the groups (:mod:`.analysis`), charts (:mod:`.charts`), the glossary
(:mod:`.glossary`) and privacy-preserving matching (:mod:`.privacy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from matchsim.report.analysis import groups_section, model_section, tradeoff_section
from matchsim.report.charts import Series, line_chart, log_scatter, svg_document
from matchsim.report.examples import worked_examples
from matchsim.report.glossary import glossary_section, term
from matchsim.report.privacy import privacy_section
from matchsim.report.text import e as _e
from matchsim.report.text import pct as _pct

if TYPE_CHECKING:
    from matchsim.scenario.runner import ScenarioRun

__all__ = ["CSS", "render_report", "render_sweep", "sweep_chart"]

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
.agree{background:#e8f5e9} .differ{background:#ffebee} .near{background:#fff59d} .missing{background:#f3f3f3;color:#777}
td.num{text-align:right} tr.chosen td{font-weight:600}
th.wrong{background:#ffcdd2} th.true{background:#c8e6c9}
.example{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;margin:1rem 0}
.example h4{margin:.2rem 0}
.cards{display:flex;flex-wrap:wrap;gap:1rem} .card{flex:1 1 460px;max-width:100%;border:1px solid #eee;
border-radius:6px;padding:.4rem .8rem;min-width:0} .card.wrong{border-left:4px solid #c62828}
.card.true{border-left:4px solid #2e7d32} .card h4{margin:.3rem 0}
.plain{background:#fff8e1;padding:.3rem .5rem;border-radius:4px}
.why{background:#fff3e0;padding:.3rem .5rem;border-radius:4px;margin-bottom:0}
ul.passes{margin-top:.2rem;font-size:.85rem}
.errors{color:#6a1b9a;font-size:.9rem} .muted{color:#777;font-size:.85rem} .legend span{padding:0 .3rem}
.scroll{overflow-x:auto;max-width:100%} .pair,.grid{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:flex-start}
table.waterfall{font-size:.8rem}
a.term{color:inherit;text-decoration:underline dotted #1565c0}
dl.glossary dt{font-weight:600;margin-top:.6rem} dl.glossary dd{margin-left:1rem}
ol.legend{columns:2;font-size:.85rem} ol.legend svg{vertical-align:middle;margin-right:.3rem}
svg text{font-family:inherit} table.sweep td{overflow-wrap:anywhere}
"""


def outcome_chart(counts: dict[str, int]) -> str:
    total = max(sum(counts.values()), 1)
    width, bar_h, left = 720, 26, 250
    rows = []
    for i, (key, label) in enumerate(OUTCOME_LABELS.items()):
        n = counts.get(key, 0)
        w = (width - left - 120) * n / total
        y = 10 + i * (bar_h + 10)
        rows.append(
            f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" font-size="13">{_e(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{OUTCOME_COLOURS[key]}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 18}" font-size="13">{n:,} ({_pct(n / total)})</text>'
        )
    height = 20 + 4 * (bar_h + 10)
    return svg_document("Outcome breakdown", width, height, rows)


RATE_LABELS = {
    "false_match_rate": "False matches, of all requests",
    "missed_match_rate": "Missed matches, of requests for people in the register",
    "correct_match_rate": "Correct matches, of requests for people in the register",
    "false_match_rate_not_in_register": "False matches, of requests for people not in the register",
    "returned_rate": "Requests that returned a child",
    "ambiguous_rate": "Ambiguous requests (several candidates)",
}


def blocking_section(run: ScenarioRun) -> str:
    blocking = run.result.link.blocking
    rows = [
        r
        for r in run.tradeoff
        if r.get("pairs_completeness") is not None and r["candidate_pairs"] > 0
    ]
    points = [
        (
            "union of all passes (what the lookup used)"
            if i == len(rows) - 1 and len(rows) > 1
            else r["strategy"],
            float(r["candidate_pairs"]),
            float(r["pairs_completeness"]),
        )
        for i, r in enumerate(rows)
    ]
    chart, legend = log_scatter(
        points,
        "Blocking trade-off",
        "candidate pairs compared (log scale: each step is ten times more)",
        "pairs completeness",
    )
    items = "".join(f"<li>{icon}{_e(label)}</li>" for _, label, icon in legend)
    return f"""<h2 id="blocking">Blocking: which children were compared at all</h2>
<p>{term("blocking", "Blocking")} chose which register records to compare with each request. The
lookup compared {blocking.candidate_pairs:,} {term("candidate", "candidate")} pairs
({term("reduction-ratio")} {blocking.reduction_ratio:.6f});
{_pct(blocking.pairs_completeness, 2)} of the true pairs were among them
({term("pairs-completeness")}), and {_pct(blocking.pair_quality, 3)} of the candidates were true
pairs ({term("pair-quality")}). Keys named ":soundex" compare how a name sounds
({term("soundex")}). Each {term("blocking-pass")} alone, numbered as in the list: further
right costs more comparisons; higher finds more of the true pairs.</p>
{chart}<ol class="legend">{items}</ol>"""


def render_report(run: ScenarioRun) -> str:
    from matchsim.version import __version__

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
seed {scenario.seed}. {n:,} {term("request", "requests")} ({_e(scenario.requests.profile)} profile) looked up
in a {term("register")} of {summary.pupils:,} synthetic pupils with the rule
<b>{_e(link.matcher.describe())}</b>, {term("decision-rule")} <b>{_e(scenario.lookup.decision)}</b>,
{term("threshold")} {link.threshold:g}, {_e(scenario.lookup.addresses)} addresses. Underlined words
are explained in the <a href="#glossary">glossary</a>.</p>
<div class="kpis">{"".join(kpis)}</div>
<nav class="muted">Contents: <a href="#outcomes">outcomes</a> · <a href="#examples">worked
examples</a> · <a href="#tradeoffs">thresholds and rules</a> · <a href="#model">the model</a> ·
<a href="#groups">who bears the errors</a> · <a href="#blocking">blocking</a> ·
<a href="#world">the synthetic world</a> · <a href="#glossary">glossary</a></nav>

<h2 id="outcomes">Outcomes</h2>
<p>Every request ends in one of four outcomes: the right child alone (correct match), a
{term("false-match", "wrong child")}, nothing though the child is registered (a
{term("missed-match")}), or nothing for someone not registered (correct non-match).</p>
{outcome_chart(evaluation.counts)}
<div class="scroll"><table><tr><th>Rate</th><th>Value</th><th>{term("wilson-interval")}</th><th>Count</th></tr>
{rate_rows}</table></div>
<p class="muted">— : no request of that kind in this run, so no rate.</p>

<h2 id="examples">How it went wrong: worked examples</h2>
{worked_examples(run, scenario.report.examples)}

{tradeoff_section(run)}
{model_section(run)}
{groups_section(run)}
{blocking_section(run) if run.tradeoff else ""}
{privacy_section(run)}
<h2 id="world">The synthetic world</h2>
<table>
<tr><td>Register</td><td>{summary.pupils:,} pupils in {summary.households:,} households
({window})</td></tr>
<tr><td>{term("twin", "Twins")} and triplets</td><td>{_pct(summary.twin_share, 2)}</td></tr>
<tr><td>Share sharing forename, surname and date of birth with another pupil</td>
<td>{_pct(summary.same_name_and_dob_share, 3)}</td></tr>
<tr><td>Moved house at least once</td><td>{_pct(summary.moved_share)}</td></tr>
<tr><td>Top forenames</td><td>{_e(", ".join(f"{a} {_pct(b, 2)}" for a, b in summary.top_forenames))}</td></tr>
<tr><td>Top surnames</td><td>{_e(", ".join(f"{a} {_pct(b, 2)}" for a, b in summary.top_surnames))}</td></tr>
</table>
{fidelity_section(run)}
{glossary_section()}
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
        for r in (
            run.fidelity
            if run.fidelity is not None
            else fidelity_rows(run.census, include_requests=False)
        )
    )
    return f"""<h3>Generated against published</h3>
<p class="muted">Tolerances allow for sampling in a register of 200,000 or more; see docs/fidelity.md.</p>
<div class="scroll"><table><tr><th></th><th>Measure</th><th>Here</th><th>Published</th><th>Tolerance</th><th></th>
<th>Source</th></tr>{rows}</table></div>"""


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------

SWEEP_RATES = {
    "false_match_rate": "wrong children returned, of all requests",
    "missed_match_rate": "children missed, of requests for registered children",
}


def sweep_chart(summary: pd.DataFrame, x: str, rate: str, series: list[str]) -> str:
    """A rate against one swept setting, one line per combination of the other settings
    (each named in the legend, with its own marker and a small sideways offset so that equal
    lines stay visible), with 95% Wilson intervals as whiskers."""
    if summary.empty:
        return ""
    xs = list(dict.fromkeys(summary[x].tolist()))
    groups = summary.groupby(series, sort=False) if series else [((), summary)]
    lines = []
    for key, frame in groups:
        frame = frame.set_index(x).reindex(xs)
        label = ", ".join(
            f"{s}={k}"
            for s, k in zip(series, key if isinstance(key, tuple) else (key,), strict=False)
        )
        lines.append(
            Series(
                label or SWEEP_RATES.get(rate, rate),
                list(range(len(xs))),
                frame[rate].astype(float).tolist(),
                frame[f"{rate}_low"].astype(float).tolist(),
                frame[f"{rate}_high"].astype(float).tolist(),
            )
        )
    return line_chart(
        lines,
        f"{SWEEP_RATES.get(rate, rate)}, by {x}",
        x,
        "rate",
        x_ticks=[(i, str(v)) for i, v in enumerate(xs)],
        y_format=lambda v: _pct(v, 1 if v >= 0.01 or v == 0 else 2),
        width=720,
        height=320,
        dodge=True,
        x_range=(-0.5, len(xs) - 0.5),  # categories: whiskers clear of the frame
    )


def sweep_results_table(summary: pd.DataFrame, keys: list[str]) -> str:
    """One row per point: its settings, and each rate with its 95% interval and counts."""
    head = "".join(f"<th>{_e(k)}</th>" for k in keys) + (
        "<th>seeds</th><th>requests</th><th>wrong child returned (95% interval)</th>"
        "<th>missed (95% interval)</th>"
    )
    rows = []
    for r in summary.to_dict("records"):
        cells = "".join(f"<td>{_e(r.get(k))}</td>" for k in keys)
        rates = "".join(
            f"<td class='num'>{_pct(r[name], 2)} ({_pct(r[f'{name}_low'], 2)}–"
            f"{_pct(r[f'{name}_high'], 2)}), {int(r[count]):,}</td>"
            for name, count in (
                ("false_match_rate", "n_false_match"),
                ("missed_match_rate", "n_missed_match"),
            )
        )
        rows.append(
            f"<tr>{cells}<td class='num'>{int(r['seeds'])}</td>"
            f"<td class='num'>{int(r['requests']):,}</td>{rates}</tr>"
        )
    return f"<table class='sweep'><tr>{head}</tr>{''.join(rows)}</table>"


def render_sweep(
    name: str, description: str, summary: pd.DataFrame, grid: dict[str, list[Any]]
) -> str:
    keys = list(grid)
    charts = []
    for x in keys:
        others = [k for k in keys if k != x]
        for rate in SWEEP_RATES:
            charts.append(sweep_chart(summary, x, rate, others))
    table = sweep_results_table(summary, keys)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(name)} — matchsim sweep</title><style>{CSS}</style></head>
<body><h1>{_e(name)}</h1><p class="lead">{_e(description)}</p>
<p class="muted">Synthetic data only. Each point pools its seeds; whiskers are 95% Wilson intervals.
Lines that coincide are drawn side by side, each with its own marker.</p>
{"".join(charts)}
<h2>Results</h2><p class="muted">Every count and rate is in summary.csv (pooled) and
results.csv (each seed) beside this page.</p><div class="scroll">{table}</div>
</body></html>
"""
