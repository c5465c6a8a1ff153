"""The report's glossary: every technical term, in plain words, and links to it.

:func:`term` wraps a word of the page in a link to its entry; :func:`glossary_section` writes
the entries. A link to a term not in :data:`GLOSSARY` is a programming error (KeyError), so
every link on the page resolves.
"""

from __future__ import annotations

import html

__all__ = ["GLOSSARY", "glossary_section", "term"]

#: key -> (term, explanation). Explanations assume no knowledge of record linkage.
GLOSSARY: dict[str, tuple[str, str]] = {
    "request": (
        "request",
        "One lookup: the details someone sends (names, date of birth, address) asking "
        "whether the register holds this child.",
    ),
    "register": (
        "register",
        "The table of pupils searched (here synthetic, modelled on the National Pupil Database).",
    ),
    "false-match": (
        "false match (wrong child returned)",
        "The lookup returned at least one child who is not the person asked about. This "
        "includes returning the right child together with a twin, and returning anyone for a "
        "person who is not in the register.",
    ),
    "missed-match": (
        "missed match",
        "The person asked about is in the register, but the lookup returned nothing.",
    ),
    "candidate": (
        "candidate",
        "A register record the lookup compared with the request. Only records found by "
        "blocking become candidates; every other record is never looked at.",
    ),
    "blocking": (
        "blocking",
        "Comparing a request with every pupil is too slow, so the lookup first picks out the "
        "records that share something simple with it (for example the same date of birth and "
        "a surname that sounds the same). A child who shares none of these is never a "
        "candidate, however well the rest agrees.",
    ),
    "blocking-pass": (
        "blocking pass",
        "One of the rules blocking uses, such as 'surname sounds the same (Soundex) and same "
        "date of birth'. A record becomes a candidate if any pass finds it.",
    ),
    "soundex": (
        "Soundex",
        "A code for how a name sounds (Smith and Smyth both give S530), so that spelling "
        "variants still meet.",
    ),
    "pairs-completeness": (
        "pairs completeness",
        "Of the true request-child pairs, the share that blocking made candidates. A true pair "
        "missed here can never be matched.",
    ),
    "pair-quality": (
        "pair quality",
        "Of the candidate pairs, the share that are true pairs. Low pair quality means many "
        "comparisons with the wrong children.",
    ),
    "reduction-ratio": (
        "reduction ratio",
        "The share of all possible request-pupil pairs that blocking spared from comparison "
        "(1 means almost none were compared).",
    ),
    "comparison-level": (
        "comparison level",
        "How well one field agrees between the request and a record, from best to worst: for "
        "a name, exact; nearly the same spelling; sounds the same; same initial; different. "
        "'missing' means one side has no value.",
    ),
    "fellegi-sunter": (
        "Fellegi-Sunter model",
        "The standard way to weigh evidence in record linkage (Fellegi and Sunter, 1969). "
        "Each field's agreement level moves the odds that two records are the same person up "
        "or down; the moves add up to a final probability.",
    ),
    "m-probability": (
        "m probability",
        "How often a field shows this agreement level when the two records really are the "
        "same child (typing errors and nicknames make it less than 1).",
    ),
    "u-probability": (
        "u probability",
        "How often a field shows this agreement level between two different children, by "
        "chance. Agreeing on a common surname happens often by chance; on a rare one, seldom.",
    ),
    "bayes-factor": (
        "Bayes factor",
        "m divided by u: how many times more likely this agreement is for the same child than "
        "for two different children. Above 1 it is evidence for a match, below 1 against.",
    ),
    "match-weight": (
        "match weight",
        "The Bayes factor on a log2 scale: +1 doubles the odds of a match, -1 halves them. "
        "Weights add up, from the prior to the final match weight.",
    ),
    "prior": (
        "prior",
        "The odds that two records picked at random are the same child, before looking at "
        "any field: about one in the register's size, so a very negative match weight.",
    ),
    "term-frequency": (
        "term-frequency adjustment",
        "Agreeing on a rare value is stronger evidence than agreeing on a common one: the "
        "weight of an exact agreement is raised for rare names and lowered for common ones "
        "(Khan, Smith, Oliver).",
    ),
    "match-probability": (
        "match probability",
        "The final match weight turned back into a probability: 2^w / (1 + 2^w).",
    ),
    "score": (
        "score",
        "The number the matcher gives a candidate: a match probability for Fellegi-Sunter, a "
        "weighted share of agreeing fields for the weighted rule, the rule that fired for a "
        "cascade.",
    ),
    "threshold": (
        "threshold",
        "The score a candidate must reach to count as a match. Lower thresholds return more "
        "children, right and wrong.",
    ),
    "decision-rule": (
        "decision rule",
        "What is returned from the candidates over the threshold: 'unique' returns a child "
        "only when exactly one clears it (a 'clear match'); 'best' returns the top one unless "
        "tied; 'all' returns every one.",
    ),
    "precision": (
        "precision",
        "Of the children returned, the share who are the person asked about.",
    ),
    "recall": (
        "recall",
        "Of the people asked about who are in the register, the share whose record came back.",
    ),
    "wilson-interval": (
        "95% interval",
        "A Wilson score interval: the range in which the true rate lies with 95% confidence, "
        "given how many requests it rests on. Few requests give wide intervals.",
    ),
    "twin": (
        "twin",
        "A child born in the same multiple birth as another pupil: twins share a surname, "
        "date of birth and address, so only the forename tells them apart.",
    ),
}


def term(key: str, text: str | None = None) -> str:
    """A link from ``text`` (default the term itself) to the glossary entry ``key``."""
    name, explanation = GLOSSARY[key]
    return (
        f'<a class="term" href="#g-{key}" title="{html.escape(explanation)}">'
        f"{html.escape(text if text is not None else name)}</a>"
    )


def glossary_section() -> str:
    entries = "".join(
        f'<dt id="g-{key}">{html.escape(name)}</dt><dd>{html.escape(text)}</dd>'
        for key, (name, text) in sorted(GLOSSARY.items(), key=lambda kv: kv[1][0].lower())
    )
    return f'<h2 id="glossary">Glossary</h2><dl class="glossary">{entries}</dl>'
