"""Worlds kept on disk: a register, its prepared form and its request index, built once.

A national register takes tens of seconds to generate and as long again to normalise and
encode for lookups. Both depend only on the register's config, its seed and the matchsim
version, so they are built once and kept in the user's cache directory (``platformdirs``;
``MATCHSIM_CACHE_DIR`` overrides it), as files that load by memory-mapping: Arrow IPC for
tables and strings, ``.npy`` for arrays.

Layout: ``<cache>/<key>/census/`` (pupils, address history, request index) and
``<cache>/<key>/register-<addresses>/`` (the prepared register for ``lookup.addresses``).
Each part holds a ``manifest.json`` naming every file with its size and, for tables, their
rows and schema; a part whose files disagree with its manifest is rebuilt. Parts are written
into a temporary directory beside them and renamed into place, so an interrupted build
leaves nothing that looks complete. ``matchsim cache`` lists and clears them, and deletes only
directories that carry a matchsim manifest (or its own temporary directories).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import importlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import pyarrow as pa

from matchsim.errors import ConfigError
from matchsim.linkage import REGISTER_ADDRESSES, prepare_register, warm_register
from matchsim.records import PreparedTable, Vocabulary
from matchsim.requests.index import RegisterIndex, register_index
from matchsim.synth import Census, CensusConfig
from matchsim.synth.summary import CensusSummary

#: Environment variable that moves the cache (tests and CI point it at a temporary directory).
CACHE_ENV = "MATCHSIM_CACHE_DIR"
#: What every manifest says it is; only directories holding one are ever deleted.
MARKER = "matchsim-world"
#: Bumped whenever the stored layout changes: a world of another format is rebuilt.
FORMAT = 1
_KEY_RE = re.compile(r"^[0-9a-f]{20}$")
_TMP_PREFIX = ".tmp-"
CENSUS_PART = "census"


def cache_dir() -> Path:
    """Where worlds are kept: ``$MATCHSIM_CACHE_DIR`` or the user's cache directory."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("matchsim")) / "worlds"


def world_key(config: CensusConfig, seed: int, version: str) -> str:
    """The cache key of a world: a hash of its census config, its seed and matchsim's version.

    The version includes a digest of matchsim's own source and data files
    (:func:`code_digest`), so that an edited or upgraded installation whose version number did
    not change never reuses a world that other code built.
    """
    text = json.dumps(
        {
            "config": config.model_dump(mode="json"),
            "seed": seed,
            "version": version,
            "code": code_digest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@functools.cache
def code_digest() -> str:
    """SHA-256 of every file of the installed ``matchsim`` package (sources and data)."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(package)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class World:
    """A register with what lookups and requests need, from the cache or built now."""

    key: str
    census: Census
    register: PreparedTable
    index: RegisterIndex
    #: which parts were built by this call (the others were read from the cache)
    built: tuple[str, ...]
    timings: dict[str, float]


@dataclass(frozen=True)
class CachedWorld:
    """One world in the cache, as ``matchsim cache list`` shows it."""

    key: str
    path: Path
    bytes: int
    pupils: int | None
    seed: int | None
    version: str | None
    parts: tuple[str, ...]
    created: str | None


def obtain_world(
    config: CensusConfig,
    seed: int,
    addresses: str,
    *,
    version: str,
    build: Callable[[], Census],
    root: Path | None = None,
) -> World:
    """The world of ``config`` and ``seed``, read from the cache when a checked copy is there,
    otherwise built (``build()`` generates the census) and stored."""
    if addresses not in REGISTER_ADDRESSES:
        raise ConfigError(
            "lookup.addresses", f"{addresses!r} is not one of {', '.join(REGISTER_ADDRESSES)}"
        )
    root = root if root is not None else cache_dir()
    key = world_key(config, seed, version)
    entry = root / key
    timings: dict[str, float] = {}
    built: list[str] = []
    t0 = time.perf_counter()
    census_and_index = _read_census(entry / CENSUS_PART, key, config, seed)
    if census_and_index is None:
        census = build()
        timings["register"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        index = register_index(census)
        timings["request_index"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _store(root, entry, CENSUS_PART, lambda d: _write_census(d, key, version, census, index))
        timings["store_census"] = time.perf_counter() - t0
        built.append(CENSUS_PART)
        # Continue on the stored copy, memory-mapped: the columns and the address history
        # that preparing the register does not read then take no memory (about 2 GB of a
        # national register's 4).
        stored = _read_census(entry / CENSUS_PART, key, config, seed)
        if stored is not None:
            census, index = stored
    else:
        census, index = census_and_index
        timings["register"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    part = f"register-{addresses}"
    register = _read_register(entry / part, key)
    if register is None:
        register = prepare_register(census, addresses)
        prepared = register
        t1 = time.perf_counter()
        _store(root, entry, part, lambda d: _write_register(d, key, version, prepared))
        timings["store_register"] = time.perf_counter() - t1
        built.append(part)
    else:
        warm_register(register)  # the indexes kept in memory only, and the compiled kernels
    timings["register_index"] = time.perf_counter() - t0
    return World(key, census, register, index, tuple(built), timings)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _store(root: Path, entry: Path, part: str, write: Callable[[Path], None]) -> None:
    """Write one part into a temporary directory, then rename it into place. A cache that
    cannot be written (read-only, full disk) costs the next run a rebuild, not this run."""
    try:
        entry.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{part}.", dir=entry))
    except OSError:
        return
    try:
        write(tmp)
        target = entry / part
        if target.exists():  # damaged (it failed its check): ours, so replaced
            _remove_ours(target)
        os.replace(tmp, target)
    except OSError:
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _manifest(directory: Path, key: str, version: str, extra: dict[str, Any]) -> None:
    files = {}
    for path in sorted(directory.iterdir()):
        info: dict[str, Any] = {"bytes": path.stat().st_size}
        if path.suffix == ".arrow":
            with pa.memory_map(str(path)) as source:
                reader = pa.ipc.open_file(source)
                info["rows"] = sum(
                    reader.get_batch(i).num_rows for i in range(reader.num_record_batches)
                )
                info["schema"] = reader.schema.to_string(show_schema_metadata=False)
        elif path.suffix == ".npy":
            array = np.load(path, mmap_mode="c")
            info["shape"], info["dtype"] = list(array.shape), array.dtype.str
        files[path.name] = info
    manifest = {
        "marker": MARKER,
        "format": FORMAT,
        "key": key,
        "matchsim_version": version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": files,
        **extra,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _write_table(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _write_census(
    directory: Path, key: str, version: str, census: Census, index: RegisterIndex
) -> None:
    _write_table(directory / "pupils.arrow", census.pupils)
    _write_table(directory / "addresses.arrow", census.addresses)
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
    _manifest(directory, key, version, extra)


def _write_register(directory: Path, key: str, version: str, register: PreparedTable) -> None:
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
        _write_table(directory / f"{name}.arrow", pa.table({"values": values}))
    _manifest(directory, key, version, {"layout": layout})


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


# --------------------------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------------------------


def _checked_manifest(directory: Path, key: str) -> dict[str, Any] | None:
    """The part's manifest if every file agrees with it, else ``None`` (rebuild it)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("marker") != MARKER or manifest.get("format") != FORMAT:
            return None
        if manifest.get("key") != key:
            return None
        for name, info in manifest["files"].items():
            path = directory / name
            if path.stat().st_size != info["bytes"]:
                return None
            if path.suffix == ".npy":
                array = np.load(path, mmap_mode="c")
                if list(array.shape) != info["shape"] or array.dtype.str != info["dtype"]:
                    return None
            elif path.suffix == ".arrow":
                with pa.memory_map(str(path)) as source:
                    reader = pa.ipc.open_file(source)
                    rows = sum(
                        reader.get_batch(i).num_rows for i in range(reader.num_record_batches)
                    )
                    schema = reader.schema.to_string(show_schema_metadata=False)
                if rows != info["rows"] or schema != info["schema"]:
                    return None
        return manifest
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None


def _read_table(path: Path) -> pa.Table:
    """A table memory-mapped from an Arrow IPC file: no copy, pages read as they are used."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _read_census(
    directory: Path, key: str, config: CensusConfig, seed: int
) -> tuple[Census, RegisterIndex] | None:
    manifest = _checked_manifest(directory, key)
    if manifest is None:
        return None
    summary = dict(manifest["summary"])
    for name in ("top_forenames", "top_surnames"):
        summary[name] = [tuple(pair) for pair in summary[name]]
    census = Census(
        pupils=_read_table(directory / "pupils.arrow"),
        addresses=_read_table(directory / "addresses.arrow"),
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


def _read_register(directory: Path, key: str) -> PreparedTable | None:
    manifest = _checked_manifest(directory, key)
    if manifest is None:
        return None
    layout = manifest["layout"]

    def array(name: str) -> np.ndarray:
        return np.load(directory / f"{name}.npy", mmap_mode="c")

    def strings(name: str) -> pa.Array:
        return _read_table(directory / f"{name}.arrow")["values"].combine_chunks()

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


# --------------------------------------------------------------------------------------------
# matchsim cache list / clear
# --------------------------------------------------------------------------------------------


def _is_ours(part: Path) -> bool:
    try:
        manifest = json.loads((part / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("marker") == MARKER


def _remove_ours(path: Path) -> None:
    if _is_ours(path) or path.name.startswith(_TMP_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def list_worlds(root: Path | None = None) -> list[CachedWorld]:
    """Every world in the cache (directories named by a key that hold a matchsim part)."""
    root = root if root is not None else cache_dir()
    if not root.is_dir():
        return []
    worlds = []
    for entry in sorted(root.iterdir()):
        if not (entry.is_dir() and _KEY_RE.match(entry.name)):
            continue
        parts = tuple(sorted(p.name for p in entry.iterdir() if p.is_dir() and _is_ours(p)))
        if not parts and not any(p.name.startswith(_TMP_PREFIX) for p in entry.iterdir()):
            continue
        info: dict[str, Any] = {}
        if CENSUS_PART in parts:
            info = json.loads((entry / CENSUS_PART / "manifest.json").read_text(encoding="utf-8"))
        worlds.append(
            CachedWorld(
                key=entry.name,
                path=entry,
                bytes=_size(entry),
                pupils=info.get("pupils"),
                seed=info.get("seed"),
                version=info.get("matchsim_version"),
                parts=parts,
                created=info.get("created"),
            )
        )
    return worlds


def clear_worlds(key: str | None = None, root: Path | None = None) -> list[CachedWorld]:
    """Delete every cached world, or the one of ``key``; return what was deleted. Only
    matchsim's own parts and temporary directories are removed; anything else is left."""
    worlds = list_worlds(root)
    if key is not None:
        worlds = [w for w in worlds if w.key == key]
        if not worlds:
            raise ConfigError("KEY", f"no cached world {key!r}; `matchsim cache list` shows them")
    for world in worlds:
        for part in world.path.iterdir():
            if part.is_dir():
                _remove_ours(part)
        with contextlib.suppress(OSError):
            world.path.rmdir()  # only if nothing of anyone else's is left in it
    return worlds
