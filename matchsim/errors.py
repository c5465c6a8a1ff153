"""Every error matchsim raises on purpose derives from :class:`MatchsimError`.

::

    MatchsimError
    ├── ConfigError          bad user input: a parameter, option, column or file
    │   └── UnknownNameError an unknown strategy, locale, profile or error type
    ├── PlanTooLargeError    a plan that would exhaust memory (e.g. a full cross join)
    └── DataIntegrityError   a shipped data file that is damaged (reinstall matchsim)

The command line turns these into a one-line message and exit code 2; anything
else is a bug and exits 1. :class:`Interrupted` (a ``KeyboardInterrupt``) carries what an
interrupted job kept; the command line prints it and exits 130. Warnings matchsim gives on
purpose derive from :class:`MatchsimWarning`; the command line prints each as one ``note:``
line.
"""

from __future__ import annotations

from collections.abc import Iterable


class MatchsimError(Exception):
    """Base class for all errors raised deliberately by matchsim."""


class ConfigError(MatchsimError, ValueError):
    """A parameter, option, column or file that the user supplied is not allowed.

    The message always names the offending field and what is allowed, e.g.
    ``pupils: -3 is not allowed; must be a whole number >= 1``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownNameError(ConfigError):
    """A name that is not in the relevant registry; the message lists the known names."""

    def __init__(self, field: str, given: str, known: Iterable[str]) -> None:
        self.given = given
        self.known = sorted(known)
        super().__init__(field, f"unknown value {given!r}; known values: {', '.join(self.known)}")


class PlanTooLargeError(MatchsimError):
    """The requested work would need more memory or time than is safe; pass force to override."""

    def __init__(self, message: str, pairs: int | None = None) -> None:
        #: the estimated number of candidate pairs that was refused, where pairs are the measure
        self.pairs = pairs
        super().__init__(message)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a long job, with what was kept (e.g. a sweep's saved points).

    A ``KeyboardInterrupt``, so code that handles that still does; ``message`` says what was
    written and how to go on, e.g. ``4 of 9 points saved in results/x-sweep; run the same
    command to resume``.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class DataIntegrityError(MatchsimError):
    """A data file shipped with matchsim fails its checks (checksum, columns or counts)."""


class MatchsimWarning(UserWarning):
    """Base class for the warnings matchsim gives on purpose: the job goes on."""


class CacheWarning(MatchsimWarning):
    """A world could not be kept in the cache: this run is right, the next one rebuilds it."""


class ProvenanceWarning(MatchsimWarning):
    """A file's stored settings do not fit this matchsim version: its data is read, and the
    settings that do not fit take this version's defaults."""
