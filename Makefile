# Liandong: `make run` starts everything, `make test` runs the suite. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run demo test lint bench load fuzz chaos clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## create the virtualenv and install the project with its dev tools

run: install ## migrate, seed the demo street, start api + escalator + notifier (embedded Postgres without DATABASE_URL)
	LIANDONG_ENV=$${LIANDONG_ENV:-dev} $(VENV)/bin/liandong run

demo: install ## with `make run` going in another terminal: a case pushed, reminded, escalated, accepted, in a minute
	LIANDONG_ENV=$${LIANDONG_ENV:-dev} $(VENV)/bin/liandong demo

test: install ## the whole suite against a real Postgres (DATABASE_URL, else a fresh embedded one)
	$(PY) -m pytest

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check services tests migrations
	$(VENV)/bin/mypy

bench: install ## webhook, escalator and notifier figures next to raw baselines; writes .bench/results.json
	$(PY) -m tests.bench.bench_webhook
	$(PY) -m tests.bench.bench_escalator

load: install ## a realistic mix over 1,000,000 cases (LOAD_SECONDS=30, loopback); p50/p99 per kind and the plans
	$(PY) -m tests.load.run

chaos: install ## kills, Postgres restarts and vendor faults under load (CHAOS_SECONDS=90, loopback); counts what was lost or doubled
	$(PY) -m tests.chaos.run

fuzz: install ## property-based API fuzzing from the OpenAPI schema, long (FUZZ_EXAMPLES=300 per operation, FUZZ_SECONDS=540, in-process)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} FUZZ_SECONDS=$${FUZZ_SECONDS:-540} $(PY) -m pytest tests/fuzz -p no:cacheprovider

clean:
	rm -rf $(VENV) .data .bench .pytest_cache .mypy_cache .ruff_cache
