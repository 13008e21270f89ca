"""What a uvicorn started by a test holds, seen from outside: its PostgreSQL
connections (by the ``application_name`` of its ``DATABASE_URL``), its
memory, and which of its worker processes holds which client connection
(from ``/proc``)."""

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.conftest import served_database_url

# The marks of a test of what a server holds in PostgreSQL.
ON_POSTGRESQL_ONLY = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="what is measured is the server's pooled PostgreSQL connections",
    ),
]


def named_database_url(application_name: str) -> str:
    """The test database as a ``DATABASE_URL`` whose connections show in
    ``pg_stat_activity`` under ``application_name``."""
    return f"{served_database_url()}?application_name={application_name}"


def server_pid(base_url: str) -> int:
    """The pid of the uvicorn this process started on ``base_url``'s port."""
    option = f"--port\0{base_url.rsplit(':', 1)[1]}\0"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_text()
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError):
            continue  # gone meanwhile
        if parent == os.getpid() and "uvicorn" in cmdline and option in cmdline:
            return int(entry.name)
    raise LookupError(f"no uvicorn child serves {base_url}")


ESTABLISHED, LISTEN = "01", "0A"  # states in /proc/net/tcp


def _tcp_sockets(port: int, state: str) -> set[str]:
    """The inodes of the IPv4 TCP sockets in ``state`` on local port ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):  # closed meanwhile
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes


def connections_by_worker(base_url: str) -> dict[int, int]:
    """Per worker (``--workers``) of the uvicorn this process started on
    ``base_url``, how many client connections it holds."""
    pid, port = server_pid(base_url), int(base_url.rsplit(":", 1)[1])
    children = [
        int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ]
    listening, established = _tcp_sockets(port, LISTEN), _tcp_sockets(port, ESTABLISHED)
    held = {child: _socket_inodes(child) for child in children}
    # The workers are the children that accept on the server's socket.
    return {
        child: len(inodes & established) for child, inodes in held.items() if inodes & listening
    }


@dataclass(frozen=True)
class Memory:
    """Resident memory in MB: all of it, and the anonymous part alone (the
    heap, which is what a leak grows; shared libraries and mapped files are
    the rest)."""

    rss: float
    anonymous: float

    def __str__(self) -> str:
        return f"RSS {self.rss:.1f} MB (anonymous {self.anonymous:.1f} MB)"


def memory(pid: int) -> Memory:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    kilobytes = {name: int(fields[name].split()[0]) for name in ("VmRSS", "RssAnon")}
    return Memory(rss=kilobytes["VmRSS"] / 1024, anonymous=kilobytes["RssAnon"] / 1024)


def _count(conn: psycopg.Connection, application_name: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name]
    ).fetchone()
    assert row is not None
    return int(row[0])


def connections(application_name: str) -> int:
    with psycopg.connect(served_database_url(), autocommit=True) as conn:
        return _count(conn, application_name)


@contextmanager
def sampled_connections(application_name: str, every: float = 0.02) -> Iterator[list[int]]:
    """Counts ``application_name``'s connections every ``every`` seconds while
    the block runs, from a thread and a connection of its own, so that a busy
    event loop in the test delays no sample."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(served_database_url(), autocommit=True) as conn:
            while not done.is_set():
                samples.append(_count(conn, application_name))
                done.wait(every)

    sampler = threading.Thread(target=sample, name="connection-sampler")
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()


def settled(measure: Callable[[], float], at_most: float, within: float) -> float:
    """``measure()`` once it is at most ``at_most``, or its last value after
    ``within`` seconds."""
    deadline = time.monotonic() + within
    while (value := measure()) > at_most and time.monotonic() < deadline:
        time.sleep(0.1)
    return value
