"""Live streams across faults between a server and PostgreSQL: a server
killed and started again, every connection of a server cut, its listener cut
alone. Changes are made by SQL on the cluster, as any program would make
them; what a client holds in the end is compared with the database."""

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import count
from typing import Any

import psycopg
import pytest
import websockets
from strawberry.relay import to_base64

from tests.faults.conftest import Serve, report
from tests.faults.services import DATABASE, PostgresCluster
from tests.products.live_view import LiveView, live_view, resumed_view
from tests.server_probe import server_pid

pytestmark = pytest.mark.slow

LISTENER = "conveyor-listener"  # api.postgresql.notifications
PRODUCTS = 20  # in each test's own category, which its streams follow
WITHIN = 20  # seconds any change has to arrive in
_categories = count(1)

Row = tuple[int, str, str, int]  # what a client shows of a product


def sql(cluster: PostgresCluster, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Runs ``statement`` on a connection of its own, committed at once."""
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def catalog(postgres: PostgresCluster) -> Iterator[tuple[int, list[int]]]:
    """A category without a discount, of ``PRODUCTS`` products priced 10.00
    without one either: its id and theirs. Removed after the test, which
    leaves the cluster's catalog as the other fault tests expect it."""
    ((category,),) = sql(
        postgres,
        "INSERT INTO products_category (name, slug) VALUES (%s, %s) RETURNING id",
        "Faults",
        f"faults-{os.getpid()}-{next(_categories)}",
    )
    rows = sql(
        postgres,
        "INSERT INTO products_product (sku, name, category_id, price) "
        "SELECT %s::text || n, 'Lamp', %s, 10 FROM generate_series(1, %s) AS n RETURNING id",
        f"FAULT-{category}-",
        category,
        PRODUCTS,
    )
    yield category, sorted(id for (id,) in rows)
    sql(postgres, "DELETE FROM products_product WHERE category_id = %s", category)
    sql(postgres, "DELETE FROM products_category WHERE id = %s", category)


def database(cluster: PostgresCluster, category: int) -> dict[str, Row]:
    rows = sql(
        cluster,
        "SELECT id, version, price, discounted_price, stock FROM products_product "
        "WHERE category_id = %s",
        category,
    )
    return {to_base64("Product", id): (v, str(p), str(d), s) for id, v, p, d, s in rows}


def held(view: LiveView) -> dict[str, Row]:
    return {
        id: (p["version"], p["price"], p["discountedPrice"], p["stock"])
        for id, p in view.products.items()
    }


def filter_of(category: int) -> dict[str, Any]:
    return {"categories": [to_base64("Category", category)]}


async def converged(view: LiveView, cluster: PostgresCluster, category: int) -> None:
    expected = await asyncio.to_thread(database, cluster, category)
    try:
        await view.until(lambda v: held(v) == expected, within=WITHIN)
    except TimeoutError:
        assert held(view) == expected  # shows what differs
        raise


def set_price(cluster: PostgresCluster, product: int, price: str) -> None:
    sql(cluster, "UPDATE products_product SET price = %s WHERE id = %s", Decimal(price), product)


async def eventually(condition: Callable[[], bool], within: float = WITHIN) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.05)


async def test_a_client_resumes_on_a_new_server_with_all_it_missed(
    postgres: PostgresCluster, serve: Serve, catalog: tuple[int, list[int]]
) -> None:
    category, products = catalog
    first = serve("first")
    async with live_view(first, "graphql-transport-ws", filter=filter_of(category)) as before:
        set_price(postgres, products[0], "11.00")
        await converged(before, postgres, category)
        assert before.batches[-1]["phase"] == "LIVE"

        os.kill(server_pid(first), signal.SIGKILL)
        killed = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed):
            await before.until(lambda v: False, within=WITHIN)

    # While no server runs: changes of every kind.
    set_price(postgres, products[1], "12.00")
    sql(postgres, "UPDATE products_category SET discount_percent = 20 WHERE id = %s", category)
    sql(postgres, "UPDATE products_product SET discount_percent = 50 WHERE id = %s", products[2])
    sql(postgres, "DELETE FROM products_product WHERE id = %s", products[3])
    sql(
        postgres,
        "INSERT INTO products_product (sku, name, category_id, price) VALUES (%s, 'Desk', %s, 30)",
        f"FAULT-{category}-new",
        category,
    )

    second = serve("second")
    started = time.monotonic()
    applied = len(before.batches)
    async with resumed_view(
        second, "graphql-transport-ws", before, filter=filter_of(category)
    ) as after:
        await converged(after, postgres, category)
        caught_up = time.monotonic() - started
        # Every product of the category was repriced, one removed, one added:
        # told by the resumed stream itself, not left from before.
        resumed = after.batches[applied:]
        assert resumed
        assert all(b["phase"] == "LIVE" for b in resumed)
        told = {p["id"] for b in resumed for p in b["products"]}
        assert told == set(held(after))
        assert [id for b in resumed for id in b["removedIds"]] == [
            to_base64("Product", products[3])
        ]
        # And it stays live.
        set_price(postgres, products[4], "14.00")
        await converged(after, postgres, category)

    report(down=started - killed, caught_up=caught_up)


def terminate(cluster: PostgresCluster, where: str, *params: Any) -> int:
    """Cuts the connections of ``pg_stat_activity`` rows ``where`` says
    (but this one's); returns how many."""
    rows = sql(
        cluster,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE {where} AND pid <> pg_backend_pid()",
        *params,
    )
    return sum(bool(terminated) for (terminated,) in rows)


async def test_streams_outlive_every_connection_of_their_server_cut(
    postgres: PostgresCluster, serve: Serve, catalog: tuple[int, list[int]]
) -> None:
    category, products = catalog
    base_url = serve("server")
    async with (
        live_view(base_url, "graphql-transport-ws", filter=filter_of(category)) as one,
        live_view(base_url, "graphql-ws", filter=filter_of(category)) as two,
        live_view(
            base_url, "graphql-transport-ws", filter=filter_of(category), batchSize=3
        ) as three,
    ):
        views = (one, two, three)
        await eventually(lambda: postgres.connections(LISTENER) == 1)
        cut = []
        # Writes between the cuts, each made while the server reconnects.
        for n, product in enumerate(products[:5]):
            cut.append(terminate(postgres, "datname = %s", DATABASE))
            set_price(postgres, product, f"{20 + n}.00")
        assert cut[0] >= 2, cut  # its listener and its pool's connections at least
        for view in views:
            await converged(view, postgres, category)

        # Once the dust settles, as before.
        await eventually(lambda: postgres.connections(LISTENER) == 1)
        sql(postgres, "UPDATE products_category SET discount_percent = 10 WHERE id = %s", category)
        for view in views:
            await converged(view, postgres, category)


async def test_a_change_made_as_the_listener_is_cut_is_not_missed(
    postgres: PostgresCluster, serve: Serve, catalog: tuple[int, list[int]]
) -> None:
    """The log is read on no schedule here but wake-ups (notifications, and
    the listener's reconnection): the change notified while the listener was
    away is found because reconnecting counts as a wake-up."""
    category, products = catalog
    base_url = serve("server", CHANGE_LOG_POLL_INTERVAL=3600)
    async with live_view(base_url, "graphql-transport-ws", filter=filter_of(category)) as view:
        await eventually(lambda: postgres.connections(LISTENER) == 1)
        assert terminate(postgres, "application_name = %s", LISTENER) == 1
        set_price(postgres, products[0], "21.00")
        await converged(view, postgres, category)

        # Listening again: the next change is notified.
        await eventually(lambda: postgres.connections(LISTENER) == 1)
        set_price(postgres, products[1], "22.00")
        await converged(view, postgres, category)
