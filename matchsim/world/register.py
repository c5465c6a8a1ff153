"""The storage format of a world's parts: the census (pupils, address history, request
index) and the prepared register, as files that load by memory-mapping: Arrow IPC for tables
and strings, ``.npy`` for arrays.

The prepared register keeps its vocabularies' derived keys and the right-hand cache its
linkages share (blocking keys, place runs, term counts), so that a cached register needs no
preparation; what lives in memory only (pandas indexes) is rebuilt by ``warm_register``.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from matchsim.fidelity import FidelityRow
from matchsim.records import PreparedTable, Vocabulary
from matchsim.requests.index import RegisterIndex, register_index
from matchsim.synth import Census, CensusConfig
from matchsim.synth.summary import CensusSummary
from matchsim.world.parts import checked_manifest, read_table, write_manifest, write_table


def write_census_tables(directory: Path, census: Census) -> Census:
    """Write a census's tables; the same census read back from them, memory-mapped."""
    write_table(directory / "pupils.arrow", census.pupils)
    write_table(directory / "addresses.arrow", census.addresses)
    return Census(
        pupils=read_table(directory / "pupils.arrow"),
        addresses=read_table(directory / "addresses.arrow"),
        config=census.config,
        seed=census.seed,
    )


def write_census_index(
    directory: Path,
    key: str,
    version: str,
    census: Census,
    index: RegisterIndex,
    fidelity: Sequence[FidelityRow],
) -> None:
    """Write the request index and, last, the manifest of a census part whose tables are
    written (:func:`write_census_tables`); the manifest keeps the register's fidelity rows."""
    extra: dict[str, Any] = {
        "seed": census.seed,
        "pupils": census.pupils.num_rows,
        "config": census.config.model_dump(mode="json"),
        "summary": census.summary().as_dict(),
        "fidelity": [dataclasses.asdict(row) for row in fidelity],
        "origins": list(index.origins),
        "index_stored": index.storable,
    }
    if index.storable:
        for name, array in index.arrays().items():
            np.save(directory / f"index-{name}.npy", array)
    write_manifest(directory, key, version, extra)


def write_register(directory: Path, key: str, version: str, register: PreparedTable) -> None:
    arrays: dict[str, np.ndarray] = {"ids": register.ids, "dob": register.dob, "sex": register.sex}
    strings: dict[str, pa.Array] = {}
    layout: dict[str, Any] = {
        "roles": register.roles,
        "codes": sorted(register.codes),
        "extra": sorted(register.extra),
        "vocabularies": {},
        "right_states": [],
    }
    arrays |= {f"codes-{role}": v for role, v in register.codes.items()}
    arrays |= {f"extra-{name}": v for name, v in register.extra.items()}
    for role, vocabulary in register.vocabularies.items():
        strings[f"vocab-{role}"] = vocabulary.values
        kept: dict[str, dict[str, str]] = {}
        for cache, keys in vocabulary.stored_keys().items():
            for kind, value in keys.items():
                name = f"vk-{role}-{cache.strip('_')}-{len(kept.setdefault(cache, {}))}"
                if isinstance(value, pa.Array):
                    strings[name] = value
                elif isinstance(value, np.ndarray):
                    arrays[name] = value
                else:
                    continue
                kept[cache][kind] = name
        layout["vocabularies"][role] = kept
    for group, cached in register.right_states.items():
        for key_, value in _state_entries(cached):
            stored = _stored_value(value)
            if stored is None:
                continue  # rebuilt by warm_register (e.g. pandas indexes)
            kind, cls, parts = stored
            names = []
            if kind == "array" and _is_codes_key(key_, register):
                # A role's plain key is a copy of its codes: stored once, mapped twice.
                parts, names = [], [f"codes-{key_[1][1]}"]  # type: ignore[index]  # checked
            for part in parts:
                same = _same_as_codes(part, register)
                name = same or f"rc-{len(layout['right_states'])}-{len(names)}"
                if same is None:
                    arrays[name] = part
                names.append(name)
            layout["right_states"].append(
                {
                    "group": repr(group),
                    "key": repr(key_),
                    "kind": kind,
                    "class": cls,
                    "arrays": names,
                }
            )
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array))
    for name, values in strings.items():
        write_table(directory / f"{name}.arrow", pa.table({"values": values}))
    write_manifest(directory, key, version, {"layout": layout})


#: How a stage's kept state is marked among the stored entries: the prefix, then
#: ``module:Class`` of the state, which gives back what its ``stored()`` gave by
#: ``restored()`` (e.g. :class:`matchsim.blocking.BlockingKeys`,
#: :class:`matchsim.records.DerivedColumns`, :class:`matchsim.records.KeptValues`).
_STATE = "state:"


def _state_entries(states: dict[type, object]) -> list[tuple[object, object]]:
    """The stages' states kept with the register's records as flat ``(key, value)`` entries:
    a state that can be stored (it has ``stored`` and ``restored``) is spread into entries
    keyed ``(marker, its key)``; other states are left to warm_register to rebuild."""
    entries: list[tuple[object, object]] = []
    for kind, state in states.items():
        stored = getattr(state, "stored", None)
        if callable(stored) and callable(getattr(kind, "restored", None)):
            marker = f"{_STATE}{kind.__module__}:{kind.__qualname__}"
            entries += [((marker, flat), v) for flat, v in stored().items()]
    return entries


def _restored_states(
    states: dict[object, dict[str, dict[object, object]]], register: PreparedTable
) -> bool:
    """Put each group's stored states back; ``False`` if one names a class outside matchsim
    or one that no longer exists (the entry is then rebuilt: the world is not used)."""
    for group, by_marker in states.items():
        for marker, stored in by_marker.items():
            module, _, qualname = marker.removeprefix(_STATE).partition(":")
            if not module.startswith("matchsim."):
                return False
            kind = getattr(importlib.import_module(module), qualname, None)
            restored = getattr(kind, "restored", None)
            if not isinstance(kind, type) or not callable(restored):
                return False
            register.right_states.setdefault(group, {})[kind] = restored(stored)
    return True


def _is_codes_key(key: object, register: PreparedTable) -> bool:
    """Whether a right-hand cache entry is the key ``("key", role)`` of a role's own codes
    (kept in :class:`matchsim.records.DerivedColumns`), which
    :meth:`matchsim.records.Records.key` returns as a copy of them."""
    if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], tuple)):
        return False
    inner = key[1]
    return len(inner) == 2 and inner[0] == "key" and inner[1] in register.codes


def _same_as_codes(array: np.ndarray, register: PreparedTable) -> str | None:
    """The stored name of a role's codes equal to ``array`` (a one-part blocking key, e.g.
    ``postcode``, is its role's codes), so that it is stored once."""
    for role, codes in register.codes.items():
        if (
            array.shape == codes.shape
            and array.dtype == codes.dtype
            and np.array_equal(array[:64], codes[:64])
            and np.array_equal(array, codes)
        ):
            return f"codes-{role}"
    return None


def _stored_value(value: object) -> tuple[str, str | None, list[np.ndarray]] | None:
    """How a right-hand cache value is stored: an array, a tuple of arrays, or a matchsim
    dataclass of arrays; ``None`` for anything else."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        return "array", None, [value]
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(v, np.ndarray) and v.dtype != object for v in value)
    ):
        return "tuple", None, list(value)
    if dataclasses.is_dataclass(value) and type(value).__module__.startswith("matchsim."):
        fields = [getattr(value, f.name) for f in dataclasses.fields(value)]
        if all(isinstance(v, np.ndarray) and v.dtype != object for v in fields):
            cls = f"{type(value).__module__}:{type(value).__qualname__}"
            return "dataclass", cls, fields
    return None


@dataclasses.dataclass(frozen=True)
class StoredCensus:
    """A census part as read: the register, its request index and its fidelity rows
    (``None`` from a part stored before they were kept: compute them)."""

    census: Census
    index: RegisterIndex
    fidelity: tuple[FidelityRow, ...] | None


def read_census(directory: Path, key: str, config: CensusConfig, seed: int) -> StoredCensus | None:
    manifest = checked_manifest(directory, key)
    if manifest is None:
        return None
    summary = dict(manifest["summary"])
    for name in ("top_forenames", "top_surnames"):
        summary[name] = [tuple(pair) for pair in summary[name]]
    census = Census(
        pupils=read_table(directory / "pupils.arrow"),
        addresses=read_table(directory / "addresses.arrow"),
        config=config,
        seed=seed,
        _summary=CensusSummary(**summary),
    )
    if manifest["index_stored"]:
        arrays = {
            path.stem.removeprefix("index-"): np.load(path, mmap_mode="c")
            for path in directory.glob("index-*.npy")
        }
        index = RegisterIndex.from_arrays(census, manifest["origins"], arrays)
    else:
        index = register_index(census)
    stored = manifest.get("fidelity")
    fidelity = None if stored is None else tuple(FidelityRow(**row) for row in stored)
    return StoredCensus(census, index, fidelity)


def read_register(directory: Path, key: str) -> PreparedTable | None:
    manifest = checked_manifest(directory, key)
    if manifest is None:
        return None
    layout = manifest["layout"]

    def array(name: str) -> np.ndarray:
        return np.load(directory / f"{name}.npy", mmap_mode="c")

    def strings(name: str) -> pa.Array:
        return read_table(directory / f"{name}.arrow")["values"].combine_chunks()

    vocabularies = {}
    for role, kept in layout["vocabularies"].items():
        vocabulary = Vocabulary(role, strings(f"vocab-{role}"))
        vocabulary.restore_keys(
            {
                cache: {
                    kind: strings(name) if (directory / f"{name}.arrow").exists() else array(name)
                    for kind, name in keys.items()
                }
                for cache, keys in kept.items()
            }
        )
        vocabularies[role] = vocabulary
    register = PreparedTable(
        roles=layout["roles"],
        vocabularies=vocabularies,
        codes={role: array(f"codes-{role}") for role in layout["codes"]},
        ids=array("ids"),
        dob=array("dob"),
        sex=array("sex"),
        extra={name: array(f"extra-{name}") for name in layout["extra"]},
    )
    states: dict[object, dict[str, dict[object, object]]] = {}
    for item in layout["right_states"]:
        parts = [array(name) for name in item["arrays"]]
        if item["kind"] == "array":
            value: object = parts[0]
        elif item["kind"] == "tuple":
            value = tuple(parts)
        else:
            module, _, qualname = item["class"].partition(":")
            if not module.startswith("matchsim."):
                return None
            value = getattr(importlib.import_module(module), qualname)(*parts)
        group = ast.literal_eval(item["group"])
        key_ = ast.literal_eval(item["key"])
        if not (isinstance(key_, tuple) and str(key_[0]).startswith(_STATE)):
            return None  # not a state's entry: written by another layout, so rebuilt
        states.setdefault(group, {}).setdefault(key_[0], {})[key_[1]] = value
    if not _restored_states(states, register):
        return None
    return register
