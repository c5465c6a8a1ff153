"""Report sections computed from the run: threshold and rule trade-offs, what the model
learned, and who bears the errors (rates per 10,000 requests by group)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from matchsim.evaluation import evaluate
from matchsim.evaluation.tradeoffs import TRADEOFF_POLICIES, threshold_tradeoffs
from matchsim.matchers import CascadeMatcher, FellegiSunter, WeightedMatcher
from matchsim.report.charts import Bar, Dot, Series, bar_chart, dot_chart, line_chart
from matchsim.report.glossary import term
from matchsim.report.text import e, pct

if TYPE_CHECKING:
    from matchsim.scenario.runner import ScenarioRun

__all__ = [
    "GROUP_LABELS",
    "MIN_GROUP_REQUESTS",
    "groups_section",
    "model_section",
    "tradeoff_frame",
    "tradeoff_section",
]

#: A group with fewer requests in a rate's denominator is named, not drawn: its interval
#: would span most of the axis.
MIN_GROUP_REQUESTS = 30
#: Most thresholds drawn (the curve is evaluated at every distinct score up to this many).
MAX_THRESHOLDS = 400


# --------------------------------------------------------------------------------------------
# trade-offs
# --------------------------------------------------------------------------------------------


def tradeoff_frame(run: ScenarioRun) -> pd.DataFrame:
    """Outcomes of each decision rule across thresholds, from the run's scored candidates."""
    link = run.result.link
    data, comp = link.data, link.comparison
    truth = run.result.outcomes.set_index("request_id")["true_pupil_id"]
    true_record = truth.reindex(data.left.ids).astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
    scores = np.asarray(link.scores, dtype=np.float64)
    distinct = np.unique(scores[np.isfinite(scores)])
    if len(distinct) > MAX_THRESHOLDS:
        distinct = np.quantile(distinct, np.linspace(0, 1, MAX_THRESHOLDS))
    grid = np.unique(np.r_[0.0, distinct, link.threshold])
    return threshold_tradeoffs(
        comp.left,
        data.right.ids[comp.right],
        scores,
        true_record,
        thresholds=grid,
        tiered=link.matcher.tiered,
    )


def _weight(t: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.clip(np.log2(t) - np.log2(np.maximum(1 - t, 0)), -30, 40)


def tradeoff_section(run: ScenarioRun) -> str:
    link = run.result.link
    if not len(link.scores):
        return ""
    frame = tradeoff_frame(run)
    fs = isinstance(link.matcher, FellegiSunter)
    threshold = link.threshold
    chosen = run.scenario.lookup.decision
    if fs:
        x_label = "threshold, as a match weight (0 = probability 0.5, +10 ≈ 0.999)"
        mark = float(_weight(np.array([threshold]))[0])
    else:
        x_label = "threshold (score)"
        mark = threshold
    rows, charts = [], []
    for policy in TRADEOFF_POLICIES:
        f = frame[frame["policy"] == policy]
        xs = _weight(f["threshold"].to_numpy()) if fs else f["threshold"].to_numpy()
        at = f.iloc[int(np.argmin(np.abs(f["threshold"].to_numpy() - threshold)))]
        here = " (this run)" if policy == chosen else ""
        rows.append(
            f"<tr{' class=chosen' if here else ''}><td>{e(policy)}{here}</td>"
            f"<td class='num'>{1e4 * at['false_match_rate']:,.1f}</td>"
            f"<td class='num'>{1e4 * at['missed_match_rate']:,.1f}</td>"
            f"<td class='num'>{pct(at['precision'], 2)}</td><td class='num'>{pct(at['recall'], 2)}</td></tr>"
        )
        rates = line_chart(
            [
                Series(
                    "wrong children returned, per 10,000 requests", xs, 1e4 * f["false_match_rate"]
                ),
                Series("children missed, per 10,000 registered", xs, 1e4 * f["missed_match_rate"]),
            ],
            f"Rule '{policy}': errors by threshold",
            x_label,
            "per 10,000",
            mark_x=mark,
            mark_label=f"threshold {threshold:g}",
            width=520,
        )
        quality = line_chart(
            [
                Series("precision", xs, f["precision"]),
                Series("recall", xs, f["recall"]),
            ],
            f"Rule '{policy}': precision and recall",
            x_label,
            "share",
            mark_x=mark,
            mark_label=f"threshold {threshold:g}",
            width=520,
            y_max=1.0,
            y_format=lambda v: f"{100 * v:.0f}%",
        )
        charts.append(f"<div class='pair'>{rates}{quality}</div>")
    note = (
        ""
        if chosen in TRADEOFF_POLICIES
        else f"<p class='muted'>This run used '{e(chosen)}', which depends on other requests' "
        "answers, so it is not redrawn here.</p>"
    )
    return f"""<h2 id="tradeoffs">Threshold and rule trade-offs</h2>
<p>What the same candidates would have given with another {term("threshold")} or
{term("decision-rule")}, from the ground truth. Raising the threshold returns fewer
{term("false-match", "wrong children")} but misses more children. The dashed line marks this
run's threshold.</p>
<table><tr><th>Rule, at threshold {threshold:g}</th><th>Wrong children returned per 10,000 requests</th>
<th>Children missed per 10,000 registered</th><th>{term("precision")}</th><th>{term("recall")}</th></tr>
{"".join(rows)}</table>{note}
{"".join(charts)}"""


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------


def model_section(run: ScenarioRun) -> str:
    model = run.result.link.matcher
    if isinstance(model, FellegiSunter) and model.is_fitted():
        return _fellegi_sunter(run, model)
    if isinstance(model, WeightedMatcher):
        weights = model.weights if model.weights is not None else model.DEFAULT_WEIGHTS
        rows = "".join(
            f"<tr><td>{e(k)}</td><td class='num'>{v:g}</td></tr>" for k, v in weights.items()
        )
        return f"""<h2 id="model">What the rule weighs</h2>
<p>The weighted rule gives each field a fixed weight; a field's {term("comparison-level")} scores 1
at its best level falling evenly to 0 when it differs (a missing value scores
{model.missing_score:g}). The {term("score")} is the weighted mean; a pair at or above
{model.threshold:g} counts as a match. Nothing is learned from the data.</p>
<table><tr><th>Field</th><th>Weight</th></tr>{rows}</table>"""
    if isinstance(model, CascadeMatcher):
        rules = "".join(
            "<li>" + e(", ".join(f"{k} at least {v}" for k, v in r.items())) + "</li>"
            for r in model.rules
        )
        return f"""<h2 id="model">What the rule checks</h2>
<p>A cascade of fixed rules, strongest first; a pair takes the first rule it satisfies.</p><ol>{rules}</ol>"""
    return ""


def _fellegi_sunter(run: ScenarioRun, model: FellegiSunter) -> str:
    params = pd.DataFrame(model.parameters())
    charts = []
    for name, rows in params.groupby("comparison", sort=False):
        rows = rows[rows["level"] != "missing"]
        bars = [
            Bar(
                r.level,
                math.log2(r.m / r.u) if r.m > 0 and r.u > 0 else 0.0,
                f"m={r.m:.3g} u={r.u:.3g}",
            )
            for r in rows.itertuples()
        ]
        charts.append(bar_chart(bars, f"{name}", "match weight (log2 of m/u)", width=520))
    tf_charts = []
    data = run.result.link.data
    for name, (role, tf) in model.tf_.items():
        i = model.comparisons_.index(name)
        m1, u1 = float(model.m_[i][1]), float(model.u_[i][1])
        chance = max(float((tf**2).sum()), 1e-12)
        present = np.flatnonzero(tf > 0)
        if not len(present):
            continue
        order = present[np.argsort(-tf[present], kind="stable")]
        picks = list(dict.fromkeys([*order[:5], *order[-3:]]))
        text = data.vocabularies[role].text
        bars = [
            Bar(
                str(text[c]),
                math.log2(m1) - math.log2(max(u1 * tf[c] / chance, 1e-9)),
                f"{100 * tf[c]:.2g}% of records",
            )
            for c in picks
        ]
        tf_charts.append(
            bar_chart(
                bars,
                f"{name}: exact agreement on common and rare values",
                "match weight",
                width=520,
            )
        )
    prior = model.prior_weight()
    tf_text = (
        f"<h3>{term('term-frequency', 'Term-frequency adjustments')}</h3><p>Exact agreement on a "
        f"common value is weaker evidence: the five commonest values and three of the rarest.</p>"
        f"<div class='grid'>{''.join(tf_charts)}</div>"
        if tf_charts
        else ""
    )
    return f"""<h2 id="model">What the model learned</h2>
<p>The {term("fellegi-sunter")} learned, for each {term("comparison-level")}, an
{term("m-probability")} and a {term("u-probability")}; their ratio is the level's
{term("bayes-factor")} and its log2 the {term("match-weight")} drawn here (green for, red
against). The {term("prior")} match weight is {prior:+.2f} (one pair in about
{2**-prior:,.0f} is a match before any field is compared).</p>
<div class="grid">{"".join(charts)}</div>{tf_text}"""


# --------------------------------------------------------------------------------------------
# who bears the errors
# --------------------------------------------------------------------------------------------

GROUP_LABELS = {
    "true_name_origin": "Name origin",
    "sex": "Sex",
    "true_is_twin": "Twin or triplet",
    "age_band": "Age at the census (from the date of birth given)",
    "error_types": "Errors in the request (a request counts once for each kind it carries)",
}
VALUE_LABELS = {
    "sex": {"F": "female", "M": "male"},
    "true_is_twin": {"True": "twin or triplet", "False": "not a twin"},
    "error_types": {"none": "no errors"},
}
AGE_BANDS = (
    (0, 5, "under 5"),
    (5, 11, "5-10"),
    (11, 16, "11-15"),
    (16, 19, "16-18"),
    (19, 200, "19 or older"),
)


def _age_bands(outcomes: pd.DataFrame, census_date: object) -> pd.Series:
    dob = pd.to_datetime(outcomes["date_of_birth"], errors="coerce")
    age = (pd.Timestamp(census_date) - dob).dt.days / 365.25
    out = pd.Series("date of birth missing", index=outcomes.index, dtype=object)
    for low, high, label in AGE_BANDS:
        out[(age >= low) & (age < high)] = label
    return out


def group_evaluation(run: ScenarioRun) -> pd.DataFrame:
    outcomes = run.result.outcomes
    truth = outcomes.drop(columns=["returned", "ambiguous", "outcome"], errors="ignore").copy()
    truth["true_pupil_id"] = truth["true_pupil_id"].astype("Int64")
    truth["age_band"] = _age_bands(outcomes, run.scenario.population.census_date)
    breakdowns = [b for b in GROUP_LABELS if b in truth.columns or b == "error_types"]
    return evaluate(
        outcomes[["request_id", "returned", "ambiguous"]], truth, breakdowns=breakdowns
    ).breakdown


def _label(group_by: str, value: str) -> str:
    if value == "<NA>":
        return "not recorded"
    value = VALUE_LABELS.get(group_by, {}).get(value, value)
    return value.replace("_", " ")


def _dot_per_10k(label: str, rates: list[float], n: int) -> Dot:
    """A dot of a rate and its interval (value, low, high), scaled to per 10,000."""
    value, low, high = 1e4 * np.array(rates)
    return Dot(label, value, low, high, n)


def groups_section(run: ScenarioRun) -> str:
    breakdown = group_evaluation(run)
    parts = []
    order = {label: i for i, (_, _, label) in enumerate(AGE_BANDS)}
    for group_by, frame in breakdown.groupby("group_by", sort=False):
        if group_by == "age_band":
            frame = frame.sort_values("group", key=lambda s: s.map(lambda g: order.get(g, 99)))
        false = [
            _dot_per_10k(
                _label(group_by, r.group),
                [r.false_match_rate, r.false_match_rate_low, r.false_match_rate_high],
                int(r.requests),
            )
            for r in frame.itertuples()
        ]
        missed = [
            _dot_per_10k(
                _label(group_by, r.group),
                [r.missed_match_rate, r.missed_match_rate_low, r.missed_match_rate_high],
                int(r.in_register),
            )
            for r in frame.itertuples()
        ]
        parts.append(f"<h3>{e(GROUP_LABELS.get(group_by, group_by))}</h3>")
        parts.append(
            dot_chart(
                false,
                "Wrong children returned, per 10,000 requests",
                min_n=MIN_GROUP_REQUESTS,
                n_label="requests",
            )
        )
        if frame["in_register"].sum() > 0:
            parts.append(
                dot_chart(
                    missed,
                    "Children missed, per 10,000 requests for registered children",
                    min_n=MIN_GROUP_REQUESTS,
                    n_label="registered",
                    colour="#ef6c00",
                    unit="per 10,000 requests for children in the register",
                )
            )
    return f"""<h2 id="groups">Who bears the errors</h2>
<p>Per 10,000 requests, by group. Dots are rates; whiskers are {term("wilson-interval", "95% intervals")}.
Each chart's n is its own denominator: all requests in the group for wrong children, requests
for children who are in the register for misses. A group with fewer than {MIN_GROUP_REQUESTS}
requests is named but not estimated.</p>
{"".join(parts)}"""
