"""A fresh uvicorn process of the project for each measurement: on a free
port, ready (``/readyz``), and stopped on the way out.

The interpreter is started itself, not through ``uv run``: the process's pid
is then the server's, whose ``/proc`` entries give its CPU time and memory.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_SECONDS = 60.0
APPLICATION = "api.asgi:application"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # utime and stime are the 14th and 15th fields; the split starts at the 3rd.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/graphql/"

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    async def idle(self, within: float = 30.0, quiet_for: float = 0.3) -> None:
        """Waits until the server used no CPU for ``quiet_for`` seconds (ticks
        are 10 ms)."""
        deadline = time.monotonic() + within
        last, quiet = self.cpu(), 0
        while quiet < round(quiet_for / 0.1) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = self.cpu()
            quiet = quiet + 1 if now == last else 0
            last = now

    @contextmanager
    def profiling(self) -> Iterator[None]:
        """cProfile on while inside, for a server running bench.profiled_asgi."""
        self.process.send_signal(signal.SIGUSR1)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGUSR2)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def start(
    port: int,
    settings: Mapping[str, str] | None = None,
    *,
    app: str = APPLICATION,
    log: Path | None = None,
    root: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """uvicorn on ``port``, configured by the environment as well as
    ``settings``; its output to ``log``, else to stderr beside the progress
    (never into the tables on stdout). ``root``: the tree of the project's
    code to serve (another commit's export, say), run by this interpreter and
    its installed packages; it comes first on the import path."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "api.settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        **(settings or {}),
    }
    command = [sys.executable, "-m", "uvicorn", app]
    options = ["--host", HOST, "--port", str(port), "--no-access-log", "--log-level", "warning"]
    if log is None:
        return subprocess.Popen([*command, *options], cwd=root, env=env, stdout=sys.stderr)
    with log.open("wb") as output:
        return subprocess.Popen(
            [*command, *options], cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT
        )


async def wait_until_ready(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with status {process.returncode}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {STARTUP_SECONDS:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@asynccontextmanager
async def serving(
    settings: Mapping[str, str] | None = None,
    *,
    app: str = APPLICATION,
    log: Path | None = None,
    root: Path = ROOT,
) -> AsyncIterator[Server]:
    """A fresh server, ready, and stopped on the way out."""
    port = free_port()
    process = start(port, settings, app=app, log=log, root=root)
    try:
        server = Server(process, port)
        await wait_until_ready(process, server.base_url)
        yield server
    finally:
        await asyncio.to_thread(stop, process)
