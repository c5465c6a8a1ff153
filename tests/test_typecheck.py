"""mypy (configured in pyproject.toml, [tool.mypy]) finds no error in the package; CI runs it
with the tests, like ruff in test_lint.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes():
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is part of the test extra: pip install '.[test]'")
    # No paths on the command line: mypy checks the configured `files` (the package).
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
