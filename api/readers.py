"""The database threads of long-lived async reads (streams, exports).

Django's ``aiterator()`` fetches through ``sync_to_async(thread_sensitive=True)``.
Outside an HTTP request that means one process-wide thread with one
connection: every concurrent stream would queue behind the others, and
Channels, which closes "old" connections on that thread per message, would
close a connection a stream is still reading from. So each read borrows one
of ``STREAM_DB_READERS`` threads of its own for the duration of one bounded
query, and gives the thread's connection back to the pool before it returns
the thread. However many streams there are, they hold at most that many
connections, and none while they wait for a client.
"""

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.db import connections


class ReaderThreads:
    def __init__(self, count: int) -> None:
        self._idle: asyncio.Queue[ThreadPoolExecutor] = asyncio.Queue()
        for n in range(count):
            self._idle.put_nowait(
                ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-reader-{n}")
            )

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[None]:
        """Runs the block's thread-sensitive calls on one reader thread."""
        executor = await self._idle.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                try:
                    yield
                finally:
                    # Runs after any fetch still in flight on this thread,
                    # even when the reading task was cancelled.
                    await sync_to_async(connections.close_all)()
        finally:
            self._idle.put_nowait(executor)


readers = ReaderThreads(settings.STREAM_DB_READERS)
