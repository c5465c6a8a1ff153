"""The cache directory and the parts of a world in it: where they live, how a part is written
(into a temporary directory, then renamed into place), its manifest, and how it is checked
before reuse.

Each part holds a ``manifest.json`` naming every file with its size and, for tables, their
rows and schema; a part whose files disagree with its manifest is rebuilt. An interrupted
build leaves nothing that looks complete, and only directories that carry a matchsim manifest
(or its own temporary directories) are ever deleted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

#: Environment variable that moves the cache (tests and CI point it at a temporary directory).
CACHE_ENV = "MATCHSIM_CACHE_DIR"
#: What every manifest says it is; only directories holding one are ever deleted.
MARKER = "matchsim-world"
#: Bumped whenever the stored layout changes: a world of another format is rebuilt.
FORMAT = 1
#: A world's directory name: its key (see :func:`matchsim.world.world_key`).
KEY_RE = re.compile(r"^[0-9a-f]{20}$")
#: The prefix of the temporary directories parts are written into.
TMP_PREFIX = ".tmp-"
#: The part holding the census and its request index.
CENSUS_PART = "census"


def cache_dir() -> Path:
    """Where worlds are kept: ``$MATCHSIM_CACHE_DIR`` or the user's cache directory."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("matchsim")) / "worlds"


def store_part(root: Path, entry: Path, part: str, write: Callable[[Path], None]) -> None:
    """Write one part into a temporary directory, then rename it into place. A cache that
    cannot be written (read-only, full disk) costs the next run a rebuild, not this run."""
    try:
        entry.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{part}.", dir=entry))
    except OSError:
        return
    try:
        write(tmp)
        target = entry / part
        if target.exists():
            if checked_manifest(target, entry.name) is not None:
                # Another process (a sweep's worker) stored the same part meanwhile: it is
                # kept, since that process may be reading it, and this copy is dropped.
                return
            remove_ours(target)  # damaged (it failed its check): ours, so replaced
        os.replace(tmp, target)
    except OSError:
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_manifest(directory: Path, key: str, version: str, extra: dict[str, Any]) -> None:
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


def write_table(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def checked_manifest(directory: Path, key: str) -> dict[str, Any] | None:
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


def read_table(path: Path) -> pa.Table:
    """A table memory-mapped from an Arrow IPC file: no copy, pages read as they are used."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def is_ours(part: Path) -> bool:
    try:
        manifest = json.loads((part / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("marker") == MARKER


def remove_ours(path: Path) -> None:
    if is_ours(path) or path.name.startswith(TMP_PREFIX):
        shutil.rmtree(path, ignore_errors=True)
