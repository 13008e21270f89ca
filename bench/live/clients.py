"""The live subscribers: ``websockets`` clients of ``productStream(live:
true)`` speaking ``graphql-transport-ws``, spread over client processes
driven from the benchmark's process (``ClientGroup``, ``subscribed``).

A client process (``python -m bench.live.clients``, started by
``ClientGroup``) opens its share of the subscribers, waits for every
snapshot, then answers commands on stdin with one JSON line each on stdout:

- ``{"arm": {"versions": {gid: version}}}``: every subscriber must hold each
  gid at ≥ version (or ``{"absent": [gid…]}``: none of them); answers
  "armed", then, once all have it, "reached" with [first LIVE receipt, done]
  per subscriber
- ``{"stats": true}``: LIVE batches received per subscriber since the last arm
- ``{"close": true}``

Every receipt is stamped with the system-wide monotonic clock, the same as
the writer's.
"""

import asyncio
import json
import math
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PROCESSES = 4  # client processes sharing the many subscribers of a scenario
CONNECTS_AT_ONCE = 50  # websockets a client process opens concurrently
REACH_TIMEOUT = 600.0  # seconds a change may take to reach every subscriber

LIVE_QUERY = (
    "subscription Live($filter: ProductFilter, $b: Int!) {"
    " productStream(filter: $filter, batchSize: $b, live: true) {"
    " phase sequence snapshotComplete removedIds"
    " products { id sku name price discountPercent discountedPrice stock version"
    " category { id name } } } }"
)


# In a client process -----------------------------------------------------------------


@dataclass
class Subscriber:
    view: dict[str, int] = field(default_factory=dict)  # gid → highest version held
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)
    armed: bool = False
    absent: bool = False
    targets: dict[str, int] = field(default_factory=dict)
    remaining: set[str] = field(default_factory=set)
    first_at: float | None = None
    done_at: float | None = None
    live_batches: int = 0
    failure: BaseException | None = None

    def arm(self, targets: dict[str, int], absent: bool, now: float) -> bool:
        """Starts waiting for ``targets``; True when they already hold."""
        self.armed, self.absent, self.targets = True, absent, targets
        self.first_at, self.live_batches = None, 0
        if absent:
            self.remaining = {gid for gid in targets if gid in self.view}
        else:
            self.remaining = {gid for gid, v in targets.items() if self.view.get(gid, 0) < v}
        self.done_at = None if self.remaining else now
        return self.done_at is not None

    def apply(self, batch: dict[str, Any], at: float) -> bool:
        """Keeps the batch; True when it completed what the subscriber waited for."""
        for product in batch["products"]:
            if product["version"] > self.view.get(product["id"], 0):
                self.view[product["id"]] = product["version"]
        for gid in batch["removedIds"]:
            self.view.pop(gid, None)
        if batch["phase"] == "LIVE":
            if not batch["snapshotComplete"]:
                raise RuntimeError(f"LIVE batch {batch['sequence']} without snapshotComplete")
            self.live_batches += 1
        else:
            if batch["snapshotComplete"]:
                self.snapshot.set()
            return False
        if not self.armed or self.done_at is not None:
            return False
        if self.first_at is None:
            self.first_at = at
        if self.absent:
            self.remaining.difference_update(batch["removedIds"])
        else:
            for product in batch["products"]:
                if self.targets.get(product["id"], math.inf) <= product["version"]:
                    self.remaining.discard(product["id"])
        if self.remaining:
            return False
        self.done_at = at
        return True


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def run_subscriber(
    url: str, variables: dict[str, Any], state: Subscriber, done: Callable[[], None]
) -> None:
    try:
        async with connect(
            url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            max_size=None,
            compression=None,
            ping_interval=None,
            open_timeout=120,
            close_timeout=5,
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"expected connection_ack, got {ack}")
            payload = {"query": LIVE_QUERY, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await receive_batches(ws, state, done)
    except BaseException as error:
        state.failure = error
        state.snapshot.set()
        raise


async def receive_batches(
    ws: ClientConnection, state: Subscriber, done: Callable[[], None]
) -> None:
    while True:
        raw = await ws.recv()
        at = time.monotonic()
        message = json.loads(raw)
        if message.get("type") != "next":
            raise RuntimeError(f"unexpected message: {str(message)[:300]}")
        payload = message["payload"]
        if payload.get("errors"):
            raise RuntimeError(f"the stream failed: {str(payload)[:300]}")
        if state.apply(payload["data"]["productStream"], at):
            done()


class ClientChild:
    def __init__(self, config: dict[str, Any]) -> None:
        self.urls: list[str] = config["urls"]
        self.variables: dict[str, Any] = config["variables"]
        self.subscribers = [Subscriber() for _ in range(config["count"])]
        self.waiting = 0
        self.tasks: list[asyncio.Task[None]] = []

    def one_done(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            emit({"reached": [[s.first_at, s.done_at] for s in self.subscribers]})

    async def open(self) -> None:
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

        async def opened(url: str, state: Subscriber) -> None:
            async with gate:
                self.tasks.append(
                    asyncio.create_task(run_subscriber(url, self.variables, state, self.one_done))
                )
                await state.snapshot.wait()

        await asyncio.gather(
            *(
                opened(self.urls[n % len(self.urls)], state)
                for n, state in enumerate(self.subscribers)
            )
        )
        self.check()
        emit({"ready": [len(s.view) for s in self.subscribers]})

    def check(self) -> None:
        for state in self.subscribers:
            if state.failure is not None:
                raise RuntimeError(f"a subscriber failed: {state.failure!r}")

    def arm(self, expectation: dict[str, Any]) -> None:
        absent = "absent" in expectation
        targets = dict.fromkeys(expectation["absent"], 0) if absent else expectation["versions"]
        now = time.monotonic()
        # Every subscriber armed before the answer: the write follows it at once.
        already = sum(state.arm(targets, absent, now) for state in self.subscribers)
        self.waiting = len(self.subscribers) - already
        emit({"armed": True})
        if self.waiting == 0:
            emit({"reached": [[s.first_at, s.done_at] for s in self.subscribers]})

    async def serve(self, commands: asyncio.StreamReader) -> None:
        while line := await commands.readline():
            command = json.loads(line)
            self.check()
            if "arm" in command:
                self.arm(command["arm"])
            elif "stats" in command:
                emit({"stats": [s.live_batches for s in self.subscribers]})
            elif "close" in command:
                break
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        emit({"closed": True})


async def client_child() -> None:
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader(limit=2**28)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    child = ClientChild(json.loads(await commands.readline()))
    await child.open()
    await child.serve(commands)


# In the benchmark's process ----------------------------------------------------------


class ClientGroup:
    """Subscribers spread over client processes, driven from here."""

    def __init__(self, processes: list[asyncio.subprocess.Process]) -> None:
        self.processes = processes
        self.snapshot_sizes: list[int] = []

    @classmethod
    async def start(
        cls, urls: Sequence[str], count: int, variables: dict[str, Any], processes: int
    ) -> "ClientGroup":
        """``count`` subscribers over ``processes`` processes, every snapshot received.
        Process k connects to ``urls[k % len(urls)]``."""
        shares = [count // processes + (k < count % processes) for k in range(processes)]
        children = []
        for k, share in enumerate(s for s in shares if s):
            child = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bench.live.clients"),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**24,
            )
            config = {"urls": [urls[k % len(urls)]], "count": share, "variables": variables}
            children.append(child)
            await cls._send(child, config)
        group = cls(children)
        for answer in await group._answers("ready", within=REACH_TIMEOUT):
            group.snapshot_sizes += answer
        return group

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    @staticmethod
    async def _send(process: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message).encode() + b"\n")
        await process.stdin.drain()

    async def _answers(self, key: str, within: float) -> list[Any]:
        async def answer(process: asyncio.subprocess.Process) -> Any:
            assert process.stdout is not None
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError(f"client process {process.pid} exited ({key} awaited)")
            return json.loads(line)[key]

        async with asyncio.timeout(within):
            return await asyncio.gather(*(answer(p) for p in self.processes))

    async def arm(self, expectation: dict[str, Any]) -> None:
        for process in self.processes:
            await self._send(process, {"arm": expectation})
        await self._answers("armed", within=60)

    async def reached(self) -> list[tuple[float | None, float]]:
        """[first LIVE receipt since armed, receipt completing the expectation]."""
        answers = await self._answers("reached", within=REACH_TIMEOUT)
        return [(first, done) for answer in answers for first, done in answer]

    async def stats(self) -> list[int]:
        for process in self.processes:
            await self._send(process, {"stats": True})
        return [n for answer in await self._answers("stats", within=60) for n in answer]

    async def close(self) -> None:
        for process in self.processes:
            await self._send(process, {"close": True})
        try:
            await self._answers("closed", within=60)
        finally:
            for process in self.processes:
                if process.returncode is None:
                    process.kill()
                await process.wait()


@asynccontextmanager
async def subscribed(
    urls: Sequence[str], count: int, variables: dict[str, Any], processes: int = CLIENT_PROCESSES
) -> AsyncIterator[ClientGroup]:
    group = await ClientGroup.start(urls, count, variables, min(processes, count))
    try:
        yield group
    finally:
        await group.close()


async def expecting(groups: Sequence[ClientGroup], expectation: dict[str, Any]) -> None:
    for group in groups:
        await group.arm(expectation)


async def all_reached(groups: Sequence[ClientGroup]) -> list[list[tuple[float | None, float]]]:
    return list(await asyncio.gather(*(group.reached() for group in groups)))


if __name__ == "__main__":
    asyncio.run(client_child())
