"""Private PostgreSQL servers for the fault tests.

Each lives in a temporary directory of its own and listens on a free
loopback port, so a test can stop it and start it again on the same port and
data without disturbing any server someone else relies on.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.conftest import ROOT, free_port

HOST = "127.0.0.1"
DATABASE = "conveyor"
# PostgreSQL refuses to run as root; the fault tests then run it as this user.
POSTGRES_USER = "postgres"


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are, if anywhere."""
    candidates: list[str] = []
    if pg_config := shutil.which("pg_config"):
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(bindir.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def missing_binaries() -> str | None:
    """Why the private servers cannot be started, or None when they can."""
    if postgres_bindir() is None:
        return "PostgreSQL's initdb and pg_ctl were not found (pg_config --bindir)"
    return None


def manage(database_url: str, *arguments: str) -> str:
    """Runs ``python manage.py …`` on ``database_url``; returns its output."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "api.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{done.stderr}")
    return done.stdout


class PostgresCluster:
    """A cluster made by ``initdb``, run by ``pg_ctl``: trust authentication,
    loopback only, its socket in its own directory, no fsync."""

    def __init__(self, bindir: Path, directory: Path) -> None:
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@{HOST}:{self.port}/{DATABASE}"

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bindir / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", POSTGRES_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{program} failed:\n{done.stdout}{done.stderr}")

    def initialize(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Starts the cluster and returns once it accepts connections."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses={HOST} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.directory / "postgres.log"
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(log), "-o", options)

    def stop(self) -> None:
        """Stops it at once, as a crash would: every connection is cut."""
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self) -> None:
        maintenance = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def connections(self, application_name: str) -> int:
        """The open connections of clients that go by ``application_name``."""
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                [application_name],
            ).fetchone()
        assert row is not None
        return int(row[0])


@contextmanager
def temporary_directory(prefix: str, owner: str | None = None) -> Iterator[Path]:
    """A fresh directory, given to ``owner`` if named; removed on the way out."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if owner:
            shutil.chown(directory, owner, owner)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_cluster(products: int) -> Iterator[PostgresCluster]:
    """A running private cluster with the project's database, migrated and
    seeded with ``products`` products and a staff user named ``staff``."""
    bindir = postgres_bindir()
    assert bindir is not None
    owner = POSTGRES_USER if os.geteuid() == 0 else None
    with temporary_directory("conveyor-postgres-", owner) as directory:
        cluster = PostgresCluster(bindir, directory)
        cluster.initialize()
        cluster.start()
        try:
            cluster.create_database()
            manage(cluster.url, "migrate", "--noinput")
            manage(cluster.url, "seed_products", "--count", str(products), "--no-progress")
            manage(cluster.url, "createsuperuser", "--noinput", "--username", "staff",
                   "--email", "staff@example.com")  # fmt: skip
            yield cluster
        finally:
            if cluster.is_running():
                cluster.stop()


def staff_token(cluster: PostgresCluster) -> str:
    """A new API token of the cluster's staff user."""
    return manage(cluster.url, "create_api_token", "staff").strip().splitlines()[-1]
