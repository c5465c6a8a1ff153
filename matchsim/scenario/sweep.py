"""Sweeps: a scenario run over a grid of settings times several seeds.

Each (point, seed) is one task, run in a local process or, with ``executor: dask``, on a Dask
cluster. Its result is written here as soon as it finishes, under a name derived from its
settings, so an interrupted sweep (or a lost worker) loses only the points that were running,
a re-run resumes where it stopped, and a finished point is never recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from matchsim.errors import ConfigError, Interrupted
from matchsim.io import (
    RESULT_MARKER,
    atomic_path,
    check_result_dir,
    write_result_marker,
)
from matchsim.scenario.runner import run_scenario
from matchsim.scenario.schema import REDACTED, Scenario, explain, redact_keys, set_path

if TYPE_CHECKING:
    from matchsim.distributed import Executor

RATES = (
    "false_match_rate",
    "missed_match_rate",
    "correct_match_rate",
    "returned_rate",
    "ambiguous_rate",
    "false_match_rate_not_in_register",
)


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in a stable order."""
    if not grid:
        return [{}]
    keys = list(grid)
    for key in keys:
        if not isinstance(grid[key], list) or not grid[key]:
            raise ConfigError(f"sweep.grid.{key}", "must be a non-empty list of values")
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def point_scenario(base: Scenario, settings: dict[str, Any], seed: int) -> Scenario:
    from pydantic import ValidationError

    data = base.model_dump(mode="json")
    data.pop("sweep", None)
    for key, value in settings.items():
        set_path(data, key, value)
    data["seed"] = seed
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise explain(exc) from None


def canonical_value(value: Any) -> Any:
    """A grid value as written to results: scalars as they are, a mapping or list (a matcher
    or blocker with parameters) as canonical JSON, so results can be grouped by it."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def shown_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A point's settings as written out and hashed: inline keys redacted, values canonical."""
    return {k: canonical_value(v) for k, v in redact_keys(settings).items()}


#: Prefix of the environment variables that carry a sweep's inline keys to its processes.
KEY_VARIABLE = "MATCHSIM_SWEEP_KEY_"


def _keys_to_environment(data: Any, variables: dict[str, str]) -> None:
    """Replace each inline ``key`` in a scenario dump by a ``key_env`` naming a variable that
    holds it (``variables``: key -> variable), so no payload sent to a worker holds the key."""
    if isinstance(data, list):
        for item in data:
            _keys_to_environment(item, variables)
    elif isinstance(data, dict):
        key = data.get("key")
        if isinstance(key, str) and key != REDACTED:
            variable = variables.setdefault(key, f"{KEY_VARIABLE}{len(variables)}")
            data["key"], data["key_env"] = None, variable
        for value in data.values():
            _keys_to_environment(value, variables)


def _payload(scenario: Scenario, variables: dict[str, str]) -> str:
    data = scenario.model_dump(mode="json")
    _keys_to_environment(data, variables)
    return Scenario.model_validate(data).model_dump_json()


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """The sweep's inline keys in this process's environment (inherited by its worker
    processes) while it runs, and removed afterwards."""
    saved = {name: os.environ.get(name) for name in variables.values()}
    os.environ.update({name: key for key, name in variables.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _task_id(settings: dict[str, Any], seed: int, base: str = "") -> str:
    """A point's file name: its settings, seed and the fingerprint of the base scenario, so a
    sweep re-run with other ``--set`` values into the same directory reuses no stale point."""
    text = json.dumps({"settings": settings, "seed": seed, "base": base}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Settings that do not change a point's results: where it runs and what it is called.
_NOT_RESULTS = ("name", "description", "matchsim_version", "sweep", "executor", "partitions")


def base_fingerprint(base: Scenario) -> str:
    """A short hash of every setting of ``base`` that changes results (keys redacted)."""
    data = redact_keys(base.model_dump(mode="json"))
    for key in _NOT_RESULTS:
        data.pop(key, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities as null: points are JSON that any reader accepts."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


def _check_engines(scenario: Scenario) -> None:
    """Build the point's matcher and blocker, so a missing peer engine or a bad option is
    refused before anything is written (they are cheap to build; the work is in running)."""
    from matchsim.blocking import make_blocker
    from matchsim.matchers import make_matcher

    make_matcher(scenario.lookup.matcher)
    if scenario.lookup.blocking not in (None, "default"):
        make_blocker(scenario.lookup.blocking)


def _ignore_interrupts() -> None:
    # Worker processes leave Ctrl-C to the parent, which stops them and says what was kept.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_task(task: tuple[str, str, dict[str, Any], int]) -> tuple[str, dict[str, Any]]:
    task_id, payload, settings, seed = task
    return task_id, run_point(payload, settings, seed)


def run_point(scenario_json: str, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run one (point, seed) and return its tidy row (runs in a worker process).

    The point itself runs locally: the sweep is what is spread over the workers.
    """
    scenario = Scenario.model_validate_json(scenario_json).model_copy(update={"executor": "local"})
    run = run_scenario(scenario)
    evaluation = run.result.evaluation
    row: dict[str, Any] = {"seed": seed, **settings, "requests": run.requests.table.num_rows}
    row |= {f"n_{k}": int(v) for k, v in evaluation.counts.items()}
    row["n_in_register"] = evaluation.rates["missed_match_rate"].denominator
    for name in RATES:
        rate = evaluation.rates[name]
        row[name], row[f"{name}_low"], row[f"{name}_high"] = rate.value, rate.low, rate.high
    blocking = run.result.link.blocking
    row["candidate_pairs"] = blocking.candidate_pairs
    row["pairs_completeness"] = blocking.pairs_completeness
    row["register_pupils"] = run.census.pupils.num_rows
    return row


def run_sweep(
    base: Scenario,
    grid: dict[str, list[Any]],
    seeds: int,
    out_dir: Path,
    *,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
    create_parent: bool = False,
) -> pd.DataFrame:
    """Run the grid x seeds, resuming from ``out_dir/points``; return the tidy results.

    Points run on ``executor`` when given (e.g. a Dask client's), else on ``workers`` local
    processes. Every point is validated (settings, matcher, blocker) before anything is
    written; ``out_dir`` must be new, empty or a sweep matchsim wrote
    (:func:`matchsim.io.check_result_dir`). Ctrl-C raises :class:`matchsim.errors.Interrupted`
    saying how many points were saved.
    """
    if seeds < 1:
        raise ConfigError("sweep.seeds", f"{seeds} must be at least 1")
    if workers < 1:
        raise ConfigError("workers", f"{workers} must be at least 1")
    out_dir = Path(out_dir)
    check_result_dir(out_dir, "out", command="sweep", create_parent=create_parent)
    tasks = []
    variables: dict[str, str] = {}
    points_of: dict[str, set[str]] = {}  # task id -> the grid points (unredacted) it stands for
    fingerprint = base_fingerprint(base)
    for settings in grid_points(grid):
        shown = shown_settings(settings)
        for k in range(seeds):
            seed = base.seed + k
            scenario = point_scenario(base, settings, seed)  # validates every point up front
            if k == 0 and (executor is None or not executor.is_dask):
                # (on Dask a key_env may be set on the workers only: they check there)
                _check_engines(scenario)
            payload = _payload(scenario, variables)
            task_id = _task_id(shown, seed, fingerprint)
            points_of.setdefault(task_id, set()).add(json.dumps(settings, sort_keys=True))
            tasks.append((task_id, payload, shown, seed))
    if any(len(points) > 1 for points in points_of.values()):
        raise ConfigError(
            "sweep.grid", "two points differ only by a secret key; sweep over key_env instead"
        )
    if variables and executor is not None and executor.is_dask:
        raise ConfigError(
            "key",
            "an inline secret key is never sent to Dask workers; set key_env to an environment "
            "variable set on every worker instead",
        )
    created = _open_sweep_dir(out_dir, base.name)
    points_dir = out_dir / "points"
    todo = [t for t in tasks if not (points_dir / f"{t[0]}.json").exists()]
    done = len(tasks) - len(todo)
    if progress:
        progress(done, len(tasks))

    def save(task_id: str, row: dict[str, Any]) -> None:
        nonlocal done
        with atomic_path(points_dir / f"{task_id}.json") as tmp:
            tmp.write_text(json.dumps(_json_safe(row), allow_nan=False), encoding="utf-8")
        done += 1
        if progress:
            progress(done, len(tasks))

    saved_before = done
    try:
        if todo:
            with _environment(variables):
                _run_tasks(todo, save, workers, executor)
    except BaseException as exc:
        nothing_saved = done == saved_before
        if nothing_saved:
            _remove_created(created)
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, Interrupted):
            if nothing_saved and out_dir in created:
                raise Interrupted("nothing written") from None
            raise Interrupted(
                f"{done} of {len(tasks)} points saved in {out_dir}; run the same command to resume"
            ) from None
        raise
    rows = [json.loads((points_dir / f"{t[0]}.json").read_text(encoding="utf-8")) for t in tasks]
    frame = pd.DataFrame(rows)
    # A measure that is null at every point (no in-register requests, say) stays numeric.
    measures = [c for c in frame.columns if c not in grid and frame[c].isna().all()]
    return frame.astype(dict.fromkeys(measures, "float64"))


def _run_tasks(
    todo: list[tuple[str, str, dict[str, Any], int]],
    save: Callable[[str, dict[str, Any]], None],
    workers: int,
    executor: Executor | None,
) -> None:
    if executor is not None and executor.kind != "local":
        futures = {
            executor.submit(run_point, payload, settings, seed): task_id
            for task_id, payload, settings, seed in todo
        }
        for future in executor.as_completed(futures):
            save(futures[future], future.result())
    elif workers == 1 or (executor is not None and executor.kind == "local"):
        for task_id, payload, settings, seed in todo:
            save(task_id, run_point(payload, settings, seed))
    else:
        # multiprocessing's pool, for its terminate(): Ctrl-C stops the workers at once
        # instead of waiting for the points they are running.
        pool = multiprocessing.get_context().Pool(
            processes=min(workers, len(todo)), initializer=_ignore_interrupts
        )
        try:
            for task_id, row in pool.imap_unordered(_run_task, todo):
                save(task_id, row)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()


def _open_sweep_dir(out_dir: Path, name: str) -> list[Path]:
    """Create (or reuse) the sweep's directory, its marker and ``points/``; return what this
    call created, deepest first, for :func:`_remove_created`."""
    made: list[Path] = []
    try:
        for parent in reversed(out_dir.parents):
            if not parent.exists():  # only the default results/ is ever created here
                parent.mkdir()
                made.append(parent)
        for path, write in (
            (out_dir, Path.mkdir),
            (out_dir / RESULT_MARKER, lambda m: write_result_marker(m.parent, "sweep", name)),
            (out_dir / "points", Path.mkdir),
        ):
            if not path.exists():
                write(path)
                made.append(path)
    except OSError as exc:
        _remove_created(made)
        raise ConfigError("out", f"cannot write in {str(out_dir)!r}: {exc.strerror}") from None
    return made[::-1]


def _remove_created(made: list[Path]) -> None:
    """Undo :func:`_open_sweep_dir` when no point was saved: remove only what it created, and
    a directory only while empty."""
    for path in made:
        with contextlib.suppress(OSError):
            if path.is_dir():
                os.rmdir(path)
            else:
                os.unlink(path)


def summarise_sweep(results: pd.DataFrame, grid: dict[str, list[Any]]) -> pd.DataFrame:
    """Mean of each rate over seeds per point, with the pooled Wilson interval."""
    from matchsim.evaluation import wilson_intervals

    keys = list(grid)
    # Points written by older versions hold mappings as such: group by their canonical text.
    results = results.assign(**{k: results[k].map(canonical_value) for k in keys if k in results})
    pooled = (
        results.groupby(keys, dropna=False, sort=False)
        .agg(
            seeds=("seed", "count"),
            requests=("requests", "sum"),
            **{
                f"n_{k}": (f"n_{k}", "sum")
                for k in ("correct_match", "false_match", "missed_match", "correct_non_match")
            },
            **(
                {"n_in_register": ("n_in_register", "sum")}
                if "n_in_register" in results and results["n_in_register"].notna().all()
                else {}
            ),
        )
        .reset_index()
        if keys
        else None
    )
    if pooled is None:
        return results
    # Requests for registered children: a wrong child returned to one of them counts too.
    in_register = (
        pooled["n_in_register"]
        if "n_in_register" in pooled
        else pooled["n_correct_match"] + pooled["n_missed_match"]  # points of older versions
    )
    for name, num, den in (
        ("false_match_rate", pooled["n_false_match"], pooled["requests"]),
        ("missed_match_rate", pooled["n_missed_match"], in_register),
    ):
        low, high = wilson_intervals(num.to_numpy(), den.to_numpy())
        pooled[name] = num / den.where(den > 0)
        pooled[f"{name}_low"], pooled[f"{name}_high"] = low, high
    return pooled
