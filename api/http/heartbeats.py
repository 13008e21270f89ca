"""A stream of results with a heartbeat whenever it has been quiet for a while.

Idle proxies and load balancers close a response that has sent nothing for
a minute or so (nginx's ``proxy_read_timeout``, a cloud load balancer's idle
timeout); a live stream may wait far longer for a change. So the next result
is awaited for at most ``interval`` seconds at a time, and a heartbeat goes
out each time the wait runs out. The wait is not cancelled, which would
break off the source mid-read: each step of the source runs as a task of
its own, all in one context, so that what the source keeps in context
variables (the operation's log record, its event ids) lasts from one step to
the next as if it ran in one task. Nothing is read ahead: the next step
starts once the previous result has been taken, so a slow reader slows
the source.
"""

import asyncio
from collections.abc import AsyncGenerator
from contextlib import suppress
from contextvars import copy_context
from typing import TypeVar

T = TypeVar("T")
H = TypeVar("H")


async def with_heartbeats(
    source: AsyncGenerator[T, None], interval: float, heartbeat: H
) -> AsyncGenerator[T | H, None]:
    context = copy_context()

    async def step() -> T:
        return await anext(source)

    running: asyncio.Task[T] | None = None
    try:
        while True:
            running = asyncio.create_task(step(), context=context)
            while not (await asyncio.wait({running}, timeout=interval))[0]:
                yield heartbeat
            try:
                result = running.result()
            except StopAsyncIteration:
                return
            yield result
    finally:
        if running is not None and not running.done():
            running.cancel()
            with suppress(asyncio.CancelledError):
                await running
        # Its finally blocks reset context variables set in that context.
        await asyncio.create_task(source.aclose(), context=context)
