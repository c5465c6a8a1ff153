"""The cache directory and the parts of a world in it: where they live, how a part is written
(into a temporary directory, then renamed into place), its manifest, and how it is checked
before reuse.

Each part holds a ``manifest.json`` naming every file with its size and, for tables, their
rows and schema; a part whose files disagree with its manifest is rebuilt. An interrupted
build leaves nothing that looks complete, and only directories that carry a matchsim manifest
(or its own temporary directories) are ever deleted.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from matchsim.errors import CacheWarning

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
#: A file in a world's directory whose modification time is when a run last used the world.
USED_MARKER = "last-used"


def cache_dir() -> Path:
    """Where worlds are kept: ``$MATCHSIM_CACHE_DIR`` or the user's cache directory."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("matchsim")) / "worlds"


def mark_used(entry: Path) -> None:
    """Record that a run used the world in ``entry`` now (eviction removes the least recently
    used worlds first). A cache that cannot be written is left as it is."""
    with contextlib.suppress(OSError):
        (entry / USED_MARKER).touch()  # an empty file: its modification time is the record


#: What a writer of parts calls with the error when the cache cannot keep a part.
NotKept = Callable[[OSError], None]


def store_part(
    root: Path,
    entry: Path,
    part: str,
    write: Callable[[Path], None],
    not_kept: NotKept | None = None,
) -> None:
    """Write one part into a temporary directory, then rename it into place. A cache that
    cannot be written (read-only, full disk) costs the next run a rebuild, not this run:
    ``not_kept`` gets the error (by default, :func:`warn_not_kept` says so)."""
    tmp = open_part(entry, part, not_kept)
    if tmp is None:
        return
    try:
        write(tmp)
    except OSError as exc:
        discard_part(tmp)
        _not_kept(entry, not_kept)(exc)
        return
    commit_part(tmp, entry, part, not_kept)


def open_part(entry: Path, part: str, not_kept: NotKept | None = None) -> Path | None:
    """A fresh temporary directory to write ``part`` into, or ``None`` when the cache cannot
    be written (``not_kept`` gets the error). Finish with :func:`commit_part` or
    :func:`discard_part`."""
    try:
        entry.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{part}.", dir=entry))
    except OSError as exc:
        _not_kept(entry, not_kept)(exc)
        return None


def commit_part(tmp: Path, entry: Path, part: str, not_kept: NotKept | None = None) -> None:
    """Rename a part written into ``tmp`` into place (its manifest written last)."""
    try:
        target = entry / part
        if target.exists():
            if checked_manifest(target, entry.name) is not None:
                # Another process (a sweep's worker) stored the same part meanwhile: it is
                # kept, since that process may be reading it, and this copy is dropped.
                return
            if not is_ours(target):  # no manifest: it may be anyone's, so it is never deleted
                raise InTheWayError(target)
            remove_ours(target)  # damaged (it failed its check): ours, so replaced
        os.replace(tmp, target)
    except OSError as exc:
        _not_kept(entry, not_kept)(exc)
    finally:
        discard_part(tmp)


def _not_kept(entry: Path, not_kept: NotKept | None) -> NotKept:
    return not_kept if not_kept is not None else lambda error: warn_not_kept(entry, error)


class InTheWayError(FileExistsError):
    """A directory without a matchsim manifest stands where a part goes."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} is in the way and has no matchsim manifest")
        self.path = path


def warn_not_kept(entry: Path, error: OSError) -> None:
    """Say that a world could not be kept, and what that costs (a :class:`CacheWarning`)."""
    if isinstance(error, InTheWayError):
        reason = str(error)
        advice = f"move or delete {error.path} (matchsim deletes only what it wrote)"
    else:
        reason = error.strerror or str(error)
        advice = "free some space or set MATCHSIM_CACHE_DIR to a writable directory"
    warnings.warn(
        CacheWarning(
            f"the world could not be kept in the cache at {entry.parent} ({reason}): this run "
            f"is unaffected, and the next run of it builds the world again; {advice}"
        ),
        stacklevel=3,
    )


def discard_part(tmp: Path) -> None:
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


#: ``madvise`` advice that drops a range's pages from this process (Linux).
MADV_DONTNEED = 4


def release_mapped_pages(directory: Path) -> int:
    """Drop from this process the pages of every read-only mapping of a file under
    ``directory`` (the stored tables it has read); the bytes of mappings advised.

    Pages of a memory-mapped file that a run has touched count as its resident memory until
    it exits, though they belong to the page cache: a lookup that reads a few thousand rows
    of a 2 GB address history touches most of it (the kernel maps 64 KB around each page it
    faults in). ``MADV_DONTNEED`` on a mapping that cannot be written (Arrow maps files for
    reading so) only unmaps those pages; the next read maps them again from the page cache,
    so no data can change or be lost. Writable mappings (``.npy`` arrays, copy-on-write) are
    left alone, since they could hold writes.
    Elsewhere than Linux (no ``/proc/self/maps``) nothing is done.
    """
    madvise = _madvise()
    if madvise is None:
        return 0
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return 0
    root = str(directory.resolve()) + os.sep
    advised = 0
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith(root) or fields[1] not in ("r--s", "r--p"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_DONTNEED) == 0:
            advised += end - start
    return advised


@functools.cache
def libc() -> ctypes.CDLL | None:
    """The C library, looked up once (``find_library`` runs ldconfig), or None without one."""
    name = ctypes.util.find_library("c")
    return None if name is None else ctypes.CDLL(name)


@functools.cache
def _madvise() -> Callable[..., int] | None:
    library = libc() if Path("/proc/self/maps").exists() else None
    function = None if library is None else getattr(library, "madvise", None)
    if function is not None:
        function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        function.restype = ctypes.c_int
    return function


def read_manifest(part: Path) -> dict[str, Any]:
    """A part's manifest as it stands, unchecked; empty when there is none, it is damaged, or
    another process is replacing the part meanwhile."""
    try:
        loaded = json.loads((part / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def is_ours(part: Path) -> bool:
    return read_manifest(part).get("marker") == MARKER


def remove_ours(path: Path) -> None:
    if is_ours(path) or path.name.startswith(TMP_PREFIX):
        shutil.rmtree(path, ignore_errors=True)
