"""The reader threads: how many reads run at once, on which threads, and what
they leave behind."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from api.paging.readers import ReaderThreads
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
        async with readers.borrow(urgent=True):
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
        async with readers.borrow(urgent=True):
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


async def test_a_thread_given_back_goes_to_the_longest_waiter():
    """Not back to the stream that gave it and asks again at once (as it did
    through an asyncio.Queue, where a few streams kept every thread)."""
    readers = ReaderThreads(1)
    order: list[str] = []

    async def stream(name: str, reads: int) -> None:
        for _ in range(reads):
            async with readers.borrow(urgent=True):
                order.append(name)
                await asyncio.sleep(0)

    await asyncio.gather(stream("a", 3), stream("b", 3), stream("c", 3))
    assert order == ["a", "b", "c"] * 3


async def test_later_reads_leave_one_thread_to_urgent_ones():
    readers = ReaderThreads(3)
    later_running = 0
    most_later = 0
    release = asyncio.Event()

    async def later() -> None:
        nonlocal later_running, most_later
        async with readers.borrow():
            later_running += 1
            most_later = max(most_later, later_running)
            await release.wait()
            later_running -= 1

    laters = [asyncio.create_task(later()) for _ in range(5)]
    await asyncio.sleep(0.01)
    async with asyncio.timeout(1):  # all later reads are stuck, yet this one runs
        async with readers.borrow(urgent=True):
            pass
    release.set()
    await asyncio.gather(*laters)
    assert most_later == 2


async def test_urgent_reads_go_before_later_ones_that_waited_longer():
    readers = ReaderThreads(2)
    order: list[str] = []
    release = asyncio.Event()

    async def read(name: str, urgent: bool) -> None:
        async with readers.borrow(urgent=urgent):
            order.append(name)
            await release.wait()

    holding = [asyncio.create_task(read("holding", True)) for _ in range(2)]
    await asyncio.sleep(0)
    later = asyncio.create_task(read("later", False))
    await asyncio.sleep(0)
    urgent = asyncio.create_task(read("urgent", True))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*holding, later, urgent)
    assert order == ["holding", "holding", "urgent", "later"]


async def test_a_cancelled_waiter_leaves_the_queue():
    readers = ReaderThreads(1)
    release = asyncio.Event()

    async def hold() -> None:
        async with readers.borrow(urgent=True):
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter.cancel()
    release.set()
    await holder
    with pytest.raises(asyncio.CancelledError):
        await waiter
    async with asyncio.timeout(1):
        async with readers.borrow(urgent=True):
            pass


async def test_a_thread_given_back_as_its_waiter_is_cancelled_goes_to_the_next():
    """The waiter's task has not yet seen its cancellation when the thread
    comes back: the thread skips it (it used to fail the stream giving it)."""
    readers = ReaderThreads(1)
    thread = await readers._take(urgent=True)
    cancelled = asyncio.create_task(readers._take(urgent=True))
    await asyncio.sleep(0)
    cancelled.cancel()
    readers._give_back(thread)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    async with asyncio.timeout(1):
        async with readers.borrow(urgent=True):
            pass
