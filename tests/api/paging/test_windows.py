"""Reading a keyset order in windows, in process: window sizes, batches, and
the queries they cost, counted on every thread."""

import pytest

from api.paging.windows import read_batches, read_windows
from api.schema import schema
from products.models import Product
from products.selectors import ProductOrderField, product_keyset

pytestmark = pytest.mark.django_db(transaction=True)

KEYSET = product_keyset(ProductOrderField.PRICE)


@pytest.fixture
def products(product_factory) -> list[Product]:
    product_factory.create_batch(23)
    return list(Product.objects.order_by("price", "id"))


async def test_windows_start_small_and_double_up_to_the_limit(products, queries):
    windows = [
        [row.pk for row in window.rows]
        async for window in read_windows(Product.objects.all(), KEYSET, first_size=2, max_size=8)
    ]
    assert [len(w) for w in windows] == [2, 4, 8, 8, 1]
    assert [pk for window in windows for pk in window] == [p.pk for p in products]
    assert len(queries) == 5  # one query a window, the last one short


async def test_batches_never_straddle_windows(products, settings):
    settings.STREAM_WINDOW_SIZE = 10
    batches = [b async for b in read_batches(Product.objects.all(), KEYSET, batch_size=3)]
    assert [len(b.rows) for b in batches] == [3] * 7 + [2]
    assert [b.last for b in batches] == [False] * 7 + [True]


async def test_a_result_that_fills_its_last_window_exactly_ends_with_it(products):
    after = KEYSET.position_of(products[2])  # 20 rows remain: windows of 4, 8, 8
    windows = [
        w
        async for w in read_windows(
            Product.objects.all(), KEYSET, after=after, first_size=4, max_size=8
        )
    ]
    assert [(len(w.rows), w.last) for w in windows] == [(4, False), (8, False), (8, True)]


async def test_an_empty_result_is_one_empty_batch(db):
    batches = [b async for b in read_batches(Product.objects.all(), KEYSET, batch_size=5)]
    assert [(b.rows, b.last) for b in batches] == [([], True)]


async def test_products_with_their_category_cost_one_query_a_window(products, queries):
    stream = await schema.subscribe(
        "subscription { productStream(batchSize: 5) { products { sku category { name } } } }"
    )
    batches = [result async for result in stream]
    assert all(not result.errors for result in batches)
    assert len(batches) == 5
    # Windows of 5, 10 and 10 rows (the last short), each one query with its join.
    assert len(queries) == 3
    assert all('JOIN "products_category"' in sql for sql in queries)
