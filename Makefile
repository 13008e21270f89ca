# Everything a fresh machine needs comes from pyproject.toml and uv.lock.
# uv is the one on PATH, else one installed into a virtual environment of its
# own, $(BOOTSTRAP): a distribution's Python refuses `pip install` outside one.
PYTHON ?= python3
BOOTSTRAP := .bootstrap
UV := $(or $(shell command -v uv 2>/dev/null),$(BOOTSTRAP)/bin/uv)
# Packages are installed with their bytecode: no command then compiles a
# thousand modules first (at every start, where PYTHONDONTWRITEBYTECODE is set).
export UV_COMPILE_BYTECODE := 1
HOST ?= 127.0.0.1
PORT ?= 8000
# Server processes: each tails the change log, so subscribers of any see every write.
# One per core unless WEB_CONCURRENCY says otherwise (one process uses one core).
WORKERS ?= $(or $(WEB_CONCURRENCY),$(shell nproc 2>/dev/null || echo 2))
# Where the processes keep the metrics a scrape of any of them sums; its
# metrics files are removed at every start (api/metrics/registry.py).
PROMETHEUS_MULTIPROC_DIR ?= $(or $(TMPDIR),/tmp)/conveyor-metrics-$(PORT)
DEMO_PRODUCTS ?= 5000
# `make test` runs the suite with the compiled path forced off (GRAPHQL_COMPILED)
# on SQLite, then forced on: on PostgreSQL when this is set, else on SQLite again.
TEST_POSTGRES_URL ?=

.PHONY: install runtime serve test lint typecheck schema

$(BOOTSTRAP)/bin/uv:
	@$(PYTHON) -m venv --clear $(BOOTSTRAP) || { echo "Could not create $(BOOTSTRAP) with $(PYTHON): install its venv module (Debian, Ubuntu: apt install python3-venv), or uv itself (https://docs.astral.sh/uv/)." >&2; exit 1; }
	$(BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.9"

# The bootstrapped uv first, when it is the one used.
install runtime: | $(filter $(BOOTSTRAP)/%,$(UV))

# Everything, the development tools included.
install:
	$(UV) sync --locked

# The runtime dependencies, leaving alone the development tools already there
# (`--no-dev` alone would remove them, and the next `make test` reinstall them).
runtime:
	$(UV) sync --locked --no-dev --inexact

# `--no-sync`: `uv run` would otherwise install the development tools too.
serve: runtime
	$(UV) run --no-sync python manage.py migrate --noinput
	$(UV) run --no-sync python manage.py seed_products --count $(DEMO_PRODUCTS) --if-empty
	mkdir -p $(PROMETHEUS_MULTIPROC_DIR) && rm -f $(PROMETHEUS_MULTIPROC_DIR)/*.db
	PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) $(UV) run --no-sync uvicorn api.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: install
	$(UV) run ruff format --check .
	$(UV) run ruff check .

typecheck: install
	$(UV) run mypy .

schema: install
	$(UV) run python manage.py export_schema api.schema --path schema.graphql

# The JavaScript clients the tests run against the server (package-lock.json).
node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

test: lint typecheck node_modules
	GRAPHQL_COMPILED=off $(UV) run pytest
	@if [ -n "$(TEST_POSTGRES_URL)" ]; then \
		echo "== again on PostgreSQL, with GRAPHQL_COMPILED=on =="; \
		DATABASE_URL="$(TEST_POSTGRES_URL)" GRAPHQL_COMPILED=on $(UV) run pytest; \
	else \
		echo "== again with GRAPHQL_COMPILED=on =="; \
		GRAPHQL_COMPILED=on $(UV) run pytest; \
	fi
