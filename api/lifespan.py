"""The ASGI lifespan of a server process: the work it does in the
background for as long as it runs (pruning the change log)."""

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections

from api.metrics.registry import forget_this_process
from api.metrics.sampling import periodic_sampling
from products.retention import prune

logger = logging.getLogger(__name__)


async def prune_periodically() -> None:
    """Every process prunes: pruning twice is harmless, and a deployment
    needs no scheduler of its own."""
    while True:
        await asyncio.sleep(settings.CHANGE_LOG_PRUNE_INTERVAL)
        try:
            pruned = await sync_to_async(_prune, thread_sensitive=False)()
        except DatabaseError as error:
            logger.warning("could not prune the change log: %s", error)
        else:
            if pruned:
                logger.info("pruned %d changes from the change log", pruned)


def _prune() -> int:
    try:
        return prune(settings.CHANGE_LOG_RETENTION)
    finally:
        connections.close_all()


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    background: list[asyncio.Task[None]] = []
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.CHANGE_LOG_PRUNE_INTERVAL > 0:
                background.append(asyncio.create_task(prune_periodically()))
            background.extend(asyncio.create_task(task()) for task in periodic_sampling())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for task in background:
                task.cancel()
            forget_this_process()
            await send({"type": "lifespan.shutdown.complete"})
            return
