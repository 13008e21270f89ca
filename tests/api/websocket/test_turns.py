"""Streams' turns on the event loop, and the client messages that go first."""

import asyncio
import time

from api.websocket.protocols import Answers
from api.websocket.turns import Turns
from api.websocket.unanswered import Unanswered, unanswered


def busy(seconds: float) -> None:
    """A batch sent without suspending (the socket's buffers had room)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


async def test_streams_that_never_suspend_take_turns():
    turns = Turns(0.005, Unanswered(0.5))
    sent: list[str] = []

    async def stream(name: str) -> None:
        turn = turns.turn()
        for _ in range(20):
            await turn.take()
            busy(0.001)
            sent.append(name)

    await asyncio.gather(stream("a"), stream("b"), stream("c"))
    # Each turn is a few batches; no stream sends all of its batches first.
    first_of_each = [sent.index(name) for name in "abc"]
    assert max(first_of_each) < 20
    runs = sum(1 for i in range(1, len(sent)) if sent[i] != sent[i - 1])
    assert runs >= 6


async def test_other_tasks_run_between_turns():
    turns = Turns(0.005, Unanswered(0.5))
    batches = 0

    async def stream() -> None:
        nonlocal batches
        turn = turns.turn()
        for _ in range(200):
            await turn.take()
            busy(0.001)
            batches += 1

    running = asyncio.create_task(stream())
    await asyncio.sleep(0)  # the stream starts its first turn
    await asyncio.sleep(0)  # and this task runs again before the stream is done
    assert 0 < batches < 200
    await running


async def test_a_streams_first_batch_needs_no_turn():
    answers = Unanswered(10)
    turns = Turns(0.005, answers)
    answers.received()  # an unanswered message holds every later turn back
    turn = turns.turn()
    async with asyncio.timeout(1):
        await turn.take()


async def test_no_turn_begins_while_a_message_waits_for_its_answer():
    answers = Unanswered(10)
    turns = Turns(0.0, answers)
    turn = turns.turn()
    await turn.take()  # the first batch
    token = answers.received()
    waiting = asyncio.create_task(turn.take())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    answers.answered(token)
    async with asyncio.timeout(1):
        await waiting


async def test_a_message_holds_turns_back_for_a_bounded_time():
    answers = Unanswered(0.05)
    turns = Turns(0.0, answers)
    turn = turns.turn()
    await turn.take()
    answers.received()  # never answered
    started = time.monotonic()
    async with asyncio.timeout(1):
        await turn.take()
    assert time.monotonic() - started >= 0.04


async def test_a_stream_cancelled_while_waiting_for_its_turn_leaves_the_queue():
    turns = Turns(0.0, Unanswered(0.5))

    async def stream(batches: int) -> None:
        turn = turns.turn()
        for _ in range(batches):
            await turn.take()

    cancelled = asyncio.create_task(stream(1000))
    others = [asyncio.create_task(stream(50)) for _ in range(3)]
    await asyncio.sleep(0)
    cancelled.cancel()
    async with asyncio.timeout(2):
        await asyncio.gather(*others)


async def test_a_subscribe_is_unanswered_until_its_first_result_is_sent():
    answers = Answers()
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": "subscription { a }"}}

    async def handled() -> None:
        pass

    await answers.handle(subscribe, "subscribe", handled(), running=lambda _: True)
    assert not unanswered_quiet()
    answers.sent({"id": "1", "type": "next", "payload": {}})
    assert unanswered_quiet()

    ping = {"type": "ping"}
    await answers.handle(ping, "subscribe", handled(), running=lambda _: True)
    assert unanswered_quiet()

    refused = {"id": "2", "type": "subscribe", "payload": {"query": "{"}}
    await answers.handle(refused, "subscribe", handled(), running=lambda _: False)
    assert unanswered_quiet()

    await answers.handle({**subscribe, "id": "3"}, "subscribe", handled(), running=lambda _: True)
    answers.all_ended()  # the connection closed before its first result
    assert unanswered_quiet()


def unanswered_quiet() -> bool:
    return unanswered._priority_ends() is None


async def test_a_turn_ends_when_its_stream_suspends():
    """Whatever it waited for (a full socket, a read), a stream queues again:
    else every stream woken in one pass of the event loop would run the rest
    of its turn in that pass, and the pass would last as long as all of them."""
    turns = Turns(10.0, Unanswered(0.5))
    waits = 0
    wait = turns.wait

    async def counted_wait() -> None:
        nonlocal waits
        waits += 1
        await wait()

    turns.wait = counted_wait  # type: ignore[method-assign]
    turn = turns.turn()
    await turn.take()  # the first batch
    await turn.take()  # within the turn
    assert waits == 0
    await asyncio.sleep(0)  # the stream suspends
    await turn.take()
    assert waits == 1
