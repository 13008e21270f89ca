"""The measure the fan-out scenarios share (``fanout``, ``queries``,
``two_processes``): one price change at a time to a product every subscriber
holds, written through the services (as the mutations write) or by plain
SQL, and the latencies from its commit to each subscriber's receipt.
"""

import asyncio
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import psycopg

from bench.live.clients import ClientGroup, all_reached, expecting
from bench.live.harness import Writer, committed, product_gid
from bench.percentiles import percentile
from bench.servers import Server, cpu_seconds

SPACING = 0.2  # seconds of quiet between two changes, after the server went idle

# How a change is written: ``services.update_product``, what the
# ``updateProduct`` mutation runs, or an UPDATE of the bench's own connection.
WriteBy = Literal["mutation", "sql"]
WRITES: tuple[WriteBy, ...] = ("mutation", "sql")
WRITTEN_BY = {"mutation": "mutation", "sql": "SQL"}


@dataclass
class Latencies:
    """Milliseconds from a commit to a receipt, over (subscriber, change) pairs."""

    ms: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU seconds per change
    client_cpu: list[float] = field(default_factory=list)  # client processes' CPU seconds

    def add(self, other: "Latencies") -> None:
        self.ms += other.ms
        self.cpu += other.cpu
        self.client_cpu += other.client_cpu

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p99(self) -> float:
        return percentile(self.ms, 99)

    @property
    def max(self) -> float:
        return max(self.ms)

    @property
    def cpu_ms(self) -> float:
        return statistics.mean(self.cpu) * 1000 if self.cpu else math.nan

    @property
    def client_cpu_ms(self) -> float:
        return statistics.mean(self.client_cpu) * 1000 if self.client_cpu else math.nan


def version_and_price(product_id: int) -> tuple[int, Decimal]:
    from products.models import Product

    return Product.objects.values_list("version", "price").get(pk=product_id)


def next_price(price: Decimal) -> Decimal:
    """Another price than ``price``, between 10.00 and 14.99: a write that
    changed nothing would be no change."""
    cents = int(price * 100)
    return Decimal(1000 + (cents - 999) % 500) / 100


def change_price(product_id: int, price: Decimal) -> float:
    from products import services

    return committed(lambda: services.update_product(product_id, {"price": price}))


def sql_change_price(sql: psycopg.Connection[Any], product_id: int, price: Decimal) -> float:
    """The change by plain SQL; the monotonic time its COMMIT returned."""
    sql.execute("UPDATE products_product SET price = %s WHERE id = %s", (price, product_id))
    sql.commit()
    return time.monotonic()


@dataclass
class FanOut:
    """One change at a time to a product every subscriber holds."""

    writer: Writer
    sql: psycopg.Connection[Any]
    products: list[int]
    servers: list[Server]
    step: int = 0
    cpu: list[float] = field(default_factory=list)  # per server, of the last change
    client_cpu: float = 0.0  # all client processes, of the last change

    async def change(
        self, groups: Sequence[ClientGroup], by: WriteBy = "mutation"
    ) -> list[list[float]]:
        """One price change; per group, ms from the commit to each subscriber's receipt."""
        for server in self.servers:
            await server.idle()
        await asyncio.sleep(SPACING)
        product = self.products[self.step % len(self.products)]
        self.step += 1
        version, price = await self.writer.run(version_and_price, product)
        await expecting(groups, {"versions": {product_gid(product): version + 1}})
        clients = [pid for group in groups for pid in group.pids]
        cpu_before = [server.cpu() for server in self.servers]
        client_before = sum(map(cpu_seconds, clients))
        if by == "sql":
            commit = await self.writer.run(sql_change_price, self.sql, product, next_price(price))
        else:
            commit = await self.writer.run(change_price, product, next_price(price))
        reached = await all_reached(groups)
        self.client_cpu = sum(map(cpu_seconds, clients)) - client_before
        self.cpu = [
            server.cpu() - before for server, before in zip(self.servers, cpu_before, strict=True)
        ]
        return [[(done - commit) * 1000 for _, done in group] for group in reached]
