"""matchsim: how often does a name/date-of-birth/address lookup return the wrong child?

Simulates record matching on synthetic pupil census records and scores every outcome
against ground truth. No real personal data is used anywhere.

A scenario at national density (millions of pupils: too large for a doctest; the
README's test runs it at reduced size):

>>> import matchsim as ms
>>> run = ms.simulate("scenarios/home-office-lookup.yaml")  # doctest: +SKIP
>>> run.metrics["evaluation"]["rates"]["false_match_rate"]  # doctest: +SKIP
{'value': ..., 'low': ..., 'high': ..., 'numerator': ..., 'denominator': ...}

The facade (:mod:`matchsim.simulation` and :mod:`matchsim.api`): :func:`simulate`, :func:`link`, :func:`dedupe`,
:func:`lookup`, :func:`generate_census` and :func:`generate_requests`. They, and the register
types, are imported on first use: ``import matchsim.errors`` loads neither pandas nor the
synthetic world.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

from matchsim.errors import ConfigError, MatchsimError, PlanTooLargeError, UnknownNameError
from matchsim.version import __version__

if _TYPE_CHECKING:
    from matchsim.api import dedupe, generate_census, generate_requests, link, lookup
    from matchsim.simulation import Simulation, simulate
    from matchsim.synth import Census, CensusConfig


#: Public name -> the module that defines it, imported on first use.
_LAZY = {
    "Simulation": "matchsim.simulation",
    "dedupe": "matchsim.api",
    "generate_census": "matchsim.api",
    "generate_requests": "matchsim.api",
    "link": "matchsim.api",
    "lookup": "matchsim.api",
    "simulate": "matchsim.simulation",
    "Census": "matchsim.synth",
    "CensusConfig": "matchsim.synth",
}

__all__ = [
    "Census",
    "CensusConfig",
    "ConfigError",
    "MatchsimError",
    "PlanTooLargeError",
    "Simulation",
    "UnknownNameError",
    "__version__",
    "dedupe",
    "generate_census",
    "generate_requests",
    "link",
    "lookup",
    "simulate",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value  # later lookups find it without this hook
        return value
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:  # a subpackage not imported yet, e.g. ``matchsim.synth`` after ``import matchsim``
        return _importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
