"""Pruning the change log: changes older than ``CHANGE_LOG_RETENTION`` go,
a batch at a time, each batch its own short transaction, so that no writer
waits behind pruning for long. The horizon (ChangeLogHorizon) records the
last position pruned; a resume token from before it has expired."""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models.functions import Greatest
from django.utils import timezone

from products.models import ChangeLogHorizon, ProductChange

ROWS_PER_BATCH = 10_000


def prune(retention: float, *, now: datetime | None = None) -> int:
    """Deletes the changes recorded more than ``retention`` seconds before
    ``now``; how many. The log is pruned from its oldest position up to the
    first change still kept, so the horizon is exact."""
    pruned = _delete_expired(retention, now)
    if pruned and connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Deleted rows free their space only once vacuumed: the log stays as
        # small as what it keeps even where autovacuum is off or behind. A
        # plain VACUUM takes no lock that writers wait for.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {ProductChange._meta.db_table}")
    return pruned


def _delete_expired(retention: float, now: datetime | None) -> int:
    cutoff = (now or timezone.now()) - timedelta(seconds=retention)
    pruned = 0
    while True:
        with transaction.atomic():
            oldest = list(
                ProductChange.objects.order_by("position").values_list("position", "recorded_at")[
                    :ROWS_PER_BATCH
                ]
            )
            boundary = _last_of_prefix(oldest, cutoff)
            if boundary is None:
                return pruned
            pruned += ProductChange.objects.filter(position__lte=boundary).delete()[0]
            _raise_horizon(boundary)
        if boundary != oldest[-1][0] or len(oldest) < ROWS_PER_BATCH:
            return pruned


def _last_of_prefix(changes: list[tuple[int, datetime]], cutoff: datetime) -> int | None:
    """The position of the last change before the first one recorded at or
    after ``cutoff``: a transaction that took its position early but ran
    long is kept, and so is every change after it."""
    boundary = None
    for position, recorded_at in changes:
        if recorded_at >= cutoff:
            break
        boundary = position
    return boundary


def _raise_horizon(position: int) -> None:
    """Never lowers it: processes prune concurrently."""
    horizon = ChangeLogHorizon.objects.filter(pk=1)
    if not horizon.update(pruned_through=Greatest("pruned_through", position)):
        ChangeLogHorizon.objects.get_or_create(pk=1)
        horizon.update(pruned_through=Greatest("pruned_through", position))
