"""``matchsim cache list`` and ``clear``: the worlds in the cache, and deleting them (only
matchsim's own parts and temporary directories; anything else is left alone); and keeping the
cache within its size budget by evicting the least recently used worlds."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matchsim.errors import ConfigError
from matchsim.world.parts import (
    CENSUS_PART,
    KEY_RE,
    TMP_PREFIX,
    USED_MARKER,
    cache_dir,
    is_ours,
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
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def list_worlds(root: Path | None = None) -> list[CachedWorld]:
    """Every world in the cache (directories named by a key that hold a matchsim part)."""
    root = root if root is not None else cache_dir()
    if not root.is_dir():
        return []
    worlds = []
    for entry in sorted(root.iterdir()):
        if not (entry.is_dir() and KEY_RE.match(entry.name)):
            continue
        parts = tuple(sorted(p.name for p in entry.iterdir() if p.is_dir() and is_ours(p)))
        if not parts and not any(p.name.startswith(TMP_PREFIX) for p in entry.iterdir()):
            continue
        info: dict[str, Any] = {}
        if CENSUS_PART in parts:
            info = json.loads((entry / CENSUS_PART / "manifest.json").read_text(encoding="utf-8"))
        marker = entry / USED_MARKER
        stamps = [p.stat().st_mtime for p in (marker, *(entry / part for part in parts))]
        last_used = marker.stat().st_mtime if marker.exists() else max(stamps, default=0.0)
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
    matchsim's own parts and temporary directories are removed; anything else is left."""
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
        _remove(world)
        total -= world.bytes
        removed.append(world)
    return removed


def _remove(world: CachedWorld) -> None:
    for part in world.path.iterdir():
        if part.is_dir():
            remove_ours(part)
    with contextlib.suppress(OSError):
        (world.path / USED_MARKER).unlink()
    with contextlib.suppress(OSError):
        world.path.rmdir()  # only if nothing of anyone else's is left in it
