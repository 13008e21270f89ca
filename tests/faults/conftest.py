"""Fixtures of the fault tests: a private PostgreSQL server, which a
test may stop and start again, and uvicorn servers of the project on them."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import SUITE_ON_POSTGRESQL, running_uvicorn
from tests.faults.services import (
    PostgresCluster,
    missing_binaries,
    postgres_cluster,
)

# Enough rows that a stream of them outlasts the socket buffers.
PRODUCTS = 5000

# The fault tests bring their own servers and use nothing of the suite's
# database, so both passes of the test command would run them alike: they run
# in the SQLite pass alone (SUITE_ON_POSTGRESQL).

Serve = Callable[..., str]


def report(**timings: float) -> None:
    """Prints a test's timings on one line (seen with ``pytest -s``)."""
    print(" ".join(f"{name}={seconds:.2f}s" for name, seconds in timings.items()))


def skip_unless_runnable() -> None:
    if SUITE_ON_POSTGRESQL:
        pytest.skip("the fault tests run once per test command, in its SQLite pass")
    if reason := missing_binaries():
        pytest.skip(reason)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PostgresCluster]:
    skip_unless_runnable()
    with postgres_cluster(products=PRODUCTS) as cluster:
        yield cluster


@pytest.fixture
def postgres(private_postgres: PostgresCluster) -> Iterator[PostgresCluster]:
    """The private cluster, running again after the test whatever it did."""
    yield private_postgres
    if not private_postgres.is_running():
        private_postgres.start()


@pytest.fixture
def serve(postgres: PostgresCluster, tmp_path: Path) -> Iterator[Serve]:
    """Starts uvicorn servers of the project on the private cluster, with the
    given settings, each logging to ``<tmp_path>/<name>.log``; stops them all
    after the test."""
    with ExitStack() as servers:

        def start(name: str, **settings: object) -> str:
            env = {key: str(value) for key, value in settings.items()}
            log = tmp_path / f"{name}.log"
            return servers.enter_context(running_uvicorn(postgres.url, env, log=log))

        yield start
