"""The evidence a matcher weighed for one request-record pair: for Fellegi-Sunter a waterfall
of match weights from the prior to the final probability (as Splink's waterfall chart), for
the weighted rule each field's share of the score, for a cascade the rule that fired."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from matchsim.comparison import ComparisonResult, compare
from matchsim.matchers import CascadeMatcher, FellegiSunter, WeightedMatcher
from matchsim.report.charts import waterfall_chart
from matchsim.report.glossary import term
from matchsim.report.text import e

if TYPE_CHECKING:
    from matchsim.linkage import LinkResult

__all__ = ["evidence", "pair", "score_text"]


def score_text(score: float) -> str:
    """A score; one within 1e-4 of 1 as "1 − x", so that near-certain scores stay apart."""
    if 0.9999 <= score < 1:
        return f"1 − {1 - score:.1e}"
    return f"{score:.4f}"


def _probability(weight: float) -> str:
    p = 1.0 / (1.0 + 2.0 ** (-weight))
    if p >= 0.9999 and weight < 1000:
        return f"1 − {2.0 ** (-weight) / (1 + 2.0 ** (-weight)):.1e}"
    return f"{p:.4f}"


# --------------------------------------------------------------------------------------------


def evidence(link: LinkResult, sub: ComparisonResult) -> str:
    """How the matcher scored the first pair of ``sub``: a waterfall and its numbers."""
    model, data = link.matcher, link.data
    comparisons = sub.comparisons
    levels = [comparisons[i].level_names[int(sub.levels[0, i])] for i in range(len(comparisons))]
    if isinstance(model, FellegiSunter) and model.is_fitted():
        prior = model.prior_weight()
        weights, adjusted = model.weight_terms(sub, data)
        total = prior + float(weights[0].sum())
        probability = 1.0 / (1.0 + 2.0 ** (-total))
        rows = [
            f'<tr class="wf-term wf-prior" data-weight="{prior!r}"><td>{term("prior")}</td>'
            f"<td></td><td class='num'>{2**prior:.3g}</td><td class='num'>{prior:+.2f}</td></tr>"
        ]
        terms = []
        for i, c in enumerate(comparisons):
            w = float(weights[0, i])
            tf = " (" + term("term-frequency", "tf-adjusted") + ")" if adjusted[0, i] else ""
            rows.append(
                f'<tr class="wf-term" data-weight="{w!r}"><td>{e(c.name)}</td>'
                f"<td>{e(levels[i])}{tf}</td><td class='num'>{2**w:.3g}</td>"
                f"<td class='num'>{w:+.2f}</td></tr>"
            )
            terms.append((f"{c.name}: {levels[i]}" + (" (tf)" if adjusted[0, i] else ""), w))
        rows.append(
            f'<tr class="wf-total" data-weight="{total!r}" data-probability="{probability!r}">'
            f"<td colspan='3'><b>final {term('match-weight')}</b>, "
            f"{term('match-probability')} {_probability(total)}</td>"
            f"<td class='num'><b>{total:+.2f}</b></td></tr>"
        )
        chart = waterfall_chart(prior, terms, f"Evidence: final probability {_probability(total)}")
        table = (
            f"<table class='waterfall'><tr><th>Comparison</th><th>{term('comparison-level', 'Level')}"
            f"</th><th>{term('bayes-factor')}</th><th>{term('match-weight', 'Weight')}</th></tr>"
            f"{''.join(rows)}</table>"
        )
        return f'<div class="wf">{chart}{table}</div>'
    if isinstance(model, WeightedMatcher):
        parts = model.score_terms(sub, data)[0]
        body = "".join(
            f"<tr><td>{e(c.name)}</td><td>{e(levels[i])}</td><td class='num'>+{parts[i]:.3f}</td></tr>"
            for i, c in enumerate(comparisons)
        )
        return (
            f"<table><tr><th>Comparison</th><th>{term('comparison-level', 'Level')}</th>"
            f"<th>Adds to the {term('score')}</th></tr>{body}<tr><td colspan='2'><b>score</b>"
            f"</td><td class='num'><b>{parts.sum():.3f}</b></td></tr></table>"
        )
    if isinstance(model, CascadeMatcher):
        rule = int(model.rule_index(sub, data)[0])
        said = f"rule {rule + 1} of {len(model.rules)}" if rule >= 0 else "no rule"
        fired = ", ".join(f"{k} {v}" for k, v in model.rules[rule].items()) if rule >= 0 else "none"
        return f"<p class='muted'>The cascade fired {e(said)} ({e(fired)}).</p>"
    return ""


def pair(link: LinkResult, left_row: int, right_row: int) -> ComparisonResult:
    comp = link.comparison
    hit = np.flatnonzero((comp.left == left_row) & (comp.right == right_row))
    if len(hit):
        i = hit[:1]
        return ComparisonResult(comp.left[i], comp.right[i], comp.levels[i], comp.comparisons)
    # Never a candidate: compare the two records now, to show what the evidence would have been.
    return compare(
        link.data,
        np.array([left_row]),
        np.array([right_row]),
        list(comp.comparisons),
    )
