"""A server whose database cannot be reached says so: a clear GraphQL error
(SERVICE_UNAVAILABLE), never a masked bug or a 500; it stays alive."""

import socket

import httpx

from tests.conftest import running_uvicorn


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_queries_answer_service_unavailable_without_a_database() -> None:
    database_url = f"postgres://postgres@127.0.0.1:{closed_port()}/nowhere"
    settings = {"DB_POOL_TIMEOUT": "1", "READINESS_TIMEOUT": "1"}
    with (
        running_uvicorn(database_url, settings) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        response = client.post(
            "/graphql/", json={"query": "{ products(first: 1) { edges { cursor } } }"}
        )
        assert response.status_code == 200
        (error,) = response.json()["errors"]
        assert error == {
            "message": "The database is unavailable; try again shortly.",
            "locations": error["locations"],
            "path": ["products"],
            "extensions": {"code": "SERVICE_UNAVAILABLE"},
        }
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
