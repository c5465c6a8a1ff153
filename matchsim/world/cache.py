"""``matchsim cache list`` and ``clear``: the worlds in the cache, and deleting them (only
matchsim's own parts and temporary directories; anything else is left alone)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matchsim.errors import ConfigError
from matchsim.world.parts import (
    CENSUS_PART,
    KEY_RE,
    TMP_PREFIX,
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
            raise ConfigError("key", f"no cached world {key!r}; list_worlds() shows them")
    for world in worlds:
        for part in world.path.iterdir():
            if part.is_dir():
                remove_ours(part)
        with contextlib.suppress(OSError):
            world.path.rmdir()  # only if nothing of anyone else's is left in it
    return worlds
