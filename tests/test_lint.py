"""ruff (configured in pyproject.toml) keeps the code base tidy; CI runs it with the tests."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is part of the test extra: pip install '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "matchsim", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_api_lists_exactly_its_names():
    import types

    import matchsim

    public = {
        name
        for name in dir(matchsim)
        if not name.startswith("_") and not isinstance(getattr(matchsim, name), types.ModuleType)
    }
    assert set(matchsim.__all__) - {"__version__"} == public
