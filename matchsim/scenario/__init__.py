"""Scenarios: a population, who is asking with what errors, and a lookup rule, in one file.

Public surface: :class:`Scenario`, :func:`load_scenario`, :func:`run_scenario`,
:func:`write_run` and :data:`RESULT_FILES`.
"""

from __future__ import annotations

from matchsim.scenario.runner import RESULT_FILES, ScenarioRun, run_scenario, write_run
from matchsim.scenario.schema import (
    LookupConfig,
    ReportConfig,
    Scenario,
    load_scenario,
    resolved_yaml,
)

__all__ = [
    "RESULT_FILES",
    "LookupConfig",
    "ReportConfig",
    "Scenario",
    "ScenarioRun",
    "load_scenario",
    "resolved_yaml",
    "run_scenario",
    "write_run",
]
