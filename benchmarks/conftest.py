"""Options and fixtures shared by the matchsim benchmarks.

The benchmarks are not unit tests: ``pyproject.toml`` sets ``testpaths = ["tests"]``, so a
plain ``pytest`` never collects this directory. Run them explicitly::

    python -m pytest benchmarks -p no:cacheprovider --benchmark-only            # full scale
    python -m pytest benchmarks -p no:cacheprovider --benchmark-only --bench-scale=smoke

Scale is chosen by ``--bench-scale`` or, failing that, the ``MATCHSIM_BENCH_SCALE``
environment variable (``smoke`` or ``full``; default ``full``). Targets are asserted only at
full scale; a smoke run only checks that every benchmark runs and returns the right row count.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks._match_scale import MatchScale, match_scale_for
from benchmarks._measure import apply_overrides

pytest.importorskip(
    "pytest_benchmark", reason="the benchmarks need pytest-benchmark (pip install matchsim[bench])"
)

SCALE_ENV = "MATCHSIM_BENCH_SCALE"
_DIGEST_KEY = pytest.StashKey[str]()
SCALES = ("smoke", "full")


@dataclass(frozen=True)
class BenchScale:
    """Sizes and targets for one benchmark run."""

    name: str
    #: Pupils per round of the in-process matchsim throughput benchmark.
    pupils: int
    #: Records per round of the Faker per-record baseline.
    faker_records: int
    #: Measured rounds (and warm-up rounds) of the two throughput benchmarks.
    rounds: int
    warmup_rounds: int
    #: ``CensusConfig`` keyword arguments of the two big runs (each in a fresh subprocess).
    census_kwargs: dict[str, Any]
    register_kwargs: dict[str, Any]
    workers: int
    seed: int = 2024

    @property
    def full(self) -> bool:
        """Targets are asserted only at full scale."""
        return self.name == "full"


def _scale(name: str) -> BenchScale:
    if name == "smoke":
        return BenchScale(
            name="smoke",
            pupils=20_000,
            faker_records=500,
            rounds=1,
            warmup_rounds=0,
            census_kwargs={"pupils": 20_000},
            register_kwargs={"pupils": 20_000, "birth_years": (1990, 2020)},
            workers=2,
        )
    return BenchScale(
        name="full",
        pupils=1_000_000,
        faker_records=5_000,
        rounds=3,
        warmup_rounds=1,
        census_kwargs={},  # CensusConfig() default: 9,092,073 pupils, January 2024
        register_kwargs={"birth_years": (1990, 2020)},  # pupils from births: about 19.8M
        workers=2,
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("matchsim-bench", "matchsim benchmark sizes")
    group.addoption(
        "--bench-scale",
        choices=SCALES,
        default=None,
        help=f"smoke (tiny, seconds) or full (targets asserted); default ${SCALE_ENV} or full",
    )
    group.addoption(
        "--bench-pupils",
        type=int,
        default=None,
        help="pupils per round of the in-process matchsim throughput benchmark",
    )
    group.addoption(
        "--bench-faker-records",
        type=int,
        default=None,
        help="records per round of the Faker per-record baseline",
    )
    group.addoption(
        "--bench-rounds",
        type=int,
        default=None,
        help="measured rounds of the two throughput benchmarks",
    )
    group.addoption(
        "--bench-workers",
        type=int,
        default=None,
        help="workers passed to generate_census (default 2)",
    )


def scale_name(config: pytest.Config) -> str:
    """``--bench-scale``, else ``$MATCHSIM_BENCH_SCALE``, else ``full``."""
    name = config.getoption("--bench-scale") or os.environ.get(SCALE_ENV, "full").strip().lower()
    if name not in SCALES:
        raise pytest.UsageError(f"{SCALE_ENV}={name!r}: expected one of {', '.join(SCALES)}")
    return name


@pytest.fixture(scope="session")
def bench_scale(pytestconfig: pytest.Config) -> BenchScale:
    scale = _scale(scale_name(pytestconfig))
    overrides = {
        "pupils": pytestconfig.getoption("--bench-pupils"),
        "faker_records": pytestconfig.getoption("--bench-faker-records"),
        "rounds": pytestconfig.getoption("--bench-rounds"),
        "workers": pytestconfig.getoption("--bench-workers"),
    }
    return apply_overrides(scale, overrides, "the --bench option")


@pytest.fixture(scope="session")
def bench_results() -> dict[str, float]:
    """Figures shared between benchmarks of one run (the Faker rate, for the ratio)."""
    return {}


def code_digest() -> str:
    """Short SHA-256 of the generator's sources (``matchsim/synth/**/*.py``), to tie figures to
    code."""
    import matchsim.synth

    root = Path(matchsim.synth.__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for dist in ("matchsim", "numpy", "pyarrow", "pandas", "faker", "pytest-benchmark"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:  # pragma: no cover
            versions[dist] = None
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        mem_gb = None
    return {"cpus": os.cpu_count(), "memory_gb": mem_gb, "versions": versions}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_DIGEST_KEY] = code_digest()


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    """Add the scale, library versions and code digest to ``--benchmark-json``."""
    start = config.stash.get(_DIGEST_KEY, None)
    end = code_digest()
    output_json["matchsim"] = {
        "scale": config.getoption("--bench-scale") or os.environ.get(SCALE_ENV, "full"),
        "synth_digest_start": start,
        "synth_digest_end": end,
        # True means matchsim/synth changed on disk during the run: the figures mix versions.
        "synth_changed_during_run": start is not None and start != end,
        **_environment(),
    }


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    start = config.stash.get(_DIGEST_KEY, None)
    if start is not None and start != code_digest():
        terminalreporter.write_line(
            "WARNING: matchsim/synth changed on disk during this benchmark run; "
            "the figures mix code versions.",
            red=True,
            bold=True,
        )


def pytest_report_header(config: pytest.Config) -> str:
    name = config.getoption("--bench-scale") or os.environ.get(SCALE_ENV, "full")
    return f"matchsim benchmarks: scale={name} (--bench-scale / {SCALE_ENV})"


# ============================================================================================
# Matching benchmarks (test_throughput.py, test_end_to_end.py, test_accuracy.py)
#
# Nothing above depends on this section. It adds the matching sizes as options and the
# ``match_scale`` fixture, and fingerprints the sources the matching benchmarks run
# (blocking, comparison, matchers and linkage live outside matchsim/synth, which the digest
# above covers). The hooks below carry ``specname`` so that they sit beside the hooks above
# instead of replacing them.
# ============================================================================================

_MATCHING_DIGEST_KEY = pytest.StashKey[str]()

#: option -> help; each takes a whole number >= 1 and overrides the scale's default.
MATCHING_OPTIONS = {
    "--bench-match-pupils": "pupils in the census of the comparison-throughput benchmark",
    "--bench-match-requests": "requests drawn for the comparison-throughput benchmark",
    "--bench-match-rounds": "measured rounds of the two comparison-throughput benchmarks",
    "--bench-match-peer-pairs": (
        "compare at most this many candidate pairs in the throughput benchmarks (a sample; "
        "both libraries get the same pairs); default: all"
    ),
    "--bench-e2e-requests": "requests per batch in the end-to-end lookup benchmark",
}


@pytest.hookimpl(specname="pytest_addoption")
def pytest_addoption_matching(parser: pytest.Parser) -> None:
    group = parser.getgroup("matchsim-bench-matching", "matchsim matching benchmark sizes")
    for option, text in MATCHING_OPTIONS.items():
        group.addoption(option, type=int, default=None, help=text)


@pytest.fixture(scope="session")
def match_scale(bench_scale: BenchScale, pytestconfig: pytest.Config) -> MatchScale:
    return match_scale_for(bench_scale, pytestconfig)


#: What the matching benchmarks run, relative to ``matchsim/`` (files, or folders of .py files).
MATCHING_SOURCES = (
    "__init__.py",
    "errors.py",
    "io.py",
    "records",
    "linkage",
    "decision.py",
    "blocking",
    "comparison",
    "matchers",
    "peers",
    "evaluation",
    "requests",
    "synth",
)


def matching_code_digest() -> str:
    """Short SHA-256 of the sources the matching benchmarks run, to tie figures to code."""
    import matchsim

    root = Path(matchsim.__file__).parent
    h = hashlib.sha256()
    for source in MATCHING_SOURCES:
        path = root / source
        if not path.exists() and path.suffix == ".py":  # a module that became a package
            path = path.with_suffix("")
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(str(file.relative_to(root)).encode())
            h.update(file.read_bytes() if file.exists() else b"")
    return h.hexdigest()[:12]


@pytest.hookimpl(specname="pytest_sessionstart")
def pytest_sessionstart_matching(session: pytest.Session) -> None:
    session.config.stash[_MATCHING_DIGEST_KEY] = matching_code_digest()


@pytest.hookimpl(specname="pytest_benchmark_update_json", trylast=True)
def pytest_benchmark_update_json_matching(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    """Add the matching digest to the ``matchsim`` key written above (hence trylast)."""
    start = config.stash.get(_MATCHING_DIGEST_KEY, None)
    end = matching_code_digest()
    info = output_json.setdefault("matchsim", {})
    info["matching_digest_start"] = start
    info["matching_digest_end"] = end
    # True means a source the matching benchmarks run changed on disk during the run.
    info["matching_sources_changed_during_run"] = start is not None and start != end
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("recordlinkage", "rapidfuzz", "jellyfish", "scikit-learn", "splink", "duckdb"):
        try:
            info.setdefault("versions", {})[dist] = version(dist)
        except PackageNotFoundError:
            info.setdefault("versions", {})[dist] = None


@pytest.hookimpl(specname="pytest_terminal_summary")
def pytest_terminal_summary_matching(
    terminalreporter: Any, exitstatus: int, config: pytest.Config
) -> None:
    start = config.stash.get(_MATCHING_DIGEST_KEY, None)
    if start is not None and start != matching_code_digest():
        terminalreporter.write_line(
            "WARNING: matchsim sources the matching benchmarks run changed on disk during "
            "this benchmark run; the matching figures mix code versions.",
            red=True,
            bold=True,
        )


# ============================================================================================
# Blocking benchmarks (benchmarks/test_blocking.py) and the results page (benchmarks/report.py)
#
# It adds the blocking sizes as options, and records
# in ``--benchmark-json`` what the results page needs beyond pytest-benchmark's own figures:
# the command that ran, and every benchmark test's outcome (a skipped or failed benchmark has
# no entry of its own in the JSON, yet the page should say it did not run, and why).
# ============================================================================================

_OUTCOMES_KEY = pytest.StashKey[dict[str, dict[str, str]]]()


@pytest.hookimpl(specname="pytest_addoption")
def pytest_addoption_blocking(parser: pytest.Parser) -> None:
    group = parser.getgroup("matchsim-bench-blocking", "matchsim blocking benchmark sizes")
    group.addoption(
        "--bench-block-pupils",
        default=None,
        help=(
            "census sizes of the blocking benchmark, comma-separated pupil counts; 'national' "
            "is CensusConfig() (9,092,073 pupils). Default: 100000,1000000,national (full), "
            "2000,20000 (smoke)"
        ),
    )
    group.addoption(
        "--bench-block-requests",
        type=int,
        default=None,
        help="requests in the one request set looked up at every census size",
    )


@pytest.hookimpl(specname="pytest_runtest_makereport", wrapper=True)
def pytest_runtest_makereport_outcomes(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    # A test's outcome is that of its call, unless its set-up was skipped or failed first.
    if report.when == "call" or report.outcome != "passed":
        entry = {"outcome": report.outcome, "when": report.when}
        if report.skipped and isinstance(report.longrepr, tuple):
            entry["reason"] = str(report.longrepr[2]).removeprefix("Skipped: ")
        elif report.failed:
            lines = report.longreprtext.strip().splitlines()
            entry["reason"] = lines[-1][:300] if lines else ""
        outcomes = item.config.stash.setdefault(_OUTCOMES_KEY, {})
        outcomes.setdefault(report.nodeid, entry)
    return report


@pytest.hookimpl(specname="pytest_benchmark_update_json", trylast=True)
def pytest_benchmark_update_json_outcomes(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    """The command that ran and each test's outcome, under the ``matchsim`` key."""
    info = output_json.setdefault("matchsim", {})
    info["command"] = shlex.join(["python", "-m", "pytest", *config.invocation_params.args])
    info["outcomes"] = config.stash.get(_OUTCOMES_KEY, {})


# ============================================================================================
# The national lookup against Splink (benchmarks/test_national.py)
# ============================================================================================


@pytest.hookimpl(specname="pytest_addoption")
def pytest_addoption_national(parser: pytest.Parser) -> None:
    group = parser.getgroup("matchsim-bench-national", "matchsim national lookup benchmark")
    group.addoption(
        "--bench-national-pupils",
        type=int,
        default=None,
        help="pupils in the census instead of the scale's (a reduced run: reported, not judged)",
    )
