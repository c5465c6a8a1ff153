"""Every docstring example in matchsim runs here, in the normal test run.

Only the modules whose source holds a ``>>>`` line are imported, so this run never loads an
optional engine (recordlinkage, splink, dask) or the data build scripts unless they carry
examples. The examples use tiny sizes: the whole run takes a few seconds.

Examples run with the flags of pyproject's ``doctest_optionflags`` (ELLIPSIS and
NORMALIZE_WHITESPACE, as numpy's and pandas' own do), as ``pytest --doctest-modules`` would. An
example skipped with ``# doctest: +SKIP`` says why just above it: only national scale or an
optional engine is a reason.
"""

from __future__ import annotations

import doctest
import importlib
import io
import re
from pathlib import Path

import pytest

import matchsim

PACKAGE = Path(matchsim.__path__[0])
PROMPT = re.compile(r"^\s*>>>", re.MULTILINE)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: The modules with at least one example line, found by reading the source (nothing imported).
MODULES = [
    _module_name(path)
    for path in sorted(PACKAGE.rglob("*.py"))
    if PROMPT.search(path.read_text(encoding="utf-8"))
]


def _doctests(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    # DocTestFinder keeps to objects defined in the module: re-exports are run where they live.
    tests = doctest.DocTestFinder().find(module)
    return sorted((t for t in tests if t.examples), key=lambda t: t.name)


def test_the_scan_finds_the_documented_modules():
    assert {"matchsim", "matchsim.api", "matchsim.simulation"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, pytestconfig: pytest.Config):
    options = 0
    for flag in pytestconfig.getini("doctest_optionflags"):
        options |= doctest.OPTIONFLAGS_BY_NAME[flag]
    runner = doctest.DocTestRunner(optionflags=options)
    report = io.StringIO()
    for test in _doctests(name):
        runner.run(test, out=report.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, report.getvalue()


@pytest.mark.parametrize("name", MODULES)
def test_every_example_line_is_collected(name: str):
    """A ``>>>`` line that doctest does not collect would silently stop being checked.

    That happens to an example in a comment, in a plain string, in a nested function's docstring
    or on an object doctest does not walk (a numba dispatcher, say): put it on a public function,
    class or method instead.
    """
    module = importlib.import_module(name)
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    written = len(PROMPT.findall(source))
    collected = sum(len(test.examples) for test in _doctests(name))
    assert collected > 0, f"{name} has {written} '>>>' lines but doctest collects no example"
    assert collected == written, f"{name}: doctest collects {collected} of {written} '>>>' lines"
