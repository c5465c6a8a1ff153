"""matchsim: how often does a name/date-of-birth/address lookup return the wrong child?

Simulates record matching on synthetic pupil census records and scores every outcome
against ground truth. No real personal data is used anywhere.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from matchsim.errors import ConfigError, MatchsimError, PlanTooLargeError, UnknownNameError
from matchsim.synth import Census, CensusConfig, generate_census

try:
    __version__ = _version("matchsim")
except _PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

__all__ = [
    "Census",
    "CensusConfig",
    "ConfigError",
    "MatchsimError",
    "PlanTooLargeError",
    "UnknownNameError",
    "__version__",
    "generate_census",
]
