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
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import pyarrow as pa

from matchsim.records import PreparedTable, Vocabulary
from matchsim.requests.index import RegisterIndex, register_index
from matchsim.synth import Census, CensusConfig
from matchsim.synth.summary import CensusSummary
from matchsim.world.parts import checked_manifest, read_table, write_manifest, write_table


def write_census(
    directory: Path, key: str, version: str, census: Census, index: RegisterIndex
) -> None:
    write_table(directory / "pupils.arrow", census.pupils)
    write_table(directory / "addresses.arrow", census.addresses)
    extra: dict[str, Any] = {
        "seed": census.seed,
        "pupils": census.pupils.num_rows,
        "config": census.config.model_dump(mode="json"),
        "summary": census.summary().as_dict(),
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
        "right_cache": [],
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
    for group, cached in register.right_cache.items():
        for key_, value in _right_cache_entries(cached):
            stored = _stored_value(value)
            if stored is None:
                continue  # rebuilt by warm_register (e.g. pandas indexes)
            kind, cls, parts = stored
            names = []
            if kind == "array" and _is_codes_key(key_, register):
                # A role's plain key is a copy of its codes: stored once, mapped twice.
                parts, names = [], [f"codes-{key_[1]}"]
            for part in parts:
                same = _same_as_codes(part, register)
                name = same or f"rc-{len(layout['right_cache'])}-{len(names)}"
                if same is None:
                    arrays[name] = part
                names.append(name)
            layout["right_cache"].append(
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


#: How a blocking-keys entry is marked among the stored right-hand cache entries.
_BLOCKING_KEYS = "state:BlockingKeys"


def _right_cache_entries(cache: dict[object, object]) -> list[tuple[object, object]]:
    """A right-hand cache as flat ``(key, value)`` entries: the blocking stage's kept keys
    (:class:`matchsim.blocking.BlockingKeys`) are spread out by :meth:`BlockingKeys.stored`
    under keys marked ``_BLOCKING_KEYS``; other states are rebuilt by warm_register."""
    from matchsim.blocking import BlockingKeys

    entries: list[tuple[object, object]] = []
    for key, value in cache.items():
        if isinstance(value, BlockingKeys):
            entries += [((_BLOCKING_KEYS, *flat), v) for flat, v in value.stored().items()]
        elif not isinstance(key, type):
            entries.append((key, value))
    return entries


def _is_codes_key(key: object, register: PreparedTable) -> TypeGuard[tuple[str, str]]:
    """Whether a right-hand cache key is ``("key", role)`` of a role's own codes, which
    :meth:`matchsim.records.Records.key` returns as a copy of them."""
    return isinstance(key, tuple) and len(key) == 2 and key[0] == "key" and key[1] in register.codes


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


def read_census(
    directory: Path, key: str, config: CensusConfig, seed: int
) -> tuple[Census, RegisterIndex] | None:
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
    return census, index


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
    from matchsim.blocking import BlockingKeys

    blocking_keys: dict[object, dict[tuple[str, object], object]] = {}
    for item in layout["right_cache"]:
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
        if isinstance(key_, tuple) and key_[:1] == (_BLOCKING_KEYS,):
            blocking_keys.setdefault(group, {})[key_[1:]] = value
        else:
            register.right_cache.setdefault(group, {})[key_] = value
    for group, stored in blocking_keys.items():
        register.right_cache.setdefault(group, {})[BlockingKeys] = BlockingKeys.restored(stored)
    return register
