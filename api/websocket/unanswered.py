"""Client messages the server has read off a websocket and not yet answered.

A new subscriber's ``subscribe`` is answered by its first batch. While such
messages wait, streams already running begin no new turn (api.websocket.turns), so
the message is handled and its first window read without a few hundred
streams' batches in between: for at most ``WS_ANSWER_PRIORITY_SECONDS``
each, so that a message whose answer takes long holds nothing back for long.
"""

import asyncio
import time
from itertools import count

from django.conf import settings


class Unanswered:
    def __init__(self, priority_seconds: float) -> None:
        self._priority_seconds = priority_seconds
        self._received: dict[int, float] = {}  # in the order received
        self._tokens = count()
        self._waiters: list[asyncio.Future[None]] = []

    def received(self) -> int:
        """Notes a message just read; the token is for ``answered``."""
        token = next(self._tokens)
        self._received[token] = time.monotonic()
        return token

    def answered(self, token: int) -> None:
        if self._received.pop(token, None) is not None and not self._received:
            self._wake()

    async def quiet(self) -> None:
        """Returns once no message waits that was received less than
        ``WS_ANSWER_PRIORITY_SECONDS`` ago."""
        while (deadline := self._priority_ends()) is not None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                pass
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _priority_ends(self) -> float | None:
        """The loop time at which the oldest message still having priority
        loses it; None if none has."""
        now = time.monotonic()
        for received in self._received.values():
            if now - received < self._priority_seconds:
                loop_now = asyncio.get_running_loop().time()
                return loop_now + self._priority_seconds - (now - received)
        return None

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


unanswered = Unanswered(settings.WS_ANSWER_PRIORITY_SECONDS)
