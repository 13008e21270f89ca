"""Trying again what fails, with a growing pause, for the work a process
does in the background that nothing may stop: reading the change log,
listening for its notifications."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from django.db import DatabaseError

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_FIRST, RETRY_MAX = 0.1, 5.0  # seconds between attempts
# What a database going away raises; anything else is a bug, logged with its
# traceback, and tried again all the same.
EXPECTED = (DatabaseError, psycopg.Error, OSError)


async def retrying(attempt: Callable[[], Awaitable[T]], what: str) -> T:
    """``attempt()``'s result, once it can be had: 0.1 s after the first
    failure, then twice as long after each, up to 5 s."""
    retry = RETRY_FIRST
    while True:
        try:
            return await attempt()
        except EXPECTED as error:
            logger.warning("%s failed (%s); trying again", what, error)
        except Exception:
            logger.exception("%s failed; trying again", what)
        await asyncio.sleep(retry)
        retry = min(retry * 2, RETRY_MAX)
