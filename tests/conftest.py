import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import Client

from products.factories import CategoryFactory, ProductFactory

ROOT = Path(__file__).resolve().parent.parent

GraphQL = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A file, not memory, for the SQLite test database: the uvicorn processes
    the tests start must open the same database."""
    from django.conf import settings

    database: dict[str, Any] = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(
            tmp_path_factory.mktemp("db") / "test.sqlite3"
        )


@pytest.fixture
def graphql(client: Client) -> GraphQL:
    """POSTs a GraphQL operation through the whole Django stack; returns the body.

    Fails on any GraphQL error unless ``errors=True``, and on any status but 200.
    """

    def run(
        query: str, variables: dict[str, Any] | None = None, *, errors: bool = False
    ) -> dict[str, Any]:
        response = client.post(
            "/graphql/",
            {"query": query, "variables": variables or {}},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        if errors:
            assert body.get("errors"), body
        else:
            assert "errors" not in body, body["errors"]
        return body

    return run


@pytest.fixture
def product_factory(db: None) -> type[ProductFactory]:
    return ProductFactory


@pytest.fixture
def category_factory(db: None) -> type[CategoryFactory]:
    return CategoryFactory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def served_database_url() -> str:
    """The test database as a ``DATABASE_URL``, for the servers the tests start."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST']}{port}/{settings['NAME']}"


@contextmanager
def running_uvicorn(
    database_url: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """A real ``uvicorn api.asgi:application`` process; yields its base URL.

    ``env`` adds settings; ``log``, if given, receives the server's output.
    """
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "api.settings",
        **(env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "api.asgi:application"]
    options = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    output = open(log, "w") if log else None  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*command, *options], cwd=ROOT, env=environment, stdout=output, stderr=output
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if output:
            output.close()


@pytest.fixture(scope="session")
def uvicorn_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """uvicorn on the test database, for the whole session."""
    with django_db_blocker.unblock():
        database_url = served_database_url()
    with running_uvicorn(database_url) as base_url:
        yield base_url
