"""The lookup explorer: one offline HTML page that scores requests as the engine does.

The page embeds the run's fitted Fellegi-Sunter model (m, u and weight of every comparison
level, and per place stratum; the prior, term frequencies, whether one match is shared among
a request's candidates), the blocking passes, and a slice of the register: every record that
was a candidate of the embedded example requests, their true children and those children's
households. Its script (``assets/explorer.js``) normalises a request, blocks it against the
slice with the engine's default passes, compares it level by level and scores it with the same
arithmetic as :meth:`matchsim.matchers.FellegiSunter.weight_terms` and
:meth:`~matchsim.matchers.FellegiSunter.score`; a browser test checks both agree.


The model is not saved by ``run``: :func:`matchsim.report.explore.explore` reruns the resolved
scenario, which is reproducible (same settings and seed, same register, requests and fitted
model), and writes the page into the run's result directory.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from matchsim.blocking import CrossKeys, ExactKeys, default_blocking
from matchsim.comparison import (
    AddressComparison,
    DateOfBirthComparison,
    LocationComparison,
    NameComparison,
    PostcodeComparison,
    SexComparison,
)
from matchsim.errors import ConfigError
from matchsim.matchers import FellegiSunter
from matchsim.records import MISSING, MISSING_DATE

if TYPE_CHECKING:
    from matchsim.scenario.runner import ScenarioRun

#: The register slice stops growing at this many records (a page of about 1 MB).
MAX_REGISTER_ROWS = 6000
REQUEST_FIELDS = (
    "forename",
    "middle_names",
    "surname",
    "date_of_birth",
    "sex",
    "postcode",
    "address_line",
)


@dataclass
class ExplorerData:
    """What the page embeds (``payload``) and, for tests, which register rows the slice holds
    (``rows``: positions in the run's prepared register, in slice order)."""

    payload: dict[str, Any]
    rows: np.ndarray


def comparison_spec(c: object) -> dict[str, Any]:
    """A comparison as the page's script evaluates it: its kind, parameters and level rules."""
    if isinstance(c, NameComparison):
        if c.similarity not in ("jaro_winkler", "jaro") or c.phonetic not in (None, "soundex"):
            raise ConfigError(
                "lookup.comparisons",
                f"the explorer compares names by Jaro(-Winkler) and Soundex; {c.name} uses "
                f"{c.similarity} and {c.phonetic}",
            )
        thresholds = iter(c.thresholds)
        rules = []
        for level in c.levels:
            if level.startswith(f"{c.similarity}>="):
                rules.append({"rule": "similarity", "threshold": next(thresholds)})
            else:
                rules.append({"rule": level})
        return {"kind": "name", "role": c.role, "similarity": c.similarity, "rules": rules}
    if isinstance(c, DateOfBirthComparison):
        return {"kind": "date_of_birth", "role": c.role, "days": c.days}
    if isinstance(c, LocationComparison):
        return {"kind": "location", "role": "postcode", "threshold": c.address_threshold}
    if isinstance(c, PostcodeComparison):
        return {"kind": "postcode", "role": c.role}
    if isinstance(c, AddressComparison):
        return {"kind": "address", "role": c.role, "thresholds": list(c.thresholds)}
    if isinstance(c, SexComparison):
        return {"kind": "sex", "role": "sex"}
    raise ConfigError(
        "lookup.comparisons", f"the explorer cannot evaluate the {type(c).__name__} comparison"
    )


def _model(run: ScenarioRun, slice_values: dict[str, set[str]]) -> dict[str, Any]:
    link = run.result.link
    model = link.matcher
    if not isinstance(model, FellegiSunter) or not model.is_fitted():
        raise ConfigError(
            "lookup.matcher",
            f"the explorer shows a Fellegi-Sunter model and this run used {model.describe()}; "
            "run the scenario with --set lookup.matcher=fellegi_sunter",
        )
    vocabularies = link.data.vocabularies
    places = model.places_
    comparisons = []
    for i, c in enumerate(link.comparison.comparisons):
        m, u = np.asarray(model.m_[i]), np.asarray(model.u_[i])
        spec = comparison_spec(c)
        spec |= {"name": c.name, "levels": list(c.level_names), "m": [float(x) for x in m]}
        spec |= _u_and_weights(m, u)
        if places is not None and i != places.place:
            # u measured among records sharing the place, per level of place agreement (the
            # place comparison's own u holds in every stratum), as FellegiSunter.weight_terms.
            spec["strata"] = {
                str(level): _u_and_weights(m, np.asarray(per[i]))
                for level, per in places.conditional.items()
            }
        if c.name in model.tf_:
            role, tf = model.tf_[c.name]
            vocab = vocabularies[role]
            wanted = slice_values.get(role, set())
            codes = vocab.lookup(_strings(sorted(wanted))) if wanted else np.zeros(0, np.int64)
            spec["tf"] = {
                "role": role,
                "chance": max(float((tf**2).sum()), 1e-12),
                "log2_m_exact": float(np.log2(m[1])),
                "values": {
                    v: float(tf[code])
                    for v, code in zip(sorted(wanted), codes, strict=True)
                    if code >= 0 and code < len(tf)
                },
            }
        comparisons.append(spec)
    return {
        "matcher": model.describe(),
        "lambda": float(model.lambda_),
        "prior": model.prior_weight(),
        "threshold": float(link.threshold),
        "comparisons": comparisons,
        # A pair's stratum is its level of this comparison, when a stratum was measured.
        "place": None
        if places is None
        else {"comparison": places.place, "strata": sorted(places.conditional)},
        # The lookup returns at most one child: a candidate's probability is shared with the
        # request's other candidates (FellegiSunter.score).
        "one_per_left": model.one_match_per_left(link.data),
    }


def _u_and_weights(m: np.ndarray, u: np.ndarray) -> dict[str, list[float]]:
    """u and the Bayes factor (log2 m/u, 0 for missing) of every level, as
    FellegiSunter.weight_terms computes them."""
    with np.errstate(divide="ignore", invalid="ignore"):
        bf = np.log2(m) - np.log2(u)
    bf[0] = 0.0
    return {"u": [float(x) for x in u], "weight": [float(x) for x in bf]}


def _strings(values: list[str]) -> Any:
    import pyarrow as pa

    return pa.array(values, pa.string())


def _blocking(run: ScenarioRun) -> dict[str, Any]:
    blocking = run.scenario.lookup.blocking
    if blocking not in (None, "default"):
        raise ConfigError(
            "lookup.blocking",
            "the explorer mirrors the default blocking passes; this run set its own",
        )
    passes, cross = [], []
    # The engine's own call: its core passes and the broader ones the pair budget allowed.
    for member in default_blocking(data=run.result.link.data).blockers:
        if isinstance(member, CrossKeys):
            cross.append({"keys": list(member.keys), "against": list(member.against)})
        elif isinstance(member, ExactKeys):
            passes.append(list(member.keys))
    return {"passes": passes, "cross": cross}


def _iso(days: int) -> str | None:
    if days == MISSING_DATE:
        return None
    return str(np.datetime64(int(days), "D"))


def _column(values: list[str | None]) -> dict[str, list]:
    """Dictionary-encoded column: distinct values and a code per record (-1 missing)."""
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return {"values": [str(v) for v in distinct], "codes": [int(c) for c in codes]}


def raw_request(row: dict[str, Any]) -> dict[str, str]:
    """A request's fields as the page's form holds them: text, empty when missing."""
    request = {}
    for field in REQUEST_FIELDS:
        value = row.get(field)
        missing = (
            value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
        )
        request[field] = "" if missing else str(value)
    return request


def _examples(run: ScenarioRun, limit: int) -> list[dict[str, Any]]:
    """Presets (twins, a common name, a stale address, a transliterated name, a 1 January
    birthday) and a sample of each outcome, found in the run's own requests."""
    out = run.result.outcomes.copy()
    out["true_pupil_id"] = out["true_pupil_id"].astype("Int64")

    def has(column: str, word: str) -> pd.Series:
        if column not in out:
            return pd.Series(False, index=out.index)
        return out[column].fillna("").astype(str).str.contains(word)

    in_register = out["true_pupil_id"].notna()
    surname_counts = out.loc[in_register, "surname"].map(out["surname"].value_counts())
    common = surname_counts.sort_values(ascending=False, kind="stable").index[:1]
    presets = [
        ("Twins", "The child has a twin: same surname, birthday and home.", out["true_is_twin"]),
        (
            "A common name",
            "A surname many children share.",
            out.index.isin(common),
        ),
        (
            "A stale address",
            "The request gives an address the family has left.",
            has("errors_address", "address_stale"),
        ),
        (
            "A transliterated name",
            "The name is spelled another way from another script.",
            has("errors_surname", "translit") | has("errors_forename", "translit"),
        ),
        (
            "A 1 January birthday",
            "An unknown birthday recorded as 1 January.",
            has("errors_date_of_birth", "jan1"),
        ),
        (
            "Names swapped",
            "First name and surname written the wrong way round.",
            has("errors_forename", "name_swap"),
        ),
    ]
    chosen: list[tuple[str, str, int]] = []
    for label, why, mask in presets:
        mask = pd.Series(mask, index=out.index).fillna(False).astype(bool) & in_register
        hits = out.index[mask]
        if len(hits):
            # Prefer a clear one (fewest other errors), then a wrong or missed answer.
            good = ~out.loc[hits, "outcome"].astype(str).isin(["false_match", "missed_match"])
            errors = out.loc[hits, "n_errors"] if "n_errors" in out else 0
            order = pd.DataFrame({"errors": errors, "good": good}, index=hits)
            best = order.sort_values(["errors", "good"], kind="stable").index[0]
            chosen.append((label, why, int(best)))
    groups = (
        ("false_match", "Wrong child returned"),
        ("missed_match", "Missed match"),
        ("correct_match", "Correct match"),
        ("correct_non_match", "Not in the register"),
    )
    taken = {i for _, _, i in chosen}
    pools = [
        [i for i in out.index[out["outcome"].astype(str) == outcome] if i not in taken]
        for outcome, _ in groups
    ]
    # An equal share each; a share an outcome cannot fill (no wrong child returned) goes to
    # the outcomes after it.
    room = max(0, limit - len(chosen))
    for g, ((_, label), pool) in enumerate(zip(groups, pools, strict=True)):
        share = room // (len(groups) - g)
        for i in pool[:share]:
            chosen.append((label, "", int(i)))
        room -= min(share, len(pool))
    examples = []
    for label, why, i in chosen:
        row = out.loc[i]
        request = raw_request(row.to_dict())
        errors = sorted(
            {
                e
                for c in out.columns
                if c.startswith("errors_")
                for e in str(row[c] or "").split(";")
                if e
            }
        )
        examples.append(
            {
                "label": label,
                "why": why,
                "request_id": int(row["request_id"]),
                "request": request,
                "true_pupil_id": None
                if pd.isna(row["true_pupil_id"])
                else int(row["true_pupil_id"]),
                "outcome": str(row["outcome"]),
                "returned": [int(x) for x in row["returned"]],
                "errors": errors,
            }
        )
    return examples


#: Keys of the records around the examples that the page also holds (so that an edited
#: request still finds namesakes and neighbours): surname Soundex with the postcode district,
#: and with the year of birth.
NEIGHBOUR_KEYS = (("surname:soundex", "postcode:district"), ("surname:soundex", "birth_year"))


def _neighbours(data: Any, left_rows: np.ndarray) -> np.ndarray:
    """Register rows sharing any of :data:`NEIGHBOUR_KEYS` with one of ``left_rows``."""
    found = []
    for parts in NEIGHBOUR_KEYS:
        if any(p.split(":")[0] not in (*data.vocabularies, "birth_year") for p in parts):
            continue
        left = [data.left.key(p, data.vocabularies)[left_rows] for p in parts]
        right = [data.right.key(p, data.vocabularies) for p in parts]
        ok = np.logical_and.reduce([k >= 0 for k in left])
        wanted = pd.MultiIndex.from_arrays([k[ok] for k in left])
        hit = pd.MultiIndex.from_arrays(right).isin(wanted)
        found.append(np.flatnonzero(hit & np.logical_and.reduce([k >= 0 for k in right])))
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def build_explorer(run: ScenarioRun, *, examples: int = 40) -> ExplorerData:
    """The page's data for a run (see the module docstring)."""
    link = run.result.link
    data = link.data
    picked = _examples(run, examples)
    request_ids = np.array([e["request_id"] for e in picked], dtype=np.int64)
    left_rows = pd.Index(data.left.ids).get_indexer(request_ids)
    pairs_left, pairs_right = link.comparison.left, link.comparison.right
    candidates = pairs_right[np.isin(pairs_left, left_rows[left_rows >= 0])]
    # The true children, and their households (twins and siblings), as register rows.
    true_ids = [e["true_pupil_id"] for e in picked if e["true_pupil_id"] is not None]
    pupils = run.census.pupils
    households = set()
    if "household_id" in pupils.column_names:
        pid = pupils["pupil_id"].to_numpy()
        hh = pupils["household_id"].to_numpy()
        households = set(hh[np.isin(pid, true_ids)].tolist())
        family_ids = pid[np.isin(hh, list(households))]
    else:
        family_ids = np.array(true_ids, dtype=np.int64)
    family_rows = np.flatnonzero(np.isin(data.right.ids, np.asarray(family_ids)))
    # Then, to explore around the examples, children whose surname sounds like one of the
    # examples' (Soundex) in the same postcode district, as far as the cap allows.
    near = _neighbours(data, left_rows[left_rows >= 0])
    rows = pd.unique(np.concatenate([np.unique(candidates), family_rows, near]))
    rows = np.sort(rows[:MAX_REGISTER_ROWS])
    register: dict[str, Any] = {"id": [int(i) for i in data.right.ids[rows]]}
    slice_values: dict[str, set[str]] = {}
    for role in ("forename", "middle_names", "surname", "postcode", "address"):
        if role not in data.vocabularies:
            continue
        text = data.vocabularies[role].text
        codes = data.right.codes[role][rows]
        values = [str(text[c]) if c >= 0 else None for c in codes]
        slice_values[role] = {v for v in values if v is not None}
        register[role] = _column(values)
    register["date_of_birth"] = _column([_iso(d) for d in data.right.dob[rows]])
    register["sex"] = [int(s) if s != MISSING else -1 for s in data.right.sex[rows]]
    decision = run.scenario.lookup.decision
    payload = {
        "scenario": run.scenario.name,
        "description": run.scenario.description or "",
        "seed": run.scenario.seed,
        "register_size": len(np.unique(data.right.ids)),
        "decision": decision if decision in ("unique", "best", "all") else "unique",
        "model": _model(run, slice_values),
        "blocking": _blocking(run),
        "register": register,
        "examples": picked,
    }
    return ExplorerData(payload, rows)


def script_json(value: object) -> str:
    """JSON safe inside an HTML ``<script>`` element: ``<``, ``>``, ``&`` and the two line
    separators JavaScript once refused are written as escapes, so no value can close the
    element or start a comment (``</script>``, ``<!--``)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _asset(name: str) -> str:
    return resources.files("matchsim.report").joinpath("assets", name).read_text(encoding="utf-8")


def render_explorer(data: ExplorerData) -> str:
    """The self-contained page: markup, inline CSS, the data block and the script."""
    import html

    title = html.escape(f"Lookup explorer: {data.payload['scenario']}")
    parts = {
        "title": title,
        "css": _asset("explorer.css"),
        "data": script_json(data.payload),
        "script": _asset("explorer.js"),
    }
    # One pass over the template: text put in (a name such as "{{script}}") is not read again.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m[1]], _asset("explorer.html"))
