"""Errors Django answers itself are the API's JSON, never an HTML page: a bug
anywhere is a 500 with a request id, logged once with its traceback; a Host
not allowed, an unknown path, a failed CSRF check or JSON nested too deep are
a client's mistakes, logged at DEBUG only. Through the whole Django stack, and
through a real uvicorn."""

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.test import Client

from accounts import middleware
from api import health
from api.http.views import GraphQLView
from products.export import ExportRequest

pytestmark = pytest.mark.django_db

DEEP = b'{"query": "{ __typename }", "variables": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


class Bug(Exception):
    pass


def bug(*args: object, **kwargs: object) -> Any:
    raise Bug("secret table xyz is corrupt")


# Where a bug is planted, and the request that meets it.
BUGS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], dict[str, Any]]] = {
    "the GraphQL view": (
        lambda patch: patch.setattr(GraphQLView, "decode_json", bug),
        {"method": "post", "path": "/graphql/", "data": b"{}", "content_type": "application/json"},
    ),
    "the export": (
        lambda patch: patch.setattr(ExportRequest, "from_params", bug),
        {"method": "get", "path": "/export/products.csv"},
    ),
    "/healthz": (
        lambda patch: patch.setattr(health, "JsonResponse", bug),
        {"method": "get", "path": "/healthz"},
    ),
    "/readyz": (
        lambda patch: patch.setattr(health, "_database_answers", bug),
        {"method": "get", "path": "/readyz"},
    ),
    "a middleware": (
        lambda patch: patch.setattr(middleware, "authenticate_token", bug),
        {
            # Not a probe: those are answered before the token is looked at.
            "method": "get",
            "path": "/export/products.csv",
            "headers": {"Authorization": "Bearer cvr_" + "x" * 43},
        },
    ),
}


@pytest.fixture
def client() -> Client:
    """A client that gets the server's answer to an exception, as a real one
    does, rather than the exception itself."""
    return Client(raise_request_exception=False)


def request(client: Client, method: str, path: str, **options: Any) -> Any:
    options.setdefault("headers", {})["X-Request-ID"] = "req-500"
    return getattr(client, method)(path, **options)


def logged(caplog: pytest.LogCaptureFixture, at_least: int) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= at_least]


def the_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]
    assert isinstance(error, dict)
    return error


@pytest.mark.parametrize("where", BUGS)
def test_a_bug_anywhere_is_a_json_500_logged_once_with_the_request_id(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    plant, sent = BUGS[where]
    plant(monkeypatch)
    with caplog.at_level(logging.DEBUG):
        response = request(client, **sent)

    error = the_error(response, 500)
    assert error == {
        "message": "Unexpected error.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-500"},
    }
    assert response["X-Request-ID"] == "req-500"
    assert b"xyz" not in response.content
    (record,) = logged(caplog, logging.WARNING)
    assert (record.name, record.levelno) == ("conveyor.errors", logging.ERROR)
    assert "req-500" in record.getMessage()
    assert "secret table xyz" in record.getMessage()
    assert record.exc_info
    assert record.exc_info[0] is Bug


def test_the_access_line_of_a_graphql_request_that_failed(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    plant, sent = BUGS["the GraphQL view"]
    plant(monkeypatch)
    with caplog.at_level(logging.INFO, logger="conveyor.access"):
        request(client, **sent)
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "conveyor.access"]
    assert (line["event"], line["status"], line["outcome"]) == ("graphql", 500, "failed")
    assert line["error_codes"] == ["INTERNAL_SERVER_ERROR"]


def test_a_host_not_allowed_is_a_json_400_and_no_warning(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        # Any path but the probes, which answer by any Host (api.health).
        response = client.get("/export/products.csv", headers={"Host": "evil.example"})
    error = the_error(response, 400)
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert "Host" in error["message"]
    assert not logged(caplog, logging.WARNING)
    (record,) = [r for r in caplog.records if "evil.example" in r.getMessage()]
    assert (record.name, record.levelno) == ("conveyor.errors", logging.DEBUG)


def test_json_nested_too_deep_is_a_json_400(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.post("/graphql/", DEEP, content_type="application/json")
    error = the_error(response, 400)
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert "not valid JSON" in error["message"]
    assert "depth" in error["message"]
    variables = "[" * 100_000 + "]" * 100_000
    response = client.get("/graphql/", {"query": "{ __typename }", "variables": variables})
    assert the_error(response, 400)["extensions"] == {"code": "BAD_REQUEST"}
    assert not logged(caplog, logging.WARNING)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/no/such/path", 404, "NOT_FOUND"),
        # Django's CSRF check refuses the write before the view would.
        ("post", "/export/products.csv", 403, "FORBIDDEN"),
        ("options", "/export/products.csv", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_other_errors_django_answers_are_json_and_no_warning(
    caplog: pytest.LogCaptureFixture, method: str, path: str, status: int, code: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path)
    assert the_error(response, status)["extensions"] == {"code": code}
    assert not logged(caplog, logging.WARNING)


def test_through_uvicorn(uvicorn_server: str) -> None:
    with httpx.Client(base_url=uvicorn_server) as client:
        deep = client.post("/graphql/", content=DEEP, headers={"Content-Type": "application/json"})
        assert deep.status_code == 400
        assert deep.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
        host = client.get("/export/products.csv", headers={"Host": "evil.example"})
        assert host.status_code == 400
        assert host.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
        assert host.headers["X-Request-ID"]
        assert client.get("/healthz").status_code == 200
