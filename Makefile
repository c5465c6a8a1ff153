# Development: the everyday loop. CI (.ci/run) runs the whole suite, `make test-all`.
#
#   make test           the fast suite: every test not marked slow (under 3 minutes on 2 cores)
#   make test-all       every test, as CI runs it, browser pages and the national run included
#   make lint           ruff's checks and formatting, as tests/test_lint.py enforces them
#   make typecheck      mypy over the package (configured in pyproject.toml), zero errors
#
# Benchmarks: see benchmarks/README.md. They are not part of CI's test run (CI runs them at
# smoke scale only, through tests/test_benchmarks_smoke.py).
#
#   make bench          the whole suite at full scale into benchmarks/results/, then the pages
#   make bench-report   benchmarks/RESULTS.md and the headline tables of README.md and
#                       benchmarks/README.md, from the committed benchmarks/results/*.json
#   make bench-smoke    every benchmark at tiny sizes, one round (no page, no targets)
#   make pprl-peer-venv a side venv with clkhash and anonlink, the PPRL benchmarks' peers
#
# The PPRL benchmarks take their ratios against clkhash and anonlink measured in the same run.
# Both import pkg_resources, so they need setuptools<81 and live in their own venv: run
# `make pprl-peer-venv`, then export MATCHSIM_PPRL_PEER_PYTHON=$(PWD)/.venv-pprl-peer/bin/python
# (the target prints the line). Without it those ratios are recorded as null and not asserted.
#
# The peer engines (recordlinkage, Splink) need `pip install -e '.[bench,peers]'` in the
# interpreter that runs the suite (recordlinkage pins pandas<3); without them those benchmarks
# skip. The whole suite at full scale takes about 35 minutes and up to about 22 GB of RAM
# (the 19.8M-individual register on a 2-worker LocalCluster is the largest).
#
# Extra pytest options go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--bench-block-pupils 100000,1000000".

PYTHON ?= python
# The run's JSON is kept with the results (commit it); pytest-benchmark records the commit in it.
BENCH_JSON ?= benchmarks/results/bench-$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown).json
BENCH_ARGS ?=
BENCH_PYTEST = $(PYTHON) -m pytest benchmarks -p no:cacheprovider --benchmark-only
PPRL_PEER_VENV ?= .venv-pprl-peer

.PHONY: test test-all lint typecheck bench bench-report bench-smoke pprl-peer-venv

test:
	$(PYTHON) -m pytest -m "not slow" -q

test-all:
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check matchsim tests benchmarks
	$(PYTHON) -m ruff format --check matchsim tests benchmarks

typecheck:
	$(PYTHON) -m mypy


# The page is regenerated even when a target is missed (pytest then fails, and so does make),
# since a missed target is a result too; without JSON (pytest did not get that far) it is not.
bench:
	rm -f $(BENCH_JSON)  # a failed run must not leave the previous run's JSON to be reported
	$(BENCH_PYTEST) --benchmark-json=$(BENCH_JSON) $(BENCH_ARGS); status=$$?; \
	test -f $(BENCH_JSON) && $(PYTHON) -m benchmarks.report && exit $$status

bench-report:
	$(PYTHON) -m benchmarks.report

bench-smoke:
	$(BENCH_PYTEST) --bench-scale=smoke $(BENCH_ARGS)

pprl-peer-venv:
	python3 -m venv $(PPRL_PEER_VENV)
	$(PPRL_PEER_VENV)/bin/python -m pip install --quiet 'setuptools<81' clkhash anonlink
	@echo "export MATCHSIM_PPRL_PEER_PYTHON=$(abspath $(PPRL_PEER_VENV))/bin/python"
