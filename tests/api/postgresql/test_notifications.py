"""The LISTEN connection of a process (api.postgresql.notifications)."""

import asyncio

import psycopg
import pytest
from django.db import connections

from api.postgresql import notifications
from tests.conftest import SUITE_ON_POSTGRESQL, served_database_url

pytestmark = [
    pytest.mark.skipif(not SUITE_ON_POSTGRESQL, reason="PostgreSQL's notifications"),
    pytest.mark.django_db(transaction=True),
]

CHANNEL = "conveyor_test_notifications"


@pytest.mark.parametrize(
    ("configured", "listener"),
    [(None, "conveyor-listener"), ("storefront-api", "storefront-api listener")],
)
async def test_a_notification_wakes_the_listener_however_connections_are_named(
    monkeypatch: pytest.MonkeyPatch, configured: str | None, listener: str
) -> None:
    # Configured as DATABASE_URL's `?application_name=` configures it: in the
    # connection's options, which the listener reads like the pool does.
    if configured:
        options = connections["default"].settings_dict["OPTIONS"]
        monkeypatch.setitem(options, "application_name", configured)
    woken = asyncio.Event()
    listening = asyncio.create_task(notifications.listen(CHANNEL, woken.set))
    try:
        await asyncio.wait_for(woken.wait(), 5)  # connected: that counts as one
        woken.clear()
        async with await psycopg.AsyncConnection.connect(
            served_database_url(), autocommit=True
        ) as other:
            names = await (
                await other.execute(
                    "SELECT application_name FROM pg_stat_activity WHERE query = %s",
                    [f"LISTEN {CHANNEL}"],
                )
            ).fetchall()
            assert names == [(listener,)]
            await other.execute(f"NOTIFY {CHANNEL}")
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        listening.cancel()
