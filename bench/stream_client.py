"""A ``productStream`` client over a real websocket (graphql-transport-ws),
shared by the benchmarks that stream: a session, a subscription read to its
end or to its first batch, and the checks that every batch is the expected
one, so that a figure is never taken from a stream that went wrong."""

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

MESSAGE_TIMEOUT = 60.0  # seconds a stream may stay silent before it counts as hung

PRODUCT_FIELDS = "id sku name price discountedPrice stock"
STREAM_QUERY = (
    "subscription Stream($b: Int!) { productStream(batchSize: $b) {"
    f" sequence cursor snapshotComplete products {{ {PRODUCT_FIELDS} }} }} }}"
)


class StreamError(Exception):
    pass


_ids = itertools.count(1)


async def receive(ws: ClientConnection, within: float | None = MESSAGE_TIMEOUT) -> dict[str, Any]:
    """The next message; ``within`` None waits for as long as it takes."""
    async with asyncio.timeout(within):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


@asynccontextmanager
async def session(url: str, *, deflate: bool = False) -> AsyncIterator[ClientConnection]:
    """An open websocket to ``url`` with ``connection_ack`` received."""
    async with connect(
        url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        max_size=None,
        compression="deflate" if deflate else None,
        ping_interval=None,  # a busy client must not drop a connection for a late pong
        open_timeout=60,
        close_timeout=10,
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        ack = await receive(ws)
        if ack.get("type") != "connection_ack":
            raise StreamError(f"expected connection_ack, got {ack}")
        yield ws


async def subscribe(ws: ClientConnection, batch_size: int) -> str:
    operation = str(next(_ids))
    payload = {"query": STREAM_QUERY, "variables": {"b": batch_size}}
    await ws.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))
    return operation


async def unsubscribe(ws: ClientConnection, operation: str) -> None:
    """Stops a subscription and drops what the server had sent before it stopped."""
    await ws.send(json.dumps({"id": operation, "type": "complete"}))
    await drain(ws)


async def drain(ws: ClientConnection, quiet: float = 0.1) -> None:
    while True:
        try:
            await receive(ws, within=quiet)
        except TimeoutError:
            return


def batch_of(message: dict[str, Any]) -> dict[str, Any]:
    """The ``productStream`` batch of a ``next`` message; errors raise."""
    payload = message.get("payload") or {}
    if payload.get("errors") or not payload.get("data"):
        raise StreamError(f"the stream failed: {json.dumps(payload)[:500]}")
    batch: dict[str, Any] = payload["data"]["productStream"]
    return batch


@dataclass(frozen=True)
class Streamed:
    products: int
    batches: int
    seconds: float
    completed: bool  # the server sent `complete` after a snapshotComplete batch

    @property
    def rate(self) -> float:
        return self.products / self.seconds


async def stream(
    ws: ClientConnection,
    batch_size: int,
    limit: int | None = None,
    *,
    within: float | None = MESSAGE_TIMEOUT,
    on_batch: Callable[[int], None] | None = None,
) -> Streamed:
    """One subscription read to its end (or to ``limit`` products, then
    unsubscribed), counting the products of the json-decoded messages.

    ``within``: the longest silence between two messages (None: no limit, for
    a stream that may be starved on purpose); ``on_batch`` hears the size of
    each batch as it comes, for a caller counting while the stream runs."""
    start = time.perf_counter()
    operation = await subscribe(ws, batch_size)
    products = batches = 0
    last = False
    while True:
        message = await receive(ws, within)
        if message.get("id") != operation:
            continue
        kind = message.get("type")
        if kind == "next":
            if last:
                raise StreamError("a batch followed the snapshotComplete one")
            batch = batch_of(message)
            batches += 1
            if batch["sequence"] != batches:
                raise StreamError(f"batch {batches} came with sequence {batch['sequence']}")
            products += len(batch["products"])
            if on_batch is not None:
                on_batch(len(batch["products"]))
            last = bool(batch["snapshotComplete"])
            if limit is not None and products >= limit:
                seconds = time.perf_counter() - start
                await unsubscribe(ws, operation)
                return Streamed(products, batches, seconds, completed=False)
        elif kind == "complete":
            if not last:
                raise StreamError("`complete` came before a snapshotComplete batch")
            return Streamed(products, batches, time.perf_counter() - start, completed=True)
        else:
            raise StreamError(f"unexpected message: {json.dumps(message)[:500]}")


async def first_batch_ms(
    ws: ClientConnection, batch_size: int, within: float = MESSAGE_TIMEOUT
) -> float:
    """Milliseconds from sending ``subscribe`` to receiving the first ``next``;
    TimeoutError when it takes longer than ``within`` seconds."""
    start = time.perf_counter()
    operation = await subscribe(ws, batch_size)
    async with asyncio.timeout(within):
        while True:
            message = await receive(ws, within=None)
            if message.get("id") == operation:
                break
    elapsed = (time.perf_counter() - start) * 1000
    if message.get("type") != "next":
        raise StreamError(f"expected next, got {json.dumps(message)[:500]}")
    size = len(batch_of(message)["products"])
    if size != batch_size:
        raise StreamError(f"the first batch holds {size} products, not {batch_size}")
    await unsubscribe(ws, operation)
    return elapsed


async def warm_up(url: str, *, deflate: bool = False) -> None:
    """One short stream: imports, the pool, the reader threads."""
    async with session(url, deflate=deflate) as ws:
        await first_batch_ms(ws, 10)
