"""Comparison tests that take the ``comparison_kernel`` fixture run on both implementations:
the compiled kernels and the numpy reference they must agree with (``compare(kernel=...)``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", params=["numba", "numpy"])
def comparison_kernel(request):
    return request.param
