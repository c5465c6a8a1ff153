"""A request while errors are applied to it, and the record of one error type.

:class:`RequestDraft` holds every field of a batch of requests as numpy arrays, so an error
type edits whole columns at once; :data:`FIELDS` names the fields an error type may touch.
The registry of error types is :mod:`matchsim.requests.corruptors`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matchsim.requests.addresses import AddressContext

__all__ = ["FIELDS", "ErrorFunction", "ErrorType", "RequestDraft"]

FIELDS = ("forename", "middle_names", "surname", "date_of_birth", "sex", "address", "postcode")


@dataclass
class RequestDraft:
    """Request fields as numpy arrays while errors are applied."""

    forename: np.ndarray  # object (str)
    middle_names: np.ndarray  # object (str, "" when none)
    surname: np.ndarray  # object
    dob: np.ndarray  # int64 days since 1970-01-01
    dob_missing: np.ndarray  # bool
    sex: np.ndarray  # int8: 0 M, 1 F, -1 missing
    address_line: np.ndarray  # object
    town: np.ndarray  # object
    postcode: np.ndarray  # object
    origin: np.ndarray  # object: the person's name origin (drives multipliers)
    household: np.ndarray  # int64 row household in the history context
    address_seq: np.ndarray  # int64: which history row of the household the address is
    context: AddressContext
    #: the day the request is made: a mistyped date of birth is never after it
    request_day: int = 2**40
    address_replaced: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.forename)


ErrorFunction = Callable[[RequestDraft, np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class ErrorType:
    name: str
    fields: tuple[str, ...]
    description: str
    apply: ErrorFunction
