"""Where partitioned work runs: this process, local processes, or a Dask cluster.

Dask is imported only when asked for, so ``local`` and ``processes`` need no Dask installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass, field
from typing import Any

from matchsim.errors import ConfigError

EXECUTORS = ("local", "processes", "dask")

DASK_MISSING = "needs Dask: pip install 'matchsim[dask]'"


def import_distributed() -> Any:
    """``dask.distributed``, or a one-line error naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise ConfigError("executor", f"'dask' {DASK_MISSING}") from None
    return distributed


@dataclass
class Executor:
    """Runs tasks: ``submit`` returns a future with ``.result()``; ``as_completed`` yields
    futures as they finish. ``client`` is the Dask client for ``dask``."""

    kind: str
    workers: int
    client: Any = None
    _pool: ProcessPoolExecutor | None = field(default=None, repr=False)
    _owned: list[Any] = field(default_factory=list, repr=False)

    @property
    def is_dask(self) -> bool:
        return self.kind == "dask"

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.kind == "local":
            done: Future = Future()
            try:
                done.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # delivered by .result(), as from a pool
                done.set_exception(exc)
            return done
        if self.client is not None:
            # pure=False: a task re-run after a lost worker must not be mistaken for a cached one
            return self.client.submit(fn, *args, pure=False, **kwargs)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self._pool.submit(fn, *args, **kwargs)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        futures = list(futures)
        if self.client is not None:
            return iter(import_distributed().as_completed(futures))
        return futures_completed(futures)

    def scatter(self, value: Any, *, broadcast: bool = False) -> Any:
        """Send ``value`` to the workers once; tasks given the result receive the value."""
        if self.client is None:
            return value
        return self.client.scatter(value, broadcast=broadcast, hash=False)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        for resource in reversed(self._owned):
            resource.close()
        self._owned.clear()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_executor(
    kind: str = "local",
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
) -> Executor:
    """An executor of ``kind``; for ``dask``, a client of ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``), of ``client`` if given, else of a new ``LocalCluster``."""
    if scheduler is not None or client is not None:
        kind = "dask"  # a scheduler address or a client means "run on that cluster"
    if kind not in EXECUTORS:
        raise ConfigError("executor", f"{kind!r} is not one of {', '.join(EXECUTORS)}")
    n = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if n < 1:
        raise ConfigError("workers", f"{n} must be at least 1")
    if kind != "dask":
        return Executor(kind, n)
    distributed = import_distributed()
    if client is not None:
        return Executor(kind, max(len(client.scheduler_info()["workers"]), 1), client)
    owned: list[Any] = []
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        )
        owned.append(cluster)
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout="5s")
        except OSError as exc:
            raise ConfigError(
                "scheduler", f"cannot reach a Dask scheduler at {scheduler!r}: {exc}"
            ) from None
    owned.append(client)
    n_workers = max(len(client.scheduler_info()["workers"]), 1)
    return Executor(kind, n_workers, client, _owned=owned)
