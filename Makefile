# accounts: `make run` serves on the embedded defaults, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
STAMP_RUNTIME := $(VENV)/.runtime-installed
STAMP_DEV := $(VENV)/.dev-installed

.PHONY: help run test system-packages lint typecheck imports unit integration security reliability audit soak \
	format lock migrate openapi openapi-update readme-config clean bench bench-cpu bench-instructions \
	bench-ratelimit bench-workers bench-discovery bench-issuer \
	lint-deploy

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv installs from the hashed lock files; bootstrapped into the venv when the machine lacks it.
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set, every process the tests
# start would otherwise compile the libraries again on import.
$(BIN)/uv: | $(BIN)/python
	@command -v uv >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(STAMP_RUNTIME): requirements/runtime.txt pyproject.toml | $(BIN)/uv
	$(UV) pip install --python $(BIN)/python --compile-bytecode --require-hashes -r requirements/runtime.txt
	$(UV) pip install --python $(BIN)/python --no-deps --editable .
	@rm -f $(STAMP_DEV) && touch $@

$(STAMP_DEV): requirements/dev.txt pyproject.toml | $(BIN)/uv
	$(UV) pip sync --python $(BIN)/python --compile-bytecode --require-hashes requirements/dev.txt
	$(UV) pip install --python $(BIN)/python --no-deps --editable .
	@touch $@ $(STAMP_RUNTIME)

run: $(STAMP_RUNTIME) ## Migrate the SQLite file and serve on http://127.0.0.1:8000
	$(BIN)/accounts migrate
	$(BIN)/accounts serve

# A test that skips fails its suite: TEST_PARTIAL=1 accepts a partial run (tests/conftest.py).
test: system-packages $(STAMP_DEV) lint lint-deploy typecheck imports audit unit integration security reliability ## Every check: lint, types, imports, audit, all test suites (TEST_PARTIAL=1 accepts skips)

system-packages: ## nginx, Chromium, redis-server, PostgreSQL for the tests: installed as root, else named
	@$(PYTHON) scripts/system_packages.py

lint: $(STAMP_DEV) ## ruff lint and format check
	$(BIN)/ruff check src tests bench deploy scripts examples gunicorn.conf.py
	$(BIN)/ruff format --check src tests bench deploy scripts examples gunicorn.conf.py

format: $(STAMP_DEV) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench deploy scripts examples gunicorn.conf.py
	$(BIN)/ruff format src tests bench deploy scripts examples gunicorn.conf.py

lint-deploy: $(STAMP_DEV) ## hadolint on the Dockerfile; Kubernetes manifests rendered and schema-checked
	$(BIN)/hadolint Dockerfile
	$(BIN)/python deploy/k8s/validate.py

typecheck: $(STAMP_DEV) ## mypy --strict on src/
	$(BIN)/mypy

imports: $(STAMP_DEV) ## import-linter contracts (the hexagon's layers)
	$(BIN)/lint-imports

unit: $(STAMP_DEV) ## Unit tests (fakes only, no I/O)
	$(BIN)/pytest tests/unit -q

integration: $(STAMP_DEV) ## Integration tests (real Postgres and Redis: TEST_*_URL, else local, else started)
	$(BIN)/pytest tests/integration -q

security: $(STAMP_DEV) ## OWASP API Top 10 suite, schemathesis fuzzing, login timing (real Postgres)
	$(BIN)/pytest tests/system/security -q

reliability: $(STAMP_DEV) ## Database fault injection and the short soak (real Postgres and Redis)
	$(BIN)/pytest tests/system/reliability -q

# pip-audit, then PyPI's project JSON for what it skipped (valid when the pin is the latest
# release); the rest is named NOT CHECKED. Fails on a known vulnerability, under CI=true when a
# lock file had nothing checked, with AUDIT_FLAGS=--strict on anything unchecked. AUDIT_PYPI_URL
# points it at another index's JSON API.
audit: $(STAMP_DEV) ## Known vulnerabilities in the lock files (pip-audit; AUDIT_FLAGS=--strict fails on unchecked ones)
	$(BIN)/python scripts/audit.py requirements/runtime.txt requirements/dev.txt $(AUDIT_FLAGS)

soak: $(STAMP_DEV) ## Two minutes of mixed traffic at 64 connections through Gunicorn (SOAK_SECONDS)
	SOAK_SECONDS=$${SOAK_SECONDS:-120} $(BIN)/pytest tests/system/reliability/test_soak.py -q -s

bench: $(STAMP_DEV) ## The service vs bare FastAPI under Gunicorn + wrk: table, JSON, chart, RESULTS.md (BENCH_ARGS=--quick)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-cpu: $(STAMP_DEV) ## CPU per request of the app itself (ASGI, no server): limits off vs memory vs Redis
	$(BIN)/python bench/request_cpu.py $(BENCH_ARGS)

bench-instructions: $(STAMP_DEV) ## Instructions per request of the app itself (callgrind: deterministic, needs valgrind)
	$(BIN)/python bench/request_instructions.py $(BENCH_ARGS)

bench-ratelimit: $(STAMP_DEV) ## Rate-limit overhead on GET /users/me: disabled vs memory vs Redis
	$(BIN)/python bench/rate_limit_overhead.py $(BENCH_ARGS)

bench-workers: $(STAMP_DEV) ## Gunicorn throughput at 1, 2, 4 workers per core: /users/me and /health/live
	$(BIN)/python bench/gunicorn_workers.py $(BENCH_ARGS)

bench-discovery: $(STAMP_DEV) ## JWKS and discovery vs the bare app; the example resource server's protected vs open route
	$(BIN)/python bench/discovery.py $(BENCH_ARGS)

bench-issuer: $(STAMP_DEV) ## client_credentials and introspection vs the floor app (fresh Postgres database)
	$(BIN)/python bench/issuer.py $(BENCH_ARGS)

migrate: $(STAMP_RUNTIME) ## Apply migrations to ACCOUNTS_DATABASE_URL
	$(BIN)/accounts migrate

openapi: $(STAMP_RUNTIME) ## Print the OpenAPI document
	@$(BIN)/accounts openapi

openapi-update: $(STAMP_RUNTIME) ## Regenerate docs/openapi.json (a test compares it with the app's)
	$(BIN)/accounts openapi > docs/openapi.json

lock: | $(BIN)/uv ## Re-pin requirements/*.txt from pyproject.toml (versions and hashes only)
	$(UV) pip compile pyproject.toml --generate-hashes --no-header --python-version 3.11 -o requirements/runtime.txt
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --no-header --python-version 3.11 -o requirements/dev.txt

readme-config: $(STAMP_RUNTIME) ## Regenerate the README's configuration table from Settings
	$(BIN)/python -c 'import re, pathlib; from entrypoints.settings import configuration_table as t; p = pathlib.Path("README.md"); p.write_text(re.sub(r"(<!-- config:start -->\n).*?(\n<!-- config:end -->)", lambda m: m[1] + t() + m[2], p.read_text(), flags=re.S))'

clean: ## Remove the venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
