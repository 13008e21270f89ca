"""Streams' turns on the event loop.

Sending a batch does not suspend while the socket's buffers have room, so a
stream left alone sends a whole window of batches without letting anything
else run: not other streams, not a new subscriber's message. Streams take
turns instead. A stream sends for at most ``STREAM_TURN_SECONDS``, then
queues for its next turn behind the streams already waiting; turns are
handed out one at a time, in order, one per pass of the event loop, so a turn
ends as soon as its stream waits for anything (a read, a full socket) and
everything else that is ready runs between two turns. No turn begins while a
client's message waits for its answer (api.websocket.unanswered).
"""

import asyncio
import time
from collections import deque

from django.conf import settings

from api.websocket.unanswered import Unanswered, unanswered


class Turns:
    def __init__(self, seconds: float, answers: Unanswered) -> None:
        self.seconds = seconds
        self._answers = answers
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._handing_out: asyncio.Task[None] | None = None

    def turn(self) -> "Turn":
        """The turns of one stream."""
        return Turn(self)

    async def wait(self) -> None:
        """Until this stream's next turn begins: always through the queue,
        even when no one else waits, so that a pass of the event loop never
        runs more than one turn whoever asks."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._handing_out is None:
            self._handing_out = asyncio.create_task(self._hand_out())
        await waiter

    async def _hand_out(self) -> None:
        try:
            while self._waiting:
                await self._answers.quiet()
                waiter = self._waiting.popleft()
                if waiter.done():  # its stream was cancelled
                    continue
                waiter.set_result(None)
                # The stream woken runs its turn before the next is handed out.
                await asyncio.sleep(0)
        finally:
            self._handing_out = None


class Turn:
    def __init__(self, turns: Turns) -> None:
        self._turns = turns
        self._ends: float | None = None  # None: before the first batch

    async def take(self) -> None:
        """Returns at once within this stream's turn; else waits for its next."""
        if self._ends is None:
            # A stream's first batch is the answer its client waits for:
            # it goes out at once, as the stream's first turn.
            self._begin()
        elif time.monotonic() >= self._ends:
            await self._turns.wait()
            self._begin()

    def _begin(self) -> None:
        self._ends = time.monotonic() + self._turns.seconds
        # Runs in the event loop's next pass, which begins only once this
        # stream has suspended: whatever it waited for, its turn is over.
        asyncio.get_running_loop().call_soon(self._end)

    def _end(self) -> None:
        self._ends = 0.0


turns = Turns(settings.STREAM_TURN_SECONDS, unanswered)
