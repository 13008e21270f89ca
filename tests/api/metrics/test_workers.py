"""Several worker processes (``uvicorn --workers 2``) sharing
``PROMETHEUS_MULTIPROC_DIR``: whichever of them a scrape reaches, it
reports what all of them counted; and ``make serve WORKERS=2``, which
gives them that directory."""

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.api.metrics.scrape import scrape, value
from tests.conftest import QUIET, free_port, running_make_serve, running_uvicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REQUESTS = 40
PAGE = "query WorkerPage { products(first: 1) { totalCount } }"


def test_counts_add_up_across_two_workers(test_database_url, tmp_path: Path):
    settings = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    options = ("--workers", "2", *QUIET)
    with running_uvicorn(test_database_url, settings, options=options) as base_url:
        for _ in range(REQUESTS):
            # A connection each: the kernel hands them to either worker.
            response = httpx.post(f"{base_url}/graphql/", json={"query": PAGE})
            assert response.status_code == 200
        counting = {
            match.group(1)
            for file in tmp_path.iterdir()
            if (match := re.fullmatch(r"counter_(\d+)\.db", file.name))
        }
        assert len(counting) == 2, "both workers served requests"
        labels = {"transport": "http", "operation_type": "query", "operation_name": "WorkerPage"}
        for _ in range(6):  # scrapes too reach either worker
            samples = scrape(base_url)
            assert value(samples, "conveyor_graphql_operations_total", labels) == REQUESTS
            histogram = {"operation_type": "query", "operation_name": "WorkerPage"}
            assert (
                value(samples, "conveyor_graphql_operation_duration_seconds_count", histogram)
                == REQUESTS
            )


def test_make_serve_with_two_workers_sums_their_counts(test_database_url, tmp_path: Path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"")  # a previous run's, removed at start
    arguments = [f"PORT={free_port()}", "WORKERS=2", "DEMO_PRODUCTS=1"]
    arguments.append(f"PROMETHEUS_MULTIPROC_DIR={metrics_dir}")
    env = {**os.environ, "DATABASE_URL": test_database_url}
    with running_make_serve(
        arguments, tmp_path / "make-serve.log", env=env, within=300
    ) as base_url:
        for _ in range(REQUESTS):
            assert httpx.post(f"{base_url}/graphql/", json={"query": PAGE}).status_code == 200
        labels = {"transport": "http", "operation_type": "query", "operation_name": "WorkerPage"}
        for _ in range(6):
            samples = scrape(base_url)
            assert value(samples, "conveyor_graphql_operations_total", labels) == REQUESTS
    assert not (metrics_dir / "counter_1.db").exists()
