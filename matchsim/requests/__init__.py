"""Requests with ground truth: who asks, what they hold, and how it differs from the register.

The public surface: :func:`generate_requests`, :class:`RequestConfig`, :class:`RequestSet`,
the profile registry :data:`PROFILES` and the error-type registry :data:`ERROR_TYPES`.
"""

from __future__ import annotations

from matchsim.requests.config import RequestConfig
from matchsim.requests.corruptors import ERROR_TYPES, error_type
from matchsim.requests.draft import FIELDS, ErrorType
from matchsim.requests.generate import RequestSet, generate_requests
from matchsim.requests.profiles import BASE_ERRORS, PROFILES, Profile, get_profile, register_profile

__all__ = [
    "BASE_ERRORS",
    "ERROR_TYPES",
    "FIELDS",
    "PROFILES",
    "ErrorType",
    "Profile",
    "RequestConfig",
    "RequestSet",
    "error_type",
    "generate_requests",
    "get_profile",
    "register_profile",
]
