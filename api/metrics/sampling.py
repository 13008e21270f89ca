"""Series read off the state of a process (its pool, its live feeds) rather
than counted as things happen: each is sampled when the process is scraped
and, with several processes, every ``METRICS_SAMPLE_INTERVAL`` seconds by
each, since a scrape reaches only one of them."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from django.conf import settings

from api.metrics.registry import ENABLED, MULTIPROCESS

logger = logging.getLogger(__name__)

Sampler = Callable[[], Awaitable[None]]
samplers: list[Sampler] = []


def sampled(sampler: Sampler) -> None:
    """Has ``sampler`` set its series at every sampling."""
    samplers.append(sampler)


async def sample() -> None:
    for sampler in samplers:
        try:
            await sampler()
        except Exception:  # a series left as it was must not fail the scrape
            logger.warning("could not sample %s", sampler, exc_info=True)


async def sample_periodically() -> None:
    while True:
        await asyncio.sleep(settings.METRICS_SAMPLE_INTERVAL)
        await sample()


def periodic_sampling() -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """What a server process runs in the background for its samples to
    reach the scrapes of the others (api.lifespan)."""
    return [sample_periodically] if ENABLED and MULTIPROCESS else []
