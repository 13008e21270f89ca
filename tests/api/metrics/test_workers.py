"""Several worker processes (``uvicorn --workers 2``) sharing
``PROMETHEUS_MULTIPROC_DIR``: whichever of them a scrape reaches, it
reports what all of them counted; and ``make serve WORKERS=2``, which
gives them that directory."""

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.api.metrics.scrape import scrape, value
from tests.conftest import QUIET, ROOT, free_port, running_uvicorn, wait_until_healthy

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
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"")  # a previous run's, removed at start
    env = {**os.environ, "DATABASE_URL": test_database_url}
    command = ["make", "serve", f"PORT={port}", "WORKERS=2", "DEMO_PRODUCTS=1"]
    command.append(f"PROMETHEUS_MULTIPROC_DIR={metrics_dir}")
    log = tmp_path / "make-serve.log"
    with log.open("wb") as output:
        make = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, uv and uvicorn: one group to stop
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base_url, make, within=300)
        except RuntimeError:
            pytest.fail(log.read_text())
        for _ in range(REQUESTS):
            assert httpx.post(f"{base_url}/graphql/", json={"query": PAGE}).status_code == 200
        labels = {"transport": "http", "operation_type": "query", "operation_name": "WorkerPage"}
        for _ in range(6):
            samples = scrape(base_url)
            assert value(samples, "conveyor_graphql_operations_total", labels) == REQUESTS
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
    assert not (metrics_dir / "counter_1.db").exists()
