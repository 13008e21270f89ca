"""Reading the change log in commit order (products.changes), with writers
on connections of their own."""

import psycopg
import pytest
from django.db import connection

from products.changes import Change, Frontier, current_frontier, read_changes
from products.factories import ProductFactory
from tests.conftest import SUITE_ON_POSTGRESQL, served_database_url

pytestmark = pytest.mark.django_db(transaction=True)
on_postgresql = pytest.mark.skipif(not SUITE_ON_POSTGRESQL, reason="PostgreSQL's commit order")

REPRICE = "UPDATE products_product SET price = price + 1 WHERE id = %s"


def writer() -> psycopg.Connection:
    """A connection of its own, as another program's."""
    return psycopg.connect(served_database_url())


def ids(read) -> list[int]:
    return [change.product_id for change in read.changes]


@on_postgresql
def test_a_transaction_that_commits_after_a_later_one_is_not_skipped():
    early, late = ProductFactory.create_batch(2)
    start = current_frontier()
    with writer() as first, writer() as second:
        first.execute(REPRICE, [early.pk])  # takes the lower position, and waits
        second.execute(REPRICE, [late.pk])
        second.commit()

        read = read_changes([start])
        assert ids(read) == [late.pk]
        assert read_changes([read.reached]).changes == []

        first.commit()
        after = read_changes([read.reached])
        assert ids(after) == [early.pk]
        # The two committed in the opposite order of their positions.
        assert after.changes[0].position < read.changes[0].position
        assert read_changes([after.reached]).changes == []


@on_postgresql
@pytest.mark.parametrize("ends", ["commit", "rollback"])
def test_the_last_transaction_to_start_is_followed_until_it_ends(ends):
    """No transaction finishes after it took its id: the snapshot does not
    list it as in flight, and the frontier still follows it."""
    product = ProductFactory.create()
    start = current_frontier()
    with writer() as first:
        first.execute(REPRICE, [product.pk])
        (xid,) = first.execute("SELECT pg_current_xact_id()::text::bigint").fetchone() or ()
        read = read_changes([start])
        assert read.changes == []
        assert read.reached.follows(Change(0, xid, product.pk))
        getattr(first, ends)()
    after = read_changes([read.reached])
    assert ids(after) == ([product.pk] if ends == "commit" else [])
    assert not after.reached.follows(Change(0, xid, product.pk))


def test_a_read_takes_every_change_after_the_frontier_in_order():
    products = ProductFactory.create_batch(3)
    start = current_frontier()
    with connection.cursor() as cursor:
        for product in reversed(products):
            cursor.execute(REPRICE, [product.pk])
    read = read_changes([start])
    assert ids(read) == [p.pk for p in reversed(products)]
    assert read.reached.position == read.changes[-1].position == current_frontier().position


def test_a_full_read_stops_at_its_limit_and_the_next_goes_on():
    products = ProductFactory.create_batch(5)
    start = current_frontier()
    with connection.cursor() as cursor:
        for product in products:
            cursor.execute(REPRICE, [product.pk])
    first = read_changes([start], limit=3)
    assert first.full
    assert ids(first) == [p.pk for p in products[:3]]
    # A frontier already ahead of where a full read stopped stays where it is.
    ahead = Frontier(first.reached.position + 1)
    assert first.advance(ahead) == ahead
    rest = read_changes([first.reached], limit=3)
    assert not rest.full
    assert ids(rest) == [p.pk for p in products[3:]]


def test_one_read_serves_readers_at_different_frontiers():
    behind, ahead = ProductFactory.create_batch(2)
    start = current_frontier()
    with connection.cursor() as cursor:
        cursor.execute(REPRICE, [behind.pk])
        middle = current_frontier()
        cursor.execute(REPRICE, [ahead.pk])
    read = read_changes([start, middle])
    assert ids(read) == [behind.pk, ahead.pk]
    assert [c.product_id for c in read.changes if middle.follows(c)] == [ahead.pk]
    assert read.advance(start) == read.advance(middle) == read.reached
