"""``ms.simulate``: a whole scenario run in memory, and its result files on demand.

It sits above the scenario runner and the report (writing a run includes its HTML report), so
it is a module of its own at the top of the package: :mod:`matchsim.api` holds the stages the
runner itself uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matchsim.api import check_seed
from matchsim.errors import ConfigError
from matchsim.version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from matchsim.distributed import Executor
    from matchsim.scenario import Scenario, ScenarioRun

__all__ = ["Simulation", "simulate"]


@dataclass
class Simulation:
    """A scenario run in memory: its figures, one outcome per request, and how to save it."""

    #: everything the run produced (register, requests, lookup result, timings)
    run: ScenarioRun

    @property
    def scenario(self) -> Scenario:
        return self.run.scenario

    @property
    def metrics(self) -> dict[str, Any]:
        """Every figure of the run, as ``metrics.json`` holds it (JSON-serialisable)."""
        return self.run.metrics(__version__)

    @property
    def outcomes(self) -> pd.DataFrame:
        """One row per request: its fields, the child(ren) returned, the truth and the outcome
        (``correct_match``, ``false_match``, ``missed_match``, ``correct_non_match``)."""
        return self.run.result.outcomes

    def write(self, out_dir: Path | str, *, create_parent: bool = False) -> Path:
        """Write the result files (metrics, outcomes, blocking, resolved scenario, report) into
        ``out_dir``, as ``matchsim run --out`` does, and return it.

        The write is atomic: the files are written beside ``out_dir`` and swapped in at the
        end. ``out_dir`` must be new, empty or a result matchsim wrote; anything else is
        refused (``ConfigError`` naming ``out_dir``) and left untouched.
        """
        from matchsim.report import render_report
        from matchsim.scenario import write_run

        return write_run(
            self.run, out_dir, __version__, report_html=render_report, create_parent=create_parent
        )


def simulate(
    scenario: Path | str | Mapping[str, Any] | Scenario,
    *,
    seed: int | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    stage: Callable[[str, int, int], None] | None = None,
    executor: Executor | None = None,
) -> Simulation:
    """Run a scenario: build the register, draw the requests, look them up and score them.

    Parameters
    ----------
    scenario
        A scenario file (``scenarios/*.yaml``), its settings as a mapping, or a loaded
        :class:`matchsim.scenario.Scenario`.
    seed
        The seed of the whole run (default: the scenario's).
    overrides
        Settings to change, by key path: ``{"population.pupils": 20000}``, or the command
        line's ``["population.pupils=20000"]``.
    stage
        Called as ``stage(label, done, total)`` as each stage progresses.
    executor
        Where to run (e.g. a Dask client's executor, see :mod:`matchsim.distributed`); by
        default the scenario's ``executor``.

    Examples
    --------
    >>> import matchsim as ms
    >>> run = ms.simulate({"name": "tiny", "population": {"pupils": 3000},
    ...                    "requests": {"count": 40}}, seed=1)
    >>> len(run.outcomes)
    40
    >>> sorted(run.metrics["evaluation"]["counts"])
    ['correct_match', 'correct_non_match', 'false_match', 'missed_match']
    """
    from matchsim.scenario import Scenario, load_scenario, run_scenario

    if seed is not None:
        check_seed(seed)
    items = _override_items(overrides)
    if seed is not None:
        items.append(f"seed={seed}")
    if isinstance(scenario, Scenario):
        if items:
            raise ConfigError(
                "overrides", "a loaded Scenario is already resolved; pass its file or settings"
            )
        spec = scenario
    elif isinstance(scenario, Mapping):
        spec = load_scenario(None, items, data=dict(scenario))
    elif isinstance(scenario, str | Path):
        spec = load_scenario(scenario, items)
    else:
        raise ConfigError(
            "scenario", f"{type(scenario).__name__} is not a scenario file, mapping or Scenario"
        )
    return Simulation(run_scenario(spec, stage, executor=executor))


def _override_items(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    """Overrides as ``KEY.PATH=VALUE`` items; a mapping's values are written as JSON, which
    reads back (as YAML) to the same value."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{key}={json.dumps(value, default=str)}" for key, value in overrides.items()]
    if isinstance(overrides, str) or not all(isinstance(i, str) for i in overrides):
        raise ConfigError(
            "overrides", "give a mapping {'key.path': value} or a list of 'key.path=value'"
        )
    return list(overrides)
