"""Every attack against one encoding setting of a register, with the attacker's knowledge as
explicit options: what the privacy section of a scenario reports per hardening setting.

Field level: the register's filters of one name field, attacked by frequency alignment, by
the bit-pattern attack and by maximal frequent itemsets, each with two kinds of knowledge
(``register``: the register's own value frequencies, the worst case; ``public``: an
independent population's frequencies, the analogue of a published list), and by graph
matching at each overlap share.

Record level: the record CLKs used for linkage, attacked by the same bit-pattern attack (the
attacker aims at one name field inside the CLK) and by graph matching of records, where the
attacker's plaintext records hold every encoded field.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd

from matchsim.pprl.attacks import (
    AttackLabels,
    frequency_guesses,
    graph_matching_attack,
    itemset_attack,
    pattern_mining_attack,
    sample_nodes,
    score,
    value_counts,
)
from matchsim.pprl.encoding import BloomEncoder
from matchsim.pprl.fields import FieldSpec
from matchsim.pprl.records import encode_records
from matchsim.pprl.tokens import tokens
from matchsim.records import PreparedTable, Records

#: Attacks a scenario may ask for.
ATTACKS = ("frequency", "pattern_mining", "itemsets", "graph")
KNOWLEDGE = ("register", "public")


class AttackOptions(TypedDict):
    """What :func:`field_attacks` and :func:`record_attacks` take besides the data."""

    label: str
    attacks: Sequence[str]
    overlaps: Sequence[float]
    nodes: int
    seed: int


def _frequency(
    filters: np.ndarray,
    codes: np.ndarray,
    texts: np.ndarray,
    attacker: pd.Series,
    **labels: Unpack[AttackLabels],
) -> dict[str, Any]:
    """The frequency-alignment attack, scored like the others (records and values)."""
    t0 = time.perf_counter()
    present = codes >= 0
    guesses = frequency_guesses(filters[present], texts, attacker)
    return score(
        "frequency", guesses, codes[present], seconds=time.perf_counter() - t0, **labels
    ).as_dict()


def field_attacks(
    encoder: BloomEncoder,
    register: PreparedTable,
    records: Records,
    role: str,
    public: pd.Series,
    *,
    label: str,
    attacks: Sequence[str],
    overlaps: Sequence[float],
    nodes: int,
    seed: int,
    extra: Mapping[str, pd.Series] | None = None,
) -> list[dict[str, Any]]:
    """Every attack on the field-level filters of ``role`` under ``encoder``'s settings;
    ``extra`` adds attacker lists (name -> value counts), e.g. an ONS year's first names."""
    spec = next((f for f in encoder.fields if f.role == role), FieldSpec(role))
    field_encoder = BloomEncoder(**{**encoder_kwargs(encoder), "fields": [spec]})
    codes = register.codes[role]
    texts = register.vocabularies[role].text
    filters = field_encoder.encode_codes(
        {role: codes}, {role: texts}, records.dob_parts[0], stream=2
    )
    own = value_counts(texts, codes)
    knowledge = {"register": own, "public": public, **(extra or {})}
    out: list[dict[str, Any]] = []
    for name, attacker in knowledge.items():
        labels: AttackLabels = {"field": role, "hardening": label, "knowledge": name}
        if "frequency" in attacks:
            out.append(_frequency(filters, codes, texts, attacker, **labels))
        if "pattern_mining" in attacks:
            out.append(
                pattern_mining_attack(filters, codes, texts, attacker, q=spec.q, **labels).as_dict()
            )
        if "itemsets" in attacks:
            out.append(
                itemset_attack(filters, codes, texts, attacker, q=spec.q, **labels).as_dict()
            )
    if "graph" in attacks:
        outside = np.repeat(public.index.to_numpy(dtype=object), public.to_numpy(np.int64))
        for overlap in overlaps:
            rows, plain, keys = sample_nodes(
                codes, texts, nodes=nodes, overlap=overlap, outside=outside, q=spec.q, seed=seed
            )
            out.append(
                graph_matching_attack(
                    filters[rows],
                    codes[rows],
                    plain,
                    keys,
                    field=role,
                    hardening=label,
                    knowledge=f"overlap {overlap:g}",
                    detail={"overlap": overlap, "nodes": len(rows)},
                ).as_dict()
            )
    return out


def record_attacks(
    encoder: BloomEncoder,
    register: PreparedTable,
    records: Records,
    roles: Sequence[str],
    *,
    label: str,
    attacks: Sequence[str],
    overlaps: Sequence[float],
    nodes: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Attacks on the record-level CLKs: the bit-pattern attack aimed at each name field
    (register knowledge, the worst case) and graph matching of whole records."""
    clks = encode_records(encoder, records, register.vocabularies, 2)
    out: list[dict[str, Any]] = []
    if "pattern_mining" in attacks:
        for role in roles:
            codes, texts = register.codes[role], register.vocabularies[role].text
            spec = next((f for f in encoder.fields if f.role == role), FieldSpec(role))
            out.append(
                pattern_mining_attack(
                    clks,
                    codes,
                    texts,
                    value_counts(texts, codes),
                    q=spec.q,
                    field=f"record CLK ({role})",
                    hardening=label,
                    knowledge="register",
                ).as_dict()
            )
    if "graph" in attacks:
        rng = np.random.default_rng([seed, 0x2EC0])
        n = len(clks)
        nodes = min(nodes, n // 2)
        picked = rng.choice(n, size=2 * nodes, replace=False)
        encoded, others = np.sort(picked[:nodes]), picked[nodes:]
        columns = {
            spec.role: records.role_codes(spec.role, register.vocabularies)
            for spec in encoder.fields
        }
        for overlap in overlaps:
            shared = round(overlap * nodes)
            plain_rows = np.concatenate(
                [rng.choice(encoded, size=shared, replace=False), others[: nodes - shared]]
            )
            plain = [_record_tokens(encoder, columns, int(r)) for r in plain_rows]
            keys = np.where(np.isin(plain_rows, encoded), plain_rows, -1)
            out.append(
                graph_matching_attack(
                    clks[encoded],
                    encoded,
                    plain,
                    keys,
                    field="record CLK",
                    hardening=label,
                    knowledge=f"overlap {overlap:g}",
                    detail={"overlap": overlap, "nodes": nodes},
                ).as_dict()
            )
    return out


def _record_tokens(
    encoder: BloomEncoder, columns: Mapping[str, tuple[np.ndarray, np.ndarray]], row: int
) -> list[str]:
    """The tokens a record's CLK encodes, each tagged with its field (the attacker's view)."""
    out: list[str] = []
    for spec in encoder.fields:
        codes, texts = columns[spec.role]
        if codes[row] >= 0:
            text = str(texts[codes[row]])
            out.extend(f"{spec.role}\x1f{t}" for t in tokens(spec.role, text, spec.q))
    return out


def encoder_kwargs(encoder: BloomEncoder) -> dict[str, Any]:
    """Settings to rebuild ``encoder`` with other fields (the key object is reused)."""
    h = encoder.hardening
    return {
        "fields": list(encoder.fields),
        "length": encoder.length,
        "key": encoder.secret,
        "hashing": encoder.hashing,
        "salt": h.salt,
        "balance": h.balance,
        "xor_fold": h.xor_fold,
        "blip": h.blip,
        "diffusion": h.diffusion,
        "missing": encoder.missing,
        "seed": encoder.seed,
    }


__all__ = ["ATTACKS", "KNOWLEDGE", "AttackOptions", "field_attacks", "record_attacks"]
