# Timebox developer commands. Only Python 3.11+ is needed: PostgreSQL comes embedded (pgserver).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install serve demo test lint format migrate openapi bench clean

help:  ## List the documented targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Timebox needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install Timebox with its dev tools.

serve: $(STAMP)  ## Run the API on http://127.0.0.1:8000 (embedded PostgreSQL unless TIMEBOX_DATABASE_URL).
	$(BIN)/timebox serve

demo: $(STAMP)  ## Load the DEMO project (a team, ~120 items, 7 sprints) into the local database.
	$(BIN)/timebox demo $(if $(RESET),--reset,)

test: $(STAMP)  ## Run the whole test suite in parallel (embedded PostgreSQL unless TIMEBOX_TEST_DATABASE_URL).
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff check, ruff format --check, mypy --strict, the import-linter layer contracts.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)  ## Apply ruff's fixes and formatting.
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)  ## Upgrade the database schema.
	$(BIN)/timebox migrate

openapi: $(STAMP)  ## Regenerate the committed openapi.json.
	$(BIN)/timebox openapi --output openapi.json

bench: $(STAMP)  ## Run the load benchmarks (see bench/README.md).
	$(BIN)/python -m bench.backlog
	$(BIN)/python -m bench.sprints
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.forecast

clean:  ## Remove the virtualenv and caches (keeps .timebox data).
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .coverage htmlcov
