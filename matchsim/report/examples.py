"""Worked examples: for a wrong child returned or a child missed, every child involved, the
evidence the matcher weighed for each (a waterfall of match weights from the prior to the
final probability), how often two children share what they share, and why the true child
was not returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.blocking import Union, default_blocking, make_blocker
from matchsim.comparison import ComparisonResult
from matchsim.namesakes import namesake_counts, namesakes_of
from matchsim.report.evidence import evidence, pair, score_text
from matchsim.report.glossary import term
from matchsim.report.text import e, pct

if TYPE_CHECKING:
    from matchsim.linkage import LinkResult
    from matchsim.scenario.runner import ScenarioRun

__all__ = ["EXAMPLE_FIELDS", "worked_examples"]

EXAMPLE_FIELDS = [
    ("forename", "Forename"),
    ("middle_names", "Middle names"),
    ("surname", "Surname"),
    ("date_of_birth", "Date of birth"),
    ("sex", "Sex"),
    ("address_line", "Address"),
    ("postcode", "Postcode"),
]

#: Blocking key parts in words.
PART_WORDS = {
    "dob": "date of birth",
    "birth_year": "year of birth",
    "forename:soundex": "forename sounds alike (Soundex)",
    "surname:soundex": "surname sounds alike (Soundex)",
    "postcode": "postcode",
    "postcode:district": "postcode district",
    "postcode:sector": "postcode sector",
    "address": "address",
    "forename": "forename",
    "surname": "surname",
}
#: Comparisons whose exact agreement is named in the plain-words line.
NAMED_ROLES = {
    "forename": "first name",
    "surname": "surname",
    "date_of_birth": "birthday",
    "postcode": "postcode",
}


def _norm(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    return str(v).strip().upper()


def _part_words(part: str) -> str:
    if " = " in part:  # a cross pass: forename = surname
        a, b = part.split(" = ")
        return f"request's {PART_WORDS.get(a, a)} = register's {PART_WORDS.get(b, b)}"
    return PART_WORDS.get(part, part.replace(":", " "))


@dataclass
class _Context:
    run: ScenarioRun
    link: LinkResult
    left_index: pd.Index
    right_rows: dict[int, int]  # pupil id -> first row in data.right
    records: pd.DataFrame  # register records shown, by pupil id


# --------------------------------------------------------------------------------------------
# plain words
# --------------------------------------------------------------------------------------------


def plain_words(ctx: _Context, sub: ComparisonResult, pupil_id: int) -> str:
    """'Same first name, surname and birthday: ...' for a wrong child."""
    agree = tuple(
        c.role
        for i, c in enumerate(sub.comparisons)
        if c.role in NAMED_ROLES
        and c.level_names[int(sub.levels[0, i])] in ("exact", "full")
        and (c.role == "date_of_birth" or c.role in ctx.link.data.right.codes)
    )
    if not agree:
        return (
            "<p class='plain'>This child agrees exactly with the request on none of first name, "
            "surname, birthday or postcode: it was returned on near agreements.</p>"
        )
    # Counted over the whole register once, when it was prepared (see matchsim.namesakes).
    right = ctx.link.data.right
    with_namesake, pupils = namesake_counts(right, agree)
    share = with_namesake / pupils if pupils else 0.0
    shared = namesakes_of(right, agree, pupil_id)
    fields = ", ".join(NAMED_ROLES[r] for r in agree[:-1]) + (
        f" and {NAMED_ROLES[agree[-1]]}" if len(agree) > 1 else NAMED_ROLES[agree[0]]
    )
    if len(agree) == 1:
        fields = NAMED_ROLES[agree[0]]
    often = (
        f"two different children share these about once in {round(1 / share):,} lookups in a "
        f"register this size ({pct(share)} of its pupils have such a namesake)"
        if share > 0
        else "no two children in this register share all of these"
    )
    return (
        f"<p class='plain'><b>Same {e(fields)}</b> as the request: {often}. "
        f"{shared:,} {'child has' if shared == 1 else 'children have'} exactly these values here.</p>"
    )


# --------------------------------------------------------------------------------------------
# why the true child was not returned
# --------------------------------------------------------------------------------------------


def why_not_returned(ctx: _Context, row: pd.Series, left_row: int, true_id: int) -> str:
    link = ctx.link
    data = link.data
    right_row = ctx.right_rows.get(true_id)
    if right_row is None:
        return ""
    comp = link.comparison
    mine = comp.left == left_row
    true_mask = mine & (data.right.ids[comp.right] == true_id)
    threshold = link.threshold
    decision = ctx.run.scenario.lookup.decision
    if not true_mask.any():
        lk = ctx.run.scenario.lookup.blocking
        blocker = make_blocker(lk) if lk not in (None, "default") else default_blocking(data.roles)
        passes = list(blocker.blockers) if isinstance(blocker, Union) else [blocker]
        items = []
        for p in passes:
            if hasattr(p, "part_agreement"):
                parts = p.part_agreement(data, left_row, right_row)
                text = "; ".join(
                    f"{_part_words(k)} {'✓ same' if ok else '✗ differs'}" for k, ok in parts
                )
                items.append(f"<li>{e(p.describe())}: {e(text)}</li>")
            else:
                items.append(f"<li>{e(p.describe())}: did not pair them</li>")
        return (
            f"<p class='why'><b>Why the true child was missed: never a {term('candidate')}.</b> "
            f"No {term('blocking-pass')} paired the request with this child, so the matcher "
            f"never compared them. Each pass needs all its keys to be the same (names "
            f"compared by {term('soundex')} need only sound alike):</p>"
            f"<ul class='passes'>{''.join(items)}</ul>"
        )
    score = float(link.scores[true_mask].max())
    if score < threshold:
        return (
            f"<p class='why'><b>Why the true child was missed: below the {term('threshold')}.</b> "
            f"It was a candidate and scored {score_text(score)}, {threshold - score:.4f} short of the "
            f"threshold {threshold:g}.</p>"
        )
    over = pd.Series(link.scores[mine], index=data.right.ids[comp.right[mine]])
    over = over[over >= threshold].groupby(level=0).max()
    if decision == "unique" and len(over) > 1:
        return (
            f"<p class='why'><b>Why the true child was missed: ambiguous.</b> It scored "
            f"{score_text(score)}, over the threshold, but so did {len(over) - 1} other "
            f"{'child' if len(over) == 2 else 'children'}; the {term('decision-rule')} "
            f"'unique' returns a child only when exactly one clears the threshold.</p>"
        )
    if decision == "best":
        return (
            f"<p class='why'><b>Why the true child was not returned:</b> it scored {score_text(score)}, "
            f"but another child scored {score_text(over.max())}; the {term('decision-rule')} 'best' "
            f"returns only the top candidate, and none when the top is tied.</p>"
        )
    return (
        f"<p class='why'>The true child scored {score_text(score)} (threshold {threshold:g}); the "
        f"{term('decision-rule')} '{e(decision)}' did not return it.</p>"
    )


# --------------------------------------------------------------------------------------------
# one example
# --------------------------------------------------------------------------------------------


#: Field of the example table -> comparison name whose level colours its cell.
FIELD_COMPARISON = {
    "forename": "forename",
    "middle_names": "middle_names",
    "surname": "surname",
    "date_of_birth": "date_of_birth",
    "sex": "sex",
    "address_line": "address",
    "postcode": "postcode",
}


def _cell(request_value: Any, value: Any, level: str | None) -> str:
    """A record's value, coloured by the comparison level the matcher saw (exact: agrees,
    a fuzzy level: nearly, else: differs) or, without one, by plain equality. Missing on
    either side is grey: no evidence either way."""
    a, b = _norm(request_value), _norm(value)
    shown = e(value) if b else "—"
    if not b or not a or level == "missing":
        return f'<td class="missing" title="missing: no value on one side">{shown}</td>'
    if level is None:
        cls = "agree" if a == b else "differ"
    elif level in ("exact", "full"):
        cls = "agree"
    elif level == "else":
        cls = "differ"
    else:
        cls = "near"
    title = f' title="comparison level: {e(level)}"' if level else ""
    return f'<td class="{cls}"{title}>{shown}</td>'


def _levels(ctx: _Context, left_row: int, pid: int) -> dict[str, str]:
    """Comparison name -> level name of the request against this record."""
    if not ctx.link.comparison.comparisons or pid not in ctx.right_rows:
        return {}
    sub = pair(ctx.link, left_row, ctx.right_rows[pid])
    return {c.name: c.level_names[int(sub.levels[0, i])] for i, c in enumerate(sub.comparisons)}


def _errors_line(row: pd.Series) -> str:
    errors = sorted(
        {
            part
            for f in row.index
            if f.startswith("errors_") and isinstance(row[f], str) and row[f]
            for part in row[f].split(";")
        }
    )
    listed = ", ".join(x.replace("_", " ") for x in errors)
    if not bool(row.get("in_register")):
        also = f" The request also carries: {listed}." if errors else ""
        return (
            "<p class='errors'>This person is <b>not in the register</b>: any child returned "
            f"is the wrong child.{e(also)}</p>"
        )
    if not errors:
        return (
            "<p class='errors'>No errors were made in this request: it holds the register's "
            "details for the child exactly.</p>"
        )
    twin = " The true child is a " + term("twin") + "." if bool(row.get("true_is_twin")) else ""
    return f"<p class='errors'>Errors made in the request: {e(listed)}.{twin}</p>"


def _example(ctx: _Context, row: pd.Series) -> str:
    link = ctx.link
    data = link.data
    request_id = int(row["request_id"])
    left_row = int(ctx.left_index.get_loc(request_id))
    true_id = int(row["true_pupil_id"]) if pd.notna(row["true_pupil_id"]) else None
    returned = [int(i) for i in dict.fromkeys(row["returned"])]
    wrong = [i for i in returned if i != true_id]
    shown: list[tuple[int, str, bool]] = [
        (i, "Child returned: <b>wrong child</b>", True) for i in wrong[:3]
    ]
    if not returned:
        # Nothing came back: show the other children that cleared the threshold (why the
        # lookup could not choose), best first.
        for pid in _over_threshold(ctx.link, left_row)[:3]:
            if pid != true_id and pid in ctx.records.index:
                shown.append((pid, "Another child over the threshold", True))
    if true_id is not None and true_id in ctx.records.index:
        label = (
            "True child: returned too" if true_id in returned else "True child: <b>not returned</b>"
        )
        shown.append((true_id, "✔ " + label, False))
    head = "<tr><th>Field</th><th>Request</th>" + "".join(
        f"<th class='{'wrong' if is_wrong else 'true'}'>{label}</th>"
        for _, label, is_wrong in shown
    )
    lines = [head + "</tr>"]
    levels = {pid: _levels(ctx, left_row, pid) for pid, _, _ in shown}
    for key, label in EXAMPLE_FIELDS:
        cells = [f"<td>{e(label)}</td>", f"<td>{e(_show(row.get(key)))}</td>"]
        for pid, _, _ in shown:
            level = levels[pid].get(FIELD_COMPARISON.get(key, key))
            cells.append(_cell(row.get(key), ctx.records.loc[pid].get(key), level))
        lines.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f"<p class='muted'>…and {len(wrong) - 3} more wrong children.</p>" if len(wrong) > 3 else ""
    )
    cards = []
    threshold = link.threshold
    for pid, label, is_wrong in shown:
        if not link.comparison.comparisons:  # a peer engine compared them itself
            continue
        sub = pair(link, left_row, ctx.right_rows[pid])
        hit = (link.comparison.left == left_row) & (data.right.ids[link.comparison.right] == pid)
        if hit.any():
            score = float(link.scores[hit].max())
            side = "over" if score >= threshold else "under"
            status = f"{term('score')} {score_text(score)} ({side} the threshold {threshold:g})"
        else:
            would = float(link.matcher.score(sub, data)[0])
            side = "over" if would >= threshold else "under"
            status = (
                f"never a {term('candidate')}: had they been compared, this child would have "
                f"scored {score_text(would)} ({side} the threshold {threshold:g}), on this evidence"
            )
        words = plain_words(ctx, sub, pid) if is_wrong else ""
        if is_wrong and _twins(ctx.records, pid, true_id):
            words += (
                f"<p class='plain'>This child is the true child's {term('twin')}: same "
                "surname, birthday and home; only the forename tells them apart.</p>"
            )
        cards.append(
            f"<div class='card {'wrong' if is_wrong else 'true'}'><h4>{label}</h4>"
            f"<p>{status}</p>{words}{evidence(link, sub)}</div>"
        )
    why = (
        why_not_returned(ctx, row, left_row, true_id)
        if true_id is not None and true_id not in returned
        else ""
    )
    who = f"{_show(row.get('forename'))} {_show(row.get('surname'))}, born {_show(row.get('date_of_birth'))}"
    n_over = int(row.get("candidates", 0) or 0)
    return (
        f'<div class="example" id="request-{request_id}"><h4>Request {request_id}: {e(who)}</h4>'
        f"<p>{_outcome_line(row, wrong, n_over)}</p>"
        f"<div class='scroll'><table class='compare'>{''.join(lines)}</table></div>{more}"
        f"{_errors_line(row)}{why}<div class='cards'>{''.join(cards)}</div></div>"
    )


def _outcome_line(row: pd.Series, wrong: list[int], n_over: int) -> str:
    if row["outcome"] == "false_match":
        if bool(row.get("in_register")):
            return (
                f"Outcome: {term('false-match')} — {len(wrong)} wrong "
                f"{'child' if len(wrong) == 1 else 'children'} returned."
            )
        return f"Outcome: {term('false-match')} — a child was returned for someone not in the register."
    return f"Outcome: {term('missed-match')} — nothing was returned ({n_over} candidates over the threshold)."


def _over_threshold(link: LinkResult, left_row: int) -> list[int]:
    mine = link.comparison.left == left_row
    scores = pd.Series(link.scores[mine], index=link.data.right.ids[link.comparison.right[mine]])
    best = scores.groupby(level=0).max().sort_values(ascending=False, kind="stable")
    return [int(i) for i in best[best >= link.threshold].index]


def _twins(records: pd.DataFrame, a: int, b: int | None) -> bool:
    if b is None or "multiple_birth_id" not in records.columns or b not in records.index:
        return False
    x, y = records.loc[a, "multiple_birth_id"], records.loc[b, "multiple_birth_id"]
    return bool(pd.notna(x) and pd.notna(y) and x == y)


def _show(value: Any) -> str:
    return "—" if not _norm(value) else str(value)


def worked_examples(run: ScenarioRun, limit: int) -> str:
    outcomes = run.result.outcomes
    link = run.result.link
    false = outcomes[outcomes["outcome"] == "false_match"]
    # Wrong children returned to people in the register first (the twins case), then the rest.
    false = pd.concat([false[false["in_register"]], false[~false["in_register"]]]).head(limit)
    missed = outcomes[outcomes["outcome"] == "missed_match"].head(limit)
    want: set[int] = set()
    for frame in (false, missed):
        for ids in frame["returned"]:
            want.update(int(i) for i in ids)
        want.update(int(i) for i in frame["true_pupil_id"].dropna())
    left_index = pd.Index(link.data.left.ids)
    for request_id in missed["request_id"]:
        want.update(_over_threshold(link, int(left_index.get_loc(int(request_id))))[:3])
    if not want:
        return "<p>No wrong children were returned and no child was missed in this run.</p>"
    pupils = run.census.pupils
    mask = pc.is_in(pupils["pupil_id"], value_set=pa.array(sorted(want), pa.int64()))
    records = pupils.filter(mask).to_pandas().set_index("pupil_id")
    for column in records.columns:
        if isinstance(records[column].dtype, pd.CategoricalDtype):
            records[column] = records[column].astype(object)
    right_ids = pd.Index(link.data.right.ids)
    rows = right_ids.get_indexer(sorted(want)) if right_ids.is_unique else None
    if rows is None:
        first = pd.Series(np.arange(len(right_ids)), index=right_ids)
        first = first[~first.index.duplicated()]
        right_rows = {i: int(first[i]) for i in want if i in first.index}
    else:
        right_rows = {i: int(r) for i, r in zip(sorted(want), rows, strict=True) if r >= 0}
    ctx = _Context(run, link, left_index, right_rows, records)
    legend = (
        "<p class='legend'><span class='agree'>green</span>: same as the request; "
        "<span class='near'>yellow</span>: nearly (a similar spelling, a name that sounds "
        "alike, a nearby date; hover for the level); "
        "<span class='differ'>red</span>: differs; <span class='missing'>—</span>: missing "
        "(no value on one side or both), which counts neither for nor against.</p>"
    )
    parts = [legend]
    for title, frame, explain in (
        (
            "Wrong children returned",
            false,
            "The lookup returned a child who is not the person asked about. Each wrong child "
            "comes first, then the true child (✔), with the evidence the matcher weighed.",
        ),
        (
            "Children missed",
            missed,
            "The person asked about is in the register, but nothing came back. Below: why.",
        ),
    ):
        if frame.empty:
            continue
        parts.append(f"<h3>{e(title)}</h3><p class='muted'>{e(explain)}</p>")
        parts.extend(_example(ctx, row) for _, row in frame.iterrows())
    return "".join(parts)
