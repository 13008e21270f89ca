"""A lean live subscriber: one websocket, one ``productStream(live: true)``
with a compact selection, and a map of id → version that it keeps as
batches come, with the last ``resumeToken``, so that after a disconnection
it either resumes by that token or subscribes afresh (its map rebuilt).

It counts the rows it was sent since it last (re)subscribed, and stamps the
moment its map first equals what it was told to expect (``expect``).
"""

import asyncio
import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from bench.stream_client import StreamError, batch_of, receive, session

FIELDS = "phase snapshotComplete resumeToken removedIds products { id version discountedPrice }"
LIVE_QUERY = (
    "subscription Live($filter: ProductFilter, $b: Int!) {"
    f" productStream(filter: $filter, batchSize: $b, live: true) {{ {FIELDS} }} }}"
)
RESUME_QUERY = (
    "subscription Resume($filter: ProductFilter, $b: Int!, $resume: String!) {"
    f" productStream(filter: $filter, batchSize: $b, resume: $resume) {{ {FIELDS} }} }}"
)


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


@dataclass(frozen=True)
class Expected:
    """What an up-to-date map holds: these versions, and this many products."""

    versions: Mapping[str, int]  # gid → version, for the products changed
    count: int


@dataclass
class View:
    filter: dict[str, Any] | None
    batch_size: int
    versions: dict[str, int] = field(default_factory=dict)
    token: str | None = None
    snapshot_complete: bool = False
    rows: int = 0  # products and removed ids sent since the last (re)subscription
    expected: Expected | None = None
    reached_at: float | None = None  # perf_counter when the map first met `expected`
    reached_rows: int = 0  # `rows` then
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, expected: Expected) -> None:
        self.expected, self.reached_at = expected, None
        self.reached.clear()
        self._check()

    def _check(self) -> None:
        expected = self.expected
        if expected is None or self.reached_at is not None or not self.snapshot_complete:
            return
        if len(self.versions) != expected.count:
            return
        versions = self.versions
        if all(versions.get(gid) == v for gid, v in expected.versions.items()):
            self.reached_at, self.reached_rows = time.perf_counter(), self.rows
            self.reached.set()

    def apply(self, batch: dict[str, Any]) -> None:
        versions = self.versions
        for product in batch["products"]:
            versions[product["id"]] = product["version"]
        for gid in batch["removedIds"]:
            versions.pop(gid, None)
        self.rows += len(batch["products"]) + len(batch["removedIds"])
        self.token = batch["resumeToken"]
        self.snapshot_complete = bool(batch["snapshotComplete"])
        self._check()

    async def follow(self, url: str, *, resume: bool) -> None:
        """Subscribes (by the last token with ``resume``, else afresh with an
        empty map) and applies every batch until the server closes the
        connection; cancelling it disconnects."""
        self.rows = 0
        variables: dict[str, Any] = {"filter": self.filter, "b": self.batch_size}
        if resume:
            if self.token is None:
                raise StreamError("no resume token to resume by")
            query, variables["resume"] = RESUME_QUERY, self.token
        else:
            query = LIVE_QUERY
            self.versions, self.token, self.snapshot_complete = {}, None, False
        try:
            async with session(url) as ws:
                payload = {"query": query, "variables": variables}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                while True:
                    message = await receive(ws, within=None)
                    if message.get("type") == "next":
                        self.apply(batch_of(message))
                    else:
                        raise StreamError(f"unexpected message: {json.dumps(message)[:500]}")
        except ConnectionClosed:
            return


async def all_reached(
    views: list[View], following: list[asyncio.Task[None]], within: float
) -> float:
    """Waits for every view to meet what it expects; the last one's
    perf_counter. A stream that fails meanwhile raises its error."""
    reached: asyncio.Future[Any] = asyncio.ensure_future(
        asyncio.gather(*(view.reached.wait() for view in views))
    )
    try:
        async with asyncio.timeout(within):
            while not reached.done():
                waiting: list[asyncio.Future[Any]] = [reached, *following]
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not reached and task.exception() is not None:
                        raise StreamError("a subscriber failed") from task.exception()
                following = [task for task in following if not task.done()]
    finally:
        reached.cancel()
    return max(view.reached_at or 0.0 for view in views)
