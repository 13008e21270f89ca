"""PostgreSQL notifications (``LISTEN``), as wake-ups of this process.

``LISTEN`` belongs to a session: it needs a connection of its own, held for
as long as the process listens, outside the pool, and it does not survive a
transaction-pooling proxy such as PgBouncer in transaction mode (the proxy
hands the session to other clients between transactions). Behind such a
proxy, ``DATABASE_NOTIFICATIONS_URL`` points this one connection straight at
PostgreSQL, or at a session-mode pool; without it, it goes where
``DATABASE_URL`` does.

A notification only says "look now". The connection may break and be
restored, and notifications sent meanwhile are lost, so each (re)connection
also counts as one: whoever listens reads what it may have missed.
"""

import logging
from collections.abc import Callable
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections

from api.retrying import retrying

logger = logging.getLogger(__name__)


LISTENER_NAME = "conveyor-listener"


def connection_params() -> dict[str, Any]:
    if settings.DATABASE_NOTIFICATIONS_URL:
        return {"conninfo": settings.DATABASE_NOTIFICATIONS_URL}
    params: dict[str, Any] = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


async def listen(channel: str, notified: Callable[[], None]) -> None:
    """Calls ``notified`` on every notification on ``channel`` and on every
    (re)connection, until cancelled; reconnects whenever the connection
    breaks."""
    while True:
        await retrying(lambda: _session(channel, notified), f"listening on {channel}")


async def _session(channel: str, notified: Callable[[], None]) -> None:
    """One connection's notifications, until it breaks. Failing to connect
    raises (and is tried again later and later); losing a connection made
    returns, so that the next is tried at once."""
    params = {
        # A connection cut without a word (a host gone) is found out by TCP
        # keepalives within about half a minute, unless the settings say
        # otherwise.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        **connection_params(),
    }
    # Named apart from the pool's connections, after them if they are named.
    named = params.get("application_name")
    params["application_name"] = f"{named} listener" if named else LISTENER_NAME
    async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as connection:
        await connection.execute(f"LISTEN {channel}")
        notified()
        try:
            async for _ in connection.notifies():
                notified()
        except psycopg.Error as error:
            logger.warning("lost the notifications of %s (%s); reconnecting", channel, error)
