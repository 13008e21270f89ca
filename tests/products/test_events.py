"""Every committed write of a product publishes its change event, whichever
way it was made: the admin, management commands, the services; a write that
rolls back publishes nothing."""

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connections, transaction
from django.test import Client

from api.broadcast import Inbox, broadcast
from products import events, services
from products.events import ProductChange
from products.factories import CategoryFactory, ProductFactory
from products.models import Product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    async with broadcast().listen(events.channel()) as inbox:
        yield inbox
    await sync_to_async(connections.close_all)()


def received(inbox: Inbox) -> list[ProductChange]:
    return [change for message in inbox.drain(100_000) for change in events.decode(message)]


async def test_the_admin_publishes_saves_and_deletes(inbox, admin_client: Client):
    kept, deleted, *bulk = await sync_to_async(ProductFactory.create_batch)(4)
    assert {change.id for change in received(inbox)} == {p.pk for p in (kept, deleted, *bulk)}
    fields = {"sku": kept.sku, "name": "Renamed", "price": "12.00", "stock": "3"}
    post = sync_to_async(admin_client.post)
    assert (await post(f"/admin/products/product/{kept.pk}/change/", fields)).status_code == 302
    delete = f"/admin/products/product/{deleted.pk}/delete/"
    assert (await post(delete, {"post": "yes"})).status_code == 302
    action = {"action": "delete_selected", "_selected_action": [p.pk for p in bulk], "post": "yes"}
    assert (await post("/admin/products/product/", action)).status_code == 302

    saved, deleted_one, *deleted_in_bulk = received(inbox)
    assert (saved, deleted_one) == (ProductChange(kept.pk, 2), ProductChange(deleted.pk, None))
    assert set(deleted_in_bulk) == {ProductChange(p.pk, None) for p in bulk}


async def test_a_category_discount_publishes_the_products_that_inherit_it(inbox):
    category = await sync_to_async(CategoryFactory.create)(discount_percent=None)
    inheriting = await sync_to_async(ProductFactory.create_batch)(
        1500, category=category, discount_percent=None
    )
    await sync_to_async(ProductFactory.create)(category=category, discount_percent=Decimal("5"))
    received(inbox)
    category.discount_percent = Decimal("15")
    await sync_to_async(services.save_category)(category)

    messages = inbox.drain(10)
    assert len(messages) == 2  # at most CHANGES_PER_MESSAGE changes a message
    changes = [change for message in messages for change in events.decode(message)]
    assert sorted(changes, key=lambda c: c.id) == [ProductChange(p.pk, 2) for p in inheriting]


async def test_seeding_publishes_every_new_product(inbox):
    await sync_to_async(call_command)("seed_products", count=30, no_progress=True, seed=1)
    ids = await sync_to_async(lambda: set(Product.objects.values_list("pk", flat=True)))()
    changes = received(inbox)
    assert {change.id for change in changes} == ids
    assert {change.version for change in changes} == {1}


async def test_a_rolled_back_write_publishes_nothing(inbox):
    product = await sync_to_async(ProductFactory.create)()
    received(inbox)

    class RolledBack(Exception):
        pass

    @sync_to_async
    def save_then_roll_back() -> None:
        with contextlib.suppress(RolledBack), transaction.atomic():
            services.save_product(product)
            services.delete_product(Product.objects.get(pk=product.pk))
            raise RolledBack

    await save_then_roll_back()
    await sync_to_async(lambda: services.save_product(Product.objects.get(pk=product.pk)))()
    assert received(inbox) == [ProductChange(product.pk, 2)]


def test_a_write_stands_when_its_event_cannot_be_published(settings, caplog):
    category = CategoryFactory.create()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    broadcast.cache_clear()
    try:
        with transaction.atomic():
            product = services.save_product(ProductFactory.build(category=category))
    finally:
        broadcast.cache_clear()
    assert Product.objects.filter(pk=product.pk).exists()
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "publish_changes" in record.getMessage()
