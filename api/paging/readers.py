"""The database threads of long-lived async reads (streams, exports).

Django's ``aiterator()`` fetches through ``sync_to_async(thread_sensitive=True)``.
Outside an HTTP request that means one process-wide thread with one
connection: every concurrent stream would queue behind the others, and
Channels, which closes "old" connections on that thread, would close a
connection a stream is still reading from. So each read borrows one of
``STREAM_DB_READERS`` threads of its own for the duration of one bounded
query, and gives the thread's connection back to the pool before it returns
the thread. However many streams there are, they hold at most that many
connections, and none while they wait for a client.

Threads go to reads in the order they asked, a returned thread straight to
the longest waiter. Through an ``asyncio.Queue`` a stream that gave its
thread back and asked again at once took it back before the waiter it had
woken ran: a few streams kept every thread and the others never started.
*Urgent* reads (a stream's first window, the rows of a live change: what a
client waits for) go before later windows, and later windows never take the
last idle thread, so an urgent read waits for one read at most.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.db import connections


class ReaderThreads:
    def __init__(self, count: int) -> None:
        self._idle = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-reader-{n}")
            for n in range(count)
        ]
        # Later reads may hold all threads but one; with a single thread, all.
        self._kept_for_urgent = 1 if count > 1 else 0
        self._urgent: deque[asyncio.Future[ThreadPoolExecutor]] = deque()
        self._later: deque[asyncio.Future[ThreadPoolExecutor]] = deque()

    @asynccontextmanager
    async def borrow(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Runs the block's thread-sensitive calls on one reader thread."""
        executor = await self._take(urgent)
        try:
            async with ThreadSensitiveContext(executor=executor):
                try:
                    yield
                finally:
                    # Runs after any fetch still in flight on this thread,
                    # even when the reading task was cancelled.
                    await sync_to_async(connections.close_all)()
        finally:
            self._give_back(executor)

    async def _take(self, urgent: bool) -> ThreadPoolExecutor:
        if urgent and not self._urgent and self._idle:
            return self._idle.pop()
        if not urgent and not self._urgent and not self._later and self._spare():
            return self._idle.pop()
        waiters = self._urgent if urgent else self._later
        waiter: asyncio.Future[ThreadPoolExecutor] = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.cancelled():
                if waiter in waiters:
                    waiters.remove(waiter)
                    self._hand_out()  # those behind it may go now
            else:  # handed a thread in the same step as it was cancelled
                self._give_back(waiter.result())
            raise

    def _spare(self) -> bool:
        """Whether a later read may take an idle thread."""
        return len(self._idle) > self._kept_for_urgent

    def _give_back(self, executor: ThreadPoolExecutor) -> None:
        self._idle.append(executor)
        self._hand_out()

    def _hand_out(self) -> None:
        for waiters, may_take in ((self._urgent, self._any_idle), (self._later, self._spare)):
            while waiters and may_take():
                waiter = waiters.popleft()
                if not waiter.cancelled():  # else its task has yet to see it
                    waiter.set_result(self._idle.pop())

    def _any_idle(self) -> bool:
        return bool(self._idle)


readers = ReaderThreads(settings.STREAM_DB_READERS)
