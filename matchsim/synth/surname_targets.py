"""What the surname lists imply for children, and the anchor targets a register is checked
against (for fidelity tables and docs).

**From adults to children.** The anchors count adults on the 1996-98 electoral registers. A
surname with ``count`` adults, carried by traditions ``T``, has the same share of adults in each
of them: ``count / (sum of a_o for o in T) / ADULTS_1998`` where ``a_o`` is tradition o's share of
adults (1991 Census, ``name_origin_shares.csv``). The assumption that carries it to children:
surnames pass from parents to children, so a surname's share *within a tradition* is the same
among children as among adults. What changes between the generations is the traditions' weights:
children come from the DfE 2024 pupil ethnicity shares. Relative to Smith, a surname's share among
children is therefore its published ratio times ``(c_o / a_o) / (c_british / a_british)`` (plus
any share it has in traditions absent from the 1998 registers, such as Somali Ali):
:func:`anchor_targets` computes both parts.
:func:`anchor_targets` computes both parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError
from matchsim.synth.config import NamesConfig
from matchsim.synth.surname_sources import (
    ADULTS_1998,
    MALE_SHARE,
    adult_shares_1991,
    anchor_rows,
    anchored_shares,
    default_honorific_rows,
)
from matchsim.synth.surnames import feminine_surname, surname_list

__all__ = [
    "anchor_targets",
    "child_surname_shares",
    "compare_anchor_ratios",
    "effective_surname_counts",
    "surname_list_summary",
]


def child_surname_shares(
    origin: str, config: NamesConfig | None = None, double_barrelled_count: int = 3540
) -> pd.Series:
    """Expected share of each surname string among the tradition's children: the family draw,
    then feminine forms for girls, honorifics by sex, and double-barrelled names (``british``;
    spread over ``double_barrelled_count`` pairs)."""
    config = NamesConfig() if config is None else config
    rows = (
        default_honorific_rows() if config.honorific_surnames is None else config.honorific_surnames
    )
    dbl = config.double_barrelled_share if origin == "british" else 0.0
    table = surname_list(origin, rows, dbl)
    shares: dict[str, float] = {}
    for sex, p_sex in (("M", MALE_SHARE), ("F", 1 - MALE_SHARE)):
        hon = [(s, float(p)) for o, x, s, p in rows if o == origin and x == sex]
        keep = p_sex * (1 - sum(p for _, p in hon)) * (1 - dbl)
        for name, p in zip(table.names, table.probs, strict=True):
            key = feminine_surname(origin, name) if sex == "F" else name
            shares[key] = shares.get(key, 0.0) + keep * float(p)
        for name, p in hon:
            shares[name] = shares.get(name, 0.0) + p_sex * p
        if dbl:
            each = p_sex * (1 - sum(p for _, p in hon)) * dbl / double_barrelled_count
            shares.update({f"<double-barrelled {i}>": each for i in range(double_barrelled_count)})
    return pd.Series(shares).sort_values(ascending=False)


def effective_surname_counts(config: NamesConfig | None = None) -> dict[str, float]:
    """Effective number of surnames (1 / sum of squared shares) among each tradition's children.

    Public so that fidelity tables can report it; built from the same lists the generator draws.
    """
    config = NamesConfig() if config is None else config
    out = {}
    for origin in config.origins:
        shares = child_surname_shares(origin, config)
        out[origin] = float(1.0 / np.square(shares.to_numpy()).sum())
    return out


def anchor_targets(config: NamesConfig | None = None) -> pd.DataFrame:
    """Each anchored surname's expected share among all children relative to Smith's.

    Columns: ``published_ratio`` (adult count over Smith's adults, 1996-98), ``anchored_ratio``
    (its share from the traditions that carry it on the registers, scaled by their pupil-to-adult
    weights), ``other_ratio`` (its share in traditions absent from the registers' anchors, e.g. Ali
    in the Somali and Arabic lists), and ``target_ratio`` (the sum: what a generated register
    should show).
    """
    config = NamesConfig() if config is None else config
    weights = dict(config.origins)
    total = sum(weights.values())
    adults = adult_shares_1991()
    anchors = anchored_shares()
    rows_table = anchor_rows()
    smith_adults = float(rows_table.set_index("surname").loc["Smith", "adults"]) / 100.0
    per_origin = {o: child_surname_shares(o, config) for o in weights}
    smith_child = sum(weights[o] / total * per_origin[o].get("Smith", 0.0) for o in weights)
    if smith_child <= 0:
        raise ConfigError(
            "names.origins", "the anchors are ratios to Smith; include the british origin"
        )
    records = []
    for row in rows_table.itertuples():
        if row.surname == "Smith":
            continue
        adults_share = (
            float(row.adults) / 100.0 if row.unit == "percent" else row.adults / ADULTS_1998
        )
        sex_share = {"F": 1 - MALE_SHARE, "M": MALE_SHARE}.get(row.sex, 1.0)
        anchored = sum(
            weights.get(o, 0.0) / total * anchors[o][row.surname] * sex_share for o in row.origins
        )
        every = sum(weights[o] / total * per_origin[o].get(row.surname, 0.0) for o in weights)
        records.append(
            {
                "surname": row.surname,
                "origins": " ".join(row.origins),
                "published_ratio": adults_share / smith_adults,
                "anchored_ratio": anchored / smith_child,
                "other_ratio": max(every - anchored, 0.0) / smith_child,
                "target_ratio": every / smith_child,
                "pupil_to_adult_factor": _factor(row.origins, weights, total, adults),
            }
        )
    return pd.DataFrame(records).set_index("surname")


def _factor(
    origins: Sequence[str], weights: Mapping[str, float], total: float, adults: Mapping[str, float]
) -> float:
    """(c_T / a_T) / (c_british / a_british) for the traditions T that carry a surname."""
    c = sum(weights.get(o, 0.0) for o in origins) / total
    a = sum(adults[o] for o in origins)
    c_b = weights.get("british", 0.0) / total
    return (c / a) / (c_b / adults["british"]) if c_b else float("nan")


def surname_list_summary(config: NamesConfig | None = None) -> pd.DataFrame:
    """One row per tradition: list length, sourced names, tail rule, top name and share among
    children, and effective number of surnames (for docs and fidelity tables)."""
    config = NamesConfig() if config is None else config
    records = []
    for origin in config.origins:
        table = surname_list(origin)
        shares = child_surname_shares(origin, config)
        records.append(
            {
                "origin": origin,
                "names": len(table.names),
                "sourced": table.sourced,
                "tail": table.tail_rule,
                "top": shares.index[0],
                "top_share": float(shares.iloc[0]),
                "effective": float(1.0 / np.square(shares.to_numpy()).sum()),
            }
        )
    return pd.DataFrame(records).set_index("origin")


def compare_anchor_ratios(
    surname_counts: Mapping[str, int] | pd.Series,
    config: NamesConfig | None = None,
    tolerance: float = 0.2,
    names: Sequence[str] = ("Patel", "Begum", "Khan", "Singh", "Hussain", "Ali", "Kaur", "Ahmed"),
) -> pd.DataFrame:
    """A register's surname counts against the anchors: each name's ratio to Smith, generated
    and target, and whether they agree within ``tolerance`` (relative).

    For fidelity tables. ``surname_counts`` maps surname -> pupils (e.g. a ``value_counts()``).
    """
    counts = pd.Series(surname_counts, dtype="float64")
    smith = float(counts.get("Smith", 0.0))
    if smith <= 0:
        raise ConfigError("surname_counts", "no Smith to compare against; pass a register's counts")
    targets = anchor_targets(config)
    table = targets.loc[list(names), ["published_ratio", "target_ratio"]].copy()
    table["generated_ratio"] = [float(counts.get(n, 0.0)) / smith for n in names]
    table["within_tolerance"] = (
        table["generated_ratio"] / table["target_ratio"] - 1
    ).abs() <= tolerance
    return table
