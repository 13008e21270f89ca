"""The reader threads: how many reads run at once, on which threads, and what
they leave behind."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from api.readers import ReaderThreads
from products.models import Product

pytestmark = pytest.mark.django_db(transaction=True)


def _read_on_this_thread() -> str:
    list(Product.objects.all()[:1])
    assert connection.connection is not None  # open while the read runs
    return threading.current_thread().name


def _connection_is_closed() -> bool:
    return connection.connection is None


async def test_reads_run_on_a_bounded_set_of_threads_and_give_back_their_connection():
    readers = ReaderThreads(2)
    running = 0
    most = 0
    threads: set[str] = set()

    async def read() -> None:
        nonlocal running, most
        async with readers.borrow():
            running += 1
            most = max(most, running)
            threads.add(await sync_to_async(_read_on_this_thread)())
            await asyncio.sleep(0.01)
            running -= 1
            closed_inside = await sync_to_async(_connection_is_closed)()
            assert not closed_inside

    await asyncio.gather(*(read() for _ in range(20)))
    assert most == 2
    assert len(threads) == 2
    assert all(name.startswith("db-reader-") for name in threads)
    for _ in range(2):  # each thread's connection went back when its read ended
        async with readers.borrow():
            assert await sync_to_async(_connection_is_closed)()


async def test_a_cancelled_read_returns_its_thread():
    readers = ReaderThreads(1)
    started = asyncio.Event()

    async def slow_read() -> None:
        async with readers.borrow():
            started.set()
            await sync_to_async(_read_on_this_thread)()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow_read())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(1):
        async with readers.borrow():
            assert await sync_to_async(_connection_is_closed)()
