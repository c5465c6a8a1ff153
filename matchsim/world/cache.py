"""``matchsim cache list`` and ``clear``: the worlds in the cache, and deleting them (only
matchsim's own parts and temporary directories; anything else is left alone); and keeping the
cache within its size budget by evicting the least recently used worlds."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from matchsim.errors import ConfigError
from matchsim.world.parts import (
    CENSUS_PART,
    KEY_RE,
    TMP_PREFIX,
    USED_MARKER,
    cache_dir,
    is_ours,
    read_manifest,
    remove_ours,
)


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
    #: when a run last used it (seconds since the epoch): its ``last-used`` marker, else
    #: when its newest part was written
    last_used: float


#: A temporary part written to within this many seconds belongs to a run still building it
#: (a national census part takes about 30 s): eviction and ``cache clear`` leave it, and the
#: world it is in, alone. An older one was left by a run that died, and is removed.
BUILDING_SECONDS = 600.0

#: Environment variable bounding the cache's size, in GB (10^9 bytes), or ``unlimited``.
BUDGET_ENV = "MATCHSIM_CACHE_MAX_GB"
#: Room for two national worlds (about 8.5 GB each) and several small ones.
DEFAULT_BUDGET_GB = 20.0


def cache_budget() -> int | None:
    """The cache's size budget in bytes (``None``: unlimited), from ``$MATCHSIM_CACHE_MAX_GB``."""
    text = os.environ.get(BUDGET_ENV, "").strip()
    if not text:
        return int(DEFAULT_BUDGET_GB * 1e9)
    if text.lower() == "unlimited":
        return None
    try:
        gb = float(text)
    except ValueError:
        gb = -1.0
    if not gb >= 0:  # also NaN
        raise ConfigError(
            BUDGET_ENV,
            f"must be a size in GB (e.g. {DEFAULT_BUDGET_GB:g}) or 'unlimited', not {text!r}; "
            "set it so or unset it",
        )
    return int(gb * 1e9)


def _size(path: Path) -> int:
    """Bytes of the files under ``path``. Other processes (a sweep's workers, another run)
    write and rename temporary parts here meanwhile: what vanishes during the walk counts
    as nothing, rather than failing the run that is only measuring."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for item in entries:
        try:
            if item.is_dir(follow_symlinks=False):
                total += _size(Path(item.path))
            elif item.is_file(follow_symlinks=False):
                total += item.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:  # gone meanwhile (another process renamed or removed it)
        return None


def _children(entry: Path) -> list[Path]:
    try:
        return list(entry.iterdir())
    except OSError:
        return []


def list_worlds(root: Path | None = None) -> list[CachedWorld]:
    """Every world in the cache (directories named by a key that hold a matchsim part).
    Safe while other processes build worlds in the same cache: what they rename or remove
    during the listing is left out, never an error."""
    root = root if root is not None else cache_dir()
    if not root.is_dir():
        return []
    worlds = []
    for entry in sorted(_children(root)):
        if not (entry.is_dir() and KEY_RE.match(entry.name)):
            continue
        children = _children(entry)
        parts = tuple(sorted(p.name for p in children if p.is_dir() and is_ours(p)))
        if not parts and not any(p.name.startswith(TMP_PREFIX) for p in children):
            continue
        info = read_manifest(entry / CENSUS_PART) if CENSUS_PART in parts else {}
        marker = _mtime(entry / USED_MARKER)
        stamps = [t for t in (_mtime(entry / part) for part in parts) if t is not None]
        last_used = marker if marker is not None else max(stamps, default=0.0)
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
                last_used=last_used,
            )
        )
    return worlds


def clear_worlds(key: str | None = None, root: Path | None = None) -> list[CachedWorld]:
    """Delete every cached world, or the one of ``key``; return what was deleted. Only
    matchsim's own parts and temporary directories are removed; anything else is left, and
    so is a temporary part another run is writing now (see :data:`BUILDING_SECONDS`)."""
    worlds = list_worlds(root)
    if key is not None:
        worlds = [w for w in worlds if w.key == key]
        if not worlds:
            raise ConfigError("key", f"no cached world {key!r}; list_worlds() shows them")
    for world in worlds:
        _remove(world)
    return worlds


def evict_worlds(keep: str, root: Path | None = None) -> list[CachedWorld]:
    """Delete the least recently used worlds, never the one of ``keep``, until the cache fits
    its budget (:func:`cache_budget`); return what was deleted. A world that other code built
    (another matchsim version) is never used again by this one, so it goes first."""
    budget = cache_budget()
    if budget is None:
        return []
    worlds = list_worlds(root)
    total = sum(w.bytes for w in worlds)
    current = next((w.version for w in worlds if w.key == keep), None)
    candidates = sorted(
        (w for w in worlds if w.key != keep),
        key=lambda w: (w.version == current, w.last_used),
    )
    removed = []
    for world in candidates:
        if total <= budget:
            break
        if _building(world.path):  # another run is writing it: not ours to take from it now
            continue
        _remove(world)
        total -= world.bytes
        removed.append(world)
    return removed


def _building(entry: Path) -> bool:
    return any(_in_progress(p) for p in _children(entry))


def _in_progress(part: Path) -> bool:
    if not part.name.startswith(TMP_PREFIX):
        return False
    stamps = [_mtime(part), *(_mtime(p) for p in _children(part))]
    newest = max((t for t in stamps if t is not None), default=None)
    return newest is not None and time.time() - newest < BUILDING_SECONDS


def _remove(world: CachedWorld) -> None:
    for part in _children(world.path):
        if part.is_dir() and not _in_progress(part):
            remove_ours(part)
    with contextlib.suppress(OSError):
        (world.path / USED_MARKER).unlink()
    with contextlib.suppress(OSError):
        world.path.rmdir()  # only if nothing of anyone else's is left in it
