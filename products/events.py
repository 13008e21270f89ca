"""Change events of products, published once the write has committed.

An event names products and their new versions, nothing more: each server
process reads the rows once and shares them between its subscribers
(products.live). A write that rolls back publishes nothing.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from api.broadcast import broadcast

# Bulk writes (a category's discount, seeding) become several messages of
# this many changes, so no message is large.
CHANGES_PER_MESSAGE = 1000


@dataclass(frozen=True)
class ProductChange:
    id: int
    version: int | None  # None: deleted


def channel() -> str:
    return f"{settings.BROADCAST_PREFIX}.products"


def publish_on_commit(changes: Iterable[ProductChange]) -> None:
    """Publishes ``changes`` when the current transaction commits (at once
    outside one). A failure to publish is logged; the write stands."""
    changes = list(changes)

    # A function of its own, not a partial: Django names it (__qualname__)
    # when it logs the failure of a robust hook.
    def publish_changes() -> None:
        for start in range(0, len(changes), CHANGES_PER_MESSAGE):
            broadcast().publish(channel(), encode(changes[start : start + CHANGES_PER_MESSAGE]))

    if changes:
        transaction.on_commit(publish_changes, robust=True)


def encode(changes: Iterable[ProductChange]) -> bytes:
    return json.dumps([[change.id, change.version] for change in changes]).encode()


def decode(message: bytes) -> list[ProductChange]:
    return [ProductChange(id, version) for id, version in json.loads(message)]
