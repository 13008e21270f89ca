"""First pages over real HTTP: one uvicorn process serving both the project's
``/graphql/`` and the baseline's ``/stock-graphql/`` (bench.settings), loaded
in alternating rounds so that the machine's noise falls on both alike."""

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

# One log line per request would load the client more than the server.
logging.getLogger("httpx").setLevel(logging.WARNING)

HOST = "127.0.0.1"
CONCURRENCY = 8
ROUNDS = 8
REQUESTS_PER_ROUND = 200
STARTUP_SECONDS = 60.0

NODE = "id sku name price discountPercent discountedPrice category { name }"
SELECTION = (
    f"edges {{ cursor node {{ {NODE} }} }} pageInfo {{ hasNextPage hasPreviousPage endCursor }}"
)


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    field: str

    def body(self) -> dict[str, Any]:
        return {"query": f"{{ {self.field}(first: 20) {{ {SELECTION} }} }}"}


PROJECT = Target("Conveyor `products` (keyset)", "/graphql/", "products")
STOCK = Target("stock `DjangoListConnection` (offset)", "/stock-graphql/", "stockList")


@dataclass(frozen=True)
class Throughput:
    requests: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until_ready(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {STARTUP_SECONDS:.0f} s")


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "uvicorn", "api.asgi:application"]
    options = ["--host", HOST, "--port", str(port), "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen([*command, *options], env=env)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@asynccontextmanager
async def served() -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh bench server, stopped on the way out."""
    port = free_port()
    server = start_server(port)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://{HOST}:{port}", limits=limits, timeout=60.0
        ) as client:
            await wait_until_ready(client, server)
            yield client
    finally:
        stop_server(server)


async def post_page(client: httpx.AsyncClient, target: Target) -> None:
    response = await client.post(target.path, json=target.body())
    # A fast error must not pass for throughput.
    if response.status_code != 200 or b'"errors"' in response.content:
        raise RuntimeError(f"{target.label}: HTTP {response.status_code} {response.text[:300]}")


async def fire(client: httpx.AsyncClient, target: Target, count: int) -> Throughput:
    """``count`` requests, ``CONCURRENCY`` at a time."""
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await post_page(client, target)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return Throughput(count, time.perf_counter() - start)


async def compare() -> dict[Target, Throughput]:
    """Requests per second of each target over ``ROUNDS`` alternating rounds."""
    totals = {PROJECT: Throughput(0, 0.0), STOCK: Throughput(0, 0.0)}
    async with served() as client:
        for target in totals:  # warm-up: connections, caches, the pool
            await fire(client, target, REQUESTS_PER_ROUND // 4)
        for _ in range(ROUNDS):
            for target, total in totals.items():
                round_ = await fire(client, target, REQUESTS_PER_ROUND)
                totals[target] = Throughput(
                    total.requests + round_.requests, total.seconds + round_.seconds
                )
    return totals
