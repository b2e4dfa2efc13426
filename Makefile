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

# HOST= and PORT= count only on make's command line, since tcsh exports HOST as the machine's
# name; in the environment, TIMEBOX_HOST and TIMEBOX_PORT tell timebox the same.
SERVE_FLAGS = $(if $(filter command line,$(origin HOST)),--host $(HOST)) \
	$(if $(filter command line,$(origin PORT)),--port $(PORT))

serve: $(STAMP)  ## Run the API on http://127.0.0.1:8000, or on HOST= PORT= (embedded PostgreSQL unless TIMEBOX_DATABASE_URL).
	$(BIN)/timebox serve $(SERVE_FLAGS)

demo: $(STAMP)  ## Load the DEMO project (a team, ~120 items, 7 sprints); HOST= PORT= as for serve, RESET=1 to redo.
	$(BIN)/timebox demo $(if $(RESET),--reset,) $(SERVE_FLAGS)

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

# The OpenAPI tooling is Node (versions pinned in package.json and package-lock.json).
.PHONY: lint-openapi sdk
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

lint-openapi: $(NODE_STAMP)  ## Lint openapi.json with Redocly and Spectral (0 errors, 0 warnings).
	npm run --silent lint:openapi

sdk: $(STAMP) $(NODE_STAMP)  ## Generate the Python and TypeScript SDKs into build/sdk and compile the TypeScript one.
	bash sdk/generate.sh

bench: $(STAMP)  ## Run the load benchmarks (see bench/README.md).
	$(BIN)/python -m bench.backlog
	$(BIN)/python -m bench.sprints
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.forecast
	$(BIN)/python -m bench.conditional
	$(BIN)/python -m bench.login_flood
	$(BIN)/python -m bench.retros
	$(BIN)/python -m bench.calendar
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.events

# The load, fault and fuzz suites (bench/README.md, "Load and faults"); each exits 1 on a failed
# check. Arguments pass through: make load ARGS="--clients 20 --seconds 15".
.PHONY: load faults fuzz

load: $(STAMP)  ## 50 clients for 60 s on `timebox serve --workers 2`, then the invariants read from the database.
	$(BIN)/python -m bench.load $(ARGS)

faults: $(STAMP)  ## The load while PostgreSQL, a worker and the server are killed -9, and items is locked.
	$(BIN)/python -m bench.faults $(ARGS)

fuzz: $(STAMP)  ## Schemathesis over every operation of openapi.json as a project member (CI: ARGS=--ci).
	$(BIN)/python -m bench.fuzz $(ARGS)

clean:  ## Remove the virtualenv and caches (keeps .timebox data).
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .coverage htmlcov
