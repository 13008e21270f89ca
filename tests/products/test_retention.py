"""Pruning the change log (products.retention): what goes, what stays, the
horizon it records, and resuming after it."""

import asyncio
from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from strawberry.types import ExecutionResult

from api.schema import schema
from products import retention, services
from products.changes import current_frontier, pruned_through
from products.factories import ProductFactory
from products.models import ChangeLogHorizon, ProductChange

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_log(transactional_db: None) -> None:
    """The log from this test's changes on: on SQLite, emptying the database
    after the last test deleted its products row by row, which logged."""
    ProductChange.objects.all().delete()


def logged(count: int) -> list[int]:
    """The positions of ``count`` new changes, oldest first."""
    ProductFactory.create_batch(count)
    positions = ProductChange.objects.order_by("position").values_list("position", flat=True)
    return list(positions)[-count:]


def recorded_ago(positions: list[int], seconds: float) -> None:
    recorded_at = timezone.now() - timedelta(seconds=seconds)
    ProductChange.objects.filter(position__in=positions).update(recorded_at=recorded_at)


def kept() -> list[int]:
    return list(ProductChange.objects.order_by("position").values_list("position", flat=True))


def test_changes_older_than_the_retention_go_and_the_horizon_follows():
    positions = logged(6)
    recorded_ago(positions[:4], 7200)
    assert not ChangeLogHorizon.objects.exists()

    assert retention.prune(3600) == 4
    assert kept() == positions[4:]
    assert ChangeLogHorizon.objects.get(pk=1).pruned_through == positions[3] == pruned_through()
    assert retention.prune(3600) == 0
    assert pruned_through() == positions[3]


def test_the_log_is_pruned_in_batches(monkeypatch, queries):
    monkeypatch.setattr(retention, "ROWS_PER_BATCH", 3)
    positions = logged(10)
    recorded_ago(positions, 7200)
    queries.clear()

    assert retention.prune(3600) == 10
    assert kept() == []
    deletes = [sql for sql in queries if sql.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 4  # 3 + 3 + 3 + 1
    assert pruned_through() == positions[-1]


def test_a_change_recorded_late_stops_the_pruning_there():
    """A transaction that took its position early and committed late: what
    follows it is kept too, so the horizon stays exact."""
    positions = logged(5)
    recorded_ago(positions[:2] + positions[3:], 7200)

    assert retention.prune(3600) == 2
    assert kept() == positions[2:]
    assert pruned_through() == positions[1]


def test_the_horizon_is_never_lowered():
    positions = logged(3)
    recorded_ago(positions, 7200)
    ChangeLogHorizon.objects.create(pk=1, pruned_through=positions[-1] + 100)

    assert retention.prune(3600) == 3
    assert pruned_through() == positions[-1] + 100


def test_the_command_prunes_and_says_how_many():
    positions = logged(4)
    recorded_ago(positions[:3], 7200)
    output = StringIO()

    call_command("prune_change_log", retention=3600, stdout=output)

    assert output.getvalue().strip() == "Pruned 3 changes older than 3600 s."
    assert kept() == positions[3:]


@pytest.fixture
async def close_writer_connections():
    yield
    await sync_to_async(connections.close_all)()


LIVE = "subscription { productStream(live: true) { phase products { id version } resumeToken } }"
RESUMED = """subscription($resume: String!) {
  productStream(resume: $resume) { phase products { id version } resumeToken }
}"""


async def test_a_token_made_after_everything_was_pruned_has_not_expired(
    close_writer_connections,
):
    product = await sync_to_async(ProductFactory.create)()
    last = (await sync_to_async(logged)(1))[-1]
    assert await sync_to_async(retention.prune)(0) > 0
    frontier = await sync_to_async(current_frontier)()
    assert await sync_to_async(ProductChange.objects.count)() == 0
    assert frontier.position == last == await sync_to_async(pruned_through)()

    stream = await schema.subscribe(LIVE)
    assert not isinstance(stream, ExecutionResult)
    token = (await anext(stream)).data["productStream"]["resumeToken"]  # type: ignore[index]
    await stream.aclose()

    resumed = await schema.subscribe(RESUMED, variable_values={"resume": token})
    assert not isinstance(resumed, ExecutionResult)
    changing = asyncio.ensure_future(anext(resumed))
    await sync_to_async(services.update_product)(product.pk, {"stock": product.stock + 1})
    batch = await asyncio.wait_for(changing, 5)
    await resumed.aclose()
    assert not batch.errors, batch.errors
    assert batch.data["productStream"]["phase"] == "LIVE"  # type: ignore[index]
    assert batch.data["productStream"]["products"][0]["version"] == 2  # type: ignore[index]
