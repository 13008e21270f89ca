"""Event ids of a subscription streamed as Server-Sent Events.

Each ``next`` event's id is the resume token of the batch it carries, and a
client that reconnects (a browser's ``EventSource`` does by itself) sends
the last id it got as ``Last-Event-ID``: the stream then goes on from there,
as ``productStream(resume:)`` does. The resolver learns of the id it resumes
from and tells the token of each batch it hands out through a context
variable, without knowing of HTTP, as it counts what it sends
(api.websocket.log); elsewhere both are no-ops.
"""

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class EventIds:
    """The ids of one stream: where it resumes from, and the next event's."""

    last_event_id: str | None
    next_id: Callable[[], str] | None = None

    def take(self) -> str | None:
        """The id of the event about to go out (None if it carries no batch)."""
        next_id, self.next_id = self.next_id, None
        return next_id() if next_id is not None else None


current_event_ids: ContextVar[EventIds | None] = ContextVar("current_event_ids", default=None)


def reconnected_from() -> str | None:
    """The ``Last-Event-ID`` the client of this stream reconnected with, if any."""
    ids = current_event_ids.get()
    return ids.last_event_id if ids is not None else None


def batch_sent(resume_token: Callable[[], str]) -> None:
    """The batch about to go out resumes with ``resume_token()``: signed
    only if the stream sends event ids."""
    ids = current_event_ids.get()
    if ids is not None:
        ids.next_id = resume_token
