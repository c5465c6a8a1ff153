"""Comparison tests that mark themselves with ``comparison_kernel`` run on both
implementations: the compiled kernels and the numpy reference they must agree with."""

from __future__ import annotations

import pytest

from matchsim.comparison import base


@pytest.fixture(params=["numba", "numpy"])
def comparison_kernel(request, monkeypatch):
    monkeypatch.setattr(base, "KERNEL", request.param)
    return request.param
