"""The privacy section of a scenario: plaintext against encoded matching on identical
requests, the privacy risk of the register, and the accuracy/attack trade-off across
hardening settings.

The scenario file never holds the key: it names an environment variable (``key_env``). For
simulations only, ``simulation_key: true`` derives a key from the seed when that variable is
unset; such a key is not secret (the seed is in the results) and the report says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from matchsim.errors import ConfigError
from matchsim.pprl.attack_suite import ATTACKS, AttackOptions, field_attacks, record_attacks
from matchsim.pprl.attacks import frequency_alignment_attack
from matchsim.pprl.dice import DICE_THRESHOLD
from matchsim.pprl.encoding import BloomEncoder
from matchsim.pprl.fields import FieldSpec
from matchsim.pprl.risk import DEFAULT_QUASI_IDENTIFIERS, qi_uniqueness
from matchsim.pprl.secret import KEY_ENV, Secret
from matchsim.pprl.thresholds import choose_thresholds
from matchsim.records import PreparedTable, Records, normalise_names

#: Encoder settings a scenario may give under ``privacy.encoding`` (hardening and the key
#: have their own keys).
ENCODING_KEYS = ("fields", "length", "hashing", "missing", "seed")
HARDENING_KEYS = ("salt", "balance", "xor_fold", "blip", "diffusion")
#: A trade-off setting may also switch the hashing (random hashing is a defence of its own).
TRADEOFF_KEYS = (*HARDENING_KEYS, "hashing")


def _default_tradeoff() -> list[dict[str, Any]]:
    return [
        {},
        {"salt": "birth_year"},
        {"balance": True},
        {"xor_fold": True},
        {"blip": 0.02},
        {"blip": 0.05},
        {"diffusion": 10},
        {"hashing": "random"},
        {"salt": "birth_year", "balance": True, "blip": 0.02},
    ]


class PrivacyConfig(BaseModel):
    """Privacy-preserving matching: the encoded lookup beside the plaintext one, and its risk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Encoder settings: ``fields`` (roles, or ``{role, q, k}``), ``length`` (bits), ``hashing``
    #: (``double``/``random``), ``missing`` (``empty``/``token``), ``seed`` (BLIP flips).
    encoding: dict[str, Any] = Field(default_factory=dict)
    #: Environment variable holding the secret key (never written to any output).
    key_env: str = KEY_ENV
    #: When ``key_env`` is unset, derive a key from the seed instead of failing. Simulations
    #: only: such a key is not secret.
    simulation_key: bool = False
    #: Dice coefficient at which an encoded pair matches (default: the bloom_dice matcher's,
    #: from clkhash's FEBRL4 tutorial; see matchsim.pprl.dice.DICE_THRESHOLD).
    threshold: float = Field(DICE_THRESHOLD, gt=0, le=1)
    #: Blocking of the encoded lookups: ``same`` (the lookup's own) or a blocker spec, e.g.
    #: ``{name: clk_lsh, bands: 24, bits: 24}`` to block on encodings alone.
    blocking: Any = "same"
    #: Hardening of the encoded lookup shown beside the plaintext one.
    hardening: dict[str, Any] = Field(default_factory=dict)
    #: Hardening settings compared in the trade-off chart and attacked (each: salt, balance,
    #: xor_fold, blip, diffusion, and hashing: random).
    tradeoff: list[dict[str, Any]] = Field(default_factory=_default_tradeoff)
    #: Fields attacked by frequency alignment of their field-level encodings.
    attack_fields: list[str] = Field(default_factory=lambda: ["surname", "forename"])
    #: Attacks run on every trade-off setting (see matchsim.pprl.attack_suite).
    attacks: list[str] = Field(
        default_factory=lambda: ["frequency", "pattern_mining", "itemsets", "graph"]
    )
    #: Shares of the graph attacker's plaintext records that are encoded records too.
    attack_overlaps: list[float] = Field(default_factory=lambda: [1.0, 0.5, 0.1])
    #: Nodes (records) on each side of the graph attack.
    attack_nodes: int = Field(1500, ge=50, le=10_000)
    #: Also attack the record-level CLKs used for linkage (not only field-level filters).
    attack_record_level: bool = True
    #: Forenames are also attacked with the ONS first-name counts of this year (a published
    #: list for other years than the register's cohorts; ONS, Open Government Licence v3.0).
    attack_ons_year: int | None = Field(2020, ge=1996, le=2020)
    #: Register records the attacks see: a seeded uniform sample of the register (all of it
    #: when smaller). An attack's time and memory grow with the records it sees (the
    #: bit-pattern attack unpacks every filter's bits, 1 KB a record: 16 GB for a national
    #: register), while what it measures, the share of records re-identified, is a share,
    #: which a sample of 200,000 estimates within about 0.2 points.
    attack_records: int = Field(200_000, ge=1000, le=2_000_000)
    #: Pupils in the attacker's public name-frequency sample (an independent synthetic
    #: population drawn from the same name model, standing in for a published name list);
    #: default: as many as the records attacked.
    attack_reference_pupils: int | None = Field(None, ge=1000, le=5_000_000)
    #: Quasi-identifier combinations whose uniqueness is reported.
    quasi_identifiers: list[list[str]] = Field(
        default_factory=lambda: [list(c) for c in DEFAULT_QUASI_IDENTIFIERS]
    )

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(ENCODING_KEYS))
        if "key" in value:
            raise ValueError(
                "never put the key in a scenario; name an environment variable in key_env"
            )
        if unknown:
            raise ValueError(
                f"unknown encoder setting {unknown[0]!r}; allowed: {', '.join(ENCODING_KEYS)}"
            )
        return value

    @field_validator("hardening")
    @classmethod
    def _hardening(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_hardening(value)

    @field_validator("tradeoff")
    @classmethod
    def _tradeoff(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_check_hardening(v, TRADEOFF_KEYS) for v in value]

    @field_validator("attacks")
    @classmethod
    def _attacks(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in ATTACKS:
                raise ValueError(f"{name!r} is not an attack; allowed: {', '.join(ATTACKS)}")
        return value

    @field_validator("attack_overlaps")
    @classmethod
    def _overlaps(cls, value: list[float]) -> list[float]:
        for share in value:
            if not 0 <= share <= 1:
                raise ValueError(f"{share!r} is not an overlap share in [0, 1]")
        return value

    @field_validator("attack_fields")
    @classmethod
    def _attack_fields(cls, value: list[str]) -> list[str]:
        for role in value:
            if role not in ("forename", "surname", "middle_names"):
                raise ValueError(
                    f"{role!r} cannot be attacked; allowed: forename, surname, middle_names"
                )
        return value


def _check_hardening(
    value: dict[str, Any], allowed: tuple[str, ...] = HARDENING_KEYS
) -> dict[str, Any]:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"unknown hardening setting {unknown[0]!r}; allowed: {', '.join(allowed)}")
    return value


def scenario_secret(config: PrivacyConfig, seed: int) -> tuple[Secret, str]:
    """The key and a description of where it came from (never the key itself)."""
    if os.environ.get(config.key_env):
        return Secret.resolve(None, config.key_env), f"environment variable {config.key_env}"
    if config.simulation_key:
        derived = hmac.new(b"matchsim-simulation-key", str(seed).encode(), hashlib.sha256).digest()
        return Secret(derived), (
            f"derived from the seed because {config.key_env} is unset: NOT SECRET, for simulation only"
        )
    raise ConfigError(
        "privacy.key_env",
        f"the environment variable {config.key_env} holding the secret key is unset "
        "(or set privacy.simulation_key: true for a simulation)",
    )


def encoder_settings(
    config: PrivacyConfig, secret: Secret, hardening: dict[str, Any]
) -> dict[str, Any]:
    return {**config.encoding, **hardening, "key": secret}


def attacked_records(register: PreparedTable, count: int, seed: int) -> PreparedTable:
    """A seeded uniform sample of ``count`` register records (the register itself when it
    holds no more), in register order, on the register's vocabularies."""
    if count >= len(register):
        return register
    rng = np.random.default_rng([seed, 0xA77AC])
    rows = np.sort(rng.choice(len(register), size=count, replace=False))
    return PreparedTable(
        roles=dict(register.roles),
        vocabularies=register.vocabularies,
        codes={role: codes[rows] for role, codes in register.codes.items()},
        ids=register.ids[rows],
        dob=register.dob[rows],
        sex=register.sex[rows],
        extra={name: values[rows] for name, values in register.extra.items()},
    )


def _register_records(register: PreparedTable) -> Records:
    return Records(ids=register.ids, codes=register.codes, dob=register.dob, sex=register.sex)


def attacker_frequencies(
    census_config: Any, pupils: int, seed: int, roles: list[str]
) -> dict[str, pd.Series]:
    """Name frequencies of an independent synthetic population (the attacker's public list)."""
    from matchsim.synth import generate_census

    reference = generate_census(
        census_config.model_copy(update={"pupils": pupils}), seed, workers=2
    )
    out = {}
    for role in roles:
        column = reference.pupils[role].combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        names = normalise_names(column).to_pandas()
        out[role] = names[names != ""].value_counts()
    return out


def ons_frequencies(year: int) -> pd.Series:
    """The ONS first-name counts of one year (both sexes), normalised as the register's."""
    from matchsim.synth.ons_names import ons_forenames

    table = ons_forenames()
    rows = table[table["year"] == year]
    names = normalise_names(pa.array(rows["name"].astype(str).to_numpy(), pa.string()))
    counts = pd.Series(rows["n"].to_numpy(), index=names.to_pandas())
    counts = counts[counts.index != ""].groupby(level=0).sum()
    return counts.sort_index().sort_values(ascending=False, kind="stable")


def run_privacy(
    scenario: Any, census: Any, requests: Any, register: PreparedTable, plaintext: Any
) -> dict[str, Any]:
    """Everything the privacy section of a report shows (JSON-safe, no key material)."""
    from matchsim.linkage import lookup

    config: PrivacyConfig = scenario.privacy
    secret, key_source = scenario_secret(config, scenario.seed)
    lk = scenario.lookup
    plain_blocking = None if lk.blocking in (None, "default") else lk.blocking

    def blocking_for(hardening: dict[str, Any]) -> Any:
        if config.blocking == "same":
            return plain_blocking
        spec = (
            dict(config.blocking)
            if isinstance(config.blocking, dict)
            else {"name": config.blocking}
        )
        if spec.get("name") == "clk_lsh":
            spec["encoding"] = encoder_settings(config, secret, hardening)
        return spec

    def encoded(hardening: dict[str, Any]) -> Any:
        matcher = {
            "name": "bloom_dice",
            "threshold": config.threshold,
            **encoder_settings(config, secret, hardening),
        }
        return lookup(
            census,
            requests,
            register=register,
            addresses=lk.addresses,
            blocking=blocking_for(hardening),
            matcher=matcher,
            decision=lk.decision,
        )

    # Quasi-identifier uniqueness first: grouping a national register by several fields
    # peaks at about 3 GB, which must not come on top of the encodings held below.
    t0 = time.perf_counter()
    uniqueness = qi_uniqueness(register, config.quasi_identifiers)
    timings = {"quasi_identifiers": time.perf_counter() - t0}
    t0 = time.perf_counter()
    side = encoded(config.hardening)
    sides = [_summary("plaintext", plaintext), _summary("encoded", side)]
    encoded_blocking = side.link.blocking.strategy
    del side  # its linkage holds the encoded pairs and outcomes
    timings["encoded_lookup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    attacked = attacked_records(register, config.attack_records, scenario.seed)
    reference_pupils = config.attack_reference_pupils or len(attacked)
    references = attacker_frequencies(
        scenario.population,
        reference_pupils,
        scenario.seed + 7919,
        [r for r in config.attack_fields if r in attacked.codes],
    )
    records = _register_records(attacked)
    true_links = _true_links(requests)
    tradeoff = []
    attack_seconds = 0.0
    for hardening in config.tradeoff:
        result = encoded(hardening)
        setting_encoder = BloomEncoder(**encoder_settings(config, secret, hardening))
        label = _setting_label(setting_encoder, hardening)
        row = _summary(label, result)
        row["thresholds"] = choose_thresholds(result.link.pairs(), true_links)
        del result  # as ``side``: freed before the attacks and the next setting's encoding
        t1 = time.perf_counter()
        row["attack_outcomes"] = _attack_outcomes(
            config, setting_encoder, attacked, records, references, label, scenario.seed
        )
        attack_seconds += time.perf_counter() - t1
        row["attacks"] = []
        for role, public in references.items():
            spec = next(
                (
                    f
                    for f in BloomEncoder(**encoder_settings(config, secret, {})).fields
                    if f.role == role
                ),
                FieldSpec(role),
            )
            field_encoder = BloomEncoder(
                **{**encoder_settings(config, secret, hardening), "fields": [spec]}
            )
            filters = field_encoder.encode_codes(
                {role: attacked.codes[role]},
                {role: attacked.vocabularies[role].text},
                records.dob_parts[0],
                stream=2,
            )
            row["attacks"].append(
                frequency_alignment_attack(
                    filters,
                    attacked.codes[role],
                    attacked.vocabularies[role].text,
                    public,
                    field=role,
                    hardening=label,
                ).as_dict()
            )
        row["attack_success"] = max((a["reidentified_share"] for a in row["attacks"]), default=None)
        tradeoff.append(row)
    timings["tradeoff"] = time.perf_counter() - t0
    timings["attacks"] = attack_seconds
    return {
        "key_source": key_source,
        "encoder": BloomEncoder(**encoder_settings(config, secret, config.hardening)).describe(),
        "threshold": config.threshold,
        "blocking": encoded_blocking,
        "side_by_side": sides,
        "tradeoff": tradeoff,
        "quasi_identifiers": uniqueness,
        "register_records": len(register),
        "attacked_records": len(attacked),
        "attacker_reference_pupils": reference_pupils,
        "timings_seconds": timings,
    }


def _true_links(requests: Any) -> pd.DataFrame:
    """(request id, true pupil id) of every request whose pupil is in the register."""
    frame = requests.table.select(["request_id", "true_pupil_id"]).to_pandas()
    frame = frame.dropna(subset=["true_pupil_id"])
    return frame.astype({"true_pupil_id": "int64"})


def _setting_label(encoder: BloomEncoder, hardening: dict[str, Any]) -> str:
    label = encoder.hardening.label()
    if "hashing" in hardening:
        extra = f"{encoder.hashing} hashing"
        label = extra if label == "none" else f"{label}, {extra}"
    return label


def _attack_outcomes(
    config: PrivacyConfig,
    encoder: BloomEncoder,
    register: PreparedTable,
    records: Records,
    references: dict[str, pd.Series],
    label: str,
    seed: int,
) -> list[dict[str, Any]]:
    """Every configured attack on one setting: field level per attacked role, then record level."""
    extra: dict[str, dict[str, pd.Series]] = {}
    if config.attack_ons_year is not None:
        extra["forename"] = {
            f"ONS {config.attack_ons_year}": ons_frequencies(config.attack_ons_year)
        }
    options: AttackOptions = {
        "attacks": config.attacks,
        "overlaps": config.attack_overlaps,
        "nodes": config.attack_nodes,
        "seed": seed,
        "label": label,
    }
    out: list[dict[str, Any]] = []
    for role, public in references.items():
        out += field_attacks(
            encoder, register, records, role, public, extra=extra.get(role, {}), **options
        )
    if config.attack_record_level:
        out += record_attacks(encoder, register, records, list(references), **options)
    return out


def _summary(label: str, result: Any) -> dict[str, Any]:
    evaluation = result.evaluation
    pm = result.link.pair_metrics or {}
    return {
        "label": label,
        "matcher": result.link.matcher.describe(),
        "counts": dict(evaluation.counts),
        "false_match_rate": evaluation.rates["false_match_rate"].value,
        "missed_match_rate": evaluation.rates["missed_match_rate"].value,
        "f1": pm.get("f1"),
        "precision": pm.get("precision"),
        "recall": pm.get("recall"),
        "candidate_pairs": result.link.blocking.candidate_pairs,
        "pairs_completeness": result.link.blocking.pairs_completeness,
    }


__all__ = ["PrivacyConfig", "run_privacy"]
