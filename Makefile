# Everything a fresh machine needs comes from pyproject.toml and uv.lock.
UV := python3 -m uv
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PRODUCTS ?= 5000
# `make test` runs the suite on SQLite, then again on PostgreSQL when this is set.
TEST_POSTGRES_URL ?=

.PHONY: install serve test lint typecheck schema

install:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.9"
	$(UV) sync --locked

serve: install
	$(UV) run python manage.py migrate --noinput
	$(UV) run python manage.py seed_products --count $(DEMO_PRODUCTS) --if-empty
	$(UV) run uvicorn api.asgi:application --host $(HOST) --port $(PORT)

lint: install
	$(UV) run ruff format --check .
	$(UV) run ruff check .

typecheck: install
	$(UV) run mypy .

schema: install
	$(UV) run python manage.py export_schema api.schema --path schema.graphql

test: lint typecheck
	$(UV) run pytest
	@if [ -n "$(TEST_POSTGRES_URL)" ]; then \
		echo "== again on PostgreSQL =="; \
		DATABASE_URL="$(TEST_POSTGRES_URL)" $(UV) run pytest; \
	fi
