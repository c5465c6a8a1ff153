"""Turning a register and a profile into requests with ground truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim import dates as cal
from matchsim.io import write_table
from matchsim.requests.addresses import (
    AddressContext,
    address_source,
    history_of,
    request_context,
    take,
)
from matchsim.requests.config import RequestConfig
from matchsim.requests.corruptors import ERROR_TYPES
from matchsim.requests.draft import FIELDS, RequestDraft
from matchsim.requests.index import RegisterIndex, register_index
from matchsim.requests.profiles import ProfileParams
from matchsim.synth import Census, generate_census

_SEED_SELECT, _SEED_SHADOW, _SEED_ERRORS, _SEED_KNOWN = 10, 11, 12, 13

#: Nationality recorded for each name origin (the MOU's "nationality" field). Requests about
#: people outside the register mostly concern foreign nationals; a british-origin name is
#: recorded as British.
NATIONALITY = {
    "british": "British",
    "indian": "Indian",
    "pakistani": "Pakistani",
    "bangladeshi": "Bangladeshi",
    "punjabi_sikh": "Indian",
    "arabic": "Iraqi",
    "somali": "Somali",
    "polish": "Polish",
    "romanian": "Romanian",
    "turkish": "Turkish",
    "west_african": "Nigerian",
    "east_african": "Kenyan",
}


@dataclass
class RequestSet:
    """Requests and their ground truth in one Arrow table.

    Request fields come first (what the requester sends), then ``true_pupil_id`` (null when
    the person is not in the register), ``in_register``, the true person's ``true_name_origin``
    and ``true_is_twin``, ``errors_<field>`` (the error types applied to each field, joined by
    ";") and ``n_errors``.
    """

    table: pa.Table
    config: RequestConfig
    seed: int

    def write(self, path: Path | str, *, overwrite: bool = False) -> Path:
        """Write the requests atomically; an existing file is replaced only when matchsim wrote
        it, or with ``overwrite``."""
        path = Path(path)
        write_table(self.table, path, overwrite=overwrite)
        return path

    def error_rates(self) -> dict[str, float]:
        """Realised share of requests carrying each error type."""
        n = max(self.table.num_rows, 1)
        out = {}
        for name, et in ERROR_TYPES.items():
            column = self.table[f"errors_{et.fields[0]}"]
            hits = pc.match_substring_regex(column, rf"(^|;){name}(;|$)")
            out[name] = pc.sum(hits).as_py() / n if self.table.num_rows else 0.0
        return out


def _address_seq(
    c: Census, rows: np.ndarray, family: np.ndarray, context: AddressContext
) -> np.ndarray:
    """Which of its family's history rows each person's register address is."""
    p = _take_people(c, rows, ["address_line", "postcode"])
    first = context.first_row[family]
    count = context.rows[family]
    line = p["address_line"].cast(pa.string()).to_numpy(zero_copy_only=False)
    postcode = p["postcode"].cast(pa.string()).to_numpy(zero_copy_only=False)
    seq = np.maximum(count - 1, 0)
    # Walk back from the latest address to the one the register holds (former pupils keep
    # the address of their last census). Households rarely have more than a few rows.
    unresolved = np.ones(len(rows), dtype=bool)
    for back in range(int(count.max(initial=1))):
        cand = count - 1 - back
        valid = unresolved & (cand >= 0)
        idx = first[valid] + cand[valid]
        same = (context.text("address_line", idx) == line[valid]) & (
            context.text("postcode", idx) == postcode[valid]
        )
        hit = np.flatnonzero(valid)[same]
        seq[hit] = cand[hit]
        unresolved[hit] = False
        if not unresolved.any():
            break
    return seq


def _take_people(c: Census, rows: np.ndarray, columns: list[str] | None = None) -> pa.Table:
    """Some rows of a register, taken column by column without concatenating its chunks."""
    names = [n for n in (columns or c.pupils.column_names) if n in c.pupils.column_names]
    return pa.table({n: take(c.pupils[n], rows) for n in names})


def _people(c: Census, rows: np.ndarray) -> dict[str, np.ndarray]:
    p = _take_people(c, rows)

    def text(name: str) -> np.ndarray:
        return p[name].cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)

    sex = text("sex")
    return {
        "forename": text("forename"),
        "middle_names": np.array(
            ["" if v is None else v for v in text("middle_names")], dtype=object
        ),
        "surname": text("surname"),
        "dob": p["date_of_birth"].cast(pa.int32()).to_numpy().astype(np.int64),
        "sex": np.where(sex == "M", 0, np.where(sex == "F", 1, -1)).astype(np.int8),
        "address_line": text("address_line"),
        "town": text("town"),
        "postcode": text("postcode"),
        "origin": text("name_origin"),
        "twin": p["multiple_birth_id"].is_valid().to_numpy(zero_copy_only=False),
        "household": p["household_id"].to_numpy(),
        "entry_date": p["entry_date"].cast(pa.int32()).to_numpy().astype(np.int64)
        if "entry_date" in p.column_names
        else np.zeros(len(rows), dtype=np.int64),
        "leaving_date": p["leaving_date"].cast(pa.int32()).fill_null(-1).to_numpy().astype(np.int64)
        if "leaving_date" in p.column_names
        else np.full(len(rows), -1, dtype=np.int64),
        "pupil_id": p["pupil_id"].to_numpy(),
    }


def _shadow_population(census: Census, params: ProfileParams, n: int, seed: int) -> Census:
    """People who are not in the register, drawn from the register's own distributions and
    living in the same streets, so that they collide with real pupils by chance."""
    origins = dict(census.config.names.origins)
    if params.origin_weights:
        weighted = {o: w * params.origin_weights.get(o, 1.0) for o, w in origins.items()}
        total = sum(weighted.values())
        if total > 0:
            origins = {o: w / total for o, w in weighted.items()}
    names = census.config.names.model_copy(update={"origins": origins})
    config = census.config.model_copy(update={"pupils": n, "names": names})
    shadow_seed = int(np.random.SeedSequence(seed, spawn_key=(_SEED_SHADOW,)).generate_state(1)[0])
    return generate_census(
        config, shadow_seed, world_seed=census.seed, world_pupils=census.pupils.num_rows
    )


def _multiplier(params: ProfileParams, name: str, origin: pa.DictionaryArray) -> np.ndarray:
    table = params.multipliers.get(name)
    if not table:
        return np.ones(len(origin))
    default = table.get("*", 1.0)
    per_origin = np.array([table.get(o, default) for o in origin.dictionary.to_pylist()])
    return per_origin[origin.indices.to_numpy()]


def _mask_strings(mask: np.ndarray, names: list[str]) -> pa.Array:
    """Bitmasks -> "type_a;type_b" strings, computed once per distinct mask."""
    uniques, inverse = np.unique(mask, return_inverse=True)
    labels = [";".join(n for i, n in enumerate(names) if int(u) >> i & 1) for u in uniques]
    return pa.array(labels, pa.string()).take(pa.array(inverse))


def generate_requests(
    census: Census,
    config: RequestConfig | None = None,
    seed: int = 0,
    *,
    index: RegisterIndex | None = None,
) -> RequestSet:
    """Draw a request set from a register.

    Parameters
    ----------
    census
        The register the lookups run against (its config and seed place the people who are
        not in it in the same synthetic world).
    config
        The requester profile and overrides; default: a Home Office batch of 1,500.
    seed
        Same register, config and seed give identical requests.
    index
        The register's :func:`~matchsim.requests.index.register_index`, when it is kept with
        the register: drawing then costs in proportion to the requests alone. Without it, it
        is built here (one pass over the register).

    Examples
    --------
    >>> from matchsim.synth import CensusConfig, generate_census
    >>> from matchsim.requests import RequestConfig, generate_requests
    >>> census = generate_census(CensusConfig(pupils=5_000), seed=1)
    >>> requests = generate_requests(census, RequestConfig(profile="immigration", count=200), seed=2)
    >>> requests.table.num_rows
    200
    """
    config = config if config is not None else RequestConfig()
    profile, params = config.resolve()
    select_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SEED_SELECT,)))

    index = index if index is not None else register_index(census)
    if profile.name == "police_cohort":
        in_rows = profile.select(census, select_rng, 0, params, index)
        if config.count is not None:
            in_rows = in_rows[: config.count]
        n_in, n_out = len(in_rows), 0
    else:
        count = params.count
        n_in = round(count * params.in_register_share)
        n_out = count - n_in
        in_rows = profile.select(census, select_rng, n_in, params, index)

    shadow = _shadow_population(census, params, n_out, seed) if n_out > 0 else None
    populations = [(census, in_rows, index.addresses)]
    if shadow is not None:
        history = history_of(shadow.pupils, shadow.addresses)
        populations.append(
            (
                shadow,
                np.arange(shadow.pupils.num_rows),
                address_source(history, like=index.addresses),
            )
        )
    people = [_people(c, rows) for c, rows, _ in populations]
    context, families = request_context(
        tuple(source for _, _, source in populations), [p["household"] for p in people]
    )
    seqs = [
        _address_seq(c, rows, family, context)
        for (c, rows, _), family in zip(populations, families, strict=True)
    ]
    households = families
    merged = {k: np.concatenate([p[k] for p in people]) for k in people[0]}
    in_register = np.r_[np.ones(n_in, dtype=bool), np.zeros(n_out, dtype=bool)]
    # Interleave the two groups so a batch does not list register members first.
    order = select_rng.permutation(n_in + n_out)
    merged = {k: v[order] for k, v in merged.items()}
    in_register = in_register[order]
    household = np.concatenate(households)[order]
    address_seq = np.concatenate(seqs)[order]
    n = n_in + n_out

    draft = RequestDraft(
        forename=merged["forename"].copy(),
        middle_names=merged["middle_names"].copy(),
        surname=merged["surname"].copy(),
        dob=merged["dob"].copy(),
        dob_missing=np.zeros(n, dtype=bool),
        sex=merged["sex"].copy(),
        address_line=merged["address_line"].copy(),
        town=merged["town"].copy(),
        postcode=merged["postcode"].copy(),
        origin=merged["origin"],
        household=household,
        address_seq=address_seq,
        context=context,
        request_day=cal.date_to_days(census.config.census_date),
    )
    masks = {f: np.zeros(n, dtype=np.int64) for f in FIELDS}
    origin_codes = pc.dictionary_encode(pa.array(merged["origin"], pa.string()))
    names = list(ERROR_TYPES)
    for bit, (name, et) in enumerate(ERROR_TYPES.items()):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SEED_ERRORS, bit)))
        # Every type draws its uniforms even at probability 0, so changing one rate never
        # reshuffles the others.
        u = rng.random(n)
        p = params.errors.get(name, 0.0)
        if p <= 0 or n == 0:
            continue
        prob = np.clip(p * _multiplier(params, name, origin_codes), 0.0, 1.0)
        rows = np.flatnonzero(u < prob)
        if len(rows) == 0:
            continue
        applied = et.apply(draft, rows, rng)
        for f in et.fields:
            masks[f][rows[applied]] |= np.int64(1) << np.int64(bit)

    known_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SEED_KNOWN,)))
    middle_known = known_rng.random(n) < params.known["middle_names"]
    sex_known = known_rng.random(n) < params.known["sex"]

    true_id = merged["pupil_id"]
    sex_text = np.where(draft.sex == 0, "M", "F").astype(object)
    nationality = pa.array(
        [NATIONALITY.get(o, "Unknown") for o in origin_codes.dictionary.to_pylist()], pa.string()
    ).take(origin_codes.indices)
    columns: dict[str, pa.Array] = {
        "request_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "case_id": pa.array(
            [f"{profile.case_prefix}-{i:07d}" for i in range(1, n + 1)], pa.string()
        ),
        "forename": pa.array(draft.forename, pa.string()),
        "middle_names": pa.array(draft.middle_names, pa.string(), mask=~middle_known),
        "surname": pa.array(draft.surname, pa.string()),
        "sex": pa.array(sex_text, pa.string(), mask=(draft.sex < 0) | ~sex_known),
        "date_of_birth": pa.array(
            draft.dob.astype(np.int32), pa.int32(), mask=draft.dob_missing
        ).cast(pa.date32()),
        "address_line": pa.array(draft.address_line, pa.string()),
        "town": pa.array(draft.town, pa.string()),
        "postcode": pa.array(draft.postcode, pa.string()),
    }
    if "nationality" in profile.extra_fields:
        columns["nationality"] = nationality
    if "entry_date" in profile.extra_fields:
        columns["entry_date"] = pa.array(merged["entry_date"].astype(np.int32), pa.int32()).cast(
            pa.date32()
        )
    if "leaving_date" in profile.extra_fields:
        leaving = merged["leaving_date"]
        columns["leaving_date"] = pa.array(
            leaving.astype(np.int32), pa.int32(), mask=leaving < 0
        ).cast(pa.date32())
    total = np.zeros(n, dtype=np.int64)
    for f in FIELDS:
        total |= masks[f]
    columns |= {
        "true_pupil_id": pa.array(true_id, pa.int64(), mask=~in_register),
        "in_register": pa.array(in_register),
        "true_name_origin": origin_codes.dictionary.take(origin_codes.indices),
        "true_is_twin": pa.array(merged["twin"]),
        **{f"errors_{f}": _mask_strings(masks[f], names) for f in FIELDS},
        "n_errors": pa.array(_popcount(total).astype(np.int8)),
    }
    table = pa.table(columns)
    provenance = {
        "request_config": config.model_dump(mode="json"),
        "seed": seed,
        "profile": profile.name,
    }
    table = table.replace_schema_metadata({b"matchsim": json.dumps(provenance).encode()})
    return RequestSet(table=table, config=config, seed=seed)


def _popcount(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    count = np.zeros(len(x), dtype=np.int64)
    while x.any():
        count += (x & np.uint64(1)).astype(np.int64)
        x >>= np.uint64(1)
    return count
