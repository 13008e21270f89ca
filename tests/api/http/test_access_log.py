"""One structured line per HTTP request, read from the output of a real
uvicorn started as the README and the Dockerfile start it: no text access
line of uvicorn's beside it, and no warning for a client's mistake."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import running_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = {"query": "query Shelf { products(first: 1) { totalCount } }"}
DEEP = b"[" * 100_000 + b"]" * 100_000

# (request id, how it is sent, status answered)
REQUESTS: list[tuple[str, dict[str, Any], int]] = [
    ("ok", {"method": "POST", "url": "/graphql/", "json": QUERY}, 200),
    (
        "graphql-error",
        {"method": "POST", "url": "/graphql/", "json": {"query": "{ products(first: 101) { totalCount } }"}},
        200,
    ),
    ("anonymous-mutation", {"method": "POST", "url": "/graphql/", "json": {"query": "mutation { logout }"}}, 200),
    ("malformed", {"method": "POST", "url": "/graphql/", "content": b"{", "headers": {"Content-Type": "application/json"}}, 400),
    ("deep", {"method": "POST", "url": "/graphql/", "content": DEEP, "headers": {"Content-Type": "application/json"}}, 400),
    ("put", {"method": "PUT", "url": "/graphql/", "json": QUERY}, 405),
    ("bad-token", {"method": "POST", "url": "/graphql/", "json": QUERY, "headers": {"Authorization": "Bearer nope"}}, 401),
    ("too-large", {"method": "POST", "url": "/graphql/", "content": b" " * (2 * 1024 * 1024), "headers": {"Content-Type": "application/json"}}, 413),
    # Not a probe: those answer by any Host.
    (
        "bad-host",
        {"method": "GET", "url": "/export/products.csv", "headers": {"Host": "evil.example"}},
        400,
    ),
    ("not-found", {"method": "GET", "url": "/no/such/path"}, 404),
    ("export-bad-parameter", {"method": "GET", "url": "/export/products.csv?order=nope"}, 400),
    ("health", {"method": "GET", "url": "/healthz"}, 200),
]  # fmt: skip


@pytest.mark.parametrize(
    "options", [(), ("--proxy-headers",)], ids=["as the README starts it", "as the Dockerfile does"]
)
def test_one_json_line_per_request_and_nothing_else(
    test_database_url: str, tmp_path: Path, options: tuple[str, ...]
) -> None:
    log = tmp_path / "server.log"
    with (
        running_uvicorn(test_database_url, log=log, options=options) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        for request_id, sent, status in REQUESTS:
            headers = {**sent.get("headers", {}), "X-Request-ID": request_id}
            response = client.request(**(sent | {"headers": headers}))
            assert response.status_code == status, (request_id, response.text)
    # The server has stopped: its output is all there.
    lines = log.read_text().splitlines()

    for request_id, _, status in REQUESTS:
        (line,) = [line for line in lines if f'"request_id":"{request_id}"' in line]
        entry = json.loads(line)
        assert (entry["request_id"], entry["status"]) == (request_id, status)
    assert not [line for line in lines if "HTTP/1.1" in line], "uvicorn's access lines"
    for word in ("WARNING", "ERROR", "Traceback", "Bad Request", "Not Found"):
        assert not [line for line in lines if word in line], word
    # Besides the access lines, uvicorn's own as it starts and stops.
    others = [line for line in lines if not line.startswith("{")]
    assert all(line.startswith("INFO:") for line in others), others


def test_a_streamed_response_is_logged_as_it_ends(test_database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    live = "subscription Live { productStream(live: true) { sequence } }"
    headers = {"Accept": "text/event-stream", "X-Request-ID": "live"}
    with running_uvicorn(test_database_url, log=log) as base_url:
        with httpx.stream(
            "POST", f"{base_url}/graphql/", json={"query": live}, headers=headers, timeout=30
        ) as response:
            parts = response.iter_bytes()
            next(parts)  # the first batch
            time.sleep(0.5)
        time.sleep(0.5)  # for the server to see its client leave
    (line,) = [line for line in log.read_text().splitlines() if '"request_id":"live"' in line]
    entry = json.loads(line)
    assert (entry["event"], entry["status"]) == ("graphql", 200)
    assert entry["duration_ms"] >= 500
