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
leaves nothing that looks complete. When a run builds a world, the least recently used other
worlds are deleted until the cache fits its budget (``MATCHSIM_CACHE_MAX_GB``, 20 GB unless
set). ``matchsim cache`` lists and clears them, and deletes only
directories that carry a matchsim manifest (or its own temporary directories).

Modules: ``obtain`` (the key, and reading or building a world), ``parts`` (the cache directory,
writing a part and checking it by its manifest), ``register`` (the storage format of the census
and the prepared register) and ``cache`` (``matchsim cache list`` and ``clear``, the budget
and eviction).
"""

from __future__ import annotations

from matchsim.world.cache import (
    BUDGET_ENV,
    CachedWorld,
    cache_budget,
    clear_worlds,
    evict_worlds,
    list_worlds,
)
from matchsim.world.obtain import World, code_digest, obtain_world, world_key
from matchsim.world.parts import CACHE_ENV, CENSUS_PART, cache_dir

__all__ = [
    "BUDGET_ENV",
    "CACHE_ENV",
    "CENSUS_PART",
    "CachedWorld",
    "World",
    "cache_budget",
    "cache_dir",
    "clear_worlds",
    "code_digest",
    "evict_worlds",
    "list_worlds",
    "obtain_world",
    "world_key",
]
