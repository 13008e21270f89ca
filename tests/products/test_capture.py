"""The database captures every change of a product, whoever writes it: another
program's SQL on a connection of its own, QuerySet.update(), the services.
Its triggers (migration 0004) keep the version and the copied category
discount and log each change in the writer's transaction."""

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from products import services
from products.factories import CategoryFactory, ProductFactory
from products.models import CHANGES_CHANNEL, Category, Product, ProductChange
from tests.conftest import SUITE_ON_POSTGRESQL, served_database_url

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(not SUITE_ON_POSTGRESQL, reason="PostgreSQL only")

Change = tuple[int, int | None, str]
Logged = Callable[[], list[Change]]


class OtherProgram:
    """A connection of its own to the test database, in autocommit, as a
    program that knows nothing of Django would open it."""

    def __init__(self) -> None:
        self.postgresql = connection.vendor == "postgresql"
        if self.postgresql:
            self.connection: Any = psycopg.connect(served_database_url(), autocommit=True)
        else:
            self.connection = sqlite3.connect(
                connection.settings_dict["NAME"], isolation_level=None, timeout=20
            )

    def execute(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.postgresql:
            sql = sql.replace("%s", "?")
        cursor = self.connection.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commits unless the block fails (closing the connection then rolls back)."""
        self.execute("BEGIN")
        yield
        self.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def other_program() -> Iterator[OtherProgram]:
    program = OtherProgram()
    yield program
    program.close()


@pytest.fixture
def logged() -> Logged:
    """The log's rows written since the test began, as (product, version, kind)."""
    start = ProductChange.objects.aggregate(last=Max("position"))["last"] or 0

    def changes() -> list[Change]:
        rows = ProductChange.objects.filter(position__gt=start).order_by("position")
        return list(rows.values_list("product_id", "version", "kind"))

    return changes


@pytest.fixture
def category() -> Category:
    return CategoryFactory.create(discount_percent=Decimal("10"))


def reload(product: Product) -> Product:
    return Product.objects.get(pk=product.pk)


def database_now() -> datetime:
    """Now, to the millisecond: SQLite's clock has no finer one."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def test_an_sql_update_raises_the_version_and_is_logged(
    other_program: OtherProgram, category: Category, logged: Logged
) -> None:
    product = ProductFactory.create(category=category, price=Decimal("10.00"))
    changes_before = logged()
    before = database_now()
    other_program.execute("UPDATE products_product SET price = 20.00 WHERE id = %s", product.pk)

    updated = reload(product)
    assert updated.version == 2
    assert before <= updated.updated_at <= timezone.now()
    assert updated.discounted_price == Decimal("18.00")
    assert logged() == [*changes_before, (product.pk, 2, "u")]


def test_an_update_that_changes_nothing_shown_keeps_the_version_and_logs_nothing(
    other_program: OtherProgram, category: Category, logged: Logged
) -> None:
    product = reload(ProductFactory.create(category=category))
    changes_before = logged()
    # The columns the database owns are not the writer's to set.
    other_program.execute(
        "UPDATE products_product SET price = price, version = 99,"
        " updated_at = '2001-01-01 00:00:00', category_discount_percent = 77"
        " WHERE id = %s",
        product.pk,
    )

    kept = reload(product)
    assert (kept.version, kept.updated_at) == (1, product.updated_at)
    assert kept.category_discount_percent == Decimal("10")
    assert logged() == changes_before


def test_an_sql_insert_may_leave_out_what_the_database_fills_in(
    other_program: OtherProgram, category: Category, logged: Logged
) -> None:
    before = database_now()
    [(product_id,)] = other_program.execute(
        "INSERT INTO products_product (sku, name, price, category_id)"
        " VALUES ('RAW-1', 'Raw', 10.00, %s) RETURNING id",
        category.pk,
    )

    product = Product.objects.get(pk=product_id)
    assert (product.version, product.stock, product.description) == (1, 0, "")
    assert before <= product.created_at == product.updated_at <= timezone.now()
    assert product.category_discount_percent == Decimal("10")
    assert product.effective_discount_percent == Decimal("10")
    assert product.discounted_price == Decimal("9.00")
    assert logged() == [(product_id, 1, "c")]


def test_an_sql_delete_is_logged(
    other_program: OtherProgram, category: Category, logged: Logged
) -> None:
    product = ProductFactory.create(category=category)
    other_program.execute("DELETE FROM products_product WHERE id = %s", product.pk)
    assert logged() == [(product.pk, 1, "c"), (product.pk, None, "d")]


def test_an_sql_category_discount_reprices_the_products_inheriting_it(
    other_program: OtherProgram, category: Category, logged: Logged
) -> None:
    inherits = ProductFactory.create(category=category, price=Decimal("10.00"))
    own = ProductFactory.create(
        category=category, price=Decimal("10.00"), discount_percent=Decimal("5")
    )
    elsewhere = ProductFactory.create(price=Decimal("10.00"))
    changes_before = logged()
    before = database_now()
    other_program.execute(
        "UPDATE products_category SET discount_percent = 50 WHERE id = %s", category.pk
    )
    assert_repriced(inherits, own, elsewhere, before)
    assert logged() == [*changes_before, (inherits.pk, 2, "u")]


def test_queryset_updates_are_captured(category: Category, logged: Logged) -> None:
    inherits = ProductFactory.create(category=category, price=Decimal("10.00"))
    own = ProductFactory.create(
        category=category, price=Decimal("10.00"), discount_percent=Decimal("5")
    )
    elsewhere = ProductFactory.create(price=Decimal("10.00"))
    changes_before = logged()
    before = database_now()

    Category.objects.filter(pk=category.pk).update(discount_percent=Decimal("50"))
    assert_repriced(inherits, own, elsewhere, before)
    Product.objects.filter(pk=own.pk).update(stock=own.stock + 1)
    assert reload(own).version == 2
    Product.objects.filter(pk=inherits.pk).update(name=inherits.name)  # no change
    assert reload(inherits).version == 2
    assert logged() == [*changes_before, (inherits.pk, 2, "u"), (own.pk, 2, "u")]


def assert_repriced(inherits: Product, own: Product, elsewhere: Product, before: datetime) -> None:
    """After the category of ``inherits`` and ``own`` went from 10 to 50 %,
    at ``before`` or later."""
    repriced = reload(inherits)
    assert (repriced.version, repriced.discounted_price) == (2, Decimal("5.00"))
    assert before <= repriced.updated_at <= timezone.now()
    # Its own discount still applies: the copy is ready for when it is cleared.
    kept = reload(own)
    assert (kept.version, kept.discounted_price) == (1, Decimal("9.50"))
    assert kept.category_discount_percent == Decimal("50")
    assert kept.updated_at == own.updated_at
    assert reload(elsewhere).version == 1


def test_a_rolled_back_transaction_logs_nothing(
    other_program: OtherProgram, category: Category, logged: Logged
) -> None:
    product = ProductFactory.create(category=category)
    changes_before = logged()
    other_program.execute("BEGIN")
    other_program.execute("UPDATE products_product SET stock = 5000 WHERE id = %s", product.pk)
    other_program.execute(
        "INSERT INTO products_product (sku, name, price) VALUES ('RAW-2', 'Raw', 1.00)"
    )
    other_program.execute("DELETE FROM products_product WHERE id = %s", product.pk)
    other_program.execute("ROLLBACK")
    assert reload(product).version == 1
    assert logged() == changes_before


def test_a_saved_product_gets_what_the_database_decided(category: Category, logged: Logged) -> None:
    product = ProductFactory.create(category=category, price=Decimal("10.00"))
    Category.objects.filter(pk=category.pk).update(discount_percent=Decimal("50"))
    changes_before = logged()

    # The object still has version 1 and the 10 % copy: saving it unchanged
    # changes nothing in the database, and brings the object up to date.
    services.save_product(product)
    assert (product.version, product.category_discount_percent) == (2, Decimal("50"))
    assert product.discounted_price == Decimal("5.00")
    assert logged() == changes_before


def test_products_added_in_bulk_get_the_category_discount(
    category: Category, logged: Logged
) -> None:
    services.add_products(ProductFactory.build_batch(3, category=category, price=Decimal("10.00")))
    added = list(Product.objects.filter(category=category).order_by("pk"))
    assert len(added) == 3
    for product in added:
        assert (product.version, product.category_discount_percent) == (1, Decimal("10"))
        assert product.discounted_price == Decimal("9.00")
    assert logged() == [(product.pk, 1, "c") for product in added]


def test_the_log_names_the_writing_transaction(
    other_program: OtherProgram, category: Category, logged: Logged
) -> None:
    product = ProductFactory.create(category=category)
    with other_program.transaction():
        other_program.execute("UPDATE products_product SET stock = 5000 WHERE id = %s", product.pk)
        writer = (
            other_program.execute("SELECT pg_current_xact_id()::text::bigint")[0][0]
            if other_program.postgresql
            else 0  # SQLite's writers commit one at a time: no identifier
        )
    updates = ProductChange.objects.filter(product_id=product.pk, kind="u")
    assert list(updates.values_list("transaction_id", flat=True)) == [writer]


@on_postgresql
def test_a_commit_that_logged_changes_notifies_once(
    other_program: OtherProgram, category: Category
) -> None:
    product = ProductFactory.create(category=category)
    with psycopg.connect(served_database_url(), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANGES_CHANNEL}")
        other_program.execute("UPDATE products_product SET name = name WHERE id = %s", product.pk)
        with other_program.transaction():
            other_program.execute(
                "UPDATE products_product SET stock = 5000 WHERE id = %s", product.pk
            )
            other_program.execute(
                "INSERT INTO products_product (sku, name, price) VALUES ('RAW-3', 'Raw', 1.00)"
            )
            assert not list(listener.notifies(timeout=0.1))  # not before the commit
        notifications = list(listener.notifies(timeout=0.5))
    assert [(n.channel, n.payload) for n in notifications] == [(CHANGES_CHANNEL, "")]


@on_postgresql
@pytest.mark.parametrize("first", ["insert", "reprice"])
def test_a_product_inserted_while_its_category_is_repriced_gets_the_new_discount(
    category: Category, logged: Logged, first: str
) -> None:
    """Whichever of the two transactions writes first, the other waits for it."""
    insert = (
        "INSERT INTO products_product (sku, name, price, category_id)"
        " VALUES ('RAW-4', 'Raw', 10.00, %s)"
    )
    reprice = "UPDATE products_category SET discount_percent = 30 WHERE id = %s"
    first_sql, second_sql = (insert, reprice) if first == "insert" else (reprice, insert)
    earlier, later = OtherProgram(), OtherProgram()
    try:
        with earlier.transaction():
            earlier.execute(first_sql, category.pk)
            second = threading.Thread(target=later.execute, args=(second_sql, category.pk))
            second.start()
            wait_until_waiting_for_a_lock(later)
        second.join(timeout=10)
        assert not second.is_alive()
    finally:
        earlier.close()
        later.close()

    product = Product.objects.get(sku="RAW-4")
    assert product.category_discount_percent == Decimal("30")
    assert product.discounted_price == Decimal("7.00")
    expected = [(product.pk, 1, "c")] + ([(product.pk, 2, "u")] if first == "insert" else [])
    assert logged() == expected


def wait_until_waiting_for_a_lock(program: OtherProgram) -> None:
    pid = program.connection.info.backend_pid
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() == ("Lock",):
                return
            time.sleep(0.01)
    raise AssertionError("the second transaction never waited for the first")
