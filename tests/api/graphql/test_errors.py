"""What errors tell the client and the logs: a code on each, unexpected
ones masked and logged with the request id, an unreachable database said so."""

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
import websockets
from django.db import OperationalError
from django.test import Client
from psycopg_pool import PoolTimeout

from api.schema import schema
from products import selectors
from products.graphql import subscriptions
from tests.graphql_ws import PROTOCOLS, graphql_websocket

QUERY = "query Shelf { products(first: 1) { edges { cursor } } }"
STREAM = "subscription { productStream { sequence } }"


def post(client: Client, query: str, **headers: str) -> tuple[dict[str, Any], Any]:
    response = client.post(
        "/graphql/", {"query": query}, content_type="application/json", headers=headers
    )
    assert response.status_code == 200
    return response.json(), response


def failing_selector(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Simulates a bug (or an outage) inside the catalog's reads."""

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(selectors, "filter_products", fail)


def test_an_unexpected_error_is_masked_and_logged_with_the_request_id(
    client: Client, db: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    failing_selector(monkeypatch, RuntimeError("secret table xyz is corrupt"))
    with caplog.at_level(logging.DEBUG):
        body, response = post(client, QUERY, X_Request_ID="req-42")

    (error,) = body["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "xyz" not in response.content.decode()
    assert response["X-Request-ID"] == "req-42"
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "conveyor.errors"
    assert "req-42" in record.getMessage()
    assert "secret table xyz" in record.getMessage()
    assert record.exc_info
    assert record.exc_info[0] is RuntimeError


def test_with_debug_on_the_message_is_shown(
    client: Client, db: None, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DEBUG = True
    failing_selector(monkeypatch, RuntimeError("what went wrong"))
    (error,) = post(client, QUERY)[0]["errors"]
    assert error["message"] == "what went wrong"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    "outage",
    [OperationalError("connection refused"), PoolTimeout("couldn't get a connection")],
    ids=["OperationalError", "PoolTimeout"],
)
def test_an_unreachable_database_is_service_unavailable(
    client: Client,
    db: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    outage: Exception,
) -> None:
    failing_selector(monkeypatch, outage)
    (error,) = post(client, QUERY)[0]["errors"]
    assert error["message"] == "The database is unavailable; try again shortly."
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def stream_error(monkeypatch: pytest.MonkeyPatch, error: Exception) -> dict[str, Any]:
    """The error a productStream ends with when its reads raise ``error``."""

    async def failing_reads(*args: object, **kwargs: object) -> AsyncIterator[object]:
        raise error
        yield  # an async generator, as the real reader is

    monkeypatch.setattr(subscriptions, "read_batches", failing_reads)
    results = await schema.subscribe(STREAM)
    assert isinstance(results, AsyncGenerator)
    (result,) = [result async for result in results]
    (graphql_error,) = result.errors or []
    return dict(graphql_error.formatted)


async def test_an_unreachable_database_inside_a_stream_is_service_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = await stream_error(monkeypatch, OperationalError("server closed the connection"))
    assert error["message"] == "The database is unavailable; try again shortly."
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}


async def test_a_bug_inside_a_stream_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    error = await stream_error(monkeypatch, KeyError("internal detail"))
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ products { ", "GRAPHQL_PARSE_FAILED"),
        ("{ products { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ('{ products(after: "x") { totalCount } }', "INVALID_CURSOR"),
        ("{ products(first: 101) { totalCount } }", "BAD_USER_INPUT"),
    ],
)
def test_client_errors_carry_a_code_and_are_not_logged_as_errors(
    client: Client, db: None, caplog: pytest.LogCaptureFixture, query: str, code: str
) -> None:
    (error,) = post(client, query)[0]["errors"]
    assert error["extensions"]["code"] == code
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123", True), ("x" * 201, False), ("bad\nid", False), ("", False)],
)
def test_the_request_id_is_the_clients_when_sane(
    client: Client, db: None, sent: str, kept: bool
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    echoed = response["X-Request-ID"]
    assert (echoed == sent) is kept
    assert 0 < len(echoed) <= 200
    assert echoed.isprintable()


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "conveyor.access"]


def test_one_access_line_per_graphql_request(
    client: Client, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="conveyor.access"):
        post(client, QUERY, X_Request_ID="line-1")
        post(client, "{ products(first: 101) { totalCount } }")
        client.post("/graphql/", b"{", content_type="application/json")
        client.post(
            "/graphql/",
            {"query": "mutation Out { logout }", "operationName": "Out"},
            content_type="application/json",
        )
    ok, errors, rejected, mutation = access_lines(caplog)
    assert ok["event"] == "graphql"
    assert {k: ok[k] for k in ("request_id", "method", "path", "status")} == {
        "request_id": "line-1",
        "method": "POST",
        "path": "/graphql/",
        "status": 200,
    }
    assert (ok["operation_name"], ok["operation_type"], ok["outcome"]) == ("Shelf", "query", "ok")
    assert ok["error_codes"] == []
    assert ok["duration_ms"] >= 0
    assert (errors["operation_name"], errors["outcome"]) == (None, "errors")
    assert errors["error_codes"] == ["BAD_USER_INPUT"]
    assert (rejected["status"], rejected["outcome"]) == (400, "rejected")
    assert rejected["error_codes"] == ["BAD_REQUEST"]
    assert (mutation["operation_name"], mutation["operation_type"]) == ("Out", "mutation")


def test_other_requests_log_a_plain_http_line(
    client: Client, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="conveyor.access"):
        client.get("/healthz")
        client.get("/export/products.csv?order=nope")
    health, export = access_lines(caplog)
    assert health["event"] == "http"
    assert health["status"] == 200
    assert health["path"] == "/healthz"
    assert set(health) == {"time", "event", "request_id", "method", "path", "status", "duration_ms"}
    assert export["event"] == "http"
    assert export["status"] == 400


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_limits_and_codes_hold_over_websockets(uvicorn_server: str, protocol: str) -> None:
    fields = ["productStream", "products", "category", "products", "edges", "node"] * 2 + ["id"]
    too_deep = "subscription { " + " { ".join(fields) + " }" * len(fields)  # id at depth 12
    cases = [
        (too_deep, "GRAPHQL_VALIDATION_FAILED"),
        (
            'subscription { productStream(filter: {search: "a\\u0000b"}) { sequence } }',
            "BAD_USER_INPUT",
        ),
    ]
    async with graphql_websocket(uvicorn_server, protocol) as socket:
        for query, code in cases:
            (result,) = await socket.collect(query)
            (error, *_) = result["errors"]
            assert error["extensions"]["code"] == code, (query[:40], error)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "query", ["subscription { productStream { ", "subscription { " + "__typename " * 5001 + "}"]
)
async def test_a_document_that_does_not_parse_over_websockets(
    uvicorn_server: str, query: str
) -> None:
    """The legacy protocol answers an error; graphql-transport-ws closes the
    socket with 4400, as strawberry does for a document it cannot parse."""
    async with graphql_websocket(uvicorn_server, "graphql-ws") as socket:
        (result,) = await socket.collect(query)
        assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    async with graphql_websocket(uvicorn_server, "graphql-transport-ws") as socket:
        await socket.subscribe(query)
        with pytest.raises(websockets.ConnectionClosed):
            await socket.receive()
        assert socket.socket.close_code == 4400
