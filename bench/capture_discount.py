"""The category discount measured by ``bench.capture``, in the tree of the
code measured: its source is run there (``python -c``, the tree first on the
import path), so it imports that tree's ``products`` and nothing of
``bench``.

Adds one category of ``products`` products that inherit its discount, then
times ``services.set_category_discount`` on it ``rounds`` times (10%, 20%,
none, in turn: each one reprices every product), and prints one JSON line:
the seconds of each round and the change log's size (table and indexes) and
rows as it found it (after the seed), before the rounds and after them (null
where the code keeps no log).
"""

import json
import sys
import time
from decimal import Decimal
from typing import Any

import django

django.setup()

from django.db import connection  # noqa: E402

from products import services  # noqa: E402
from products.factories import ProductFactory  # noqa: E402
from products.models import Product  # noqa: E402

PERCENTS = (Decimal(10), Decimal(20), None)
ADDED_AT_ONCE = 5000


def log_size() -> dict[str, int] | None:
    """The log's bytes and rows, after a VACUUM (its free space map and
    visibility map then exist, as on any settled database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('products_productchange') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("VACUUM products_productchange")
        cursor.execute(
            "SELECT pg_total_relation_size('products_productchange'), count(*)"
            " FROM products_productchange"
        )
        size, rows = cursor.fetchone()
    return {"bytes": size, "rows": rows}


def main(products: int, rounds: int) -> dict[str, Any]:
    seeded = log_size()
    category = services.create_category("Capture bench discount")
    ProductFactory.reset_sequence(Product.objects.count() + 1_000_000)
    batch = ProductFactory.build_batch(products, category=category, discount_percent=None)
    for start in range(0, len(batch), ADDED_AT_ONCE):
        services.add_products(batch[start : start + ADDED_AT_ONCE])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    before = log_size()
    seconds = []
    for n in range(rounds):
        started = time.perf_counter()
        services.set_category_discount(category.pk, PERCENTS[n % len(PERCENTS)])
        seconds.append(time.perf_counter() - started)
    return {"seconds": seconds, "log": [seeded, before, log_size()]}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
