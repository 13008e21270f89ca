import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.utils import timezone

from api.rate_limits.buckets import store
from products.factories import CategoryFactory, ProductFactory
from products.models import Product
from tests.rates_server import RatesServer

# The fixtures of the tests that open pages in Chromium (browser).
pytest_plugins = ["tests.browser"]

ROOT = Path(__file__).resolve().parent.parent
# How often the servers the tests start read the change log besides their
# wake-ups: the test process's own writes on SQLite wake no server.
TEST_POLL_INTERVAL = "0.1"

# Whether this is the PostgreSQL pass of the test command. Tests that use
# nothing of the suite's database run in its SQLite pass alone, which every
# run makes.
SUITE_ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:"))

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
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL run on any thread, reader threads included."""
    executed: list[str] = []
    execute = CursorWrapper.execute

    def counting(self: CursorWrapper, sql: str, params: Any = None) -> Any:
        executed.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", counting)
    return executed


def catalog_with_ties(count: int) -> list[Product]:
    """``count`` products with ties in every ordering field, so the primary key
    decides: half of them in a category with a discount, some with their own."""
    sale = CategoryFactory(discount_percent=Decimal("10"))
    plain = CategoryFactory(discount_percent=None)
    start = timezone.now() - timedelta(days=1)
    for i in range(count):
        ProductFactory(
            name=["Lamp", "Desk", "Chair"][i % 3],
            price=Decimal(["5.00", "9.99", "10.00", "12.50"][i % 4]),
            category=sale if i % 2 else plain,
            discount_percent=Decimal("0") if i % 5 == 0 else None,
            stock=i % 4,
            created_at=start + timedelta(minutes=i // 2),  # pairs share a timestamp
        )
    return list(Product.objects.select_related("category"))


@pytest.fixture(autouse=True)
def full_buckets(settings: Any) -> None:
    """Every test in this process starts with full rate-limit buckets of its
    own, kept in the process (the servers that tests start share theirs
    through the database or Redis): failed logins of one test must not lock
    another out."""
    settings.RATE_LIMIT_STORE = "memory"
    store.cache_clear()


@pytest.fixture
def product_factory(db: None) -> type[ProductFactory]:
    return ProductFactory


@pytest.fixture
def category_factory(db: None) -> type[CategoryFactory]:
    return CategoryFactory


def free_port() -> int:
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


# uvicorn's own lines (startup, shutdown) at WARNING only, to keep the output short.
QUIET = ("--log-level", "warning")


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], within: float = 90) -> None:
    """Returns once the server started as ``process`` answers ``/healthz``.
    A start takes a second or two; on a machine loaded by other work it has
    been seen to take over 30, which is no fault of the server's."""
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.1)


@contextmanager
def running_make_serve(
    arguments: Sequence[str], log: Path, *, cwd: Path = ROOT, env: Mapping[str, str], within: float
) -> Iterator[str]:
    """``make serve`` with ``arguments`` (a ``PORT=…`` among them) in ``cwd``,
    its output going to ``log``; yields its base URL once it answers, and
    stops make, uv and uvicorn together after. A start that fails fails the
    test with the log."""
    port = next(arg.partition("=")[2] for arg in arguments if arg.startswith("PORT="))
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "serve", *arguments],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, uv and uvicorn: one group to stop
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base_url, make, within=within)
        except RuntimeError:
            pytest.fail(log.read_text())
        yield base_url
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)


@contextmanager
def running_uvicorn(
    database_url: str,
    settings: Mapping[str, str] | None = None,
    log: Path | None = None,
    options: Sequence[str] = QUIET,
    *,
    python: Path | str = sys.executable,
    cwd: Path = ROOT,
) -> Iterator[str]:
    """A real ``uvicorn api.asgi:application --host 127.0.0.1 --port …``
    process with ``options`` besides, configured by the environment variables
    ``settings`` as well, its output going to ``log`` if given; yields its
    base URL. ``python`` and ``cwd`` default to this interpreter and the
    checkout."""
    port = free_port()
    env = {
        **os.environ,
        "CHANGE_LOG_POLL_INTERVAL": TEST_POLL_INTERVAL,
        **(settings or {}),
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "api.settings",
    }
    command = [str(python), "-m", "uvicorn", "api.asgi:application"]
    address = ["--host", "127.0.0.1", "--port", str(port)]
    output = log.open("wb") if log else None
    process = subprocess.Popen(
        [*command, *address, *options],
        cwd=cwd,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if log else None,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if output:
            output.close()


@pytest.fixture(scope="session")
def test_database_url(django_db_setup: None, django_db_blocker: Any) -> str:
    with django_db_blocker.unblock():
        return served_database_url()


@pytest.fixture(scope="session")
def uvicorn_server(test_database_url: str) -> Iterator[str]:
    """uvicorn on the test database, for the whole session."""
    with running_uvicorn(test_database_url) as base_url:
        yield base_url


@pytest.fixture
def rates_server(settings: Any) -> Iterator[RatesServer]:
    """A real exchange-rates service on loopback, which the settings point at."""
    with RatesServer().running() as server:
        settings.EXCHANGE_RATES_URL = server.url
        settings.EXCHANGE_RATES_TIMEOUT = 0.5
        yield server
